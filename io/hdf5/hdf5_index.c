/* The chunk index of a stored tensor (hdf5_index.h). */
#include <stdlib.h>
#include <string.h>

#include "hdf5/hdf5_attr.h"
#include "hdf5/hdf5_index.h"

#define INDEX_CHUNK_ROWS 256

int iti_h5_index_init(iti_h5_index *ix, int rank, const char *id) {
    memset(ix, 0, sizeof *ix);
    ix->dset = -1;
    ix->rank = rank;
    ix->id = id;
    return iti_coordset_init(&ix->present);
}

void iti_h5_index_free(iti_h5_index *ix) {
    iti_coordset_free(&ix->present);
    free(ix->pending);
    ix->pending = NULL;
}

int iti_h5_index_create(iti_h5_index *ix, hid_t g) {
    hsize_t r = (hsize_t)ix->rank;
    hsize_t dims[2] = {0, r}, max[2] = {H5S_UNLIMITED, r}, chunk[2] = {INDEX_CHUNK_ROWS, r};
    hid_t sp = H5Screate_simple(2, dims, max);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 2, chunk);
    ix->dset = H5Dcreate2(g, "chunks", H5T_STD_I64LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Sclose(sp);
    H5Pclose(dcpl);
    return ix->dset < 0 ? iti_h5_error(IT_EIO, "creating the chunk index") : 0;
}

/* Widens the members' bounding box to hold c (first: the box of c alone). */
static void include_in_box(iti_h5_index *ix, const iti_coord *c, bool first) {
    for (int d = 0; d < ix->rank; d++) {
        if (first || c->v[d] < ix->lo[d])
            ix->lo[d] = c->v[d];
        if (first || c->v[d] > ix->hi[d])
            ix->hi[d] = c->v[d];
    }
}

/* Adds c to the members, widening their box: 1 when it is new, 0 when known, IT_ENOMEM. */
static int add_member(iti_h5_index *ix, const iti_coord *c) {
    int added = iti_coordset_add(&ix->present, c);
    if (added < 0)
        return iti_error(IT_ENOMEM, "out of memory indexing the chunks of \"%s\"", ix->id);
    if (added > 0)
        include_in_box(ix, c, ix->present.count == 1);
    return added;
}

/* Whether the dataset is stored as iti_h5_index_create stores it: little-endian int64 in
 * unfiltered chunks of rows no larger than the file; *rows_per_chunk set. */
static bool layout_ok(const iti_h5_index *ix, uint64_t fsize, hsize_t *rows_per_chunk) {
    hid_t dcpl = H5Dget_create_plist(ix->dset), ty = H5Dget_type(ix->dset);
    hsize_t ichunk[2] = {0, 0};
    bool ok = dcpl >= 0 && ty >= 0 && H5Tequal(ty, H5T_STD_I64LE) > 0 &&
              H5Pget_layout(dcpl) == H5D_CHUNKED && H5Pget_chunk(dcpl, 2, ichunk) == 2 &&
              H5Pget_nfilters(dcpl) == 0 && ichunk[1] == (hsize_t)ix->rank && ichunk[0] >= 1 &&
              ichunk[0] <= fsize / (8 * (uint64_t)ix->rank);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (ty >= 0)
        H5Tclose(ty);
    *rows_per_chunk = ichunk[0];
    return ok;
}

/* Adds the rows of one dataset chunk; rows outside [cmin, cmax) name no chunk: they are
 * dropped and counted (it_hdf5_check_index reports them; reads ask the B-tree, so nothing
 * stored is lost). */
static int add_rows(iti_h5_index *ix, const int64_t *rows, hsize_t n, const int64_t *cmin,
                    const int64_t *cmax) {
    for (hsize_t i = 0; i < n; i++) {
        iti_coord c;
        memset(&c, 0, sizeof c);
        memcpy(c.v, rows + i * (hsize_t)ix->rank, sizeof(int64_t) * (size_t)ix->rank);
        bool inside = true;
        for (int d = 0; d < ix->rank; d++)
            inside = inside && c.v[d] >= cmin[d] && c.v[d] < cmax[d];
        if (!inside)
            ix->stale++;
        else if (add_member(ix, &c) < 0)
            return IT_ENOMEM;
    }
    return 0;
}

int iti_h5_index_open(iti_h5_index *ix, hid_t g, iti_vfd_state *vfd, uint64_t fsize,
                     const int64_t *cmin, const int64_t *cmax) {
    ix->dset = H5Dopen2(g, "chunks", H5P_DEFAULT);
    if (ix->dset < 0)
        return iti_h5_error(IT_EFORMAT, "tensor group lacks its chunk index");
    hid_t sp = H5Dget_space(ix->dset);
    hsize_t dims[2] = {0, 0}, per = 0;
    int nd = sp < 0 ? -1 : H5Sget_simple_extent_ndims(sp);
    if (nd == 2)
        H5Sget_simple_extent_dims(sp, dims, NULL);
    if (sp >= 0)
        H5Sclose(sp);
    if (nd != 2)
        return iti_error(IT_EFORMAT, "tensor \"%s\": the chunk index is not a 2-D dataset", ix->id);
    ix->rows = dims[0];
    if (dims[0] == 0)
        return 0;
    if (dims[1] != (hsize_t)ix->rank || !layout_ok(ix, fsize, &per))
        return iti_error(IT_EFORMAT, "tensor \"%s\": the chunk index is not stored as the format "
                        "says (little-endian int64 rows of %d, in unfiltered chunks)", ix->id,
                        ix->rank);
    if (dims[0] > fsize / (8 * (uint64_t)ix->rank)) /* each row takes rank*8 bytes of the file */
        return iti_error(IT_EFORMAT, "tensor \"%s\": chunk index claims %llu rows, more than the "
                        "%llu-byte file can hold", ix->id, (unsigned long long)dims[0],
                        (unsigned long long)fsize);
    size_t bytes = (size_t)per * (size_t)ix->rank * sizeof(int64_t);
    int64_t *rows = malloc(bytes);
    if (!rows)
        return iti_error(IT_ENOMEM, "out of memory loading the chunk index of \"%s\"", ix->id);
    int rc = 0;
    for (hsize_t start = 0; rc == 0 && start < dims[0]; start += per) {
        hsize_t off[2] = {start, 0}, stored = 0, n = dims[0] - start < per ? dims[0] - start : per;
        if (H5Dget_chunk_storage_size(ix->dset, off, &stored) < 0 || stored == 0) {
            H5Eclear2(H5E_DEFAULT);
            ix->stale += n; /* rows never written: they name nothing */
            continue;
        }
        if (stored != bytes) {
            rc = iti_error(IT_EFORMAT, "tensor \"%s\": a chunk of the chunk index holds %llu "
                          "bytes, not %zu", ix->id, (unsigned long long)stored, bytes);
            break;
        }
        rc = iti_vfd_read_chunk(vfd, ix->dset, off, rows, bytes, "reading the chunk index");
        if (rc == 0)
            rc = add_rows(ix, rows, n, cmin, cmax);
    }
    free(rows);
    return rc;
}

bool iti_h5_index_has(const iti_h5_index *ix, const iti_coord *c) {
    return iti_coordset_has(&ix->present, c);
}

int iti_h5_index_add(iti_h5_index *ix, const iti_coord *c) {
    int added = add_member(ix, c);
    if (added <= 0)
        return added;
    if (ix->npending == ix->cap) {
        size_t cap = ix->cap ? ix->cap * 2 : 64;
        iti_coord *p = realloc(ix->pending, cap * sizeof *p);
        if (!p)
            return iti_error(IT_ENOMEM, "out of memory");
        ix->pending = p;
        ix->cap = cap;
    }
    ix->pending[ix->npending++] = *c;
    return 0;
}

int iti_h5_index_append(iti_h5_index *ix) {
    if (ix->npending == 0)
        return 0;
    hsize_t r = (hsize_t)ix->rank, dims[2] = {ix->rows + ix->npending, r};
    int64_t *rows = malloc(ix->npending * r * sizeof *rows);
    if (!rows)
        return iti_error(IT_ENOMEM, "out of memory");
    for (size_t i = 0; i < ix->npending; i++)
        memcpy(rows + i * r, ix->pending[i].v, r * sizeof *rows);
    int rc = 0;
    if (H5Dset_extent(ix->dset, dims) < 0) {
        rc = iti_h5_error(IT_EIO, "extending the chunk index");
    } else {
        hid_t fs = H5Dget_space(ix->dset);
        hsize_t start[2] = {ix->rows, 0}, count[2] = {ix->npending, r};
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
        hid_t ms = H5Screate_simple(2, count, NULL);
        if (H5Dwrite(ix->dset, H5T_NATIVE_INT64, ms, fs, H5P_DEFAULT, rows) < 0)
            rc = iti_h5_error(IT_EIO, "writing the chunk index");
        H5Sclose(ms);
        H5Sclose(fs);
    }
    free(rows);
    if (rc == 0) {
        ix->rows += ix->npending;
        ix->npending = 0;
    }
    return rc;
}

int iti_h5_index_check(iti_h5_index *ix, hsize_t (*stored_size)(const iti_coord *c, void *user),
                      void *user) {
    if (ix->checked)
        return 0;
    iti_coord *all = NULL;
    size_t n = ix->present.count;
    iti_coordset kept;
    int rc = iti_coordset_sorted(&ix->present, &all);
    if (rc == 0 && (rc = iti_coordset_init(&kept)) != 0)
        free(all);
    if (rc)
        return rc;
    size_t nkept = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (stored_size(&all[i], user) == 0)
            ix->stale++;
        else if (iti_coordset_add(&kept, &all[i]) < 0)
            rc = iti_error(IT_ENOMEM, "out of memory checking the chunk index");
        else
            all[nkept++] = all[i];
    }
    if (rc) {
        free(all);
        iti_coordset_free(&kept);
        return rc;
    }
    iti_coordset_free(&ix->present);
    ix->present = kept;
    for (size_t i = 0; i < nkept; i++) /* the box of what is left */
        include_in_box(ix, &all[i], i == 0);
    free(all);
    ix->checked = true;
    return 0;
}

int iti_h5_index_sorted(const iti_h5_index *ix, iti_coord **out, size_t *n) {
    *n = ix->present.count;
    return iti_coordset_sorted(&ix->present, out);
}
