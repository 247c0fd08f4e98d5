/* Chunk codecs: what HDF5 stores and exports write with H5Dwrite_chunk and read back with
 * H5Dread_chunk, in the exact format of HDF5 filters (filter mask 0), so that h5py, h5dump and
 * HDF5 decode the chunks through the ordinary filter pipeline (io/hdf5/hdf5_filters.c declares
 * and recognises the pipelines from the rows below).
 *
 * The codecs are a table (codec_table.c), one row per it_compression, each defined in the
 * codec's own file: deflate (codec_deflate.c), lz4 (codec_lz4.c), zstd in Blosc frames
 * (codec_zstd.c) and none (codec.c). The store, exports, MPI fills, the CLI (through
 * it_compression_info) and the Python package know codecs only through the table; HACKING.md
 * lists what a new codec touches.
 *
 * With `checksum` (every new tensor of a store), HDF5's Fletcher-32 filter follows
 * (H5Z_FILTER_FLETCHER32): the encoding ends with the 4-byte checksum of what precedes it, and
 * a chunk whose checksum does not match is IT_EFORMAT. */
#ifndef ITI_CODEC_H
#define ITI_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "infinite_tensor/types.h"

/* One codec. Engines work on plain buffers; the generic code (codec.c) shuffles before and
 * after them, checks sizes and adds the checksum. */
typedef struct iti_codec_row {
    it_compression id;
    const char *name;
    bool available;             /* this build has the codec's library */
    const char *package;        /* the Debian package to rebuild with when it has not */
    bool compresses;            /* false: a chunk's stored bytes are its own bytes (none) */
    int max_level;              /* levels 1..max_level; 0 selects default_level */
    int default_level;
    /* The HDF5 pipeline: HDF5's byte shuffle first when `shuffled` (the engine then sees and
     * returns shuffled bytes), then `filter` (0: none; ids from 256 are plugins), optional,
     * with the client values `filter_values` writes (at most 8; returns their count). */
    bool shuffled;
    int filter;
    size_t (*filter_values)(int level, size_t esize, size_t chunk_bytes, unsigned *values);
    /* The level a stored pipeline's client values record, or -1 when they are not this
     * codec's. */
    int (*filter_level)(const unsigned *values, size_t count);
    /* The engine. encode returns an iti_buf_alloc buffer of at most bound(n) bytes; esize is
     * the element size (engines that shuffle themselves need it). decode must produce exactly
     * n bytes, else IT_EFORMAT. */
    int (*encode)(const unsigned char *in, size_t n, size_t esize, int level, void **out,
                  size_t *outlen);
    int (*decode)(const unsigned char *src, size_t len, unsigned char *dst, size_t n);
    size_t (*bound)(size_t n);
} iti_codec_row;

/* The table, in it_compression order (codec_table.c, where each codec's file has its row; its
 * initializer has exactly one row per value or the build fails). */
extern const iti_codec_row *const iti_codec_table[IT_COMPRESSION_COUNT];

/* The row of a codec, or NULL for a value that is not an it_compression. */
static inline const iti_codec_row *iti_codec_row_of(it_compression id) {
    return (unsigned)id < IT_COMPRESSION_COUNT ? iti_codec_table[id] : NULL;
}

/* A codec as a store or export uses it. */
typedef struct iti_codec {
    it_compression kind;
    int level;                  /* resolved: never 0 for a compressing codec */
    bool checksum;              /* encodings end with a Fletcher-32 checksum */
} iti_codec;

/* Resolves public options (stores and exports): compression_level -1 = none whatever the
 * codec; 0 = the codec's default level. IT_EINVAL naming fn for an unknown codec, a level out
 * of its range, or a codec this build lacks. */
int iti_codec_resolve(it_compression kind, int level, const char *fn, iti_codec *out);

static inline bool iti_codec_compresses(const iti_codec *c) {
    return iti_codec_row_of(c->kind)->compresses;
}

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

#endif
