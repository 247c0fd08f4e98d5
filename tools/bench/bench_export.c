/* bench_export: export [0:16384, 0:16384] f32 (1 GiB) of a stored tensor (HDF5 store,
 * compressed) to a chunked, compressed HDF5 file with a 256 MiB budget, against a raw H5Dwrite
 * of the same data from memory into the same layout (HDF5's own filter pipeline), in the same
 * run; then the same export again with IT_EXPORT_IF_IDENTICAL (a script's rerun: the region
 * read and compared with the dataset, nothing written). Each measurement runs in a fresh
 * process (peak RSS is that process's); medians of `runs`.
 *
 * Usage: bench_export [runs] [size] [dir]   (defaults 3, 16384, $TMPDIR or /tmp) */
#define _POSIX_C_SOURCE 200809L
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"
#include "infinite_tensor.h"

#define TILE 512
#define OUT_CHUNK 256
#define BUDGET ((size_t)256 << 20)

static int64_t SIZE = 16384;
static char store_path[1100], out_path[1100];

static int make_store(void) {
    it_ctx *ctx;
    it_store *s;
    it_tensor *t;
    it_region r = bench_square(SIZE);
    unlink(store_path);
    if (it_ctx_create(NULL, &ctx) || it_store_open_hdf5(ctx, store_path, IT_HDF5_CREATE, NULL, &s) ||
        bench_field_tensor(s, TILE, &t) || it_tensor_fill(t, &r) || it_store_close(s))
        return fprintf(stderr, "%s\n", it_last_error()), 1;
    it_ctx_destroy(ctx);
    return 0;
}

static int run_library(double *ms, int overwrite) {
    it_ctx_options co;
    it_ctx_options_init(&co);
    co.memory_budget = BUDGET;
    it_ctx *ctx;
    it_store *s;
    it_tensor *t;
    it_region r = bench_square(SIZE);
    if (overwrite != IT_EXPORT_IF_IDENTICAL)
        unlink(out_path);
    it_export_options eo;
    it_export_options_init(&eo);
    eo.overwrite = overwrite;
    double t0 = bench_now_ms();
    it_hdf5_options ho;
    it_hdf5_options_init(&ho);
    ho.cache_bytes = BUDGET / 4;
    if (it_ctx_create(&co, &ctx) || it_store_open_hdf5(ctx, store_path, IT_HDF5_READONLY, &ho, &s) ||
        it_tensor_open(s, "field", 0, &t) || it_export_hdf5(t, &r, out_path, "field", &eo, NULL))
        return fprintf(stderr, "%s\n", it_last_error()), 1;
    it_store_close(s);
    *ms = bench_now_ms() - t0;
    it_ctx_destroy(ctx);
    return 0;
}

/* The same output layout written from memory with one H5Dwrite. */
static int run_raw(double *ms) {
    size_t n = (size_t)SIZE * (size_t)SIZE;
    float *v = malloc(n * sizeof *v);
    if (!v)
        return 1;
    for (int64_t y = 0; y < SIZE; y++)
        for (int64_t x = 0; x < SIZE; x++)
            v[y * SIZE + x] = bench_field(y, x);
    unlink(out_path);
    double t0 = bench_now_ms();
    hid_t f = H5Fcreate(out_path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t dims[2] = {(hsize_t)SIZE, (hsize_t)SIZE}, ch[2] = {OUT_CHUNK, OUT_CHUNK};
    hid_t sp = H5Screate_simple(2, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 2, ch);
    H5Pset_shuffle(dcpl);
    H5Pset_deflate(dcpl, 1);
    hid_t ds = H5Dcreate2(f, "field", H5T_IEEE_F32LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    herr_t rc = H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    H5Dclose(ds);
    H5Pclose(dcpl);
    H5Sclose(sp);
    H5Fclose(f);
    *ms = bench_now_ms() - t0;
    free(v);
    return rc < 0;
}

static int library_child(void *arg, double *ms) {
    return run_library(ms, *(const int *)arg);
}

static int raw_child(void *arg, double *ms) {
    (void)arg;
    return run_raw(ms);
}

int main(int argc, char **argv) {
    int runs;
    const char *dir;
    if (!bench_args(argc, argv, "bench_export", TILE, &runs, &SIZE, &dir))
        return 2;
    snprintf(store_path, sizeof store_path, "%s/bench-export-store-%d.h5", dir, (int)getpid());
    snprintf(out_path, sizeof out_path, "%s/bench-export-out-%d.h5", dir, (int)getpid());
    double mb = (double)SIZE * SIZE * 4 / (1 << 20);
    printf("export [0:%lld, 0:%lld] f32 = %.0f MiB from a stored tensor, budget %zu MiB, "
           "chunks %d^2 + shuffle + deflate 1\n",
           (long long)SIZE, (long long)SIZE, mb, BUDGET >> 20, OUT_CHUNK);
    if (make_store())
        return 1;
    double ours[50], raw[50], rss[50], raw_rss[50], rerun[50], rerun_rss[50];
    int write = IT_EXPORT_REFUSE, identical = IT_EXPORT_IF_IDENTICAL;
    for (int i = 0; i < runs; i++) {
        if (bench_in_child(raw_child, NULL, &raw[i], &raw_rss[i]) ||
            bench_in_child(library_child, &write, &ours[i], &rss[i]) ||
            bench_in_child(library_child, &identical, &rerun[i], &rerun_rss[i]))
            return fprintf(stderr, "a run failed\n"), 1;
    }
    if (!getenv("BENCH_KEEP"))
        unlink(store_path);
    unlink(out_path);
    double o = bench_median(ours, runs), r = bench_median(raw, runs),
           orss = bench_median(rss, runs), rrss = bench_median(raw_rss, runs),
           re = bench_median(rerun, runs), rerss = bench_median(rerun_rss, runs);
    printf("  library export (2 threads):     %8.1f ms = %6.0f MB/s, peak RSS %6.0f MB\n", o,
           mb / o * 1e3, orss);
    printf("  raw H5Dwrite from memory:       %8.1f ms = %6.0f MB/s, peak RSS %6.0f MB (data in memory)\n",
           r, mb / r * 1e3, rrss);
    printf("  the same export, --if-identical: %8.1f ms = %6.0f MB/s, peak RSS %6.0f MB (read and "
           "compared, nothing written)\n", re, mb / re * 1e3, rerss);
    printf("BENCH export: ratio=%.3f peak_rss_mb=%.0f mb_s=%.0f rerun_vs_export=%.3f\n", r / o,
           orss, mb / o * 1e3, re / o);
    return 0;
}
