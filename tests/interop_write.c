/* Writes sample stores for the interoperability check (tests/interop.sh): h5py, h5ls and
 * h5dump must read what the library writes, with their normal filters.
 * Usage: interop_write DIR   (writes DIR/compressed.h5 (deflate), DIR/raw.h5, and DIR/<codec>.h5
 * for each other codec the build has: lz4, zstd) */
#include <stdio.h>
#include <string.h>

#include "test_util.h"

/* feather_tent, feather_array: (inf, inf) f32 golden values in 6x6 windows stepping 2 (nine
 * windows over a pixel), weighted blend with the default tent (border 4) and with the array
 * (y % 6 + 1) * (x % 6 + 1) / 36 and floor 0.05; [0, 24)^2 filled. */
static int write_feathered(it_store *s) {
    double array[36];
    for (int i = 0; i < 36; i++)
        array[i] = (double)((i / 6 + 1) * (i % 6 + 1)) / 36;
    int64_t w6[2] = {6, 6}, s2[2] = {2, 2};
    it_region r = region2(0, 24, 0, 24);
    for (int k = 0; k < 2; k++) {
        it_tensor_desc d;
        it_tensor_desc_init(&d, 2);
        d.id = k ? "feather_array" : "feather_tent";
        d.shape[0] = d.shape[1] = IT_INF;
        it_window_set(&d.window, 2, w6, s2, NULL);
        d.fn = golden_fn;
        d.blend = IT_BLEND_WEIGHTED;
        d.weight.kind = k ? IT_WEIGHT_ARRAY : IT_WEIGHT_TENT;
        d.weight.array = k ? array : NULL;
        d.weight.floor = k ? 0.05 : 0;
        it_tensor *t;
        if (it_tensor_create(s, &d, &t) || it_tensor_fill(t, &r))
            return fprintf(stderr, "%s\n", it_last_error()), 1;
    }
    return 0;
}

static int write_store(const char *path, it_compression codec, int level) {
    it_ctx *ctx;
    it_store *s;
    it_hdf5_options o;
    it_hdf5_options_init(&o);
    o.compression = codec;
    o.compression_level = level;
    if (it_ctx_create(NULL, &ctx) || it_store_open_hdf5(ctx, path, IT_HDF5_CREATE, &o, &s))
        return fprintf(stderr, "%s: %s\n", path, it_last_error()), 1;
    /* g2: (inf, inf) f32, 8x8 windows = chunks, golden values, negative coordinates */
    int64_t w8[2] = {8, 8};
    it_tensor_desc d;
    golden_g2_desc(&d, NULL);
    it_tensor *g2, *i16, *u8;
    if (it_tensor_create(s, &d, &g2))
        return fprintf(stderr, "%s\n", it_last_error()), 1;
    it_region r = region2(-40, 40, -24, 32);
    if (it_tensor_fill(g2, &r))
        return fprintf(stderr, "%s\n", it_last_error()), 1;
    /* i16: (3, inf) with whole-dimension windows of 3 x 5 */
    int64_t w35[2] = {3, 5};
    it_tensor_desc_init(&d, 2);
    d.id = "i16";
    d.shape[0] = 3;
    d.shape[1] = IT_INF;
    d.dtype = IT_I16;
    it_window_init(&d.window, 2, w35);
    d.chunk[1] = 5;
    d.fn = golden_fn;
    if (it_tensor_create(s, &d, &i16))
        return fprintf(stderr, "%s\n", it_last_error()), 1;
    r = region2(0, 3, -50, 50);
    if (it_tensor_fill(i16, &r))
        return fprintf(stderr, "%s\n", it_last_error()), 1;
    /* u8: max-blend with blend_init 7, where nothing is stored h5py sees the fill value */
    it_tensor_desc_init(&d, 2);
    d.id = "u8";
    d.shape[0] = d.shape[1] = IT_INF;
    d.dtype = IT_U8;
    it_window_init(&d.window, 2, w8);
    d.window.stride[0] = d.window.stride[1] = 6;
    d.blend = IT_BLEND_MAX;
    d.blend_init = 7;
    d.chunk[0] = d.chunk[1] = 12;
    d.fn = golden_fn;
    if (it_tensor_create(s, &d, &u8))
        return fprintf(stderr, "%s\n", it_last_error()), 1;
    r = region2(0, 24, 0, 24);
    if (it_tensor_fill(u8, &r))
        return fprintf(stderr, "%s\n", it_last_error()), 1;
    if (write_feathered(s))
        return 1;
    int rc = it_store_close(s);
    it_ctx_destroy(ctx);
    return rc != 0;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: interop_write DIR\n");
        return 2;
    }
    char p[4096];
    snprintf(p, sizeof p, "%s/compressed.h5", argv[1]);
    if (write_store(p, IT_COMPRESSION_DEFLATE, 0))
        return 1;
    snprintf(p, sizeof p, "%s/raw.h5", argv[1]);
    if (write_store(p, IT_COMPRESSION_DEFLATE, -1))
        return 1;
    for (int k = 0; k < IT_COMPRESSION_COUNT; k++) { /* every other codec: <name>.h5 */
        it_compression more = (it_compression)k;
        if (more == IT_COMPRESSION_DEFLATE || more == IT_COMPRESSION_NONE)
            continue;
        snprintf(p, sizeof p, "%s/%s.h5", argv[1], it_compression_name(more));
        if (!it_compression_available(more))
            printf("this build has no %s codec: %s not written\n", it_compression_name(more), p);
        else if (write_store(p, more, 0))
            return 1;
    }
    return 0;
}
