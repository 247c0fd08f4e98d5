/* The deflate codec: HDF5's byte shuffle, then a zlib stream (H5Z_FILTER_SHUFFLE,
 * H5Z_FILTER_DEFLATE). With libdeflate (ITI_HAVE_LIBDEFLATE) the stream is made faster than
 * zlib makes it: the leading byte planes of the shuffled chunk whose 16 KiB sample gains under
 * 20% (the noisy low-order bytes of floats, random data) are written as deflate stored blocks,
 * the rest is compressed by libdeflate, and chunks are inflated by libdeflate. Without it,
 * zlib's compress2 and uncompress. Either way any inflater decodes what the other wrote. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#ifdef ITI_HAVE_LIBDEFLATE
#include <libdeflate.h>
#endif

#include "backend.h"
#include "codec/codec.h"

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

static int deflate_encode(const unsigned char *in, size_t n, size_t esize, int level, void **out,
                          size_t *outlen) {
    return zlib_stream(in, n, esize > 1 && n % esize == 0 ? esize : 1, level, out, outlen);
}

static int deflate_decode(const unsigned char *src, size_t len, unsigned char *dst, size_t n) {
    return inflate_into(src, len, dst, n);
}

#define H5Z_FILTER_DEFLATE 1 /* HDF5's own numbers (H5Zpublic.h); codecs know no HDF5 */

static size_t deflate_values(int level, size_t esize, size_t chunk_bytes, unsigned *values) {
    (void)esize, (void)chunk_bytes;
    values[0] = (unsigned)level;
    return 1;
}

static int deflate_level(const unsigned *values, size_t count) {
    return count >= 1 && values[0] <= 9 ? (int)values[0] : -1;
}

const iti_codec_row iti_codec_deflate = {
    .id = IT_COMPRESSION_DEFLATE, .name = "deflate", .available = true, .package = "zlib1g-dev",
    .compresses = true, .max_level = 9, .default_level = 1,
    .shuffled = true, .filter = H5Z_FILTER_DEFLATE, .filter_values = deflate_values,
    .filter_level = deflate_level,
    .encode = deflate_encode, .decode = deflate_decode, .bound = deflate_bound,
};
