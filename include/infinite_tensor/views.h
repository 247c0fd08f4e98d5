/* infinite-tensor: stored chunks in place (zero-copy reads).
 *
 * A chunk iterator hands out, block by block, read-only views of the chunks covering a region:
 * each chunk's coordinates, the pixel box it covers, a pointer to its first element and its
 * strides. The views point into the store's own memory (memory-store chunks in place, decoded
 * chunks pinned in an HDF5 store's cache), so a program summing or scanning a region larger
 * than memory reads it without an output buffer and without a copy. Missing chunks are computed
 * first, as by it_tensor_fill (each once; a block at a time, within the context's memory
 * budget or `budget`); a tensor from it_tensor_open reports them (IT_ENOTCOMPUTED), or with
 * IT_OPEN_FILL_MISSING gives views of a chunk of blend_init (`computed` 0).
 *
 * Uncompressed chunks of an HDF5 store opened read-only with it_hdf5_options.map come straight
 * from a mapping of the file. Other opens read each chunk once into the cache: a live reader
 * lets writers in, and a writer's commits may shrink the file (HDF5 returns space freed at its
 * end, a deleted tensor's chunks among it), so a mapping there could end in SIGBUS; the store
 * maps only where its lock keeps every writer out.
 *
 * Views are valid until the next it_chunk_views_next or it_chunk_views_close. The tensor (and
 * its store) must stay open until the iterator is closed. Not from inside window functions
 * (IT_EINVAL: read there with it_tensor_read). */
#ifndef INFINITE_TENSOR_VIEWS_H
#define INFINITE_TENSOR_VIEWS_H

#include "infinite_tensor/region.h"
#include "infinite_tensor/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct it_chunk_view {
    int rank;
    int64_t chunk[IT_MAX_RANK];   /* the chunk's coordinates in the tensor's chunk grid */
    int64_t start[IT_MAX_RANK];   /* the pixel box it covers: [start, start + shape) */
    int64_t shape[IT_MAX_RANK];   /* the tensor's chunk shape */
    int64_t strides[IT_MAX_RANK]; /* bytes from an element to the next along each dimension */
    int64_t first[IT_MAX_RANK];   /* the part of the region inside the chunk: pixels */
    int64_t last[IT_MAX_RANK];    /* [first, last) along each dimension */
    const void *data;             /* the element at `start` (read-only) */
    int computed;                 /* 0: never computed (blend_init everywhere; see above) */
} it_chunk_view;

typedef struct it_chunk_views it_chunk_views;

/* Starts iterating over the chunks of `region` (steps must be 1) of t; budget bounds the bytes
 * of a block (0: the context's budget). IT_EINVAL (NULL, steps, inside a window function),
 * IT_ERANGE, IT_ENOMEM. */
IT_API int it_chunk_views_open(it_tensor *t, const it_region *region, size_t budget,
                               it_chunk_views **out);

/* The next block: 1 with *views (n of them, lexicographic by chunk), 0 after the last block,
 * or an error of computing or reading the chunks (the iteration is then over). The views of
 * the previous block are let go. */
IT_API int it_chunk_views_next(it_chunk_views *it, const it_chunk_view **views, size_t *n);

/* Ends the iteration (also before its end) and frees it; NULL is ignored. */
IT_API void it_chunk_views_close(it_chunk_views *it);

/* Keeps one view's chunk in memory past its block: v->data stays valid until the pin is
 * released (a language binding ties it to the arrays it makes of the view). The tensor must
 * stay open until then. IT_EINVAL, IT_ENOMEM, or a store's error. */
typedef struct it_chunk_pin it_chunk_pin;
IT_API int it_chunk_pin_take(it_tensor *t, const it_chunk_view *v, it_chunk_pin **out);
IT_API void it_chunk_pin_release(it_chunk_pin *pin);

#ifdef __cplusplus
}
#endif
#endif
