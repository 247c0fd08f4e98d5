/* The generic store handle: dispatch to the backend, the open tensor handles, and what is
 * derived from the backend's reports (stats, chunk listings). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "context_impl.h"
#include "store_impl.h"
#include "tensor_meta.h"

int iti_store_wrap(it_ctx *ctx, const iti_store_ops *ops, void *impl, it_store **out) {
    if (!ops || ops->version != ITI_STORE_BACKEND_VERSION)
        return iti_error(IT_EINVAL, "a store backend of interface version %d cannot be used "
                        "(this library has version %d)", ops ? ops->version : -1,
                        ITI_STORE_BACKEND_VERSION);
    it_store *s = calloc(1, sizeof *s);
    if (!s)
        return iti_error(IT_ENOMEM, "out of memory opening a store");
    s->ops = ops;
    s->impl = impl;
    s->ctx = ctx;
    pthread_mutex_init(&s->lock, NULL);
    *out = s;
    return 0;
}

int iti_store_unwrap(it_store *s, const iti_store_ops **ops, void **impl) {
    pthread_mutex_lock(&s->lock);
    bool busy = s->tensors != NULL;
    pthread_mutex_unlock(&s->lock);
    if (busy)
        return iti_error(IT_EINVAL, "a store with open tensors cannot hand over its backend");
    *ops = s->ops;
    *impl = s->impl;
    pthread_mutex_destroy(&s->lock);
    free(s);
    return 0;
}

void *iti_store_backend(it_store *s, const iti_store_ops *ops) {
    return s->ops == ops ? s->impl : NULL;
}

void *iti_tensor_backend(it_tensor *t, const iti_store_ops *ops, iti_store_tensor **view) {
    *view = &t->view;
    return t->store->ops == ops ? t->store->impl : NULL;
}

int iti_tensor_chunk_encoding(it_tensor *t, iti_chunk_encoding *out) {
    const iti_store_ops *ops = t->store->ops;
    if (!ops->encoding || !ops->put_encoded)
        return iti_error(IT_EINVAL, "tensor \"%s\": a %s store takes no chunks encoded elsewhere",
                         t->view.id, ops->kind);
    return ops->encoding(t->store->impl, &t->view, out);
}

int iti_tensor_put_encoded(it_tensor *t, const iti_coord *c, const void *enc, size_t len) {
    const iti_store_ops *ops = t->store->ops;
    if (!ops->put_encoded)
        return iti_error(IT_EINVAL, "tensor \"%s\": a %s store takes no chunks encoded elsewhere",
                         t->view.id, ops->kind);
    return ops->put_encoded(t->store->impl, &t->view, c, enc, len);
}

const iti_store_tensor *iti_tensor_view(const it_tensor *t) { return &t->view; }

void iti_tensor_engine(const it_tensor *t, iti_engine *out) {
    const it_ctx *ctx = t->store->ctx;
    *out = (iti_engine){.pool = ctx->pool, .budget = ctx->budget, .progress = ctx->progress,
                       .progress_user = ctx->progress_user};
}

size_t iti_ctx_budget(const it_ctx *ctx) { return ctx->budget; }

/* ---- tensor handles ------------------------------------------------------------------------- */

/* ---- store operations ------------------------------------------------------------------------ */

int it_store_flush(it_store *store) {
    if (!store)
        return iti_error(IT_EINVAL, "it_store_flush: NULL store");
    return store->ops->flush(store->impl);
}

int it_store_clear_cache(it_store *store) {
    if (!store)
        return iti_error(IT_EINVAL, "it_store_clear_cache: NULL store");
    pthread_mutex_lock(&store->lock);
    for (it_tensor *t = store->tensors; t; t = t->next_in_store)
        iti_cache_drop(store->ctx->windows, t->view.serial, false);
    pthread_mutex_unlock(&store->lock);
    store->ops->clear_cache(store->impl, NULL);
    return 0;
}

size_t it_store_memory_bytes(const it_store *store) {
    return store ? store->ops->memory_bytes(store->impl) : 0;
}

int it_store_list(it_store *store, it_store_list_fn fn, void *user) {
    if (!store || !fn)
        return iti_error(IT_EINVAL, "it_store_list: NULL %s", store ? "fn" : "store");
    if (store->ops->list)
        return store->ops->list(store->impl, fn, user);
    /* Handles: copy the ids first, the callback may create or release tensors. */
    pthread_mutex_lock(&store->lock);
    size_t n = 0;
    for (it_tensor *t = store->tensors; t; t = t->next_in_store)
        n++;
    char **ids = calloc(n ? n : 1, sizeof *ids);
    size_t i = 0;
    for (it_tensor *t = store->tensors; ids && t; t = t->next_in_store)
        ids[i++] = strdup(t->view.id);
    pthread_mutex_unlock(&store->lock);
    if (!ids)
        return iti_error(IT_ENOMEM, "it_store_list: out of memory");
    int rc = 0;
    for (i = 0; i < n; i++) {
        if (rc == 0 && ids[i])
            rc = fn(ids[i], user);
        free(ids[i]);
    }
    free(ids);
    return rc;
}

/* ---- what is stored of a tensor ---------------------------------------------------------------- */

int it_tensor_foreach_chunk(it_tensor *t, it_chunk_fn fn, void *user) {
    if (!t || !fn)
        return iti_error(IT_EINVAL, "it_tensor_foreach_chunk: NULL %s", t ? "fn" : "tensor");
    iti_coord *all = NULL;
    size_t n = 0;
    int rc = t->store->ops->chunks(t->store->impl, &t->view, &all, &n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        int64_t a[IT_MAX_RANK], b[IT_MAX_RANK];
        iti_chunk_box(&t->view, &all[i], a, b);
        rc = fn(a, b, user);
    }
    free(all);
    return rc;
}

int it_tensor_get_stats(it_tensor *t, it_tensor_stats *st) {
    if (!t || !st)
        return iti_error(IT_EINVAL, "it_tensor_get_stats: NULL %s", t ? "stats" : "tensor");
    memset(st, 0, sizeof *st);
    const iti_store_ops *ops = t->store->ops;
    iti_coord *all = NULL;
    size_t n = 0;
    int rc = ops->chunks(t->store->impl, &t->view, &all, &n);
    if (rc == 0 && ops->stored_bytes)
        rc = ops->stored_bytes(t->store->impl, &t->view, &st->stored_bytes);
    else
        st->stored_bytes = (uint64_t)n * t->view.chunk_bytes;
    if (rc) {
        free(all);
        return rc;
    }
    st->chunks = n;
    for (size_t i = 0; i < n; i++) {
        int64_t a[IT_MAX_RANK], b[IT_MAX_RANK];
        iti_chunk_box(&t->view, &all[i], a, b);
        for (int d = 0; d < t->view.rank; d++) {
            if (i == 0 || a[d] < st->bbox_start[d])
                st->bbox_start[d] = a[d];
            if (i == 0 || b[d] > st->bbox_stop[d])
                st->bbox_stop[d] = b[d];
        }
    }
    free(all);
    return 0;
}

int it_tensor_get_counters(const it_tensor *t, it_tensor_counters *c) {
    if (!t || !c)
        return iti_error(IT_EINVAL, "it_tensor_get_counters: NULL %s", t ? "counters" : "tensor");
    *c = (it_tensor_counters){
        .fn_calls = atomic_load(&t->fn_calls),
        .windows_computed = atomic_load(&t->windows_computed),
        .chunks_computed = atomic_load(&t->chunks_computed),
        .chunks_loaded = atomic_load(&t->chunks_loaded),
    };
    return 0;
}

int it_tensor_reset_counters(it_tensor *t) {
    if (!t)
        return iti_error(IT_EINVAL, "it_tensor_reset_counters: NULL tensor");
    atomic_store(&t->fn_calls, 0);
    atomic_store(&t->windows_computed, 0);
    atomic_store(&t->chunks_computed, 0);
    atomic_store(&t->chunks_loaded, 0);
    return 0;
}

int it_tensor_clear_cache(it_tensor *t) {
    if (!t)
        return iti_error(IT_EINVAL, "it_tensor_clear_cache: NULL tensor");
    iti_cache_drop(t->store->ctx->windows, t->view.serial, false);
    t->store->ops->clear_cache(t->store->impl, &t->view);
    return 0;
}
