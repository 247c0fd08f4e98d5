/* Crash safety of the HDF5 store, with real processes: a child fills a region of a two-level
 * pipeline and is killed with SIGKILL at a random moment. The parent then reopens the file,
 * checks every stored chunk against a fresh in-memory computation, and resumes the fill,
 * checking that f runs exactly for the windows of missing chunks.
 * IT_CRASH_TRIALS sets the number of trials (default 4; the stress label runs 30). Kills at
 * chosen moments (inside every write, commit, close and export) are in test_faults.c. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_util.h"

#define C 16      /* chunk = window edge */
#define N 24      /* top chunks per side: region [0, N*C)^2 */
#define LO (-2)   /* recorded chunk range [LO, N+2) per side */
#define SPAN (N + 4)

typedef struct recorder {
    atomic_int calls[SPAN][SPAN];
    int spin;     /* busy-work per window, to stretch the fill */
} recorder;

/* Counts the batch's windows and spends the recorder's busy-work. */
static void record(recorder *r, const it_window_batch *b) {
    if (!r)
        return;
    for (size_t k = 0; k < b->count; k++) {
        const int64_t *w = b->index + 2 * k;
        atomic_fetch_add(&r->calls[w[0] - LO][w[1] - LO], 1);
    }
    for (volatile int i = 0; i < r->spin; i++) {
    }
}

static int base_fn(const it_window_batch *b, void *user) {
    record(user, b);
    return golden_fn(b, NULL);
}

static int top_fn(const it_window_batch *b, void *user) {
    record(user, b);
    return box3_fn(b, NULL);
}

typedef struct pipeline {
    it_ctx *ctx;
    it_store *store;
    it_tensor *base, *top;
} pipeline;

static int build(pipeline *p, it_store *store, recorder *rb, recorder *rt) {
    int64_t size[2] = {C, C}, pad[2] = {C + 2, C + 2};
    it_tensor_desc d;
    it_tensor_desc_init(&d, 2);
    d.shape[0] = d.shape[1] = IT_INF;
    it_window_init(&d.window, 2, size);
    d.chunk[0] = d.chunk[1] = C;
    d.fn = base_fn;
    d.user = rb;
    d.id = "base";
    d.fn_tag = "crash-test";
    int rc = it_tensor_create(store, &d, &p->base);
    if (rc)
        return rc;
    int64_t step[2] = {C, C}, halo[2] = {-1, -1};
    it_window aw;
    it_window_set(&aw, 2, pad, step, halo);
    d.fn = top_fn;
    d.user = rt;
    d.id = "top";
    d.n_args = 1;
    d.args = &p->base;
    d.arg_windows = &aw;
    return it_tensor_create(store, &d, &p->top);
}

static char path[256];

static void child(unsigned seed) {
    it_ctx_options co;
    it_ctx_options_init(&co);
    co.threads = 2;
    co.memory_budget = (size_t)64 << 10; /* many small blocks: a flush after each */
    it_ctx *ctx;
    it_store *store;
    pipeline p;
    static recorder rb, rt;
    rb.spin = rt.spin = 200000 + (int)(seed % 7) * 50000;
    if (it_ctx_create(&co, &ctx) || it_store_open_hdf5(ctx, path, IT_HDF5_READWRITE, NULL, &store) ||
        build(&p, store, &rb, &rt))
        _exit(3);
    it_region r = region2(0, N * C, 0, N * C);
    int rc = it_tensor_fill(p.top, &r);
    it_store_close(store);
    _exit(rc ? 4 : 0);
}

/* Stored chunks of a tensor over the chunk range, probed through a read-only open. */
static void probe(it_store *s, const char *id, bool present[SPAN][SPAN], const float *ref,
                  int64_t ref_lo, int64_t ref_n, int *count) {
    it_tensor *t;
    if (it_tensor_open(s, id, 0, &t))
        fail_msg("open %s: %s", id, it_last_error());
    *count = 0;
    for (int a = 0; a < SPAN; a++)
        for (int b = 0; b < SPAN; b++) {
            int64_t y = (a + LO) * C, x = (b + LO) * C;
            it_region r = region2(y, y + C, x, x + C);
            float buf[C * C];
            int rc = it_tensor_read(t, &r, buf, sizeof buf);
            present[a][b] = rc == 0;
            if (rc == IT_ENOTCOMPUTED)
                continue;
            if (rc)
                fail_msg("read %s chunk (%d, %d): %s", id, a + LO, b + LO, it_last_error());
            (*count)++;
            /* every stored chunk holds exactly the values of a fresh computation */
            for (int i = 0; i < C; i++)
                for (int j = 0; j < C; j++) {
                    float want = ref[(y + i - ref_lo) * ref_n + (x + j - ref_lo)];
                    if (buf[i * C + j] != want)
                        fail_msg("%s chunk (%d, %d) element (%d, %d): %g, expected %g", id,
                                 a + LO, b + LO, i, j, buf[i * C + j], want);
                }
        }
    it_tensor_release(t);
}

static void test_kill_and_resume(void **state) {
    (void)state;
    const char *env = getenv("IT_CRASH_TRIALS");
    int trials = env ? atoi(env) : 4;
    snprintf(path, sizeof path, "%s/it-crash-%d.h5", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             (int)getpid());

    /* reference values from the memory store, over the whole recorded range */
    const int64_t ref_lo = LO * C, ref_n = SPAN * C;
    float *ref_base = malloc(sizeof(float) * ref_n * ref_n);
    float *ref_top = malloc(sizeof(float) * ref_n * ref_n);
    {
        it_ctx *ctx;
        it_store *ms;
        pipeline p;
        assert_int_equal(it_ctx_create(NULL, &ctx), 0);
        assert_int_equal(it_store_open_memory(ctx, NULL, &ms), 0);
        assert_int_equal(build(&p, ms, NULL, NULL), 0);
        it_region r = region2(ref_lo, ref_lo + ref_n, ref_lo, ref_lo + ref_n);
        assert_int_equal(it_tensor_read(p.base, &r, ref_base, sizeof(float) * ref_n * ref_n), 0);
        assert_int_equal(it_tensor_read(p.top, &r, ref_top, sizeof(float) * ref_n * ref_n), 0);
        it_store_close(ms);
        it_ctx_destroy(ctx);
    }
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    int partial = 0;
    long fill_us = 0;
    for (int trial = 0; trial <= trials; trial++) {
        unlink(path);
        /* Trial 0 runs the fill to completion and times it; the others are killed at a random
         * moment of that duration. */
        int delay_us = trial == 0 ? 0 : (int)(fill_us / 50 + rand() % (fill_us * 9 / 10 + 1));
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            child((unsigned)trial);
        int status;
        if (trial == 0) {
            waitpid(pid, &status, 0);
            clock_gettime(CLOCK_MONOTONIC, &t1);
            fill_us = (t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000;
            assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        } else {
            struct timespec ts = {delay_us / 1000000, (long)(delay_us % 1000000) * 1000};
            nanosleep(&ts, NULL);
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
        }
        if (access(path, F_OK) != 0)
            continue; /* killed before the file existed */

        it_ctx *ctx;
        it_store *s;
        assert_int_equal(it_ctx_create(NULL, &ctx), 0);
        /* the file opens, read-only first: every stored chunk is correct and complete */
        if (it_store_open_hdf5(ctx, path, IT_HDF5_READONLY, NULL, &s))
            fail_msg("trial %d: reopen read-only: %s", trial, it_last_error());
        static bool have_base[SPAN][SPAN], have_top[SPAN][SPAN];
        int nbase = 0, ntop = 0;
        it_tensor *probe_t;
        bool tensors = it_tensor_open(s, "top", 0, &probe_t) == 0;
        if (tensors) {
            it_tensor_release(probe_t);
            probe(s, "base", have_base, ref_base, ref_lo, ref_n, &nbase);
            probe(s, "top", have_top, ref_top, ref_lo, ref_n, &ntop);
        } else {
            memset(have_base, 0, sizeof have_base);
            memset(have_top, 0, sizeof have_top);
        }
        it_store_close(s);
        if (trial == 0)
            print_message("uninterrupted fill: %ld us, %d base + %d top chunks\n", fill_us, nbase, ntop);
        else
            print_message("trial %d: killed after %d us, %d base + %d top chunks stored\n",
                          trial, delay_us, nbase, ntop);
        partial += ntop > 0 && ntop < N * N;

        /* resume: f runs exactly for the windows of missing chunks that are needed */
        static recorder rb, rt;
        memset(&rb, 0, sizeof rb);
        memset(&rt, 0, sizeof rt);
        pipeline p;
        if (it_store_open_hdf5(ctx, path, IT_HDF5_READWRITE, NULL, &s) || build(&p, s, &rb, &rt))
            fail_msg("trial %d: resume: %s", trial, it_last_error());
        it_region r = region2(0, N * C, 0, N * C);
        if (it_tensor_fill(p.top, &r))
            fail_msg("trial %d: resumed fill: %s", trial, it_last_error());
        static bool need_base[SPAN][SPAN];
        memset(need_base, 0, sizeof need_base);
        for (int a = -LO; a < -LO + N; a++)
            for (int b = -LO; b < -LO + N; b++) {
                int want = have_top[a][b] ? 0 : 1;
                if (atomic_load(&rt.calls[a][b]) != want)
                    fail_msg("trial %d: top window (%d, %d) computed %d times, expected %d",
                             trial, a + LO, b + LO, atomic_load(&rt.calls[a][b]), want);
                if (!have_top[a][b])
                    for (int i = -1; i <= 1; i++)
                        for (int j = -1; j <= 1; j++)
                            need_base[a + i][b + j] = true;
            }
        for (int a = 0; a < SPAN; a++)
            for (int b = 0; b < SPAN; b++) {
                int want = need_base[a][b] && !have_base[a][b] ? 1 : 0;
                if (atomic_load(&rb.calls[a][b]) != want)
                    fail_msg("trial %d: base window (%d, %d) computed %d times, expected %d",
                             trial, a + LO, b + LO, atomic_load(&rb.calls[a][b]), want);
            }
        /* and the completed region equals the reference */
        float *got = malloc(sizeof(float) * N * C * N * C);
        assert_int_equal(it_tensor_read(p.top, &r, got, sizeof(float) * N * C * N * C), 0);
        for (int64_t y = 0; y < N * C; y++)
            for (int64_t x = 0; x < N * C; x++)
                if (got[y * N * C + x] != ref_top[(y - ref_lo) * ref_n + (x - ref_lo)])
                    fail_msg("trial %d: resumed value at (%lld, %lld) differs", trial,
                             (long long)y, (long long)x);
        free(got);
        assert_int_equal(it_store_close(s), 0);
        it_ctx_destroy(ctx);
    }
    print_message("%d kill trials, %d killed in the middle of the fill, all verified\n", trials,
                  partial);
    unlink(path);
    free(ref_base);
    free(ref_top);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_kill_and_resume)};
    return cmocka_run_group_tests_name("hdf5_crash", tests, NULL, NULL);
}
