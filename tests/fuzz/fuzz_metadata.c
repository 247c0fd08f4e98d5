/* libFuzzer target: the values of a store's metadata and chunk index. A small valid store
 * (made at start-up) is edited with plain HDF5 as the input says, then opened, listed and read
 * through the library: whatever the shapes, windows, origins, strings and index rows, every
 * call returns a status, nothing reads past a buffer, nothing allocates absurd sizes.
 *
 * Input: a sequence of edits, each [target][kind][n] then n 8-byte values (or n string bytes).
 * target picks an attribute of /tensors/top or /tensors/base (or the root, or the chunk index
 * rows, or the data set's extent, or one of the weighted blend's attributes, which base has);
 * kind picks int64 array, float64, fixed-length string,
 * variable-length string, int8 array, or deletion. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>

#include "fuzz_walk.h"

static const char *const attrs[] = {
    "shape", "dtype", "window_size", "window_stride", "window_offset", "window_map", "args",
    "arg0_window_size", "arg0_window_stride", "arg0_window_offset", "arg0_window_map", "blend",
    "blend_init", "chunk", "grid_offset", "origin", "fn_tag", "format", "format_version"};
#define NATTRS (sizeof attrs / sizeof *attrs)
/* Targets NATTRS + 2 ...: after the index rows and the extent, so older seeds keep meaning. */
static const char *const weight_attrs[] = {"weight_profile", "weight_border", "weight_sigma",
                                           "weight_floor", "weight_array_sha256"};
#define NWEIGHT (sizeof weight_attrs / sizeof *weight_attrs)

static it_ctx *ctx;
static char path[64];
static unsigned char *template_bytes;
static size_t template_size;

static int copy_arg(const it_window_batch *b, void *user) {
    (void)user;
    for (size_t k = 0; k < b->count; k++)
        memcpy(b->out[k], b->arg[k * b->n_args], 64 * sizeof(float));
    return 0;
}

static void make_template(void) {
    it_store *s;
    it_tensor *base, *top;
    int64_t w[2] = {8, 8};
    it_tensor_desc d;
    it_tensor_desc_init(&d, 2);
    d.shape[0] = d.shape[1] = IT_INF;
    it_window_init(&d.window, 2, w);
    d.chunk[0] = d.chunk[1] = 8;
    d.fn = fuzz_ramp_fn;
    d.id = "base";
    d.blend = IT_BLEND_WEIGHTED;
    d.weight.kind = IT_WEIGHT_HANN;
    if (it_store_open_hdf5(ctx, path, IT_HDF5_CREATE, NULL, &s) || it_tensor_create(s, &d, &base))
        abort();
    it_window aw;
    it_window_init(&aw, 2, w);
    d.id = "top";
    d.blend = IT_BLEND_SUM;
    d.weight.kind = IT_WEIGHT_CONSTANT;
    d.fn = copy_arg;
    d.args = &base;
    d.arg_windows = &aw;
    d.n_args = 1;
    it_region r;
    int64_t a[2] = {-16, -16}, b[2] = {16, 16};
    it_region_set(&r, 2, a, b, NULL);
    if (it_tensor_create(s, &d, &top) || it_tensor_fill(top, &r) || it_store_close(s))
        abort();
    template_bytes = fuzz_read_file(path, &template_size);
}

static void set_attr(hid_t obj, const char *name, int kind, const unsigned char *p, size_t n) {
    H5Adelete(obj, name);
    if (kind == 5)
        return; /* deleted */
    hsize_t count = kind == 2 || kind == 3 ? 1 : (kind == 4 ? n : n / 8); /* n: bytes given */
    if (count == 0)
        count = 1;
    unsigned char *padded = NULL;
    if ((kind == 0 || kind == 4) && n < count * (kind ? 1 : 8)) {
        padded = calloc(count, 8);
        memcpy(padded, p, n);
        p = padded;
    }
    hid_t type, sp = kind == 1 || kind == 2 || kind == 3 ? H5Screate(H5S_SCALAR)
                                                         : H5Screate_simple(1, &count, NULL);
    char *str = NULL;
    const void *buf = p;
    unsigned char zeros[8] = {0};
    if (kind == 0) {
        type = H5Tcopy(H5T_NATIVE_INT64);
        if (n < 8)
            buf = zeros;
    } else if (kind == 1) {
        type = H5Tcopy(H5T_NATIVE_DOUBLE);
        if (n < 8)
            buf = zeros;
    } else if (kind == 4) {
        type = H5Tcopy(H5T_NATIVE_INT8);
    } else {
        str = malloc(n + 1);
        memcpy(str, p, n);
        str[n] = 0;
        type = H5Tcopy(H5T_C_S1);
        H5Tset_size(type, kind == 3 ? H5T_VARIABLE : n + 1);
        buf = kind == 3 ? (const void *)&str : (const void *)str;
    }
    hid_t at = H5Acreate2(obj, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
    if (at >= 0) {
        H5Awrite(at, type, buf);
        H5Aclose(at);
    }
    free(str);
    free(padded);
    H5Tclose(type);
    H5Sclose(sp);
}

/* Applies the input's edits to the template file (plain HDF5, errors ignored). */
static void edit(const unsigned char *data, size_t size) {
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    if (f < 0)
        return;
    while (size >= 3) {
        unsigned target = data[0], kind = data[1] % 6, n = data[2];
        data += 3;
        size -= 3;
        size_t len = kind == 2 || kind == 3 || kind == 4 ? n : (size_t)n * 8;
        if (len > size)
            len = size;
        const char *tensor = target & 0x80 ? "/tensors/base" : "/tensors/top";
        unsigned which = target & 0x7f;
        if (which < NATTRS || (which >= NATTRS + 2 && which < NATTRS + 2 + NWEIGHT)) {
            const char *name = which < NATTRS ? attrs[which] : weight_attrs[which - NATTRS - 2];
            bool root = strncmp(name, "format", 6) == 0;
            hid_t o = H5Oopen(f, root ? "/" : tensor, H5P_DEFAULT);
            if (o >= 0) {
                set_attr(o, name, (int)kind, data, len);
                H5Oclose(o);
            }
        } else if (which == NATTRS || which == NATTRS + 1) { /* index rows or data extent */
            char name[64];
            snprintf(name, sizeof name, "%s/%s", tensor, which == NATTRS ? "chunks" : "data");
            hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
            if (ds >= 0) {
                hsize_t dims[8] = {0};
                for (size_t i = 0; i < 8 && i * 8 + 8 <= len; i++)
                    memcpy(&dims[i], data + i * 8, 8);
                if (which == NATTRS && len >= 16) { /* append one row of two coordinates */
                    hid_t sp = H5Dget_space(ds);
                    hsize_t cur[2];
                    H5Sget_simple_extent_dims(sp, cur, NULL);
                    H5Sclose(sp);
                    hsize_t grown[2] = {cur[0] + 1, 2}, start[2] = {cur[0], 0}, one[2] = {1, 2};
                    if (H5Dset_extent(ds, grown) >= 0) {
                        sp = H5Dget_space(ds);
                        H5Sselect_hyperslab(sp, H5S_SELECT_SET, start, NULL, one, NULL);
                        hid_t ms = H5Screate_simple(2, one, NULL);
                        H5Dwrite(ds, H5T_NATIVE_INT64, ms, sp, H5P_DEFAULT, data);
                        H5Sclose(ms);
                        H5Sclose(sp);
                    }
                } else if (which != NATTRS && len >= 16) {
                    /* grown only: shrinking makes HDF5 visit every chunk position it drops */
                    hid_t sp = H5Dget_space(ds);
                    hsize_t cur[8] = {0};
                    int nd = H5Sget_simple_extent_dims(sp, cur, NULL);
                    H5Sclose(sp);
                    for (int i = 0; i < nd && i < 8; i++)
                        dims[i] = cur[i] + dims[i] % ((hsize_t)1 << 40);
                    if (nd > 0)
                        H5Dset_extent(ds, dims);
                }
                H5Dclose(ds);
            }
        }
        data += len;
        size -= len;
    }
    H5Fclose(f);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    if (!ctx) {
        ctx = fuzz_ctx();
        snprintf(path, sizeof path, "/dev/shm/it-fuzzmeta-%d.h5", (int)getpid());
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
        make_template();
    }
    if (fuzz_write_file(path, template_bytes, template_size)) {
        edit(data, size);
        fuzz_walk_store(ctx, path);
    }
    unlink(path);
    return 0;
}
