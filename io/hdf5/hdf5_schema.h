/* The HDF5 store's tensor metadata (io/FORMAT.md, "Tensor group attributes"): one table of
 * fields, used to write a tensor's record as attributes of its group and to read it back.
 * Callers hold the HDF5 lock. */
#ifndef ITI_HDF5_SCHEMA_H
#define ITI_HDF5_SCHEMA_H

#include <hdf5.h>

#include "backend.h"

/* One attribute of a tensor group: its name (an argument's windows as "arg<i>_window_size"
 * and so on) and its type as io/FORMAT.md writes it ("int64[r]", "string", "f64", ...). */
typedef struct iti_h5_attr_desc {
    const char *name;
    const char *type;
} iti_h5_attr_desc;
typedef void (*iti_h5_schema_fn)(const iti_h5_attr_desc *a, void *user);

/* Calls fn for every attribute the table describes, in the order they are written. */
void iti_h5_schema_list(iti_h5_schema_fn fn, void *user);

/* Writes m as attributes of group g, with origin (the pixel of dataset index 0), in the
 * table's order. */
int iti_h5_schema_write(hid_t g, const iti_tensor_meta *m, const int64_t *origin);

/* Reads the record of group g into m; every attribute is checked (class, shape, size, value
 * range) before use. Variable-length strings are accepted only with legacy (format 1).
 * IT_EFORMAT naming the attribute when one is missing or malformed. */
int iti_h5_schema_read(hid_t g, bool legacy, iti_tensor_meta *m);

#endif
