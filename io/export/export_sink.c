/* The export's sink: the exported region is walked once through the evaluator (planned once:
 * blocks within the budget, transient intermediates let go as they are used up) and each
 * block's final chunks go straight into the output. Blocks take a quarter of the budget, so the
 * output chunks waiting for their last pixels (at most a block's worth) and the encodings stay
 * within half of it.
 *
 * Chunked outputs: the selected pixels of each tensor chunk are copied into the output chunks
 * they fall in (pieces, in parallel: pieces never overlap); an output chunk whose every pixel
 * has arrived is encoded and written with H5Dwrite_chunk by one pool task (HDF5's own filter
 * byte format, in parallel) and let go, so output chunks wait only for the tensor chunks that
 * finish them (about one band of them along the walk). Contiguous outputs: each tensor chunk's
 * selected pixels go through one strided H5Dwrite. */
#include <stdlib.h>
#include <string.h>

#include "export/export_hdf5.h"
#include "hdf5/hdf5_attr.h"
#include "hdf5/hdf5_lock.h"

/* An output chunk being put together. */
typedef struct pending {
    iti_hnode node;             /* key: the output chunk's index */
    char *buf;                  /* the whole output chunk, C order (edge padding zero) */
    size_t left;                /* pixels still to come */
} pending;

/* The selected pixels of a visited chunk that fall into one output chunk. */
typedef struct piece {
    const char *src;            /* the tensor chunk's first pixel of the piece */
    pending *to;
    int64_t lo[IT_MAX_RANK];    /* the piece's first index in the export */
    int64_t n[IT_MAX_RANK];
    int64_t sstr[IT_MAX_RANK];  /* element strides in the tensor chunk, per export index */
} piece;

typedef struct sink {
    exporter *x;
    iti_htab pending;
    size_t npending;
    piece *pieces;
    size_t npieces, cap;
    pending **done;             /* completed in this block */
    size_t ndone, done_cap;
    uint64_t bytes_done, bytes_total;
} sink;

static int grow(void **p, size_t *cap, size_t need, size_t size) {
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap * 2 : 64;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * size);
    if (!q)
        return iti_error(IT_ENOMEM, "it_export_hdf5: out of memory");
    *p = q;
    *cap = n;
    return 0;
}

/* Pixels of output chunk oc (edge chunks hold fewer), and whether it is cut by the edge. */
static size_t chunk_pixels(const exporter *x, const iti_coord *oc, bool *partial) {
    size_t n = 1;
    *partial = false;
    for (int d = 0; d < x->rank; d++) {
        int64_t lo = oc->v[d] * x->chunk[d], e = x->ext[d] - lo < x->chunk[d] ? x->ext[d] - lo : x->chunk[d];
        *partial = *partial || e < x->chunk[d];
        n *= (size_t)e;
    }
    return n;
}

static int find_pending(sink *k, const iti_coord *oc, pending **out) {
    iti_hnode *h = iti_htab_find(&k->pending, 0, oc);
    if (h) {
        *out = (pending *)h;
        return 0;
    }
    const exporter *x = k->x;
    size_t elems = 1;
    for (int d = 0; d < x->rank; d++)
        elems *= (size_t)x->chunk[d];
    bool partial;
    pending *p = calloc(1, sizeof *p);
    if (p)
        p->left = chunk_pixels(x, oc, &partial);
    if (p && !(p->buf = iti_buf_alloc(elems * x->t->esize))) {
        free(p);
        p = NULL;
    }
    if (!p)
        return iti_error(IT_ENOMEM, "it_export_hdf5: out of memory");
    if (partial) /* HDF5 never shows the padding of edge chunks */
        memset(p->buf, 0, elems * x->t->esize);
    p->node.key = *oc;
    int rc = iti_htab_insert(&k->pending, &p->node);
    k->npending++;
    *out = p;
    return rc;
}

/* The pieces of visited chunk c (data: its pixels): one per output chunk its selection meets. */
static int cut_pieces(sink *k, const iti_coord *c, const char *data) {
    exporter *x = k->x;
    const iti_store_tensor *t = x->t;
    int64_t first[IT_MAX_RANK], n[IT_MAX_RANK], at[IT_MAX_RANK], cstr[IT_MAX_RANK];
    if (!iti_selection_in_chunk(t, &x->s, c, first, n, at))
        return 0;
    iti_strides(t->chunk, t->rank, cstr);
    int64_t olo[IT_MAX_RANK], ohi[IT_MAX_RANK], oidx[IT_MAX_RANK];
    size_t elems = 1;
    for (int d = 0; d < x->rank; d++) {
        olo[d] = first[d] / x->chunk[d];
        ohi[d] = (first[d] + n[d] - 1) / x->chunk[d];
        oidx[d] = olo[d];
        elems *= (size_t)n[d];
    }
    k->bytes_done += elems * t->esize;
    data = iti_export_source(x, data, elems);
    for (;;) {
        int rc = grow((void **)&k->pieces, &k->cap, k->npieces + 1, sizeof *k->pieces);
        if (rc)
            return rc;
        piece *p = &k->pieces[k->npieces++];
        iti_coord oc;
        memset(&oc, 0, sizeof oc);
        int64_t so = 0;
        size_t pixels = 1;
        for (int d = 0; d < x->rank; d++) {
            oc.v[d] = oidx[d];
            int64_t lo = oidx[d] * x->chunk[d], hi = lo + x->chunk[d];
            p->lo[d] = lo > first[d] ? lo : first[d];
            p->n[d] = (hi < first[d] + n[d] ? hi : first[d] + n[d]) - p->lo[d];
            p->sstr[d] = cstr[d] * x->s.step[d];
            so += (at[d] + (p->lo[d] - first[d]) * x->s.step[d]) * cstr[d];
            pixels *= (size_t)p->n[d];
        }
        p->src = data + so * (int64_t)t->esize;
        if ((rc = find_pending(k, &oc, &p->to)))
            return rc;
        p->to->left -= pixels;
        if (p->to->left == 0) {
            if ((rc = grow((void **)&k->done, &k->done_cap, k->ndone + 1, sizeof *k->done)))
                return rc;
            k->done[k->ndone++] = p->to;
        }
        int d = x->rank - 1;
        while (d >= 0 && ++oidx[d] > ohi[d])
            oidx[d] = olo[d], d--;
        if (d < 0)
            return 0;
    }
}

static int copy_piece(void *arg, size_t i, int thread) {
    (void)thread;
    const sink *k = arg;
    const exporter *x = k->x;
    const piece *p = &k->pieces[i];
    int64_t dstr[IT_MAX_RANK];
    iti_strides(x->chunk, x->rank, dstr);
    int64_t o = 0;
    for (int d = 0; d < x->rank; d++)
        o += (p->lo[d] - p->to->node.key.v[d] * x->chunk[d]) * dstr[d];
    iti_copy_nd(p->to->buf + o * (int64_t)x->t->esize, dstr, p->src, p->sstr, p->n, x->rank,
                x->t->esize);
    return 0;
}

/* Encodes and writes a completed output chunk (one pool task each). */
static int write_chunk(void *arg, size_t i, int thread) {
    (void)thread;
    const sink *k = arg;
    const exporter *x = k->x;
    const pending *p = k->done[i];
    size_t bytes = x->t->esize;
    hsize_t off[IT_MAX_RANK];
    for (int d = 0; d < x->rank; d++) {
        bytes *= (size_t)x->chunk[d];
        off[d] = (hsize_t)(p->node.key.v[d] * x->chunk[d]);
    }
    void *enc = NULL;
    size_t len = bytes;
    int rc = iti_codec_encodes(&x->codec)
                 ? iti_codec_encode(&x->codec, p->buf, bytes, x->t->esize, &enc, &len) : 0;
    if (rc)
        return rc;
    iti_h5_enter();
    if (iti_vfd_poisoned(x->vfd))
        rc = iti_vfd_error(x->vfd, "it_export_hdf5: writing the output");
    else if (H5Dwrite_chunk(x->data, H5P_DEFAULT, 0, off, len, enc ? enc : p->buf) < 0)
        rc = iti_h5_error(IT_EIO, "it_export_hdf5: H5Dwrite_chunk");
    iti_h5_leave();
    iti_buf_free(enc);
    return rc;
}

static void drop_pending(sink *k, pending *p) {
    iti_htab_remove(&k->pending, &p->node);
    k->npending--;
    iti_buf_free(p->buf);
    free(p);
}

/* A contiguous output: chunk c's selected pixels in one strided H5Dwrite. */
static int write_strided(exporter *x, const iti_coord *c, const char *data, uint64_t *bytes) {
    const iti_store_tensor *t = x->t;
    int64_t first[IT_MAX_RANK], n[IT_MAX_RANK], at[IT_MAX_RANK];
    if (!iti_selection_in_chunk(t, &x->s, c, first, n, at))
        return 0;
    hsize_t mdims[IT_MAX_RANK], mstart[IT_MAX_RANK], mstep[IT_MAX_RANK], fstart[IT_MAX_RANK],
        count[IT_MAX_RANK];
    size_t elems = 1;
    for (int d = 0; d < t->rank; d++) {
        mdims[d] = (hsize_t)t->chunk[d];
        mstart[d] = (hsize_t)at[d];
        mstep[d] = (hsize_t)x->s.step[d];
        fstart[d] = (hsize_t)first[d];
        count[d] = (hsize_t)n[d];
        elems *= (size_t)n[d];
    }
    *bytes += elems * t->esize;
    data = iti_export_source(x, data, elems);
    iti_h5_enter();
    hid_t ms = H5Screate_simple(t->rank, mdims, NULL), fs = H5Dget_space(x->data);
    int rc = 0;
    if (ms < 0 || fs < 0 ||
        H5Sselect_hyperslab(ms, H5S_SELECT_SET, mstart, mstep, count, NULL) < 0 ||
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, fstart, NULL, count, NULL) < 0 ||
        H5Dwrite(x->data, iti_h5_mem_type(t->dtype), ms, fs, H5P_DEFAULT, data) < 0)
        rc = iti_h5_error(IT_EIO, "it_export_hdf5: H5Dwrite");
    if (ms >= 0)
        H5Sclose(ms);
    if (fs >= 0)
        H5Sclose(fs);
    if (rc == 0 && iti_vfd_poisoned(x->vfd))
        rc = iti_vfd_error(x->vfd, "it_export_hdf5: writing the output");
    iti_h5_leave();
    return rc;
}

static int progress(sink *k) {
    const iti_engine *eng = &k->x->eng;
    if (eng->progress && eng->progress(k->bytes_done, k->bytes_total, eng->progress_user))
        return iti_error(IT_ECANCELED, "it_export_hdf5: canceled by the progress callback after "
                         "%llu of %llu bytes", (unsigned long long)k->bytes_done,
                         (unsigned long long)k->bytes_total);
    return 0;
}

static int visit_block(const iti_coord *coords, const iti_chunk_ref *refs, size_t n, void *user) {
    sink *k = user;
    exporter *x = k->x;
    int rc = 0;
    if (x->o->contiguous) {
        for (size_t i = 0; rc == 0 && i < n; i++)
            rc = write_strided(x, &coords[i], refs[i].data, &k->bytes_done);
        return rc ? rc : progress(k);
    }
    k->npieces = k->ndone = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = cut_pieces(k, &coords[i], refs[i].data);
    if (rc == 0)
        rc = iti_pool_run(x->eng.pool, k->npieces, copy_piece, k);
    if (rc == 0)
        rc = iti_pool_run(x->eng.pool, k->ndone, write_chunk, k);
    for (size_t i = 0; i < k->ndone; i++)
        drop_pending(k, k->done[i]);
    if (rc == 0 && iti_vfd_poisoned(x->vfd))
        rc = iti_vfd_error(x->vfd, "it_export_hdf5: writing the output");
    return rc ? rc : progress(k);
}

int iti_export_stream(exporter *x) {
    sink k = {.x = x, .bytes_total = x->s.bytes};
    int rc = iti_htab_init(&k.pending, 64);
    if (rc == 0 && x->eng.progress && x->eng.progress(0, k.bytes_total, x->eng.progress_user))
        rc = iti_error(IT_ECANCELED, "it_export_hdf5: canceled by the progress callback");
    if (rc == 0)
        rc = iti_eval_visit(x->tensor, &x->s, x->eng.budget / 4, visit_block, &k, "it_export_hdf5");
    if (rc == 0 && k.npending)
        rc = iti_error(IT_EINTERNAL, "it_export_hdf5: %zu output chunks were never completed",
                       k.npending);
    /* what a failure left unfinished */
    for (size_t b = 0; k.pending.buckets && b < k.pending.nbuckets; b++)
        while (k.pending.buckets[b])
            drop_pending(&k, (pending *)k.pending.buckets[b]);
    iti_htab_free(&k.pending);
    free(k.pieces);
    free(k.done);
    return rc;
}
