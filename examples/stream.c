/* The seed's data-streaming pattern: an infinite stream of 128-feature rows, produced 1000
 * rows per window, consumed in batches of 5000 rows. Each batch computes only its own windows;
 * re-reading a batch computes nothing. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "infinite_tensor.h"

#define ROWS 1000
#define FEATURES 128
#define BATCH 5000

static atomic_int calls;

/* A deterministic "sensor": feature j of row i is a smooth function plus hashed noise. */
static int produce(const it_window_batch *b, void *user) {
    (void)user;
    for (size_t k = 0; k < b->count; k++) {
        int64_t first_row = b->index[2 * k] * ROWS;
        float *out = b->out[k];
        for (int64_t i = 0; i < ROWS; i++)
            for (int64_t j = 0; j < FEATURES; j++) {
                uint64_t h = (uint64_t)(first_row + i) * 0x9E3779B97F4A7C15u + (uint64_t)j;
                h ^= h >> 29;
                h *= 0xBF58476D1CE4E5B9u;
                h ^= h >> 32;
                out[i * FEATURES + j] = (float)((first_row + i) % 100) / 100.0f +
                                        (float)(h & 0xffff) / 65536.0f - 0.5f;
            }
        atomic_fetch_add(&calls, 1);
    }
    return 0;
}

int main(void) {
    it_ctx *ctx;
    it_store *store;
    if (it_ctx_create(NULL, &ctx) || it_store_open_memory(ctx, NULL, &store)) {
        fprintf(stderr, "setup failed: %s\n", it_last_error());
        return 1;
    }
    int64_t size[2] = {ROWS, FEATURES};
    it_tensor_desc d;
    it_tensor_desc_init(&d, 2);
    d.shape[0] = IT_INF;
    d.shape[1] = FEATURES;
    it_window_init(&d.window, 2, size);
    d.fn = produce;
    d.batch_size = 4; /* f receives up to 4 windows per call */
    d.id = "stream";
    it_tensor *stream;
    if (it_tensor_create(store, &d, &stream)) {
        fprintf(stderr, "%s\n", it_last_error());
        return 1;
    }
    float *batch = malloc(sizeof(float) * BATCH * FEATURES);
    for (int64_t b = 0; b < 4; b++) {
        it_region r;
        int64_t start[2] = {b * BATCH, 0}, stop[2] = {(b + 1) * BATCH, FEATURES};
        it_region_set(&r, 2, start, stop, NULL);
        int before = atomic_load(&calls);
        if (it_tensor_read(stream, &r, batch, sizeof(float) * BATCH * FEATURES)) {
            fprintf(stderr, "read failed: %s\n", it_last_error());
            return 1;
        }
        double mean = 0;
        for (int64_t i = 0; i < BATCH * FEATURES; i++)
            mean += batch[i];
        printf("batch %lld: rows [%lld, %lld) x %d features, mean %.5f, windows computed %d\n",
               (long long)b, (long long)start[0], (long long)stop[0], FEATURES,
               mean / (BATCH * FEATURES), atomic_load(&calls) - before);
    }
    it_region again;
    int64_t s0[2] = {2500, 0}, e0[2] = {7500, FEATURES};
    it_region_set(&again, 2, s0, e0, NULL);
    int before = atomic_load(&calls);
    it_tensor_read(stream, &again, batch, sizeof(float) * BATCH * FEATURES);
    printf("re-reading rows [2500, 7500) computed %d windows\n", atomic_load(&calls) - before);
    free(batch);
    it_store_close(store);
    it_ctx_destroy(ctx);
    return 0;
}
