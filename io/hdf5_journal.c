#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "file_util.h"
#include "hdf5_journal.h"

#define MAGIC "ITJRNL02"
#define END "ITJEND02"
#define HEADER 32
#define TRAILER 12
#define MAX_JOURNAL ((uint64_t)1 << 32) /* metadata of one flush: far less */
#define MAX_ADDR ((uint64_t)1 << 62)

static unsigned char *put64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        *p++ = (unsigned char)(v >> 8 * i);
    return p;
}

static uint64_t get64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

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

int iti_journal_write(const char *path, uint64_t old_size, uint64_t size, const iti_extent *x,
                     size_t n, bool sync) {
    size_t total = HEADER + TRAILER;
    for (size_t i = 0; i < n; i++)
        total += 16 + 2 * x[i].size;
    unsigned char *buf = malloc(total);
    if (!buf)
        return ENOMEM;
    unsigned char *p = buf;
    memcpy(p, MAGIC, 8);
    p = put64(put64(put64(p + 8, old_size), size), n);
    for (size_t i = 0; i < n; i++) {
        p = put64(put64(p, x[i].addr), x[i].size);
        memcpy(p, x[i].data, x[i].size);
        memcpy(p + x[i].size, x[i].old, x[i].size);
        p += 2 * x[i].size;
    }
    uint32_t crc = (uint32_t)crc32(0L, buf, (uInt)(p - buf));
    for (int i = 0; i < 4; i++)
        *p++ = (unsigned char)(crc >> 8 * i);
    memcpy(p, END, 8);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int err = fd < 0 ? errno : iti_fs_pwrite_all(fd, buf, total, 0);
    if (err == 0 && sync && iti_fs_sync_data(fd) != 0)
        err = errno;
    if (fd >= 0 && close(fd) != 0 && err == 0)
        err = errno;
    free(buf);
    return err;
}

/* Parses a journal image; 1 when complete. */
static int parse(const unsigned char *b, size_t len, iti_extent **out, size_t *n, uint64_t *old_size,
                 uint64_t *size) {
    if (len < HEADER + TRAILER || memcmp(b, MAGIC, 8) != 0 || memcmp(b + len - 8, END, 8) != 0)
        return 0;
    uint32_t crc = 0;
    for (int i = 3; i >= 0; i--)
        crc = crc << 8 | b[len - TRAILER + i];
    if ((uint32_t)crc32(0L, b, (uInt)(len - TRAILER)) != crc)
        return 0;
    *old_size = get64(b + 8);
    *size = get64(b + 16);
    uint64_t count = get64(b + 24);
    if (count > (len - HEADER - TRAILER) / 16 || *size > MAX_ADDR)
        return 0;
    iti_extent *x = calloc(count ? count : 1, sizeof *x);
    if (!x)
        return -ENOMEM;
    const unsigned char *p = b + HEADER, *end = b + len - TRAILER;
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
    *out = x;
    *n = count;
    return 1;
torn:
    iti_extents_free(x, count);
    return 0;
}

/* The file has its size before or after the commit, and every byte of every extent holds its
 * old or its new value. */
static int belongs(int fd, const iti_extent *x, size_t n, uint64_t old_size, uint64_t size) {
    struct stat sb;
    if (fstat(fd, &sb) != 0)
        return -errno;
    if ((uint64_t)sb.st_size != old_size && (uint64_t)sb.st_size != size)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char *cur = malloc(x[i].size ? x[i].size : 1);
        if (!cur)
            return -ENOMEM;
        int err = iti_fs_pread_full(fd, cur, x[i].size, x[i].addr);
        bool ok = err == 0;
        for (size_t k = 0; ok && k < x[i].size; k++)
            ok = cur[k] == x[i].data[k] || cur[k] == x[i].old[k];
        free(cur);
        if (err)
            return -err;
        if (!ok)
            return 0;
    }
    return 1;
}

int iti_journal_read(const char *path, int file, iti_extent **out, size_t *n, uint64_t *size) {
    *out = NULL;
    *n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    struct stat sb;
    int rc = fstat(fd, &sb) != 0 ? -errno : (uint64_t)sb.st_size > MAX_JOURNAL ? 1 : 0;
    if (rc) { /* a journal that large is not one of ours: ignored */
        close(fd);
        return rc < 0 ? rc : 0;
    }
    size_t len = (size_t)sb.st_size;
    unsigned char *b = malloc(len ? len : 1);
    rc = b ? iti_fs_pread_full(fd, b, len, 0) : ENOMEM;
    close(fd);
    uint64_t old_size = 0;
    rc = rc ? -rc : parse(b, len, out, n, &old_size, size);
    free(b);
    if (rc == 1 && (rc = belongs(file, *out, *n, old_size, *size)) != 1) {
        iti_extents_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}
