/* Held writes and commits of the library's file driver (hdf5_vfd.h, hdf5_commit.h): the
 * file on disk is always the state of the last commit; a commit writes the held extents as a
 * journal past the end of the file, names it in the store header, applies it, and cuts it off.
 * Opening a file finishes or drops what a writer left. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file_util.h"
#include "hdf5/driver/hdf5_commit.h"

void iti_vfdf_poison(vfd_file *f, const char *op, int err) {
    if (f->poisoned)
        return;
    f->poisoned = true;
    snprintf(f->state->write_op, sizeof f->state->write_op, "%s", op);
    __atomic_store_n(&f->state->write_errno, err ? err : EIO, __ATOMIC_RELEASE);
}

/* A discarded file behaves as a poisoned one, without an error of its own. */
bool iti_vfdf_stopped(vfd_file *f) {
    if (!f->poisoned && __atomic_load_n(&f->state->discard, __ATOMIC_ACQUIRE))
        f->poisoned = true;
    return f->poisoned;
}

bool iti_vfdf_hold(vfd_file *f, haddr_t addr, size_t size, const void *buf) {
    if (f->nheld == f->capheld) {
        size_t cap = f->capheld ? f->capheld * 2 : 16;
        iti_extent *h = realloc(f->held, cap * sizeof *h);
        if (!h)
            return false;
        f->held = h;
        f->capheld = cap;
    }
    unsigned char *copy = malloc(size ? size : 1);
    if (!copy)
        return false;
    memcpy(copy, buf, size);
    f->held[f->nheld++] = (iti_extent){addr, size, copy, NULL};
    if (addr + size > f->eof)
        f->eof = addr + size;
    return true;
}

void iti_vfdf_drop_held(vfd_file *f) {
    for (size_t i = 0; i < f->nheld; i++)
        free(f->held[i].data);
    f->nheld = 0;
}

/* Writes extents into the file. */
static int apply(int fd, const iti_extent *x, size_t n) {
    for (size_t i = 0; i < n; i++) {
        int err = iti_fs_pwrite_all(fd, x[i].data, x[i].size, x[i].addr);
        if (err)
            return err;
    }
    return 0;
}

static int set_size(int fd, uint64_t size) {
    struct stat sb;
    if (fstat(fd, &sb) != 0)
        return errno;
    if ((uint64_t)sb.st_size != size && ftruncate(fd, (off_t)size) != 0)
        return errno;
    return 0;
}

/* A new store file's header, written at its first commit (HDF5 expects a file it creates to
 * be empty, and leaves the user block alone). 0 or an errno. */
static int write_new_header(vfd_file *f) {
    unsigned char *block = malloc(ITI_HEADER_SIZE);
    if (!block)
        return ENOMEM;
    iti_header_encode(&f->hdr, block);
    int err = iti_fs_pwrite_all(f->fd, block, ITI_HEADER_SIZE, 0);
    free(block);
    if (err == 0)
        f->header_pending = false;
    return err;
}

static uint64_t round_up(uint64_t v, uint64_t to) { return (v + to - 1) / to * to; }

/* Writes the header one generation on; with sync, makes it durable. 0 or an errno. */
static int put_header(vfd_file *f) {
    int err = iti_header_write(f->fd, &f->hdr);
    if (err == 0 && f->state->sync && iti_fs_sync_data(f->fd) != 0)
        err = errno;
    return err;
}

/* Drops the extents whose new bytes are the file's (HDF5 rewrites unchanged structures at
 * closes): a flush that changes nothing leaves the file as it was, header included. Returns the
 * number left. */
static size_t drop_unchanged(iti_extent *x, size_t n) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (memcmp(x[i].data, x[i].old, x[i].size) == 0) {
            free(x[i].data);
            free(x[i].old);
        } else {
            x[k++] = x[i];
        }
    }
    return k;
}

/* Takes the commit lock (file_util.h) for changes live readers must not see half made: the
 * header naming a journal, the journal's writes, the header back to committed, the new size.
 * Readers finish their operation first; a system without such locks has no live readers. */
static int lock_for_readers(vfd_file *f, bool *locked) {
    if (*locked)
        return 0;
    int err = iti_fs_commit_lock(f->fd, F_WRLCK);
    *locked = err == 0;
    return err == ENOTSUP ? 0 : err;
}

static void unlock_for_readers(vfd_file *f, bool locked) {
    if (locked)
        iti_fs_commit_lock(f->fd, F_UNLCK);
}

/* Makes the held writes and the size HDF5 asked for durable atomically: the journal written
 * past the end of the file (with sync, durable together with the chunk data written since the
 * last commit), the header set to name it, the writes applied, the header set back to
 * committed, the journal cut off. A kill at any point leaves a file that opens as the commit
 * before (the header does not name the journal yet) or this one (it does: replayed). */
void iti_vfdf_commit(vfd_file *f) {
    if (iti_vfdf_stopped(f) || !f->writable)
        return;
    bool sync = f->state->sync;
    uint64_t size = f->truncate_to != HADDR_UNDEF ? f->truncate_to : f->eof;
    iti_extent *x = NULL;
    size_t n = 0;
    struct stat sb;
    bool locked = false;
    const char *op = "writing the journal";
    int err = f->header_pending ? write_new_header(f) : 0;
    if (err == 0 && fstat(f->fd, &sb) != 0)
        err = errno;
    if (err == 0 && f->nheld)
        err = iti_journal_prepare(f->fd, f->held, f->nheld, &x, &n);
    n = err ? n : drop_unchanged(x, n);
    if (err == 0 && n) {
        uint64_t at = round_up((uint64_t)sb.st_size > size ? (uint64_t)sb.st_size : size,
                               ITI_HEADER_SIZE), len = 0;
        err = iti_journal_put(f->fd, at, &f->hdr, f->hdr.seq + 1, (uint64_t)sb.st_size, size, x,
                              n, &len);
        if (err == 0 && sync && iti_fs_sync_data(f->fd) != 0)
            err = errno;
        if (err == 0)
            op = "locking the commit", err = lock_for_readers(f, &locked);
        if (err == 0) { /* from here on the commit happens, now or at the next open */
            f->hdr.seq++;
            f->hdr.state = ITI_HEADER_APPLYING;
            f->hdr.size = size;
            f->hdr.journal = at;
            f->hdr.journal_len = len;
            op = "writing the store header";
            err = put_header(f);
        }
        if (err == 0)
            op = "write", err = apply(f->fd, x, n);
        if (err == 0 && sync && iti_fs_sync_data(f->fd) != 0)
            op = "fdatasync", err = errno;
    }
    iti_extents_free(x, n);
    if (err == 0 && (n || f->hdr.size != size))
        op = "locking the commit", err = lock_for_readers(f, &locked);
    if (err == 0 && (n || f->hdr.size != size)) {
        f->hdr.state = ITI_HEADER_COMMITTED;
        f->hdr.size = size;
        f->hdr.journal = f->hdr.journal_len = 0;
        op = "writing the store header";
        err = iti_header_write(f->fd, &f->hdr);
    }
    if (err == 0)
        op = "truncate", err = set_size(f->fd, size);
    unlock_for_readers(f, locked);
    if (err) {
        iti_vfdf_poison(f, op, err); /* a journal the header names finishes it on the next open */
        return;
    }
    iti_vfdf_drop_held(f);
    f->eof = f->committed = size;
    f->truncate_to = HADDR_UNDEF;
}

/* A commit replayed in memory for a reader, which never writes: the file is then `size` long.
 * 0 or ENOMEM. */
static int hold_all(vfd_file *f, const iti_extent *x, size_t n, uint64_t size) {
    for (size_t i = 0; i < n; i++)
        if (!iti_vfdf_hold(f, x[i].addr, x[i].size, x[i].data))
            return ENOMEM;
    f->eof = size;
    return 0;
}

/* Sets the reason an open is refused (IT_EFORMAT, the file left as it is). */
__attribute__((format(printf, 2, 3))) static int refuse(vfd_file *f, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->state->refused_detail, sizeof f->state->refused_detail, fmt, ap);
    va_end(ap);
    f->state->refused = true;
    return EBADMSG;
}

/* Finishes or drops what a writer of this store left: the commit the header names (into the
 * file for writers, into memory for readers), and past the committed size a torn journal or
 * chunk data of an unfinished flush (writers cut it off). Returns 0 or an errno. */
static int recover(vfd_file *f) {
    iti_extent *x = NULL;
    size_t n = 0;
    char why[256] = "";
    int found = 0;
    if (f->hdr.state == ITI_HEADER_APPLYING)
        found = iti_journal_get(f->fd, &f->hdr, &x, &n, why, sizeof why);
    if (found == -EBADMSG)
        return refuse(f, "the journal of commit %llu inside the file is not one a commit writes "
                      "(%s); the file is left as it is", (unsigned long long)f->hdr.seq, why);
    if (found < 0)
        return -found;
    int err = 0;
    bool locked = false;
    if (f->writable && (found == 1 || f->hdr.state != ITI_HEADER_COMMITTED))
        err = lock_for_readers(f, &locked);
    if (err == 0 && f->writable) {
        if (found == 1) {
            err = apply(f->fd, x, n);
            if (err == 0 && f->state->sync && iti_fs_sync_data(f->fd) != 0)
                err = errno;
        }
        if (err == 0 && f->hdr.state != ITI_HEADER_COMMITTED) {
            f->hdr.state = ITI_HEADER_COMMITTED;
            f->hdr.journal = f->hdr.journal_len = 0;
            err = put_header(f);
        }
        if (err == 0)
            err = set_size(f->fd, f->hdr.size);
        if (err == 0)
            f->eof = f->hdr.size;
    } else if (err == 0 && found == 1) {
        err = hold_all(f, x, n, f->hdr.size);
    }
    unlock_for_readers(f, locked);
    iti_extents_free(x, n);
    return err;
}

/* A format-1/2 file (no header), opened read-only: the journal such a writer left replayed in
 * memory. Returns 0 or an errno. */
static int recover_legacy(vfd_file *f) {
    iti_extent *x = NULL;
    size_t n = 0;
    uint64_t size = 0;
    char why[256] = "";
    int found = iti_journal_find_legacy(f->state->legacy_journal, f->fd, &x, &n, &size, why,
                                        sizeof why);
    if (found == -EBADMSG)
        return refuse(f, "%s; move it away to open the store (it was not read further or "
                      "changed)", why);
    int err = found < 0 ? -found : found == 1 ? hold_all(f, x, n, size) : 0;
    iti_extents_free(x, n);
    return err;
}

/* The store's state when it is opened: a new file gets a header; an existing one has one
 * (a commit is finished or dropped) or, for read-only opens only, is of format 1 or 2. */
int iti_vfdf_open_store(vfd_file *f, bool created) {
    f->has_header = true;
    if (created) {
        f->header_pending = true;
        return iti_header_new(&f->hdr, ITI_HEADER_SIZE);
    }
    int rc = iti_header_read(f->fd, &f->hdr);
    if (rc == -EBADMSG)
        return refuse(f, "its store header (the first 4096 bytes) is damaged; the file is left "
                         "as it is");
    if (rc < 0)
        return -rc;
    if (rc == 1)
        return recover(f);
    f->has_header = false;
    f->state->legacy = true;
    if (f->writable)
        return EBADMSG; /* the library converts such a file, then writes the copy */
    return recover_legacy(f);
}
