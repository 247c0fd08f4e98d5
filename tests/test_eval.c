/* The evaluator: each needed window computed exactly once, nothing outside finite
 * dimensions, zero calls on a warm second read, determinism across request orders, threads
 * and cache limits, concurrent readers, blends, callback failures and cancellation. */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

#include <cmocka.h>

#include "test_util.h"

#define R 64 /* recorded windows: [-R, R) per dimension */

typedef struct recorder {
    golden_gen gen;
    atomic_int count[2 * R][2 * R];
    atomic_int outside; /* calls outside the recorded range */
} recorder;

static int recording_fn(const it_window_batch *b, void *user) {
    recorder *r = user;
    for (size_t k = 0; k < b->count; k++) {
        const int64_t *w = b->index + k * (size_t)b->rank;
        if (w[0] < -R || w[0] >= R || w[1] < -R || w[1] >= R)
            atomic_fetch_add(&r->outside, 1);
        else
            atomic_fetch_add(&r->count[w[0] + R][w[1] + R], 1);
    }
    return golden_fn(b, &r->gen);
}

typedef test_env env;

static env open_env(int threads, size_t budget, size_t cache) {
    env e;
    assert_int_equal(test_env_open(&e, threads, budget, cache), 0);
    return e;
}

static void close_env(env *e) { test_env_close(e); }

/* 2-D tensor: shape (s0, inf), windows 6x6 stride 4 (overlapping), chunks 10x10. */
static it_tensor *make2d(env *e, int64_t s0, it_window_fn fn, void *user, size_t batch,
                         it_dtype dtype, it_blend blend) {
    int64_t size[2] = {6, 6};
    it_tensor_desc d;
    it_tensor_desc_init(&d, 2);
    d.shape[0] = s0;
    d.shape[1] = IT_INF;
    it_window_init(&d.window, 2, size);
    d.window.stride[0] = d.window.stride[1] = 4;
    d.window.offset[1] = -1;
    d.chunk[0] = s0 == IT_INF ? 10 : 0;
    d.chunk[1] = 10;
    d.fn = fn;
    d.user = user;
    d.batch_size = batch;
    d.dtype = dtype;
    d.blend = blend;
    it_tensor *t;
    if (it_tensor_create(e->store, &d, &t))
        fail_msg("%s", it_last_error());
    return t;
}

static void *read_alloc(it_tensor *t, const it_region *r, size_t esize) {
    size_t n;
    assert_int_equal(it_region_count(r, &n), 0);
    void *buf = malloc(n * esize + 1);
    int rc = it_tensor_read(t, r, buf, n * esize);
    if (rc)
        fail_msg("read: %s", it_last_error());
    return buf;
}

/* Expected calls: windows whose box meets a chunk that the region touches. */
static void check_counts(recorder *rec, it_tensor *t, const it_region *r, int64_t finite0) {
    it_tensor_info in;
    it_tensor_get_info(t, &in);
    int64_t c0[2], c1[2];
    for (int d = 0; d < 2; d++) {
        c0[d] = (int64_t)floor((double)(r->start[d] - in.grid_offset[d]) / (double)in.chunk[d]);
        c1[d] = (int64_t)floor((double)(r->stop[d] - 1 - in.grid_offset[d]) / (double)in.chunk[d]);
    }
    int64_t px0[2], px1[2];
    for (int d = 0; d < 2; d++) {
        px0[d] = c0[d] * in.chunk[d] + in.grid_offset[d];
        px1[d] = (c1[d] + 1) * in.chunk[d] + in.grid_offset[d];
    }
    assert_int_equal(atomic_load(&rec->outside), 0);
    for (int64_t a = -R; a < R; a++)
        for (int64_t b = -R; b < R; b++) {
            int64_t w[2] = {a, b}, s[2], e[2];
            it_window_bounds(&in.window, w, 2, s, e);
            bool needed = s[0] < px1[0] && e[0] > px0[0] && s[1] < px1[1] && e[1] > px0[1];
            if (finite0 > 0 && (s[0] < 0 || e[0] > finite0))
                needed = false;
            int got = atomic_load(&rec->count[a + R][b + R]);
            if (got != (needed ? 1 : 0))
                fail_msg("window (%lld, %lld) computed %d times, expected %d", (long long)a,
                         (long long)b, got, needed ? 1 : 0);
        }
}

static void test_each_window_once(void **state) {
    (void)state;
    for (int mode = 0; mode < 4; mode++) {
        env e = open_env(1 + (mode & 1), 0, 0);
        recorder *rec = calloc(1, sizeof *rec);
        it_tensor *t = make2d(&e, IT_INF, recording_fn, rec, mode & 2 ? 5 : 0, IT_F32, IT_BLEND_SUM);
        it_region r = region2(-37, 23, -15, 41);
        free(read_alloc(t, &r, 4));
        check_counts(rec, t, &r, 0);
        /* second read of a stored region: f is not called */
        memset(rec->count, 0, sizeof rec->count);
        free(read_alloc(t, &r, 4));
        for (int a = 0; a < 2 * R; a++)
            for (int b = 0; b < 2 * R; b++)
                assert_int_equal(atomic_load(&rec->count[a][b]), 0);
        free(rec);
        close_env(&e);
    }
}

/* it_tensor_read_alloc returns what it_tensor_read reads; the counters say what each read cost
 * (windows and calls of fn, chunks computed, chunks found stored), agreeing with fn's own
 * count; empty regions need no buffer. */
static void test_read_alloc_and_counters(void **state) {
    (void)state;
    it_ctx *ctx;
    it_store *s;
    assert_int_equal(it_ctx_create(NULL, &ctx), 0);
    assert_int_equal(it_store_open_memory(ctx, NULL, &s), 0);
    golden_gen gen = {0};
    it_tensor_desc d;
    golden_overlap_desc(&d, &gen);
    d.batch_size = 3;
    it_tensor *base, *top;
    assert_int_equal(it_tensor_create(s, &d, &base), 0);
    it_window aw;
    box3_desc(&d, &base, &aw, NULL);
    assert_int_equal(it_tensor_create(s, &d, &top), 0);
    it_region r = region2(0, 64, -32, 64); /* 2 x 3 chunks of top */
    void *got;
    size_t bytes;
    assert_int_equal(it_tensor_read_alloc(top, &r, &got, &bytes), 0);
    assert_int_equal(bytes, 64 * 96 * 4);
    it_tensor_counters b, t;
    assert_int_equal(it_tensor_get_counters(base, &b), 0);
    assert_int_equal(it_tensor_get_counters(top, &t), 0);
    assert_int_equal(b.windows_computed, atomic_load(&gen.calls));
    assert_true(b.fn_calls >= (b.windows_computed + 2) / 3);
    assert_int_equal(b.chunks_computed, 4 * 5); /* the tops' halos reach one chunk around */
    assert_int_equal(t.windows_computed, 6);
    assert_int_equal(t.fn_calls, 6);
    assert_int_equal(t.chunks_computed, 6);
    assert_int_equal(t.chunks_loaded, 0);
    /* the same region again: everything stored, nothing computed */
    float *again = malloc(bytes);
    assert_int_equal(it_tensor_reset_counters(top), 0);
    assert_int_equal(it_tensor_read(top, &r, again, bytes), 0);
    assert_memory_equal(again, got, bytes);
    assert_int_equal(it_tensor_get_counters(top, &t), 0);
    assert_int_equal(t.windows_computed, 0);
    assert_int_equal(t.chunks_computed, 0);
    assert_int_equal(t.chunks_loaded, 6);
    /* empty regions: no buffer needed; a missing one for a real region is an error */
    it_region empty = region2(5, 5, 0, 10);
    assert_int_equal(it_tensor_read(top, &empty, NULL, 0), 0);
    void *none = &none;
    assert_int_equal(it_tensor_read_alloc(top, &empty, &none, &bytes), 0);
    assert_null(none);
    assert_int_equal(bytes, 0);
    assert_int_equal(it_tensor_read(top, &r, NULL, 0), IT_EINVAL);
    assert_non_null(strstr(it_last_error(), "NULL buf"));
    assert_int_equal(it_tensor_read_alloc(top, &r, NULL, &bytes), IT_EINVAL);
    assert_int_equal(it_tensor_get_counters(NULL, &t), IT_EINVAL);
    free(again);
    free(got);
    it_store_close(s);
    it_ctx_destroy(ctx);
}

static void test_finite_dimension_windows_never_called(void **state) {
    (void)state;
    env e = open_env(2, 0, 0);
    recorder *rec = calloc(1, sizeof *rec);
    it_tensor *t = make2d(&e, 19, recording_fn, rec, 0, IT_F32, IT_BLEND_SUM);
    it_region r = region2(0, 19, -30, 30);
    float *v = read_alloc(t, &r, 4);
    check_counts(rec, t, &r, 19);
    /* rows 18 (no window fits [16, 22) inside 19 rows) hold blend_init */
    for (int x = 0; x < 60; x++)
        assert_true(v[18 * 60 + x] == 0.0f);
    free(v);
    free(rec);
    close_env(&e);
}

/* Non-integer data with overlap: sums depend on order, so equality is a real check. */
static void test_determinism(void **state) {
    (void)state;
    it_region whole = region2(-45, 35, -28, 52);
    void *ref = NULL;
    size_t bytes = 80 * 80 * sizeof(double);
    for (int mode = 0; mode < 8; mode++) {
        env e = open_env(1 + (mode & 1), mode & 2 ? 8192 : 0, mode & 2 ? 6000 : 0);
        golden_gen gen = {.scale = 0.1234567};
        it_tensor *t = make2d(&e, IT_INF, golden_fn, &gen, mode & 4 ? 3 : 0, IT_F64, IT_BLEND_SUM);
        if (mode & 4) { /* different request order: pieces first, bottom-right to top-left */
            for (int p = 3; p >= 0; p--) {
                it_region piece = region2(-45 + 20 * p, -25 + 20 * p, 52 - 20 * (p + 1), 52 - 20 * p);
                free(read_alloc(t, &piece, 8));
            }
        }
        void *buf = read_alloc(t, &whole, 8);
        if (!ref)
            ref = buf;
        else {
            assert_memory_equal(ref, buf, bytes);
            free(buf);
        }
        close_env(&e);
    }
    free(ref);
}

typedef struct reader_arg {
    it_tensor *t;
    it_region r;
    void *buf;
    int rc;
} reader_arg;

static void *reader(void *p) {
    reader_arg *a = p;
    size_t n;
    it_region_count(&a->r, &n);
    a->buf = malloc(n * 4);
    a->rc = it_tensor_read(a->t, &a->r, a->buf, n * 4);
    return NULL;
}

/* A chain in `base_store` / `top_store`: base = recorded golden 8x8 windows (chunks 8), top =
 * 3x3 box sums of base through a padded 10x10 window. */
static void make_chain(it_store *base_store, it_store *top_store, recorder *rec, it_tensor **base,
                       it_tensor **top) {
    int64_t size[2] = {8, 8}, pad[2] = {10, 10};
    it_tensor_desc d;
    it_tensor_desc_init(&d, 2);
    d.shape[0] = d.shape[1] = IT_INF;
    it_window_init(&d.window, 2, size);
    d.chunk[0] = d.chunk[1] = 8;
    d.fn = recording_fn;
    d.user = rec;
    d.id = "base";
    assert_int_equal(it_tensor_create(base_store, &d, base), 0);
    int64_t step[2] = {8, 8}, halo[2] = {-1, -1};
    it_window aw;
    it_window_set(&aw, 2, pad, step, halo);
    d.fn = box3_fn;
    d.user = NULL;
    d.n_args = 1;
    d.args = base;
    d.arg_windows = &aw;
    d.id = "top";
    assert_int_equal(it_tensor_create(top_store, &d, top), 0);
}

/* Four threads read overlapping regions of a chain at once: every chunk of the base (one
 * window per chunk) is computed exactly once, and all results agree. */
static void test_concurrent_readers(void **state) {
    (void)state;
    env e = open_env(2, 0, 0);
    recorder *rec = calloc(1, sizeof *rec);
    it_tensor *base, *top;
    make_chain(e.store, e.store, rec, &base, &top);
    pthread_t th[4];
    reader_arg ra[4];
    for (int i = 0; i < 4; i++) {
        ra[i] = (reader_arg){.t = top, .r = region2(-40 + 3 * i, 40 - 2 * i, -33, 47)};
        pthread_create(&th[i], NULL, reader, &ra[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(ra[i].rc, 0);
    }
    for (int a = 0; a < 2 * R; a++)
        for (int b = 0; b < 2 * R; b++)
            assert_true(atomic_load(&rec->count[a][b]) <= 1);
    /* the same values and the same windows through a fresh single-threaded read */
    env e2 = open_env(1, 0, 0);
    recorder *rec2 = calloc(1, sizeof *rec2);
    it_tensor *base2, *top2;
    make_chain(e2.store, e2.store, rec2, &base2, &top2);
    for (int i = 0; i < 4; i++) {
        float *v = read_alloc(top2, &ra[i].r, 4);
        size_t n;
        it_region_count(&ra[i].r, &n);
        assert_memory_equal(v, ra[i].buf, n * 4);
        free(v);
        free(ra[i].buf);
    }
    assert_memory_equal(rec->count, rec2->count, sizeof rec->count);
    free(rec);
    free(rec2);
    close_env(&e2);
    close_env(&e);
}

/* MEAN, MIN and a custom blend against a direct per-pixel computation. */
static double pixel_value(int64_t y, int64_t x, it_blend blend, double init) {
    /* windows 6x6 stride 4, offset (0, -1), golden values */
    static const int64_t A0 = 7, A1 = 13, B0 = 3, B1 = 5;
    double acc = blend == IT_BLEND_MEAN ? 0 : init;
    int n = 0;
    for (int64_t a = (y - 5) / 4 - 2; a <= y / 4 + 2; a++)
        for (int64_t b = (x - 4) / 4 - 2; b <= (x + 1) / 4 + 2; b++) {
            int64_t y0 = a * 4, x0 = b * 4 - 1;
            if (y < y0 || y >= y0 + 6 || x < x0 || x >= x0 + 6)
                continue;
            int64_t s = A0 * a + A1 * b + B0 * (y - y0) + B1 * (x - x0);
            double v = (double)(((s % 97) + 97) % 97 - 48);
            if (blend == IT_BLEND_MIN)
                acc = v < acc ? v : acc;
            else if (blend == IT_BLEND_CUSTOM) /* custom: acc*2 + v */
                acc = acc * 2 + v;
            else
                acc += v;
            n++;
        }
    if (blend == IT_BLEND_MEAN)
        return n ? trunc(acc / n) : init;
    return acc;
}

/* acc*2 + v; with a non-NULL user, fails (returns 9) where a third window arrives. */
static int custom_blend(void *acc, const void *in, const uint32_t *count, size_t len, void *user) {
    int32_t *a = acc;
    const int32_t *b = in;
    for (size_t i = 0; i < len; i++) {
        if (user && count[i] == 2)
            return 9;
        a[i] = a[i] * 2 + b[i];
    }
    return 0;
}

static void test_blends(void **state) {
    (void)state;
    it_blend blends[3] = {IT_BLEND_MEAN, IT_BLEND_MIN, IT_BLEND_CUSTOM};
    for (int i = 0; i < 3; i++) {
        env e = open_env(2, 0, 0);
        int64_t size[2] = {6, 6};
        it_tensor_desc d;
        it_tensor_desc_init(&d, 2);
        d.shape[0] = d.shape[1] = IT_INF;
        it_window_init(&d.window, 2, size);
        d.window.stride[0] = d.window.stride[1] = 4;
        d.window.offset[1] = -1;
        d.chunk[0] = d.chunk[1] = 7;
        d.fn = golden_fn;
        d.dtype = IT_I32;
        d.blend = blends[i];
        d.blend_init = blends[i] == IT_BLEND_MIN ? 1000 : 3;
        d.blend_fn = blends[i] == IT_BLEND_CUSTOM ? custom_blend : NULL;
        it_tensor *t;
        assert_int_equal(it_tensor_create(e.store, &d, &t), 0);
        it_region r = region2(-13, 17, -9, 22);
        int32_t *v = read_alloc(t, &r, 4);
        for (int64_t y = -13; y < 17; y++)
            for (int64_t x = -9; x < 22; x++) {
                double want = pixel_value(y, x, blends[i], d.blend_init);
                double got = v[(y + 13) * 31 + (x + 9)];
                if (got != want)
                    fail_msg("blend %d at (%lld, %lld): %g, expected %g", blends[i],
                             (long long)y, (long long)x, got, want);
            }
        free(v);
        close_env(&e);
    }
}

/* A custom blend that fails ends the read with IT_ECALLBACK quoting its value, and the chunk
 * it was blending is not stored: a read that needs no failing blend then computes it. */
static void test_failing_blend(void **state) {
    (void)state;
    env e = open_env(2, 0, 0);
    static golden_gen quiet; /* non-NULL user: the blend fails */
    it_tensor *t;
    it_tensor_desc d;
    int64_t size[2] = {6, 6};
    it_tensor_desc_init(&d, 2);
    d.shape[0] = d.shape[1] = IT_INF;
    it_window_init(&d.window, 2, size);
    d.window.stride[0] = d.window.stride[1] = 4;
    d.chunk[0] = d.chunk[1] = 8;
    d.fn = golden_fn;
    d.dtype = IT_I32;
    d.blend = IT_BLEND_CUSTOM;
    d.blend_fn = custom_blend;
    d.user = &quiet;
    assert_int_equal(it_tensor_create(e.store, &d, &t), 0);
    it_region r = region2(0, 16, 0, 16);
    int32_t v[256];
    assert_int_equal(it_tensor_read(t, &r, v, sizeof v), IT_ECALLBACK);
    if (!strstr(it_last_error(), "blend_fn of tensor"))
        fail_msg("message: %s", it_last_error());
    assert_non_null(strstr(it_last_error(), "returned 9"));
    it_tensor_stats st;
    assert_int_equal(it_tensor_get_stats(t, &st), 0);
    assert_int_equal(st.chunks, 0); /* every chunk of the region has a pixel of 3 windows */
    close_env(&e);
}

/* Every dtype: a sum of overlapping windows read back equals the f64 computation. */
static void test_all_dtypes(void **state) {
    (void)state;
    env e = open_env(2, 0, 0);
    golden_gen gen = {0};
    it_tensor *ref = make2d(&e, IT_INF, golden_fn, &gen, 0, IT_F64, IT_BLEND_SUM);
    it_region r = region2(-11, 13, -7, 9);
    double *want = read_alloc(ref, &r, 8);
    for (int t = 0; t < IT_DTYPE_COUNT; t++) {
        if (t == IT_F64)
            continue;
        it_tensor *x = make2d(&e, IT_INF, golden_fn, &gen, 0, (it_dtype)t, IT_BLEND_SUM);
        void *got = read_alloc(x, &r, it_dtype_size((it_dtype)t));
        for (size_t i = 0; i < 24 * 16; i++) {
            double expect = want[i];
            /* integer types hold the value modulo their width */
            double g = it_dtype_load((it_dtype)t, got, i);
            double w;
            switch (t) {
            case IT_I8: w = (double)(int8_t)(int64_t)expect; break;
            case IT_U8: w = (double)(uint8_t)(int64_t)expect; break;
            case IT_I16: w = (double)(int16_t)(int64_t)expect; break;
            case IT_U16: w = (double)(uint16_t)(int64_t)expect; break;
            case IT_U32: w = (double)(uint32_t)(int64_t)expect; break;
            case IT_U64: w = (double)(uint64_t)(int64_t)expect; break;
            default: w = expect;
            }
            if (g != w)
                fail_msg("dtype %s element %zu: %g, expected %g", it_dtype_name((it_dtype)t), i, g, w);
        }
        free(got);
    }
    free(want);
    close_env(&e);
}

static void test_steps_and_empty(void **state) {
    (void)state;
    env e = open_env(1, 0, 0);
    golden_gen gen = {0};
    it_tensor *t = make2d(&e, IT_INF, golden_fn, &gen, 0, IT_F32, IT_BLEND_SUM);
    it_region full = region2(-50, 50, -50, 50);
    float *all = read_alloc(t, &full, 4);
    int64_t s[2] = {-49, -50}, st[2] = {48, 50}, step[2] = {7, 23};
    it_region r;
    it_region_set(&r, 2, s, st, step);
    float *v = read_alloc(t, &r, 4);
    size_t i = 0;
    for (int64_t y = -49; y < 48; y += 7)
        for (int64_t x = -50; x < 50; x += 23)
            assert_true(v[i++] == all[(y + 50) * 100 + (x + 50)]);
    /* step larger than a chunk skips chunks holding nothing selected */
    int64_t s2[2] = {-1000, 0}, e2[2] = {1000, 1}, st2[2] = {250, 1};
    it_region_set(&r, 2, s2, e2, st2);
    float *w = read_alloc(t, &r, 4);
    free(w);
    /* empty region: success, buffer untouched */
    it_region empty = region2(5, 5, 0, 10);
    float sentinel = 42;
    assert_int_equal(it_tensor_read(t, &empty, &sentinel, 0), 0);
    assert_true(sentinel == 42);
    free(all);
    free(v);
    close_env(&e);
}

/* The value of pixel p of a golden_fn tensor with sum blend, from a loop over every window of
 * `w` covering p (independent of the library's planning): at most 2 per dimension here. */
static double golden_sum(const it_window *w, const int64_t *p) {
    static const int64_t A[2] = {7, 13}, B[2] = {3, 5}; /* test_util.c's first coefficients */
    int64_t lo[2], hi[2];
    for (int d = 0; d < 2; d++) { /* windows k with k*stride + offset <= p < ... + size */
        __int128 rel = (__int128)p[d] - w->offset[d];
        __int128 last = rel >= 0 ? rel / w->stride[d] : -((-rel + w->stride[d] - 1) / w->stride[d]);
        hi[d] = (int64_t)last;
        lo[d] = hi[d];
        while ((__int128)(lo[d] - 1) * w->stride[d] + w->offset[d] + w->size[d] > p[d])
            lo[d]--;
    }
    double sum = 0;
    for (int64_t a = lo[0]; a <= hi[0]; a++)
        for (int64_t b = lo[1]; b <= hi[1]; b++) {
            int64_t k[2] = {a, b};
            __int128 s = 0;
            for (int d = 0; d < 2; d++)
                s += (__int128)A[d] * k[d] + (__int128)B[d] * (p[d] - (k[d] * w->stride[d] + w->offset[d]));
            sum += (double)(((s % 97) + 97) % 97 - 48);
        }
    return sum;
}

static void test_far_coordinates(void **state) {
    (void)state;
    env e = open_env(1, 0, 0);
    golden_gen gen = {0};
    it_tensor *t = make2d(&e, IT_INF, golden_fn, &gen, 0, IT_F32, IT_BLEND_SUM);
    int64_t far = (int64_t)1 << 60;
    it_region r = region2(-far, -far + 5, far, far + 7);
    float *v = read_alloc(t, &r, 4);
    it_tensor_info in;
    it_tensor_get_info(t, &in);
    for (int64_t y = 0; y < 5; y++)
        for (int64_t x = 0; x < 7; x++) {
            int64_t p[2] = {-far + y, far + x};
            assert_true(v[y * 7 + x] == (float)golden_sum(&in.window, p));
        }
    free(v);
    /* windows at the very edge of int64 */
    it_region edge = region2(0, 1, INT64_MAX - 3, INT64_MAX);
    float buf[3];
    assert_int_equal(it_tensor_read(t, &edge, buf, sizeof buf), IT_ERANGE);
    edge = region2(INT64_MIN, INT64_MIN + 2, 0, 1);
    assert_int_equal(it_tensor_read(t, &edge, buf, sizeof buf), IT_ERANGE);
    close_env(&e);
}

/* An argument living in another store, on another context, works like a local one. */
static void test_args_in_other_store(void **state) {
    (void)state;
    env up = open_env(1, 0, 0), down = open_env(2, 0, 0), local = open_env(2, 0, 0);
    recorder *r1 = calloc(1, sizeof *r1), *r2 = calloc(1, sizeof *r2);
    it_tensor *base, *top, *local_base, *local_top;
    make_chain(up.store, down.store, r1, &base, &top);
    make_chain(local.store, local.store, r2, &local_base, &local_top);
    it_region r = region2(-20, 20, -13, 29);
    float *a = read_alloc(top, &r, 4), *b = read_alloc(local_top, &r, 4);
    assert_memory_equal(a, b, 40 * 42 * 4);
    assert_true(it_store_memory_bytes(up.store) > 0); /* upstream chunks live in their store */
    free(a);
    free(b);
    free(r1);
    free(r2);
    close_env(&local);
    close_env(&down);
    close_env(&up);
}

static atomic_int running, max_running;
static atomic_long wait_budget_us; /* how long probes may still wait for company */

/* Records how many calls run at once. While none has had company yet, a call waits (from a
 * budget of 300 ms in all) for a second one to start: with concurrency allowed, the other
 * pool thread starts one within microseconds; with IT_TENSOR_SERIAL, only the budget goes. */
static int serial_probe_fn(const it_window_batch *b, void *user) {
    int now = atomic_fetch_add(&running, 1) + 1;
    int seen = atomic_load(&max_running);
    while (now > seen && !atomic_compare_exchange_weak(&max_running, &seen, now)) {
    }
    while (atomic_load(&max_running) < 2 && atomic_fetch_sub(&wait_budget_us, 100) > 0) {
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    int rc = golden_fn(b, user);
    atomic_fetch_sub(&running, 1);
    return rc;
}

/* IT_TENSOR_SERIAL: fn never runs twice at once, even with several threads and readers; the
 * control pass without the flag shows that the probe sees concurrency when there is some. */
static void test_serial_flag(void **state) {
    (void)state;
    for (int serial = 0; serial < 2; serial++) {
        env e = open_env(2, 0, 0);
        int64_t size[2] = {4, 4};
        it_tensor_desc d;
        it_tensor_desc_init(&d, 2);
        d.shape[0] = d.shape[1] = IT_INF;
        it_window_init(&d.window, 2, size);
        d.chunk[0] = d.chunk[1] = 4;
        d.fn = serial_probe_fn;
        d.flags = serial ? IT_TENSOR_SERIAL : 0;
        it_tensor *t;
        assert_int_equal(it_tensor_create(e.store, &d, &t), 0);
        atomic_store(&max_running, 0);
        atomic_store(&wait_budget_us, 300000);
        it_region r = region2(0, 64, 0, 64);
        free(read_alloc(t, &r, 4));
        assert_int_equal(atomic_load(&max_running), serial ? 1 : 2);
        close_env(&e);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_args_in_other_store),
        cmocka_unit_test(test_serial_flag),
        cmocka_unit_test(test_each_window_once),
        cmocka_unit_test(test_read_alloc_and_counters),
        cmocka_unit_test(test_finite_dimension_windows_never_called),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_concurrent_readers),
        cmocka_unit_test(test_blends),
        cmocka_unit_test(test_failing_blend),
        cmocka_unit_test(test_all_dtypes),
        cmocka_unit_test(test_steps_and_empty),
        cmocka_unit_test(test_far_coordinates),
    };
    return cmocka_run_group_tests_name("eval", tests, NULL, NULL);
}
