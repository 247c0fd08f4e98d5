/* Element types: sizes, names, and typed values from doubles. */
#include <math.h>
#include <string.h>

#include "dtype.h"

static const struct {
    const char *name;
    size_t size;
} dtypes[IT_DTYPE_COUNT] = {
    [IT_F32] = {"f32", 4}, [IT_F64] = {"f64", 8}, [IT_I8] = {"i8", 1},   [IT_I16] = {"i16", 2},
    [IT_I32] = {"i32", 4}, [IT_I64] = {"i64", 8}, [IT_U8] = {"u8", 1},   [IT_U16] = {"u16", 2},
    [IT_U32] = {"u32", 4}, [IT_U64] = {"u64", 8},
};

static bool valid(it_dtype t) { return (unsigned)t < IT_DTYPE_COUNT; }

size_t it_dtype_size(it_dtype dtype) { return valid(dtype) ? dtypes[dtype].size : 0; }

const char *it_dtype_name(it_dtype dtype) { return valid(dtype) ? dtypes[dtype].name : NULL; }

int it_dtype_parse(const char *name, it_dtype *out) {
    if (!name || !out)
        return iti_error(IT_EINVAL, "it_dtype_parse: NULL argument");
    for (int t = 0; t < IT_DTYPE_COUNT; t++) {
        if (strcmp(name, dtypes[t].name) == 0) {
            *out = (it_dtype)t;
            return 0;
        }
    }
    return iti_error(IT_EINVAL, "it_dtype_parse: unknown dtype \"%s\"", name);
}

double it_dtype_load(it_dtype t, const void *buf, size_t i) {
    switch (t) {
    case IT_F32: return ((const float *)buf)[i];
    case IT_F64: return ((const double *)buf)[i];
    case IT_I8: return ((const int8_t *)buf)[i];
    case IT_I16: return ((const int16_t *)buf)[i];
    case IT_I32: return ((const int32_t *)buf)[i];
    case IT_I64: return (double)((const int64_t *)buf)[i];
    case IT_U8: return ((const uint8_t *)buf)[i];
    case IT_U16: return ((const uint16_t *)buf)[i];
    case IT_U32: return ((const uint32_t *)buf)[i];
    default: return (double)((const uint64_t *)buf)[i];
    }
}

bool iti_dtype_is_float(it_dtype t) { return t == IT_F32 || t == IT_F64; }

int iti_dtype_from_double(it_dtype t, double v, void *out, const char *what) {
    if (iti_dtype_is_float(t)) {
        if (t == IT_F32) {
            float f = (float)v;
            memcpy(out, &f, 4);
        } else {
            memcpy(out, &v, 8);
        }
        return 0;
    }
    if (!isfinite(v))
        return iti_error(IT_EINVAL, "%s must be finite for integer dtype %s (got %g)", what,
                        it_dtype_name(t), v);
    if (v != floor(v))
        return iti_error(IT_EINVAL, "%s must be an integer for dtype %s (got %g)", what,
                        it_dtype_name(t), v);
    double lo, hi; /* hi is exclusive: the first value that does not fit */
    switch (t) {
    case IT_I8: lo = -128.0, hi = 128.0; break;
    case IT_I16: lo = -32768.0, hi = 32768.0; break;
    case IT_I32: lo = -2147483648.0, hi = 2147483648.0; break;
    case IT_I64: lo = -9223372036854775808.0, hi = 9223372036854775808.0; break;
    case IT_U8: lo = 0, hi = 256.0; break;
    case IT_U16: lo = 0, hi = 65536.0; break;
    case IT_U32: lo = 0, hi = 4294967296.0; break;
    default: lo = 0, hi = 18446744073709551616.0; break;
    }
    if (v < lo || v >= hi)
        return iti_error(IT_EINVAL, "%s %g is out of range for dtype %s", what, v,
                        it_dtype_name(t));
    switch (t) {
    case IT_I8: { int8_t x = (int8_t)v; memcpy(out, &x, 1); break; }
    case IT_I16: { int16_t x = (int16_t)v; memcpy(out, &x, 2); break; }
    case IT_I32: { int32_t x = (int32_t)v; memcpy(out, &x, 4); break; }
    case IT_I64: { int64_t x = (int64_t)v; memcpy(out, &x, 8); break; }
    case IT_U8: { uint8_t x = (uint8_t)v; memcpy(out, &x, 1); break; }
    case IT_U16: { uint16_t x = (uint16_t)v; memcpy(out, &x, 2); break; }
    case IT_U32: { uint32_t x = (uint32_t)v; memcpy(out, &x, 4); break; }
    default: { uint64_t x = (uint64_t)v; memcpy(out, &x, 8); break; }
    }
    return 0;
}

void iti_fill_pattern(void *dst, const void *value, size_t esize, size_t count) {
    unsigned char *d = dst;
    const unsigned char *v = value;
    bool zero = true;
    for (size_t i = 0; i < esize; i++)
        zero = zero && v[i] == 0;
    if (zero) {
        memset(dst, 0, esize * count);
        return;
    }
    if (count == 0)
        return;
    /* Doubling copies: O(log n) memcpy calls. */
    memcpy(d, v, esize);
    size_t filled = 1;
    while (filled < count) {
        size_t n = filled < count - filled ? filled : count - filled;
        memcpy(d + filled * esize, d, n * esize);
        filled += n;
    }
}
