/* bench_compact: a store of two tensors of [0:size, 0:size] f32 (uncompressed, so the file holds
 * what real data would take), one deleted, made
 * compact with it_hdf5_compact, against copying the whole file (read and write, synced, the
 * same work a copy-and-rename must do at least) in the same run. Each measurement runs in a
 * fresh process; medians of `runs`; the store is rebuilt before each compaction.
 *
 * Usage: bench_compact [runs] [size] [dir]   (defaults 3, 8192, $TMPDIR or /tmp) */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_util.h"
#include "infinite_tensor.h"

#define TILE 512

static int64_t SIZE = 8192;
static char store_path[1100], copy_path[1100];

static uint64_t file_size(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* "gone", then "field" (the same values), then "gone" deleted: its chunks lie before
 * field's, where HDF5 cannot give the space back by truncating the file. */
static int make_store(void) {
    it_ctx *ctx;
    it_store *s;
    it_tensor *t;
    it_region r = bench_square(SIZE);
    unlink(store_path);
    it_hdf5_options ho;
    it_hdf5_options_init(&ho);
    ho.compression = IT_COMPRESSION_NONE;
    if (it_ctx_create(NULL, &ctx) || it_store_open_hdf5(ctx, store_path, IT_HDF5_CREATE, &ho, &s))
        return fprintf(stderr, "%s\n", it_last_error()), 1;
    it_tensor_desc d;
    it_tensor_desc_init(&d, 2);
    d.id = "gone";
    d.shape[0] = d.shape[1] = IT_INF;
    int64_t w[2] = {TILE, TILE};
    it_window_init(&d.window, 2, w);
    d.chunk[0] = d.chunk[1] = TILE;
    d.fn = bench_field_fn;
    if (it_tensor_create(s, &d, &t) || it_tensor_fill(t, &r) || bench_field_tensor(s, TILE, &t) ||
        it_tensor_fill(t, &r) || it_store_delete_tensor(s, "gone") || it_store_close(s))
        return fprintf(stderr, "%s\n", it_last_error()), 1;
    it_ctx_destroy(ctx);
    return 0;
}

static int compact_child(void *arg, double *ms) {
    (void)arg;
    it_ctx *ctx;
    if (it_ctx_create(NULL, &ctx))
        return 1;
    double t0 = bench_now_ms();
    int rc = it_hdf5_compact(ctx, store_path, NULL);
    *ms = bench_now_ms() - t0;
    it_ctx_destroy(ctx);
    return rc ? fprintf(stderr, "%s\n", it_last_error()), 1 : 0;
}

static int copy_child(void *arg, double *ms) {
    (void)arg;
    double t0 = bench_now_ms();
    int in = open(store_path, O_RDONLY), out = open(copy_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    static char buf[1 << 20];
    ssize_t n;
    int rc = in < 0 || out < 0;
    while (rc == 0 && (n = read(in, buf, sizeof buf)) > 0)
        rc = write(out, buf, (size_t)n) != n;
    rc = rc || fsync(out) != 0;
    close(in);
    close(out);
    *ms = bench_now_ms() - t0;
    unlink(copy_path);
    return rc;
}

int main(int argc, char **argv) {
    int runs;
    const char *dir;
    if (!bench_args(argc, argv, "bench_compact", TILE, &runs, &SIZE, &dir))
        return 2;
    snprintf(store_path, sizeof store_path, "%s/bench-compact-%d.h5", dir, (int)getpid());
    snprintf(copy_path, sizeof copy_path, "%s/bench-compact-copy-%d.h5", dir, (int)getpid());
    double compact[50], copy[50], rss[50], copy_rss[50];
    uint64_t before = 0, after = 0;
    for (int i = 0; i < runs; i++) {
        if (make_store())
            return 1;
        before = file_size(store_path);
        if (bench_in_child(copy_child, NULL, &copy[i], &copy_rss[i]) ||
            bench_in_child(compact_child, NULL, &compact[i], &rss[i]))
            return fprintf(stderr, "a run failed\n"), 1;
        after = file_size(store_path);
    }
    unlink(store_path);
    double c = bench_median(compact, runs), k = bench_median(copy, runs);
    double mb_before = (double)before / (1 << 20), mb_after = (double)after / (1 << 20);
    printf("a store of two [0:%lld, 0:%lld] f32 tensors (uncompressed), one deleted: %.1f MiB\n",
           (long long)SIZE, (long long)SIZE, mb_before);
    printf("  it_hdf5_compact:            %8.1f ms, %.1f MiB -> %.1f MiB, peak RSS %.0f MB\n", c,
           mb_before, mb_after, bench_median(rss, runs));
    printf("  copying the file (synced):  %8.1f ms = %6.0f MB/s\n", k, mb_before / k * 1e3);
    printf("BENCH compact: mb_before=%.1f mb_after=%.1f ms=%.1f vs_file_copy=%.3f\n", mb_before,
           mb_after, c, c / k);
    return 0;
}
