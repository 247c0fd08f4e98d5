/* bench_read: the sum of a stored (3, inf, inf) f32 tensor over [:, 0:S, 0:S] (S = 8192: 768 MiB)
 * read back from an HDF5 store, page cache warm, by chunk views (views.h: the chunks in place,
 * block by block, no output buffer) and by it_tensor_read into a buffer of the region's size
 * (the copying read), for an uncompressed and a deflate store. The views' store is opened with
 * it_hdf5_options.map: uncompressed chunks come straight from the file's mapping. Each measurement runs in a fresh
 * process (opening the store read-only, summing, checking the sum); medians and peak RSS. The
 * Python part (tools/bench/bench_read.py) sums the same stores with h5py and t.blocks.
 *
 * Usage: bench_read [runs] [size] [dir]   (defaults 3, 8192, $TMPDIR or /tmp) */
#define _POSIX_C_SOURCE 200809L
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"
#include "infinite_tensor.h"

enum { CH = 3, W = 512 };

static int64_t SIZE = 8192;
static double expected; /* the sum, from the copying read of the first store */

static int image_fn(const it_window_batch *b, void *user) {
    (void)user;
    for (size_t k = 0; k < b->count; k++) {
        float *out = b->out[k];
        int64_t y0 = b->index[3 * k + 1] * W, x0 = b->index[3 * k + 2] * W;
        for (int c = 0; c < CH; c++)
            for (int y = 0; y < W; y++)
                for (int x = 0; x < W; x++)
                    out[((size_t)c * W + (size_t)y) * W + (size_t)x] =
                        bench_field(y0 + y + c * 7, x0 + x);
    }
    return 0;
}

static it_region square(void) {
    it_region r;
    int64_t start[3] = {0, 0, 0}, stop[3] = {CH, SIZE, SIZE};
    it_region_set(&r, 3, start, stop, NULL);
    return r;
}

static int make_store(const char *path, it_compression codec) {
    it_ctx *ctx;
    it_store *s;
    it_tensor *t;
    it_hdf5_options o;
    it_hdf5_options_init(&o);
    o.compression = codec;
    it_tensor_desc d;
    int64_t w[3] = {CH, W, W};
    it_tensor_desc_init(&d, 3);
    d.id = "image";
    d.shape[0] = CH;
    d.shape[1] = d.shape[2] = IT_INF;
    it_window_init(&d.window, 3, w);
    d.fn = image_fn;
    it_region r = square();
    unlink(path);
    if (it_ctx_create(NULL, &ctx) || it_store_open_hdf5(ctx, path, IT_HDF5_CREATE, &o, &s) ||
        it_tensor_create(s, &d, &t) || it_tensor_fill(t, &r) || it_store_close(s))
        return fprintf(stderr, "bench_read: %s\n", it_last_error()), 1;
    it_ctx_destroy(ctx);
    return 0;
}

static int open_image(const char *path, bool map, it_ctx **ctx, it_store **s, it_tensor **t) {
    it_hdf5_options o;
    it_hdf5_options_init(&o);
    o.map = map;
    if (it_ctx_create(NULL, ctx) || it_store_open_hdf5(*ctx, path, IT_HDF5_READONLY, &o, s) ||
        it_tensor_open(*s, "image", 0, t))
        return fprintf(stderr, "bench_read: %s\n", it_last_error()), 1;
    return 0;
}

/* Sums the region through chunk views: one pass over each chunk's part, in place. */
static int sum_views(void *arg, double *ms) {
    it_ctx *ctx;
    it_store *s;
    it_tensor *t;
    double t0 = bench_now_ms(), sum = 0;
    if (open_image(arg, true, &ctx, &s, &t)) /* uncompressed chunks: from the file's mapping */
        return 1;
    it_region r = square();
    it_chunk_views *it;
    const it_chunk_view *v;
    size_t n;
    int rc = it_chunk_views_open(t, &r, 0, &it);
    while (rc == 0 && (rc = it_chunk_views_next(it, &v, &n)) == 1) {
        rc = 0;
        for (size_t i = 0; i < n; i++) {
            const float *p = v[i].data; /* whole chunks: the region is chunk-aligned */
            size_t elems = (size_t)(v[i].shape[0] * v[i].shape[1] * v[i].shape[2]);
            double part = 0;
            for (size_t e = 0; e < elems; e++)
                part += p[e];
            sum += part;
        }
    }
    it_chunk_views_close(it);
    *ms = bench_now_ms() - t0;
    it_store_close(s);
    it_ctx_destroy(ctx);
    return rc || (expected != 0 && sum != expected);
}

/* Sums the region read into a buffer of its size. */
static int sum_read(void *arg, double *ms) {
    it_ctx *ctx;
    it_store *s;
    it_tensor *t;
    double t0 = bench_now_ms(), sum = 0;
    if (open_image(arg, false, &ctx, &s, &t))
        return 1;
    it_region r = square();
    size_t bytes = (size_t)CH * (size_t)SIZE * (size_t)SIZE * sizeof(float);
    float *buf = malloc(bytes);
    int rc = buf ? it_tensor_read(t, &r, buf, bytes) : 1;
    /* chunk by chunk, in the views' order, so both sums add the same numbers alike */
    for (int64_t cy = 0; rc == 0 && cy < SIZE / W; cy++)
        for (int64_t cx = 0; cx < SIZE / W; cx++) {
            double part = 0;
            for (int c = 0; c < CH; c++)
                for (int64_t y = cy * W; y < cy * W + W; y++)
                    for (int64_t x = cx * W; x < cx * W + W; x++)
                        part += buf[((size_t)c * (size_t)SIZE + (size_t)y) * (size_t)SIZE +
                                    (size_t)x];
            sum += part;
        }
    *ms = bench_now_ms() - t0;
    free(buf);
    it_store_close(s);
    it_ctx_destroy(ctx);
    if (expected == 0)
        expected = sum;
    return rc || sum != expected;
}

int main(int argc, char **argv) {
    int runs;
    const char *dir;
    if (!bench_args(argc, argv, "bench_read", W, &runs, &SIZE, &dir))
        return 2;
    static const struct {
        const char *name;
        it_compression codec;
    } codecs[] = {{"none", IT_COMPRESSION_NONE}, {"deflate", IT_COMPRESSION_DEFLATE}};
    double med[2][2], rss[2][2];
    for (int c = 0; c < 2; c++) {
        char path[512];
        snprintf(path, sizeof path, "%s/bench-read-%s-%d.h5", dir, codecs[c].name, (int)getpid());
        if (make_store(path, codecs[c].codec))
            return 1;
        double ms, mb;
        if (bench_in_child(sum_read, path, &ms, &mb) || (expected == 0 && sum_read(path, &ms)))
            return fprintf(stderr, "bench_read: the copying read failed\n"), 1;
        double t[2][50], m[2][50];
        for (int i = 0; i < runs; i++) /* alternating, each in a fresh process, cache warm */
            if (bench_in_child(sum_views, path, &t[0][i], &m[0][i]) ||
                bench_in_child(sum_read, path, &t[1][i], &m[1][i]))
                return fprintf(stderr, "bench_read: a measurement failed or summed wrong\n"), 1;
        for (int k = 0; k < 2; k++) {
            med[c][k] = bench_median(t[k], runs);
            rss[c][k] = bench_median(m[k], runs);
        }
        printf("%-8s views %7.0f ms (peak RSS %6.0f MiB)   read %7.0f ms (peak RSS %6.0f MiB)\n",
               codecs[c].name, med[c][0], rss[c][0], med[c][1], rss[c][1]);
        unlink(path);
    }
    printf("sum of [:, 0:%lld, 0:%lld] f32 (%.0f MiB) of an HDF5 store, %d run(s) each, medians\n",
           (long long)SIZE, (long long)SIZE, (double)CH * SIZE * SIZE * 4 / 1048576, runs);
    printf("BENCH read: views_speedup_none=%.2f views_speedup_deflate=%.2f ms_views_none=%.0f "
           "ms_read_none=%.0f ms_views_deflate=%.0f ms_read_deflate=%.0f rss_mb_views=%.0f "
           "rss_mb_read=%.0f\n", med[0][1] / med[0][0], med[1][1] / med[1][0], med[0][0],
           med[0][1], med[1][0], med[1][1], rss[0][0], rss[0][1]);
    return 0;
}
