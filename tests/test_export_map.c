/* it_export_map: a contiguous export (or any contiguous numeric dataset) mapped in place equals
 * what was exported; what cannot be mapped safely is refused with its reason; the mapped file
 * is locked against writers and survives an export over its path. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <hdf5.h>

#include "test_util.h"

static char out[256], other[256];

static int setup(void **state) {
    (void)state;
    temp_store_path(out, sizeof out, "export-map", (long)getpid());
    temp_store_path(other, sizeof other, "export-map-other", (long)getpid());
    unlink(out);
    unlink(other);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    unlink(out);
    unlink(other);
    return 0;
}

/* The tests' overlapping golden tensor in a memory store, exported over region r into dataset
 * name of path (contiguous or chunked); returns the tensor (the env keeps ctx and store). */
static it_tensor *exported(test_env *e, golden_gen *gen, const it_region *r, const char *path,
                           const char *name, int contiguous, it_export_info *info) {
    assert_int_equal(test_env_open(e, 2, 0, 0), 0);
    it_tensor_desc d;
    golden_overlap_desc(&d, gen);
    d.id = "g";
    it_tensor *t;
    assert_int_equal(it_tensor_create(e->store, &d, &t), 0);
    it_export_options o;
    it_export_options_init(&o);
    o.contiguous = contiguous;
    o.overwrite = 1;
    assert_int_equal(it_export_hdf5(t, r, path, name, &o, info), 0);
    return t;
}

static void test_mapped_export_equals_the_region(void **state) {
    (void)state;
    test_env e;
    golden_gen gen = {0};
    it_region r = region2(-70, 130, -33, 95);
    it_export_info info;
    it_tensor *t = exported(&e, &gen, &r, out, "group/m", 1, &info);
    it_mapped_array *m;
    assert_int_equal(it_export_map(out, "group/m", &m), 0);
    assert_int_equal(m->rank, 2);
    assert_int_equal(m->shape[0], 200);
    assert_int_equal(m->shape[1], 128);
    assert_int_equal(m->dtype, IT_F32);
    assert_int_equal(m->origin[0], -70);
    assert_int_equal(m->origin[1], -33);
    assert_int_equal(m->offset, info.data_offset);
    assert_int_equal(m->bytes, info.data_bytes);
    float *want = malloc(m->bytes);
    assert_int_equal(it_tensor_read(t, &r, want, m->bytes), 0);
    assert_memory_equal(m->data, want, m->bytes);
    /* an export over the same path writes a new file: the mapping keeps the old one */
    it_region r2 = region2(0, 10, 0, 10);
    it_export_options o;
    it_export_options_init(&o);
    o.contiguous = 1;
    o.overwrite = 1;
    assert_int_equal(it_export_hdf5(t, &r2, out, "group/m", &o, NULL), 0);
    assert_memory_equal(m->data, want, m->bytes);
    it_export_unmap(m);
    it_export_unmap(NULL);
    assert_int_equal(it_export_map(out, "group/m", &m), 0);
    assert_int_equal(m->shape[0], 10);
    it_export_unmap(m);
    free(want);
    it_tensor_release(t);
    test_env_close(&e);
}

/* Whether another process gets path's exclusive lock (as HDF5's writers take it). */
static bool another_process_can_write(const char *path) {
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(path, O_RDWR);
        _exit(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0 ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void test_mapped_file_is_locked(void **state) {
    (void)state;
    test_env e;
    golden_gen gen = {0};
    it_region r = region2(0, 64, 0, 64);
    it_tensor *t = exported(&e, &gen, &r, out, "m", 1, NULL);
    assert_true(another_process_can_write(out));
    it_mapped_array *m;
    assert_int_equal(it_export_map(out, "m", &m), 0);
    assert_false(another_process_can_write(out));
    it_export_unmap(m);
    assert_true(another_process_can_write(out));
    /* a writer's lock keeps the mapping out */
    int fd = open(out, O_RDWR), status;
    assert_int_equal(flock(fd, LOCK_EX), 0);
    pid_t pid = fork();
    if (pid == 0) {
        it_mapped_array *mm;
        _exit(it_export_map(out, "m", &mm) == IT_ELOCKED ? 0 : 1);
    }
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(fd);
    it_tensor_release(t);
    test_env_close(&e);
}

/* What cannot be mapped is refused, naming why; nothing is left mapped or open. */
static void test_refusals(void **state) {
    (void)state;
    test_env e;
    golden_gen gen = {0};
    it_region r = region2(0, 64, 0, 64);
    it_export_info info;
    it_tensor *t = exported(&e, &gen, &r, out, "m", 1, &info);
    it_export_options o;
    it_export_options_init(&o);
    assert_int_equal(it_export_hdf5(t, &r, out, "chunked", &o, NULL), 0);
    it_mapped_array *m = (it_mapped_array *)&m;
    assert_int_equal(it_export_map(out, "chunked", &m), IT_EINVAL);
    assert_null(m);
    assert_non_null(strstr(it_last_error(), "not contiguous"));
    assert_int_equal(it_export_map(out, "nothing", &m), IT_ENOTFOUND);
    assert_int_equal(it_export_map(out, "m/x", &m), IT_ENOTFOUND);
    assert_int_equal(it_export_map(other, "m", &m), IT_ENOTFOUND);
    assert_int_equal(it_export_map(NULL, "m", &m), IT_EINVAL);
    assert_int_equal(it_export_map(out, "", &m), IT_EINVAL);
    assert_int_equal(it_export_map(out, "m", NULL), IT_EINVAL);
    FILE *f = fopen(other, "w");
    fputs("not hdf5\n", f);
    fclose(f);
    assert_int_equal(it_export_map(other, "m", &m), IT_EFORMAT);
    /* a file cut short: its data would lie past the end (SIGBUS when read) */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "cp %s %s", out, other);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(truncate(other, (off_t)(info.data_offset + info.data_bytes / 2)), 0);
    assert_int_equal(it_export_map(other, "m", &m), IT_EFORMAT); /* HDF5: "truncated file" */
    /* a store this process writes */
    it_ctx *ctx;
    it_store *s;
    assert_int_equal(it_ctx_create(NULL, &ctx), 0);
    unlink(other);
    assert_int_equal(it_store_open_hdf5(ctx, other, IT_HDF5_CREATE, NULL, &s), 0);
    assert_int_equal(it_export_map(other, "m", &m), IT_ELOCKED);
    assert_int_equal(it_store_close(s), 0);
    it_ctx_destroy(ctx);
    it_tensor_release(t);
    test_env_close(&e);
}

/* Any contiguous numeric dataset maps, also behind a user block (offsets count it) and of an
 * integer type; a big-endian one is refused (its bytes are not the host's values). */
static void test_other_contiguous_datasets(void **state) {
    (void)state;
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    H5Pset_userblock(fcpl, 1024);
    hid_t f = H5Fcreate(out, H5F_ACC_TRUNC, fcpl, H5P_DEFAULT);
    H5Pclose(fcpl);
    hsize_t dims[3] = {3, 5, 7};
    uint16_t v[3 * 5 * 7];
    for (int i = 0; i < 3 * 5 * 7; i++)
        v[i] = (uint16_t)(i * 601);
    hid_t sp = H5Screate_simple(3, dims, NULL);
    hid_t ds = H5Dcreate2(f, "u16", H5T_STD_U16LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(ds, H5T_NATIVE_UINT16, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    H5Dclose(ds);
    ds = H5Dcreate2(f, "be", H5T_STD_I32BE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(ds, H5T_NATIVE_UINT16, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    H5Dclose(ds);
    H5Sclose(sp);
    H5Fclose(f);
    it_mapped_array *m;
    assert_int_equal(it_export_map(out, "u16", &m), 0);
    assert_int_equal(m->dtype, IT_U16);
    assert_int_equal(m->rank, 3);
    assert_int_equal(m->shape[2], 7);
    assert_int_equal(m->origin[0], 0);
    assert_true(m->offset >= 1024);
    assert_memory_equal(m->data, v, sizeof v);
    it_export_unmap(m);
    assert_int_equal(it_export_map(out, "be", &m), IT_EINVAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mapped_export_equals_the_region, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mapped_file_is_locked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_contiguous_datasets, setup, teardown),
    };
    return cmocka_run_group_tests_name("export_map", tests, NULL, NULL);
}
