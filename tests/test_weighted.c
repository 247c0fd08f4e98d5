/* The weighted blend against a straightforward reference: a loop over every window covering a
 * region, in lexicographic order, summing weight * value and weight per pixel in double, with
 * the profiles computed from the formulas tensor.h documents. 1-, 2- and 3-D tensors, strides
 * under half the window (4+ overlaps), finite dimensions, fixed dimensions, every profile kind,
 * float and integer dtypes; bit-identical whatever the threads, batches, caches and request
 * order; validation; the profile in an HDF5 store's record. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_util.h"

/* ---- the window function ---------------------------------------------------------------- */

/* v(w, x): a value per window and position inside it, different in every overlap, with
 * fractions for float dtypes and shifted non-negative for unsigned ones. */
static double gen_value(const int64_t *w, const int64_t *x, int rank, it_dtype dtype) {
    int64_t s = 0;
    for (int d = 0; d < rank; d++)
        s += (w[d] + 1000) * (13 + 6 * d) + x[d] * (5 + 2 * d);
    double v = (double)(s % 101) - 50;
    if (dtype == IT_F32 || dtype == IT_F64)
        return v * 0.37 + 0.011 * (double)(s % 7);
    bool is_unsigned = dtype == IT_U8 || dtype == IT_U16 || dtype == IT_U32 || dtype == IT_U64;
    return is_unsigned ? v + 50 : v;
}

static int gen_fn(const it_window_batch *b, void *user) {
    (void)user;
    size_t n = 1;
    for (int d = 0; d < b->out_rank; d++)
        n *= (size_t)b->out_shape[d];
    for (size_t k = 0; k < b->count; k++) {
        int64_t x[IT_MAX_RANK] = {0};
        for (size_t i = 0; i < n; i++) {
            test_store_value(b->dtype, b->out[k], i,
                             gen_value(b->index + k * (size_t)b->rank, x, b->out_rank, b->dtype));
            for (int d = b->out_rank - 1; d >= 0 && ++x[d] == b->out_shape[d]; d--)
                x[d] = 0;
        }
    }
    return 0;
}

/* ---- the reference ------------------------------------------------------------------------ */

static bool slides(const it_window *w, int d) { return w->map[d] >= 0 && w->stride[d] < w->size[d]; }

static double ref_factor(const it_tensor_desc *t, int d, int64_t x) {
    const it_weight_profile *p = &t->weight;
    int64_t size = t->window.size[d];
    if (p->kind == IT_WEIGHT_CONSTANT)
        return 1;
    if (p->kind == IT_WEIGHT_GAUSSIAN) {
        double sigma = p->sigma[d] ? p->sigma[d] : slides(&t->window, d) ? (double)size / 8 : -1;
        if (sigma < 0)
            return 1;
        double z = ((double)x - (double)(size - 1) / 2) / sigma;
        return fmax(exp(-0.5 * z * z), 1e-30);
    }
    int64_t b = p->border[d] ? p->border[d]
                             : slides(&t->window, d) ? size - t->window.stride[d] : -1;
    if (b < 0)
        return 1;
    double r = fmin(1.0, fmin(((double)x + 0.5) / (double)b, ((double)(size - x) - 0.5) / (double)b));
    if (p->kind == IT_WEIGHT_TENT)
        return r;
    double s = sin(1.57079632679489661923 * r);
    return s * s;
}

static double ref_weight(const it_tensor_desc *t, const int64_t *x) {
    const it_weight_profile *p = &t->weight;
    double w;
    if (p->kind == IT_WEIGHT_ARRAY) {
        int64_t off = 0;
        for (int d = 0; d < t->rank; d++)
            off = off * t->window.size[d] + x[d];
        w = p->array[off];
    } else {
        w = 1.0;
        for (int d = 0; d < t->rank; d++)
            w *= ref_factor(t, d, x[d]);
    }
    return w < p->floor ? p->floor : w;
}

static double ref_round(double v, it_dtype dtype) {
    if (dtype == IT_F32)
        return (float)v;
    if (dtype == IT_F64)
        return v;
    return round(v); /* the generator's averages stay inside every integer type */
}

/* Expected values of region [start, stop) of t (dtype values written with test_store_value). */
static void *reference(const it_tensor_desc *t, const int64_t *start, const int64_t *stop) {
    int r = t->rank;
    size_t n = 1;
    int64_t ext[IT_MAX_RANK], lo[IT_MAX_RANK] = {0}, hi[IT_MAX_RANK] = {0};
    for (int d = 0; d < r; d++) {
        ext[d] = stop[d] - start[d];
        n *= (size_t)ext[d];
        const it_window *w = &t->window;
        if (w->map[d] < 0) {
            lo[d] = hi[d] = 0;
            continue;
        }
        int64_t s = w->stride[d] ? w->stride[d] : w->size[d];
        /* every window whose box meets [start, stop), inside a finite dimension */
        lo[d] = (int64_t)floor((double)(start[d] - w->offset[d] - w->size[d] + 1) / (double)s);
        hi[d] = (int64_t)floor((double)(stop[d] - 1 - w->offset[d]) / (double)s);
        if (t->shape[d] != IT_INF) {
            while (lo[d] * s + w->offset[d] < 0)
                lo[d]++;
            while (hi[d] * s + w->offset[d] + w->size[d] > t->shape[d])
                hi[d]--;
        }
    }
    double *acc = calloc(n, sizeof *acc), *wsum = calloc(n, sizeof *wsum);
    int64_t wi[IT_MAX_RANK];
    memcpy(wi, lo, sizeof wi);
    bool any = true;
    for (int d = 0; d < r; d++)
        any = any && lo[d] <= hi[d];
    while (any) {
        int64_t x[IT_MAX_RANK] = {0};
        size_t wn = 1;
        for (int d = 0; d < r; d++)
            wn *= (size_t)t->window.size[d];
        for (size_t i = 0; i < wn; i++) {
            int64_t off = 0;
            bool inside = true;
            for (int d = 0; d < r; d++) {
                int64_t s = t->window.stride[d] ? t->window.stride[d] : t->window.size[d];
                int64_t p = wi[d] * (t->window.map[d] < 0 ? 0 : s) + t->window.offset[d] + x[d];
                inside = inside && p >= start[d] && p < stop[d];
                off = off * ext[d] + (p - start[d]);
            }
            if (inside) {
                double w = ref_weight(t, x), v = gen_value(wi, x, r, t->dtype);
                if (t->dtype == IT_F32)
                    v = (float)v;
                acc[off] += w * v;
                wsum[off] += w;
            }
            for (int d = r - 1; d >= 0 && ++x[d] == t->window.size[d]; d--)
                x[d] = 0;
        }
        int d = r - 1;
        while (d >= 0 && wi[d] == hi[d])
            wi[d] = lo[d], d--;
        if (d < 0)
            break;
        wi[d]++;
    }
    void *out = calloc(n, it_dtype_size(t->dtype));
    for (size_t i = 0; i < n; i++)
        test_store_value(t->dtype, out, i,
                         wsum[i] > 0 ? ref_round(acc[i] / wsum[i], t->dtype) : t->blend_init);
    free(acc);
    free(wsum);
    return out;
}

/* ---- helpers -------------------------------------------------------------------------------- */


static it_region box_region(int rank, const int64_t *start, const int64_t *stop) {
    it_region g;
    it_region_init(&g, rank);
    for (int d = 0; d < rank; d++) {
        g.start[d] = start[d];
        g.stop[d] = stop[d];
    }
    return g;
}

static size_t box_bytes(const it_tensor_desc *d, const int64_t *start, const int64_t *stop) {
    size_t n = it_dtype_size(d->dtype);
    for (int k = 0; k < d->rank; k++)
        n *= (size_t)(stop[k] - start[k]);
    return n;
}

/* Reads [start, stop) of desc in a fresh memory store and compares it bit for bit with the
 * reference. */
static void check_against_reference(const it_tensor_desc *desc, const int64_t *start,
                                    const int64_t *stop) {
    test_env e;
    assert_int_equal(test_env_open(&e, 2, 0, 0), 0);
    it_tensor *t;
    if (it_tensor_create(e.store, desc, &t))
        fail_msg("create: %s", it_last_error());
    size_t bytes = box_bytes(desc, start, stop);
    void *got = malloc(bytes), *want = reference(desc, start, stop);
    it_region g = box_region(desc->rank, start, stop);
    if (it_tensor_read(t, &g, got, bytes))
        fail_msg("read: %s", it_last_error());
    assert_memory_equal(got, want, bytes);
    free(got);
    free(want);
    test_env_close(&e);
}

static void base_desc(it_tensor_desc *d, int rank, it_dtype dtype, it_weight_kind kind) {
    it_tensor_desc_init(d, rank);
    d->dtype = dtype;
    d->fn = gen_fn;
    d->blend = IT_BLEND_WEIGHTED;
    d->weight.kind = kind;
}

/* ---- against the reference ---------------------------------------------------------------- */

/* 1-D: windows 16 stride 4 (4 overlaps per pixel), tent over the default border (12). */
static void test_1d_tent_f32(void **state) {
    (void)state;
    it_tensor_desc d;
    base_desc(&d, 1, IT_F32, IT_WEIGHT_TENT);
    d.shape[0] = IT_INF;
    int64_t size[1] = {16}, stride[1] = {4}, offset[1] = {-3};
    it_window_set(&d.window, 1, size, stride, offset);
    int64_t start[1] = {-50}, stop[1] = {83};
    check_against_reference(&d, start, stop);
}

/* 2-D, the first dimension finite (windows stop at its edges, so edge pixels are covered by
 * fewer windows): hann with explicit borders and a floor, f64, windows 10x12 stride 4x5. */
static void test_2d_hann_finite_f64(void **state) {
    (void)state;
    it_tensor_desc d;
    base_desc(&d, 2, IT_F64, IT_WEIGHT_HANN);
    d.shape[0] = 37;
    d.shape[1] = IT_INF;
    int64_t size[2] = {10, 12}, stride[2] = {4, 5}, offset[2] = {0, 7};
    it_window_set(&d.window, 2, size, stride, offset);
    d.weight.border[0] = 3;
    d.weight.border[1] = 6;
    d.weight.floor = 0.05;
    d.blend_init = -1.5;
    d.chunk[1] = 8;
    int64_t start[2] = {0, -20}, stop[2] = {37, 31};
    check_against_reference(&d, start, stop);
}

/* 3-D: a finite channel dimension read whole by every window (flat by default), gaussian
 * with the default sigmas elsewhere, int16 rounded to nearest, blend_init where nothing
 * covers (stride 5 > size 4 leaves gaps along the last dimension). */
static void test_3d_gaussian_i16(void **state) {
    (void)state;
    it_tensor_desc d;
    base_desc(&d, 3, IT_I16, IT_WEIGHT_GAUSSIAN);
    d.shape[0] = IT_INF;
    d.shape[1] = 3;
    d.shape[2] = IT_INF;
    int64_t size[3] = {9, 3, 4}, stride[3] = {2, 3, 5}, offset[3] = {1, 0, 0};
    it_window_set(&d.window, 3, size, stride, offset);
    d.blend_init = 7;
    int64_t start[3] = {-10, 0, -7}, stop[3] = {12, 3, 16};
    check_against_reference(&d, start, stop);
    d.weight.sigma[0] = 0.3; /* narrow: factors far from the centre hit the 1e-30 minimum */
    d.weight.sigma[2] = IT_WEIGHT_FLAT;
    check_against_reference(&d, start, stop);
}

/* A fixed dimension (IT_MAP_FIXED) next to one sliding by 3 under windows of 12, uint8. */
static void test_fixed_map_u8(void **state) {
    (void)state;
    it_tensor_desc d;
    base_desc(&d, 2, IT_U8, IT_WEIGHT_TENT);
    d.shape[0] = 1;
    d.shape[1] = IT_INF;
    int64_t size[2] = {1, 12}, stride[2] = {1, 3};
    it_window_set(&d.window, 2, size, stride, NULL);
    d.window.map[0] = IT_MAP_FIXED;
    int64_t start[2] = {0, -30}, stop[2] = {1, 40};
    check_against_reference(&d, start, stop);
}

/* A user array with zero rows 0 and 2: with stride 2, every other row of pixels is covered
 * only by zero weights and holds blend_init (no floor); with a floor, they get the plain
 * average. */
static void test_array_profile(void **state) {
    (void)state;
    double a[16];
    for (int i = 0; i < 16; i++)
        a[i] = (i / 4) % 2 == 0 ? 0 : (double)(i % 5 + 1);
    it_tensor_desc d;
    base_desc(&d, 2, IT_I32, IT_WEIGHT_ARRAY);
    d.shape[0] = d.shape[1] = IT_INF;
    int64_t size[2] = {4, 4}, stride[2] = {2, 2};
    it_window_set(&d.window, 2, size, stride, NULL);
    d.weight.array = a;
    d.blend_init = -99;
    int64_t start[2] = {-3, -5}, stop[2] = {9, 8};
    check_against_reference(&d, start, stop);
    void *want = reference(&d, start, stop);
    int holes = 0; /* the rule is exercised: some pixels see only zero weights */
    for (size_t i = 0; i < (size_t)(12 * 13); i++)
        holes += ((int32_t *)want)[i] == -99;
    free(want);
    assert_true(holes > 0);
    d.weight.floor = 0.5;
    d.dtype = IT_F32;
    check_against_reference(&d, start, stop);

    /* weights whose sums overflow double: integer outputs get blend_init (inf / inf) or a
     * saturated value (or 0: finite / inf), never an undefined conversion */
    for (int i = 0; i < 16; i++)
        a[i] = 1e308;
    d.dtype = IT_I32;
    d.weight.floor = 0;
    test_env e;
    assert_int_equal(test_env_open(&e, 1, 0, 0), 0);
    it_tensor *t;
    assert_int_equal(it_tensor_create(e.store, &d, &t), 0);
    int32_t v[8 * 8];
    it_region g = region2(0, 8, 0, 8);
    assert_int_equal(it_tensor_read(t, &g, v, sizeof v), 0);
    for (int i = 0; i < 64; i++)
        assert_true(v[i] == -99 || v[i] == 0 || v[i] == INT32_MAX || v[i] == INT32_MIN);
    test_env_close(&e);
}

/* The constant profile is the mean, computed in double: for f64 the same bits as
 * IT_BLEND_MEAN. */
static void test_constant_is_mean(void **state) {
    (void)state;
    test_env e;
    assert_int_equal(test_env_open(&e, 2, 0, 0), 0);
    it_tensor_desc d;
    base_desc(&d, 2, IT_F64, IT_WEIGHT_CONSTANT);
    d.shape[0] = d.shape[1] = IT_INF;
    int64_t size[2] = {9, 7}, stride[2] = {2, 3};
    it_window_set(&d.window, 2, size, stride, NULL);
    it_tensor *w, *m;
    assert_int_equal(it_tensor_create(e.store, &d, &w), 0);
    d.blend = IT_BLEND_MEAN;
    assert_int_equal(it_tensor_create(e.store, &d, &m), 0);
    it_region g = region2(-20, 20, -15, 25);
    double a[40 * 40], b[40 * 40];
    assert_int_equal(it_tensor_read(w, &g, a, sizeof a), 0);
    assert_int_equal(it_tensor_read(m, &g, b, sizeof b), 0);
    assert_memory_equal(a, b, sizeof a);
    test_env_close(&e);
}

/* ---- determinism ------------------------------------------------------------------------ */

static void det_desc(it_tensor_desc *d, size_t batch) {
    base_desc(d, 2, IT_F32, IT_WEIGHT_HANN);
    d->shape[0] = d->shape[1] = IT_INF;
    int64_t size[2] = {24, 20}, stride[2] = {5, 6}, offset[2] = {-4, 2};
    it_window_set(&d->window, 2, size, stride, offset);
    d->chunk[0] = d->chunk[1] = 16;
    d->batch_size = batch;
}

/* The same bits whatever the threads, batch size, memory budget, cache size and the order in
 * which parts of the region are requested. */
static void test_bit_identical(void **state) {
    (void)state;
    int64_t start[2] = {-40, -30}, stop[2] = {56, 66};
    it_tensor_desc d;
    det_desc(&d, 1);
    size_t bytes = box_bytes(&d, start, stop);
    void *want = reference(&d, start, stop);
    struct {
        int threads;
        size_t batch, budget, cache;
        bool reverse;
    } runs[] = {{1, 1, 0, 0, false},           {2, 1, 0, 0, false},
                {2, 7, 0, 0, true},            {3, 3, (size_t)1 << 20, 0, true},
                {2, 1, 0, (size_t)64 << 10, true}};
    for (size_t k = 0; k < sizeof runs / sizeof runs[0]; k++) {
        test_env e;
        assert_int_equal(test_env_open(&e, runs[k].threads, runs[k].budget, runs[k].cache), 0);
        det_desc(&d, runs[k].batch);
        it_tensor *t;
        assert_int_equal(it_tensor_create(e.store, &d, &t), 0);
        float *got = malloc(bytes);
        int64_t w1 = stop[1] - start[1];
        if (runs[k].reverse) { /* bands of 8 rows, last first, each through its own buffer */
            for (int64_t r0 = stop[0] - 8; r0 >= start[0]; r0 -= 8) {
                it_region g = region2(r0, r0 + 8, start[1], stop[1]);
                if (it_tensor_read(t, &g, got + (r0 - start[0]) * w1,
                                   (size_t)(8 * w1) * sizeof(float)))
                    fail_msg("read: %s", it_last_error());
            }
        } else {
            it_region g = region2(start[0], stop[0], start[1], stop[1]);
            if (it_tensor_read(t, &g, got, bytes))
                fail_msg("read: %s", it_last_error());
        }
        assert_memory_equal(got, want, bytes);
        free(got);
        test_env_close(&e);
    }
    free(want);
}

/* ---- validation ------------------------------------------------------------------------- */

static void expect_einval(const it_tensor_desc *d, const char *needle) {
    test_env e;
    assert_int_equal(test_env_open(&e, 1, 0, 0), 0);
    it_tensor *t = NULL;
    assert_int_equal(it_tensor_create(e.store, d, &t), IT_EINVAL);
    assert_null(t);
    if (!strstr(it_last_error(), needle))
        fail_msg("message \"%s\" does not name \"%s\"", it_last_error(), needle);
    test_env_close(&e);
}

static void test_rejects_bad_profiles(void **state) {
    (void)state;
    double neg[4] = {1, -1, 1, 1}, nan_a[4] = {1, NAN, 1, 1};
    it_tensor_desc d;
    int64_t size[1] = {4}, stride[1] = {2};
#define FRESH(kind)                                                                          \
    base_desc(&d, 1, IT_F32, kind);                                                          \
    d.shape[0] = IT_INF;                                                                     \
    it_window_set(&d.window, 1, size, stride, NULL)
    FRESH(IT_WEIGHT_TENT);
    d.blend = IT_BLEND_SUM;
    expect_einval(&d, "weight is set but blend \"sum\" takes none");
    FRESH(IT_WEIGHT_CONSTANT);
    d.blend = IT_BLEND_MAX;
    d.weight.floor = 0.1;
    expect_einval(&d, "weight is set");
    FRESH((it_weight_kind)42);
    expect_einval(&d, "weight.kind");
    FRESH(IT_WEIGHT_TENT);
    d.weight.border[0] = 5;
    expect_einval(&d, "weight.border[0]");
    FRESH(IT_WEIGHT_HANN);
    d.weight.border[0] = -2;
    expect_einval(&d, "weight.border[0]");
    FRESH(IT_WEIGHT_TENT);
    d.weight.border[3] = 1;
    expect_einval(&d, "beyond the rank");
    FRESH(IT_WEIGHT_GAUSSIAN);
    d.weight.border[0] = 1;
    expect_einval(&d, "only tent and hann");
    FRESH(IT_WEIGHT_GAUSSIAN);
    d.weight.sigma[0] = -3;
    expect_einval(&d, "weight.sigma[0]");
    FRESH(IT_WEIGHT_GAUSSIAN);
    d.weight.sigma[0] = INFINITY;
    expect_einval(&d, "weight.sigma[0]");
    FRESH(IT_WEIGHT_TENT);
    d.weight.sigma[0] = 1;
    expect_einval(&d, "only gaussian");
    FRESH(IT_WEIGHT_CONSTANT);
    d.weight.floor = NAN;
    expect_einval(&d, "weight.floor");
    FRESH(IT_WEIGHT_CONSTANT);
    d.weight.floor = -1;
    expect_einval(&d, "weight.floor");
    FRESH(IT_WEIGHT_ARRAY);
    expect_einval(&d, "weight.array must not be NULL");
    FRESH(IT_WEIGHT_ARRAY);
    d.weight.array = neg;
    expect_einval(&d, "weight.array[1]");
    FRESH(IT_WEIGHT_ARRAY);
    d.weight.array = nan_a;
    expect_einval(&d, "weight.array[1]");
    FRESH(IT_WEIGHT_HANN);
    d.weight.array = neg;
    expect_einval(&d, "weight.array is set");
#undef FRESH
    it_weight_kind k;
    assert_int_equal(it_weight_kind_parse("hann", &k), 0);
    assert_int_equal(k, IT_WEIGHT_HANN);
    assert_int_equal(it_weight_kind_parse("triangle", &k), IT_EINVAL);
    assert_string_equal(it_weight_kind_name(IT_WEIGHT_GAUSSIAN), "gaussian");
    assert_null(it_weight_kind_name(IT_WEIGHT_COUNT_));
    it_blend b;
    assert_int_equal(it_blend_parse("weighted", &b), 0);
    assert_int_equal(b, IT_BLEND_WEIGHTED);
}

/* The resolved profile is what get_info reports: default borders and sigmas filled in, the
 * tensor's own copy of an array (the caller's may go) and its digest. */
static void test_info_resolves_defaults(void **state) {
    (void)state;
    test_env e;
    assert_int_equal(test_env_open(&e, 1, 0, 0), 0);
    it_tensor_desc d;
    base_desc(&d, 3, IT_F32, IT_WEIGHT_TENT);
    d.shape[0] = IT_INF;
    d.shape[1] = 2;
    d.shape[2] = IT_INF;
    int64_t size[3] = {8, 2, 6}, stride[3] = {6, 2, 6};
    it_window_set(&d.window, 3, size, stride, NULL);
    d.weight.border[2] = 3;
    it_tensor *t;
    assert_int_equal(it_tensor_create(e.store, &d, &t), 0);
    it_tensor_info info;
    assert_int_equal(it_tensor_get_info(t, &info), 0);
    assert_int_equal(info.blend, IT_BLEND_WEIGHTED);
    assert_int_equal(info.weight.kind, IT_WEIGHT_TENT);
    assert_int_equal(info.weight.border[0], 2);              /* the overlap 8 - 6 */
    assert_int_equal(info.weight.border[1], IT_WEIGHT_FLAT); /* stride = size: no overlap */
    assert_int_equal(info.weight.border[2], 3);              /* as given */
    assert_string_equal(info.weight_sha256, "");

    double *a = malloc(16 * sizeof *a);
    for (int i = 0; i < 16; i++)
        a[i] = (i % 4 + 1) * 0.25;
    it_tensor_desc ad;
    base_desc(&ad, 2, IT_F32, IT_WEIGHT_ARRAY);
    ad.shape[0] = ad.shape[1] = IT_INF;
    int64_t asize[2] = {4, 4}, astride[2] = {2, 2};
    it_window_set(&ad.window, 2, asize, astride, NULL);
    ad.weight.array = a;
    it_tensor *ta;
    assert_int_equal(it_tensor_create(e.store, &ad, &ta), 0);
    free(a);
    assert_int_equal(it_tensor_get_info(ta, &info), 0);
    /* hashlib.sha256(struct.pack('<16d', *[(i % 4 + 1) * 0.25 for i in range(16)])) */
    assert_string_equal(info.weight_sha256,
                        "8b8996dad1934b9e0a72d5023b9acf56692eecd014f37718a91827c9caf8b3d4");
    assert_true(info.weight.array[5] == 0.5);
    it_region g = region2(0, 8, 0, 8);
    float buf[64];
    assert_int_equal(it_tensor_read(ta, &g, buf, sizeof buf), 0); /* reads the copy */
    test_env_close(&e);
}

/* ---- the HDF5 store's record ------------------------------------------------------------- */

static char path[256];

static it_store *open_h5(it_ctx *ctx, it_hdf5_mode mode) {
    it_store *s = NULL;
    if (it_store_open_hdf5(ctx, path, mode, NULL, &s))
        fail_msg("open: %s", it_last_error());
    return s;
}

static void h5_desc(it_tensor_desc *d, const double *array) {
    base_desc(d, 2, IT_F32, array ? IT_WEIGHT_ARRAY : IT_WEIGHT_HANN);
    d->id = "feathered";
    d->shape[0] = d->shape[1] = IT_INF;
    int64_t size[2] = {4, 4}, stride[2] = {2, 2};
    it_window_set(&d->window, 2, size, stride, NULL);
    d->weight.array = array;
    d->weight.floor = 0.125;
}

/* Reconnecting compares kind, borders, sigmas, floor and the array's digest, each named; an
 * opened tensor reports the stored profile. */
static void test_hdf5_record(void **state) {
    (void)state;
    snprintf(path, sizeof path, "%s/it-weighted-%d.h5", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             (int)getpid());
    unlink(path);
    it_ctx *ctx;
    assert_int_equal(it_ctx_create(NULL, &ctx), 0);
    double a[16], b[16];
    for (int i = 0; i < 16; i++)
        a[i] = b[i] = (i % 4 + 1) * 0.25;
    b[15] = 2;
    it_tensor_desc d, da;
    it_store *s = open_h5(ctx, IT_HDF5_CREATE);
    it_tensor *t, *ta;
    h5_desc(&d, NULL);
    assert_int_equal(it_tensor_create(s, &d, &t), 0);
    h5_desc(&da, a);
    da.id = "feathered-array";
    assert_int_equal(it_tensor_create(s, &da, &ta), 0);
    it_region g = region2(-8, 8, -8, 8);
    float first[256], again[256];
    assert_int_equal(it_tensor_read(t, &g, first, sizeof first), 0);
    assert_int_equal(it_tensor_fill(ta, &g), 0);
    it_store_close(s);

    s = open_h5(ctx, IT_HDF5_READWRITE);
    h5_desc(&d, NULL);
    d.weight.kind = IT_WEIGHT_TENT;
    assert_int_equal(it_tensor_create(s, &d, &t), IT_EMISMATCH);
    assert_non_null(strstr(it_last_error(), "weight_profile"));
    h5_desc(&d, NULL);
    d.weight.border[1] = 1;
    assert_int_equal(it_tensor_create(s, &d, &t), IT_EMISMATCH);
    assert_non_null(strstr(it_last_error(), "weight_border"));
    h5_desc(&d, NULL);
    d.weight.floor = 0.25;
    assert_int_equal(it_tensor_create(s, &d, &t), IT_EMISMATCH);
    assert_non_null(strstr(it_last_error(), "weight_floor"));
    h5_desc(&da, b);
    da.id = "feathered-array";
    assert_int_equal(it_tensor_create(s, &da, &ta), IT_EMISMATCH);
    assert_non_null(strstr(it_last_error(), "weight_array_sha256"));
    h5_desc(&d, NULL);
    d.blend = IT_BLEND_MEAN;
    memset(&d.weight, 0, sizeof d.weight);
    assert_int_equal(it_tensor_create(s, &d, &t), IT_EMISMATCH);
    assert_non_null(strstr(it_last_error(), "blend"));

    /* the same description reconnects and computes nothing */
    h5_desc(&d, NULL);
    assert_int_equal(it_tensor_create(s, &d, &t), 0);
    assert_int_equal(it_tensor_read(t, &g, again, sizeof again), 0);
    assert_memory_equal(first, again, sizeof first);
    it_tensor_counters c;
    assert_int_equal(it_tensor_get_counters(t, &c), 0);
    assert_int_equal(c.windows_computed, 0);
    it_tensor_release(t);
    h5_desc(&da, a);
    da.id = "feathered-array";
    assert_int_equal(it_tensor_create(s, &da, &ta), 0);
    it_tensor_release(ta);

    /* opened without a function: the stored, resolved profile */
    assert_int_equal(it_tensor_open(s, "feathered-array", 0, &ta), 0);
    it_tensor_info info;
    assert_int_equal(it_tensor_get_info(ta, &info), 0);
    assert_int_equal(info.blend, IT_BLEND_WEIGHTED);
    assert_int_equal(info.weight.kind, IT_WEIGHT_ARRAY);
    assert_true(info.weight.floor == 0.125);
    assert_null(info.weight.array);
    assert_string_equal(info.weight_sha256,
                        "8b8996dad1934b9e0a72d5023b9acf56692eecd014f37718a91827c9caf8b3d4");
    assert_int_equal(it_tensor_open(s, "feathered", 0, &t), 0);
    assert_int_equal(it_tensor_get_info(t, &info), 0);
    assert_int_equal(info.weight.kind, IT_WEIGHT_HANN);
    assert_int_equal(info.weight.border[0], 2);
    assert_int_equal(info.weight.border[1], 2);
    it_store_close(s);
    it_ctx_destroy(ctx);
    unlink(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_1d_tent_f32),
        cmocka_unit_test(test_2d_hann_finite_f64),
        cmocka_unit_test(test_3d_gaussian_i16),
        cmocka_unit_test(test_fixed_map_u8),
        cmocka_unit_test(test_array_profile),
        cmocka_unit_test(test_constant_is_mean),
        cmocka_unit_test(test_bit_identical),
        cmocka_unit_test(test_rejects_bad_profiles),
        cmocka_unit_test(test_info_resolves_defaults),
        cmocka_unit_test(test_hdf5_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
