/* bench_blend: the cost of blending overlapping windows. A (inf, inf) f32 tensor in windows of
 * 512 stepping 256 (four windows over every pixel) is read over [0, 4096)^2 from a memory store
 * with 2 threads, once per blend: sum (the baseline), mean, and the weighted blend with each
 * built-in profile and a user array. The window function is cheap (a ramp with texture), so
 * the blend dominates. A last configuration does the feathering by hand as users of plain
 * sum blends do: a (2, inf, inf) tensor of weight * value and weight, summed, then divided.
 * Each measurement runs in a fresh process; configurations interleave; medians are reported.
 *
 * Usage: bench_blend [runs] [size]   (defaults 3 and 4096) */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"

#define WIN 512
#define STRIDE 256

static int64_t SIZE = 4096;

typedef struct config {
    const char *name;
    it_blend blend;
    it_weight_kind kind;
    bool by_hand;
} config;

/* The tent over the overlap, for the by-hand configuration (what IT_WEIGHT_TENT computes). */
static double tent(int64_t x) {
    double up = ((double)x + 0.5) / (WIN - STRIDE), down = ((double)(WIN - x) - 0.5) / (WIN - STRIDE);
    double r = up < down ? up : down;
    return r < 1 ? r : 1;
}

static int field_fn(const it_window_batch *b, void *user) {
    (void)user;
    for (size_t k = 0; k < b->count; k++) {
        float *out = b->out[k];
        int64_t y0 = b->index[2 * k] * STRIDE, x0 = b->index[2 * k + 1] * STRIDE;
        for (int64_t y = 0; y < WIN; y++)
            for (int64_t x = 0; x < WIN; x++)
                out[y * WIN + x] = bench_field(y0 + y, x0 + x);
    }
    return 0;
}

/* Channel 0: weight * value, channel 1: weight (window index (0, wy, wx)). */
static int by_hand_fn(const it_window_batch *b, void *user) {
    const float *tw = user;
    for (size_t k = 0; k < b->count; k++) {
        float *out = b->out[k];
        int64_t y0 = b->index[3 * k + 1] * STRIDE, x0 = b->index[3 * k + 2] * STRIDE;
        for (int64_t y = 0; y < WIN; y++)
            for (int64_t x = 0; x < WIN; x++) {
                float w = tw[y] * tw[x];
                out[y * WIN + x] = w * bench_field(y0 + y, x0 + x);
                out[WIN * WIN + y * WIN + x] = w;
            }
    }
    return 0;
}

static int read_by_hand(it_store *store, float *out, float *tw) {
    int64_t size[3] = {2, WIN, WIN}, stride[3] = {2, STRIDE, STRIDE};
    it_tensor_desc d;
    it_tensor_desc_init(&d, 3);
    d.shape[0] = 2;
    d.shape[1] = d.shape[2] = IT_INF;
    it_window_set(&d.window, 3, size, stride, NULL);
    d.fn = by_hand_fn;
    d.user = tw;
    it_tensor *t;
    int rc = it_tensor_create(store, &d, &t);
    size_t n = (size_t)SIZE * SIZE;
    float *both = malloc(2 * n * sizeof *both);
    int64_t start[3] = {0, 0, 0}, stop[3] = {2, SIZE, SIZE};
    it_region r;
    it_region_set(&r, 3, start, stop, NULL);
    if (rc == 0 && !both)
        rc = IT_ENOMEM;
    if (rc == 0)
        rc = it_tensor_read(t, &r, both, 2 * n * sizeof *both);
    for (size_t i = 0; rc == 0 && i < n; i++)
        out[i] = both[n + i] > 0 ? both[i] / both[n + i] : 0;
    free(both);
    return rc;
}

static int run(void *arg, double *ms) {
    const config *c = arg;
    it_ctx_options co;
    it_ctx_options_init(&co);
    co.threads = 2;
    it_ctx *ctx;
    it_store *store;
    size_t n = (size_t)SIZE * SIZE;
    float *out = malloc(n * sizeof *out), tw[WIN];
    double *array = malloc((size_t)WIN * WIN * sizeof *array);
    for (int64_t x = 0; x < WIN; x++)
        tw[x] = (float)tent(x);
    for (int64_t i = 0; i < WIN * WIN; i++)
        array[i] = tent(i / WIN) * tent(i % WIN);
    double t0 = bench_now_ms();
    int rc = it_ctx_create(&co, &ctx);
    if (rc == 0)
        rc = it_store_open_memory(ctx, NULL, &store);
    if (rc == 0 && c->by_hand) {
        rc = read_by_hand(store, out, tw);
    } else if (rc == 0) {
        int64_t size[2] = {WIN, WIN}, stride[2] = {STRIDE, STRIDE};
        it_tensor_desc d;
        it_tensor_desc_init(&d, 2);
        d.shape[0] = d.shape[1] = IT_INF;
        it_window_set(&d.window, 2, size, stride, NULL);
        d.fn = field_fn;
        d.blend = c->blend;
        if (c->blend == IT_BLEND_WEIGHTED) {
            d.weight.kind = c->kind;
            d.weight.array = c->kind == IT_WEIGHT_ARRAY ? array : NULL;
        }
        it_tensor *t;
        it_region r = bench_square(SIZE);
        rc = it_tensor_create(store, &d, &t);
        if (rc == 0)
            rc = it_tensor_read(t, &r, out, n * sizeof *out);
    }
    *ms = bench_now_ms() - t0;
    if (rc)
        return fprintf(stderr, "%s: %s\n", c->name, it_last_error()), 1;
    it_store_close(store);
    it_ctx_destroy(ctx);
    free(out);
    free(array);
    return 0;
}

int main(int argc, char **argv) {
    int runs;
    if (!bench_args(argc, argv, "bench_blend", STRIDE, &runs, &SIZE, NULL))
        return 2;
    static const config cfg[] = {
        {"sum", IT_BLEND_SUM, IT_WEIGHT_CONSTANT, false},
        {"mean", IT_BLEND_MEAN, IT_WEIGHT_CONSTANT, false},
        {"weighted tent", IT_BLEND_WEIGHTED, IT_WEIGHT_TENT, false},
        {"weighted hann", IT_BLEND_WEIGHTED, IT_WEIGHT_HANN, false},
        {"weighted gaussian", IT_BLEND_WEIGHTED, IT_WEIGHT_GAUSSIAN, false},
        {"weighted array", IT_BLEND_WEIGHTED, IT_WEIGHT_ARRAY, false},
        {"tent by hand (sum)", IT_BLEND_SUM, IT_WEIGHT_CONSTANT, true},
    };
    enum { NCFG = sizeof cfg / sizeof cfg[0] };
    double ms[NCFG][50], rss[NCFG][50], med[NCFG], rss_med[NCFG];
    printf("windows %d stride %d over [0:%lld, 0:%lld] f32 (%.0f MiB), memory store, 2 threads, "
           "%d run(s) each, medians:\n",
           WIN, STRIDE, (long long)SIZE, (long long)SIZE, (double)SIZE * SIZE * 4 / 1048576.0,
           runs);
    for (int i = 0; i < runs; i++)
        for (int k = 0; k < NCFG; k++)
            if (bench_in_child(run, (void *)&cfg[k], &ms[k][i], &rss[k][i]))
                return fprintf(stderr, "%s failed\n", cfg[k].name), 1;
    for (int k = 0; k < NCFG; k++) {
        med[k] = bench_median(ms[k], runs);
        rss_med[k] = bench_median(rss[k], runs);
        printf("  %-20s %8.1f ms  %5.2fx sum   peak RSS %6.0f MiB\n", cfg[k].name, med[k],
               med[k] / med[0], rss_med[k]);
    }
    printf("BENCH blend: tent_over_sum=%.2f hann_over_sum=%.2f gaussian_over_sum=%.2f "
           "array_over_sum=%.2f mean_over_sum=%.2f by_hand_over_sum=%.2f ms_sum=%.0f "
           "ms_tent=%.0f\n",
           med[2] / med[0], med[3] / med[0], med[4] / med[0], med[5] / med[0], med[1] / med[0],
           med[6] / med[0], med[0], med[2]);
    return 0;
}
