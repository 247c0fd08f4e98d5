/* Thread pool of a context. it_pool_run spreads indices 0..n-1 of one task over the workers
 * and the calling thread. Several threads may call it_pool_run at once; each task's `thread`
 * argument is unique among the tasks running at any instant and < the pool's thread count. */
#ifndef IT_POOL_H
#define IT_POOL_H

#include "internal.h"

typedef struct it_pool it_pool;

/* Returns 0 on success; any other value stops the run (indices not yet started are skipped). */
typedef int (*it_task_fn)(void *arg, size_t index, int thread);

int it_pool_create(int threads, it_pool **out);
void it_pool_destroy(it_pool *p);
int it_pool_threads(const it_pool *p);
/* Runs fn for every index (all of them unless one fails). Returns 0 or the first failure's
 * code; the failing task's message is copied to the calling thread's error message. */
int it_pool_run(it_pool *p, size_t n, it_task_fn fn, void *arg);

#endif
