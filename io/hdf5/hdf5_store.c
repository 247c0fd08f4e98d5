/* The HDF5 tile store's operations (format: io/FORMAT.md; state: hdf5_state.h).
 *
 * Chunks are written with H5Dwrite_chunk after being compressed outside the lock, and read
 * with H5Dread_chunk and decoded outside the lock, in parallel when the evaluator prefetches
 * a batch. HDF5 failures become IT_E* codes with HDF5's innermost message. */
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"
#include "hdf5/hdf5_attr.h"
#include "hdf5/hdf5_schema.h"
#include "hdf5/hdf5_live.h"
#include "hdf5/hdf5_map.h"
#include "hdf5/hdf5_progress.h"
#include "hdf5/hdf5_state.h"

#define H5T(t) ((h5_tensor *)(t)->backend)

/* ---- faults --------------------------------------------------------------------------------- *
 * When a write, truncate or sync fails, the file driver poisons the file: nothing reaches the
 * disk any more, and the file keeps what the last completed flush made durable (plus whatever
 * was written before the fault, as after a kill). The store then fails every later call with
 * that first error, without touching the file; closing it is safe. */

static int stopped(h5_store *h) {
    return iti_error(h->failed, "the store stopped at an earlier failure and no longer writes "
                    "its file: %s", h->failed_msg);
}

/* Takes the lock for an operation; fails (lock released) when the store has stopped. */
static int enter_op(h5_store *h) {
    iti_h5s_enter(h);
    int rc = h->failed ? stopped(h) : iti_h5_live_begin(h);
    if (rc)
        iti_h5s_leave(h);
    return rc;
}

/* Records a fault the driver reported during the operation; returns it instead of rc. */
static int check_fault(h5_store *h, int rc) {
    if (h->failed || !iti_vfd_poisoned(&h->vfd))
        return rc;
    h->failed = iti_vfd_error(&h->vfd, "HDF5 store");
    snprintf(h->failed_msg, sizeof h->failed_msg, "%s", it_last_error());
    return h->failed;
}

/* Ends an operation: reports a fault, releases the lock. */
static int leave_op(h5_store *h, int rc) {
    rc = check_fault(h, rc);
    iti_h5_live_end(h);
    iti_h5s_leave(h);
    return rc;
}

/* ---- tensors ---------------------------------------------------------------------------------- */

static int h5_describe(void *impl, const char *id, iti_tensor_meta *out) {
    h5_store *h = impl;
    int rc = enter_op(h);
    if (rc)
        return rc;
    htri_t exists = H5Lexists(h->tensors, id, H5P_DEFAULT);
    if (exists < 0)
        rc = iti_h5_error(IT_EFORMAT, "looking up the tensor");
    if (exists > 0) {
        iti_h5s_forget_described(h);
        hid_t g = H5Gopen2(h->tensors, id, H5P_DEFAULT);
        rc = g < 0 ? iti_h5_error(IT_EFORMAT, "opening the tensor group")
                   : iti_h5_schema_read(g, h->version == 1, out);
        if (rc == 0) { /* kept for the attach that follows */
            h->described = g;
            snprintf(h->described_id, sizeof h->described_id, "%s", id);
            rc = 1;
        } else if (g >= 0) {
            H5Gclose(g);
        }
    }
    if (rc < 0 && rc != IT_ENOMEM) {
        char prefix[IT_ID_MAX + 64];
        snprintf(prefix, sizeof prefix, "tensor \"%s\": stored metadata: ", id);
        rc = iti_error_prefix(rc == IT_EIO ? rc : IT_EFORMAT, prefix);
    }
    return leave_op(h, rc);
}

/* Frees a tensor's state; its HDF5 objects were closed under the lock (iti_h5t_close). */
static void free_tensor_state(h5_tensor *ht) {
    iti_h5_index_free(&ht->index);
    iti_h5_map_forget(ht);
    free(ht);
}

static int h5_attach(void *impl, iti_store_tensor *t, const iti_tensor_meta *create) {
    h5_store *h = impl;
    h5_tensor *ht = calloc(1, sizeof *ht);
    if (!ht)
        return iti_error(IT_ENOMEM, "out of memory");
    ht->t = t;
    ht->group = ht->data = -1;
    int rc = iti_h5_index_init(&ht->index, t->rank, t->id);
    if (rc == 0)
        rc = enter_op(h);
    if (rc) {
        free_tensor_state(ht);
        return rc;
    }
    if (!create) {
        rc = iti_h5t_open(h, ht);
    } else if (h->mode == IT_HDF5_READONLY) {
        rc = iti_error(IT_EINVAL, "it_tensor_create: store is read-only and has no tensor \"%s\"",
                      t->id);
    } else {
        rc = iti_h5t_create(h, ht, create);
        if (rc && ht->group >= 0) { /* leave the file as it was */
            iti_h5t_close(ht);
            H5Ldelete(h->tensors, t->id, H5P_DEFAULT);
        }
        h->dirty = true;
    }
    rc = check_fault(h, rc);
    if (rc == 0) {
        ht->next = h->attached;
        h->attached = ht;
    } else {
        iti_h5t_close(ht);
    }
    iti_h5_live_end(h);
    iti_h5s_leave(h);
    if (rc) {
        free_tensor_state(ht);
        return rc;
    }
    t->backend = ht;
    t->chunk_tail = iti_codec_tail(&ht->codec);
    return 0;
}

/* What a commit writes of a tensor besides its chunks: the index rows of new chunks and, when
 * the commit writes anything, the view over them. */
static int settle(h5_store *h, h5_tensor *ht) {
    if (ht->removed)
        return 0;
    int rc = 0;
    if (ht->index.npending)
        rc = iti_h5_index_append(&ht->index), h->dirty = true;
    return rc == 0 && h->dirty ? iti_h5_view_refresh(ht) : rc;
}

static void h5_detach(void *impl, iti_store_tensor *t) {
    h5_store *h = impl;
    h5_tensor *ht = H5T(t);
    if (!ht)
        return;
    iti_h5s_enter(h);
    if (!h->failed)
        check_fault(h, settle(h, ht));
    h5_tensor **p = &h->attached;
    while (*p && *p != ht)
        p = &(*p)->next;
    if (*p)
        *p = ht->next;
    iti_h5t_close(ht);
    iti_h5s_leave(h);
    iti_cache_drop(h->decoded, t->serial, false);
    free_tensor_state(ht);
    t->backend = NULL;
}

/* ---- chunks ----------------------------------------------------------------------------------- */

/* Stored bytes of chunk c in HDF5's chunk B-tree, 0 when absent (lock held). */
static hsize_t btree_size(const iti_coord *c, void *user) {
    const h5_tensor *ht = user;
    hsize_t off[IT_MAX_RANK], sz = 0;
    iti_h5t_chunk_offset(ht, c, off);
    if (H5Dget_chunk_storage_size(ht->data, off, &sz) < 0) {
        H5Eclear2(H5E_DEFAULT);
        return 0;
    }
    return sz;
}

/* Whether chunk c is stored (lock held), from HDF5's chunk B-tree, which is authoritative:
 * chunks written before a crash may be stored without being indexed yet; they join the index. */
static int is_present(h5_tensor *ht, const iti_coord *c, hsize_t *size) {
    *size = btree_size(c, ht);
    if (!*size)
        return 0;
    int rc = iti_h5_index_add(&ht->index, c);
    return rc ? rc : 1;
}

/* Reads the raw (encoded) bytes of a stored chunk; 0 when absent (lock held). */
static int read_raw(h5_store *h, h5_tensor *ht, const iti_coord *c, void **raw, size_t *len) {
    const iti_store_tensor *t = ht->t;
    hsize_t size;
    int p = is_present(ht, c, &size);
    if (p <= 0)
        return p;
    /* The size comes from the file: no encoding of a chunk is larger than its codec's bound. */
    size_t bound = iti_codec_bound(&ht->codec, t->chunk_bytes);
    if (size > bound || (!iti_codec_compresses(&ht->codec) && size != bound))
        return iti_error(IT_EFORMAT, "tensor \"%s\": a stored chunk claims %llu bytes (a chunk "
                        "holds %zu)", t->id, (unsigned long long)size, t->chunk_bytes);
    void *buf = iti_buf_alloc((size_t)size);
    if (!buf)
        return iti_error(IT_ENOMEM, "out of memory reading a chunk");
    hsize_t off[IT_MAX_RANK];
    iti_h5t_chunk_offset(ht, c, off);
    int rc = iti_vfd_read_chunk(&h->vfd, ht->data, off, buf, (size_t)size, "reading a stored chunk");
    if (rc) {
        iti_buf_free(buf);
        return rc;
    }
    *raw = buf;
    *len = (size_t)size;
    return 1;
}

/* Decodes raw (which it frees or becomes) into a chunk buffer: a codec that does not
 * compress leaves the chunk in raw, once checked. */
static int decode(const h5_tensor *ht, void *raw, size_t len, void **out) {
    const iti_store_tensor *t = ht->t;
    void *buf = NULL, *scratch = NULL;
    int rc = 0;
    if (!iti_codec_compresses(&ht->codec)) {
        rc = iti_codec_verify(&ht->codec, raw, &len, t->chunk_bytes);
        buf = raw;
        raw = NULL;
    } else if (!(buf = iti_buf_alloc(t->chunk_bytes)) ||
               (t->esize > 1 && !(scratch = iti_buf_alloc(t->chunk_bytes)))) {
        rc = iti_error(IT_ENOMEM, "out of memory decoding a chunk");
    } else {
        rc = iti_codec_decode(&ht->codec, raw, len, t->esize, buf, t->chunk_bytes, scratch);
    }
    iti_buf_free(scratch);
    iti_buf_free(raw);
    if (rc) {
        iti_buf_free(buf);
        return iti_error_prefix(rc, "decoding a stored chunk: ");
    }
    *out = buf;
    return 0;
}

static int h5_get(void *impl, iti_store_tensor *t, const iti_coord *c, iti_chunk_ref *ref) {
    h5_store *h = impl;
    h5_tensor *ht = H5T(t);
    int rc = iti_h5t_check_range(ht, c);
    if (rc || iti_h5_mapped(h, ht))
        return rc ? rc : iti_h5_map_get(h, ht, c, ref);
    iti_cache_entry *e = iti_cache_get(h->decoded, t->serial, c);
    if (!e) {
        void *raw = NULL, *buf = NULL;
        size_t len = 0;
        if ((rc = enter_op(h)))
            return rc;
        int p = leave_op(h, read_raw(h, ht, c, &raw, &len));
        if (p <= 0)
            return p;
        if ((rc = decode(ht, raw, len, &buf)))
            return rc;
        e = iti_cache_put(h->decoded, t->serial, c, buf);
        if (!e)
            return iti_error(IT_ENOMEM, "out of memory caching a chunk");
    }
    ref->data = iti_cache_data(e);
    ref->handle = e;
    return 1;
}

static int h5_has(void *impl, iti_store_tensor *t, const iti_coord *c) {
    h5_store *h = impl;
    h5_tensor *ht = H5T(t);
    int rc = iti_h5t_check_range(ht, c);
    if (rc)
        return rc;
    if (iti_cache_contains(h->decoded, t->serial, c))
        return 1;
    hsize_t size;
    if ((rc = enter_op(h)))
        return rc;
    return leave_op(h, is_present(ht, c, &size));
}

static void h5_release(void *impl, iti_store_tensor *t, iti_chunk_ref *ref) {
    (void)t;
    if (ref->handle != &iti_h5_map_ref) /* a mapped chunk holds nothing */
        iti_cache_release(((h5_store *)impl)->decoded, ref->handle);
    ref->handle = NULL;
    ref->data = NULL;
}

/* Writes a chunk's encoded bytes and indexes it. */
static int write_encoded(h5_store *h, h5_tensor *ht, const iti_coord *c, const void *enc,
                         size_t len) {
    hsize_t off[IT_MAX_RANK];
    iti_h5t_chunk_offset(ht, c, off);
    int rc = enter_op(h);
    if (rc)
        return rc;
    if (H5Dwrite_chunk(ht->data, H5P_DEFAULT, 0, off, len, enc) < 0) {
        rc = iti_h5_error(IT_EIO, "writing a chunk");
    } else {
        rc = iti_h5_index_add(&ht->index, c);
        h->dirty = true;
    }
    return leave_op(h, rc);
}

static int h5_encoding(void *impl, iti_store_tensor *t, iti_chunk_encoding *out) {
    const h5_store *h = impl;
    const h5_tensor *ht = H5T(t);
    if (h->mode == IT_HDF5_READONLY)
        return iti_error(IT_EINVAL, "tensor \"%s\": the store is read-only", t->id);
    *out = (iti_chunk_encoding){ht->codec.kind, ht->codec.level, ht->codec.checksum};
    return 0;
}

/* Chunks encoded elsewhere: their checksum and length are checked, as a chunk read from the
 * file would be, before they are written as they are. */
static int h5_put_encoded(void *impl, iti_store_tensor *t, const iti_coord *c, const void *enc,
                          size_t len) {
    h5_store *h = impl;
    h5_tensor *ht = H5T(t);
    int rc = iti_h5t_check_range(ht, c);
    if (rc == 0 && h->mode == IT_HDF5_READONLY)
        rc = iti_error(IT_EINVAL, "store is read-only");
    size_t bound = iti_codec_bound(&ht->codec, t->chunk_bytes), plain = len;
    if (rc == 0 && len > bound)
        rc = iti_error(IT_EFORMAT, "tensor \"%s\": an encoded chunk of %zu bytes cannot hold %zu",
                       t->id, len, t->chunk_bytes);
    if (rc == 0 && (rc = iti_codec_verify(&ht->codec, enc, &plain, t->chunk_bytes))) {
        char prefix[IT_ID_MAX + 16];
        snprintf(prefix, sizeof prefix, "tensor \"%s\": ", t->id);
        rc = iti_error_prefix(rc, prefix);
    }
    return rc ? rc : write_encoded(h, ht, c, enc, len);
}

static int h5_put(void *impl, iti_store_tensor *t, const iti_coord *c, void *buf, iti_chunk_ref *ref) {
    h5_store *h = impl;
    h5_tensor *ht = H5T(t);
    int rc = iti_h5t_check_range(ht, c);
    if (rc == 0 && h->mode == IT_HDF5_READONLY)
        rc = iti_error(IT_EINVAL, "store is read-only");
    if (rc) {
        iti_buf_free(buf);
        return rc;
    }
    void *enc = NULL;
    size_t len = t->chunk_bytes;
    if (iti_codec_encodes(&ht->codec) && !iti_codec_encode_in_place(&ht->codec, buf, &len) &&
        (rc = iti_codec_encode(&ht->codec, buf, t->chunk_bytes, t->esize, &enc, &len))) {
        iti_buf_free(buf);
        return rc;
    }
    rc = write_encoded(h, ht, c, enc ? enc : buf, len);
    iti_buf_free(enc);
    if (rc || !ref) { /* nobody reads it now: the buffer recycles for the next chunk */
        iti_buf_free(buf);
        return rc;
    }
    iti_cache_entry *e = iti_cache_put(h->decoded, t->serial, c, buf);
    if (!e)
        return iti_error(IT_ENOMEM, "out of memory caching a chunk");
    ref->data = iti_cache_data(e);
    ref->handle = e;
    return 0;
}

typedef struct prefetch_job {
    const h5_tensor *ht;
    h5_store *h;
    iti_coord *coords;
    void **raw;
    size_t *len;
} prefetch_job;

static int prefetch_one(void *arg, size_t i, int thread) {
    (void)thread;
    prefetch_job *j = arg;
    if (!j->raw[i])
        return 0;
    void *buf = NULL;
    int rc = decode(j->ht, j->raw[i], j->len[i], &buf);
    j->raw[i] = NULL;
    if (rc)
        return rc;
    iti_cache_release(j->h->decoded,
                     iti_cache_put(j->h->decoded, j->ht->t->serial, &j->coords[i], buf));
    return 0;
}

/* Reads the raw bytes of the chunks not cached yet (lock held); *m set to their number. */
static int read_uncached(prefetch_job *j, const iti_coord *chunks, size_t n, size_t *m) {
    h5_tensor *ht = (h5_tensor *)j->ht;
    *m = 0;
    for (size_t i = 0; i < n; i++) {
        if (iti_h5t_check_range(ht, &chunks[i]))
            continue; /* get reports it */
        iti_cache_entry *e = iti_cache_get(j->h->decoded, ht->t->serial, &chunks[i]);
        if (e) {
            iti_cache_release(j->h->decoded, e);
            continue;
        }
        j->coords[*m] = chunks[i];
        int p = i ? iti_h5_live_yield(j->h) : 0; /* a writer waits one chunk at most */
        if (p == 0)
            p = read_raw(j->h, ht, &chunks[i], &j->raw[*m], &j->len[*m]);
        if (p < 0)
            return p;
        *m += (size_t)p;
    }
    return 0;
}

static int h5_prefetch(void *impl, iti_store_tensor *t, const iti_coord *chunks, size_t n,
                       iti_pool *pool) {
    h5_store *h = impl;
    if (iti_h5_mapped(h, H5T(t)))
        return 0; /* nothing to decode: get hands out the mapping */
    prefetch_job j = {.ht = H5T(t), .h = h};
    size_t m = 0;
    j.coords = malloc((n ? n : 1) * sizeof *j.coords);
    j.raw = calloc(n ? n : 1, sizeof *j.raw);
    j.len = calloc(n ? n : 1, sizeof *j.len);
    int rc = !j.coords || !j.raw || !j.len ? iti_error(IT_ENOMEM, "out of memory") : enter_op(h);
    if (rc == 0)
        rc = leave_op(h, read_uncached(&j, chunks, n, &m));
    if (rc == 0 && m)
        rc = iti_pool_run(pool, m, prefetch_one, &j);
    for (size_t i = 0; j.raw && i < m; i++)
        iti_buf_free(j.raw[i]);
    free(j.coords);
    free(j.raw);
    free(j.len);
    return rc;
}

/* ---- what is stored --------------------------------------------------------------------------- */

/* Format-1 stores were flushed without the journal, so a kill in the middle of a flush could
 * leave index rows whose chunk never reached HDF5's chunk B-tree. Before anything lists from
 * such an index every row is looked up in the B-tree (about 0.6 us a row) (lock held). */
static int checked_index(h5_store *h, h5_tensor *ht) {
    return h->version > 1 ? 0 : iti_h5_index_check(&ht->index, btree_size, ht);
}

static int h5_chunks(void *impl, iti_store_tensor *t, iti_coord **out, size_t *n) {
    h5_store *h = impl;
    int rc = enter_op(h);
    if (rc)
        return rc;
    if ((rc = checked_index(h, H5T(t))) == 0)
        rc = iti_h5_index_sorted(&H5T(t)->index, out, n);
    return leave_op(h, rc);
}

static int h5_stored_bytes(void *impl, iti_store_tensor *t, uint64_t *bytes) {
    h5_store *h = impl;
    int rc = enter_op(h);
    if (rc)
        return rc;
    *bytes = H5Dget_storage_size(H5T(t)->data);
    return leave_op(h, 0);
}

/* The decoded copy is what a read no longer needs: it goes first when the cache is full. */
static void h5_discard(void *impl, iti_store_tensor *t, const iti_coord *c, bool drop) {
    (void)drop; /* never set for a persistent store */
    iti_cache_discard(((h5_store *)impl)->decoded, t->serial, c, false);
}

static void h5_clear_cache(void *impl, iti_store_tensor *t) {
    iti_cache_drop(((h5_store *)impl)->decoded, t ? t->serial : 0, t == NULL);
}

static int h5_remove(void *impl, iti_store_tensor *t, const char *id) {
    h5_store *h = impl;
    if (h->mode == IT_HDF5_READONLY)
        return iti_error(IT_EINVAL, "it_store_delete_tensor: store is read-only");
    int rc = enter_op(h);
    if (rc)
        return rc;
    iti_h5s_forget_described(h);
    if (H5Lexists(h->tensors, id, H5P_DEFAULT) <= 0)
        rc = iti_error(IT_ENOTFOUND, "it_store_delete_tensor: no tensor \"%s\" in the store", id);
    else if (H5Ldelete(h->tensors, id, H5P_DEFAULT) < 0)
        rc = iti_h5_error(IT_EIO, "it_store_delete_tensor");
    else
        h->dirty = true;
    if (rc == 0 && t)
        H5T(t)->removed = true; /* nothing left to index or view */
    rc = leave_op(h, rc);
    if (rc == 0 && t)
        iti_cache_drop(h->decoded, t->serial, false);
    return rc;
}

static int h5_flush(void *impl) {
    h5_store *h = impl;
    if (h->mode == IT_HDF5_READONLY)
        return 0;
    int rc = enter_op(h);
    if (rc)
        return rc;
    for (h5_tensor *ht = h->attached; ht && rc == 0; ht = ht->next)
        rc = settle(h, ht);
    if (rc == 0 && h->dirty) {
        /* The driver commits the flush atomically (hdf5_vfd.h). */
        if (H5Fflush(h->file, H5F_SCOPE_LOCAL) < 0)
            rc = iti_h5_error(IT_EIO, "flushing the store file");
        else
            h->dirty = false;
        iti_log("hdf5", "%s %s", rc ? "failed to commit" : "committed", h->path);
    }
    return leave_op(h, rc);
}

static int h5_list(void *impl, it_store_list_fn fn, void *user) {
    h5_store *h = impl;
    /* Collect names first: the callback may call back into the store. */
    int rc = enter_op(h);
    if (rc)
        return rc;
    H5G_info_t gi;
    if (H5Gget_info(h->tensors, &gi) < 0) {
        rc = iti_h5_error(IT_EFORMAT, "it_store_list: reading /tensors");
        return leave_op(h, rc);
    }
    char **names = calloc(gi.nlinks ? gi.nlinks : 1, sizeof *names);
    for (hsize_t i = 0; names && i < gi.nlinks; i++) {
        ssize_t n = H5Lget_name_by_idx(h->tensors, ".", H5_INDEX_NAME, H5_ITER_INC, i, NULL, 0,
                                       H5P_DEFAULT);
        names[i] = n >= 0 ? malloc((size_t)n + 1) : NULL;
        if (names[i])
            H5Lget_name_by_idx(h->tensors, ".", H5_INDEX_NAME, H5_ITER_INC, i, names[i],
                               (size_t)n + 1, H5P_DEFAULT);
    }
    H5Eclear2(H5E_DEFAULT);
    rc = leave_op(h, 0);
    if (rc == 0 && !names)
        rc = iti_error(IT_ENOMEM, "out of memory listing tensors");
    for (hsize_t i = 0; names && i < gi.nlinks; i++) {
        if (names[i] && rc == 0)
            rc = fn(names[i], user);
        free(names[i]);
    }
    free(names);
    return rc;
}

void iti_h5s_free(h5_store *h) {
    iti_h5_live_close(h);
    iti_h5_progress_close(h);
    iti_h5_map_close(h);
    free(h->path);
    iti_open_file_release(h->claim);
    iti_cache_destroy(h->decoded);
    pthread_mutex_destroy(&h->lock);
    free(h->legacy_journal[0]);
    free(h->legacy_journal[1]);
    free(h);
}

/* After a fault the driver keeps HDF5's closing writes in memory: the close always completes,
 * and nothing is left open in HDF5 for its exit handler to trip over. */
static int h5_close(void *impl) {
    h5_store *h = impl;
    iti_h5s_enter(h);
    iti_h5s_forget_described(h);
    H5Gclose(h->tensors);
    int rc = 0;
    if (H5Fclose(h->file) < 0)
        rc = iti_h5_error(IT_EIO, "it_store_close: closing the file");
    rc = h->failed ? 0 : check_fault(h, rc); /* a fault met earlier was reported then */
    h->file = h->tensors = -1;
    iti_h5s_leave(h);
    iti_h5s_free(h);
    return rc;
}

static size_t h5_memory_bytes(const void *impl) {
    return iti_cache_bytes(((const h5_store *)impl)->decoded);
}

const iti_store_ops iti_h5_store_ops = {
    .version = ITI_STORE_BACKEND_VERSION,
    .kind = "hdf5",
    .describe = h5_describe,
    .attach = h5_attach,
    .detach = h5_detach,
    .get = h5_get,
    .release = h5_release,
    .has = h5_has,
    .put = h5_put,
    .prefetch = h5_prefetch,
    .chunks = h5_chunks,
    .stored_bytes = h5_stored_bytes,
    .discard = h5_discard,
    .clear_cache = h5_clear_cache,
    .remove = h5_remove,
    .flush = h5_flush,
    .list = h5_list,
    .close = h5_close,
    .memory_bytes = h5_memory_bytes,
    .encoding = h5_encoding,
    .progress = iti_h5_progress_note,
    .put_encoded = h5_put_encoded,
};

int it_hdf5_check_index(it_tensor *tensor, it_hdf5_index_report *out) {
    if (!tensor || !out)
        return iti_error(IT_EINVAL, "it_hdf5_check_index: NULL %s", tensor ? "out" : "tensor");
    iti_store_tensor *t;
    h5_store *h = iti_tensor_backend(tensor, &iti_h5_store_ops, &t);
    if (!h)
        return iti_error(IT_EINVAL, "it_hdf5_check_index: tensor \"%s\" is not in an HDF5 store",
                        t->id);
    memset(out, 0, sizeof *out);
    h5_tensor *ht = H5T(t);
    int rc = enter_op(h);
    if (rc)
        return rc;
    if ((rc = iti_h5_index_check(&ht->index, btree_size, ht)) == 0) {
        hid_t sp = H5Dget_space(ht->data);
        hsize_t n = 0;
        if (sp < 0 || H5Dget_num_chunks(ht->data, sp, &n) < 0)
            rc = iti_h5_error(IT_EFORMAT, "it_hdf5_check_index: counting the chunk B-tree");
        if (sp >= 0)
            H5Sclose(sp);
        out->indexed = ht->index.rows;
        out->stale = ht->index.stale;
        out->stored = n;
        out->unindexed = n > ht->index.present.count ? n - ht->index.present.count : 0;
    }
    return leave_op(h, rc);
}
