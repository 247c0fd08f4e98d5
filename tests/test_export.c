/* Exporters: HDF5 exports equal it_tensor_read (steps, negative coordinates, every dtype,
 * chunked and contiguous), dimension scales and attributes, mmap of contiguous exports, bounded
 * memory, failure behaviour; PNG previews decoded back with libpng. */
#include <fcntl.h>
#include <png.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <hdf5.h>
#include <hdf5_hl.h>

#include "test_util.h"

static char out[256], store_path[256];

static int setup(void **state) {
    (void)state;
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(out, sizeof out, "%s/it-export-%d.h5", tmp, (int)getpid());
    snprintf(store_path, sizeof store_path, "%s/it-export-store-%d.h5", tmp, (int)getpid());
    unlink(out);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    unlink(out);
    unlink(store_path);
    return 0;
}

typedef struct env {
    it_ctx *ctx;
    it_store *store;
    golden_gen gen;
} env;

static env *open_env(size_t budget) {
    env *e = calloc(1, sizeof *e);
    it_ctx_options co;
    it_ctx_options_init(&co);
    co.memory_budget = budget;
    assert_int_equal(it_ctx_create(&co, &e->ctx), 0);
    assert_int_equal(it_store_open_memory(e->ctx, NULL, &e->store), 0);
    return e;
}

static void close_env(env *e) {
    it_store_close(e->store);
    it_ctx_destroy(e->ctx);
    free(e);
}

/* Overlapping windows 6x6 stride 4 (blended), chunks 10: a real evaluation. */
static it_tensor *make(env *e, it_dtype dtype, const char *id) {
    int64_t size[2] = {6, 6};
    it_tensor_desc d;
    it_tensor_desc_init(&d, 2);
    d.id = id;
    d.shape[0] = d.shape[1] = IT_INF;
    it_window_init(&d.window, 2, size);
    d.window.stride[0] = d.window.stride[1] = 4;
    d.chunk[0] = d.chunk[1] = 10;
    d.dtype = dtype;
    d.fn = golden_fn;
    d.user = &e->gen;
    it_tensor *t;
    if (it_tensor_create(e->store, &d, &t))
        fail_msg("%s", it_last_error());
    return t;
}

static void *read_h5(const char *path, const char *name, it_dtype t, size_t n) {
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
    assert_true(ds >= 0);
    void *buf = malloc(n * it_dtype_size(t) + 1);
    hid_t mt = t == IT_F32 ? H5T_NATIVE_FLOAT : t == IT_F64 ? H5T_NATIVE_DOUBLE
             : t == IT_I8 ? H5T_NATIVE_INT8 : t == IT_I16 ? H5T_NATIVE_INT16
             : t == IT_I32 ? H5T_NATIVE_INT32 : t == IT_I64 ? H5T_NATIVE_INT64
             : t == IT_U8 ? H5T_NATIVE_UINT8 : t == IT_U16 ? H5T_NATIVE_UINT16
             : t == IT_U32 ? H5T_NATIVE_UINT32 : H5T_NATIVE_UINT64;
    assert_true(H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0);
    H5Dclose(ds);
    H5Fclose(f);
    return buf;
}

static void test_values_all_dtypes_steps(void **state) {
    (void)state;
    env *e = open_env(0);
    int64_t s[2] = {-37, -20}, st[2] = {41, 33}, step[2] = {3, 2};
    it_region r;
    it_region_set(&r, 2, s, st, step);
    size_t n;
    it_region_count(&r, &n);
    for (int t = 0; t < IT_DTYPE_COUNT; t++) {
        char id[16];
        snprintf(id, sizeof id, "t%d", t);
        it_tensor *x = make(e, (it_dtype)t, id);
        size_t es = it_dtype_size((it_dtype)t);
        void *want = malloc(n * es);
        assert_int_equal(it_tensor_read(x, &r, want, n * es), 0);
        for (int layout = 0; layout < 3; layout++) {
            it_export_options o;
            it_export_options_init(&o);
            o.contiguous = layout == 1;
            o.chunk[0] = layout == 2 ? 7 : 0; /* chunks the slabs do not align with */
            o.chunk[1] = layout == 2 ? 5 : 0;
            o.overwrite = 1;
            char name[32];
            snprintf(name, sizeof name, "g%d/%s", layout, id);
            it_export_info info;
            if (it_export_hdf5(x, &r, out, name, &o, &info))
                fail_msg("%s layout %d: %s", id, layout, it_last_error());
            assert_int_equal(info.shape[0], 26);
            assert_int_equal(info.shape[1], 27);
            void *got = read_h5(out, name, (it_dtype)t, n);
            if (memcmp(got, want, n * es))
                fail_msg("dtype %s layout %d differs", it_dtype_name((it_dtype)t), layout);
            free(got);
        }
        free(want);
    }
    close_env(e);
}

static void test_scales_and_attributes(void **state) {
    (void)state;
    env *e = open_env(0);
    it_tensor *x = make(e, IT_F32, "field");
    it_region r = region2(-5, 5, 10, 30);
    r.step[1] = 4;
    assert_int_equal(it_export_hdf5(x, &r, out, "field", NULL, NULL), 0);
    hid_t f = H5Fopen(out, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t ds = H5Dopen2(f, "field", H5P_DEFAULT);
    assert_int_equal(H5DSget_num_scales(ds, 0), 1);
    assert_int_equal(H5DSget_num_scales(ds, 1), 1);
    int64_t y[10], xs[5];
    hid_t sy = H5Dopen2(f, "y", H5P_DEFAULT), sx = H5Dopen2(f, "x", H5P_DEFAULT);
    assert_true(H5DSis_scale(sy) > 0 && H5DSis_attached(ds, sy, 0) > 0 && H5DSis_attached(ds, sx, 1) > 0);
    H5Dread(sy, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, y);
    H5Dread(sx, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, xs);
    assert_int_equal(y[0], -5);
    assert_int_equal(y[9], 4);
    assert_int_equal(xs[0], 10);
    assert_int_equal(xs[4], 26);
    int64_t origin[2], step[2];
    H5LTget_attribute_long_long(f, "field", "origin", (long long *)origin);
    H5LTget_attribute_long_long(f, "field", "region_step", (long long *)step);
    assert_int_equal(origin[0], -5);
    assert_int_equal(origin[1], 10);
    assert_int_equal(step[1], 4);
    assert_true(H5Aexists(ds, "_FillValue") > 0);
    assert_true(H5Aexists(ds, "source_tensor") > 0);
    H5Dclose(sy);
    H5Dclose(sx);
    H5Dclose(ds);
    H5Fclose(f);
    /* an absolute dataset path */
    assert_int_equal(it_export_hdf5(x, &r, out, "/abs", NULL, NULL), 0);
    /* a second export of the same coordinates shares the scales; different ones get own names */
    assert_int_equal(it_export_hdf5(x, &r, out, "again", NULL, NULL), 0);
    it_region r2 = region2(0, 10, 0, 5);
    assert_int_equal(it_export_hdf5(x, &r2, out, "other", NULL, NULL), 0);
    f = H5Fopen(out, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(H5Lexists(f, "y_other", H5P_DEFAULT) > 0);
    assert_true(H5Lexists(f, "y_again", H5P_DEFAULT) == 0);
    H5Fclose(f);
    close_env(e);
}

static void test_contiguous_mmap(void **state) {
    (void)state;
    env *e = open_env(0);
    it_tensor *x = make(e, IT_F64, "m");
    it_region r = region2(-100, 100, -64, 64);
    it_export_options o;
    it_export_options_init(&o);
    o.contiguous = 1;
    it_export_info info;
    assert_int_equal(it_export_hdf5(x, &r, out, "m", &o, &info), 0);
    assert_true(info.data_offset != UINT64_MAX);
    assert_int_equal(info.data_bytes, 200 * 128 * 8);
    double *want = malloc(info.data_bytes);
    assert_int_equal(it_tensor_read(x, &r, want, info.data_bytes), 0);
    int fd = open(out, O_RDONLY);
    struct stat st;
    fstat(fd, &st);
    assert_true((uint64_t)st.st_size >= info.data_offset + info.data_bytes);
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    assert_true(map != MAP_FAILED);
    assert_memory_equal((char *)map + info.data_offset, want, info.data_bytes);
    munmap(map, (size_t)st.st_size);
    close(fd);
    free(want);
    close_env(e);
}

static void test_memory_bound(void **state) {
    (void)state;
    const size_t budget = (size_t)8 << 20;
    env *e = open_env(budget);
    it_store_close(e->store);
    it_memory_store_options so;
    it_memory_store_options_init(&so);
    so.cache_bytes = budget;
    assert_int_equal(it_store_open_memory(e->ctx, &so, &e->store), 0);
    it_tensor *x = make(e, IT_F32, "big");
    it_region r = region2(0, 4096, -1024, 1024); /* 32 MiB: 4 budgets */
    size_t before, peak;
    it_memory_stats(&before, NULL);
    it_memory_reset_peak();
    assert_int_equal(it_export_hdf5(x, &r, out, "big", NULL, NULL), 0);
    it_memory_stats(NULL, &peak);
    print_message("export of 32 MiB: peak library allocation %zu KiB (store limit + budget = %zu KiB)\n",
                  (peak - before) >> 10, (2 * budget) >> 10);
    assert_true(peak - before <= 2 * budget);
    /* values: spot-check a few rows against reads */
    float *got = read_h5(out, "big", IT_F32, 4096 * 2048);
    it_region row = region2(1500, 1501, -1024, 1024);
    float want[2048];
    assert_int_equal(it_tensor_read(x, &row, want, sizeof want), 0);
    assert_memory_equal(got + 1500 * 2048, want, sizeof want);
    free(got);
    close_env(e);
}

/* A pipeline whose intermediate is transient: base (overlapping windows) under a 3x3 box. */
static it_tensor *transient_pipeline(env *e, it_tensor **base) {
    it_tensor_desc d;
    golden_overlap_desc(&d, &e->gen);
    d.id = "base";
    d.flags = IT_TENSOR_TRANSIENT;
    assert_int_equal(it_tensor_create(e->store, &d, base), 0);
    it_window aw;
    box3_desc(&d, base, &aw, &e->gen);
    d.id = "top";
    it_tensor *top;
    assert_int_equal(it_tensor_create(e->store, &d, &top), 0);
    return top;
}

/* An export walks its region once, like a read: the transient intermediate's windows are each
 * computed once, as many as a read of the same region computes, over many blocks. */
static void test_export_walks_once(void **state) {
    (void)state;
    const size_t budget = (size_t)4 << 20;
    it_region r = region2(0, 1024, -512, 512); /* 4 MiB of f32: many blocks of this budget */
    it_tensor *base;
    env *e = open_env(budget);
    it_tensor *top = transient_pipeline(e, &base);
    void *buf = malloc((size_t)1024 * 1024 * 4);
    assert_int_equal(it_tensor_read(top, &r, buf, (size_t)1024 * 1024 * 4), 0);
    it_tensor_counters by_read;
    it_tensor_get_counters(base, &by_read);
    close_env(e);
    e = open_env(budget);
    top = transient_pipeline(e, &base);
    it_export_options o;
    it_export_options_init(&o);
    it_export_info info;
    assert_int_equal(it_export_hdf5(top, &r, out, "data", &o, &info), 0);
    it_tensor_counters by_export;
    it_tensor_get_counters(base, &by_export);
    print_message("intermediate windows computed: %llu by the export, %llu by a read\n",
                  (unsigned long long)by_export.windows_computed,
                  (unsigned long long)by_read.windows_computed);
    assert_true(by_export.windows_computed <= by_read.windows_computed);
    float *got = read_h5(out, "data", IT_F32, (size_t)1024 * 1024);
    assert_memory_equal(got, buf, (size_t)1024 * 1024 * 4);
    free(got);
    free(buf);
    close_env(e);
}

static int fail_fn(const it_window_batch *b, void *user) {
    (void)user;
    return b->index[0] > 3 ? 99 : golden_fn(b, NULL);
}

static void test_failures_leave_files_alone(void **state) {
    (void)state;
    unlink(out);
    env *e = open_env(0);
    it_tensor *x = make(e, IT_F32, "ok");
    it_region r = region2(0, 40, 0, 40);
    /* callback failure into a new file: no file left */
    int64_t size[2] = {8, 8};
    it_tensor_desc d;
    it_tensor_desc_init(&d, 2);
    d.id = "bad";
    d.shape[0] = d.shape[1] = IT_INF;
    it_window_init(&d.window, 2, size);
    d.fn = fail_fn;
    it_tensor *bad;
    assert_int_equal(it_tensor_create(e->store, &d, &bad), 0);
    assert_int_equal(it_export_hdf5(bad, &r, out, "bad", NULL, NULL), IT_ECALLBACK);
    assert_true(access(out, F_OK) != 0);
    char tmpname[300];
    snprintf(tmpname, sizeof tmpname, "%s.tmp-%d", out, (int)getpid());
    assert_true(access(tmpname, F_OK) != 0);
    /* into an existing file: the partial dataset is removed, the others stay */
    assert_int_equal(it_export_hdf5(x, &r, out, "ok", NULL, NULL), 0);
    assert_int_equal(it_export_hdf5(bad, &r, out, "bad", NULL, NULL), IT_ECALLBACK);
    hid_t f = H5Fopen(out, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(H5Lexists(f, "bad", H5P_DEFAULT) == 0);
    assert_true(H5Lexists(f, "ok", H5P_DEFAULT) > 0);
    H5Fclose(f);
    /* existing dataset without overwrite; bad arguments; a path that is not HDF5 */
    assert_int_equal(it_export_hdf5(x, &r, out, "ok", NULL, NULL), IT_EEXIST);
    it_region empty = region2(0, 0, 0, 4);
    assert_int_equal(it_export_hdf5(x, &empty, out, "e", NULL, NULL), IT_EINVAL);
    assert_int_equal(it_export_hdf5(x, &r, out, "", NULL, NULL), IT_EINVAL);
    assert_int_equal(it_export_hdf5(NULL, &r, out, "x", NULL, NULL), IT_EINVAL);
    it_export_options o;
    it_export_options_init(&o);
    o.compression_level = 12;
    assert_int_equal(it_export_hdf5(x, &r, out, "x", &o, NULL), IT_EINVAL);
    char text[300];
    snprintf(text, sizeof text, "%s.txt", out);
    FILE *tf = fopen(text, "w");
    fputs("not hdf5\n", tf);
    fclose(tf);
    assert_int_equal(it_export_hdf5(x, &r, text, "x", NULL, NULL), IT_EFORMAT);
    unlink(text);
    close_env(e);
}

/* A stored tensor without function: missing chunks are refused before the output exists. */
static void test_readonly_missing_chunks(void **state) {
    (void)state;
    unlink(out);
    it_ctx *ctx;
    it_store *s;
    golden_gen gen = {0};
    assert_int_equal(it_ctx_create(NULL, &ctx), 0);
    assert_int_equal(it_store_open_hdf5(ctx, store_path, IT_HDF5_CREATE, NULL, &s), 0);
    int64_t size[2] = {8, 8};
    it_tensor_desc d;
    it_tensor_desc_init(&d, 2);
    d.id = "stored";
    d.shape[0] = d.shape[1] = IT_INF;
    it_window_init(&d.window, 2, size);
    d.chunk[0] = d.chunk[1] = 8;
    d.fn = golden_fn;
    d.user = &gen;
    it_tensor *t;
    assert_int_equal(it_tensor_create(s, &d, &t), 0);
    it_region part = region2(0, 16, 0, 16);
    assert_int_equal(it_tensor_fill(t, &part), 0);
    it_store_close(s);
    assert_int_equal(it_store_open_hdf5(ctx, store_path, IT_HDF5_READONLY, NULL, &s), 0);
    assert_int_equal(it_tensor_open(s, "stored", 0, &t), 0);
    it_region more = region2(0, 32, 0, 16);
    assert_int_equal(it_export_hdf5(t, &more, out, "x", NULL, NULL), IT_ENOTCOMPUTED);
    assert_true(access(out, F_OK) != 0);
    /* Regions of billions of chunks are refused from the arithmetic and the store's listing
     * (asking per chunk took minutes): rows [1, 2^30), columns every 4th (every chunk) or
     * every 20th (one chunk in two or three) of [-33, 152) and [0, 400). */
    it_region huge = region2(1, (int64_t)1 << 30, -33, 152);
    huge.step[1] = 4;
    assert_int_equal(it_export_hdf5(t, &huge, out, "x", NULL, NULL), IT_ENOTCOMPUTED);
    assert_non_null(strstr(it_last_error(), " 3221225468 chunk(s)")); /* 2^27 x 24, 4 stored */
    huge = region2(1, (int64_t)1 << 30, 0, 400);
    huge.step[1] = 20;
    assert_int_equal(it_export_hdf5(t, &huge, out, "x", NULL, NULL), IT_ENOTCOMPUTED);
    assert_non_null(strstr(it_last_error(), " 2684354558 chunk(s)")); /* 2^27 x 20, 2 stored */
    assert_true(access(out, F_OK) != 0);
    assert_int_equal(it_export_hdf5(t, &part, out, "x", NULL, NULL), 0);
    it_tensor_release(t);
    assert_int_equal(it_tensor_open(s, "stored", IT_OPEN_FILL_MISSING, &t), 0);
    it_export_options o;
    it_export_options_init(&o);
    o.overwrite = 1;
    if (it_export_hdf5(t, &more, out, "x", &o, NULL))
        fail_msg("%s", it_last_error());
    it_store_close(s);
    it_ctx_destroy(ctx);
}

/* ---- PNG ---- */

static unsigned char *read_png(const char *path, int *w, int *h, int *channels) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png)))
        fail_msg("libpng could not decode %s", path);
    png_init_io(png, f);
    png_read_info(png, info);
    *w = (int)png_get_image_width(png, info);
    *h = (int)png_get_image_height(png, info);
    *channels = png_get_channels(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    unsigned char *px = malloc(rowbytes * (size_t)*h);
    for (int y = 0; y < *h; y++)
        png_read_row(png, px + (size_t)y * rowbytes, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    fclose(f);
    return px;
}

/* The text of the PNG's text chunk `key` (malloc'd), or NULL. */
static char *png_text_of(const char *path, const char *key) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    png_structp rd = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(rd);
    if (setjmp(png_jmpbuf(rd)))
        fail_msg("libpng could not read %s", path);
    png_init_io(rd, f);
    png_read_info(rd, info);
    png_textp text;
    int ntext = 0;
    char *found = NULL;
    png_get_text(rd, info, &text, &ntext);
    for (int i = 0; i < ntext && !found; i++)
        if (strcmp(text[i].key, key) == 0)
            found = strdup(text[i].text);
    png_destroy_read_struct(&rd, &info, NULL);
    fclose(f);
    return found;
}

/* Row 0: 0 1 2 3 4; row 1: 0 NaN 2 3 4 (a (2, 5) tensor, one window). */
static int ramp_with_nan(const it_window_batch *b, void *user) {
    (void)user;
    float *v = b->out[0];
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 5; x++)
            v[y * 5 + x] = y == 1 && x == 1 ? NAN : (float)x;
    return 0;
}

/* Colour-map pixels at the stops, and NaN black in grayscale and in colour. */
static void test_png_colours_and_nan(void **state) {
    (void)state;
    env *e = open_env(0);
    int64_t shape[2] = {2, 5};
    it_tensor_desc d;
    it_tensor_desc_init(&d, 2);
    d.id = "ramp";
    memcpy(d.shape, shape, sizeof shape);
    it_window_init(&d.window, 2, shape);
    d.fn = ramp_with_nan;
    it_tensor *t;
    assert_int_equal(it_tensor_create(e->store, &d, &t), 0);
    it_region r = region2(0, 2, 0, 5);
    char png[300];
    snprintf(png, sizeof png, "%s.png", out);
    int w, h, c;
    /* grayscale: the range is [0, 4] (NaN ignored); value v is round(v / 4 * 255) */
    assert_int_equal(it_preview_png(t, &r, png, NULL), 0);
    unsigned char *px = read_png(png, &w, &h, &c);
    assert_int_equal(c, 1);
    static const unsigned char gray[5] = {0, 64, 128, 191, 255};
    for (int x = 0; x < 5; x++) {
        assert_int_equal(px[x], gray[x]);
        assert_int_equal(px[5 + x], x == 1 ? 0 : gray[x]);
    }
    free(px);
    /* viridis: 0, 1, 2, 3, 4 take entries 0, 64, 128, 192 and 255 of matplotlib's table */
    static const unsigned char viridis[5][3] = {
        {68, 1, 84}, {58, 82, 139}, {32, 144, 140}, {94, 201, 97}, {253, 231, 36}};
    it_preview_options o;
    it_preview_options_init(&o);
    o.colormap = IT_COLORMAP_VIRIDIS;
    assert_int_equal(it_preview_png(t, &r, png, &o), 0);
    px = read_png(png, &w, &h, &c);
    assert_int_equal(c, 3);
    for (int x = 0; x < 5; x++) {
        assert_memory_equal(px + x * 3, viridis[x], 3);
        static const unsigned char black[3] = {0, 0, 0};
        assert_memory_equal(px + 15 + x * 3, x == 1 ? black : viridis[x], 3);
    }
    free(px);
    unlink(png);
    close_env(e);
}

/* A stepped region with averaging: each pixel is the mean of its step x step box of values
 * (against means computed here from a full-resolution read), a colour bar under it, and text
 * chunks naming what the image shows. */
static void test_png_average_bar_and_text(void **state) {
    (void)state;
    env *e = open_env(0);
    it_tensor *x = make(e, IT_F32, "img");
    char png[300];
    snprintf(png, sizeof png, "%s.png", out);
    it_region full = region2(-10, 20, 5, 45), r = full; /* boxes of 3 x 4: 10 x 10 pixels */
    r.step[0] = 3, r.step[1] = 4;
    float v[30 * 40], mean[100];
    assert_int_equal(it_tensor_read(x, &full, v, sizeof v), 0);
    float lo = INFINITY, hi = -INFINITY;
    for (int by = 0; by < 10; by++)
        for (int bx = 0; bx < 10; bx++) {
            double sum = 0;
            for (int y = 0; y < 3; y++)
                for (int xx = 0; xx < 4; xx++)
                    sum += v[(by * 3 + y) * 40 + bx * 4 + xx];
            float m = (float)(sum / 12);
            mean[by * 10 + bx] = m;
            lo = m < lo ? m : lo, hi = m > hi ? m : hi;
        }
    it_preview_options o;
    it_preview_options_init(&o);
    o.average = 1;
    o.colorbar = 1;
    assert_int_equal(it_preview_png(x, &r, png, &o), 0);
    int w, h, c;
    unsigned char *px = read_png(png, &w, &h, &c);
    assert_int_equal(w, 10);
    assert_int_equal(h, 10 + 23); /* the bar: 2 white rows, the ramp (8), ticks (3), labels */
    assert_int_equal(c, 1);
    for (int i = 0; i < 100; i++)
        assert_int_equal(px[i], (int)lround(((double)mean[i] - lo) / ((double)hi - lo) * 255));
    assert_int_equal(px[10 * 10], 255);
    assert_int_equal(px[12 * 10], 0);
    assert_int_equal(px[12 * 10 + 9], 255);
    free(px);
    /* the text chunks */
    const char *want[4][2] = {{"infinite-tensor:tensor", "img"},
                              {"infinite-tensor:region", "-10:20:3,5:45:4"},
                              {"infinite-tensor:colormap", "gray"},
                              {"infinite-tensor:range", NULL}};
    for (int k = 0; k < 4; k++) {
        char *text = png_text_of(png, want[k][0]);
        assert_non_null(text);
        if (want[k][1])
            assert_string_equal(text, want[k][1]);
        else
            assert_non_null(strchr(text, ':'));
        free(text);
    }
    /* without averaging the same region samples one value per box */
    o.average = 0;
    o.colorbar = 0;
    assert_int_equal(it_preview_png(x, &r, png, &o), 0);
    px = read_png(png, &w, &h, &c);
    assert_int_equal(h, 10);
    free(px);
    unlink(png);
    close_env(e);
}

/* 0 and 1 of the 5x7 font, top rows first (bit 4 the leftmost pixel). */
static const unsigned char digit_0[7] = {0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e};
static const unsigned char digit_1[7] = {0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e};

/* Whether the 5x7 glyph stands with its top-left corner at (x, y) of a gray image. */
static bool glyph_at(const unsigned char *px, int w, int x, int y, const unsigned char *rows) {
    for (int r = 0; r < 7; r++)
        for (int c = 0; c < 5; c++)
            if ((px[(y + r) * w + x + c] == 0) != ((rows[r] >> (4 - c)) & 1))
                return false;
    return true;
}

/* The colour bar's ticks: at the range's ends and round values between, marked under the ramp
 * and labelled, recorded in the text chunk "infinite-tensor:ticks". */
static void test_png_colorbar_ticks(void **state) {
    (void)state;
    env *e = open_env(0);
    it_tensor *x = make(e, IT_F32, "img");
    char png[300];
    snprintf(png, sizeof png, "%s.png", out);
    it_region r = region2(0, 40, 0, 200);
    it_preview_options o;
    it_preview_options_init(&o);
    o.colorbar = 1;
    o.fixed_range = 1;
    o.vmin = 0, o.vmax = 100;
    assert_int_equal(it_preview_png(x, &r, png, &o), 0);
    int w, h, c;
    unsigned char *px = read_png(png, &w, &h, &c);
    assert_int_equal(w, 200);
    assert_int_equal(h, 40 + 23);
    int ticks_row = 40 + 2 + 8, label_row = ticks_row + 3 + 1;
    for (int v = 0; v <= 100; v += 20) {
        int at = (int)lround(v / 100.0 * 199);
        for (int y = ticks_row; y < ticks_row + 3; y++)
            assert_int_equal(px[y * w + at], 0);
        assert_int_equal(px[ticks_row * w + at + 2], 255); /* a mark, not a line */
    }
    assert_true(glyph_at(px, w, 0, label_row, digit_0));                  /* "0" at the left */
    assert_true(glyph_at(px, w, 200 - 17, label_row, digit_1));          /* "100" at the right */
    assert_true(glyph_at(px, w, 200 - 5, label_row, digit_0));
    assert_true(glyph_at(px, w, (int)lround(0.2 * 199) - 5, label_row + 0, (const unsigned char[7]){
        0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f}));                      /* the 2 of "20" */
    free(px);
    char *ticks = png_text_of(png, "infinite-tensor:ticks");
    assert_non_null(ticks);
    assert_string_equal(ticks, "0,20,40,60,80,100");
    free(ticks);
    /* a range narrow for its magnitude: the ends only (round values between would not be told
     * apart in doubles) */
    o.vmin = 1e20, o.vmax = 1e20 + 65536;
    assert_int_equal(it_preview_png(x, &r, png, &o), 0);
    ticks = png_text_of(png, "infinite-tensor:ticks");
    assert_non_null(ticks);
    assert_string_equal(ticks, "1e+20,1e+20"); /* %.9g, as the range chunk */
    free(ticks);
    unlink(png);
    close_env(e);
}

static void test_png(void **state) {
    (void)state;
    env *e = open_env(0);
    it_tensor *x = make(e, IT_F32, "img");
    char png[300];
    snprintf(png, sizeof png, "%s.png", out);
    it_region r = region2(-10, 20, 5, 45); /* 30 x 40 */
    float v[1200];
    assert_int_equal(it_tensor_read(x, &r, v, sizeof v), 0);
    float lo = v[0], hi = v[0];
    for (int i = 0; i < 1200; i++)
        lo = v[i] < lo ? v[i] : lo, hi = v[i] > hi ? v[i] : hi;
    assert_int_equal(it_preview_png(x, &r, png, NULL), 0);
    int w, h, c;
    unsigned char *px = read_png(png, &w, &h, &c);
    assert_int_equal(w, 40);
    assert_int_equal(h, 30);
    assert_int_equal(c, 1);
    for (int i = 0; i < 1200; i += 97)
        assert_int_equal(px[i], (int)lround((v[i] - lo) / (hi - lo) * 255));
    free(px);
    /* fixed range and a colour map give RGB */
    it_preview_options o;
    it_preview_options_init(&o);
    o.colormap = IT_COLORMAP_TERRAIN;
    o.fixed_range = 1;
    o.vmin = -200, o.vmax = 200;
    assert_int_equal(it_preview_png(x, &r, png, &o), 0);
    px = read_png(png, &w, &h, &c);
    assert_int_equal(c, 3);
    free(px);
    /* (3, H, W) planar RGB */
    int64_t size[3] = {3, 4, 4};
    it_tensor_desc d;
    it_tensor_desc_init(&d, 3);
    d.id = "rgb";
    d.shape[0] = 3, d.shape[1] = d.shape[2] = IT_INF;
    it_window_init(&d.window, 3, size);
    d.dtype = IT_U8;
    d.fn = golden_fn;
    it_tensor *rgb;
    assert_int_equal(it_tensor_create(e->store, &d, &rgb), 0);
    it_region r3;
    int64_t s3[3] = {0, 0, 0}, e3[3] = {3, 8, 12};
    it_region_set(&r3, 3, s3, e3, NULL);
    uint8_t raw[3 * 8 * 12];
    assert_int_equal(it_tensor_read(rgb, &r3, raw, sizeof raw), 0);
    o.colormap = IT_COLORMAP_GRAY;
    o.vmin = 0, o.vmax = 255;
    assert_int_equal(it_preview_png(rgb, &r3, png, &o), 0);
    px = read_png(png, &w, &h, &c);
    assert_int_equal(w, 12);
    assert_int_equal(h, 8);
    assert_int_equal(c, 3);
    for (int p = 0; p < 96; p += 7)
        for (int ch = 0; ch < 3; ch++)
            assert_int_equal(px[p * 3 + ch], raw[ch * 96 + p]);
    free(px);
    /* (H, W, 3) interleaved RGB */
    int64_t hw3[3] = {4, 4, 3};
    it_tensor_desc_init(&d, 3);
    d.id = "hw3";
    d.shape[0] = d.shape[1] = IT_INF, d.shape[2] = 3;
    it_window_init(&d.window, 3, hw3);
    d.dtype = IT_U8;
    d.fn = golden_fn;
    it_tensor *hw;
    assert_int_equal(it_tensor_create(e->store, &d, &hw), 0);
    int64_t s5[3] = {-4, 0, 0}, e5[3] = {6, 7, 3};
    it_region_set(&r3, 3, s5, e5, NULL);
    uint8_t inter[10 * 7 * 3];
    assert_int_equal(it_tensor_read(hw, &r3, inter, sizeof inter), 0);
    assert_int_equal(it_preview_png(hw, &r3, png, &o), 0);
    px = read_png(png, &w, &h, &c);
    assert_int_equal(w, 7);
    assert_int_equal(h, 10);
    assert_int_equal(c, 3);
    assert_memory_equal(px, inter, sizeof inter);
    free(px);
    /* 3-D regions of other shapes are refused */
    int64_t e4[3] = {2, 8, 12};
    it_region_set(&r3, 3, s3, e4, NULL);
    assert_int_equal(it_preview_png(rgb, &r3, png, NULL), IT_EINVAL);
    unlink(png);
    close_env(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_all_dtypes_steps),
        cmocka_unit_test(test_scales_and_attributes),
        cmocka_unit_test(test_contiguous_mmap),
        cmocka_unit_test(test_memory_bound),
        cmocka_unit_test(test_export_walks_once),
        cmocka_unit_test(test_failures_leave_files_alone),
        cmocka_unit_test(test_readonly_missing_chunks),
        cmocka_unit_test(test_png),
        cmocka_unit_test(test_png_average_bar_and_text),
        cmocka_unit_test(test_png_colorbar_ticks),
        cmocka_unit_test(test_png_colours_and_nan),
    };
    return cmocka_run_group_tests_name("export", tests, setup, teardown);
}
