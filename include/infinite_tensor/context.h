/* infinite-tensor: contexts.
 *
 * A context owns the thread pool, the memory budget of evaluation (block size and window
 * cache) and the progress callback. Stores are opened on a context; every read of a tensor of
 * that store runs on that context's pool. A context may be used from several threads at once;
 * setters must not race with reads on the same context. */
#ifndef INFINITE_TENSOR_CONTEXT_H
#define INFINITE_TENSOR_CONTEXT_H

#include "infinite_tensor/types.h"

typedef struct it_ctx it_ctx;

/* Progress of a read or fill: `done` of `total` output chunks are final (exports count bytes
 * of the output written, previews report nothing). Called on the thread
 * that called it_tensor_read/it_tensor_fill, never concurrently for one call, at the start and
 * after every finished block. Return non-zero to cancel: the call then returns IT_ECANCELED
 * and every chunk already final stays stored. */
typedef int (*it_progress_fn)(uint64_t done, uint64_t total, void *user);

typedef struct it_ctx_options {
    size_t struct_size;     /* sizeof the struct as the caller's header declares it: set by
                               it_ctx_options_init; the library refuses other sizes (IT_EINVAL), so a
                               newer library never reads fields an older caller lacks */
    int threads;            /* worker threads including the caller; 0 = online CPUs */
    size_t memory_budget;   /* bytes for evaluation working memory; 0 = 512 MiB. It bounds a
                               read or fill of any region: a block's working set (its chunks,
                               the windows computing them, the upstream chunks they read) is
                               at most half; the intermediate chunks alive at once (a block's
                               and the halos kept for the next blocks, transient or pinned in
                               a store's cache) at most half, or three quarters when every
                               window is a chunk; the window cache, used
                               by other windows, a quarter. A region whose halos would not fit
                               is walked in strips that compute their halos again (README
                               "Memory and scale"). An HDF5 store's decoded-chunk cache
                               takes an eighth by default (at most 64 MiB); a memory store
                               keeps the chunks of tensors that are not transient up to its
                               own cache_bytes (unlimited by default).
                               Any size is accepted: blocks shrink to one chunk, so a budget
                               below one chunk's working set is exceeded by that much, and
                               the window cache then keeps fewer windows, which are computed
                               again */
} it_ctx_options;

#ifdef __cplusplus
extern "C" {
#endif

/* Defaults: all zero. */
IT_API void it_ctx_options_init(it_ctx_options *opts);

/* Creates a context (opts may be NULL for defaults). On success *out owns a context to be
 * released with it_ctx_destroy. IT_EINVAL (NULL out, threads < 0 or > 1024), IT_ENOMEM. */
IT_API int it_ctx_create(const it_ctx_options *opts, it_ctx **out);

/* Stops the pool and frees the context. Stores opened on it must be closed first.
 * NULL is a no-op. */
IT_API void it_ctx_destroy(it_ctx *ctx);

/* Threads the context computes with (including the calling thread). */
IT_API int it_ctx_threads(const it_ctx *ctx);

/* Sets the progress callback (NULL to remove). Returns IT_EINVAL for a NULL ctx. */
IT_API int it_ctx_set_progress(it_ctx *ctx, it_progress_fn fn, void *user);

/* Allocation statistics of the library's large buffers (chunks, windows, argument slices,
 * scratch), process-wide: bytes currently allocated and the peak since the last reset. */
IT_API void it_memory_stats(size_t *current, size_t *peak);
/* Resets the peak to the current value. */
IT_API void it_memory_reset_peak(void);

#ifdef __cplusplus
}
#endif
#endif
