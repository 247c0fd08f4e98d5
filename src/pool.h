/* Thread pool of a context. iti_pool_run spreads indices 0..n-1 of one task over the workers
 * and the calling thread. Several threads may call iti_pool_run at once; each task's `thread`
 * argument is unique among the tasks running at any instant and < the pool's thread count. */
#ifndef ITI_POOL_H
#define ITI_POOL_H

#include "internal.h"

typedef struct iti_pool iti_pool;

/* Returns 0 on success; any other value stops the run (indices not yet started are skipped). */
typedef int (*iti_task_fn)(void *arg, size_t index, int thread);

int iti_pool_create(int threads, iti_pool **out);
void iti_pool_destroy(iti_pool *p);
int iti_pool_threads(const iti_pool *p);
/* Runs fn for every index (all of them unless one fails). Returns 0 or the first failure's
 * code; the failing task's message is copied to the calling thread's error message. */
int iti_pool_run(iti_pool *p, size_t n, iti_task_fn fn, void *arg);

/* Between these, the calling thread's iti_pool_run calls run every index themselves, in order,
 * under the id of the task the thread is running (0 outside one): a read nested in a callback
 * runs on the thread that called it, never waiting for workers that may all be running the
 * callbacks that wait for it. Nestable. */
void iti_pool_inline_begin(void);
void iti_pool_inline_end(void);

#endif
