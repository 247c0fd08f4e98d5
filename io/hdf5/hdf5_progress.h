/* A writer's progress, for other processes: the writer marks its file (a lock other processes
 * can see without taking one, file_util.h) and keeps the progress record of the store header
 * (hdf5_header.h) up to date as reads and fills make blocks final; it_hdf5_writer_progress
 * reads both from any process. */
#ifndef ITI_HDF5_PROGRESS_H
#define ITI_HDF5_PROGRESS_H

#include "hdf5/hdf5_state.h"

/* A writer, once its file is open: marks the file as written and opens the descriptor its
 * progress records go through. Never fails the open: without it, other processes see no
 * progress. */
void iti_h5_progress_writer(h5_store *h);
/* The store's progress op (backend.h): the record, at most every 100 ms and at the end. */
void iti_h5_progress_note(void *impl, iti_store_tensor *t, uint64_t done, uint64_t total,
                          bool ended);
/* Closes the writer's descriptor (its mark goes with it). */
void iti_h5_progress_close(h5_store *h);

#endif
