/* The export API: computes a region of a small pipeline and writes it to a standard HDF5 file
 * that ncdump, xarray and h5py open without extra arguments (dimension scales hold the pixel
 * coordinates), once chunked and compressed, once contiguous (mmap-able), plus a PNG preview.
 *
 * Usage: export [OUT.h5] [OUT.png]   (defaults export.h5 and export.png) */
#include <math.h>
#include <stdio.h>

#include "infinite_tensor.h"

/* A radial wave: value depends on the global pixel coordinate only. */
static int wave(const it_window_batch *b, void *user) {
    (void)user;
    for (size_t k = 0; k < b->count; k++) {
        float *out = b->out[k];
        int64_t y0 = b->index[2 * k] * 64, x0 = b->index[2 * k + 1] * 64;
        for (int y = 0; y < 64; y++)
            for (int x = 0; x < 64; x++) {
                double r = hypot((double)(y0 + y), (double)(x0 + x));
                out[y * 64 + x] = (float)(sin(r / 9.0) * exp(-r / 400.0));
            }
    }
    return 0;
}

#define CHECK(call)                                                      \
    do {                                                                 \
        if ((call) != 0) {                                               \
            fprintf(stderr, "%s: %s\n", #call, it_last_error());         \
            return 1;                                                    \
        }                                                                \
    } while (0)

int main(int argc, char **argv) {
    const char *out = argc > 1 ? argv[1] : "export.h5";
    const char *png = argc > 2 ? argv[2] : "export.png";
    it_ctx *ctx;
    it_store *store;
    CHECK(it_ctx_create(NULL, &ctx));
    CHECK(it_store_open_memory(ctx, NULL, &store));
    int64_t size[2] = {64, 64};
    it_tensor_desc d;
    it_tensor_desc_init(&d, 2);
    d.shape[0] = d.shape[1] = IT_INF;
    it_window_init(&d.window, 2, size);
    d.fn = wave;
    d.id = "wave";
    it_tensor *t;
    CHECK(it_tensor_create(store, &d, &t));

    /* 1000 x 1500 pixels centred on the origin, every second column */
    it_region r;
    int64_t start[2] = {-500, -750}, stop[2] = {500, 750}, step[2] = {1, 2};
    CHECK(it_region_set(&r, 2, start, stop, step));

    it_export_options o;
    it_export_options_init(&o);
    o.overwrite = 1;
    it_export_info info;
    CHECK(it_export_hdf5(t, &r, out, "wave", &o, &info)); /* chunked, shuffle + deflate */
    printf("%s:wave  %lld x %lld f32, chunked and compressed\n", out, (long long)info.shape[0],
           (long long)info.shape[1]);
    o.contiguous = 1;
    CHECK(it_export_hdf5(t, &r, out, "wave_contiguous", &o, &info));
    printf("%s:wave_contiguous  data at byte offset %llu (%llu bytes): mmap-able\n", out,
           (unsigned long long)info.data_offset, (unsigned long long)info.data_bytes);

    it_preview_options po;
    it_preview_options_init(&po);
    po.colormap = IT_COLORMAP_VIRIDIS;
    CHECK(it_preview_png(t, &r, png, &po));
    printf("%s  preview\n", png);
    printf("try: ncdump -h %s    or    python3 -c \"import xarray; print(xarray.open_dataset('%s'))\"\n",
           out, out);
    it_store_close(store);
    it_ctx_destroy(ctx);
    return 0;
}
