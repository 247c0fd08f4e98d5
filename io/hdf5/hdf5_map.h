/* Mapped chunks of an HDF5 store opened read-only with it_hdf5_options.map: uncompressed
 * chunks are handed out straight from a read-only mapping of the file, without a copy. HDF5
 * finds each chunk (its chunk lookup, with the driver capturing the read's file offset instead
 * of reading, hdf5_vfd.h) once; the chunk's checksum is checked then, from the mapping, and
 * its offset kept, so later gets make no HDF5 call and no check. The store
 * keeps the file's shared lock while open (no writer of this library, and no HDF5 program
 * honouring file locks, opens it meanwhile), so the file does not shrink under the mapping;
 * the mapping covers the file's size at open, and a chunk past it is refused. */
#ifndef ITI_HDF5_MAP_H
#define ITI_HDF5_MAP_H

#include "hdf5/hdf5_state.h"

/* After the file is opened (lock held): maps it. 0 or an IT_E* code. */
int iti_h5_map_open(h5_store *h);
/* Whether chunks of ht come from the mapping. */
bool iti_h5_mapped(const h5_store *h, const h5_tensor *ht);
/* Chunk c of ht from the mapping (store lock not held): 1 with ref, 0 when not stored, < 0. */
int iti_h5_map_get(h5_store *h, h5_tensor *ht, const iti_coord *c, iti_chunk_ref *ref);
/* A ref's handle for mapped chunks: nothing to release. */
extern char iti_h5_map_ref;
/* Forgets ht's checked chunks (the tensor is detached). */
void iti_h5_map_forget(h5_tensor *ht);
/* Unmaps the file. */
void iti_h5_map_close(h5_store *h);

#endif
