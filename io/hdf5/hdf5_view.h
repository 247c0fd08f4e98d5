/* A stored tensor's view for generic viewers (io/FORMAT.md, "Group view"): group
 * /tensors/<id>/view holding "data", an HDF5 virtual dataset over the bounding box of the
 * computed chunks of /tensors/<id>/data, and one dimension scale "dim<d>" of pixel
 * coordinates per dimension. The writer rebuilds it in the commit that changes the box, so
 * h5py, silx, h5topng, netCDF and xarray see a finite array of what was computed, with its
 * coordinates, where "data" has the whole storable extent. The library reads none of it but
 * its box. Callers hold the store's lock. */
#ifndef ITI_HDF5_VIEW_H
#define ITI_HDF5_VIEW_H

#include <stdbool.h>
#include <stdint.h>

#include <hdf5.h>

#include "infinite_tensor/types.h"

struct h5_tensor;

/* No view is kept of a box wider than this along a dimension: its coordinates would outweigh
 * what they describe (computed chunks far apart), and no viewer shows such an array whole. */
#define ITI_H5_VIEW_MAX_PIXELS ((int64_t)1 << 24)

/* The view a tensor's file holds, as last read or written. */
typedef struct iti_h5_view {
    bool known;                   /* start and count describe the file's view */
    int64_t start[IT_MAX_RANK];   /* pixel of view index 0 */
    int64_t count[IT_MAX_RANK];   /* the view's dims (all 0: no view) */
    hid_t group, data, scale[IT_MAX_RANK]; /* kept open once written (0: closed) */
} iti_h5_view;

/* Reads the box of the tensor's view from the file; a view that is missing or not as written
 * here leaves it unknown (the next refresh rebuilds it). Never fails. */
void iti_h5_view_open(struct h5_tensor *ht);

/* Rebuilds the view when the computed chunks' bounding box differs from it (nothing to do for
 * a tensor without chunks; a box too wide removes it). Runs inside a flush, before the
 * commit. */
int iti_h5_view_refresh(struct h5_tensor *ht);

/* Closes the handles the view keeps (with the tensor's other objects). */
void iti_h5_view_close(struct h5_tensor *ht);

/* After H5Ocopy of a tensor's group into another file (compaction): HDF5 does not carry over
 * the object references of variable-length attributes, so the view's dimension scales
 * (DIMENSION_LIST, REFERENCE_LIST) are attached again. Nothing to do without a view. */
int iti_h5_view_reattach(hid_t tensor_group);

#endif
