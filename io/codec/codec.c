/* The chunk codec (codec.h). */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#ifdef ITI_HAVE_LIBDEFLATE
#include <libdeflate.h>
#endif

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

/* ---- the deflate engine ------------------------------------------------------------------- */

#ifdef ITI_HAVE_LIBDEFLATE
/* One compressor per level, a zlib stream and a decompressor per thread (allocating one costs
 * more than compressing a small chunk: zlib's state is 260 KiB of fresh pages), with a scratch
 * buffer for samples; freed when the thread ends. */
typedef struct engines {
    struct libdeflate_compressor *c[10];
    struct libdeflate_decompressor *d;
    z_stream z;
    int z_level;                /* level z was set up with; 0: not set up */
    unsigned char *sample_out;
    size_t sample_cap;
} engines;

static pthread_key_t engines_key;
static pthread_once_t engines_once = PTHREAD_ONCE_INIT;

static void free_engines(void *p) {
    engines *e = p;
    for (int i = 0; i < 10; i++)
        libdeflate_free_compressor(e->c[i]);
    libdeflate_free_decompressor(e->d);
    if (e->z_level)
        deflateEnd(&e->z);
    free(e->sample_out);
    free(e);
}

static void make_key(void) { pthread_key_create(&engines_key, free_engines); }

static engines *thread_engines(void) {
    pthread_once(&engines_once, make_key);
    engines *e = pthread_getspecific(engines_key);
    if (!e && (e = calloc(1, sizeof *e)) != NULL && pthread_setspecific(engines_key, e) != 0) {
        free(e);
        e = NULL;
    }
    return e;
}

static struct libdeflate_compressor *compressor(engines *e, int level) {
    if (!e->c[level])
        e->c[level] = libdeflate_alloc_compressor(level);
    return e->c[level];
}

/* What compressing a sample of a plane (its first quarter, at most 16 KiB: the sample is
 * compressed again with the rest, so it stays a small part of the work) gains. */
typedef enum gain { GAIN_NONE, GAIN_SOME, GAIN_HUGE } gain;

/* GAIN_NONE under 20%; GAIN_HUGE over 8x (repetitive data, on which zlib's fastest level
 * outruns libdeflate's: 760 against 530 MB/s measured here, while libdeflate is 2.2-2.7x
 * faster on smooth fields and noise). */
static gain sample_gain(engines *e, struct libdeflate_compressor *c, const unsigned char *p,
                        size_t n) {
    size_t sample = n / 4 < 16384 ? (n + 3) / 4 : 16384;
    size_t cap = libdeflate_deflate_compress_bound(c, sample);
    if (cap > e->sample_cap) {
        unsigned char *b = realloc(e->sample_out, cap);
        if (!b)
            return GAIN_SOME;
        e->sample_out = b;
        e->sample_cap = cap;
    }
    size_t got = libdeflate_deflate_compress(c, p, sample, e->sample_out, cap);
    return got == 0 || got * 10 > sample * 8 ? GAIN_NONE : got * 8 < sample ? GAIN_HUGE : GAIN_SOME;
}

/* Raw deflate of n bytes by the thread's zlib stream, ending in the final block; 0 on
 * failure. */
static size_t zlib_raw(engines *e, const unsigned char *in, size_t n, int level,
                       unsigned char *out, size_t cap) {
    if (e->z_level != level) {
        if (e->z_level)
            deflateEnd(&e->z);
        memset(&e->z, 0, sizeof e->z);
        e->z_level = deflateInit2(&e->z, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK
                         ? level : 0;
        if (!e->z_level)
            return 0;
    } else if (deflateReset(&e->z) != Z_OK) {
        return 0;
    }
    e->z.next_in = (Bytef *)in;
    e->z.avail_in = (uInt)n;
    e->z.next_out = out;
    e->z.avail_out = (uInt)cap;
    return deflate(&e->z, Z_FINISH) == Z_STREAM_END ? e->z.total_out : 0;
}

/* Appends `n` bytes as deflate stored blocks (not final) at out; returns the bytes written. */
static size_t stored_blocks(const unsigned char *in, size_t n, unsigned char *out) {
    size_t o = 0;
    for (size_t p = 0; p < n;) {
        size_t len = n - p > 65535 ? 65535 : n - p;
        out[o++] = 0; /* BFINAL 0, BTYPE 00; the block is byte-aligned */
        out[o++] = (unsigned char)len;
        out[o++] = (unsigned char)(len >> 8);
        out[o++] = (unsigned char)~len;
        out[o++] = (unsigned char)(~len >> 8);
        memcpy(out + o, in + p, len);
        o += len;
        p += len;
    }
    return o;
}

static size_t stored_bound(size_t n) { return n + 5 * (n / 65535 + 1); }

/* A zlib stream of n shuffled bytes (planes of n/planes bytes): the leading planes whose sample
 * does not compress (the noisy low-order bytes of floats) go in stored blocks, at memcpy
 * speed; the rest is one raw deflate stream ending in the final block, by libdeflate, or by
 * zlib when the sample shrank more than 8x. Every inflater decodes
 * it as ordinary deflate, so HDF5's filter reads it with filter mask 0. */
static int zlib_stream(const unsigned char *in, size_t n, size_t planes, int level, void **out,
                       size_t *outlen) {
    engines *e = thread_engines();
    struct libdeflate_compressor *c = e && level >= 1 ? compressor(e, level) : NULL;
    if (level >= 1 && !c)
        return iti_error(IT_ENOMEM, "out of memory compressing a chunk");
    size_t plane = n / planes, stored = 0;
    gain g = GAIN_NONE;
    if (!c)
        stored = n; /* level 0: everything stored */
    while (c && stored < n &&
           (g = sample_gain(e, c, in + stored, stored + plane <= n ? plane : n - stored)) == GAIN_NONE)
        stored += plane;
    size_t rest = n - stored, rest_cap = 5;
    if (rest)
        rest_cap = g == GAIN_HUGE ? (size_t)deflateBound(NULL, (uLong)rest)
                                  : libdeflate_deflate_compress_bound(c, rest);
    size_t cap = 2 + stored_bound(stored) + rest_cap + 4;
    unsigned char *dst = iti_buf_alloc(cap);
    if (!dst)
        return iti_error(IT_ENOMEM, "out of memory compressing a chunk");
    size_t o = 0;
    dst[o++] = 0x78; /* deflate, 32 KiB window */
    dst[o++] = 0x01; /* fastest; (0x78 * 256 + 0x01) % 31 == 0 */
    o += stored_blocks(in, stored, dst + o);
    if (rest) {
        size_t got = g == GAIN_HUGE ? zlib_raw(e, in + stored, rest, level, dst + o, cap - o - 4)
                                    : libdeflate_deflate_compress(c, in + stored, rest, dst + o,
                                                                  cap - o - 4);
        if (got == 0) {
            iti_buf_free(dst);
            return iti_error(IT_EIO, "deflate could not compress a chunk");
        }
        o += got;
    } else { /* an empty final stored block ends the stream */
        static const unsigned char last[5] = {1, 0, 0, 0xff, 0xff};
        memcpy(dst + o, last, sizeof last);
        o += sizeof last;
    }
    uint32_t a = libdeflate_adler32(1, in, n);
    dst[o++] = (unsigned char)(a >> 24);
    dst[o++] = (unsigned char)(a >> 16);
    dst[o++] = (unsigned char)(a >> 8);
    dst[o++] = (unsigned char)a;
    *out = dst;
    *outlen = o;
    return 0;
}

static int inflate_into(const void *src, size_t len, void *dst, size_t n) {
    engines *e = thread_engines();
    if (e && !e->d)
        e->d = libdeflate_alloc_decompressor();
    if (!e || !e->d)
        return iti_error(IT_ENOMEM, "out of memory decoding a chunk");
    size_t got = 0;
    enum libdeflate_result r = libdeflate_zlib_decompress(e->d, src, len, dst, n, &got);
    if (r != LIBDEFLATE_SUCCESS || got != n)
        return iti_error(IT_EFORMAT, "chunk does not inflate to %zu bytes (libdeflate %d)", n,
                         (int)r);
    return 0;
}

static size_t deflate_bound(size_t n) {
    size_t worst = libdeflate_deflate_compress_bound(NULL, n);
    size_t zraw = (size_t)deflateBound(NULL, (uLong)n);
    size_t ours = 2 + stored_bound(n) + (worst > zraw ? worst : zraw) + 5 + 4;
    size_t zlibs = (size_t)compressBound((uLong)n);
    return ours > zlibs ? ours : zlibs;
}
#else
/* Without libdeflate: zlib's compress2 over the whole chunk. */
static int zlib_stream(const unsigned char *in, size_t n, size_t planes, int level, void **out,
                       size_t *outlen) {
    (void)planes;
    uLongf bound = compressBound((uLong)n);
    unsigned char *dst = iti_buf_alloc(bound);
    if (!dst)
        return iti_error(IT_ENOMEM, "out of memory compressing a chunk");
    int zrc = compress2(dst, &bound, in, (uLong)n, level);
    if (zrc != Z_OK) {
        iti_buf_free(dst);
        return iti_error(IT_EIO, "zlib compress2 failed (%d)", zrc);
    }
    *out = dst;
    *outlen = bound;
    return 0;
}

static int inflate_into(const void *src, size_t len, void *dst, size_t n) {
    uLongf got = (uLongf)n;
    int zrc = uncompress(dst, &got, src, (uLong)len);
    if (zrc != Z_OK || got != n)
        return iti_error(IT_EFORMAT, "chunk does not inflate to %zu bytes (zlib %d, got %lu)", n,
                         zrc, (unsigned long)got);
    return 0;
}

static size_t deflate_bound(size_t n) { return (size_t)compressBound((uLong)n); }
#endif

/* ---- the codec ------------------------------------------------------------------------------ */

static const char *const names[IT_COMPRESSION_COUNT] = {"deflate", "lz4", "zstd", "none"};

const char *it_compression_name(it_compression c) {
    return (unsigned)c < IT_COMPRESSION_COUNT ? names[c] : NULL;
}

int it_compression_parse(const char *name, it_compression *out) {
    for (int c = 0; name && out && c < IT_COMPRESSION_COUNT; c++)
        if (strcmp(name, names[c]) == 0) {
            *out = (it_compression)c;
            return 0;
        }
    return iti_error(IT_EINVAL, "compression must be deflate, lz4, zstd or none (got \"%s\")",
                     name ? name : "(null)");
}

int it_compression_available(it_compression c) {
    switch (c) {
    case IT_COMPRESSION_DEFLATE:
    case IT_COMPRESSION_NONE:
        return 1;
#ifdef ITI_HAVE_LZ4
    case IT_COMPRESSION_LZ4:
        return 1;
#endif
#ifdef ITI_HAVE_BLOSC
    case IT_COMPRESSION_ZSTD:
        return 1;
#endif
    default:
        return 0;
    }
}

int iti_codec_resolve(it_compression kind, int level, const char *fn, iti_codec *out) {
    /* default level, and the highest, per codec */
    static const int deflt[IT_COMPRESSION_COUNT] = {1, 1, 1, 0};
    static const int top[IT_COMPRESSION_COUNT] = {9, 12, 9, 0};
    if ((unsigned)kind >= IT_COMPRESSION_COUNT)
        return iti_error(IT_EINVAL, "%s: compression must be an it_compression value (got %d)",
                         fn, (int)kind);
    if (level == -1 || kind == IT_COMPRESSION_NONE) {
        if (level > 0)
            return iti_error(IT_EINVAL, "%s: compression none takes no level (got %d)", fn, level);
        *out = (iti_codec){IT_COMPRESSION_NONE, 0, false};
        return 0;
    }
    if (level < 0 || level > top[kind])
        return iti_error(IT_EINVAL, "%s: compression_level must be -1..%d for %s (got %d)", fn,
                         top[kind], names[kind], level);
    if (!it_compression_available(kind))
        return iti_error(IT_EINVAL, "%s: this build has no %s codec (rebuild with %s installed)",
                         fn, names[kind], kind == IT_COMPRESSION_LZ4 ? "liblz4-dev" : "libblosc-dev");
    *out = (iti_codec){kind, level ? level : deflt[kind], false};
    return 0;
}

size_t iti_codec_bound(const iti_codec *c, size_t n) {
    size_t tail = c->checksum ? 4 : 0;
    switch (c->kind) {
    case IT_COMPRESSION_DEFLATE: return deflate_bound(n) + tail;
    case IT_COMPRESSION_LZ4: return iti_lz4_bound(n) + tail;
    case IT_COMPRESSION_ZSTD: return iti_zstd_bound(n) + tail;
    default: return n + tail;
    }
}

/* The compressed (or plain) bytes of a chunk, without a checksum. */
static int encode_plain(const iti_codec *c, const void *src, size_t n, size_t esize,
                        void **out, size_t *outlen) {
    if (c->kind == IT_COMPRESSION_NONE) {
        *out = iti_buf_alloc(n + 4); /* room for the checksum */
        if (!*out)
            return iti_error(IT_ENOMEM, "out of memory encoding a chunk");
        memcpy(*out, src, n);
        *outlen = n;
        return 0;
    }
    if (c->kind == IT_COMPRESSION_ZSTD) /* Blosc shuffles itself */
        return iti_zstd_encode(src, n, esize, c->level, out, outlen);
    const unsigned char *in = src;
    unsigned char *shuffled = NULL;
    if (esize > 1) {
        shuffled = iti_buf_alloc(n);
        if (!shuffled)
            return iti_error(IT_ENOMEM, "out of memory compressing a chunk");
        shuffle(shuffled, src, n, esize);
        in = shuffled;
    }
    int rc = c->kind == IT_COMPRESSION_LZ4
                 ? iti_lz4_encode(in, n, c->level, out, outlen)
                 : zlib_stream(in, n, esize > 1 && n % esize == 0 ? esize : 1, c->level, out, outlen);
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
    int rc = iti_codec_verify(c, src, &len, n);
    if (rc || c->kind == IT_COMPRESSION_NONE) {
        if (rc == 0)
            memcpy(dst, src, n);
        return rc;
    }
    if (c->kind == IT_COMPRESSION_ZSTD)
        return iti_zstd_decode(src, len, dst, n);
    unsigned char *plain = esize > 1 ? scratch : dst;
    rc = c->kind == IT_COMPRESSION_LZ4 ? iti_lz4_decode(src, len, plain, n)
                                       : inflate_into(src, len, plain, n);
    if (rc == 0 && esize > 1)
        unshuffle(dst, scratch, n, esize);
    return rc;
}
