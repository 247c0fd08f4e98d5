/* infinite-tensor: element types, ranks and the infinite-dimension marker. */
#ifndef INFINITE_TENSOR_TYPES_H
#define INFINITE_TENSOR_TYPES_H

#include <stddef.h>
#include <stdint.h>

#include "infinite_tensor/visibility.h"

/* Largest supported tensor rank. */
#define IT_MAX_RANK 8

/* Shape entry marking an infinite dimension (any int64 coordinate, negative included). */
#define IT_INF ((int64_t)-1)

/* Element types. IT_F32 is 0 so that a zeroed descriptor means float32. */
typedef enum it_dtype {
    IT_F32 = 0,
    IT_F64,
    IT_I8,
    IT_I16,
    IT_I32,
    IT_I64,
    IT_U8,
    IT_U16,
    IT_U32,
    IT_U64,
    IT_DTYPE_COUNT
} it_dtype;

/* Chunk compression of HDF5 stores and exports. Chunks are written in the format of the named
 * HDF5 filters with filter mask 0, so any HDF5 reader with those filters decodes them: deflate
 * needs nothing beyond HDF5; lz4 and zstd need the standard filter plugins where the file is
 * read (Debian: hdf5-filter-plugin for lz4, hdf5-filter-plugin-blosc-serial for zstd; pip:
 * hdf5plugin). A reader without them gets an error, never wrong data. */
typedef enum it_compression {
    IT_COMPRESSION_DEFLATE = 0, /* shuffle + deflate (HDF5 filters 2 and 1): the default; levels
                                   1..9, default 1 */
    IT_COMPRESSION_LZ4,         /* shuffle + LZ4 (filter 32004): levels 1 (fast, the default)
                                   and 2..12 (LZ4 HC) */
    IT_COMPRESSION_ZSTD,        /* Blosc (filter 32001) with its byte shuffle and zstd: levels
                                   1..9 (Blosc's), default 1 */
    IT_COMPRESSION_NONE,        /* uncompressed */
    IT_COMPRESSION_COUNT
} it_compression;

#ifdef __cplusplus
extern "C" {
#endif

/* "deflate", "lz4", "zstd" or "none"; NULL for an invalid value. */
IT_API const char *it_compression_name(it_compression c);
/* Parses a name of it_compression_name; returns 0 and writes *out, or IT_EINVAL. */
IT_API int it_compression_parse(const char *name, it_compression *out);
/* 1 when this build writes and reads c (lz4 and zstd depend on the libraries found when it was
 * built), else 0. */
IT_API int it_compression_available(it_compression c);

/* What a codec is, for programs that list or offer codecs without naming them (the itensor
 * tool, the Python package). */
typedef struct it_codec_info {
    const char *name;           /* it_compression_name */
    int available;              /* it_compression_available */
    int max_level;              /* compression_level takes -1 (none), 0 (default_level) and
                                   1..max_level; 0 for none */
    int default_level;
    int filter;                 /* the HDF5 filter id of its chunks (0: none) */
    int needs_plugin;           /* readers need an HDF5 filter plugin (ids from 256) */
    const char *package;        /* when not available: the Debian package to rebuild with;
                                   else NULL */
} it_codec_info;

/* Fills *out for c. IT_EINVAL for a value that is not an it_compression or a NULL out. */
IT_API int it_compression_info(it_compression c, it_codec_info *out);

/* Bytes per element, or 0 for a value that is not an it_dtype. */
IT_API size_t it_dtype_size(it_dtype dtype);
/* Short name ("f32", "i64", ...), or NULL for an invalid value. */
IT_API const char *it_dtype_name(it_dtype dtype);
/* Parses a short name; returns 0 and writes *out, or IT_EINVAL. */
IT_API int it_dtype_parse(const char *name, it_dtype *out);

/* Element i of a buffer of dtype elements, as a double (64-bit integers beyond 2^53 round).
 * For analysis code reading buffers of any dtype. dtype must be valid; no bounds check. */
IT_API double it_dtype_load(it_dtype dtype, const void *buf, size_t i);

#ifdef __cplusplus
}
#endif
#endif
