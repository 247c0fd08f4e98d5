/* bench_eval: the blur-of-blur pipeline of the original library's example, read over
 * [:, 0:4096, 0:4096] f32, against a hand-written program doing the same work (the same
 * window calls: 144 noise, 100 blur, 64 blur windows, assembled by hand into flat arrays).
 * Every measurement runs in a freshly executed process (fresh memory for both), five times,
 * interleaved; medians are reported (the kernel's page clearing varies a lot from run to run on
 * these virtual machines, and dominates both programs).
 *
 * Memory regimes: the hand-written program holds every level in full (its three flat arrays);
 * the library's memory store keeps every chunk of the three tensors (the default), or only
 * the result (the noise and first blur transient: a moving band of them is held), or only what
 * the read needs (the whole pipeline transient: the result is copied out chunk by chunk).
 *
 * Usage: bench_eval [runs] [size]   (defaults 5 and 4096)
 *        bench_eval --only=K          one run in-process, K indexes KINDS */
#define _POSIX_C_SOURCE 200809L
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "blur_kernels.h"
#include "infinite_tensor.h"

static int64_t SIZE = 4096;

static double checksum(const float *v, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i += 7)
        s += v[i] * (double)(i % 13 + 1);
    return s;
}

/* ---- the library ------------------------------------------------------------------------ */

typedef struct blur_state {
    float *tmp[64];
    atomic_long calls;
} blur_state;

static int noise_fn(const it_window_batch *b, void *user) {
    atomic_long *calls = user;
    for (size_t k = 0; k < b->count; k++) {
        bench_noise(b->index[k * 3 + 1], b->index[k * 3 + 2], b->out[k]);
        atomic_fetch_add(calls, 1);
    }
    return 0;
}

static int blur_fn(const it_window_batch *b, void *user) {
    blur_state *s = user;
    for (size_t k = 0; k < b->count; k++) {
        bench_blur(b->arg[k], b->out[k], s->tmp[b->thread]);
        atomic_fetch_add(&s->calls, 1);
    }
    return 0;
}

/* What the memory store keeps: every chunk (the default), the result only (intermediates
 * transient), or nothing beyond what the read needs (the whole pipeline transient). */
typedef enum keeping { KEEP, INTERMEDIATES_TRANSIENT, WHOLE_TRANSIENT } keeping;

static int run_library(int threads, keeping mode, double *ms, double *sum, long *calls) {
    it_ctx_options co;
    it_ctx_options_init(&co);
    co.threads = threads;
    it_ctx *ctx;
    it_store *store;
    if (it_ctx_create(&co, &ctx) || it_store_open_memory(ctx, NULL, &store))
        return fprintf(stderr, "setup: %s\n", it_last_error()), 1;
    atomic_long noise_calls = 0;
    blur_state bs = {0};
    for (int i = 0; i < threads; i++)
        bs.tmp[i] = malloc(sizeof(float) * CH * PW * BW);

    int64_t win[3] = {CH, BW, BW}, pad[3] = {CH, PW, PW};
    it_tensor_desc d;
    it_tensor_desc_init(&d, 3);
    d.shape[0] = CH, d.shape[1] = IT_INF, d.shape[2] = IT_INF;
    it_window_init(&d.window, 3, win);
    d.fn = noise_fn;
    d.user = &noise_calls;
    d.flags = mode == KEEP ? 0 : IT_TENSOR_TRANSIENT;
    it_tensor *base, *blur1, *blur2;
    if (it_tensor_create(store, &d, &base))
        return fprintf(stderr, "%s\n", it_last_error()), 1;
    int64_t step[3] = {CH, BW, BW}, halo[3] = {0, -PAD, -PAD};
    it_window argw;
    it_window_set(&argw, 3, pad, step, halo);
    d.fn = blur_fn;
    d.user = &bs;
    d.n_args = 1;
    d.arg_windows = &argw;
    d.args = &base;
    if (it_tensor_create(store, &d, &blur1))
        return fprintf(stderr, "%s\n", it_last_error()), 1;
    d.args = &blur1;
    d.flags = mode == WHOLE_TRANSIENT ? IT_TENSOR_TRANSIENT : 0;
    if (it_tensor_create(store, &d, &blur2))
        return fprintf(stderr, "%s\n", it_last_error()), 1;

    size_t n = (size_t)CH * SIZE * SIZE;
    float *out = malloc(n * sizeof *out);
    it_region r;
    int64_t start[3] = {0, 0, 0}, stop[3] = {CH, SIZE, SIZE};
    it_region_set(&r, 3, start, stop, NULL);
    double t0 = bench_now_ms();
    int rc = it_tensor_read(blur2, &r, out, n * sizeof *out);
    *ms = bench_now_ms() - t0;
    if (rc)
        return fprintf(stderr, "read: %s\n", it_last_error()), 1;
    *sum = checksum(out, n);
    *calls = noise_calls * 1000000 + bs.calls;
    it_store_close(store);
    it_ctx_destroy(ctx);
    return 0;
}

/* The measured configurations; 0 is the hand-written program. */
static const struct {
    const char *name;
    int threads;
    keeping mode;
} KINDS[] = {
    {"hand-written, 1 thread", 1, KEEP},
    {"library, 1 thread", 1, KEEP},
    {"library, 2 threads", 2, KEEP},
    {"  transient noise+blur1, 1t", 1, INTERMEDIATES_TRANSIENT},
    {"  transient noise+blur1, 2t", 2, INTERMEDIATES_TRANSIENT},
    {"  all transient, 2t", 2, WHOLE_TRANSIENT},
};
#define NKINDS (int)(sizeof KINDS / sizeof KINDS[0])

/* ---- the hand-written baseline ------------------------------------------------------------ */

/* Level l spans windows lo..hi on both spatial axes; its flat array covers them exactly. */
typedef struct level {
    int64_t lo, n;   /* first window, windows per axis */
    float *data;     /* CH x (n*BW) x (n*BW) */
} level;

static void put_window(level *L, int64_t wy, int64_t wx, const float *win) {
    int64_t W = L->n * BW;
    for (int c = 0; c < CH; c++)
        for (int y = 0; y < BW; y++)
            memcpy(L->data + ((int64_t)c * W + (wy - L->lo) * BW + y) * W + (wx - L->lo) * BW,
                   win + ((int64_t)c * BW + y) * BW, BW * sizeof(float));
}

static void get_padded(const level *L, int64_t wy, int64_t wx, float *dst) {
    int64_t W = L->n * BW;
    int64_t y0 = (wy - L->lo) * BW - PAD, x0 = (wx - L->lo) * BW - PAD;
    for (int c = 0; c < CH; c++)
        for (int y = 0; y < PW; y++)
            memcpy(dst + ((int64_t)c * PW + y) * PW, L->data + ((int64_t)c * W + y0 + y) * W + x0,
                   PW * sizeof(float));
}

static int run_baseline(double *ms, double *sum, long *calls) {
    int64_t nout = SIZE / BW;
    level out = {0, nout, NULL}, mid = {-1, nout + 2, NULL}, base = {-2, nout + 4, NULL};
    double t0 = bench_now_ms();
    level *lv[3] = {&base, &mid, &out};
    for (int i = 0; i < 3; i++)
        lv[i]->data = malloc(sizeof(float) * CH * (lv[i]->n * BW) * (lv[i]->n * BW));
    float *win = malloc(sizeof(float) * CH * BW * BW);
    float *padded = malloc(sizeof(float) * CH * PW * PW);
    float *tmp = malloc(sizeof(float) * CH * PW * BW);
    long nc = 0;
    for (int64_t y = base.lo; y < base.lo + base.n; y++)
        for (int64_t x = base.lo; x < base.lo + base.n; x++, nc += 1000000) {
            bench_noise(y, x, win);
            put_window(&base, y, x, win);
        }
    for (int l = 1; l < 3; l++)
        for (int64_t y = lv[l]->lo; y < lv[l]->lo + lv[l]->n; y++)
            for (int64_t x = lv[l]->lo; x < lv[l]->lo + lv[l]->n; x++, nc++) {
                get_padded(lv[l - 1], y, x, padded);
                bench_blur(padded, win, tmp);
                put_window(lv[l], y, x, win);
            }
    *ms = bench_now_ms() - t0;
    *sum = checksum(out.data, (size_t)CH * SIZE * SIZE);
    *calls = nc;
    for (int i = 0; i < 3; i++)
        free(lv[i]->data);
    free(win), free(padded), free(tmp);
    return 0;
}

/* ---- driver: each measurement in a fresh process ---------------------------------------- */

typedef struct result {
    double ms, sum, rss_mb;
    long calls;
} result;

static char self_path[4096];

/* Runs one measurement in a freshly executed copy of this program (`--only=K --raw`), so that
 * each starts from a new address space, and reads its result line. */
static int measure(int kind, result *r) {
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "'%s' --only=%d --raw %lld", self_path, kind, (long long)SIZE);
    FILE *p = popen(cmd, "r");
    if (!p)
        return 1;
    int n = fscanf(p, "RESULT %lf %lf %ld %lf", &r->ms, &r->sum, &r->calls, &r->rss_mb);
    int rc = pclose(p);
    return n == 4 && rc == 0 ? 0 : 1;
}

/* On a virtual machine the host backs guest memory the first time the guest touches it, and
 * takes freed guest pages back after a while, so a fault on such a page costs several times
 * the guest's own page clearing. A process that needs more memory than the one before it freed
 * pays for the difference: the library run after the hand-written one (1.13 vs 0.93 GB) did,
 * systematically. Touching more memory than any run needs in a throw-away child right before
 * every measurement gives each measured process the same kind of pages. */
static void warm_up_memory(size_t bytes) {
    pid_t pid = fork();
    if (pid == 0) {
        char *p = malloc(bytes);
        if (p)
            for (size_t i = 0; i < bytes; i += 4096)
                p[i] = 1;
        _exit(0);
    }
    waitpid(pid, NULL, 0);
}

int main(int argc, char **argv) {
    if (argc > 1 && strncmp(argv[1], "--only=", 7) == 0) {
        /* One measurement in this process: --only=K, K indexes KINDS.
         * With --raw SIZE: one machine-readable line for the driver. */
        int kind = atoi(argv[1] + 7);
        if (kind < 0 || kind >= NKINDS)
            return fprintf(stderr, "bench_eval: --only takes 0..%d\n", NKINDS - 1), 2;
        bool raw = argc > 2 && strcmp(argv[2], "--raw") == 0;
        if (raw && argc > 3)
            SIZE = atoll(argv[3]);
        double ms = 0, sum = 0;
        long calls = 0;
        int rc = kind == 0 ? run_baseline(&ms, &sum, &calls) : run_library(KINDS[kind].threads, KINDS[kind].mode, &ms, &sum, &calls);
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        size_t cur, peak;
        it_memory_stats(&cur, &peak);
        if (raw)
            printf("RESULT %.3f %.17g %ld %.1f\n", ms, sum, calls, ru.ru_maxrss / 1024.0);
        else
            printf("%.1f ms, library buffers peak %.1f MB\n", ms, peak / 1048576.0);
        return rc;
    }
    ssize_t len = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
    if (len <= 0)
        return fprintf(stderr, "bench_eval: cannot find its own executable\n"), 1;
    self_path[len] = 0;
    int runs = argc > 1 ? atoi(argv[1]) : 5;
    if (argc > 2)
        SIZE = atoll(argv[2]);
    if (runs < 1 || runs > 50 || SIZE < BW || SIZE % BW) {
        fprintf(stderr, "usage: bench_eval [runs 1..50] [size, multiple of %d]\n", BW);
        return 2;
    }
    printf("blur-of-blur over [:, 0:%lld, 0:%lld] f32, windows %d, %d run(s) each\n",
           (long long)SIZE, (long long)SIZE, BW, runs);
    size_t warm = (size_t)CH * SIZE * SIZE * 4 * 8; /* ~1.5 GB at the standard size */
    double ms[NKINDS][50], rss[NKINDS][50], sums[NKINDS];
    long calls[NKINDS];
    for (int i = 0; i < runs; i++)
        for (int k = 0; k < NKINDS; k++) {
            result r;
            warm_up_memory(warm);
            if (measure(k, &r)) {
                fprintf(stderr, "%s failed\n", KINDS[k].name);
                return 1;
            }
            ms[k][i] = r.ms, rss[k][i] = r.rss_mb, sums[k] = r.sum, calls[k] = r.calls;
        }
    double med[NKINDS], mrss[NKINDS];
    for (int k = 0; k < NKINDS; k++) {
        med[k] = bench_median(ms[k], runs);
        mrss[k] = bench_median(rss[k], runs);
        printf("%-28s %8.1f ms   peak RSS %7.1f MB   windows: %ld noise + %ld blur   checksum %.6e\n",
               KINDS[k].name, med[k], mrss[k], calls[k] / 1000000, calls[k] % 1000000, sums[k]);
    }
    for (int k = 1; k < NKINDS; k++)
        if (sums[k] != sums[0] || calls[k] != calls[0]) {
            fprintf(stderr, "results or window counts differ: %s\n", KINDS[k].name);
            return 1;
        }
    double out_mb = (double)CH * SIZE * SIZE * 4 / 1048576.0;
    printf("  (output %.0f MiB; same windows and results in every configuration)\n", out_mb);
    printf("BENCH eval: overhead_1t=%.3f speedup_2t=%.2f ms_2t=%.1f ms_1t=%.1f ms_hand=%.1f "
           "rss_mb_2t=%.0f rss_mb_hand=%.0f ms_transient_2t=%.1f speedup_transient_2t=%.2f "
           "rss_over_out_transient=%.2f ms_all_transient_2t=%.1f rss_over_out_all_transient=%.2f\n",
           med[1] / med[0], med[1] / med[2], med[2], med[1], med[0], mrss[2], mrss[0], med[4],
           med[3] / med[4], mrss[4] / out_mb, med[5], mrss[5] / out_mb);
    return 0;
}
