/* A stored tensor's chunk index (io/FORMAT.md, "chunks"): the 2-D int64 dataset listing the
 * coordinates of its stored chunks, one row per chunk in the order they were stored, and the
 * set of them held in memory. Rows of chunks stored since the last flush are appended at the
 * next flush, in the same commit as the chunks (hdf5_vfd.h), so in a format-2 store the index
 * lists exactly the chunks of HDF5's chunk B-tree. Callers hold the store's lock. */
#ifndef ITI_HDF5_INDEX_H
#define ITI_HDF5_INDEX_H

#include <hdf5.h>

#include "backend.h"
#include "hdf5/driver/hdf5_vfd.h"

typedef struct iti_h5_index {
    hid_t dset;
    int rank;
    const char *id;               /* the tensor's, for messages */
    iti_coordset present;          /* chunks known stored */
    bool checked;                 /* present has been checked against the chunk B-tree */
    uint64_t stale;               /* rows dropped: outside the storable range, never written,
                                     or (format 1) naming a chunk the B-tree lacks */
    iti_coord *pending;            /* stored since the dataset was last appended */
    size_t npending, cap;
    hsize_t rows;                 /* rows of the dataset */
    int64_t lo[IT_MAX_RANK], hi[IT_MAX_RANK]; /* the members' bounding box, inclusive (valid
                                     while present.count > 0) */
} iti_h5_index;

/* Initialises an index without a dataset (dset -1). */
int iti_h5_index_init(iti_h5_index *ix, int rank, const char *id);
/* Frees the memory of the index; the dataset is closed with the tensor's other objects
 * (iti_h5t_close, under the HDF5 lock). */
void iti_h5_index_free(iti_h5_index *ix);

/* Creates the dataset "chunks" in group g (empty, unlimited rows, 256 rows a chunk). */
int iti_h5_index_create(iti_h5_index *ix, hid_t g);

/* Opens dataset "chunks" of g and loads its rows. Size and layout are checked against the file
 * (fsize bytes) before anything is allocated, and it is read chunk by chunk with direct chunk
 * reads into a buffer of the chunk's size, so no size read from the file reaches an allocation
 * of HDF5's. Rows outside the storable chunk range [cmin, cmax) are dropped and counted. */
int iti_h5_index_open(iti_h5_index *ix, hid_t g, iti_vfd_state *vfd, uint64_t fsize,
                     const int64_t *cmin, const int64_t *cmax);

bool iti_h5_index_has(const iti_h5_index *ix, const iti_coord *c);
/* Records c as stored (a row is due at the next append when it is new). */
int iti_h5_index_add(iti_h5_index *ix, const iti_coord *c);
/* Appends the due rows to the dataset. */
int iti_h5_index_append(iti_h5_index *ix);

/* Drops every member whose chunk stored_size reports as 0 (format-1 stores, whose flushes a
 * crash could tear, before anything lists from the index); done once. */
int iti_h5_index_check(iti_h5_index *ix, hsize_t (*stored_size)(const iti_coord *c, void *user),
                      void *user);

/* Members, sorted (malloc'd). */
int iti_h5_index_sorted(const iti_h5_index *ix, iti_coord **out, size_t *n);

#endif
