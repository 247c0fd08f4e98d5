/* Writes sample exports for tests/export_interop.sh: ncdump, xarray and h5py must open them
 * without extra arguments. Usage: export_write FILE [CODECS_FILE]: CODECS_FILE receives the
 * field exported with each codec of the build ("elevation_<codec>"), for h5py with the filter
 * plugins. */
#include <stdio.h>

#include "test_util.h"

/* A store of which 2x2 chunks (0:16, 0:16) were computed, exported over (-8:24, -8:24) with
 * IT_OPEN_FILL_MISSING: "partial" (f32: NaN where never computed) and "partial_i16" (fill
 * value -32768), with CF labels. */
static int write_partial(const char *path, const char *store_path) {
    it_ctx *ctx;
    it_store *s;
    if (it_ctx_create(NULL, &ctx) || it_store_open_hdf5(ctx, store_path, IT_HDF5_CREATE, NULL, &s))
        return 1;
    const char *ids[2] = {"partial", "partial_i16"};
    it_region done = region2(0, 16, 0, 16), all = region2(-8, 24, -8, 24);
    for (int k = 0; k < 2; k++) {
        it_tensor_desc d;
        golden_g2_desc(&d, NULL);
        d.id = ids[k];
        d.dtype = k ? IT_I16 : IT_F32;
        it_tensor *t;
        if (it_tensor_create(s, &d, &t) || it_tensor_fill(t, &done))
            return 1;
    }
    if (it_store_close(s) || it_store_open_hdf5(ctx, store_path, IT_HDF5_READONLY, NULL, &s))
        return 1;
    const char *names[2] = {"lat", "lon"};
    for (int k = 0; k < 2; k++) {
        it_tensor *t;
        it_export_options o;
        it_export_options_init(&o);
        o.dim_names = names;
        o.value_units = "m";
        o.long_name = "height above sea level";
        o.fill_value_set = k;
        o.fill_value = -32768;
        if (it_tensor_open(s, ids[k], IT_OPEN_FILL_MISSING, &t) ||
            it_export_hdf5(t, &all, path, ids[k], &o, NULL))
            return 1;
    }
    it_store_close(s);
    it_ctx_destroy(ctx);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: export_write FILE [CODECS_FILE]\n");
        return 2;
    }
    it_ctx *ctx;
    it_store *s;
    if (it_ctx_create(NULL, &ctx) || it_store_open_memory(ctx, NULL, &s))
        return 1;
    /* golden values, 8x8 windows = chunks: pixel (y, x) of window (y//8, x//8) */
    int64_t w8[2] = {8, 8};
    it_tensor_desc d;
    it_tensor_desc_init(&d, 2);
    d.id = "field";
    d.shape[0] = d.shape[1] = IT_INF;
    it_window_init(&d.window, 2, w8);
    d.chunk[0] = d.chunk[1] = 8;
    d.fn = golden_fn;
    it_tensor *field, *rgb;
    if (it_tensor_create(s, &d, &field))
        return fprintf(stderr, "%s\n", it_last_error()), 1;
    it_region r = region2(-24, 40, -50, 30);
    r.step[1] = 2;
    if (it_export_hdf5(field, &r, argv[1], "elevation", NULL, NULL))
        return fprintf(stderr, "%s\n", it_last_error()), 1;
    it_export_options o;
    it_export_options_init(&o);
    o.contiguous = 1;
    if (it_export_hdf5(field, &r, argv[1], "elevation_contiguous", &o, NULL))
        return fprintf(stderr, "%s\n", it_last_error()), 1;
    for (int c = 0; argc == 3 && c < IT_COMPRESSION_COUNT; c++) {
        char name[32];
        snprintf(name, sizeof name, "elevation_%s", it_compression_name((it_compression)c));
        it_export_options_init(&o);
        o.compression = (it_compression)c;
        if (it_compression_available(o.compression) &&
            it_export_hdf5(field, &r, argv[2], name, &o, NULL))
            return fprintf(stderr, "%s\n", it_last_error()), 1;
    }
    int64_t w3[3] = {3, 8, 8};
    it_tensor_desc_init(&d, 3);
    d.id = "rgb";
    d.shape[0] = 3, d.shape[1] = d.shape[2] = IT_INF;
    d.dtype = IT_U8;
    it_window_init(&d.window, 3, w3);
    d.fn = golden_fn;
    if (it_tensor_create(s, &d, &rgb))
        return fprintf(stderr, "%s\n", it_last_error()), 1;
    it_region r3;
    int64_t s3[3] = {0, -8, -8}, e3[3] = {3, 8, 8};
    it_region_set(&r3, 3, s3, e3, NULL);
    const char *names[3] = {"band", "row", "col"};
    it_export_options_init(&o);
    o.dim_names = names;
    if (it_export_hdf5(rgb, &r3, argv[1], "images/rgb", &o, NULL))
        return fprintf(stderr, "%s\n", it_last_error()), 1;
    /* every dtype: golden values (unsigned types wrap), 8x8 windows, steps and negatives */
    for (int t = 0; t < IT_DTYPE_COUNT; t++) {
        it_tensor_desc_init(&d, 2);
        char id[32], name[48];
        snprintf(id, sizeof id, "golden_%s", it_dtype_name((it_dtype)t));
        snprintf(name, sizeof name, "dtypes/%s", it_dtype_name((it_dtype)t));
        d.id = id;
        d.shape[0] = d.shape[1] = IT_INF;
        d.dtype = (it_dtype)t;
        it_window_init(&d.window, 2, w8);
        d.fn = golden_fn;
        it_tensor *g;
        it_region rg = region2(-13, 21, -30, 9);
        rg.step[0] = 3;
        if (it_tensor_create(s, &d, &g) || it_export_hdf5(g, &rg, argv[1], name, NULL, NULL))
            return fprintf(stderr, "%s\n", it_last_error()), 1;
    }
    it_store_close(s);
    it_ctx_destroy(ctx);
    char store_path[4200];
    snprintf(store_path, sizeof store_path, "%s.store.h5", argv[1]);
    if (write_partial(argv[1], store_path))
        return fprintf(stderr, "%s\n", it_last_error()), 1;
    return 0;
}
