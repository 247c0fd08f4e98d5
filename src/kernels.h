/* Inner loops: strided n-d copies and conversions (the blends' are in blend/). */
#ifndef ITI_KERNELS_H
#define ITI_KERNELS_H

#include "internal.h"

/* dst[i] = element i of src (n elements of dtype), as double. */
void iti_dtype_to_double(it_dtype dtype, const void *src, size_t n, double *dst);

/* Copies an n-d box: extent[d] elements along each of `rank` dimensions, from src (element
 * strides sstride) to dst (element strides dstride). */
void iti_copy_nd(void *dst, const int64_t *dstride, const void *src, const int64_t *sstride,
                const int64_t *extent, int rank, size_t esize);

/* C-order element strides of a shape. */
void iti_strides(const int64_t *shape, int rank, int64_t *strides);

#endif
