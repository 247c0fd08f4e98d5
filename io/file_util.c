#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/fs.h>
#endif

#include "backend.h"
#include "file_util.h"

int iti_fs_errno_code(int err) {
    return err == ENOSPC || err == EDQUOT || err == EFBIG ? IT_ENOSPC : IT_EIO;
}

int iti_fs_pwrite_all(int fd, const void *buf, size_t n, uint64_t off) {
    const unsigned char *p = buf;
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? errno : ENOSPC;
        p += w;
        off += (uint64_t)w;
        n -= (size_t)w;
    }
    return 0;
}

int iti_fs_pread_full(int fd, void *buf, size_t n, uint64_t off) {
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t r = pread(fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return errno;
        if (r == 0) { /* past the end */
            memset(p, 0, n);
            return 0;
        }
        p += r;
        off += (uint64_t)r;
        n -= (size_t)r;
    }
    return 0;
}

int iti_fs_temp_name(const char *path, const char *tag, char *buf, size_t size) {
    static atomic_uint counter;
    unsigned n = atomic_fetch_add(&counter, 1);
    int len = snprintf(buf, size, "%s.%s-%ld-%u", path, tag, (long)getpid(), n);
    if (len < 0 || (size_t)len >= size)
        return iti_error(IT_EINVAL, "%s: path too long for a temporary name beside it", path);
    return 0;
}

int iti_fs_sync_dir(const char *path) {
    char *copy = strdup(path);
    if (!copy)
        return iti_error(IT_ENOMEM, "out of memory");
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;
    if (fd < 0 || fsync(fd) != 0)
        rc = iti_error(iti_fs_errno_code(errno), "syncing the directory of %s: %s", path,
                      strerror(errno));
    if (fd >= 0)
        close(fd);
    free(copy);
    return rc;
}

/* Copies `size` bytes of in to out at offset `at` (a multiple of the file system's block size
 * for shared blocks): shared blocks (reflink) or copy_file_range on Linux, else (and where
 * those are refused) read and write. 0, or -1 with errno set. */
static int copy_bytes(int in, int out, off_t size, off_t at) {
    off_t done = 0;
#ifdef __linux__
    struct file_clone_range range = {.src_fd = in, .dest_offset = (uint64_t)at};
    if (at == 0 ? ioctl(out, FICLONE, in) == 0 : ioctl(out, FICLONERANGE, &range) == 0)
        return 0;
    while (done < size) {
        loff_t from = done, to = at + done;
        ssize_t n = copy_file_range(in, &from, out, &to, (size_t)(size - done), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && done == 0 && (errno == ENOSYS || errno == EXDEV || errno == EINVAL))
            break; /* not offered here: copy through memory */
        if (n <= 0) {
            errno = n < 0 ? errno : EIO;
            return -1;
        }
        done += n;
    }
#endif
    static const size_t step = (size_t)1 << 20;
    char *buf = done < size ? malloc(step) : NULL;
    if (done < size && !buf)
        return errno = ENOMEM, -1;
    int rc = 0;
    while (rc == 0 && done < size) {
        size_t want = size - done < (off_t)step ? (size_t)(size - done) : step;
        rc = iti_fs_pread_full(in, buf, want, (uint64_t)done);
        if (rc == 0)
            rc = iti_fs_pwrite_all(out, buf, want, (uint64_t)(at + done));
        done += (off_t)want;
    }
    free(buf);
    return rc ? (errno = rc, -1) : 0;
}

int iti_fs_copy_into(int in, int out, uint64_t size, uint64_t at) {
    return copy_bytes(in, out, (off_t)size, (off_t)at) == 0 ? 0 : errno;
}

int iti_fs_sync_data(int fd) {
#if defined(__APPLE__)
    return fcntl(fd, F_FULLFSYNC) == 0 ? 0 : fsync(fd);
#else
    return fdatasync(fd);
#endif
}

int iti_fs_copy(const char *src, const char *dst, bool sync) {
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return iti_error(iti_fs_errno_code(errno), "copying %s: %s", src, strerror(errno));
    struct stat sb;
    int rc = 0, out = -1;
    if (fstat(in, &sb) != 0 || (out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                                           sb.st_mode & 07777)) < 0) {
        rc = iti_error(iti_fs_errno_code(errno), "copying %s to %s: %s", src, dst, strerror(errno));
        close(in);
        return rc;
    }
    if (copy_bytes(in, out, sb.st_size, 0) != 0)
        rc = iti_error(iti_fs_errno_code(errno), "copying %s to %s: %s", src, dst, strerror(errno));
    if (rc == 0 && sync && fsync(out) != 0)
        rc = iti_error(iti_fs_errno_code(errno), "syncing %s: %s", dst, strerror(errno));
    if (close(out) != 0 && rc == 0)
        rc = iti_error(iti_fs_errno_code(errno), "closing %s: %s", dst, strerror(errno));
    close(in);
    if (rc)
        unlink(dst);
    return rc;
}

int iti_fs_rename_noreplace(const char *from, const char *to) {
#ifdef RENAME_NOREPLACE
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return errno;
#endif
    /* A second name made with link(2) fails when `to` exists, as the rename above. */
    if (link(from, to) != 0)
        return errno;
    unlink(from);
    return 0;
}

int iti_fs_lock_name(int fd, const char *path, bool exclusive) {
    if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0 && errno != ENOSYS &&
        errno != ENOTSUP)
        return errno;
    return iti_fs_same_file(fd, path);
}

int iti_fs_same_file(int fd, const char *path) {
    struct stat held, now;
    if (fstat(fd, &held) != 0 || stat(path, &now) != 0)
        return errno == ENOENT ? ESTALE : errno;
    return held.st_dev == now.st_dev && held.st_ino == now.st_ino ? 0 : ESTALE;
}

/* Far past any file's data (locks may lie beyond the end), and the same in every version: the
 * commit byte, the writer's mark after it, the turnstile after that. */
#define COMMIT_LOCK_BYTE ((off_t)1 << 62)
#define WRITER_MARK_BYTE (COMMIT_LOCK_BYTE + 1)
#define TURNSTILE_BYTE (COMMIT_LOCK_BYTE + 2)

#ifdef F_OFD_SETLKW
/* One open-file-description lock call (F_OFD_SETLKW, _SETLK or _GETLK) on the byte at `at`:
 * 0 or an errno (ENOTSUP where the file system has no such locks). *type is the lock asked for
 * and, for F_OFD_GETLK, the one found (F_UNLCK: none). */
static int byte_fcntl(int fd, int cmd, short *type, off_t at) {
    struct flock l = {.l_type = *type, .l_whence = SEEK_SET, .l_start = at, .l_len = 1};
    while (fcntl(fd, cmd, &l) != 0)
        if (errno != EINTR || cmd != F_OFD_SETLKW)
            return errno == EINVAL ? ENOTSUP : errno;
    *type = l.l_type;
    return 0;
}

static int byte_lock(int fd, short type, off_t at) {
    return byte_fcntl(fd, F_OFD_SETLKW, &type, at);
}
#endif

/* POSIX locks let new shared holders in while an exclusive request waits, so readers coming
 * one after the other could keep a writer waiting for ever. A turnstile byte gives the writer
 * its turn: a writer holds it (exclusively) from before it waits for the commit byte until it
 * is done; a reader passes it (shared, released once it holds the commit byte), so no reader
 * starts while a writer waits, and the writer waits for the operations running at most. */
int iti_fs_commit_lock(int fd, short type) {
#ifdef F_OFD_SETLKW
    if (type == F_UNLCK) {
        int err = byte_lock(fd, F_UNLCK, COMMIT_LOCK_BYTE);
        int err2 = byte_lock(fd, F_UNLCK, TURNSTILE_BYTE);
        return err ? err : err2;
    }
    int err = byte_lock(fd, type, TURNSTILE_BYTE);
    if (err == 0 && (err = byte_lock(fd, type, COMMIT_LOCK_BYTE)) != 0)
        byte_lock(fd, F_UNLCK, TURNSTILE_BYTE);
    if (err == 0 && type == F_RDLCK)
        byte_lock(fd, F_UNLCK, TURNSTILE_BYTE);
    return err;
#else
    (void)fd, (void)type;
    return ENOTSUP;
#endif
}

int iti_fs_writer_mark(int fd) {
#ifdef F_OFD_SETLKW
    short type = F_WRLCK;
    return byte_fcntl(fd, F_OFD_SETLK, &type, WRITER_MARK_BYTE);
#else
    (void)fd;
    return ENOTSUP;
#endif
}

int iti_fs_writer_present(int fd) {
#ifdef F_OFD_SETLKW
    short type = F_WRLCK;
    int err = byte_fcntl(fd, F_OFD_GETLK, &type, WRITER_MARK_BYTE);
    return err ? -err : type != F_UNLCK;
#else
    (void)fd;
    return -ENOTSUP;
#endif
}

int iti_fs_replace_locked(const char *from, const char *to) {
    int fd = open(to, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return errno == ENOENT ? iti_fs_rename_noreplace(from, to) : errno;
    int err = iti_fs_lock_name(fd, to, true);
    if (err == ESTALE)
        err = EWOULDBLOCK; /* replaced meanwhile by another process */
    if (err == 0 && rename(from, to) != 0)
        err = errno;
    close(fd); /* the replaced file's lock goes with it; openers check the name (vfd_open) */
    return err;
}
