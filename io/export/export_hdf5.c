/* Export of a finite region to a standard HDF5 dataset with dimension scales: the output file
 * (written under a temporary name, renamed over the target when everything succeeded), the
 * dataset, its scales and attributes. The values stream in through export_sink.c. */
#include <errno.h>
#include <pthread.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <hdf5.h>
#include <hdf5_hl.h>

#include "engine.h"
#include "export/export_hdf5.h"
#include "file_util.h"
#include "hdf5/driver/hdf5_guard.h"
#include "hdf5/driver/hdf5_vfd.h"
#include "hdf5/hdf5_attr.h"
#include "hdf5/hdf5_compat.h"
#include "hdf5/hdf5_filters.h"
#include "hdf5/hdf5_lock.h"
#include "open_files.h"

#define EDGE_CHUNK 256

void it_export_options_init(it_export_options *opts) {
    if (opts)
        *opts = (it_export_options){.struct_size = sizeof *opts};
}

static void default_dim_name(int rank, int d, char *buf, size_t size) {
    if (d == rank - 1)
        snprintf(buf, size, "x");
    else if (d == rank - 2)
        snprintf(buf, size, "y");
    else
        snprintf(buf, size, "dim%d", d);
}

/* CF's `axis` of a coordinate, from its name (none for the names it does not know). */
static const char *cf_axis(const char *name) {
    static const struct {
        const char *axis, *names[5];
    } known[] = {{"X", {"x", "lon", "longitude"}},
                 {"Y", {"y", "lat", "latitude"}},
                 {"Z", {"z", "depth", "height", "level", "altitude"}},
                 {"T", {"t", "time"}}};
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        for (size_t j = 0; j < 5 && known[i].names[j]; j++)
            if (strcasecmp(name, known[i].names[j]) == 0)
                return known[i].axis;
    return NULL;
}

/* ---- file and dataset ----------------------------------------------------------------------- */

static int write_scales(exporter *x, hid_t parent, const char *dataset_name) {
    for (int d = 0; d < x->rank; d++) {
        char name[256];
        if (x->o->dim_names && x->o->dim_names[d])
            snprintf(name, sizeof name, "%s", x->o->dim_names[d]);
        else
            default_dim_name(x->rank, d, name, sizeof name);
        int64_t *coords = malloc((size_t)x->ext[d] * sizeof *coords);
        if (!coords)
            return iti_error(IT_ENOMEM, "it_export_hdf5: out of memory");
        for (int64_t i = 0; i < x->ext[d]; i++)
            coords[i] = x->s.start[d] + i * x->s.step[d];
        /* Candidate names: name, name_<dataset>, name_<dataset>_2, ...: the first that is
         * free, or a scale holding the same coordinates (then it is shared). */
        char sname[300];
        bool reuse = false;
        for (int attempt = 0; attempt < 1000; attempt++) {
            if (attempt == 0)
                snprintf(sname, sizeof sname, "%s", name);
            else if (attempt == 1)
                snprintf(sname, sizeof sname, "%s_%s", name, dataset_name);
            else
                snprintf(sname, sizeof sname, "%s_%s_%d", name, dataset_name, attempt);
            if (H5Lexists(parent, sname, H5P_DEFAULT) <= 0)
                break;
            hid_t old = H5Oopen(parent, sname, H5P_DEFAULT);
            if (old >= 0 && iti_h5_object_type(old, ".") == H5O_TYPE_DATASET &&
                H5DSis_scale(old) > 0) {
                hid_t sp = H5Dget_space(old);
                hssize_t n = H5Sget_simple_extent_npoints(sp);
                H5Sclose(sp);
                if (n == x->ext[d]) {
                    int64_t *v = malloc((size_t)n * sizeof *v);
                    reuse = v && H5Dread(old, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0 &&
                            memcmp(v, coords, (size_t)n * sizeof *v) == 0;
                    free(v);
                }
            }
            if (reuse) {
                herr_t a = H5DSattach_scale(x->data, old, (unsigned)d);
                H5Oclose(old);
                if (a < 0) {
                    free(coords);
                    return iti_h5_error(IT_EIO, "it_export_hdf5: attaching a dimension scale");
                }
                break;
            }
            if (old >= 0)
                H5Oclose(old);
        }
        if (reuse) {
            free(coords);
            continue;
        }
        hsize_t n = (hsize_t)x->ext[d];
        hid_t sp = H5Screate_simple(1, &n, NULL);
        hid_t sc = H5Dcreate2(parent, sname, H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        int rc = 0;
        if (sc < 0 || H5Dwrite(sc, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, coords) < 0 ||
            H5DSset_scale(sc, name) < 0 || H5DSattach_scale(x->data, sc, (unsigned)d) < 0)
            rc = iti_h5_error(IT_EIO, "it_export_hdf5: writing dimension scale");
        if (rc == 0)
            rc = iti_h5_write_vlen_str(sc, "units", x->o->units ? x->o->units : "1");
        if (rc == 0)
            rc = iti_h5_write_vlen_str(sc, "long_name", "pixel coordinate");
        const char *axis = cf_axis(name);
        if (rc == 0 && axis)
            rc = iti_h5_write_vlen_str(sc, "axis", axis);
        if (sc >= 0)
            H5Dclose(sc);
        H5Sclose(sp);
        free(coords);
        if (rc)
            return rc;
    }
    return 0;
}

static int write_attrs(exporter *x) {
    const iti_store_tensor *t = x->t;
    int64_t start[IT_MAX_RANK], stop[IT_MAX_RANK], step[IT_MAX_RANK];
    for (int d = 0; d < x->rank; d++) {
        step[d] = x->s.step[d];
        start[d] = x->s.start[d];
        stop[d] = x->s.start[d] + (x->ext[d] - 1) * step[d] + 1;
    }
    int rc;
    size_t r = (size_t)x->rank;
    if ((rc = iti_h5_write_vlen_str(x->data, "source_tensor", t->id)) ||
        (rc = iti_h5_write_i64(x->data, "region_start", start, r)) ||
        (rc = iti_h5_write_i64(x->data, "region_stop", stop, r)) ||
        (rc = iti_h5_write_i64(x->data, "region_step", step, r)) ||
        (rc = iti_h5_write_i64(x->data, "origin", start, r)) ||
        (rc = iti_h5_write_vlen_str(x->data, "dtype", it_dtype_name(t->dtype))) ||
        (rc = iti_h5_write_vlen_str(x->data, "created_by", "infinite-tensor " IT_VERSION_STRING)) ||
        (rc = iti_h5_write_vlen_str(x->data, "long_name", x->o->long_name ? x->o->long_name : t->id)))
        return rc;
    if (x->o->value_units && (rc = iti_h5_write_vlen_str(x->data, "units", x->o->value_units)))
        return rc;
    /* CF applies to the whole file: the root's Conventions (replaced when the file has one) */
    if ((rc = iti_h5_write_vlen_str(x->file, "Conventions", "CF-1.8")))
        return rc;
    /* _FillValue, of the data's own type as netCDF requires, marks missing values: netCDF
     * readers (xarray) mask every element equal to it (iti_export_resolve_fill chose it). */
    if (!x->has_fill)
        return 0;
    return iti_h5_write_value(x->data, "_FillValue", iti_h5_file_type(t->dtype),
                              iti_h5_mem_type(t->dtype), x->fill);
}

static int create_dataset(exporter *x, hid_t parent, const char *name) {
    const iti_store_tensor *t = x->t;
    hsize_t dims[IT_MAX_RANK];
    for (int d = 0; d < x->rank; d++)
        dims[d] = (hsize_t)x->ext[d];
    hid_t sp = H5Screate_simple(x->rank, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_fill_value(dcpl, iti_h5_mem_type(t->dtype), x->has_fill ? x->fill : t->fill);
    if (x->o->contiguous) {
        H5Pset_layout(dcpl, H5D_CONTIGUOUS);
        H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY); /* the offset exists from the start */
        H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
    }
    int rc = 0;
    if (!x->o->contiguous) {
        hsize_t ch[IT_MAX_RANK];
        size_t chunk_bytes = t->esize;
        for (int d = 0; d < x->rank; d++) {
            ch[d] = (hsize_t)x->chunk[d];
            chunk_bytes *= (size_t)x->chunk[d];
        }
        H5Pset_chunk(dcpl, x->rank, ch);
        rc = iti_codec_set_filters(&x->codec, dcpl, t->esize, chunk_bytes);
    }
    if (rc == 0) {
        x->data = H5Dcreate2(parent, name, iti_h5_file_type(t->dtype), sp, H5P_DEFAULT, dcpl,
                             H5P_DEFAULT);
        rc = x->data < 0 ? iti_h5_error(IT_EIO, "it_export_hdf5: creating the dataset") : 0;
    }
    H5Pclose(dcpl);
    H5Sclose(sp);
    return rc;
}

static int check_options(exporter *x) {
    const it_export_options *o = x->o;
    int rc = iti_codec_resolve(o->compression, o->compression_level, "it_export_hdf5", &x->codec);
    if (rc)
        return rc;
    if (o->contiguous)
        x->codec = (iti_codec){IT_COMPRESSION_NONE, 0, false};
    if (o->overwrite < IT_EXPORT_REFUSE || o->overwrite > IT_EXPORT_IF_IDENTICAL)
        return iti_error(IT_EINVAL, "it_export_hdf5: overwrite must be IT_EXPORT_REFUSE, "
                         "IT_EXPORT_REPLACE or IT_EXPORT_IF_IDENTICAL (got %d)", o->overwrite);
    size_t bytes = x->t->esize;
    for (int d = 0; d < x->rank; d++) {
        if (o->chunk[d] < 0)
            return iti_error(IT_EINVAL, "it_export_hdf5: chunk[%d] must be >= 0 (got %lld)", d,
                            (long long)o->chunk[d]);
        int64_t def = d >= x->rank - 2 ? EDGE_CHUNK : 1;
        if (x->rank == 1)
            def = 65536;
        int64_t c = o->chunk[d] ? o->chunk[d] : def;
        x->chunk[d] = c < x->ext[d] ? c : x->ext[d];
        bytes *= (size_t)x->chunk[d];
        if (bytes > 0xffffffffu)
            return iti_error(IT_EINVAL, "it_export_hdf5: chunks of more than 4 GiB");
    }
    return 0;
}

/* An existing output that holds the dataset without overwrite is refused before anything is
 * written; the file is opened read-only through the library's driver (HDF5 lock held). */
static int check_target(exporter *x, const char *path, const char *dataset, bool exists) {
    if (!exists)
        return 0;
    iti_vfd_state vfd = {0};
    hid_t f = iti_vfd_open_readonly(path, &vfd);
    int rc = 0;
    if (f < 0)
        rc = iti_vfd_failure(&vfd, IT_EFORMAT, "it_export_hdf5: opening the output file");
    else if (H5Lexists(f, dataset, H5P_DEFAULT) > 0 && x->o->overwrite != IT_EXPORT_REPLACE)
        rc = iti_export_exists_error(path, dataset, "");
    H5Eclear2(H5E_DEFAULT);
    if (f >= 0)
        H5Fclose(f);
    return rc;
}

int iti_export_check_file(const char *path, const char *fn) {
    int is = iti_h5_file_is_hdf5(path);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s: ", fn);
    if (is < 0)
        return iti_error_prefix(is, prefix);
    if (is == 0)
        return iti_error(IT_EFORMAT, "%s: %s exists and is not an HDF5 file", fn, path);
    if (iti_open_file_is_written(path))
        return iti_error(IT_ELOCKED, "%s: %s is open for writing in this process", fn, path);
    return 0;
}

/* Everything that can fail without touching any file: arguments, region, options, and chunks
 * that can be neither read nor computed. */
static int prepare(exporter *x, it_tensor *t, const it_region *region, const char *dataset) {
    if (!dataset[0] || dataset[strlen(dataset) - 1] == '/')
        return iti_error(IT_EINVAL, "it_export_hdf5: dataset name \"%s\" is empty", dataset);
    int rc = iti_selection_resolve(t, region, "it_export_hdf5", &x->s);
    if (rc)
        return rc;
    if (x->s.elems == 0)
        return iti_error(IT_EINVAL, "it_export_hdf5: the region is empty");
    if ((rc = check_options(x)) || (rc = iti_export_resolve_fill(x, t)))
        return rc;
    uint64_t missing;
    if ((rc = iti_eval_count_uncomputable(t, &x->s, &missing)))
        return rc;
    if (missing)
        return iti_error(IT_ENOTCOMPUTED,
                        "it_export_hdf5: tensor \"%s\" has no function and %llu chunk(s) of the "
                        "region were never computed",
                        x->t->id, (unsigned long long)missing);
    return 0;
}

/* The output under a temporary name (tmp): a new file, or a copy of the existing one without
 * the dataset being replaced, so a failed export leaves path as it was (HDF5 lock held). */
typedef struct output {
    const char *path;
    bool exists;
    char tmp[4200];
    hid_t fapl;
    iti_vfd_state vfd;
} output;

static int open_output(exporter *x, output *out, const char *dataset) {
    int rc;
    if ((rc = check_target(x, out->path, dataset, out->exists)) ||
        (rc = iti_fs_temp_name(out->path, "export", out->tmp, sizeof out->tmp)))
        return rc;
    if (out->exists && (rc = iti_fs_copy(out->path, out->tmp, out->vfd.sync))) {
        out->tmp[0] = 0; /* nothing to remove */
        return rc;
    }
    out->fapl = iti_vfd_fapl(&out->vfd);
    if (out->fapl < 0)
        return iti_h5_error(IT_EIO, "it_export_hdf5: file access properties");
    x->file = out->exists ? H5Fopen(out->tmp, H5F_ACC_RDWR, out->fapl)
                          : H5Fcreate(out->tmp, H5F_ACC_EXCL, H5P_DEFAULT, out->fapl);
    if (x->file < 0)
        return iti_vfd_failure(&out->vfd, out->exists ? IT_EFORMAT : IT_EIO,
                              "it_export_hdf5: opening the output");
    if (out->exists && H5Lexists(x->file, dataset, H5P_DEFAULT) > 0 &&
        H5Ldelete(x->file, dataset, H5P_DEFAULT) < 0) /* overwrite (checked above) */
        return iti_h5_error(IT_EIO, "it_export_hdf5: removing the old dataset");
    return 0;
}

/* The group that will hold the dataset (intermediate groups created as needed); *leaf is the
 * dataset's own name. */
static int open_parent(exporter *x, const char *dataset, hid_t *parent, const char **leaf) {
    const char *slash = strrchr(dataset, '/');
    *leaf = slash ? slash + 1 : dataset;
    if (!slash || slash == dataset) {
        *parent = H5Gopen2(x->file, "/", H5P_DEFAULT);
    } else {
        char *group_path = strndup(dataset, (size_t)(slash - dataset));
        if (!group_path)
            return iti_error(IT_ENOMEM, "it_export_hdf5: out of memory");
        if (H5Lexists(x->file, group_path, H5P_DEFAULT) > 0) {
            *parent = H5Gopen2(x->file, group_path, H5P_DEFAULT);
        } else {
            hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
            H5Pset_create_intermediate_group(lcpl, 1);
            *parent = H5Gcreate2(x->file, group_path, lcpl, H5P_DEFAULT, H5P_DEFAULT);
            H5Pclose(lcpl);
        }
        free(group_path);
    }
    return *parent < 0 ? iti_h5_error(IT_EIO, "it_export_hdf5: creating the dataset's group") : 0;
}

/* Closes the output and, when everything succeeded, renames it over path (HDF5 lock held).
 * After a failed write the driver keeps HDF5's closing writes in memory, so the close
 * completes and HDF5 holds nothing broken until exit. */
static int finish_output(exporter *x, output *out, int rc) {
    if (x->data >= 0)
        H5Dclose(x->data);
    if (x->file >= 0 && H5Fclose(x->file) < 0 && rc == 0)
        rc = iti_h5_error(IT_EIO, "it_export_hdf5: closing the output file");
    if (out->fapl >= 0)
        H5Pclose(out->fapl);
    if (rc == 0 && iti_vfd_poisoned(&out->vfd))
        rc = iti_vfd_error(&out->vfd, "it_export_hdf5: writing the output");
    if (out->tmp[0]) {
        if (rc == 0 && rename(out->tmp, out->path) != 0)
            rc = iti_error(iti_fs_errno_code(errno), "it_export_hdf5: renaming %s to %s: %s",
                          out->tmp, out->path, strerror(errno));
        if (rc == 0 && out->vfd.sync)
            rc = iti_fs_sync_dir(out->path);
        if (rc)
            unlink(out->tmp);
    }
    H5Eclear2(H5E_DEFAULT);
    return rc;
}

static int export_to(exporter *x, const char *path, const char *dataset, it_export_info *info);

int it_export_hdf5(it_tensor *t, const it_region *region, const char *path, const char *dataset,
                   const it_export_options *opts, it_export_info *info) {
    if (!t || !region || !path || !dataset)
        return iti_error(IT_EINVAL, "it_export_hdf5: NULL %s",
                        !t ? "tensor" : !region ? "region" : !path ? "path" : "dataset");
    it_export_options o;
    it_export_options_init(&o);
    int rc = iti_options_take(&o, opts, sizeof o, "it_export_hdf5", "it_export_options_init");
    if (rc)
        return rc;
    exporter x = {.tensor = t, .t = iti_tensor_view(t), .o = &o,
                  .rank = iti_tensor_view(t)->rank, .file = -1, .data = -1};
    x.ext = x.s.count;
    iti_tensor_engine(t, &x.eng);
    rc = prepare(&x, t, region, dataset);
    if (rc == 0)
        rc = export_to(&x, path, dataset, info);
    iti_buf_free(x.fill_chunk);
    return rc;
}

/* The export after its checks: compared with what path holds (IT_EXPORT_IF_IDENTICAL), or
 * written. */
static int export_to(exporter *x, const char *path, const char *dataset, it_export_info *info) {
    bool exists = access(path, F_OK) == 0;
    int rc = exists ? iti_export_check_file(path, "it_export_hdf5") : 0;
    if (rc == 0 && exists && x->o->overwrite == IT_EXPORT_IF_IDENTICAL)
        rc = iti_export_compare(x, path, dataset, info);
    if (rc)
        return rc > 0 ? 0 : rc; /* identical: nothing to write */
    output out = {.path = path, .exists = exists, .fapl = -1, .vfd = {.sync = x->o->sync != 0}};
    x->vfd = &out.vfd;
    hid_t parent = -1;
    const char *leaf;
    iti_h5_enter();
    if ((rc = open_output(x, &out, dataset)) == 0 &&
        (rc = open_parent(x, dataset, &parent, &leaf)) == 0 &&
        (rc = create_dataset(x, parent, leaf)) == 0 && (rc = write_attrs(x)) == 0)
        rc = write_scales(x, parent, leaf);
    if (rc == 0) {
        iti_h5_leave(); /* the region is read through stores, which take the HDF5 lock themselves */
        rc = iti_export_stream(x);
        iti_h5_enter();
    }
    if (rc == 0 && x->never_computed) {
        int64_t n = (int64_t)x->never_computed_pixels;
        rc = iti_h5_write_i64(x->data, "never_computed_pixels", &n, 1);
    }
    if (rc == 0)
        iti_export_fill_info(x, x->data, info);
    if (parent >= 0)
        H5Gclose(parent);
    rc = finish_output(x, &out, rc);
    iti_h5_leave();
    return rc;
}
