/* bench_store: fill [0:8192, 0:8192] f32 (256 MiB, 1 MiB chunks) with a trivial f into the HDF5
 * store, against a raw loop of H5Dwrite_chunk writing the same chunks into the same layout (both
 * on one thread, generating the same values: the ratio is the store's own overhead); then
 * deflate level 1 (+ shuffle) with 2 threads against HDF5's own filter pipeline (H5Dwrite of the
 * same chunks into a filtered dataset); and the deflate fill again with sync = 1 (fdatasync at
 * every flush: durable against power loss), whose time over the plain one is sync_cost; lz4 and
 * zstd fills. Every library fill stores Fletcher-32 checksums (the default); each codec's fill
 * also runs without them, and checksum_cost_<codec> is the time with over the time without.
 * Each configuration runs `runs` times; medians.
 *
 * Usage: bench_store [runs] [size] [dir]   (defaults 3, 8192, $TMPDIR or /tmp) */
#define _POSIX_C_SOURCE 200809L
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "infinite_tensor.h"

#define CH 512

static int64_t SIZE = 8192;

/* The trivial f's values for chunk (cy, cx), for the hand-written loops. */
static void chunk_values(int64_t cy, int64_t cx, float *out) {
    for (int y = 0; y < CH; y++)
        for (int x = 0; x < CH; x++)
            out[y * CH + x] = bench_field(cy * CH + y, cx * CH + x);
}

static int checksum = 1; /* of the library's runs: every chunk ends with Fletcher-32 */

static double run_library(int threads, it_compression codec, int level, int sync, const char *path) {
    it_ctx_options co;
    it_ctx_options_init(&co);
    co.threads = threads;
    it_hdf5_options ho;
    it_hdf5_options_init(&ho);
    ho.compression = codec;
    ho.compression_level = level;
    ho.sync = sync;
    ho.checksum = checksum;
    it_ctx *ctx;
    it_store *s;
    unlink(path);
    double t0 = bench_now_ms();
    if (it_ctx_create(&co, &ctx) || it_store_open_hdf5(ctx, path, IT_HDF5_CREATE, &ho, &s))
        return fprintf(stderr, "%s\n", it_last_error()), -1;
    it_tensor *t;
    it_region r = bench_square(SIZE);
    if (bench_field_tensor(s, CH, &t) || it_tensor_fill(t, &r) || it_store_close(s))
        return fprintf(stderr, "%s\n", it_last_error()), -1;
    double ms = bench_now_ms() - t0;
    it_ctx_destroy(ctx);
    return ms;
}

/* The same layout by hand: (inf, inf) extent with the library's origin, 512x512 chunks. */
static double run_hdf5(int level, bool direct, const char *path) {
    unlink(path);
    double t0 = bench_now_ms();
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    /* chunks each side, as the store chooses: the largest K with (2*K*CH)^2 < 2^62 */
    hsize_t K = ((hsize_t)1 << 31) / (2 * CH);
    while ((2 * K * CH) * (2 * K * CH) >= ((hsize_t)1 << 62))
        K--;
    hsize_t dims[2] = {2 * K * CH, 2 * K * CH}, maxd[2] = {H5S_UNLIMITED, H5S_UNLIMITED};
    hsize_t chunk[2] = {CH, CH};
    hid_t sp = H5Screate_simple(2, dims, maxd);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 2, chunk);
    H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_INCR);
    if (level > 0) {
        H5Pset_shuffle(dcpl);
        H5Pset_deflate(dcpl, (unsigned)level);
    }
    hid_t ds = H5Dcreate2(f, "data", H5T_IEEE_F32LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    float *buf = malloc(sizeof(float) * CH * CH);
    hid_t ms = H5Screate_simple(2, chunk, NULL);
    for (int64_t cy = 0; cy < SIZE / CH; cy++)
        for (int64_t cx = 0; cx < SIZE / CH; cx++) {
            chunk_values(cy, cx, buf);
            hsize_t off[2] = {(hsize_t)(cy * CH) + K * CH, (hsize_t)(cx * CH) + K * CH};
            herr_t rc;
            if (direct) {
                rc = H5Dwrite_chunk(ds, H5P_DEFAULT, 0, off, sizeof(float) * CH * CH, buf);
            } else {
                hid_t fs = H5Dget_space(ds);
                H5Sselect_hyperslab(fs, H5S_SELECT_SET, off, NULL, chunk, NULL);
                rc = H5Dwrite(ds, H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, buf);
                H5Sclose(fs);
            }
            if (rc < 0)
                return -1;
        }
    H5Sclose(ms);
    free(buf);
    H5Dclose(ds);
    H5Pclose(dcpl);
    H5Sclose(sp);
    H5Fclose(f);
    return bench_now_ms() - t0;
}

static int tiny_fn(const it_window_batch *b, void *user) {
    (void)user;
    for (size_t k = 0; k < b->count; k++)
        for (int i = 0; i < 16; i++)
            ((float *)b->out[k])[i] = (float)(b->index[2 * k] + b->index[2 * k + 1] + i);
    return 0;
}

/* Many small chunks: 4x4 f32 chunks over [0, 4n)^2. Presence checks and listing must not grow
 * with the chunk count (HDF5 1.10's chunk-info queries are linear per call). */
static int many_chunks(const char *path, int n) {
    it_ctx *ctx;
    it_store *s;
    it_tensor *t;
    it_hdf5_options ho;
    it_hdf5_options_init(&ho);
    ho.compression_level = -1;
    int64_t w[2] = {4, 4};
    it_tensor_desc d;
    it_tensor_desc_init(&d, 2);
    d.id = "tiny";
    d.shape[0] = d.shape[1] = IT_INF;
    it_window_init(&d.window, 2, w);
    d.chunk[0] = d.chunk[1] = 4;
    d.fn = tiny_fn;
    it_region r;
    int64_t start[2] = {0, 0}, stop[2] = {4 * n, 4 * n};
    it_region_set(&r, 2, start, stop, NULL);
    unlink(path);
    double t0 = bench_now_ms();
    if (it_ctx_create(NULL, &ctx) || it_store_open_hdf5(ctx, path, IT_HDF5_CREATE, &ho, &s) ||
        it_tensor_create(s, &d, &t) || it_tensor_fill(t, &r) || it_store_close(s))
        return fprintf(stderr, "%s\n", it_last_error()), 1;
    double fill = bench_now_ms() - t0;
    t0 = bench_now_ms();
    it_tensor_stats st;
    if (it_store_open_hdf5(ctx, path, IT_HDF5_READONLY, NULL, &s) || it_tensor_open(s, "tiny", 0, &t) ||
        it_tensor_get_stats(t, &st))
        return fprintf(stderr, "%s\n", it_last_error()), 1;
    double list = bench_now_ms() - t0;
    t0 = bench_now_ms();
    if (it_tensor_fill(t, &r)) /* every chunk present: one presence check each */
        return fprintf(stderr, "%s\n", it_last_error()), 1;
    double presence = bench_now_ms() - t0;
    it_store_close(s);
    it_ctx_destroy(ctx);
    unlink(path);
    printf("  %llu chunks of 64 B: fill %.0f ms (%.1f us/chunk); reopen + list + bounding box "
           "%.1f ms; presence pass %.1f us/chunk\n",
           (unsigned long long)st.chunks, fill, fill * 1e3 / st.chunks, list,
           presence * 1e3 / st.chunks);
    return st.chunks == (uint64_t)n * n ? 0 : 1;
}

int main(int argc, char **argv) {
    int runs;
    const char *dir;
    if (!bench_args(argc, argv, "bench_store", CH, &runs, &SIZE, &dir))
        return 2;
    char p1[1100], p2[1100];
    snprintf(p1, sizeof p1, "%s/bench-store-%d-a.h5", dir, (int)getpid());
    snprintf(p2, sizeof p2, "%s/bench-store-%d-b.h5", dir, (int)getpid());
    double mb = (double)SIZE * SIZE * 4 / (1 << 20);
    double ours[50], ours2[50], raw[50], ours_z[50], hdf5_z[50], synced[50], deflate_mb[50];
    static const it_compression other[2] = {IT_COMPRESSION_LZ4, IT_COMPRESSION_ZSTD};
    double codec_ms[2][50], codec_mb[2][50], plain[4][50]; /* none, deflate, lz4, zstd */
    for (int i = 0; i < runs; i++) {
        raw[i] = run_hdf5(0, true, p2);
        ours[i] = run_library(1, IT_COMPRESSION_NONE, 0, 0, p1);
        ours2[i] = run_library(2, IT_COMPRESSION_NONE, 0, 0, p1);
        hdf5_z[i] = run_hdf5(1, false, p2);
        ours_z[i] = run_library(2, IT_COMPRESSION_DEFLATE, 1, 0, p1);
        struct stat st;
        deflate_mb[i] = stat(p1, &st) == 0 ? st.st_size / 1048576.0 : 0;
        synced[i] = run_library(2, IT_COMPRESSION_DEFLATE, 1, 1, p1);
        if (raw[i] < 0 || ours[i] < 0 || ours2[i] < 0 || hdf5_z[i] < 0 || ours_z[i] < 0 ||
            synced[i] < 0)
            return fprintf(stderr, "a run failed\n"), 1;
        for (int c = 0; c < 2; c++) {
            codec_ms[c][i] = !it_compression_available(other[c]) ? 0
                             : run_library(2, other[c], 0, 0, p1);
            codec_mb[c][i] = stat(p1, &st) == 0 ? st.st_size / 1048576.0 : 0;
            if (codec_ms[c][i] < 0)
                return fprintf(stderr, "a run failed\n"), 1;
        }
        checksum = 0; /* the same fills without checksums */
        plain[0][i] = run_library(1, IT_COMPRESSION_NONE, 0, 0, p1);
        plain[1][i] = run_library(2, IT_COMPRESSION_DEFLATE, 1, 0, p1);
        for (int c = 0; c < 2; c++)
            plain[2 + c][i] = !it_compression_available(other[c]) ? 0
                              : run_library(2, other[c], 0, 0, p1);
        checksum = 1;
        for (int k = 0; k < 4; k++)
            if (plain[k][i] < 0)
                return fprintf(stderr, "a run failed\n"), 1;
    }
    unlink(p1);
    unlink(p2);
    double o = bench_median(ours, runs), o2 = bench_median(ours2, runs), r = bench_median(raw, runs),
           oz = bench_median(ours_z, runs), hz = bench_median(hdf5_z, runs),
           sy = bench_median(synced, runs);
    printf("fill [0:%lld, 0:%lld] f32 = %.0f MiB in 512x512 chunks, %d run(s), medians:\n",
           (long long)SIZE, (long long)SIZE, mb, runs);
    printf("  uncompressed: library (1 thread)  %7.1f ms = %6.0f MB/s   raw H5Dwrite_chunk loop %7.1f ms = %6.0f MB/s\n",
           o, mb / o * 1e3, r, mb / r * 1e3);
    printf("  uncompressed: library (2 threads) %7.1f ms = %6.0f MB/s\n", o2, mb / o2 * 1e3);
    printf("  deflate 1   : library (2 threads) %7.1f ms = %6.0f MB/s   HDF5 filter pipeline    %7.1f ms = %6.0f MB/s\n",
           oz, mb / oz * 1e3, hz, mb / hz * 1e3);
    printf("  deflate 1 + sync (fdatasync at every flush): %7.1f ms = %6.0f MB/s\n", sy,
           mb / sy * 1e3);
    double cms[2], cmb[2], dmb = bench_median(deflate_mb, runs);
    printf("  deflate 1   : file %.1f MiB\n", dmb);
    for (int c = 0; c < 2; c++) {
        cms[c] = bench_median(codec_ms[c], runs);
        cmb[c] = bench_median(codec_mb[c], runs);
        if (cms[c] > 0)
            printf("  %-12s: library (2 threads) %7.1f ms = %6.0f MB/s   file %.1f MiB\n",
                   it_compression_name(other[c]), cms[c], mb / cms[c] * 1e3, cmb[c]);
        else
            printf("  %-12s: not in this build\n", it_compression_name(other[c]));
    }
    double with[4] = {o, oz, cms[0], cms[1]}, cost[4];
    for (int k = 0; k < 4; k++) {
        double without = bench_median(plain[k], runs);
        cost[k] = without > 0 && with[k] > 0 ? with[k] / without : 0;
    }
    printf("  Fletcher-32 checksums, time with / without: none %.3f  deflate %.3f  lz4 %.3f  "
           "zstd %.3f\n", cost[0], cost[1], cost[2], cost[3]);
    if (many_chunks(p1, 320))
        return fprintf(stderr, "many-chunks run failed\n"), 1;
    printf("BENCH store: raw_ratio=%.3f deflate_speedup=%.2f mb_s=%.0f mb_s_deflate=%.0f "
           "sync_cost=%.2f mb_s_lz4=%.0f mb_s_zstd=%.0f file_mb_deflate=%.1f file_mb_lz4=%.1f "
           "file_mb_zstd=%.1f checksum_cost_none=%.3f checksum_cost_deflate=%.3f "
           "checksum_cost_lz4=%.3f checksum_cost_zstd=%.3f\n", r / o, hz / oz, mb / o * 1e3,
           mb / oz * 1e3, sy / oz, cms[0] > 0 ? mb / cms[0] * 1e3 : 0,
           cms[1] > 0 ? mb / cms[1] * 1e3 : 0, dmb, cmb[0], cmb[1], cost[0], cost[1], cost[2],
           cost[3]);
    return 0;
}
