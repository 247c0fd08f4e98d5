/* bench_scale: the blur-of-blur pipeline filled over [:, 0:N, 0:N] for N from 2048 up, each size
 * in a fresh process: image and blur1 transient in a memory store, blur2 in an HDF5 store with
 * deflate (the default), 2 threads, a memory budget (512 MiB, the default). Prints per size the
 * time, the process's peak RSS, the windows computed against those the region needs, and the
 * file's size;
 * the smooth field keeps the files small at every size (noise would write 3 x 4 x N^2 bytes:
 * 48 GiB at 65536), with the same windows and arithmetic.
 *
 * Each size runs in 3 processes (medians); then 16384 again with 4 times the budget, which
 * keeps every halo, for what the strips' recomputed halos cost.
 *
 * Usage: bench_scale [max_n [budget_mib [dir]]]   (defaults 65536, 512, $TMPDIR or /tmp) */
#define _POSIX_C_SOURCE 200809L
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"
#include "blur_kernels.h"
#include "infinite_tensor.h"

typedef struct result {
    int ok;
    double ms, rss_mb, file_mb;
    double computed, needed; /* windows of the three tensors */
} result;

/* Windows a tensor `hops` padded reads (PAD < BW) upstream of blur2 needs for blur2's [0, n)^2:
 * each hop widens the window range by one on either side. */
static double windows_needed(int64_t n, int hops) {
    double side = (double)(n / BW + 2 * hops);
    return side * side;
}

static void run(int64_t n, size_t budget, const char *path, result *r) {
    it_ctx *ctx;
    it_store *mem, *store;
    it_ctx_options co;
    it_ctx_options_init(&co);
    co.threads = 2;
    co.memory_budget = budget;
    unlink(path);
    double t0 = bench_now_ms();
    bench_blur_pipeline bp;
    if (it_ctx_create(&co, &ctx) || it_store_open_memory(ctx, NULL, &mem) ||
        it_store_open_hdf5(ctx, path, IT_HDF5_CREATE, NULL, &store) ||
        bench_blur_pipeline_create(mem, store, bench_smooth_fn, NULL, IT_TENSOR_TRANSIENT, 2, &bp)) {
        fprintf(stderr, "setup: %s\n", it_last_error());
        return;
    }
    it_region reg;
    int64_t start[3] = {0, 0, 0}, stop[3] = {CH, n, n};
    it_region_set(&reg, 3, start, stop, NULL);
    if (it_tensor_fill(bp.blur2, &reg)) {
        fprintf(stderr, "fill: %s\n", it_last_error());
        return;
    }
    it_tensor_counters c[3];
    it_tensor_get_counters(bp.image, &c[0]);
    it_tensor_get_counters(bp.blur1, &c[1]);
    it_tensor_get_counters(bp.blur2, &c[2]);
    if (it_store_close(store) || it_store_close(mem)) {
        fprintf(stderr, "close: %s\n", it_last_error());
        return;
    }
    r->ms = bench_now_ms() - t0;
    r->computed = (double)(c[0].windows_computed + c[1].windows_computed + c[2].windows_computed);
    r->needed = windows_needed(n, 2) + windows_needed(n, 1) + windows_needed(n, 0);
    struct stat st;
    r->file_mb = stat(path, &st) == 0 ? st.st_size / 1048576.0 : 0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    r->rss_mb = ru.ru_maxrss / 1024.0;
    r->ok = 1;
    it_ctx_destroy(ctx);
}

/* One size in a fresh process (its own peak RSS). */
static int measure(int64_t n, size_t budget, const char *path, result *r) {
    int fd[2];
    if (pipe(fd))
        return 1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        result mine = {0};
        run(n, budget, path, &mine);
        _exit(write(fd[1], &mine, sizeof mine) == sizeof mine ? 0 : 1);
    }
    close(fd[1]);
    memset(r, 0, sizeof *r);
    if (pid < 0 || read(fd[0], r, sizeof *r) != sizeof *r)
        r->ok = 0;
    close(fd[0]);
    if (pid > 0)
        waitpid(pid, NULL, 0);
    unlink(path);
    return r->ok ? 0 : 1;
}

/* Medians of RUNS fresh processes at size n. */
#define RUNS 3
static int measure_median(int64_t n, size_t budget, const char *path, result *med) {
    double ms[RUNS], rss[RUNS];
    result r;
    for (int i = 0; i < RUNS; i++) {
        if (measure(n, budget, path, &r))
            return 1;
        ms[i] = r.ms;
        rss[i] = r.rss_mb;
    }
    *med = r; /* windows and file size are the same every run */
    med->ms = bench_median(ms, RUNS);
    med->rss_mb = bench_median(rss, RUNS);
    return 0;
}

int main(int argc, char **argv) {
    int64_t max_n = argc > 1 ? atoll(argv[1]) : 65536;
    int64_t budget_mib = argc > 2 ? atoll(argv[2]) : 512;
    const char *dir = argc > 3 ? argv[3] : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    if (max_n < 2048 || max_n % BW || budget_mib < 1) {
        fprintf(stderr, "usage: bench_scale [max_n (>= 2048, a multiple of %d) [budget MiB "
                "[dir]]]\n", BW);
        return 2;
    }
    size_t budget = (size_t)budget_mib << 20;
    char path[1100];
    snprintf(path, sizeof path, "%s/bench-scale-%d.h5", dir, (int)getpid());
    printf("blur-of-blur fill of [:, 0:N, 0:N] f32 (smooth field), image and blur1 transient, "
           "blur2 in HDF5 with deflate, 2 threads, budget %lld MiB; medians of %d processes\n",
           (long long)budget_mib, RUNS);
    printf("%8s %10s %10s %12s %10s %12s\n", "N", "time s", "peak MiB", "computed/", "file MiB",
           "us/kpixel");
    printf("%8s %10s %10s %12s\n", "", "", "", "needed");
    double rss_max = 0, worst_ratio = 0, per_px_first = 0, per_px_worst = 0, strips_ms = 0;
    int64_t last = 0;
    for (int64_t n = 2048; n <= max_n; n *= 2) {
        result r;
        if (measure_median(n, budget, path, &r))
            return fprintf(stderr, "N = %lld failed\n", (long long)n), 1;
        double per_px = r.ms * 1e3 / ((double)n * n / 1e3); /* us per 1000 output pixels */
        printf("%8lld %10.2f %10.0f %12.3f %10.1f %12.3f\n", (long long)n, r.ms / 1e3, r.rss_mb,
               r.computed / r.needed, r.file_mb, per_px);
        fflush(stdout);
        rss_max = r.rss_mb > rss_max ? r.rss_mb : rss_max;
        worst_ratio = r.computed / r.needed > worst_ratio ? r.computed / r.needed : worst_ratio;
        if (n == 4096 || per_px_first == 0)
            per_px_first = per_px; /* 2048 carries start-up costs: linearity from 4096 */
        if (n >= 4096 && per_px / per_px_first > per_px_worst)
            per_px_worst = per_px / per_px_first;
        if (n == 16384)
            strips_ms = r.ms;
        last = n;
    }
    /* What strips cost against keeping every halo: 16384 with a budget that holds them. */
    double kept_ratio = 0;
    if (strips_ms > 0) {
        result k;
        if (measure_median(16384, budget * 4, path, &k))
            return fprintf(stderr, "N = 16384 at 4x the budget failed\n"), 1;
        printf("16384 at %lld MiB (halos kept): %.2f s, peak %.0f MiB, computed/needed %.3f\n",
               (long long)budget_mib * 4, k.ms / 1e3, k.rss_mb, k.computed / k.needed);
        kept_ratio = strips_ms / k.ms;
    }
    printf("BENCH scale: max_n=%lld budget_mb=%lld peak_mb_max=%.0f within_budget=%d "
           "windows_over_needed=%.3f time_per_pixel_growth=%.2f time_vs_halos_kept=%.2f\n",
           (long long)last, (long long)budget_mib, rss_max, rss_max <= (double)budget_mib,
           worst_ratio, per_px_worst, kept_ratio);
    return 0;
}
