#include <stdint.h>
#include <string.h>
#include <zlib.h>

#include "codec.h"
#include "backend.h"

/* Byte k of element j goes to plane k: out[k*count + j] = in[j*esize + k] (HDF5's layout;
 * n is a multiple of esize for our chunks). The common sizes work on whole words, which the
 * compiler vectorises; the generic loop serves the rest. */
static void shuffle(unsigned char *dst, const unsigned char *src, size_t n, size_t esize) {
    size_t count = n / esize;
    if (esize == 4) {
        unsigned char *p0 = dst, *p1 = dst + count, *p2 = dst + 2 * count, *p3 = dst + 3 * count;
        for (size_t j = 0; j < count; j++) {
            uint32_t w;
            memcpy(&w, src + 4 * j, 4);
            p0[j] = (unsigned char)w;
            p1[j] = (unsigned char)(w >> 8);
            p2[j] = (unsigned char)(w >> 16);
            p3[j] = (unsigned char)(w >> 24);
        }
        return;
    }
    if (esize == 2) {
        unsigned char *p0 = dst, *p1 = dst + count;
        for (size_t j = 0; j < count; j++) {
            uint16_t w;
            memcpy(&w, src + 2 * j, 2);
            p0[j] = (unsigned char)w;
            p1[j] = (unsigned char)(w >> 8);
        }
        return;
    }
    for (size_t k = 0; k < esize; k++) {
        unsigned char *o = dst + k * count;
        const unsigned char *i = src + k;
        for (size_t j = 0; j < count; j++)
            o[j] = i[j * esize];
    }
}

static void unshuffle(unsigned char *dst, const unsigned char *src, size_t n, size_t esize) {
    size_t count = n / esize;
    if (esize == 4) {
        const unsigned char *p0 = src, *p1 = src + count, *p2 = src + 2 * count, *p3 = src + 3 * count;
        for (size_t j = 0; j < count; j++) {
            uint32_t w = (uint32_t)p0[j] | (uint32_t)p1[j] << 8 | (uint32_t)p2[j] << 16 |
                         (uint32_t)p3[j] << 24;
            memcpy(dst + 4 * j, &w, 4);
        }
        return;
    }
    if (esize == 8) {
        for (size_t j = 0; j < count; j++) {
            uint64_t w = 0;
            for (size_t k = 0; k < 8; k++)
                w |= (uint64_t)src[k * count + j] << (8 * k);
            memcpy(dst + 8 * j, &w, 8);
        }
        return;
    }
    if (esize == 2) {
        const unsigned char *p0 = src, *p1 = src + count;
        for (size_t j = 0; j < count; j++) {
            uint16_t w = (uint16_t)(p0[j] | p1[j] << 8);
            memcpy(dst + 2 * j, &w, 2);
        }
        return;
    }
    for (size_t k = 0; k < esize; k++) {
        const unsigned char *i = src + k * count;
        unsigned char *o = dst + k;
        for (size_t j = 0; j < count; j++)
            o[j * esize] = i[j];
    }
}

int iti_codec_encode(const void *src, size_t n, size_t esize, int level, void **out,
                    size_t *outlen) {
    const unsigned char *in = src;
    unsigned char *shuffled = NULL;
    if (esize > 1) {
        shuffled = iti_buf_alloc(n);
        if (!shuffled)
            return iti_error(IT_ENOMEM, "out of memory compressing a chunk");
        shuffle(shuffled, src, n, esize);
        in = shuffled;
    }
    uLongf bound = compressBound((uLong)n);
    unsigned char *dst = iti_buf_alloc(bound);
    if (!dst) {
        iti_buf_free(shuffled);
        return iti_error(IT_ENOMEM, "out of memory compressing a chunk");
    }
    int zrc = compress2(dst, &bound, in, (uLong)n, level);
    iti_buf_free(shuffled);
    if (zrc != Z_OK) {
        iti_buf_free(dst);
        return iti_error(IT_EIO, "zlib compress2 failed (%d)", zrc);
    }
    *out = dst;
    *outlen = bound;
    return 0;
}

int iti_codec_decode(const void *src, size_t len, size_t esize, void *dst, size_t n,
                    void *scratch) {
    unsigned char *target = esize > 1 ? scratch : dst;
    uLongf got = (uLongf)n;
    int zrc = uncompress(target, &got, src, (uLong)len);
    if (zrc != Z_OK || got != n)
        return iti_error(IT_EFORMAT, "chunk does not inflate to %zu bytes (zlib %d, got %lu)", n,
                        zrc, (unsigned long)got);
    if (esize > 1)
        unshuffle(dst, scratch, n, esize);
    return 0;
}

size_t iti_codec_bound(size_t n) { return (size_t)compressBound((uLong)n); }

int iti_codec_level(int requested, const char *fn, int *level) {
    if (requested < -1 || requested > 9)
        return iti_error(IT_EINVAL, "%s: compression_level must be -1..9 (got %d)", fn, requested);
    *level = requested == 0 ? ITI_CODEC_DEFAULT_LEVEL : requested;
    return 0;
}
