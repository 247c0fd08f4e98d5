/* The seam a tile-store backend implements (the memory store in src/, the HDF5 store in io/hdf5,
 * test stores): the store interface (iti_store_ops), the store-facing view of a tensor, the
 * backend-neutral record a persistent store keeps of a tensor, and the services a backend uses
 * (errors, buffers, coordinates, the pool, the chunk cache). What exporters and distributed
 * fills call is engine.h. A backend includes no other private header of src/: the evaluator's
 * structures can change without touching one. */
#ifndef ITI_BACKEND_H
#define ITI_BACKEND_H

#include "cache.h"
#include "coordset.h"
#include "dtype.h"
#include "internal.h"
#include "kernels.h"
#include "pool.h"
#include "sha256.h"

/* Version of iti_store_ops; iti_store_wrap refuses a table of another version. */
#define ITI_STORE_BACKEND_VERSION 5

/* Longest fn_tag, in bytes. */
#define ITI_FN_TAG_MAX 4096

/* ---- the store-facing view of a tensor ------------------------------------------------------ *
 * Filled once when the tensor is created and never changed after (except `backend`). Chunk c
 * covers pixels [c*chunk + grid, (c+1)*chunk + grid) per dimension; a chunk buffer holds
 * chunk_bytes in C order over the chunk shape. */
typedef struct iti_store_tensor {
    const char *id;
    uint64_t serial;                /* identity in caches: unique, never reused */
    int rank;
    int64_t shape[IT_MAX_RANK];     /* IT_INF for infinite dimensions */
    it_dtype dtype;
    size_t esize;                   /* bytes per element */
    int64_t chunk[IT_MAX_RANK];
    int64_t grid[IT_MAX_RANK];      /* in [0, chunk) along infinite dimensions, 0 along finite */
    size_t chunk_elems, chunk_bytes;
    unsigned char fill[8];          /* blend_init as one element: the value of pixels no window
                                       covers, and of never-stored chunks in exports */
    unsigned flags;                 /* it_tensor_desc.flags */
    void *backend;                  /* the backend's per-tensor state, set by attach */
    size_t chunk_tail;              /* set by attach: bytes the store appends in place after a
                                       chunk given to put (a checksum), so the evaluator
                                       allocates chunk_bytes + chunk_tail for those buffers */
} iti_store_tensor;

/* Pixel box [start, stop) of chunk c. */
void iti_chunk_box(const iti_store_tensor *t, const iti_coord *c, int64_t *start, int64_t *stop);

/* ---- what a persistent store keeps of a tensor ---------------------------------------------- *
 * Allocated and owned by src/ (iti_tensor_meta_new); a backend fills it in describe and stores
 * it in attach. Strings are NUL-terminated within their arrays. */
typedef struct iti_tensor_meta {
    int rank;
    int64_t shape[IT_MAX_RANK];
    it_dtype dtype;
    it_window window;
    size_t n_args;
    char arg_ids[IT_MAX_ARGS][IT_ID_MAX + 1];
    it_window arg_windows[IT_MAX_ARGS];
    it_blend blend;
    double blend_init;
    /* IT_BLEND_WEIGHTED (all zero otherwise): the resolved profile without its array, and the
     * array's digest ("" for other kinds). */
    it_weight_profile weight;
    char weight_sha256[ITI_SHA256_HEX];
    int64_t chunk[IT_MAX_RANK];
    int64_t grid[IT_MAX_RANK];
    char fn_tag[ITI_FN_TAG_MAX + 1];
} iti_tensor_meta;

iti_tensor_meta *iti_tensor_meta_new(void);   /* zeroed; NULL when out of memory */

/* A window as the four arrays a record keeps of it, in this order, with their names: size,
 * stride, offset and map (rank entries each). */
#define ITI_WINDOW_PARTS 4
extern const char *const iti_window_part_names[ITI_WINDOW_PARTS];
void iti_window_to_parts(const it_window *w, int64_t parts[ITI_WINDOW_PARTS][IT_MAX_RANK]);
void iti_tensor_meta_free(iti_tensor_meta *m);

/* ---- the backend interface ------------------------------------------------------------------- */

/* How a store encodes the chunks it keeps: a codec of the public list, its level, and whether a
 * Fletcher-32 checksum follows (the byte format of io/codec/codec.h). Writers that encode
 * chunks elsewhere (the workers of a distributed fill) encode them so. */
typedef struct iti_chunk_encoding {
    it_compression codec;
    int level;
    bool checksum;
} iti_chunk_encoding;

typedef struct iti_chunk_ref {
    const void *data;   /* chunk_bytes of the tensor, C order over the chunk shape */
    void *handle;       /* the store's pin */
} iti_chunk_ref;

/* Every op receives the backend's own state (`impl`, as given to iti_store_wrap). Errors are
 * IT_E* codes with a message set by iti_error. Unless an op says otherwise:
 *  - it may be called from several threads at once, for the same or different tensors;
 *  - a failure leaves what the store holds as it was (a stored chunk stays stored and correct;
 *    a chunk that was being stored is either wholly stored or absent).
 * Chunks are whole and final: `put` is only called with a chunk in which every window
 * intersecting it has been blended, so a backend never merges partial data.
 * attach, detach, remove, list and close are never called concurrently with each other for
 * the same tensor id; get/has/put/prefetch/release on a tensor happen between its attach and
 * detach. */
typedef struct iti_store_ops {
    int version;                /* ITI_STORE_BACKEND_VERSION */
    const char *kind;           /* "memory", "hdf5", ... (in messages) */

    /* Persistent stores: fills *out with the record of stored tensor `id` and returns 1; 0 when
     * no such tensor is stored; < 0 when the record is unreadable (IT_EFORMAT) or on I/O errors.
     * The caller checks the record (compares it, or resolves it as a description) before any
     * use. NULL for stores that keep nothing across handles. */
    int (*describe)(void *impl, const char *id, iti_tensor_meta *out);
    /* A tensor handle is being created. `create` is the record to store when the tensor is new
     * (describe returned 0); NULL when describe found it (src/ has compared the records) or the
     * store has no describe. Sets t->backend. On failure the store holds what it held before. */
    int (*attach)(void *impl, iti_store_tensor *t, const iti_tensor_meta *create);
    /* The handle is going away: release t->backend. What was put stays stored in persistent
     * stores; a non-persistent store may drop the tensor's chunks. */
    void (*detach)(void *impl, iti_store_tensor *t);

    /* 1 and a pinned ref when chunk is present, 0 when missing, < 0 on error. */
    int (*get)(void *impl, iti_store_tensor *t, const iti_coord *chunk, iti_chunk_ref *ref);
    /* Unpins a ref of get or put. */
    void (*release)(void *impl, iti_store_tensor *t, iti_chunk_ref *ref);
    /* 1 when the chunk is stored, 0 when missing, < 0 on error; reads no chunk data. */
    int (*has)(void *impl, iti_store_tensor *t, const iti_coord *chunk);
    /* Stores a final chunk. buf (iti_buf_alloc'd, chunk_bytes + chunk_tail, holding chunk_bytes)
     * passes to the store, even on
     * failure. On success with ref, ref pins the stored data; with ref NULL the caller will not
     * read the chunk now and a persistent store need not keep it in memory. A chunk that is
     * already stored is replaced by identical data (chunks are deterministic). */
    int (*put)(void *impl, iti_store_tensor *t, const iti_coord *chunk, void *buf, iti_chunk_ref *ref);
    /* Optional: makes the chunks that get will be asked for next ready in memory (decoding them
     * in parallel on pool). Absent chunks are skipped; a failure here is only a lost hint. */
    int (*prefetch)(void *impl, iti_store_tensor *t, const iti_coord *chunks, size_t n,
                    iti_pool *pool);

    /* Optional: a read no longer needs chunk (the last chunk of the read computed from it is
     * final). With `drop` (a transient tensor, only in stores without describe) the chunk is
     * removed, at once or when its last pin goes; without, it is a hint that the chunk's
     * memory may be reclaimed before other chunks'. A chunk that is absent is a no-op. */
    void (*discard)(void *impl, iti_store_tensor *t, const iti_coord *chunk, bool drop);

    /* Coordinates of every stored chunk of t, sorted lexicographically; *out is malloc'd. */
    int (*chunks)(void *impl, iti_store_tensor *t, iti_coord **out, size_t *n);
    /* Optional: bytes t's chunks take in the store (NULL: chunk count * chunk_bytes). */
    int (*stored_bytes)(void *impl, iti_store_tensor *t, uint64_t *bytes);
    /* Drops what is held in memory only, for t (NULL: every tensor). Stored data stay. */
    void (*clear_cache)(void *impl, iti_store_tensor *t);
    /* Deletes a tensor's data and record: by handle t, or by id when no handle is open (t NULL).
     * IT_ENOTFOUND when there is none. */
    int (*remove)(void *impl, iti_store_tensor *t, const char *id);
    /* Makes everything put so far durable. Called after every finished block of a read or
     * fill, so a crash loses at most the block in progress. The backend keeps track of what
     * is due itself. */
    int (*flush)(void *impl);
    /* Persistent stores: calls fn for every stored tensor id (fn may call into the store);
     * returns fn's first non-zero value. NULL: the engine lists the open handles. */
    int (*list)(void *impl, it_store_list_fn fn, void *user);
    /* Releases the backend after every tensor is detached and a final flush; returns a failure
     * the final writes met (the backend is gone either way). Called once. */
    int (*close)(void *impl);
    /* Bytes of chunk data held in memory. */
    size_t (*memory_bytes)(const void *impl);

    /* Optional, both or neither: chunks encoded elsewhere (distributed fills). `encoding` tells
     * how t's chunks are to be encoded (IT_EINVAL when the store cannot take them now, e.g. read
     * only); put_encoded stores chunk c of t from len bytes in that encoding, checked (its
     * checksum, a length the encoding can have: IT_EFORMAT) but not decoded, durable at the
     * next flush like a put. */
    int (*encoding)(void *impl, iti_store_tensor *t, iti_chunk_encoding *out);
    int (*put_encoded)(void *impl, iti_store_tensor *t, const iti_coord *c, const void *enc,
                       size_t len);

    /* Optional: a read or fill of t (not nested in a window function) has made `done` of its
     * `total` chunks final; `ended` at its end, successful or not. Persistent stores record it
     * for other processes (itensor info of a running fill); never fails the read. */
    void (*progress)(void *impl, iti_store_tensor *t, uint64_t done, uint64_t total, bool ended);
} iti_store_ops;

/* Creates a store handle around a backend (ops->version must match). On failure the backend
 * is not closed: the caller still owns impl. */
int iti_store_wrap(it_ctx *ctx, const iti_store_ops *ops, void *impl, it_store **out);
/* A context's memory budget in bytes: a store sizes its default cache from it. */
size_t iti_ctx_budget(const it_ctx *ctx);

/* The backend state of t's store when that store runs `ops` (NULL otherwise), and t's view. */
void *iti_tensor_backend(it_tensor *t, const iti_store_ops *ops, iti_store_tensor **view);
/* The backend state of store s when its ops are `ops`, else NULL. */
void *iti_store_backend(it_store *s, const iti_store_ops *ops);

/* Takes the backend out of a store that has no open tensor (for wrapping it in another
 * backend); the store handle is freed. IT_EINVAL while tensors are open. */
int iti_store_unwrap(it_store *s, const iti_store_ops **ops, void **impl);

#endif
