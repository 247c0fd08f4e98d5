/* Computing claimed chunks: windows, argument slices, fn calls in batches, blending and
 * finalising (evaluator.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blend/blend.h"
#include "context_impl.h"
#include "evaluator.h"
#include "window_math.h"


static int add_to_set(const iti_coord *c, void *set) {
    int rc = iti_coordset_add(set, c);
    return rc < 0 ? rc : 0;
}

/* Box of argument i read by window w, checked against the argument's finite dimensions. */
static int arg_box(const it_tensor *t, size_t i, const iti_coord *w, int64_t *start,
                   int64_t *stop) {
    const it_tensor *a = t->args[i];
    int rc = iti_win_bounds(&t->arg_windows[i], w->v, start, stop);
    if (rc)
    {
        char prefix[IT_ID_MAX + 64];
        snprintf(prefix, sizeof prefix, "tensor \"%s\", argument %zu: ", t->view.id, i);
        return iti_error_prefix(rc, prefix);
    }
    for (int d = 0; d < a->view.rank; d++) {
        if (a->view.shape[d] != IT_INF && (start[d] < 0 || stop[d] > a->view.shape[d])) {
            char wb[256];
            iti_format_coord(wb, sizeof wb, w->v, t->view.rank);
            return iti_error(IT_ERANGE,
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
    iti_coord *all;            /* every window the chunks need (blended tensors), lexicographic */
    size_t nall;
    iti_cache_entry **entries; /* all[k] in the window cache, pinned */
    size_t nwin;
    iti_coord *wins;           /* windows to compute, lexicographic */
    void **wout;              /* their output buffers */
    pinned *args;             /* per argument */
    int arg_rank[IT_MAX_ARGS];
    const int64_t *arg_shape[IT_MAX_ARGS];
    it_dtype arg_dtype[IT_MAX_ARGS];
    size_t arg_offset[IT_MAX_ARGS + 1]; /* offset of argument i inside one window's slices */

    /* finalisation */
    const iti_coord *chunks;   /* all requested chunks */
    const size_t *todo;       /* indices (into chunks) of the chunks to compute */
    size_t ntodo;
    iti_chunk_ref *refs;       /* indexed like chunks */
    bool keep;                /* leave stored chunks pinned in refs (else release at once) */
    iti_htab win_index;        /* window -> data, for blending */
    iti_hnode *win_nodes;
    const void **win_data;
    const iti_blend_kind *blend;
    iti_blend_row_fn row;      /* the blend's kernel for the tensor's dtype */
    iti_frame *frame;          /* the ensure this work is for (evaluator.h) */
} work;

static int gather(work *wk, size_t i, const iti_coord *w, char *dst) {
    const it_tensor *t = wk->t, *a = t->args[i];
    int64_t start[IT_MAX_RANK], stop[IT_MAX_RANK], ext[IT_MAX_RANK], sstr[IT_MAX_RANK];
    int64_t clo[IT_MAX_RANK], chi[IT_MAX_RANK], cstr[IT_MAX_RANK];
    int rc = iti_win_bounds(&t->arg_windows[i], w->v, start, stop);
    if (rc)
        return rc;
    for (int d = 0; d < a->view.rank; d++) {
        ext[d] = stop[d] - start[d];
        clo[d] = iti_chunk_of(&a->view, d, start[d]);
        chi[d] = iti_chunk_of(&a->view, d, stop[d] - 1);
    }
    iti_strides(ext, a->view.rank, sstr);
    iti_strides(a->view.chunk, a->view.rank, cstr);
    iti_coord c;
    memset(&c, 0, sizeof c);
    memcpy(c.v, clo, sizeof(int64_t) * (size_t)a->view.rank);
    for (;;) {
        const char *src = iti_pinned_find(&wk->args[i], &c);
        if (!src)
            return iti_error(IT_EINTERNAL, "argument chunk of \"%s\" not pinned", a->view.id);
        int64_t so = 0, dof = 0, box[IT_MAX_RANK];
        for (int d = 0; d < a->view.rank; d++) {
            int64_t cs = c.v[d] * a->view.chunk[d] + a->view.grid[d];
            int64_t lo = start[d] > cs ? start[d] : cs;
            int64_t hi = stop[d] < cs + a->view.chunk[d] ? stop[d] : cs + a->view.chunk[d];
            box[d] = hi - lo;
            so += (lo - cs) * cstr[d];
            dof += (lo - start[d]) * sstr[d];
        }
        iti_copy_nd(dst + dof * (int64_t)a->view.esize, sstr, src + so * (int64_t)a->view.esize, cstr, box,
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
    int rc = t->store->ops->put(t->store->impl, &t->view, &wk->chunks[ci], buf,
                                wk->keep ? &wk->refs[ci] : NULL);
    if (rc == 0)
        atomic_fetch_add(&t->chunks_computed, 1);
    return rc;
}

static void *scratch_for(eval *ev, int thread, size_t need) {
    if (ev->scratch_size[thread] < need) {
        iti_buf_free(ev->scratch[thread]);
        ev->scratch[thread] = iti_buf_alloc(need);
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
        return iti_error(IT_ENOMEM, "out of memory for a batch of \"%s\"", t->view.id);
    int64_t *index = (int64_t *)(slices + count * slice_bytes);
    const void **argp = (const void **)((char *)index + index_bytes);
    int rc = 0;
    for (size_t k = 0; k < count; k++) {
        const iti_coord *w = &wk->wins[first + k];
        memcpy(index + k * (size_t)t->view.rank, w->v, sizeof(int64_t) * (size_t)t->view.rank);
        for (size_t i = 0; i < t->n_args; i++) {
            char *dst = slices + k * slice_bytes + wk->arg_offset[i];
            if ((rc = gather(wk, i, w, dst)))
                goto done;
            argp[k * t->n_args + i] = dst;
        }
        if (!wk->wout[first + k]) {
            wk->wout[first + k] = iti_buf_alloc(t->direct ? t->view.chunk_bytes + t->view.chunk_tail
                                                          : t->win_bytes);
            if (!wk->wout[first + k]) {
                rc = iti_error(IT_ENOMEM, "out of memory for a window of \"%s\"", t->view.id);
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
    iti_frame *outer = iti_frame_swap(wk->frame); /* reads nested in fn are part of this work */
    iti_callback_enter();
    int frc = t->fn(&call, t->user);
    iti_callback_leave();
    iti_frame_swap(outer);
    if (t->view.flags & IT_TENSOR_SERIAL)
        pthread_mutex_unlock(&t->fn_lock);
    atomic_fetch_add(&t->fn_calls, 1);
    if (frc == 0)
        atomic_fetch_add(&t->windows_computed, count);
    if (frc != 0) {
        char wb[256];
        iti_format_coord(wb, sizeof wb, index, t->view.rank);
        if (frc == IT_ECYCLE) { /* a nested read's cycle, passed on: the read fails with it */
            char prefix[IT_ID_MAX + 320];
            snprintf(prefix, sizeof prefix, "fn of tensor \"%s\", window (%s): ", t->view.id, wb);
            /* named once, by the window of the read the caller started: each nested level
             * prefixing its own would push the cycle's words out of the message */
            rc = wk->ev->nested ? IT_ECYCLE : iti_error_prefix(IT_ECYCLE, prefix);
        } else {
            rc = iti_callback_error(frc, "fn of tensor \"%s\" returned %d for window (%s)%s",
                                    t->view.id, frc, wb,
                                    count > 1 ? " (first of its batch)" : "");
        }
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
    iti_blend_span span;      /* the chunk's accumulator and scratch; the row at hand */
    int64_t cstart[IT_MAX_RANK], cstop[IT_MAX_RANK], cstr[IT_MAX_RANK], wstr[IT_MAX_RANK];
} blend_walk;

static int blend_window(const iti_coord *w, void *arg) {
    blend_walk *bw = arg;
    work *wk = bw->wk;
    it_tensor *t = wk->t;
    iti_hnode *n = iti_htab_find(&wk->win_index, 0, w);
    if (!n)
        return iti_error(IT_EINTERNAL, "window missing while blending tensor \"%s\"", t->view.id);
    const char *in = wk->win_data[n - wk->win_nodes];
    int64_t ws[IT_MAX_RANK], we[IT_MAX_RANK], lo[IT_MAX_RANK], ext[IT_MAX_RANK];
    int rc = iti_win_bounds(&t->win, w->v, ws, we);
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
        iti_blend_span *sp = &bw->span;
        sp->at = (size_t)ao;
        sp->n = (size_t)ext[last];
        sp->in = in + io * (int64_t)t->view.esize;
        if (wk->blend->takes_weights) {
            int64_t pos[IT_MAX_RANK];
            for (int d = 0; d < r; d++)
                pos[d] = lo[d] + (d < last ? idx[d] : 0) - ws[d];
            sp->f = iti_weights_row(&t->weights, pos, last, io, &sp->scale);
        }
        if (wk->blend->takes_fn) {
            iti_frame *outer = iti_frame_swap(wk->frame);
            iti_callback_enter();
            int brc = wk->row(sp);
            iti_callback_leave();
            iti_frame_swap(outer);
            if (brc != 0) {
                char wb[256];
                iti_format_coord(wb, sizeof wb, w->v, r);
                return iti_callback_error(brc, "blend_fn of tensor \"%s\" returned %d for "
                                 "window (%s)", t->view.id, brc, wb);
            }
        } else {
            wk->row(sp);
        }
        int d = last - 1;
        while (d >= 0 && ++idx[d] == ext[d])
            idx[d--] = 0;
        if (d < 0)
            return 0;
    }
}


static int finalize_chunk(void *arg, size_t j, int thread) {
    work *wk = arg;
    it_tensor *t = wk->t;
    const iti_blend_kind *k = wk->blend;
    size_t n = t->view.chunk_elems;
    blend_walk bw = {.wk = wk};
    iti_blend_span *sp = &bw.span;
    *sp = (iti_blend_span){.chunk_elems = n, .floor = t->weights.p.floor, .fn = t->blend_fn,
                           .user = t->user};
    sp->acc = iti_buf_alloc(t->view.chunk_bytes + t->view.chunk_tail);
    /* The windows are computed: the thread's batch scratch holds the blend's per-pixel scratch
     * (already mapped, unlike a fresh allocation per chunk). */
    if (k->scratch_bytes)
        sp->scratch = scratch_for(wk->ev, thread, n * k->scratch_bytes);
    if (!sp->acc || (k->scratch_bytes && !sp->scratch)) {
        iti_buf_free(sp->acc);
        return iti_error(IT_ENOMEM, "out of memory for a chunk of \"%s\"", t->view.id);
    }
    static const unsigned char zero[8];
    if (k->scratch_bytes)
        memset(sp->scratch, 0, n * k->scratch_bytes);
    if (k->acc_start != ITI_ACC_UNSET)
        iti_fill_pattern(sp->acc, k->acc_start == ITI_ACC_ZERO ? zero : t->view.fill,
                         t->view.esize, n);
    const iti_coord *c = &wk->chunks[wk->todo[j]];
    iti_chunk_box(&t->view, c, bw.cstart, bw.cstop);
    iti_strides(t->view.chunk, t->view.rank, bw.cstr);
    iti_strides(t->win.size, t->view.rank, bw.wstr);
    int64_t lo[IT_MAX_RANK], hi[IT_MAX_RANK];
    int rc = 0;
    if (iti_chunk_windows(t, c, lo, hi))
        rc = iti_box_foreach(lo, hi, t->view.rank, blend_window, &bw);
    if (rc == 0 && k->finish)
        k->finish(t->view.dtype, sp->acc, sp->scratch, n, t->view.fill);
    if (rc) {
        iti_buf_free(sp->acc);
        return rc;
    }
    return put_chunk(wk, j, sp->acc);
}

/* ---- computing claimed chunks, step by step ---------------------------------------------- */

static int out_of_memory(const it_tensor *t) {
    return iti_error(IT_ENOMEM, "out of memory computing tensor \"%s\"", t->view.id);
}

/* A tensor without a function (opened from a store): missing chunks read as blend_init with
 * IT_OPEN_FILL_MISSING (never stored), and are an error otherwise. */
static int no_function(it_tensor *t, const iti_coord *chunks, const size_t *todo, size_t ntodo,
                       iti_chunk_ref *refs, bool keep) {
    if (t->fill_missing) {
        for (size_t j = 0; j < ntodo; j++)
            refs[todo[j]] = (iti_chunk_ref){.data = keep ? t->init_chunk : NULL};
        return 0;
    }
    int64_t a[IT_MAX_RANK], b[IT_MAX_RANK];
    iti_chunk_box(&t->view, &chunks[todo[0]], a, b);
    char pa[256];
    size_t used = 0;
    for (int d = 0; d < t->view.rank && used < sizeof pa; d++)
        used += (size_t)snprintf(pa + used, sizeof pa - used, "%s%lld:%lld", d ? ", " : "",
                                 (long long)a[d], (long long)b[d]);
    return iti_error(IT_ENOTCOMPUTED,
                    "tensor \"%s\" has no function and %zu needed chunk(s) were never computed, "
                    "the first covering [%s]",
                    t->view.id, ntodo, pa);
}

/* Step 1: the windows to compute. Direct tensors: one per chunk. Otherwise every window
 * intersecting the chunks, each once (all), minus those found in the window cache. */
static int list_windows(work *wk) {
    it_tensor *t = wk->t;
    int rank = t->view.rank;
    if (t->direct) {
        wk->nwin = wk->ntodo;
        wk->wins = calloc(wk->ntodo, sizeof *wk->wins);
        if (!wk->wins)
            return out_of_memory(t);
        for (size_t j = 0; j < wk->ntodo; j++)
            for (int d = 0; d < rank; d++)
                wk->wins[j].v[d] = (wk->chunks[wk->todo[j]].v[d] * t->view.chunk[d] +
                                    t->view.grid[d] - t->win.offset[d]) / t->win.stride[d];
        return 0;
    }
    iti_coordset set;
    int rc = iti_coordset_init(&set);
    for (size_t j = 0; rc == 0 && j < wk->ntodo; j++) {
        int64_t lo[IT_MAX_RANK], hi[IT_MAX_RANK];
        if (iti_chunk_windows(t, &wk->chunks[wk->todo[j]], lo, hi))
            rc = iti_box_foreach(lo, hi, rank, add_to_set, &set);
    }
    if (rc == 0)
        rc = iti_coordset_sorted(&set, &wk->all);
    wk->nall = set.count;
    iti_coordset_free(&set);
    if (rc)
        return rc;
    iti_cache *wcache = t->store->ctx->windows;
    wk->entries = calloc(wk->nall ? wk->nall : 1, sizeof *wk->entries);
    wk->wins = calloc(wk->nall ? wk->nall : 1, sizeof *wk->wins);
    if (!wk->entries || !wk->wins)
        return out_of_memory(t);
    for (size_t k = 0; k < wk->nall; k++) {
        wk->entries[k] = iti_cache_get(wcache, t->view.serial, &wk->all[k]);
        if (!wk->entries[k])
            wk->wins[wk->nwin++] = wk->all[k];
    }
    return 0;
}

/* The chunks of argument i that the windows to compute read. */
static int argument_chunks(work *wk, size_t i, iti_coordset *set) {
    it_tensor *t = wk->t;
    const it_tensor *a = t->args[i];
    for (size_t k = 0; k < wk->nwin; k++) {
        int64_t start[IT_MAX_RANK], stop[IT_MAX_RANK], lo[IT_MAX_RANK], hi[IT_MAX_RANK];
        int rc = arg_box(t, i, &wk->wins[k], start, stop);
        if (rc)
            return rc;
        for (int d = 0; d < a->view.rank; d++) {
            lo[d] = iti_chunk_of(&a->view, d, start[d]);
            hi[d] = iti_chunk_of(&a->view, d, stop[d] - 1);
        }
        if ((rc = iti_box_foreach(lo, hi, a->view.rank, add_to_set, set)))
            return rc;
    }
    return 0;
}

/* Step 2: every argument chunk those windows read, final and pinned: one batch per tensor. */
static int pin_arguments(work *wk) {
    it_tensor *t = wk->t;
    if (!t->n_args || !wk->nwin)
        return 0;
    wk->args = calloc(t->n_args, sizeof *wk->args);
    if (!wk->args)
        return out_of_memory(t);
    for (size_t i = 0; i < t->n_args; i++) {
        const it_tensor *a = t->args[i];
        wk->arg_rank[i] = a->view.rank;
        wk->arg_shape[i] = t->arg_windows[i].size;
        wk->arg_dtype[i] = a->view.dtype;
        wk->arg_offset[i + 1] = wk->arg_offset[i] + ((t->arg_bytes[i] + 63) & ~(size_t)63);
        iti_coordset set;
        int rc = iti_coordset_init(&set);
        if (rc == 0)
            rc = argument_chunks(wk, i, &set);
        if (rc == 0)
            rc = iti_pinned_ensure(wk->ev, t->args[i], &set, &wk->args[i]);
        iti_coordset_free(&set);
        if (rc)
            return rc;
    }
    return 0;
}

static void unpin_arguments(work *wk) {
    if (!wk->args)
        return;
    for (size_t i = 0; i < wk->t->n_args; i++) {
        pinned *a = &wk->args[i];
        if (a->refs) /* pinned: their consumer's windows are computed (or failed) */
            iti_release_consumed(wk->ev->release, a->t, a->coords, a->refs, a->n);
        iti_pinned_free(a);
    }
    free(wk->args);
    wk->args = NULL;
}

/* Step 3: fn over the windows, in batches on the pool (direct chunks are stored as they come). */
static int compute_windows(work *wk) {
    it_tensor *t = wk->t;
    wk->wout = calloc(wk->nwin ? wk->nwin : 1, sizeof *wk->wout);
    if (!wk->wout)
        return out_of_memory(t);
    if (!wk->nwin)
        return 0;
    return iti_pool_run(wk->ev->ctx->pool, (wk->nwin + t->batch - 1) / t->batch, compute_batch, wk);
}

/* Step 4 (blended tensors): the computed windows join the window cache; every chunk is blended
 * from its windows and stored, in parallel. */
static int finalise(work *wk) {
    it_tensor *t = wk->t;
    iti_cache *wcache = t->store->ctx->windows;
    for (size_t k = 0, c = 0; k < wk->nall; k++) {
        if (wk->entries[k])
            continue;
        /* wins[c] == all[k]: computed windows, in the same order */
        wk->entries[k] = iti_cache_put(wcache, t->view.serial, &wk->all[k], wk->wout[c]);
        wk->wout[c++] = NULL;
        if (!wk->entries[k])
            return out_of_memory(t);
    }
    size_t n = wk->nall ? wk->nall : 1;
    wk->win_nodes = calloc(n, sizeof *wk->win_nodes);
    wk->win_data = calloc(n, sizeof *wk->win_data);
    if (!wk->win_nodes || !wk->win_data || iti_htab_init(&wk->win_index, wk->nall))
        return out_of_memory(t);
    for (size_t k = 0; k < wk->nall; k++) {
        wk->win_nodes[k].key = wk->all[k];
        wk->win_data[k] = iti_cache_data(wk->entries[k]);
        iti_htab_insert(&wk->win_index, &wk->win_nodes[k]);
    }
    wk->blend = iti_blend_of(t->blend);
    wk->row = wk->blend->row[t->view.dtype];
    return iti_pool_run(wk->ev->ctx->pool, wk->ntodo, finalize_chunk, wk);
}

static void work_free(work *wk) {
    unpin_arguments(wk);
    if (wk->wout)
        for (size_t k = 0; k < wk->nwin; k++)
            iti_buf_free(wk->wout[k]);
    if (wk->entries)
        for (size_t k = 0; k < wk->nall; k++)
            iti_cache_release(wk->t->store->ctx->windows, wk->entries[k]);
    if (wk->win_index.buckets)
        iti_htab_free(&wk->win_index);
    free(wk->win_nodes);
    free(wk->win_data);
    free(wk->wout);
    free(wk->wins);
    free(wk->entries);
    free(wk->all);
}

int iti_compute_chunks(eval *ev, it_tensor *t, const iti_coord *chunks, const size_t *todo,
                      size_t ntodo, iti_chunk_ref *refs, bool keep) {
    if (!t->fn)
        return no_function(t, chunks, todo, ntodo, refs, keep);
    work wk = {.ev = ev, .t = t, .chunks = chunks, .todo = todo, .ntodo = ntodo, .refs = refs,
               .keep = keep, .frame = iti_frame_current()};
    int rc = list_windows(&wk);
    if (rc == 0)
        rc = pin_arguments(&wk);
    if (rc == 0)
        rc = compute_windows(&wk);
    unpin_arguments(&wk); /* upstream chunks are not needed for blending */
    if (rc == 0 && !t->direct)
        rc = finalise(&wk);
    if (rc) {
        for (size_t j = 0; j < ntodo; j++) {
            if (refs[todo[j]].data)
                t->store->ops->release(t->store->impl, &t->view, &refs[todo[j]]);
            refs[todo[j]].data = NULL;
        }
    }
    work_free(&wk);
    return rc;
}
