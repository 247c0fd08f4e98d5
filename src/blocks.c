/* Planning a read or fill: the chunks a selection touches, and blocks of them sized to the
 * budget (evaluator.h). */
#include <stdlib.h>
#include <string.h>

#include "blend/blend.h"
#include "context_impl.h"
#include "evaluator.h"
#include "graph.h"
#include "window_math.h"

int iti_chunk_axis_span(const it_tensor *t, const iti_selection *s, int d, int64_t *first,
                       int64_t *last, int64_t *n) {
    int64_t count = s->count[d], step = s->step[d];
    *first = iti_chunk_of(&t->view, d, s->start[d]);
    *last = iti_chunk_of(&t->view, d, (int64_t)((iti_i128)s->start[d] +
                                                 (iti_i128)(count - 1) * step));
    iti_i128 lo_px = (iti_i128)*first * t->view.chunk[d] + t->view.grid[d];
    iti_i128 hi_px = ((iti_i128)*last + 1) * t->view.chunk[d] + t->view.grid[d];
    if (!iti_fits_i64(lo_px) || !iti_fits_i64(hi_px))
        return iti_error(IT_ERANGE,
                        "region dimension %d starting at %lld reaches chunks beyond the int64 "
                        "pixel range", d, (long long)s->start[d]);
    /* A step no longer than a chunk selects in every chunk from first to last; a longer one
     * puts each selected element in a chunk of its own. */
    *n = step <= t->view.chunk[d] ? *last - *first + 1 : count;
    return 0;
}

int iti_chunk_axes_plan(const it_tensor *t, const iti_selection *s, iti_chunk_axes *ax) {
    memset(ax, 0, sizeof *ax);
    ax->rank = t->view.rank;
    for (int d = 0; d < ax->rank; d++) {
        int64_t first, last, n;
        int rc = iti_chunk_axis_span(t, s, d, &first, &last, &n);
        if (rc)
            return rc;
        bool dense = s->step[d] <= t->view.chunk[d];
        ax->chunks[d] = malloc((size_t)n * sizeof(int64_t));
        if (!ax->chunks[d])
            return iti_error(IT_ENOMEM, "out of memory planning a read");
        for (int64_t k = 0; k < n; k++)
            ax->chunks[d][ax->n[d]++] =
                dense ? first + k : iti_chunk_of(&t->view, d, s->start[d] + k * s->step[d]);
    }
    return 0;
}

int iti_selection_chunks(const it_tensor *t, const iti_selection *s, iti_coord **out, size_t *n) {
    *out = NULL;
    *n = 0;
    if (s->elems == 0)
        return 0;
    iti_chunk_axes ax;
    int rc = iti_chunk_axes_plan(t, s, &ax);
    size_t total = 1;
    for (int d = 0; rc == 0 && d < ax.rank; d++)
        if (!iti_mul_size(total, (size_t)ax.n[d], &total))
            rc = iti_error(IT_EOVERFLOW, "the region touches too many chunks to list");
    iti_coord *c = rc == 0 ? calloc(total, sizeof *c) : NULL;
    if (rc == 0 && !c)
        rc = iti_error(IT_ENOMEM, "out of memory listing %zu chunks", total);
    int64_t idx[IT_MAX_RANK] = {0};
    for (size_t k = 0; rc == 0 && k < total; k++) {
        for (int d = 0; d < ax.rank; d++)
            c[k].v[d] = ax.chunks[d][idx[d]];
        for (int d = ax.rank - 1; d >= 0 && ++idx[d] == ax.n[d]; d--)
            idx[d] = 0;
    }
    iti_chunk_axes_free(&ax);
    if (rc) {
        free(c);
        return rc;
    }
    *out = c;
    *n = total;
    return 0;
}

void iti_chunk_axes_free(iti_chunk_axes *ax) {
    for (int d = 0; d < IT_MAX_RANK; d++)
        free(ax->chunks[d]);
    memset(ax, 0, sizeof *ax);
}

/* ---- working-set estimate --------------------------------------------------------------------- */

static size_t sat_add(size_t a, size_t b) { return a > SIZE_MAX - b ? SIZE_MAX : a + b; }
static size_t sat_mul(size_t a, size_t b) {
    size_t r;
    return iti_mul_size(a, b, &r) ? r : SIZE_MAX;
}

/* Bytes of one pool thread's batch scratch for t: argument slices (64-byte aligned), window
 * indices and pointers of `batch` windows (compute.c). */
static size_t batch_scratch(const it_tensor *t) {
    size_t slices = 0;
    for (size_t i = 0; i < t->n_args; i++)
        slices = sat_add(slices, (t->arg_bytes[i] + 63) & ~(size_t)63);
    size_t per_window = sat_add(slices, (size_t)t->view.rank * sizeof(int64_t) +
                                            t->n_args * sizeof(void *));
    size_t batch = sat_mul(t->batch, per_window);
    /* The blend's per-pixel scratch (counts, double sums) reuses the same scratch once the
     * windows are computed. */
    size_t sums = sat_mul(t->view.chunk_elems, iti_blend_of(t->blend)->scratch_bytes);
    return batch > sums ? batch : sums;
}

int iti_chunk_windows(const it_tensor *t, const iti_coord *c, int64_t *lo, int64_t *hi) {
    if (t->no_windows)
        return 0;
    int64_t start[IT_MAX_RANK], stop[IT_MAX_RANK];
    iti_chunk_box(&t->view, c, start, stop);
    if (!iti_win_range(&t->win, t->view.rank, start, stop, lo, hi))
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

bool iti_widen_argument_box(const it_tensor *t, size_t i, const int64_t *wlo,
                            const int64_t *whi, int64_t (*box)[IT_MAX_RANK], bool *wanted) {
    const it_tensor *a = t->args[i];
    int64_t s0[IT_MAX_RANK], e0[IT_MAX_RANK], s1[IT_MAX_RANK], e1[IT_MAX_RANK];
    iti_coord cl, ch;
    memset(&cl, 0, sizeof cl);
    memset(&ch, 0, sizeof ch);
    memcpy(cl.v, wlo, sizeof(int64_t) * (size_t)t->view.rank);
    memcpy(ch.v, whi, sizeof(int64_t) * (size_t)t->view.rank);
    if (iti_win_bounds(&t->arg_windows[i], cl.v, s0, e0) ||
        iti_win_bounds(&t->arg_windows[i], ch.v, s1, e1))
        return false;
    for (int d = 0; d < a->view.rank; d++) {
        int64_t alo = iti_chunk_of(&a->view, d, s0[d] < s1[d] ? s0[d] : s1[d]);
        int64_t ahi = iti_chunk_of(&a->view, d, (e0[d] > e1[d] ? e0[d] : e1[d]) - 1);
        if (!*wanted || alo < box[0][d])
            box[0][d] = alo;
        if (!*wanted || ahi > box[1][d])
            box[1][d] = ahi;
    }
    *wanted = true;
    return true;
}

/* Upper estimate of the bytes pinned while making chunk box lo..hi of the graph's root final:
 * each tensor of the graph once, with the union (bounding box) of the chunks its consumers
 * need, its windows, and the batch scratch of every pool thread. box is scratch of
 * 2*IT_MAX_RANK entries per graph node. */
static size_t estimate(const iti_graph *g, int threads, int64_t (*box)[2][IT_MAX_RANK],
                       bool *wanted, const int64_t *lo, const int64_t *hi) {
    memset(wanted, 0, g->n * sizeof *wanted);
    memcpy(box[0][0], lo, sizeof box[0][0]);
    memcpy(box[0][1], hi, sizeof box[0][1]);
    wanted[0] = true;
    size_t bytes = 0, scratch = 0;
    for (size_t k = 0; k < g->n; k++) {
        const it_tensor *t = g->order[k];
        if (!wanted[k])
            continue;
        size_t nchunks = 1;
        int64_t start[IT_MAX_RANK], stop[IT_MAX_RANK];
        for (int d = 0; d < t->view.rank; d++) {
            nchunks = sat_mul(nchunks, (size_t)(box[k][1][d] - box[k][0][d] + 1));
            start[d] = (int64_t)((iti_i128)box[k][0][d] * t->view.chunk[d] + t->view.grid[d]);
            stop[d] = (int64_t)((iti_i128)(box[k][1][d] + 1) * t->view.chunk[d] + t->view.grid[d]);
        }
        bytes = sat_add(bytes, sat_mul(nchunks, t->view.chunk_bytes));
        int64_t wlo[IT_MAX_RANK], whi[IT_MAX_RANK];
        if (!t->fn || t->no_windows || !iti_win_range(&t->win, t->view.rank, start, stop, wlo, whi))
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
        size_t mine = batch_scratch(t);
        scratch = mine > scratch ? mine : scratch;
        for (size_t i = 0; i < t->n_args; i++) {
            size_t ai = iti_graph_index(g, t->args[i]);
            if (!iti_widen_argument_box(t, i, wlo, whi, box[ai], &wanted[ai]))
                return SIZE_MAX;
        }
    }
    return sat_add(bytes, sat_mul((size_t)threads, scratch));
}

/* The blocks' extents: the longest (outer of those as long) halved until one block's estimate
 * fits half the budget. Halving outer first keeps blocks whole across strips, so consecutive
 * blocks share their halos as soon as possible. */
static int block_extents(const iti_graph *g, const iti_chunk_axes *ax, size_t budget, int outer,
                         int64_t *bext) {
    int rc = 0;
    int64_t (*box)[2][IT_MAX_RANK] = malloc(g->n * sizeof *box);
    bool *wanted = malloc(g->n * sizeof *wanted);
    if (!box || !wanted)
        rc = iti_error(IT_ENOMEM, "out of memory planning a read");
    int threads = iti_pool_threads(g->order[0]->store->ctx->pool);
    for (int d = 0; d < ax->rank; d++)
        bext[d] = ax->n[d];
    while (rc == 0) {
        int64_t lo[IT_MAX_RANK], hi[IT_MAX_RANK];
        int longest = outer;
        for (int d = 0; d < ax->rank; d++) {
            lo[d] = ax->chunks[d][0];
            hi[d] = ax->chunks[d][bext[d] - 1];
            if (bext[d] > bext[longest])
                longest = d;
        }
        if (bext[longest] == 1 || estimate(g, threads, box, wanted, lo, hi) <= budget / 2)
            break;
        bext[longest] = (bext[longest] + 1) / 2;
    }
    free(box);
    free(wanted);
    return rc;
}

int iti_block_walk_plan(const iti_graph *g, const iti_chunk_axes *ax, size_t budget,
                        iti_block_walk *w) {
    memset(w, 0, sizeof *w);
    w->graph = g;
    w->ax = ax;
    for (int d = 0; d < ax->rank; d++) {
        w->sext[d] = ax->n[d];
        if (ax->n[d] > ax->n[w->outer])
            w->outer = d;
    }
    return block_extents(g, ax, budget, w->outer, w->bext);
}

void iti_block_bounds(const iti_block_walk *w, const int64_t *b0, int64_t *lo, int64_t *hi) {
    for (int d = 0; d < w->ax->rank; d++) {
        int64_t end = b0[d] + w->bext[d] <= w->ax->n[d] ? b0[d] + w->bext[d] : w->ax->n[d];
        lo[d] = w->ax->chunks[d][b0[d]];
        hi[d] = w->ax->chunks[d][end - 1];
    }
}

int iti_next_block(const iti_block_walk *w, int64_t *b0) {
    const iti_chunk_axes *ax = w->ax;
    /* Inside the strip: the dimensions but outer from the last, then outer. */
    for (int i = ax->rank - 1; i >= -1; i--) {
        int d = i < 0 ? w->outer : i;
        if (i >= 0 && d == w->outer)
            continue;
        int64_t start = b0[d] - b0[d] % w->sext[d];
        int64_t end = start + w->sext[d] < ax->n[d] ? start + w->sext[d] : ax->n[d];
        if ((b0[d] += w->bext[d]) < end)
            return ITI_WALK_NEXT;
        b0[d] = start;
    }
    for (int d = ax->rank - 1; d >= 0; d--) {
        if (d == w->outer)
            continue;
        if ((b0[d] += w->sext[d]) < ax->n[d])
            return ITI_WALK_NEXT_STRIP;
        b0[d] = 0;
    }
    return ITI_WALK_END;
}
