/* it_tensor_get_or_create: the same id and configuration returns the open tensor (one more
 * reference, released independently), any other configuration is IT_EMISMATCH naming the
 * field; memory and HDF5 stores, stored tensors reconnected, concurrent callers, and the
 * references ended by closing the store or deleting the tensor. */
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

static golden_gen gen;

static void desc_of(it_tensor_desc *d) {
    golden_overlap_desc(d, &gen);
    d->id = "shared";
}

static uint64_t windows_computed(it_tensor *t) {
    it_tensor_counters c;
    assert_int_equal(it_tensor_get_counters(t, &c), 0);
    return c.windows_computed;
}

static void expect_mismatch(it_store *s, const it_tensor_desc *d, const char *field) {
    it_tensor *t = (it_tensor *)1;
    assert_int_equal(it_tensor_get_or_create(s, d, &t), IT_EMISMATCH);
    assert_null(t);
    if (!strstr(it_last_error(), field))
        fail_msg("message \"%s\" does not name %s", it_last_error(), field);
}

static int other_fn(const it_window_batch *b, void *user) { return golden_fn(b, user); }

static void test_memory_store(void **state) {
    (void)state;
    test_env e;
    assert_int_equal(test_env_open(&e, 2, 0, 0), 0);
    it_tensor_desc d;
    desc_of(&d);
    it_tensor *a, *b;
    assert_int_equal(it_tensor_get_or_create(e.store, &d, &a), 0);
    it_region r = region2(0, 40, 0, 40);
    float buf[40 * 40], again[40 * 40];
    assert_int_equal(it_tensor_read(a, &r, buf, sizeof buf), 0);
    assert_int_equal(it_tensor_get_or_create(e.store, &d, &b), 0);
    assert_ptr_equal(a, b);

    /* every differing field is named; the open tensor is unchanged */
    d.shape[0] = 100;
    expect_mismatch(e.store, &d, "shape");
    desc_of(&d);
    d.window.stride[1] = 11;
    expect_mismatch(e.store, &d, "window_stride");
    desc_of(&d);
    d.dtype = IT_F64;
    expect_mismatch(e.store, &d, "dtype");
    desc_of(&d);
    d.blend = IT_BLEND_MAX;
    expect_mismatch(e.store, &d, "blend");
    desc_of(&d);
    d.chunk[0] = 64;
    expect_mismatch(e.store, &d, "chunk");
    desc_of(&d);
    d.fn_tag = "v2";
    expect_mismatch(e.store, &d, "fn_tag");
    desc_of(&d);
    d.fn = other_fn;
    expect_mismatch(e.store, &d, "another fn");
    desc_of(&d);
    d.user = NULL;
    expect_mismatch(e.store, &d, "another user pointer");
    desc_of(&d);
    d.batch_size = 4;
    expect_mismatch(e.store, &d, "batch_size");
    desc_of(&d);
    d.flags = IT_TENSOR_SERIAL;
    expect_mismatch(e.store, &d, "flags");
    desc_of(&d);
    it_tensor *c = NULL;
    assert_int_equal(it_tensor_create(e.store, &d, &c), IT_EEXIST);

    /* released independently: the tensor (and its computed chunks) stays while one is held */
    it_tensor_release(a);
    uint64_t before = windows_computed(b);
    assert_int_equal(it_tensor_read(b, &r, again, sizeof again), 0);
    assert_memory_equal(buf, again, sizeof buf);
    assert_int_equal(windows_computed(b), before);
    it_tensor_release(b);
    /* the last release ended it: the same id now creates a new tensor */
    assert_int_equal(it_tensor_get_or_create(e.store, &d, &a), 0);
    assert_int_equal(windows_computed(a), 0);
    assert_int_equal(it_tensor_read(a, &r, again, sizeof again), 0);
    assert_memory_equal(buf, again, sizeof buf);
    assert_true(windows_computed(a) > 0);

    /* without an id every call creates */
    d.id = NULL;
    assert_int_equal(it_tensor_get_or_create(e.store, &d, &b), 0);
    assert_int_equal(it_tensor_get_or_create(e.store, &d, &c), 0);
    assert_ptr_not_equal(b, c);
    /* closing the store ends every reference (a held twice, b, c) */
    desc_of(&d);
    assert_int_equal(it_tensor_get_or_create(e.store, &d, &b), 0);
    test_env_close(&e);
}

static void test_rejects_arguments(void **state) {
    (void)state;
    test_env e;
    assert_int_equal(test_env_open(&e, 1, 0, 0), 0);
    it_tensor_desc d;
    desc_of(&d);
    it_tensor *t;
    assert_int_equal(it_tensor_get_or_create(NULL, &d, &t), IT_EINVAL);
    assert_int_equal(it_tensor_get_or_create(e.store, NULL, &t), IT_EINVAL);
    assert_int_equal(it_tensor_get_or_create(e.store, &d, NULL), IT_EINVAL);
    d.window.size[0] = 0;
    assert_int_equal(it_tensor_get_or_create(e.store, &d, &t), IT_EINVAL);
    test_env_close(&e);
}

/* Deleting a shared tensor ends every reference. */
static void test_delete_shared(void **state) {
    (void)state;
    test_env e;
    assert_int_equal(test_env_open(&e, 1, 0, 0), 0);
    it_tensor_desc d;
    desc_of(&d);
    it_tensor *a, *b;
    assert_int_equal(it_tensor_get_or_create(e.store, &d, &a), 0);
    assert_int_equal(it_tensor_get_or_create(e.store, &d, &b), 0);
    assert_int_equal(it_store_delete_tensor(e.store, "shared"), 0);
    assert_int_equal(it_tensor_get_or_create(e.store, &d, &a), 0);
    assert_int_equal(windows_computed(a), 0);
    it_tensor_release(a);
    test_env_close(&e);
}

/* ---- concurrent callers --------------------------------------------------------------------- */

typedef struct racer {
    it_store *store;
    it_tensor *got[50];
    int rc;
} racer;

static void *race(void *arg) {
    racer *r = arg;
    it_tensor_desc d;
    desc_of(&d);
    for (int i = 0; i < 50 && r->rc == 0; i++)
        r->rc = it_tensor_get_or_create(r->store, &d, &r->got[i]);
    return NULL;
}

/* Four threads asking for the same id get one tensor, 200 references, released from both
 * ends. */
static void test_concurrent_callers(void **state) {
    (void)state;
    test_env e;
    assert_int_equal(test_env_open(&e, 2, 0, 0), 0);
    racer r[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        r[i] = (racer){.store = e.store};
        assert_int_equal(pthread_create(&th[i], NULL, race, &r[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(r[i].rc, 0);
        for (int k = 0; k < 50; k++)
            assert_ptr_equal(r[i].got[k], r[0].got[0]);
    }
    it_region g = region2(0, 8, 0, 8);
    float buf[64];
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < 50; k++) {
            assert_int_equal(it_tensor_read(r[0].got[0], &g, buf, sizeof buf), 0);
            it_tensor_release(r[i].got[k]); /* the last one frees it (ASan checks the rest) */
        }
    test_env_close(&e);
}

/* ---- the HDF5 store -------------------------------------------------------------------------- */

static void test_hdf5_store(void **state) {
    (void)state;
    char path[256];
    snprintf(path, sizeof path, "%s/it-goc-%d.h5", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             (int)getpid());
    unlink(path);
    it_ctx *ctx;
    it_store *s;
    assert_int_equal(it_ctx_create(NULL, &ctx), 0);
    assert_int_equal(it_store_open_hdf5(ctx, path, IT_HDF5_CREATE, NULL, &s), 0);
    it_tensor_desc d;
    desc_of(&d);
    it_tensor *a, *b;
    assert_int_equal(it_tensor_get_or_create(s, &d, &a), 0);
    it_region r = region2(-20, 20, -20, 20);
    assert_int_equal(it_tensor_fill(a, &r), 0);
    assert_int_equal(it_store_close(s), 0); /* ends a's reference */

    /* stored, not open: reconnects (nothing recomputed), then shares */
    assert_int_equal(it_store_open_hdf5(ctx, path, IT_HDF5_READWRITE, NULL, &s), 0);
    d.chunk[0] = 0; /* a default chunk shape matches the stored one */
    assert_int_equal(it_tensor_get_or_create(s, &d, &a), 0);
    assert_int_equal(it_tensor_fill(a, &r), 0);
    assert_int_equal(windows_computed(a), 0);
    assert_int_equal(it_tensor_get_or_create(s, &d, &b), 0);
    assert_ptr_equal(a, b);
    d.blend_init = 3;
    expect_mismatch(s, &d, "blend_init");
    desc_of(&d);
    it_tensor_release(a);
    it_tensor_release(b);

    /* stored with another configuration: the store's record speaks */
    d.window.offset[0] = 1;
    assert_int_equal(it_tensor_get_or_create(s, &d, &a), IT_EMISMATCH);
    assert_non_null(strstr(it_last_error(), "is stored with window_offset"));
    /* opened without a function: not the tensor the description makes */
    desc_of(&d);
    it_tensor *o;
    assert_int_equal(it_tensor_open(s, "shared", 0, &o), 0);
    expect_mismatch(s, &d, "without a function");
    it_tensor_release(o);
    assert_int_equal(it_store_close(s), 0);
    it_ctx_destroy(ctx);
    unlink(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_store),
        cmocka_unit_test(test_rejects_arguments),
        cmocka_unit_test(test_delete_shared),
        cmocka_unit_test(test_concurrent_callers),
        cmocka_unit_test(test_hdf5_store),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
