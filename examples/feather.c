/* Feathered blending: tiles from a "model" whose outputs disagree a little where they overlap
 * (each tile carries its own brightness offset and tilt, as tiles of sliding-window inference
 * or of a generative model do), blended three ways over the same 640x384 region:
 *
 *   sum       plain sum: overlaps count twice, every seam is a bright band
 *   mean      plain average: the disagreement jumps at every overlap's edge
 *   feather   IT_BLEND_WEIGHTED with a tent over the overlap: each tile fades out where the
 *             next fades in, and the seams are gone
 *
 * Writes feather-sum.png, feather-mean.png and feather-tent.png (grey, one shared value range)
 * into DIR (default "."), and prints a seam score per blend: the mean jump between neighbouring
 * pixels across the columns and rows where overlaps begin or end, over the mean jump
 * everywhere else (about 1: no seam). Usage: feather [DIR] */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "infinite_tensor.h"

#define TILE 128
#define STRIDE 96 /* 32 pixels of overlap */
#define H 384
#define W 640

/* A per-tile pseudo-random number in [-1, 1). */
static double tile_noise(int64_t wy, int64_t wx, uint64_t salt) {
    uint64_t h = (uint64_t)wy * 0x9E3779B97F4A7C15u ^ (uint64_t)wx * 0xC2B2AE3D27D4EB4Fu ^ salt;
    h ^= h >> 31;
    h *= 0xBF58476D1CE4E5B9u;
    h ^= h >> 29;
    return (double)(h >> 11) / 4503599627370496.0 - 1.0;
}

/* The scene: smooth hills. Each tile sees it with its own offset and a slight tilt. */
static int tile_model(const it_window_batch *b, void *user) {
    (void)user;
    for (size_t k = 0; k < b->count; k++) {
        int64_t wy = b->index[2 * k], wx = b->index[2 * k + 1];
        double offset = 0.12 * tile_noise(wy, wx, 1), tilt = 0.001 * tile_noise(wy, wx, 2);
        float *out = b->out[k];
        for (int64_t y = 0; y < TILE; y++) {
            for (int64_t x = 0; x < TILE; x++) {
                double gy = (double)(wy * STRIDE + y), gx = (double)(wx * STRIDE + x);
                double hills = 0.5 + 0.2 * sin(gx / 37.0) * cos(gy / 53.0) + 0.1 * sin((gx + gy) / 23.0);
                out[y * TILE + x] = (float)(hills + offset + tilt * (double)(x - y));
            }
        }
    }
    return 0;
}

static int make(it_store *s, const char *id, it_blend blend, it_tensor **t) {
    int64_t size[2] = {TILE, TILE}, stride[2] = {STRIDE, STRIDE};
    it_tensor_desc d;
    it_tensor_desc_init(&d, 2);
    d.id = id;
    d.shape[0] = d.shape[1] = IT_INF;
    it_window_set(&d.window, 2, size, stride, NULL);
    d.fn = tile_model;
    d.blend = blend;
    if (blend == IT_BLEND_WEIGHTED)
        d.weight.kind = IT_WEIGHT_TENT; /* border 0: the default, the 32-pixel overlap */
    return it_tensor_create(s, &d, t);
}

/* Whether the step between pixel p-1 and p crosses where an overlap begins or ends. */
static int at_seam(int64_t p) {
    int64_t r = p % STRIDE;
    return r == 0 || r == TILE - STRIDE;
}

/* Mean |step| across overlap edges over the mean |step| elsewhere (rows and columns). */
static double seam_score(const float *v) {
    double seam = 0, rest = 0;
    long ns = 0, nr = 0;
    for (int64_t y = 0; y < H; y++) {
        for (int64_t x = 1; x < W; x++) {
            double dx = fabs(v[y * W + x] - v[y * W + x - 1]);
            if (at_seam(x))
                seam += dx, ns++;
            else
                rest += dx, nr++;
        }
    }
    for (int64_t y = 1; y < H; y++) {
        for (int64_t x = 0; x < W; x++) {
            double dy = fabs(v[y * W + x] - v[(y - 1) * W + x]);
            if (at_seam(y))
                seam += dy, ns++;
            else
                rest += dy, nr++;
        }
    }
    return (seam / (double)ns) / (rest / (double)nr);
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : ".";
    it_ctx *ctx;
    it_store *store;
    if (it_ctx_create(NULL, &ctx) || it_store_open_memory(ctx, NULL, &store)) {
        fprintf(stderr, "feather: %s\n", it_last_error());
        return 1;
    }
    static const struct {
        const char *name;
        it_blend blend;
    } runs[] = {{"sum", IT_BLEND_SUM}, {"mean", IT_BLEND_MEAN}, {"tent", IT_BLEND_WEIGHTED}};
    /* the region starts inside the first tile, so every pixel is covered */
    int64_t start[2] = {STRIDE, STRIDE}, stop[2] = {STRIDE + H, STRIDE + W};
    it_region region;
    it_region_set(&region, 2, start, stop, NULL);
    float *v = malloc((size_t)H * W * sizeof *v);
    int rc = v ? 0 : IT_ENOMEM;
    for (size_t i = 0; rc == 0 && i < sizeof runs / sizeof runs[0]; i++) {
        it_tensor *t;
        char path[4096];
        snprintf(path, sizeof path, "%s/feather-%s.png", dir, runs[i].name);
        it_preview_options po;
        it_preview_options_init(&po);
        po.colormap = IT_COLORMAP_GRAY;
        po.fixed_range = 1;
        po.vmin = 0;
        po.vmax = runs[i].blend == IT_BLEND_SUM ? 2.0 : 1.0; /* sums double in overlaps */
        if ((rc = make(store, runs[i].name, runs[i].blend, &t)) ||
            (rc = it_tensor_read(t, &region, v, (size_t)H * W * sizeof *v)) ||
            (rc = it_preview_png(t, &region, path, &po)))
            break;
        printf("%-5s seam score %5.2f   %s\n", runs[i].name, seam_score(v), path);
    }
    if (rc)
        fprintf(stderr, "feather: %s\n", it_last_error());
    free(v);
    it_store_close(store);
    it_ctx_destroy(ctx);
    return rc ? 1 : 0;
}
