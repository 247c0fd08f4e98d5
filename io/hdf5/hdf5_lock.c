/* The io-wide HDF5 lock (hdf5_lock.h). */
#include <hdf5.h>
#include <pthread.h>

#include "hdf5/hdf5_attr.h"
#include "hdf5/hdf5_lock.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static bool forced;
static bool use_mutex;

static _Thread_local int depth;
static _Thread_local iti_h5_quiet saved;

static void decide(void) {
    hbool_t safe = 0;
    if (H5is_library_threadsafe(&safe) < 0)
        safe = 0;
    use_mutex = forced || !safe;
}

void iti_h5_lock_always(void) { forced = true; }

bool iti_h5_lock_is_mutex(void) {
    pthread_once(&once, decide);
    return use_mutex;
}

void iti_h5_enter(void) {
    if (depth++ > 0)
        return;
    pthread_once(&once, decide);
    if (use_mutex)
        pthread_mutex_lock(&mutex);
    iti_h5_quiet_begin(&saved);
}

void iti_h5_leave(void) {
    if (--depth > 0)
        return;
    iti_h5_quiet_end(&saved);
    if (use_mutex)
        pthread_mutex_unlock(&mutex);
}
