/* The HDF5 store's tensor metadata (io/FORMAT.md, "Tensor group attributes"): one table of
 * fields, used to write a tensor's record as attributes of its group and to read it back.
 * Callers hold the HDF5 lock. */
#ifndef ITI_HDF5_SCHEMA_H
#define ITI_HDF5_SCHEMA_H

#include <hdf5.h>

#include "backend.h"

/* Writes m as attributes of group g, with origin (the pixel of dataset index 0), in the
 * table's order. */
int iti_h5_schema_write(hid_t g, const iti_tensor_meta *m, const int64_t *origin);

/* Reads the record of group g into m; every attribute is checked (class, shape, size, value
 * range) before use. Variable-length strings are accepted only with legacy (format 1).
 * IT_EFORMAT naming the attribute when one is missing or malformed. */
int iti_h5_schema_read(hid_t g, bool legacy, iti_tensor_meta *m);

#endif
