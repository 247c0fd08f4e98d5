/* The weighted blend (it_weight_profile, tensor.h): every window row adds weight * value and
 * the weight to two double sums per pixel (the scratch: sums of weight * value, then sums of
 * weights, as two planes of the chunk's pixels), and the result is their quotient in the
 * tensor's dtype. The weights come from the tensor's resolved profile (weights.h). The sums
 * are exact IEEE double arithmetic without fused multiply-adds (CMakeLists.txt), so results are
 * the same bits on every platform. */
#include <math.h>
#include <string.h>

#include "blend/blend.h"

#define WEIGHTED_KERNEL(NAME, E, T, U, ADD, D)                                               \
    static int weighted_##NAME(const iti_blend_span *s) {                                   \
        double *acc = (double *)s->scratch + s->at, *wsum = acc + s->chunk_elems;            \
        const T *b = s->in;                                                                  \
        const double *f = s->f, scale = s->scale, floor = s->floor;                          \
        for (size_t i = 0; i < s->n; i++) {                                                  \
            double w = scale * f[i];                                                         \
            w = w < floor ? floor : w;                                                       \
            acc[i] += w * (double)b[i];                                                      \
            wsum[i] += w;                                                                    \
        }                                                                                    \
        return 0;                                                                            \
    }
ITI_BLEND_FOR_DTYPES(WEIGHTED_KERNEL)

/* Rounds half away from zero and clamps into [LO, HI] (bounds exact in double: the integer
 * types' limits, or 2^63 and 2^64 just above the 64-bit ones, which saturate). A NaN (weight
 * sums that overflowed double: inf / inf) cannot be converted and yields blend_init. */
#define DEFINE_FINISH_INT(NAME, T, LO, HI, MAXV)                                             \
    static void wfinish_##NAME(void *out, const double *acc, const double *wsum, size_t n,  \
                               const void *init) {                                           \
        T *o = out, v0;                                                                      \
        memcpy(&v0, init, sizeof v0);                                                        \
        for (size_t i = 0; i < n; i++) {                                                     \
            if (!(wsum[i] > 0)) {                                                            \
                o[i] = v0;                                                                   \
                continue;                                                                    \
            }                                                                                \
            double r = round(acc[i] / wsum[i]);                                              \
            o[i] = r != r ? v0 : r <= (LO) ? (T)(LO) : r >= (HI) ? (MAXV) : (T)r;            \
        }                                                                                    \
    }
#define DEFINE_FINISH_FLT(NAME, T)                                                          \
    static void wfinish_##NAME(void *out, const double *acc, const double *wsum, size_t n,  \
                               const void *init) {                                           \
        T *o = out, v0;                                                                      \
        memcpy(&v0, init, sizeof v0);                                                        \
        for (size_t i = 0; i < n; i++)                                                       \
            o[i] = wsum[i] > 0 ? (T)(acc[i] / wsum[i]) : v0;                                 \
    }

DEFINE_FINISH_FLT(f32, float)
DEFINE_FINISH_FLT(f64, double)
DEFINE_FINISH_INT(i8, int8_t, -128.0, 127.0, INT8_MAX)
DEFINE_FINISH_INT(i16, int16_t, -32768.0, 32767.0, INT16_MAX)
DEFINE_FINISH_INT(i32, int32_t, -2147483648.0, 2147483647.0, INT32_MAX)
DEFINE_FINISH_INT(i64, int64_t, -9223372036854775808.0, 9223372036854775808.0, INT64_MAX)
DEFINE_FINISH_INT(u8, uint8_t, 0.0, 255.0, UINT8_MAX)
DEFINE_FINISH_INT(u16, uint16_t, 0.0, 65535.0, UINT16_MAX)
DEFINE_FINISH_INT(u32, uint32_t, 0.0, 4294967295.0, UINT32_MAX)
DEFINE_FINISH_INT(u64, uint64_t, 0.0, 18446744073709551616.0, UINT64_MAX)


static void weighted_finish(it_dtype dtype, void *out, void *scratch, size_t n, const void *init) {
    const double *acc = scratch, *wsum = acc + n;
    switch (dtype) {
#define FINISH_CASE(NAME, E, T, U, ADD, D)                                                   \
    case E: wfinish_##NAME(out, acc, wsum, n, init); break;
        ITI_BLEND_FOR_DTYPES(FINISH_CASE)
#undef FINISH_CASE
    default: break;
    }
}

const iti_blend_kind iti_blend_weighted = {
    .id = IT_BLEND_WEIGHTED, .name = "weighted", .scratch_bytes = 2 * sizeof(double),
    .acc_start = ITI_ACC_UNSET, .takes_weights = true, .row = ITI_BLEND_ROWS(weighted),
    .finish = weighted_finish,
};
