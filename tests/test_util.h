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

/* Writes value v as element i of a buffer of dtype t. */
void test_store_value(it_dtype t, void *buf, size_t i, double v);

/* Region [a0, b0) x [a1, b1). */
it_region region2(int64_t a0, int64_t b0, int64_t a1, int64_t b1);

#endif
