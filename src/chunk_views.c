/* Chunk iterators (views.h): the evaluator's block walk (iti_eval_visit) runs on a thread of
 * the iterator's own, handing each block of final, pinned chunks to the caller and waiting,
 * with the chunks still pinned, until the caller asks for the next block or closes. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "evaluator.h"
#include "tensor_impl.h"

struct it_chunk_views {
    it_tensor *t;
    iti_selection s;
    int64_t first[IT_MAX_RANK], stop[IT_MAX_RANK]; /* the region */
    size_t budget;
    pthread_t walker;
    pthread_mutex_t lock;
    pthread_cond_t cv;
    it_chunk_view *views;          /* the block handed out */
    size_t n, cap;
    bool ready;                    /* the walk published a block */
    bool handed;                   /* and the caller has it */
    bool wanted;                   /* the caller let go of it */
    bool stop_walk;                /* closing: the walk is to end */
    bool finished;                 /* the walk returned rc */
    int rc;
    iti_error_state error;
};

/* The view of pinned chunk c (data: chunk_bytes). */
static void make_view(const it_chunk_views *it, const iti_coord *c, const void *data,
                      it_chunk_view *v) {
    const iti_store_tensor *t = &it->t->view;
    int64_t stop[IT_MAX_RANK];
    memset(v, 0, sizeof *v);
    v->rank = t->rank;
    iti_chunk_box(t, c, v->start, stop);
    int64_t stride = (int64_t)t->esize;
    for (int d = t->rank - 1; d >= 0; d--) {
        v->chunk[d] = c->v[d];
        v->shape[d] = t->chunk[d];
        v->strides[d] = stride;
        stride *= t->chunk[d];
        v->first[d] = v->start[d] > it->first[d] ? v->start[d] : it->first[d];
        v->last[d] = stop[d] < it->stop[d] ? stop[d] : it->stop[d];
    }
    v->data = data;
    v->computed = data != it->t->init_chunk;
}

/* The walk's visitor (walker thread): publishes the block, then waits until the caller is
 * done with it. */
static int hand_over(const iti_coord *coords, const iti_chunk_ref *refs, size_t n, void *user) {
    it_chunk_views *it = user;
    pthread_mutex_lock(&it->lock);
    int rc = 0;
    if (n > it->cap) {
        it_chunk_view *v = realloc(it->views, n * sizeof *v);
        if (v) {
            it->views = v;
            it->cap = n;
        } else {
            rc = iti_error(IT_ENOMEM, "it_chunk_views_next: out of memory");
        }
    }
    for (size_t i = 0; rc == 0 && i < n; i++)
        make_view(it, &coords[i], refs[i].data, &it->views[i]);
    if (rc == 0) {
        it->n = n;
        it->ready = true;
        it->wanted = false;
        pthread_cond_broadcast(&it->cv);
        while (!it->wanted && !it->stop_walk)
            pthread_cond_wait(&it->cv, &it->lock);
        if (it->stop_walk)
            rc = IT_ECANCELED; /* closed before the end: not an error anybody sees */
    }
    pthread_mutex_unlock(&it->lock);
    return rc;
}

static void *walker_main(void *arg) {
    it_chunk_views *it = arg;
    int rc = iti_eval_visit(it->t, &it->s, it->budget, hand_over, it, "it_chunk_views_next");
    pthread_mutex_lock(&it->lock);
    if (rc)
        iti_error_save(&it->error);
    it->rc = rc;
    it->finished = true;
    it->ready = false;
    pthread_cond_broadcast(&it->cv);
    pthread_mutex_unlock(&it->lock);
    return NULL;
}

int it_chunk_views_open(it_tensor *t, const it_region *region, size_t budget,
                        it_chunk_views **out) {
    if (!out)
        return iti_error(IT_EINVAL, "it_chunk_views_open: NULL out");
    *out = NULL;
    if (!t || !region)
        return iti_error(IT_EINVAL, "it_chunk_views_open: NULL %s", t ? "region" : "tensor");
    if (iti_in_callback())
        return iti_error(IT_EINVAL, "it_chunk_views_open: not inside a window function or "
                         "callback (read there with it_tensor_read)");
    it_chunk_views *it = calloc(1, sizeof *it);
    if (!it)
        return iti_error(IT_ENOMEM, "it_chunk_views_open: out of memory");
    int rc = iti_selection_resolve(t, region, "it_chunk_views_open", &it->s);
    for (int d = 0; rc == 0 && d < it->s.rank; d++) {
        if (it->s.step[d] != 1)
            rc = iti_error(IT_EINVAL, "it_chunk_views_open: region step[%d] is %lld: views are "
                           "of whole chunks, so steps must be 1", d, (long long)it->s.step[d]);
        it->first[d] = it->s.start[d];
        it->stop[d] = it->s.start[d] + it->s.count[d];
    }
    if (rc) {
        free(it);
        return rc;
    }
    it->t = t;
    atomic_fetch_add(&t->views_held, 1);
    it->budget = budget;
    it->finished = it->s.elems == 0;
    pthread_mutex_init(&it->lock, NULL);
    pthread_cond_init(&it->cv, NULL);
    if (!it->finished && pthread_create(&it->walker, NULL, walker_main, it) != 0) {
        atomic_fetch_sub(&t->views_held, 1);
        pthread_mutex_destroy(&it->lock);
        pthread_cond_destroy(&it->cv);
        free(it);
        return iti_error(IT_ENOMEM, "it_chunk_views_open: could not start its thread");
    }
    *out = it;
    return 0;
}

int it_chunk_views_next(it_chunk_views *it, const it_chunk_view **views, size_t *n) {
    if (!it || !views || !n)
        return iti_error(IT_EINVAL, "it_chunk_views_next: NULL %s",
                         !it ? "iterator" : !views ? "views" : "n");
    *views = NULL;
    *n = 0;
    pthread_mutex_lock(&it->lock);
    if (it->handed) { /* the caller is done with the block it has */
        it->ready = it->handed = false;
        it->wanted = true;
        pthread_cond_broadcast(&it->cv);
    }
    while (!it->ready && !it->finished)
        pthread_cond_wait(&it->cv, &it->lock);
    int rc = 0;
    if (it->ready) {
        *views = it->views;
        *n = it->n;
        it->handed = true;
        rc = 1;
    } else if (it->rc) {
        rc = iti_error_restore(it->rc, &it->error);
    }
    pthread_mutex_unlock(&it->lock);
    return rc;
}

void it_chunk_views_close(it_chunk_views *it) {
    if (!it)
        return;
    pthread_mutex_lock(&it->lock);
    bool started = it->s.elems != 0;
    it->stop_walk = true;
    pthread_cond_broadcast(&it->cv);
    pthread_mutex_unlock(&it->lock);
    if (started)
        pthread_join(it->walker, NULL);
    atomic_fetch_sub(&it->t->views_held, 1);
    pthread_mutex_destroy(&it->lock);
    pthread_cond_destroy(&it->cv);
    free(it->views);
    free(it);
}

/* ---- pins ------------------------------------------------------------------------------------ */

struct it_chunk_pin {
    it_tensor *t;
    iti_chunk_ref ref;            /* data NULL: the tensor's blend_init chunk, owned by it */
};

int it_chunk_pin_take(it_tensor *t, const it_chunk_view *v, it_chunk_pin **out) {
    if (!out)
        return iti_error(IT_EINVAL, "it_chunk_pin_take: NULL out");
    *out = NULL;
    if (!t || !v || v->rank != t->view.rank)
        return iti_error(IT_EINVAL, "it_chunk_pin_take: %s", !t ? "NULL tensor" : !v ?
                         "NULL view" : "the view is not of this tensor (rank)");
    it_chunk_pin *p = calloc(1, sizeof *p);
    if (!p)
        return iti_error(IT_ENOMEM, "it_chunk_pin_take: out of memory");
    p->t = t;
    if (v->data != t->init_chunk) {
        iti_coord c;
        memset(&c, 0, sizeof c);
        memcpy(c.v, v->chunk, sizeof(int64_t) * (size_t)t->view.rank);
        it_store *s = t->store;
        int got = s->ops->get(s->impl, &t->view, &c, &p->ref);
        if (got == 1 && p->ref.data != v->data) { /* not the view's memory: not pinned by it */
            s->ops->release(s->impl, &t->view, &p->ref);
            got = iti_error(IT_EINVAL, "it_chunk_pin_take: the view's block was let go already");
        } else if (got == 0) {
            got = iti_error(IT_EINVAL, "it_chunk_pin_take: the view's chunk is not stored");
        }
        if (got < 0) {
            free(p);
            return got;
        }
    }
    atomic_fetch_add(&t->views_held, 1);
    *out = p;
    return 0;
}

void it_chunk_pin_release(it_chunk_pin *p) {
    if (!p)
        return;
    if (p->ref.data)
        p->t->store->ops->release(p->t->store->impl, &p->t->view, &p->ref);
    atomic_fetch_sub(&p->t->views_held, 1);
    free(p);
}
