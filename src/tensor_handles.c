/* Tensor handles: creating (a resolved tensor joins its store, whose record of the id is
 * compared or written), sharing (it_tensor_get_or_create), opening stored tensors, releasing,
 * and the store's registry of open handles, which its close and tensor deletion empty. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "context_impl.h"
#include "store_impl.h"
#include "tensor_meta.h"

#define FAIL(code, ...) iti_error(code, "it_tensor_create: " __VA_ARGS__)

/* ---- a store's registry ----------------------------------------------------------------------- */

/* A handle's parts that no record keeps: the callbacks and how they are called. */
static int same_callbacks(const it_tensor *open, const it_tensor *want, const char *lead) {
    const char *what = open->fn != want->fn             ? "another fn"
                       : open->user != want->user         ? "another user pointer"
                       : open->blend_fn != want->blend_fn ? "another blend_fn"
                                                          : NULL;
    if (what)
        return iti_error(IT_EMISMATCH, "%s %s than the description", lead, what);
    int rc = iti_tensor_meta_cmp_count(lead, "batch_size", (int64_t)open->batch,
                                       (int64_t)want->batch);
    return rc ? rc : iti_tensor_meta_cmp_count(lead, "flags", open->view.flags, want->view.flags);
}

/* 0 when the open tensor `open` has the configuration of the resolved, unregistered `want`
 * (the record a persistent store keeps, and fn, user, blend_fn, batch_size and flags);
 * IT_EMISMATCH naming the first difference otherwise (it_tensor_get_or_create). */
static int same_config(const it_tensor *open, it_tensor *want) {
    char lead[IT_ID_MAX + 64];
    snprintf(lead, sizeof lead, "it_tensor_get_or_create: tensor \"%s\" is open with",
             open->view.id);
    if (!open->fn)
        return iti_error(IT_EMISMATCH, "it_tensor_get_or_create: tensor \"%s\" is open without "
                         "a function (it_tensor_open)", open->view.id);
    /* a default chunk shape resolves as the open tensor's did (it may come from a store) */
    int rc = iti_tensor_adopt_stored_chunk(want, open->view.chunk);
    iti_tensor_meta *a = iti_tensor_meta_new(), *b = iti_tensor_meta_new();
    if (rc == 0 && (!a || !b))
        rc = iti_error(IT_ENOMEM, "it_tensor_get_or_create: out of memory");
    if (rc == 0) {
        iti_tensor_meta_from(open, a);
        iti_tensor_meta_from(want, b);
        rc = iti_tensor_meta_compare(a, b, lead);
    }
    iti_tensor_meta_free(a);
    iti_tensor_meta_free(b);
    return rc ? rc : same_callbacks(open, want, lead);
}

/* Links a resolved tensor into s and attaches it to the backend. A persistent store's record
 * of the id is compared with t (IT_EMISMATCH), or created from t when there is none; `opened`
 * tensors (it_tensor_open) were described from that record already. When the id is open in s:
 * IT_EEXIST without `existing`; with it, the open tensor is compared with t (same_config) and,
 * when they match, gains a handle and is returned in *existing (t is then not linked). */
static int store_register(it_store *s, it_tensor *t, bool opened, it_tensor **existing) {
    iti_tensor_meta *want = NULL, *found = NULL;
    int rc = 0;
    if (s->ops->describe && !opened) {
        want = iti_tensor_meta_new();
        found = iti_tensor_meta_new();
        if (!want || !found)
            rc = iti_error(IT_ENOMEM, "it_tensor_create: out of memory");
    }
    pthread_mutex_lock(&s->lock);
    it_tensor *open = NULL;
    for (it_tensor *o = s->tensors; rc == 0 && o && !open; o = o->next_in_store)
        if (strcmp(o->view.id, t->view.id) == 0)
            open = o;
    if (open && existing) {
        if ((rc = same_config(open, t)) == 0) {
            open->refs++;
            *existing = open;
        }
        pthread_mutex_unlock(&s->lock);
        iti_tensor_meta_free(want);
        iti_tensor_meta_free(found);
        return rc;
    }
    if (open)
        rc = iti_error(IT_EEXIST, "it_tensor_create: id \"%s\" is already open in this store",
                      t->view.id);
    const iti_tensor_meta *create = NULL;
    if (rc == 0 && want) {
        int got = s->ops->describe(s->impl, t->view.id, found);
        if (got < 0)
            rc = got;
        else if (got > 0) /* a default chunk shape takes the stored one before t's record */
            rc = iti_tensor_adopt_stored_chunk(t, found->chunk);
        if (rc == 0) {
            iti_tensor_meta_from(t, want);
            if (got > 0) {
                char lead[IT_ID_MAX + 64];
                snprintf(lead, sizeof lead, "it_tensor_create: tensor \"%s\" is stored with",
                         t->view.id);
                rc = iti_tensor_meta_compare(found, want, lead);
            }
            else
                create = want;
        }
    }
    if (rc == 0)
        rc = s->ops->attach(s->impl, &t->view, create);
    if (rc == 0) {
        t->store = s;
        t->next_in_store = s->tensors;
        s->tensors = t;
    }
    pthread_mutex_unlock(&s->lock);
    iti_tensor_meta_free(want);
    iti_tensor_meta_free(found);
    return rc;
}

static void unlink_locked(it_tensor *t) {
    it_tensor **p = &t->store->tensors;
    while (*p && *p != t)
        p = &(*p)->next_in_store;
    if (*p)
        *p = t->next_in_store;
}

static void detach(it_tensor *t) {
    it_store *s = t->store;
    s->ops->detach(s->impl, &t->view);
    iti_cache_drop(s->ctx->windows, t->view.serial, false);
}

/* Unlinks and detaches t (which is not freed), whatever its handle count. */
static void store_unregister(it_tensor *t) {
    pthread_mutex_lock(&t->store->lock);
    unlink_locked(t);
    pthread_mutex_unlock(&t->store->lock);
    detach(t);
}

/* Drops one handle of t; when it was the last, unlinks and detaches t and returns true (the
 * caller frees it). Decrement and unlinking happen under the store's lock, where
 * store_register counts reuses. */
static bool store_drop_handle(it_tensor *t) {
    pthread_mutex_lock(&t->store->lock);
    bool last = --t->refs == 0;
    if (last)
        unlink_locked(t);
    pthread_mutex_unlock(&t->store->lock);
    if (last)
        detach(t);
    return last;
}

/* ---- handles ---------------------------------------------------------------------------------- */

/* Validates desc and registers a new handle; `opened` tensors (it_tensor_open) have no fn.
 * With `share`, an open tensor of the same id and configuration is returned instead. */
static int tensor_new(it_store *store, const it_tensor_desc *desc, bool opened, bool share,
                      it_tensor **out) {
    it_tensor *t, *existing = NULL;
    int rc = iti_tensor_build(store, desc, opened, &t);
    if (rc)
        return rc;
    rc = store_register(store, t, opened, share ? &existing : NULL);
    if (rc || existing) {
        iti_tensor_free(t);
        *out = existing;
        return rc;
    }
    *out = t;
    return 0;
}

int it_tensor_create(it_store *store, const it_tensor_desc *desc, it_tensor **out) {
    if (!out)
        return FAIL(IT_EINVAL, "out is NULL");
    *out = NULL;
    if (!store || !desc)
        return FAIL(IT_EINVAL, "%s is NULL", store ? "desc" : "store");
    return tensor_new(store, desc, false, false, out);
}

int it_tensor_get_or_create(it_store *store, const it_tensor_desc *desc, it_tensor **out) {
    if (!out)
        return iti_error(IT_EINVAL, "it_tensor_get_or_create: out is NULL");
    *out = NULL;
    if (!store || !desc)
        return iti_error(IT_EINVAL, "it_tensor_get_or_create: %s is NULL", store ? "desc" : "store");
    return tensor_new(store, desc, false, desc->id != NULL, out);
}

/* The description of a stored record (it_tensor_open). */
static int meta_desc(const iti_tensor_meta *m, const char *id, it_tensor_desc *d) {
    if (m->rank < 1 || m->rank > IT_MAX_RANK || m->n_args > IT_MAX_ARGS)
        return iti_error(IT_EFORMAT, "it_tensor_open: tensor \"%s\" has unreadable metadata", id);
    it_tensor_desc_init(d, m->rank);
    d->id = id;
    memcpy(d->shape, m->shape, sizeof d->shape);
    d->dtype = m->dtype;
    d->window = m->window;
    d->blend = m->blend;
    d->blend_init = m->blend_init;
    memcpy(d->chunk, m->chunk, sizeof d->chunk);
    d->fn_tag = m->fn_tag;
    return 0;
}

/* The stored arguments (ids and windows) as it_tensor_get_info reports them, owned by t. */
static int keep_stored_args(it_tensor *t, const iti_tensor_meta *m) {
    if (m->n_args == 0)
        return 0;
    t->info_arg_ids = calloc(m->n_args, sizeof *t->info_arg_ids);
    t->info_arg_windows = calloc(m->n_args, sizeof *t->info_arg_windows);
    t->owns_info_args = true;
    if (!t->info_arg_ids || !t->info_arg_windows)
        return iti_error(IT_ENOMEM, "it_tensor_open: out of memory");
    for (size_t i = 0; i < m->n_args; i++) {
        if (!(t->info_arg_ids[i] = strdup(m->arg_ids[i])))
            return iti_error(IT_ENOMEM, "it_tensor_open: out of memory");
        t->n_info_args = i + 1;
        t->info_arg_windows[i] = m->arg_windows[i];
    }
    return 0;
}

/* Checks what resolving the stored description derived against the record. */
static int check_stored_grid(const it_tensor *t, const iti_tensor_meta *m) {
    for (int d = 0; d < t->view.rank; d++)
        if (m->grid[d] != t->view.grid[d])
            return iti_error(IT_EFORMAT, "it_tensor_open: tensor \"%s\" is stored with "
                            "grid_offset[%d] = %lld, its window and chunk imply %lld",
                            t->view.id, d, (long long)m->grid[d], (long long)t->view.grid[d]);
    return 0;
}

static int open_stored(it_store *store, const char *id, const iti_tensor_meta *m, it_tensor **out) {
    it_tensor_desc d;
    int rc = meta_desc(m, id, &d);
    if (rc)
        return rc;
    rc = tensor_new(store, &d, true, false, out);
    if (rc && rc != IT_EEXIST && rc != IT_ENOMEM && rc != IT_EFORMAT && rc != IT_EIO &&
        rc != IT_ENOSPC)
        return iti_error_prefix(IT_EFORMAT, "it_tensor_open: stored metadata are invalid: ");
    if (rc == 0) {
        (*out)->weights.p = m->weight;
        memcpy((*out)->weights.sha256, m->weight_sha256, sizeof m->weight_sha256);
    }
    if (rc == 0 && ((rc = check_stored_grid(*out, m)) || (rc = keep_stored_args(*out, m)))) {
        it_tensor_release(*out);
        *out = NULL;
    }
    return rc;
}

int it_tensor_open(it_store *store, const char *id, unsigned flags, it_tensor **out) {
    if (!out)
        return iti_error(IT_EINVAL, "it_tensor_open: NULL out");
    *out = NULL;
    if (!store || !id)
        return iti_error(IT_EINVAL, "it_tensor_open: NULL %s", store ? "id" : "store");
    if (flags & ~(unsigned)IT_OPEN_FILL_MISSING)
        return iti_error(IT_EINVAL, "it_tensor_open: unknown flags 0x%x", flags);
    if (!store->ops->describe)
        return iti_error(IT_ENOTFOUND,
                        "it_tensor_open: a %s store keeps no tensors across handles (\"%s\")",
                        store->ops->kind, id);
    iti_tensor_meta *m = iti_tensor_meta_new();
    if (!m)
        return iti_error(IT_ENOMEM, "it_tensor_open: out of memory");
    int rc = store->ops->describe(store->impl, id, m);
    if (rc == 0)
        rc = iti_error(IT_ENOTFOUND, "it_tensor_open: no tensor \"%s\" in the store", id);
    else if (rc > 0)
        rc = open_stored(store, id, m, out);
    iti_tensor_meta_free(m);
    if (rc == 0 && (flags & IT_OPEN_FILL_MISSING)) {
        it_tensor *t = *out;
        t->fill_missing = true;
        t->init_chunk = iti_buf_alloc(t->view.chunk_bytes);
        if (!t->init_chunk) {
            it_tensor_release(t);
            *out = NULL;
            return iti_error(IT_ENOMEM, "it_tensor_open: out of memory");
        }
        iti_fill_pattern(t->init_chunk, t->view.fill, t->view.esize, t->view.chunk_elems);
    }
    return rc;
}


/* Frees t whatever its handle count (store close, tensor deletion). */
static void destroy(it_tensor *t) {
    store_unregister(t);
    iti_tensor_free(t);
}

void it_tensor_release(it_tensor *t) {
    if (t && store_drop_handle(t))
        iti_tensor_free(t);
}

/* IT_EINVAL when t has chunk views or pins open (views.h): closing its store, or deleting it,
 * would take their memory away under them. */
static int refuse_if_viewed(const it_tensor *t, const char *fn) {
    int held = atomic_load(&t->views_held);
    return held ? iti_error(IT_EINVAL, "%s: tensor \"%s\" has %d chunk iterator(s) or pin(s) "
                            "open; close and release them first (nothing was changed)", fn,
                            t->view.id, held) : 0;
}

int it_store_close(it_store *store) {
    if (!store)
        return 0;
    pthread_mutex_lock(&store->lock);
    int busy = 0;
    for (const it_tensor *t = store->tensors; t && !busy; t = t->next_in_store)
        busy = refuse_if_viewed(t, "it_store_close");
    pthread_mutex_unlock(&store->lock);
    if (busy)
        return busy;
    while (store->tensors)
        destroy(store->tensors);
    int rc = store->ops->flush(store->impl);
    int crc = store->ops->close(store->impl);
    pthread_mutex_destroy(&store->lock);
    free(store);
    return rc ? rc : crc;
}

int it_store_delete_tensor(it_store *store, const char *id) {
    if (!store || !id)
        return iti_error(IT_EINVAL, "it_store_delete_tensor: NULL %s", store ? "id" : "store");
    pthread_mutex_lock(&store->lock);
    it_tensor *t = store->tensors;
    while (t && strcmp(t->view.id, id) != 0)
        t = t->next_in_store;
    int rc = t ? refuse_if_viewed(t, "it_store_delete_tensor") : 0;
    pthread_mutex_unlock(&store->lock);
    if (rc)
        return rc;
    rc = store->ops->remove(store->impl, t ? &t->view : NULL, id);
    if (rc == 0 && t)
        destroy(t);
    return rc;
}

