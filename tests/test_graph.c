/* Argument graphs: planning and flushing walk each tensor of a graph once, whatever the number
 * of paths through it, and no graph is too big for them. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_util.h"

/* Each link: 2x the sum of its two (identical) arguments' window, which is the window itself. */
static int twice_fn(const it_window_batch *b, void *user) {
    (void)user;
    for (size_t k = 0; k < b->count; k++) {
        const float *x = b->arg[k * b->n_args], *y = b->arg[k * b->n_args + 1];
        float *out = b->out[k];
        for (int i = 0; i < 64; i++)
            out[i] = x[i] + y[i];
    }
    return 0;
}

static int ones_fn(const it_window_batch *b, void *user) {
    (void)user;
    for (size_t k = 0; k < b->count; k++)
        for (int i = 0; i < 64; i++)
            ((float *)b->out[k])[i] = 1;
    return 0;
}

/* Builds a chain of `levels` links over `base`; every link has args {prev, prev}. */
static it_tensor *chain(it_store **stores, int nstores, int levels) {
    int64_t w[2] = {8, 8};
    it_tensor_desc d;
    it_tensor_desc_init(&d, 2);
    d.shape[0] = d.shape[1] = IT_INF;
    it_window_init(&d.window, 2, w);
    d.chunk[0] = d.chunk[1] = 8;
    d.fn = ones_fn;
    d.id = "l0";
    it_tensor *prev;
    assert_int_equal(it_tensor_create(stores[0], &d, &prev), 0);
    it_window aw[2];
    it_window_init(&aw[0], 2, w);
    it_window_init(&aw[1], 2, w);
    for (int l = 1; l <= levels; l++) {
        char id[16];
        snprintf(id, sizeof id, "l%d", l);
        it_tensor *args[2] = {prev, prev};
        d.id = id;
        d.fn = twice_fn;
        d.args = args;
        d.arg_windows = aw;
        d.n_args = 2;
        assert_int_equal(it_tensor_create(stores[l % nstores], &d, &prev), 0);
    }
    return prev;
}

/* 48 levels of {prev, prev}: 2^48 paths, 49 tensors. A planner that walks paths never ends
 * (the test times out); one that walks tensors reads at once. */
static void test_shared_upstream_chain(void **state) {
    (void)state;
    it_ctx *ctx;
    it_store *s;
    assert_int_equal(it_ctx_create(NULL, &ctx), 0);
    assert_int_equal(it_store_open_memory(ctx, NULL, &s), 0);
    const int levels = 48;
    it_tensor *top = chain(&s, 1, levels);
    float buf[16 * 16];
    it_region r = region2(-8, 8, -8, 8);
    assert_int_equal(it_tensor_read(top, &r, buf, sizeof buf), 0);
    for (int i = 0; i < 256; i++)
        assert_true(buf[i] == (float)(1ull << levels));
    it_store_close(s);
    it_ctx_destroy(ctx);
}

/* A chain across 70 HDF5 stores, filled by a writer that then exits without closing anything
 * (as a kill would leave it): every block flushed every store, so every link's chunks are in
 * its file. */
static void test_many_stores_flushed(void **state) {
    (void)state;
    enum { N = 70 };
    char dir[] = "/tmp/it-graph-XXXXXX", path[N][64];
    assert_non_null(mkdtemp(dir));
    for (int i = 0; i < N; i++)
        snprintf(path[i], sizeof path[i], "%s/s%d.h5", dir, i);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        it_ctx *ctx;
        it_store *stores[N];
        if (it_ctx_create(NULL, &ctx))
            _exit(2);
        for (int i = 0; i < N; i++)
            if (it_store_open_hdf5(ctx, path[i], IT_HDF5_CREATE, NULL, &stores[i]))
                _exit(3);
        it_tensor *top = chain(stores, N, N - 1);
        it_region r = region2(0, 8, 0, 8);
        _exit(it_tensor_fill(top, &r) ? 4 : 0); /* no close, no exit handlers */
    }
    int st;
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    it_ctx *ctx;
    assert_int_equal(it_ctx_create(NULL, &ctx), 0);
    for (int i = 0; i < N; i++) {
        it_store *s;
        it_tensor *t;
        char id[16];
        snprintf(id, sizeof id, "l%d", i);
        assert_int_equal(it_store_open_hdf5(ctx, path[i], IT_HDF5_READONLY, NULL, &s), 0);
        if (it_tensor_open(s, id, 0, &t) != 0)
            fail_msg("store %d: %s", i, it_last_error());
        float buf[64];
        it_region r = region2(0, 8, 0, 8);
        if (it_tensor_read(t, &r, buf, sizeof buf) != 0)
            fail_msg("store %d lost its chunk: %s", i, it_last_error());
        if (buf[0] != (float)ldexp(1.0, i))
            fail_msg("store %d holds %g, not 2^%d", i, (double)buf[0], i);
        it_store_close(s);
        unlink(path[i]);
    }
    it_ctx_destroy(ctx);
    rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared_upstream_chain),
        cmocka_unit_test(test_many_stores_flushed),
    };
    return cmocka_run_group_tests_name("graph", tests, NULL, NULL);
}
