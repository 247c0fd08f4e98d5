/* The memory store: chunks in an LRU cache keyed by (tensor serial, chunk coordinate).
 * Evicted chunks are simply missing again, so the evaluator recomputes them on demand.
 * A memory store keeps nothing of a tensor whose handle is released. */
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "context_impl.h"
#include "store_backend.h"
#include "tensor_impl.h"

static int mem_attach(it_store *s, it_tensor *t) {
    (void)s;
    (void)t;
    return 0;
}

static void mem_detach(it_store *s, it_tensor *t) { it_cache_drop(s->impl, t->serial, false); }

static int mem_get(it_store *s, it_tensor *t, const it_coord *chunk, it_chunk_ref *ref) {
    it_cache_entry *e = it_cache_get(s->impl, t->serial, chunk);
    if (!e)
        return 0;
    ref->data = it_cache_data(e);
    ref->handle = e;
    return 1;
}

static int mem_has(it_store *s, it_tensor *t, const it_coord *chunk) {
    return it_cache_contains(s->impl, t->serial, chunk);
}

static void mem_release(it_store *s, it_tensor *t, it_chunk_ref *ref) {
    (void)t;
    it_cache_release(s->impl, ref->handle);
    ref->handle = NULL;
    ref->data = NULL;
}

static int mem_put(it_store *s, it_tensor *t, const it_coord *chunk, void *buf,
                   it_chunk_ref *ref) {
    it_cache_entry *e = it_cache_put(s->impl, t->serial, chunk, buf);
    if (!e)
        return it_error(IT_ENOMEM, "out of memory storing a chunk of tensor \"%s\"", t->id);
    if (!ref) {
        it_cache_release(s->impl, e);
        return 0;
    }
    ref->data = it_cache_data(e);
    ref->handle = e;
    return 0;
}

static int mem_clear_cache(it_store *s, it_tensor *t) {
    it_cache_drop(s->impl, t ? t->serial : 0, t == NULL);
    return 0;
}

static int mem_remove(it_store *s, it_tensor *t, const char *id) {
    if (!t)
        return it_error(IT_ENOTFOUND, "it_store_delete_tensor: no tensor \"%s\" in the store", id);
    it_cache_drop(s->impl, t->serial, false);
    return 0;
}

static int mem_flush(it_store *s) {
    (void)s;
    return 0;
}

static int mem_close(it_store *s) {
    it_cache_destroy(s->impl);
    return 0;
}

static size_t mem_bytes(const it_store *s) { return it_cache_bytes(s->impl); }

typedef struct stats_walk {
    const it_tensor *t;
    it_tensor_stats *st;
} stats_walk;

static void stats_one(const it_coord *c, void *user) {
    stats_walk *w = user;
    int64_t a[IT_MAX_RANK], b[IT_MAX_RANK];
    it_chunk_box(w->t, c, a, b);
    for (int d = 0; d < w->t->rank; d++) {
        if (w->st->chunks == 0 || a[d] < w->st->bbox_start[d])
            w->st->bbox_start[d] = a[d];
        if (w->st->chunks == 0 || b[d] > w->st->bbox_stop[d])
            w->st->bbox_stop[d] = b[d];
    }
    w->st->chunks++;
    w->st->stored_bytes += w->t->chunk_bytes;
}

static int mem_stats(it_store *s, it_tensor *t, it_tensor_stats *st) {
    memset(st, 0, sizeof *st);
    stats_walk w = {t, st};
    it_cache_foreach(s->impl, t->serial, stats_one, &w);
    return 0;
}

typedef struct coord_list {
    it_coord *v;
    size_t n, cap;
    bool failed;
} coord_list;

static void collect(const it_coord *c, void *user) {
    coord_list *l = user;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        it_coord *v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            l->failed = true;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = *c;
}

static int cmp_coord(const void *a, const void *b) { return it_coord_cmp(a, b, IT_MAX_RANK); }

static int mem_chunks(it_store *s, it_tensor *t, it_coord **out, size_t *n) {
    coord_list l = {0};
    it_cache_foreach(s->impl, t->serial, collect, &l);
    if (l.failed) {
        free(l.v);
        return it_error(IT_ENOMEM, "out of memory listing chunks");
    }
    if (l.n)
        qsort(l.v, l.n, sizeof *l.v, cmp_coord);
    *out = l.v;
    *n = l.n;
    return 0;
}

static const it_store_ops memory_ops = {
    .chunks = mem_chunks,
    .stats = mem_stats,
    .kind = "memory",
    .attach = mem_attach,
    .detach = mem_detach,
    .get = mem_get,
    .release = mem_release,
    .has = mem_has,
    .put = mem_put,
    .clear_cache = mem_clear_cache,
    .remove = mem_remove,
    .flush = mem_flush,
    .close = mem_close,
    .memory_bytes = mem_bytes,
};

void it_memory_store_options_init(it_memory_store_options *opts) {
    if (opts)
        opts->cache_bytes = 0;
}

int it_store_open_memory(it_ctx *ctx, const it_memory_store_options *opts, it_store **out) {
    if (!out)
        return it_error(IT_EINVAL, "it_store_open_memory: NULL out");
    *out = NULL;
    if (!ctx)
        return it_error(IT_EINVAL, "it_store_open_memory: NULL ctx");
    it_cache *cache;
    int rc = it_cache_create(opts ? opts->cache_bytes : 0, &cache);
    if (rc)
        return rc;
    rc = it_store_wrap(ctx, &memory_ops, cache, out);
    if (rc)
        it_cache_destroy(cache);
    return rc;
}
