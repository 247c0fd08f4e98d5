/* Reads nested in window functions: a function may read any tensor (data-dependent reads
 * that args cannot express), on several threads at once; a read that needs what its own
 * computation is making (a chunk of the same read, or of a read waiting for it on another
 * thread) fails with IT_ECYCLE naming the chunks, never hangs (an alarm fails a hang); chains
 * of nested reads work up to 64 deep. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_util.h"

typedef struct env {
    it_ctx *ctx;
    it_store *store;
    golden_gen gen;
    it_tensor *base;
} env;

static int setup(void **state) {
    env *e = calloc(1, sizeof *e);
    it_ctx_options co;
    it_ctx_options_init(&co);
    co.threads = 4;
    co.memory_budget = (size_t)4 << 20;
    if (it_ctx_create(&co, &e->ctx) || it_store_open_memory(e->ctx, NULL, &e->store))
        return -1;
    it_tensor_desc d;
    golden_overlap_desc(&d, &e->gen);
    d.id = "base";
    if (it_tensor_create(e->store, &d, &e->base))
        return -1;
    *state = e;
    return 0;
}

static int teardown(void **state) {
    env *e = *state;
    it_store_close(e->store);
    it_ctx_destroy(e->ctx);
    free(e);
    return 0;
}

static it_tensor *make(env *e, const char *id, it_window_fn fn, void *user, int64_t win,
                       int64_t chunk) {
    int64_t size[2] = {win, win};
    it_tensor_desc d;
    it_tensor_desc_init(&d, 2);
    d.id = id;
    d.shape[0] = d.shape[1] = IT_INF;
    it_window_init(&d.window, 2, size);
    d.chunk[0] = d.chunk[1] = chunk;
    d.fn = fn;
    d.user = user;
    it_tensor *t;
    if (it_tensor_create(e->store, &d, &t))
        fail_msg("%s", it_last_error());
    return t;
}

/* ---- data-dependent reads -------------------------------------------------------------- */

/* Window (i, j) of 8x8 is base's 8x8 block at a place that depends on base itself: the block
 * at (8i + 100 + s, 8j - 50), s = |base(8i, 8j)| (a value -48..48). */
static int shifted_fn(const it_window_batch *b, void *user) {
    env *e = user;
    for (size_t k = 0; k < b->count; k++) {
        int64_t i = b->index[2 * k], j = b->index[2 * k + 1];
        float probe;
        it_region one = region2(8 * i, 8 * i + 1, 8 * j, 8 * j + 1);
        int rc = it_tensor_read(e->base, &one, &probe, sizeof probe);
        if (rc)
            return rc;
        int64_t s = (int64_t)(probe < 0 ? -probe : probe);
        it_region r = region2(8 * i + 100 + s, 8 * i + 108 + s, 8 * j - 50, 8 * j - 42);
        if ((rc = it_tensor_read(e->base, &r, b->out[k], 64 * sizeof(float))))
            return rc;
    }
    return 0;
}

static void test_data_dependent_reads(void **state) {
    env *e = *state;
    it_tensor *t = make(e, "shifted", shifted_fn, e, 8, 32);
    enum { N = 96 };
    float *got = malloc(N * N * sizeof *got);
    alarm(120);
    it_region r = region2(-N / 2, N / 2, 0, N);
    assert_int_equal(it_tensor_read(t, &r, got, N * N * sizeof *got), 0);
    alarm(0);
    for (int64_t y = -N / 2; y < N / 2; y += 8) /* each 8x8 window against direct reads */
        for (int64_t x = 0; x < N; x += 8) {
            float probe, want[64];
            it_region one = region2(y, y + 1, x, x + 1);
            assert_int_equal(it_tensor_read(e->base, &one, &probe, sizeof probe), 0);
            int64_t s = (int64_t)(probe < 0 ? -probe : probe);
            it_region w = region2(y + 100 + s, y + 108 + s, x - 50, x - 42);
            assert_int_equal(it_tensor_read(e->base, &w, want, sizeof want), 0);
            for (int a = 0; a < 8; a++)
                assert_memory_equal(&got[(size_t)(y + N / 2 + a) * N + (size_t)x], &want[a * 8],
                                    8 * sizeof(float));
        }
    it_tensor_counters c;
    it_tensor_get_counters(t, &c);
    print_message("%llu windows, each with two nested reads, on 4 threads\n",
                  (unsigned long long)c.windows_computed);
    it_tensor_release(t);
    free(got);
}

/* ---- cycles -------------------------------------------------------------------------------- */

typedef struct cyc {
    it_tensor *read;            /* what fn reads: the region of its own window */
    pthread_mutex_t lock;       /* windows fail on several threads at once */
    int got;
    char msg[512];
} cyc;

static int reading_back(const it_window_batch *b, void *user) {
    cyc *c = user;
    int64_t i = b->index[0], j = b->index[1];
    it_region r = region2(8 * i, 8 * i + 8, 8 * j, 8 * j + 8);
    int rc = it_tensor_read(c->read, &r, b->out[0], 64 * sizeof(float));
    pthread_mutex_lock(&c->lock);
    if (rc && !c->got) {
        c->got = rc;
        snprintf(c->msg, sizeof c->msg, "%s", it_last_error());
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

static void test_reading_its_own_chunk_is_a_cycle(void **state) {
    env *e = *state;
    cyc c = {.lock = PTHREAD_MUTEX_INITIALIZER};
    it_tensor *t = make(e, "self", reading_back, &c, 8, 8);
    c.read = t;
    it_region r = region2(0, 16, 0, 16);
    float buf[256];
    alarm(60);
    assert_int_equal(it_tensor_read(t, &r, buf, sizeof buf), IT_ECYCLE);
    alarm(0);
    assert_int_equal(c.got, IT_ECYCLE);
    assert_non_null(strstr(c.msg, "tensor \"self\" chunk ("));
    assert_non_null(strstr(it_last_error(), "fn of tensor \"self\", window ("));
    print_message("%s\n", it_last_error());
    assert_int_equal(it_store_memory_bytes(e->store) % 256, 0);
    it_tensor_release(t);
}

typedef struct reader_arg {
    it_tensor *t;
    int rc;
} reader_arg;

static void *read_in_thread(void *p) {
    reader_arg *a = p;
    it_region r = region2(0, 8, 0, 8);
    float buf[64];
    a->rc = it_tensor_read(a->t, &r, buf, sizeof buf);
    return NULL;
}

/* P's window reads Q's, Q's reads P's; read from two threads at once, the two reads wait for
 * each other: the second to wait sees the cycle, and the first then finds it on its own. With
 * 16 windows per chunk, every worker runs a window of P or Q that reads the other. */
static void test_cycle_across_threads(void **state) {
    env *e = *state;
    for (int round = 0; round < 200; round++) {
        cyc pc = {.lock = PTHREAD_MUTEX_INITIALIZER}, qc = {.lock = PTHREAD_MUTEX_INITIALIZER};
        char pid[16], qid[16];
        snprintf(pid, sizeof pid, "p%d", round);
        snprintf(qid, sizeof qid, "q%d", round);
        int64_t chunk = round % 2 ? 32 : 8;
        it_tensor *p = make(e, pid, reading_back, &pc, 8, chunk);
        it_tensor *q = make(e, qid, reading_back, &qc, 8, chunk);
        pc.read = q;
        qc.read = p;
        reader_arg a = {p, 0}, b = {q, 0};
        pthread_t ta, tb;
        alarm(60);
        assert_int_equal(pthread_create(&ta, NULL, read_in_thread, &a), 0);
        assert_int_equal(pthread_create(&tb, NULL, read_in_thread, &b), 0);
        pthread_join(ta, NULL);
        pthread_join(tb, NULL);
        alarm(0);
        assert_int_equal(a.rc, IT_ECYCLE);
        assert_int_equal(b.rc, IT_ECYCLE);
        if (round == 0)
            print_message("%s\n", pc.msg[0] ? pc.msg : qc.msg);
        it_tensor_release(p);
        it_tensor_release(q);
    }
}

static void *read_base_in_thread(void *p) {
    env *e = p;
    float *buf = malloc(256 * 256 * sizeof *buf);
    it_region r = region2(0, 256, -128, 128);
    intptr_t rc = it_tensor_read(e->base, &r, buf, 256 * 256 * sizeof *buf);
    free(buf);
    return (void *)rc;
}

/* Windows on every worker read base while another thread reads base itself: the nested reads
 * never wait for that read's claims (its pool job may need the workers they occupy); they
 * compute what it holds themselves. No hang, the same values. */
static void test_nested_and_plain_reads_at_once(void **state) {
    env *e = *state;
    it_tensor *t = make(e, "shifted", shifted_fn, e, 8, 64);
    enum { N = 128 };
    float *got = malloc(N * N * sizeof *got), *again = malloc(N * N * sizeof *again);
    pthread_t other;
    alarm(120);
    assert_int_equal(pthread_create(&other, NULL, read_base_in_thread, e), 0);
    it_region r = region2(0, N, -N / 2, N / 2);
    assert_int_equal(it_tensor_read(t, &r, got, N * N * sizeof *got), 0);
    void *rc;
    pthread_join(other, &rc);
    alarm(0);
    assert_int_equal((intptr_t)rc, 0);
    it_tensor_release(t); /* computed again from scratch: the same values */
    t = make(e, "shifted", shifted_fn, e, 8, 64);
    assert_int_equal(it_tensor_read(t, &r, again, N * N * sizeof *again), 0);
    assert_memory_equal(got, again, N * N * sizeof *got);
    it_tensor_release(t);
    free(got);
    free(again);
}

/* ---- chains -------------------------------------------------------------------------------- */

typedef struct chain {
    it_tensor *self;
    int direction;              /* -1: window i reads window i-1 (down to 0); +1: i+1, endless */
} chain;

/* 1-D, windows of 1: v(i) = v(i - 1) + 1 and v(0) = 0 (or the endless v(i) = v(i + 1)). */
static int chain_fn(const it_window_batch *b, void *user) {
    chain *c = user;
    int64_t i = b->index[0];
    float prev = 0;
    if (c->direction > 0 || i > 0) {
        it_region r;
        it_region_init(&r, 1);
        r.start[0] = i + c->direction;
        r.stop[0] = r.start[0] + 1;
        int rc = it_tensor_read(c->self, &r, &prev, sizeof prev);
        if (rc)
            return rc;
    }
    *(float *)b->out[0] = i > 0 ? prev + 1 : 0;
    return 0;
}

static it_tensor *make_chain(env *e, const char *id, chain *c) {
    int64_t one = 1;
    it_tensor_desc d;
    it_tensor_desc_init(&d, 1);
    d.id = id;
    d.shape[0] = IT_INF;
    it_window_init(&d.window, 1, &one);
    d.chunk[0] = 1;
    d.fn = chain_fn;
    d.user = c;
    it_tensor *t;
    assert_int_equal(it_tensor_create(e->store, &d, &t), 0);
    c->self = t;
    return t;
}

static void test_chains_of_nested_reads(void **state) {
    env *e = *state;
    chain down = {.direction = -1}, up = {.direction = 1};
    it_tensor *t = make_chain(e, "down", &down);
    it_region r;
    it_region_init(&r, 1);
    r.start[0] = 40, r.stop[0] = 41;
    float v = -1;
    alarm(60);
    assert_int_equal(it_tensor_read(t, &r, &v, sizeof v), 0); /* 40 reads nested in each other */
    assert_true(v == 40);
    it_tensor *endless = make_chain(e, "up", &up);
    assert_int_equal(it_tensor_read(endless, &r, &v, sizeof v), IT_ECYCLE);
    alarm(0);
    assert_non_null(strstr(it_last_error(), "nested 64 deep"));
    it_tensor_release(endless);
    it_tensor_release(t);
}

/* ---- from a progress callback ------------------------------------------------------------ */

typedef struct progress_read {
    it_tensor *other;
    int rc;
    int calls;
} progress_read;

static int filling_progress(uint64_t done, uint64_t total, void *user) {
    (void)done, (void)total;
    progress_read *p = user;
    it_region r = region2(-64, 0, -64, 0);
    if (p->rc == 0)
        p->rc = it_tensor_fill(p->other, &r);
    p->calls++;
    return 0;
}

static void test_reads_from_a_progress_callback(void **state) {
    env *e = *state;
    it_tensor *other = make(e, "other", golden_fn, &e->gen, 8, 8);
    progress_read p = {other, 0, 0};
    it_ctx_set_progress(e->ctx, filling_progress, &p);
    it_region r = region2(0, 64, 0, 64);
    alarm(60);
    assert_int_equal(it_tensor_fill(e->base, &r), 0);
    alarm(0);
    it_ctx_set_progress(e->ctx, NULL, NULL);
    assert_int_equal(p.rc, 0);
    assert_true(p.calls > 0);
    it_tensor_stats st;
    assert_int_equal(it_tensor_get_stats(other, &st), 0);
    assert_int_equal(st.chunks, 64);
    it_tensor_release(other);
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_data_dependent_reads),
        T(test_reading_its_own_chunk_is_a_cycle),
        T(test_cycle_across_threads),
        T(test_nested_and_plain_reads_at_once),
        T(test_chains_of_nested_reads),
        T(test_reads_from_a_progress_callback),
    };
    return cmocka_run_group_tests_name("nested reads", tests, NULL, NULL);
}
