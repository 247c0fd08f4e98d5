/* Live readers of an HDF5 store (hdf5_live.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "file_util.h"
#include "hdf5/driver/hdf5_header.h"
#include "hdf5/hdf5_live.h"

/* How long a long operation holds the commit lock before it lets a waiting writer in: the
 * writer's wait is this and one chunk read at most, and the reader's cost (two lock calls and a
 * header read) stays small against the reads between. */
#define YIELD_NS 500000u

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int lock_error(const char *path, int err) {
    return iti_error(iti_fs_errno_code(err), "%s: taking the commit lock: %s (errno %d)", path,
                    strerror(err), err);
}

/* The commit the file's header names (lock held). */
static int read_seq(h5_store *h, uint64_t *seq) {
    iti_header hdr;
    int rc = iti_header_read(h->live_fd, &hdr);
    if (rc == 1) {
        *seq = hdr.seq;
        return 0;
    }
    return iti_error(rc == -EBADMSG ? IT_EFORMAT : IT_EIO, "%s: the store header %s", h->path,
                    rc == -EBADMSG ? "is damaged" : rc == 0 ? "is gone" : strerror(-rc));
}

int iti_h5_live_prepare(h5_store *h, const char *path) {
    h->live_fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (h->live_fd < 0)
        return 0; /* the open that follows reports it */
    int err = iti_fs_commit_lock(h->live_fd, F_RDLCK);
    if (err == 0)
        return 0;
    close(h->live_fd);
    h->live_fd = -1;
    return err == ENOTSUP ? 0 : lock_error(path, err);
}

int iti_h5_live_opened(h5_store *h, int rc) {
    if (h->live_fd < 0)
        return rc;
    if (rc == 0 && !h->vfd.legacy) {
        int err = iti_fs_same_file(h->live_fd, h->path);
        if (err)
            rc = iti_error(IT_ELOCKED, "it_store_open_hdf5: %s was replaced while it was opened "
                          "(a writer converting or creating it); open it again", h->path);
        else
            rc = read_seq(h, &h->live_seq);
    }
    iti_fs_commit_lock(h->live_fd, F_UNLCK);
    if (rc || h->vfd.legacy)
        iti_h5_live_close(h);
    return rc;
}

int iti_h5_live_begin(h5_store *h) {
    if (h->live_fd < 0)
        return 0;
    int err = iti_fs_commit_lock(h->live_fd, F_RDLCK);
    if (err)
        return lock_error(h->path, err);
    h->live_since = now_ns();
    uint64_t seq = 0;
    int rc = read_seq(h, &seq);
    if (rc == 0 && seq != h->live_seq) {
        rc = iti_h5f_reopen(h);
        if (rc == 0)
            h->live_seq = seq;
        else {
            char prefix[PATH_MAX + 64];
            snprintf(prefix, sizeof prefix, "%s: reading commit %llu, written since: ", h->path,
                     (unsigned long long)seq);
            rc = iti_error_prefix(rc, prefix);
        }
    }
    if (rc)
        iti_fs_commit_lock(h->live_fd, F_UNLCK);
    return rc;
}

void iti_h5_live_end(h5_store *h) {
    if (h->live_fd >= 0)
        iti_fs_commit_lock(h->live_fd, F_UNLCK);
}

int iti_h5_live_yield(h5_store *h) {
    if (h->live_fd < 0 || now_ns() - h->live_since < YIELD_NS)
        return 0;
    iti_h5_live_end(h);
    return iti_h5_live_begin(h);
}

void iti_h5_live_close(h5_store *h) {
    if (h->live_fd >= 0)
        close(h->live_fd);
    h->live_fd = -1;
}
