/* Chunk codecs: what HDF5 stores and exports write with H5Dwrite_chunk and read back with
 * H5Dread_chunk, in the exact format of HDF5 filters (filter mask 0), so that h5py, h5dump and
 * HDF5 decode the chunks through the ordinary filter pipeline (io/hdf5/hdf5_filters.c declares and
 * recognises the pipelines):
 *  - deflate: byte shuffle + a zlib stream (H5Z_FILTER_SHUFFLE, H5Z_FILTER_DEFLATE). With
 *    libdeflate (ITI_HAVE_LIBDEFLATE) the stream is made faster than zlib makes it: the leading
 *    byte planes of the shuffled chunk whose 16 KiB sample gains under 20% (the noisy low-order
 *    bytes of floats, random data) are written as deflate stored blocks, the rest is compressed
 *    by libdeflate, and chunks are inflated by libdeflate. Without it, zlib's compress2 and
 *    uncompress. Either way any inflater decodes what the other wrote.
 *  - lz4: byte shuffle + the LZ4 filter's framing (32004; codec_lz4.c, ITI_HAVE_LZ4).
 *  - zstd: a Blosc frame with Blosc's byte shuffle and zstd (32001; codec_zstd.c,
 *    ITI_HAVE_BLOSC).
 *  - none: the chunk's bytes.
 * With `checksum` (every new tensor of a store), HDF5's Fletcher-32 filter follows
 * (H5Z_FILTER_FLETCHER32): the encoding ends with the 4-byte checksum of what precedes it, and
 * a chunk whose checksum does not match is IT_EFORMAT. */
#ifndef ITI_CODEC_H
#define ITI_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "infinite_tensor/types.h"

typedef struct iti_codec {
    it_compression kind;
    int level;                  /* resolved: never 0 for a compressing codec */
    bool checksum;              /* encodings end with a Fletcher-32 checksum */
} iti_codec;

/* Resolves public options (stores and exports): compression_level -1 = none whatever the
 * codec; 0 = the codec's default level. IT_EINVAL naming fn for an unknown codec, a level out
 * of its range, or a codec this build lacks. */
int iti_codec_resolve(it_compression kind, int level, const char *fn, iti_codec *out);

static inline bool iti_codec_compresses(const iti_codec *c) { return c->kind != IT_COMPRESSION_NONE; }

/* Whether a chunk's stored bytes differ from its bytes (compressed or checksummed): otherwise
 * callers store and read the chunk as it is. */
static inline bool iti_codec_encodes(const iti_codec *c) {
    return iti_codec_compresses(c) || c->checksum;
}

/* Encodes n bytes of esize-byte elements at src (codecs that encode only). On success *out is
 * an iti_buf_alloc buffer of *outlen bytes. Returns 0, IT_ENOMEM or IT_EIO. */
int iti_codec_encode(const iti_codec *c, const void *src, size_t n, size_t esize, void **out,
                     size_t *outlen);

/* Bytes an encoding appends after a chunk's own bytes when the codec does not compress (its
 * checksum), which a chunk buffer may hold to be encoded in place. */
static inline size_t iti_codec_tail(const iti_codec *c) {
    return !iti_codec_compresses(c) && c->checksum ? 4 : 0;
}

/* A codec that does not compress encodes in place when buf (iti_buf_alloc'd, holding *len
 * bytes) has room for its tail: true, and *len is the encoding's length in buf. */
bool iti_codec_encode_in_place(const iti_codec *c, void *buf, size_t *len);

/* Checks an encoding of n bytes (len bytes at src) without decoding it: its checksum (then
 * *len drops it), and for codecs that do not compress its length, so that src holds the
 * chunk itself. IT_EFORMAT naming what differs. */
int iti_codec_verify(const iti_codec *c, const void *src, size_t *len, size_t n);

/* Decodes `len` bytes into dst, which must receive exactly n bytes. scratch holds n bytes.
 * IT_EFORMAT when the data are not a valid encoding of n bytes or their checksum differs. */
int iti_codec_decode(const iti_codec *c, const void *src, size_t len, size_t esize, void *dst,
                     size_t n, void *scratch);

/* Largest encoding of n bytes: a stored chunk claiming more is damaged. Codecs that do not
 * compress encode every chunk to exactly this length. */
size_t iti_codec_bound(const iti_codec *c, size_t n);

/* HDF5's Fletcher-32 checksum of len bytes (codec_checksum.c). */
uint32_t iti_fletcher32(const void *data, size_t len);

/* ---- engines (codec.c, codec_lz4.c, codec_zstd.c): plain buffers, no shuffle --------------- */

int iti_lz4_encode(const unsigned char *in, size_t n, int level, void **out, size_t *outlen);
int iti_lz4_decode(const unsigned char *src, size_t len, unsigned char *dst, size_t n);
size_t iti_lz4_bound(size_t n);
/* Blosc shuffles esize-byte elements itself. */
int iti_zstd_encode(const unsigned char *in, size_t n, size_t esize, int level, void **out,
                    size_t *outlen);
int iti_zstd_decode(const unsigned char *src, size_t len, unsigned char *dst, size_t n);
size_t iti_zstd_bound(size_t n);

#endif
