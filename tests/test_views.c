/* Chunk iterators (views.h): the views of a region's chunks give back exactly what a read of
 * the region gives, block by block, without an output buffer; close works at any point; errors
 * are reported, not hit. */
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

static char path[256];

static int setup(void **state) {
    (void)state;
    temp_store_path(path, sizeof path, "views", (long)getpid());
    unlink(path);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    unlink(path);
    return 0;
}

/* Copies the region part of every view into out (region [y0, y0+h) x [x0, x0+w)); returns the
 * number of views, checking each one's geometry. */
static size_t assemble(it_chunk_views *it, int64_t y0, int64_t x0, int64_t h, int64_t w,
                       float *out, size_t *blocks) {
    const it_chunk_view *v;
    size_t n, total = 0;
    int rc;
    *blocks = 0;
    while ((rc = it_chunk_views_next(it, &v, &n)) == 1) {
        (*blocks)++;
        for (size_t i = 0; i < n; i++, total++) {
            assert_int_equal(v[i].rank, 2);
            assert_int_equal(v[i].strides[1], (int64_t)sizeof(float));
            assert_int_equal(v[i].strides[0], v[i].shape[1] * (int64_t)sizeof(float));
            for (int64_t y = v[i].first[0]; y < v[i].last[0]; y++)
                for (int64_t x = v[i].first[1]; x < v[i].last[1]; x++) {
                    const char *p = (const char *)v[i].data + (y - v[i].start[0]) * v[i].strides[0] +
                                    (x - v[i].start[1]) * v[i].strides[1];
                    memcpy(&out[(y - y0) * w + (x - x0)], p, sizeof(float));
                }
        }
    }
    assert_int_equal(rc, 0);
    (void)h;
    return total;
}

static void check_region(it_tensor *t, int64_t y0, int64_t x0, int64_t h, int64_t w,
                         size_t budget) {
    float *want = malloc((size_t)(h * w) * sizeof *want), *got = calloc((size_t)(h * w), sizeof *got);
    it_region r = region2(y0, y0 + h, x0, x0 + w);
    it_chunk_views *it;
    assert_int_equal(it_chunk_views_open(t, &r, budget, &it), 0);
    size_t blocks;
    size_t views = assemble(it, y0, x0, h, w, got, &blocks);
    it_chunk_views_close(it);
    assert_int_equal(it_tensor_read(t, &r, want, (size_t)(h * w) * sizeof *want), 0);
    assert_memory_equal(got, want, (size_t)(h * w) * sizeof *got);
    it_tensor_info info;
    it_tensor_get_info(t, &info);
    print_message("region %lldx%lld: %zu chunk views in %zu blocks\n", (long long)h, (long long)w,
                  views, blocks);
    free(want);
    free(got);
}

/* Context, store (HDF5 at path with ho, or memory when ho is NULL) and tensor "overlap", the
 * tests' overlapping golden tensor counting its windows in gen. */
static it_tensor *open_overlap(const it_ctx_options *co, const it_hdf5_options *ho,
                               golden_gen *gen, it_ctx **ctx, it_store **s) {
    it_tensor_desc d;
    golden_overlap_desc(&d, gen);
    d.id = "overlap";
    it_tensor *t;
    assert_int_equal(it_ctx_create(co, ctx), 0);
    assert_int_equal(ho ? it_store_open_hdf5(*ctx, path, IT_HDF5_CREATE, ho, s)
                        : it_store_open_memory(*ctx, NULL, s), 0);
    assert_int_equal(it_tensor_create(*s, &d, &t), 0);
    return t;
}

static void test_views_match_reads(void **state) {
    (void)state;
    it_ctx *ctx;
    it_store *s;
    it_tensor *t;
    golden_gen gen = {0};
    t = open_overlap(NULL, NULL, &gen, &ctx, &s);
    check_region(t, -37, 11, 130, 77, 0);            /* partial chunks at every edge */
    check_region(t, -37, 11, 130, 77, 16 << 10);     /* small blocks */
    long calls = atomic_load(&gen.calls);
    check_region(t, -37, 11, 130, 77, 0);            /* stored: nothing computed again */
    assert_int_equal(atomic_load(&gen.calls), calls);
    it_store_close(s);
    it_ctx_destroy(ctx);
}

/* An HDF5 store with a small cache: a region far larger than the cache is viewed block by
 * block; the library's memory stays far below the region's size. */
static void test_views_of_a_large_stored_region(void **state) {
    (void)state;
    it_ctx *ctx;
    it_store *s;
    it_tensor *t;
    golden_gen gen = {0};
    it_hdf5_options o;
    it_hdf5_options_init(&o);
    o.cache_bytes = 1 << 20;
    it_ctx_options co;
    it_ctx_options_init(&co);
    co.memory_budget = 2 << 20;
    t = open_overlap(&co, &o, &gen, &ctx, &s);
    enum { H = 2048, W = 2048 };
    it_region r = region2(0, H, 0, W);
    assert_int_equal(it_tensor_fill(t, &r), 0);
    size_t before, peak;
    it_memory_stats(&before, NULL);
    it_chunk_views *it;
    assert_int_equal(it_chunk_views_open(t, &r, 0, &it), 0);
    const it_chunk_view *v;
    size_t n, views = 0;
    double sum = 0;
    int rc;
    while ((rc = it_chunk_views_next(it, &v, &n)) == 1)
        for (size_t i = 0; i < n; i++, views++)
            for (int64_t y = v[i].first[0]; y < v[i].last[0]; y++)
                for (int64_t x = v[i].first[1]; x < v[i].last[1]; x++)
                    sum += *(const float *)((const char *)v[i].data +
                                            (y - v[i].start[0]) * v[i].strides[0] +
                                            (x - v[i].start[1]) * v[i].strides[1]);
    assert_int_equal(rc, 0);
    it_chunk_views_close(it);
    it_memory_stats(NULL, &peak);
    float *buf = malloc((size_t)H * W * sizeof *buf);
    assert_int_equal(it_tensor_read(t, &r, buf, (size_t)H * W * sizeof *buf), 0);
    double want = 0;
    for (size_t i = 0; i < (size_t)H * W; i++)
        want += buf[i];
    assert_true(sum == want);
    assert_true(peak < (size_t)H * W * sizeof(float) / 4); /* no buffer of the region's size */
    print_message("%zu views, library memory peak %.1f MiB for a %.1f MiB region\n", views,
                  (double)peak / 1048576, (double)H * W * 4 / 1048576);
    free(buf);
    it_store_close(s);
    it_ctx_destroy(ctx);
}

static void test_closing_early_and_errors(void **state) {
    (void)state;
    it_ctx *ctx;
    it_store *s;
    it_tensor *t, *opened;
    golden_gen gen = {0};
    it_hdf5_options o;
    it_hdf5_options_init(&o);
    t = open_overlap(NULL, &o, &gen, &ctx, &s);
    it_region r = region2(0, 256, 0, 256);
    it_chunk_views *it;
    const it_chunk_view *v;
    size_t n;
    assert_int_equal(it_chunk_views_open(t, &r, 16 << 10, &it), 0);
    assert_int_equal(it_chunk_views_next(it, &v, &n), 1);
    it_chunk_views_close(it); /* before the end: the walk stops, nothing leaks */
    assert_int_equal(it_chunk_views_open(t, &r, 0, &it), 0);
    it_chunk_views_close(it); /* before the first block */
    it_chunk_views_close(NULL);
    it_region stepped = r;
    stepped.step[1] = 2;
    assert_int_equal(it_chunk_views_open(t, &stepped, 0, &it), IT_EINVAL);
    assert_non_null(strstr(it_last_error(), "steps must be 1"));
    assert_int_equal(it_chunk_views_open(NULL, &r, 0, &it), IT_EINVAL);
    assert_int_equal(it_chunk_views_next(NULL, &v, &n), IT_EINVAL);
    it_region empty = region2(5, 5, 0, 10);
    assert_int_equal(it_chunk_views_open(t, &empty, 0, &it), 0);
    assert_int_equal(it_chunk_views_next(it, &v, &n), 0);
    it_chunk_views_close(it);
    it_tensor_release(t);
    /* a stored tensor without its function: missing chunks reported, or views of blend_init */
    if (it_tensor_open(s, "overlap", 0, &opened))
        fail_msg("%s", it_last_error());
    it_region far = region2(4096, 4160, 0, 64);
    assert_int_equal(it_chunk_views_open(opened, &far, 0, &it), 0);
    assert_int_equal(it_chunk_views_next(it, &v, &n), IT_ENOTCOMPUTED);
    it_chunk_views_close(it);
    it_tensor_release(opened);
    assert_int_equal(it_tensor_open(s, "overlap", IT_OPEN_FILL_MISSING, &opened), 0);
    assert_int_equal(it_chunk_views_open(opened, &far, 0, &it), 0);
    assert_int_equal(it_chunk_views_next(it, &v, &n), 1);
    assert_int_equal(v[0].computed, 0);
    assert_true(*(const float *)v[0].data == 0);
    it_chunk_views_close(it);
    it_tensor_release(opened);
    it_store_close(s);
    it_ctx_destroy(ctx);
}

/* A pinned view outlives its block, the iteration and the cache's turnover. */
static void test_pins_keep_a_chunk(void **state) {
    (void)state;
    it_ctx *ctx;
    it_store *s;
    it_tensor *t;
    golden_gen gen = {0};
    it_hdf5_options o;
    it_hdf5_options_init(&o);
    o.cache_bytes = 64 << 10; /* a few chunks: the rest of the walk evicts what is not pinned */
    t = open_overlap(NULL, &o, &gen, &ctx, &s);
    it_region r = region2(0, 512, 0, 512);
    it_chunk_views *it;
    const it_chunk_view *v;
    size_t n;
    assert_int_equal(it_chunk_views_open(t, &r, 16 << 10, &it), 0);
    assert_int_equal(it_chunk_views_next(it, &v, &n), 1);
    it_chunk_view kept = v[0];
    size_t bytes = (size_t)(kept.shape[0] * kept.shape[1]) * sizeof(float);
    float *copy = malloc(bytes);
    memcpy(copy, kept.data, bytes);
    it_chunk_pin *pin;
    assert_int_equal(it_chunk_pin_take(t, &kept, &pin), 0);
    while (it_chunk_views_next(it, &v, &n) == 1) {
    }
    assert_int_equal(it_store_close(s), IT_EINVAL); /* an iterator and a pin are open */
    assert_non_null(strstr(it_last_error(), "close and release them first"));
    it_chunk_views_close(it);
    assert_int_equal(it_store_delete_tensor(s, "overlap"), IT_EINVAL); /* the pin */
    assert_memory_equal(kept.data, copy, bytes);
    it_chunk_pin_release(pin);
    assert_int_equal(it_chunk_pin_take(NULL, &kept, &pin), IT_EINVAL);
    free(copy);
    it_store_close(s);
    it_ctx_destroy(ctx);
}

/* A read-only store opened with map: uncompressed chunks straight from the file's mapping,
 * the same values as a copying read; a damaged chunk is refused (its checksum); writers wait
 * while it is open. */
static void test_mapped_chunks(void **state) {
    (void)state;
    it_ctx *ctx;
    it_store *s, *mapped, *other;
    it_tensor *t;
    golden_gen gen = {0};
    it_hdf5_options o;
    it_hdf5_options_init(&o);
    o.compression = IT_COMPRESSION_NONE;
    t = open_overlap(NULL, &o, &gen, &ctx, &s);
    it_region r = region2(0, 96, 0, 96);
    float want[96 * 96], got[96 * 96];
    assert_int_equal(it_tensor_read(t, &r, want, sizeof want), 0);
    assert_int_equal(it_store_close(s), 0);
    it_hdf5_options m;
    it_hdf5_options_init(&m);
    m.map = 1;
    assert_int_equal(it_store_open_hdf5(ctx, path, IT_HDF5_READWRITE, &m, &other), IT_EINVAL);
    assert_int_equal(it_store_open_hdf5(ctx, path, IT_HDF5_READONLY, &m, &mapped), 0);
    assert_int_equal(it_tensor_open(mapped, "overlap", 0, &t), 0);
    check_region(t, 0, 0, 96, 96, 0);
    assert_int_equal(it_tensor_read(t, &r, got, sizeof got), 0);
    assert_memory_equal(got, want, sizeof got);
    it_chunk_views *it;
    const it_chunk_view *v;
    size_t n;
    assert_int_equal(it_chunk_views_open(t, &r, 0, &it), 0);
    assert_int_equal(it_chunk_views_next(it, &v, &n), 1);
    it_chunk_views_close(it);
    it_tensor_release(t);
    assert_int_equal(it_store_close(mapped), 0);
    /* one byte of a chunk flipped in the file: the mapped view is refused, as a read is */
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    long at = 0;
    /* a chunk's bytes, found by value: pixels (40, 40..43) lie in one row of one chunk */
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    unsigned char *file = malloc((size_t)size);
    fseek(f, 0, SEEK_SET);
    assert_int_equal(fread(file, 1, (size_t)size, f), (size_t)size);
    for (long i = 0; i + (long)sizeof want[0] * 4 <= size && !at; i++)
        if (memcmp(file + i, &want[40 * 96 + 40], sizeof want[0] * 4) == 0)
            at = i;
    assert_true(at > 0);
    fseek(f, at, SEEK_SET);
    fputc(file[at] ^ 0x55, f);
    fclose(f);
    free(file);
    assert_int_equal(it_store_open_hdf5(ctx, path, IT_HDF5_READONLY, &m, &mapped), 0);
    assert_int_equal(it_tensor_open(mapped, "overlap", 0, &t), 0);
    assert_int_equal(it_chunk_views_open(t, &r, 0, &it), 0);
    int rc;
    while ((rc = it_chunk_views_next(it, &v, &n)) == 1) {
    }
    assert_int_equal(rc, IT_EFORMAT);
    assert_non_null(strstr(it_last_error(), "checksum"));
    it_chunk_views_close(it);
    assert_int_equal(it_store_open_hdf5(ctx, path, IT_HDF5_READWRITE, NULL, &other), IT_ELOCKED);
    it_tensor_release(t);
    it_store_close(mapped);
    it_ctx_destroy(ctx);
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_views_match_reads),
        T(test_views_of_a_large_stored_region),
        T(test_closing_early_and_errors),
        T(test_pins_keep_a_chunk),
        T(test_mapped_chunks),
    };
    return cmocka_run_group_tests_name("chunk views", tests, NULL, NULL);
}
