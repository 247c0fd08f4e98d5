/* What the library and its HDF5 file driver (hdf5_vfd.h) share about one open file: the
 * settings the library gives, and what the driver reports (OS errors, refused structures). */
#ifndef ITI_HDF5_VFD_STATE_H
#define ITI_HDF5_VFD_STATE_H

#include <stdbool.h>
#include <stddef.h>

/* Shared between the library's file handle and the driver; owned by the library. */
typedef struct iti_vfd_state {
    bool sync;                /* fdatasync at every flush (power-loss durability) */
    bool journaled;           /* a store: commits through the journal in the file; a new file
                                 gets a store header (created with an HDF5 user block of
                                 ITI_HEADER_SIZE). Not set: exports, written under a
                                 temporary name instead */
    const char *legacy_journal[2]; /* where a format-1/2 writer may have left its journal (the
                                 name given, the resolved name); NULL: none */
    /* Set by the driver. */
    int write_errno;          /* first failed write/truncate/sync: the file is poisoned */
    char write_op[48];        /* which one ("write", "truncate", "fdatasync") */
    int read_errno;           /* last failed read (EIO) */
    int open_errno;           /* failed open(2) or lock (EWOULDBLOCK: locked elsewhere) */
    bool legacy;              /* the file has no store header (format 1 or 2, or not a store) */
    bool live;                /* opened read-only while a writer holds the file */
    bool refused;             /* the header or a journal is not one commits write: */
    char refused_detail[512]; /* what (IT_EFORMAT; the file is left as it is) */
    bool discard;             /* set by the library: nothing more is committed (iti_vfd_discard) */
    bool keep_lock;           /* set by the library: a reader keeps the file's shared lock
                                 (no writer opens it meanwhile: its mapping stays valid) */
    uint64_t *raw_capture;    /* set by the library around a chunk lookup (iti_vfd_locate_chunk):
                                 a raw-data read records its file offset here instead of reading
                                 (UINT64_MAX when held writes cover it) */
    size_t raw_read_limit;    /* set by the library around a read into a buffer of this size:
                                 a raw-data read request beyond it is refused (0: no limit) */
    bool format_error;        /* a metadata read failed validation */
    char format_detail[128];
} iti_vfd_state;

#endif
