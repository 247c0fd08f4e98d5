/* The LZ4 engine in the framing of HDF5's LZ4 filter (registered filter 32004), so HDF5 with the
 * standard plugin decodes the chunks (codec.h): the decoded size (8 bytes, big-endian), the
 * block size (4 bytes, big-endian), then per block of that many bytes (the last may be
 * shorter) its encoded size (4 bytes, big-endian) and the LZ4 block, or the block's bytes as
 * they are when LZ4 does not make them smaller (encoded size = block size). HDF5's byte shuffle
 * precedes it, as in h5py's and hdf5plugin's use of the filter. */
#include <stdint.h>
#include <string.h>
#ifdef ITI_HAVE_LZ4
#include <lz4.h>
#include <lz4hc.h>
#endif

#include "backend.h"
#include "codec/codec.h"

/* One block per chunk up to 1 GiB (the filter's own default block size). */
#define BLOCK_MAX ((size_t)1 << 30)

static size_t block_size(size_t n) { return n < BLOCK_MAX ? (n ? n : 1) : BLOCK_MAX; }

/* A block never takes more than its own bytes. */
static size_t lz4_bound(size_t n) {
    size_t block = block_size(n);
    return 12 + 4 * ((n + block - 1) / block) + n;
}

#ifdef ITI_HAVE_LZ4
static void put_be(unsigned char *p, uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)v;
}

static uint64_t get_be(const unsigned char *p, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = v << 8 | p[i];
    return v;
}

static int lz4_encode(const unsigned char *in, size_t n, size_t esize, int level, void **out,
                      size_t *outlen) {
    (void)esize; /* shuffled before */
    size_t block = block_size(n), cap = lz4_bound(n);
    unsigned char *dst = iti_buf_alloc(cap);
    if (!dst)
        return iti_error(IT_ENOMEM, "out of memory compressing a chunk");
    put_be(dst, n, 8);
    put_be(dst + 8, block, 4);
    size_t o = 12;
    for (size_t p = 0; p < n; p += block) {
        int len = (int)(n - p < block ? n - p : block);
        const char *src = (const char *)in + p;
        char *enc = (char *)dst + o + 4;
        /* Room for less than the block: LZ4 gives up early on data it cannot shrink. */
        int got = level > 1 ? LZ4_compress_HC(src, enc, len, len - 1, level)
                            : LZ4_compress_default(src, enc, len, len - 1);
        if (got <= 0) { /* no gain: the block as it is */
            memcpy(enc, src, (size_t)len);
            got = len;
        }
        put_be(dst + o, (uint64_t)got, 4);
        o += 4 + (size_t)got;
    }
    *out = dst;
    *outlen = o;
    return 0;
}

static int lz4_decode(const unsigned char *src, size_t len, unsigned char *dst, size_t n) {
    if (len < 12 || get_be(src, 8) != n)
        return iti_error(IT_EFORMAT, "LZ4 chunk does not announce %zu bytes", n);
    size_t block = (size_t)get_be(src + 8, 4), i = 12;
    if (block == 0 || block > BLOCK_MAX)
        return iti_error(IT_EFORMAT, "LZ4 chunk has a block size of %zu bytes", block);
    for (size_t p = 0; p < n; p += block) {
        size_t want = n - p < block ? n - p : block;
        size_t enc = len - i >= 4 ? (size_t)get_be(src + i, 4) : SIZE_MAX;
        if (enc == SIZE_MAX || enc > len - i - 4)
            return iti_error(IT_EFORMAT, "LZ4 chunk is truncated at byte %zu", i);
        i += 4;
        if (enc == want)
            memcpy(dst + p, src + i, want);
        else if (LZ4_decompress_safe((const char *)src + i, (char *)dst + p, (int)enc, (int)want) !=
                 (int)want)
            return iti_error(IT_EFORMAT, "LZ4 block at byte %zu does not decode to %zu bytes",
                             i - 4, want);
        i += enc;
    }
    if (i != len)
        return iti_error(IT_EFORMAT, "LZ4 chunk has %zu bytes after its last block", len - i);
    return 0;
}
#endif

#define FILTER_LZ4 32004 /* the registered HDF5 filter; it takes no client values */

static size_t lz4_values(int level, size_t esize, size_t chunk_bytes, unsigned *values) {
    (void)level, (void)esize, (void)chunk_bytes, (void)values;
    return 0;
}

/* The filter records no level: chunks decode the same whatever level wrote them. */
static int lz4_level(const unsigned *values, size_t count) {
    (void)values, (void)count;
    return 1;
}

const iti_codec_row iti_codec_lz4 = {
    .id = IT_COMPRESSION_LZ4, .name = "lz4", .package = "liblz4-dev",
    .compresses = true, .max_level = 12, .default_level = 1, /* 2..12: LZ4 HC */
    .shuffled = true, .filter = FILTER_LZ4, .filter_values = lz4_values, .filter_level = lz4_level,
    .bound = lz4_bound,
#ifdef ITI_HAVE_LZ4
    .available = true, .encode = lz4_encode, .decode = lz4_decode,
#endif
};
