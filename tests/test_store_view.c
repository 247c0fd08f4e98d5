/* The view for viewers (io/FORMAT.md, "Group view"): after every commit, /tensors/<id>/view
 * holds a virtual dataset over the bounding box of the computed chunks whose values are the
 * stored ones (the fill value where a chunk inside the box was never computed), dimension
 * scales of pixel coordinates attached to it, and the attributes viewers read. Checked with
 * HDF5's own reader, opened as another program would (sec2 driver, no file locks), while the
 * writer keeps the store open and after it reopens it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <hdf5.h>
#include <hdf5_hl.h>

#include "test_util.h"

static char path[256];

static int setup(void **state) {
    (void)state;
    temp_store_path(path, sizeof path, "store-view", (long)getpid());
    unlink(path);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    unlink(path);
    return 0;
}

typedef struct writer {
    it_ctx *ctx;
    it_store *store;
    it_tensor *t;
    golden_gen gen;
} writer;

/* Opens the store (create: a new one) and tensor "t" of desc (the golden overlap tensor when
 * desc is NULL). */
static void open_writer(writer *w, bool create, const it_tensor_desc *desc) {
    assert_int_equal(it_ctx_create(NULL, &w->ctx), 0);
    assert_int_equal(it_store_open_hdf5(w->ctx, path, create ? IT_HDF5_CREATE : IT_HDF5_READWRITE,
                                        NULL, &w->store), 0);
    it_tensor_desc d;
    if (desc) {
        d = *desc;
    } else {
        golden_overlap_desc(&d, &w->gen);
    }
    d.id = "t";
    assert_int_equal(it_tensor_get_or_create(w->store, &d, &w->t), 0);
}

static void close_writer(writer *w) {
    it_tensor_release(w->t);
    assert_int_equal(it_store_close(w->store), 0);
    it_ctx_destroy(w->ctx);
}

/* Computes the chunks of region [a0, b0) x [a1, b1). */
static void fill2(writer *w, int64_t a0, int64_t b0, int64_t a1, int64_t b1) {
    it_region r = region2(a0, b0, a1, b1);
    assert_int_equal(it_tensor_fill(w->t, &r), 0);
}

/* The file as another program opens it: HDF5's default driver, without file locks (the
 * writer's lock keeps HDF5's locking readers out while it runs). */
static hid_t open_as_viewer(void) {
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    assert_true(H5Pset_file_locking(fapl, 0, 1) >= 0);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    assert_true(f >= 0);
    return f;
}

typedef struct boxes {
    int64_t start[64][2], stop[64][2];
    size_t n;
} boxes;

static int collect(const int64_t *start, const int64_t *stop, void *user) {
    boxes *b = user;
    assert_true(b->n < 64);
    memcpy(b->start[b->n], start, 2 * sizeof *start);
    memcpy(b->stop[b->n], stop, 2 * sizeof *stop);
    b->n++;
    return 0;
}

/* What the view of a 2-D f32 tensor must hold over box [s, s + n): the stored chunks' values,
 * fill elsewhere. */
static float *expected_view(it_tensor *t, const int64_t *s, const int64_t *n, float fill) {
    float *want = malloc((size_t)(n[0] * n[1]) * sizeof *want);
    for (int64_t i = 0; i < n[0] * n[1]; i++)
        want[i] = fill;
    boxes b = {0};
    assert_int_equal(it_tensor_foreach_chunk(t, collect, &b), 0);
    for (size_t k = 0; k < b.n; k++) {
        int64_t h = b.stop[k][0] - b.start[k][0], wd = b.stop[k][1] - b.start[k][1];
        float *chunk = malloc((size_t)(h * wd) * sizeof *chunk);
        it_region r = region2(b.start[k][0], b.stop[k][0], b.start[k][1], b.stop[k][1]);
        assert_int_equal(it_tensor_read(t, &r, chunk, (size_t)(h * wd) * sizeof *chunk), 0);
        for (int64_t y = 0; y < h; y++)
            memcpy(&want[(b.start[k][0] - s[0] + y) * n[1] + (b.start[k][1] - s[1])],
                   &chunk[y * wd], (size_t)wd * sizeof *chunk);
        free(chunk);
    }
    return want;
}

/* Checks the view of 2-D f32 tensor "t" against box [s, s + n) and the tensor's values. */
static void check_view(it_tensor *t, const int64_t *s, const int64_t *n) {
    it_tensor_info info;
    it_tensor_get_info(t, &info);
    float *want = expected_view(t, s, n, (float)info.blend_init);
    hid_t f = open_as_viewer();
    hid_t ds = H5Dopen2(f, "/tensors/t/view/data", H5P_DEFAULT);
    assert_true(ds >= 0);
    hid_t dcpl = H5Dget_create_plist(ds), sp = H5Dget_space(ds);
    assert_int_equal(H5Pget_layout(dcpl), H5D_VIRTUAL);
    hsize_t dims[2];
    assert_int_equal(H5Sget_simple_extent_dims(sp, dims, NULL), 2);
    assert_int_equal(dims[0], (hsize_t)n[0]);
    assert_int_equal(dims[1], (hsize_t)n[1]);
    int64_t start[2];
    hid_t a = H5Aopen(ds, "start", H5P_DEFAULT);
    assert_true(H5Aread(a, H5T_NATIVE_INT64, start) >= 0);
    H5Aclose(a);
    assert_int_equal(start[0], s[0]);
    assert_int_equal(start[1], s[1]);
    float fill = -1;
    a = H5Aopen(ds, "_FillValue", H5P_DEFAULT);
    hid_t at = H5Aget_type(a), dt = H5Dget_type(ds);
    assert_true(H5Tequal(at, dt) > 0); /* CF: the data's own type */
    assert_true(H5Aread(a, H5T_NATIVE_FLOAT, &fill) >= 0);
    assert_true(fill == (float)info.blend_init);
    H5Tclose(at);
    H5Tclose(dt);
    H5Aclose(a);
    float *got = malloc((size_t)(n[0] * n[1]) * sizeof *got);
    assert_true(H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, got) >= 0);
    assert_memory_equal(got, want, (size_t)(n[0] * n[1]) * sizeof *got);
    for (int d = 0; d < 2; d++) { /* a scale of pixel coordinates on each dimension */
        char name[32], sname[16];
        snprintf(name, sizeof name, "/tensors/t/view/dim%d", d);
        hid_t sc = H5Dopen2(f, name, H5P_DEFAULT);
        assert_true(sc >= 0);
        assert_true(H5DSis_scale(sc) > 0);
        assert_true(H5DSis_attached(ds, sc, (unsigned)d) > 0);
        assert_int_equal(H5DSget_num_scales(ds, (unsigned)d), 1);
        assert_true(H5DSget_scale_name(sc, sname, sizeof sname) > 0);
        snprintf(name, sizeof name, "dim%d", d);
        assert_string_equal(sname, name);
        int64_t *coords = malloc((size_t)n[d] * sizeof *coords);
        hid_t ssp = H5Dget_space(sc);
        assert_int_equal(H5Sget_simple_extent_npoints(ssp), n[d]);
        assert_true(H5Dread(sc, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, coords) >= 0);
        for (int64_t i = 0; i < n[d]; i++)
            assert_int_equal(coords[i], s[d] + i);
        free(coords);
        H5Sclose(ssp);
        H5Dclose(sc);
    }
    free(got);
    free(want);
    H5Sclose(sp);
    H5Pclose(dcpl);
    H5Dclose(ds);
    H5Fclose(f);
}

/* Reads region r of the stored tensor "t" through a read-only open (it_tensor_open flags). */
static void read_stored(const it_region *r, unsigned flags, void *buf, size_t size) {
    it_ctx *ctx;
    it_store *s;
    it_tensor *t;
    assert_int_equal(it_ctx_create(NULL, &ctx), 0);
    assert_int_equal(it_store_open_hdf5(ctx, path, IT_HDF5_READONLY, NULL, &s), 0);
    assert_int_equal(it_tensor_open(s, "t", flags, &t), 0);
    assert_int_equal(it_tensor_read(t, r, buf, size), 0);
    it_tensor_release(t);
    assert_int_equal(it_store_close(s), 0);
    it_ctx_destroy(ctx);
}

static bool has_view(void) {
    hid_t f = open_as_viewer();
    htri_t yes = 0;
    H5E_BEGIN_TRY { /* before the first commit /tensors/t is not in the file either */
        yes = H5Lexists(f, "/tensors/t/view", H5P_DEFAULT);
    } H5E_END_TRY;
    H5Fclose(f);
    return yes > 0;
}

/* The box follows every commit: grown at its end (new coordinates appended), at its start
 * (coordinates rewritten), after the writer reopens the store, and removed once chunks lie
 * too far apart to view. */
static void test_view_follows_commits(void **state) {
    (void)state;
    writer w = {0};
    open_writer(&w, true, NULL);
    assert_false(has_view()); /* nothing computed: no view */
    fill2(&w, 0, 40, 0, 40);  /* chunks of 32: [0, 64) x [0, 64) */
    check_view(w.t, (int64_t[]){0, 0}, (int64_t[]){64, 64});
    fill2(&w, 100, 110, -50, -40); /* chunk (3, -2): down and to the left */
    check_view(w.t, (int64_t[]){0, -64}, (int64_t[]){128, 128});
    fill2(&w, 130, 131, 70, 71); /* at the end of both dimensions */
    check_view(w.t, (int64_t[]){0, -64}, (int64_t[]){160, 160});
    close_writer(&w);
    open_writer(&w, false, NULL);
    fill2(&w, 300, 301, 0, 1); /* the reopened writer extends the view it found */
    check_view(w.t, (int64_t[]){0, -64}, (int64_t[]){320, 160});
    fill2(&w, -1, 0, 0, 1);
    check_view(w.t, (int64_t[]){-32, -64}, (int64_t[]){352, 160});
    fill2(&w, 0, 1, (int64_t)1 << 25, ((int64_t)1 << 25) + 1); /* wider than any viewer shows */
    assert_false(has_view());
    fill2(&w, 0, 1, 100, 101);
    assert_false(has_view());
    close_writer(&w);
    assert_false(has_view());
}

/* Finite dimensions clip the box to the data set; integer tensors carry their fill value in
 * their own type. */
static void test_view_clips_finite_dimensions(void **state) {
    (void)state;
    int64_t win[2] = {10, 16};
    it_tensor_desc d;
    it_tensor_desc_init(&d, 2);
    d.shape[0] = 50;
    d.shape[1] = IT_INF;
    d.dtype = IT_I16;
    d.blend_init = -7;
    it_window_init(&d.window, 2, win);
    d.window.stride[0] = 20; /* windows leave gaps: pixels of blend_init inside the box */
    d.chunk[0] = 20;
    d.chunk[1] = 16;
    writer w = {0};
    d.fn = golden_fn;
    d.user = &w.gen;
    open_writer(&w, true, &d);
    fill2(&w, 30, 50, 0, 20);
    close_writer(&w);
    hid_t f = open_as_viewer();
    hid_t ds = H5Dopen2(f, "/tensors/t/view/data", H5P_DEFAULT), sp = H5Dget_space(ds);
    hsize_t dims[2];
    H5Sget_simple_extent_dims(sp, dims, NULL);
    assert_int_equal(dims[0], 30); /* chunks [20, 40) and [40, 60) clipped to 50 */
    assert_int_equal(dims[1], 32);
    hid_t a = H5Aopen(ds, "_FillValue", H5P_DEFAULT), at = H5Aget_type(a);
    int16_t fill = 0;
    assert_true(H5Tequal(at, H5T_STD_I16LE) > 0);
    assert_true(H5Aread(a, H5T_NATIVE_INT16, &fill) >= 0);
    assert_int_equal(fill, -7);
    int16_t got[30 * 32];
    assert_true(H5Dread(ds, H5T_NATIVE_INT16, H5S_ALL, H5S_ALL, H5P_DEFAULT, got) >= 0);
    H5Tclose(at);
    H5Aclose(a);
    H5Sclose(sp);
    H5Dclose(ds);
    H5Fclose(f);
    /* the same values through the library, reading what is stored */
    int16_t want[30 * 32];
    it_region r = region2(20, 50, 0, 32);
    read_stored(&r, IT_OPEN_FILL_MISSING, want, sizeof want);
    assert_memory_equal(got, want, sizeof want);
    assert_int_equal(want[10 * 32], -7); /* row 30 lies in a gap between windows */
}

/* A "view" this library did not write is replaced by the next commit; a deleted tensor takes
 * its view with it; read-only opens neither need nor touch it. */
static void test_foreign_view_is_replaced(void **state) {
    (void)state;
    writer w = {0};
    open_writer(&w, true, NULL);
    fill2(&w, 0, 1, 0, 1);
    close_writer(&w);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    assert_true(H5Ldelete(f, "/tensors/t/view", H5P_DEFAULT) >= 0);
    hsize_t one = 1;
    hid_t sp = H5Screate_simple(1, &one, NULL);
    hid_t ds = H5Dcreate2(f, "/tensors/t/view", H5T_NATIVE_INT, sp, H5P_DEFAULT, H5P_DEFAULT,
                          H5P_DEFAULT);
    H5Dclose(ds);
    H5Sclose(sp);
    H5Fclose(f);
    float v;
    it_region r = region2(0, 1, 0, 1);
    read_stored(&r, 0, &v, sizeof v);
    open_writer(&w, false, NULL);
    fill2(&w, 40, 41, 0, 1);
    check_view(w.t, (int64_t[]){0, 0}, (int64_t[]){64, 32});
    it_tensor_release(w.t);
    w.t = NULL;
    assert_int_equal(it_store_delete_tensor(w.store, "t"), 0);
    assert_int_equal(it_store_close(w.store), 0);
    it_ctx_destroy(w.ctx);
    f = open_as_viewer();
    assert_true(H5Lexists(f, "/tensors/t", H5P_DEFAULT) == 0);
    H5Fclose(f);
}

static int fill_ones(const it_window_batch *b, void *user) {
    (void)user;
    for (size_t i = 0; i < b->count; i++)
        memset(b->out[i], 1, 4 * 4 * sizeof(float));
    return 0;
}

/* A created store's long session: 102,400 chunks of 4x4 in one fill, in blocks whose commits
 * each move the view, so HDF5 evicts its own structures and reads them again through the file
 * driver, whose checks must find them where this session wrote them (they once looked for
 * them a user block too early and refused the store's own heap). */
static void test_long_session_of_a_created_store(void **state) {
    (void)state;
    it_tensor_desc d;
    int64_t w[2] = {4, 4};
    it_tensor_desc_init(&d, 2);
    d.shape[0] = d.shape[1] = IT_INF;
    it_window_init(&d.window, 2, w);
    d.chunk[0] = d.chunk[1] = 4;
    d.fn = fill_ones;
    writer wr = {0};
    open_writer(&wr, true, &d);
    fill2(&wr, 0, 1280, 0, 1280);
    it_tensor_stats st;
    assert_int_equal(it_tensor_get_stats(wr.t, &st), 0);
    assert_int_equal(st.chunks, 320 * 320);
    close_writer(&wr);
    hid_t f = open_as_viewer();
    hid_t ds = H5Dopen2(f, "/tensors/t/view/data", H5P_DEFAULT), sp = H5Dget_space(ds);
    hsize_t dims[2];
    H5Sget_simple_extent_dims(sp, dims, NULL);
    assert_int_equal(dims[0], 1280);
    assert_int_equal(dims[1], 1280);
    H5Sclose(sp);
    H5Dclose(ds);
    H5Fclose(f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_view_follows_commits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_view_clips_finite_dimensions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_view_is_replaced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_session_of_a_created_store, setup, teardown),
    };
    return cmocka_run_group_tests_name("store_view", tests, NULL, NULL);
}
