/* Upgrades a format-1 store to format 2 in place (hdf5_upgrade.h): strings rewritten
 * fixed-length, the chunk index rebuilt from the chunk B-tree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "hdf5/hdf5_attr.h"
#include "hdf5/hdf5_compat.h"
#include "hdf5/hdf5_schema.h"
#include "hdf5/hdf5_upgrade.h"

/* Reads a (variable-length) string attribute and writes it back fixed-length. */
static int refix(hid_t obj, const char *name) {
    char *buf = malloc(ITI_H5_STR_MAX + 1);
    if (!buf)
        return iti_error(IT_ENOMEM, "out of memory");
    int rc = iti_h5_read_str(obj, name, true, buf, ITI_H5_STR_MAX + 1);
    if (rc == 0)
        rc = iti_h5_write_str(obj, name, buf);
    free(buf);
    return rc;
}

static int refix_args(hid_t g) {
    int64_t n = iti_h5_attr_len(g, "args");
    if (n < 0 || n > ITI_H5_ATTR_MAX_ELEMS)
        return iti_error(IT_EFORMAT, "attribute args is unreadable");
    char (*ids)[IT_ID_MAX + 1] = calloc(n ? (size_t)n : 1, sizeof *ids);
    const char **ptr = calloc(n ? (size_t)n : 1, sizeof *ptr);
    int rc = ids && ptr ? 0 : iti_error(IT_ENOMEM, "out of memory");
    for (int64_t i = 0; rc == 0 && i < n; i++) {
        rc = iti_h5_read_strs_at(g, "args", (size_t)i, true, ids[i], sizeof ids[i]);
        ptr[i] = ids[i];
    }
    if (n == 1 && rc == 0 && !ids[0][0])
        n = 0;
    if (rc == 0)
        rc = iti_h5_write_strs(g, "args", ptr, (size_t)n);
    free(ids);
    free(ptr);
    return rc;
}

/* Every string attribute of the schema that the group has, rewritten fixed-length (format 1
 * wrote variable-length strings). */
typedef struct refix_job {
    hid_t g;
    int rc;
} refix_job;

static void refix_listed(const iti_h5_attr_desc *a, void *user) {
    refix_job *j = user;
    if (j->rc == 0 && strcmp(a->type, "string") == 0 && H5Aexists(j->g, a->name) > 0)
        j->rc = refix(j->g, a->name);
}

/* Rewrites the chunk index as the list of chunks HDF5's chunk B-tree holds. */
static int reindex(hid_t g) {
    int64_t rank = iti_h5_attr_len(g, "shape");
    if (rank < 1 || rank > IT_MAX_RANK)
        return iti_error(IT_EFORMAT, "attribute shape is unreadable");
    int64_t chunk[IT_MAX_RANK], grid[IT_MAX_RANK], origin[IT_MAX_RANK];
    int rc;
    if ((rc = iti_h5_read_i64(g, "chunk", chunk, (size_t)rank)) ||
        (rc = iti_h5_read_i64(g, "grid_offset", grid, (size_t)rank)) ||
        (rc = iti_h5_read_i64(g, "origin", origin, (size_t)rank)))
        return rc;
    for (int d = 0; d < rank; d++)
        if (chunk[d] < 1)
            return iti_error(IT_EFORMAT, "attribute chunk holds %lld", (long long)chunk[d]);
    hid_t data = H5Dopen2(g, "data", H5P_DEFAULT), index = H5Dopen2(g, "chunks", H5P_DEFAULT);
    hid_t sp = data < 0 ? -1 : H5Dget_space(data);
    hsize_t n = 0;
    int64_t *rows = NULL;
    if (data < 0 || index < 0 || sp < 0 || H5Dget_num_chunks(data, sp, &n) < 0)
        rc = iti_h5_error(IT_EFORMAT, "reading the chunk B-tree");
    else if (!(rows = malloc((n ? n : 1) * (size_t)rank * sizeof *rows)))
        rc = iti_error(IT_ENOMEM, "out of memory re-indexing");
    /* H5Dget_chunk_info is linear per call in HDF5 1.10: quadratic, once per upgrade. */
    for (hsize_t i = 0; rc == 0 && i < n; i++) {
        hsize_t off[IT_MAX_RANK];
        if (H5Dget_chunk_info(data, sp, i, off, NULL, NULL, NULL) < 0) {
            rc = iti_h5_error(IT_EFORMAT, "listing the chunk B-tree");
            break;
        }
        for (int d = 0; d < rank; d++)
            rows[i * (size_t)rank + (size_t)d] =
                (int64_t)(((iti_i128)off[d] + origin[d] - grid[d]) / chunk[d]);
    }
    hsize_t dims[2] = {n, (hsize_t)rank};
    if (rc == 0 && H5Dset_extent(index, dims) < 0)
        rc = iti_h5_error(IT_EIO, "resizing the chunk index");
    if (rc == 0 && n && H5Dwrite(index, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) < 0)
        rc = iti_h5_error(IT_EIO, "writing the chunk index");
    free(rows);
    if (sp >= 0)
        H5Sclose(sp);
    if (index >= 0)
        H5Dclose(index);
    if (data >= 0)
        H5Dclose(data);
    return rc;
}

static herr_t upgrade_one(hid_t tensors, const char *id, const iti_h5_link_info *info, void *arg) {
    (void)info;
    int *rc = arg;
    hid_t g = H5Gopen2(tensors, id, H5P_DEFAULT);
    if (g < 0) {
        *rc = iti_h5_error(IT_EFORMAT, id);
        return -1;
    }
    refix_job job = {g, 0};
    iti_h5_schema_list(refix_listed, &job);
    *rc = job.rc;
    if (*rc == 0)
        *rc = refix_args(g);
    if (*rc == 0)
        *rc = reindex(g);
    if (*rc) {
        char prefix[IT_ID_MAX + 16];
        snprintf(prefix, sizeof prefix, "tensor %s: ", id);
        iti_error_prefix(*rc, prefix);
    }
    H5Gclose(g);
    return *rc ? -1 : 0;
}

int iti_h5_upgrade_v1(hid_t file, hid_t tensors) {
    int rc = 0;
    if (iti_h5_iterate_links(tensors, upgrade_one, &rc) < 0 && !rc)
        rc = iti_h5_error(IT_EFORMAT, "listing /tensors");
    int64_t version = 2;
    if (rc == 0 && (rc = refix(file, "format")) == 0 && (rc = refix(file, "library_version")) == 0)
        rc = iti_h5_write_i64(file, "format_version", &version, 1);
    return rc ? iti_error_prefix(rc, "upgrading a format-1 store: ") : 0;
}
