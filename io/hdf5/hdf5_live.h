/* Live readers of an HDF5 store (io/FORMAT.md, "Readers while a writer works"): a store opened
 * read-only reads the state of the last completed commit while a writer in another process
 * works. The writer applies each commit holding the file's commit lock exclusively
 * (file_util.h); a reader holds it shared around each store operation, and when the header
 * names a newer commit than the one its HDF5 handles were opened at, it opens them again (the
 * file, /tensors, each attached tensor's objects and chunk index) before reading. A reader
 * thus never sees a half-applied commit, and a writer waits for a reader for at most one
 * operation. Stored chunks never change, so decoded chunks stay cached across commits. */
#ifndef ITI_HDF5_LIVE_H
#define ITI_HDF5_LIVE_H

#include "hdf5/hdf5_state.h"

/* Before a read-only store's file is opened (store lock held): opens the descriptor of the
 * commit lock and takes it shared, so the open sees one commit. 0 or an IT_E* code; on systems
 * without such locks the store reads as before (the file's lock keeps writers out). */
int iti_h5_live_prepare(h5_store *h, const char *path);
/* After the open: notes the commit the handles were opened at and releases the lock; a store
 * of format 1 or 2 (no header, no commit lock) is read under the file's shared lock instead. */
int iti_h5_live_opened(h5_store *h, int rc);

/* Around each operation of a live reader (store lock held): the commit lock shared, and the
 * handles reopened when a newer commit was applied. */
int iti_h5_live_begin(h5_store *h);
void iti_h5_live_end(h5_store *h);
/* Within a long operation (prefetching many chunks): lets a waiting writer apply its commit,
 * then continues at the newest commit (the handles reopened if needed). */
int iti_h5_live_yield(h5_store *h);

/* Closes the lock's descriptor. */
void iti_h5_live_close(h5_store *h);

#endif
