/* it_hdf5_compact: a store with a deleted tensor shrinks to its live data, the tensors left
 * read the same values, indexes and views hold (the views' dimension scales attached again),
 * writers go on filling it; a store another handle writes is refused and left as it was. */
#include <hdf5.h>
#include <hdf5_hl.h>
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

#include "test_util.h"

static char path[256];

static int setup(void **state) {
    (void)state;
    temp_store_path(path, sizeof path, "compact", (long)getpid());
    unlink(path);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    unlink(path);
    return 0;
}

static uint64_t size_of(const char *p) {
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    return (uint64_t)st.st_size;
}

static it_tensor *create(it_store *s, const char *id, it_dtype dtype) {
    it_tensor_desc d;
    golden_g2_desc(&d, NULL);
    d.id = id;
    d.dtype = dtype;
    it_tensor *t;
    assert_int_equal(it_tensor_create(s, &d, &t), 0);
    return t;
}

/* The view's dimension scales, as HDF5's dimension scale API sees them. */
static void assert_view_scales(const char *id) {
    char name[128];
    snprintf(name, sizeof name, "/tensors/%s/view/data", id);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t data = H5Dopen2(f, name, H5P_DEFAULT);
    assert_true(data >= 0);
    for (unsigned d = 0; d < 2; d++) {
        snprintf(name, sizeof name, "/tensors/%s/view/dim%u", id, d);
        hid_t scale = H5Dopen2(f, name, H5P_DEFAULT);
        assert_true(H5DSis_attached(data, scale, d) > 0);
        assert_int_equal(H5DSget_num_scales(data, d), 1);
        H5Dclose(scale);
    }
    H5Dclose(data);
    H5Fclose(f);
}

static void test_compact_reclaims_and_keeps(void **state) {
    (void)state;
    it_ctx *ctx;
    it_store *s;
    assert_int_equal(it_ctx_create(NULL, &ctx), 0);
    assert_int_equal(it_store_open_hdf5(ctx, path, IT_HDF5_CREATE, NULL, &s), 0);
    it_region big = region2(-256, 256, -256, 256), small = region2(-40, 40, 0, 64);
    it_tensor *keep = create(s, "keep", IT_F32), *other = create(s, "other", IT_I16);
    assert_int_equal(it_tensor_fill(create(s, "gone", IT_F64), &big), 0);
    assert_int_equal(it_tensor_fill(keep, &small), 0);
    assert_int_equal(it_tensor_fill(other, &small), 0);
    float want[80 * 64], got[80 * 64];
    int16_t want16[80 * 64], got16[80 * 64];
    assert_int_equal(it_tensor_read(keep, &small, want, sizeof want), 0);
    assert_int_equal(it_tensor_read(other, &small, want16, sizeof want16), 0);
    assert_int_equal(it_store_delete_tensor(s, "gone"), 0);
    assert_int_equal(it_store_close(s), 0);
    uint64_t before = size_of(path);
    /* refused while a writer has the store open (this process), the file untouched */
    assert_int_equal(it_store_open_hdf5(ctx, path, IT_HDF5_READWRITE, NULL, &s), 0);
    assert_int_equal(it_hdf5_compact(ctx, path, NULL), IT_ELOCKED);
    assert_int_equal(it_store_close(s), 0);
    assert_int_equal(size_of(path), before);
    it_hdf5_compact_info info;
    assert_int_equal(it_hdf5_compact(ctx, path, &info), 0);
    assert_int_equal(info.tensors, 2);
    assert_int_equal(info.bytes_before, before);
    assert_int_equal(info.bytes_after, size_of(path));
    /* the deleted tensor held 2 MiB of f64 */
    assert_true(info.bytes_after + (1u << 20) < info.bytes_before);
    /* the tensors left: the same values, indexes equal to HDF5's chunk B-trees, views */
    assert_int_equal(it_store_open_hdf5(ctx, path, IT_HDF5_READONLY, NULL, &s), 0);
    assert_int_equal(it_tensor_open(s, "keep", 0, &keep), 0);
    assert_int_equal(it_tensor_open(s, "other", 0, &other), 0);
    assert_int_equal(it_tensor_read(keep, &small, got, sizeof got), 0);
    assert_memory_equal(got, want, sizeof want);
    assert_int_equal(it_tensor_read(other, &small, got16, sizeof got16), 0);
    assert_memory_equal(got16, want16, sizeof want16);
    it_hdf5_index_report ir;
    assert_int_equal(it_hdf5_check_index(keep, &ir), 0);
    assert_true(ir.stale == 0 && ir.unindexed == 0 && ir.stored == 10 * 8);
    assert_int_equal(it_tensor_open(s, "gone", 0, &other), IT_ENOTFOUND);
    assert_int_equal(it_store_close(s), 0);
    assert_view_scales("keep");
    /* a writer goes on: more chunks, a view that grows */
    assert_int_equal(it_store_open_hdf5(ctx, path, IT_HDF5_READWRITE, NULL, &s), 0);
    keep = create(s, "keep", IT_F32); /* get the stored tensor with its function back */
    it_region more = region2(-40, 80, 0, 64);
    assert_int_equal(it_tensor_fill(keep, &more), 0);
    assert_int_equal(it_store_close(s), 0);
    assert_view_scales("keep");
    /* through a symbolic link: the link stays, the store keeps its permission bits */
    char link[300];
    snprintf(link, sizeof link, "%s.link", path);
    unlink(link);
    assert_int_equal(symlink(path, link), 0);
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(it_hdf5_compact(ctx, link, NULL), 0);
    struct stat st;
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    unlink(link);
        /* bad arguments, a missing file, a file that is not a store */
    assert_int_equal(it_hdf5_compact(NULL, path, NULL), IT_EINVAL);
    assert_int_equal(it_hdf5_compact(ctx, NULL, NULL), IT_EINVAL);
    char none[300];
    snprintf(none, sizeof none, "%s.none", path);
    assert_int_equal(it_hdf5_compact(ctx, none, NULL), IT_ENOTFOUND);
    assert_true(access(none, F_OK) != 0);
    FILE *f = fopen(none, "w");
    fputs("not a store\n", f);
    fclose(f);
    assert_int_equal(it_hdf5_compact(ctx, none, NULL), IT_EFORMAT);
    unlink(none);
    it_ctx_destroy(ctx);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compact_reclaims_and_keeps),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
