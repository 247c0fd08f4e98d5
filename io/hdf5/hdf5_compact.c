/* Compaction: HDF5 never shrinks a file, so the space of deleted tensors (and of metadata
 * rewritten over time) stays in it. it_hdf5_compact copies every tensor's group (metadata,
 * chunks as stored, without decoding them, the chunk index, the view) with H5Ocopy into a new
 * store beside the old one, commits and syncs it, and renames it over the old one while the
 * old one's writer lock is held: no writer can change the store meanwhile. A failure leaves the
 * old store as it was; a kill at any point leaves it whole, old or compacted (and at most the
 * temporary file). H5Ocopy does not carry the references of variable-length attributes, so
 * each copied view's dimension scales are attached again (hdf5_view.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file_util.h"
#include "hdf5/hdf5_attr.h"
#include "hdf5/hdf5_state.h"
#include "hdf5/hdf5_view.h"

/* The copy of tensor `name`: its view's dimension scales attached again (hdf5_view.h). */
static int reattach(hid_t tensors, const char *name, int *count) {
    hid_t g = H5Gopen2(tensors, name, H5P_DEFAULT);
    int rc = g < 0 ? iti_h5_error(IT_EIO, "it_hdf5_compact: opening a copied tensor")
                   : iti_h5_view_reattach(g);
    if (g >= 0)
        H5Gclose(g);
    *count += rc == 0;
    return rc ? iti_error_prefix(rc, "it_hdf5_compact: ") : 0;
}

/* Copies every link of /tensors of src into /tensors of dst, one H5Ocopy each. */
static int copy_tensors(h5_store *src, h5_store *dst, int *count) {
    H5G_info_t gi;
    if (H5Gget_info(src->tensors, &gi) < 0)
        return iti_h5_error(IT_EFORMAT, "it_hdf5_compact: reading /tensors");
    int rc = 0;
    for (hsize_t i = 0; rc == 0 && i < gi.nlinks; i++) {
        char name[IT_ID_MAX + 2];
        ssize_t n = H5Lget_name_by_idx(src->tensors, ".", H5_INDEX_NAME, H5_ITER_INC, i, name,
                                       sizeof name, H5P_DEFAULT);
        if (n < 0 || (size_t)n >= sizeof name)
            rc = iti_h5_error(IT_EFORMAT, "it_hdf5_compact: a name in /tensors");
        else if (H5Ocopy(src->tensors, name, dst->tensors, name, H5P_DEFAULT, H5P_DEFAULT) < 0)
            rc = iti_h5_error(IT_EIO, "it_hdf5_compact: copying a tensor");
        else
            rc = reattach(dst->tensors, name, count);
        if (rc == 0 && iti_vfd_poisoned(&dst->vfd))
            rc = iti_vfd_error(&dst->vfd, "it_hdf5_compact: writing the copy");
    }
    dst->dirty = true;
    return rc;
}

/* Renames the copy over the store, with the store's permission bits. The old store's lock is
 * held: no writer can have changed it since it was copied. */
static int replace(const char *tmp, const char *target, mode_t mode) {
    if (chmod(tmp, mode) != 0 || rename(tmp, target) != 0)
        return iti_error(iti_fs_errno_code(errno), "it_hdf5_compact: replacing %s: %s", target,
                         strerror(errno));
    return iti_fs_sync_dir(target);
}

static uint64_t file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* Builds the compacted copy at tmp from src (open for writing); the copy is committed, synced
 * and closed. */
static int build_copy(it_ctx *ctx, it_store *src, const char *tmp, int *count) {
    it_hdf5_options o;
    it_hdf5_options_init(&o);
    o.sync = 1; /* durable before it replaces the store */
    it_store *dst;
    int rc = it_store_open_hdf5(ctx, tmp, IT_HDF5_CREATE, &o, &dst);
    if (rc)
        return iti_error_prefix(rc, "it_hdf5_compact: creating the copy: ");
    h5_store *s = iti_store_backend(src, &iti_h5_store_ops), *d = iti_store_backend(dst, &iti_h5_store_ops);
    pthread_mutex_lock(&d->lock);
    iti_h5s_enter(s);
    rc = copy_tensors(s, d, count);
    iti_h5s_leave(s);
    pthread_mutex_unlock(&d->lock);
    int frc = rc ? 0 : it_store_flush(dst);
    int crc = it_store_close(dst);
    return rc ? rc : frc ? frc : crc;
}

int it_hdf5_compact(it_ctx *ctx, const char *path, it_hdf5_compact_info *info) {
    if (!ctx || !path)
        return iti_error(IT_EINVAL, "it_hdf5_compact: NULL %s", ctx ? "path" : "ctx");
    if (info)
        memset(info, 0, sizeof *info);
    if (access(path, F_OK) != 0)
        return iti_error(errno == ENOENT ? IT_ENOTFOUND : iti_fs_errno_code(errno),
                         "it_hdf5_compact: %s: %s", path, strerror(errno));
    it_store *src;
    int rc = it_store_open_hdf5(ctx, path, IT_HDF5_READWRITE, NULL, &src);
    if (rc)
        return rc; /* its message names the store's open */
    char tmp[PATH_MAX + 64] = "", target[PATH_MAX];
    if (!realpath(path, target)) /* a link keeps pointing at the compacted store */
        snprintf(target, sizeof target, "%s", path);
    struct stat st;
    if (stat(target, &st) != 0)
        rc = iti_error(iti_fs_errno_code(errno), "it_hdf5_compact: %s: %s", target, strerror(errno));
    uint64_t before = rc ? 0 : (uint64_t)st.st_size;
    int count = 0;
    if (rc == 0 && (rc = iti_fs_temp_name(target, "compact", tmp, sizeof tmp)) == 0 &&
        (rc = build_copy(ctx, src, tmp, &count)) == 0)
        rc = replace(tmp, target, st.st_mode & 07777);
    if (rc && tmp[0])
        unlink(tmp);
    iti_log("hdf5", "compacted %s: %d tensors, %llu -> %llu bytes%s", target, count,
            (unsigned long long)before, (unsigned long long)file_size(target), rc ? " (failed)" : "");
    int crc = it_store_close(src); /* the old file's handle: nothing to commit */
    if (rc == 0 && info) {
        info->bytes_before = before;
        info->bytes_after = file_size(target);
        info->tensors = count;
    }
    return rc ? rc : crc;
}
