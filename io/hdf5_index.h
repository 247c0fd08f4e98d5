/* A stored tensor's chunk index (io/FORMAT.md, "chunks"): the 2-D int64 dataset listing the
 * coordinates of its stored chunks, one row per chunk in the order they were stored, and the
 * set of them held in memory. Rows of chunks stored since the last flush are appended at the
 * next flush, in the same commit as the chunks (hdf5_vfd.h), so in a format-2 store the index
 * lists exactly the chunks of HDF5's chunk B-tree. Callers hold the store's lock. */
#ifndef IT_HDF5_INDEX_H
#define IT_HDF5_INDEX_H

#include <hdf5.h>

#include "backend.h"
#include "hdf5_vfd.h"

typedef struct it_h5_index {
    hid_t dset;
    int rank;
    const char *id;               /* the tensor's, for messages */
    it_coordset present;          /* chunks known stored */
    bool checked;                 /* present has been checked against the chunk B-tree */
    uint64_t stale;               /* rows dropped: outside the storable range, never written,
                                     or (format 1) naming a chunk the B-tree lacks */
    it_coord *pending;            /* stored since the dataset was last appended */
    size_t npending, cap;
    hsize_t rows;                 /* rows of the dataset */
} it_h5_index;

/* Initialises an index without a dataset (dset -1). */
int it_h5_index_init(it_h5_index *ix, int rank, const char *id);
void it_h5_index_free(it_h5_index *ix);

/* Creates the dataset "chunks" in group g (empty, unlimited rows, 256 rows a chunk). */
int it_h5_index_create(it_h5_index *ix, hid_t g);

/* Opens dataset "chunks" of g and loads its rows. Size and layout are checked against the file
 * (fsize bytes) before anything is allocated, and it is read chunk by chunk with direct chunk
 * reads into a buffer of the chunk's size, so no size read from the file reaches an allocation
 * of HDF5's. Rows outside the storable chunk range [cmin, cmax) are dropped and counted. */
int it_h5_index_open(it_h5_index *ix, hid_t g, it_vfd_state *vfd, uint64_t fsize,
                     const int64_t *cmin, const int64_t *cmax);

bool it_h5_index_has(const it_h5_index *ix, const it_coord *c);
/* Records c as stored (a row is due at the next append when it is new). */
int it_h5_index_add(it_h5_index *ix, const it_coord *c);
/* Appends the due rows to the dataset. */
int it_h5_index_append(it_h5_index *ix);
/* Forgets the due rows (the tensor was deleted). */
void it_h5_index_forget_pending(it_h5_index *ix);

/* Drops every member whose chunk stored_size reports as 0 (format-1 stores, whose flushes a
 * crash could tear, before anything lists from the index); done once. */
int it_h5_index_check(it_h5_index *ix, hsize_t (*stored_size)(const it_coord *c, void *user),
                      void *user);

/* Members, sorted (malloc'd). */
int it_h5_index_sorted(const it_h5_index *ix, it_coord **out, size_t *n);

#endif
