/* HDF5's exit handler, taken over. HDF5 1.10 registers H5_term_library with atexit; after some
 * failed opens (crafted files) it keeps internal references it cannot release, loops, and
 * prints "HDF5: infinite loop closing library" and a line of about 1 KB to stderr as the
 * process ends. The library asks HDF5 not to register (H5dont_atexit, possible only before
 * HDF5's first use, hence a constructor) and registers the same H5close itself, with stderr
 * silenced for its duration: files still open are closed (stores committed) as before, and
 * nothing is printed. When the application has used HDF5 already, HDF5 keeps its own handler. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <hdf5.h>

#include "hdf5/driver/hdf5_vfd.h"

/* Referenced by the file driver, so static links keep this file (and its constructor). */
const int iti_hdf5_exit_taken_over = 1;

static void close_hdf5_quietly(void) {
    fflush(stderr);
    int saved = dup(STDERR_FILENO), null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (saved >= 0 && null >= 0)
        dup2(null, STDERR_FILENO);
    H5close();
    if (saved >= 0 && null >= 0)
        dup2(saved, STDERR_FILENO);
    if (saved >= 0)
        close(saved);
    if (null >= 0)
        close(null);
}

__attribute__((constructor)) static void take_over_hdf5_exit(void) {
    if (H5dont_atexit() >= 0)
        atexit(close_hdf5_quietly);
}
