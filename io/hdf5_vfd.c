/* The library's HDF5 file driver (see hdf5_vfd.h): sec2's I/O plus fault containment, OS error
 * reporting, optional fdatasync and validation of global-heap reads.
 *
 * HDF5 serialises every call into a driver under its global lock (the thread-safe build), so
 * the driver needs no lock of its own; the state's fields that other threads poll are read
 * and written atomically. */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hdf5_guard.h"
#include "hdf5_vfd.h"
#include "internal.h"

/* A write kept in memory after the file was poisoned. */
typedef struct held_write {
    haddr_t addr;
    size_t size;
    unsigned char *data;
} held_write;

typedef struct vfd_file {
    H5FD_t pub;                 /* first: HDF5 casts between the two */
    int fd;
    it_vfd_state *state;
    haddr_t eoa, eof;
    dev_t dev;
    ino_t ino;
    bool poisoned;
    int len_bytes;              /* the superblock's "size of lengths" */
    held_write *held;           /* in order: later entries win */
    size_t nheld, capheld;
} vfd_file;

typedef struct vfd_info {
    it_vfd_state *state;
} vfd_info;

static hid_t driver_id = -1;
static pthread_once_t register_once = PTHREAD_ONCE_INIT;

static void poison(vfd_file *f, const char *op, int err) {
    if (f->poisoned)
        return;
    f->poisoned = true;
    snprintf(f->state->write_op, sizeof f->state->write_op, "%s", op);
    __atomic_store_n(&f->state->write_errno, err ? err : EIO, __ATOMIC_RELEASE);
}

bool it_vfd_poisoned(const it_vfd_state *state) {
    return __atomic_load_n(&state->write_errno, __ATOMIC_ACQUIRE) != 0;
}

/* ---- open / close --------------------------------------------------------------------------- */

static H5FD_t *vfd_open(const char *name, unsigned flags, hid_t fapl, haddr_t maxaddr) {
    (void)maxaddr;
    const vfd_info *info = H5Pget_driver_info(fapl);
    if (!info || !info->state)
        return NULL;
    it_vfd_state *st = info->state;
    int o = (flags & H5F_ACC_RDWR) ? O_RDWR : O_RDONLY;
    if (flags & H5F_ACC_TRUNC)
        o |= O_TRUNC;
    if (flags & H5F_ACC_CREAT)
        o |= O_CREAT;
    if (flags & H5F_ACC_EXCL)
        o |= O_EXCL;
    int fd = open(name, o | O_CLOEXEC, 0666);
    if (fd < 0) {
        st->open_errno = errno;
        return NULL;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        st->open_errno = errno;
        close(fd);
        return NULL;
    }
    vfd_file *f = calloc(1, sizeof *f);
    if (!f) {
        st->open_errno = ENOMEM;
        close(fd);
        return NULL;
    }
    f->fd = fd;
    f->state = st;
    f->eof = (haddr_t)sb.st_size;
    f->dev = sb.st_dev;
    f->ino = sb.st_ino;
    f->len_bytes = 8;
    st->file_size = (uint64_t)sb.st_size;
    return &f->pub;
}

static herr_t vfd_close(H5FD_t *file) {
    vfd_file *f = (vfd_file *)file;
    int rc = close(f->fd);
    if (rc != 0 && !f->poisoned)
        poison(f, "close", errno); /* a deferred write error (NFS, ...) surfaces here */
    for (size_t i = 0; i < f->nheld; i++)
        free(f->held[i].data);
    free(f->held);
    free(f);
    return 0;
}

static int vfd_cmp(const H5FD_t *a, const H5FD_t *b) {
    const vfd_file *x = (const vfd_file *)a, *y = (const vfd_file *)b;
    if (x->dev != y->dev)
        return x->dev < y->dev ? -1 : 1;
    if (x->ino != y->ino)
        return x->ino < y->ino ? -1 : 1;
    return 0;
}

static herr_t vfd_query(const H5FD_t *file, unsigned long *flags) {
    (void)file;
    /* As sec2, so HDF5 batches metadata and raw data the same way (and allows
     * H5Fincrement_filesize, which it reserves for SWMR-capable drivers). */
    *flags = H5FD_FEAT_AGGREGATE_METADATA | H5FD_FEAT_ACCUMULATE_METADATA |
             H5FD_FEAT_DATA_SIEVE | H5FD_FEAT_AGGREGATE_SMALLDATA |
             H5FD_FEAT_SUPPORTS_SWMR_IO | H5FD_FEAT_DEFAULT_VFD_COMPATIBLE;
    return 0;
}

static haddr_t vfd_get_eoa(const H5FD_t *file, H5FD_mem_t type) {
    (void)type;
    return ((const vfd_file *)file)->eoa;
}

static herr_t vfd_set_eoa(H5FD_t *file, H5FD_mem_t type, haddr_t addr) {
    (void)type;
    ((vfd_file *)file)->eoa = addr;
    return 0;
}

static haddr_t vfd_get_eof(const H5FD_t *file, H5FD_mem_t type) {
    (void)type;
    return ((const vfd_file *)file)->eof;
}

static herr_t vfd_get_handle(H5FD_t *file, hid_t fapl, void **handle) {
    (void)fapl;
    *handle = &((vfd_file *)file)->fd;
    return 0;
}

/* ---- I/O ------------------------------------------------------------------------------------ */

static void fail_read(vfd_file *f, int err) {
    f->state->read_errno = err;
    H5Epush2(H5E_DEFAULT, __FILE__, __func__, __LINE__, H5E_ERR_CLS, H5E_IO, H5E_READERROR,
             "read failed: %s", strerror(err));
}

static herr_t vfd_read(H5FD_t *file, H5FD_mem_t type, hid_t dxpl, haddr_t addr, size_t size,
                       void *buf) {
    (void)dxpl;
    vfd_file *f = (vfd_file *)file;
    unsigned char *p = buf;
    if (addr > (haddr_t)INT64_MAX || size > (size_t)INT64_MAX - addr) {
        fail_read(f, EINVAL);
        return -1;
    }
    size_t done = 0;
    while (done < size) {
        ssize_t n = pread(f->fd, p + done, size - done, (off_t)(addr + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fail_read(f, errno);
            return -1;
        }
        if (n == 0) { /* past the end of the file: zeros, as sec2 */
            memset(p + done, 0, size - done);
            break;
        }
        done += (size_t)n;
    }
    /* Writes held since the file was poisoned are what HDF5 believes is there. */
    for (size_t i = 0; i < f->nheld; i++) {
        const held_write *h = &f->held[i];
        haddr_t lo = h->addr > addr ? h->addr : addr;
        haddr_t hi = h->addr + h->size < addr + size ? h->addr + h->size : addr + size;
        if (lo < hi)
            memcpy(p + (lo - addr), h->data + (lo - h->addr), hi - lo);
    }
    if (type == H5FD_MEM_SUPER) {
        int len = it_h5_guard_superblock_lengths(p, size);
        if (len)
            f->len_bytes = len;
    } else if (type == H5FD_MEM_GHEAP) {
        char why[128];
        if (!it_h5_guard_gheap(p, size, f->eof, addr, f->len_bytes, why, sizeof why)) {
            f->state->format_error = true;
            snprintf(f->state->format_detail, sizeof f->state->format_detail, "%s", why);
            H5Epush2(H5E_DEFAULT, __FILE__, __func__, __LINE__, H5E_ERR_CLS, H5E_IO,
                     H5E_READERROR, "global heap rejected: %s", why);
            return -1;
        }
    }
    return 0;
}

static herr_t hold(vfd_file *f, haddr_t addr, size_t size, const void *buf) {
    if (f->nheld == f->capheld) {
        size_t cap = f->capheld ? f->capheld * 2 : 16;
        held_write *h = realloc(f->held, cap * sizeof *h);
        if (!h)
            return -1;
        f->held = h;
        f->capheld = cap;
    }
    unsigned char *copy = malloc(size ? size : 1);
    if (!copy)
        return -1;
    memcpy(copy, buf, size);
    f->held[f->nheld++] = (held_write){addr, size, copy};
    if (addr + size > f->eof)
        f->eof = addr + size;
    return 0;
}

static herr_t vfd_write(H5FD_t *file, H5FD_mem_t type, hid_t dxpl, haddr_t addr, size_t size,
                        const void *buf) {
    (void)type;
    (void)dxpl;
    vfd_file *f = (vfd_file *)file;
    if (addr > (haddr_t)INT64_MAX || size > (size_t)INT64_MAX - addr)
        return -1;
    if (f->poisoned)
        return hold(f, addr, size, buf);
    const unsigned char *p = buf;
    size_t done = 0;
    while (done < size) {
        ssize_t n = pwrite(f->fd, p + done, size - done, (off_t)(addr + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            poison(f, "write", n < 0 ? errno : ENOSPC);
            return hold(f, addr, size, buf); /* the whole write: a part may be on disk */
        }
        done += (size_t)n;
    }
    if (addr + size > f->eof)
        f->eof = addr + size;
    return 0;
}

static herr_t vfd_flush(H5FD_t *file, hid_t dxpl, hbool_t closing) {
    (void)dxpl;
    (void)closing;
    vfd_file *f = (vfd_file *)file;
    if (!f->poisoned && f->state->sync && fdatasync(f->fd) != 0)
        poison(f, "fdatasync", errno);
    return 0;
}

static herr_t vfd_truncate(H5FD_t *file, hid_t dxpl, hbool_t closing) {
    (void)dxpl;
    (void)closing;
    vfd_file *f = (vfd_file *)file;
    if (f->eoa == f->eof)
        return 0;
    if (f->poisoned) {
        f->eof = f->eoa;
        return 0;
    }
    if (ftruncate(f->fd, (off_t)f->eoa) != 0) {
        poison(f, "truncate", errno);
        f->eof = f->eoa;
        return 0;
    }
    f->eof = f->eoa;
    return 0;
}

static herr_t vfd_lock(H5FD_t *file, hbool_t rw) {
    vfd_file *f = (vfd_file *)file;
    if (flock(f->fd, (rw ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0)
        return 0;
    if (errno == ENOSYS || errno == ENOTSUP)
        return 0; /* the file system has no locks: as HDF5 with locking disabled */
    f->state->open_errno = errno;
    H5Epush2(H5E_DEFAULT, __FILE__, __func__, __LINE__, H5E_ERR_CLS, H5E_FILE, H5E_CANTLOCKFILE,
             "the file is locked by another process");
    return -1;
}

static herr_t vfd_unlock(H5FD_t *file) {
    flock(((vfd_file *)file)->fd, LOCK_UN);
    return 0;
}

static const H5FD_class_t vfd_class = {
    .name = "infinite_tensor_posix",
    .maxaddr = (haddr_t)INT64_MAX,
    .fc_degree = H5F_CLOSE_STRONG,
    .fapl_size = sizeof(vfd_info),
    .open = vfd_open,
    .close = vfd_close,
    .cmp = vfd_cmp,
    .query = vfd_query,
    .get_eoa = vfd_get_eoa,
    .set_eoa = vfd_set_eoa,
    .get_eof = vfd_get_eof,
    .get_handle = vfd_get_handle,
    .read = vfd_read,
    .write = vfd_write,
    .flush = vfd_flush,
    .truncate = vfd_truncate,
    .lock = vfd_lock,
    .unlock = vfd_unlock,
    .fl_map = H5FD_FLMAP_DICHOTOMY,
};

void it_vfd_sync(hid_t file) {
    void *handle = NULL;
    if (H5Fget_vfd_handle(file, H5P_DEFAULT, &handle) < 0 || !handle) {
        H5Eclear2(H5E_DEFAULT);
        return;
    }
    vfd_file *f = (vfd_file *)((char *)handle - offsetof(vfd_file, fd));
    if (!f->poisoned && fdatasync(f->fd) != 0)
        poison(f, "fdatasync", errno);
}

static void register_driver(void) { driver_id = H5FDregister(&vfd_class); }

hid_t it_vfd_fapl(it_vfd_state *state) {
    pthread_once(&register_once, register_driver);
    if (driver_id < 0)
        return -1;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    vfd_info info = {state};
    if (fapl < 0 || H5Pset_driver(fapl, driver_id, &info) < 0 ||
        H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0) {
        if (fapl >= 0)
            H5Pclose(fapl);
        return -1;
    }
    return fapl;
}

int it_vfd_error(const it_vfd_state *s, const char *what) {
    int err = __atomic_load_n(&s->write_errno, __ATOMIC_ACQUIRE);
    const char *op = s->write_op;
    if (!err && s->open_errno) {
        err = s->open_errno;
        op = err == EWOULDBLOCK ? "locking the file" : "opening the file";
    }
    if (!err && s->read_errno) {
        err = s->read_errno;
        op = "read";
    }
    if (!err)
        return 0;
    int code = IT_EIO;
    if (err == ENOSPC || err == EDQUOT || err == EFBIG)
        code = IT_ENOSPC;
    else if (err == EWOULDBLOCK)
        code = IT_ELOCKED;
    if (code == IT_ELOCKED)
        return it_error(code, "%s: the file is locked by another process (a writer, or a reader "
                        "while this opens for writing) (errno %d)", what, err);
    return it_error(code, "%s: %s: %s (errno %d)", what, op, strerror(err), err);
}
