#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hdf5_attr.h"
#include "internal.h"

static herr_t innermost(unsigned n, const H5E_error2_t *e, void *data) {
    char *buf = data;
    if (n == 0)
        snprintf(buf, 256, "%s (%s)", e->desc ? e->desc : "", e->func_name ? e->func_name : "");
    return 0;
}

int it_h5_error(int code, const char *what) {
    char detail[256] = "";
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost, detail);
    H5Eclear2(H5E_DEFAULT);
    return it_error(code, "%s%s%s", what, detail[0] ? ": HDF5: " : "", detail);
}

static int write_attr(hid_t obj, const char *name, hid_t type, hid_t space, const void *buf) {
    if (H5Aexists(obj, name) > 0 && H5Adelete(obj, name) < 0)
        return it_h5_error(IT_EIO, name);
    hid_t a = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = a < 0 ? -1 : H5Awrite(a, type, buf);
    if (a >= 0)
        H5Aclose(a);
    return rc < 0 ? it_h5_error(IT_EIO, name) : 0;
}

int it_h5_write_i64(hid_t obj, const char *name, const int64_t *v, size_t n) {
    hsize_t dims = n;
    hid_t sp = H5Screate_simple(1, &dims, NULL);
    int rc = write_attr(obj, name, H5T_NATIVE_INT64, sp, v);
    H5Sclose(sp);
    return rc;
}

int it_h5_write_f64(hid_t obj, const char *name, double v) {
    hid_t sp = H5Screate(H5S_SCALAR);
    int rc = write_attr(obj, name, H5T_NATIVE_DOUBLE, sp, &v);
    H5Sclose(sp);
    return rc;
}

static hid_t vlen_str(void) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    return t;
}

int it_h5_write_str(hid_t obj, const char *name, const char *s) {
    hid_t t = vlen_str(), sp = H5Screate(H5S_SCALAR);
    int rc = write_attr(obj, name, t, sp, &s);
    H5Sclose(sp);
    H5Tclose(t);
    return rc;
}

int it_h5_write_strs(hid_t obj, const char *name, const char *const *s, size_t n) {
    hsize_t dims = n;
    hid_t t = vlen_str(), sp = H5Screate_simple(1, &dims, NULL);
    static const char *none = "";
    int rc = write_attr(obj, name, t, sp, n ? (const void *)s : (const void *)&none);
    H5Sclose(sp);
    H5Tclose(t);
    return rc;
}

static hid_t open_attr(hid_t obj, const char *name) {
    if (H5Aexists(obj, name) <= 0) {
        it_error(IT_EFORMAT, "attribute \"%s\" is missing", name);
        return -1;
    }
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0)
        it_h5_error(IT_EFORMAT, name);
    return a;
}

int64_t it_h5_attr_len(hid_t obj, const char *name) {
    hid_t a = open_attr(obj, name);
    if (a < 0)
        return IT_EFORMAT;
    hid_t sp = H5Aget_space(a);
    hssize_t n = H5Sget_simple_extent_npoints(sp);
    H5Sclose(sp);
    H5Aclose(a);
    return n < 0 ? it_error(IT_EFORMAT, "attribute \"%s\" has no extent", name) : (int64_t)n;
}

static int read_numeric(hid_t obj, const char *name, hid_t mem, void *v, size_t n) {
    hid_t a = open_attr(obj, name);
    if (a < 0)
        return IT_EFORMAT;
    hid_t sp = H5Aget_space(a), ft = H5Aget_type(a);
    hssize_t count = H5Sget_simple_extent_npoints(sp);
    int rc = 0;
    if (H5Tget_class(ft) != H5T_INTEGER && H5Tget_class(ft) != H5T_FLOAT)
        rc = it_error(IT_EFORMAT, "attribute \"%s\" is not numeric", name);
    else if (count != (hssize_t)n)
        rc = it_error(IT_EFORMAT, "attribute \"%s\" has %lld elements, expected %zu", name,
                      (long long)count, n);
    else if (H5Aread(a, mem, v) < 0)
        rc = it_h5_error(IT_EFORMAT, name);
    H5Tclose(ft);
    H5Sclose(sp);
    H5Aclose(a);
    return rc;
}

int it_h5_read_i64(hid_t obj, const char *name, int64_t *v, size_t n) {
    return read_numeric(obj, name, H5T_NATIVE_INT64, v, n);
}

int it_h5_read_f64(hid_t obj, const char *name, double *v) {
    return read_numeric(obj, name, H5T_NATIVE_DOUBLE, v, 1);
}

static int read_str_impl(hid_t obj, const char *name, size_t index, char *buf, size_t size) {
    hid_t a = open_attr(obj, name);
    if (a < 0)
        return IT_EFORMAT;
    hid_t ft = H5Aget_type(a), sp = H5Aget_space(a);
    hssize_t count = H5Sget_simple_extent_npoints(sp);
    int rc = 0;
    if (H5Tget_class(ft) != H5T_STRING || !H5Tis_variable_str(ft)) {
        rc = it_error(IT_EFORMAT, "attribute \"%s\" is not a variable-length string", name);
    } else if (count < 1 || (hssize_t)index >= count) {
        rc = it_error(IT_EFORMAT, "attribute \"%s\" has %lld strings, needed %zu", name,
                      (long long)count, index + 1);
    } else {
        char *all[64];
        char **v = count <= 64 ? all : malloc((size_t)count * sizeof *v);
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5Tget_cset(ft));
        if (!v || H5Aread(a, mt, v) < 0) {
            rc = v ? it_h5_error(IT_EFORMAT, name) : it_error(IT_ENOMEM, "out of memory");
        } else {
            const char *s = v[index] ? v[index] : "";
            if (strlen(s) >= size)
                rc = it_error(IT_EFORMAT, "attribute \"%s\" is too long", name);
            else
                memcpy(buf, s, strlen(s) + 1);
            H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, v);
        }
        H5Tclose(mt);
        if (v != all)
            free(v);
    }
    H5Sclose(sp);
    H5Tclose(ft);
    H5Aclose(a);
    return rc;
}

int it_h5_read_str(hid_t obj, const char *name, char *buf, size_t size) {
    return read_str_impl(obj, name, 0, buf, size);
}

int it_h5_read_strs_at(hid_t obj, const char *name, size_t i, char *buf, size_t size) {
    return read_str_impl(obj, name, i, buf, size);
}

hid_t it_h5_mem_type(int dtype) {
    switch ((it_dtype)dtype) {
    case IT_F32: return H5T_NATIVE_FLOAT;
    case IT_F64: return H5T_NATIVE_DOUBLE;
    case IT_I8: return H5T_NATIVE_INT8;
    case IT_I16: return H5T_NATIVE_INT16;
    case IT_I32: return H5T_NATIVE_INT32;
    case IT_I64: return H5T_NATIVE_INT64;
    case IT_U8: return H5T_NATIVE_UINT8;
    case IT_U16: return H5T_NATIVE_UINT16;
    case IT_U32: return H5T_NATIVE_UINT32;
    default: return H5T_NATIVE_UINT64;
    }
}

/* Chunks go to files in native (little-endian) byte order, so direct chunk writes need no
 * conversion. */
hid_t it_h5_file_type(int dtype) {
    switch ((it_dtype)dtype) {
    case IT_F32: return H5T_IEEE_F32LE;
    case IT_F64: return H5T_IEEE_F64LE;
    case IT_I8: return H5T_STD_I8LE;
    case IT_I16: return H5T_STD_I16LE;
    case IT_I32: return H5T_STD_I32LE;
    case IT_I64: return H5T_STD_I64LE;
    case IT_U8: return H5T_STD_U8LE;
    case IT_U16: return H5T_STD_U16LE;
    case IT_U32: return H5T_STD_U32LE;
    default: return H5T_STD_U64LE;
    }
}

void it_h5_quiet_begin(it_h5_quiet *q) {
    H5Eget_auto2(H5E_DEFAULT, &q->fn, &q->data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void it_h5_quiet_end(const it_h5_quiet *q) { H5Eset_auto2(H5E_DEFAULT, q->fn, q->data); }
