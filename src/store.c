/* Generic store handle: dispatch to the backend and bookkeeping of open tensor handles. */
#include <stdlib.h>
#include <string.h>

#include "context_impl.h"
#include "store_backend.h"
#include "tensor_impl.h"

int it_store_wrap(it_ctx *ctx, const it_store_ops *ops, void *impl, it_store **out) {
    it_store *s = calloc(1, sizeof *s);
    if (!s)
        return it_error(IT_ENOMEM, "out of memory opening a store");
    s->ops = ops;
    s->impl = impl;
    s->ctx = ctx;
    pthread_mutex_init(&s->lock, NULL);
    *out = s;
    return 0;
}

int it_store_flush(it_store *store) {
    if (!store)
        return it_error(IT_EINVAL, "it_store_flush: NULL store");
    return store->ops->flush(store);
}

int it_store_close(it_store *store) {
    if (!store)
        return 0;
    while (store->tensors)
        it_tensor_release(store->tensors);
    int rc = store->ops->flush(store);
    int crc = store->ops->close(store);
    pthread_mutex_destroy(&store->lock);
    free(store);
    return rc ? rc : crc;
}

int it_store_clear_cache(it_store *store) {
    if (!store)
        return it_error(IT_EINVAL, "it_store_clear_cache: NULL store");
    pthread_mutex_lock(&store->lock);
    for (it_tensor *t = store->tensors; t; t = t->next_in_store)
        it_cache_drop(store->ctx->windows, t->serial, false);
    pthread_mutex_unlock(&store->lock);
    return store->ops->clear_cache(store, NULL);
}

size_t it_store_memory_bytes(const it_store *store) {
    return store ? store->ops->memory_bytes(store) : 0;
}

int it_store_delete_tensor(it_store *store, const char *id) {
    if (!store || !id)
        return it_error(IT_EINVAL, "it_store_delete_tensor: NULL %s", store ? "id" : "store");
    pthread_mutex_lock(&store->lock);
    it_tensor *t = store->tensors;
    while (t && strcmp(t->id, id) != 0)
        t = t->next_in_store;
    pthread_mutex_unlock(&store->lock);
    int rc = store->ops->remove(store, t, id);
    if (rc == 0 && t)
        it_tensor_release(t);
    return rc;
}
