/* Held writes and commits of the library's file driver (hdf5_vfd.h): a file's state, shared by
 * hdf5_vfd.c (HDF5's callbacks, the checks of what HDF5 reads) and hdf5_commit.c (held writes,
 * commits through the journal in the file, recovery when a file is opened). */
#ifndef ITI_HDF5_COMMIT_H
#define ITI_HDF5_COMMIT_H

#include <hdf5.h>
#include <stdbool.h>
#include <sys/types.h>

#include "hdf5/driver/hdf5_guard.h"
#include "hdf5/driver/hdf5_header.h"
#include "hdf5/driver/hdf5_journal.h"
#include "hdf5/driver/hdf5_vfd_state.h"

typedef struct vfd_file {
    H5FD_t pub;                 /* first: HDF5 casts between the two */
    int fd;
    iti_vfd_state *state;
    haddr_t eoa, eof;
    haddr_t committed;          /* file size at the last commit; journaled stores only */
    haddr_t truncate_to;        /* size HDF5 asked for since (HADDR_UNDEF: none) */
    dev_t dev;
    ino_t ino;
    bool writable, poisoned;
    iti_h5_sizes sizes;          /* from the superblock, for the checks of hdf5_guard.h */
    iti_h5_notes continuations; /* object header continuation chunks (IT_H5_CHUNK_*) */
    iti_h5_notes btrees;        /* chunk B-tree nodes (IT_H5_BTREE_CHUNK + dimensionality) */
    struct {                    /* the first read of a structure whose rest is still to come */
        H5FD_mem_t type;
        haddr_t addr;
        size_t len;
        unsigned char *bytes;
    } head;
    iti_extent *held;            /* writes not on disk, in order: later entries win */
    iti_header hdr;              /* journaled files: the store header as last written */
    bool has_header;
    bool header_pending;         /* a new file's header is written at its first commit */
    haddr_t base;                /* HDF5's base address: where its superblock is */
    size_t nheld, capheld;
} vfd_file;

/* Poisons the file at its first failed operation (see hdf5_vfd.h): nothing more reaches the
 * disk; op and err are reported through the state. */
void iti_vfdf_poison(vfd_file *f, const char *op, int err);
/* Whether the file writes nothing more (poisoned, or discarded by the library). */
bool iti_vfdf_stopped(vfd_file *f);
/* Keeps a write in memory until the next commit (false: out of memory). */
bool iti_vfdf_hold(vfd_file *f, haddr_t addr, size_t size, const void *buf);
void iti_vfdf_drop_held(vfd_file *f);
/* Commits the held writes and the size HDF5 asked for (hdf5_commit.c). */
void iti_vfdf_commit(vfd_file *f);
/* A journaled file being opened: a new one gets a store header at its first commit; an
 * existing one's commit is finished (writers) or replayed in memory (readers). 0 or an errno
 * (EBADMSG with the state's refused set: the file is left as it is). */
int iti_vfdf_open_store(vfd_file *f, bool created);

#endif
