/* bench_pipeline: the original library's blur-of-blur workload — a (3, inf, inf) f32 image in
 * 512x512 windows -> 5x5 gaussian -> 5x5 gaussian through padded windows, all three tensors in
 * one store, read over [:, 0:4096, 0:4096] with the public API on 2 threads — in the memory
 * store, and in an HDF5 store with deflate (the default), lz4, zstd and compression off; with a
 * random image (noise) and once with a smooth field; and with image and blur1 transient in a
 * memory store (IT_TENSOR_TRANSIENT), blur2 in the memory or the deflate HDF5 store, so that
 * only the result is kept. Each configuration runs in a fresh child
 * process; medians of `runs` are reported with the store file's size and the child's peak RSS.
 *
 * Usage: bench_pipeline [runs] [size] [dir]   (defaults 3, 4096, $TMPDIR or /tmp) */
#define _POSIX_C_SOURCE 200809L
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_util.h"
#include "blur_kernels.h"
#include "infinite_tensor.h"

static int64_t SIZE = 4096;

typedef enum store_kind { MEMORY, HDF5_DEFLATE, HDF5_NONE, HDF5_LZ4, HDF5_ZSTD } store_kind;

typedef struct config {
    store_kind store;
    bool smooth;            /* a smooth field instead of noise */
    bool transient;         /* image and blur1 transient, in a memory store */
    char path[1100];
} config;

static int image_fn(const it_window_batch *b, void *user) {
    const bool *smooth = user;
    return *smooth ? bench_smooth_fn(b, NULL) : bench_noise_fn(b, NULL);
}

static int open_store(it_ctx *ctx, const config *c, it_store **s) {
    static const it_compression codec[5] = {IT_COMPRESSION_NONE, IT_COMPRESSION_DEFLATE,
                                            IT_COMPRESSION_NONE, IT_COMPRESSION_LZ4,
                                            IT_COMPRESSION_ZSTD};
    if (c->store == MEMORY)
        return it_store_open_memory(ctx, NULL, s);
    it_hdf5_options o;
    it_hdf5_options_init(&o);
    o.compression = codec[c->store];
    return it_store_open_hdf5(ctx, c->path, IT_HDF5_CREATE, &o, s);
}

/* One measurement (in a child): build the pipeline and read the region. */
static int run(void *arg, double *ms) {
    config *c = arg;
    it_ctx_options co;
    it_ctx_options_init(&co);
    co.threads = 2;
    it_ctx *ctx;
    it_store *store, *inter = NULL;
    unlink(c->path);
    double t0 = bench_now_ms();
    if (it_ctx_create(&co, &ctx) || open_store(ctx, c, &store) ||
        (c->transient && c->store != MEMORY && it_store_open_memory(ctx, NULL, &inter)))
        return fprintf(stderr, "setup: %s\n", it_last_error()), 1;
    it_store *first = inter ? inter : store;
    bench_blur_pipeline bp;
    int rc = bench_blur_pipeline_create(first, store, image_fn, &c->smooth,
                                        c->transient ? IT_TENSOR_TRANSIENT : 0, 2, &bp);
    size_t n = (size_t)CH * SIZE * SIZE;
    float *out = malloc(n * sizeof *out);
    it_region r;
    int64_t start[3] = {0, 0, 0}, stop[3] = {CH, SIZE, SIZE};
    it_region_set(&r, 3, start, stop, NULL);
    if (rc == 0)
        rc = it_tensor_read(bp.blur2, &r, out, n * sizeof *out);
    if (rc == 0)
        rc = it_store_close(store);
    if (rc == 0 && inter)
        rc = it_store_close(inter);
    *ms = bench_now_ms() - t0; /* the store's final flush and close included */
    if (rc)
        return fprintf(stderr, "run: %s\n", it_last_error()), 1;
    it_ctx_destroy(ctx);
    bench_blur_pipeline_free(&bp);
    free(out);
    return 0;
}

typedef struct figures {
    double ms, rss_mb, file_mb;
} figures;

static int measure(config *c, int runs, figures *f) {
    double ms[50], rss[50], file[50];
    for (int i = 0; i < runs; i++) {
        if (bench_in_child(run, c, &ms[i], &rss[i]))
            return 1;
        struct stat st;
        file[i] = c->store != MEMORY && stat(c->path, &st) == 0 ? st.st_size / 1048576.0 : 0;
        unlink(c->path);
    }
    f->ms = bench_median(ms, runs);
    f->rss_mb = bench_median(rss, runs);
    f->file_mb = bench_median(file, runs);
    return 0;
}

int main(int argc, char **argv) {
    int runs;
    const char *dir;
    if (!bench_args(argc, argv, "bench_pipeline", BW, &runs, &SIZE, &dir))
        return 2;
    double out_mb = (double)CH * SIZE * SIZE * 4 / 1048576.0;
    printf("blur-of-blur over [:, 0:%lld, 0:%lld] f32 (%.0f MiB out), 2 threads, %d run(s) each\n",
           (long long)SIZE, (long long)SIZE, out_mb, runs);
    static const char *store_names[5] = {"memory store", "HDF5, deflate (default)",
                                         "HDF5, no compression", "HDF5, lz4", "HDF5, zstd"};
    enum { NCFG = 11 };
    config cfg[NCFG] = {{MEMORY, false, false, ""},      {HDF5_DEFLATE, false, false, ""},
                        {HDF5_NONE, false, false, ""},   {HDF5_DEFLATE, true, false, ""},
                        {HDF5_NONE, true, false, ""},    {MEMORY, false, true, ""},
                        {HDF5_DEFLATE, false, true, ""}, {HDF5_LZ4, false, false, ""},
                        {HDF5_ZSTD, false, false, ""},   {HDF5_LZ4, true, false, ""},
                        {HDF5_ZSTD, true, false, ""}};
    figures f[NCFG] = {{0, 0, 0}};
    for (int k = 0; k < NCFG; k++) {
        if (!it_compression_available(cfg[k].store == HDF5_LZ4    ? IT_COMPRESSION_LZ4
                                      : cfg[k].store == HDF5_ZSTD ? IT_COMPRESSION_ZSTD
                                                                   : IT_COMPRESSION_NONE)) {
            printf("  %-6s %-24s not in this build\n", cfg[k].smooth ? "smooth" : "noise",
                   store_names[cfg[k].store]);
            continue;
        }
        snprintf(cfg[k].path, sizeof cfg[k].path, "%s/bench-pipeline-%d.h5", dir, (int)getpid());
        if (measure(&cfg[k], runs, &f[k]))
            return fprintf(stderr, "%s failed\n", store_names[cfg[k].store]), 1;
        printf("  %-6s %-24s %-10s %8.1f ms   file %7.1f MiB   peak RSS %7.1f MiB\n",
               cfg[k].smooth ? "smooth" : "noise", store_names[cfg[k].store],
               cfg[k].transient ? "transient" : "", f[k].ms, f[k].file_mb, f[k].rss_mb);
    }
    printf("  (transient: image and blur1 in a memory store with IT_TENSOR_TRANSIENT)\n");
    printf("BENCH pipeline: deflate_over_none=%.2f deflate_over_none_smooth=%.2f ms_memory=%.0f "
           "ms_deflate=%.0f ms_none=%.0f ms_deflate_smooth=%.0f file_mb_deflate=%.0f "
           "file_mb_deflate_smooth=%.0f rss_mb_memory=%.0f rss_over_out_memory=%.2f "
           "ms_memory_transient=%.0f rss_over_out_memory_transient=%.2f "
           "ms_deflate_transient=%.0f rss_mb_deflate_transient=%.0f ms_lz4=%.0f file_mb_lz4=%.0f "
           "ms_zstd=%.0f file_mb_zstd=%.0f ms_lz4_smooth=%.0f file_mb_lz4_smooth=%.1f "
           "ms_zstd_smooth=%.0f file_mb_zstd_smooth=%.1f\n",
           f[1].ms / f[2].ms, f[3].ms / f[4].ms, f[0].ms, f[1].ms, f[2].ms, f[3].ms, f[1].file_mb,
           f[3].file_mb, f[0].rss_mb, f[0].rss_mb / out_mb, f[5].ms, f[5].rss_mb / out_mb,
           f[6].ms, f[6].rss_mb, f[7].ms, f[7].file_mb, f[8].ms, f[8].file_mb, f[9].ms,
           f[9].file_mb, f[10].ms, f[10].file_mb);
    return 0;
}
