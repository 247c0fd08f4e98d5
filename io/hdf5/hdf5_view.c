/* A stored tensor's view for generic viewers (hdf5_view.h).
 *
 * The scales are chunked, resizable and deflated: a box that grows at its end writes only the
 * new coordinates, and a scale of a million pixels takes a few tens of KiB. The virtual dataset
 * is made anew for each box (its mapping is a few hundred bytes); it maps the box of "data" as
 * one hyperslab, so never-computed chunks inside the box read as data's fill value. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5_hl.h>

#include "hdf5/hdf5_attr.h"
#include "hdf5/hdf5_compat.h"
#include "hdf5/hdf5_state.h"
#include "hdf5/hdf5_view.h"

#define SCALE_CHUNK 1024        /* coordinates per chunk of a scale: 8 KiB */
#define SCALE_WRITE (1 << 16)   /* coordinates written per call */

/* The pixel box of the computed chunks, clipped to the data set (partial chunks at the edges of
 * finite dimensions); false when nothing is computed. */
static bool computed_box(const h5_tensor *ht, int64_t *start, int64_t *count) {
    const iti_store_tensor *t = ht->t;
    if (ht->index.present.count == 0)
        return false;
    for (int d = 0; d < t->rank; d++) {
        int64_t lo = ht->index.lo[d] * t->chunk[d] + t->grid[d];
        int64_t hi = (ht->index.hi[d] + 1) * t->chunk[d] + t->grid[d];
        if (lo < ht->origin[d])
            lo = ht->origin[d];
        if (hi > ht->origin[d] + ht->extent[d])
            hi = ht->origin[d] + ht->extent[d];
        start[d] = lo;
        count[d] = hi - lo;
    }
    return true;
}

static void scale_name(int d, char *buf, size_t size) { snprintf(buf, size, "dim%d", d); }

/* The length of 1-D dataset ds, or -1 when it is not one. */
static int64_t length_1d(hid_t ds) {
    hid_t sp = H5Dget_space(ds);
    hsize_t n = 0;
    int nd = sp < 0 ? -1 : H5Sget_simple_extent_ndims(sp);
    if (nd == 1)
        H5Sget_simple_extent_dims(sp, &n, NULL);
    if (sp >= 0)
        H5Sclose(sp);
    return nd == 1 && n <= (hsize_t)INT64_MAX ? (int64_t)n : -1;
}

void iti_h5_view_close(h5_tensor *ht) {
    iti_h5_view *v = &ht->view;
    if (v->data > 0)
        H5Dclose(v->data);
    for (int d = 0; d < IT_MAX_RANK; d++)
        if (v->scale[d] > 0)
            H5Dclose(v->scale[d]);
    if (v->group > 0)
        H5Gclose(v->group);
    v->group = v->data = 0;
    memset(v->scale, 0, sizeof v->scale);
}

/* Opens the view in the file and reads its box, keeping the handles (they stay open while the
 * writer keeps the tensor, so a commit that moves the box reopens nothing); false when it is
 * not one this library made: a virtual "data" of the tensor's rank with its "start", and a
 * scale per dimension as long as that dimension. */
static bool open_view(h5_tensor *ht) {
    iti_h5_view *v = &ht->view;
    const int r = ht->t->rank;
    hsize_t dims[IT_MAX_RANK];
    bool ok = iti_h5_object_type(ht->group, "view") == H5O_TYPE_GROUP &&
              (v->group = H5Gopen2(ht->group, "view", H5P_DEFAULT)) > 0 &&
              iti_h5_object_type(v->group, "data") == H5O_TYPE_DATASET &&
              (v->data = H5Dopen2(v->group, "data", H5P_DEFAULT)) > 0;
    hid_t dcpl = ok ? H5Dget_create_plist(v->data) : -1, sp = ok ? H5Dget_space(v->data) : -1;
    ok = ok && dcpl >= 0 && H5Pget_layout(dcpl) == H5D_VIRTUAL && sp >= 0 &&
         H5Sget_simple_extent_ndims(sp) == r && H5Sget_simple_extent_dims(sp, dims, NULL) == r &&
         iti_h5_read_i64(v->data, "start", v->start, (size_t)r) == 0;
    for (int d = 0; ok && d < r; d++) {
        char name[16];
        scale_name(d, name, sizeof name);
        v->count[d] = (int64_t)dims[d];
        ok = v->count[d] > 0 && iti_h5_object_type(v->group, name) == H5O_TYPE_DATASET &&
             (v->scale[d] = H5Dopen2(v->group, name, H5P_DEFAULT)) > 0 &&
             length_1d(v->scale[d]) == v->count[d];
    }
    if (sp >= 0)
        H5Sclose(sp);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (!ok)
        iti_h5_view_close(ht);
    return ok;
}

void iti_h5_view_open(h5_tensor *ht) {
    iti_h5_view *v = &ht->view;
    memset(v, 0, sizeof *v);
    /* none: known (made at the first commit); one not as made here: unknown (replaced then) */
    v->known = H5Lexists(ht->group, "view", H5P_DEFAULT) <= 0 || open_view(ht);
    H5Eclear2(H5E_DEFAULT);
}

/* Writes coordinates start + i for i in [from, n) into scale s. */
static int write_coordinates(hid_t s, int64_t start, int64_t from, int64_t n) {
    size_t len = (size_t)(n - from < SCALE_WRITE ? n - from : SCALE_WRITE);
    int64_t *buf = len ? malloc(len * sizeof *buf) : NULL;
    if (len && !buf)
        return iti_error(IT_ENOMEM, "out of memory writing a view's coordinates");
    int rc = 0;
    hid_t fs = H5Dget_space(s);
    for (int64_t at = from; rc == 0 && at < n; at += (int64_t)len) {
        hsize_t off = (hsize_t)at, m = (hsize_t)(n - at < (int64_t)len ? n - at : (int64_t)len);
        for (hsize_t i = 0; i < m; i++)
            buf[i] = start + at + (int64_t)i;
        hid_t ms = H5Screate_simple(1, &m, NULL);
        if (H5Sselect_hyperslab(fs, H5S_SELECT_SET, &off, NULL, &m, NULL) < 0 ||
            H5Dwrite(s, H5T_NATIVE_INT64, ms, fs, H5P_DEFAULT, buf) < 0)
            rc = iti_h5_error(IT_EIO, "writing a view's coordinates");
        H5Sclose(ms);
    }
    H5Sclose(fs);
    free(buf);
    return rc;
}

/* Creates the scale of dimension d in g, empty. */
static hid_t create_scale(hid_t g, int d) {
    char name[16], text[64];
    scale_name(d, name, sizeof name);
    hsize_t dims = 0, max = H5S_UNLIMITED, chunk = SCALE_CHUNK;
    hid_t sp = H5Screate_simple(1, &dims, &max), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 1, &chunk);
    H5Pset_shuffle(dcpl);
    H5Pset_deflate(dcpl, 1);
    hid_t s = H5Dcreate2(g, name, H5T_STD_I64LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Pclose(dcpl);
    H5Sclose(sp);
    snprintf(text, sizeof text, "pixel coordinate along dimension %d", d);
    if (s >= 0 && (H5DSset_scale(s, name) < 0 || iti_h5_write_str(s, "long_name", text))) {
        H5Dclose(s);
        s = -1;
    }
    return s;
}

/* Sizes scale s to n coordinates from start; one that began at start already holds its first
 * old_n (0: none). */
static int size_scale(hid_t s, int64_t old_start, int64_t old_n, int64_t start, int64_t n) {
    hsize_t dims = (hsize_t)n;
    if (H5Dset_extent(s, &dims) < 0)
        return iti_h5_error(IT_EIO, "sizing a view's dimension scale");
    int64_t from = old_start == start ? (old_n < n ? old_n : n) : 0;
    return write_coordinates(s, start, from, n);
}

/* Creates the virtual dataset "data" of g over the box of ht's data set. */
static hid_t make_virtual(const h5_tensor *ht, hid_t g, const int64_t *start, const int64_t *count) {
    const iti_store_tensor *t = ht->t;
    hsize_t vdims[IT_MAX_RANK], from[IT_MAX_RANK], n[IT_MAX_RANK];
    for (int d = 0; d < t->rank; d++) {
        vdims[d] = n[d] = (hsize_t)count[d];
        from[d] = (hsize_t)(start[d] - ht->origin[d]);
    }
    char source[IT_ID_MAX + 32];
    snprintf(source, sizeof source, "/tensors/%s/data", t->id);
    hid_t vs = H5Screate_simple(t->rank, vdims, NULL), ss = H5Dget_space(ht->data);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE), ds = -1;
    if (vs >= 0 && ss >= 0 && dcpl >= 0 &&
        H5Sselect_hyperslab(ss, H5S_SELECT_SET, from, NULL, n, NULL) >= 0 &&
        H5Pset_fill_value(dcpl, iti_h5_mem_type(t->dtype), t->fill) >= 0 &&
        H5Pset_virtual(dcpl, vs, ".", source, ss) >= 0) /* ".": this file */
        ds = H5Dcreate2(g, "data", iti_h5_file_type(t->dtype), vs, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (ss >= 0)
        H5Sclose(ss);
    if (vs >= 0)
        H5Sclose(vs);
    return ds;
}

/* What viewers show: a name, the fill value (CF's _FillValue, in the data's type), the pixel of
 * index 0 and a sentence saying how to read it. */
static int describe(const h5_tensor *ht, hid_t ds, const int64_t *start) {
    const iti_store_tensor *t = ht->t;
    char text[1024];
    snprintf(text, sizeof text,
             "The computed part of tensor \"%s\" of an infinite-tensor store: the bounding box "
             "of its computed chunks. Pixel x along dimension d is index x - start[d] "
             "(attribute start; the dimension scales dim0, dim1, ... hold the coordinates). "
             "Chunks inside the box never computed read as _FillValue, as do computed pixels "
             "of that value; ../chunks lists the computed chunks, ../data holds the whole "
             "storable extent (io/FORMAT.md).",
             t->id);
    int rc = iti_h5_write_str(ds, "long_name", t->id);
    if (rc == 0)
        rc = iti_h5_write_value(ds, "_FillValue", iti_h5_file_type(t->dtype),
                                iti_h5_mem_type(t->dtype), t->fill);
    if (rc == 0)
        rc = iti_h5_write_i64(ds, "start", start, (size_t)t->rank);
    if (rc == 0)
        rc = iti_h5_write_str(ds, "description", text);
    return rc;
}

/* Readies the view's group for a new virtual dataset: the old one detached from the scales
 * and deleted, the scales kept (*keep), or everything made afresh. */
static int prepare(h5_tensor *ht, bool *keep) {
    iti_h5_view *v = &ht->view;
    *keep = v->known && v->count[0] > 0 && v->data > 0;
    for (int d = 0; *keep && d < ht->t->rank; d++)
        *keep = H5DSdetach_scale(v->data, v->scale[d], (unsigned)d) >= 0;
    if (*keep) {
        H5Dclose(v->data);
        v->data = 0;
        *keep = H5Ldelete(v->group, "data", H5P_DEFAULT) >= 0;
    }
    if (*keep)
        return 0;
    iti_h5_view_close(ht); /* what is there is not as read: made afresh */
    H5Eclear2(H5E_DEFAULT);
    if (H5Lexists(ht->group, "view", H5P_DEFAULT) > 0 && H5Ldelete(ht->group, "view", H5P_DEFAULT) < 0)
        return iti_h5_error(IT_EIO, "replacing a tensor's view");
    v->group = H5Gcreate2(ht->group, "view", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    for (int d = 0; v->group > 0 && d < ht->t->rank; d++)
        if ((v->scale[d] = create_scale(v->group, d)) < 0)
            return iti_h5_error(IT_EIO, "making a view's dimension scale");
    return v->group > 0 ? 0 : iti_h5_error(IT_EIO, "making a tensor's view group");
}

static int rebuild(h5_tensor *ht, const int64_t *start, const int64_t *count) {
    iti_h5_view *v = &ht->view;
    bool keep;
    int rc = prepare(ht, &keep);
    for (int d = 0; rc == 0 && d < ht->t->rank; d++)
        rc = size_scale(v->scale[d], v->start[d], keep ? v->count[d] : 0, start[d], count[d]);
    if (rc == 0 && (v->data = make_virtual(ht, v->group, start, count)) < 0)
        rc = iti_h5_error(IT_EIO, "making a tensor's view");
    for (int d = 0; rc == 0 && d < ht->t->rank; d++) {
        char label[16];
        scale_name(d, label, sizeof label);
        if (H5DSattach_scale(v->data, v->scale[d], (unsigned)d) < 0 ||
            H5DSset_label(v->data, (unsigned)d, label) < 0)
            rc = iti_h5_error(IT_EIO, "attaching a view's dimension scale");
    }
    if (rc == 0)
        rc = describe(ht, v->data, start);
    if (rc)
        iti_h5_view_close(ht);
    return rc;
}

/* Removes the view (a box too wide to view). */
static int remove_view(h5_tensor *ht) {
    if (ht->view.known && ht->view.count[0] == 0)
        return 0;
    iti_h5_view_close(ht);
    if (H5Lexists(ht->group, "view", H5P_DEFAULT) > 0 && H5Ldelete(ht->group, "view", H5P_DEFAULT) < 0)
        return iti_h5_error(IT_EIO, "removing a tensor's view");
    H5Eclear2(H5E_DEFAULT);
    return 0;
}

int iti_h5_view_refresh(h5_tensor *ht) {
    int64_t start[IT_MAX_RANK], count[IT_MAX_RANK];
    if (!computed_box(ht, start, count))
        return 0;
    const int r = ht->t->rank;
    size_t bytes = sizeof(int64_t) * (size_t)r;
    iti_h5_view *v = &ht->view;
    bool wide = false;
    for (int d = 0; d < r; d++)
        wide = wide || count[d] > ITI_H5_VIEW_MAX_PIXELS;
    if (wide)
        memset(count, 0, bytes); /* no view */
    if (v->known && memcmp(v->start, start, bytes) == 0 && memcmp(v->count, count, bytes) == 0)
        return 0;
    int rc = wide ? remove_view(ht) : rebuild(ht, start, count);
    v->known = rc == 0;
    memcpy(v->start, start, bytes);
    memcpy(v->count, count, bytes);
    return rc;
}

int iti_h5_view_reattach(hid_t tensor_group) {
    if (H5Lexists(tensor_group, "view", H5P_DEFAULT) <= 0)
        return 0;
    hid_t g = H5Gopen2(tensor_group, "view", H5P_DEFAULT);
    hid_t data = g >= 0 ? H5Dopen2(g, "data", H5P_DEFAULT) : -1;
    hid_t sp = data >= 0 ? H5Dget_space(data) : -1;
    int rank = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1, rc = 0;
    if (rank < 1 || rank > IT_MAX_RANK)
        rc = iti_h5_error(IT_EFORMAT, "reading a tensor's view");
    if (rc == 0 && H5Aexists(data, "DIMENSION_LIST") > 0 && H5Adelete(data, "DIMENSION_LIST") < 0)
        rc = iti_h5_error(IT_EIO, "detaching a view's dimension scales");
    for (int d = 0; rc == 0 && d < rank; d++) {
        char name[16];
        scale_name(d, name, sizeof name);
        hid_t scale = H5Dopen2(g, name, H5P_DEFAULT);
        if (scale < 0 ||
            (H5Aexists(scale, "REFERENCE_LIST") > 0 && H5Adelete(scale, "REFERENCE_LIST") < 0) ||
            H5DSattach_scale(data, scale, (unsigned)d) < 0)
            rc = iti_h5_error(IT_EIO, "attaching a view's dimension scale");
        if (scale >= 0)
            H5Dclose(scale);
    }
    if (sp >= 0)
        H5Sclose(sp);
    if (data >= 0)
        H5Dclose(data);
    if (g >= 0)
        H5Gclose(g);
    return rc;
}
