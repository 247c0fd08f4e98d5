/* Opening an HDF5 store: creating a new file, or opening, recovering and upgrading an
 * existing one (state: hdf5_state.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "file_util.h"
#include "hdf5_attr.h"
#include "hdf5_compat.h"
#include "hdf5_state.h"
#include "hdf5_upgrade.h"

#define DEFAULT_CACHE ((size_t)64 << 20)

void it_hdf5_options_init(it_hdf5_options *opts) {
    if (opts)
        *opts = (it_hdf5_options){.struct_size = sizeof *opts};
}

/* Opens (create: creates, failing if it exists) name through the library's driver; with
 * clear_status, clears the status flag a dead writer leaves on newer-format files. */
static hid_t open_through_driver(h5_store *h, const char *name, unsigned flags, bool create,
                                 bool clear_status) {
    hid_t fapl = iti_vfd_fapl(&h->vfd);
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
    iti_vfd_state fresh = {.sync = h->vfd.sync, .journal = h->vfd.journal};
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
    int rc = iti_fs_temp_name(path, "new", tmp, sizeof tmp);
    if (rc)
        return rc;
    h->file = open_through_driver(h, tmp, H5F_ACC_EXCL, true, false);
    if (h->file < 0) {
        rc = iti_vfd_failure(&h->vfd, IT_EIO, "it_store_open_hdf5: cannot create the file");
        unlink(tmp);
        return rc;
    }
    int64_t version = ITI_H5_FORMAT_VERSION;
    h->version = ITI_H5_FORMAT_VERSION;
    if ((rc = iti_h5_write_str(h->file, "format", ITI_H5_FORMAT_NAME)) ||
        (rc = iti_h5_write_i64(h->file, "format_version", &version, 1)) ||
        (rc = iti_h5_write_str(h->file, "library_version", IT_VERSION_STRING)))
        goto out;
    h->tensors = H5Gcreate2(h->file, "tensors", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (h->tensors < 0)
        rc = iti_h5_error(IT_EIO, "it_store_open_hdf5: creating /tensors");
    else if (H5Fflush(h->file, H5F_SCOPE_LOCAL) < 0)
        rc = iti_h5_error(IT_EIO, "it_store_open_hdf5: flushing the new file");
    if (rc == 0 && iti_vfd_poisoned(&h->vfd))
        rc = iti_vfd_error(&h->vfd, "it_store_open_hdf5: writing the new file");
    if (rc == 0 && rename(tmp, path) != 0)
        rc = iti_error(iti_fs_errno_code(errno), "it_store_open_hdf5: renaming %s to %s: %s", tmp,
                      path, strerror(errno));
    if (rc == 0 && h->vfd.sync)
        rc = iti_fs_sync_dir(path);
out:
    if (rc) {
        close_file(h);
        unlink(tmp);
    }
    return rc;
}

/* The format attributes of the root group: version first (a number), since it says whether
 * strings may be variable-length, which are read only from trusted files (HDF5 1.10 copies
 * global-heap objects by sizes and indices it takes from the file without checking them). */
static int check_format(h5_store *h, const char *path) {
    char name[64];
    int64_t version = 0;
    if (iti_h5_read_i64(h->file, "format_version", &version, 1))
        return iti_error(IT_EFORMAT,
                        "it_store_open_hdf5: %s is an HDF5 file but not an infinite-tensor store",
                        path);
    if (version == 1 && !h->trusted)
        return iti_error(IT_EFORMAT,
                        "it_store_open_hdf5: %s is a format-1 store (infinite-tensor 0.1), whose "
                        "variable-length strings HDF5 cannot read safely from an untrusted file; "
                        "if you trust it, open it with trusted = 1 (itensor upgrade FILE converts "
                        "it to format %d)", path, ITI_H5_FORMAT_VERSION);
    if (iti_h5_read_str(h->file, "format", version == 1, name, sizeof name) ||
        strcmp(name, ITI_H5_FORMAT_NAME) != 0)
        return iti_error(IT_EFORMAT,
                        "it_store_open_hdf5: %s is an HDF5 file but not an infinite-tensor store",
                        path);
    if (version < 1 || version > ITI_H5_FORMAT_VERSION)
        return iti_error(IT_EFORMAT,
                        "it_store_open_hdf5: store format version %lld is not supported (this "
                        "library reads versions 1 to %d)",
                        (long long)version, ITI_H5_FORMAT_VERSION);
    h->version = (int)version;
    return 0;
}

/* Upgrades a (trusted) format-1 store opened for writing to the current format, all or
 * nothing. */
static int upgrade(h5_store *h) {
    int rc = iti_h5_upgrade_v1(h->file, h->tensors);
    if (rc == 0 && H5Fflush(h->file, H5F_SCOPE_LOCAL) < 0)
        rc = iti_h5_error(IT_EIO, "it_store_open_hdf5: flushing the upgrade");
    if (rc == 0 && iti_vfd_poisoned(&h->vfd))
        rc = iti_vfd_error(&h->vfd, "it_store_open_hdf5: writing the upgrade");
    if (rc) {
        iti_vfd_discard(&h->vfd);
        return rc;
    }
    h->version = ITI_H5_FORMAT_VERSION;
    return 0;
}

static int open_existing(h5_store *h, const char *path) {
    int is = iti_fs_is_hdf5(path);
    if (is < 0)
        return iti_error_prefix(is, "it_store_open_hdf5: ");
    if (is == 0)
        return iti_error(IT_EFORMAT, "it_store_open_hdf5: %s is not an HDF5 file (no HDF5 "
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
        return iti_vfd_failure(&h->vfd, IT_EFORMAT, "it_store_open_hdf5: cannot open the HDF5 file");
    /* A writer killed in the middle of H5Fflush can leave chunk-index nodes on disk that point
     * past the end-of-allocation recorded in the superblock, which was not written yet. The
     * chunk bytes they point to are on disk (direct chunk data is written before its index
     * record), so extending the EOA to the physical end of the file makes every indexed chunk
     * readable again. A no-op for files closed cleanly; in memory only for read-only opens. */
    H5Fincrement_filesize(h->file, 0);
    H5Eclear2(H5E_DEFAULT);
    int rc = check_format(h, path);
    if (rc)
        return rc;
    if (H5Lexists(h->file, "tensors", H5P_DEFAULT) <= 0 ||
        iti_h5_object_type(h->file, "tensors") != H5O_TYPE_GROUP ||
        (h->tensors = H5Gopen2(h->file, "tensors", H5P_DEFAULT)) < 0)
        return iti_error(IT_EFORMAT, "it_store_open_hdf5: the store has no /tensors group");
    if (h->version == 1 && h->mode != IT_HDF5_READONLY)
        return upgrade(h);
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
    iti_h5s_enter(h);
    bool exists = access(j->path, F_OK) == 0;
    int rc;
    if (h->mode == IT_HDF5_CREATE || (h->mode == IT_HDF5_READWRITE && !exists))
        rc = init_new_file(h, j->path);
    else if (!exists)
        rc = iti_error(IT_EIO, "it_store_open_hdf5: %s: %s", j->path, strerror(ENOENT));
    else
        rc = open_existing(h, j->path);
    if (rc)
        close_file(h);
    H5Eclear2(H5E_DEFAULT);
    iti_h5s_leave(h);
    return rc;
}

static int check_options(it_hdf5_mode mode, const it_hdf5_options *o, iti_codec *codec) {
    if ((unsigned)mode > IT_HDF5_READONLY)
        return iti_error(IT_EINVAL, "it_store_open_hdf5: unknown mode %d", (int)mode);
    int rc = iti_codec_resolve(o->compression, o->compression_level, "it_store_open_hdf5", codec);
    if (rc)
        return rc;
    if (o->sync != 0 && o->sync != 1)
        return iti_error(IT_EINVAL, "it_store_open_hdf5: sync must be 0 or 1 (got %d)", o->sync);
    return 0;
}

int it_store_open_hdf5(it_ctx *ctx, const char *path, it_hdf5_mode mode,
                       const it_hdf5_options *opts, it_store **out) {
    if (!out)
        return iti_error(IT_EINVAL, "it_store_open_hdf5: NULL out");
    *out = NULL;
    if (!ctx || !path)
        return iti_error(IT_EINVAL, "it_store_open_hdf5: NULL %s", ctx ? "path" : "ctx");
    it_hdf5_options o;
    it_hdf5_options_init(&o);
    int rc = iti_options_take(&o, opts, sizeof o, "it_store_open_hdf5", "it_hdf5_options_init");
    if (rc)
        return rc;
    iti_codec codec;
    rc = check_options(mode, &o, &codec);
    if (rc)
        return rc;
    h5_store *h = calloc(1, sizeof *h);
    if (!h)
        return iti_error(IT_ENOMEM, "it_store_open_hdf5: out of memory");
    pthread_mutex_init(&h->lock, NULL);
    h->file = h->tensors = h->described = -1;
    h->mode = mode;
    h->codec = codec;
    h->vfd.sync = o.sync == 1;
    h->trusted = o.trusted != 0;
    size_t jlen = strlen(path) + sizeof "-journal";
    h->journal = malloc(jlen);
    if (h->journal)
        snprintf(h->journal, jlen, "%s-journal", path);
    h->vfd.journal = h->journal;
    rc = h->journal ? iti_cache_create(o.cache_bytes ? o.cache_bytes : DEFAULT_CACHE, &h->decoded)
                    : iti_error(IT_ENOMEM, "it_store_open_hdf5: out of memory");
    if (rc == 0) {
        open_job j = {h, path};
        rc = iti_open_file_claim(path, mode != IT_HDF5_READONLY, open_file, &j, &h->claim);
        if (rc == IT_ELOCKED || rc == IT_ENOTFOUND)
            rc = iti_error_prefix(rc, "it_store_open_hdf5: ");
    }
    if (rc == 0 && (rc = iti_store_wrap(ctx, &iti_h5_store_ops, h, out))) {
        iti_h5s_enter(h);
        close_file(h);
        iti_h5s_leave(h);
    }
    if (rc)
        iti_h5s_free(h);
    return rc;
}
