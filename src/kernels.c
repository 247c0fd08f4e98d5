#include <math.h>
#include <string.h>

#include "kernels.h"

/* Integer sums wrap (computed in the unsigned type: no undefined behaviour). */
#define ADD_INT(T, U) ((T)((U)a[i] + (U)b[i]))
#define ADD_FLT(T, U) (a[i] + b[i])

#define DEFINE_KERNELS(NAME, T, U, ADD, D)                                                      \
    static void sum_##NAME(void *acc, const void *in, uint32_t *cnt, size_t n) {            \
        (void)cnt;                                                                           \
        T *a = acc;                                                                          \
        const T *b = in;                                                                     \
        for (size_t i = 0; i < n; i++)                                                       \
            a[i] = ADD(T, U);                                                                \
    }                                                                                        \
    static void max_##NAME(void *acc, const void *in, uint32_t *cnt, size_t n) {            \
        (void)cnt;                                                                           \
        T *a = acc;                                                                          \
        const T *b = in;                                                                     \
        for (size_t i = 0; i < n; i++)                                                       \
            a[i] = b[i] > a[i] ? b[i] : a[i];                                                \
    }                                                                                        \
    static void min_##NAME(void *acc, const void *in, uint32_t *cnt, size_t n) {            \
        (void)cnt;                                                                           \
        T *a = acc;                                                                          \
        const T *b = in;                                                                     \
        for (size_t i = 0; i < n; i++)                                                       \
            a[i] = b[i] < a[i] ? b[i] : a[i];                                                \
    }                                                                                        \
    static void mean_##NAME(void *acc, const void *in, uint32_t *cnt, size_t n) {           \
        T *a = acc;                                                                          \
        const T *b = in;                                                                     \
        for (size_t i = 0; i < n; i++) {                                                     \
            a[i] = ADD(T, U);                                                                \
            cnt[i]++;                                                                        \
        }                                                                                    \
    }                                                                                        \
    static void finish_##NAME(void *acc, const uint32_t *cnt, size_t n, const void *init) { \
        T *a = acc;                                                                          \
        T v;                                                                                 \
        memcpy(&v, init, sizeof v);                                                          \
        for (size_t i = 0; i < n; i++)                                                       \
            a[i] = cnt[i] ? (T)((D)a[i] / (D)cnt[i]) : v;                                     \
    }

DEFINE_KERNELS(f32, float, float, ADD_FLT, float)
DEFINE_KERNELS(f64, double, double, ADD_FLT, double)
DEFINE_KERNELS(i8, int8_t, uint8_t, ADD_INT, int64_t)
DEFINE_KERNELS(i16, int16_t, uint16_t, ADD_INT, int64_t)
DEFINE_KERNELS(i32, int32_t, uint32_t, ADD_INT, int64_t)
DEFINE_KERNELS(i64, int64_t, uint64_t, ADD_INT, int64_t)
DEFINE_KERNELS(u8, uint8_t, uint8_t, ADD_INT, uint64_t)
DEFINE_KERNELS(u16, uint16_t, uint16_t, ADD_INT, uint64_t)
DEFINE_KERNELS(u32, uint32_t, uint32_t, ADD_INT, uint64_t)
DEFINE_KERNELS(u64, uint64_t, uint64_t, ADD_INT, uint64_t)

/* ---- weighted blend ---------------------------------------------------------------------- */

#define DEFINE_WEIGHTED(NAME, T)                                                            \
    static void weighted_##NAME(double *acc, double *wsum, const void *in, size_t n,        \
                                double scale, const double *f, double floor) {              \
        const T *b = in;                                                                     \
        for (size_t i = 0; i < n; i++) {                                                     \
            double w = scale * f[i];                                                         \
            w = w < floor ? floor : w;                                                       \
            acc[i] += w * (double)b[i];                                                      \
            wsum[i] += w;                                                                    \
        }                                                                                    \
    }

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

DEFINE_WEIGHTED(f32, float)
DEFINE_WEIGHTED(f64, double)
DEFINE_WEIGHTED(i8, int8_t)
DEFINE_WEIGHTED(i16, int16_t)
DEFINE_WEIGHTED(i32, int32_t)
DEFINE_WEIGHTED(i64, int64_t)
DEFINE_WEIGHTED(u8, uint8_t)
DEFINE_WEIGHTED(u16, uint16_t)
DEFINE_WEIGHTED(u32, uint32_t)
DEFINE_WEIGHTED(u64, uint64_t)
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

typedef void (*weighted_finish_fn)(void *, const double *, const double *, size_t, const void *);
static const struct {
    iti_weighted_row_fn row;
    weighted_finish_fn finish;
} weighted[IT_DTYPE_COUNT] = {
    [IT_F32] = {weighted_f32, wfinish_f32}, [IT_F64] = {weighted_f64, wfinish_f64},
    [IT_I8] = {weighted_i8, wfinish_i8},    [IT_I16] = {weighted_i16, wfinish_i16},
    [IT_I32] = {weighted_i32, wfinish_i32}, [IT_I64] = {weighted_i64, wfinish_i64},
    [IT_U8] = {weighted_u8, wfinish_u8},    [IT_U16] = {weighted_u16, wfinish_u16},
    [IT_U32] = {weighted_u32, wfinish_u32}, [IT_U64] = {weighted_u64, wfinish_u64},
};

iti_weighted_row_fn iti_weighted_row(it_dtype dtype) { return weighted[dtype].row; }

void iti_weighted_finish(it_dtype dtype, void *out, const double *acc, const double *wsum,
                         size_t n, const void *init) {
    weighted[dtype].finish(out, acc, wsum, n, init);
}

/* ---- conversion --------------------------------------------------------------------------- */

#define TO_DOUBLE(T)                                                                          \
    for (size_t i = 0; i < n; i++)                                                           \
        dst[i] = (double)((const T *)src)[i];                                                \
    break

void iti_dtype_to_double(it_dtype dtype, const void *src, size_t n, double *dst) {
    switch (dtype) {
    case IT_F32: TO_DOUBLE(float);
    case IT_F64: TO_DOUBLE(double);
    case IT_I8: TO_DOUBLE(int8_t);
    case IT_I16: TO_DOUBLE(int16_t);
    case IT_I32: TO_DOUBLE(int32_t);
    case IT_I64: TO_DOUBLE(int64_t);
    case IT_U8: TO_DOUBLE(uint8_t);
    case IT_U16: TO_DOUBLE(uint16_t);
    case IT_U32: TO_DOUBLE(uint32_t);
    default: TO_DOUBLE(uint64_t);
    }
}

/* ---- replace ------------------------------------------------------------------------------ */

static void replace_row(void *acc, const void *in, uint32_t *cnt, size_t n, size_t esize) {
    (void)cnt;
    memcpy(acc, in, n * esize);
}
#define REPLACE(N, S)                                                         \
    static void replace_##N(void *acc, const void *in, uint32_t *cnt, size_t n) { \
        replace_row(acc, in, cnt, n, S);                                      \
    }
REPLACE(1, 1)
REPLACE(2, 2)
REPLACE(4, 4)
REPLACE(8, 8)

#define ROW(NAME) {sum_##NAME, max_##NAME, min_##NAME, mean_##NAME}
static const iti_row_blend_fn table[IT_DTYPE_COUNT][4] = {
    [IT_F32] = ROW(f32), [IT_F64] = ROW(f64), [IT_I8] = ROW(i8),   [IT_I16] = ROW(i16),
    [IT_I32] = ROW(i32), [IT_I64] = ROW(i64), [IT_U8] = ROW(u8),   [IT_U16] = ROW(u16),
    [IT_U32] = ROW(u32), [IT_U64] = ROW(u64),
};

iti_row_blend_fn iti_row_blend(it_blend blend, it_dtype dtype) {
    switch (blend) {
    case IT_BLEND_SUM: return table[dtype][0];
    case IT_BLEND_MAX: return table[dtype][1];
    case IT_BLEND_MIN: return table[dtype][2];
    case IT_BLEND_MEAN: return table[dtype][3];
    case IT_BLEND_REPLACE:
        switch (it_dtype_size(dtype)) {
        case 1: return replace_1;
        case 2: return replace_2;
        case 4: return replace_4;
        default: return replace_8;
        }
    default: return NULL;
    }
}

void iti_mean_finish(it_dtype dtype, void *acc, const uint32_t *cnt, size_t n, const void *init) {
    switch (dtype) {
    case IT_F32: finish_f32(acc, cnt, n, init); break;
    case IT_F64: finish_f64(acc, cnt, n, init); break;
    case IT_I8: finish_i8(acc, cnt, n, init); break;
    case IT_I16: finish_i16(acc, cnt, n, init); break;
    case IT_I32: finish_i32(acc, cnt, n, init); break;
    case IT_I64: finish_i64(acc, cnt, n, init); break;
    case IT_U8: finish_u8(acc, cnt, n, init); break;
    case IT_U16: finish_u16(acc, cnt, n, init); break;
    case IT_U32: finish_u32(acc, cnt, n, init); break;
    default: finish_u64(acc, cnt, n, init); break;
    }
}

void iti_strides(const int64_t *shape, int rank, int64_t *strides) {
    int64_t s = 1;
    for (int d = rank - 1; d >= 0; d--) {
        strides[d] = s;
        s *= shape[d];
    }
}

static void copy_row(char *dst, int64_t ds, const char *src, int64_t ss, int64_t n,
                     size_t esize) {
    if (ds == 1 && ss == 1) {
        memcpy(dst, src, (size_t)n * esize);
        return;
    }
    size_t db = (size_t)ds * esize, sb = (size_t)ss * esize;
    switch (esize) {
    case 4:
        for (int64_t i = 0; i < n; i++, dst += db, src += sb)
            memcpy(dst, src, 4);
        break;
    case 8:
        for (int64_t i = 0; i < n; i++, dst += db, src += sb)
            memcpy(dst, src, 8);
        break;
    default:
        for (int64_t i = 0; i < n; i++, dst += db, src += sb)
            memcpy(dst, src, esize);
    }
}

void iti_copy_nd(void *dst, const int64_t *dstride, const void *src, const int64_t *sstride,
                const int64_t *extent, int rank, size_t esize) {
    for (int d = 0; d < rank; d++)
        if (extent[d] <= 0)
            return;
    int last = rank - 1;
    int64_t idx[IT_MAX_RANK] = {0};
    for (;;) {
        int64_t doff = 0, soff = 0;
        for (int d = 0; d < last; d++) {
            doff += idx[d] * dstride[d];
            soff += idx[d] * sstride[d];
        }
        copy_row((char *)dst + doff * (int64_t)esize, dstride[last],
                 (const char *)src + soff * (int64_t)esize, sstride[last], extent[last], esize);
        int d = last - 1;
        while (d >= 0 && ++idx[d] == extent[d])
            idx[d--] = 0;
        if (d < 0)
            return;
    }
}
