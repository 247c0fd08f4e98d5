/* Tensor internals: the validated, resolved description plus evaluation state. */
#ifndef ITI_TENSOR_IMPL_H
#define ITI_TENSOR_IMPL_H

#include <pthread.h>
#include <stdatomic.h>

#include "engine.h"
#include "htab.h"
#include "blend/weights.h"

struct it_tensor {
    iti_store_tensor view;       /* what stores see: id, shape, dtype, chunking, fill value */
    it_store *store;
    it_tensor *next_in_store;
    char *fn_tag;

    it_window win;              /* resolved output window */
    size_t n_args;
    it_tensor **args;
    it_window *arg_windows;     /* resolved; map entries index this tensor's window index */
    size_t *arg_bytes;          /* bytes of one argument slice */

    /* The upstream closure, computed once at creation: the distinct stores of t and of every
     * tensor upstream of it (t's own first; flushed after every block of a read or fill),
     * and the longest chain from t down to a tensor without arguments (1 for those). */
    it_store **stores;
    size_t n_stores;
    int depth;

    it_window_fn fn;
    void *user;
    size_t batch;               /* >= 1 */
    it_blend blend;
    it_blend_fn blend_fn;
    double blend_init;
    iti_weights weights;        /* IT_BLEND_WEIGHTED */

    int64_t chunk_request[IT_MAX_RANK]; /* it_tensor_desc.chunk as given (0: default) */
    size_t win_elems, win_bytes;
    /* Windows allowed by the finite dimensions: valid_lo[k] <= w[k] <= valid_hi[k]. */
    int64_t valid_lo[IT_MAX_RANK], valid_hi[IT_MAX_RANK];
    bool no_windows;            /* no window fits the finite dimensions */
    /* Each chunk is exactly one window and one window's output is the chunk's value, so fn
     * writes straight into the chunk buffer. */
    bool direct;

    pthread_mutex_t fn_lock;    /* IT_TENSOR_SERIAL */
    pthread_mutex_t claim_lock; /* chunks being computed by some thread */
    pthread_cond_t claim_cv;
    iti_htab claims;

    bool fill_missing;          /* opened with IT_OPEN_FILL_MISSING (no fn) */
    size_t n_info_args;         /* argument ids and windows as reported by it_tensor_get_info */
    const char **info_arg_ids;  /* created: the args' ids; opened: stored ids (owned) */
    it_window *info_arg_windows;/* opened: stored windows (owned); created: arg_windows */
    bool owns_info_args;
    void *init_chunk;           /* a chunk of blend_init, for fill_missing */

    int refs;                   /* handles: 1 + it_tensor_get_or_create's reuses; guarded by
                                   the store's lock, so a reuse never meets a last release */

    /* it_tensor_counters */
    atomic_uint_fast64_t fn_calls, windows_computed, chunks_computed, chunks_loaded;
    atomic_int views_held;       /* chunk iterators and pins open on it (views.h) */
};

/* A tensor reconnecting to a stored one whose chunk shape differs from t's only where t took
 * the default (stores made when the default rule was another) takes the stored shape; t is
 * otherwise unchanged. When the stored shape is not a valid one for t, t keeps its own and the
 * comparison that follows reports the difference. 0, or the error of restoring t. */
int iti_tensor_adopt_stored_chunk(it_tensor *t, const int64_t *stored);

/* A new tensor resolved from desc into store's upstream closure, not yet registered in the
 * store (tensor_handles.c does that); `opened` tensors (it_tensor_open) have no fn. */
int iti_tensor_build(it_store *store, const it_tensor_desc *desc, bool opened, it_tensor **out);

/* Frees a tensor that is in no store's list. */
void iti_tensor_free(it_tensor *t);

#endif
