/* The file driver under every HDF5 file the library writes or reads: POSIX I/O like HDF5's
 * default (sec2) driver, byte for byte the same files, plus what sec2 lacks:
 *
 * - Atomic flushes (stores: `journaled` set). HDF5 1.10 writes a flush's metadata in place, in
 *   its own order, so a kill or a failed write in the middle of one leaves object headers,
 *   B-tree nodes and the superblock of two different moments. Here the file on disk is always
 *   the state of the last completed flush: writes into it are held in memory until the end of
 *   the next flush, then written as a redo journal (hdf5_journal.h) past the end of the file,
 *   the store header (hdf5_header.h) set to name it, the writes applied, the header set back
 *   to committed and the journal cut off. Opening the file finishes a commit the header names
 *   and cuts off what no commit made (a torn journal, chunk data of an unfinished flush). All
 *   of it is inside the file, so every name, link or copy of a store finds it, and no other
 *   file is ever created, followed or waited on. Stores of formats 1 and 2 have no header:
 *   they are opened read-only only (the library converts them to format 3 before writing),
 *   with the commit a writer of those formats left in "<store>-journal" replayed in memory.
 * - Fault containment. At the first failed write, truncate, sync or journal write the file is
 *   poisoned: from then on no byte reaches the disk. Writes HDF5 makes afterwards (the rest of
 *   the failing call, the metadata flushed by H5Fclose) are kept in memory and served back to
 *   HDF5's own reads, so HDF5 never runs its error paths (HDF5 1.10 can write damaged
 *   structures or crash at exit from there). The failing call reports success to HDF5; the
 *   library learns of the fault from iti_vfd_state.
 * - The OS error of every failure (errno, operation), so callers report ENOSPC, EIO or a lock
 *   held by another process as such, not as a format error. The lock (flock, exclusive for
 *   writers, shared for readers) is taken when the file is opened.
 * - Optional durability: with `sync`, a flush makes new chunk data and the journal durable
 *   (fdatasync) before the header names the journal, the header before the file is changed,
 *   and the changes before the header says committed.
 *
 * Metadata reads of the global heap (variable-length data) are validated before HDF5 parses
 * them (see hdf5_guard.h); a read that fails validation fails with format_error set. */
#ifndef ITI_HDF5_VFD_H
#define ITI_HDF5_VFD_H

#include <hdf5.h>
#include <stdbool.h>
#include <stdint.h>

#include "hdf5/driver/hdf5_vfd_state.h"


/* Defined in hdf5_exit.c (the library's HDF5 exit handler). */
extern const int iti_hdf5_exit_taken_over;

/* A file-access property list using the driver with `state` (which must outlive every file
 * opened with it), strong close degree. Returns a negative hid on failure. */
hid_t iti_vfd_fapl(iti_vfd_state *state);
/* Opens an HDF5 file that is not a store (an export, any file) read-only through the driver
 * and its checks, with `state` (zeroed by the caller, outliving the file): the file's hid, or
 * a negative one (iti_vfd_failure tells why). */
hid_t iti_vfd_open_readonly(const char *path, iti_vfd_state *state);

/* Abandons every change since the last flush: the file keeps its committed state, and the
 * handle writes nothing more (as after a fault, without an error). For changes that must be
 * all or nothing, such as an upgrade that fails half-way. */
void iti_vfd_discard(iti_vfd_state *state);

/* Whether the file is poisoned (a write failed); thread-safe. */
bool iti_vfd_poisoned(const iti_vfd_state *state);

/* The error of a failed HDF5 call on a file of this driver: the OS error if one was recorded
 * (iti_vfd_error), else the structure the driver refused to let HDF5 parse (IT_EFORMAT), else
 * HDF5's own message as `code`. Forgets the failure of the read, which belonged to this call. */
int iti_vfd_failure(iti_vfd_state *state, int code, const char *what);

/* Maps the first recorded OS error to an IT_E* code and sets the calling thread's message
 * "<what>: <operation>: <strerror> (errno N)"; returns 0 when nothing was recorded. */
int iti_vfd_error(const iti_vfd_state *state, const char *what);

/* Reads stored chunk `off` of dset into buf, which holds size bytes: the driver refuses a
 * longer read (a chunk's size comes from the file). IT_EFORMAT when the chunk skipped filters
 * (the library writes every chunk through its whole pipeline). */
int iti_vfd_read_chunk(iti_vfd_state *state, hid_t dset, const hsize_t *off, void *buf,
                      size_t size, const char *what);

/* Where stored chunk `off` of dset (size bytes, from its listing) lies in the file: *at, its
 * file offset, found by HDF5's chunk lookup without reading the chunk (the driver reads
 * nothing into scratch, of size bytes: HDF5 is handed it as the read's buffer); UINT64_MAX
 * when the bytes there are not what HDF5 believes (a commit replayed in memory covers them). */
int iti_vfd_locate_chunk(iti_vfd_state *s, hid_t dset, const hsize_t *off, size_t size,
                        void *scratch, uint64_t *at);

#endif