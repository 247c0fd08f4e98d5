/* Tensor descriptors: one test per validation rule. Each failing create returns the right
 * code, names the offending field in it_last_error(), and registers nothing. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_util.h"

typedef struct fixture {
    it_ctx *ctx;
    it_store *store;
    it_tensor_desc d;
} fixture;

static int setup(void **state) {
    static fixture f;
    memset(&f, 0, sizeof f);
    if (it_ctx_create(NULL, &f.ctx) || it_store_open_memory(f.ctx, NULL, &f.store))
        return -1;
    int64_t size[2] = {8, 8};
    it_tensor_desc_init(&f.d, 2);
    f.d.shape[0] = f.d.shape[1] = IT_INF;
    it_window_init(&f.d.window, 2, size);
    f.d.fn = golden_fn;
    f.d.id = "t";
    *state = &f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    it_store_close(f->store);
    it_ctx_destroy(f->ctx);
    return 0;
}

/* Creating f->d fails with `code` and a message containing `field`; nothing is registered:
 * the same id can be created right after with a valid descriptor. */
static void expect_reject(fixture *f, int code, const char *field) {
    it_tensor *t = (it_tensor *)0x1;
    int rc = it_tensor_create(f->store, &f->d, &t);
    if (rc != code)
        fail_msg("expected %s, got %s: %s", it_error_name(code), it_error_name(rc), it_last_error());
    assert_null(t);
    if (!strstr(it_last_error(), field))
        fail_msg("message \"%s\" does not name \"%s\"", it_last_error(), field);
}

#define FX fixture *f = *state

static int noop_blend(void *acc, const void *in, const uint32_t *count, size_t len, void *user) {
    (void)acc, (void)in, (void)count, (void)len, (void)user;
    return 0;
}

static void test_valid_descriptor(void **state) {
    FX;
    it_tensor *t;
    assert_int_equal(it_tensor_create(f->store, &f->d, &t), 0);
    it_tensor_info info;
    assert_int_equal(it_tensor_get_info(t, &info), 0);
    assert_string_equal(info.id, "t");
    assert_int_equal(info.dtype, IT_F32);
    assert_int_equal(info.blend, IT_BLEND_SUM);
    assert_int_equal(info.window.stride[0], 8);          /* stride 0 = size */
    assert_int_equal(info.chunk[0] % 8, 0);              /* default chunk: multiple of stride */
    assert_true(info.chunk[0] * info.chunk[1] * 4 <= 256 * 1024);
    assert_int_equal(info.batch_size, 1);
    assert_string_equal(info.fn_tag, "");
    it_tensor_release(t);
}

static void test_null_arguments(void **state) {
    FX;
    it_tensor *t;
    assert_int_equal(it_tensor_create(NULL, &f->d, &t), IT_EINVAL);
    assert_int_equal(it_tensor_create(f->store, NULL, &t), IT_EINVAL);
    assert_int_equal(it_tensor_create(f->store, &f->d, NULL), IT_EINVAL);
    assert_int_equal(it_tensor_desc_init(NULL, 2), IT_EINVAL);
    assert_int_equal(it_ctx_create(NULL, NULL), IT_EINVAL);
    it_store *s2;
    assert_int_equal(it_store_open_memory(NULL, NULL, &s2), IT_EINVAL);
    assert_int_equal(it_store_open_memory(f->ctx, NULL, NULL), IT_EINVAL);
    assert_int_equal(it_tensor_get_info(NULL, NULL), IT_EINVAL);
    assert_int_equal(it_tensor_clear_cache(NULL), IT_EINVAL);
    assert_int_equal(it_store_delete_tensor(f->store, NULL), IT_EINVAL);
    assert_int_equal(it_store_flush(NULL), IT_EINVAL);
    it_tensor_release(NULL); /* no-ops */
    it_store_close(NULL);
    it_ctx_destroy(NULL);
}

static void test_bad_rank(void **state) {
    FX;
    f->d.rank = 0;
    expect_reject(f, IT_EINVAL, "rank");
    f->d.rank = IT_MAX_RANK + 1;
    expect_reject(f, IT_EINVAL, "rank");
}

static void test_bad_shape(void **state) {
    FX;
    f->d.shape[1] = 0;
    expect_reject(f, IT_EINVAL, "shape[1]");
    f->d.shape[1] = -5;
    expect_reject(f, IT_EINVAL, "shape[1]");
}

static void test_bad_dtype(void **state) {
    FX;
    f->d.dtype = IT_DTYPE_COUNT;
    expect_reject(f, IT_EINVAL, "dtype");
}

static void test_window_rank_mismatch(void **state) {
    FX;
    f->d.window.rank = 3;
    expect_reject(f, IT_EINVAL, "window.rank");
}

static void test_window_size_and_stride(void **state) {
    FX;
    f->d.window.size[0] = 0;
    expect_reject(f, IT_EINVAL, "window.size[0]");
    f->d.window.size[0] = 8;
    f->d.window.stride[1] = -4;
    expect_reject(f, IT_EINVAL, "window.stride[1]");
}

static void test_window_map(void **state) {
    FX;
    f->d.window.map[1] = 5;
    expect_reject(f, IT_EINVAL, "window.map[1]");
    f->d.window.map[1] = IT_MAP_FIXED; /* fixed dimension needs size 1 */
    expect_reject(f, IT_EINVAL, "fixed dimension 1");
}

static void test_missing_fn(void **state) {
    FX;
    f->d.fn = NULL;
    expect_reject(f, IT_EINVAL, "fn");
}

static void test_arg_errors(void **state) {
    FX;
    it_tensor *base;
    assert_int_equal(it_tensor_create(f->store, &f->d, &base), 0);
    int64_t size3[3] = {1, 8, 8};
    it_window aw;
    it_window_init(&aw, 3, size3);
    f->d.id = "u";
    f->d.n_args = 1;
    f->d.args = &base;
    f->d.arg_windows = NULL;
    expect_reject(f, IT_EINVAL, "arg_windows");
    f->d.arg_windows = &aw;
    expect_reject(f, IT_EINVAL, "arg_windows[0].rank");
    int64_t size2[2] = {10, 10};
    it_window_init(&aw, 2, size2);
    aw.stride[0] = 0;
    aw.map[0] = 3;
    expect_reject(f, IT_EINVAL, "arg_windows[0].map[0]");
    aw.map[0] = 0;
    it_tensor *nul = NULL;
    f->d.args = &nul;
    expect_reject(f, IT_EINVAL, "args[0]");
    f->d.args = &base;
    it_tensor *u;
    assert_int_equal(it_tensor_create(f->store, &f->d, &u), 0);
}

static void test_blend_errors(void **state) {
    FX;
    f->d.blend = IT_BLEND_COUNT_;
    expect_reject(f, IT_EINVAL, "blend");
    f->d.blend = IT_BLEND_CUSTOM;
    expect_reject(f, IT_EINVAL, "blend_fn");
    f->d.blend = IT_BLEND_SUM;
    f->d.blend_fn = noop_blend;
    expect_reject(f, IT_EINVAL, "blend_fn");
}

static void test_blend_init_for_integers(void **state) {
    FX;
    f->d.dtype = IT_I32;
    f->d.blend_init = INFINITY;
    expect_reject(f, IT_EINVAL, "blend_init");
    f->d.blend_init = NAN;
    expect_reject(f, IT_EINVAL, "blend_init");
    f->d.blend_init = 2.5;
    expect_reject(f, IT_EINVAL, "blend_init");
    f->d.dtype = IT_U8;
    f->d.blend_init = 256;
    expect_reject(f, IT_EINVAL, "blend_init");
    f->d.blend_init = -1;
    expect_reject(f, IT_EINVAL, "blend_init");
    f->d.dtype = IT_F32; /* floats take infinities */
    f->d.blend_init = -INFINITY;
    it_tensor *t;
    assert_int_equal(it_tensor_create(f->store, &f->d, &t), 0);
}

static void test_chunk_errors(void **state) {
    FX;
    f->d.chunk[0] = -1;
    expect_reject(f, IT_EINVAL, "chunk[0]");
    f->d.chunk[0] = 1 << 20;
    f->d.chunk[1] = 1 << 20;
    expect_reject(f, IT_EINVAL, "chunk");
    f->d.chunk[0] = (int64_t)1 << 40;
    f->d.chunk[1] = (int64_t)1 << 40;
    expect_reject(f, IT_EOVERFLOW, "chunk");
}

static void test_size_overflow(void **state) {
    FX;
    f->d.window.size[0] = (int64_t)1 << 40;
    f->d.window.size[1] = (int64_t)1 << 40;
    expect_reject(f, IT_EOVERFLOW, "window byte size");
}

static void test_ids(void **state) {
    FX;
    f->d.id = "a/b";
    expect_reject(f, IT_EINVAL, "id");
    f->d.id = "";
    expect_reject(f, IT_EINVAL, "id");
    f->d.id = "..";
    expect_reject(f, IT_EINVAL, "id");
    f->d.id = "dup";
    it_tensor *t;
    assert_int_equal(it_tensor_create(f->store, &f->d, &t), 0);
    expect_reject(f, IT_EEXIST, "dup");
    it_tensor_release(t);
    assert_int_equal(it_tensor_create(f->store, &f->d, &t), 0); /* released: free again */
    f->d.id = NULL; /* generated ids are unique */
    it_tensor *a, *b;
    assert_int_equal(it_tensor_create(f->store, &f->d, &a), 0);
    assert_int_equal(it_tensor_create(f->store, &f->d, &b), 0);
    it_tensor_info ia, ib;
    it_tensor_get_info(a, &ia);
    it_tensor_get_info(b, &ib);
    assert_string_not_equal(ia.id, ib.id);
}

static void test_flags(void **state) {
    FX;
    f->d.flags = 0x80;
    expect_reject(f, IT_EINVAL, "flags");
}

static void test_delete_tensor(void **state) {
    FX;
    it_tensor *t;
    assert_int_equal(it_tensor_create(f->store, &f->d, &t), 0);
    assert_int_equal(it_store_delete_tensor(f->store, "t"), 0);
    assert_int_equal(it_store_delete_tensor(f->store, "t"), IT_ENOTFOUND);
    assert_int_equal(it_tensor_create(f->store, &f->d, &t), 0);
}

/* Tiny windows: the default chunk stops at 1024 windows (32 x 32 here), so a read of a few
 * elements computes about a thousand windows, not tens of thousands. */
static void test_default_chunk_bounds_windows(void **state) {
    FX;
    int64_t one[2] = {1, 1};
    it_window_init(&f->d.window, 2, one);
    golden_gen gen = {0};
    f->d.user = &gen;
    it_tensor *t;
    assert_int_equal(it_tensor_create(f->store, &f->d, &t), 0);
    it_tensor_info info;
    it_tensor_get_info(t, &info);
    assert_int_equal(info.chunk[0] * info.chunk[1], 1024);
    it_region r = region2(0, 3, 0, 6);
    float v[18];
    assert_int_equal(it_tensor_read(t, &r, v, sizeof v), 0);
    assert_int_equal(atomic_load(&gen.calls), 1024);
}

/* Bounded dimensions are chunked like infinite ones, up to their extent: reading one 64x64
 * window of a 512x512 tensor computes the 4 windows of its 128 x 128 (64 KiB) chunk, not the
 * whole tensor's 64; partial chunks at the edges hold the same values as whole-tensor chunks. */
static void test_default_chunk_of_bounded_dimensions(void **state) {
    FX;
    int64_t w64[2] = {64, 64};
    it_window_init(&f->d.window, 2, w64);
    f->d.shape[0] = 500;
    f->d.shape[1] = 300;
    golden_gen gen = {0}, whole_gen = {0};
    f->d.user = &gen;
    it_tensor *t, *whole;
    assert_int_equal(it_tensor_create(f->store, &f->d, &t), 0);
    it_tensor_info info;
    it_tensor_get_info(t, &info);
    assert_int_equal(info.chunk[0], 128);
    assert_int_equal(info.chunk[1], 128);
    it_region one = region2(192, 256, 64, 128);
    float *v = malloc(500 * 300 * sizeof *v), *want = malloc(500 * 300 * sizeof *want);
    assert_int_equal(it_tensor_read(t, &one, v, 64 * 64 * sizeof *v), 0);
    assert_int_equal(atomic_load(&gen.calls), 4);

    f->d.id = "whole";
    f->d.user = &whole_gen;
    f->d.chunk[0] = 500;
    f->d.chunk[1] = 300;
    assert_int_equal(it_tensor_create(f->store, &f->d, &whole), 0);
    it_region all = region2(0, 500, 0, 300);
    assert_int_equal(it_tensor_read(t, &all, v, 500 * 300 * sizeof *v), 0);
    assert_int_equal(it_tensor_read(whole, &all, want, 500 * 300 * sizeof *want), 0);
    assert_memory_equal(v, want, 500 * 300 * sizeof *v);
    assert_int_equal(atomic_load(&gen.calls), 7 * 4); /* each window inside the shape once */

    /* smaller than 64 KiB in all: one chunk, the whole tensor */
    int64_t w8[2] = {8, 8};
    it_window_init(&f->d.window, 2, w8);
    f->d.id = "small";
    f->d.shape[0] = f->d.shape[1] = 40;
    f->d.chunk[0] = f->d.chunk[1] = 0;
    it_tensor *small;
    assert_int_equal(it_tensor_create(f->store, &f->d, &small), 0);
    it_tensor_get_info(small, &info);
    assert_int_equal(info.chunk[0], 40);
    assert_int_equal(info.chunk[1], 40);
    free(v);
    free(want);
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_default_chunk_bounds_windows), T(test_default_chunk_of_bounded_dimensions),
        T(test_valid_descriptor), T(test_null_arguments),  T(test_bad_rank),
        T(test_bad_shape),        T(test_bad_dtype),       T(test_window_rank_mismatch),
        T(test_window_size_and_stride), T(test_window_map), T(test_missing_fn),
        T(test_arg_errors),       T(test_blend_errors),    T(test_blend_init_for_integers),
        T(test_chunk_errors),     T(test_size_overflow),   T(test_ids),
        T(test_flags),            T(test_delete_tensor),
    };
    return cmocka_run_group_tests_name("tensor", tests, NULL, NULL);
}
