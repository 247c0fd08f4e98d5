#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static const int64_t A[8] = {7, 13, 29, 31, 37, 41, 43, 47};
static const int64_t B[8] = {3, 5, 11, 17, 19, 23, 53, 59};

int test_env_open(test_env *e, int threads, size_t budget, size_t cache) {
    it_ctx_options co;
    it_ctx_options_init(&co);
    co.threads = threads;
    co.memory_budget = budget;
    int rc = it_ctx_create(&co, &e->ctx);
    if (rc)
        return rc;
    it_memory_store_options so;
    it_memory_store_options_init(&so);
    so.cache_bytes = cache;
    if ((rc = it_store_open_memory(e->ctx, &so, &e->store)))
        it_ctx_destroy(e->ctx);
    return rc;
}

void test_env_close(test_env *e) {
    it_store_close(e->store);
    it_ctx_destroy(e->ctx);
}

void test_store_value(it_dtype t, void *buf, size_t i, double v) {
    switch (t) {
    case IT_F32: ((float *)buf)[i] = (float)v; break;
    case IT_F64: ((double *)buf)[i] = v; break;
    case IT_I8: ((int8_t *)buf)[i] = (int8_t)v; break;
    case IT_I16: ((int16_t *)buf)[i] = (int16_t)v; break;
    case IT_I32: ((int32_t *)buf)[i] = (int32_t)v; break;
    case IT_I64: ((int64_t *)buf)[i] = (int64_t)v; break;
    case IT_U8: ((uint8_t *)buf)[i] = (uint8_t)v; break;
    case IT_U16: ((uint16_t *)buf)[i] = (uint16_t)v; break;
    case IT_U32: ((uint32_t *)buf)[i] = (uint32_t)v; break;
    default: ((uint64_t *)buf)[i] = (uint64_t)v; break;
    }
}

int golden_fn(const it_window_batch *b, void *user) {
    golden_gen *g = user;
    int r = b->out_rank;
    size_t n = 1;
    for (int d = 0; d < r; d++)
        n *= (size_t)b->out_shape[d];
    if (g && g->fail_at &&
        memcmp(b->index, g->fail_window, sizeof(int64_t) * (size_t)b->rank) == 0)
        return g->fail_at;
    for (size_t k = 0; k < b->count; k++) {
        const int64_t *w = b->index + k * (size_t)b->rank;
        int64_t base = 0;
        for (int j = 0; j < b->rank; j++)
            base += A[j] * w[j];
        int64_t p[IT_MAX_RANK] = {0};
        for (size_t i = 0; i < n; i++) {
            int64_t s = base;
            for (int d = 0; d < r; d++)
                s += B[d] * p[d];
            int64_t m = ((s % 97) + 97) % 97;
            double v = (double)(m - 48);
            if (g && g->scale != 0)
                v *= g->scale;
            test_store_value(b->dtype, b->out[k], i, v);
            for (int d = r - 1; d >= 0; d--) {
                if (++p[d] < b->out_shape[d])
                    break;
                p[d] = 0;
            }
        }
        if (g)
            atomic_fetch_add(&g->calls, 1);
    }
    return 0;
}

int box3_fn(const it_window_batch *b, void *user) {
    golden_gen *g = user;
    int r = b->out_rank;
    const int64_t *os = b->out_shape, *as = b->arg_shape[0];
    int64_t planes = 1;
    for (int d = 0; d < r - 2; d++)
        planes *= os[d];
    int64_t H = os[r - 2], W = os[r - 1], AH = as[r - 2], AW = as[r - 1];
    for (size_t k = 0; k < b->count; k++) {
        const void *in = b->arg[k * b->n_args];
        for (int64_t pl = 0; pl < planes; pl++)
            for (int64_t y = 0; y < H; y++)
                for (int64_t x = 0; x < W; x++) {
                    double s = 0;
                    for (int dy = 0; dy < 3; dy++)
                        for (int dx = 0; dx < 3; dx++)
                            s += it_dtype_load(b->arg_dtype[0], in,
                                                 (size_t)((pl * AH + y + dy) * AW + x + dx));
                    test_store_value(b->dtype, b->out[k], (size_t)((pl * H + y) * W + x), s);
                }
        if (g)
            atomic_fetch_add(&g->calls, 1);
    }
    return 0;
}

void golden_overlap_desc(it_tensor_desc *d, golden_gen *gen) {
    int64_t w16[2] = {16, 16};
    it_tensor_desc_init(d, 2);
    d->shape[0] = d->shape[1] = IT_INF;
    it_window_init(&d->window, 2, w16);
    d->window.stride[0] = d->window.stride[1] = 12;
    d->chunk[0] = d->chunk[1] = 32;
    d->fn = golden_fn;
    d->user = gen;
}

void golden_g2_desc(it_tensor_desc *d, golden_gen *gen) {
    int64_t w8[2] = {8, 8};
    it_tensor_desc_init(d, 2);
    d->id = "g2";
    d->shape[0] = d->shape[1] = IT_INF;
    it_window_init(&d->window, 2, w8);
    d->chunk[0] = d->chunk[1] = 8;
    d->fn = golden_fn;
    d->fn_tag = "golden";
    d->user = gen;
}

void box3_desc(it_tensor_desc *d, it_tensor **arg, it_window *aw, golden_gen *gen) {
    int64_t w32[2] = {32, 32}, pad[2] = {34, 34}, halo[2] = {-1, -1};
    it_window_set(aw, 2, pad, w32, halo);
    it_tensor_desc_init(d, 2);
    d->shape[0] = d->shape[1] = IT_INF;
    it_window_init(&d->window, 2, w32);
    d->chunk[0] = d->chunk[1] = 32;
    d->fn = box3_fn;
    d->user = gen;
    d->n_args = 1;
    d->args = arg;
    d->arg_windows = aw;
}

it_region region2(int64_t a0, int64_t b0, int64_t a1, int64_t b1) {
    it_region r;
    int64_t s[2] = {a0, a1}, e[2] = {b0, b1};
    it_region_set(&r, 2, s, e, NULL);
    return r;
}

void temp_store_path(char *buf, size_t size, const char *stem, long pid) {
    const char *dir = getenv("TMPDIR");
    snprintf(buf, size, "%s/it-%s-%ld.h5", dir ? dir : "/tmp", stem, pid);
}
