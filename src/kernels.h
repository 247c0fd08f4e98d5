/* Inner loops: blending one row of a window into a chunk, and strided n-d copies. */
#ifndef ITI_KERNELS_H
#define ITI_KERNELS_H

#include "internal.h"

/* Blends n elements of `in` into `acc`. cnt (MEAN and CUSTOM only, else NULL) counts the
 * windows already blended per element and is incremented. */
typedef void (*iti_row_blend_fn)(void *acc, const void *in, uint32_t *cnt, size_t n);

/* Kernel for a built-in blend (not CUSTOM) and dtype. */
iti_row_blend_fn iti_row_blend(it_blend blend, it_dtype dtype);

/* MEAN: acc[i] = cnt[i] ? acc[i] / cnt[i] : *init. */
void iti_mean_finish(it_dtype dtype, void *acc, const uint32_t *cnt, size_t n, const void *init);

/* Weighted blend: with w[i] = max(scale * f[i], floor), acc[i] += w[i] * in[i] and
 * wsum[i] += w[i] for n elements of `in` (the tensor's dtype), in double precision. */
typedef void (*iti_weighted_row_fn)(double *acc, double *wsum, const void *in, size_t n,
                                    double scale, const double *f, double floor);
iti_weighted_row_fn iti_weighted_row(it_dtype dtype);

/* Weighted blend's result: out[i] = acc[i] / wsum[i] in out's dtype (integers rounded to
 * nearest, halves away from zero, clamped to the type; NaN gives *init), or *init where
 * wsum[i] is 0. */
void iti_weighted_finish(it_dtype dtype, void *out, const double *acc, const double *wsum,
                         size_t n, const void *init);

/* dst[i] = element i of src (n elements of dtype), as double. */
void iti_dtype_to_double(it_dtype dtype, const void *src, size_t n, double *dst);

/* Copies an n-d box: extent[d] elements along each of `rank` dimensions, from src (element
 * strides sstride) to dst (element strides dstride). */
void iti_copy_nd(void *dst, const int64_t *dstride, const void *src, const int64_t *sstride,
                const int64_t *extent, int rank, size_t esize);

/* C-order element strides of a shape. */
void iti_strides(const int64_t *shape, int rank, int64_t *strides);

#endif
