/* The library's HDF5 file driver (see hdf5_vfd.h): sec2's I/O plus atomic flushes through a
 * redo journal, fault containment, OS error reporting, optional fdatasync and validation of
 * global-heap reads.
 *
 * Writes and the durable state. The file on disk is always the state of the last commit (the
 * end of a flush): a write into the committed part of the file is held in memory until the
 * next commit, and served back to HDF5's reads; a write past the committed end goes straight
 * to disk, because nothing committed points there. A commit writes the held extents to the
 * journal, then into the file, then removes the journal; opening replays a complete journal.
 *
 * HDF5 serialises every call into a driver under its global lock (the thread-safe build), so
 * the driver needs no lock of its own; the state's fields that other threads poll are read
 * and written atomically. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "file_util.h"
#include "hdf5/driver/hdf5_commit.h"
#include "hdf5/driver/hdf5_guard.h"
#include "hdf5/driver/hdf5_header.h"
#include "hdf5/driver/hdf5_journal.h"
#include "hdf5/driver/hdf5_vfd.h"
#include "hdf5/hdf5_attr.h"
#include "hdf5/hdf5_compat.h"


typedef struct vfd_info {
    iti_vfd_state *state;
} vfd_info;

static hid_t driver_id = -1;
static pthread_once_t register_once = PTHREAD_ONCE_INIT;

void iti_vfd_discard(iti_vfd_state *state) { __atomic_store_n(&state->discard, true, __ATOMIC_RELEASE); }

bool iti_vfd_poisoned(const iti_vfd_state *state) {
    return __atomic_load_n(&state->write_errno, __ATOMIC_ACQUIRE) != 0;
}


/* Releases the driver's memory of a file (its descriptor is closed by the caller). */
static void free_file(vfd_file *f) {
    iti_vfdf_drop_held(f);
    free(f->held);
    iti_h5_notes_free(&f->continuations);
    iti_h5_notes_free(&f->btrees);
    free(f->head.bytes);
    free(f);
}

static H5FD_t *vfd_open(const char *name, unsigned flags, hid_t fapl, haddr_t maxaddr) {
    (void)maxaddr;
    const vfd_info *info = H5Pget_driver_info(fapl);
    if (!info || !info->state)
        return NULL;
    iti_vfd_state *st = info->state;
    bool writable = (flags & H5F_ACC_RDWR) != 0;
    int o = writable ? O_RDWR : O_RDONLY;
    if (flags & H5F_ACC_TRUNC)
        o |= O_TRUNC;
    if (flags & H5F_ACC_CREAT)
        o |= O_CREAT;
    if (flags & H5F_ACC_EXCL)
        o |= O_EXCL;
    int fd = -1, err = 0;
    bool live = false;
    struct stat sb;
    /* The lock is taken before the header is looked at, so only the writer finishes a commit.
     * A file system without locks is used without (as HDF5 with locking disabled). A file
     * replaced at its name while this waited for the lock (a store being created or converted
     * by another process) is let go and the name opened again. */
    for (int tries = 0; tries < 3; tries++) {
        if (fd >= 0)
            close(fd);
        fd = open(name, o | O_CLOEXEC, 0666);
        if (fd < 0) {
            st->open_errno = errno;
            return NULL;
        }
        err = iti_fs_lock_name(fd, name, writable);
        /* A store read while a writer holds it: a live reader (io/FORMAT.md), if the file
         * has a store header (checked below); its store takes the commit lock around reads. */
        live = !writable && st->journaled && err == EWOULDBLOCK && !st->keep_lock &&
               iti_fs_writer_present(fd) >= 0;
        if (live && (err = iti_fs_same_file(fd, name)) == 0)
            st->live = true;
        if (err == 0 && fstat(fd, &sb) != 0)
            err = errno;
        if (err != ESTALE)
            break;
        err = EWOULDBLOCK; /* replaced three times over: busy */
    }
    vfd_file *f = err ? NULL : calloc(1, sizeof *f);
    if (!err && !f)
        err = ENOMEM;
    if (err) {
        st->open_errno = err;
        close(fd);
        return NULL;
    }
    *f = (vfd_file){.fd = fd, .state = st, .eof = (haddr_t)sb.st_size, .dev = sb.st_dev,
                    .ino = sb.st_ino, .writable = writable, .truncate_to = HADDR_UNDEF,
                    .sizes = {8, 8, 0}};
    bool created = (flags & (H5F_ACC_TRUNC | H5F_ACC_CREAT)) != 0;
    if (st->journaled && (err = iti_vfdf_open_store(f, created)) == 0 && !writable &&
        !st->legacy && !live && !st->keep_lock && iti_fs_writer_present(fd) >= 0)
        flock(fd, LOCK_UN); /* a reader of a store with a header lets writers come: commits
                               wait for its reads through the commit lock (file_util.h) */
    if (live && err == 0 && st->legacy)
        err = EWOULDBLOCK; /* a store of format 1 or 2 has no commit lock: not while written */
    if (err) {
        st->open_errno = err;
        close(fd);
        free_file(f);
        return NULL;
    }
    st->open_errno = 0; /* HDF5 tries some opens before the one that counts (without CREAT) */
    f->committed = f->eof;
    return &f->pub;
}

static herr_t vfd_close(H5FD_t *file) {
    vfd_file *f = (vfd_file *)file;
    if (f->state->journaled && (f->nheld || f->truncate_to != HADDR_UNDEF))
        iti_vfdf_commit(f); /* after the last flush (nothing when HDF5 closed normally) */
    if (close(f->fd) != 0)
        iti_vfdf_poison(f, "close", errno); /* a deferred write error (NFS, ...) surfaces here */
    free_file(f);
    return 0;
}

/* HDF5 shares one open file between handles that compare equal. Each library handle owns its
 * state (and the registry in open_files.h keeps a writer alone), so handles with different
 * states are different files to HDF5: two readers of one file do not share a driver whose
 * state the first one frees when it closes. */
static int vfd_cmp(const H5FD_t *a, const H5FD_t *b) {
    const vfd_file *x = (const vfd_file *)a, *y = (const vfd_file *)b;
    if (x->state != y->state)
        return (uintptr_t)x->state < (uintptr_t)y->state ? -1 : 1;
    if (x->dev != y->dev)
        return x->dev < y->dev ? -1 : 1;
    if (x->ino != y->ino)
        return x->ino < y->ino ? -1 : 1;
    return 0;
}

static herr_t vfd_query(const H5FD_t *file, unsigned long *flags) {
    (void)file;
    /* As sec2 (and H5Fincrement_filesize, which HDF5 reserves for SWMR-capable drivers), but
     * without HDF5's metadata accumulator: it serves metadata reads from a buffer filled by
     * reads of other kinds, and the global-heap check below must see every heap read. */
    *flags = H5FD_FEAT_AGGREGATE_METADATA | H5FD_FEAT_DATA_SIEVE | H5FD_FEAT_AGGREGATE_SMALLDATA |
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

static herr_t fail_read(vfd_file *f, int err) {
    f->state->read_errno = err;
    H5Epush2(H5E_DEFAULT, __FILE__, __func__, __LINE__, H5E_ERR_CLS, H5E_IO, H5E_READERROR,
             "read failed: %s", strerror(err));
    return -1;
}

static herr_t vfd_read(H5FD_t *file, H5FD_mem_t type, hid_t dxpl, haddr_t addr, size_t size,
                       void *buf);

/* Records an address a checked structure named (hdf5_guard.h): object header reads are first
 * chunks, except at the addresses continuation messages named (a first chunk's size must be
 * checked; the two cannot be told apart by their bytes); B-tree reads are checked where a
 * layout message or a parent node named a chunk B-tree. An address not recorded (no memory) is
 * read as a first chunk (checked more strictly), or as a B-tree node HDF5 alone checks. */
static void note_address(void *arg, uint64_t addr, int kind) {
    vfd_file *f = arg;
    iti_h5_notes_put(kind >= IT_H5_BTREE_CHUNK ? &f->btrees : &f->continuations, addr, kind);
}

/* A superblock read or written: where HDF5 finds or puts its signature is its base address.
 * HDF5 writes a new file's superblock without ever reading it, so the write must tell: the
 * checks of a created file's structures, read again once HDF5's cache evicted them, otherwise
 * took a base of 0 and followed their addresses into the user block (the store header). */
static void note_base(vfd_file *f, H5FD_mem_t type, haddr_t addr, const unsigned char *p,
                      size_t size) {
    if (type == H5FD_MEM_SUPER && size >= 8 && memcmp(p, ITI_H5_SIGNATURE, 8) == 0)
        f->base = addr;
}

/* The address HDF5 knows (and files record) of a read at file offset addr: relative to the
 * base address, where the superblock is (past a user block such as the store header). */
static haddr_t relative(const vfd_file *f, haddr_t addr) {
    return addr >= f->base ? addr - f->base : addr;
}

/* Checks one structure image read at addr (see hdf5_guard.h, which takes addresses as the
 * file records them). */
static bool check_image(vfd_file *f, H5FD_mem_t type, haddr_t addr, const unsigned char *p,
                        size_t size, uint64_t *total, char *why, size_t why_size) {
    if (type == H5FD_MEM_SUPER && ((f->has_header && addr < ITI_HEADER_SIZE) || addr >= f->eof))
        return true; /* HDF5 looking for its signature in the store header or a new file */
    haddr_t rel = relative(f, addr);
    if (type == H5FD_MEM_SUPER)
        return iti_h5_guard_superblock(p, size, rel, &f->sizes, total, why, why_size);
    if (type == H5FD_MEM_GHEAP)
        return iti_h5_guard_gheap(p, size, rel, &f->sizes, total, why, why_size);
    return iti_h5_guard_ohdr(p, size, rel, &f->sizes, iti_h5_notes_get(&f->continuations, rel),
                            note_address, f, total, why, why_size);
}

/* HDF5 reads a structure longer than its first guess in two reads: the first read is checked
 * alone and kept; the read of the rest, right after it, is checked as the whole image. */
static bool check_structure(vfd_file *f, H5FD_mem_t type, haddr_t addr, const unsigned char *p,
                            size_t size, char *why, size_t why_size) {
    uint64_t total = 0;
    bool ok;
    if (f->head.bytes && f->head.type == type && addr == f->head.addr + f->head.len) {
        unsigned char *whole = malloc(f->head.len + size);
        if (!whole) {
            snprintf(why, why_size, "out of memory checking a file structure");
            return false;
        }
        memcpy(whole, f->head.bytes, f->head.len);
        memcpy(whole + f->head.len, p, size);
        ok = check_image(f, type, f->head.addr, whole, f->head.len + size, &total, why, why_size);
        free(whole);
        free(f->head.bytes);
        f->head.bytes = NULL;
        return ok;
    }
    free(f->head.bytes);
    f->head.bytes = NULL;
    ok = check_image(f, type, addr, p, size, &total, why, why_size);
    if (ok && total > size && (f->head.bytes = malloc(size))) {
        memcpy(f->head.bytes, p, size);
        f->head.type = type;
        f->head.addr = addr;
        f->head.len = size;
    }
    return ok;
}

/* A local heap header: its segment in the file, and the free list walked through it before
 * HDF5 follows it. */
static bool check_local_heap(vfd_file *f, const unsigned char *p, size_t size, char *why,
                             size_t why_size) {
    uint64_t seg = 0, n = 0, head = 1;
    if (!iti_h5_guard_lheap(p, size, &f->sizes, &seg, &n, &head, why, why_size))
        return false;
    if (n == 0 || head == 1)
        return true;
    unsigned char *bytes = malloc(n);
    if (!bytes) {
        snprintf(why, why_size, "out of memory checking a local heap");
        return false;
    }
    /* through the driver (held writes included), as a read of no checked kind */
    bool got = vfd_read(&f->pub, H5FD_MEM_DEFAULT, H5P_DEFAULT, seg + f->base, n, bytes) >= 0;
    if (!got)
        snprintf(why, why_size, "a local heap segment cannot be read");
    bool ok = got && iti_h5_guard_lheap_free(bytes, n, head, &f->sizes, why, why_size);
    free(bytes);
    return ok;
}

/* A B-tree node: checked where a layout message or a parent node named a chunk B-tree. */
static bool check_btree(vfd_file *f, haddr_t addr, const unsigned char *p, size_t size, char *why,
                        size_t why_size) {
    int kind = iti_h5_notes_get(&f->btrees, addr);
    return kind <= IT_H5_BTREE_CHUNK ||
           iti_h5_guard_btree_chunks(p, size, &f->sizes, kind - IT_H5_BTREE_CHUNK, note_address, f,
                                     why, why_size);
}

static herr_t vfd_read(H5FD_t *file, H5FD_mem_t type, hid_t dxpl, haddr_t addr, size_t size,
                       void *buf) {
    (void)dxpl;
    vfd_file *f = (vfd_file *)file;
    unsigned char *p = buf;
    if (addr > (haddr_t)INT64_MAX || size > (size_t)INT64_MAX - addr)
        return fail_read(f, EINVAL);
    if (type == H5FD_MEM_DRAW && f->state->raw_read_limit && size > f->state->raw_read_limit) {
        /* a crafted chunk record: HDF5 would read past the buffer it was handed */
        f->state->format_error = true;
        snprintf(f->state->format_detail, sizeof f->state->format_detail,
                 "a chunk record claims %zu bytes, its listing %zu", size,
                 f->state->raw_read_limit);
        H5Epush2(H5E_DEFAULT, __FILE__, __func__, __LINE__, H5E_ERR_CLS, H5E_IO, H5E_READERROR,
                 "%s", f->state->format_detail);
        return -1;
    }
    if (type == H5FD_MEM_DRAW && f->state->raw_capture) { /* a lookup: where, not what */
        bool held = addr + size > f->eof;
        for (size_t i = 0; i < f->nheld && !held; i++)
            held = f->held[i].addr < addr + size && addr < f->held[i].addr + f->held[i].size;
        *f->state->raw_capture = held ? UINT64_MAX : (uint64_t)addr;
        return 0;
    }
    int err = iti_fs_pread_full(f->fd, p, size, addr); /* past the end: zeros, as sec2 */
    if (err)
        return fail_read(f, err);
    /* Held writes are what HDF5 believes is there. */
    for (size_t i = 0; i < f->nheld; i++) {
        const iti_extent *h = &f->held[i];
        haddr_t lo = h->addr > addr ? h->addr : addr;
        haddr_t hi = h->addr + h->size < addr + size ? h->addr + h->size : addr + size;
        if (lo < hi)
            memcpy(p + (lo - addr), h->data + (lo - h->addr), hi - lo);
    }
    char why[128];
    bool ok = true;
    if (addr < f->eof)
        note_base(f, type, addr, p, size);
    f->sizes.eof = f->eof > f->base ? f->eof - f->base : 0;
    if (type == H5FD_MEM_SUPER || type == H5FD_MEM_GHEAP || type == H5FD_MEM_OHDR)
        ok = check_structure(f, type, addr, p, size, why, sizeof why);
    else if (type == H5FD_MEM_LHEAP)
        ok = check_local_heap(f, p, size, why, sizeof why);
    else if (type == H5FD_MEM_BTREE)
        ok = check_btree(f, relative(f, addr), p, size, why, sizeof why);
    if (!ok) {
        f->state->format_error = true;
        snprintf(f->state->format_detail, sizeof f->state->format_detail, "%s", why);
        H5Epush2(H5E_DEFAULT, __FILE__, __func__, __LINE__, H5E_ERR_CLS, H5E_IO, H5E_READERROR,
                 "file structure rejected: %s", why);
        return -1;
    }
    return 0;
}

/* A failed write poisons the file and reports success: HDF5 stays consistent (its later reads
 * see the write, held in memory) and never runs its error paths; the library reports the
 * fault from iti_vfd_state. */
static herr_t vfd_write(H5FD_t *file, H5FD_mem_t type, hid_t dxpl, haddr_t addr, size_t size,
                        const void *buf) {
    (void)dxpl;
    vfd_file *f = (vfd_file *)file;
    if (addr > (haddr_t)INT64_MAX || size > (size_t)INT64_MAX - addr)
        return -1;
    note_base(f, type, addr, buf, size);
    if (iti_vfdf_stopped(f) || (f->state->journaled && addr < f->committed))
        return iti_vfdf_hold(f, addr, size, buf) ? 0 : -1;
    int err = iti_fs_pwrite_all(f->fd, buf, size, addr);
    if (err) {
        iti_vfdf_poison(f, "write", err);
        return iti_vfdf_hold(f, addr, size, buf) ? 0 : -1; /* a part may be on disk: past the end */
    }
    if (addr + size > f->eof)
        f->eof = addr + size;
    return 0;
}

static herr_t vfd_flush(H5FD_t *file, hid_t dxpl, hbool_t closing) {
    (void)dxpl;
    (void)closing;
    vfd_file *f = (vfd_file *)file;
    if (f->state->journaled)
        iti_vfdf_commit(f);
    else if (!iti_vfdf_stopped(f) && f->writable && f->state->sync && iti_fs_sync_data(f->fd) != 0)
        iti_vfdf_poison(f, "fdatasync", errno);
    return 0;
}

/* HDF5 sets the file's size to its end of allocation when it closes a file. Journaled files
 * take that size at the commit that follows; until then their end of file stays where the data
 * are (H5Fincrement_filesize must see past a lagging end of allocation). */
static herr_t vfd_truncate(H5FD_t *file, hid_t dxpl, hbool_t closing) {
    (void)dxpl;
    (void)closing;
    vfd_file *f = (vfd_file *)file;
    if (f->state->journaled) {
        f->truncate_to = f->eoa;
        return 0;
    }
    if (f->eoa == f->eof)
        return 0;
    if (!iti_vfdf_stopped(f) && ftruncate(f->fd, (off_t)f->eoa) != 0)
        iti_vfdf_poison(f, "truncate", errno);
    f->eof = f->eoa;
    return 0;
}

/* The file was locked when it was opened (vfd_open); HDF5's own lock calls have nothing to add. */
static herr_t vfd_lock(H5FD_t *file, hbool_t rw) {
    (void)file;
    (void)rw;
    return 0;
}

static herr_t vfd_unlock(H5FD_t *file) {
    (void)file;
    return 0;
}

/* Designated fields: each release's H5FD_class_t orders and extends them differently (see
 * hdf5_compat.h). The callbacks left out (vector and selection I/O, ctl, del, alloc, free) take
 * HDF5's defaults: vector and selection requests arrive here as single reads and writes, so
 * every metadata read still passes the checks in vfd_read. */
static const H5FD_class_t vfd_class = {
#ifdef H5FD_CLASS_VERSION
    .version = H5FD_CLASS_VERSION,
    .value = ITI_H5_DRIVER_VALUE,
#endif
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

static void register_driver(void) { driver_id = H5FDregister(&vfd_class); }

hid_t iti_vfd_fapl(iti_vfd_state *state) {
    pthread_once(&register_once, register_driver);
    if (driver_id < 0 || !iti_hdf5_exit_taken_over) /* a read: static links keep hdf5_exit.o */
        return -1;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    vfd_info info = {state};
    if (fapl < 0 || H5Pset_driver(fapl, driver_id, &info) < 0 ||
        H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0 || iti_h5_pin_format(fapl) < 0) {
        if (fapl >= 0)
            H5Pclose(fapl);
        return -1;
    }
    return fapl;
}

hid_t iti_vfd_open_readonly(const char *path, iti_vfd_state *state) {
    hid_t fapl = iti_vfd_fapl(state);
    hid_t f = fapl < 0 ? -1 : H5Fopen(path, H5F_ACC_RDONLY, fapl);
    if (fapl >= 0)
        H5Pclose(fapl);
    return f;
}

int iti_vfd_failure(iti_vfd_state *s, int code, const char *what) {
    int rc = iti_vfd_error(s, what);
    if (rc == 0 && s->format_error)
        rc = iti_error(IT_EFORMAT, "%s: %s", what, s->format_detail);
    if (rc)
        H5Eclear2(H5E_DEFAULT);
    else
        rc = iti_h5_error(code, what);
    s->read_errno = 0;
    s->format_error = false;
    return rc;
}

int iti_vfd_error(const iti_vfd_state *s, const char *what) {
    int err = __atomic_load_n(&s->write_errno, __ATOMIC_ACQUIRE);
    const char *op = s->write_op;
    if (!err && s->open_errno) {
        err = s->open_errno;
        op = "opening the file";
    }
    if (!err && s->read_errno) {
        err = s->read_errno;
        op = "read";
    }
    if (!err)
        return 0;
    if (err == EBADMSG && s->refused)
        return iti_error(IT_EFORMAT, "%s: %s", what, s->refused_detail);
    if (err == EWOULDBLOCK)
        return iti_error(IT_ELOCKED, "%s: the file is locked by another process (a writer, or a "
                        "reader while this opens it for writing)", what);
    return iti_error(iti_fs_errno_code(err), "%s: %s: %s (errno %d)", what, op, strerror(err), err);
}

int iti_vfd_read_chunk(iti_vfd_state *s, hid_t dset, const hsize_t *off, void *buf, size_t size,
                      const char *what) {
    uint32_t mask = 0;
    size_t stored = size;
    s->raw_read_limit = size;
    herr_t got = iti_h5_read_chunk(dset, off, &mask, buf, &stored);
    s->raw_read_limit = 0;
    if (got < 0)
        return iti_vfd_failure(s, IT_EIO, what);
    if (stored > size) /* HDF5 2.x reads nothing then; earlier releases reach the driver's limit */
        return iti_error(IT_EFORMAT, "%s: a chunk record claims %zu bytes, its listing %zu", what,
                        stored, size);
    if (mask != 0) /* the library writes every chunk through all its filters (mask 0) */
        return iti_error(IT_EFORMAT, "%s: a chunk was stored with filters skipped (mask 0x%x)",
                        what, mask);
    return 0;
}

int iti_vfd_locate_chunk(iti_vfd_state *s, hid_t dset, const hsize_t *off, size_t size,
                        void *scratch, uint64_t *at) {
    uint32_t mask = 0;
    size_t stored = size;
    *at = UINT64_MAX;
    s->raw_capture = at;
    s->raw_read_limit = size;
    herr_t got = iti_h5_read_chunk(dset, off, &mask, scratch, &stored);
    s->raw_read_limit = 0;
    s->raw_capture = NULL;
    if (got < 0)
        return iti_vfd_failure(s, IT_EIO, "locating a stored chunk");
    if (stored != size || mask != 0)
        return iti_error(IT_EFORMAT, "locating a stored chunk: its record claims %zu bytes "
                         "(mask 0x%x), its listing %zu", stored, mask, size);
    return 0;
}
