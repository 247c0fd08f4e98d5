/* Kernels of the blur-of-blur benchmark, shared by the library run and the hand-written
 * baseline so that both do exactly the same arithmetic. */
#ifndef IT_BENCH_BLUR_KERNELS_H
#define IT_BENCH_BLUR_KERNELS_H

#include <stdint.h>

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

#endif
