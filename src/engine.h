/* What exporters, previews and distributed fills (io/export, io/mpi) call of the engine: the
 * view of a tensor, its context's pool and budget, regions resolved into selections, reads and
 * walks through the evaluator, and chunks stored through the tensor's store. Backends implement
 * backend.h; clients of the engine include this. */
#ifndef ITI_ENGINE_H
#define ITI_ENGINE_H

#include "backend.h"

/* ---- reading tensors ------------------------------------------------------------------------- */

/* The view of a tensor (its id, rank, dtype, element size, fill value, chunking). */
const iti_store_tensor *iti_tensor_view(const it_tensor *t);

/* What an exporter may use of the tensor's context. */
typedef struct iti_engine {
    iti_pool *pool;
    size_t budget;              /* memory budget in bytes */
    it_progress_fn progress;    /* NULL when none */
    void *progress_user;
} iti_engine;

void iti_tensor_engine(const it_tensor *t, iti_engine *out);

/* A region resolved against a tensor: checked once (rank, steps, finite dimensions, sizes),
 * steps resolved, counts computed. Element k along dimension d is pixel start[d] + k*step[d]. */
typedef struct iti_selection {
    int rank;
    int64_t start[IT_MAX_RANK];
    int64_t step[IT_MAX_RANK];    /* >= 1 */
    int64_t count[IT_MAX_RANK];   /* elements selected along each dimension */
    size_t elems;                 /* product of count (0: empty) */
    size_t bytes;                 /* elems times the tensor's element size */
} iti_selection;

/* Resolves r for t; `fn` names the public function in messages. IT_EINVAL (rank, steps),
 * IT_ERANGE (outside a finite dimension), IT_EOVERFLOW (sizes). */
int iti_selection_resolve(const it_tensor *t, const it_region *r, const char *fn,
                         iti_selection *out);

/* The elements [first[d], first[d] + n[d]) of s along each dimension, as a selection. */
void iti_selection_sub(const iti_selection *s, const int64_t *first, const int64_t *n,
                      size_t esize, iti_selection *out);

/* Reads selection s of t into buf (s->bytes, C order), without progress reports (the caller
 * reports its own); `fn` names the public function in messages. */
int iti_eval_read(it_tensor *t, const iti_selection *s, void *buf, const char *fn);

/* ---- walking and writing chunks -------------------------------------------------------------- */

/* The chunks selection s of t touches, lexicographic; *out is malloc'd (NULL when n is 0). */
int iti_selection_chunks(const it_tensor *t, const iti_selection *s, iti_coord **out, size_t *n);
/* 1 when chunk c of t is stored, 0 when it is not, < 0 on error. */
int iti_tensor_has_chunk(it_tensor *t, const iti_coord *c);
/* Called with each block of iti_eval_visit: its n chunks, final, lexicographic (refs[i].data:
 * chunk_bytes, valid during the call). Non-zero ends the walk and is returned. */
typedef int (*iti_block_visit)(const iti_coord *coords, const iti_chunk_ref *refs, size_t n,
                               void *user);
/* Walks selection s of t like a fill, planned once (blocks within `budget`, 0 for the context's
 * budget; transient chunks let go), and visits every chunk it touches, final, block by block:
 * the sink of exports, previews and distributed fills. `fn` names the caller in messages. */
int iti_eval_visit(it_tensor *t, const iti_selection *s, size_t budget, iti_block_visit visit,
                   void *user, const char *fn);
/* The part of selection s in chunk c of t: indices first[d] .. first[d] + n[d] of the selection
 * along each dimension, the first of them at[d] pixels into the chunk (then every step[d]).
 * False when the selection has no pixel in the chunk. */
bool iti_selection_in_chunk(const iti_store_tensor *t, const iti_selection *s, const iti_coord *c,
                            int64_t *first, int64_t *n, int64_t *at);
/* Copies that part (n and at from iti_selection_in_chunk) out of the chunk's pixels `chunk`
 * into dst, with element strides dstr per dimension (dst: the part's first element). */
void iti_selection_gather(const iti_store_tensor *t, const iti_selection *s, const int64_t *n,
                          const int64_t *at, const void *chunk, void *dst, const int64_t *dstr);
/* Makes what every store of t's upstream closure holds durable. */
int iti_tensor_flush_stores(const it_tensor *t);
/* Drops what every store of t's upstream closure holds in memory only (persistent stores keep
 * their data; memory stores lose their chunks). */
void iti_tensor_drop_cached(it_tensor *t);

/* Number of chunks of s that are neither stored nor computable (the tensor has no function
 * and was opened without IT_OPEN_FILL_MISSING); 0 when the read can only succeed. Regions of
 * more than 65536 chunks are counted against the store's chunk listing, without a question per
 * chunk: a region of billions of chunks is refused at once. */
int iti_eval_count_uncomputable(it_tensor *t, const iti_selection *s, uint64_t *count);
/* Number of chunks of s that a tensor without function never stored, whether or not it was
 * opened with IT_OPEN_FILL_MISSING (0 for tensors with a function). */
int iti_eval_count_never_computed(it_tensor *t, const iti_selection *s, uint64_t *count);
/* With IT_OPEN_FILL_MISSING, the chunk of blend_init that never-computed chunks read as (the
 * refs iti_eval_visit passes for them point to it); NULL otherwise. */
const void *iti_tensor_never_computed_chunk(const it_tensor *t);

/* How chunks of t's store are encoded for iti_tensor_put_encoded; IT_EINVAL naming the store's
 * kind when it takes no encoded chunks (or not now: read only). */
int iti_tensor_chunk_encoding(it_tensor *t, iti_chunk_encoding *out);
/* Stores chunk c of t from its encoding (iti_tensor_chunk_encoding), checked, not decoded;
 * durable at the next flush of t's store. */
int iti_tensor_put_encoded(it_tensor *t, const iti_coord *c, const void *enc, size_t len);

#endif
