/* A tensor's objects in the store's file: group /tensors/<id> (the record as attributes), the
 * sparse chunked data set "data" and the chunk index "chunks"; and the storable range, which
 * maps chunk coordinates to data set indices (io/FORMAT.md, "Storable range"). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <hdf5_hl.h>

#include "hdf5/hdf5_attr.h"
#include "hdf5/hdf5_compat.h"
#include "hdf5/hdf5_filters.h"
#include "hdf5/hdf5_schema.h"
#include "hdf5/hdf5_state.h"

/* Extent products stay below 2^62 elements: far from 2^63 (h5py's sizes), and never a multiple
 * of 2^64 (which crashes HDF5 1.10 on the first write). */
#define ELEMENT_LIMIT ((iti_i128)1 << 62)

/* ---- storable range ----------------------------------------------------------------------- */

/* Per infinite dimension, K chunks on each side of the origin: the largest K with
 * prod(finite n) * prod(2*K*chunk) < 2^62, the same K for every infinite dimension. */
static int plan_range(const iti_store_tensor *t, h5_tensor *ht) {
    iti_i128 fixed = 1;
    int ninf = 0;
    for (int d = 0; d < t->rank; d++) {
        if (t->shape[d] == IT_INF) {
            fixed *= 2 * (iti_i128)t->chunk[d];
            ninf++;
        } else {
            fixed *= t->shape[d];
        }
        if (fixed >= ELEMENT_LIMIT)
            return iti_error(IT_ERANGE,
                            "tensor \"%s\": its chunks are too large for an HDF5 extent below "
                            "2^62 elements",
                            t->id);
    }
    int64_t K = 1;
    if (ninf > 0) {
        double k = floor(pow((double)(ELEMENT_LIMIT / fixed), 1.0 / ninf));
        K = k > (double)INT64_MAX / 4 ? INT64_MAX / 4 : (int64_t)k;
        for (;; K--) { /* correct floating-point rounding */
            iti_i128 p = fixed;
            bool ok = K >= 1;
            for (int i = 0; ok && i < ninf; i++) {
                p *= K;
                ok = p < ELEMENT_LIMIT;
            }
            if (ok || K < 1)
                break;
        }
        if (K < 1)
            return iti_error(IT_ERANGE, "tensor \"%s\": chunks too large to store", t->id);
    }
    for (int d = 0; d < t->rank; d++) {
        if (t->shape[d] == IT_INF) {
            ht->extent[d] = 2 * K * t->chunk[d];
            ht->origin[d] = t->grid[d] - K * t->chunk[d];
        } else {
            ht->extent[d] = t->shape[d];
            ht->origin[d] = 0;
        }
    }
    return 0;
}

/* Storable chunk indices from origin and extent, which may come from a file: each must be
 * what plan_range writes (finite: origin 0, extent the shape; infinite: K chunks on each side
 * of the grid, the same K for all), with the extent product below the limit. */
static int derive_chunk_range(h5_tensor *ht) {
    const iti_store_tensor *t = ht->t;
    iti_i128 elements = 1, K = -1;
    for (int d = 0; d < t->rank; d++) {
        iti_i128 gap = (iti_i128)t->grid[d] - ht->origin[d]; /* K whole chunks */
        bool finite = t->shape[d] != IT_INF;
        bool ok = finite ? ht->origin[d] == 0 && ht->extent[d] == t->shape[d]
                         : gap > 0 && gap % t->chunk[d] == 0 && ht->extent[d] == 2 * gap &&
                               (K < 0 || K == gap / t->chunk[d]);
        if (!finite && ok)
            K = gap / t->chunk[d];
        if (!ok)
            return iti_error(IT_EFORMAT, "tensor \"%s\": origin[%d] = %lld with extent %lld does "
                            "not fit its chunk grid and shape", t->id, d,
                            (long long)ht->origin[d], (long long)ht->extent[d]);
        elements *= ht->extent[d];
        if (elements >= ELEMENT_LIMIT)
            return iti_error(IT_EFORMAT, "tensor \"%s\": dataset extent has 2^62 or more elements",
                            t->id);
        ht->cmin[d] = (int64_t)(-(gap / t->chunk[d]));
        ht->cmax[d] = ht->cmin[d] + (ht->extent[d] + t->chunk[d] - 1) / t->chunk[d];
    }
    return 0;
}

int iti_h5t_check_range(const h5_tensor *ht, const iti_coord *c) {
    const iti_store_tensor *t = ht->t;
    for (int d = 0; d < t->rank; d++) {
        if (c->v[d] < ht->cmin[d] || c->v[d] >= ht->cmax[d])
            return iti_error(IT_ERANGE,
                            "tensor \"%s\": dimension %d can store pixels [%lld, %lld) only "
                            "(HDF5 extent limit); chunk %lld is outside",
                            t->id, d, (long long)ht->origin[d],
                            (long long)(ht->origin[d] + ht->extent[d]), (long long)c->v[d]);
    }
    return 0;
}

void iti_h5t_chunk_offset(const h5_tensor *ht, const iti_coord *c, hsize_t *off) {
    const iti_store_tensor *t = ht->t;
    for (int d = 0; d < t->rank; d++)
        off[d] = (hsize_t)(c->v[d] * t->chunk[d] + t->grid[d] - ht->origin[d]);
}

/* ---- creating --------------------------------------------------------------------------------- */

/* What a viewer (h5ls, HDFView, h5web, h5py) shows next to the data: the origin, a label per
 * dimension and a description of how pixels map to indices and what unwritten chunks hold. The
 * library itself reads none of it (the group's attributes are the record). */
static int describe_data(const h5_tensor *ht) {
    const iti_store_tensor *t = ht->t;
    char text[1024], fill[64], origin[IT_MAX_RANK * 24] = "";
    size_t used = 0;
    for (int d = 0; d < t->rank; d++)
        used += (size_t)snprintf(origin + used, sizeof origin - used, "%s%lld", d ? ", " : "",
                                 (long long)ht->origin[d]);
    snprintf(fill, sizeof fill, "%.17g", it_dtype_load(t->dtype, t->fill, 0));
    snprintf(text, sizeof text,
             "Tensor \"%s\" of an infinite-tensor store. Pixel coordinate x along dimension d "
             "is dataset index x - origin[d], origin = [%s] (attribute origin). Chunks never "
             "computed are not stored and read as the fill value %s, like computed values: "
             "the dataset \"chunks\" beside this one lists the computed chunks, and the group's "
             "attributes describe the tensor (io/FORMAT.md).",
             t->id, origin, fill);
    int rc = iti_h5_write_i64(ht->data, "origin", ht->origin, (size_t)t->rank);
    if (rc == 0)
        rc = iti_h5_write_str(ht->data, "description", text);
    for (int d = 0; rc == 0 && d < t->rank; d++) {
        char label[16];
        snprintf(label, sizeof label, "dim%d", d);
        if (H5DSset_label(ht->data, (unsigned)d, label) < 0)
            rc = iti_h5_error(IT_EIO, "labelling the tensor dataset's dimensions");
    }
    return rc;
}

static int create_data(h5_store *h, h5_tensor *ht) {
    const iti_store_tensor *t = ht->t;
    hsize_t dims[IT_MAX_RANK], maxdims[IT_MAX_RANK], chunk[IT_MAX_RANK];
    for (int d = 0; d < t->rank; d++) {
        dims[d] = (hsize_t)ht->extent[d];
        maxdims[d] = t->shape[d] == IT_INF ? H5S_UNLIMITED : (hsize_t)t->shape[d];
        chunk[d] = (hsize_t)t->chunk[d];
    }
    hid_t sp = H5Screate_simple(t->rank, dims, maxdims);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, t->rank, chunk);
    H5Pset_fill_value(dcpl, iti_h5_mem_type(t->dtype), t->fill);
    H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_INCR);
    ht->codec = h->codec;
    int rc = iti_codec_set_filters(&ht->codec, dcpl, t->esize, t->chunk_bytes);
    if (rc == 0)
        ht->data = H5Dcreate2(ht->group, "data", iti_h5_file_type(t->dtype), sp, H5P_DEFAULT,
                              dcpl, H5P_DEFAULT);
    H5Sclose(sp);
    H5Pclose(dcpl);
    if (rc)
        return rc;
    return ht->data < 0 ? iti_h5_error(IT_EIO, "creating the tensor dataset") : describe_data(ht);
}

int iti_h5t_create(h5_store *h, h5_tensor *ht, const iti_tensor_meta *m) {
    const iti_store_tensor *t = ht->t;
    int rc = plan_range(t, ht);
    if (rc)
        return rc;
    for (int d = 0; d < t->rank; d++)
        if (t->shape[d] != IT_INF && t->chunk[d] > t->shape[d])
            return iti_error(IT_EINVAL,
                            "it_tensor_create: chunk[%d] (%lld) exceeds the finite dimension "
                            "(%lld); HDF5 chunks must fit",
                            d, (long long)t->chunk[d], (long long)t->shape[d]);
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
    H5Pset_attr_creation_order(gcpl, H5P_CRT_ORDER_TRACKED);
    ht->group = H5Gcreate2(h->tensors, t->id, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    H5Pclose(gcpl);
    if (ht->group < 0)
        return iti_h5_error(IT_EIO, "creating the tensor group");
    if ((rc = iti_h5_schema_write(ht->group, m, ht->origin)) || (rc = create_data(h, ht)) ||
        (rc = iti_h5_index_create(&ht->index, ht->group)))
        return rc;
    return derive_chunk_range(ht);
}

/* ---- opening ---------------------------------------------------------------------------------- */

/* The dataset must be what create_data makes: chunked with the tensor's chunk shape, of the
 * dtype's size, with the filters of a codec; otherwise direct chunk I/O would misread it. */
static int check_data_layout(h5_tensor *ht) {
    const iti_store_tensor *t = ht->t;
    hid_t dcpl = H5Dget_create_plist(ht->data), ty = H5Dget_type(ht->data);
    hsize_t chunk[IT_MAX_RANK];
    int rc = 0;
    if (dcpl < 0 || ty < 0 || H5Pget_layout(dcpl) != H5D_CHUNKED ||
        H5Pget_chunk(dcpl, IT_MAX_RANK, chunk) != t->rank) {
        rc = iti_error(IT_EFORMAT, "tensor \"%s\": data is not chunked with rank %d", t->id, t->rank);
    } else {
        for (int d = 0; rc == 0 && d < t->rank; d++)
            if (chunk[d] != (hsize_t)t->chunk[d])
                rc = iti_error(IT_EFORMAT, "tensor \"%s\": data has chunk[%d] = %llu, metadata %lld",
                              t->id, d, (unsigned long long)chunk[d], (long long)t->chunk[d]);
        H5T_class_t cls = H5Tget_class(ty);
        if (rc == 0 && (H5Tget_size(ty) != t->esize || (cls != H5T_INTEGER && cls != H5T_FLOAT)))
            rc = iti_error(IT_EFORMAT, "tensor \"%s\": data elements do not match dtype %s", t->id,
                          it_dtype_name(t->dtype));
        if (rc == 0) {
            char what[IT_ID_MAX + 16];
            snprintf(what, sizeof what, "tensor \"%s\"", t->id);
            rc = iti_codec_from_filters(dcpl, what, &ht->codec);
        }
    }
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (ty >= 0)
        H5Tclose(ty);
    return rc;
}

static int read_extent(h5_tensor *ht) {
    const iti_store_tensor *t = ht->t;
    hid_t sp = H5Dget_space(ht->data);
    hsize_t dims[IT_MAX_RANK];
    int nd = sp < 0 ? -1 : H5Sget_simple_extent_ndims(sp);
    if (nd == t->rank)
        H5Sget_simple_extent_dims(sp, dims, NULL);
    if (sp >= 0)
        H5Sclose(sp);
    if (nd != t->rank)
        return iti_error(IT_EFORMAT, "tensor \"%s\": dataset rank %d, expected %d", t->id, nd, t->rank);
    for (int d = 0; d < t->rank; d++) {
        if (dims[d] > (hsize_t)INT64_MAX)
            return iti_error(IT_EFORMAT, "tensor \"%s\": dataset extent out of range", t->id);
        ht->extent[d] = (int64_t)dims[d];
    }
    return 0;
}

/* Current size of the store's file. */
static uint64_t file_size(h5_store *h) {
    hsize_t n = 0;
    if (H5Fget_filesize(h->file, &n) < 0)
        H5Eclear2(H5E_DEFAULT);
    return (uint64_t)n;
}

int iti_h5t_open(h5_store *h, h5_tensor *ht) {
    const iti_store_tensor *t = ht->t;
    if (h->described >= 0 && strcmp(h->described_id, t->id) == 0) { /* describe opened it */
        ht->group = h->described;
        h->described = -1;
    } else {
        ht->group = H5Gopen2(h->tensors, t->id, H5P_DEFAULT);
    }
    if (ht->group < 0)
        return iti_h5_error(IT_EFORMAT, "opening the tensor group");
    if (iti_h5_object_type(ht->group, "data") != H5O_TYPE_DATASET ||
        iti_h5_object_type(ht->group, "chunks") != H5O_TYPE_DATASET)
        return iti_error(IT_EFORMAT, "tensor \"%s\": its group lacks the data or chunks dataset",
                        t->id);
    ht->data = H5Dopen2(ht->group, "data", H5P_DEFAULT);
    if (ht->data < 0)
        return iti_h5_error(IT_EFORMAT, "tensor group lacks its data or chunk index");
    int rc;
    if ((rc = iti_h5_read_i64(ht->group, "origin", ht->origin, (size_t)t->rank)) ||
        (rc = read_extent(ht)) || (rc = check_data_layout(ht)) || (rc = derive_chunk_range(ht)))
        return rc;
    rc = iti_h5_index_open(&ht->index, ht->group, &h->vfd, file_size(h), ht->cmin, ht->cmax);
    if (rc == 0 && h->mode != IT_HDF5_READONLY)
        iti_h5_view_open(ht);
    return rc;
}

void iti_h5t_close(h5_tensor *ht) {
    iti_h5_view_close(ht);
    if (ht->index.dset >= 0)
        H5Dclose(ht->index.dset);
    ht->index.dset = -1;
    if (ht->data >= 0)
        H5Dclose(ht->data);
    if (ht->group >= 0)
        H5Gclose(ht->group);
    ht->data = ht->group = -1;
}

int it_hdf5_tensor_layout(it_tensor *tensor, it_hdf5_layout *out) {
    if (!tensor || !out)
        return iti_error(IT_EINVAL, "it_hdf5_tensor_layout: NULL %s", tensor ? "out" : "tensor");
    iti_store_tensor *t;
    if (!iti_tensor_backend(tensor, &iti_h5_store_ops, &t))
        return iti_error(IT_EINVAL, "it_hdf5_tensor_layout: tensor \"%s\" is not in an HDF5 store",
                        t->id);
    const h5_tensor *ht = t->backend;
    memset(out, 0, sizeof *out);
    snprintf(out->data_path, sizeof out->data_path, "/tensors/%s/data", t->id);
    snprintf(out->index_path, sizeof out->index_path, "/tensors/%s/chunks", t->id);
    out->rank = t->rank;
    memcpy(out->origin, ht->origin, sizeof out->origin);
    memcpy(out->extent, ht->extent, sizeof out->extent);
    memcpy(out->chunk, t->chunk, sizeof out->chunk);
    out->compression = ht->codec.kind;
    out->compression_level = ht->codec.level;
    out->checksum = ht->codec.checksum;
    return 0;
}
