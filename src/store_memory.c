/* The memory store: chunks in an LRU cache keyed by (tensor serial, chunk coordinate).
 * Evicted chunks are simply missing again, so the evaluator recomputes them on demand.
 * A memory store keeps nothing of a tensor whose handle is released. */
#include <stdlib.h>
#include <string.h>

#include "backend.h"

static int mem_attach(void *impl, iti_store_tensor *t, const iti_tensor_meta *create) {
    (void)impl;
    (void)t;
    (void)create;
    return 0;
}

static void mem_detach(void *impl, iti_store_tensor *t) { iti_cache_drop(impl, t->serial, false); }

static int mem_get(void *impl, iti_store_tensor *t, const iti_coord *chunk, iti_chunk_ref *ref) {
    iti_cache_entry *e = iti_cache_get(impl, t->serial, chunk);
    if (!e)
        return 0;
    ref->data = iti_cache_data(e);
    ref->handle = e;
    return 1;
}

static int mem_has(void *impl, iti_store_tensor *t, const iti_coord *chunk) {
    return iti_cache_contains(impl, t->serial, chunk);
}

static void mem_release(void *impl, iti_store_tensor *t, iti_chunk_ref *ref) {
    (void)t;
    iti_cache_release(impl, ref->handle);
    ref->handle = NULL;
    ref->data = NULL;
}

static int mem_put(void *impl, iti_store_tensor *t, const iti_coord *chunk, void *buf,
                   iti_chunk_ref *ref) {
    iti_cache_entry *e = iti_cache_put(impl, t->serial, chunk, buf);
    if (!e)
        return iti_error(IT_ENOMEM, "out of memory storing a chunk of tensor \"%s\"", t->id);
    if (!ref) {
        iti_cache_release(impl, e);
        return 0;
    }
    ref->data = iti_cache_data(e);
    ref->handle = e;
    return 0;
}

/* Chunks encoded elsewhere: the memory store keeps chunks as they are (codec none, no
 * checksum), so an encoded chunk is the chunk's bytes. */
static int mem_encoding(void *impl, iti_store_tensor *t, iti_chunk_encoding *out) {
    (void)impl, (void)t;
    *out = (iti_chunk_encoding){IT_COMPRESSION_NONE, 0, false};
    return 0;
}

static int mem_put_encoded(void *impl, iti_store_tensor *t, const iti_coord *chunk,
                           const void *enc, size_t len) {
    if (len != t->chunk_bytes)
        return iti_error(IT_EFORMAT, "tensor \"%s\": an encoded chunk of %zu bytes, expected %zu",
                         t->id, len, t->chunk_bytes);
    void *buf = iti_buf_alloc(t->chunk_bytes + t->chunk_tail);
    if (!buf)
        return iti_error(IT_ENOMEM, "out of memory storing a chunk of tensor \"%s\"", t->id);
    memcpy(buf, enc, len);
    return mem_put(impl, t, chunk, buf, NULL);
}

static void mem_discard(void *impl, iti_store_tensor *t, const iti_coord *chunk, bool drop) {
    iti_cache_discard(impl, t->serial, chunk, drop);
}

static void mem_clear_cache(void *impl, iti_store_tensor *t) {
    iti_cache_drop(impl, t ? t->serial : 0, t == NULL);
}

static int mem_remove(void *impl, iti_store_tensor *t, const char *id) {
    if (!t)
        return iti_error(IT_ENOTFOUND, "it_store_delete_tensor: no tensor \"%s\" in the store", id);
    iti_cache_drop(impl, t->serial, false);
    return 0;
}

static int mem_flush(void *impl) {
    (void)impl;
    return 0;
}

static int mem_close(void *impl) {
    iti_cache_destroy(impl);
    return 0;
}

static size_t mem_bytes(const void *impl) { return iti_cache_bytes(impl); }

typedef struct coord_list {
    iti_coord *v;
    size_t n, cap;
    bool failed;
} coord_list;

static void collect(const iti_coord *c, void *user) {
    coord_list *l = user;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        iti_coord *v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            l->failed = true;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = *c;
}

static int cmp_coord(const void *a, const void *b) { return iti_coord_cmp(a, b, IT_MAX_RANK); }

static int mem_chunks(void *impl, iti_store_tensor *t, iti_coord **out, size_t *n) {
    coord_list l = {0};
    iti_cache_foreach(impl, t->serial, collect, &l);
    if (l.failed) {
        free(l.v);
        return iti_error(IT_ENOMEM, "out of memory listing chunks");
    }
    if (l.n)
        qsort(l.v, l.n, sizeof *l.v, cmp_coord);
    *out = l.v;
    *n = l.n;
    return 0;
}

static const iti_store_ops memory_ops = {
    .version = ITI_STORE_BACKEND_VERSION,
    .kind = "memory",
    .attach = mem_attach,
    .detach = mem_detach,
    .get = mem_get,
    .release = mem_release,
    .has = mem_has,
    .put = mem_put,
    .discard = mem_discard,
    .chunks = mem_chunks,
    .clear_cache = mem_clear_cache,
    .remove = mem_remove,
    .flush = mem_flush,
    .close = mem_close,
    .memory_bytes = mem_bytes,
    .encoding = mem_encoding,
    .put_encoded = mem_put_encoded,
};

void it_memory_store_options_init(it_memory_store_options *opts) {
    if (opts)
        *opts = (it_memory_store_options){.struct_size = sizeof *opts};
}

int it_store_open_memory(it_ctx *ctx, const it_memory_store_options *opts, it_store **out) {
    if (!out)
        return iti_error(IT_EINVAL, "it_store_open_memory: NULL out");
    *out = NULL;
    if (!ctx)
        return iti_error(IT_EINVAL, "it_store_open_memory: NULL ctx");
    it_memory_store_options o;
    it_memory_store_options_init(&o);
    int rc = iti_options_take(&o, opts, sizeof o, "it_store_open_memory",
                              "it_memory_store_options_init");
    if (rc)
        return rc;
    iti_cache *cache;
    rc = iti_cache_create(o.cache_bytes, &cache);
    if (rc)
        return rc;
    rc = iti_store_wrap(ctx, &memory_ops, cache, out);
    if (rc)
        iti_cache_destroy(cache);
    return rc;
}
