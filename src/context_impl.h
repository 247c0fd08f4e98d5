/* Context internals. */
#ifndef ITI_CONTEXT_IMPL_H
#define ITI_CONTEXT_IMPL_H

#include "cache.h"
#include "pool.h"

#define ITI_DEFAULT_BUDGET ((size_t)512 << 20)

struct it_ctx {
    int threads;
    size_t budget;
    iti_pool *pool;
    iti_cache *windows;          /* computed windows that overlap several chunks */
    it_progress_fn progress;
    void *progress_user;
};

#endif
