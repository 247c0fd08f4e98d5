/* Error paths of reads: callback failure, cancellation, buffer size, bad regions, argument
 * windows leaving finite dimensions; status codes and per-thread messages. A failed read
 * never stores a partial chunk, and everything final before the failure stays. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_util.h"

typedef struct env {
    it_ctx *ctx;
    it_store *store;
    golden_gen gen;
    it_tensor *t;
} env;

/* (inf, inf) f32, windows 4x4 stride 4, chunks 8x8 (4 windows per chunk). */
static int setup(void **state) {
    env *e = calloc(1, sizeof *e);
    it_ctx_options co;
    it_ctx_options_init(&co);
    co.threads = 2;
    co.memory_budget = 512; /* blocks of one 256-byte chunk: progress after every chunk */
    if (it_ctx_create(&co, &e->ctx) || it_store_open_memory(e->ctx, NULL, &e->store))
        return -1;
    int64_t size[2] = {4, 4};
    it_tensor_desc d;
    it_tensor_desc_init(&d, 2);
    d.shape[0] = d.shape[1] = IT_INF;
    it_window_init(&d.window, 2, size);
    d.chunk[0] = d.chunk[1] = 8;
    d.fn = golden_fn;
    d.user = &e->gen;
    if (it_tensor_create(e->store, &d, &e->t))
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

static void test_callback_failure(void **state) {
    env *e = *state;
    e->gen.fail_at = 7;
    e->gen.fail_window[0] = 3; /* chunk (1, 0) of the 4 chunks below */
    e->gen.fail_window[1] = 1;
    it_region r = region2(0, 16, 0, 16);
    float buf[256];
    assert_int_equal(it_tensor_read(e->t, &r, buf, sizeof buf), IT_ECALLBACK);
    assert_non_null(strstr(it_last_error(), "returned 7"));
    assert_non_null(strstr(it_last_error(), "(3, 1)"));
    /* the value itself, carried from the pool thread that ran fn */
    assert_int_equal(it_last_callback_status(), 7);
    assert_int_equal(it_tensor_read(e->t, NULL, buf, sizeof buf), IT_EINVAL);
    assert_int_equal(it_last_callback_status(), 0);
    /* Only whole chunks reached the store (chunks are 8x8 f32 = 256 bytes). */
    size_t held = it_store_memory_bytes(e->store);
    assert_true(held % 256 == 0 && held < 4 * 256);
    /* Retry: the failed chunk is computed now, final chunks are not recomputed. */
    e->gen.fail_at = 0;
    long before = atomic_load(&e->gen.calls);
    assert_int_equal(it_tensor_read(e->t, &r, buf, sizeof buf), 0);
    long computed = atomic_load(&e->gen.calls) - before;
    assert_int_equal((size_t)computed, (4 * 256 - held) / 256 * 4);
    assert_int_equal(it_store_memory_bytes(e->store), 4 * 256);
}

static int failing_blend(void *acc, const void *in, const uint32_t *count, size_t n, void *user) {
    (void)acc, (void)in, (void)count, (void)n, (void)user;
    return -3;
}

/* A blend_fn's failure status reaches the caller as a value too. */
static void test_blend_callback_status(void **state) {
    env *e = *state;
    int64_t size[2] = {6, 6};
    it_tensor_desc d;
    it_tensor_desc_init(&d, 2);
    d.id = "custom";
    d.shape[0] = d.shape[1] = IT_INF;
    it_window_init(&d.window, 2, size);
    d.window.stride[0] = d.window.stride[1] = 4;
    d.fn = golden_fn;
    d.user = &e->gen;
    d.blend = IT_BLEND_CUSTOM;
    d.blend_fn = failing_blend;
    it_tensor *t;
    assert_int_equal(it_tensor_create(e->store, &d, &t), 0);
    it_region r = region2(0, 8, 0, 8);
    float buf[64];
    assert_int_equal(it_tensor_read(t, &r, buf, sizeof buf), IT_ECALLBACK);
    assert_int_equal(it_last_callback_status(), -3);
    assert_non_null(strstr(it_last_error(), "blend_fn"));
    it_tensor_release(t);
}

static int cancel_after(uint64_t done, uint64_t total, void *user) {
    (void)total;
    return done >= *(uint64_t *)user;
}

static void test_cancellation(void **state) {
    env *e = *state;
    uint64_t limit = 2;
    it_ctx_set_progress(e->ctx, cancel_after, &limit);
    it_region r = region2(0, 32, 0, 32); /* 16 chunks, one per block */
    float *buf = malloc(32 * 32 * 4);
    assert_int_equal(it_tensor_read(e->t, &r, buf, 32 * 32 * 4), IT_ECANCELED);
    if (!strstr(it_last_error(), "2 of 16"))
        fail_msg("%s", it_last_error());
    assert_int_equal(it_store_memory_bytes(e->store), 2 * 256); /* final chunks stay */
    it_ctx_set_progress(e->ctx, NULL, NULL);
    long before = atomic_load(&e->gen.calls);
    assert_int_equal(it_tensor_fill(e->t, &r), 0);
    assert_int_equal(atomic_load(&e->gen.calls) - before, 14 * 4);
    limit = 0; /* canceled before starting */
    it_ctx_set_progress(e->ctx, cancel_after, &limit);
    assert_int_equal(it_tensor_read(e->t, &r, buf, 32 * 32 * 4), IT_ECANCELED);
    it_ctx_set_progress(e->ctx, NULL, NULL);
    free(buf);
}

static void test_buffer_and_region_errors(void **state) {
    env *e = *state;
    float buf[16];
    it_region r = region2(0, 4, 0, 4);
    assert_int_equal(it_tensor_read(e->t, &r, buf, sizeof buf - 1), IT_EBUFSIZE);
    assert_non_null(strstr(it_last_error(), "needs 64"));
    assert_int_equal(it_tensor_read(e->t, &r, NULL, 64), IT_EINVAL);
    assert_int_equal(it_tensor_read(NULL, &r, buf, 64), IT_EINVAL);
    assert_int_equal(it_tensor_read(e->t, NULL, buf, 64), IT_EINVAL);
    assert_int_equal(it_tensor_fill(NULL, &r), IT_EINVAL);
    it_region r3;
    it_region_init(&r3, 3);
    assert_int_equal(it_tensor_read(e->t, &r3, buf, 64), IT_EINVAL);
    assert_non_null(strstr(it_last_error(), "rank"));
    r.step[1] = -2;
    assert_int_equal(it_tensor_read(e->t, &r, buf, 64), IT_EINVAL);
    assert_non_null(strstr(it_last_error(), "step[1]"));
    it_region huge = region2(INT64_MIN / 2, INT64_MAX / 2, INT64_MIN / 2, INT64_MAX / 2);
    assert_int_equal(it_tensor_fill(e->t, &huge), IT_EOVERFLOW);
    assert_int_equal(it_store_memory_bytes(e->store), 0); /* nothing computed by failures */
}

static void test_finite_range_errors(void **state) {
    env *e = *state;
    /* a (5, inf) tensor; reading rows beyond 5 is an error */
    int64_t size[2] = {5, 4};
    it_tensor_desc d;
    it_tensor_desc_init(&d, 2);
    d.shape[0] = 5;
    d.shape[1] = IT_INF;
    it_window_init(&d.window, 2, size);
    d.fn = golden_fn;
    it_tensor *f;
    assert_int_equal(it_tensor_create(e->store, &d, &f), 0);
    float buf[64];
    it_region r = region2(0, 6, 0, 4);
    assert_int_equal(it_tensor_read(f, &r, buf, sizeof buf), IT_ERANGE);
    assert_non_null(strstr(it_last_error(), "dimension 0"));
    r = region2(-1, 2, 0, 4);
    assert_int_equal(it_tensor_read(f, &r, buf, sizeof buf), IT_ERANGE);
    /* a downstream window reading rows [-1, 6) of it */
    int64_t asz[2] = {7, 6};
    it_window aw;
    it_window_init(&aw, 2, asz);
    aw.offset[0] = -1;
    aw.stride[1] = 4;
    aw.offset[1] = -1;
    d.shape[0] = 5;
    d.window.size[0] = 5;
    d.n_args = 1;
    d.args = &f;
    d.arg_windows = &aw;
    d.fn = box3_fn;
    it_tensor *g;
    assert_int_equal(it_tensor_create(e->store, &d, &g), 0);
    r = region2(0, 5, 0, 4);
    assert_int_equal(it_tensor_read(g, &r, buf, sizeof buf), IT_ERANGE);
    assert_non_null(strstr(it_last_error(), "argument 0"));
}

static void test_codes_and_names(void **state) {
    (void)state;
    static const int codes[] = {IT_OK,       IT_EINVAL,    IT_ENOMEM,     IT_EIO,
                                IT_EFORMAT,  IT_EMISMATCH, IT_ECALLBACK,  IT_ERANGE,
                                IT_ENOTCOMPUTED, IT_ECANCELED, IT_EOVERFLOW, IT_EEXIST,
                                IT_ENOTFOUND, IT_EBUFSIZE, IT_EINTERNAL, IT_ENOSPC,
                                IT_ELOCKED};
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) {
        assert_int_equal(codes[i], -(int)i); /* stable values */
        assert_string_not_equal(it_strerror(codes[i]), "unknown error");
        assert_true(strncmp(it_error_name(codes[i]), "IT_", 3) == 0);
    }
    assert_string_equal(it_strerror(-999), "unknown error");
    assert_string_equal(it_error_name(5), "IT_UNKNOWN");
    assert_string_equal(it_error_name(IT_ERANGE), "IT_ERANGE");
    assert_int_equal(it_version_number(), IT_VERSION_NUMBER);
    assert_string_equal(it_version_string(), IT_VERSION_STRING);
}

/* Messages are one line whatever they quote: control bytes of user text are escaped. */
static void test_messages_are_one_line(void **state) {
    (void)state;
    int64_t shape[2] = {IT_INF, IT_INF};
    it_region r;
    assert_int_equal(it_region_parse("0:4\n,0:4", 2, shape, &r), IT_EINVAL);
    assert_null(strchr(it_last_error(), '\n'));
    assert_non_null(strstr(it_last_error(), "\\n"));
    assert_int_equal(it_region_parse("0:4,0:\x01", 2, shape, &r), IT_EINVAL);
    assert_non_null(strstr(it_last_error(), "\\x01"));
}

typedef struct msg_arg {
    int rank;
    char msg[256];
    pthread_barrier_t *barrier;
} msg_arg;

static void *fail_then_read_message(void *p) {
    msg_arg *a = p;
    it_region r;
    it_region_init(&r, a->rank); /* rank 0 fails, IT_MAX_RANK+1 fails differently */
    pthread_barrier_wait(a->barrier);
    pthread_barrier_wait(a->barrier);
    snprintf(a->msg, sizeof a->msg, "%s", it_last_error());
    return NULL;
}

static void test_messages_are_per_thread(void **state) {
    (void)state;
    pthread_barrier_t b;
    pthread_barrier_init(&b, NULL, 2);
    msg_arg a1 = {.rank = 0, .barrier = &b}, a2 = {.rank = IT_MAX_RANK + 5, .barrier = &b};
    pthread_t t1, t2;
    pthread_create(&t1, NULL, fail_then_read_message, &a1);
    pthread_create(&t2, NULL, fail_then_read_message, &a2);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    assert_non_null(strstr(a1.msg, "got 0"));
    assert_non_null(strstr(a2.msg, "got 13"));
    pthread_barrier_destroy(&b);
}

/* Option structs must come from their *_init (struct_size), never from another header. */
static void test_option_struct_sizes(void **state) {
    (void)state;
    it_ctx_options co;
    it_ctx_options_init(&co);
    assert_int_equal(co.struct_size, sizeof co);
    it_ctx *ctx;
    co.struct_size = 0;
    assert_int_equal(it_ctx_create(&co, &ctx), IT_EINVAL);
    assert_non_null(strstr(it_last_error(), "it_ctx_options_init"));
    co.struct_size = sizeof co + 8;
    assert_int_equal(it_ctx_create(&co, &ctx), IT_EINVAL);
    assert_non_null(strstr(it_last_error(), "another version"));
    assert_int_equal(it_ctx_create(NULL, &ctx), 0);
    it_memory_store_options mo = {.cache_bytes = 1 << 20}; /* not initialised */
    it_store *s;
    assert_int_equal(it_store_open_memory(ctx, &mo, &s), IT_EINVAL);
    it_hdf5_options ho = {.compression_level = 3};
    assert_int_equal(it_store_open_hdf5(ctx, "/nonexistent/x.h5", IT_HDF5_READONLY, &ho, &s),
                     IT_EINVAL);
    assert_non_null(strstr(it_last_error(), "it_hdf5_options_init"));
    assert_int_equal(it_store_open_memory(ctx, NULL, &s), 0);
    it_tensor_desc d;
    it_tensor_desc_init(&d, 1);
    d.shape[0] = 8;
    int64_t size[1] = {8};
    it_window_init(&d.window, 1, size);
    d.fn = golden_fn;
    it_tensor *t;
    assert_int_equal(it_tensor_create(s, &d, &t), 0);
    it_region r;
    int64_t a[1] = {0}, b[1] = {8};
    it_region_set(&r, 1, a, b, NULL);
    it_export_options eo = {.overwrite = 1};
    assert_int_equal(it_export_hdf5(t, &r, "/nonexistent/x.h5", "d", &eo, NULL), IT_EINVAL);
    assert_non_null(strstr(it_last_error(), "it_export_options_init"));
    it_preview_options po = {.fixed_range = 0};
    assert_int_equal(it_preview_png(t, &r, "/nonexistent/x.png", &po), IT_EINVAL);
    assert_non_null(strstr(it_last_error(), "it_preview_options_init"));
    it_store_close(s);
    it_ctx_destroy(ctx);
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_callback_failure),
        T(test_blend_callback_status),
        T(test_cancellation),
        T(test_buffer_and_region_errors),
        T(test_finite_range_errors),
        cmocka_unit_test(test_codes_and_names),
        cmocka_unit_test(test_option_struct_sizes),
        cmocka_unit_test(test_messages_are_per_thread),
        cmocka_unit_test(test_messages_are_one_line),
    };
    return cmocka_run_group_tests_name("errors", tests, NULL, NULL);
}
