/* A writer's progress, for other processes (hdf5_progress.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "file_util.h"
#include "hdf5/driver/hdf5_header.h"
#include "hdf5/hdf5_progress.h"

#define PROGRESS_EVERY_NS 100000000u

static uint64_t wall_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void iti_h5_progress_writer(h5_store *h) {
    h->writer_fd = open(h->path, O_RDWR | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (h->writer_fd >= 0 && (iti_fs_same_file(h->writer_fd, h->path) != 0 ||
                              iti_fs_writer_mark(h->writer_fd) != 0)) {
        close(h->writer_fd);
        h->writer_fd = -1;
    }
}

void iti_h5_progress_note(void *impl, iti_store_tensor *t, uint64_t done, uint64_t total,
                          bool ended) {
    h5_store *h = impl;
    pthread_mutex_lock(&h->lock);
    uint64_t now = wall_ns();
    if (h->writer_fd >= 0 && (ended || done == 0 || now - h->progress.updated >= PROGRESS_EVERY_NS)) {
        if (done == 0 && !ended)
            h->progress.started = now;
        h->progress.pid = (uint32_t)getpid();
        h->progress.state = ended ? ITI_PROGRESS_ENDED : ITI_PROGRESS_RUNNING;
        h->progress.done = done;
        h->progress.total = total;
        h->progress.updated = now;
        snprintf(h->progress.id, sizeof h->progress.id, "%s", t->id);
        int err = h->failed ? 0 : iti_progress_write(h->writer_fd, &h->progress);
        if (err) { /* a write to the file failed: it is contained as any other (hdf5_store.c) */
            iti_vfd_discard(&h->vfd);
            h->failed = iti_fs_errno_code(err);
            snprintf(h->failed_msg, sizeof h->failed_msg, "HDF5 store: writing the progress "
                     "record: %s (errno %d)", strerror(err), err);
        }
    }
    pthread_mutex_unlock(&h->lock);
}

int it_hdf5_writer_progress(const char *path, it_hdf5_progress *out) {
    if (!path || !out)
        return iti_error(IT_EINVAL, "it_hdf5_writer_progress: NULL %s", path ? "out" : "path");
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return iti_error(errno == ENOENT ? IT_ENOTFOUND : IT_EIO, "it_hdf5_writer_progress: %s: %s",
                        path, strerror(errno));
    iti_header hdr;
    iti_progress p;
    int rc = iti_header_read(fd, &hdr);
    if (rc == 0)
        rc = iti_error(IT_EFORMAT, "it_hdf5_writer_progress: %s has no store header (not a "
                      "store of format 3)", path);
    else if (rc < 0)
        rc = iti_error(rc == -EBADMSG ? IT_EFORMAT : IT_EIO, "it_hdf5_writer_progress: %s: the "
                      "store header %s", path, rc == -EBADMSG ? "is damaged" : strerror(-rc));
    else if ((rc = iti_fs_writer_present(fd)) == 1 && iti_progress_read(fd, &p) == 1 &&
             p.state == ITI_PROGRESS_RUNNING) {
        snprintf(out->id, sizeof out->id, "%s", p.id);
        out->done = p.done;
        out->total = p.total;
        out->pid = p.pid;
        out->started_ns = p.started;
        out->updated_ns = p.updated;
        out->running = 1;
    } else {
        rc = 0; /* no writer (or no such locks), or it computes nothing now */
    }
    close(fd);
    return rc;
}

void iti_h5_progress_close(h5_store *h) {
    if (h->writer_fd >= 0)
        close(h->writer_fd);
    h->writer_fd = -1;
}
