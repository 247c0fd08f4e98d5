/* Shared helpers of the test suite: generator functions, counting and tensor set-up. */
#ifndef IT_TEST_UTIL_H
#define IT_TEST_UTIL_H

#include <stdatomic.h>
#include <stdint.h>

#include "infinite_tensor.h"

/* Generator of the golden cases:
 *   v(w, p) = ((sum_k A[k]*w[k] + sum_d B[d]*p[d]) mod 97) - 48  */
typedef struct golden_gen {
    atomic_long calls;          /* windows computed */
    int fail_at;                /* return this code from the call whose first window... */
    int64_t fail_window[IT_MAX_RANK]; /* ...has this index (fail_at != 0) */
    double scale;               /* multiplies values (1 if 0); non-integers for determinism */
} golden_gen;

int golden_fn(const it_window_batch *b, void *user);

/* Golden chain link: 3x3 box sum over the last two dimensions of the single argument. */
int box3_fn(const it_window_batch *b, void *user);

/* The tests' standard chain. golden_overlap_desc: (inf, inf) f32 of golden_fn (counting in
 * gen) in windows 16 stride 12, so overlapping windows are blended, chunks 32. box3_desc: the
 * 3x3 box sums (box3_fn, counting in gen when set) of the 2-D tensor *arg through padded
 * windows of 34 stepping 32 with one pixel of halo (set in *aw), windows = chunks = 32. The
 * descriptors point to arg and aw, which must outlive it_tensor_create. */
void golden_overlap_desc(it_tensor_desc *d, golden_gen *gen);
void box3_desc(it_tensor_desc *d, it_tensor **arg, it_window *aw, golden_gen *gen);
/* The interoperability stores' "g2" (tests/interop_write.c, tests/data/hdf5): (inf, inf) f32 of
 * golden_fn (counting in gen when set) in windows = chunks of 8, fn_tag "golden". */
void golden_g2_desc(it_tensor_desc *d, golden_gen *gen);

/* A context (threads, memory budget) with a memory store (cache byte limit); 0 = defaults.
 * Returns 0 or the failing call's status. */
typedef struct test_env {
    it_ctx *ctx;
    it_store *store;
} test_env;
int test_env_open(test_env *e, int threads, size_t budget, size_t cache);
void test_env_close(test_env *e);

/* Writes value v as element i of a buffer of dtype t. */
void test_store_value(it_dtype t, void *buf, size_t i, double v);

/* "$TMPDIR/it-<stem>-<pid>.h5" (/tmp without TMPDIR) into buf: a store of one test process. */
void temp_store_path(char *buf, size_t size, const char *stem, long pid);

/* Region [a0, b0) x [a1, b1). */
it_region region2(int64_t a0, int64_t b0, int64_t a1, int64_t b1);

#endif
