/* Kernels of the blur-of-blur benchmark, shared by the library run and the hand-written
 * baseline so that both do exactly the same arithmetic. */
#ifndef IT_BENCH_BLUR_KERNELS_H
#define IT_BENCH_BLUR_KERNELS_H

#include <stdint.h>

#include "infinite_tensor.h"

#define BW 512            /* window size */
#define PAD 2             /* 5x5 kernel radius */
#define PW (BW + 2 * PAD) /* padded argument window */
#define CH 3

/* Window (wy, wx) of the random image: uniform [0, 1) from a counter-based hash of the global
 * pixel coordinate. */
void bench_noise(int64_t wy, int64_t wx, float *out);

/* Separable 5x5 gaussian (sigma 1) of a CH x PW x PW input into CH x BW x BW; tmp holds
 * CH x PW x BW floats. */
void bench_blur(const float *in, float *out, float *tmp);

/* it_window_fn of bench_noise over (CH, inf, inf) windows of BW. */
int bench_noise_fn(const it_window_batch *b, void *user);
/* it_window_fn of a smooth field (bench_field, shifted per channel) over the same windows. */
int bench_smooth_fn(const it_window_batch *b, void *user);

/* The blur-of-blur pipeline as the library benchmarks build it: "image" (CH, inf, inf) f32 in
 * BW windows by image_fn, then "blur1" and "blur2", each the 5x5 gaussian of the tensor before
 * through padded windows. image and blur1 go to `first` with `flags`, blur2 to `last`; tmp
 * holds the blurs' per-thread scratch (for `threads` threads). */
typedef struct bench_blur_pipeline {
    float *tmp[64];
    it_tensor *image, *blur1, *blur2;
} bench_blur_pipeline;

int bench_blur_pipeline_create(it_store *first, it_store *last, it_window_fn image_fn,
                               void *image_user, unsigned flags, int threads,
                               bench_blur_pipeline *p);
void bench_blur_pipeline_free(bench_blur_pipeline *p);

#endif
