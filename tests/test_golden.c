/* Every case of tests/data/golden.h5 (outputs of the original Python library) must match
 * element for element, with 1 and 2 threads, with and without batching, with default and small
 * chunks, and with memory limits small enough to force blocks and LRU eviction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <hdf5.h>

#include "test_util.h"

#ifndef IT_TEST_DATA
#define IT_TEST_DATA "tests/data"
#endif

typedef struct golden_case {
    char name[64];
    int rank;
    int64_t shape[IT_MAX_RANK];
    it_dtype dtype;
    it_window window;
    it_blend blend;
    double blend_init;
    size_t batch;
    it_region region;
    int chain;
    it_window chain_out[4], chain_arg[4];
    void *expected;
    size_t count;
} golden_case;

static hid_t file;

/* The loader runs before cmocka's tests start, so it cannot use cmocka's assertions. */
#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "golden.h5: check failed at line %d: %s\n", __LINE__, #cond); \
            exit(1);                                                                   \
        }                                                                              \
    } while (0)
static golden_case cases[64];
static int ncases;

static void read_i64(hid_t g, const char *name, int64_t *out) {
    hid_t a = H5Aopen(g, name, H5P_DEFAULT);
    CHECK(a >= 0);
    CHECK(H5Aread(a, H5T_NATIVE_INT64, out) >= 0);
    H5Aclose(a);
}

static void read_str(hid_t g, const char *name, char *out, size_t size) {
    hid_t a = H5Aopen(g, name, H5P_DEFAULT);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    hid_t ft = H5Aget_type(a);
    H5Tset_cset(t, H5Tget_cset(ft));
    H5Tclose(ft);
    char *s = NULL;
    CHECK(H5Aread(a, t, &s) >= 0);
    snprintf(out, size, "%s", s);
    H5free_memory(s);
    H5Tclose(t);
    H5Aclose(a);
}

static void read_window(hid_t g, const char *prefix, int rank, it_window *w, bool full) {
    char name[96];
    int64_t v[IT_MAX_RANK];
    snprintf(name, sizeof name, "%s_size", prefix);
    read_i64(g, name, v);
    it_window_init(w, rank, v);
    if (!full)
        return;
    snprintf(name, sizeof name, "%s_stride", prefix);
    read_i64(g, name, w->stride);
    snprintf(name, sizeof name, "%s_offset", prefix);
    read_i64(g, name, w->offset);
}

static herr_t load_case(hid_t root, const char *name, const H5L_info_t *info, void *data) {
    (void)info;
    (void)data;
    golden_case *c = &cases[ncases++];
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    hid_t g = H5Gopen2(root, name, H5P_DEFAULT);
    hid_t ds = H5Dopen2(g, "expected", H5P_DEFAULT);
    hid_t sp = H5Dget_space(ds);
    c->rank = H5Sget_simple_extent_ndims(sp);
    read_i64(g, "shape", c->shape);
    char s[32];
    read_str(g, "dtype", s, sizeof s);
    CHECK(it_dtype_parse(s, &c->dtype) == 0);
    read_window(g, "window", c->rank, &c->window, true);
    int64_t map[IT_MAX_RANK];
    read_i64(g, "window_dimension_map", map);
    for (int d = 0; d < c->rank; d++)
        c->window.map[d] = (int)map[d];
    read_str(g, "blend", s, sizeof s);
    c->blend = strcmp(s, "max") == 0       ? IT_BLEND_MAX
               : strcmp(s, "min") == 0     ? IT_BLEND_MIN
               : strcmp(s, "replace") == 0 ? IT_BLEND_REPLACE
                                           : IT_BLEND_SUM;
    hid_t a = H5Aopen(g, "blend_init", H5P_DEFAULT);
    H5Aread(a, H5T_NATIVE_DOUBLE, &c->blend_init);
    H5Aclose(a);
    int64_t v;
    read_i64(g, "batch_size", &v);
    c->batch = (size_t)v;
    int64_t reg[IT_MAX_RANK * 3];
    read_i64(g, "region", reg);
    it_region_init(&c->region, c->rank);
    for (int d = 0; d < c->rank; d++) {
        c->region.start[d] = reg[3 * d];
        c->region.stop[d] = reg[3 * d + 1];
        c->region.step[d] = reg[3 * d + 2];
    }
    read_i64(g, "chain_length", &v);
    c->chain = (int)v;
    for (int k = 0; k < c->chain; k++) {
        char p[32];
        snprintf(p, sizeof p, "chain%d_window", k);
        read_window(g, p, c->rank, &c->chain_out[k], false);
        snprintf(p, sizeof p, "chain%d_arg_window", k);
        read_window(g, p, c->rank, &c->chain_arg[k], true);
    }
    CHECK(it_region_count(&c->region, &c->count) == 0);
    c->expected = malloc(c->count * it_dtype_size(c->dtype));
    hid_t mt = c->dtype == IT_F32 ? H5T_NATIVE_FLOAT
               : c->dtype == IT_F64 ? H5T_NATIVE_DOUBLE
               : c->dtype == IT_I32 ? H5T_NATIVE_INT32
                                    : H5T_NATIVE_INT64;
    CHECK(H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, c->expected) >= 0);
    H5Sclose(sp);
    H5Dclose(ds);
    H5Gclose(g);
    return 0;
}

typedef struct config {
    bool hdf5;           /* HDF5 store: values after the fill, then again after reopening */
    int threads;
    bool force_batch;    /* batch 3 when the case has none, none when it has one */
    bool small_chunks;   /* chunk 5 on infinite dimensions: windows straddle chunks */
    bool tight;          /* tiny budget and store cache: many blocks, LRU eviction */
} config;

static it_store *open_store(it_ctx *ctx, const config *cf, const char *path, bool create) {
    it_store *store;
    if (cf->hdf5) {
        it_hdf5_options ho;
        it_hdf5_options_init(&ho);
        ho.cache_bytes = cf->tight ? 2048 : 0;
        int rc = it_store_open_hdf5(ctx, path, create ? IT_HDF5_CREATE : IT_HDF5_READWRITE, &ho, &store);
        if (rc)
            fail_msg("open %s: %s", path, it_last_error());
    } else {
        it_memory_store_options so;
        it_memory_store_options_init(&so);
        so.cache_bytes = cf->tight ? 2048 : 0;
        assert_int_equal(it_store_open_memory(ctx, &so, &store), 0);
    }
    return store;
}

/* Creates the case's tensors (base, then chain links) in store; returns the last. */
static it_tensor *build(const golden_case *c, const config *cf, it_store *store, golden_gen *gen) {
    it_tensor_desc d;
    it_tensor_desc_init(&d, c->rank);
    memcpy(d.shape, c->shape, sizeof d.shape);
    d.dtype = c->dtype;
    d.window = c->window;
    d.fn = golden_fn;
    d.user = gen;
    d.id = "base";
    d.batch_size = cf->force_batch ? (c->batch ? 0 : 3) : c->batch;
    d.blend = c->blend;
    d.blend_init = c->blend_init;
    for (int k = 0; k < c->rank; k++)
        if (cf->small_chunks && c->shape[k] == IT_INF)
            d.chunk[k] = 5;
    it_tensor *t;
    int rc = it_tensor_create(store, &d, &t);
    if (rc)
        fail_msg("%s: %s", c->name, it_last_error());
    for (int k = 0; k < c->chain; k++) {
        it_tensor_desc l;
        it_tensor_desc_init(&l, c->rank);
        memcpy(l.shape, c->shape, sizeof l.shape);
        l.dtype = c->dtype;
        l.window = c->chain_out[k];
        l.n_args = 1;
        l.args = &t;
        l.arg_windows = &c->chain_arg[k];
        l.fn = box3_fn;
        l.user = gen;
        l.batch_size = d.batch_size;
        char id[24]; /* "chain" and any int */
        snprintf(id, sizeof id, "chain%d", k);
        l.id = id;
        for (int j = 0; j < c->rank; j++)
            if (cf->small_chunks && c->shape[j] == IT_INF)
                l.chunk[j] = 5;
        it_tensor *next;
        rc = it_tensor_create(store, &l, &next);
        if (rc)
            fail_msg("%s chain %d: %s", c->name, k, it_last_error());
        t = next;
    }
    return t;
}

static void check_read(const golden_case *c, const config *cf, it_tensor *t) {
    size_t bytes = c->count * it_dtype_size(c->dtype);
    void *buf = malloc(bytes + 1);
    int rc = it_tensor_read(t, &c->region, buf, bytes);
    if (rc)
        fail_msg("%s: %s", c->name, it_last_error());
    for (size_t i = 0; i < c->count; i++) {
        double got = it_dtype_load(c->dtype, buf, i), want = it_dtype_load(c->dtype, c->expected, i);
        if (memcmp((char *)buf + i * it_dtype_size(c->dtype),
                   (char *)c->expected + i * it_dtype_size(c->dtype), it_dtype_size(c->dtype)))
            fail_msg("%s (threads %d, batch %d, small chunks %d, tight %d): element %zu is %g, "
                     "expected %g",
                     c->name, cf->threads, cf->force_batch, cf->small_chunks, cf->tight, i, got,
                     want);
    }
    free(buf);
}

static void run_config(const golden_case *c, const config *cf) {
    it_ctx_options co;
    it_ctx_options_init(&co);
    co.threads = cf->threads;
    co.memory_budget = cf->tight ? 4096 : 0;
    it_ctx *ctx;
    assert_int_equal(it_ctx_create(&co, &ctx), 0);
    char path[256];
    snprintf(path, sizeof path, "%s/golden-%s-%d.h5", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             c->name, (int)getpid());
    golden_gen gen = {0};
    it_store *store = open_store(ctx, cf, path, true);
    check_read(c, cf, build(c, cf, store, &gen));
    assert_int_equal(it_store_close(store), 0);
    if (cf->hdf5) { /* a fresh handle on the same file: served from storage, f never called */
        golden_gen again = {0};
        store = open_store(ctx, cf, path, false);
        check_read(c, cf, build(c, cf, store, &again));
        assert_int_equal(atomic_load(&again.calls), 0);
        assert_int_equal(it_store_close(store), 0);
        unlink(path);
    }
    it_ctx_destroy(ctx);
}

static void test_case(void **state) {
    const golden_case *c = *state;
    for (int m = 0; m < 32; m++) {
        config cf = {.threads = 1 + (m & 1), .force_batch = m & 2, .small_chunks = m & 4,
                     .tight = m & 8, .hdf5 = m & 16};
        run_config(c, &cf);
    }
}

int main(void) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    file = H5Fopen(IT_TEST_DATA "/golden.h5", H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) {
        fprintf(stderr, "cannot open %s/golden.h5\n", IT_TEST_DATA);
        return 1;
    }
    H5Literate(file, H5_INDEX_NAME, H5_ITER_INC, NULL, load_case, NULL);
    struct CMUnitTest tests[64];
    for (int i = 0; i < ncases; i++)
        tests[i] = (struct CMUnitTest){cases[i].name, test_case, NULL, NULL, &cases[i]};
    int rc = _cmocka_run_group_tests("golden", tests, (size_t)ncases, NULL, NULL);
    for (int i = 0; i < ncases; i++)
        free(cases[i].expected);
    H5Fclose(file);
    return rc;
}
