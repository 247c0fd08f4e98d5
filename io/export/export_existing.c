/* An export over an existing dataset: refused (IT_EEXIST, naming the options), or, with
 * IT_EXPORT_IF_IDENTICAL, a success without writing when the dataset already holds it, so a
 * script that exports can run twice. The dataset's description (dtype, shape, region) is
 * checked first; then the region is walked through the evaluator as
 * an export would walk it and each chunk's selected pixels are compared, bytes for bytes, with
 * the same box read back from the dataset. The first difference ends the walk. */
#include <stdlib.h>
#include <string.h>

#include "export/export_hdf5.h"
#include "hdf5/hdf5_attr.h"
#include "hdf5/hdf5_lock.h"

#define CACHE_MAX (64u << 20)

typedef struct comparer {
    exporter *x;
    hid_t data, space;             /* the dataset, its file space (boxes selected in turn) */
    char *fresh, *stored;          /* a chunk's selected pixels: computed, read back */
    size_t cap;
    bool differs;
    int64_t where[IT_MAX_RANK];    /* the first differing element's index in the export */
} comparer;

int iti_export_exists_error(const char *path, const char *dataset, const char *why) {
    return iti_error(IT_EEXIST, "it_export_hdf5: %s already has a dataset \"%s\"%s: replace it with "
                     "overwrite = IT_EXPORT_REPLACE (CLI --overwrite, Python overwrite=True), or "
                     "accept an identical one with IT_EXPORT_IF_IDENTICAL (--if-identical, "
                     "overwrite=\"if-identical\")", path, dataset, why);
}

void iti_export_fill_info(const exporter *x, hid_t data, it_export_info *info) {
    if (!info)
        return;
    memset(info, 0, sizeof *info);
    info->rank = x->rank;
    memcpy(info->shape, x->s.count, sizeof x->s.count);
    haddr_t off = HADDR_UNDEF;
    hid_t dcpl = H5Dget_create_plist(data);
    if (dcpl >= 0 && H5Pget_layout(dcpl) == H5D_CONTIGUOUS)
        off = H5Dget_offset(data);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    info->data_offset = off == HADDR_UNDEF ? UINT64_MAX : (uint64_t)off;
    info->data_bytes = (uint64_t)x->s.bytes;
}

static int grow(comparer *c, size_t bytes) {
    if (bytes <= c->cap)
        return 0;
    free(c->fresh);
    free(c->stored);
    c->fresh = malloc(bytes);
    c->stored = malloc(bytes);
    c->cap = c->fresh && c->stored ? bytes : 0;
    return c->cap ? 0 : iti_error(IT_ENOMEM, "it_export_hdf5: out of memory");
}

/* Reads the box first .. first + n of the dataset into c->stored (HDF5 lock taken here). */
static int read_box(comparer *c, const int64_t *first, const int64_t *n) {
    const exporter *x = c->x;
    hsize_t start[IT_MAX_RANK], count[IT_MAX_RANK];
    for (int d = 0; d < x->rank; d++)
        start[d] = (hsize_t)first[d], count[d] = (hsize_t)n[d];
    iti_h5_enter();
    hid_t ms = H5Screate_simple(x->rank, count, NULL);
    int rc = 0;
    if (ms < 0 || H5Sselect_hyperslab(c->space, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
        H5Dread(c->data, iti_h5_mem_type(x->t->dtype), ms, c->space, H5P_DEFAULT, c->stored) < 0)
        rc = iti_h5_error(IT_EIO, "it_export_hdf5: reading the existing dataset back");
    if (ms >= 0)
        H5Sclose(ms);
    iti_h5_leave();
    return rc;
}

static int compare_chunk(comparer *c, const iti_coord *coord, const char *data) {
    exporter *x = c->x;
    const iti_store_tensor *t = x->t;
    int64_t first[IT_MAX_RANK], n[IT_MAX_RANK], at[IT_MAX_RANK];
    if (!iti_selection_in_chunk(t, &x->s, coord, first, n, at))
        return 0;
    int64_t dstr[IT_MAX_RANK];
    size_t elems = 1;
    iti_strides(n, t->rank, dstr);
    for (int d = 0; d < t->rank; d++)
        elems *= (size_t)n[d];
    int rc = grow(c, elems * t->esize);
    if (rc)
        return rc;
    iti_selection_gather(t, &x->s, n, at, iti_export_source(x, data, elems), c->fresh, dstr);
    if ((rc = read_box(c, first, n)))
        return rc;
    if (memcmp(c->fresh, c->stored, elems * t->esize) == 0)
        return 0;
    size_t i = 0;
    while (memcmp(c->fresh + i * t->esize, c->stored + i * t->esize, t->esize) == 0)
        i++;
    for (int d = t->rank - 1; d >= 0; d--) {
        c->where[d] = first[d] + (int64_t)(i % (size_t)n[d]);
        i /= (size_t)n[d];
    }
    c->differs = true;
    return 1; /* ends the walk */
}

static int compare_block(const iti_coord *coords, const iti_chunk_ref *refs, size_t n, void *user) {
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = compare_chunk(user, &coords[i], refs[i].data);
    return rc;
}

/* Whether the dataset describes this export: "" when it does, else what differs. Only
 * fixed-size attributes are read (source_tensor, a variable-length string, would go through
 * HDF5's global heap, whose reader trusts the file): a dataset of the same values from another
 * tensor is as good as this one. */
static void check_description(const exporter *x, hid_t data, char *why, size_t size) {
    why[0] = 0;
    hid_t type = H5Dget_type(data), sp = H5Dget_space(data);
    hsize_t dims[IT_MAX_RANK];
    int rank = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    bool same_type = type >= 0 && H5Tequal(type, iti_h5_file_type(x->t->dtype)) > 0;
    bool same_shape = rank == x->rank && H5Sget_simple_extent_dims(sp, dims, NULL) == rank;
    for (int d = 0; same_shape && d < rank; d++)
        same_shape = dims[d] == (hsize_t)x->ext[d];
    if (type >= 0)
        H5Tclose(type);
    if (sp >= 0)
        H5Sclose(sp);
    int64_t start[IT_MAX_RANK], step[IT_MAX_RANK];
    if (!same_type)
        snprintf(why, size, " of another dtype than %s", it_dtype_name(x->t->dtype));
    else if (!same_shape)
        snprintf(why, size, " of another shape");
    else if (iti_h5_read_i64(data, "region_start", start, (size_t)x->rank) ||
             iti_h5_read_i64(data, "region_step", step, (size_t)x->rank) ||
             memcmp(start, x->s.start, (size_t)x->rank * sizeof *start) != 0 ||
             memcmp(step, x->s.step, (size_t)x->rank * sizeof *step) != 0)
        snprintf(why, size, " of another region");
    H5Eclear2(H5E_DEFAULT);
}

/* Opens the dataset with a chunk cache that holds a band of its chunks, as the walk reads
 * them: every output chunk is then decoded about once. */
static hid_t open_dataset(const exporter *x, hid_t file, const char *dataset) {
    hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
    size_t bytes = x->eng.budget / 4 < CACHE_MAX ? x->eng.budget / 4 : CACHE_MAX;
    if (dapl >= 0)
        H5Pset_chunk_cache(dapl, 12421, bytes, 1.0);
    hid_t data = H5Dopen2(file, dataset, dapl >= 0 ? dapl : H5P_DEFAULT);
    if (dapl >= 0)
        H5Pclose(dapl);
    return data;
}

int iti_export_compare(exporter *x, const char *path, const char *dataset, it_export_info *info) {
    iti_vfd_state vfd = {0};
    comparer c = {.x = x, .data = -1, .space = -1};
    char why[300] = "";
    iti_h5_enter();
    hid_t f = iti_vfd_open_readonly(path, &vfd);
    int rc = 0;
    if (f < 0)
        rc = iti_vfd_failure(&vfd, IT_EFORMAT, "it_export_hdf5: opening the output file");
    else if (H5Lexists(f, dataset, H5P_DEFAULT) <= 0)
        rc = 0; /* nothing there: the export writes it */
    else if ((c.data = open_dataset(x, f, dataset)) < 0)
        rc = iti_h5_error(IT_EFORMAT, "it_export_hdf5: opening the existing dataset");
    else
        check_description(x, c.data, why, sizeof why);
    if (rc == 0 && c.data >= 0 && !why[0] && (c.space = H5Dget_space(c.data)) < 0)
        rc = iti_h5_error(IT_EFORMAT, "it_export_hdf5: the existing dataset's space");
    if (rc == 0 && c.space >= 0) {
        iti_h5_leave(); /* the region is read through stores, which take the HDF5 lock */
        rc = iti_eval_visit(x->tensor, &x->s, x->eng.budget / 4, compare_block, &c,
                            "it_export_hdf5");
        iti_h5_enter();
        if (rc == 1 && c.differs) {
            char at[IT_MAX_RANK * 24];
            iti_format_coord(at, sizeof at, c.where, x->rank);
            snprintf(why, sizeof why, " that differs at index [%s]", at);
            rc = 0;
        }
        if (rc == 0 && !why[0]) {
            iti_export_fill_info(x, c.data, info);
            rc = 1;
        }
    }
    if (rc == 0 && why[0])
        rc = iti_export_exists_error(path, dataset, why);
    if (c.space >= 0)
        H5Sclose(c.space);
    if (c.data >= 0)
        H5Dclose(c.data);
    H5Eclear2(H5E_DEFAULT);
    if (f >= 0)
        H5Fclose(f);
    iti_h5_leave();
    free(c.fresh);
    free(c.stored);
    return rc;
}
