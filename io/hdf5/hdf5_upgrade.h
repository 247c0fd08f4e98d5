/* Upgrading a format-1 store (library 0.1) to format 2 in place: string attributes rewritten
 * as fixed-length strings, each chunk index made exactly the chunks of HDF5's chunk B-tree
 * (version-1 flushes were not atomic, so a crash could leave them apart), format_version 2.
 * Reading the old strings goes through HDF5's global heap, so only files the caller trusts
 * are upgraded (it_hdf5_options.trusted). The caller commits the result with one flush, or
 * discards it (iti_vfd_discard) on failure: the file is either version 1 as it was, or 2. */
#ifndef ITI_HDF5_UPGRADE_H
#define ITI_HDF5_UPGRADE_H

#include <hdf5.h>

int iti_h5_upgrade_v1(hid_t file, hid_t tensors);

#endif
