#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "blur_kernels.h"

static inline uint32_t mix32(uint32_t x) {
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    x ^= x >> 16;
    return x;
}

void bench_noise(int64_t wy, int64_t wx, float *out) {
    for (int c = 0; c < CH; c++)
        for (int y = 0; y < BW; y++) {
            uint32_t gy = (uint32_t)(wy * BW + y), row = (uint32_t)c * 0x9E3779B9U ^ gy * 0x85EBCA6BU;
            uint32_t gx0 = (uint32_t)(wx * BW);
            float *o = out + ((int64_t)c * BW + y) * BW;
            for (int x = 0; x < BW; x++)
                o[x] = (float)(mix32(row + (gx0 + (uint32_t)x) * 0xC2B2AE35U) >> 8) * (1.0f / 16777216.0f);
        }
}

static const float K[5] = {0.05448869f, 0.24420134f, 0.40261994f, 0.24420134f, 0.05448869f};

void bench_blur(const float *in, float *out, float *tmp) {
    for (int c = 0; c < CH; c++) {
        const float *src = in + (int64_t)c * PW * PW;
        float *t = tmp + (int64_t)c * PW * BW;
        for (int y = 0; y < PW; y++) {
            const float *r = src + (int64_t)y * PW;
            float *o = t + (int64_t)y * BW;
            for (int x = 0; x < BW; x++)
                o[x] = K[0] * r[x] + K[1] * r[x + 1] + K[2] * r[x + 2] + K[3] * r[x + 3] +
                       K[4] * r[x + 4];
        }
        float *dst = out + (int64_t)c * BW * BW;
        for (int y = 0; y < BW; y++) {
            const float *r0 = t + (int64_t)y * BW;
            float *o = dst + (int64_t)y * BW;
            for (int x = 0; x < BW; x++)
                o[x] = K[0] * r0[x] + K[1] * r0[x + BW] + K[2] * r0[x + 2 * BW] +
                       K[3] * r0[x + 3 * BW] + K[4] * r0[x + 4 * BW];
        }
    }
}

int bench_noise_fn(const it_window_batch *b, void *user) {
    (void)user;
    for (size_t k = 0; k < b->count; k++)
        bench_noise(b->index[k * 3 + 1], b->index[k * 3 + 2], b->out[k]);
    return 0;
}

int bench_smooth_fn(const it_window_batch *b, void *user) {
    (void)user;
    for (size_t k = 0; k < b->count; k++) {
        int64_t wy = b->index[k * 3 + 1], wx = b->index[k * 3 + 2];
        float *out = b->out[k];
        for (int c = 0; c < CH; c++)
            for (int y = 0; y < BW; y++)
                for (int x = 0; x < BW; x++)
                    out[((size_t)c * BW + y) * BW + x] =
                        bench_field(wy * BW + y + 97 * c, wx * BW + x);
    }
    return 0;
}

static int blur_fn(const it_window_batch *b, void *user) {
    bench_blur_pipeline *p = user;
    for (size_t k = 0; k < b->count; k++)
        bench_blur(b->arg[k], b->out[k], p->tmp[b->thread]);
    return 0;
}

int bench_blur_pipeline_create(it_store *first, it_store *last, it_window_fn image_fn,
                               void *image_user, unsigned flags, int threads,
                               bench_blur_pipeline *p) {
    memset(p, 0, sizeof *p);
    for (int i = 0; i < threads && i < 64; i++)
        if (!(p->tmp[i] = malloc(sizeof(float) * CH * PW * BW)))
            return IT_ENOMEM;
    int64_t win[3] = {CH, BW, BW}, pad[3] = {CH, PW, PW}, step[3] = {CH, BW, BW},
            halo[3] = {0, -PAD, -PAD};
    it_tensor_desc d;
    it_tensor_desc_init(&d, 3);
    d.shape[0] = CH, d.shape[1] = IT_INF, d.shape[2] = IT_INF;
    it_window_init(&d.window, 3, win);
    d.id = "image";
    d.fn = image_fn;
    d.user = image_user;
    d.flags = flags;
    it_window argw;
    it_window_set(&argw, 3, pad, step, halo);
    int rc = it_tensor_create(first, &d, &p->image);
    d.fn = blur_fn;
    d.user = p;
    d.n_args = 1;
    d.arg_windows = &argw;
    d.args = &p->image;
    d.id = "blur1";
    if (rc == 0)
        rc = it_tensor_create(first, &d, &p->blur1);
    d.args = &p->blur1;
    d.id = "blur2";
    d.flags = 0;
    return rc ? rc : it_tensor_create(last, &d, &p->blur2);
}

void bench_blur_pipeline_free(bench_blur_pipeline *p) {
    for (int i = 0; i < 64; i++)
        free(p->tmp[i]);
    memset(p, 0, sizeof *p);
}
