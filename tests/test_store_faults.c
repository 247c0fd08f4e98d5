/* The evaluator's failure paths, driven by the fault-injecting store (fault_store.h) around
 * real backends (an HDF5 store on a real file, the memory store): a put, get, flush or open
 * that fails at any point returns its error, leaves no partial chunk, loses no chunk stored
 * before it, and leaves the tensors usable: the next fill completes with the right values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fault_store.h"
#include "test_util.h"

#define N 32 /* the filled region: [0, N) x [0, N) of the last tensor */

typedef struct pipeline {
    it_tensor *src;   /* overlapping 8x8 windows of stride 4, sum blend (blended chunks) */
    it_tensor *blur;  /* 3x3 box sum of src through padded windows (one window per chunk) */
} pipeline;

typedef struct fixture {
    it_ctx *ctx;
    char path[256];
    it_store *ref_store;
    pipeline ref;     /* the same pipeline in a plain memory store */
} fixture;

static void make_pipeline(it_store *s, pipeline *p, bool expect_ok) {
    it_tensor_desc d;
    it_tensor_desc_init(&d, 2);
    d.id = "src";
    d.shape[0] = d.shape[1] = IT_INF;
    int64_t size[2] = {8, 8}, stride[2] = {4, 4}, zero[2] = {0, 0};
    it_window_set(&d.window, 2, size, stride, zero);
    d.chunk[0] = d.chunk[1] = 8;
    d.fn = golden_fn;
    d.fn_tag = "golden";
    int rc = it_tensor_create(s, &d, &p->src);
    if (!expect_ok)
        return;
    if (rc)
        fail_msg("creating src: %s", it_last_error());
    it_tensor_desc b;
    it_tensor_desc_init(&b, 2);
    b.id = "blur";
    b.shape[0] = b.shape[1] = IT_INF;
    int64_t out[2] = {8, 8}, pad[2] = {10, 10}, off[2] = {-1, -1};
    it_window_set(&b.window, 2, out, out, zero);
    it_window aw;
    it_window_set(&aw, 2, pad, out, off);
    b.n_args = 1;
    b.args = &p->src;
    b.arg_windows = &aw;
    b.chunk[0] = b.chunk[1] = 8;
    b.fn = box3_fn;
    b.fn_tag = "box3";
    if ((rc = it_tensor_create(s, &b, &p->blur)))
        fail_msg("creating blur: %s", it_last_error());
}

static int setup(void **state) {
    fixture *fx = calloc(1, sizeof *fx);
    it_ctx_options o;
    it_ctx_options_init(&o);
    o.threads = 2;
    o.memory_budget = 16 << 10; /* several blocks per fill: a flush after each */
    assert_int_equal(it_ctx_create(&o, &fx->ctx), 0);
    snprintf(fx->path, sizeof fx->path, "%s/it-store-faults-%d.h5",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    assert_int_equal(it_store_open_memory(fx->ctx, NULL, &fx->ref_store), 0);
    make_pipeline(fx->ref_store, &fx->ref, true);
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fixture *fx = *state;
    it_store_close(fx->ref_store);
    it_ctx_destroy(fx->ctx);
    unlink(fx->path);
    char journal[300];
    snprintf(journal, sizeof journal, "%s-journal", fx->path);
    unlink(journal);
    free(fx);
    return 0;
}

typedef enum backend { HDF5, MEMORY } backend;

/* A fresh store of the backend behind the fault injector. */
static it_store *open_faulty(fixture *fx, backend kind, it_hdf5_mode mode, fault_store **ctl) {
    it_store *inner, *s;
    int rc = kind == HDF5 ? it_store_open_hdf5(fx->ctx, fx->path, mode, NULL, &inner)
                          : it_store_open_memory(fx->ctx, NULL, &inner);
    if (rc)
        fail_msg("opening the store: %s", it_last_error());
    if ((rc = fault_store_wrap(fx->ctx, inner, &s, ctl)))
        fail_msg("wrapping the store: %s", it_last_error());
    return s;
}

/* Reads [a, b) of t and of its reference and compares them bit for bit. */
static void expect_box(const fixture *fx, it_tensor *t, const int64_t *a, const int64_t *b) {
    it_tensor_info info;
    it_tensor_get_info(t, &info);
    it_tensor *ref = strcmp(info.id, "src") == 0 ? fx->ref.src : fx->ref.blur;
    it_region r;
    it_region_set(&r, 2, a, b, NULL);
    size_t bytes = (size_t)((b[0] - a[0]) * (b[1] - a[1])) * sizeof(float);
    float *got = malloc(bytes), *want = malloc(bytes);
    if (it_tensor_read(t, &r, got, bytes))
        fail_msg("reading %s: %s", info.id, it_last_error());
    assert_int_equal(it_tensor_read(ref, &r, want, bytes), 0);
    if (memcmp(got, want, bytes) != 0)
        fail_msg("tensor %s: [%lld, %lld) x [%lld, %lld) differs from the reference", info.id,
                 (long long)a[0], (long long)b[0], (long long)a[1], (long long)b[1]);
    free(got);
    free(want);
}

typedef struct chunk_check {
    const fixture *fx;
    it_tensor *t;
    size_t n;
} chunk_check;

static int check_one_chunk(const int64_t *a, const int64_t *b, void *user) {
    chunk_check *c = user;
    expect_box(c->fx, c->t, a, b);
    c->n++;
    return 0;
}

/* Every stored chunk of the pipeline holds exactly the reference's values (no partial or
 * wrong chunk); returns how many are stored. */
static size_t expect_stored_chunks_correct(const fixture *fx, const pipeline *p) {
    chunk_check c = {fx, p->src, 0};
    assert_int_equal(it_tensor_foreach_chunk(p->src, check_one_chunk, &c), 0);
    c.t = p->blur;
    assert_int_equal(it_tensor_foreach_chunk(p->blur, check_one_chunk, &c), 0);
    return c.n;
}

typedef struct listing {
    const pipeline *p;
    size_t missing;
} listing;

static int find_chunk(const int64_t *a, const int64_t *b, void *user) {
    (void)b;
    const int64_t *want = user;
    return a[0] == want[0] && a[1] == want[1];
}

/* A chunk recorded by a successful put is still listed by its tensor. */
static void expect_listed(const char *id, const int64_t *chunk, int rank, void *user) {
    listing *l = user;
    (void)rank;
    it_tensor *t = strcmp(id, "src") == 0 ? l->p->src : l->p->blur;
    int64_t start[2] = {chunk[0] * 8, chunk[1] * 8}; /* grid offset 0 for both tensors */
    if (it_tensor_foreach_chunk(t, find_chunk, start) != 1)
        l->missing++;
}

static void expect_nothing_lost(fault_store *ctl, const pipeline *p) {
    listing l = {p, 0};
    fault_store_foreach_put(ctl, expect_listed, &l);
    assert_int_equal(l.missing, 0);
}

static void fill_region(it_tensor *t, int expect) {
    it_region r = region2(0, N, 0, N);
    int rc = it_tensor_fill(t, &r);
    if (rc != expect)
        fail_msg("fill returned %d, expected %d: %s", rc, expect, it_last_error());
    if (expect)
        assert_non_null(strstr(it_last_error(), "injected fault"));
}

/* Fails the k-th call of op for k = 1, 2, ... until a fill no longer reaches it; after each
 * failure checks the stored chunks, that no chunk stored before is lost, that a retry
 * completes, and (HDF5) that the file holds every chunk stored after reopening. Returns the
 * number of faults injected. */
static int sweep(fixture *fx, backend kind, fault_op op, int code, int max_k) {
    int injected = 0;
    for (int k = 1; k <= max_k; k++) {
        fault_store *ctl;
        it_store *s = open_faulty(fx, kind, IT_HDF5_CREATE, &ctl);
        pipeline p;
        make_pipeline(s, &p, true);
        fault_store_arm(ctl, op, (uint64_t)k, code);
        it_region r = region2(0, N, 0, N);
        int rc = it_tensor_fill(p.blur, &r);
        bool fired = fault_store_fired(ctl);
        fault_store_disarm(ctl);
        if (!fired) {
            assert_int_equal(rc, 0);
            it_store_close(s);
            break;
        }
        injected++;
        if (rc != code)
            fail_msg("k = %d: fill returned %d, expected %d: %s", k, rc, code, it_last_error());
        assert_non_null(strstr(it_last_error(), "injected fault"));
        expect_stored_chunks_correct(fx, &p);
        expect_nothing_lost(ctl, &p);
        fill_region(p.blur, 0); /* the retry completes */
        int64_t a[2] = {0, 0}, b[2] = {N, N};
        expect_box(fx, p.blur, a, b);
        assert_int_equal(it_store_close(s), 0);
        if (kind == HDF5) { /* what was stored is in the file */
            it_store *again = open_faulty(fx, kind, IT_HDF5_READONLY, &ctl);
            pipeline q;
            assert_int_equal(it_tensor_open(again, "src", 0, &q.src), 0);
            assert_int_equal(it_tensor_open(again, "blur", 0, &q.blur), 0);
            assert_true(expect_stored_chunks_correct(fx, &q) > 0);
            expect_box(fx, q.blur, a, b);
            it_store_close(again);
        }
    }
    print_message("%s: %d %s faults injected, each checked\n", kind == HDF5 ? "hdf5" : "memory",
                  injected, op == FAULT_PUT ? "put" : op == FAULT_GET ? "get" : "flush");
    return injected;
}

static void test_put_faults_hdf5(void **state) {
    int n = sweep(*state, HDF5, FAULT_PUT, IT_EIO, 1000);
    assert_true(n >= 20); /* every put of the fill, blended and direct chunks */
}

static void test_put_faults_memory(void **state) {
    int n = sweep(*state, MEMORY, FAULT_PUT, IT_ENOMEM, 1000);
    assert_true(n >= 20);
}

static void test_get_faults_hdf5(void **state) {
    int n = sweep(*state, HDF5, FAULT_GET, IT_EIO, 1000);
    assert_true(n >= 20);
}

static void test_flush_faults_hdf5(void **state) {
    int n = sweep(*state, HDF5, FAULT_FLUSH, IT_ENOSPC, 100);
    assert_true(n >= 3);
}

/* A tensor whose open fails is not registered: nothing of it is stored, and the same id can
 * be created once the store works again. */
static void test_open_fault(void **state) {
    fixture *fx = *state;
    fault_store *ctl;
    it_store *s = open_faulty(fx, HDF5, IT_HDF5_CREATE, &ctl);
    pipeline p;
    fault_store_arm(ctl, FAULT_OPEN, 1, IT_EIO);
    make_pipeline(s, &p, false);
    assert_true(fault_store_fired(ctl));
    assert_null(p.src);
    assert_non_null(strstr(it_last_error(), "injected fault"));
    fault_store_disarm(ctl);
    make_pipeline(s, &p, true);
    fill_region(p.blur, 0);
    int64_t a[2] = {0, 0}, b[2] = {N, N};
    expect_box(fx, p.blur, a, b);
    assert_int_equal(it_store_close(s), 0);
}

/* A put that fails while another thread waits for the same chunk (claimed by the failing
 * thread) does not leave the waiter hanging: batches of a wide region on 2 threads. */
static void test_put_fault_with_waiters(void **state) {
    fixture *fx = *state;
    for (int k = 1; k <= 8; k++) {
        fault_store *ctl;
        it_store *s = open_faulty(fx, MEMORY, IT_HDF5_CREATE, &ctl);
        pipeline p;
        make_pipeline(s, &p, true);
        fault_store_arm(ctl, FAULT_PUT, (uint64_t)k, IT_EIO);
        it_region r = region2(-64, 64, -64, 64);
        assert_int_equal(it_tensor_fill(p.blur, &r), IT_EIO);
        fault_store_disarm(ctl);
        assert_int_equal(it_tensor_fill(p.blur, &r), 0);
        expect_stored_chunks_correct(fx, &p);
        it_store_close(s);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_faults_hdf5),
        cmocka_unit_test(test_put_faults_memory),
        cmocka_unit_test(test_get_faults_hdf5),
        cmocka_unit_test(test_flush_faults_hdf5),
        cmocka_unit_test(test_open_fault),
        cmocka_unit_test(test_put_fault_with_waiters),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
