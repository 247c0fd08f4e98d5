#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"

typedef struct job {
    iti_task_fn fn;
    void *arg;
    size_t n;
    atomic_size_t next;      /* next index to hand out */
    atomic_size_t finished;  /* indices done or skipped */
    atomic_int status;       /* first failure */
    atomic_bool stop;
    iti_error_state error;   /* of the first failure */
    int users;               /* workers inside work_on (guarded by the pool lock) */
    struct job *qnext;
} job;

struct iti_pool {
    int threads;             /* workers + 1 (the caller) */
    pthread_t *workers;
    pthread_mutex_t lock;
    pthread_cond_t work_cv;  /* a job was queued, or shutdown */
    pthread_cond_t done_cv;  /* a job finished */
    pthread_mutex_t caller_slot; /* thread id 0 belongs to one calling thread at a time */
    job *queue;
    bool shutdown;
};

typedef struct worker_arg {
    iti_pool *pool;
    int id;
} worker_arg;

/* Nested evaluations run on their thread, one index after the other, under the id of the task
 * the thread is running (0 outside any): ids stay unique among threads running tasks. */
static _Thread_local int inline_depth, current_id;

/* Runs indices of j until none is left. */
static void work_on(iti_pool *p, job *j, int thread) {
    size_t done = 0;
    for (;;) {
        size_t i = atomic_fetch_add(&j->next, 1);
        if (i >= j->n)
            break;
        if (!atomic_load(&j->stop)) {
            int outer = current_id;
            current_id = thread;
            int rc = j->fn(j->arg, i, thread);
            current_id = outer;
            if (rc != 0) {
                int expected = 0;
                if (atomic_compare_exchange_strong(&j->status, &expected, rc))
                    iti_error_save(&j->error);
                atomic_store(&j->stop, true);
            }
        }
        done++;
    }
    if (done && atomic_fetch_add(&j->finished, done) + done == j->n) {
        pthread_mutex_lock(&p->lock);
        pthread_cond_broadcast(&p->done_cv);
        pthread_mutex_unlock(&p->lock);
    }
}

static job *pick(iti_pool *p) {
    for (job *j = p->queue; j; j = j->qnext)
        if (atomic_load(&j->next) < j->n)
            return j;
    return NULL;
}

static void *worker_main(void *varg) {
    worker_arg *wa = varg;
    iti_pool *p = wa->pool;
    int id = wa->id;
    free(wa);
    pthread_mutex_lock(&p->lock);
    for (;;) {
        job *j;
        while (!p->shutdown && !(j = pick(p)))
            pthread_cond_wait(&p->work_cv, &p->lock);
        if (p->shutdown)
            break;
        /* The owner keeps the job alive until no worker uses it any more. */
        j->users++;
        pthread_mutex_unlock(&p->lock);
        work_on(p, j, id);
        pthread_mutex_lock(&p->lock);
        if (--j->users == 0)
            pthread_cond_broadcast(&p->done_cv);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

int iti_pool_create(int threads, iti_pool **out) {
    iti_pool *p = calloc(1, sizeof *p);
    if (!p)
        return iti_error(IT_ENOMEM, "out of memory creating the thread pool");
    p->threads = threads < 1 ? 1 : threads;
    pthread_mutex_init(&p->lock, NULL);
    pthread_mutex_init(&p->caller_slot, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    if (p->threads > 1) {
        p->workers = calloc((size_t)p->threads - 1, sizeof *p->workers);
        if (!p->workers) {
            iti_pool_destroy(p);
            return iti_error(IT_ENOMEM, "out of memory creating the thread pool");
        }
        for (int i = 1; i < p->threads; i++) {
            worker_arg *wa = malloc(sizeof *wa);
            if (wa)
                *wa = (worker_arg){p, i};
            if (!wa || pthread_create(&p->workers[i - 1], NULL, worker_main, wa) != 0) {
                free(wa);
                p->threads = i; /* workers 1..i-1 exist */
                iti_pool_destroy(p);
                return iti_error(IT_ENOMEM, "could not start worker thread %d", i);
            }
        }
    }
    *out = p;
    return 0;
}

void iti_pool_destroy(iti_pool *p) {
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->shutdown = true;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->lock);
    if (p->workers)
        for (int i = 1; i < p->threads; i++)
            pthread_join(p->workers[i - 1], NULL);
    free(p->workers);
    pthread_mutex_destroy(&p->lock);
    pthread_mutex_destroy(&p->caller_slot);
    pthread_cond_destroy(&p->work_cv);
    pthread_cond_destroy(&p->done_cv);
    free(p);
}

int iti_pool_threads(const iti_pool *p) { return p->threads; }


void iti_pool_inline_begin(void) { inline_depth++; }
void iti_pool_inline_end(void) { inline_depth--; }

static int run_inline(size_t n, iti_task_fn fn, void *arg) {
    for (size_t i = 0; i < n; i++) {
        int rc = fn(arg, i, current_id);
        if (rc)
            return rc;
    }
    return 0;
}

int iti_pool_run(iti_pool *p, size_t n, iti_task_fn fn, void *arg) {
    if (n == 0)
        return 0;
    if (inline_depth > 0)
        return run_inline(n, fn, arg);
    job j;
    memset(&j, 0, sizeof j);
    j.fn = fn;
    j.arg = arg;
    j.n = n;
    atomic_init(&j.next, 0);
    atomic_init(&j.finished, 0);
    atomic_init(&j.status, 0);
    atomic_init(&j.stop, false);

    bool single = n == 1 || p->threads == 1;
    if (!single) {
        pthread_mutex_lock(&p->lock);
        j.qnext = p->queue;
        p->queue = &j;
        pthread_cond_broadcast(&p->work_cv);
        pthread_mutex_unlock(&p->lock);
    }
    /* Thread id 0 is the calling thread's only while it holds the slot. Without workers the
     * caller must run its job itself, so it waits for the slot. */
    bool have_slot = p->threads == 1 ? pthread_mutex_lock(&p->caller_slot) == 0
                                     : pthread_mutex_trylock(&p->caller_slot) == 0;
    if (have_slot) {
        work_on(p, &j, 0);
        pthread_mutex_unlock(&p->caller_slot);
    } else if (single) {
        /* A one-index job while another caller holds slot 0: hand it to the workers. */
        pthread_mutex_lock(&p->lock);
        j.qnext = p->queue;
        p->queue = &j;
        pthread_cond_broadcast(&p->work_cv);
        pthread_mutex_unlock(&p->lock);
        single = false;
    }
    pthread_mutex_lock(&p->lock);
    while (atomic_load(&j.finished) < n || j.users > 0)
        pthread_cond_wait(&p->done_cv, &p->lock);
    if (!single) {
        job **q = &p->queue;
        while (*q != &j)
            q = &(*q)->qnext;
        *q = j.qnext;
    }
    pthread_mutex_unlock(&p->lock);
    int status = atomic_load(&j.status);
    if (status != 0)
        iti_error_restore(status, &j.error);
    return status;
}
