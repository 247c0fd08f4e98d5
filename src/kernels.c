/* Strided n-d copies and conversions (kernels.h). */
#include <math.h>
#include <string.h>

#include "kernels.h"

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
