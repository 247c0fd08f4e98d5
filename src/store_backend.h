/* The tile-store interface: a small function table that the memory store (src/) and the
 * HDF5 store (io/) implement, so one evaluator serves every store.
 *
 * Chunks are whole and final: `put` is only called with a chunk in which every window
 * intersecting it has been blended. `get` and `put` return the chunk pinned: its data stay
 * valid and in memory until `release`. All functions may be called from several threads. */
#ifndef IT_STORE_BACKEND_H
#define IT_STORE_BACKEND_H

#include <pthread.h>

#include "internal.h"
#include "pool.h"

typedef struct it_chunk_ref {
    const void *data;   /* chunk_bytes of the tensor, C order over the chunk shape */
    void *handle;       /* the store's pin */
} it_chunk_ref;

typedef struct it_store_ops {
    const char *kind;
    /* A tensor handle was created: register (or validate against) its metadata. */
    int (*attach)(it_store *s, it_tensor *t);
    /* A handle is going away (its data stay unless the store keeps nothing without it). */
    void (*detach)(it_store *s, it_tensor *t);
    /* 1 and a pinned ref when present, 0 when missing, < 0 on error. */
    int (*get)(it_store *s, it_tensor *t, const it_coord *chunk, it_chunk_ref *ref);
    void (*release)(it_store *s, it_tensor *t, it_chunk_ref *ref);
    /* 1 when the chunk is stored, 0 when missing, < 0 on error; reads no chunk data. */
    int (*has)(it_store *s, it_tensor *t, const it_coord *chunk);
    /* Stores a final chunk; buf (it_buf_alloc, chunk_bytes) passes to the store even on
     * failure. On success ref pins the stored data; with ref NULL the caller will not read the
     * chunk now, and a persistent store need not keep it in memory. */
    int (*put)(it_store *s, it_tensor *t, const it_coord *chunk, void *buf, it_chunk_ref *ref);
    /* Drops what is held in memory only (t NULL: every tensor). */
    int (*clear_cache)(it_store *s, it_tensor *t);
    /* Deletes a tensor's data and registration: by handle, or by id when none is open. */
    int (*remove)(it_store *s, it_tensor *t, const char *id);
    /* Makes what was put durable. Called after every finished block of a read or fill, so a
     * crash loses at most the block in progress. */
    int (*flush)(it_store *s);
    /* Describes stored tensor `id` (for it_tensor_open): fills desc; its fn_tag points into
     * tag (tag_size bytes). NULL when the store keeps nothing across handles. */
    int (*describe)(it_store *s, const char *id, it_tensor_desc *desc, char *tag, size_t tag_size);
    /* Calls fn for every stored tensor id (NULL: the open handles are listed instead). */
    int (*list)(it_store *s, it_store_list_fn fn, void *user);
    int (*stats)(it_store *s, it_tensor *t, it_tensor_stats *st);
    /* Stored chunk coordinates of t, sorted; *out is malloc'd. */
    int (*chunks)(it_store *s, it_tensor *t, it_coord **out, size_t *n);
    /* For it_tensor_open: the stored argument ids and windows into t->stored_* (optional). */
    int (*load_args)(it_store *s, it_tensor *t);
    /* Optional: makes the chunks that `get` will be asked for next ready in memory (decoding
     * them in parallel on pool). Chunks that are absent are skipped. */
    int (*prefetch)(it_store *s, it_tensor *t, const it_coord *chunks, size_t n, it_pool *pool);
    /* Releases the backend; returns a failure the final writes met (the handle is gone
     * either way). */
    int (*close)(it_store *s);
    size_t (*memory_bytes)(const it_store *s);
} it_store_ops;

struct it_store {
    const it_store_ops *ops;
    void *impl;
    it_ctx *ctx;
    pthread_mutex_t lock;       /* guards the tensor list */
    it_tensor *tensors;         /* open handles */
};

/* Creates the generic part of a store around a backend. */
int it_store_wrap(it_ctx *ctx, const it_store_ops *ops, void *impl, it_store **out);

#endif
