/* Opening an HDF5 store: creating a new file, or opening, recovering and upgrading an
 * existing one (state: hdf5_state.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec/codec.h"
#include "file_util.h"
#include "hdf5/driver/hdf5_convert.h"
#include "hdf5/driver/hdf5_guard.h"
#include "hdf5/driver/hdf5_header.h"
#include "hdf5/hdf5_attr.h"
#include "hdf5/hdf5_compat.h"
#include "hdf5/hdf5_live.h"
#include "hdf5/hdf5_map.h"
#include "hdf5/hdf5_progress.h"
#include "hdf5/hdf5_state.h"
#include "hdf5/hdf5_upgrade.h"

/* The decoded-chunk cache by default: 64 MiB, or an eighth of the context's budget when that is
 * less, so a job's store caches stay within what the budget leaves beside evaluation. */
static size_t default_cache(const it_ctx *ctx) {
    size_t eighth = iti_ctx_budget(ctx) / 8, most = (size_t)64 << 20;
    return eighth < most ? eighth : most;
}

void it_hdf5_options_init(it_hdf5_options *opts) {
    if (opts)
        *opts = (it_hdf5_options){.struct_size = sizeof *opts, .checksum = 1};
}

/* A new store is built under a temporary name and renamed into place once its skeleton is
 * flushed: a failure (a full disk) leaves no half-made file behind. The rename never replaces a
 * store another process created meanwhile: IT_HDF5_READWRITE then opens that one (*raced set),
 * and IT_HDF5_CREATE replaces an existing file only while it holds its lock (IT_ELOCKED when
 * a process has it open). */
static int init_new_file(h5_store *h, const char *path, bool *raced) {
    char tmp[PATH_MAX + 64], target[PATH_MAX];
    /* An existing store (IT_HDF5_CREATE) is replaced where it is, also through a link. */
    if (h->mode != IT_HDF5_CREATE || !realpath(path, target))
        snprintf(target, sizeof target, "%s", path);
    int rc = iti_fs_temp_name(target, "new", tmp, sizeof tmp);
    if (rc)
        return rc;
    h->file = iti_h5f_open_driver(h, tmp, H5F_ACC_EXCL, true, false);
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
    if (rc == 0) {
        int err = h->mode == IT_HDF5_CREATE ? iti_fs_replace_locked(tmp, target)
                                            : iti_fs_rename_noreplace(tmp, target);
        if (err == EEXIST)
            *raced = true; /* created by another process since this one looked */
        else if (err == EWOULDBLOCK)
            rc = iti_error(IT_ELOCKED, "%s is open in another process; it is not replaced", path);
        else if (err)
            rc = iti_error(iti_fs_errno_code(err), "it_store_open_hdf5: renaming %s to %s: %s",
                          tmp, target, strerror(err));
    }
    if (rc == 0 && !*raced && h->vfd.sync)
        rc = iti_fs_sync_dir(target);
out:
    if (rc || *raced) {
        iti_h5f_close(h);
        unlink(tmp);
    }
    return rc;
}

/* Brings a converted copy (opened for writing) to the current format, all or nothing: a
 * (trusted) format-1 store's content upgraded, format_version set, one flush. */
static int upgrade(h5_store *h) {
    int64_t version = ITI_H5_FORMAT_VERSION;
    int rc = h->version == 1 ? iti_h5_upgrade_v1(h->file, h->tensors) : 0;
    if (rc == 0)
        rc = iti_h5_write_i64(h->file, "format_version", &version, 1);
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

/* Converts a store of format 1 or 2, opened for writing, to format 3 (hdf5_convert.h): a copy
 * with a store header replaces it, made while the original is locked; after a failure the
 * original is as it was. */
static int convert(h5_store *h, const char *path) {
    int rc = iti_h5f_open(h, path, H5F_ACC_RDONLY); /* a store this library reads? */
    iti_h5f_close(h);
    iti_h5f_forget_errors(h);
    if (rc)
        return rc;
    char target[PATH_MAX], tmp[PATH_MAX + 64];
    if (!realpath(path, target))
        return iti_error(IT_EIO, "it_store_open_hdf5: %s: %s", path, strerror(errno));
    int fd = open(target, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return iti_error(IT_EIO, "it_store_open_hdf5: %s: %s", path, strerror(errno));
    int err = iti_fs_lock_name(fd, target, true);
    if (err == EWOULDBLOCK || err == ESTALE) /* ESTALE: converted by another process meanwhile */
        rc = iti_error(IT_ELOCKED, "it_store_open_hdf5: %s: the file is locked by another "
                      "process", path);
    else if (err)
        rc = iti_error(IT_EIO, "it_store_open_hdf5: locking %s: %s", path, strerror(err));
    if (rc == 0)
        rc = iti_fs_temp_name(target, "convert", tmp, sizeof tmp);
    const char **journals = h->vfd.legacy_journal;
    if (rc == 0 && (rc = iti_h5_convert_copy(path, fd, journals, tmp, h->vfd.sync)) == 0) {
        if ((rc = iti_h5f_open(h, tmp, H5F_ACC_RDWR)) == 0)
            rc = upgrade(h);
        if (rc == 0 && rename(tmp, target) != 0)
            rc = iti_error(iti_fs_errno_code(errno), "it_store_open_hdf5: renaming %s to %s: %s",
                          tmp, target, strerror(errno));
        if (rc == 0 && h->vfd.sync)
            rc = iti_fs_sync_dir(target);
        if (rc) {
            iti_h5f_close(h);
            unlink(tmp);
        }
    }
    for (int k = 0; rc == 0 && k < 2; k++) { /* a finished commit's journal: now in the store */
        struct stat sb;
        if (journals[k] && lstat(journals[k], &sb) == 0 && S_ISREG(sb.st_mode))
            unlink(journals[k]);
    }
    close(fd);
    return rc;
}

static int open_existing(h5_store *h, const char *path) {
    bool writable = h->mode != IT_HDF5_READONLY;
    if (!writable && h->vfd.keep_lock) { /* mapped (hdf5_map.h): no writer while open */
        int rc = iti_h5f_open(h, path, H5F_ACC_RDONLY);
        return rc ? rc : iti_h5_map_open(h);
    }
    if (!writable) { /* a live reader (hdf5_live.h): the open sees one commit */
        int rc = iti_h5_live_prepare(h, path);
        return iti_h5_live_opened(h, rc ? rc : iti_h5f_open(h, path, H5F_ACC_RDONLY));
    }
    int rc = iti_h5f_open(h, path, writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY);
    if (rc && writable && h->vfd.legacy) { /* the driver writes only files with a header */
        iti_h5f_close(h);
        iti_h5f_forget_errors(h);
        rc = convert(h, path);
    }
    return rc;
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
    bool raced = false;
    if (h->mode == IT_HDF5_CREATE || (h->mode == IT_HDF5_READWRITE && !exists))
        rc = init_new_file(h, j->path, &raced);
    else if (!exists)
        rc = iti_error(IT_EIO, "it_store_open_hdf5: %s: %s", j->path, strerror(ENOENT));
    else
        rc = open_existing(h, j->path);
    if (rc == 0 && raced) /* another process created the store first: that one is opened */
        rc = open_existing(h, j->path);
    if (rc == 0 && h->mode != IT_HDF5_READONLY)
        iti_h5_progress_writer(h);
    if (rc)
        iti_h5f_close(h);
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
    if (o->checksum != 0 && o->checksum != 1)
        return iti_error(IT_EINVAL, "it_store_open_hdf5: checksum must be 0 or 1 (got %d)",
                        o->checksum);
    if (o->map != 0 && (o->map != 1 || mode != IT_HDF5_READONLY))
        return iti_error(IT_EINVAL, "it_store_open_hdf5: map must be 0 or 1, and 1 only for "
                        "read-only opens (got %d)", o->map);
    return 0;
}

/* Where writers of formats 1 and 2 left their journal: "<path>-journal", and beside the
 * resolved name when path is a link. */
static int legacy_journals(h5_store *h, const char *path) {
    char resolved[PATH_MAX];
    const char *names[2] = {path, realpath(path, resolved) && strcmp(resolved, path) != 0
                                      ? resolved : NULL};
    for (int k = 0; k < 2; k++) {
        if (!names[k])
            continue;
        size_t len = strlen(names[k]) + sizeof "-journal";
        if (!(h->legacy_journal[k] = malloc(len)))
            return iti_error(IT_ENOMEM, "it_store_open_hdf5: out of memory");
        snprintf(h->legacy_journal[k], len, "%s-journal", names[k]);
    }
    h->vfd.journaled = true;
    h->vfd.legacy_journal[0] = h->legacy_journal[0];
    h->vfd.legacy_journal[1] = h->legacy_journal[1];
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
    h->file = h->tensors = h->described = h->live_fd = h->writer_fd = -1;
    h->mode = mode;
    h->codec = codec;
    h->codec.checksum = o.checksum == 1; /* new tensors' chunks carry Fletcher-32 (codec.h) */
    h->vfd.sync = o.sync == 1;
    h->vfd.keep_lock = o.map == 1;
    h->trusted = o.trusted != 0;
    rc = (h->path = strdup(path)) ? legacy_journals(h, path)
                                  : iti_error(IT_ENOMEM, "it_store_open_hdf5: out of memory");
    if (rc == 0)
        rc = iti_cache_create(o.cache_bytes ? o.cache_bytes : default_cache(ctx), &h->decoded);
    if (rc == 0) {
        open_job j = {h, path};
        rc = iti_open_file_claim(path, mode != IT_HDF5_READONLY, open_file, &j, &h->claim);
        if (rc == IT_ELOCKED || rc == IT_ENOTFOUND)
            rc = iti_error_prefix(rc, "it_store_open_hdf5: ");
    }
    if (rc == 0 && (rc = iti_store_wrap(ctx, &iti_h5_store_ops, h, out))) {
        iti_h5s_enter(h);
        iti_h5f_close(h);
        iti_h5s_leave(h);
    }
    if (rc == 0)
        iti_log("hdf5", "opened %s %s, decoded-chunk cache %zu MiB", path,
                mode == IT_HDF5_READONLY ? "read-only" : "for writing",
                (o.cache_bytes ? o.cache_bytes : default_cache(ctx)) >> 20);
    if (rc)
        iti_h5s_free(h);
    return rc;
}
