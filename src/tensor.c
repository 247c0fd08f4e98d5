/* Tensor descriptions: validation, defaults and resolution into a tensor (tensor_handles.c
 * registers it in its store). */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blend/blend.h"
#include "context_impl.h"
#include "store_impl.h"
#include "tensor_meta.h"
#include "window_math.h"

#define CHUNK_MIN_BYTES ((size_t)64 << 10)
#define CHUNK_MAX_WINDOWS 1024
#define CHUNK_MAX_BYTES ((size_t)0xffffffffu) /* HDF5's chunk size limit */

#define FAIL(code, ...) iti_error(code, "it_tensor_create: " __VA_ARGS__)

int it_tensor_desc_init(it_tensor_desc *desc, int rank) {
    if (!desc)
        return iti_error(IT_EINVAL, "it_tensor_desc_init: NULL desc");
    memset(desc, 0, sizeof *desc);
    if (rank < 1 || rank > IT_MAX_RANK)
        return iti_error(IT_EINVAL, "it_tensor_desc_init: rank must be 1..%d (got %d)",
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
    const iti_blend_kind *k = iti_blend_of(d->blend);
    if (!k)
        return FAIL(IT_EINVAL, "blend must be an it_blend value (got %d)", (int)d->blend);
    if (k->takes_fn && !d->blend_fn)
        return FAIL(IT_EINVAL, "blend \"%s\" needs blend_fn", k->name);
    if (!k->takes_fn && d->blend_fn)
        return FAIL(IT_EINVAL, "blend_fn is set but blend \"%s\" takes none", k->name);
    int rc = iti_dtype_from_double(d->dtype, d->blend_init, t->view.fill, "blend_init");
    if (rc)
        return iti_error_prefix(rc, "it_tensor_create: ");
    if (!k->takes_weights && !iti_weights_unset(&d->weight))
        return FAIL(IT_EINVAL, "weight is set but blend \"%s\" takes none", k->name);
    return 0;
}

/* Element count of a shape, overflow-checked, times esize. */
static bool shape_bytes(const int64_t *shape, int rank, size_t esize, size_t *elems,
                        size_t *bytes) {
    size_t n = 1;
    for (int d = 0; d < rank; d++)
        if ((uint64_t)shape[d] > SIZE_MAX || !iti_mul_size(n, (size_t)shape[d], &n))
            return false;
    *elems = n;
    return iti_mul_size(n, esize, bytes);
}

static int64_t pos_mod(int64_t a, int64_t m) {
    int64_t r = a % m;
    return r < 0 ? r + m : r;
}

/* Whether dimension k of a default chunk grows with the windows: windowed dimensions (finite
 * ones up to their extent); fixed dimensions stay whole (finite) or 1 (infinite). */
static bool chunk_grows(const it_tensor *t, const int64_t *want, int k) {
    return want[k] == 0 && t->win.map[k] != IT_MAP_FIXED &&
           (t->view.shape[k] == IT_INF || t->view.chunk[k] < t->view.shape[k]);
}

/* The chunk shape from the requested one (`want`, 0 entries = default). A read computes whole
 * chunks, so a default chunk holds few windows: along windowed dimensions (finite ones too,
 * capped at their extent) the stride, doubled along the smallest until the chunk holds
 * CHUNK_MIN_BYTES or CHUNK_MAX_WINDOWS windows; whole finite fixed dimensions, 1 on infinite
 * fixed ones. CHUNK_MIN_BYTES: a chunk costs the HDF5 store ~30 us besides its bytes, so 64 KiB
 * chunks fill at ~90% of the speed of 1 MiB ones (measured with HDF5 1.10, one thread). */
static int resolve_chunks(const int64_t *want, it_tensor *t) {
    int rank = t->view.rank;
    for (int k = 0; k < rank; k++) {
        const int64_t extent = t->view.shape[k];
        if (want[k] < 0)
            return FAIL(IT_EINVAL, "chunk[%d] must be >= 0 (got %lld)", k, (long long)want[k]);
        if (want[k] > 0)
            t->view.chunk[k] = want[k];
        else if (t->win.map[k] == IT_MAP_FIXED)
            t->view.chunk[k] = extent == IT_INF ? 1 : extent;
        else
            t->view.chunk[k] = extent != IT_INF && t->win.stride[k] > extent ? extent
                                                                             : t->win.stride[k];
    }
    size_t elems, bytes, windows = 1; /* windows at most double with every doubling */
    if (!shape_bytes(t->view.chunk, rank, t->view.esize, &elems, &bytes))
        return FAIL(IT_EOVERFLOW, "chunk byte size overflows");
    for (;;) {
        int best = -1;
        for (int k = 0; k < rank; k++)
            if (chunk_grows(t, want, k) && (best < 0 || t->view.chunk[k] < t->view.chunk[best]))
                best = k;
        if (best < 0 || bytes >= CHUNK_MIN_BYTES || windows >= CHUNK_MAX_WINDOWS ||
            t->view.chunk[best] > INT64_MAX / 2)
            break;
        t->view.chunk[best] *= 2;
        if (t->view.shape[best] != IT_INF && t->view.chunk[best] > t->view.shape[best])
            t->view.chunk[best] = t->view.shape[best];
        if (!shape_bytes(t->view.chunk, rank, t->view.esize, &elems, &bytes))
            return FAIL(IT_EOVERFLOW, "chunk byte size overflows");
        windows *= 2;
    }
    if (bytes > CHUNK_MAX_BYTES)
        return FAIL(IT_EINVAL, "a chunk of %zu bytes exceeds the 4 GiB chunk limit; set chunk", bytes);
    t->view.chunk_elems = elems;
    t->view.chunk_bytes = bytes;
    for (int k = 0; k < rank; k++)
        t->view.grid[k] = t->view.shape[k] == IT_INF ? pos_mod(t->win.offset[k], t->view.chunk[k]) : 0;
    return 0;
}

static void resolve_valid_windows(it_tensor *t) {
    for (int k = 0; k < t->view.rank; k++) {
        t->valid_lo[k] = INT64_MIN;
        t->valid_hi[k] = INT64_MAX;
    }
    t->no_windows = false;
    for (int d = 0; d < t->view.rank; d++) {
        if (t->view.shape[d] == IT_INF || t->win.map[d] == IT_MAP_FIXED)
            continue;
        int k = t->win.map[d];
        iti_i128 s = t->win.stride[d], o = t->win.offset[d];
        /* 0 <= w*s + o  and  w*s + o + size <= n */
        iti_i128 lo = iti_ceildiv(-o, s);
        iti_i128 hi = iti_floordiv((iti_i128)t->view.shape[d] - t->win.size[d] - o, s);
        if (lo > t->valid_lo[k])
            t->valid_lo[k] = (int64_t)lo;
        if (hi < t->valid_hi[k])
            t->valid_hi[k] = (int64_t)hi;
    }
    for (int k = 0; k < t->view.rank; k++)
        if (t->valid_lo[k] > t->valid_hi[k])
            t->no_windows = true;
}

static bool resolve_direct(const it_tensor *t) {
    const iti_blend_kind *k = iti_blend_of(t->blend);
    /* one window's output is the chunk's final value */
    if (!k->single_window_final || !k->single_window_final(t->view.dtype, t->blend_init,
                                                            t->view.fill) || t->no_windows)
        return false;
    for (int d = 0; d < t->view.rank; d++) {
        const it_window *w = &t->win;
        if (w->map[d] != d || w->size[d] != w->stride[d] || w->size[d] != t->view.chunk[d])
            return false;
        if (t->view.shape[d] == IT_INF ? pos_mod(w->offset[d], t->view.chunk[d]) != t->view.grid[d]
                                  : (pos_mod(w->offset[d], t->view.chunk[d]) != 0 ||
                                     t->view.shape[d] % t->view.chunk[d] != 0))
            return false;
    }
    return true;
}

void iti_tensor_free(it_tensor *t) {
    if (!t)
        return;
    iti_buf_free(t->init_chunk);
    iti_weights_free(&t->weights);
    if (t->owns_info_args) {
        for (size_t i = 0; i < t->n_info_args; i++)
            free((char *)t->info_arg_ids[i]);
        free(t->info_arg_windows);
    }
    free(t->info_arg_ids);
    free((char *)t->view.id);
    free(t->fn_tag);
    free(t->args);
    free(t->arg_windows);
    free(t->arg_bytes);
    free(t->stores);
    iti_htab_free(&t->claims);
    pthread_mutex_destroy(&t->fn_lock);
    pthread_mutex_destroy(&t->claim_lock);
    pthread_cond_destroy(&t->claim_cv);
    free(t);
}

/* The arguments: upstream tensors and the windows through which they are read. */
static int resolve_args(const it_tensor_desc *d, it_tensor *t) {
    int rc;
    if (d->n_args > 0 && (!d->args || !d->arg_windows))
        return FAIL(IT_EINVAL, "n_args is %zu but %s is NULL", d->n_args,
                    d->args ? "arg_windows" : "args");
    if (d->n_args > IT_MAX_ARGS)
        return FAIL(IT_EINVAL, "n_args must be <= %d (got %zu)", IT_MAX_ARGS, d->n_args);
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
        if (d->arg_windows[i].rank != a->view.rank)
            return FAIL(IT_EINVAL, "arg_windows[%zu].rank (%d) must equal the rank of args[%zu] (%d)",
                        i, d->arg_windows[i].rank, i, a->view.rank);
        char what[48];
        snprintf(what, sizeof what, "arg_windows[%zu]", i);
        if ((rc = iti_window_resolve(&d->arg_windows[i], d->rank, what, &t->arg_windows[i])))
            return iti_error_prefix(rc, "it_tensor_create: ");
        size_t elems;
        if (!shape_bytes(t->arg_windows[i].size, a->view.rank, a->view.esize, &elems, &t->arg_bytes[i]))
            return FAIL(IT_EOVERFLOW, "arg_windows[%zu] slice byte size overflows", i);
        t->args[i] = (it_tensor *)a;
    }
    if (d->n_args) {
        t->info_arg_ids = calloc(d->n_args, sizeof *t->info_arg_ids);
        if (!t->info_arg_ids)
            return FAIL(IT_ENOMEM, "out of memory");
        for (size_t i = 0; i < d->n_args; i++)
            t->info_arg_ids[i] = t->args[i]->view.id;
        t->n_info_args = d->n_args;
        t->info_arg_windows = t->arg_windows;
    }
    return 0;
}

static int resolve(const it_tensor_desc *d, it_tensor *t, bool stored) {
    if (d->rank < 1 || d->rank > IT_MAX_RANK)
        return FAIL(IT_EINVAL, "rank must be 1..%d (got %d)", IT_MAX_RANK, d->rank);
    t->view.rank = d->rank;
    for (int k = 0; k < d->rank; k++) {
        if (d->shape[k] <= 0 && d->shape[k] != IT_INF)
            return FAIL(IT_EINVAL, "shape[%d] must be > 0 or IT_INF (got %lld)", k,
                        (long long)d->shape[k]);
        t->view.shape[k] = d->shape[k];
    }
    if ((unsigned)d->dtype >= IT_DTYPE_COUNT)
        return FAIL(IT_EINVAL, "dtype must be an it_dtype value (got %d)", (int)d->dtype);
    t->view.dtype = d->dtype;
    t->view.esize = it_dtype_size(d->dtype);
    if (d->window.rank != d->rank)
        return FAIL(IT_EINVAL, "window.rank (%d) must equal the tensor rank (%d)",
                     d->window.rank, d->rank);
    int rc = iti_window_resolve(&d->window, d->rank, "window", &t->win);
    if (rc)
        return iti_error_prefix(rc, "it_tensor_create: ");
    if (!d->fn && !stored)
        return FAIL(IT_EINVAL, "fn must not be NULL");
    const unsigned known = IT_TENSOR_SERIAL | IT_TENSOR_TRANSIENT;
    if (d->flags & ~known)
        return FAIL(IT_EINVAL, "flags has unknown bits 0x%x", d->flags & ~known);
    t->view.flags = d->flags;
    t->fn = d->fn;
    t->user = d->user;
    t->batch = d->batch_size ? d->batch_size : 1;
    t->blend = d->blend;
    t->blend_fn = d->blend_fn;
    t->blend_init = d->blend_init;
    if ((rc = check_blend(d, t)))
        return rc;
    if (!shape_bytes(t->win.size, t->view.rank, t->view.esize, &t->win_elems, &t->win_bytes))
        return FAIL(IT_EOVERFLOW, "window byte size overflows");
    /* Opened tensors never blend: their profile is the stored record's (open_stored). */
    if (iti_blend_of(t->blend)->takes_weights && !stored &&
        (rc = iti_weights_resolve(&d->weight, &t->win, t->win_elems, &t->weights)))
        return rc;

    if ((rc = resolve_args(d, t)))
        return rc;
    memcpy(t->chunk_request, d->chunk, sizeof t->chunk_request);
    if ((rc = resolve_chunks(d->chunk, t)))
        return rc;
    resolve_valid_windows(t);
    t->direct = resolve_direct(t);

    const char *tag = d->fn_tag ? d->fn_tag : "";
    if (strlen(tag) > ITI_FN_TAG_MAX)
        return FAIL(IT_EINVAL, "fn_tag is longer than %d bytes", ITI_FN_TAG_MAX);
    t->fn_tag = strdup(tag);
    if (!t->fn_tag)
        return FAIL(IT_ENOMEM, "out of memory");
    if (d->id) {
        if ((rc = check_id(d->id)))
            return rc;
        t->view.id = strdup(d->id);
    } else {
        char gen[64];
        snprintf(gen, sizeof gen, "tensor-%ld-%llu", (long)getpid(),
                 (unsigned long long)t->view.serial);
        t->view.id = strdup(gen);
    }
    if (!t->view.id)
        return FAIL(IT_ENOMEM, "out of memory");
    return 0;
}

/* The upstream closure of t in store (tensor_impl.h), from its arguments' own closures. */
static int resolve_closure(it_tensor *t, it_store *store) {
    size_t cap = 1;
    t->depth = 1;
    for (size_t i = 0; i < t->n_args; i++) {
        cap += t->args[i]->n_stores;
        if (t->args[i]->depth + 1 > t->depth)
            t->depth = t->args[i]->depth + 1;
    }
    if (t->depth > IT_MAX_DEPTH)
        return FAIL(IT_EINVAL, "the pipeline would be %d tensors deep (at most %d)", t->depth,
                    IT_MAX_DEPTH);
    t->stores = malloc(cap * sizeof *t->stores);
    if (!t->stores)
        return FAIL(IT_ENOMEM, "out of memory");
    t->stores[t->n_stores++] = store;
    for (size_t i = 0; i < t->n_args; i++) {
        for (size_t k = 0; k < t->args[i]->n_stores; k++) {
            it_store *s = t->args[i]->stores[k];
            bool seen = false;
            for (size_t j = 0; j < t->n_stores && !seen; j++)
                seen = t->stores[j] == s;
            if (!seen)
                t->stores[t->n_stores++] = s;
        }
    }
    return 0;
}

/* A new tensor resolved from desc (not registered): the first handle's count, locks, the
 * resolved description and the upstream closure in store. */
int iti_tensor_build(it_store *store, const it_tensor_desc *desc, bool opened, it_tensor **out) {
    *out = NULL;
    it_tensor *t = calloc(1, sizeof *t);
    if (!t)
        return FAIL(IT_ENOMEM, "out of memory");
    t->refs = 1;
    t->view.serial = iti_next_serial();
    pthread_mutexattr_t recursive; /* a read nested in a serial fn may call it again, inline */
    pthread_mutexattr_init(&recursive);
    pthread_mutexattr_settype(&recursive, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&t->fn_lock, &recursive);
    pthread_mutexattr_destroy(&recursive);
    pthread_mutex_init(&t->claim_lock, NULL);
    pthread_cond_init(&t->claim_cv, NULL);
    int rc = iti_htab_init(&t->claims, 16);
    if (rc == 0)
        rc = resolve(desc, t, opened);
    if (rc == 0 && (t->view.flags & IT_TENSOR_TRANSIENT) && store->ops->describe)
        rc = FAIL(IT_EINVAL, "IT_TENSOR_TRANSIENT needs a memory store: a %s store keeps every "
                  "chunk (keep transient intermediates in a memory store)", store->ops->kind);
    if (rc == 0)
        rc = resolve_closure(t, store);
    if (rc) {
        iti_tensor_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

int iti_tensor_adopt_stored_chunk(it_tensor *t, const int64_t *stored) {
    int64_t merged[IT_MAX_RANK] = {0};
    for (int k = 0; k < t->view.rank; k++) {
        if (stored[k] != t->view.chunk[k] && t->chunk_request[k] != 0)
            return 0; /* asked for explicitly: the comparison reports it */
        merged[k] = t->chunk_request[k] ? t->chunk_request[k] : stored[k];
    }
    if (memcmp(merged, t->view.chunk, sizeof(int64_t) * (size_t)t->view.rank) == 0)
        return 0;
    int rc = resolve_chunks(merged, t);
    if (rc)
        return resolve_chunks(t->chunk_request, t) ? rc : 0; /* keep the default: compared */
    t->direct = resolve_direct(t);
    return 0;
}

int it_tensor_get_info(const it_tensor *t, it_tensor_info *info) {
    if (!t || !info)
        return iti_error(IT_EINVAL, "it_tensor_get_info: NULL %s", t ? "info" : "tensor");
    memset(info, 0, sizeof *info);
    info->id = t->view.id;
    info->rank = t->view.rank;
    memcpy(info->shape, t->view.shape, sizeof info->shape);
    info->dtype = t->view.dtype;
    info->window = t->win;
    info->n_args = t->n_args;
    info->blend = t->blend;
    info->blend_init = t->blend_init;
    info->weight = t->weights.p;
    info->weight_sha256 = t->weights.sha256;
    memcpy(info->chunk, t->view.chunk, sizeof info->chunk);
    memcpy(info->grid_offset, t->view.grid, sizeof info->grid_offset);
    info->batch_size = t->batch;
    info->fn_tag = t->fn_tag;
    info->n_arg_ids = t->n_info_args;
    info->arg_ids = t->info_arg_ids;
    info->arg_windows = t->info_arg_windows;
    info->has_fn = t->fn != NULL;
    return 0;
}

void iti_chunk_box(const iti_store_tensor *t, const iti_coord *c, int64_t *start, int64_t *stop) {
    for (int d = 0; d < t->rank; d++) {
        start[d] = c->v[d] * t->chunk[d] + t->grid[d];
        stop[d] = start[d] + t->chunk[d];
    }
}
