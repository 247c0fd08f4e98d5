/* The HDF5 tile store (format: io/FORMAT.md).
 *
 * One mutex serialises every HDF5 call of a store; HDF5's automatic error printing is switched
 * off for the calling thread while it holds the mutex and HDF5 failures become IT_E* codes with
 * HDF5's innermost message. Chunks are compressed before the mutex is taken (put runs on the
 * context's pool) and written with H5Dwrite_chunk; reads use H5Dread_chunk and decode outside
 * the mutex, in parallel when the evaluator prefetches a batch. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>

#include "cache.h"
#include "codec.h"
#include "context_impl.h"
#include "coordset.h"
#include "file_util.h"
#include "hdf5_attr.h"
#include "hdf5_upgrade.h"
#include "hdf5_vfd.h"
#include "open_files.h"
#include "tensor_impl.h"

#define FORMAT_NAME "infinite-tensor"
/* 2: strings are fixed-length, and every flush is atomic (hdf5_vfd.h), so the chunk index
 * always lists exactly the chunks of HDF5's chunk B-tree. Version 1 stores (variable-length
 * strings, flushes that a crash could tear) are still read. */
#define FORMAT_VERSION 2
/* Extent products stay below 2^62 elements: far from 2^63 (h5py's sizes), and never a multiple
 * of 2^64 (which crashes HDF5 1.10 on the first write). */
#define ELEMENT_LIMIT ((it_i128)1 << 62)
#define DEFAULT_CACHE ((size_t)64 << 20)

typedef struct h5_tensor {
    hid_t group, data, index;
    bool compressed;
    int64_t origin[IT_MAX_RANK];  /* pixel of dataset index 0 */
    int64_t extent[IT_MAX_RANK];  /* dataset dims */
    int64_t cmin[IT_MAX_RANK], cmax[IT_MAX_RANK]; /* storable chunk indices [cmin, cmax) */
    it_coordset present;          /* chunks known stored (rows of the index: see check_index) */
    bool checked;                 /* present has been checked against the chunk B-tree */
    uint64_t stale;               /* index rows dropped by that check */
    it_coord *pending;            /* stored since the chunk index was last appended */
    size_t npending, cap;
    hsize_t indexed;              /* rows of the chunk index dataset */
} h5_tensor;

typedef struct h5_store {
    pthread_mutex_t lock;
    it_h5_quiet quiet;
    hid_t file, tensors;
    it_hdf5_mode mode;
    int level;                    /* -1: no compression for new tensors */
    int version;                  /* of the file's format */
    bool trusted;                 /* it_hdf5_options.trusted */
    it_cache *decoded;
    bool dirty;
    it_vfd_state vfd;             /* the file driver's settings and report of OS errors */
    char *journal;                /* "<path>-journal" */
    int failed;                   /* the first write failure; every later call returns it */
    char failed_msg[512];
    it_open_file *claim;          /* this process's claim on the file */
} h5_store;

#define H5S(s) ((h5_store *)(s)->impl)
#define H5T(t) ((h5_tensor *)(t)->backend)

static void enter(h5_store *h) {
    pthread_mutex_lock(&h->lock);
    it_h5_quiet_begin(&h->quiet);
}

static void leave(h5_store *h) {
    it_h5_quiet_end(&h->quiet);
    pthread_mutex_unlock(&h->lock);
}

/* ---- faults --------------------------------------------------------------------------------- *
 * When a write, truncate or sync fails, the file driver poisons the file: nothing reaches the
 * disk any more, and the file keeps what the last completed flush made durable (plus whatever
 * was written before the fault, as after a kill). The store then fails every later call with
 * that first error, without touching the file; closing it is safe. */

static int stopped(h5_store *h) {
    return it_error(h->failed, "the store stopped at an earlier failure and no longer writes "
                    "its file: %s", h->failed_msg);
}

/* Takes the lock for an operation; fails (lock released) when the store has stopped. */
static int enter_op(h5_store *h) {
    enter(h);
    if (!h->failed)
        return 0;
    int rc = stopped(h);
    leave(h);
    return rc;
}

/* Records a fault the driver reported during the operation; returns it instead of rc. */
static int check_fault(h5_store *h, int rc) {
    if (h->failed || !it_vfd_poisoned(&h->vfd))
        return rc;
    h->failed = it_vfd_error(&h->vfd, "HDF5 store");
    it_error_save(h->failed_msg, sizeof h->failed_msg);
    return h->failed;
}

/* Ends an operation: reports a fault, releases the lock. */
static int leave_op(h5_store *h, int rc) {
    rc = check_fault(h, rc);
    leave(h);
    return rc;
}

/* ---- types and names -------------------------------------------------------------------- */

static const char *blend_names[IT_BLEND_COUNT_] = {"sum", "max", "min", "replace", "mean",
                                                   "custom"};

static void format_array(char *buf, size_t size, const int64_t *v, int n) {
    size_t used = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < n && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, i ? ", %lld" : "%lld", (long long)v[i]);
    if (used < size)
        snprintf(buf + used, size - used, "]");
}

/* ---- metadata ----------------------------------------------------------------------------- */

static int write_window(hid_t g, const char *prefix, const it_window *w) {
    char name[64];
    int64_t map[IT_MAX_RANK];
    for (int d = 0; d < w->rank; d++)
        map[d] = w->map[d];
    int rc;
    snprintf(name, sizeof name, "%s_size", prefix);
    if ((rc = it_h5_write_i64(g, name, w->size, (size_t)w->rank)))
        return rc;
    snprintf(name, sizeof name, "%s_stride", prefix);
    if ((rc = it_h5_write_i64(g, name, w->stride, (size_t)w->rank)))
        return rc;
    snprintf(name, sizeof name, "%s_offset", prefix);
    if ((rc = it_h5_write_i64(g, name, w->offset, (size_t)w->rank)))
        return rc;
    snprintf(name, sizeof name, "%s_map", prefix);
    return it_h5_write_i64(g, name, map, (size_t)w->rank);
}

static int write_meta(hid_t g, const it_tensor *t, const h5_tensor *ht) {
    int rc;
    size_t r = (size_t)t->rank;
    const char *ids[64];
    for (size_t i = 0; i < t->n_args; i++)
        ids[i] = t->args[i]->id;
    if ((rc = it_h5_write_i64(g, "shape", t->shape, r)) ||
        (rc = it_h5_write_str(g, "dtype", it_dtype_name(t->dtype))) ||
        (rc = write_window(g, "window", &t->win)) ||
        (rc = it_h5_write_strs(g, "args", ids, t->n_args)) ||
        (rc = it_h5_write_str(g, "blend", blend_names[t->blend])) ||
        (rc = it_h5_write_f64(g, "blend_init", t->blend_init)) ||
        (rc = it_h5_write_i64(g, "chunk", t->chunk, r)) ||
        (rc = it_h5_write_i64(g, "grid_offset", t->grid, r)) ||
        (rc = it_h5_write_i64(g, "origin", ht->origin, r)) ||
        (rc = it_h5_write_str(g, "fn_tag", t->fn_tag)) ||
        (rc = it_h5_write_str(g, "created_by", "infinite-tensor " IT_VERSION_STRING)))
        return rc;
    for (size_t i = 0; i < t->n_args; i++) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "arg%zu_window", i);
        if ((rc = write_window(g, prefix, &t->arg_windows[i])))
            return rc;
    }
    return 0;
}

static int mismatch_array(const it_tensor *t, const char *field, const int64_t *stored,
                          const int64_t *want, int n) {
    if (memcmp(stored, want, sizeof(int64_t) * (size_t)n) == 0)
        return 0;
    char a[256], b[256];
    format_array(a, sizeof a, stored, n);
    format_array(b, sizeof b, want, n);
    return it_error(IT_EMISMATCH,
                    "it_tensor_create: tensor \"%s\" is stored with %s = %s, the description has %s",
                    t->id, field, a, b);
}

static int mismatch_str(const it_tensor *t, const char *field, const char *stored,
                        const char *want) {
    if (strcmp(stored, want) == 0)
        return 0;
    return it_error(IT_EMISMATCH,
                    "it_tensor_create: tensor \"%s\" is stored with %s = \"%s\", the description "
                    "has \"%s\"",
                    t->id, field, stored, want);
}

static int check_window(hid_t g, const it_tensor *t, const char *prefix, const it_window *w) {
    static const char *parts[4] = {"size", "stride", "offset", "map"};
    for (int p = 0; p < 4; p++) {
        char name[64];
        int64_t stored[IT_MAX_RANK], want[IT_MAX_RANK];
        snprintf(name, sizeof name, "%s_%s", prefix, parts[p]);
        int64_t n = it_h5_attr_len(g, name);
        if (n < 0)
            return (int)n;
        if (n != w->rank) {
            int64_t sr = n, wr = w->rank;
            return mismatch_array(t, name, &sr, &wr, 1);
        }
        if (it_h5_read_i64(g, name, stored, (size_t)n))
            return IT_EFORMAT;
        for (int d = 0; d < w->rank; d++)
            want[d] = p == 0 ? w->size[d] : p == 1 ? w->stride[d] : p == 2 ? w->offset[d] : w->map[d];
        int rc = mismatch_array(t, name, stored, want, w->rank);
        if (rc)
            return rc;
    }
    return 0;
}

/* Compares every stored field with t; IT_EMISMATCH names the first difference. */
static int validate_meta(hid_t g, const it_tensor *t, bool legacy) {
    char s[4200];
    int64_t v[IT_MAX_RANK];
    int rc;
    int64_t rank = it_h5_attr_len(g, "shape");
    if (rank < 1 || rank > IT_MAX_RANK)
        return it_error(IT_EFORMAT, "tensor \"%s\": attribute shape is unreadable", t->id);
    if (rank != t->rank) {
        int64_t want = t->rank;
        return mismatch_array(t, "rank", &rank, &want, 1);
    }
    if ((rc = it_h5_read_i64(g, "shape", v, (size_t)rank)) ||
        (rc = mismatch_array(t, "shape", v, t->shape, t->rank)))
        return rc;
    if ((rc = it_h5_read_str(g, "dtype", legacy, s, sizeof s)) ||
        (rc = mismatch_str(t, "dtype", s, it_dtype_name(t->dtype))))
        return rc;
    if ((rc = check_window(g, t, "window", &t->win)))
        return rc;
    int64_t nargs = it_h5_attr_len(g, "args");
    if (nargs < 0)
        return (int)nargs;
    /* an empty string list is stored as one "" (HDF5 has no empty simple dataspace attrs) */
    if (nargs == 1) {
        if ((rc = it_h5_read_strs_at(g, "args", 0, legacy, s, sizeof s)))
            return rc;
        if (s[0] == 0)
            nargs = 0;
    }
    if (nargs != (int64_t)t->n_args) {
        int64_t want = (int64_t)t->n_args;
        return mismatch_array(t, "number of args", &nargs, &want, 1);
    }
    for (size_t i = 0; i < t->n_args; i++) {
        char field[32], prefix[32];
        snprintf(field, sizeof field, "args[%zu]", i);
        if ((rc = it_h5_read_strs_at(g, "args", i, legacy, s, sizeof s)) ||
            (rc = mismatch_str(t, field, s, t->args[i]->id)))
            return rc;
        snprintf(prefix, sizeof prefix, "arg%zu_window", i);
        if ((rc = check_window(g, t, prefix, &t->arg_windows[i])))
            return rc;
    }
    if ((rc = it_h5_read_str(g, "blend", legacy, s, sizeof s)) ||
        (rc = mismatch_str(t, "blend", s, blend_names[t->blend])))
        return rc;
    double init;
    if ((rc = it_h5_read_f64(g, "blend_init", &init)))
        return rc;
    if (memcmp(&init, &t->blend_init, sizeof init) != 0)
        return it_error(IT_EMISMATCH,
                        "it_tensor_create: tensor \"%s\" is stored with blend_init = %g, the "
                        "description has %g",
                        t->id, init, t->blend_init);
    if ((rc = it_h5_read_i64(g, "chunk", v, (size_t)rank)) ||
        (rc = mismatch_array(t, "chunk", v, t->chunk, t->rank)))
        return rc;
    if ((rc = it_h5_read_str(g, "fn_tag", legacy, s, sizeof s)) ||
        (rc = mismatch_str(t, "fn_tag", s, t->fn_tag)))
        return rc;
    return 0;
}

/* ---- storable range ----------------------------------------------------------------------- */

/* Per infinite dimension, K chunks on each side of the origin: the largest K with
 * prod(finite n) * prod(2*K*chunk) < 2^62, the same K for every infinite dimension. */
static int plan_range(const it_tensor *t, h5_tensor *ht) {
    it_i128 fixed = 1;
    int ninf = 0;
    for (int d = 0; d < t->rank; d++) {
        if (t->shape[d] == IT_INF) {
            fixed *= 2 * (it_i128)t->chunk[d];
            ninf++;
        } else {
            fixed *= t->shape[d];
        }
        if (fixed >= ELEMENT_LIMIT)
            return it_error(IT_ERANGE,
                            "tensor \"%s\": its chunks are too large for an HDF5 extent below "
                            "2^62 elements",
                            t->id);
    }
    int64_t K = 1;
    if (ninf > 0) {
        double k = floor(pow((double)(ELEMENT_LIMIT / fixed), 1.0 / ninf));
        K = k > (double)INT64_MAX / 4 ? INT64_MAX / 4 : (int64_t)k;
        for (;; K--) { /* correct floating-point rounding */
            it_i128 p = fixed;
            bool ok = K >= 1;
            for (int i = 0; ok && i < ninf; i++) {
                p *= K;
                ok = p < ELEMENT_LIMIT;
            }
            if (ok || K < 1)
                break;
        }
        if (K < 1)
            return it_error(IT_ERANGE, "tensor \"%s\": chunks too large to store", t->id);
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
static int derive_chunk_range(const it_tensor *t, h5_tensor *ht) {
    it_i128 elements = 1, K = -1;
    for (int d = 0; d < t->rank; d++) {
        it_i128 gap = (it_i128)t->grid[d] - ht->origin[d]; /* K whole chunks */
        bool finite = t->shape[d] != IT_INF;
        bool ok = finite ? ht->origin[d] == 0 && ht->extent[d] == t->shape[d]
                         : gap > 0 && gap % t->chunk[d] == 0 && ht->extent[d] == 2 * gap &&
                               (K < 0 || K == gap / t->chunk[d]);
        if (!finite && ok)
            K = gap / t->chunk[d];
        if (!ok)
            return it_error(IT_EFORMAT, "tensor \"%s\": origin[%d] = %lld with extent %lld does "
                            "not fit its chunk grid and shape", t->id, d,
                            (long long)ht->origin[d], (long long)ht->extent[d]);
        elements *= ht->extent[d];
        if (elements >= ELEMENT_LIMIT)
            return it_error(IT_EFORMAT, "tensor \"%s\": dataset extent has 2^62 or more elements",
                            t->id);
        ht->cmin[d] = (int64_t)(-(gap / t->chunk[d]));
        ht->cmax[d] = ht->cmin[d] + (ht->extent[d] + t->chunk[d] - 1) / t->chunk[d];
    }
    return 0;
}

static int check_chunk_range(const it_tensor *t, const h5_tensor *ht, const it_coord *c) {
    for (int d = 0; d < t->rank; d++) {
        if (c->v[d] < ht->cmin[d] || c->v[d] >= ht->cmax[d])
            return it_error(IT_ERANGE,
                            "tensor \"%s\": dimension %d can store pixels [%lld, %lld) only "
                            "(HDF5 extent limit); chunk %lld is outside",
                            t->id, d, (long long)ht->origin[d],
                            (long long)(ht->origin[d] + ht->extent[d]), (long long)c->v[d]);
    }
    return 0;
}

static void chunk_offset(const it_tensor *t, const h5_tensor *ht, const it_coord *c,
                         hsize_t *off) {
    for (int d = 0; d < t->rank; d++)
        off[d] = (hsize_t)(c->v[d] * t->chunk[d] + t->grid[d] - ht->origin[d]);
}

/* ---- attach / detach ------------------------------------------------------------------------ */

/* Current size of the store's file (lock held). */
static uint64_t file_size(h5_store *h) {
    hsize_t n = 0;
    if (H5Fget_filesize(h->file, &n) < 0)
        H5Eclear2(H5E_DEFAULT);
    return (uint64_t)n;
}

/* Reads stored chunk off of dset into buf, which holds size bytes: the driver refuses to read
 * more (the chunk's record comes from the file). 0 or an error (lock held). */
static int read_chunk_bytes(h5_store *h, hid_t dset, const hsize_t *off, void *buf, size_t size,
                            const char *what) {
    uint32_t mask = 0;
    h->vfd.raw_read_limit = size;
    herr_t got = H5Dread_chunk(dset, H5P_DEFAULT, off, &mask, buf);
    h->vfd.raw_read_limit = 0;
    if (got < 0)
        return it_vfd_failure(&h->vfd, IT_EIO, what);
    if (mask != 0) /* the library writes every chunk through all its filters (mask 0) */
        return it_error(IT_EFORMAT, "%s: a chunk was stored with filters skipped (mask 0x%x)",
                        what, mask);
    return 0;
}

/* Whether the chunk index is stored as create_tensor stores it: 2-D little-endian int64 in
 * unfiltered chunks of rows no larger than the file; *rows_per_chunk set. */
static bool index_layout_ok(const it_tensor *t, const h5_tensor *ht, uint64_t fsize,
                            hsize_t *rows_per_chunk) {
    hid_t dcpl = H5Dget_create_plist(ht->index), ty = H5Dget_type(ht->index);
    hsize_t ichunk[2] = {0, 0};
    bool ok = dcpl >= 0 && ty >= 0 && H5Tequal(ty, H5T_STD_I64LE) > 0 &&
              H5Pget_layout(dcpl) == H5D_CHUNKED && H5Pget_chunk(dcpl, 2, ichunk) == 2 &&
              H5Pget_nfilters(dcpl) == 0 && ichunk[1] == (hsize_t)t->rank && ichunk[0] >= 1 &&
              ichunk[0] <= fsize / (8 * (uint64_t)t->rank);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (ty >= 0)
        H5Tclose(ty);
    *rows_per_chunk = ichunk[0];
    return ok;
}

/* Adds the rows of one index chunk to the present set; rows outside the storable range name no
 * chunk: they are dropped and counted (it_hdf5_check_index reports them; reads ask the B-tree,
 * so nothing stored is lost). */
static int add_rows(const it_tensor *t, h5_tensor *ht, const int64_t *rows, hsize_t n) {
    for (hsize_t i = 0; i < n; i++) {
        it_coord c;
        memset(&c, 0, sizeof c);
        memcpy(c.v, rows + i * (hsize_t)t->rank, sizeof(int64_t) * (size_t)t->rank);
        bool inside = true;
        for (int d = 0; d < t->rank; d++)
            inside = inside && c.v[d] >= ht->cmin[d] && c.v[d] < ht->cmax[d];
        if (!inside)
            ht->stale++;
        else if (it_coordset_add(&ht->present, &c) < 0)
            return it_error(IT_ENOMEM, "out of memory loading the chunk index of \"%s\"", t->id);
    }
    return 0;
}

/* Loads the chunk index into the present set (lock held). Its size and layout are checked
 * against the file's before anything is allocated, and it is read chunk by chunk with direct
 * chunk reads into a buffer of the chunk's size (the driver refuses a longer read), so no
 * size read from the file reaches an allocation of HDF5's. */
static int load_index(h5_store *h, const it_tensor *t, h5_tensor *ht) {
    uint64_t fsize = file_size(h);
    hid_t sp = H5Dget_space(ht->index);
    hsize_t dims[2] = {0, 0}, per = 0;
    int nd = sp < 0 ? -1 : H5Sget_simple_extent_ndims(sp);
    if (nd == 2)
        H5Sget_simple_extent_dims(sp, dims, NULL);
    if (sp >= 0)
        H5Sclose(sp);
    if (nd != 2)
        return it_error(IT_EFORMAT, "tensor \"%s\": the chunk index is not a 2-D dataset", t->id);
    ht->indexed = dims[0];
    if (dims[0] == 0)
        return 0;
    if (dims[1] != (hsize_t)t->rank || !index_layout_ok(t, ht, fsize, &per))
        return it_error(IT_EFORMAT, "tensor \"%s\": the chunk index is not stored as the format "
                        "says (little-endian int64 rows of %d, in unfiltered chunks)", t->id,
                        t->rank);
    if (dims[0] > fsize / (8 * (uint64_t)t->rank)) /* each row takes rank*8 bytes of the file */
        return it_error(IT_EFORMAT, "tensor \"%s\": chunk index claims %llu rows, more than the "
                        "%llu-byte file can hold", t->id, (unsigned long long)dims[0],
                        (unsigned long long)fsize);
    size_t bytes = (size_t)per * (size_t)t->rank * sizeof(int64_t);
    int64_t *rows = malloc(bytes);
    if (!rows)
        return it_error(IT_ENOMEM, "out of memory loading the chunk index of \"%s\"", t->id);
    int rc = 0;
    for (hsize_t start = 0; rc == 0 && start < dims[0]; start += per) {
        hsize_t off[2] = {start, 0}, stored = 0, n = dims[0] - start < per ? dims[0] - start : per;
        if (H5Dget_chunk_storage_size(ht->index, off, &stored) < 0 || stored == 0) {
            H5Eclear2(H5E_DEFAULT);
            ht->stale += n; /* rows never written: they name nothing */
            continue;
        }
        if (stored != bytes) {
            rc = it_error(IT_EFORMAT, "tensor \"%s\": a chunk of the chunk index holds %llu "
                          "bytes, not %zu", t->id, (unsigned long long)stored, bytes);
            break;
        }
        if ((rc = read_chunk_bytes(h, ht->index, off, rows, bytes, "reading the chunk index")) == 0)
            rc = add_rows(t, ht, rows, n);
    }
    free(rows);
    return rc;
}

static int create_tensor(h5_store *h, it_tensor *t, h5_tensor *ht) {
    int rc = plan_range(t, ht);
    if (rc)
        return rc;
    for (int d = 0; d < t->rank; d++)
        if (t->shape[d] != IT_INF && t->chunk[d] > t->shape[d])
            return it_error(IT_EINVAL,
                            "it_tensor_create: chunk[%d] (%lld) exceeds the finite dimension "
                            "(%lld); HDF5 chunks must fit",
                            d, (long long)t->chunk[d], (long long)t->shape[d]);
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
    H5Pset_attr_creation_order(gcpl, H5P_CRT_ORDER_TRACKED);
    ht->group = H5Gcreate2(h->tensors, t->id, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    if (ht->group < 0)
        rc = it_h5_error(IT_EIO, "creating the tensor group");
    H5Pclose(gcpl);
    if (rc)
        return rc;
    if ((rc = write_meta(ht->group, t, ht)))
        return rc;
    hsize_t dims[IT_MAX_RANK], maxdims[IT_MAX_RANK], chunk[IT_MAX_RANK];
    for (int d = 0; d < t->rank; d++) {
        dims[d] = (hsize_t)ht->extent[d];
        maxdims[d] = t->shape[d] == IT_INF ? H5S_UNLIMITED : (hsize_t)t->shape[d];
        chunk[d] = (hsize_t)t->chunk[d];
    }
    hid_t sp = H5Screate_simple(t->rank, dims, maxdims);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, t->rank, chunk);
    H5Pset_fill_value(dcpl, it_h5_mem_type(t->dtype), t->init);
    H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_INCR);
    ht->compressed = h->level >= 1;
    if (ht->compressed) {
        H5Pset_shuffle(dcpl);
        H5Pset_deflate(dcpl, (unsigned)h->level);
    }
    ht->data = H5Dcreate2(ht->group, "data", it_h5_file_type(t->dtype), sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (ht->data < 0)
        rc = it_h5_error(IT_EIO, "creating the tensor dataset");
    H5Sclose(sp);
    H5Pclose(dcpl);
    if (rc)
        return rc;
    hsize_t idims[2] = {0, (hsize_t)t->rank}, imax[2] = {H5S_UNLIMITED, (hsize_t)t->rank},
            ichunk[2] = {256, (hsize_t)t->rank};
    sp = H5Screate_simple(2, idims, imax);
    dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 2, ichunk);
    ht->index = H5Dcreate2(ht->group, "chunks", H5T_STD_I64LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (ht->index < 0)
        rc = it_h5_error(IT_EIO, "creating the chunk index");
    H5Sclose(sp);
    H5Pclose(dcpl);
    return rc;
}

/* The dataset must be what create_tensor makes: chunked with the tensor's chunk shape, of the
 * dtype's size, unfiltered or shuffle + deflate; otherwise direct chunk I/O would misread it. */
static int check_data_layout(const it_tensor *t, h5_tensor *ht) {
    hid_t dcpl = H5Dget_create_plist(ht->data), ty = H5Dget_type(ht->data);
    hsize_t chunk[IT_MAX_RANK];
    int rc = 0;
    if (dcpl < 0 || ty < 0 || H5Pget_layout(dcpl) != H5D_CHUNKED ||
        H5Pget_chunk(dcpl, IT_MAX_RANK, chunk) != t->rank) {
        rc = it_error(IT_EFORMAT, "tensor \"%s\": data is not chunked with rank %d", t->id, t->rank);
    } else {
        for (int d = 0; rc == 0 && d < t->rank; d++)
            if (chunk[d] != (hsize_t)t->chunk[d])
                rc = it_error(IT_EFORMAT, "tensor \"%s\": data has chunk[%d] = %llu, metadata %lld",
                              t->id, d, (unsigned long long)chunk[d], (long long)t->chunk[d]);
        H5T_class_t cls = H5Tget_class(ty);
        if (rc == 0 && (H5Tget_size(ty) != t->esize || (cls != H5T_INTEGER && cls != H5T_FLOAT)))
            rc = it_error(IT_EFORMAT, "tensor \"%s\": data elements do not match dtype %s", t->id,
                          it_dtype_name(t->dtype));
        static const H5Z_filter_t pipeline[2] = {H5Z_FILTER_SHUFFLE, H5Z_FILTER_DEFLATE};
        int nf = H5Pget_nfilters(dcpl);
        bool std = nf == 0 || nf == 2;
        for (int i = 0; std && i < nf; i++) {
            unsigned flags;
            size_t nv = 0;
            std = H5Pget_filter2(dcpl, (unsigned)i, &flags, &nv, NULL, 0, NULL, NULL) == pipeline[i];
        }
        if (rc == 0 && !std)
            rc = it_error(IT_EFORMAT, "tensor \"%s\": data has filters other than shuffle + "
                          "deflate", t->id);
        ht->compressed = nf > 0;
    }
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (ty >= 0)
        H5Tclose(ty);
    return rc;
}

static int open_tensor_objects(h5_store *h, const it_tensor *t, h5_tensor *ht) {
    int rc;
    H5O_info_t oi;
    if (H5Oget_info_by_name(ht->group, "data", &oi, H5P_DEFAULT) < 0 || oi.type != H5O_TYPE_DATASET ||
        H5Oget_info_by_name(ht->group, "chunks", &oi, H5P_DEFAULT) < 0 || oi.type != H5O_TYPE_DATASET)
        return it_error(IT_EFORMAT, "tensor \"%s\": its group lacks the data or chunks dataset",
                        t->id);
    ht->data = H5Dopen2(ht->group, "data", H5P_DEFAULT);
    ht->index = H5Dopen2(ht->group, "chunks", H5P_DEFAULT);
    if (ht->data < 0 || ht->index < 0)
        return it_h5_error(IT_EFORMAT, "tensor group lacks its data or chunk index");
    if ((rc = it_h5_read_i64(ht->group, "origin", ht->origin, (size_t)t->rank)))
        return rc;
    hid_t sp = H5Dget_space(ht->data);
    hsize_t dims[IT_MAX_RANK];
    int nd = sp < 0 ? -1 : H5Sget_simple_extent_ndims(sp);
    if (nd == t->rank)
        H5Sget_simple_extent_dims(sp, dims, NULL);
    if (sp >= 0)
        H5Sclose(sp);
    if (nd != t->rank)
        return it_error(IT_EFORMAT, "tensor \"%s\": dataset rank %d, expected %d", t->id, nd, t->rank);
    for (int d = 0; d < t->rank; d++) {
        if (dims[d] > (hsize_t)INT64_MAX)
            return it_error(IT_EFORMAT, "tensor \"%s\": dataset extent out of range", t->id);
        ht->extent[d] = (int64_t)dims[d];
    }
    if ((rc = check_data_layout(t, ht)) || (rc = derive_chunk_range(t, ht)))
        return rc;
    return load_index(h, t, ht);
}

static void close_objects(h5_tensor *ht) {
    if (ht->index > 0)
        H5Dclose(ht->index);
    if (ht->data > 0)
        H5Dclose(ht->data);
    if (ht->group > 0)
        H5Gclose(ht->group);
    ht->index = ht->data = ht->group = -1;
}

static void free_tensor_state(h5_tensor *ht) {
    close_objects(ht);
    it_coordset_free(&ht->present);
    free(ht->pending);
    free(ht);
}

static int h5_attach(it_store *s, it_tensor *t) {
    h5_store *h = H5S(s);
    h5_tensor *ht = calloc(1, sizeof *ht);
    if (!ht)
        return it_error(IT_ENOMEM, "out of memory");
    ht->group = ht->data = ht->index = -1;
    int rc = it_coordset_init(&ht->present);
    if (rc == 0)
        rc = enter_op(h);
    if (rc) {
        it_coordset_free(&ht->present);
        free(ht);
        return rc;
    }
    htri_t exists = H5Lexists(h->tensors, t->id, H5P_DEFAULT);
    if (exists > 0) {
        ht->group = H5Gopen2(h->tensors, t->id, H5P_DEFAULT);
        /* Tensors opened without fn (it_tensor_open) were described from this metadata. */
        if (ht->group < 0)
            rc = it_h5_error(IT_EFORMAT, "opening the tensor group");
        else if (!t->fn || !(rc = validate_meta(ht->group, t, h->version == 1)))
            rc = open_tensor_objects(h, t, ht);
    } else if (h->mode == IT_HDF5_READONLY) {
        rc = it_error(IT_EINVAL, "it_tensor_create: store is read-only and has no tensor \"%s\"",
                      t->id);
    } else {
        rc = create_tensor(h, t, ht);
        if (rc == 0)
            rc = derive_chunk_range(t, ht);
        if (rc && ht->group >= 0) { /* leave the file as it was */
            close_objects(ht);
            H5Ldelete(h->tensors, t->id, H5P_DEFAULT);
        }
        h->dirty = true;
    }
    rc = leave_op(h, rc);
    if (rc) {
        free_tensor_state(ht);
        return rc;
    }
    t->backend = ht;
    return 0;
}

/* Appends pending chunk coordinates to the tensor's chunk index (lock held). */
static int append_index(const it_tensor *t, h5_tensor *ht) {
    if (ht->npending == 0)
        return 0;
    hsize_t r = (hsize_t)t->rank, dims[2] = {ht->indexed + ht->npending, r};
    int64_t *rows = malloc(ht->npending * r * sizeof *rows);
    if (!rows)
        return it_error(IT_ENOMEM, "out of memory");
    for (size_t i = 0; i < ht->npending; i++)
        memcpy(rows + i * r, ht->pending[i].v, r * sizeof *rows);
    int rc = 0;
    if (H5Dset_extent(ht->index, dims) < 0) {
        rc = it_h5_error(IT_EIO, "extending the chunk index");
    } else {
        hid_t fs = H5Dget_space(ht->index);
        hsize_t start[2] = {ht->indexed, 0}, count[2] = {ht->npending, r};
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
        hid_t ms = H5Screate_simple(2, count, NULL);
        if (H5Dwrite(ht->index, H5T_NATIVE_INT64, ms, fs, H5P_DEFAULT, rows) < 0)
            rc = it_h5_error(IT_EIO, "writing the chunk index");
        H5Sclose(ms);
        H5Sclose(fs);
    }
    free(rows);
    if (rc == 0) {
        ht->indexed += ht->npending;
        ht->npending = 0;
    }
    return rc;
}

static void h5_detach(it_store *s, it_tensor *t) {
    h5_store *h = H5S(s);
    h5_tensor *ht = H5T(t);
    if (!ht)
        return;
    enter(h);
    if (!h->failed)
        check_fault(h, append_index(t, ht));
    close_objects(ht);
    leave(h);
    it_cache_drop(h->decoded, t->serial, false);
    free_tensor_state(ht);
    t->backend = NULL;
}

/* ---- chunks ----------------------------------------------------------------------------------- */

/* Records chunk c as stored and, if new, as due for the chunk index (lock held). */
static int mark_present(h5_tensor *ht, const it_coord *c) {
    if (!it_coordset_has(&ht->present, c)) {
        if (it_coordset_add(&ht->present, c) < 0)
            return IT_ENOMEM;
        if (ht->npending == ht->cap) {
            size_t cap = ht->cap ? ht->cap * 2 : 64;
            it_coord *p = realloc(ht->pending, cap * sizeof *p);
            if (!p)
                return it_error(IT_ENOMEM, "out of memory");
            ht->pending = p;
            ht->cap = cap;
        }
        ht->pending[ht->npending++] = *c;
    }
    return 1;
}

/* Stored bytes of chunk c in HDF5's chunk B-tree, 0 when absent (lock held). */
static hsize_t btree_size(const it_tensor *t, const h5_tensor *ht, const it_coord *c) {
    hsize_t off[IT_MAX_RANK], sz = 0;
    chunk_offset(t, ht, c, off);
    if (H5Dget_chunk_storage_size(ht->data, off, &sz) < 0) {
        H5Eclear2(H5E_DEFAULT);
        return 0;
    }
    return sz;
}

/* Version-1 stores were flushed without the journal, so a kill or a fault in the middle of a
 * flush could leave chunk-index rows whose chunk never reached HDF5's chunk B-tree (or chunks
 * the index lacks). Before anything lists from such an index, every row is looked up in the
 * B-tree (about 0.6 us a row); rows without a chunk are dropped and counted (lock held).
 * it_hdf5_check_index checks any store. */
static int check_index(const it_tensor *t, h5_tensor *ht) {
    if (ht->checked)
        return 0;
    it_coord *all = NULL;
    size_t n = ht->present.count;
    it_coordset kept;
    int rc = it_coordset_sorted(&ht->present, &all);
    if (rc == 0 && (rc = it_coordset_init(&kept)) != 0)
        free(all);
    if (rc)
        return rc;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (btree_size(t, ht, &all[i]) == 0)
            ht->stale++;
        else if (it_coordset_add(&kept, &all[i]) < 0)
            rc = it_error(IT_ENOMEM, "out of memory checking the chunk index");
    }
    free(all);
    if (rc) {
        it_coordset_free(&kept);
        return rc;
    }
    it_coordset_free(&ht->present);
    ht->present = kept;
    ht->checked = true;
    return 0;
}

/* Whether chunk c is stored (lock held), from HDF5's chunk B-tree, which is authoritative:
 * chunks written before a crash may be stored without being indexed yet; they join the index. */
static int is_present(const it_tensor *t, h5_tensor *ht, const it_coord *c, hsize_t *size) {
    *size = btree_size(t, ht, c);
    return *size ? mark_present(ht, c) : 0;
}

/* Reads the raw (encoded) bytes of a stored chunk; 0 when absent (lock held). */
static int read_raw(h5_store *h, const it_tensor *t, h5_tensor *ht, const it_coord *c, void **raw,
                    size_t *len) {
    hsize_t size;
    int p = is_present(t, ht, c, &size);
    if (p <= 0)
        return p;
    /* The size comes from the file: no encoding of a chunk is larger than its deflate bound. */
    if (size > it_codec_bound(t->chunk_bytes) || (!ht->compressed && size != t->chunk_bytes))
        return it_error(IT_EFORMAT, "tensor \"%s\": a stored chunk claims %llu bytes (a chunk "
                        "holds %zu)", t->id, (unsigned long long)size, t->chunk_bytes);
    void *buf = it_buf_alloc((size_t)size);
    if (!buf)
        return it_error(IT_ENOMEM, "out of memory reading a chunk");
    hsize_t off[IT_MAX_RANK];
    chunk_offset(t, ht, c, off);
    int rc = read_chunk_bytes(h, ht->data, off, buf, (size_t)size, "H5Dread_chunk");
    if (rc) {
        it_buf_free(buf);
        return rc;
    }
    *raw = buf;
    *len = (size_t)size;
    return 1;
}

static int decode(const it_tensor *t, const h5_tensor *ht, void *raw, size_t len, void **out) {
    void *buf = it_buf_alloc(t->chunk_bytes);
    if (!buf) {
        it_buf_free(raw);
        return it_error(IT_ENOMEM, "out of memory decoding a chunk");
    }
    int rc = 0;
    if (!ht->compressed) {
        if (len != t->chunk_bytes)
            rc = it_error(IT_EFORMAT, "tensor \"%s\": stored chunk has %zu bytes, expected %zu",
                          t->id, len, t->chunk_bytes);
        else
            memcpy(buf, raw, len);
    } else {
        void *scratch = t->esize > 1 ? it_buf_alloc(t->chunk_bytes) : NULL;
        if (t->esize > 1 && !scratch)
            rc = it_error(IT_ENOMEM, "out of memory decoding a chunk");
        else
            rc = it_codec_decode(raw, len, t->esize, buf, t->chunk_bytes, scratch);
        it_buf_free(scratch);
        if (rc)
            it_error_prefix(rc, "decoding a stored chunk: ");
    }
    it_buf_free(raw);
    if (rc) {
        it_buf_free(buf);
        return rc;
    }
    *out = buf;
    return 0;
}

static int h5_get(it_store *s, it_tensor *t, const it_coord *c, it_chunk_ref *ref) {
    h5_store *h = H5S(s);
    h5_tensor *ht = H5T(t);
    int rc = check_chunk_range(t, ht, c);
    if (rc)
        return rc;
    it_cache_entry *e = it_cache_get(h->decoded, t->serial, c);
    if (!e) {
        void *raw = NULL, *buf = NULL;
        size_t len = 0;
        if ((rc = enter_op(h)))
            return rc;
        int p = leave_op(h, read_raw(h, t, ht, c, &raw, &len));
        if (p <= 0)
            return p;
        if ((rc = decode(t, ht, raw, len, &buf)))
            return rc;
        e = it_cache_put(h->decoded, t->serial, c, buf);
        if (!e)
            return it_error(IT_ENOMEM, "out of memory caching a chunk");
    }
    ref->data = it_cache_data(e);
    ref->handle = e;
    return 1;
}

static int h5_has(it_store *s, it_tensor *t, const it_coord *c) {
    h5_store *h = H5S(s);
    h5_tensor *ht = H5T(t);
    int rc = check_chunk_range(t, ht, c);
    if (rc)
        return rc;
    if (it_cache_contains(h->decoded, t->serial, c))
        return 1;
    hsize_t size;
    if ((rc = enter_op(h)))
        return rc;
    return leave_op(h, is_present(t, ht, c, &size));
}

static void h5_release(it_store *s, it_tensor *t, it_chunk_ref *ref) {
    (void)t;
    it_cache_release(H5S(s)->decoded, ref->handle);
    ref->handle = NULL;
    ref->data = NULL;
}

static int h5_put(it_store *s, it_tensor *t, const it_coord *c, void *buf, it_chunk_ref *ref) {
    h5_store *h = H5S(s);
    h5_tensor *ht = H5T(t);
    int rc = check_chunk_range(t, ht, c);
    if (rc == 0 && h->mode == IT_HDF5_READONLY)
        rc = it_error(IT_EINVAL, "store is read-only");
    if (rc) {
        it_buf_free(buf);
        return rc;
    }
    void *enc = NULL;
    size_t len = t->chunk_bytes;
    if (ht->compressed && (rc = it_codec_encode(buf, t->chunk_bytes, t->esize, h->level > 0 ? h->level : 1, &enc, &len))) {
        it_buf_free(buf);
        return rc;
    }
    hsize_t off[IT_MAX_RANK];
    chunk_offset(t, ht, c, off);
    if ((rc = enter_op(h)) == 0) {
        if (H5Dwrite_chunk(ht->data, H5P_DEFAULT, 0, off, len, enc ? enc : buf) < 0) {
            rc = it_h5_error(IT_EIO, "H5Dwrite_chunk");
        } else {
            rc = mark_present(ht, c) == 1 ? 0 : IT_ENOMEM;
            h->dirty = true;
        }
        rc = leave_op(h, rc);
    }
    it_buf_free(enc);
    if (rc || !ref) { /* nobody reads it now: the buffer recycles for the next chunk */
        it_buf_free(buf);
        return rc;
    }
    it_cache_entry *e = it_cache_put(h->decoded, t->serial, c, buf);
    if (!e)
        return it_error(IT_ENOMEM, "out of memory caching a chunk");
    ref->data = it_cache_data(e);
    ref->handle = e;
    return 0;
}

typedef struct prefetch_job {
    const it_tensor *t;
    const h5_tensor *ht;
    h5_store *h;
    it_coord *coords;
    void **raw;
    size_t *len;
} prefetch_job;

static int prefetch_one(void *arg, size_t i, int thread) {
    (void)thread;
    prefetch_job *j = arg;
    if (!j->raw[i])
        return 0;
    void *buf = NULL;
    int rc = decode(j->t, j->ht, j->raw[i], j->len[i], &buf);
    j->raw[i] = NULL;
    if (rc)
        return rc;
    it_cache_release(j->h->decoded, it_cache_put(j->h->decoded, j->t->serial, &j->coords[i], buf));
    return 0;
}

static int h5_prefetch(it_store *s, it_tensor *t, const it_coord *chunks, size_t n, it_pool *pool) {
    h5_store *h = H5S(s);
    h5_tensor *ht = H5T(t);
    prefetch_job j = {.t = t, .ht = ht, .h = h};
    j.coords = malloc((n ? n : 1) * sizeof *j.coords);
    j.raw = calloc(n ? n : 1, sizeof *j.raw);
    j.len = calloc(n ? n : 1, sizeof *j.len);
    int rc = 0;
    if (!j.coords || !j.raw || !j.len) {
        rc = it_error(IT_ENOMEM, "out of memory");
        goto out;
    }
    size_t m = 0;
    if ((rc = enter_op(h)))
        goto out;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (check_chunk_range(t, ht, &chunks[i]))
            continue; /* get reports it */
        it_cache_entry *e = it_cache_get(h->decoded, t->serial, &chunks[i]);
        if (e) {
            it_cache_release(h->decoded, e);
            continue;
        }
        j.coords[m] = chunks[i];
        int p = read_raw(h, t, ht, &chunks[i], &j.raw[m], &j.len[m]);
        if (p < 0)
            rc = p;
        else if (p)
            m++;
    }
    rc = leave_op(h, rc);
    if (rc == 0 && m)
        rc = it_pool_run(pool, m, prefetch_one, &j);
    for (size_t i = 0; i < m; i++)
        it_buf_free(j.raw[i]);
out:
    free(j.coords);
    free(j.raw);
    free(j.len);
    return rc;
}

/* ---- store-level operations ------------------------------------------------------------------ */

static int h5_clear_cache(it_store *s, it_tensor *t) {
    it_cache_drop(H5S(s)->decoded, t ? t->serial : 0, t == NULL);
    return 0;
}

static int h5_remove(it_store *s, it_tensor *t, const char *id) {
    h5_store *h = H5S(s);
    if (h->mode == IT_HDF5_READONLY)
        return it_error(IT_EINVAL, "it_store_delete_tensor: store is read-only");
    int rc = enter_op(h);
    if (rc)
        return rc;
    if (H5Lexists(h->tensors, id, H5P_DEFAULT) <= 0)
        rc = it_error(IT_ENOTFOUND, "it_store_delete_tensor: no tensor \"%s\" in the store", id);
    else if (H5Ldelete(h->tensors, id, H5P_DEFAULT) < 0)
        rc = it_h5_error(IT_EIO, "it_store_delete_tensor");
    else
        h->dirty = true;
    if (rc == 0 && t)
        H5T(t)->npending = 0; /* nothing left to index */
    rc = leave_op(h, rc);
    if (rc == 0 && t)
        it_cache_drop(h->decoded, t->serial, false);
    return rc;
}

static int h5_flush(it_store *s) {
    h5_store *h = H5S(s);
    if (h->mode == IT_HDF5_READONLY)
        return 0;
    pthread_mutex_lock(&s->lock);
    int rc = enter_op(h);
    if (rc) {
        pthread_mutex_unlock(&s->lock);
        return rc;
    }
    for (it_tensor *t = s->tensors; t && rc == 0; t = t->next_in_store)
        if (H5T(t) && H5T(t)->npending)
            rc = append_index(t, H5T(t)), h->dirty = true;
    if (rc == 0 && h->dirty) {
        /* The driver commits the flush atomically (hdf5_vfd.h). */
        if (H5Fflush(h->file, H5F_SCOPE_LOCAL) < 0)
            rc = it_h5_error(IT_EIO, "H5Fflush");
        else
            h->dirty = false;
    }
    rc = leave_op(h, rc);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* After a fault the driver keeps HDF5's closing writes in memory: the close always completes,
 * and nothing is left open in HDF5 for its exit handler to trip over. */
static int h5_close(it_store *s) {
    h5_store *h = H5S(s);
    enter(h);
    H5Gclose(h->tensors);
    int rc = 0;
    if (H5Fclose(h->file) < 0)
        rc = it_h5_error(IT_EIO, "it_store_close: closing the file");
    rc = h->failed ? 0 : check_fault(h, rc); /* a fault met earlier was reported then */
    leave(h);
    it_open_file_release(h->claim);
    it_cache_destroy(h->decoded);
    pthread_mutex_destroy(&h->lock);
    free(h->journal);
    free(h);
    return rc;
}

static size_t h5_memory_bytes(const it_store *s) { return it_cache_bytes(H5S(s)->decoded); }

static int read_window(hid_t g, const char *prefix, int rank, it_window *w) {
    static const char *parts[4] = {"size", "stride", "offset", "map"};
    int64_t v[4][IT_MAX_RANK];
    for (int p = 0; p < 4; p++) {
        char name[64];
        snprintf(name, sizeof name, "%s_%s", prefix, parts[p]);
        int rc = it_h5_read_i64(g, name, v[p], (size_t)rank);
        if (rc)
            return rc;
    }
    w->rank = rank;
    for (int d = 0; d < rank; d++) {
        if (v[3][d] < -1 || v[3][d] >= IT_MAX_RANK)
            return it_error(IT_EFORMAT, "attribute %s_map holds %lld", prefix, (long long)v[3][d]);
        w->size[d] = v[0][d];
        w->stride[d] = v[1][d];
        w->offset[d] = v[2][d];
        w->map[d] = (int)v[3][d];
    }
    return 0;
}

static int h5_describe(it_store *s, const char *id, it_tensor_desc *d, char *tag, size_t tag_size) {
    h5_store *h = H5S(s);
    char str[64];
    int rc = enter_op(h);
    if (rc)
        return rc;
    hid_t g = -1;
    if (H5Lexists(h->tensors, id, H5P_DEFAULT) <= 0) {
        rc = it_error(IT_ENOTFOUND, "it_tensor_open: no tensor \"%s\" in the store", id);
        goto out;
    }
    g = H5Gopen2(h->tensors, id, H5P_DEFAULT);
    int64_t rank = g < 0 ? -1 : it_h5_attr_len(g, "shape");
    if (rank < 1 || rank > IT_MAX_RANK) {
        rc = it_error(IT_EFORMAT, "it_tensor_open: tensor \"%s\" has unreadable metadata", id);
        goto out;
    }
    it_tensor_desc_init(d, (int)rank);
    if ((rc = it_h5_read_i64(g, "shape", d->shape, (size_t)rank)) ||
        (rc = it_h5_read_str(g, "dtype", h->version == 1, str, sizeof str)) || (rc = it_dtype_parse(str, &d->dtype)) ||
        (rc = read_window(g, "window", (int)rank, &d->window)) ||
        (rc = it_h5_read_str(g, "blend", h->version == 1, str, sizeof str)) ||
        (rc = it_h5_read_f64(g, "blend_init", &d->blend_init)) ||
        (rc = it_h5_read_i64(g, "chunk", d->chunk, (size_t)rank)) ||
        (rc = it_h5_read_str(g, "fn_tag", h->version == 1, tag, tag_size)))
        goto out;
    d->blend = IT_BLEND_COUNT_;
    for (int b = 0; b < IT_BLEND_COUNT_; b++)
        if (strcmp(str, blend_names[b]) == 0)
            d->blend = (it_blend)b;
    if (d->blend == IT_BLEND_COUNT_) {
        rc = it_error(IT_EFORMAT, "it_tensor_open: tensor \"%s\" has unknown blend \"%s\"", id, str);
        goto out;
    }
    d->fn_tag = tag;
out:
    if (rc && rc != IT_ENOTFOUND && rc != IT_EFORMAT)
        rc = it_error_prefix(IT_EFORMAT, "it_tensor_open: stored metadata: ");
    if (g >= 0)
        H5Gclose(g);
    return leave_op(h, rc);
}

static int h5_list(it_store *s, it_store_list_fn fn, void *user) {
    h5_store *h = H5S(s);
    /* Collect names first: the callback may call back into the store. */
    int rc = enter_op(h);
    if (rc)
        return rc;
    H5G_info_t gi;
    if (H5Gget_info(h->tensors, &gi) < 0) {
        rc = it_h5_error(IT_EFORMAT, "it_store_list: reading /tensors");
        return leave_op(h, rc);
    }
    char **names = calloc(gi.nlinks ? gi.nlinks : 1, sizeof *names);
    for (hsize_t i = 0; names && i < gi.nlinks; i++) {
        ssize_t n = H5Lget_name_by_idx(h->tensors, ".", H5_INDEX_NAME, H5_ITER_INC, i, NULL, 0, H5P_DEFAULT);
        names[i] = n >= 0 ? malloc((size_t)n + 1) : NULL;
        if (names[i])
            H5Lget_name_by_idx(h->tensors, ".", H5_INDEX_NAME, H5_ITER_INC, i, names[i], (size_t)n + 1, H5P_DEFAULT);
    }
    H5Eclear2(H5E_DEFAULT);
    rc = leave_op(h, 0);
    if (rc) {
        for (hsize_t i = 0; names && i < gi.nlinks; i++)
            free(names[i]);
        free(names);
        return rc;
    }
    if (!names)
        return it_error(IT_ENOMEM, "out of memory listing tensors");
    for (hsize_t i = 0; i < gi.nlinks; i++) {
        if (names[i] && rc == 0)
            rc = fn(names[i], user);
        free(names[i]);
    }
    free(names);
    return rc;
}

static int h5_stats(it_store *s, it_tensor *t, it_tensor_stats *st) {
    h5_store *h = H5S(s);
    h5_tensor *ht = H5T(t);
    memset(st, 0, sizeof *st);
    int rc = enter_op(h);
    if (rc)
        return rc;
    it_coord *all = NULL;
    if (h->version > 1 || (rc = check_index(t, ht)) == 0) {
        st->stored_bytes = H5Dget_storage_size(ht->data);
        st->chunks = ht->present.count;
        rc = it_coordset_sorted(&ht->present, &all);
    }
    rc = leave_op(h, rc);
    if (rc)
        return rc;
    for (uint64_t i = 0; i < st->chunks; i++) {
        int64_t a[IT_MAX_RANK], b[IT_MAX_RANK];
        it_chunk_box(t, &all[i], a, b);
        for (int d = 0; d < t->rank; d++) {
            if (i == 0 || a[d] < st->bbox_start[d])
                st->bbox_start[d] = a[d];
            if (i == 0 || b[d] > st->bbox_stop[d])
                st->bbox_stop[d] = b[d];
        }
    }
    free(all);
    return 0;
}

static int h5_chunks(it_store *s, it_tensor *t, it_coord **out, size_t *n) {
    h5_store *h = H5S(s);
    int rc = enter_op(h);
    if (rc)
        return rc;
    if (h->version > 1 || (rc = check_index(t, H5T(t))) == 0) {
        *n = H5T(t)->present.count;
        rc = it_coordset_sorted(&H5T(t)->present, out);
    }
    return leave_op(h, rc);
}

static int h5_load_args(it_store *s, it_tensor *t) {
    h5_store *h = H5S(s);
    h5_tensor *ht = H5T(t);
    char id[IT_ID_MAX + 1];
    int rc = enter_op(h);
    if (rc)
        return rc;
    int64_t n = it_h5_attr_len(ht->group, "args");
    if (n == 1 && it_h5_read_strs_at(ht->group, "args", 0, h->version == 1, id, sizeof id) == 0 && !id[0])
        n = 0;
    if (n < 0 || n > 64)
        rc = it_error(IT_EFORMAT, "it_tensor_open: tensor \"%s\": attribute args is unreadable", t->id);
    if (rc == 0 && n > 0) {
        t->info_arg_ids = calloc((size_t)n, sizeof *t->info_arg_ids);
        t->info_arg_windows = calloc((size_t)n, sizeof *t->info_arg_windows);
        t->owns_info_args = true;
        if (!t->info_arg_ids || !t->info_arg_windows)
            rc = it_error(IT_ENOMEM, "out of memory");
        for (int64_t i = 0; rc == 0 && i < n; i++) {
            char prefix[32], name[48];
            if ((rc = it_h5_read_strs_at(ht->group, "args", (size_t)i, h->version == 1, id, sizeof id)))
                break;
            if (!(t->info_arg_ids[i] = strdup(id))) {
                rc = it_error(IT_ENOMEM, "out of memory");
                break;
            }
            t->n_info_args = (size_t)i + 1;
            snprintf(prefix, sizeof prefix, "arg%lld_window", (long long)i);
            snprintf(name, sizeof name, "%s_size", prefix);
            int64_t r = it_h5_attr_len(ht->group, name);
            if (r < 1 || r > IT_MAX_RANK)
                rc = it_error(IT_EFORMAT, "it_tensor_open: tensor \"%s\": %s is unreadable", t->id, name);
            else
                rc = read_window(ht->group, prefix, (int)r, &t->info_arg_windows[i]);
        }
    }
    return leave_op(h, rc);
}

static const it_store_ops hdf5_ops;

int it_hdf5_check_index(it_tensor *t, it_hdf5_index_report *out) {
    if (!t || !out)
        return it_error(IT_EINVAL, "it_hdf5_check_index: NULL %s", t ? "out" : "tensor");
    if (t->store->ops != &hdf5_ops)
        return it_error(IT_EINVAL, "it_hdf5_check_index: tensor \"%s\" is not in an HDF5 store",
                        t->id);
    memset(out, 0, sizeof *out);
    h5_store *h = H5S(t->store);
    h5_tensor *ht = H5T(t);
    int rc = enter_op(h);
    if (rc)
        return rc;
    if ((rc = check_index(t, ht)) == 0) {
        hid_t sp = H5Dget_space(ht->data);
        hsize_t n = 0;
        if (sp < 0 || H5Dget_num_chunks(ht->data, sp, &n) < 0)
            rc = it_h5_error(IT_EFORMAT, "it_hdf5_check_index: counting the chunk B-tree");
        if (sp >= 0)
            H5Sclose(sp);
        out->indexed = ht->indexed;
        out->stale = ht->stale;
        out->stored = n;
        out->unindexed = n > ht->present.count ? n - ht->present.count : 0;
    }
    return leave_op(h, rc);
}

static const it_store_ops hdf5_ops = {
    .chunks = h5_chunks,
    .load_args = h5_load_args,
    .kind = "hdf5",
    .attach = h5_attach,
    .detach = h5_detach,
    .get = h5_get,
    .release = h5_release,
    .has = h5_has,
    .put = h5_put,
    .clear_cache = h5_clear_cache,
    .remove = h5_remove,
    .flush = h5_flush,
    .close = h5_close,
    .memory_bytes = h5_memory_bytes,
    .describe = h5_describe,
    .list = h5_list,
    .stats = h5_stats,
    .prefetch = h5_prefetch,
};

/* ---- opening ---------------------------------------------------------------------------------- */

void it_hdf5_options_init(it_hdf5_options *opts) {
    if (opts)
        memset(opts, 0, sizeof *opts);
}

/* Opens (create: creates, failing if it exists) name through the library's driver; with
 * clear_status, clears the status flag a dead writer leaves on newer-format files. */
static hid_t open_through_driver(h5_store *h, const char *name, unsigned flags, bool create,
                                 bool clear_status) {
    hid_t fapl = it_vfd_fapl(&h->vfd);
    if (fapl < 0)
        return -1;
    if (clear_status && H5Pexist(fapl, "clear_status_flags") > 0) {
        hbool_t yes = 1;
        H5Pset(fapl, "clear_status_flags", &yes);
    }
    hid_t f = create ? H5Fcreate(name, flags, H5P_DEFAULT, fapl) : H5Fopen(name, flags, fapl);
    H5Pclose(fapl);
    return f;
}

static void forget_vfd_errors(h5_store *h) {
    it_vfd_state fresh = {.sync = h->vfd.sync, .journal = h->vfd.journal};
    h->vfd = fresh;
}

static void close_file(h5_store *h) {
    if (h->tensors >= 0)
        H5Gclose(h->tensors);
    if (h->file >= 0 && H5Fclose(h->file) < 0)
        H5Eclear2(H5E_DEFAULT);
    h->tensors = h->file = -1;
}

/* A new store is built under a temporary name and renamed into place once its skeleton is
 * flushed: a failure (a full disk) leaves no half-made file behind, and IT_HDF5_CREATE replaces
 * an existing file only with a complete new one. */
static int init_new_file(h5_store *h, const char *path) {
    char tmp[4200];
    int rc = it_fs_temp_name(path, "new", tmp, sizeof tmp);
    if (rc)
        return rc;
    h->file = open_through_driver(h, tmp, H5F_ACC_EXCL, true, false);
    if (h->file < 0) {
        rc = it_vfd_failure(&h->vfd, IT_EIO, "it_store_open_hdf5: cannot create the file");
        unlink(tmp);
        return rc;
    }
    int64_t version = FORMAT_VERSION;
    h->version = FORMAT_VERSION;
    if ((rc = it_h5_write_str(h->file, "format", FORMAT_NAME)) ||
        (rc = it_h5_write_i64(h->file, "format_version", &version, 1)) ||
        (rc = it_h5_write_str(h->file, "library_version", IT_VERSION_STRING)))
        goto out;
    h->tensors = H5Gcreate2(h->file, "tensors", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (h->tensors < 0)
        rc = it_h5_error(IT_EIO, "it_store_open_hdf5: creating /tensors");
    else if (H5Fflush(h->file, H5F_SCOPE_LOCAL) < 0)
        rc = it_h5_error(IT_EIO, "it_store_open_hdf5: flushing the new file");
    if (rc == 0 && it_vfd_poisoned(&h->vfd))
        rc = it_vfd_error(&h->vfd, "it_store_open_hdf5: writing the new file");
    if (rc == 0 && rename(tmp, path) != 0)
        rc = it_error(it_fs_errno_code(errno), "it_store_open_hdf5: renaming %s to %s: %s", tmp,
                      path, strerror(errno));
    if (rc == 0 && h->vfd.sync)
        rc = it_fs_sync_dir(path);
out:
    if (rc) {
        close_file(h);
        unlink(tmp);
    }
    return rc;
}

static int open_existing(h5_store *h, const char *path) {
    int is = it_fs_is_hdf5(path);
    if (is < 0)
        return it_error_prefix(is, "it_store_open_hdf5: ");
    if (is == 0)
        return it_error(IT_EFORMAT, "it_store_open_hdf5: %s is not an HDF5 file (no HDF5 "
                        "signature: foreign or truncated)", path);
    unsigned flags = h->mode == IT_HDF5_READONLY ? H5F_ACC_RDONLY : H5F_ACC_RDWR;
    h->file = open_through_driver(h, path, flags, false, false);
    if (h->file < 0 && flags == H5F_ACC_RDWR && !h->vfd.open_errno && !h->vfd.read_errno) {
        /* A writer that died leaves a status flag on newer-format files: clear it. */
        H5Eclear2(H5E_DEFAULT);
        forget_vfd_errors(h);
        h->file = open_through_driver(h, path, flags, false, true);
    }
    if (h->file < 0)
        return it_vfd_failure(&h->vfd, IT_EFORMAT, "it_store_open_hdf5: cannot open the HDF5 file");
    /* A writer killed in the middle of H5Fflush can leave chunk-index nodes on disk that point
     * past the end-of-allocation recorded in the superblock, which was not written yet. The
     * chunk bytes they point to are on disk (direct chunk data is written before its index
     * record), so extending the EOA to the physical end of the file makes every indexed chunk
     * readable again. A no-op for files closed cleanly; in memory only for read-only opens. */
    H5Fincrement_filesize(h->file, 0);
    H5Eclear2(H5E_DEFAULT);
    char name[64];
    int64_t version = 0;
    /* The version first (a number): it says whether strings may be variable-length, which are
     * read only from trusted files (HDF5 1.10 copies global-heap objects by sizes and indices
     * it takes from the file without checking them). */
    if (it_h5_read_i64(h->file, "format_version", &version, 1))
        return it_error(IT_EFORMAT,
                        "it_store_open_hdf5: %s is an HDF5 file but not an infinite-tensor store",
                        path);
    if (version == 1 && !h->trusted)
        return it_error(IT_EFORMAT,
                        "it_store_open_hdf5: %s is a format-1 store (infinite-tensor 0.1), whose "
                        "variable-length strings HDF5 cannot read safely from an untrusted file; "
                        "if you trust it, open it with trusted = 1 (itensor upgrade FILE converts "
                        "it to format %d)", path, FORMAT_VERSION);
    if (it_h5_read_str(h->file, "format", version == 1, name, sizeof name) ||
        strcmp(name, FORMAT_NAME) != 0)
        return it_error(IT_EFORMAT,
                        "it_store_open_hdf5: %s is an HDF5 file but not an infinite-tensor store",
                        path);
    if (version < 1 || version > FORMAT_VERSION)
        return it_error(IT_EFORMAT,
                        "it_store_open_hdf5: store format version %lld is not supported (this "
                        "library reads versions 1 to %d)",
                        (long long)version, FORMAT_VERSION);
    h->version = (int)version;
    H5O_info_t oi;
    if (H5Lexists(h->file, "tensors", H5P_DEFAULT) <= 0 ||
        H5Oget_info_by_name(h->file, "tensors", &oi, H5P_DEFAULT) < 0 ||
        oi.type != H5O_TYPE_GROUP || (h->tensors = H5Gopen2(h->file, "tensors", H5P_DEFAULT)) < 0)
        return it_error(IT_EFORMAT, "it_store_open_hdf5: the store has no /tensors group");
    if (h->version == 1 && h->mode != IT_HDF5_READONLY) { /* trusted: upgraded, all or nothing */
        int rc = it_h5_upgrade_v1(h->file, h->tensors);
        if (rc == 0 && H5Fflush(h->file, H5F_SCOPE_LOCAL) < 0)
            rc = it_h5_error(IT_EIO, "it_store_open_hdf5: flushing the upgrade");
        if (rc == 0 && it_vfd_poisoned(&h->vfd))
            rc = it_vfd_error(&h->vfd, "it_store_open_hdf5: writing the upgrade");
        if (rc) {
            it_vfd_discard(&h->vfd);
            return rc;
        }
        h->version = FORMAT_VERSION;
    }
    return 0;
}

typedef struct open_job {
    h5_store *h;
    const char *path;
} open_job;

/* Runs under the open-files registry's lock (see open_files.h). */
static int open_file(void *arg) {
    open_job *j = arg;
    h5_store *h = j->h;
    enter(h);
    bool exists = access(j->path, F_OK) == 0;
    int rc;
    if (h->mode == IT_HDF5_CREATE || (h->mode == IT_HDF5_READWRITE && !exists))
        rc = init_new_file(h, j->path);
    else if (!exists)
        rc = it_error(IT_EIO, "it_store_open_hdf5: %s: %s", j->path, strerror(ENOENT));
    else
        rc = open_existing(h, j->path);
    if (rc)
        close_file(h);
    H5Eclear2(H5E_DEFAULT);
    leave(h);
    return rc;
}

int it_store_open_hdf5(it_ctx *ctx, const char *path, it_hdf5_mode mode,
                       const it_hdf5_options *opts, it_store **out) {
    if (!out)
        return it_error(IT_EINVAL, "it_store_open_hdf5: NULL out");
    *out = NULL;
    if (!ctx || !path)
        return it_error(IT_EINVAL, "it_store_open_hdf5: NULL %s", ctx ? "path" : "ctx");
    if ((unsigned)mode > IT_HDF5_READONLY)
        return it_error(IT_EINVAL, "it_store_open_hdf5: unknown mode %d", (int)mode);
    it_hdf5_options o;
    it_hdf5_options_init(&o);
    if (opts)
        o = *opts;
    if (o.compression_level < -1 || o.compression_level > 9)
        return it_error(IT_EINVAL, "it_store_open_hdf5: compression_level must be -1..9 (got %d)",
                        o.compression_level);
    if (o.sync != 0 && o.sync != 1)
        return it_error(IT_EINVAL, "it_store_open_hdf5: sync must be 0 or 1 (got %d)", o.sync);
    h5_store *h = calloc(1, sizeof *h);
    if (!h)
        return it_error(IT_ENOMEM, "it_store_open_hdf5: out of memory");
    pthread_mutex_init(&h->lock, NULL);
    h->file = h->tensors = -1;
    h->mode = mode;
    h->level = o.compression_level == 0 ? 1 : o.compression_level;
    h->vfd.sync = o.sync == 1;
    h->trusted = o.trusted != 0;
    size_t jlen = strlen(path) + sizeof "-journal";
    h->journal = malloc(jlen);
    if (h->journal)
        snprintf(h->journal, jlen, "%s-journal", path);
    h->vfd.journal = h->journal;
    int rc = h->journal ? it_cache_create(o.cache_bytes ? o.cache_bytes : DEFAULT_CACHE, &h->decoded)
                        : it_error(IT_ENOMEM, "it_store_open_hdf5: out of memory");
    if (rc == 0) {
        open_job j = {h, path};
        rc = it_open_file_claim(path, mode != IT_HDF5_READONLY, open_file, &j, &h->claim);
        if (rc == IT_ELOCKED || rc == IT_ENOTFOUND)
            rc = it_error_prefix(rc, "it_store_open_hdf5: ");
    }
    if (rc == 0 && (rc = it_store_wrap(ctx, &hdf5_ops, h, out))) {
        enter(h);
        close_file(h);
        leave(h);
        it_open_file_release(h->claim);
    }
    if (rc) {
        it_cache_destroy(h->decoded);
        pthread_mutex_destroy(&h->lock);
        free(h->journal);
        free(h);
    }
    return rc;
}
