/* The redo journal that makes every flush of a store file atomic (see hdf5_vfd.h).
 *
 * Format 3 stores keep it inside the file, past everything HDF5 uses, and the store header
 * (hdf5_header.h) names it while it is applied: "ITJRNL03", the store id (16 bytes), the
 * commit's sequence number, the file's size before and after the commit, the extent count
 * (u64 each), then per extent its file address (u64), size (u64), new bytes and old bytes (the
 * file's content before the commit), then a CRC-32 of everything before it (u32) and
 * "ITJEND03"; integers little-endian. Extents do not overlap.
 *
 * Stores of formats 1 and 2 (library 0.1 and 0.2) kept it in a file "<store>-journal"
 * ("ITJRNL02": no id or sequence number). This library only reads those, to finish a commit
 * such a writer left, before it converts the store to format 3.
 *
 * A journal is applied only when it is complete (checksum and end mark), only touches what a
 * commit touches (the file past its header, its size within bounds), and every byte it covers
 * holds its old or its new value (true of the file it was written for, however far the apply
 * got). */
#ifndef ITI_HDF5_JOURNAL_H
#define ITI_HDF5_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hdf5/driver/hdf5_header.h"

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

/* Writes the journal of commit `seq` of the store with header h (its id) into fd at offset
 * off: n prepared extents, the file's sizes before and after them. *len: its length. Returns
 * 0 or an errno (the journal may then be torn). */
int iti_journal_put(int fd, uint64_t off, const iti_header *h, uint64_t seq, uint64_t old_size,
                    uint64_t size, const iti_extent *x, size_t n, uint64_t *len);

/* Reads the journal that header h (state applying) names in fd. 1: it is the journal of this
 * store's commit h->seq, touches only [ITI_HEADER_SIZE, h->journal), and the file holds each
 * byte's old or new value: *out, *n. 0: no such journal there (the commit was completed and its
 * space reused). -EBADMSG: a journal of this store and commit that touches what no commit
 * touches, or does not match the file (why says which). -errno when it cannot be read. */
int iti_journal_get(int fd, const iti_header *h, iti_extent **out, size_t *n, char *why,
                    size_t why_size);

/* Looks for the journal a format-1/2 writer left for the file open as fd, at paths[0] and
 * then paths[1] (NULL entries skipped: the name given and the resolved one). Opens no link and
 * no file other than a regular one, and never blocks. 1: a complete one, within bounds and
 * consistent with the file (*out, *n, *size: the file's size after it); 0: none, or torn
 * (never applied), or another file's; -EBADMSG: something that is not a journal of this file
 * (a link, a directory, a FIFO, an oversized or out-of-bounds journal; why says what); -errno
 * when it cannot be read. */
int iti_journal_find_legacy(const char *const paths[2], int fd, iti_extent **out, size_t *n,
                            uint64_t *size, char *why, size_t why_size);

void iti_extents_free(iti_extent *x, size_t n);

#endif
