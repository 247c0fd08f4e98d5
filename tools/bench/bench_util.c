#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <time.h>

#include "bench_util.h"

double bench_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

float bench_field(int64_t y, int64_t x) {
    return (float)(y * 0.25 + x * 0.5) + (float)((x ^ y) & 7) * 0.125f;
}

int bench_field_fn(const it_window_batch *b, void *user) {
    (void)user;
    int64_t h = b->out_shape[0], w = b->out_shape[1];
    for (size_t k = 0; k < b->count; k++) {
        float *out = b->out[k];
        int64_t y0 = b->index[2 * k] * h, x0 = b->index[2 * k + 1] * w;
        for (int64_t y = 0; y < h; y++)
            for (int64_t x = 0; x < w; x++)
                out[y * w + x] = bench_field(y0 + y, x0 + x);
    }
    return 0;
}
