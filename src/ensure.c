/* Making chunks final: stored chunks are pinned, missing ones claimed and computed, chunks
 * claimed by other threads waited for (evaluator.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "context_impl.h"
#include "evaluator.h"

void iti_format_coord(char *buf, size_t size, const int64_t *v, int rank) {
    size_t used = 0;
    buf[0] = 0;
    for (int d = 0; d < rank && used < size; d++)
        used += (size_t)snprintf(buf + used, size - used, d ? ", %lld" : "%lld", (long long)v[d]);
}

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

/* ---- claims ------------------------------------------------------------------------------- */

static bool claimed(it_tensor *t, const iti_coord *c) { return iti_htab_find(&t->claims, 0, c); }

/* 1: c is now claimed by the caller; 0: another thread holds it; IT_ENOMEM. */
static int claim(it_tensor *t, const iti_coord *c) {
    pthread_mutex_lock(&t->claim_lock);
    bool busy = claimed(t, c);
    iti_hnode *node = busy ? NULL : calloc(1, sizeof *node);
    if (node) {
        node->key = *c;
        iti_htab_insert(&t->claims, node);
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
        iti_hnode *node = iti_htab_find(&t->claims, 0, &coords[idx[q]]);
        if (node) {
            iti_htab_remove(&t->claims, node);
            free(node);
        }
    }
    pthread_cond_broadcast(&t->claim_cv);
    pthread_mutex_unlock(&t->claim_lock);
}

/* Waits until no thread holds a claim on coords[idx[0..n)]. */
static void wait_for_others(it_tensor *t, const iti_coord *coords, const size_t *idx, size_t n) {
    if (n == 0)
        return;
    pthread_mutex_lock(&t->claim_lock);
    for (size_t q = 0; q < n; q++)
        while (claimed(t, &coords[idx[q]]))
            pthread_cond_wait(&t->claim_cv, &t->claim_lock);
    pthread_mutex_unlock(&t->claim_lock);
}

/* ---- ensure ------------------------------------------------------------------------------- */

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

int iti_ensure(eval *ev, it_tensor *t, const iti_coord *coords, size_t n, iti_chunk_ref *refs,
              bool keep) {
    it_store *s = t->store;
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
        size_t nm = 0, nt = 0;
        rc = claim_round(t, coords, refs, keep, todo, ntodo, mine, &nm, theirs, &nt);
        if (rc == 0 && nm)
            rc = iti_compute_chunks(ev, t, coords, mine, nm, refs, keep);
        unclaim(t, coords, mine, nm); /* computed or failed: either way no longer ours */
        if (rc == 0)
            wait_for_others(t, coords, theirs, nt);
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
    return rc;
}
