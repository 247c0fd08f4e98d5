/* The blends that keep nothing but the accumulator: sum (integers wrap), max, min, and replace
 * (the last window blended wins). */
#include <math.h>
#include <string.h>

#include "blend/blend.h"

#define PLAIN_KERNELS(NAME, E, T, U, ADD, D)                                                    \
    static int sum_##NAME(const iti_blend_span *s) {                                        \
        T *a = (T *)s->acc + s->at;                                                          \
        const T *b = s->in;                                                                  \
        for (size_t i = 0; i < s->n; i++)                                                    \
            a[i] = ADD(T, U, a[i], b[i]);                                                    \
        return 0;                                                                            \
    }                                                                                        \
    static int max_##NAME(const iti_blend_span *s) {                                        \
        T *a = (T *)s->acc + s->at;                                                          \
        const T *b = s->in;                                                                  \
        for (size_t i = 0; i < s->n; i++)                                                    \
            a[i] = b[i] > a[i] ? b[i] : a[i];                                                \
        return 0;                                                                            \
    }                                                                                        \
    static int min_##NAME(const iti_blend_span *s) {                                        \
        T *a = (T *)s->acc + s->at;                                                          \
        const T *b = s->in;                                                                  \
        for (size_t i = 0; i < s->n; i++)                                                    \
            a[i] = b[i] < a[i] ? b[i] : a[i];                                                \
        return 0;                                                                            \
    }                                                                                        \
    static int replace_##NAME(const iti_blend_span *s) {                                    \
        memcpy((T *)s->acc + s->at, s->in, s->n * sizeof(T));                               \
        return 0;                                                                            \
    }
ITI_BLEND_FOR_DTYPES(PLAIN_KERNELS)

/* A sum over blend_init 0 is the window. */
static bool sum_single(it_dtype dtype, double init, const void *fill) {
    static const unsigned char zero[8];
    (void)init;
    return memcmp(fill, zero, it_dtype_size(dtype)) == 0;
}

/* A max over -inf (a min over +inf) is the window: floats only. */
static bool max_single(it_dtype dtype, double init, const void *fill) {
    (void)fill;
    return (dtype == IT_F32 || dtype == IT_F64) && isinf(init) && init < 0;
}

static bool min_single(it_dtype dtype, double init, const void *fill) {
    (void)fill;
    return (dtype == IT_F32 || dtype == IT_F64) && isinf(init) && init > 0;
}

static bool always(it_dtype dtype, double init, const void *fill) {
    (void)dtype, (void)init, (void)fill;
    return true;
}

const iti_blend_kind iti_blend_sum = {.id = IT_BLEND_SUM, .name = "sum",
                                      .single_window_final = sum_single,
                                      .row = ITI_BLEND_ROWS(sum)};
const iti_blend_kind iti_blend_max = {.id = IT_BLEND_MAX, .name = "max",
                                      .single_window_final = max_single,
                                      .row = ITI_BLEND_ROWS(max)};
const iti_blend_kind iti_blend_min = {.id = IT_BLEND_MIN, .name = "min",
                                      .single_window_final = min_single,
                                      .row = ITI_BLEND_ROWS(min)};
const iti_blend_kind iti_blend_replace = {.id = IT_BLEND_REPLACE, .name = "replace",
                                          .single_window_final = always,
                                          .row = ITI_BLEND_ROWS(replace)};
