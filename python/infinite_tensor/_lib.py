"""The C library through cffi (ABI mode: no compiler needed): its declarations, the loaded
shared library, and errors turned into Python exceptions.

The declarations mirror include/infinite_tensor/*.h; tests/test_abi.py compares every struct's
size and field offsets with what a C compiler computes, so a header change that is not made
here fails the suite instead of misreading memory."""
import ctypes.util
import os

from cffi import FFI

CDEF = r"""
typedef enum it_dtype { IT_F32 = 0, IT_F64, IT_I8, IT_I16, IT_I32, IT_I64, IT_U8, IT_U16,
                        IT_U32, IT_U64, IT_DTYPE_COUNT } it_dtype;
typedef int it_compression; /* an enum in C; the package names codecs, never numbers them */
typedef enum it_blend { IT_BLEND_SUM = 0, IT_BLEND_MAX, IT_BLEND_MIN, IT_BLEND_REPLACE,
                        IT_BLEND_MEAN, IT_BLEND_CUSTOM, IT_BLEND_WEIGHTED,
                        IT_BLEND_COUNT_ } it_blend;
typedef enum it_weight_kind { IT_WEIGHT_CONSTANT = 0, IT_WEIGHT_TENT, IT_WEIGHT_HANN,
                              IT_WEIGHT_GAUSSIAN, IT_WEIGHT_ARRAY,
                              IT_WEIGHT_COUNT_ } it_weight_kind;
typedef enum it_hdf5_mode { IT_HDF5_CREATE = 0, IT_HDF5_READWRITE, IT_HDF5_READONLY } it_hdf5_mode;
typedef enum it_colormap { IT_COLORMAP_GRAY = 0, IT_COLORMAP_VIRIDIS,
                           IT_COLORMAP_TERRAIN } it_colormap;

typedef struct it_ctx it_ctx;
typedef struct it_store it_store;
typedef struct it_tensor it_tensor;

typedef struct it_window {
    int rank;
    int64_t size[8];
    int64_t stride[8];
    int64_t offset[8];
    int map[8];
} it_window;

typedef struct it_region {
    int rank;
    int64_t start[8];
    int64_t stop[8];
    int64_t step[8];
} it_region;

typedef struct it_ctx_options {
    size_t struct_size;
    int threads;
    size_t memory_budget;
} it_ctx_options;

typedef struct it_memory_store_options {
    size_t struct_size;
    size_t cache_bytes;
} it_memory_store_options;

typedef struct it_hdf5_options {
    size_t struct_size;
    int compression_level;
    size_t cache_bytes;
    int sync;
    int trusted;
    it_compression compression;
    int checksum;
    int map;
} it_hdf5_options;

typedef struct it_hdf5_layout {
    char data_path[287];
    char index_path[287];
    int rank;
    int64_t origin[8];
    int64_t extent[8];
    int64_t chunk[8];
    it_compression compression;
    int compression_level;
    int checksum;
} it_hdf5_layout;

typedef struct it_chunk_view {
    int rank;
    int64_t chunk[8];
    int64_t start[8];
    int64_t shape[8];
    int64_t strides[8];
    int64_t first[8];
    int64_t last[8];
    const void *data;
    int computed;
} it_chunk_view;

typedef struct it_chunk_views it_chunk_views;
typedef struct it_chunk_pin it_chunk_pin;

typedef struct it_hdf5_progress {
    int running;
    char id[256];
    uint64_t done, total;
    int64_t pid;
    uint64_t started_ns, updated_ns;
} it_hdf5_progress;

typedef struct it_hdf5_compact_info {
    uint64_t bytes_before, bytes_after;
    int tensors;
} it_hdf5_compact_info;

typedef struct it_window_batch {
    size_t count;
    int rank;
    const int64_t *index;
    it_dtype dtype;
    int out_rank;
    const int64_t *out_shape;
    void *const *out;
    size_t n_args;
    const int *arg_rank;
    const int64_t *const *arg_shape;
    const it_dtype *arg_dtype;
    const void *const *arg;
    int thread;
} it_window_batch;

typedef int (*it_window_fn)(const it_window_batch *b, void *user);
typedef int (*it_blend_fn)(void *acc, const void *incoming, const uint32_t *count, size_t len,
                           void *user);

typedef struct it_weight_profile {
    it_weight_kind kind;
    int64_t border[8];
    double sigma[8];
    double floor;
    const double *array;
} it_weight_profile;

typedef struct it_tensor_desc {
    const char *id;
    int rank;
    int64_t shape[8];
    it_dtype dtype;
    it_window window;
    size_t n_args;
    it_tensor *const *args;
    const it_window *arg_windows;
    it_window_fn fn;
    void *user;
    size_t batch_size;
    it_blend blend;
    it_blend_fn blend_fn;
    double blend_init;
    it_weight_profile weight;
    int64_t chunk[8];
    const char *fn_tag;
    unsigned flags;
} it_tensor_desc;

typedef struct it_tensor_info {
    const char *id;
    int rank;
    int64_t shape[8];
    it_dtype dtype;
    it_window window;
    size_t n_args;
    it_blend blend;
    double blend_init;
    it_weight_profile weight;
    const char *weight_sha256;
    int64_t chunk[8];
    int64_t grid_offset[8];
    size_t batch_size;
    const char *fn_tag;
    size_t n_arg_ids;
    const char *const *arg_ids;
    const it_window *arg_windows;
    int has_fn;
} it_tensor_info;

typedef struct it_tensor_stats {
    uint64_t chunks;
    uint64_t stored_bytes;
    int64_t bbox_start[8];
    int64_t bbox_stop[8];
} it_tensor_stats;

typedef struct it_tensor_counters {
    uint64_t fn_calls;
    uint64_t windows_computed;
    uint64_t chunks_computed;
    uint64_t chunks_loaded;
} it_tensor_counters;

typedef struct it_export_options {
    size_t struct_size;
    int contiguous;
    int64_t chunk[8];
    int compression_level;
    int overwrite;
    const char *const *dim_names;
    const char *units;
    int sync;
    it_compression compression;
    const char *value_units;
    const char *long_name;
    int fill_value_set;
    double fill_value;
} it_export_options;

typedef struct it_export_info {
    int rank;
    int64_t shape[8];
    uint64_t data_offset;
    uint64_t data_bytes;
} it_export_info;

typedef struct it_mapped_array {
    const void *data;
    int rank;
    int64_t shape[8];
    it_dtype dtype;
    int64_t origin[8];
    uint64_t offset;
    uint64_t bytes;
} it_mapped_array;

typedef struct it_preview_options {
    size_t struct_size;
    it_colormap colormap;
    int fixed_range;
    double vmin, vmax;
    int average;
    int colorbar;
} it_preview_options;

typedef int (*it_store_list_fn)(const char *id, void *user);
typedef int (*it_progress_fn)(uint64_t done, uint64_t total, void *user);

const char *it_version_string(void);
const char *it_strerror(int code);
const char *it_error_name(int code);
const char *it_last_error(void);
int it_last_callback_status(void);

size_t it_dtype_size(it_dtype dtype);
const char *it_compression_name(it_compression c);
int it_compression_parse(const char *name, it_compression *out);
int it_compression_available(it_compression c);
typedef struct it_codec_info {
    const char *name;
    int available;
    int max_level;
    int default_level;
    int filter;
    int needs_plugin;
    const char *package;
} it_codec_info;
int it_compression_info(it_compression c, it_codec_info *out);

int it_region_init(it_region *r, int rank);
int it_region_parse(const char *text, int rank, const int64_t *shape, it_region *out);
int it_window_init(it_window *w, int rank, const int64_t *size);

void it_ctx_options_init(it_ctx_options *opts);
int it_ctx_create(const it_ctx_options *opts, it_ctx **out);
void it_ctx_destroy(it_ctx *ctx);
int it_ctx_threads(const it_ctx *ctx);
int it_ctx_set_progress(it_ctx *ctx, it_progress_fn fn, void *user);

void it_memory_store_options_init(it_memory_store_options *opts);
int it_store_open_memory(it_ctx *ctx, const it_memory_store_options *opts, it_store **out);
void it_hdf5_options_init(it_hdf5_options *opts);
int it_store_open_hdf5(it_ctx *ctx, const char *path, it_hdf5_mode mode,
                       const it_hdf5_options *opts, it_store **out);
int it_hdf5_tensor_layout(it_tensor *t, it_hdf5_layout *out);
int it_hdf5_writer_progress(const char *path, it_hdf5_progress *out);
int it_hdf5_compact(it_ctx *ctx, const char *path, it_hdf5_compact_info *info);
int it_store_flush(it_store *store);
int it_store_close(it_store *store);
int it_store_clear_cache(it_store *store);
int it_store_list(it_store *store, it_store_list_fn fn, void *user);
size_t it_store_memory_bytes(const it_store *store);
int it_store_delete_tensor(it_store *store, const char *id);

int it_tensor_desc_init(it_tensor_desc *desc, int rank);
const char *it_blend_name(it_blend blend);
int it_blend_parse(const char *name, it_blend *out);
const char *it_weight_kind_name(it_weight_kind kind);
int it_weight_kind_parse(const char *name, it_weight_kind *out);
int it_tensor_create(it_store *store, const it_tensor_desc *desc, it_tensor **out);
int it_tensor_get_or_create(it_store *store, const it_tensor_desc *desc, it_tensor **out);
int it_tensor_open(it_store *store, const char *id, unsigned flags, it_tensor **out);
int it_tensor_read(it_tensor *t, const it_region *region, void *buf, size_t bufsize);
int it_tensor_fill(it_tensor *t, const it_region *region);
int it_chunk_views_open(it_tensor *t, const it_region *region, size_t budget,
                        it_chunk_views **out);
int it_chunk_views_next(it_chunk_views *it, const it_chunk_view **views, size_t *n);
void it_chunk_views_close(it_chunk_views *it);
int it_chunk_pin_take(it_tensor *t, const it_chunk_view *v, it_chunk_pin **out);
void it_chunk_pin_release(it_chunk_pin *pin);
int it_tensor_get_info(const it_tensor *t, it_tensor_info *info);
int it_tensor_get_stats(it_tensor *t, it_tensor_stats *stats);
int it_tensor_get_counters(const it_tensor *t, it_tensor_counters *counters);
int it_tensor_clear_cache(it_tensor *t);
void it_tensor_release(it_tensor *t);

void it_export_options_init(it_export_options *opts);
int it_export_hdf5(it_tensor *t, const it_region *region, const char *path,
                   const char *dataset, const it_export_options *opts, it_export_info *info);
int it_export_map(const char *path, const char *dataset, it_mapped_array **out);
void it_export_unmap(it_mapped_array *array);
void it_preview_options_init(it_preview_options *opts);
int it_preview_png(it_tensor *t, const it_region *region, const char *path,
                   const it_preview_options *opts);
"""

# The structs tests/test_abi.py checks against the C compiler's layout.
STRUCTS = ("it_window", "it_region", "it_ctx_options", "it_memory_store_options",
           "it_hdf5_options", "it_hdf5_layout", "it_hdf5_progress", "it_hdf5_compact_info", "it_chunk_view", "it_window_batch", "it_weight_profile",
           "it_tensor_desc", "it_tensor_info", "it_tensor_stats", "it_tensor_counters",
           "it_export_options", "it_export_info", "it_mapped_array", "it_preview_options", "it_codec_info")

# The headers' macros and the status codes the package uses (ABI mode reads no macros);
# tests/test_abi.py checks each against the compiler, and every enum value of CDEF too.
CONSTANTS = {"IT_INF": -1, "IT_MAP_FIXED": -1, "IT_WEIGHT_FLAT": -1, "IT_TENSOR_SERIAL": 1,
             "IT_TENSOR_TRANSIENT": 2, "IT_OPEN_FILL_MISSING": 1, "IT_ECALLBACK": -6,
             "IT_ECANCELED": -9}
IT_INF, IT_MAP_FIXED, IT_WEIGHT_FLAT = (CONSTANTS[k] for k in
                                        ("IT_INF", "IT_MAP_FIXED", "IT_WEIGHT_FLAT"))
IT_TENSOR_SERIAL, IT_TENSOR_TRANSIENT, IT_OPEN_FILL_MISSING = (
    CONSTANTS[k] for k in ("IT_TENSOR_SERIAL", "IT_TENSOR_TRANSIENT", "IT_OPEN_FILL_MISSING"))
IT_ECALLBACK, IT_ECANCELED = CONSTANTS["IT_ECALLBACK"], CONSTANTS["IT_ECANCELED"]

ffi = FFI()
ffi.cdef(CDEF)


def _candidates():
    """Where the shared library may be: $INFINITE_TENSOR_LIBRARY, where the build installed it
    next to an installed copy of the package, the build tree of a source checkout, then the
    system's search path."""
    env = os.environ.get("INFINITE_TENSOR_LIBRARY")
    if env:
        yield env
        return
    here = os.path.dirname(os.path.abspath(__file__))
    try:  # an installed copy: written by the build (CMakeLists.txt)
        from . import _location
        yield os.path.normpath(os.path.join(here, _location.LIBRARY))
    except ImportError:
        pass
    yield os.path.join(here, "..", "..", "build", "libinfinite_tensor.so")
    found = ctypes.util.find_library("infinite_tensor")
    if found:
        yield found


def _load():
    tried = []
    for path in _candidates():
        if os.path.sep in path and not os.path.exists(path):
            tried.append(path)
            continue
        try:
            return ffi.dlopen(path)
        except OSError as e:
            tried.append(f"{path} ({e})")
    raise ImportError("infinite_tensor: cannot find libinfinite_tensor.so; set "
                      "INFINITE_TENSOR_LIBRARY to its path (tried: " + "; ".join(tried) + ")")


lib = _load()

# Every declared function and value bound now. cffi makes a name's accessor on its first use
# under a lock that is not re-entrant; a garbage collection that starts while cffi holds it
# (parsing a type for ffi.new) runs __del__ methods, which close contexts, stores and tensors
# through the library: a first use there would wait for the lock forever.
for _name in dir(lib):
    getattr(lib, _name)


def text(p):
    """A C string as str ('' for NULL)."""
    return ffi.string(p).decode() if p != ffi.NULL else ""
