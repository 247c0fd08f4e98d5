/* Letting go of what a read no longer needs (evaluator.h).
 *
 * The walk of a read is replayed ahead of it, block by block, the way ensure and compute will
 * run it: a block makes its chunks of the root final; a chunk of a tensor that is not final yet
 * is computed from the argument chunks its windows read, which become final in the same block
 * if they are not already. Every chunk of the graph below the root thus gets the last block
 * that reads it. Once a block is done, the chunks whose last block it was are discarded:
 * dropped when the tensor is transient, offered for eviction first otherwise (a store that
 * caches by recency would keep them longer than any chunk still to be read). A tensor reached
 * from the root by one path only is made final once per block, so its chunks go earlier still:
 * as soon as their consumer's batch in their last block is computed, before the rest of the
 * block takes memory. Until then the plan keeps its own pin on a chunk a later block reads
 * (iti_release_consumed), so a store's cache cannot evict it in between: a stored intermediate is
 * not read back from its file and decoded again, nor recomputed, within a strip.
 *
 * The replay assumes nothing is stored before the read (a stored chunk only makes a planned
 * chunk live longer than needed). It runs as far ahead as its share of the budget holds (many
 * rows of blocks in practice) and never past the end of the walk's strip: what a later strip
 * reads again goes when its strip ends and is computed (or read) again there, which bounds the
 * halos kept by a strip's width, not the region's (strips are sized here with a probe: this replay
 * over a strip's first rows, letting nothing go, counting the bytes alive). A chunk needed
 * again only beyond the horizon after it was dropped is computed again. */
#include <stdlib.h>
#include <string.h>

#include "coordset.h"
#include "evaluator.h"

/* The last block of the plan that reads one chunk; node.tag is the tensor's graph index. */
typedef struct last_use {
    iti_hnode node;
    size_t first, block;         /* the first block reading it (a probe's), the last */
    iti_chunk_ref held;          /* the plan's pin while later blocks read it (iti_release_consumed) */
} last_use;

/* Chunks of one tensor to replay in the current block. */
struct iti_chunk_list {
    iti_coord *v;
    size_t n, cap;
};

static int list_add(iti_chunk_list *l, const iti_coord *c) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        iti_coord *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return iti_error(IT_ENOMEM, "out of memory planning a read");
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = *c;
    return 0;
}

enum { DROP = 1, EARLY = 2 };

/* Entries the plan may hold: 1/64 of the budget. */
static size_t plan_capacity(size_t budget) {
    size_t cap = budget / 64 / sizeof(last_use);
    return cap < 1024 ? 1024 : cap;
}

/* How each tensor's chunks are let go. The root's are final results: only a transient root's
 * go (after being copied out). */
static int classify(iti_release_plan *p) {
    const iti_graph *g = p->graph;
    size_t *paths = calloc(g->n, sizeof *paths);
    p->mode = calloc(g->n, sizeof *p->mode);
    p->fresh = calloc(g->n, sizeof *p->fresh);
    if (!paths || !p->mode || !p->fresh) {
        free(paths);
        return iti_error(IT_ENOMEM, "out of memory planning a read");
    }
    paths[0] = 1;
    for (size_t k = 0; k < g->n; k++) {
        it_tensor *t = g->order[k];
        for (size_t i = 0; i < t->n_args; i++) {
            size_t a = iti_graph_index(g, t->args[i]);
            paths[a] = paths[a] > SIZE_MAX - paths[k] ? SIZE_MAX : paths[a] + paths[k];
        }
        if (t->view.flags & IT_TENSOR_TRANSIENT)
            p->mode[k] |= DROP;
        if (k > 0 && paths[k] == 1)
            p->mode[k] |= EARLY;
    }
    free(paths);
    p->active = g->n > 1 || (p->mode[0] & DROP);
    return 0;
}

static void discard(iti_release_plan *p, last_use *u) {
    it_tensor *t = p->graph->order[u->node.tag];
    if (u->held.data)
        t->store->ops->release(t->store->impl, &t->view, &u->held);
    if (!p->probe && t->store->ops->discard)
        t->store->ops->discard(t->store->impl, &t->view, &u->node.key,
                               p->mode[u->node.tag] & DROP);
    iti_htab_remove(&p->last, &u->node);
    free(u);
}

/* Block b reads chunk c of tensor k; a chunk not final before is queued to be computed. */
static int need(iti_release_plan *p, size_t k, const iti_coord *c, size_t b) {
    last_use *u = (last_use *)iti_htab_find(&p->last, k, c);
    if (!u) {
        int rc = (u = calloc(1, sizeof *u)) ? list_add(&p->fresh[k], c) : IT_ENOMEM;
        if (rc) {
            free(u);
            return iti_error(IT_ENOMEM, "out of memory planning a read");
        }
        u->node.tag = k;
        u->node.key = *c;
        u->first = b;
        iti_htab_insert(&p->last, &u->node); /* a failed grow only lengthens chains */
    }
    u->block = b;
    return 0;
}

typedef struct replay {
    iti_release_plan *p;
    size_t k, b;                  /* tensor k, block b */
} replay;

static int need_chunk(const iti_coord *c, void *arg) {
    replay *r = arg;
    return need(r->p, r->k, c, r->b);
}

static int add_root_chunk(const iti_coord *c, void *arg) {
    return list_add(&((replay *)arg)->p->fresh[0], c);
}

/* Chunk c of tensor k is computed in block b: what its windows read is needed there. */
static int replay_chunk(iti_release_plan *p, size_t k, const iti_coord *c, size_t b) {
    it_tensor *t = p->graph->order[k];
    int64_t wlo[IT_MAX_RANK], whi[IT_MAX_RANK];
    if (!t->fn || !iti_chunk_windows(t, c, wlo, whi))
        return 0;
    for (size_t i = 0; i < t->n_args; i++) {
        int64_t box[2][IT_MAX_RANK];
        bool any = false;
        if (!iti_widen_argument_box(t, i, wlo, whi, box, &any))
            continue; /* the computation itself reports the overflow */
        replay r = {p, iti_graph_index(p->graph, t->args[i]), b};
        int rc = iti_box_foreach(box[0], box[1], t->args[i]->view.rank, need_chunk, &r);
        if (rc)
            return rc;
    }
    return 0;
}

/* Replays the next block. */
static int replay_block(iti_release_plan *p) {
    int64_t lo[IT_MAX_RANK], hi[IT_MAX_RANK];
    iti_block_bounds(p->walk, p->cursor, lo, hi);
    replay root = {p, 0, p->planned};
    int rc = iti_box_foreach(lo, hi, p->graph->order[0]->view.rank,
                             p->mode[0] & DROP ? need_chunk : add_root_chunk, &root);
    for (size_t k = 0; rc == 0 && k < p->graph->n; k++) {
        for (size_t j = 0; rc == 0 && j < p->fresh[k].n; j++)
            rc = replay_chunk(p, k, &p->fresh[k].v[j], p->planned);
        p->fresh[k].n = 0;
    }
    return rc;
}

static int replay_next(iti_release_plan *p) {
    int rc = replay_block(p);
    if (rc)
        return rc;
    p->planned++;
    int next = iti_next_block(p->walk, p->cursor);
    p->unplanned = next != ITI_WALK_END;
    p->strip_replayed = next == ITI_WALK_NEXT_STRIP;
    return 0;
}

/* Replays blocks ahead while the plan has room, and at least the current one; never past the
 * current strip: the next strip's reads do not keep a chunk. */
static int plan_ahead(iti_release_plan *p) {
    while (p->unplanned && !p->strip_replayed &&
           (p->planned <= p->done || p->last.count < p->cap)) {
        int rc = replay_next(p);
        if (rc)
            return rc;
    }
    return 0;
}

static int plan_init(iti_release_plan *p, const iti_block_walk *w, size_t cap) {
    memset(p, 0, sizeof *p);
    p->graph = w->graph;
    int rc = classify(p);
    if (rc || !p->active)
        return rc;
    p->walk = w;
    p->cap = cap;
    p->unplanned = true;
    if (iti_htab_init(&p->last, 256))
        return iti_error(IT_ENOMEM, "out of memory planning a read");
    return 0;
}

int iti_release_plan_init(iti_release_plan *p, const iti_block_walk *w, size_t budget) {
    int rc = plan_init(p, w, plan_capacity(budget));
    return rc || !p->active ? rc : plan_ahead(p);
}

void iti_release_consumed(iti_release_plan *p, const it_tensor *t, const iti_coord *chunks,
                          iti_chunk_ref *refs, size_t n) {
    if (!p || !p->active)
        return;
    size_t k = iti_graph_index(p->graph, t);
    bool early = p->mode[k] & EARLY;
    for (size_t i = 0; i < n; i++) {
        last_use *u = (last_use *)iti_htab_find(&p->last, k, &chunks[i]);
        if (!u)
            continue;
        if (u->block > p->done) { /* a later block reads it: the plan keeps a pin */
            if (refs[i].data && !u->held.data) {
                u->held = refs[i];
                refs[i] = (iti_chunk_ref){0};
            }
        } else if (early) {
            discard(p, u);
        }
    }
}

/* Discards every planned chunk whose last block is before `block`. */
static void sweep(iti_release_plan *p, size_t block) {
    for (size_t b = 0; b < p->last.nbuckets; b++) {
        iti_hnode *n = p->last.buckets[b];
        while (n) {
            iti_hnode *next = n->next;
            if (((last_use *)n)->block < block)
                discard(p, (last_use *)n);
            n = next;
        }
    }
}

int iti_release_block_done(iti_release_plan *p) {
    if (!p->active)
        return 0;
    p->done++;
    if (p->strip_replayed && p->done == p->planned) { /* its strip is over */
        sweep(p, SIZE_MAX);
        p->strip_replayed = false;
    }
    int rc = plan_ahead(p); /* first: a chunk the next blocks read gets their index */
    sweep(p, p->done);
    return rc;
}

void iti_release_plan_finish(iti_release_plan *p) {
    if (p->last.buckets) {
        sweep(p, SIZE_MAX);
        iti_htab_free(&p->last);
    }
    for (size_t k = 0; p->fresh && k < p->graph->n; k++)
        free(p->fresh[k].v);
    free(p->fresh);
    free(p->mode);
    memset(p, 0, sizeof *p);
}

/* The most bytes of chunks below the root (and of a transient root) the walk w of root holds
 * at once over the first `blocks` blocks of its first strip, replayed as the plan would:
 * *bytes; SIZE_MAX when those blocks read more chunks than a plan of `budget` looks ahead.
 * Lets nothing go. */
static int probe(const iti_block_walk *w, size_t blocks, size_t budget, size_t *bytes) {
    *bytes = 0;
    iti_release_plan p;
    int rc = plan_init(&p, w, plan_capacity(budget));
    p.probe = true;
    while (rc == 0 && p.active && p.unplanned && !p.strip_replayed && p.planned < blocks) {
        if (p.last.count >= p.cap) { /* more chunks than a plan looks ahead: too wide */
            *bytes = SIZE_MAX;
            iti_release_plan_finish(&p);
            return 0;
        }
        rc = replay_next(&p);
    }
    /* Chunk bytes alive per block: from the first block reading a chunk to the last. */
    int64_t *delta = rc == 0 && p.active ? calloc(p.planned + 1, sizeof *delta) : NULL;
    if (rc == 0 && p.active && !delta)
        rc = iti_error(IT_ENOMEM, "out of memory planning a read");
    for (size_t b = 0; delta && b < p.last.nbuckets; b++)
        for (iti_hnode *n = p.last.buckets[b]; n; n = n->next) {
            const last_use *u = (const last_use *)n;
            int64_t size = (int64_t)p.graph->order[n->tag]->view.chunk_bytes;
            delta[u->first] += size;
            delta[u->block + 1] -= size;
        }
    int64_t alive = 0;
    for (size_t b = 0; delta && b < p.planned; b++) {
        alive += delta[b];
        *bytes = (size_t)alive > *bytes ? (size_t)alive : *bytes;
    }
    free(delta);
    iti_release_plan_finish(&p);
    return rc;
}

/* ---- strips sized by the probe ---------------------------------------------------------------- */

/* Blocks in one row of a strip (along every dimension but outer); saturates. */
static size_t strip_row_blocks(const iti_block_walk *w) {
    size_t n = 1;
    for (int d = 0; d < w->ax->rank; d++)
        if (d != w->outer && !iti_mul_size(n, (size_t)iti_blocks_in(w->sext[d], w->bext[d]), &n))
            return SIZE_MAX;
    return n;
}

/* The intermediate chunks a strip may hold: half the budget, three quarters when no tensor of
 * the graph has windows other than its chunks (the context's window cache, a quarter, then
 * stays empty). */
static size_t halo_share(const iti_graph *g, size_t budget) {
    for (size_t k = 0; k < g->n; k++)
        if (g->order[k]->fn && !g->order[k]->direct)
            return budget / 2;
    return budget / 4 * 3;
}

/* Whether a strip of w fits `share` (probing its first rows, where halos of every depth start);
 * strips of more blocks a row than a probe replays never do: no budget keeps the halos of
 * thousands of blocks. */
static int strip_fits(const iti_block_walk *w, size_t budget, size_t share, bool *fits) {
    const size_t rows = 4, most_probed = 4096;
    size_t blocks = strip_row_blocks(w), bytes = 0;
    *fits = false;
    if (blocks > most_probed)
        return 0;
    int rc = probe(w, rows * blocks, budget, &bytes);
    *fits = rc == 0 && bytes <= share;
    return rc;
}

int iti_release_fit_strips(iti_block_walk *w, size_t budget) {
    const iti_chunk_axes *ax = w->ax;
    size_t share = halo_share(w->graph, budget);
    int rc = 0;
    /* Halves the widest dimension until a strip fits, then widens it again as far as fits. */
    int last = -1;
    int64_t over = 0; /* blocks along `last` that did not fit */
    bool fits = false;
    while (rc == 0) {
        int widest = -1;
        for (int d = 0; d < ax->rank; d++)
            if (d != w->outer && w->sext[d] > w->bext[d] &&
                (widest < 0 || iti_blocks_in(w->sext[d], w->bext[d]) >
                                   iti_blocks_in(w->sext[widest], w->bext[widest])))
                widest = d;
        if (widest < 0 || (rc = strip_fits(w, budget, share, &fits)) || fits)
            break;
        last = widest;
        over = iti_blocks_in(w->sext[widest], w->bext[widest]);
        w->sext[widest] = (over + 1) / 2 * w->bext[widest];
    }
    for (int64_t lo = last < 0 ? 0 : w->sext[last] / w->bext[last]; rc == 0 && over - lo > 1;) {
        int64_t mid = lo + (over - lo) / 2;
        w->sext[last] = mid * w->bext[last];
        if ((rc = strip_fits(w, budget, share, &fits)) == 0 && fits)
            lo = mid;
        else
            over = mid;
        w->sext[last] = lo * w->bext[last];
    }
    return rc;
}
