/* Reads and fills: the selection's chunks are walked in blocks (blocks.c); each block is made
 * final (ensure.c), copied out in parallel, and made durable by flushing every store of the
 * tensor's upstream closure before progress is reported, so a crash loses at most the block
 * in progress (evaluator.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "context_impl.h"
#include "evaluator.h"
#include "kernels.h"

/* Copies the selection's part of pinned chunk c into buf. */
static void copy_out(const it_tensor *t, const iti_selection *s, const iti_coord *c,
                     const char *src, char *buf) {
    int64_t first[IT_MAX_RANK], ext[IT_MAX_RANK], at[IT_MAX_RANK], rstr[IT_MAX_RANK], dof = 0;
    if (!iti_selection_in_chunk(&t->view, s, c, first, ext, at))
        return;
    iti_strides(s->count, t->view.rank, rstr);
    for (int d = 0; d < t->view.rank; d++)
        dof += first[d] * rstr[d];
    iti_selection_gather(&t->view, s, ext, at, src, buf + dof * (int64_t)t->view.esize, rstr);
}

typedef struct copy_job {
    const it_tensor *t;
    const iti_selection *s;
    const iti_coord *coords;
    const iti_chunk_ref *refs;
    char *buf;
} copy_job;

static int copy_task(void *arg, size_t i, int thread) {
    (void)thread;
    copy_job *j = arg;
    copy_out(j->t, j->s, &j->coords[i], j->refs[i].data, j->buf);
    return 0;
}

int iti_tensor_flush_stores(const it_tensor *t) {
    for (size_t i = 0; i < t->n_stores; i++) {
        it_store *s = t->stores[i];
        int rc = s->ops->flush(s->impl);
        if (rc)
            return rc;
    }
    return 0;
}

void iti_tensor_drop_cached(it_tensor *t) {
    for (size_t i = 0; i < t->n_stores; i++)
        t->stores[i]->ops->clear_cache(t->stores[i]->impl, NULL);
    iti_cache_drop(t->store->ctx->windows, 0, true);
}

/* The chunks of the block at b0 (first planned index per dimension), lexicographic. */
static size_t block_chunks(const iti_block_walk *w, const int64_t *b0, iti_coord *coords) {
    const iti_chunk_axes *ax = w->ax;
    int64_t bn[IT_MAX_RANK], idx[IT_MAX_RANK] = {0};
    size_t n = 0;
    for (int d = 0; d < ax->rank; d++)
        bn[d] = b0[d] + w->bext[d] <= ax->n[d] ? w->bext[d] : ax->n[d] - b0[d];
    for (;;) {
        memset(&coords[n], 0, sizeof coords[n]);
        for (int d = 0; d < ax->rank; d++)
            coords[n].v[d] = ax->chunks[d][b0[d] + idx[d]];
        n++;
        int d = ax->rank - 1;
        while (d >= 0 && ++idx[d] == bn[d])
            idx[d--] = 0;
        if (d < 0)
            return n;
    }
}

static int report(const it_ctx *ctx, uint64_t done, uint64_t total, const char *fn) {
    iti_callback_enter();
    bool stop = ctx->progress && ctx->progress(done, total, ctx->progress_user);
    iti_callback_leave();
    if (!stop)
        return 0;
    if (done == 0)
        return iti_error(IT_ECANCELED, "%s: canceled by the progress callback before starting", fn);
    return iti_error(IT_ECANCELED, "%s: canceled by the progress callback after %llu of %llu chunks",
                    fn, (unsigned long long)done, (unsigned long long)total);
}

static int eval_begin(eval *ev, it_ctx *ctx, const char *fn) {
    *ev = (eval){.ctx = ctx};
    if (iti_in_callback()) { /* a read from inside a window function: nested, on this thread */
        int rc = iti_nested_enter(fn);
        if (rc)
            return rc;
        ev->nested = true;
    }
    ev->threads = iti_pool_threads(ctx->pool);
    ev->scratch = calloc((size_t)ev->threads, sizeof *ev->scratch);
    ev->scratch_size = calloc((size_t)ev->threads, sizeof *ev->scratch_size);
    return ev->scratch && ev->scratch_size ? 0 : iti_error(IT_ENOMEM, "%s: out of memory", fn);
}

static void eval_end(eval *ev) {
    for (int i = 0; ev->scratch && i < ev->threads; i++)
        iti_buf_free(ev->scratch[i]);
    free(ev->scratch);
    free(ev->scratch_size);
    if (ev->nested)
        iti_nested_leave();
}

/* What a walk does with each block's final chunks besides storing them. */
typedef struct sink {
    void *buf;                   /* a read: copied out here */
    iti_block_visit visit;       /* or visited, block by block */
    void *user;
    size_t budget;               /* for the blocks; 0: the context's */
} sink;

/* Tells t's store how far a read or fill has come (backend.h: progress). */
static void note_progress(it_tensor *t, uint64_t done, uint64_t total, bool ended) {
    const iti_store_ops *ops = t->store->ops;
    if (ops->progress)
        ops->progress(t->store->impl, &t->view, done, total, ended);
}

/* IT_LOG=debug: the walk's plan, in chunks per dimension. */
static void log_plan(const it_tensor *t, const iti_chunk_axes *ax, const iti_block_walk *w,
                     size_t budget, const char *fn) {
    char n[3][160];
    const int64_t *v[3] = {ax->n, w->bext, w->sext};
    for (int k = 0; k < 3; k++)
        iti_format_coord(n[k], sizeof n[k], v[k], ax->rank);
    iti_log("plan", "%s of \"%s\": chunks (%s) in blocks of (%s), strips of (%s) along dimension "
            "%d, budget %zu MiB", fn, t->view.id, n[0], n[1], n[2], w->outer, budget >> 20);
}

/* Reads, visits or fills (out NULL) selection s of t; progress reported when `report`. */
static int walk(it_tensor *t, const iti_selection *s, const sink *out, const char *fn,
                bool progress) {
    void *buf = out ? out->buf : NULL;
    bool keep = out != NULL;
    if (s->elems == 0)
        return 0;
    it_ctx *ctx = t->store->ctx;
    eval ev;
    iti_chunk_axes ax = {0};
    iti_coord *coords = NULL;
    iti_chunk_ref *refs = NULL;
    iti_block_walk walk;
    iti_graph graph = {0};       /* built once: blocks, strips and the release plan read it */
    size_t budget = out && out->budget ? out->budget : ctx->budget;
    int rc = eval_begin(&ev, ctx, fn);
    progress = progress && !ev.nested; /* a nested read reports nothing: its caller's read does */
    if (rc == 0 && (rc = iti_chunk_axes_plan(t, s, &ax)) == 0 &&
        (rc = iti_graph_build(t, &graph)) == 0)
        rc = iti_block_walk_plan(&graph, &ax, budget, &walk);
    if (rc == 0)
        rc = iti_release_fit_strips(&walk, budget);
    size_t per_block = 1;
    uint64_t total = 1;
    for (int d = 0; rc == 0 && d < ax.rank; d++) {
        per_block *= (size_t)walk.bext[d];
        total *= (uint64_t)ax.n[d];
    }
    if (rc == 0 && !ev.nested && iti_log_on())
        log_plan(t, &ax, &walk, budget, fn);
    iti_release_plan release = {0};
    if (rc == 0 && (rc = iti_release_plan_init(&release, &walk, budget)) == 0)
        ev.release = &release;
    if (rc == 0) {
        coords = calloc(per_block, sizeof *coords);
        refs = calloc(per_block, sizeof *refs);
        if (!coords || !refs)
            rc = iti_error(IT_ENOMEM, "%s: out of memory", fn);
    }
    if (rc == 0 && progress) {
        note_progress(t, 0, total, false);
        rc = report(ctx, 0, total, fn);
    }
    int64_t b0[IT_MAX_RANK] = {0};
    uint64_t done = 0;
    for (bool more = rc == 0; more; more = iti_next_block(&walk, b0) != ITI_WALK_END) {
        size_t n = block_chunks(&walk, b0, coords);
        memset(refs, 0, n * sizeof *refs);
        if ((rc = iti_ensure(&ev, t, coords, n, refs, keep)))
            break;
        if (buf) { /* chunks land in disjoint parts of buf: copy them in parallel */
            copy_job cj = {t, s, coords, refs, buf};
            iti_pool_run(ctx->pool, n, copy_task, &cj);
        }
        if (out && out->visit)
            rc = out->visit(coords, refs, n, out->user);
        iti_release_refs(t, refs, n);
        if (rc)
            break;
        /* Everything final so far becomes durable: a crash loses at most the next block. */
        if ((rc = iti_tensor_flush_stores(t)) || (rc = iti_release_block_done(&release)))
            break;
        done += n;
        if (progress)
            note_progress(t, done, total, false);
        if (progress && (rc = report(ctx, done, total, fn)))
            break;
    }
    if (progress)
        note_progress(t, done, total, true);
    iti_release_plan_finish(&release);
    iti_graph_free(&graph);
    iti_chunk_axes_free(&ax);
    free(coords);
    free(refs);
    eval_end(&ev);
    return rc;
}

int it_tensor_read(it_tensor *t, const it_region *region, void *buf, size_t bufsize) {
    if (!t || !region)
        return iti_error(IT_EINVAL, "it_tensor_read: NULL %s", !t ? "tensor" : "region");
    iti_selection s;
    int rc = iti_selection_resolve(t, region, "it_tensor_read", &s);
    if (rc)
        return rc;
    if (s.elems == 0)
        return 0; /* buf may be NULL */
    if (!buf)
        return iti_error(IT_EINVAL, "it_tensor_read: NULL buf for a region of %zu bytes", s.bytes);
    if (bufsize < s.bytes)
        return iti_error(IT_EBUFSIZE, "it_tensor_read: buffer holds %zu bytes, region needs %zu",
                        bufsize, s.bytes);
    sink out = {.buf = buf};
    return walk(t, &s, &out, "it_tensor_read", true);
}

int it_tensor_read_alloc(it_tensor *t, const it_region *region, void **out, size_t *bytes) {
    if (!out || !bytes)
        return iti_error(IT_EINVAL, "it_tensor_read_alloc: NULL %s", out ? "bytes" : "out");
    *out = NULL;
    *bytes = 0;
    if (!t || !region)
        return iti_error(IT_EINVAL, "it_tensor_read_alloc: NULL %s", !t ? "tensor" : "region");
    iti_selection s;
    int rc = iti_selection_resolve(t, region, "it_tensor_read_alloc", &s);
    if (rc || s.elems == 0)
        return rc;
    void *buf = malloc(s.bytes);
    if (!buf)
        return iti_error(IT_ENOMEM, "it_tensor_read_alloc: no memory for the %zu bytes of the "
                         "region", s.bytes);
    sink into = {.buf = buf};
    if ((rc = walk(t, &s, &into, "it_tensor_read_alloc", true))) {
        free(buf);
        return rc;
    }
    *out = buf;
    *bytes = s.bytes;
    return 0;
}

int it_tensor_fill(it_tensor *t, const it_region *region) {
    if (!t || !region)
        return iti_error(IT_EINVAL, "it_tensor_fill: NULL %s", t ? "region" : "tensor");
    iti_selection s;
    int rc = iti_selection_resolve(t, region, "it_tensor_fill", &s);
    return rc ? rc : walk(t, &s, NULL, "it_tensor_fill", true);
}

int iti_eval_read(it_tensor *t, const iti_selection *s, void *buf, const char *fn) {
    sink out = {.buf = buf};
    return walk(t, s, &out, fn, false);
}

int iti_eval_visit(it_tensor *t, const iti_selection *s, size_t budget, iti_block_visit visit,
                   void *user, const char *fn) {
    sink out = {.visit = visit, .user = user, .budget = budget};
    return walk(t, s, &out, fn, false);
}

const void *iti_tensor_never_computed_chunk(const it_tensor *t) {
    return t->fill_missing ? t->init_chunk : NULL;
}

int iti_tensor_has_chunk(it_tensor *t, const iti_coord *c) {
    return t->store->ops->has(t->store->impl, &t->view, c);
}

/* Whether chunk c of dimension d holds an element the selection picks along d. */
static bool chunk_selected(const it_tensor *t, const iti_selection *s, int d, int64_t c,
                           int64_t first, int64_t last) {
    if (c < first || c > last)
        return false;
    if (s->step[d] <= t->view.chunk[d])
        return true;
    iti_i128 lo = (iti_i128)c * t->view.chunk[d] + t->view.grid[d];
    iti_i128 k = lo <= s->start[d] ? 0 : (lo - s->start[d] + s->step[d] - 1) / s->step[d];
    return k < s->count[d] && s->start[d] + k * s->step[d] < lo + t->view.chunk[d];
}

/* The count by the store's listing: the region's chunks (from arithmetic) less the stored ones
 * inside it. For regions of more chunks than the store holds, which asking per chunk would
 * take long to refuse. */
static int count_by_listing(it_tensor *t, const iti_selection *s, const int64_t *first,
                            const int64_t *last, iti_i128 total, uint64_t *count) {
    iti_coord *stored = NULL;
    size_t n = 0;
    int rc = t->store->ops->chunks(t->store->impl, &t->view, &stored, &n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        bool inside = true;
        for (int d = 0; inside && d < t->view.rank; d++)
            inside = chunk_selected(t, s, d, stored[i].v[d], first[d], last[d]);
        total -= inside;
    }
    free(stored);
    *count = rc ? 0 : total > (iti_i128)UINT64_MAX ? UINT64_MAX : (uint64_t)total;
    return rc;
}

int iti_eval_count_uncomputable(it_tensor *t, const iti_selection *s, uint64_t *count) {
    *count = 0;
    return t->fill_missing ? 0 : iti_eval_count_never_computed(t, s, count);
}

int iti_eval_count_never_computed(it_tensor *t, const iti_selection *s, uint64_t *count) {
    *count = 0;
    if (t->fn || s->elems == 0)
        return 0;
    int64_t first[IT_MAX_RANK], last[IT_MAX_RANK], n;
    iti_i128 total = 1;
    for (int d = 0; d < t->view.rank; d++) {
        int rc = iti_chunk_axis_span(t, s, d, &first[d], &last[d], &n);
        if (rc)
            return rc;
        total = total > ((iti_i128)1 << 80) ? total : total * n; /* saturates */
    }
    if (total > 1 << 16)
        return count_by_listing(t, s, first, last, total, count);
    iti_chunk_axes ax;
    int rc = iti_chunk_axes_plan(t, s, &ax);
    int64_t idx[IT_MAX_RANK] = {0};
    while (rc == 0) {
        iti_coord c;
        memset(&c, 0, sizeof c);
        for (int d = 0; d < ax.rank; d++)
            c.v[d] = ax.chunks[d][idx[d]];
        int got = t->store->ops->has(t->store->impl, &t->view, &c);
        if (got < 0) {
            rc = got;
            break;
        }
        *count += got == 0;
        int d = ax.rank - 1;
        while (d >= 0 && ++idx[d] == ax.n[d])
            idx[d--] = 0;
        if (d < 0)
            break;
    }
    iti_chunk_axes_free(&ax);
    return rc;
}
