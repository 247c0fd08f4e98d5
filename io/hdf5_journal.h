/* The redo journal that makes every flush of a store file atomic (see hdf5_vfd.h).
 *
 * File "<store>-journal": "ITJRNL02", the file's size before and after the commit (u64 each),
 * the extent count (u64), then per extent its file address (u64), size (u64), new bytes and old bytes (the
 * file's content before the commit), then a CRC-32 of everything before it (u32) and
 * "ITJEND02"; integers little-endian. Extents do not overlap.
 *
 * A journal is complete only with its checksum and end mark: a torn journal was never applied
 * and is discarded. A complete one may have been applied in part, and is applied again when
 * the file has its size before or after the commit and every byte the journal covers holds its
 * old or its new value: true of the file it was written for, however far the apply got (copies
 * and moves included), and not of another file that happens to have the name. */
#ifndef ITI_HDF5_JOURNAL_H
#define ITI_HDF5_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct iti_extent {
    uint64_t addr;
    size_t size;
    unsigned char *data;        /* new content */
    unsigned char *old;         /* content before (journal extents only) */
} iti_extent;

/* Merges writes (in order, later ones win where they overlap) into non-overlapping extents
 * sorted by address, reading each one's old content from fd (zeros past the end). Returns 0 or
 * an errno; *out (iti_extents_free) and *n on success. */
int iti_journal_prepare(int fd, const iti_extent *writes, size_t nwrites, iti_extent **out,
                       size_t *n);

/* Writes the journal of n prepared extents and the file's sizes before and after them; with
 * sync, fdatasyncs it. Returns 0 or an errno (the journal may then be torn). */
int iti_journal_write(const char *path, uint64_t old_size, uint64_t size, const iti_extent *x,
                     size_t n, bool sync);

/* Reads the journal at path for the file open as fd. 1: complete and consistent with the file
 * (*out, *n: extents; *size: the file's size after them); 0: no journal, a torn one, or one
 * that does not belong to this file; -errno when it cannot be read. */
int iti_journal_read(const char *path, int fd, iti_extent **out, size_t *n, uint64_t *size);

void iti_extents_free(iti_extent *x, size_t n);

#endif
