/* Converting a store of format 1 or 2 (no store header) to format 3: the same HDF5 content
 * behind a store header (hdf5_header.h), built as a copy beside the store, so the original is
 * untouched until the caller renames the copy over it. */
#ifndef ITI_HDF5_CONVERT_H
#define ITI_HDF5_CONVERT_H

#include <stdbool.h>
#include <stddef.h>

/* Copies the store at path (locked by the caller's descriptor `fd`, open on it) to a new file
 * `tmp` (which must not exist) behind a store header, with the commit a format-1/2 writer left
 * (iti_journal_find_legacy at legacy_journal) completed in the copy, and the HDF5
 * superblock's base address moved past the header. With sync, the copy is made durable.
 * IT_EFORMAT when the file is not an HDF5 file this can move (a superblock not at offset 0 or
 * with addresses of another size) or the journal is not one a commit writes; IT_ENOSPC/IT_EIO
 * with the OS error. tmp is removed on failure. */
int iti_h5_convert_copy(const char *path, int fd, const char *const legacy_journal[2],
                        const char *tmp, bool sync);

#endif
