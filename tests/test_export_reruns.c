/* Exports a script can run twice and exports of partly computed tensors: IT_EXPORT_IF_IDENTICAL
 * succeeds without writing over the same export and refuses, naming the difference, over
 * another; the refusal says what to pass; never-computed chunks are written as the declared
 * _FillValue and counted, and integer exports without a fill value meeting them are refused. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <hdf5.h>

#include "test_util.h"

static char out[256], store_path[256];

static int setup(void **state) {
    (void)state;
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(out, sizeof out, "%s/it-reruns-%d.h5", tmp, (int)getpid());
    snprintf(store_path, sizeof store_path, "%s/it-reruns-store-%d.h5", tmp, (int)getpid());
    unlink(out);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    unlink(out);
    unlink(store_path);
    return 0;
}

/* The golden (inf, inf) f32 tensor `id` of store s; g->scale gives other values. */
static it_tensor *golden_tensor(it_store *s, const char *id, golden_gen *g) {
    it_tensor_desc d;
    golden_g2_desc(&d, g);
    d.id = id;
    it_tensor *t;
    assert_int_equal(it_tensor_create(s, &d, &t), 0);
    return t;
}

static void file_identity(struct stat *st) {
    assert_int_equal(stat(out, st), 0);
}

static void assert_same_file(const struct stat *a) {
    struct stat b;
    file_identity(&b);
    assert_true(a->st_ino == b.st_ino && a->st_size == b.st_size &&
                a->st_mtim.tv_sec == b.st_mtim.tv_sec && a->st_mtim.tv_nsec == b.st_mtim.tv_nsec);
}

static void test_if_identical(void **state) {
    (void)state;
    it_ctx *ctx;
    it_store *s;
    golden_gen same = {0}, twice = {.scale = 2};
    assert_int_equal(it_ctx_create(NULL, &ctx), 0);
    assert_int_equal(it_store_open_memory(ctx, NULL, &s), 0);
    it_tensor *t = golden_tensor(s, "field", &same);
    it_region r = region2(-20, 44, -13, 30);
    r.step[1] = 3;
    it_export_options o;
    it_export_options_init(&o);
    o.overwrite = IT_EXPORT_IF_IDENTICAL;
    it_export_info info;
    /* no file, then no such dataset: written */
    assert_int_equal(it_export_hdf5(t, &r, out, "data", &o, &info), 0);
    assert_int_equal(it_export_hdf5(t, &r, out, "other", &o, NULL), 0);
    struct stat before;
    file_identity(&before);
    /* the same export again: success, nothing written, the same info */
    it_export_info again;
    assert_int_equal(it_export_hdf5(t, &r, out, "data", &o, &again), 0);
    assert_memory_equal(&info, &again, sizeof info);
    assert_same_file(&before);
    /* a refusal by default names what to pass in C, the CLI and Python */
    assert_int_equal(it_export_hdf5(t, &r, out, "data", NULL, NULL), IT_EEXIST);
    const char *msg = it_last_error();
    assert_non_null(strstr(msg, "IT_EXPORT_REPLACE"));
    assert_non_null(strstr(msg, "--overwrite"));
    assert_non_null(strstr(msg, "overwrite=True"));
    assert_non_null(strstr(msg, "--if-identical"));
    /* another region, another tensor, other values under the same id: refused, untouched */
    it_region other = r;
    other.stop[0] = 45;
    assert_int_equal(it_export_hdf5(t, &other, out, "data", &o, NULL), IT_EEXIST);
    assert_non_null(strstr(it_last_error(), "of another shape"));
    other = r;
    other.start[1] = -14, other.stop[1] = 29;
    assert_int_equal(it_export_hdf5(t, &other, out, "data", &o, NULL), IT_EEXIST);
    assert_non_null(strstr(it_last_error(), "of another region"));
    it_tensor *u = golden_tensor(s, "another", &same); /* the same values: as good */
    assert_int_equal(it_export_hdf5(u, &r, out, "data", &o, NULL), 0);
    it_store *s2;
    assert_int_equal(it_store_open_memory(ctx, NULL, &s2), 0);
    it_tensor *v = golden_tensor(s2, "field", &twice);
    assert_int_equal(it_export_hdf5(v, &r, out, "data", &o, NULL), IT_EEXIST);
    assert_non_null(strstr(it_last_error(), "that differs at index ["));
    assert_same_file(&before);
    /* replace, then identical again */
    o.overwrite = IT_EXPORT_REPLACE;
    assert_int_equal(it_export_hdf5(v, &r, out, "data", &o, NULL), 0);
    o.overwrite = IT_EXPORT_IF_IDENTICAL;
    assert_int_equal(it_export_hdf5(v, &r, out, "data", &o, NULL), 0);
    assert_int_equal(it_export_hdf5(t, &r, out, "data", &o, NULL), IT_EEXIST);
    o.overwrite = 3;
    assert_int_equal(it_export_hdf5(t, &r, out, "data", &o, NULL), IT_EINVAL);
    it_store_close(s2);
    it_store_close(s);
    it_ctx_destroy(ctx);
}

/* A store of `dtype` with chunks (0:16, 0:16) computed, reopened read-only with
 * IT_OPEN_FILL_MISSING. */
static it_tensor *partial_tensor(it_ctx *ctx, it_dtype dtype, it_store **s) {
    assert_int_equal(it_store_open_hdf5(ctx, store_path, IT_HDF5_CREATE, NULL, s), 0);
    it_tensor_desc d;
    golden_g2_desc(&d, NULL);
    d.id = "partial";
    d.dtype = dtype;
    it_tensor *t;
    it_region done = region2(0, 16, 0, 16);
    assert_int_equal(it_tensor_create(*s, &d, &t), 0);
    assert_int_equal(it_tensor_fill(t, &done), 0);
    assert_int_equal(it_store_close(*s), 0);
    assert_int_equal(it_store_open_hdf5(ctx, store_path, IT_HDF5_READONLY, NULL, s), 0);
    assert_int_equal(it_tensor_open(*s, "partial", IT_OPEN_FILL_MISSING, &t), 0);
    return t;
}

static void read_back(const char *dataset, hid_t type, void *buf, int64_t *never) {
    hid_t f = H5Fopen(out, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, dataset, H5P_DEFAULT);
    assert_true(H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0);
    hid_t a = H5Aopen(d, "never_computed_pixels", H5P_DEFAULT);
    assert_true(H5Aread(a, H5T_NATIVE_INT64, never) >= 0);
    H5Aclose(a);
    H5Dclose(d);
    H5Fclose(f);
}

static void test_never_computed(void **state) {
    (void)state;
    it_ctx *ctx;
    it_store *s;
    assert_int_equal(it_ctx_create(NULL, &ctx), 0);
    it_tensor *t = partial_tensor(ctx, IT_F32, &s);
    it_region all = region2(-8, 24, 0, 16); /* 32 x 16: rows -8..0 and 16..24 never computed */
    assert_int_equal(it_export_hdf5(t, &all, out, "f", NULL, NULL), 0);
    float got[32 * 16], want[32 * 16];
    int64_t never;
    read_back("f", H5T_NATIVE_FLOAT, got, &never);
    assert_int_equal(never, 16 * 16);
    it_region done = region2(0, 16, 0, 16);
    assert_int_equal(it_tensor_read(t, &done, want, sizeof want), 0);
    for (int y = 0; y < 32; y++)
        for (int x = 0; x < 16; x++) {
            bool computed = y >= 8 && y < 24;
            if (computed)
                assert_true(got[y * 16 + x] == want[(y - 8) * 16 + x]);
            else
                assert_true(isnan(got[y * 16 + x]));
        }
    /* the same with a fill value and contiguous: -1 where never computed */
    it_export_options o;
    it_export_options_init(&o);
    o.fill_value_set = 1;
    o.fill_value = -1;
    o.contiguous = 1;
    assert_int_equal(it_export_hdf5(t, &all, out, "g", &o, NULL), 0);
    read_back("g", H5T_NATIVE_FLOAT, got, &never);
    assert_int_equal(never, 256);
    assert_true(got[0] == -1 && got[31 * 16 + 15] == -1 && got[8 * 16] == want[0]);
    it_store_close(s);
    /* integers: refused without a fill value (nothing written), -32768 with one */
    t = partial_tensor(ctx, IT_I16, &s);
    unlink(out);
    assert_int_equal(it_export_hdf5(t, &all, out, "i", NULL, NULL), IT_EINVAL);
    assert_non_null(strstr(it_last_error(), "never computed"));
    assert_non_null(strstr(it_last_error(), "--fill-value"));
    assert_true(access(out, F_OK) != 0);
    o.fill_value = 40000; /* does not fit int16 */
    assert_int_equal(it_export_hdf5(t, &all, out, "i", &o, NULL), IT_EINVAL);
    o.fill_value = -32768;
    assert_int_equal(it_export_hdf5(t, &all, out, "i", &o, NULL), 0);
    int16_t gi[32 * 16];
    read_back("i", H5T_NATIVE_INT16, gi, &never);
    assert_int_equal(never, 256);
    assert_true(gi[0] == -32768 && gi[8 * 16 + 3] != -32768);
    /* a region without never-computed chunks needs no fill value */
    assert_int_equal(it_export_hdf5(t, &done, out, "j", NULL, NULL), 0);
    it_store_close(s);
    it_ctx_destroy(ctx);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_if_identical),
        cmocka_unit_test(test_never_computed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
