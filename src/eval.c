/* The evaluator: chunk-final, demand-driven computation of tensor regions.
 *
 * To make chunks of tensor T final (`ensure`): pin the chunks already stored; claim the
 * missing ones (a claimed chunk is computed by exactly one thread; others wait for it); list
 * every window intersecting the claimed chunks, each once; make the argument chunks those
 * windows read final, recursively, one batch per tensor; compute the windows not found in the
 * window cache on the pool; then blend each chunk from its windows in lexicographic window
 * order and hand it to the store whole. A chunk reaches the store only when final, so stored
 * data are always correct and results never depend on threads, order or cache sizes.
 *
 * Reads and fills walk the region in blocks of chunks sized so that one block's working set
 * (its chunks, windows and upstream chunks) stays within half the context budget. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "context_impl.h"
#include "coordset.h"
#include "dtype.h"
#include "graph.h"
#include "kernels.h"
#include "store_impl.h"
#include "tensor_impl.h"
#include "window_math.h"

typedef struct eval {
    it_ctx *ctx;
    int threads;
    void **scratch;          /* per pool thread: argument slices, indices and pointers of one
                                batch (reused, never allocated per window) */
    size_t *scratch_size;
} eval;

/* Chunks of one tensor pinned for the duration of a step, with a lookup by coordinate. */
typedef struct pinned {
    it_tensor *t;
    size_t n;
    it_coord *coords;
    it_chunk_ref *refs;
    it_hnode *nodes;
    it_htab index;
} pinned;

static int ensure(eval *ev, it_tensor *t, const it_coord *coords, size_t n, it_chunk_ref *refs,
                  bool keep);

/* ---- small helpers ---------------------------------------------------------------------- */

static int64_t chunk_of(const it_tensor *t, int d, int64_t x) {
    return (int64_t)it_floordiv((it_i128)x - t->view.grid[d], t->view.chunk[d]);
}

static void format_coord(char *buf, size_t size, const int64_t *v, int rank) {
    size_t used = 0;
    buf[0] = 0;
    for (int d = 0; d < rank && used < size; d++)
        used += (size_t)snprintf(buf + used, size - used, d ? ", %lld" : "%lld", (long long)v[d]);
}

static void release_refs(it_tensor *t, it_chunk_ref *refs, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (refs[i].data)
            t->store->ops->release(t->store->impl, &t->view, &refs[i]);
}

static void pinned_free(pinned *p) {
    if (p->refs)
        release_refs(p->t, p->refs, p->n);
    free(p->coords);
    free(p->refs);
    free(p->nodes);
    if (p->index.buckets)
        it_htab_free(&p->index);
    memset(p, 0, sizeof *p);
}

/* Makes every chunk of `set` final and pinned in p, with a lookup index. */
static int pinned_ensure(eval *ev, it_tensor *t, const it_coordset *set, pinned *p) {
    memset(p, 0, sizeof *p);
    p->t = t;
    int rc = it_coordset_sorted(set, &p->coords);
    if (rc)
        return rc;
    p->n = set->count;
    p->refs = calloc(p->n ? p->n : 1, sizeof *p->refs);
    p->nodes = calloc(p->n ? p->n : 1, sizeof *p->nodes);
    if (!p->refs || !p->nodes || it_htab_init(&p->index, p->n))
        return it_error(IT_ENOMEM, "out of memory planning tensor \"%s\"", t->view.id);
    rc = ensure(ev, t, p->coords, p->n, p->refs, true);
    if (rc) {
        free(p->refs); /* ensure released them */
        p->refs = NULL;
        return rc;
    }
    for (size_t i = 0; i < p->n; i++) {
        p->nodes[i].key = p->coords[i];
        it_htab_insert(&p->index, &p->nodes[i]);
    }
    return 0;
}

static const void *pinned_find(const pinned *p, const it_coord *c) {
    it_hnode *n = it_htab_find(&p->index, 0, c);
    return n ? p->refs[n - p->nodes].data : NULL;
}

/* ---- planning --------------------------------------------------------------------------- */

/* Windows of t intersecting chunk c that the finite dimensions allow: lo..hi. */
static int chunk_windows(const it_tensor *t, const it_coord *c, int64_t *lo, int64_t *hi) {
    if (t->no_windows)
        return 0;
    int64_t start[IT_MAX_RANK], stop[IT_MAX_RANK];
    it_chunk_box(&t->view, c, start, stop);
    if (!it_win_range(&t->win, t->view.rank, start, stop, lo, hi))
        return 0;
    for (int k = 0; k < t->view.rank; k++) {
        if (lo[k] < t->valid_lo[k])
            lo[k] = t->valid_lo[k];
        if (hi[k] > t->valid_hi[k])
            hi[k] = t->valid_hi[k];
        if (lo[k] > hi[k])
            return 0;
    }
    return 1;
}

static int add_to_set(const it_coord *c, void *set) {
    int rc = it_coordset_add(set, c);
    return rc < 0 ? rc : 0;
}

/* Box of argument i read by window w, checked against the argument's finite dimensions. */
static int arg_box(const it_tensor *t, size_t i, const it_coord *w, int64_t *start,
                   int64_t *stop) {
    const it_tensor *a = t->args[i];
    int rc = it_win_bounds(&t->arg_windows[i], w->v, start, stop);
    if (rc)
    {
        char prefix[IT_ID_MAX + 64];
        snprintf(prefix, sizeof prefix, "tensor \"%s\", argument %zu: ", t->view.id, i);
        return it_error_prefix(rc, prefix);
    }
    for (int d = 0; d < a->view.rank; d++) {
        if (a->view.shape[d] != IT_INF && (start[d] < 0 || stop[d] > a->view.shape[d])) {
            char wb[256];
            format_coord(wb, sizeof wb, w->v, t->view.rank);
            return it_error(IT_ERANGE,
                            "tensor \"%s\": window (%s) reads [%lld, %lld) of dimension %d of "
                            "argument %zu \"%s\", which has size %lld",
                            t->view.id, wb, (long long)start[d], (long long)stop[d], d, i, a->view.id,
                            (long long)a->view.shape[d]);
        }
    }
    return 0;
}

/* ---- computing windows -------------------------------------------------------------------- */

typedef struct work {
    eval *ev;
    it_tensor *t;
    size_t nwin;
    it_coord *wins;           /* windows to compute, lexicographic */
    void **wout;              /* their output buffers */
    pinned *args;             /* per argument */
    int arg_rank[64];
    const int64_t *arg_shape[64];
    it_dtype arg_dtype[64];
    size_t arg_offset[65];    /* offset of argument i inside one window's slices */

    /* finalisation */
    const it_coord *chunks;   /* all requested chunks */
    const size_t *todo;       /* indices (into chunks) of the chunks to compute */
    size_t ntodo;
    it_chunk_ref *refs;       /* indexed like chunks */
    bool keep;                /* leave stored chunks pinned in refs (else release at once) */
    it_htab win_index;        /* window -> data, for blending */
    it_hnode *win_nodes;
    const void **win_data;
    it_row_blend_fn row;
} work;

static int gather(work *wk, size_t i, const it_coord *w, char *dst) {
    const it_tensor *t = wk->t, *a = t->args[i];
    int64_t start[IT_MAX_RANK], stop[IT_MAX_RANK], ext[IT_MAX_RANK], sstr[IT_MAX_RANK];
    int64_t clo[IT_MAX_RANK], chi[IT_MAX_RANK], cstr[IT_MAX_RANK];
    int rc = it_win_bounds(&t->arg_windows[i], w->v, start, stop);
    if (rc)
        return rc;
    for (int d = 0; d < a->view.rank; d++) {
        ext[d] = stop[d] - start[d];
        clo[d] = chunk_of(a, d, start[d]);
        chi[d] = chunk_of(a, d, stop[d] - 1);
    }
    it_strides(ext, a->view.rank, sstr);
    it_strides(a->view.chunk, a->view.rank, cstr);
    it_coord c;
    memset(&c, 0, sizeof c);
    memcpy(c.v, clo, sizeof(int64_t) * (size_t)a->view.rank);
    for (;;) {
        const char *src = pinned_find(&wk->args[i], &c);
        if (!src)
            return it_error(IT_EINTERNAL, "argument chunk of \"%s\" not pinned", a->view.id);
        int64_t so = 0, dof = 0, box[IT_MAX_RANK];
        for (int d = 0; d < a->view.rank; d++) {
            int64_t cs = c.v[d] * a->view.chunk[d] + a->view.grid[d];
            int64_t lo = start[d] > cs ? start[d] : cs;
            int64_t hi = stop[d] < cs + a->view.chunk[d] ? stop[d] : cs + a->view.chunk[d];
            box[d] = hi - lo;
            so += (lo - cs) * cstr[d];
            dof += (lo - start[d]) * sstr[d];
        }
        it_copy_nd(dst + dof * (int64_t)a->view.esize, sstr, src + so * (int64_t)a->view.esize, cstr, box,
                   a->view.rank, a->view.esize);
        int d = a->view.rank - 1;
        while (d >= 0 && c.v[d] == chi[d])
            c.v[d] = clo[d], d--;
        if (d < 0)
            return 0;
        c.v[d]++;
    }
}

/* Hands chunk todo[j] to the store; pinned in refs only with wk->keep. */
static int put_chunk(work *wk, size_t j, void *buf) {
    it_tensor *t = wk->t;
    size_t ci = wk->todo[j];
    return t->store->ops->put(t->store->impl, &t->view, &wk->chunks[ci], buf, wk->keep ? &wk->refs[ci] : NULL);
}

static void *scratch_for(eval *ev, int thread, size_t need) {
    if (ev->scratch_size[thread] < need) {
        it_buf_free(ev->scratch[thread]);
        ev->scratch[thread] = it_buf_alloc(need);
        ev->scratch_size[thread] = ev->scratch[thread] ? need : 0;
    }
    return ev->scratch[thread];
}

static int compute_batch(void *arg, size_t b, int thread) {
    work *wk = arg;
    it_tensor *t = wk->t;
    size_t first = b * t->batch;
    size_t count = wk->nwin - first < t->batch ? wk->nwin - first : t->batch;
    size_t slice_bytes = wk->arg_offset[t->n_args]; /* a multiple of 64 */
    size_t index_bytes = count * (size_t)t->view.rank * sizeof(int64_t);
    char *slices = scratch_for(wk->ev, thread,
                               count * slice_bytes + index_bytes + (count * t->n_args + 1) * sizeof(void *));
    if (!slices)
        return it_error(IT_ENOMEM, "out of memory for a batch of \"%s\"", t->view.id);
    int64_t *index = (int64_t *)(slices + count * slice_bytes);
    const void **argp = (const void **)((char *)index + index_bytes);
    int rc = 0;
    for (size_t k = 0; k < count; k++) {
        const it_coord *w = &wk->wins[first + k];
        memcpy(index + k * (size_t)t->view.rank, w->v, sizeof(int64_t) * (size_t)t->view.rank);
        for (size_t i = 0; i < t->n_args; i++) {
            char *dst = slices + k * slice_bytes + wk->arg_offset[i];
            if ((rc = gather(wk, i, w, dst)))
                goto done;
            argp[k * t->n_args + i] = dst;
        }
        if (!wk->wout[first + k]) {
            wk->wout[first + k] = it_buf_alloc(t->direct ? t->view.chunk_bytes : t->win_bytes);
            if (!wk->wout[first + k]) {
                rc = it_error(IT_ENOMEM, "out of memory for a window of \"%s\"", t->view.id);
                goto done;
            }
        }
    }
    it_window_batch call = {
        .count = count,
        .rank = t->view.rank,
        .index = index,
        .dtype = t->view.dtype,
        .out_rank = t->view.rank,
        .out_shape = t->win.size,
        .out = wk->wout + first,
        .n_args = t->n_args,
        .arg_rank = wk->arg_rank,
        .arg_shape = wk->arg_shape,
        .arg_dtype = wk->arg_dtype,
        .arg = argp,
        .thread = thread,
    };
    if (t->view.flags & IT_TENSOR_SERIAL)
        pthread_mutex_lock(&t->fn_lock);
    int frc = t->fn(&call, t->user);
    if (t->view.flags & IT_TENSOR_SERIAL)
        pthread_mutex_unlock(&t->fn_lock);
    if (frc != 0) {
        char wb[256];
        format_coord(wb, sizeof wb, index, t->view.rank);
        rc = it_error(IT_ECALLBACK, "fn of tensor \"%s\" returned %d for window (%s)%s", t->view.id,
                      frc, wb, count > 1 ? " (first of its batch)" : "");
    } else if (t->direct) {
        /* Each window is its chunk's final value: store it now, so that buffers recycle
         * while the other windows are computed. */
        for (size_t k = 0; k < count && rc == 0; k++) {
            void *buf = wk->wout[first + k];
            wk->wout[first + k] = NULL; /* the store owns it now, even on failure */
            rc = put_chunk(wk, first + k, buf);
        }
    }
done:
    return rc;
}

/* ---- finalising chunks -------------------------------------------------------------------- */

typedef struct blend_walk {
    work *wk;
    char *acc;
    uint32_t *cnt;
    int64_t cstart[IT_MAX_RANK], cstop[IT_MAX_RANK], cstr[IT_MAX_RANK], wstr[IT_MAX_RANK];
} blend_walk;

static int blend_window(const it_coord *w, void *arg) {
    blend_walk *bw = arg;
    work *wk = bw->wk;
    it_tensor *t = wk->t;
    it_hnode *n = it_htab_find(&wk->win_index, 0, w);
    if (!n)
        return it_error(IT_EINTERNAL, "window missing while blending tensor \"%s\"", t->view.id);
    const char *in = wk->win_data[n - wk->win_nodes];
    int64_t ws[IT_MAX_RANK], we[IT_MAX_RANK], lo[IT_MAX_RANK], ext[IT_MAX_RANK];
    int rc = it_win_bounds(&t->win, w->v, ws, we);
    if (rc)
        return rc;
    int r = t->view.rank, last = r - 1;
    for (int d = 0; d < r; d++) {
        lo[d] = ws[d] > bw->cstart[d] ? ws[d] : bw->cstart[d];
        int64_t hi = we[d] < bw->cstop[d] ? we[d] : bw->cstop[d];
        ext[d] = hi - lo[d];
        if (ext[d] <= 0)
            return 0;
    }
    int64_t idx[IT_MAX_RANK] = {0};
    for (;;) {
        int64_t ao = 0, io = 0;
        for (int d = 0; d < r; d++) {
            int64_t x = lo[d] + (d < last ? idx[d] : 0);
            ao += (x - bw->cstart[d]) * bw->cstr[d];
            io += (x - ws[d]) * bw->wstr[d];
        }
        char *acc = bw->acc + ao * (int64_t)t->view.esize;
        const char *src = in + io * (int64_t)t->view.esize;
        uint32_t *cnt = bw->cnt ? bw->cnt + ao : NULL;
        if (t->blend == IT_BLEND_CUSTOM) {
            t->blend_fn(acc, src, cnt, (size_t)ext[last], t->user);
            for (int64_t i = 0; i < ext[last]; i++)
                cnt[i]++;
        } else {
            wk->row(acc, src, cnt, (size_t)ext[last]);
        }
        int d = last - 1;
        while (d >= 0 && ++idx[d] == ext[d])
            idx[d--] = 0;
        if (d < 0)
            return 0;
    }
}


static int finalize_chunk(void *arg, size_t j, int thread) {
    (void)thread;
    work *wk = arg;
    it_tensor *t = wk->t;
    bool counted = t->blend == IT_BLEND_MEAN || t->blend == IT_BLEND_CUSTOM;
    blend_walk bw = {.wk = wk};
    bw.acc = it_buf_alloc(t->view.chunk_bytes);
    bw.cnt = counted ? calloc(t->view.chunk_elems, sizeof *bw.cnt) : NULL;
    if (!bw.acc || (counted && !bw.cnt)) {
        it_buf_free(bw.acc);
        free(bw.cnt);
        return it_error(IT_ENOMEM, "out of memory for a chunk of \"%s\"", t->view.id);
    }
    static const unsigned char zero[8];
    it_fill_pattern(bw.acc, t->blend == IT_BLEND_MEAN ? zero : t->view.fill, t->view.esize, t->view.chunk_elems);
    const it_coord *c = &wk->chunks[wk->todo[j]];
    it_chunk_box(&t->view, c, bw.cstart, bw.cstop);
    it_strides(t->view.chunk, t->view.rank, bw.cstr);
    it_strides(t->win.size, t->view.rank, bw.wstr);
    int64_t lo[IT_MAX_RANK], hi[IT_MAX_RANK];
    int rc = 0;
    if (chunk_windows(t, c, lo, hi))
        rc = it_box_foreach(lo, hi, t->view.rank, blend_window, &bw);
    if (rc == 0 && t->blend == IT_BLEND_MEAN)
        it_mean_finish(t->view.dtype, bw.acc, bw.cnt, t->view.chunk_elems, t->view.fill);
    free(bw.cnt);
    if (rc) {
        it_buf_free(bw.acc);
        return rc;
    }
    return put_chunk(wk, j, bw.acc);
}

/* Computes chunks chunks[todo[0..ntodo)] (claimed by this thread); with `keep` they stay
 * pinned in refs. */
static int compute_chunks(eval *ev, it_tensor *t, const it_coord *chunks, const size_t *todo,
                          size_t ntodo, it_chunk_ref *refs, bool keep) {
    if (!t->fn) {
        if (t->fill_missing) { /* blend_init, never stored */
            for (size_t j = 0; j < ntodo; j++)
                refs[todo[j]] = (it_chunk_ref){.data = keep ? t->init_chunk : NULL};
            return 0;
        }
        int64_t a[IT_MAX_RANK], b[IT_MAX_RANK];
        it_chunk_box(&t->view, &chunks[todo[0]], a, b);
        char pa[256];
        size_t used = 0;
        for (int d = 0; d < t->view.rank && used < sizeof pa; d++)
            used += (size_t)snprintf(pa + used, sizeof pa - used, "%s%lld:%lld", d ? ", " : "",
                                     (long long)a[d], (long long)b[d]);
        return it_error(IT_ENOTCOMPUTED,
                        "tensor \"%s\" has no function and %zu needed chunk(s) were never "
                        "computed, the first covering [%s]",
                        t->view.id, ntodo, pa);
    }
    work wk;
    memset(&wk, 0, sizeof wk);
    wk.ev = ev;
    wk.t = t;
    wk.chunks = chunks;
    wk.todo = todo;
    wk.ntodo = ntodo;
    wk.refs = refs;
    wk.keep = keep;
    it_cache *wcache = t->store->ctx->windows;
    it_coord *all = NULL;         /* every window the chunks need (non-direct) */
    size_t nall = 0;
    it_cache_entry **entries = NULL;
    pinned *args = NULL;
    it_coordset set;
    bool set_live = false;
    int rc = 0;

    /* 1. The windows to compute. */
    if (t->direct) {
        wk.nwin = ntodo;
        wk.wins = calloc(ntodo, sizeof *wk.wins);
        if (!wk.wins)
            goto nomem;
        for (size_t j = 0; j < ntodo; j++)
            for (int d = 0; d < t->view.rank; d++)
                wk.wins[j].v[d] = (chunks[todo[j]].v[d] * t->view.chunk[d] + t->view.grid[d] -
                                   t->win.offset[d]) / t->win.stride[d];
    } else {
        if ((rc = it_coordset_init(&set)))
            goto fail;
        set_live = true;
        for (size_t j = 0; j < ntodo; j++) {
            int64_t lo[IT_MAX_RANK], hi[IT_MAX_RANK];
            if (chunk_windows(t, &chunks[todo[j]], lo, hi) &&
                (rc = it_box_foreach(lo, hi, t->view.rank, add_to_set, &set)))
                goto fail;
        }
        if ((rc = it_coordset_sorted(&set, &all)))
            goto fail;
        nall = set.count;
        it_coordset_free(&set);
        set_live = false;
        entries = calloc(nall ? nall : 1, sizeof *entries);
        wk.wins = calloc(nall ? nall : 1, sizeof *wk.wins);
        if (!entries || !wk.wins)
            goto nomem;
        for (size_t k = 0; k < nall; k++) {
            entries[k] = it_cache_get(wcache, t->view.serial, &all[k]);
            if (!entries[k])
                wk.wins[wk.nwin++] = all[k];
        }
    }
    wk.wout = calloc(wk.nwin ? wk.nwin : 1, sizeof *wk.wout);
    if (!wk.wout)
        goto nomem;

    /* 2. Every argument chunk those windows read, final and pinned: one batch per tensor. */
    if (t->n_args && wk.nwin) {
        args = calloc(t->n_args, sizeof *args);
        if (!args)
            goto nomem;
        for (size_t i = 0; i < t->n_args; i++) {
            const it_tensor *a = t->args[i];
            wk.arg_rank[i] = a->view.rank;
            wk.arg_shape[i] = t->arg_windows[i].size;
            wk.arg_dtype[i] = a->view.dtype;
            wk.arg_offset[i + 1] = wk.arg_offset[i] + ((t->arg_bytes[i] + 63) & ~(size_t)63);
            if ((rc = it_coordset_init(&set)))
                goto fail;
            set_live = true;
            for (size_t k = 0; k < wk.nwin; k++) {
                int64_t start[IT_MAX_RANK], stop[IT_MAX_RANK], lo[IT_MAX_RANK], hi[IT_MAX_RANK];
                if ((rc = arg_box(t, i, &wk.wins[k], start, stop)))
                    goto fail;
                for (int d = 0; d < a->view.rank; d++) {
                    lo[d] = chunk_of(a, d, start[d]);
                    hi[d] = chunk_of(a, d, stop[d] - 1);
                }
                if ((rc = it_box_foreach(lo, hi, a->view.rank, add_to_set, &set)))
                    goto fail;
            }
            rc = pinned_ensure(ev, t->args[i], &set, &args[i]);
            it_coordset_free(&set);
            set_live = false;
            if (rc)
                goto fail;
        }
    }
    wk.args = args;

    /* 3. Compute the windows on the pool. */
    if (wk.nwin && (rc = it_pool_run(ev->ctx->pool, (wk.nwin + t->batch - 1) / t->batch,
                                     compute_batch, &wk)))
        goto fail;
    if (args) {
        for (size_t i = 0; i < t->n_args; i++)
            pinned_free(&args[i]);
        free(args);
        args = NULL;
    }

    /* 4. Finalise: hand chunks to the store (direct chunks already are). */
    if (!t->direct) {
        for (size_t k = 0, c = 0; k < nall; k++) {
            if (entries[k])
                continue;
            /* wins[c] == all[k]: computed windows, in the same order */
            entries[k] = it_cache_put(wcache, t->view.serial, &all[k], wk.wout[c]);
            wk.wout[c++] = NULL;
            if (!entries[k])
                goto nomem;
        }
        wk.win_nodes = calloc(nall ? nall : 1, sizeof *wk.win_nodes);
        wk.win_data = calloc(nall ? nall : 1, sizeof *wk.win_data);
        if (!wk.win_nodes || !wk.win_data || it_htab_init(&wk.win_index, nall))
            goto nomem;
        for (size_t k = 0; k < nall; k++) {
            wk.win_nodes[k].key = all[k];
            wk.win_data[k] = it_cache_data(entries[k]);
            it_htab_insert(&wk.win_index, &wk.win_nodes[k]);
        }
        wk.row = it_row_blend(t->blend, t->view.dtype);
        rc = it_pool_run(ev->ctx->pool, ntodo, finalize_chunk, &wk);
    }
    if (rc)
        goto fail;
    goto out;

nomem:
    rc = it_error(IT_ENOMEM, "out of memory computing tensor \"%s\"", t->view.id);
fail:
    for (size_t j = 0; j < ntodo; j++)
        if (refs[todo[j]].data) {
            t->store->ops->release(t->store->impl, &t->view, &refs[todo[j]]);
            refs[todo[j]].data = NULL;
        }
out:
    if (set_live)
        it_coordset_free(&set);
    if (args) {
        for (size_t i = 0; i < t->n_args; i++)
            pinned_free(&args[i]);
        free(args);
    }
    if (wk.wout)
        for (size_t k = 0; k < wk.nwin; k++)
            it_buf_free(wk.wout[k]);
    if (entries)
        for (size_t k = 0; k < nall; k++)
            it_cache_release(wcache, entries[k]);
    if (wk.win_index.buckets)
        it_htab_free(&wk.win_index);
    free(wk.win_nodes);
    free(wk.win_data);
    free(wk.wout);
    free(wk.wins);
    free(entries);
    free(all);
    return rc;
}

/* ---- claims and ensure --------------------------------------------------------------------- */

static bool claimed(it_tensor *t, const it_coord *c) { return it_htab_find(&t->claims, 0, c); }

static void unclaim(it_tensor *t, const it_coord *c) {
    it_hnode *n = it_htab_find(&t->claims, 0, c);
    if (n) {
        it_htab_remove(&t->claims, n);
        free(n);
    }
}

/* Makes chunks coords[0..n) of t final; with `keep` they are pinned in refs (zeroed by the
 * caller). On failure nothing stays pinned. */
static int ensure(eval *ev, it_tensor *t, const it_coord *coords, size_t n, it_chunk_ref *refs,
                  bool keep) {
    it_store *s = t->store;
    size_t *todo = malloc((n ? n : 1) * sizeof *todo);
    size_t *mine = malloc((n ? n : 1) * sizeof *mine);
    size_t *theirs = malloc((n ? n : 1) * sizeof *theirs);
    int rc = 0;
    if (!todo || !mine || !theirs) {
        rc = it_error(IT_ENOMEM, "out of memory planning tensor \"%s\"", t->view.id);
        goto out;
    }
    size_t ntodo = n;
    for (size_t i = 0; i < n; i++)
        todo[i] = i;
    if (s->ops->prefetch && n > 1 && (rc = s->ops->prefetch(s->impl, &t->view, coords, n, ev->ctx->pool)))
        goto out;
    while (ntodo) {
        size_t nm = 0, nt = 0;
        for (size_t q = 0; q < ntodo; q++) {
            size_t i = todo[q];
            int got = s->ops->get(s->impl, &t->view, &coords[i], &refs[i]);
            if (got < 0) {
                rc = got;
                goto out;
            }
            if (got) {
                if (!keep) {
                    s->ops->release(s->impl, &t->view, &refs[i]);
                    memset(&refs[i], 0, sizeof refs[i]);
                }
                continue;
            }
            pthread_mutex_lock(&t->claim_lock);
            bool busy = claimed(t, &coords[i]);
            it_hnode *node = busy ? NULL : calloc(1, sizeof *node);
            if (node) {
                node->key = coords[i];
                it_htab_insert(&t->claims, node);
            }
            pthread_mutex_unlock(&t->claim_lock);
            if (busy) {
                theirs[nt++] = i;
                continue;
            }
            if (!node) {
                rc = it_error(IT_ENOMEM, "out of memory claiming a chunk of \"%s\"", t->view.id);
                goto out;
            }
            /* It may have been stored between our look and our claim. */
            got = s->ops->get(s->impl, &t->view, &coords[i], &refs[i]);
            if (got != 0) {
                pthread_mutex_lock(&t->claim_lock);
                unclaim(t, &coords[i]);
                pthread_cond_broadcast(&t->claim_cv);
                pthread_mutex_unlock(&t->claim_lock);
                if (got < 0) {
                    rc = got;
                    goto out;
                }
                if (!keep) {
                    s->ops->release(s->impl, &t->view, &refs[i]);
                    memset(&refs[i], 0, sizeof refs[i]);
                }
                continue;
            }
            mine[nm++] = i;
        }
        if (nm) {
            rc = compute_chunks(ev, t, coords, mine, nm, refs, keep);
            pthread_mutex_lock(&t->claim_lock);
            for (size_t q = 0; q < nm; q++)
                unclaim(t, &coords[mine[q]]);
            pthread_cond_broadcast(&t->claim_cv);
            pthread_mutex_unlock(&t->claim_lock);
            if (rc)
                goto out;
        }
        if (nt) {
            pthread_mutex_lock(&t->claim_lock);
            for (size_t q = 0; q < nt; q++)
                while (claimed(t, &coords[theirs[q]]))
                    pthread_cond_wait(&t->claim_cv, &t->claim_lock);
            pthread_mutex_unlock(&t->claim_lock);
        }
        /* Chunks computed by others are normally present now; if their computation failed
         * (or the chunk was evicted already) the next round claims them here. */
        memcpy(todo, theirs, nt * sizeof *todo);
        ntodo = nt;
    }
out:
    if (rc)
        release_refs(t, refs, n), memset(refs, 0, n * sizeof *refs);
    free(todo);
    free(mine);
    free(theirs);
    return rc;
}

/* ---- block planning ------------------------------------------------------------------------ */

static size_t sat_add(size_t a, size_t b) { return a > SIZE_MAX - b ? SIZE_MAX : a + b; }
static size_t sat_mul(size_t a, size_t b) {
    size_t r;
    return it_mul_size(a, b, &r) ? r : SIZE_MAX;
}

/* Upper estimate of the bytes pinned while making chunk box lo..hi of t final: each tensor of
 * the graph once, with the union (bounding box) of the chunks its consumers need. box is
 * scratch of 2*IT_MAX_RANK entries per graph node. */
static size_t estimate(const it_graph *g, int64_t (*box)[2][IT_MAX_RANK], bool *wanted,
                       const int64_t *lo, const int64_t *hi) {
    memset(wanted, 0, g->n * sizeof *wanted);
    memcpy(box[0][0], lo, sizeof box[0][0]);
    memcpy(box[0][1], hi, sizeof box[0][1]);
    wanted[0] = true;
    size_t bytes = 0;
    for (size_t k = 0; k < g->n; k++) {
        const it_tensor *t = g->order[k];
        if (!wanted[k])
            continue;
        size_t nchunks = 1;
        int64_t start[IT_MAX_RANK], stop[IT_MAX_RANK];
        for (int d = 0; d < t->view.rank; d++) {
            nchunks = sat_mul(nchunks, (size_t)(box[k][1][d] - box[k][0][d] + 1));
            start[d] = (int64_t)((it_i128)box[k][0][d] * t->view.chunk[d] + t->view.grid[d]);
            stop[d] = (int64_t)((it_i128)(box[k][1][d] + 1) * t->view.chunk[d] + t->view.grid[d]);
        }
        bytes = sat_add(bytes, sat_mul(nchunks, t->view.chunk_bytes));
        int64_t wlo[IT_MAX_RANK], whi[IT_MAX_RANK];
        if (!t->fn || t->no_windows || !it_win_range(&t->win, t->view.rank, start, stop, wlo, whi))
            continue;
        size_t nwin = 1;
        bool none = false;
        for (int j = 0; j < t->view.rank; j++) {
            wlo[j] = wlo[j] < t->valid_lo[j] ? t->valid_lo[j] : wlo[j];
            whi[j] = whi[j] > t->valid_hi[j] ? t->valid_hi[j] : whi[j];
            none = none || wlo[j] > whi[j];
            nwin = sat_mul(nwin, (size_t)(whi[j] - wlo[j] + 1));
        }
        if (none)
            continue;
        if (!t->direct)
            bytes = sat_add(bytes, sat_mul(nwin, t->win_bytes));
        for (size_t i = 0; i < t->n_args; i++) {
            const it_tensor *a = t->args[i];
            int64_t s0[IT_MAX_RANK], e0[IT_MAX_RANK], s1[IT_MAX_RANK], e1[IT_MAX_RANK];
            it_coord cl, ch;
            memset(&cl, 0, sizeof cl);
            memset(&ch, 0, sizeof ch);
            memcpy(cl.v, wlo, sizeof wlo);
            memcpy(ch.v, whi, sizeof whi);
            if (it_win_bounds(&t->arg_windows[i], cl.v, s0, e0) ||
                it_win_bounds(&t->arg_windows[i], ch.v, s1, e1))
                return SIZE_MAX;
            size_t ai = it_graph_index(g, a);
            for (int d = 0; d < a->view.rank; d++) {
                int64_t alo = chunk_of(a, d, s0[d] < s1[d] ? s0[d] : s1[d]);
                int64_t ahi = chunk_of(a, d, (e0[d] > e1[d] ? e0[d] : e1[d]) - 1);
                if (!wanted[ai] || alo < box[ai][0][d])
                    box[ai][0][d] = alo;
                if (!wanted[ai] || ahi > box[ai][1][d])
                    box[ai][1][d] = ahi;
            }
            wanted[ai] = true;
        }
    }
    return bytes;
}

/* ---- reads and fills ---------------------------------------------------------------------- */

typedef struct dimplan {
    int64_t n;          /* chunks along this dimension that hold selected elements */
    int64_t *chunks;    /* their indices, ascending */
} dimplan;

static int plan_dims(const it_tensor *t, const it_region *r, dimplan *dp) {
    for (int d = 0; d < t->view.rank; d++) {
        int64_t count = it_region_extent(r, d);
        int64_t step = r->step[d] ? r->step[d] : 1;
        int64_t first = chunk_of(t, d, r->start[d]);
        int64_t last_x = (int64_t)((it_i128)r->start[d] + (it_i128)(count - 1) * step);
        int64_t last = chunk_of(t, d, last_x);
        it_i128 lo_px = (it_i128)first * t->view.chunk[d] + t->view.grid[d];
        it_i128 hi_px = ((it_i128)last + 1) * t->view.chunk[d] + t->view.grid[d];
        if (!it_fits_i64(lo_px) || !it_fits_i64(hi_px))
            return it_error(IT_ERANGE,
                            "region dimension %d [%lld, %lld) reaches chunks beyond the int64 "
                            "pixel range",
                            d, (long long)r->start[d], (long long)r->stop[d]);
        bool dense = step <= t->view.chunk[d];
        int64_t n = dense ? last - first + 1 : count;
        dp[d].chunks = malloc((size_t)n * sizeof(int64_t));
        if (!dp[d].chunks)
            return it_error(IT_ENOMEM, "out of memory planning a read");
        dp[d].n = 0;
        for (int64_t k = 0; k < n; k++) {
            int64_t c = dense ? first + k : chunk_of(t, d, r->start[d] + k * step);
            if (dp[d].n == 0 || dp[d].chunks[dp[d].n - 1] != c)
                dp[d].chunks[dp[d].n++] = c;
        }
    }
    return 0;
}

/* Copies the region's part of pinned chunk c into buf. */
static void copy_out(const it_tensor *t, const it_region *r, const it_coord *c,
                     const char *src, char *buf) {
    int64_t cs[IT_MAX_RANK], ce[IT_MAX_RANK], ext[IT_MAX_RANK], cstr[IT_MAX_RANK];
    int64_t rshape[IT_MAX_RANK], rstr[IT_MAX_RANK], sstr[IT_MAX_RANK];
    it_chunk_box(&t->view, c, cs, ce);
    it_strides(t->view.chunk, t->view.rank, cstr);
    for (int d = 0; d < t->view.rank; d++)
        rshape[d] = it_region_extent(r, d);
    it_strides(rshape, t->view.rank, rstr);
    int64_t so = 0, dof = 0;
    for (int d = 0; d < t->view.rank; d++) {
        int64_t step = r->step[d] ? r->step[d] : 1;
        /* first selected index k with start + k*step >= cs, last with < ce */
        it_i128 k0 = it_ceildiv((it_i128)cs[d] - r->start[d], step);
        if (k0 < 0)
            k0 = 0;
        it_i128 k1 = it_floordiv((it_i128)ce[d] - 1 - r->start[d], step);
        if (k1 > rshape[d] - 1)
            k1 = rshape[d] - 1;
        if (k1 < k0)
            return;
        ext[d] = (int64_t)(k1 - k0 + 1);
        int64_t x0 = r->start[d] + (int64_t)k0 * step;
        so += (x0 - cs[d]) * cstr[d];
        dof += (int64_t)k0 * rstr[d];
        sstr[d] = cstr[d] * step;
    }
    it_copy_nd(buf + dof * (int64_t)t->view.esize, rstr, src + so * (int64_t)t->view.esize, sstr, ext,
               t->view.rank, t->view.esize);
}

typedef struct copy_job {
    const it_tensor *t;
    const it_region *r;
    const it_coord *coords;
    const it_chunk_ref *refs;
    char *buf;
} copy_job;

static int copy_task(void *arg, size_t i, int thread) {
    (void)thread;
    copy_job *j = arg;
    copy_out(j->t, j->r, &j->coords[i], j->refs[i].data, j->buf);
    return 0;
}

static int check_region(const it_tensor *t, const it_region *r, const char *fn) {
    if (r->rank != t->view.rank)
        return it_error(IT_EINVAL, "%s: region rank %d does not match tensor \"%s\" rank %d", fn,
                        r->rank, t->view.id, t->view.rank);
    for (int d = 0; d < t->view.rank; d++) {
        if (r->step[d] < 0)
            return it_error(IT_EINVAL, "%s: region.step[%d] must be >= 1 (got %lld)", fn, d,
                            (long long)r->step[d]);
        if (t->view.shape[d] != IT_INF && r->stop[d] > r->start[d] &&
            (r->start[d] < 0 || r->stop[d] > t->view.shape[d]))
            return it_error(IT_ERANGE,
                            "%s: region [%lld, %lld) of dimension %d leaves [0, %lld) of tensor "
                            "\"%s\"",
                            fn, (long long)r->start[d], (long long)r->stop[d], d,
                            (long long)t->view.shape[d], t->view.id);
    }
    return 0;
}

/* The distinct stores of the graph's tensors (malloc'd), in graph order. */
static int graph_stores(const it_graph *g, it_store ***out, size_t *n) {
    it_store **st = malloc(g->n * sizeof *st);
    if (!st)
        return it_error(IT_ENOMEM, "out of memory listing stores");
    *n = 0;
    for (size_t k = 0; k < g->n; k++) {
        bool seen = false;
        for (size_t j = 0; j < *n && !seen; j++)
            seen = st[j] == g->order[k]->store;
        if (!seen)
            st[(*n)++] = g->order[k]->store;
    }
    *out = st;
    return 0;
}

static int flush_stores(it_store **stores, size_t n) {
    for (size_t i = 0; i < n; i++) {
        int rc = stores[i]->ops->flush(stores[i]->impl);
        if (rc)
            return rc;
    }
    return 0;
}

static int run(it_tensor *t, const it_region *r, void *buf, size_t bufsize, const char *fn,
               bool report) {
    if (!t || !r)
        return it_error(IT_EINVAL, "%s: NULL %s", fn, t ? "region" : "tensor");
    int rc = check_region(t, r, fn);
    if (rc)
        return rc;
    size_t count, bytes;
    if ((rc = it_region_count(r, &count))) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "%s: ", fn);
        return it_error_prefix(rc, prefix);
    }
    if (!it_mul_size(count, t->view.esize, &bytes))
        return it_error(IT_EOVERFLOW, "%s: region byte size overflows size_t", fn);
    if (buf && bufsize < bytes)
        return it_error(IT_EBUFSIZE, "%s: buffer holds %zu bytes, region needs %zu", fn,
                        bufsize, bytes);
    if (count == 0)
        return 0;

    it_ctx *ctx = t->store->ctx;
    eval ev = {.ctx = ctx, .threads = it_pool_threads(ctx->pool)};
    dimplan dp[IT_MAX_RANK];
    memset(dp, 0, sizeof dp);
    it_coord *coords = NULL;
    it_chunk_ref *refs = NULL;
    it_graph g = {0};
    it_store **stores = NULL;
    size_t nstores = 0;
    int64_t (*box)[2][IT_MAX_RANK] = NULL;
    bool *wanted = NULL;
    ev.scratch = calloc((size_t)ev.threads, sizeof *ev.scratch);
    ev.scratch_size = calloc((size_t)ev.threads, sizeof *ev.scratch_size);
    if (!ev.scratch || !ev.scratch_size) {
        rc = it_error(IT_ENOMEM, "%s: out of memory", fn);
        goto out;
    }
    if ((rc = plan_dims(t, r, dp)) || (rc = it_graph_build(t, &g)) ||
        (rc = graph_stores(&g, &stores, &nstores)))
        goto out;
    box = malloc(g.n * sizeof *box);
    wanted = malloc(g.n * sizeof *wanted);
    if (!box || !wanted) {
        rc = it_error(IT_ENOMEM, "%s: out of memory", fn);
        goto out;
    }

    /* Block extents (in planned chunks per dimension): halve the longest until one block's
     * working set fits half the budget. */
    int64_t bext[IT_MAX_RANK];
    uint64_t total = 1;
    for (int d = 0; d < t->view.rank; d++) {
        bext[d] = dp[d].n;
        total *= (uint64_t)dp[d].n;
    }
    for (;;) {
        int64_t lo[IT_MAX_RANK], hi[IT_MAX_RANK];
        int longest = 0;
        for (int d = 0; d < t->view.rank; d++) {
            lo[d] = dp[d].chunks[0];
            hi[d] = dp[d].chunks[bext[d] - 1];
            if (bext[d] > bext[longest])
                longest = d;
        }
        if (bext[longest] == 1 || estimate(&g, box, wanted, lo, hi) <= ctx->budget / 2)
            break;
        bext[longest] = (bext[longest] + 1) / 2;
    }
    size_t per_block = 1;
    for (int d = 0; d < t->view.rank; d++)
        per_block *= (size_t)bext[d];
    coords = calloc(per_block, sizeof *coords);
    refs = calloc(per_block, sizeof *refs);
    if (!coords || !refs) {
        rc = it_error(IT_ENOMEM, "%s: out of memory", fn);
        goto out;
    }

    uint64_t done = 0;
    it_progress_fn progress = report ? ctx->progress : NULL;
    if (progress && progress(0, total, ctx->progress_user)) {
        rc = it_error(IT_ECANCELED, "%s: canceled by the progress callback before starting", fn);
        goto out;
    }
    int64_t b0[IT_MAX_RANK] = {0}; /* first planned index of the current block per dimension */
    for (;;) {
        /* Chunks of this block, lexicographic. */
        int64_t bn[IT_MAX_RANK], idx[IT_MAX_RANK] = {0};
        size_t n = 0;
        for (int d = 0; d < t->view.rank; d++)
            bn[d] = b0[d] + bext[d] <= dp[d].n ? bext[d] : dp[d].n - b0[d];
        for (;;) {
            memset(&coords[n], 0, sizeof coords[n]);
            for (int d = 0; d < t->view.rank; d++)
                coords[n].v[d] = dp[d].chunks[b0[d] + idx[d]];
            n++;
            int d = t->view.rank - 1;
            while (d >= 0 && ++idx[d] == bn[d])
                idx[d--] = 0;
            if (d < 0)
                break;
        }
        memset(refs, 0, n * sizeof *refs);
        if ((rc = ensure(&ev, t, coords, n, refs, buf != NULL)))
            goto out;
        if (buf) { /* chunks land in disjoint parts of buf: copy them in parallel */
            copy_job cj = {t, r, coords, refs, buf};
            it_pool_run(ctx->pool, n, copy_task, &cj);
        }
        release_refs(t, refs, n);
        /* Everything final so far becomes durable: a crash loses at most the next block. */
        if ((rc = flush_stores(stores, nstores)))
            goto out;
        done += n;
        if (progress && progress(done, total, ctx->progress_user)) {
            rc = it_error(IT_ECANCELED,
                          "%s: canceled by the progress callback after %llu of %llu chunks", fn,
                          (unsigned long long)done, (unsigned long long)total);
            goto out;
        }
        int d = t->view.rank - 1;
        while (d >= 0 && (b0[d] += bext[d]) >= dp[d].n)
            b0[d--] = 0;
        if (d < 0)
            break;
    }
out:
    for (int d = 0; d < IT_MAX_RANK; d++)
        free(dp[d].chunks);
    free(coords);
    free(refs);
    free(box);
    free(wanted);
    free(stores);
    it_graph_free(&g);
    if (ev.scratch)
        for (int i = 0; i < ev.threads; i++)
            it_buf_free(ev.scratch[i]);
    free(ev.scratch);
    free(ev.scratch_size);
    return rc;
}

int it_tensor_read(it_tensor *t, const it_region *region, void *buf, size_t bufsize) {
    if (!buf)
        return it_error(IT_EINVAL, "it_tensor_read: NULL buf");
    return run(t, region, buf, bufsize, "it_tensor_read", true);
}

int it_eval_read(it_tensor *t, const it_region *r, void *buf, size_t bufsize, const char *fn) {
    return run(t, r, buf, bufsize, fn, false);
}

int it_eval_check_region(const it_tensor *t, const it_region *r, const char *fn) {
    return check_region(t, r, fn);
}

int it_eval_count_uncomputable(it_tensor *t, const it_region *r, uint64_t *count) {
    *count = 0;
    if (t->fn || t->fill_missing)
        return 0;
    size_t n;
    int rc = check_region(t, r, "it_eval_count_uncomputable");
    if (rc == 0)
        rc = it_region_count(r, &n);
    if (rc || n == 0)
        return rc;
    dimplan dp[IT_MAX_RANK];
    memset(dp, 0, sizeof dp);
    if ((rc = plan_dims(t, r, dp)) == 0) {
        int64_t idx[IT_MAX_RANK] = {0};
        for (;;) {
            it_coord c;
            memset(&c, 0, sizeof c);
            for (int d = 0; d < t->view.rank; d++)
                c.v[d] = dp[d].chunks[idx[d]];
            int got = t->store->ops->has(t->store->impl, &t->view, &c);
            if (got < 0) {
                rc = got;
                break;
            }
            *count += got == 0;
            int d = t->view.rank - 1;
            while (d >= 0 && ++idx[d] == dp[d].n)
                idx[d--] = 0;
            if (d < 0)
                break;
        }
    }
    for (int d = 0; d < IT_MAX_RANK; d++)
        free(dp[d].chunks);
    return rc;
}

int it_tensor_fill(it_tensor *t, const it_region *region) {
    return run(t, region, NULL, 0, "it_tensor_fill", true);
}
