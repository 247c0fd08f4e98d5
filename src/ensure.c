/* Making chunks final: stored chunks are pinned, missing ones claimed and computed, chunks
 * claimed by other threads waited for (evaluator.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "context_impl.h"
#include "evaluator.h"

void iti_release_refs(it_tensor *t, iti_chunk_ref *refs, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (refs[i].data)
            t->store->ops->release(t->store->impl, &t->view, &refs[i]);
}

/* ---- pinned sets -------------------------------------------------------------------------- */

void iti_pinned_free(pinned *p) {
    if (p->refs)
        iti_release_refs(p->t, p->refs, p->n);
    free(p->coords);
    free(p->refs);
    free(p->nodes);
    if (p->index.buckets)
        iti_htab_free(&p->index);
    memset(p, 0, sizeof *p);
}

int iti_pinned_ensure(eval *ev, it_tensor *t, const iti_coordset *set, pinned *p) {
    memset(p, 0, sizeof *p);
    p->t = t;
    int rc = iti_coordset_sorted(set, &p->coords);
    if (rc)
        return rc;
    p->n = set->count;
    p->refs = calloc(p->n ? p->n : 1, sizeof *p->refs);
    p->nodes = calloc(p->n ? p->n : 1, sizeof *p->nodes);
    if (!p->refs || !p->nodes || iti_htab_init(&p->index, p->n))
        return iti_error(IT_ENOMEM, "out of memory planning tensor \"%s\"", t->view.id);
    rc = iti_ensure(ev, t, p->coords, p->n, p->refs, true);
    if (rc) {
        free(p->refs); /* iti_ensure released them */
        p->refs = NULL;
        return rc;
    }
    for (size_t i = 0; i < p->n; i++) {
        p->nodes[i].key = p->coords[i];
        iti_htab_insert(&p->index, &p->nodes[i]);
    }
    return 0;
}

const void *iti_pinned_find(const pinned *p, const iti_coord *c) {
    iti_hnode *n = iti_htab_find(&p->index, 0, c);
    return n ? p->refs[n - p->nodes].data : NULL;
}

/* ---- claims and the wait graph -------------------------------------------------------------- *
 * Each iti_ensure call is a frame: it owns the claims it makes, and it cannot finish before
 * the frames started inside its work (the ensures of argument chunks, reads nested in its
 * window functions on any thread) finish: their `parent` is it. A frame about to wait for a
 * claim first checks that the claim's owner does not (transitively: through parents and
 * through the claims other frames wait for) wait for it; if it does, the wait would never end:
 * a window function reads what its own computation needs (IT_ECYCLE). */

struct iti_frame {
    iti_frame *parent;          /* the frame whose work this one is part of (it waits for us) */
    iti_frame *waits_for;       /* the owner of the claim this frame waits for, or NULL */
    bool inline_work;           /* a nested evaluation's: its work runs on its own thread */
    const it_tensor *t;         /* and that claim's chunk */
    iti_coord c;
    iti_frame *next;            /* the active frames (wait_graph lock) */
};

typedef struct claim_node {
    iti_hnode node;             /* first: the table's entry */
    iti_frame *owner;
} claim_node;

static _Thread_local iti_frame *current; /* the frame this thread works for */
static pthread_mutex_t wait_graph = PTHREAD_MUTEX_INITIALIZER;
static iti_frame *active;

iti_frame *iti_frame_swap(iti_frame *f) {
    iti_frame *old = current;
    current = f;
    return old;
}

iti_frame *iti_frame_current(void) { return current; }

static void frame_begin(iti_frame *f, bool inline_work) {
    *f = (iti_frame){.parent = current, .inline_work = inline_work};
    pthread_mutex_lock(&wait_graph);
    f->next = active;
    active = f;
    pthread_mutex_unlock(&wait_graph);
    current = f;
}

static void frame_end(iti_frame *f) {
    pthread_mutex_lock(&wait_graph);
    iti_frame **p = &active;
    while (*p != f)
        p = &(*p)->next;
    *p = f->next;
    pthread_mutex_unlock(&wait_graph);
    current = f->parent;
}

static bool member(iti_frame *const *set, size_t n, const iti_frame *f) {
    for (size_t i = 0; i < n; i++)
        if (set[i] == f)
            return true;
    return false;
}

/* Whether frame `owner` waits, transitively, for frame f (wait_graph lock held): whether it is
 * among the frames that wait for f, its ancestors and the frames waiting for a claim of one of
 * them, and theirs. */
static bool waits_for_frame(const iti_frame *owner, iti_frame *f) {
    size_t cap = 0, n = 0;
    for (iti_frame *x = active; x; x = x->next)
        cap++;
    iti_frame **set = malloc((cap + 1) * sizeof *set);
    if (!set)
        return false; /* out of memory: wait as before */
    set[n++] = f;
    for (bool grew = true; grew;) {
        grew = false;
        for (iti_frame *x = active; x; x = x->next) {
            if (member(set, n, x))
                continue;
            bool waits = x->waits_for && member(set, n, x->waits_for);
            for (size_t i = 0; !waits && i < n; i++)
                waits = set[i]->parent == x;
            if (waits) {
                set[n++] = x;
                grew = true;
            }
        }
    }
    bool found = member(set, n, owner);
    free(set);
    return found;
}

static claim_node *claimed(it_tensor *t, const iti_coord *c) {
    return (claim_node *)iti_htab_find(&t->claims, 0, c);
}

/* 1: c is now claimed by the caller's frame; 0: a frame holds it; IT_ENOMEM. */
static int claim(it_tensor *t, const iti_coord *c) {
    pthread_mutex_lock(&t->claim_lock);
    bool busy = claimed(t, c) != NULL;
    claim_node *node = busy ? NULL : calloc(1, sizeof *node);
    if (node) {
        node->node.key = *c;
        node->owner = current;
        iti_htab_insert(&t->claims, &node->node);
    }
    pthread_mutex_unlock(&t->claim_lock);
    if (busy)
        return 0;
    return node ? 1 : iti_error(IT_ENOMEM, "out of memory claiming a chunk of \"%s\"", t->view.id);
}

/* Releases the claims on coords[idx[0..n)] and wakes the threads waiting for them. */
static void unclaim(it_tensor *t, const iti_coord *coords, const size_t *idx, size_t n) {
    if (n == 0)
        return;
    pthread_mutex_lock(&t->claim_lock);
    for (size_t q = 0; q < n; q++) {
        claim_node *node = claimed(t, &coords[idx[q]]);
        if (node) {
            iti_htab_remove(&t->claims, &node->node);
            free(node);
        }
    }
    pthread_cond_broadcast(&t->claim_cv);
    pthread_mutex_unlock(&t->claim_lock);
}

/* Whether chunk c's claim belongs to the caller's frame or one it is part of (a read nested in
 * the computation that claimed it needs it: a cycle), 0 when another frame holds it, -1 when
 * nobody holds it any more. *inline_work: whether the holder is a nested read's frame, read
 * while the claim keeps that frame alive. */
static int claim_is_ours(it_tensor *t, const iti_coord *c, iti_frame **owner, bool *inline_work) {
    pthread_mutex_lock(&t->claim_lock);
    claim_node *node = claimed(t, c);
    int ours = node ? 0 : -1;
    *owner = node ? node->owner : NULL;
    *inline_work = node && node->owner->inline_work;
    for (const iti_frame *f = current; node && f && !ours; f = f->parent)
        ours = f == node->owner;
    pthread_mutex_unlock(&t->claim_lock);
    return ours;
}

/* IT_ECYCLE naming the chunk wanted and the claims its computation waits for (wait_graph
 * held). */
static int cycle_error(const it_tensor *t, const iti_coord *c, const iti_frame *owner) {
    char msg[768], coord[128];
    iti_format_coord(coord, sizeof coord, c->v, t->view.rank);
    size_t used = (size_t)snprintf(msg, sizeof msg, "tensor \"%s\" chunk (%s)", t->view.id, coord);
    int hops = 0;
    for (const iti_frame *w = owner; w && used < sizeof msg && hops < 8; hops++) {
        while (w && !w->waits_for) /* the chain goes on where a frame of its work waits */
            w = w->parent;
        if (!w || w == current)
            break;
        iti_format_coord(coord, sizeof coord, w->c.v, w->t->view.rank);
        used += (size_t)snprintf(msg + used, sizeof msg - used, ", whose computation waits for "
                                 "tensor \"%s\" chunk (%s)", w->t->view.id, coord);
        w = w->waits_for;
    }
    return iti_error(IT_ECYCLE, "a window function reads what its own computation needs: %s "
                     "is being computed by this read or by one waiting for it", msg);
}

/* Waits until no frame holds a claim on coords[idx[0..n)], unless the wait would close a
 * cycle (IT_ECYCLE). A nested evaluation waits only while a nested read holds the claim: one
 * that is not nested may have claimed the chunk since take_over looked (a wait for it could
 * hold the pool workers its job needs); the next round takes that chunk over. */
static int wait_for_others(it_tensor *t, const iti_coord *coords, const size_t *idx, size_t n,
                           bool nested) {
    int rc = 0;
    iti_frame *me = current;
    pthread_mutex_lock(&t->claim_lock);
    for (size_t q = 0; rc == 0 && q < n; q++) {
        claim_node *node;
        while (rc == 0 && (node = claimed(t, &coords[idx[q]])) != NULL) {
            if (nested && !node->owner->inline_work)
                break;
            pthread_mutex_lock(&wait_graph);
            if (waits_for_frame(node->owner, me)) {
                rc = cycle_error(t, &coords[idx[q]], node->owner);
            } else {
                me->waits_for = node->owner;
                me->t = t;
                me->c = coords[idx[q]];
            }
            pthread_mutex_unlock(&wait_graph);
            if (rc == 0)
                pthread_cond_wait(&t->claim_cv, &t->claim_lock);
            pthread_mutex_lock(&wait_graph);
            me->waits_for = NULL;
            pthread_mutex_unlock(&wait_graph);
        }
    }
    pthread_mutex_unlock(&t->claim_lock);
    return rc;
}

/* 1 when chunk c is stored: pinned in ref with keep, released at once otherwise. */
static int take_stored(it_tensor *t, const iti_coord *c, iti_chunk_ref *ref, bool keep) {
    it_store *s = t->store;
    int got = s->ops->get(s->impl, &t->view, c, ref);
    if (got > 0)
        atomic_fetch_add(&t->chunks_loaded, 1);
    if (got > 0 && !keep) {
        s->ops->release(s->impl, &t->view, ref);
        memset(ref, 0, sizeof *ref);
    }
    return got;
}

/* Sorts coords[todo[0..ntodo)] into stored (taken), claimed by the caller (mine) and claimed
 * by other threads (theirs). On failure, mine still lists the chunks claimed so far. */
static int claim_round(it_tensor *t, const iti_coord *coords, iti_chunk_ref *refs, bool keep,
                       const size_t *todo, size_t ntodo, size_t *mine, size_t *nm,
                       size_t *theirs, size_t *nt) {
    for (size_t q = 0; q < ntodo; q++) {
        size_t i = todo[q];
        int got = take_stored(t, &coords[i], &refs[i], keep);
        if (got != 0) {
            if (got < 0)
                return got;
            continue;
        }
        int mine_now = claim(t, &coords[i]);
        if (mine_now < 0)
            return mine_now;
        if (!mine_now) {
            theirs[(*nt)++] = i;
            continue;
        }
        /* It may have been stored between the look and the claim. */
        got = take_stored(t, &coords[i], &refs[i], keep);
        if (got != 0) {
            unclaim(t, coords, &i, 1);
            if (got < 0)
                return got;
            continue;
        }
        mine[(*nm)++] = i;
    }
    return 0;
}

/* A nested evaluation never waits for a claim of a read that is not nested: that read's pool
 * job may be waiting for workers that are all running window functions that wait for this
 * one. Such a chunk is computed here too (chunks are deterministic: the second put stores the
 * same bytes), appended to mine after the nm chunks claimed (*ndup of them, not to be
 * unclaimed). A chunk held by the computation this read is nested in is a cycle (IT_ECYCLE).
 * Chunks held by nested reads (whose work runs on their own threads, always progressing) and
 * claims released meanwhile stay in theirs, to be waited for (with the cycle check). */
static int take_over(it_tensor *t, const iti_coord *coords, size_t *mine, size_t nm,
                     size_t *ndup, size_t *theirs, size_t *nt) {
    size_t keep = 0;
    for (size_t q = 0; q < *nt; q++) {
        iti_frame *owner; /* alive when ours > 0: a frame of this thread's own chain */
        bool inline_work;
        int ours = claim_is_ours(t, &coords[theirs[q]], &owner, &inline_work);
        if (ours > 0) {
            pthread_mutex_lock(&wait_graph); /* cycle_error reads other frames' waits */
            int rc = cycle_error(t, &coords[theirs[q]], owner);
            pthread_mutex_unlock(&wait_graph);
            return rc;
        }
        if (ours == 0 && !inline_work)
            mine[nm + (*ndup)++] = theirs[q];
        else /* released meanwhile, or held by a nested read, which always progresses: waited */
            theirs[keep++] = theirs[q];
    }
    *nt = keep;
    return 0;
}

int iti_ensure(eval *ev, it_tensor *t, const iti_coord *coords, size_t n, iti_chunk_ref *refs,
              bool keep) {
    it_store *s = t->store;
    iti_frame frame;
    frame_begin(&frame, ev->nested);
    size_t *todo = malloc((n ? n : 1) * sizeof *todo);
    size_t *mine = malloc((n ? n : 1) * sizeof *mine);
    size_t *theirs = malloc((n ? n : 1) * sizeof *theirs);
    int rc = 0;
    if (!todo || !mine || !theirs)
        rc = iti_error(IT_ENOMEM, "out of memory planning tensor \"%s\"", t->view.id);
    size_t ntodo = n;
    for (size_t i = 0; rc == 0 && i < n; i++)
        todo[i] = i;
    if (rc == 0 && s->ops->prefetch && n > 1)
        rc = s->ops->prefetch(s->impl, &t->view, coords, n, ev->ctx->pool);
    while (rc == 0 && ntodo) {
        size_t nm = 0, nt = 0, ndup = 0;
        rc = claim_round(t, coords, refs, keep, todo, ntodo, mine, &nm, theirs, &nt);
        if (rc == 0 && ev->nested) /* never wait: see below */
            rc = take_over(t, coords, mine, nm, &ndup, theirs, &nt);
        if (rc == 0 && nm + ndup)
            rc = iti_compute_chunks(ev, t, coords, mine, nm + ndup, refs, keep);
        unclaim(t, coords, mine, nm); /* computed or failed: either way no longer ours */
        if (rc == 0)
            rc = wait_for_others(t, coords, theirs, nt, ev->nested);
        /* Chunks computed by others are normally stored now; if their computation failed (or
         * the chunk was evicted already) the next round claims them here. */
        memcpy(todo, theirs, nt * sizeof *todo);
        ntodo = nt;
    }
    if (rc) {
        iti_release_refs(t, refs, n);
        memset(refs, 0, n * sizeof *refs);
    }
    free(todo);
    free(mine);
    free(theirs);
    frame_end(&frame);
    return rc;
}
