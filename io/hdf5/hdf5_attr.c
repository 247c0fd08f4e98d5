#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "hdf5/hdf5_attr.h"

static herr_t innermost(unsigned n, const H5E_error2_t *e, void *data) {
    char *buf = data;
    if (n == 0)
        snprintf(buf, 256, "%s (%s)", e->desc ? e->desc : "", e->func_name ? e->func_name : "");
    return 0;
}

int iti_h5_error(int code, const char *what) {
    char detail[256] = "";
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost, detail);
    H5Eclear2(H5E_DEFAULT);
    return iti_error(code, "%s%s%s", what, detail[0] ? ": HDF5: " : "", detail);
}

/* Replaces attribute name with one of file_type over space, written from buf of mem_type. */
static int write_typed(hid_t obj, const char *name, hid_t file_type, hid_t mem_type, hid_t space,
                       const void *buf) {
    if (H5Aexists(obj, name) > 0 && H5Adelete(obj, name) < 0)
        return iti_h5_error(IT_EIO, name);
    hid_t a = H5Acreate2(obj, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = a < 0 ? -1 : H5Awrite(a, mem_type, buf);
    if (a >= 0)
        H5Aclose(a);
    return rc < 0 ? iti_h5_error(IT_EIO, name) : 0;
}

static int write_attr(hid_t obj, const char *name, hid_t type, hid_t space, const void *buf) {
    return write_typed(obj, name, type, type, space, buf);
}

int iti_h5_write_value(hid_t obj, const char *name, hid_t file_type, hid_t mem_type,
                       const void *v) {
    hid_t sp = H5Screate(H5S_SCALAR);
    int rc = write_typed(obj, name, file_type, mem_type, sp, v);
    H5Sclose(sp);
    return rc;
}

static int write_array(hid_t obj, const char *name, hid_t type, const void *v, size_t n) {
    hsize_t dims = n;
    hid_t sp = H5Screate_simple(1, &dims, NULL);
    int rc = write_attr(obj, name, type, sp, v);
    H5Sclose(sp);
    return rc;
}

int iti_h5_write_i64(hid_t obj, const char *name, const int64_t *v, size_t n) {
    return write_array(obj, name, H5T_NATIVE_INT64, v, n);
}

int iti_h5_write_f64(hid_t obj, const char *name, double v) {
    return iti_h5_write_value(obj, name, H5T_NATIVE_DOUBLE, H5T_NATIVE_DOUBLE, &v);
}

int iti_h5_write_f64s(hid_t obj, const char *name, const double *v, size_t n) {
    return write_array(obj, name, H5T_NATIVE_DOUBLE, v, n);
}

/* Fixed-length, null-terminated UTF-8 strings: readers never need HDF5's global heap, whose
 * 1.10 reader trusts the file (see hdf5_guard.h). */
static hid_t fixed_str(size_t len) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, len ? len : 1);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    H5Tset_cset(t, H5T_CSET_UTF8);
    return t;
}

int iti_h5_write_str(hid_t obj, const char *name, const char *s) {
    hid_t t = fixed_str(strlen(s) + 1), sp = H5Screate(H5S_SCALAR);
    int rc = write_attr(obj, name, t, sp, s);
    H5Sclose(sp);
    H5Tclose(t);
    return rc;
}

int iti_h5_write_vlen_str(hid_t obj, const char *name, const char *s) {
    hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate(H5S_SCALAR);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    int rc = write_attr(obj, name, t, sp, &s);
    H5Sclose(sp);
    H5Tclose(t);
    return rc;
}

int iti_h5_write_strs(hid_t obj, const char *name, const char *const *s, size_t n) {
    static const char *const none[1] = {""};
    if (n == 0) { /* stored as one "" (an attribute cannot be empty in the earliest format) */
        s = none;
        n = 1;
    }
    size_t width = 1;
    for (size_t i = 0; i < n; i++)
        if (strlen(s[i]) + 1 > width)
            width = strlen(s[i]) + 1;
    char *packed = calloc(n, width);
    if (!packed)
        return iti_error(IT_ENOMEM, "out of memory writing attribute \"%s\"", name);
    for (size_t i = 0; i < n; i++)
        memcpy(packed + i * width, s[i], strlen(s[i]));
    hsize_t dims = n;
    hid_t t = fixed_str(width), sp = H5Screate_simple(1, &dims, NULL);
    int rc = write_attr(obj, name, t, sp, packed);
    H5Sclose(sp);
    H5Tclose(t);
    free(packed);
    return rc;
}

/* ---- reading: every attribute is checked before HDF5 converts it -------------------------- */

typedef struct attr_view {
    hid_t attr, type, space;
    H5T_class_t cls;
    size_t tsize;
    hssize_t count;
    bool vlen;
} attr_view;

static void view_close(attr_view *v) {
    if (v->space >= 0)
        H5Sclose(v->space);
    if (v->type >= 0)
        H5Tclose(v->type);
    if (v->attr >= 0)
        H5Aclose(v->attr);
}

#define CLASS_BIT(c) (1u << (unsigned)(c))
#define NUMERIC (CLASS_BIT(H5T_INTEGER) | CLASS_BIT(H5T_FLOAT))
#define STRING CLASS_BIT(H5T_STRING)

/* Opens attribute name and checks that it is a scalar or 1-D attribute of at most
 * ITI_H5_ATTR_MAX_ELEMS elements, of one of the classes (CLASS_BIT mask), whose stored bytes
 * match its declared size. */
static int view_open(hid_t obj, const char *name, unsigned classes, attr_view *v) {
    *v = (attr_view){.attr = -1, .type = -1, .space = -1};
    htri_t ex = H5Aexists(obj, name);
    if (ex <= 0)
        return ex < 0 ? iti_h5_error(IT_EFORMAT, name)
                      : iti_error(IT_EFORMAT, "attribute \"%s\" is missing", name);
    v->attr = H5Aopen(obj, name, H5P_DEFAULT);
    if (v->attr < 0)
        return iti_h5_error(IT_EFORMAT, name);
    v->type = H5Aget_type(v->attr);
    v->space = H5Aget_space(v->attr);
    if (v->type < 0 || v->space < 0)
        return iti_h5_error(IT_EFORMAT, name);
    H5S_class_t sc = H5Sget_simple_extent_type(v->space);
    int nd = H5Sget_simple_extent_ndims(v->space);
    v->count = H5Sget_simple_extent_npoints(v->space);
    if ((sc != H5S_SCALAR && sc != H5S_SIMPLE) || nd < 0 || nd > 1 || v->count < 0 ||
        v->count > ITI_H5_ATTR_MAX_ELEMS)
        return iti_error(IT_EFORMAT, "attribute \"%s\" has an unexpected shape", name);
    v->cls = H5Tget_class(v->type);
    v->tsize = H5Tget_size(v->type);
    if (v->cls < 0 || v->cls >= 32 || !(classes & CLASS_BIT(v->cls)))
        return iti_error(IT_EFORMAT, "attribute \"%s\" is not %s", name,
                        classes == STRING ? "a string" : classes == NUMERIC ? "numeric"
                                                                            : "of a known type");
    v->vlen = v->cls == H5T_STRING && H5Tis_variable_str(v->type) > 0;
    if (v->tsize == 0 || v->tsize > ITI_H5_STR_MAX + 1)
        return iti_error(IT_EFORMAT, "attribute \"%s\" has elements of %zu bytes", name, v->tsize);
    /* The bytes stored must be what the type and extent declare (a crafted attribute that
     * declares more makes HDF5 copy past its buffer); variable-length strings store a heap
     * reference per element. */
    hsize_t stored = H5Aget_storage_size(v->attr);
    if (!v->vlen && v->count > 0 && stored != (hsize_t)v->count * v->tsize)
        return iti_error(IT_EFORMAT, "attribute \"%s\" stores %llu bytes for %lld elements of %zu",
                        name, (unsigned long long)stored, (long long)v->count, v->tsize);
    return 0;
}

int64_t iti_h5_attr_len(hid_t obj, const char *name) {
    attr_view v;
    int rc = view_open(obj, name, NUMERIC | STRING, &v);
    int64_t n = rc ? rc : (int64_t)v.count;
    view_close(&v);
    return n;
}

static int read_numeric(hid_t obj, const char *name, hid_t mem, void *out, size_t n) {
    attr_view v;
    int rc = view_open(obj, name, NUMERIC, &v);
    if (rc == 0 && v.tsize > 8)
        rc = iti_error(IT_EFORMAT, "attribute \"%s\" has %zu-byte numbers", name, v.tsize);
    if (rc == 0 && v.count != (hssize_t)n)
        rc = iti_error(IT_EFORMAT, "attribute \"%s\" has %lld elements, expected %zu", name,
                      (long long)v.count, n);
    if (rc == 0 && H5Aread(v.attr, mem, out) < 0)
        rc = iti_h5_error(IT_EFORMAT, name);
    view_close(&v);
    return rc;
}

int iti_h5_read_i64(hid_t obj, const char *name, int64_t *v, size_t n) {
    return read_numeric(obj, name, H5T_NATIVE_INT64, v, n);
}

int iti_h5_read_f64(hid_t obj, const char *name, double *v) {
    return read_numeric(obj, name, H5T_NATIVE_DOUBLE, v, 1);
}

int iti_h5_read_f64s(hid_t obj, const char *name, double *v, size_t n) {
    return read_numeric(obj, name, H5T_NATIVE_DOUBLE, v, n);
}

/* Element `index` of a variable-length string attribute (format version 1 stores only). */
static int read_vlen_str(attr_view *v, const char *name, size_t index, char *buf, size_t size) {
    char *all[ITI_H5_ATTR_MAX_ELEMS];
    hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, H5T_VARIABLE);
    H5Tset_cset(mt, H5Tget_cset(v->type));
    int rc = 0;
    if (H5Aread(v->attr, mt, all) < 0) {
        rc = iti_h5_error(IT_EFORMAT, name);
    } else {
        const char *s = all[index] ? all[index] : "";
        size_t len = strnlen(s, size);
        if (len >= size)
            rc = iti_error(IT_EFORMAT, "attribute \"%s\" is too long", name);
        else
            memcpy(buf, s, len + 1);
        H5Dvlen_reclaim(mt, v->space, H5P_DEFAULT, all);
    }
    H5Tclose(mt);
    return rc;
}

static int read_str_impl(hid_t obj, const char *name, size_t index, bool vlen_ok, char *buf,
                         size_t size) {
    attr_view v;
    int rc = view_open(obj, name, STRING, &v);
    if (rc == 0 && (hssize_t)index >= v.count)
        rc = iti_error(IT_EFORMAT, "attribute \"%s\" has %lld strings, needed %zu", name,
                      (long long)v.count, index + 1);
    if (rc == 0 && v.vlen && !vlen_ok)
        rc = iti_error(IT_EFORMAT, "attribute \"%s\" is a variable-length string (this format "
                      "version stores fixed-length strings)", name);
    if (rc == 0 && v.vlen) {
        rc = read_vlen_str(&v, name, index, buf, size);
    } else if (rc == 0) {
        char *all = malloc((size_t)v.count * v.tsize + 1);
        if (!all)
            rc = iti_error(IT_ENOMEM, "out of memory reading attribute \"%s\"", name);
        else if (H5Aread(v.attr, v.type, all) < 0)
            rc = iti_h5_error(IT_EFORMAT, name);
        if (rc == 0) {
            const char *s = all + index * v.tsize;
            size_t len = strnlen(s, v.tsize);
            if (len >= size) {
                rc = iti_error(IT_EFORMAT, "attribute \"%s\" is too long", name);
            } else {
                memcpy(buf, s, len);
                buf[len] = 0;
            }
        }
        free(all);
    }
    view_close(&v);
    return rc;
}

int iti_h5_read_str(hid_t obj, const char *name, bool vlen_ok, char *buf, size_t size) {
    return read_str_impl(obj, name, 0, vlen_ok, buf, size);
}

int iti_h5_read_strs_at(hid_t obj, const char *name, size_t i, bool vlen_ok, char *buf,
                       size_t size) {
    return read_str_impl(obj, name, i, vlen_ok, buf, size);
}

hid_t iti_h5_mem_type(int dtype) {
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
hid_t iti_h5_file_type(int dtype) {
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

void iti_h5_quiet_begin(iti_h5_quiet *q) {
    H5Eget_auto2(H5E_DEFAULT, &q->fn, &q->data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void iti_h5_quiet_end(const iti_h5_quiet *q) { H5Eset_auto2(H5E_DEFAULT, q->fn, q->data); }
