/* Chunk codec: byte shuffle + a zlib stream, the format of HDF5's own shuffle and deflate
 * filters (H5Z_FILTER_SHUFFLE then H5Z_FILTER_DEFLATE, filter mask 0), so chunks written
 * directly with H5Dwrite_chunk decode with the normal filter pipeline in h5py, h5dump and HDF5.
 *
 * With libdeflate (ITI_HAVE_LIBDEFLATE) the stream is made faster than zlib makes it: the
 * leading byte planes of the shuffled chunk whose 16 KiB sample gains under 20% (the noisy
 * low-order bytes of floats, random data) are written as deflate stored blocks, the rest is
 * compressed by libdeflate, and chunks are inflated by libdeflate. Without it, zlib's
 * compress2 and uncompress. Either way any inflater decodes what the other wrote. */
#ifndef ITI_CODEC_H
#define ITI_CODEC_H

#include <stddef.h>

/* Encodes n bytes of esize-byte elements at src. On success *out is an iti_buf_alloc buffer
 * of *outlen bytes. level 1..9. Returns 0, IT_ENOMEM or IT_EIO. */
int iti_codec_encode(const void *src, size_t n, size_t esize, int level, void **out, size_t *outlen);

/* Decodes `len` bytes into dst, which must receive exactly n bytes. scratch holds n bytes.
 * IT_EFORMAT when the data are not a valid encoding of n bytes. */
int iti_codec_decode(const void *src, size_t len, size_t esize, void *dst, size_t n, void *scratch);

/* The deflate level used when a caller asks for the default (compression_level 0). */
#define ITI_CODEC_DEFAULT_LEVEL 1

/* Resolves a public compression_level (stores and exports): 0 = the default level, 1..9 =
 * that deflate level, -1 = no compression (*level -1). IT_EINVAL naming fn otherwise. */
int iti_codec_level(int requested, const char *fn, int *level);

/* Largest encoding of n bytes (either engine's): a stored chunk claiming more is damaged. */
size_t iti_codec_bound(size_t n);

#endif
