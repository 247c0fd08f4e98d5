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
