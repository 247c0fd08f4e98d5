/* The one HDF5 lock of io/: every HDF5 call of the library (stores, exports, previews) runs
 * between iti_h5_enter and iti_h5_leave, so two stores, or a store and an export, may be used
 * from different threads on any build of HDF5.
 *
 * The lock is re-entrant per thread (nested enters cost a counter). On a thread-safe HDF5 build
 * (H5is_library_threadsafe) HDF5 serialises its own calls and no mutex is taken. Either way the
 * outermost enter switches HDF5's automatic error printing off for the calling thread (HDF5
 * errors become IT_E* codes with a message) and the matching leave restores it. */
#ifndef ITI_HDF5_LOCK_H
#define ITI_HDF5_LOCK_H

#include <stdbool.h>

void iti_h5_enter(void);
void iti_h5_leave(void);

/* Whether the lock takes a mutex (HDF5 is not thread-safe, or iti_h5_lock_always was set). */
bool iti_h5_lock_is_mutex(void);

/* Makes the lock take its mutex even on a thread-safe HDF5 (for tests of the locking itself).
 * Call before any other function of io/. */
void iti_h5_lock_always(void);

#endif
