/* The mean blend: a sum from zero and a count per pixel, divided at the end (integers in 64
 * bits, truncating); pixels no window met are blend_init. */
#include <string.h>

#include "blend/blend.h"

#define MEAN_KERNELS(NAME, E, T, U, ADD, D)                                                     \
    static int mean_##NAME(const iti_blend_span *s) {                                       \
        T *a = (T *)s->acc + s->at;                                                          \
        uint32_t *cnt = (uint32_t *)s->scratch + s->at;                                      \
        const T *b = s->in;                                                                  \
        for (size_t i = 0; i < s->n; i++) {                                                  \
            a[i] = ADD(T, U, a[i], b[i]);                                                    \
            cnt[i]++;                                                                        \
        }                                                                                    \
        return 0;                                                                            \
    }                                                                                        \
    static void finish_##NAME(void *acc, const uint32_t *cnt, size_t n, const void *init) { \
        T *a = acc;                                                                          \
        T v;                                                                                 \
        memcpy(&v, init, sizeof v);                                                          \
        for (size_t i = 0; i < n; i++)                                                       \
            a[i] = cnt[i] ? (T)((D)a[i] / (D)cnt[i]) : v;                                     \
    }
ITI_BLEND_FOR_DTYPES(MEAN_KERNELS)

static void mean_finish(it_dtype dtype, void *acc, void *scratch, size_t n, const void *init) {
    switch (dtype) {
#define FINISH_CASE(NAME, E, T, U, ADD, D)                                                      \
    case E: finish_##NAME(acc, scratch, n, init); break;
        ITI_BLEND_FOR_DTYPES(FINISH_CASE)
#undef FINISH_CASE
    default: break;
    }
}

/* The mean of one window is the window. */
static bool single(it_dtype dtype, double init, const void *fill) {
    (void)dtype, (void)init, (void)fill;
    return true;
}

const iti_blend_kind iti_blend_mean = {
    .id = IT_BLEND_MEAN, .name = "mean", .scratch_bytes = sizeof(uint32_t),
    .acc_start = ITI_ACC_ZERO, .single_window_final = single, .row = ITI_BLEND_ROWS(mean),
    .finish = mean_finish,
};
