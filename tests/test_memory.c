/* The memory store and memory bounds: LRU eviction (evicted chunks are recomputed, values
 * unchanged), clear-cache, a read 8x larger than the budget whose peak library allocation
 * stays within the store limit plus the context budget, and an HDF5 store's default cache
 * sized from the budget. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_util.h"

typedef struct pipeline {
    it_ctx *ctx;
    it_store *store;
    golden_gen gen;
    it_tensor *base, *top;
} pipeline;

/* base: (inf, inf) f32, windows 16 stride 12 (overlapping: blended through the window cache),
 * chunks 32x32; top: 3x3 box sums of base through a padded window, windows = chunks 32. */
static void open_pipeline(pipeline *p, size_t budget, size_t cache) {
    memset(p, 0, sizeof *p);
    it_ctx_options co;
    it_ctx_options_init(&co);
    co.threads = 2;
    co.memory_budget = budget;
    assert_int_equal(it_ctx_create(&co, &p->ctx), 0);
    it_memory_store_options so;
    it_memory_store_options_init(&so);
    so.cache_bytes = cache;
    assert_int_equal(it_store_open_memory(p->ctx, &so, &p->store), 0);
    it_tensor_desc d;
    golden_overlap_desc(&d, &p->gen);
    assert_int_equal(it_tensor_create(p->store, &d, &p->base), 0);
    it_window aw;
    box3_desc(&d, &p->base, &aw, NULL);
    assert_int_equal(it_tensor_create(p->store, &d, &p->top), 0);
}

static void close_pipeline(pipeline *p) {
    it_store_close(p->store);
    it_ctx_destroy(p->ctx);
}

static void test_read_8x_budget_stays_bounded(void **state) {
    (void)state;
    const size_t budget = 256 << 10;
    it_region r = region2(-300, 468, -200, 504); /* 768 x 704 f32 = 2.06 MiB = 8.25 budgets */
    size_t bytes = 768 * 704 * 4;
    assert_true(bytes >= 8 * budget);

    pipeline roomy;
    open_pipeline(&roomy, 0, 0);
    float *want = malloc(bytes);
    assert_int_equal(it_tensor_read(roomy.top, &r, want, bytes), 0);
    close_pipeline(&roomy);

    pipeline p;
    open_pipeline(&p, budget, budget);
    float *got = malloc(bytes);
    size_t before, peak;
    it_memory_stats(&before, NULL);
    it_memory_reset_peak();
    assert_int_equal(it_tensor_read(p.top, &r, got, bytes), 0);
    it_memory_stats(NULL, &peak);
    size_t used = peak - before;
    print_message("peak library allocation %zu KiB for a %zu KiB read (store limit %zu KiB + "
                  "budget %zu KiB)\n", used >> 10, bytes >> 10, budget >> 10, budget >> 10);
    assert_true(used <= 2 * budget);
    assert_true(it_store_memory_bytes(p.store) <= budget);
    assert_memory_equal(got, want, bytes);
    /* Evicted chunks are recomputed on the next read, with the same values. */
    long calls = atomic_load(&p.gen.calls);
    assert_int_equal(it_tensor_read(p.top, &r, got, bytes), 0);
    assert_true(atomic_load(&p.gen.calls) > calls);
    assert_memory_equal(got, want, bytes);
    close_pipeline(&p);
    free(want);
    free(got);
}

/* The weighted blend's double sums (16 bytes per pixel of a chunk being finalised, per
 * thread) are part of the budget: a read 8x the budget, chunks of 128x128 f32 (256 KiB of sums
 * each), stays within it, with the values of an unbounded read. */
static it_tensor *weighted_tensor(test_env *e, size_t budget) {
    assert_int_equal(test_env_open(e, 2, budget, budget), 0);
    it_tensor_desc d;
    golden_overlap_desc(&d, NULL);
    d.chunk[0] = d.chunk[1] = 128;
    d.blend = IT_BLEND_WEIGHTED;
    d.weight.kind = IT_WEIGHT_HANN;
    it_tensor *t;
    assert_int_equal(it_tensor_create(e->store, &d, &t), 0);
    return t;
}

static void test_weighted_read_stays_bounded(void **state) {
    (void)state;
    const size_t budget = 2 << 20;
    it_region r = region2(-1000, 1048, -500, 1548); /* 2048^2 f32 = 16 MiB = 8 budgets */
    size_t bytes = (size_t)2048 * 2048 * 4;
    test_env e;
    float *want = malloc(bytes), *got = malloc(bytes);
    it_tensor *t = weighted_tensor(&e, 0);
    assert_int_equal(it_tensor_read(t, &r, want, bytes), 0);
    test_env_close(&e);

    t = weighted_tensor(&e, budget);
    size_t before, peak;
    it_memory_stats(&before, NULL);
    it_memory_reset_peak();
    assert_int_equal(it_tensor_read(t, &r, got, bytes), 0);
    it_memory_stats(NULL, &peak);
    size_t used = peak - before;
    print_message("weighted: peak library allocation %zu KiB for a %zu KiB read (store limit "
                  "%zu KiB + budget %zu KiB)\n", used >> 10, bytes >> 10, budget >> 10, budget >> 10);
    assert_true(used <= 2 * budget);
    assert_memory_equal(got, want, bytes);
    test_env_close(&e);
    free(want);
    free(got);
}

static void test_lru_and_clear_cache(void **state) {
    (void)state;
    pipeline p;
    /* room for three chunks; a window cache too small to keep any window */
    open_pipeline(&p, 2048, 3 * 32 * 32 * 4);
    it_region one = region2(0, 32, 0, 32);
    float buf[32 * 32], again[32 * 32];
    assert_int_equal(it_tensor_read(p.base, &one, buf, sizeof buf), 0);
    long calls = atomic_load(&p.gen.calls);
    assert_int_equal(it_tensor_read(p.base, &one, again, sizeof again), 0);
    assert_int_equal(atomic_load(&p.gen.calls), calls); /* stored */
    /* Four other chunks push it out. */
    it_region other = region2(64, 96, 0, 128);
    float *big = malloc(32 * 128 * 4);
    assert_int_equal(it_tensor_read(p.base, &other, big, 32 * 128 * 4), 0);
    assert_true(it_store_memory_bytes(p.store) <= 3 * 32 * 32 * 4);
    calls = atomic_load(&p.gen.calls);
    assert_int_equal(it_tensor_read(p.base, &one, again, sizeof again), 0);
    assert_true(atomic_load(&p.gen.calls) > calls); /* recomputed */
    assert_memory_equal(buf, again, sizeof buf);
    /* clear cache drops memory, values come back the same */
    assert_int_equal(it_tensor_clear_cache(p.base), 0);
    assert_int_equal(it_store_memory_bytes(p.store), 0);
    assert_int_equal(it_tensor_read(p.base, &one, again, sizeof again), 0);
    assert_memory_equal(buf, again, sizeof buf);
    assert_int_equal(it_store_clear_cache(p.store), 0);
    assert_int_equal(it_store_memory_bytes(p.store), 0);
    free(big);
    close_pipeline(&p);
}

static void test_release_and_close_free_everything(void **state) {
    (void)state;
    size_t before, after;
    it_memory_stats(&before, NULL);
    pipeline p;
    open_pipeline(&p, 0, 0);
    it_region r = region2(-40, 40, -40, 40);
    float *buf = malloc(80 * 80 * 4);
    assert_int_equal(it_tensor_read(p.top, &r, buf, 80 * 80 * 4), 0);
    assert_true(it_store_memory_bytes(p.store) > 0);
    it_tensor_release(p.top);
    close_pipeline(&p);
    it_memory_stats(&after, NULL);
    assert_int_equal(after, before);
    free(buf);
}

/* An HDF5 store's decoded-chunk cache defaults to an eighth of the context's budget (at most
 * 64 MiB), so the job's store cache is inside the budget; an explicit size is kept. */
static size_t hdf5_cache_after_reads(size_t budget, size_t cache_bytes) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/it-memory-%d.h5", (int)getpid());
    unlink(path);
    it_ctx_options co;
    it_ctx_options_init(&co);
    co.memory_budget = budget;
    it_ctx *ctx;
    assert_int_equal(it_ctx_create(&co, &ctx), 0);
    it_hdf5_options ho;
    it_hdf5_options_init(&ho);
    ho.cache_bytes = cache_bytes;
    it_store *store;
    assert_int_equal(it_store_open_hdf5(ctx, path, IT_HDF5_CREATE, &ho, &store), 0);
    it_tensor_desc d;
    golden_overlap_desc(&d, NULL);
    it_tensor *t;
    assert_int_equal(it_tensor_create(store, &d, &t), 0);
    it_region r = region2(0, 1024, 0, 1024); /* 1024 chunks of 4 KiB */
    float *buf = malloc(1024 * 1024 * 4);
    assert_int_equal(it_tensor_fill(t, &r), 0);
    assert_int_equal(it_store_clear_cache(store), 0);
    assert_int_equal(it_tensor_read(t, &r, buf, 1024 * 1024 * 4), 0); /* decodes every chunk */
    size_t held = it_store_memory_bytes(store);
    assert_int_equal(it_store_close(store), 0);
    it_ctx_destroy(ctx);
    unlink(path);
    free(buf);
    return held;
}

static void test_hdf5_cache_within_budget(void **state) {
    (void)state;
    size_t held = hdf5_cache_after_reads(2 << 20, 0);
    print_message("HDF5 decoded-chunk cache: %zu KiB after reading 4 MiB (budget 2 MiB)\n",
                  held >> 10);
    assert_true(held > 0 && held <= (2 << 20) / 8);
    held = hdf5_cache_after_reads(2 << 20, 1 << 20);
    assert_true(held > (2 << 20) / 8 && held <= 1 << 20);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_8x_budget_stays_bounded),
        cmocka_unit_test(test_weighted_read_stays_bounded),
        cmocka_unit_test(test_lru_and_clear_cache),
        cmocka_unit_test(test_release_and_close_free_everything),
        cmocka_unit_test(test_hdf5_cache_within_budget),
    };
    return cmocka_run_group_tests_name("memory", tests, NULL, NULL);
}
