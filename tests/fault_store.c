/* The fault-injecting store (fault_store.h), a backend over the seam of src/backend.h. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "fault_store.h"

typedef struct put_record {
    char id[IT_ID_MAX + 1];
    iti_coord chunk;
    int rank;
} put_record;

struct fault_store {
    const iti_store_ops *ops;    /* the wrapped backend */
    void *impl;
    atomic_uint_fast64_t calls[FAULT_OP_COUNT];
    /* the armed fault */
    fault_op op;
    atomic_uint_fast64_t at;    /* calls[op] value that fails; 0: disarmed (set last) */
    int code;
    atomic_bool fired;
    pthread_mutex_t lock;       /* puts */
    put_record *puts;
    size_t nputs, cap;
};

/* Counts a call of op; returns the injected failure or 0. */
static int inject(fault_store *f, fault_op op, const char *what) {
    uint64_t n = atomic_fetch_add(&f->calls[op], 1) + 1;
    uint64_t at = atomic_load(&f->at);
    if (at == 0 || f->op != op || n != at)
        return 0;
    atomic_store(&f->fired, true);
    return iti_error(f->code, "injected fault: %s call %llu fails", what, (unsigned long long)n);
}

static int fs_describe(void *impl, const char *id, iti_tensor_meta *out) {
    fault_store *f = impl;
    return f->ops->describe(f->impl, id, out);
}

static int fs_attach(void *impl, iti_store_tensor *t, const iti_tensor_meta *create) {
    fault_store *f = impl;
    int rc = inject(f, FAULT_OPEN, "open");
    return rc ? rc : f->ops->attach(f->impl, t, create);
}

static void fs_detach(void *impl, iti_store_tensor *t) {
    fault_store *f = impl;
    f->ops->detach(f->impl, t);
}

static int fs_get(void *impl, iti_store_tensor *t, const iti_coord *c, iti_chunk_ref *ref) {
    fault_store *f = impl;
    int rc = inject(f, FAULT_GET, "get");
    return rc ? rc : f->ops->get(f->impl, t, c, ref);
}

static void fs_release(void *impl, iti_store_tensor *t, iti_chunk_ref *ref) {
    fault_store *f = impl;
    f->ops->release(f->impl, t, ref);
}

static int fs_has(void *impl, iti_store_tensor *t, const iti_coord *c) {
    fault_store *f = impl;
    return f->ops->has(f->impl, t, c);
}

static void record_put(fault_store *f, const iti_store_tensor *t, const iti_coord *c) {
    pthread_mutex_lock(&f->lock);
    if (f->nputs == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 64;
        put_record *p = realloc(f->puts, cap * sizeof *p);
        if (p) {
            f->puts = p;
            f->cap = cap;
        }
    }
    if (f->nputs < f->cap) {
        put_record *r = &f->puts[f->nputs++];
        strcpy(r->id, t->id);
        r->chunk = *c;
        r->rank = t->rank;
    }
    pthread_mutex_unlock(&f->lock);
}

static int fs_put(void *impl, iti_store_tensor *t, const iti_coord *c, void *buf,
                  iti_chunk_ref *ref) {
    fault_store *f = impl;
    int rc = inject(f, FAULT_PUT, "put");
    if (rc) {
        iti_buf_free(buf); /* the buffer passes to the store even on failure */
        return rc;
    }
    rc = f->ops->put(f->impl, t, c, buf, ref);
    if (rc == 0)
        record_put(f, t, c);
    return rc;
}

static int fs_encoding(void *impl, iti_store_tensor *t, iti_chunk_encoding *out) {
    fault_store *f = impl;
    if (!f->ops->encoding)
        return iti_error(IT_EINVAL, "the wrapped %s store takes no encoded chunks", f->ops->kind);
    return f->ops->encoding(f->impl, t, out);
}

/* An encoded chunk stored from elsewhere counts as a put. */
static int fs_put_encoded(void *impl, iti_store_tensor *t, const iti_coord *c, const void *enc,
                          size_t len) {
    fault_store *f = impl;
    int rc = inject(f, FAULT_PUT, "put");
    if (rc == 0 && !f->ops->put_encoded)
        rc = iti_error(IT_EINVAL, "the wrapped %s store takes no encoded chunks", f->ops->kind);
    if (rc == 0 && (rc = f->ops->put_encoded(f->impl, t, c, enc, len)) == 0)
        record_put(f, t, c);
    return rc;
}

static int fs_prefetch(void *impl, iti_store_tensor *t, const iti_coord *chunks, size_t n,
                       iti_pool *pool) {
    fault_store *f = impl;
    return f->ops->prefetch ? f->ops->prefetch(f->impl, t, chunks, n, pool) : 0;
}

static int fs_chunks(void *impl, iti_store_tensor *t, iti_coord **out, size_t *n) {
    fault_store *f = impl;
    return f->ops->chunks(f->impl, t, out, n);
}

static int fs_stored_bytes(void *impl, iti_store_tensor *t, uint64_t *bytes) {
    fault_store *f = impl;
    if (f->ops->stored_bytes)
        return f->ops->stored_bytes(f->impl, t, bytes);
    iti_coord *all = NULL;
    size_t n = 0;
    int rc = f->ops->chunks(f->impl, t, &all, &n);
    free(all);
    *bytes = (uint64_t)n * t->chunk_bytes;
    return rc;
}

static void fs_clear_cache(void *impl, iti_store_tensor *t) {
    fault_store *f = impl;
    f->ops->clear_cache(f->impl, t);
}

static void fs_discard(void *impl, iti_store_tensor *t, const iti_coord *chunk, bool drop) {
    fault_store *f = impl;
    if (f->ops->discard)
        f->ops->discard(f->impl, t, chunk, drop);
}

static int fs_remove(void *impl, iti_store_tensor *t, const char *id) {
    fault_store *f = impl;
    return f->ops->remove(f->impl, t, id);
}

static int fs_flush(void *impl) {
    fault_store *f = impl;
    int rc = inject(f, FAULT_FLUSH, "flush");
    return rc ? rc : f->ops->flush(f->impl);
}

static int fs_list(void *impl, it_store_list_fn fn, void *user) {
    fault_store *f = impl;
    return f->ops->list(f->impl, fn, user);
}

static int fs_close(void *impl) {
    fault_store *f = impl;
    int rc = f->ops->close(f->impl);
    pthread_mutex_destroy(&f->lock);
    free(f->puts);
    free(f);
    return rc;
}

static size_t fs_memory_bytes(const void *impl) {
    const fault_store *f = impl;
    return f->ops->memory_bytes(f->impl);
}

/* The wrapper offers describe and list exactly when the wrapped backend does. */
#define COMMON_OPS                                                                              \
    .version = ITI_STORE_BACKEND_VERSION, .kind = "fault-injecting", .attach = fs_attach,        \
    .detach = fs_detach, .get = fs_get, .release = fs_release, .has = fs_has, .put = fs_put,    \
    .prefetch = fs_prefetch, .chunks = fs_chunks, .stored_bytes = fs_stored_bytes,              \
    .discard = fs_discard, .clear_cache = fs_clear_cache, .remove = fs_remove,                  \
    .flush = fs_flush, .close = fs_close, .memory_bytes = fs_memory_bytes,                      \
    .encoding = fs_encoding, .put_encoded = fs_put_encoded

static const iti_store_ops persistent_ops = {COMMON_OPS, .describe = fs_describe, .list = fs_list};
static const iti_store_ops volatile_ops = {COMMON_OPS};

int fault_store_wrap(it_ctx *ctx, it_store *inner, it_store **out, fault_store **ctl) {
    fault_store *f = calloc(1, sizeof *f);
    if (!f)
        return iti_error(IT_ENOMEM, "out of memory");
    int rc = iti_store_unwrap(inner, &f->ops, &f->impl);
    if (rc) {
        free(f);
        return rc;
    }
    pthread_mutex_init(&f->lock, NULL);
    rc = iti_store_wrap(ctx, f->ops->describe ? &persistent_ops : &volatile_ops, f, out);
    if (rc) {
        fs_close(f);
        return rc;
    }
    *ctl = f;
    return 0;
}

void fault_store_arm(fault_store *f, fault_op op, uint64_t k, int code) {
    f->op = op;
    f->code = code;
    atomic_store(&f->fired, false);
    atomic_store(&f->at, atomic_load(&f->calls[op]) + k);
}

void fault_store_disarm(fault_store *f) { atomic_store(&f->at, 0); }

bool fault_store_fired(const fault_store *f) { return atomic_load(&f->fired); }

uint64_t fault_store_calls(const fault_store *f, fault_op op) { return atomic_load(&f->calls[op]); }

void fault_store_foreach_put(const fault_store *f,
                             void (*fn)(const char *id, const int64_t *chunk, int rank, void *user),
                             void *user) {
    for (size_t i = 0; i < f->nputs; i++)
        fn(f->puts[i].id, f->puts[i].chunk.v, f->puts[i].rank, user);
}
