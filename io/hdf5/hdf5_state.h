/* The HDF5 tile store's state, shared by its files: hdf5_file.c opens the file, hdf5_tensor.c
 * makes and opens a tensor's objects, hdf5_store.c implements the store operations.
 *
 * A store's mutex guards its state and serialises its HDF5 calls; inside it the io-wide HDF5
 * lock (hdf5_lock.h) is taken, so HDF5 is safe on any build. Chunks are compressed before the
 * mutex is taken (put runs on the context's pool) and decoded after it is released. */
#ifndef ITI_HDF5_STATE_H
#define ITI_HDF5_STATE_H

#include <hdf5.h>
#include <pthread.h>

#include "backend.h"
#include "codec/codec.h"
#include "hdf5/driver/hdf5_header.h"
#include "hdf5/driver/hdf5_vfd.h"
#include "hdf5/hdf5_index.h"
#include "hdf5/hdf5_lock.h"
#include "hdf5/hdf5_view.h"
#include "open_files.h"

#define ITI_H5_FORMAT_NAME "infinite-tensor"
/* 2: strings are fixed-length, and every flush is atomic (hdf5_vfd.h), so the chunk index
 * always lists exactly the chunks of HDF5's chunk B-tree. 3: the file begins with a store
 * header (hdf5_header.h) and keeps its journal inside: every name of the file finds it.
 * Version 1 and 2 stores are read, and converted to 3 when opened for writing. */
#define ITI_H5_FORMAT_VERSION 3

/* A tensor attached to the store. */
typedef struct h5_tensor {
    struct h5_tensor *next;       /* the store's attached tensors */
    const iti_store_tensor *t;
    hid_t group, data;
    iti_codec codec;              /* of the data set's filters (read back from the file for
                                     stored tensors) */
    int64_t origin[IT_MAX_RANK];  /* pixel of dataset index 0 */
    int64_t extent[IT_MAX_RANK];  /* dataset dims */
    int64_t cmin[IT_MAX_RANK], cmax[IT_MAX_RANK]; /* storable chunk indices [cmin, cmax) */
    iti_h5_index index;
    iti_h5_view view;             /* the view for viewers in the file (writers only) */
    bool removed;                 /* deleted from the store (it_store_delete_tensor) */
    iti_htab *mapped;             /* checked mapped chunks and their offsets (hdf5_map.h) */
} h5_tensor;

typedef struct h5_store {
    pthread_mutex_t lock;
    hid_t file, tensors;
    it_hdf5_mode mode;
    iti_codec codec;              /* of new tensors */
    int version;                  /* of the file's format */
    bool trusted;                 /* it_hdf5_options.trusted */
    iti_cache *decoded;
    bool dirty;
    h5_tensor *attached;
    /* The group of the tensor described last, kept open for the attach that normally follows,
     * so a tensor's group is opened once (-1: none). */
    hid_t described;
    char described_id[IT_ID_MAX + 1];
    iti_vfd_state vfd;             /* the file driver's settings and report of OS errors */
    char *legacy_journal[2];      /* where a format-1/2 writer left its journal (hdf5_vfd.h) */
    int failed;                   /* the first write failure; every later call returns it */
    char failed_msg[512];
    iti_open_file *claim;          /* this process's claim on the file */
    char *path;                   /* as given to it_store_open_hdf5 */
    int live_fd;                  /* a live reader's descriptor of the commit lock, or -1
                                     (hdf5_live.h) */
    uint64_t live_seq;            /* the commit its HDF5 handles were opened at */
    uint64_t live_since;          /* when it took the commit lock (CLOCK_MONOTONIC, ns) */
    int writer_fd;                /* a writer's descriptor of its mark and progress, or -1 */
    iti_progress progress;        /* the last progress record written */
    void *map_base;               /* it_hdf5_options.map: the file, mapped (hdf5_map.h) */
    size_t map_size;
    void *scratch;                /* handed to HDF5's chunk lookups, never written */
    size_t scratch_size;
} h5_store;

static inline void iti_h5s_enter(h5_store *h) {
    pthread_mutex_lock(&h->lock);
    iti_h5_enter();
}

static inline void iti_h5s_leave(h5_store *h) {
    iti_h5_leave();
    pthread_mutex_unlock(&h->lock);
}

/* ---- a tensor's objects (hdf5_tensor.c; lock held) ---------------------------------------- */

/* Creates group /tensors/<id> with the record m, the data set and the chunk index. */
int iti_h5t_create(h5_store *h, h5_tensor *ht, const iti_tensor_meta *m);
/* Opens the group, data set and chunk index of a stored tensor, checking them against t. */
int iti_h5t_open(h5_store *h, h5_tensor *ht);
void iti_h5t_close(h5_tensor *ht);
/* IT_ERANGE when chunk c is outside the storable range. */
int iti_h5t_check_range(const h5_tensor *ht, const iti_coord *c);
/* The data set index of chunk c's first element. */
void iti_h5t_chunk_offset(const h5_tensor *ht, const iti_coord *c, hsize_t *off);

/* ---- the HDF5 file (hdf5_open.c; lock held) ------------------------------------------------- */

/* Opens (create: creates, failing if it exists) name through the library's driver; with
 * clear_status, clears the status flag a dead writer leaves on newer-format files. */
hid_t iti_h5f_open_driver(h5_store *h, const char *name, unsigned flags, bool create,
                          bool clear_status);
/* Forgets what the driver reported (errors of an attempt given up). */
void iti_h5f_forget_errors(h5_store *h);
/* Opens an existing store's file (h->file, h->tensors), checking its format. */
int iti_h5f_open(h5_store *h, const char *path, unsigned flags);
void iti_h5f_close(h5_store *h);
/* Closes the file and every attached tensor's objects and opens them again read-only, at the
 * commit now in the file (a live reader's refresh, hdf5_live.h). */
int iti_h5f_reopen(h5_store *h);
/* Closes the group kept open by describe. */
void iti_h5s_forget_described(h5_store *h);

/* ---- the store's operations and opening (hdf5_store.c) ------------------------------------- */

extern const iti_store_ops iti_h5_store_ops;

/* Frees the state of a store whose file is closed (or was never opened). */
void iti_h5s_free(h5_store *h);

#endif
