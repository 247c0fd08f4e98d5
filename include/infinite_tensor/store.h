/* infinite-tensor: tile stores.
 *
 * A store keeps the final chunks of its tensors. The memory store keeps them in RAM under an
 * LRU byte limit: evicted chunks are recomputed on the next read that needs them. Persistent
 * stores (HDF5) plug into the same interface. All store functions are thread-safe. */
#ifndef INFINITE_TENSOR_STORE_H
#define INFINITE_TENSOR_STORE_H

#include "infinite_tensor/context.h"

typedef struct it_store it_store;

typedef struct it_memory_store_options {
    size_t struct_size;     /* sizeof the struct as the caller's header declares it: set by
                               it_memory_store_options_init; the library refuses other sizes (IT_EINVAL), so a
                               newer library never reads fields an older caller lacks */
    size_t cache_bytes;     /* LRU limit on stored chunk bytes; 0 = unlimited. Any size is
                               accepted: chunks in use are kept until released whatever the
                               limit, and a limit below one chunk keeps nothing after that
                               (every read computes again) */
} it_memory_store_options;

#ifdef __cplusplus
extern "C" {
#endif

IT_API void it_memory_store_options_init(it_memory_store_options *opts);

/* Opens an in-memory store on ctx (opts may be NULL). The ctx must outlive the store.
 * IT_EINVAL (NULL ctx/out), IT_ENOMEM. */
IT_API int it_store_open_memory(it_ctx *ctx, const it_memory_store_options *opts,
                                it_store **out);

/* Makes stored chunks durable (no-op for the memory store). */
IT_API int it_store_flush(it_store *store);

/* Closes the store and releases every tensor handle created on it (those handles become
 * invalid). Tensors of other stores must not use this store's tensors as arguments any more.
 * NULL is a no-op. Returns the status of the final flush; IT_EINVAL, closing nothing, while a
 * chunk iterator or pin (views.h) of one of its tensors is open. */
IT_API int it_store_close(it_store *store);

/* Drops every stored chunk of every tensor of the store that lives only in memory. */
IT_API int it_store_clear_cache(it_store *store);

/* Called once per tensor id; return non-zero to stop (it_store_list then returns that value). */
typedef int (*it_store_list_fn)(const char *id, void *user);

/* Lists the tensors of the store: every stored tensor for persistent stores, the open handles
 * for the memory store, in an unspecified order. */
IT_API int it_store_list(it_store *store, it_store_list_fn fn, void *user);

/* Bytes of chunk data the store currently holds in memory. */
IT_API size_t it_store_memory_bytes(const it_store *store);

#ifdef __cplusplus
}
#endif
#endif
