/* infinite-tensor: exporters — finite regions to standard files.
 *
 * it_export_hdf5 writes a region as real data into a plain HDF5 dataset with one dimension
 * scale per dimension holding its pixel coordinates, so netCDF tools (ncdump), xarray, h5py and
 * HDFView open it without extra arguments. Exports stream: the region is computed (missing
 * chunks of tensors with a function) and written slab by slab, within the context's memory
 * budget whatever its size. it_preview_png renders a region as a PNG image. */
#ifndef INFINITE_TENSOR_EXPORT_H
#define INFINITE_TENSOR_EXPORT_H

#include "infinite_tensor/tensor.h"

/* What it_export_hdf5 does when the output already has the dataset (it_export_options.overwrite;
 * the CLI's --overwrite / --if-identical, Python's overwrite=True / "if-identical"). */
enum {
    IT_EXPORT_REFUSE = 0,        /* fail with IT_EEXIST, the file untouched (the default) */
    IT_EXPORT_REPLACE = 1,       /* replace the dataset (the old one stays if the export fails) */
    IT_EXPORT_IF_IDENTICAL = 2   /* succeed without writing when the dataset already holds this
                                    export: the same shape, dtype, region (its region_start and
                                    region_step attributes) and values, bit for bit (NaNs
                                    included), read back and compared as the region is computed;
                                    else IT_EEXIST, the file untouched. The source tensor's name,
                                    layout, compression and labels (units, names) are not
                                    compared. Reruns of a script then succeed. */
};

typedef struct it_export_options {
    size_t struct_size;     /* sizeof the struct as the caller's header declares it: set by
                               it_export_options_init; the library refuses other sizes (IT_EINVAL), so a
                               newer library never reads fields an older caller lacks */
    int contiguous;              /* contiguous layout (uncompressed, mmap-able) instead of the
                                    default chunked + compressed one */
    int64_t chunk[IT_MAX_RANK];  /* chunked layout: chunk shape; 0 entries = default (whole
                                    region if small, else up to 256 along the last two dims) */
    int compression_level;       /* chunked: level of `compression` (see it_compression); 0 =
                                    the codec's default; -1 = no compression */
    int overwrite;               /* an existing dataset of that name: IT_EXPORT_REFUSE (0),
                                    IT_EXPORT_REPLACE (1) or IT_EXPORT_IF_IDENTICAL (2) */
    const char *const *dim_names;/* one name per dimension (the coordinate variables); NULL =
                                    "y", "x" for the last two, "dim<k>" before */
    const char *units;           /* `units` of the coordinates (CLI --coord-units); NULL = "1"
                                    (UDUNITS' dimensionless: pixel indices) */
    int sync;                    /* 1: fsync the output (and its directory) before and after
                                    the final rename, so a finished export survives power loss */
    it_compression compression;  /* chunked: the codec (0 = deflate, readable everywhere) */
    /* Since 0.3: */
    const char *value_units;     /* `units` of the values, a UDUNITS string such as "m" (CLI
                                    --units, Python units=); NULL = none written */
    const char *long_name;       /* `long_name` of the values; NULL = "<tensor id>" */
    int fill_value_set;          /* 1: fill_value is the dataset's _FillValue (CLI --fill-value) */
    double fill_value;           /* must fit the dtype; written where the tensor (opened with
                                    IT_OPEN_FILL_MISSING) was never computed */
} it_export_options;

typedef struct it_export_info {
    int rank;
    int64_t shape[IT_MAX_RANK];  /* exported shape */
    uint64_t data_offset;        /* contiguous exports: byte offset of the data in the file
                                    (map it with mmap); UINT64_MAX for chunked ones */
    uint64_t data_bytes;         /* size of the data in bytes (uncompressed) */
} it_export_info;

/* A contiguous dataset mapped read-only (it_export_map): the file's bytes in place, C order,
 * valid until it_export_unmap. The same bytes as numpy's
 * np.memmap(path, dtype, "r", offset=offset, shape=shape). */
typedef struct it_mapped_array {
    const void *data;            /* the first element (NULL when the dataset is empty) */
    int rank;
    int64_t shape[IT_MAX_RANK];
    it_dtype dtype;              /* stored little-endian: the host's order on x86-64/arm64 */
    int64_t origin[IT_MAX_RANK]; /* pixel coordinate of index 0 (an export's `origin`; 0 for
                                    datasets without one) */
    uint64_t offset;             /* byte offset of the data in the file */
    uint64_t bytes;              /* size of the data */
} it_mapped_array;

typedef enum it_colormap {
    IT_COLORMAP_GRAY = 0,        /* 2-D: grayscale */
    IT_COLORMAP_VIRIDIS,         /* 2-D scalar field through matplotlib's viridis (its
                                    256-entry table, the colours matplotlib renders) */
    IT_COLORMAP_TERRAIN          /* 2-D elevation-like field: water, lowland, rock, snow */
} it_colormap;

typedef struct it_preview_options {
    size_t struct_size;     /* sizeof the struct as the caller's header declares it: set by
                               it_preview_options_init; the library refuses other sizes (IT_EINVAL), so a
                               newer library never reads fields an older caller lacks */
    it_colormap colormap;        /* for 2-D regions; 3-channel regions are RGB */
    int fixed_range;             /* use [vmin, vmax] instead of the data's min and max */
    double vmin, vmax;
    int average;                 /* 1: a pixel of a stepped region is the mean of the box of
                                    step x step values it stands for (a box filter: no
                                    aliasing; every value of the area is read, so missing
                                    chunks are computed or must be stored); 0: the value at
                                    the step (reads only the chunks holding those) */
    int colorbar;                /* 1: a 2-D region gets a bar under the image running from
                                    the range's low (left) to high end (right), with ticks at
                                    both ends and at round values between, labelled (%.4g)
                                    where the labels fit; the text chunk
                                    "infinite-tensor:ticks" lists the labelled values */
} it_preview_options;

#ifdef __cplusplus
extern "C" {
#endif

IT_API void it_export_options_init(it_export_options *opts);

/* Writes `region` (finite, steps allowed, negative coordinates allowed) of t into dataset
 * `dataset` (a name or a path "group/name") of the HDF5 file at `path`, creating the file if
 * it does not exist. The dataset holds the values in C order with the region's shape; its
 * attributes record the source tensor id, the region (int64[r][3]), the dtype and `origin`
 * (the pixel coordinate of index 0 per dimension); each dimension has an HDF5 dimension scale of
 * int64 pixel coordinates. The file follows the CF conventions netCDF tools and xarray read: a
 * root attribute `Conventions` = "CF-1.8"; coordinate variables with `units`, `long_name` and
 * `axis` (X, Y, Z, T for dimensions named x/lon/longitude, y/lat/latitude, z/depth/height/
 * level, t/time; x and y by default); the values with `long_name`, `units` (value_units) and
 * `_FillValue`.
 * _FillValue and never-computed chunks: float exports declare _FillValue = NaN (or fill_value),
 * which no reader takes for data; integer exports declare fill_value when set, else none, since
 * any integer may be real data. A tensor opened with IT_OPEN_FILL_MISSING exports its
 * never-computed chunks as that declared _FillValue, so readers see them as missing (xarray
 * masks them), and the dataset's attribute `never_computed_pixels` counts them; an integer
 * export meeting such chunks without fill_value is refused (IT_EINVAL), since they could not be
 * told from data.
 * Progress goes to the context's callback as (bytes written, total bytes).
 * Errors: IT_EINVAL (arguments, empty region, bad options, a fill_value the dtype cannot hold,
 * never-computed chunks of an integer tensor without fill_value), IT_ERANGE (region outside
 * finite dimensions), IT_EEXIST (the dataset exists and overwrite is IT_EXPORT_REFUSE, or it
 * differs with IT_EXPORT_IF_IDENTICAL; the message names the options and the difference), IT_ENOTCOMPUTED (a tensor without
 * function and chunks never computed: checked before the file is touched), IT_EFORMAT (path is
 * not an HDF5 file), IT_ELOCKED (path is a store this process has open for writing, or another
 * process holds its lock), IT_ENOSPC (the disk filled), IT_EIO, IT_ECALLBACK, IT_ECANCELED,
 * IT_ENOMEM. The output is written under a temporary name beside path and renamed over it at
 * the end: a new file, or a copy of the existing file (a reflink where the file system shares
 * blocks, else a full copy), so a failed export leaves path exactly as it was and nothing else
 * behind. The rename gives path a new inode (hard links to the old file keep the old content);
 * the copy keeps the permission bits. info may be NULL. */
IT_API int it_export_hdf5(it_tensor *t, const it_region *region, const char *path,
                          const char *dataset, const it_export_options *opts,
                          it_export_info *info);

/* Maps dataset `dataset` of the HDF5 file at path read-only, without reading it: the data of a
 * contiguous export (it_export_options.contiguous), or of any contiguous, unfiltered dataset of
 * a little-endian integer or float type of the library's, rank 1..8. The file is opened
 * through the library's checking file driver, and the data must lie wholly inside it. While
 * mapped, the file keeps a shared lock (flock) that HDF5's writers and the library's take
 * exclusively, so none of them can shrink it under the mapping (an export over the same path
 * writes a new file and renames it: the mapping keeps the old one); a program that truncates
 * the file in place without locking it would make reads past the new end raise SIGBUS.
 * Errors: IT_EINVAL (arguments; a chunked, compressed or non-numeric dataset), IT_ENOTFOUND
 * (no such file or dataset), IT_EFORMAT (not an HDF5 file, or a dataset its file cannot hold),
 * IT_ELOCKED (a writer holds the file, also a store this process writes), IT_EIO, IT_ENOMEM. */
IT_API int it_export_map(const char *path, const char *dataset, it_mapped_array **out);
/* Unmaps and frees what it_export_map returned (NULL is ignored). */
IT_API void it_export_unmap(it_mapped_array *array);

IT_API void it_preview_options_init(it_preview_options *opts);

/* Renders `region` of t as an 8-bit PNG at path: a 2-D region (size-1 dimensions ignored) as
 * grayscale or through a colour map, a (3, H, W) or (H, W, 3) region as RGB. Values map
 * linearly from [min, max] of the region (or the fixed range) to 0..255; NaN is black (and
 * left out of averages). The PNG's text chunks record the tensor, the region, the value range
 * and the colour map (keys "infinite-tensor:tensor", ":region", ":range", ":colormap").
 * Errors as it_tensor_read, plus IT_EINVAL for other shapes or more than 2^28 pixels, IT_EIO. */
IT_API int it_preview_png(it_tensor *t, const it_region *region, const char *path,
                          const it_preview_options *opts);

#ifdef __cplusplus
}
#endif
#endif
