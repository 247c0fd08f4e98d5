/* Typed HDF5 attribute helpers for the store's metadata (numbers as arrays, strings as
 * fixed-length UTF-8 strings). Readers check each attribute's class, shape, element size and
 * stored size before HDF5 converts it, so a crafted attribute is an IT_EFORMAT, not a read
 * past a buffer. Callers hold the HDF5 lock. */
#ifndef ITI_HDF5_ATTR_H
#define ITI_HDF5_ATTR_H

#include <hdf5.h>
#include <stdbool.h>
#include <stdint.h>

int iti_h5_write_i64(hid_t obj, const char *name, const int64_t *v, size_t n);
int iti_h5_write_f64(hid_t obj, const char *name, double v);   /* scalar */
int iti_h5_write_f64s(hid_t obj, const char *name, const double *v, size_t n); /* 1-D */
/* A scalar of file_type from *v of mem_type (a value in the data's own type: _FillValue). */
int iti_h5_write_value(hid_t obj, const char *name, hid_t file_type, hid_t mem_type,
                       const void *v);
int iti_h5_write_str(hid_t obj, const char *name, const char *s);
/* A variable-length UTF-8 string, as h5py writes str (exports: friendlier to Python readers;
 * stores use fixed-length strings, which need no global heap to read back). */
int iti_h5_write_vlen_str(hid_t obj, const char *name, const char *s);
/* Writes a 1-D array of strings (n may be 0). */
int iti_h5_write_strs(hid_t obj, const char *name, const char *const *s, size_t n);

#define ITI_H5_ATTR_MAX_ELEMS 64  /* longest attribute the library reads (args) */
#define ITI_H5_STR_MAX 4096       /* longest string (fn_tag) */

/* Read an attribute that must have exactly n int64 elements (IT_EFORMAT otherwise). */
int iti_h5_read_i64(hid_t obj, const char *name, int64_t *v, size_t n);
int iti_h5_read_f64(hid_t obj, const char *name, double *v);
/* Reads an attribute that must have exactly n numbers, as float64. */
int iti_h5_read_f64s(hid_t obj, const char *name, double *v, size_t n);
/* Reads a string attribute into buf (IT_EFORMAT if missing, not a string, or too long).
 * Variable-length strings (format version 1 stores) are read only with vlen_ok. */
int iti_h5_read_str(hid_t obj, const char *name, bool vlen_ok, char *buf, size_t size);
/* Element count of a 1-D attribute, or a negative status. */
int64_t iti_h5_attr_len(hid_t obj, const char *name);
/* Reads element i of a 1-D string array attribute. */
int iti_h5_read_strs_at(hid_t obj, const char *name, size_t i, bool vlen_ok, char *buf,
                       size_t size);

/* Native (memory) and little-endian file HDF5 types of an element type. */
hid_t iti_h5_mem_type(int dtype);
hid_t iti_h5_file_type(int dtype);

/* Switches HDF5's automatic error printing off for the calling thread; restore with the
 * saved values. */
typedef struct iti_h5_quiet {
    H5E_auto2_t fn;
    void *data;
} iti_h5_quiet;
void iti_h5_quiet_begin(iti_h5_quiet *q);
void iti_h5_quiet_end(const iti_h5_quiet *q);

/* Sets the calling thread's message from HDF5's error stack: "<what>: <HDF5 detail>". */
int iti_h5_error(int code, const char *what);

#endif
