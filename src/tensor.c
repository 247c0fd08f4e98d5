/* Tensor descriptors: validation, defaults and registration in a store. */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "context_impl.h"
#include "dtype.h"
#include "tensor_impl.h"
#include "window_math.h"

#define CHUNK_TARGET_BYTES ((size_t)256 << 10)
#define CHUNK_MAX_BYTES ((size_t)0xffffffffu) /* HDF5's chunk size limit */
#define FN_TAG_MAX 4096

#define FAIL(code, ...) it_error(code, "it_tensor_create: " __VA_ARGS__)

int it_tensor_desc_init(it_tensor_desc *desc, int rank) {
    if (!desc)
        return it_error(IT_EINVAL, "it_tensor_desc_init: NULL desc");
    memset(desc, 0, sizeof *desc);
    if (rank < 1 || rank > IT_MAX_RANK)
        return it_error(IT_EINVAL, "it_tensor_desc_init: rank must be 1..%d (got %d)",
                        IT_MAX_RANK, rank);
    desc->rank = rank;
    desc->window.rank = rank;
    for (int d = 0; d < rank; d++)
        desc->window.map[d] = d;
    return 0;
}

static int check_id(const char *id) {
    size_t n = strlen(id);
    if (n == 0 || n > IT_ID_MAX)
        return FAIL(IT_EINVAL, "id must have 1..%d bytes (got %zu)", IT_ID_MAX, n);
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok)
            return FAIL(IT_EINVAL, "id \"%s\": byte %zu is not one of [A-Za-z0-9._-]", id, i);
    }
    if (strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
        return FAIL(IT_EINVAL, "id must not be \".\" or \"..\"");
    return 0;
}

static int check_blend(const it_tensor_desc *d, it_tensor *t) {
    if ((unsigned)d->blend >= IT_BLEND_COUNT_)
        return FAIL(IT_EINVAL, "blend must be an it_blend value (got %d)", (int)d->blend);
    if (d->blend == IT_BLEND_CUSTOM && !d->blend_fn)
        return FAIL(IT_EINVAL, "blend IT_BLEND_CUSTOM needs blend_fn");
    if (d->blend != IT_BLEND_CUSTOM && d->blend_fn)
        return FAIL(IT_EINVAL, "blend_fn is set but blend is not IT_BLEND_CUSTOM");
    int rc = it_dtype_from_double(d->dtype, d->blend_init, t->init, "blend_init");
    if (rc)
        return it_error_prefix(rc, "it_tensor_create: ");
    return 0;
}

/* Element count of a shape, overflow-checked, times esize. */
static bool shape_bytes(const int64_t *shape, int rank, size_t esize, size_t *elems,
                        size_t *bytes) {
    size_t n = 1;
    for (int d = 0; d < rank; d++)
        if ((uint64_t)shape[d] > SIZE_MAX || !it_mul_size(n, (size_t)shape[d], &n))
            return false;
    *elems = n;
    return it_mul_size(n, esize, bytes);
}

static int64_t pos_mod(int64_t a, int64_t m) {
    int64_t r = a % m;
    return r < 0 ? r + m : r;
}

static int resolve_chunks(const it_tensor_desc *d, it_tensor *t) {
    int rank = t->rank;
    for (int k = 0; k < rank; k++) {
        if (d->chunk[k] < 0)
            return FAIL(IT_EINVAL, "chunk[%d] must be >= 0 (got %lld)", k,
                        (long long)d->chunk[k]);
        if (d->chunk[k] > 0)
            t->chunk[k] = d->chunk[k];
        else if (t->shape[k] != IT_INF)
            t->chunk[k] = t->shape[k];
        else
            t->chunk[k] = t->win.map[k] == IT_MAP_FIXED ? 1 : t->win.stride[k];
    }
    /* Grow default infinite extents by doubling the smallest until near the target size. */
    size_t elems, bytes;
    if (!shape_bytes(t->chunk, rank, t->esize, &elems, &bytes))
        return FAIL(IT_EOVERFLOW, "chunk byte size overflows");
    for (;;) {
        int best = -1;
        for (int k = 0; k < rank; k++)
            if (d->chunk[k] == 0 && t->shape[k] == IT_INF && t->win.map[k] != IT_MAP_FIXED &&
                (best < 0 || t->chunk[k] < t->chunk[best]))
                best = k;
        if (best < 0 || bytes > CHUNK_TARGET_BYTES / 2 || t->chunk[best] > INT64_MAX / 2)
            break;
        t->chunk[best] *= 2;
        bytes *= 2;
        elems *= 2;
    }
    if (bytes > CHUNK_MAX_BYTES)
        return FAIL(IT_EINVAL, "a chunk of %zu bytes exceeds the 4 GiB chunk limit; set chunk", bytes);
    t->chunk_elems = elems;
    t->chunk_bytes = bytes;
    for (int k = 0; k < rank; k++)
        t->grid[k] = t->shape[k] == IT_INF ? pos_mod(t->win.offset[k], t->chunk[k]) : 0;
    return 0;
}

static void resolve_valid_windows(it_tensor *t) {
    for (int k = 0; k < t->rank; k++) {
        t->valid_lo[k] = INT64_MIN;
        t->valid_hi[k] = INT64_MAX;
    }
    t->no_windows = false;
    for (int d = 0; d < t->rank; d++) {
        if (t->shape[d] == IT_INF || t->win.map[d] == IT_MAP_FIXED)
            continue;
        int k = t->win.map[d];
        it_i128 s = t->win.stride[d], o = t->win.offset[d];
        /* 0 <= w*s + o  and  w*s + o + size <= n */
        it_i128 lo = it_ceildiv(-o, s);
        it_i128 hi = it_floordiv((it_i128)t->shape[d] - t->win.size[d] - o, s);
        if (lo > t->valid_lo[k])
            t->valid_lo[k] = (int64_t)lo;
        if (hi < t->valid_hi[k])
            t->valid_hi[k] = (int64_t)hi;
    }
    for (int k = 0; k < t->rank; k++)
        if (t->valid_lo[k] > t->valid_hi[k])
            t->no_windows = true;
}

/* One window's output is the chunk's final value when the blend of a single window over
 * blend_init returns that window unchanged. */
static bool single_window_is_identity(const it_tensor *t) {
    bool is_float = it_dtype_is_float(t->dtype);
    switch (t->blend) {
    case IT_BLEND_REPLACE:
    case IT_BLEND_MEAN:
        return true;
    case IT_BLEND_SUM: {
        static const unsigned char zero[8];
        return memcmp(t->init, zero, t->esize) == 0;
    }
    case IT_BLEND_MAX:
        return is_float && isinf(t->blend_init) && t->blend_init < 0;
    case IT_BLEND_MIN:
        return is_float && isinf(t->blend_init) && t->blend_init > 0;
    default:
        return false;
    }
}

static bool resolve_direct(const it_tensor *t) {
    if (!single_window_is_identity(t) || t->no_windows)
        return false;
    for (int d = 0; d < t->rank; d++) {
        const it_window *w = &t->win;
        if (w->map[d] != d || w->size[d] != w->stride[d] || w->size[d] != t->chunk[d])
            return false;
        if (t->shape[d] == IT_INF ? pos_mod(w->offset[d], t->chunk[d]) != t->grid[d]
                                  : (w->offset[d] != 0 || w->size[d] != t->shape[d]))
            return false;
    }
    return true;
}

static void tensor_free(it_tensor *t) {
    if (!t)
        return;
    it_buf_free(t->init_chunk);
    if (t->owns_info_args) {
        for (size_t i = 0; i < t->n_info_args; i++)
            free((char *)t->info_arg_ids[i]);
        free(t->info_arg_windows);
    }
    free(t->info_arg_ids);
    free(t->id);
    free(t->fn_tag);
    free(t->args);
    free(t->arg_windows);
    free(t->arg_bytes);
    it_htab_free(&t->claims);
    pthread_mutex_destroy(&t->fn_lock);
    pthread_mutex_destroy(&t->claim_lock);
    pthread_cond_destroy(&t->claim_cv);
    free(t);
}

static int resolve(const it_tensor_desc *d, it_tensor *t, bool stored) {
    if (d->rank < 1 || d->rank > IT_MAX_RANK)
        return FAIL(IT_EINVAL, "rank must be 1..%d (got %d)", IT_MAX_RANK, d->rank);
    t->rank = d->rank;
    for (int k = 0; k < d->rank; k++) {
        if (d->shape[k] <= 0 && d->shape[k] != IT_INF)
            return FAIL(IT_EINVAL, "shape[%d] must be > 0 or IT_INF (got %lld)", k,
                        (long long)d->shape[k]);
        t->shape[k] = d->shape[k];
    }
    if ((unsigned)d->dtype >= IT_DTYPE_COUNT)
        return FAIL(IT_EINVAL, "dtype must be an it_dtype value (got %d)", (int)d->dtype);
    t->dtype = d->dtype;
    t->esize = it_dtype_size(d->dtype);
    if (d->window.rank != d->rank)
        return FAIL(IT_EINVAL, "window.rank (%d) must equal the tensor rank (%d)",
                     d->window.rank, d->rank);
    int rc = it_window_resolve(&d->window, d->rank, "window", &t->win);
    if (rc)
        return it_error_prefix(rc, "it_tensor_create: ");
    if (!d->fn && !stored)
        return FAIL(IT_EINVAL, "fn must not be NULL");
    if (d->flags & ~(unsigned)IT_TENSOR_SERIAL)
        return FAIL(IT_EINVAL, "flags has unknown bits 0x%x", d->flags & ~(unsigned)IT_TENSOR_SERIAL);
    t->flags = d->flags;
    t->fn = d->fn;
    t->user = d->user;
    t->batch = d->batch_size ? d->batch_size : 1;
    t->blend = d->blend;
    t->blend_fn = d->blend_fn;
    t->blend_init = d->blend_init;
    if ((rc = check_blend(d, t)))
        return rc;
    if (!shape_bytes(t->win.size, t->rank, t->esize, &t->win_elems, &t->win_bytes))
        return FAIL(IT_EOVERFLOW, "window byte size overflows");

    if (d->n_args > 0 && (!d->args || !d->arg_windows))
        return FAIL(IT_EINVAL, "n_args is %zu but %s is NULL", d->n_args,
                    d->args ? "arg_windows" : "args");
    if (d->n_args > 64)
        return FAIL(IT_EINVAL, "n_args must be <= 64 (got %zu)", d->n_args);
    t->n_args = d->n_args;
    if (d->n_args) {
        t->args = calloc(d->n_args, sizeof *t->args);
        t->arg_windows = calloc(d->n_args, sizeof *t->arg_windows);
        t->arg_bytes = calloc(d->n_args, sizeof *t->arg_bytes);
        if (!t->args || !t->arg_windows || !t->arg_bytes)
            return FAIL(IT_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < d->n_args; i++) {
        const it_tensor *a = d->args[i];
        if (!a)
            return FAIL(IT_EINVAL, "args[%zu] is NULL", i);
        if (d->arg_windows[i].rank != a->rank)
            return FAIL(IT_EINVAL, "arg_windows[%zu].rank (%d) must equal the rank of args[%zu] (%d)",
                        i, d->arg_windows[i].rank, i, a->rank);
        char what[48];
        snprintf(what, sizeof what, "arg_windows[%zu]", i);
        if ((rc = it_window_resolve(&d->arg_windows[i], d->rank, what, &t->arg_windows[i])))
            return it_error_prefix(rc, "it_tensor_create: ");
        size_t elems;
        if (!shape_bytes(t->arg_windows[i].size, a->rank, a->esize, &elems, &t->arg_bytes[i]))
            return FAIL(IT_EOVERFLOW, "arg_windows[%zu] slice byte size overflows", i);
        t->args[i] = (it_tensor *)a;
    }
    if (d->n_args) {
        t->info_arg_ids = calloc(d->n_args, sizeof *t->info_arg_ids);
        if (!t->info_arg_ids)
            return FAIL(IT_ENOMEM, "out of memory");
        for (size_t i = 0; i < d->n_args; i++)
            t->info_arg_ids[i] = t->args[i]->id;
        t->n_info_args = d->n_args;
        t->info_arg_windows = t->arg_windows;
    }
    if ((rc = resolve_chunks(d, t)))
        return rc;
    resolve_valid_windows(t);
    t->direct = resolve_direct(t);

    const char *tag = d->fn_tag ? d->fn_tag : "";
    if (strlen(tag) > FN_TAG_MAX)
        return FAIL(IT_EINVAL, "fn_tag is longer than %d bytes", FN_TAG_MAX);
    t->fn_tag = strdup(tag);
    if (!t->fn_tag)
        return FAIL(IT_ENOMEM, "out of memory");
    if (d->id) {
        if ((rc = check_id(d->id)))
            return rc;
        t->id = strdup(d->id);
    } else {
        char gen[64];
        snprintf(gen, sizeof gen, "tensor-%ld-%llu", (long)getpid(),
                 (unsigned long long)t->serial);
        t->id = strdup(gen);
    }
    if (!t->id)
        return FAIL(IT_ENOMEM, "out of memory");
    return 0;
}

/* Validates desc and registers a new handle; `stored` tensors (it_tensor_open) have no fn. */
static int tensor_new(it_store *store, const it_tensor_desc *desc, bool stored, it_tensor **out) {
    it_tensor *t = calloc(1, sizeof *t);
    if (!t)
        return FAIL(IT_ENOMEM, "out of memory");
    t->serial = it_next_serial();
    pthread_mutex_init(&t->fn_lock, NULL);
    pthread_mutex_init(&t->claim_lock, NULL);
    pthread_cond_init(&t->claim_cv, NULL);
    int rc = it_htab_init(&t->claims, 16);
    if (rc == 0)
        rc = resolve(desc, t, stored);
    if (rc) {
        tensor_free(t);
        return rc;
    }
    t->store = store;
    pthread_mutex_lock(&store->lock);
    for (it_tensor *o = store->tensors; o; o = o->next_in_store) {
        if (strcmp(o->id, t->id) == 0) {
            pthread_mutex_unlock(&store->lock);
            rc = FAIL(IT_EEXIST, "id \"%s\" is already open in this store", t->id);
            tensor_free(t);
            return rc;
        }
    }
    rc = store->ops->attach(store, t);
    if (rc) {
        pthread_mutex_unlock(&store->lock);
        tensor_free(t);
        return rc;
    }
    t->next_in_store = store->tensors;
    store->tensors = t;
    pthread_mutex_unlock(&store->lock);
    *out = t;
    return 0;
}

int it_tensor_create(it_store *store, const it_tensor_desc *desc, it_tensor **out) {
    if (!out)
        return FAIL(IT_EINVAL, "out is NULL");
    *out = NULL;
    if (!store || !desc)
        return FAIL(IT_EINVAL, "%s is NULL", store ? "desc" : "store");
    return tensor_new(store, desc, false, out);
}

int it_tensor_open(it_store *store, const char *id, unsigned flags, it_tensor **out) {
    if (!out)
        return it_error(IT_EINVAL, "it_tensor_open: NULL out");
    *out = NULL;
    if (!store || !id)
        return it_error(IT_EINVAL, "it_tensor_open: NULL %s", store ? "id" : "store");
    if (flags & ~(unsigned)IT_OPEN_FILL_MISSING)
        return it_error(IT_EINVAL, "it_tensor_open: unknown flags 0x%x", flags);
    if (!store->ops->describe)
        return it_error(IT_ENOTFOUND,
                        "it_tensor_open: a %s store keeps no tensors across handles (\"%s\")",
                        store->ops->kind, id);
    it_tensor_desc d;
    char *tag = malloc(FN_TAG_MAX + 1);
    if (!tag)
        return it_error(IT_ENOMEM, "it_tensor_open: out of memory");
    int rc = store->ops->describe(store, id, &d, tag, FN_TAG_MAX + 1);
    if (rc == 0) {
        d.id = id;
        rc = tensor_new(store, &d, true, out);
        if (rc && rc != IT_EEXIST && rc != IT_ENOMEM)
            rc = it_error_prefix(IT_EFORMAT, "it_tensor_open: stored metadata are invalid: ");
    }
    free(tag);
    if (rc == 0 && store->ops->load_args && (rc = store->ops->load_args(store, *out))) {
        it_tensor_release(*out);
        *out = NULL;
        return rc;
    }
    if (rc == 0 && (flags & IT_OPEN_FILL_MISSING)) {
        it_tensor *t = *out;
        t->fill_missing = true;
        t->init_chunk = it_buf_alloc(t->chunk_bytes);
        if (!t->init_chunk) {
            it_tensor_release(t);
            *out = NULL;
            return it_error(IT_ENOMEM, "it_tensor_open: out of memory");
        }
        it_fill_pattern(t->init_chunk, t->init, t->esize, t->chunk_elems);
    }
    return rc;
}

int it_tensor_foreach_chunk(it_tensor *t, it_chunk_fn fn, void *user) {
    if (!t || !fn)
        return it_error(IT_EINVAL, "it_tensor_foreach_chunk: NULL %s", t ? "fn" : "tensor");
    it_coord *all = NULL;
    size_t n = 0;
    int rc = t->store->ops->chunks(t->store, t, &all, &n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        int64_t a[IT_MAX_RANK], b[IT_MAX_RANK];
        it_chunk_box(t, &all[i], a, b);
        rc = fn(a, b, user);
    }
    free(all);
    return rc;
}

int it_tensor_get_stats(it_tensor *t, it_tensor_stats *stats) {
    if (!t || !stats)
        return it_error(IT_EINVAL, "it_tensor_get_stats: NULL %s", t ? "stats" : "tensor");
    return t->store->ops->stats(t->store, t, stats);
}

int it_store_list(it_store *store, it_store_list_fn fn, void *user) {
    if (!store || !fn)
        return it_error(IT_EINVAL, "it_store_list: NULL %s", store ? "fn" : "store");
    if (store->ops->list)
        return store->ops->list(store, fn, user);
    /* Handles: copy the ids first, the callback may create or release tensors. */
    pthread_mutex_lock(&store->lock);
    size_t n = 0;
    for (it_tensor *t = store->tensors; t; t = t->next_in_store)
        n++;
    char **ids = calloc(n ? n : 1, sizeof *ids);
    size_t i = 0;
    for (it_tensor *t = store->tensors; ids && t; t = t->next_in_store)
        ids[i++] = strdup(t->id);
    pthread_mutex_unlock(&store->lock);
    if (!ids)
        return it_error(IT_ENOMEM, "it_store_list: out of memory");
    int rc = 0;
    for (i = 0; i < n; i++) {
        if (rc == 0 && ids[i])
            rc = fn(ids[i], user);
        free(ids[i]);
    }
    free(ids);
    return rc;
}

void it_tensor_release(it_tensor *t) {
    if (!t)
        return;
    it_store *s = t->store;
    pthread_mutex_lock(&s->lock);
    it_tensor **p = &s->tensors;
    while (*p && *p != t)
        p = &(*p)->next_in_store;
    if (*p)
        *p = t->next_in_store;
    pthread_mutex_unlock(&s->lock);
    s->ops->detach(s, t);
    it_cache_drop(s->ctx->windows, t->serial, false);
    tensor_free(t);
}

int it_tensor_clear_cache(it_tensor *t) {
    if (!t)
        return it_error(IT_EINVAL, "it_tensor_clear_cache: NULL tensor");
    it_cache_drop(t->store->ctx->windows, t->serial, false);
    return t->store->ops->clear_cache(t->store, t);
}

int it_tensor_get_info(const it_tensor *t, it_tensor_info *info) {
    if (!t || !info)
        return it_error(IT_EINVAL, "it_tensor_get_info: NULL %s", t ? "info" : "tensor");
    memset(info, 0, sizeof *info);
    info->id = t->id;
    info->rank = t->rank;
    memcpy(info->shape, t->shape, sizeof info->shape);
    info->dtype = t->dtype;
    info->window = t->win;
    info->n_args = t->n_args;
    info->blend = t->blend;
    info->blend_init = t->blend_init;
    memcpy(info->chunk, t->chunk, sizeof info->chunk);
    memcpy(info->grid_offset, t->grid, sizeof info->grid_offset);
    info->batch_size = t->batch;
    info->fn_tag = t->fn_tag;
    info->n_arg_ids = t->n_info_args;
    info->arg_ids = t->info_arg_ids;
    info->arg_windows = t->info_arg_windows;
    info->has_fn = t->fn != NULL;
    return 0;
}

void it_chunk_box(const it_tensor *t, const it_coord *c, int64_t *start, int64_t *stop) {
    for (int d = 0; d < t->rank; d++) {
        start[d] = c->v[d] * t->chunk[d] + t->grid[d];
        stop[d] = start[d] + t->chunk[d];
    }
}
