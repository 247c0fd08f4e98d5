/* Letting go of intermediates: transient tensors keep chunks only while a read needs them
 * (same values, no window computed twice in a read whose halos fit the budget, nothing left
 * after it, less memory on the way), diamonds included; any region within the budget (strips
 * computing their halos again); non-transient intermediates of a size-limited memory store are
 * evicted before the results; transient tensors are refused by persistent stores but feed
 * them. */
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

typedef struct chain {
    it_ctx *ctx;
    it_store *store;
    golden_gen base_gen, mid_gen, top_gen;
    it_tensor *base, *mid, *top;
} chain;

/* base (inf, inf) f32 in overlapping windows 16 stride 12 (blended), chunks 32; mid and top:
 * 3x3 box sums of the tensor before through padded windows, windows = chunks 32. `flags` for
 * base and mid, `top_flags` for top. A small budget makes many blocks. */
static void open_chain(chain *c, size_t budget, size_t cache, unsigned flags, unsigned top_flags,
                       int threads) {
    memset(c, 0, sizeof *c);
    it_ctx_options co;
    it_ctx_options_init(&co);
    co.threads = threads;
    co.memory_budget = budget;
    assert_int_equal(it_ctx_create(&co, &c->ctx), 0);
    it_memory_store_options so;
    it_memory_store_options_init(&so);
    so.cache_bytes = cache;
    assert_int_equal(it_store_open_memory(c->ctx, &so, &c->store), 0);
    it_tensor_desc d;
    golden_overlap_desc(&d, &c->base_gen);
    d.flags = flags;
    assert_int_equal(it_tensor_create(c->store, &d, &c->base), 0);
    it_window aw;
    box3_desc(&d, &c->base, &aw, &c->mid_gen);
    d.flags = flags;
    assert_int_equal(it_tensor_create(c->store, &d, &c->mid), 0);
    d.user = &c->top_gen;
    d.args = &c->mid;
    d.flags = top_flags;
    assert_int_equal(it_tensor_create(c->store, &d, &c->top), 0);
}

static void close_chain(chain *c) {
    assert_int_equal(it_store_close(c->store), 0);
    it_ctx_destroy(c->ctx);
}

static long windows(chain *c) {
    return atomic_load(&c->base_gen.calls) + atomic_load(&c->mid_gen.calls) +
           atomic_load(&c->top_gen.calls);
}

static uint64_t stored_chunks(it_tensor *t) {
    it_tensor_stats s;
    assert_int_equal(it_tensor_get_stats(t, &s), 0);
    return s.chunks;
}

#define R0 (-100)
#define R1 412
#define BYTES ((size_t)(R1 - R0) * (R1 - R0) * 4)

/* Reads the standard region of top; returns the peak of library allocations during it. */
static size_t read_top(chain *c, float *buf) {
    it_region r = region2(R0, R1, R0, R1);
    size_t before, peak;
    it_memory_stats(&before, NULL);
    it_memory_reset_peak();
    assert_int_equal(it_tensor_read(c->top, &r, buf, BYTES), 0);
    it_memory_stats(NULL, &peak);
    return peak - before;
}

/* Reads the standard region of top with nothing transient and no store limit, two threads:
 * the values and the windows every other read is compared with. */
static long read_top_kept(float *want) {
    chain keep;
    open_chain(&keep, 1 << 20, 0, 0, 0, 2);
    read_top(&keep, want);
    long calls = windows(&keep);
    close_chain(&keep);
    return calls;
}

static void test_transient_chain_same_values_once_each(void **state) {
    (void)state;
    float *want = malloc(BYTES), *got = malloc(BYTES);
    chain keep;
    open_chain(&keep, 1 << 20, 0, 0, 0, 1);
    size_t peak_keep = read_top(&keep, want);
    long calls_keep = windows(&keep);
    close_chain(&keep);

    chain c;
    open_chain(&c, 1 << 20, 0, IT_TENSOR_TRANSIENT, 0, 1);
    size_t peak = read_top(&c, got);
    assert_memory_equal(got, want, BYTES);
    /* every window once, as without the flag */
    assert_int_equal(windows(&c), calls_keep);
    /* nothing of the intermediates is left; the result is stored */
    assert_int_equal(stored_chunks(c.base), 0);
    assert_int_equal(stored_chunks(c.mid), 0);
    assert_int_equal(stored_chunks(c.top), 17 * 17); /* chunks -4..12 */
    print_message("peak library allocation: %zu KiB kept, %zu KiB transient\n", peak_keep >> 10,
                  peak >> 10);
    assert_true(peak * 2 < peak_keep);
    /* A later read of stored results computes nothing; of intermediates, computes again. */
    long calls = windows(&c);
    read_top(&c, got);
    assert_int_equal(windows(&c), calls);
    assert_memory_equal(got, want, BYTES);
    it_region r = region2(0, 64, 0, 64);
    float small[64 * 64];
    assert_int_equal(it_tensor_read(c.mid, &r, small, sizeof small), 0);
    assert_true(windows(&c) > calls);
    assert_int_equal(stored_chunks(c.mid), 0);
    close_chain(&c);
    free(want);
    free(got);
}

static void test_transient_root_and_threads(void **state) {
    (void)state;
    float *want = malloc(BYTES), *got = malloc(BYTES);
    long calls_keep = read_top_kept(want);
    /* the whole pipeline transient, two threads, a larger budget (bigger blocks) */
    chain c;
    open_chain(&c, 1 << 20, 0, IT_TENSOR_TRANSIENT, IT_TENSOR_TRANSIENT, 2);
    read_top(&c, got);
    assert_memory_equal(got, want, BYTES);
    assert_int_equal(windows(&c), calls_keep);
    assert_int_equal(it_store_memory_bytes(c.store), 0);
    /* a fill of a transient tensor computes and keeps nothing */
    it_region r = region2(0, 64, 0, 64);
    assert_int_equal(it_tensor_fill(c.top, &r), 0);
    assert_int_equal(it_store_memory_bytes(c.store), 0);
    close_chain(&c);
    free(want);
    free(got);
}

/* ---- any region within the budget: strips ---------------------------------------------------- */

/* Reads top over [0, n)^2 into buf; returns the peak of library allocations during it. */
static size_t read_square(chain *c, int64_t n, float *buf) {
    it_region r = region2(0, n, 0, n);
    size_t before, peak;
    it_memory_stats(&before, NULL);
    it_memory_reset_peak();
    assert_int_equal(it_tensor_read(c->top, &r, buf, (size_t)(n * n) * 4), 0);
    it_memory_stats(NULL, &peak);
    return peak - before;
}

static void test_transient_memory_bounded_for_any_region(void **state) {
    (void)state;
    const size_t budget = 1 << 20;
    const int64_t small = 512, large = 2048; /* 16 and 64 chunks wide */
    float *want = malloc((size_t)(large * large) * 4), *got = malloc((size_t)(large * large) * 4);
    chain keep;
    open_chain(&keep, 64 << 20, 0, 0, 0, 2);
    read_square(&keep, large, want);
    long calls_keep = windows(&keep);
    close_chain(&keep);

    chain c;
    open_chain(&c, budget, 0, IT_TENSOR_TRANSIENT, IT_TENSOR_TRANSIENT, 2);
    size_t peak_small = read_square(&c, small, got);
    close_chain(&c);
    open_chain(&c, budget, 0, IT_TENSOR_TRANSIENT, IT_TENSOR_TRANSIENT, 2);
    size_t peak_large = read_square(&c, large, got);
    long calls = windows(&c);
    assert_memory_equal(got, want, (size_t)(large * large) * 4);
    print_message("peak library allocation %zu KiB at %lld^2, %zu KiB at %lld^2 (budget %zu KiB); "
                  "windows %ld, %ld without strips\n", peak_small >> 10, (long long)small,
                  peak_large >> 10, (long long)large, budget >> 10, calls, calls_keep);
    /* 16 times the chunks, the same memory: halos kept across the region's width would take
     * ~4 chunks per column of it (64 KiB a row of chunks here, 4 MiB in all) */
    assert_true(peak_large <= budget);
    assert_true(peak_large < peak_small * 3 / 2);
    /* strips compute their halos again, and only those */
    assert_true(calls > calls_keep);
    assert_true(calls < calls_keep * 3 / 2);
    close_chain(&c);
    free(want);
    free(got);
}

static void test_transient_long_region_walks_along_its_length(void **state) {
    (void)state;
    /* 16 chunks high, 256 long: walked along its length, halos span its height: no strips,
     * no window twice, whichever dimension is the long one */
    const int64_t len = 8192, high = 512;
    float *want = malloc((size_t)(len * high) * 4), *got = malloc((size_t)(len * high) * 4);
    for (int long_dim = 0; long_dim < 2; long_dim++) {
        it_region r = long_dim ? region2(0, high, 0, len) : region2(0, len, 0, high);
        chain keep, c;
        open_chain(&keep, 64 << 20, 0, 0, 0, 2);
        assert_int_equal(it_tensor_read(keep.top, &r, want, (size_t)(len * high) * 4), 0);
        open_chain(&c, 8 << 20, 0, IT_TENSOR_TRANSIENT, IT_TENSOR_TRANSIENT, 2);
        size_t before, peak;
        it_memory_stats(&before, NULL);
        it_memory_reset_peak();
        assert_int_equal(it_tensor_read(c.top, &r, got, (size_t)(len * high) * 4), 0);
        it_memory_stats(NULL, &peak);
        assert_memory_equal(got, want, (size_t)(len * high) * 4);
        assert_int_equal(windows(&c), windows(&keep));
        assert_true(peak - before <= (8 << 20));
        close_chain(&keep);
        close_chain(&c);
    }
    free(want);
    free(got);
}

/* ---- a diamond: base feeds left and right, top adds them ---------------------------------- */

static int add2_fn(const it_window_batch *b, void *user) {
    golden_gen *g = user;
    size_t n = (size_t)(b->out_shape[0] * b->out_shape[1]);
    for (size_t k = 0; k < b->count; k++) {
        const float *l = b->arg[k * 2], *r = b->arg[k * 2 + 1];
        float *out = b->out[k];
        for (size_t i = 0; i < n; i++)
            out[i] = l[i] + 2 * r[i];
        atomic_fetch_add(&g->calls, 1);
    }
    return 0;
}

/* (inf, inf) f32 of golden_fn in windows of 32 = chunks. */
static void tile_desc(it_tensor_desc *d, golden_gen *gen) {
    int64_t w32[2] = {32, 32};
    it_tensor_desc_init(d, 2);
    d->shape[0] = d->shape[1] = IT_INF;
    it_window_init(&d->window, 2, w32);
    d->fn = golden_fn;
    d->user = gen;
}

/* Returns the windows computed to read the diamond's top over 256x256 into buf. */
static long read_diamond(unsigned flags, float *buf) {
    it_ctx_options co;
    it_ctx_options_init(&co);
    co.threads = 2;
    co.memory_budget = 2 << 20;
    it_ctx *ctx;
    it_store *store;
    assert_int_equal(it_ctx_create(&co, &ctx), 0);
    assert_int_equal(it_store_open_memory(ctx, NULL, &store), 0);
    golden_gen gen = {0};
    it_tensor_desc d;
    tile_desc(&d, &gen);
    d.flags = flags;
    it_tensor *base, *side[2], *top;
    assert_int_equal(it_tensor_create(store, &d, &base), 0);
    it_window aw[2];
    box3_desc(&d, &base, &aw[0], &gen); /* every window counts in gen */
    d.flags = flags;
    assert_int_equal(it_tensor_create(store, &d, &side[0]), 0);
    /* the right side reads base shifted by a whole chunk: other blocks' chunks */
    aw[1] = aw[0];
    aw[1].offset[0] = 31;
    d.arg_windows = &aw[1];
    assert_int_equal(it_tensor_create(store, &d, &side[1]), 0);
    it_window_init(&aw[0], 2, d.window.size);
    aw[1] = aw[0];
    d.fn = add2_fn;
    d.n_args = 2;
    d.args = side;
    d.arg_windows = aw;
    d.flags = 0;
    assert_int_equal(it_tensor_create(store, &d, &top), 0);
    it_region r = region2(0, 256, 0, 256);
    assert_int_equal(it_tensor_read(top, &r, buf, 256 * 256 * 4), 0);
    if (flags)
        assert_int_equal(stored_chunks(base) + stored_chunks(side[0]) + stored_chunks(side[1]), 0);
    assert_int_equal(it_store_close(store), 0);
    it_ctx_destroy(ctx);
    return atomic_load(&gen.calls);
}

static void test_transient_diamond(void **state) {
    (void)state;
    float *want = malloc(256 * 256 * 4), *got = malloc(256 * 256 * 4);
    long kept = read_diamond(0, want);
    long transient = read_diamond(IT_TENSOR_TRANSIENT, got);
    assert_memory_equal(got, want, 256 * 256 * 4);
    assert_int_equal(transient, kept);
    free(want);
    free(got);
}

/* ---- memory stores with a limit: results outlive intermediates ---------------------------- */

static void test_limited_store_evicts_intermediates_first(void **state) {
    (void)state;
    float *buf = malloc(BYTES);
    chain c;
    /* room for the 289 result chunks and the ~80 intermediates a block range needs, not for
     * the ~800 intermediates computed in all */
    open_chain(&c, 256 << 10, 400 * 32 * 32 * 4, 0, 0, 1);
    read_top(&c, buf);
    assert_int_equal(stored_chunks(c.top), 17 * 17); /* chunks -4..12 */
    long calls = windows(&c);
    read_top(&c, buf);
    assert_int_equal(windows(&c), calls); /* every result chunk survived */
    close_chain(&c);
    free(buf);
}

static void test_limited_store_keeps_what_later_blocks_read(void **state) {
    (void)state;
    float *want = malloc(BYTES), *got = malloc(BYTES);
    long calls_roomy = read_top_kept(want);
    /* room for 16 chunks: far fewer than the intermediates' halos between rows of blocks (~4
     * chunks a column, 17 columns). The plan pins what later blocks read, so none is evicted
     * and computed again; the limit holds again once the read is over. */
    chain c;
    open_chain(&c, 1 << 20, 16 * 32 * 32 * 4, 0, 0, 2);
    read_top(&c, got);
    assert_memory_equal(got, want, BYTES);
    assert_int_equal(windows(&c), calls_roomy);
    assert_true(it_store_memory_bytes(c.store) <= 16 * 32 * 32 * 4);
    close_chain(&c);
    free(want);
    free(got);
}

/* ---- persistent stores ------------------------------------------------------------------- */

static int count_ids(const char *id, void *user) {
    (void)id;
    ++*(long *)user;
    return 0;
}

static void test_transient_with_hdf5(void **state) {
    (void)state;
    char path[64];
    snprintf(path, sizeof path, "/tmp/it-transient-%d.h5", (int)getpid());
    unlink(path);
    it_ctx *ctx;
    assert_int_equal(it_ctx_create(NULL, &ctx), 0);
    it_store *file, *mem;
    assert_int_equal(it_store_open_hdf5(ctx, path, IT_HDF5_CREATE, NULL, &file), 0);
    assert_int_equal(it_store_open_memory(ctx, NULL, &mem), 0);
    golden_gen gen = {0};
    it_tensor_desc d;
    tile_desc(&d, &gen);
    d.flags = IT_TENSOR_TRANSIENT;
    d.id = "base";
    it_tensor *base, *top;
    assert_int_equal(it_tensor_create(file, &d, &base), IT_EINVAL);
    assert_non_null(strstr(it_last_error(), "IT_TENSOR_TRANSIENT"));
    long listed = 0;
    assert_int_equal(it_store_list(file, count_ids, &listed), 0);
    assert_int_equal(listed, 0); /* the refused tensor left no record */
    /* transient intermediates in memory feed a stored result */
    assert_int_equal(it_tensor_create(mem, &d, &base), 0);
    it_window aw;
    box3_desc(&d, &base, &aw, NULL);
    d.id = "top";
    assert_int_equal(it_tensor_create(file, &d, &top), 0);
    it_region r = region2(-64, 128, 0, 96);
    assert_int_equal(it_tensor_fill(top, &r), 0);
    assert_int_equal(it_store_memory_bytes(mem), 0);
    float want[192 * 96], got[192 * 96];
    assert_int_equal(it_tensor_read(top, &r, want, sizeof want), 0);
    assert_int_equal(it_store_close(file), 0);
    assert_int_equal(it_store_close(mem), 0);
    /* what the file holds, read without any function */
    assert_int_equal(it_store_open_hdf5(ctx, path, IT_HDF5_READONLY, NULL, &file), 0);
    assert_int_equal(it_tensor_open(file, "top", 0, &top), 0);
    assert_int_equal(it_tensor_read(top, &r, got, sizeof got), 0);
    assert_memory_equal(got, want, sizeof got);
    assert_int_equal(it_store_close(file), 0);
    it_ctx_destroy(ctx);
    unlink(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transient_chain_same_values_once_each),
        cmocka_unit_test(test_transient_root_and_threads),
        cmocka_unit_test(test_transient_diamond),
        cmocka_unit_test(test_transient_memory_bounded_for_any_region),
        cmocka_unit_test(test_transient_long_region_walks_along_its_length),
        cmocka_unit_test(test_limited_store_evicts_intermediates_first),
        cmocka_unit_test(test_limited_store_keeps_what_later_blocks_read),
        cmocka_unit_test(test_transient_with_hdf5),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
