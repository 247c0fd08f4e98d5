/* Window geometry and regions: intersecting ranges (negative coordinates, offsets, strides,
 * fixed dimensions), bounds, validation and overflow. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "test_util.h"

/* Brute force: windows w in [-50, 50) whose box [w*s+o, w*s+o+n) meets [a, b). */
static void brute(int64_t n, int64_t s, int64_t o, int64_t a, int64_t b, int64_t *lo,
                  int64_t *hi) {
    *lo = INT64_MAX, *hi = INT64_MIN;
    for (int64_t w = -50; w < 50; w++) {
        int64_t x0 = w * s + o, x1 = x0 + n;
        if (x0 < b && x1 > a) {
            if (w < *lo)
                *lo = w;
            if (w > *hi)
                *hi = w;
        }
    }
}

static void test_range_matches_brute_force(void **state) {
    (void)state;
    for (int64_t n = 1; n <= 7; n++)
        for (int64_t s = 1; s <= 9; s++)
            for (int64_t o = -6; o <= 6; o++)
                for (int64_t a = -20; a <= 20; a += 3)
                    for (int64_t len = 1; len <= 11; len += 5) {
                        it_window w;
                        assert_int_equal(it_window_init(&w, 1, &n), 0);
                        w.stride[0] = s;
                        w.offset[0] = o;
                        int64_t b = a + len, lo, hi, blo, bhi;
                        int r = it_window_range(&w, &a, &b, &lo, &hi);
                        brute(n, s, o, a, b, &blo, &bhi);
                        if (blo > bhi) {
                            assert_int_equal(r, 0);
                        } else {
                            assert_int_equal(r, 1);
                            assert_int_equal(lo, blo);
                            assert_int_equal(hi, bhi);
                        }
                    }
}

static void test_bounds_negative_and_map(void **state) {
    (void)state;
    int64_t size[3] = {1, 8, 4};
    it_window w;
    assert_int_equal(it_window_init(&w, 3, size), 0);
    w.map[0] = IT_MAP_FIXED;
    w.map[1] = 2; /* transposed window index */
    w.map[2] = 1;
    w.stride[1] = 5;
    w.offset[2] = -3;
    int64_t idx[3] = {9, -2, 3}, start[3], stop[3];
    assert_int_equal(it_window_bounds(&w, idx, 3, start, stop), 0);
    assert_int_equal(start[0], 0);
    assert_int_equal(stop[0], 1);
    assert_int_equal(start[1], 15); /* idx[2]*5 */
    assert_int_equal(stop[1], 23);
    assert_int_equal(start[2], -11); /* idx[1]*4 - 3 */
    assert_int_equal(stop[2], -7);
    /* Range through the map: the box of window (., -2, 3) is found again. */
    int64_t lo[3], hi[3];
    assert_int_equal(it_window_range(&w, start, stop, lo, hi), 1);
    assert_int_equal(lo[0], 0);
    assert_int_equal(hi[0], 0); /* unreferenced window dimension: fixed at 0 */
    assert_true(lo[1] <= -2 && hi[1] >= -2);
    assert_true(lo[2] <= 3 && hi[2] >= 3);
    /* A box missing [0, 1) of the fixed dimension meets no window. */
    int64_t s2[3] = {1, 15, -11}, e2[3] = {2, 23, -7};
    assert_int_equal(it_window_range(&w, s2, e2, lo, hi), 0);
}

static void test_window_validation(void **state) {
    (void)state;
    int64_t size[2] = {4, 4}, idx[2] = {0, 0}, s[2], e[2];
    it_window w;
    assert_int_equal(it_window_init(NULL, 2, size), IT_EINVAL);
    assert_int_equal(it_window_init(&w, 0, size), IT_EINVAL);
    assert_int_equal(it_window_init(&w, IT_MAX_RANK + 1, size), IT_EINVAL);
    assert_int_equal(it_window_init(&w, 2, NULL), IT_EINVAL);
    assert_int_equal(it_window_init(&w, 2, size), 0);
    w.size[1] = 0;
    assert_int_equal(it_window_bounds(&w, idx, 2, s, e), IT_EINVAL);
    assert_non_null(strstr(it_last_error(), "size[1]"));
    w.size[1] = 4;
    w.stride[0] = -1;
    assert_int_equal(it_window_bounds(&w, idx, 2, s, e), IT_EINVAL);
    assert_non_null(strstr(it_last_error(), "stride[0]"));
    w.stride[0] = 0; /* 0 means = size */
    assert_int_equal(it_window_bounds(&w, idx, 2, s, e), 0);
    w.map[1] = 2;
    assert_int_equal(it_window_bounds(&w, idx, 2, s, e), IT_EINVAL);
    assert_non_null(strstr(it_last_error(), "map[1]"));
    w.map[1] = IT_MAP_FIXED; /* size 4 on a fixed dimension */
    assert_int_equal(it_window_bounds(&w, idx, 2, s, e), IT_EINVAL);
}

static void test_window_overflow(void **state) {
    (void)state;
    int64_t size = 16, idx = INT64_MAX / 4, s, e;
    it_window w;
    it_window_init(&w, 1, &size);
    assert_int_equal(it_window_bounds(&w, &idx, 1, &s, &e), IT_ERANGE);
    /* Extreme boxes do not overflow the range computation. */
    int64_t a = INT64_MIN, b = INT64_MAX, lo, hi;
    assert_int_equal(it_window_range(&w, &a, &b, &lo, &hi), 1);
    assert_true(lo < -(INT64_MAX / 32) && hi > INT64_MAX / 32);
}

static void test_region_counts(void **state) {
    (void)state;
    it_region r;
    int64_t start[3] = {-20, 5, 0}, stop[3] = {20, 5, 9}, step[3] = {3, 1, 4};
    assert_int_equal(it_region_set(&r, 3, start, stop, step), 0);
    assert_int_equal(it_region_extent(&r, 0), 14); /* ceil(40 / 3) */
    assert_int_equal(it_region_extent(&r, 1), 0);
    assert_int_equal(it_region_extent(&r, 2), 3);
    size_t n = 99;
    assert_int_equal(it_region_count(&r, &n), 0);
    assert_int_equal(n, 0);
    r.stop[1] = 6;
    assert_int_equal(it_region_count(&r, &n), 0);
    assert_int_equal(n, 42);
    /* element count overflowing size_t */
    int64_t big0[3] = {INT64_MIN, INT64_MIN, INT64_MIN}, big1[3] = {INT64_MAX, INT64_MAX, INT64_MAX};
    assert_int_equal(it_region_set(&r, 3, big0, big1, NULL), 0);
    assert_int_equal(it_region_count(&r, &n), IT_EOVERFLOW);
    r.step[0] = -1;
    assert_int_equal(it_region_count(&r, &n), IT_EINVAL);
    assert_int_equal(it_region_init(&r, 0), IT_EINVAL);
    assert_int_equal(it_region_count(NULL, &n), IT_EINVAL);
}

static void test_dtype_names(void **state) {
    (void)state;
    for (int t = 0; t < IT_DTYPE_COUNT; t++) {
        it_dtype back;
        assert_int_equal(it_dtype_parse(it_dtype_name((it_dtype)t), &back), 0);
        assert_int_equal(back, t);
        assert_true(it_dtype_size((it_dtype)t) > 0);
        unsigned char buf[3 * 8];
        test_store_value((it_dtype)t, buf, 2, 100);
        assert_true(it_dtype_load((it_dtype)t, buf, 2) == 100.0);
    }
    it_dtype x;
    assert_int_equal(it_dtype_parse("f16", &x), IT_EINVAL);
    assert_null(it_dtype_name(IT_DTYPE_COUNT));
    assert_int_equal(it_dtype_size(IT_DTYPE_COUNT), 0);
}

static void test_region_parse(void **state) {
    (void)state;
    int64_t shape[3] = {3, IT_INF, IT_INF};
    it_region r;
    assert_int_equal(it_region_parse("0:3, -512:512 ,0:1024:2", 3, shape, &r), 0);
    assert_int_equal(r.start[1], -512);
    assert_int_equal(r.stop[2], 1024);
    assert_int_equal(r.step[2], 2);
    assert_int_equal(it_region_parse(":,5,-7:-3", 3, shape, &r), 0);
    assert_int_equal(r.stop[0], 3);
    assert_int_equal(r.start[1], 5);
    assert_int_equal(r.stop[1], 6);
    assert_int_equal(it_region_parse("::2,0:1,0:1", 3, shape, &r), 0);
    assert_int_equal(r.step[0], 2);
    const char *bad[] = {"", "0:3", "0:3,0:1,0:1,0:1", "0:3,:,0:1", "0:3,0:1:0,0:1", "a,0:1,0:1",
                         "0:3,0:1,0:1,", "0:3;0:1;0:1", "0:3,0:1,0:1:2:3",
                         "0:3,0:99999999999999999999,0:1", "0:3,9223372036854775807,0:1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = it_region_parse(bad[i], 3, shape, &r);
        if (rc != IT_EINVAL && rc != IT_ERANGE)
            fail_msg("\"%s\" parsed (%d)", bad[i], rc);
    }
    assert_int_equal(it_region_parse(NULL, 3, shape, &r), IT_EINVAL);
}

/* Random text never crashes the parser, and whatever it accepts is a valid region. */
static void test_region_parse_random(void **state) {
    (void)state;
    static const char alphabet[] = "0123456789--::,, +x9";
    uint64_t seed = 0x9E3779B97F4A7C15ULL;
    char text[48];
    int accepted = 0;
    for (int iter = 0; iter < 200000; iter++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        int len = (int)(seed >> 59) + (int)((seed >> 40) & 15);
        for (int i = 0; i < len && i < 47; i++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            text[i] = alphabet[(seed >> 33) % (sizeof alphabet - 1)];
        }
        text[len < 47 ? len : 47] = 0;
        int rank = 1 + (int)((seed >> 20) % 4);
        int64_t shape[4] = {(int64_t)(seed >> 8) % 7 - 1, IT_INF, 5, IT_INF};
        if (shape[0] == 0)
            shape[0] = IT_INF;
        it_region r;
        int rc = it_region_parse(text, rank, shape, &r);
        if (rc == 0) {
            size_t n;
            accepted++;
            assert_int_equal(r.rank, rank);
            for (int d = 0; d < rank; d++)
                assert_true(r.step[d] >= 1);
            int crc = it_region_count(&r, &n);
            assert_true(crc == 0 || crc == IT_EOVERFLOW);
        } else {
            assert_true(rc == IT_EINVAL || rc == IT_ERANGE);
        }
    }
    print_message("%d of 200000 random texts parsed as regions\n", accepted);
    assert_true(accepted > 100); /* the accepting path is exercised too */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_range_matches_brute_force),
        cmocka_unit_test(test_bounds_negative_and_map),
        cmocka_unit_test(test_window_validation),
        cmocka_unit_test(test_window_overflow),
        cmocka_unit_test(test_region_counts),
        cmocka_unit_test(test_dtype_names),
        cmocka_unit_test(test_region_parse),
        cmocka_unit_test(test_region_parse_random),
    };
    return cmocka_run_group_tests_name("window", tests, NULL, NULL);
}
