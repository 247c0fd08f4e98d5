/* Contexts: thread pool, memory budget, window cache, progress callback. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "context_impl.h"

void it_ctx_options_init(it_ctx_options *opts) {
    if (opts)
        *opts = (it_ctx_options){.struct_size = sizeof *opts};
}

int it_ctx_create(const it_ctx_options *opts, it_ctx **out) {
    if (!out)
        return iti_error(IT_EINVAL, "it_ctx_create: NULL out");
    *out = NULL;
    it_ctx_options o;
    it_ctx_options_init(&o);
    int rc = iti_options_take(&o, opts, sizeof o, "it_ctx_create", "it_ctx_options_init");
    if (rc)
        return rc;
    if (o.threads < 0 || o.threads > 1024)
        return iti_error(IT_EINVAL, "it_ctx_create: threads must be 0..1024 (got %d)", o.threads);
    if (o.threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        o.threads = n < 1 ? 1 : n > 1024 ? 1024 : (int)n;
    }
    it_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return iti_error(IT_ENOMEM, "it_ctx_create: out of memory");
    ctx->threads = o.threads;
    ctx->budget = o.memory_budget ? o.memory_budget : ITI_DEFAULT_BUDGET;
    rc = iti_pool_create(o.threads, &ctx->pool);
    if (rc == 0)
        rc = iti_cache_create(ctx->budget / 4 ? ctx->budget / 4 : 1, &ctx->windows);
    if (rc) {
        it_ctx_destroy(ctx);
        return rc;
    }
    *out = ctx;
    return 0;
}

void it_ctx_destroy(it_ctx *ctx) {
    if (!ctx)
        return;
    iti_pool_destroy(ctx->pool);
    iti_cache_destroy(ctx->windows);
    free(ctx);
}

int it_ctx_threads(const it_ctx *ctx) { return ctx ? ctx->threads : 0; }

int it_ctx_set_progress(it_ctx *ctx, it_progress_fn fn, void *user) {
    if (!ctx)
        return iti_error(IT_EINVAL, "it_ctx_set_progress: NULL ctx");
    ctx->progress = fn;
    ctx->progress_user = user;
    return 0;
}
