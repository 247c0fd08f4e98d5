#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include <zlib.h>

#include "byte_order.h"
#include "file_util.h"
#include "hdf5/driver/hdf5_header.h"

#define RECORD 76
#define SLOT 2048

int iti_header_new(iti_header *h, uint64_t size) {
    *h = (iti_header){.size = size};
    size_t got = 0;
    while (got < sizeof h->id) {
        ssize_t n = getrandom(h->id + got, sizeof h->id - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno;
        got += (size_t)n;
    }
    return 0;
}

static void encode(const iti_header *h, unsigned char *b) {
    memcpy(b, ITI_HEADER_MAGIC, 8);
    memcpy(b + 8, h->id, 16);
    unsigned char *p = iti_put_le(b + 24, h->gen, 8);
    p = iti_put_le(p, h->seq, 8);
    p = iti_put_le(p, h->state, 4);
    p = iti_put_le(p, 0, 4);
    p = iti_put_le(p, h->size, 8);
    p = iti_put_le(p, h->journal, 8);
    p = iti_put_le(p, h->journal_len, 8);
    iti_put_le(p, (uint32_t)crc32(0L, b, RECORD - 4), 4);
}

void iti_header_encode(const iti_header *h, unsigned char block[ITI_HEADER_SIZE]) {
    memset(block, 0, ITI_HEADER_SIZE);
    encode(h, block + h->gen % 2 * SLOT);
}

/* 1: a valid record; 0: none (zeros: never written); -1: damaged. */
static int decode(const unsigned char *b, iti_header *h) {
    if (memcmp(b, ITI_HEADER_MAGIC, 8) != 0)
        return 0;
    if (iti_get_le(b + RECORD - 4, 4) != (uint32_t)crc32(0L, b, RECORD - 4) ||
        iti_get_le(b + 44, 4) != 0)
        return -1;
    *h = (iti_header){.gen = iti_get_le(b + 24, 8), .seq = iti_get_le(b + 32, 8),
                      .state = (uint32_t)iti_get_le(b + 40, 4), .size = iti_get_le(b + 48, 8),
                      .journal = iti_get_le(b + 56, 8), .journal_len = iti_get_le(b + 64, 8)};
    memcpy(h->id, b + 8, 16);
    if (h->state > ITI_HEADER_APPLYING || h->size < ITI_HEADER_SIZE ||
        (h->state == ITI_HEADER_COMMITTED && (h->journal || h->journal_len)))
        return -1;
    return 1;
}

int iti_header_read(int fd, iti_header *h) {
    unsigned char b[2][RECORD];
    int err = iti_fs_pread_full(fd, b[0], RECORD, 0);
    if (err == 0)
        err = iti_fs_pread_full(fd, b[1], RECORD, SLOT);
    if (err)
        return -err;
    if (memcmp(b[0], ITI_HEADER_MAGIC, 8) != 0 && memcmp(b[1], ITI_HEADER_MAGIC, 8) != 0)
        return 0;
    iti_header s[2];
    int ok[2] = {decode(b[0], &s[0]), decode(b[1], &s[1])};
    if (ok[0] == 1 && ok[1] == 1 && memcmp(s[0].id, s[1].id, 16) != 0)
        return -EBADMSG; /* two stores' records: not written by one store's commits */
    int pick = ok[0] == 1 && (ok[1] != 1 || s[0].gen > s[1].gen) ? 0 : ok[1] == 1 ? 1 : -1;
    if (pick < 0)
        return -EBADMSG;
    *h = s[pick];
    return 1;
}

int iti_header_write(int fd, iti_header *h) {
    unsigned char b[RECORD];
    h->gen++;
    encode(h, b);
    return iti_fs_pwrite_all(fd, b, sizeof b, h->gen % 2 * SLOT);
}

int iti_progress_write(int fd, const iti_progress *p) {
    unsigned char b[ITI_PROGRESS_SIZE] = {0};
    memcpy(b, "ITPROG01", 8);
    unsigned char *q = iti_put_le(b + 8, p->pid, 4);
    q = iti_put_le(q, p->state, 4);
    q = iti_put_le(q, p->done, 8);
    q = iti_put_le(q, p->total, 8);
    q = iti_put_le(q, p->started, 8);
    q = iti_put_le(q, p->updated, 8);
    memcpy(q, p->id, strnlen(p->id, sizeof p->id - 1));
    iti_put_le(b + ITI_PROGRESS_SIZE - 4, (uint32_t)crc32(0L, b, ITI_PROGRESS_SIZE - 4), 4);
    return iti_fs_pwrite_all(fd, b, sizeof b, ITI_PROGRESS_AT);
}

int iti_progress_read(int fd, iti_progress *p) {
    unsigned char b[ITI_PROGRESS_SIZE];
    int err = iti_fs_pread_full(fd, b, sizeof b, ITI_PROGRESS_AT);
    if (err)
        return -err;
    if (memcmp(b, "ITPROG01", 8) != 0)
        return 0;
    if (iti_get_le(b + ITI_PROGRESS_SIZE - 4, 4) != (uint32_t)crc32(0L, b, ITI_PROGRESS_SIZE - 4))
        return -EBADMSG;
    *p = (iti_progress){.pid = (uint32_t)iti_get_le(b + 8, 4),
                        .state = (uint32_t)iti_get_le(b + 12, 4), .done = iti_get_le(b + 16, 8),
                        .total = iti_get_le(b + 24, 8), .started = iti_get_le(b + 32, 8),
                        .updated = iti_get_le(b + 40, 8)};
    memcpy(p->id, b + 48, sizeof p->id - 1);
    p->id[sizeof p->id - 1] = 0;
    return 1;
}
