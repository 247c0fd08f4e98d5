/* The HDF5 store: reconnect by id (one mismatch test per metadata field, file untouched),
 * open modes and bad files, the storable range with 1, 2 and 3 infinite dimensions,
 * read-only tensors, listing, stats and deletion. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <hdf5.h>

#include "hdf5/hdf5_compat.h" /* the library's own, for the chunk read of every HDF5 release */
#include "test_util.h"

static char path[256];
static it_ctx *ctx;

static int setup(void **state) {
    (void)state;
    snprintf(path, sizeof path, "%s/it-store-%d.h5", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             (int)getpid());
    unlink(path);
    return it_ctx_create(NULL, &ctx);
}

static int teardown(void **state) {
    (void)state;
    unlink(path);
    it_ctx_destroy(ctx);
    return 0;
}

static it_store *open_store(it_hdf5_mode mode) {
    it_store *s = NULL;
    int rc = it_store_open_hdf5(ctx, path, mode, NULL, &s);
    if (rc)
        fail_msg("open: %s", it_last_error());
    return s;
}

/* base: (inf, inf) f32 windows 8 stride 6 (overlapping), chunks 16; top: box3 of base. */
static void base_desc(it_tensor_desc *d, golden_gen *gen) {
    int64_t size[2] = {8, 8};
    it_tensor_desc_init(d, 2);
    d->id = "base";
    d->shape[0] = d->shape[1] = IT_INF;
    it_window_init(&d->window, 2, size);
    d->window.stride[0] = d->window.stride[1] = 6;
    d->chunk[0] = d->chunk[1] = 16;
    d->fn = golden_fn;
    d->user = gen;
    d->fn_tag = "golden v1";
}

static it_window pad_window(void) {
    int64_t pad[2] = {10, 10}, step[2] = {8, 8}, halo[2] = {-1, -1};
    it_window aw;
    it_window_set(&aw, 2, pad, step, halo);
    return aw;
}

static void top_desc(it_tensor_desc *d, it_tensor **base, const it_window *aw) {
    int64_t size[2] = {8, 8};
    it_tensor_desc_init(d, 2);
    d->id = "top";
    d->shape[0] = d->shape[1] = IT_INF;
    it_window_init(&d->window, 2, size);
    d->chunk[0] = d->chunk[1] = 8;
    d->fn = box3_fn;
    d->n_args = 1;
    d->args = base;
    d->arg_windows = aw;
}

/* Creates base and top (golden windows, box sums, both counting windows in gen) in s; returns
 * top. */
static it_tensor *create_pipeline(it_store *s, golden_gen *gen) {
    it_tensor_desc d;
    base_desc(&d, gen);
    it_tensor *base, *top;
    assert_int_equal(it_tensor_create(s, &d, &base), 0);
    it_window aw = pad_window();
    top_desc(&d, &base, &aw);
    d.user = gen;
    assert_int_equal(it_tensor_create(s, &d, &top), 0);
    return top;
}

static unsigned char *slurp(size_t *n) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*n);
    assert_int_equal(fread(b, 1, *n, f), *n);
    fclose(f);
    return b;
}

/* Creates base + top, fills a region, closes. */
static void make_store(void) {
    it_store *s = open_store(IT_HDF5_CREATE);
    golden_gen gen = {0};
    it_tensor_desc d;
    base_desc(&d, &gen);
    it_tensor *base, *other, *top;
    assert_int_equal(it_tensor_create(s, &d, &base), 0);
    d.id = "other";
    assert_int_equal(it_tensor_create(s, &d, &other), 0);
    it_window aw = pad_window();
    top_desc(&d, &base, &aw);
    assert_int_equal(it_tensor_create(s, &d, &top), 0);
    it_region r = region2(-20, 20, -20, 20);
    assert_int_equal(it_tensor_fill(top, &r), 0);
    assert_int_equal(it_store_close(s), 0);
}

typedef void (*mutate_fn)(it_tensor_desc *d);

static void m_shape(it_tensor_desc *d) { d->shape[0] = 100; }
static void m_rank(it_tensor_desc *d) { d->rank = 3, d->shape[2] = 4, d->window.rank = 3, d->window.size[2] = 4, d->window.map[2] = 2; }
static void m_dtype(it_tensor_desc *d) { d->dtype = IT_F64; }
static void m_wsize(it_tensor_desc *d) { d->window.size[1] = 9; }
static void m_wstride(it_tensor_desc *d) { d->window.stride[0] = 5; }
static void m_woffset(it_tensor_desc *d) { d->window.offset[1] = -3; }
static void m_wmap(it_tensor_desc *d) { d->window.map[0] = 1, d->window.map[1] = 0; }
static void m_blend(it_tensor_desc *d) { d->blend = IT_BLEND_MAX; }
static void m_init(it_tensor_desc *d) { d->blend_init = 1.5; }
static void m_chunk(it_tensor_desc *d) { d->chunk[1] = 32; }
static void m_tag(it_tensor_desc *d) { d->fn_tag = "golden v2"; }

/* The store file still holds exactly `before` (n bytes) past its store header, whose id is
 * unchanged (its commit counters may move: HDF5 rewrites the superblock at an open and puts it
 * back at the close); frees it. */
static void expect_unchanged(unsigned char *before, size_t n) {
    size_t n1;
    unsigned char *after = slurp(&n1);
    assert_int_equal(n, n1);
    assert_true(n > 4096);
    assert_memory_equal(before, after, 24); /* "ITSTORE1", the store id */
    assert_memory_equal(before + 4096, after + 4096, n - 4096);
    free(before);
    free(after);
}

static void expect_mismatch(mutate_fn m, const char *field) {
    make_store();
    size_t n0;
    unsigned char *before = slurp(&n0);
    it_store *s = open_store(IT_HDF5_READWRITE);
    golden_gen gen = {0};
    it_tensor_desc d;
    base_desc(&d, &gen);
    m(&d);
    it_tensor *t = NULL;
    int rc = it_tensor_create(s, &d, &t);
    if (rc != IT_EMISMATCH || !strstr(it_last_error(), field))
        fail_msg("field %s: got %s: %s", field, it_error_name(rc), it_last_error());
    assert_null(t);
    assert_int_equal(it_store_close(s), 0);
    expect_unchanged(before, n0);
}

static void test_mismatch_shape(void **s) { (void)s; expect_mismatch(m_shape, "shape"); }
static void test_mismatch_rank(void **s) { (void)s; expect_mismatch(m_rank, "rank"); }
static void test_mismatch_dtype(void **s) { (void)s; expect_mismatch(m_dtype, "dtype"); }
static void test_mismatch_window_size(void **s) { (void)s; expect_mismatch(m_wsize, "window_size"); }
static void test_mismatch_window_stride(void **s) { (void)s; expect_mismatch(m_wstride, "window_stride"); }
static void test_mismatch_window_offset(void **s) { (void)s; expect_mismatch(m_woffset, "window_offset"); }
static void test_mismatch_window_map(void **s) { (void)s; expect_mismatch(m_wmap, "window_map"); }
static void test_mismatch_blend(void **s) { (void)s; expect_mismatch(m_blend, "blend"); }
static void test_mismatch_blend_init(void **s) { (void)s; expect_mismatch(m_init, "blend_init"); }
static void test_mismatch_chunk(void **s) { (void)s; expect_mismatch(m_chunk, "chunk"); }
static void test_mismatch_fn_tag(void **s) { (void)s; expect_mismatch(m_tag, "fn_tag"); }

/* Argument fields: the arg's id and each part of its window. */
static void test_mismatch_args(void **state) {
    (void)state;
    const char *fields[] = {"number of args", "args[0]", "arg0_window_size", "arg0_window_stride",
                            "arg0_window_offset", "arg0_window_map"};
    for (int k = 0; k < 6; k++) {
        make_store();
        size_t n0;
        unsigned char *before = slurp(&n0);
        it_store *s = open_store(IT_HDF5_READWRITE);
        golden_gen gen = {0};
        it_tensor_desc d;
        base_desc(&d, &gen);
        it_tensor *base, *other, *top = NULL;
        assert_int_equal(it_tensor_create(s, &d, &base), 0); /* reconnect */
        d.id = "other";
        assert_int_equal(it_tensor_create(s, &d, &other), 0);
        it_window aw = pad_window();
        top_desc(&d, &base, &aw);
        it_tensor *two[2] = {base, base};
        it_window aws[2] = {aw, aw};
        switch (k) {
        case 0: d.n_args = 2, d.args = two, d.arg_windows = aws; break;
        case 1: d.args = &other; break;
        case 2: aw.size[0] = 12; break;
        case 3: aw.stride[1] = 4; break;
        case 4: aw.offset[0] = -2; break;
        default: aw.map[0] = 1, aw.map[1] = 0; break;
        }
        int rc = it_tensor_create(s, &d, &top);
        if (rc != IT_EMISMATCH || !strstr(it_last_error(), fields[k]))
            fail_msg("%s: got %s: %s", fields[k], it_error_name(rc), it_last_error());
        assert_null(top);
        assert_int_equal(it_store_close(s), 0);
        expect_unchanged(before, n0);
    }
}

static void test_reconnect_and_readonly(void **state) {
    (void)state;
    make_store();
    /* read-write reconnect: the same values, f never called */
    it_store *s = open_store(IT_HDF5_READWRITE);
    golden_gen gen = {0};
    it_tensor *top = create_pipeline(s, &gen);
    it_region r = region2(-20, 20, -20, 20);
    float ref[1600], got[1600];
    assert_int_equal(it_tensor_read(top, &r, ref, sizeof ref), 0);
    assert_int_equal(atomic_load(&gen.calls), 0);
    assert_int_equal(it_store_close(s), 0);

    /* read-only open without f */
    s = open_store(IT_HDF5_READONLY);
    it_tensor *ro;
    if (it_tensor_open(s, "top", 0, &ro))
        fail_msg("open top: %s", it_last_error());
    assert_int_equal(it_tensor_read(ro, &r, got, sizeof got), 0);
    assert_memory_equal(ref, got, sizeof ref);
    it_tensor_info info;
    it_tensor_get_info(ro, &info);
    assert_int_equal(info.chunk[0], 8);
    it_tensor_stats st;
    assert_int_equal(it_tensor_get_stats(ro, &st), 0);
    assert_int_equal(st.chunks, 36); /* chunks 8x8 over [-24, 24) */
    assert_int_equal(st.bbox_start[0], -24);
    assert_int_equal(st.bbox_stop[1], 24);
    assert_true(st.stored_bytes > 0);
    it_region far = region2(100, 110, 0, 10);
    float fbuf[100];
    assert_int_equal(it_tensor_read(ro, &far, fbuf, sizeof fbuf), IT_ENOTCOMPUTED);
    assert_non_null(strstr(it_last_error(), "96:104, 0:8"));
    it_tensor *dup;
    assert_int_equal(it_tensor_open(s, "top", 0, &dup), IT_EEXIST);
    assert_null(dup);
    it_tensor_release(ro);
    assert_int_equal(it_tensor_open(s, "top", IT_OPEN_FILL_MISSING, &ro), 0);
    assert_int_equal(it_tensor_read(ro, &far, fbuf, sizeof fbuf), 0);
    assert_true(fbuf[0] == 0.0f && fbuf[99] == 0.0f);
    assert_int_equal(it_tensor_open(s, "nope", 0, &ro), IT_ENOTFOUND);
    /* a read-only store refuses new tensors and deletions */
    it_tensor_desc d;
    base_desc(&d, &gen);
    d.id = "new";
    it_tensor *nt;
    assert_int_equal(it_tensor_create(s, &d, &nt), IT_EINVAL);
    assert_int_equal(it_store_delete_tensor(s, "top"), IT_EINVAL);
    assert_int_equal(it_store_close(s), 0);
}

static int count_ids(const char *id, void *user) {
    (void)id;
    (*(int *)user)++;
    return 0;
}

static void test_list_delete_clear(void **state) {
    (void)state;
    make_store();
    it_store *s = open_store(IT_HDF5_READWRITE);
    int n = 0;
    assert_int_equal(it_store_list(s, count_ids, &n), 0);
    assert_int_equal(n, 3);
    it_tensor *t;
    assert_int_equal(it_tensor_open(s, "top", 0, &t), 0);
    it_region r = region2(-20, 20, -20, 20);
    float buf[1600];
    assert_int_equal(it_tensor_read(t, &r, buf, sizeof buf), 0);
    assert_true(it_store_memory_bytes(s) > 0);
    assert_int_equal(it_store_clear_cache(s), 0);
    assert_int_equal(it_store_memory_bytes(s), 0);
    assert_int_equal(it_tensor_read(t, &r, buf, sizeof buf), 0); /* still stored */
    assert_int_equal(it_store_delete_tensor(s, "top"), 0);
    assert_int_equal(it_store_delete_tensor(s, "top"), IT_ENOTFOUND);
    n = 0;
    it_store_list(s, count_ids, &n);
    assert_int_equal(n, 2);
    assert_int_equal(it_store_flush(s), 0);
    assert_int_equal(it_store_close(s), 0);
    s = open_store(IT_HDF5_READONLY);
    assert_int_equal(it_tensor_open(s, "top", 0, &t), IT_ENOTFOUND);
    it_store_close(s);
}

static void write_bytes(const void *b, size_t n) {
    FILE *f = fopen(path, "wb");
    fwrite(b, 1, n, f);
    fclose(f);
}

static int saved_stderr = -1;
static char err_path[300];

/* Sends stderr to a file, to prove that failing HDF5 calls print nothing. */
static void capture_stderr(void) {
    snprintf(err_path, sizeof err_path, "%s.stderr", path);
    fflush(stderr);
    saved_stderr = dup(2);
    int fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    close(fd);
}

static size_t release_stderr(void) {
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    struct stat st;
    size_t n = stat(err_path, &st) == 0 ? (size_t)st.st_size : 0;
    unlink(err_path);
    return n;
}

static void test_bad_files(void **state) {
    (void)state;
    it_store *s;
    capture_stderr();
    unlink(path);
    assert_int_equal(it_store_open_hdf5(ctx, path, IT_HDF5_READONLY, NULL, &s), IT_EIO);
    assert_null(s);
    /* random bytes */
    unsigned char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (unsigned char)(i * 2654435761u >> 13);
    write_bytes(junk, sizeof junk);
    for (int m = IT_HDF5_READWRITE; m <= IT_HDF5_READONLY; m++) {
        assert_int_equal(it_store_open_hdf5(ctx, path, (it_hdf5_mode)m, NULL, &s), IT_EFORMAT);
        size_t n;
        unsigned char *after = slurp(&n);
        assert_memory_equal(after, junk, sizeof junk); /* not modified */
        free(after);
    }
    /* truncated stores, at several lengths */
    make_store();
    size_t n;
    unsigned char *full = slurp(&n);
    size_t cuts[] = {0, 8, 512, n / 3, n / 2, n - 100};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        write_bytes(full, cuts[i]);
        int rc = it_store_open_hdf5(ctx, path, IT_HDF5_READONLY, NULL, &s);
        if (rc == 0) { /* the superblock survived: reading must fail cleanly, not crash */
            it_tensor *t;
            if (it_tensor_open(s, "top", 0, &t) == 0) {
                float buf[1600];
                it_region r = region2(-20, 20, -20, 20);
                rc = it_tensor_read(t, &r, buf, sizeof buf);
            }
            it_store_close(s);
        }
        assert_true(rc == 0 || rc == IT_EFORMAT || rc == IT_EIO || rc == IT_ENOTCOMPUTED ||
                    rc == IT_ENOTFOUND);
    }
    free(full);
    /* an HDF5 file of someone else's layout */
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t dims = 4;
    hid_t sp = H5Screate_simple(1, &dims, NULL);
    hid_t ds = H5Dcreate2(f, "data", H5T_NATIVE_INT, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dclose(ds);
    H5Sclose(sp);
    H5Fclose(f);
    assert_int_equal(it_store_open_hdf5(ctx, path, IT_HDF5_READWRITE, NULL, &s), IT_EFORMAT);
    assert_non_null(strstr(it_last_error(), "not an infinite-tensor store"));
    /* bad arguments */
    assert_int_equal(it_store_open_hdf5(NULL, path, IT_HDF5_CREATE, NULL, &s), IT_EINVAL);
    assert_int_equal(it_store_open_hdf5(ctx, NULL, IT_HDF5_CREATE, NULL, &s), IT_EINVAL);
    assert_int_equal(it_store_open_hdf5(ctx, path, (it_hdf5_mode)7, NULL, &s), IT_EINVAL);
    it_hdf5_options o;
    it_hdf5_options_init(&o);
    o.compression_level = 10;
    assert_int_equal(it_store_open_hdf5(ctx, path, IT_HDF5_CREATE, &o, &s), IT_EINVAL);
    assert_int_equal(it_store_open_hdf5(ctx, "/nonexistent-dir/x.h5", IT_HDF5_CREATE, NULL, &s), IT_EIO);
    assert_non_null(strstr(it_last_error(), "No such file or directory"));
    size_t printed = release_stderr();
    assert_int_equal(printed, 0); /* HDF5's error stack never reached stderr */
}

/* Storable range: both edges work, one chunk beyond fails with IT_ERANGE, for 1, 2 and 3
 * infinite dimensions (with a finite one in front). */
static void test_range_edges(void **state) {
    (void)state;
    for (int ninf = 1; ninf <= 3; ninf++) {
        it_store *s = open_store(IT_HDF5_CREATE);
        golden_gen gen = {0};
        int rank = ninf + 1;
        int64_t size[4] = {2, 4, 4, 4};
        it_tensor_desc d;
        it_tensor_desc_init(&d, rank);
        d.shape[0] = 2;
        for (int k = 1; k < rank; k++)
            d.shape[k] = IT_INF;
        it_window_init(&d.window, rank, size);
        d.fn = golden_fn;
        d.user = &gen;
        d.id = "edge";
        it_tensor *t;
        assert_int_equal(it_tensor_create(s, &d, &t), 0);
        it_tensor_info info;
        it_tensor_get_info(t, &info);
        assert_int_equal(it_store_close(s), 0);
        /* the origin and extent, as written */
        hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
        hid_t ds = H5Dopen2(f, "tensors/edge/data", H5P_DEFAULT);
        hid_t sp = H5Dget_space(ds);
        hsize_t dims[4];
        H5Sget_simple_extent_dims(sp, dims, NULL);
        hid_t a = H5Aopen_by_name(f, "tensors/edge", "origin", H5P_DEFAULT, H5P_DEFAULT);
        int64_t origin[4];
        H5Aread(a, H5T_NATIVE_INT64, origin);
        H5Aclose(a);
        H5Sclose(sp);
        H5Dclose(ds);
        H5Fclose(f);
        __int128 product = 1;
        for (int k = 0; k < rank; k++)
            product *= dims[k];
        assert_true(product < ((__int128)1 << 62));
        assert_true(product > ((__int128)1 << 58)); /* as wide as is safe, not much narrower */
        s = open_store(IT_HDF5_READWRITE);
        gen.calls = 0;
        assert_int_equal(it_tensor_create(s, &d, &t), 0);
        int64_t lo[4], hi[4];
        for (int k = 0; k < rank; k++) {
            lo[k] = origin[k];
            hi[k] = origin[k] + (int64_t)dims[k];
        }
        float buf[64];
        it_region r;
        int64_t st[4] = {0}, en[4] = {2, 1, 1, 1};
        /* first and last storable pixels along every infinite dimension */
        for (int k = 1; k < rank; k++) {
            st[k] = lo[k], en[k] = lo[k] + 1;
        }
        it_region_set(&r, rank, st, en, NULL);
        if (it_tensor_read(t, &r, buf, sizeof buf))
            fail_msg("%d inf dims, low edge: %s", ninf, it_last_error());
        for (int k = 1; k < rank; k++) {
            st[k] = hi[k] - 1, en[k] = hi[k];
        }
        it_region_set(&r, rank, st, en, NULL);
        if (it_tensor_read(t, &r, buf, sizeof buf))
            fail_msg("%d inf dims, high edge: %s", ninf, it_last_error());
        for (int k = 1; k < rank; k++) {
            int64_t s0 = st[k], e0 = en[k];
            st[k] = hi[k], en[k] = hi[k] + 1;
            it_region_set(&r, rank, st, en, NULL);
            assert_int_equal(it_tensor_read(t, &r, buf, sizeof buf), IT_ERANGE);
            assert_non_null(strstr(it_last_error(), "can store pixels"));
            st[k] = lo[k] - 1, en[k] = lo[k];
            it_region_set(&r, rank, st, en, NULL);
            assert_int_equal(it_tensor_read(t, &r, buf, sizeof buf), IT_ERANGE);
            st[k] = s0, en[k] = e0;
        }
        assert_int_equal(it_store_close(s), 0);
    }
}

/* Rewrites one attribute of /tensors/top (or the root with obj "/"). */
static void set_attr_i64(const char *obj, const char *name, const int64_t *v, hsize_t n) {
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t o = H5Oopen(f, obj, H5P_DEFAULT);
    H5Adelete(o, name);
    hid_t sp = H5Screate_simple(1, &n, NULL);
    hid_t a = H5Acreate2(o, name, H5T_NATIVE_INT64, sp, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_INT64, v);
    H5Aclose(a);
    H5Sclose(sp);
    H5Oclose(o);
    H5Fclose(f);
}

/* A string attribute, fixed-length as the store writes them, or variable-length. */
static void set_attr_text(const char *obj, const char *name, const char *value, bool vlen) {
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t o = H5Oopen(f, obj, H5P_DEFAULT);
    H5Adelete(o, name);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, vlen ? H5T_VARIABLE : strlen(value) + 1);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(o, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, t, vlen ? (const void *)&value : (const void *)value);
    H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
    H5Oclose(o);
    H5Fclose(f);
}

static void set_attr_str(const char *obj, const char *name, const char *value) {
    set_attr_text(obj, name, value, false);
}

/* Sets the extent of /tensors/top/chunks (the chunk index) without writing rows. */
static void set_index_rows(hsize_t rows) {
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, "/tensors/top/chunks", H5P_DEFAULT);
    hsize_t dims[2] = {rows, 2};
    assert_true(H5Dset_extent(d, dims) >= 0);
    H5Dclose(d);
    H5Fclose(f);
}

/* Damaged or crafted metadata: every case is IT_EFORMAT, never a crash, a huge allocation or
 * a read past a buffer (the suite runs under AddressSanitizer too). */
static void test_corrupt_metadata(void **state) {
    (void)state;
    int64_t nine[9] = {-1, -1, -1, -1, -1, -1, -1, -1, -1}, zero2[2] = {0, 8}, neg2[2] = {-8, 8},
            odd2[2] = {-5, 3}, v4 = 4, far2[2] = {INT64_MIN, INT64_MIN};
    for (int k = 0; k < 13; k++) {
        make_store();
        const char *g = "/tensors/top";
        switch (k) {
        case 0: set_attr_i64(g, "shape", nine, 9); break;
        case 1: set_attr_str(g, "shape", "(inf, inf)"); break;
        case 2: set_attr_i64(g, "window_size", zero2, 2); break;
        case 3: set_attr_i64(g, "chunk", neg2, 2); break;
        case 4: set_attr_i64(g, "origin", odd2, 2); break;
        case 5: set_attr_str(g, "dtype", "f16"); break;
        case 6: set_attr_str(g, "blend", "median"); break;
        case 7: set_attr_i64(g, "window_map", nine, 2); break;
        case 8: {
            hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
            H5Ldelete(f, "/tensors/top/data", H5P_DEFAULT);
            H5Fclose(f);
            break;
        }
        case 9: set_attr_i64(g, "origin", far2, 2); break;        /* overflowed the range */
        case 10: set_index_rows((hsize_t)1 << 61); break;         /* wrapped the allocation */
        case 11: set_attr_text(g, "fn_tag", "golden", true); break; /* global heap in format 3 */
        default: set_attr_i64("/", "format_version", &v4, 1); break;
        }
        it_store *s;
        int rc = it_store_open_hdf5(ctx, path, IT_HDF5_READONLY, NULL, &s);
        if (k == 12) {
            assert_int_equal(rc, IT_EFORMAT);
            assert_non_null(strstr(it_last_error(), "version 4"));
            continue;
        }
        assert_int_equal(rc, 0);
        it_tensor *t;
        rc = it_tensor_open(s, "top", 0, &t);
        if (rc != IT_EFORMAT)
            fail_msg("corruption %d: %s: %s", k, it_error_name(rc), it_last_error());
        /* failed opens leave no HDF5 object behind: a second one holds no more open than the
         * first left (the store keeps the group it described last for the next open) */
        ssize_t objects = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
        assert_int_equal(it_tensor_open(s, "top", 0, &t), IT_EFORMAT);
        if (H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL) != objects)
            fail_msg("corruption %d: %zd HDF5 objects open after a failed open, %zd after another",
                     k, objects, H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL));
        if (strchr(it_last_error(), '\n'))
            fail_msg("corruption %d: a message of several lines: %s", k, it_last_error());
        assert_null(t);
        it_tensor *base; /* the other tensors stay readable */
        assert_int_equal(it_tensor_open(s, "base", 0, &base), 0);
        it_store_close(s);
        assert_int_equal(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0);
    }
}

/* The end-of-allocation address of a version-0 superblock (the format the store writes, after
 * the 4096-byte store header). */
static uint64_t superblock_eoa(uint64_t set) {
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    unsigned char sig[9];
    fseek(f, 4096, SEEK_SET);
    assert_int_equal(fread(sig, 1, 9, f), 9);
    assert_int_equal(sig[8], 0); /* superblock version 0 */
    uint64_t eoa = 0;
    fseek(f, 4096 + 40, SEEK_SET);
    assert_int_equal(fread(&eoa, 8, 1, f), 1);
    if (set) {
        fseek(f, 4096 + 40, SEEK_SET);
        fwrite(&set, 8, 1, f);
    }
    fclose(f);
    return eoa;
}

/* The state a writer killed inside H5Fflush can leave: chunk-index nodes on disk that point past
 * the end-of-allocation in the superblock. Every chunk must read back correctly, read-only and
 * read-write, and new chunks must not overwrite the ones past the old end. */
static void test_index_past_end_of_allocation(void **state) {
    (void)state;
    make_store();
    uint64_t old_eoa = superblock_eoa(0);
    it_store *s = open_store(IT_HDF5_READWRITE);
    golden_gen gen = {0};
    it_tensor_desc d;
    base_desc(&d, &gen);
    it_tensor *base;
    assert_int_equal(it_tensor_create(s, &d, &base), 0);
    it_region later = region2(40, 80, 40, 80); /* chunks allocated past old_eoa */
    assert_int_equal(it_tensor_fill(base, &later), 0);
    assert_int_equal(it_store_close(s), 0);
    assert_true(superblock_eoa(old_eoa) > old_eoa); /* now the superblock lags behind */

    /* reference values from a memory store */
    it_store *ms;
    it_tensor *ref;
    assert_int_equal(it_store_open_memory(ctx, NULL, &ms), 0);
    base_desc(&d, &gen);
    assert_int_equal(it_tensor_create(ms, &d, &ref), 0);
    it_region all = region2(-40, 120, -40, 120);
    float *want = malloc(160 * 160 * 4), *got = malloc(160 * 160 * 4);
    assert_int_equal(it_tensor_read(ref, &all, want, 160 * 160 * 4), 0);

    s = open_store(IT_HDF5_READONLY);
    it_tensor *ro;
    assert_int_equal(it_tensor_open(s, "base", 0, &ro), 0);
    float buf[40 * 40];
    if (it_tensor_read(ro, &later, buf, sizeof buf))
        fail_msg("read-only read past the old end: %s", it_last_error());
    for (int y = 0; y < 40; y++)
        assert_memory_equal(buf + y * 40, want + (y + 80) * 160 + 80, 40 * 4);
    it_store_close(s);

    s = open_store(IT_HDF5_READWRITE);
    base_desc(&d, &gen);
    assert_int_equal(it_tensor_create(s, &d, &base), 0);
    if (it_tensor_fill(base, &all) != 0) /* new chunks after the recovered end */
        fail_msg("fill after the recovered end: %s", it_last_error());
    assert_int_equal(it_store_close(s), 0);
    s = open_store(IT_HDF5_READONLY);
    assert_int_equal(it_tensor_open(s, "base", 0, &ro), 0);
    assert_int_equal(it_tensor_read(ro, &all, got, 160 * 160 * 4), 0);
    assert_memory_equal(got, want, 160 * 160 * 4);
    it_store_close(s);
    it_store_close(ms);
    free(want);
    free(got);
}

/* The reference pipeline of tests/data/store-v1.h5 in a memory store. */
static void make_v1_pipeline(it_store *ms, golden_gen *gen, it_tensor **box) {
    it_tensor *base;
    int64_t w8[2] = {8, 8}, w10[2] = {10, 10};
    it_tensor_desc d;
    it_tensor_desc_init(&d, 2);
    d.id = "base";
    d.shape[0] = d.shape[1] = IT_INF;
    it_window_init(&d.window, 2, w8);
    d.chunk[0] = d.chunk[1] = 16;
    d.fn = golden_fn;
    d.user = gen;
    assert_int_equal(it_tensor_create(ms, &d, &base), 0);
    int64_t halo[2] = {-1, -1};
    it_window aw;
    it_window_set(&aw, 2, w10, w8, halo);
    d.id = "box";
    d.fn = box3_fn;
    d.user = NULL;
    d.args = &base;
    d.arg_windows = &aw;
    d.n_args = 1;
    assert_int_equal(it_tensor_create(ms, &d, box), 0);
}

/* Reads "box" of the store at file and compares it with the reference. */
static void expect_v1_values(const char *file, int trusted) {
    it_store *s, *ms;
    it_tensor *box, *mbox;
    it_hdf5_options o;
    it_hdf5_options_init(&o);
    o.trusted = trusted;
    assert_int_equal(it_store_open_hdf5(ctx, file, IT_HDF5_READONLY, &o, &s), 0);
    assert_int_equal(it_tensor_open(s, "box", 0, &box), 0);
    it_tensor_info in;
    assert_int_equal(it_tensor_get_info(box, &in), 0);
    assert_int_equal(in.n_arg_ids, 1);
    assert_string_equal(in.arg_ids[0], "base");
    assert_string_equal(in.fn_tag, "box3");
    assert_int_equal(it_store_open_memory(ctx, NULL, &ms), 0);
    golden_gen gen = {0};
    make_v1_pipeline(ms, &gen, &mbox);
    it_region r = region2(-16, 32, -16, 16);
    float got[48 * 32], want[48 * 32];
    assert_int_equal(it_tensor_read(box, &r, got, sizeof got), 0);
    assert_int_equal(it_tensor_read(mbox, &r, want, sizeof want), 0);
    assert_memory_equal(got, want, sizeof got);
    it_store_close(ms);
    it_store_close(s);
}

/* tests/data/store-v1.h5 was written by the library's first release (format version 1:
 * variable-length strings): "base" (inf, inf) f32, 8x8 golden windows, 16x16 chunks, and "box",
 * its 3x3 box sum through a (10, 10) window of stride 8 and offset -1, filled over
 * [-16, 32) x [-16, 16). Untrusted, it is refused (its strings live in HDF5's global heap);
 * trusted, it reads as a fresh computation; opened for writing, it becomes format 3, reads the
 * same untrusted, and its chunk index equals HDF5's chunk B-tree. */
static void test_format_version_1(void **state) {
    (void)state;
    const char *v1 = IT_TEST_DATA "/store-v1.h5";
    it_store *s;
    assert_int_equal(it_store_open_hdf5(ctx, v1, IT_HDF5_READONLY, NULL, &s), IT_EFORMAT);
    assert_non_null(strstr(it_last_error(), "format-1 store"));
    expect_v1_values(v1, 1);

    size_t n;
    FILE *f = fopen(v1, "rb");
    assert_non_null(f);
    unsigned char *bytes = malloc(1 << 20);
    n = fread(bytes, 1, 1 << 20, f);
    fclose(f);
    write_bytes(bytes, n);
    free(bytes);
    it_hdf5_options o;
    it_hdf5_options_init(&o);
    o.trusted = 1;
    assert_int_equal(it_store_open_hdf5(ctx, path, IT_HDF5_READWRITE, &o, &s), 0);
    assert_int_equal(it_store_close(s), 0);
    expect_v1_values(path, 0);
    s = open_store(IT_HDF5_READONLY);
    for (int k = 0; k < 2; k++) {
        it_tensor *t;
        it_hdf5_index_report ir;
        assert_int_equal(it_tensor_open(s, k ? "box" : "base", 0, &t), 0);
        assert_int_equal(it_hdf5_check_index(t, &ir), 0);
        assert_int_equal(ir.stale + ir.unindexed, 0);
        assert_int_equal(ir.stored, k ? 6 : 20);
    }
    it_store_close(s);
}

static int open_rc(it_hdf5_mode mode) {
    it_store *s = NULL;
    int rc = it_store_open_hdf5(ctx, path, mode, NULL, &s);
    it_store_close(s);
    return rc;
}

/* One process, one file: a second handle would write through the same HDF5 file with its own
 * chunk index (the first handle's rows were lost), and an export would copy a store mid-write.
 * A writer excludes every other handle; readers share. */
static void test_one_writer_per_file(void **state) {
    (void)state;
    make_store();
    it_store *w = open_store(IT_HDF5_READWRITE);
    assert_int_equal(open_rc(IT_HDF5_READWRITE), IT_ELOCKED);
    assert_non_null(strstr(it_last_error(), "already open for writing in this process"));
    assert_int_equal(open_rc(IT_HDF5_READONLY), IT_ELOCKED);
    assert_int_equal(open_rc(IT_HDF5_CREATE), IT_ELOCKED);
    /* an export into the file being written */
    it_store *ms;
    it_tensor *t;
    golden_gen gen = {0};
    it_tensor_desc d;
    base_desc(&d, &gen);
    assert_int_equal(it_store_open_memory(ctx, NULL, &ms), 0);
    assert_int_equal(it_tensor_create(ms, &d, &t), 0);
    it_region r = region2(0, 8, 0, 8);
    assert_int_equal(it_export_hdf5(t, &r, path, "x", NULL, NULL), IT_ELOCKED);
    it_store_close(ms);
    assert_int_equal(it_store_close(w), 0);
    it_store *r1 = open_store(IT_HDF5_READONLY), *r2 = open_store(IT_HDF5_READONLY);
    assert_int_equal(open_rc(IT_HDF5_READWRITE), IT_ELOCKED);
    it_store_close(r1);
    it_store_close(r2);
    assert_int_equal(open_rc(IT_HDF5_READWRITE), 0);
}

/* Another process writing the store: opening it for writing is IT_ELOCKED (not a format
 * error); for reading it opens (a live reader, test_live_readers); once the writer is gone,
 * the file opens either way. */
static void test_locked_by_another_process(void **state) {
    (void)state;
    make_store();
    int up[2], down[2];
    assert_int_equal(pipe(up), 0);
    assert_int_equal(pipe(down), 0);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        it_store *s;
        char c = it_store_open_hdf5(ctx, path, IT_HDF5_READWRITE, NULL, &s) ? 'x' : 'o';
        if (write(up[1], &c, 1) != 1 || read(down[0], &c, 1) != 1)
            _exit(2);
        _exit(0);
    }
    char c;
    assert_int_equal(read(up[0], &c, 1), 1);
    assert_int_equal(c, 'o');
    assert_int_equal(open_rc(IT_HDF5_READWRITE), IT_ELOCKED);
    assert_non_null(strstr(it_last_error(), "locked by another process"));
    int reader = open_rc(IT_HDF5_READONLY); /* a live reader: while the writer holds it */
    assert_int_equal(write(down[1], "q", 1), 1);
    assert_int_equal(reader, 0);
    int st;
    waitpid(pid, &st, 0);
    assert_int_equal(open_rc(IT_HDF5_READONLY), 0);
    for (int i = 0; i < 2; i++) {
        close(up[i]);
        close(down[i]);
    }
}

/* A tensor stored when the default chunk rule gave another shape reconnects with a description
 * that leaves chunk at its default: the stored shape is taken. An explicit other shape is
 * still a mismatch. */
static void test_default_chunk_takes_stored_shape(void **state) {
    (void)state;
    it_tensor_desc d;
    it_tensor_desc_init(&d, 2);
    d.id = "tiny";
    d.shape[0] = d.shape[1] = IT_INF;
    int64_t one[2] = {1, 1};
    it_window_init(&d.window, 2, one);
    d.fn = golden_fn;
    d.chunk[0] = d.chunk[1] = 256; /* what the default was before it bounded the windows */
    it_store *s = open_store(IT_HDF5_CREATE);
    it_tensor *t;
    assert_int_equal(it_tensor_create(s, &d, &t), 0);
    it_region r = region2(-5, 300, 7, 20);
    float *want = malloc(305 * 13 * sizeof *want), *got = malloc(305 * 13 * sizeof *got);
    assert_int_equal(it_tensor_read(t, &r, want, 305 * 13 * sizeof *want), 0);
    assert_int_equal(it_store_close(s), 0);
    s = open_store(IT_HDF5_READWRITE);
    d.chunk[0] = d.chunk[1] = 0;
    assert_int_equal(it_tensor_create(s, &d, &t), 0);
    it_tensor_info info;
    it_tensor_get_info(t, &info);
    assert_int_equal(info.chunk[0], 256);
    assert_int_equal(info.chunk[1], 256);
    assert_int_equal(it_tensor_read(t, &r, got, 305 * 13 * sizeof *got), 0);
    assert_memory_equal(got, want, 305 * 13 * sizeof *got);
    it_tensor_release(t);
    d.chunk[1] = 128;
    assert_int_equal(it_tensor_create(s, &d, &t), IT_EMISMATCH);
    assert_non_null(strstr(it_last_error(), "chunk"));
    it_store_close(s);
    free(want);
    free(got);
}

/* Each codec of the build: a pipeline stored with it reads back the same values, after reopening
 * too (decoded from the file, not from memory); a stored tensor keeps its codec when the store
 * is reopened with another one, and chunks added then are decodable; bad options are refused. */
static void test_codecs(void **state) {
    (void)state;
    const size_t bytes = 40 * 40 * 4;
    float *want = malloc(bytes), *got = malloc(bytes);
    it_region r = region2(-20, 20, -20, 20), more = region2(20, 60, -20, 20);
    for (int c = 0; c < IT_COMPRESSION_COUNT; c++) {
        it_hdf5_options o;
        it_hdf5_options_init(&o);
        o.compression = (it_compression)c;
        it_store *s;
        int rc = it_store_open_hdf5(ctx, path, IT_HDF5_CREATE, &o, &s);
        if (!it_compression_available(o.compression)) {
            print_message("%s: not in this build, refused\n", it_compression_name(o.compression));
            assert_int_equal(rc, IT_EINVAL);
            assert_non_null(strstr(it_last_error(), it_compression_name(o.compression)));
            continue;
        }
        assert_int_equal(rc, 0);
        golden_gen gen = {0};
        it_tensor *top = create_pipeline(s, &gen);
        assert_int_equal(it_tensor_read(top, &r, want, bytes), 0);
        assert_int_equal(it_store_close(s), 0);
        /* reopened with another codec: the stored tensors keep theirs */
        o.compression = c == IT_COMPRESSION_DEFLATE ? IT_COMPRESSION_NONE : IT_COMPRESSION_DEFLATE;
        assert_int_equal(it_store_open_hdf5(ctx, path, IT_HDF5_READWRITE, &o, &s), 0);
        assert_int_equal(it_tensor_open(s, "top", 0, &top), 0);
        assert_int_equal(it_tensor_read(top, &r, got, bytes), 0);
        assert_memory_equal(got, want, bytes);
        it_tensor_release(top);
        top = create_pipeline(s, &gen);
        assert_int_equal(it_tensor_fill(top, &more), 0);
        assert_int_equal(it_store_close(s), 0);
        s = open_store(IT_HDF5_READONLY);
        assert_int_equal(it_tensor_open(s, "top", 0, &top), 0);
        assert_int_equal(it_tensor_read(top, &more, got, bytes), 0);
        assert_int_equal(it_tensor_fill(top, &r), 0); /* all stored: nothing to compute */
        it_tensor_stats st;
        assert_int_equal(it_tensor_get_stats(top, &st), 0);
        print_message("%s: %llu chunks, %llu bytes stored\n", it_compression_name((it_compression)c),
                      (unsigned long long)st.chunks, (unsigned long long)st.stored_bytes);
        assert_int_equal(it_store_close(s), 0);
    }
    it_hdf5_options o;
    it_hdf5_options_init(&o);
    it_store *s;
    o.compression = IT_COMPRESSION_COUNT;
    assert_int_equal(it_store_open_hdf5(ctx, path, IT_HDF5_CREATE, &o, &s), IT_EINVAL);
    o.compression = IT_COMPRESSION_LZ4;
    o.compression_level = 13;
    assert_int_equal(it_store_open_hdf5(ctx, path, IT_HDF5_CREATE, &o, &s), IT_EINVAL);
    assert_non_null(strstr(it_last_error(), "lz4"));
    free(want);
    free(got);
}

typedef struct damage_count {
    it_tensor *t;
    int chunks, refused;
} damage_count;

static int read_damaged(const int64_t *start, const int64_t *stop, void *user) {
    damage_count *d = user;
    it_region r = region2(start[0], stop[0], start[1], stop[1]);
    float buf[16 * 16];
    int rc = it_tensor_read(d->t, &r, buf, sizeof buf);
    d->chunks++;
    if (rc == IT_EFORMAT && strstr(it_last_error(), "Fletcher-32"))
        d->refused++;
    else
        print_message("chunk [%lld, %lld): %s: %s\n", (long long)start[0], (long long)stop[0],
                      it_error_name(rc), it_last_error());
    return 0;
}

/* Every codec's chunks carry HDF5's Fletcher-32 checksum: HDF5 itself reads them through its
 * filter (so the checksum is the one HDF5 computes), and one flipped bit in any stored chunk,
 * at any place, is refused with IT_EFORMAT (lz4 and zstd frames have no check of their own:
 * before, a third of such flips read back as wrong values). */
static void test_checksums_catch_damage(void **state) {
    (void)state;
    float want[40 * 40];
    it_region r = region2(-20, 20, -20, 20);
    for (int c = 0; c < IT_COMPRESSION_COUNT; c++) {
        it_hdf5_options o;
        it_hdf5_options_init(&o);
        o.compression = (it_compression)c;
        if (!it_compression_available(o.compression))
            continue;
        it_store *s;
        assert_int_equal(it_store_open_hdf5(ctx, path, IT_HDF5_CREATE, &o, &s), 0);
        golden_gen gen = {0};
        it_tensor *top = create_pipeline(s, &gen);
        assert_int_equal(it_tensor_read(top, &r, want, sizeof want), 0);
        it_hdf5_layout lay;
        assert_int_equal(it_hdf5_tensor_layout(top, &lay), 0);
        assert_int_equal(lay.checksum, 1);
        assert_int_equal(it_store_close(s), 0);
        hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
        hid_t dset = H5Dopen2(f, "/tensors/base/data", H5P_DEFAULT);
        assert_true(dset >= 0);
        hsize_t nchunks = 0;
        hid_t fs = H5Dget_space(dset);
        assert_true(H5Dget_num_chunks(dset, fs, &nchunks) >= 0 && nchunks > 0);
        haddr_t addr[64];
        hsize_t size[64], first[2];
        unsigned char head[64][8]; /* each chunk's first bytes, read through HDF5 */
        for (hsize_t k = 0; k < nchunks && k < 64; k++) {
            hsize_t off[2];
            unsigned mask;
            assert_true(H5Dget_chunk_info(dset, fs, k, off, &mask, &addr[k], &size[k]) >= 0);
            unsigned char *raw = malloc(size[k]);
            size_t got = size[k];
            assert_true(iti_h5_read_chunk(dset, off, &(uint32_t){0}, raw, &got) >= 0);
            memcpy(head[k], raw, 8);
            free(raw);
            if (k == 0)
                memcpy(first, off, sizeof first);
        }
        H5Sclose(fs);
        hsize_t user_block = 0;
        hid_t fcpl = H5Fget_create_plist(f);
        assert_true(H5Pget_userblock(fcpl, &user_block) >= 0 && user_block == 4096);
        H5Pclose(fcpl);
        it_codec_info info;
        assert_int_equal(it_compression_info((it_compression)c, &info), 0);
        if (!info.needs_plugin) { /* HDF5 decodes it itself */
            hsize_t count[2] = {16, 16};
            hid_t space = H5Dget_space(dset), mem = H5Screate_simple(2, count, NULL);
            float block[16 * 16];
            H5Sselect_hyperslab(space, H5S_SELECT_SET, first, NULL, count, NULL);
            assert_true(H5Dread(dset, H5T_NATIVE_FLOAT, mem, space, H5P_DEFAULT, block) >= 0);
            H5Sclose(mem);
            H5Sclose(space);
        }
        H5Dclose(dset);
        H5Fclose(f);
        FILE *fp = fopen(path, "r+b");
        for (hsize_t k = 0; k < nchunks && k < 64; k++) { /* a bit at a different place each */
            /* HDF5 1.10 gives chunk addresses from the end of the user block, later releases
             * from the start of the file: the chunk's own bytes say which */
            unsigned char at_file[8] = {0};
            fseek(fp, (long)addr[k], SEEK_SET);
            size_t got = fread(at_file, 1, 8, fp);
            hsize_t base = got == 8 && memcmp(at_file, head[k], 8) == 0 ? 0 : user_block;
            long at = (long)(base + addr[k] + (k * 37) % size[k]);
            fseek(fp, at, SEEK_SET);
            int byte = fgetc(fp);
            fseek(fp, at, SEEK_SET);
            fputc(byte ^ (1 << k % 8), fp);
        }
        fclose(fp);
        s = open_store(IT_HDF5_READONLY);
        damage_count d = {NULL, 0, 0};
        assert_int_equal(it_tensor_open(s, "base", 0, &d.t), 0);
        assert_int_equal(it_tensor_foreach_chunk(d.t, read_damaged, &d), 0);
        print_message("%s: %d of %d damaged chunks refused\n",
                      it_compression_name((it_compression)c), d.refused, d.chunks);
        assert_int_equal(d.chunks, (int)(nchunks < 64 ? nchunks : 64));
        assert_int_equal(d.refused, d.chunks);
        assert_int_equal(it_store_close(s), 0);
    }
}

int main(void) {
#define T(name) cmocka_unit_test(name)
    const struct CMUnitTest tests[] = {
        T(test_checksums_catch_damage),
        T(test_mismatch_shape),        T(test_mismatch_rank),        T(test_mismatch_dtype),
        T(test_mismatch_window_size),  T(test_mismatch_window_stride), T(test_mismatch_window_offset),
        T(test_mismatch_window_map),   T(test_mismatch_blend),       T(test_mismatch_blend_init),
        T(test_mismatch_chunk),        T(test_mismatch_fn_tag),      T(test_mismatch_args),
        T(test_reconnect_and_readonly), T(test_list_delete_clear),   T(test_bad_files),
        T(test_range_edges),           T(test_index_past_end_of_allocation),
        T(test_corrupt_metadata),      T(test_format_version_1),     T(test_one_writer_per_file),
        T(test_locked_by_another_process), T(test_default_chunk_takes_stored_shape),
        T(test_codecs),
    };
    return cmocka_run_group_tests_name("hdf5_store", tests, setup, teardown);
}
