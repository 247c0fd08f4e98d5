#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "byte_order.h"
#include "file_util.h"
#include "hdf5/driver/hdf5_journal.h"

#define TRAILER 12
#define MAX_JOURNAL ((uint64_t)1 << 32) /* metadata of one flush: far less */
#define MAX_ADDR ((uint64_t)1 << 62)
/* How far a commit can grow the file past its size when the commit began: HDF5 sets the size
 * to its end of allocation, which runs ahead of the data written by at most its metadata and
 * small-data aggregators' blocks (2 KiB each by default). Chunk data is already in the file. */
#define MAX_GROWTH ((uint64_t)1 << 20)

/* The two layouts: v3 (in the file, bound to a store and a commit) and v2 (format-2 files). */
typedef struct layout {
    const char *magic, *end;
    size_t header;          /* bytes before the extents */
} layout;
static const layout V3 = {"ITJRNL03", "ITJEND03", 64}, V2 = {"ITJRNL02", "ITJEND02", 32};

static uint64_t get64(const unsigned char *p) { return iti_get_le(p, 8); }

void iti_extents_free(iti_extent *x, size_t n) {
    for (size_t i = 0; x && i < n; i++) {
        free(x[i].data);
        free(x[i].old);
    }
    free(x);
}

static int by_addr(const void *a, const void *b) {
    const iti_extent *x = *(iti_extent *const *)a, *y = *(iti_extent *const *)b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

int iti_journal_prepare(int fd, const iti_extent *w, size_t nw, iti_extent **out, size_t *n) {
    *out = NULL;
    *n = 0;
    const iti_extent **sorted = malloc((nw ? nw : 1) * sizeof *sorted);
    iti_extent *runs = calloc(nw ? nw : 1, sizeof *runs);
    if (!sorted || !runs) {
        free(sorted);
        free(runs);
        return ENOMEM;
    }
    for (size_t i = 0; i < nw; i++)
        sorted[i] = &w[i];
    qsort(sorted, nw, sizeof *sorted, by_addr);
    size_t nr = 0; /* runs: unions of overlapping or touching writes */
    for (size_t i = 0; i < nw; i++) {
        uint64_t lo = sorted[i]->addr, hi = lo + sorted[i]->size;
        if (nr && lo <= runs[nr - 1].addr + runs[nr - 1].size) {
            uint64_t end = runs[nr - 1].addr + runs[nr - 1].size;
            if (hi > end)
                runs[nr - 1].size = (size_t)(hi - runs[nr - 1].addr);
        } else {
            runs[nr++] = (iti_extent){lo, (size_t)(hi - lo), NULL, NULL};
        }
    }
    free(sorted);
    int err = 0;
    for (size_t r = 0; r < nr && !err; r++) {
        runs[r].data = malloc(runs[r].size ? runs[r].size : 1);
        runs[r].old = malloc(runs[r].size ? runs[r].size : 1);
        if (!runs[r].data || !runs[r].old)
            err = ENOMEM;
        else if ((err = iti_fs_pread_full(fd, runs[r].old, runs[r].size, runs[r].addr)) == 0)
            memcpy(runs[r].data, runs[r].old, runs[r].size);
    }
    for (size_t i = 0; i < nw && !err; i++) { /* in write order: later writes win */
        size_t lo = 0, hi = nr;
        while (hi - lo > 1) { /* the last run starting at or before the write */
            size_t mid = (lo + hi) / 2;
            if (runs[mid].addr <= w[i].addr)
                lo = mid;
            else
                hi = mid;
        }
        memcpy(runs[lo].data + (w[i].addr - runs[lo].addr), w[i].data, w[i].size);
    }
    if (err) {
        iti_extents_free(runs, nr);
        return err;
    }
    *out = runs;
    *n = nr;
    return 0;
}

int iti_journal_put(int fd, uint64_t off, const iti_header *h, uint64_t seq, uint64_t old_size,
                    uint64_t size, const iti_extent *x, size_t n, uint64_t *len) {
    size_t total = V3.header + TRAILER;
    for (size_t i = 0; i < n; i++)
        total += 16 + 2 * x[i].size;
    unsigned char *buf = malloc(total);
    if (!buf)
        return ENOMEM;
    memcpy(buf, V3.magic, 8);
    memcpy(buf + 8, h->id, 16);
    unsigned char *p = iti_put_le(buf + 24, seq, 8);
    p = iti_put_le(iti_put_le(iti_put_le(p, old_size, 8), size, 8), n, 8);
    p = iti_put_le(p, 0, 8); /* reserved */
    for (size_t i = 0; i < n; i++) {
        p = iti_put_le(iti_put_le(p, x[i].addr, 8), x[i].size, 8);
        memcpy(p, x[i].data, x[i].size);
        memcpy(p + x[i].size, x[i].old, x[i].size);
        p += 2 * x[i].size;
    }
    p = iti_put_le(p, (uint32_t)crc32(0L, buf, (uInt)(p - buf)), 4);
    memcpy(p, V3.end, 8);
    int err = iti_fs_pwrite_all(fd, buf, total, off);
    free(buf);
    *len = total;
    return err;
}

/* A parsed journal image. */
typedef struct image {
    const unsigned char *id;     /* v3 only */
    uint64_t seq, old_size, size;
    iti_extent *x;
    size_t n;
} image;

/* Parses a journal image of layout l; 1 when complete (*im), 0 when not one (torn, foreign,
 * reused space), -ENOMEM. */
static int parse(const layout *l, const unsigned char *b, size_t len, image *im) {
    *im = (image){0};
    if (len < l->header + TRAILER || memcmp(b, l->magic, 8) != 0 ||
        memcmp(b + len - 8, l->end, 8) != 0 ||
        iti_get_le(b + len - TRAILER, 4) != (uint32_t)crc32(0L, b, (uInt)(len - TRAILER)))
        return 0;
    const unsigned char *sizes = b + 8;
    if (l == &V3) {
        im->id = b + 8;
        im->seq = get64(b + 24);
        sizes = b + 32;
    }
    im->old_size = get64(sizes);
    im->size = get64(sizes + 8);
    uint64_t count = get64(sizes + 16);
    if (count > (len - l->header - TRAILER) / 16 || im->size > MAX_ADDR)
        return 0;
    iti_extent *x = calloc(count ? count : 1, sizeof *x);
    if (!x)
        return -ENOMEM;
    const unsigned char *p = b + l->header, *end = b + len - TRAILER;
    for (uint64_t i = 0; i < count; i++) {
        if (end - p < 16)
            goto torn;
        uint64_t addr = get64(p), sz = get64(p + 8);
        p += 16;
        if (sz > (uint64_t)(end - p) / 2 || addr > MAX_ADDR || sz > MAX_ADDR - addr)
            goto torn;
        x[i] = (iti_extent){addr, (size_t)sz, malloc(sz ? sz : 1), malloc(sz ? sz : 1)};
        if (!x[i].data || !x[i].old) {
            iti_extents_free(x, count);
            return -ENOMEM;
        }
        memcpy(x[i].data, p, sz);
        memcpy(x[i].old, p + sz, sz);
        p += 2 * sz;
    }
    if (p != end)
        goto torn;
    im->x = x;
    im->n = count;
    return 1;
torn:
    iti_extents_free(x, count);
    return 0;
}

/* What a commit can touch: bytes in [lo, hi) in increasing order without overlap, and a size
 * no more than MAX_GROWTH past the file's size when it began and no less than its own extents
 * reach. 1, or 0 with why. */
static int within_bounds(const image *im, uint64_t lo, uint64_t hi, char *why, size_t why_size) {
    uint64_t at = lo;
    for (size_t i = 0; i < im->n; i++) {
        if (im->x[i].addr < at || im->x[i].size > hi || im->x[i].addr > hi - im->x[i].size) {
            snprintf(why, why_size, "it writes %zu bytes at offset %llu, outside [%llu, %llu) "
                     "or over another of its extents", im->x[i].size,
                     (unsigned long long)im->x[i].addr, (unsigned long long)lo,
                     (unsigned long long)hi);
            return 0;
        }
        at = im->x[i].addr + im->x[i].size;
    }
    if (im->size > im->old_size && im->size - im->old_size > MAX_GROWTH) {
        snprintf(why, why_size, "it grows the file from %llu to %llu bytes",
                 (unsigned long long)im->old_size, (unsigned long long)im->size);
        return 0;
    }
    if (im->size < at) {
        snprintf(why, why_size, "it cuts the file to %llu bytes, short of its own writes",
                 (unsigned long long)im->size);
        return 0;
    }
    return 1;
}

/* A commit that shrinks a format-1/2 file cuts it to HDF5's end of allocation: the one its
 * superblock (version 0 or 1, at offset 0) holds once the journal is applied. 1, 0 with why,
 * or -errno. */
static int shrink_allowed(int fd, const image *im, char *why, size_t why_size) {
    unsigned char sb[56];
    int err = iti_fs_pread_full(fd, sb, sizeof sb, 0);
    if (err)
        return -err;
    for (size_t i = 0; i < im->n && im->x[i].addr < sizeof sb; i++) {
        const iti_extent *x = &im->x[i];
        size_t len = x->size < sizeof sb - x->addr ? x->size : sizeof sb - (size_t)x->addr;
        memcpy(sb + x->addr, x->data, len);
    }
    uint64_t eoa = sb[8] <= 1 ? iti_get_le(sb + (sb[8] == 0 ? 40 : 44), 8) : 0;
    if (eoa == im->size)
        return 1;
    snprintf(why, why_size, "it cuts the file to %llu bytes, where its superblock ends the "
             "allocation at %llu", (unsigned long long)im->size, (unsigned long long)eoa);
    return 0;
}

/* Every byte the journal covers holds its old or its new value: the file it was written for,
 * however far the apply got. 1, 0, or -errno. */
static int matches_file(int fd, const image *im) {
    for (size_t i = 0; i < im->n; i++) {
        const iti_extent *x = &im->x[i];
        unsigned char *cur = malloc(x->size ? x->size : 1);
        if (!cur)
            return -ENOMEM;
        int err = iti_fs_pread_full(fd, cur, x->size, x->addr);
        bool ok = err == 0;
        for (size_t k = 0; ok && k < x->size; k++)
            ok = cur[k] == x->data[k] || cur[k] == x->old[k];
        free(cur);
        if (err)
            return -err;
        if (!ok)
            return 0;
    }
    return 1;
}

/* Reads len bytes at off of fd into a new buffer; 0 or an errno. */
static int read_image(int fd, uint64_t off, uint64_t len, unsigned char **out) {
    *out = malloc(len ? len : 1);
    if (!*out)
        return ENOMEM;
    int err = iti_fs_pread_full(fd, *out, len, off);
    if (err) {
        free(*out);
        *out = NULL;
    }
    return err;
}

int iti_journal_get(int fd, const iti_header *h, iti_extent **out, size_t *n, char *why,
                    size_t why_size) {
    *out = NULL;
    *n = 0;
    if (h->journal_len > MAX_JOURNAL || h->journal < ITI_HEADER_SIZE || h->journal > MAX_ADDR) {
        snprintf(why, why_size, "the header names a journal of %llu bytes at offset %llu",
                 (unsigned long long)h->journal_len, (unsigned long long)h->journal);
        return -EBADMSG;
    }
    unsigned char *b;
    int err = read_image(fd, h->journal, h->journal_len, &b);
    if (err)
        return -err;
    image im;
    int rc = parse(&V3, b, (size_t)h->journal_len, &im);
    if (rc == 1 && (memcmp(im.id, h->id, 16) != 0 || im.seq != h->seq))
        rc = 0; /* bytes of a later commit or of chunk data: the space was reused */
    free(b);
    im.id = NULL;
    if (rc == 1 && (im.size > h->journal || im.old_size > h->journal)) {
        snprintf(why, why_size, "it sizes the file at %llu bytes before and %llu after, past "
                 "its own offset %llu", (unsigned long long)im.old_size,
                 (unsigned long long)im.size, (unsigned long long)h->journal);
        rc = -EBADMSG;
    }
    if (rc == 1 && !within_bounds(&im, ITI_HEADER_SIZE, h->journal, why, why_size))
        rc = -EBADMSG;
    if (rc == 1 && im.size != h->size) {
        snprintf(why, why_size, "it sets the size to %llu bytes, the header says %llu",
                 (unsigned long long)im.size, (unsigned long long)h->size);
        rc = -EBADMSG;
    }
    if (rc == 1 && (rc = matches_file(fd, &im)) == 0) {
        snprintf(why, why_size, "the file holds bytes the journal does not know");
        rc = -EBADMSG;
    }
    if (rc == 1) {
        *out = im.x;
        *n = im.n;
    } else {
        iti_extents_free(im.x, im.n);
    }
    return rc;
}

/* Opens a format-2 journal file: no link followed, no FIFO or device waited on, only a regular
 * file of a size a commit can write. The descriptor (-1: none there) or -errno; -EBADMSG with
 * why when something else is at path. */
static int open_legacy(const char *path, struct stat *sb, char *why, size_t why_size) {
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return -1;
    if (fd < 0 && (errno == ELOOP || errno == EMLINK)) {
        snprintf(why, why_size, "%s is a symbolic link, not a journal", path);
        return -EBADMSG;
    }
    if (fd < 0)
        return -errno;
    int rc = fstat(fd, sb) != 0 ? -errno : fd;
    if (rc >= 0 && !S_ISREG(sb->st_mode)) {
        snprintf(why, why_size, "%s is a %s, not a journal", path,
                 S_ISDIR(sb->st_mode) ? "directory" : S_ISFIFO(sb->st_mode) ? "FIFO"
                 : S_ISSOCK(sb->st_mode) ? "socket" : "device");
        rc = -EBADMSG;
    } else if (rc >= 0 && (uint64_t)sb->st_size > MAX_JOURNAL) {
        snprintf(why, why_size, "%s is %llu bytes, more than any commit writes", path,
                 (unsigned long long)sb->st_size);
        rc = -EBADMSG;
    }
    if (rc < 0)
        close(fd);
    return rc;
}

/* The format-2 journal at path for the file open as `file` (iti_journal_find_legacy). */
static int read_legacy(const char *path, int file, image *im, char *why, size_t why_size) {
    struct stat sb;
    int fd = open_legacy(path, &sb, why, why_size);
    if (fd < 0)
        return fd == -1 ? 0 : fd;
    unsigned char *b = NULL;
    int rc = -read_image(fd, 0, (uint64_t)sb.st_size, &b);
    close(fd);
    if (rc == 0)
        rc = parse(&V2, b, (size_t)sb.st_size, im);
    free(b);
    struct stat fb;
    if (rc == 1 && fstat(file, &fb) != 0)
        rc = -errno;
    if (rc == 1 && (uint64_t)fb.st_size != im->old_size && (uint64_t)fb.st_size != im->size)
        rc = 0; /* another file's journal (the size it had or will have is not this one's) */
    char detail[200];
    uint64_t hi = im->old_size > im->size ? im->old_size : im->size;
    if (rc == 1 && (!within_bounds(im, 0, hi, detail, sizeof detail) ||
                    (im->size < im->old_size &&
                     (rc = shrink_allowed(file, im, detail, sizeof detail)) == 0))) {
        snprintf(why, why_size, "the journal %s is not one a commit writes: %s", path, detail);
        rc = -EBADMSG;
    }
    if (rc == 1)
        rc = matches_file(file, im); /* 0: written for another file of that name */
    return rc;
}

int iti_journal_find_legacy(const char *const paths[2], int file, iti_extent **out, size_t *n,
                            uint64_t *size, char *why, size_t why_size) {
    *out = NULL;
    *n = 0;
    for (int k = 0; k < 2; k++) {
        image im = {0};
        int rc = paths[k] ? read_legacy(paths[k], file, &im, why, why_size) : 0;
        if (rc == 1) {
            *out = im.x;
            *n = im.n;
            *size = im.size;
            return 1;
        }
        iti_extents_free(im.x, im.n);
        if (rc < 0)
            return rc;
    }
    return 0;
}
