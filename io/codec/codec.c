/* The generic part of the chunk codecs (codec.h): HDF5's byte shuffle around the engines, the
 * Fletcher-32 checksum after them, the size checks, and the codec without an engine (none). */
#include <stdint.h>
#include <string.h>

#include "backend.h"
#include "byte_order.h"
#include "codec/codec.h"

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

/* ---- the generic codec --------------------------------------------------------------------- */

/* none: the chunk's bytes (codec.c handles it without an engine). */
const iti_codec_row iti_codec_none = {
    .id = IT_COMPRESSION_NONE, .name = "none", .available = true, .compresses = false,
};

size_t iti_codec_bound(const iti_codec *c, size_t n) {
    const iti_codec_row *r = iti_codec_row_of(c->kind);
    return (r->compresses ? r->bound(n) : n) + (c->checksum ? 4 : 0);
}

/* The compressed (or plain) bytes of a chunk, without a checksum. */
static int encode_plain(const iti_codec *c, const void *src, size_t n, size_t esize,
                        void **out, size_t *outlen) {
    const iti_codec_row *r = iti_codec_row_of(c->kind);
    if (!r->compresses) {
        *out = iti_buf_alloc(n + 4); /* room for the checksum */
        if (!*out)
            return iti_error(IT_ENOMEM, "out of memory encoding a chunk");
        memcpy(*out, src, n);
        *outlen = n;
        return 0;
    }
    if (!r->shuffled || esize <= 1)
        return r->encode(src, n, esize, c->level, out, outlen);
    unsigned char *shuffled = iti_buf_alloc(n);
    if (!shuffled)
        return iti_error(IT_ENOMEM, "out of memory compressing a chunk");
    shuffle(shuffled, src, n, esize);
    int rc = r->encode(shuffled, n, esize, c->level, out, outlen);
    iti_buf_free(shuffled);
    return rc;
}

/* The Fletcher-32 checksum of b's first len bytes after them, as HDF5's filter stores it
 * (little-endian). */
static void put_checksum(unsigned char *b, size_t len) {
    iti_put_le(b + len, iti_fletcher32(b, len), 4);
}

/* Appends the checksum in the buffer when it has room (engines allocate their bound), else in
 * a new one. */
static int append_checksum(void **buf, size_t *len) {
    unsigned char *b = *buf;
    if (iti_buf_size(b) < *len + 4) {
        unsigned char *bigger = iti_buf_alloc(*len + 4);
        if (!bigger)
            return iti_error(IT_ENOMEM, "out of memory encoding a chunk");
        memcpy(bigger, b, *len);
        iti_buf_free(b);
        *buf = b = bigger;
    }
    put_checksum(b, *len);
    *len += 4;
    return 0;
}

bool iti_codec_encode_in_place(const iti_codec *c, void *buf, size_t *len) {
    size_t tail = iti_codec_tail(c);
    if (tail == 0 || iti_buf_size(buf) < *len + tail)
        return false;
    put_checksum(buf, *len);
    *len += tail;
    return true;
}

int iti_codec_encode(const iti_codec *c, const void *src, size_t n, size_t esize, void **out,
                     size_t *outlen) {
    int rc = encode_plain(c, src, n, esize, out, outlen);
    if (rc == 0 && c->checksum && (rc = append_checksum(out, outlen)) != 0) {
        iti_buf_free(*out);
        *out = NULL;
    }
    return rc;
}

int iti_codec_verify(const iti_codec *c, const void *src, size_t *len, size_t n) {
    if (c->checksum) {
        const unsigned char *b = src;
        if (*len < 4)
            return iti_error(IT_EFORMAT, "a chunk of %zu bytes has no room for its checksum", *len);
        *len -= 4;
        if (iti_fletcher32(b, *len) != iti_get_le(b + *len, 4))
            return iti_error(IT_EFORMAT, "a chunk's Fletcher-32 checksum does not match its bytes "
                             "(the stored chunk is damaged)");
    }
    if (!iti_codec_compresses(c) && *len != n)
        return iti_error(IT_EFORMAT, "a stored chunk has %zu bytes, expected %zu", *len, n);
    return 0;
}

int iti_codec_decode(const iti_codec *c, const void *src, size_t len, size_t esize, void *dst,
                     size_t n, void *scratch) {
    const iti_codec_row *r = iti_codec_row_of(c->kind);
    int rc = iti_codec_verify(c, src, &len, n);
    if (rc || !r->compresses) {
        if (rc == 0)
            memcpy(dst, src, n);
        return rc;
    }
    bool unshuffle_after = r->shuffled && esize > 1;
    rc = r->decode(src, len, unshuffle_after ? scratch : dst, n);
    if (rc == 0 && unshuffle_after)
        unshuffle(dst, scratch, n, esize);
    return rc;
}
