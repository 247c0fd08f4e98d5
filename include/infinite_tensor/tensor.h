/* infinite-tensor: tensors.
 *
 * A tensor is a shape (finite and infinite dimensions), an element type and a deterministic
 * function `fn` that fills one output window from slices of its upstream tensors (`args`, read
 * through `arg_windows`). Overlapping windows are blended per pixel, in lexicographic
 * window-index order, starting from `blend_init`. Reading a region computes only the chunks
 * it needs, each chunk once, and stores final chunks in the tensor's store.
 *
 * Concurrency contract of the callbacks:
 *  - `fn` may run concurrently on different windows, from the context's pool threads and the
 *    reading thread, unless IT_TENSOR_SERIAL is set (then at most one call of this tensor's fn
 *    runs at a time). It must not call back into the library for tensors of the same context.
 *  - `blend_fn` may run concurrently on different chunks.
 *  - A call that returns an error never leaves a partial chunk stored. */
#ifndef INFINITE_TENSOR_TENSOR_H
#define INFINITE_TENSOR_TENSOR_H

#include "infinite_tensor/region.h"
#include "infinite_tensor/store.h"
#include "infinite_tensor/window.h"

typedef struct it_tensor it_tensor;

/* One call of a tensor's function: `count` windows (1 unless batch_size > 1). */
typedef struct it_window_batch {
    size_t count;                 /* windows in this call */
    int rank;                     /* rank of a window index (= the tensor's rank) */
    const int64_t *index;         /* index[k * rank + d]: window index of window k; entries
                                     that no window map references (fixed dimensions) are 0 */
    it_dtype dtype;               /* element type of out (and of each argument's own dtype) */
    int out_rank;
    const int64_t *out_shape;     /* = the output window's size */
    void *const *out;             /* out[k]: window k's output, C order, out_shape; contents on
                                     entry unspecified: fn must write every element */
    size_t n_args;
    const int *arg_rank;          /* arg_rank[i] */
    const int64_t *const *arg_shape; /* arg_shape[i]: shape of argument i's slice */
    const it_dtype *arg_dtype;    /* arg_dtype[i] */
    const void *const *arg;       /* arg[k * n_args + i]: slice of argument i for window k */
    int thread;                   /* 0 .. it_ctx_threads()-1: the calling worker, for scratch;
                                     unique among the threads running fn at once (a read
                                     nested in fn calls fn again on the same thread, with the
                                     same id, while the outer call waits for it) */
} it_window_batch;

/* Fills the windows of `b`. Return 0 on success; any other value aborts the read with
 * IT_ECALLBACK (the value is quoted in the message) and stores nothing of the failed chunks.
 *
 * fn (and a blend or progress callback) may read, fill or export tensors of any store: such a
 * nested read runs on the calling thread alone (never waiting for the pool's workers, which
 * may all be running fn), for data-dependent reads that args cannot express. A nested read
 * that needs a chunk being computed by the read it is nested in, or by a read waiting for it
 * (a cycle), returns IT_ECYCLE naming the chunks instead of waiting; returned by fn, IT_ECYCLE
 * ends the outer read with IT_ECYCLE too. Reads nest at most 64 deep. Arguments (desc.args)
 * remain the fast way to read upstream tensors: they are planned and shared across windows. */
typedef int (*it_window_fn)(const it_window_batch *b, void *user);

/* Custom blend over `len` consecutive elements of one chunk row: combines `incoming` into
 * `acc` (both of the tensor's dtype). count[i] is how many windows were already blended into
 * acc[i] (0 for the first window covering that pixel; acc then holds blend_init). Return 0;
 * any other value aborts the read with IT_ECALLBACK (the value is quoted in the message) and
 * the chunk being blended is not stored. */
typedef int (*it_blend_fn)(void *acc, const void *incoming, const uint32_t *count, size_t len,
                           void *user);

typedef enum it_blend {
    IT_BLEND_SUM = 0,   /* default: blend_init + sum of windows */
    IT_BLEND_MAX,       /* max(blend_init, windows...) */
    IT_BLEND_MIN,
    IT_BLEND_REPLACE,   /* the last window in lexicographic order wins */
    IT_BLEND_MEAN,      /* sum of windows / number of windows (integer types truncate) */
    IT_BLEND_CUSTOM,    /* blend_fn */
    IT_BLEND_WEIGHTED,  /* feathered: sum of weight * value / sum of weights (`weight`) */
    IT_BLEND_COUNT_
} it_blend;

/* Weight profiles of IT_BLEND_WEIGHTED. A pixel's value is
 *     out(p) = sum_i w(p - origin_i) * v_i(p) / sum_i w(p - origin_i)
 * over the windows i covering p (window i's output v_i, its first pixel origin_i), summed in
 * double precision in lexicographic window-index order, so results are the same for every
 * thread count, request order, batch size and cache size. Where the total weight is 0 (no
 * window covers p, or only weights of 0 do) the pixel holds blend_init. Float outputs are the
 * double result rounded to the dtype; integer outputs are rounded to nearest (halves away from
 * zero), exact for values up to 2^53 in magnitude. Windows that would leave a finite dimension
 * are never computed (window.h), so pixels near its edges average over the fewer windows that
 * cover them; a pixel covered by one window with a non-zero weight gets that window's value
 * (to the double division's rounding: exactly, for f32 and integer dtypes); pixels no window
 * covers (stride > size) hold blend_init. The sums of a chunk being finalised take 16 bytes
 * per pixel per worker, counted in the context's memory budget.
 *
 * Built-in profiles are separable: w(x) = product over dimensions d of a factor w_d(x[d]),
 * x[d] = 0 .. size[d]-1 the position inside the window, sampled at pixel centres (x[d] + 0.5),
 * so every built-in factor is > 0 at every pixel of the window and a pixel covered only by
 * window edges never divides 0 by 0. Then w = max(w, floor). */
typedef enum it_weight_kind {
    IT_WEIGHT_CONSTANT = 0, /* w = 1: the weighted blend is the mean (computed in double) */
    IT_WEIGHT_TENT,         /* linear ramp: w_d = min(1, (x+0.5)/b, (size-x-0.5)/b), b = border[d] */
    IT_WEIGHT_HANN,         /* raised cosine: sin^2(pi/2 * the tent's ramp); both ramps sum to 1
                               across an overlap of b pixels when stride = size - b */
    IT_WEIGHT_GAUSSIAN,     /* w_d = exp(-((x - (size-1)/2) / sigma[d])^2 / 2), at least 1e-30 */
    IT_WEIGHT_ARRAY,        /* `array`: one weight per pixel of the window */
    IT_WEIGHT_COUNT_
} it_weight_kind;

/* border[d] / sigma[d] value meaning "no fall-off along d" (w_d = 1). */
#define IT_WEIGHT_FLAT (-1)

typedef struct it_weight_profile {
    it_weight_kind kind;          /* 0 = IT_WEIGHT_CONSTANT */
    /* TENT, HANN: ramp width in pixels from each edge, per dimension of the window. 0 = the
     * default: the overlap size[d] - stride[d] of consecutive windows along a dimension the
     * window slides on (map[d] >= 0) with stride < size, flat otherwise. IT_WEIGHT_FLAT = flat.
     * At most size[d]. */
    int64_t border[IT_MAX_RANK];
    /* GAUSSIAN: standard deviation in pixels per dimension. 0 = the default: size[d] / 8 along a
     * dimension the window slides on with stride < size, flat otherwise. IT_WEIGHT_FLAT = flat. */
    double sigma[IT_MAX_RANK];
    double floor;                 /* weights below floor are raised to it; finite, >= 0 */
    /* ARRAY: window-size elements in C order over the output window's shape, finite and >= 0
     * (copied at creation; the store records its SHA-256, not the values). Weights near
     * DBL_MAX can overflow the double sums: float outputs then hold NaN or inf, integer ones
     * blend_init or a saturated value. */
    const double *array;
} it_weight_profile;

enum {
    IT_TENSOR_SERIAL = 1u << 0,   /* never call fn concurrently */
    /* Keep chunks only while a read or fill needs them: a chunk is dropped as soon as every
     * chunk of the read computed from it is final (at the latest when the read ends), so a
     * pipeline's intermediates take memory for a moving band of the read, not its whole
     * extent, and no window is computed twice within one read. A later read computes them
     * again, and so may a concurrent read that needed a chunk another read dropped. Only for
     * tensors in a memory store (persistent stores keep every chunk; keep intermediates in a
     * memory store next to them). */
    IT_TENSOR_TRANSIENT = 1u << 1
};

#define IT_ID_MAX 255

/* Most upstream arguments a tensor may have. */
#define IT_MAX_ARGS 64

/* Longest chain of tensors a pipeline may have (a tensor, its argument, the argument's
 * argument, ...): evaluation recurses along the chain, and deeper chains would risk the
 * thread's stack. */
#define IT_MAX_DEPTH 1000

/* A tensor's description. it_tensor_create copies everything the descriptor points to (id,
 * the args and arg_windows arrays, fn_tag), so the caller may free or reuse them once it
 * returns; `user` is kept as given and must stay valid while the tensor lives, and so must the
 * tensors in args (release consumers before their arguments). */
typedef struct it_tensor_desc {
    const char *id;               /* unique within the store, 1..IT_ID_MAX bytes of
                                     [A-Za-z0-9._-]; NULL = a generated unique id */
    int rank;                     /* 1..IT_MAX_RANK */
    int64_t shape[IT_MAX_RANK];   /* > 0, or IT_INF for infinite dimensions */
    it_dtype dtype;               /* 0 = IT_F32 */
    it_window window;             /* output window; rank must equal `rank` */
    size_t n_args;                /* 0..IT_MAX_ARGS */
    it_tensor *const *args;       /* n_args upstream tensors (any store) */
    const it_window *arg_windows; /* n_args windows, arg_windows[i].rank == rank of args[i];
                                     map entries index this tensor's window index */
    it_window_fn fn;              /* required for it_tensor_create */
    void *user;                   /* passed to fn and blend_fn */
    size_t batch_size;            /* windows per fn call; 0 or 1 = one */
    it_blend blend;               /* 0 = IT_BLEND_SUM */
    it_blend_fn blend_fn;         /* with IT_BLEND_CUSTOM */
    double blend_init;            /* value where no window covers a pixel; finite and
                                     integral, in range, for integer dtypes */
    it_weight_profile weight;     /* with IT_BLEND_WEIGHTED; must stay zeroed otherwise */
    int64_t chunk[IT_MAX_RANK];   /* chunk shape; 0 entries = default. A read computes
                                     whole chunks, so default chunks hold few windows: along
                                     windowed dimensions the stride (capped at a finite
                                     extent) doubled along the smallest until the chunk holds
                                     64 KiB or 1024 windows; the whole extent of finite
                                     dimensions no window moves along, 1 on infinite ones.
                                     Reconnecting to a stored tensor, default entries take
                                     the stored shape. */
    const char *fn_tag;           /* optional version string of fn (stored, compared on
                                     reopen by persistent stores); NULL = "" */
    unsigned flags;               /* IT_TENSOR_* */
} it_tensor_desc;

/* Tensor metadata as resolved at creation (defaults filled in). */
typedef struct it_tensor_info {
    const char *id;               /* owned by the tensor */
    int rank;
    int64_t shape[IT_MAX_RANK];
    it_dtype dtype;
    it_window window;
    size_t n_args;
    it_blend blend;
    double blend_init;
    /* IT_BLEND_WEIGHTED: the profile with defaults resolved (border, sigma); `array` is the
     * tensor's copy (NULL for opened tensors) and weight_sha256 its digest (64 hex digits of the
     * array's little-endian float64 bytes; "" for other kinds and blends). */
    it_weight_profile weight;
    const char *weight_sha256;
    int64_t chunk[IT_MAX_RANK];
    int64_t grid_offset[IT_MAX_RANK]; /* chunk c covers [c*chunk + grid_offset, ...) */
    size_t batch_size;
    const char *fn_tag;
    /* Upstream arguments: ids and windows, for created and for opened (stored) tensors. */
    size_t n_arg_ids;
    const char *const *arg_ids;
    const it_window *arg_windows;
    int has_fn;                   /* 0 for tensors from it_tensor_open */
} it_tensor_info;

/* Stored-data summary of a tensor. */
typedef struct it_tensor_stats {
    uint64_t chunks;                    /* chunks stored */
    uint64_t stored_bytes;              /* bytes they take in the store (compressed) */
    int64_t bbox_start[IT_MAX_RANK];    /* bounding box of stored chunks in pixels; all zero */
    int64_t bbox_stop[IT_MAX_RANK];     /* when nothing is stored */
} it_tensor_stats;

/* What evaluating a tensor has cost, counted since its handle was created (or the counters
 * were reset), over every read and fill that needed it, its own and its consumers'. */
typedef struct it_tensor_counters {
    uint64_t fn_calls;                  /* calls of fn (a call holds batch_size windows or fewer) */
    uint64_t windows_computed;          /* windows fn computed */
    uint64_t chunks_computed;           /* chunks made final and handed to the store */
    uint64_t chunks_loaded;             /* chunks found already final in the store (its memory
                                           or its file) */
} it_tensor_counters;

enum {
    /* it_tensor_open: reads of chunks that were never computed give blend_init instead of
     * failing with IT_ENOTCOMPUTED. */
    IT_OPEN_FILL_MISSING = 1u << 0
};

#ifdef __cplusplus
extern "C" {
#endif

/* Zeroes *desc and sets rank (descriptor fields then mean their defaults). */
IT_API int it_tensor_desc_init(it_tensor_desc *desc, int rank);

/* Name of a blend mode ("sum", "max", "min", "replace", "mean", "custom", "weighted"), or NULL
 * for a value that is not an it_blend. Stores and the itensor tool use these names. */
IT_API const char *it_blend_name(it_blend blend);
/* Parses a blend name; returns 0 and writes *out, or IT_EINVAL. */
IT_API int it_blend_parse(const char *name, it_blend *out);
/* Name of a weight profile kind ("constant", "tent", "hann", "gaussian", "array"), or NULL. */
IT_API const char *it_weight_kind_name(it_weight_kind kind);
/* Parses a weight profile kind's name; returns 0 and writes *out, or IT_EINVAL. */
IT_API int it_weight_kind_parse(const char *name, it_weight_kind *out);

/* Validates desc and registers the tensor in store. On success *out is a handle owned by
 * the store (release it early with it_tensor_release, or with it_store_close).
 * Errors: IT_EINVAL naming the offending field (window rank vs tensor rank, sizes or strides
 * <= 0, argument window rank vs argument rank, map entries, blend_init for integer types,
 * weight profile parameters (a weight set for another blend, border beyond the window, a NULL
 * or negative array, ...),
 * NULL fn, ...), IT_EEXIST for an id already open in the store, IT_EOVERFLOW when a window or
 * chunk byte size overflows, IT_ENOMEM. Nothing is registered on failure. */
IT_API int it_tensor_create(it_store *store, const it_tensor_desc *desc, it_tensor **out);

/* Get-or-create: like it_tensor_create, but when a tensor of desc->id is already open in
 * store with the same configuration (every field a persistent store records: shape, dtype,
 * windows, args, blend, blend_init, weight profile, chunk shape, fn_tag; and fn, user,
 * blend_fn, batch_size, flags) it returns that tensor: *out is the same handle, with one more
 * reference. Each successful call is matched by one it_tensor_release; the tensor goes when
 * the last is released (or when its store closes, or it_store_delete_tensor removes it, which
 * end every reference). A different configuration is IT_EMISMATCH naming the first field that
 * differs and both values (the open tensor is unchanged); a tensor opened without a function
 * (it_tensor_open) is IT_EMISMATCH too. Without an open tensor of that id it creates one
 * exactly as it_tensor_create does (reconnecting to stored data in persistent stores). A NULL
 * id always creates. it_tensor_create keeps refusing an id that is open (IT_EEXIST).
 * Thread-safe: concurrent calls with one id create one tensor. */
IT_API int it_tensor_get_or_create(it_store *store, const it_tensor_desc *desc, it_tensor **out);

/* Reads `region` into buf (C order, the tensor's dtype), computing and storing every missing
 * chunk it touches. bufsize is buf's size in bytes and must be at least the region's byte
 * size; buf may be NULL for an empty region. Memory stays within the context budget whatever the region size (work proceeds in
 * blocks of chunks). Errors: IT_EINVAL (NULL, rank mismatch, step < 0), IT_ERANGE (outside a
 * finite dimension, or window coordinates leave int64), IT_EBUFSIZE, IT_EOVERFLOW,
 * IT_ECALLBACK (fn returned non-zero), IT_ECANCELED (progress callback), IT_ENOMEM, store
 * errors. Chunks made final before a failure stay stored; no partial chunk is stored.
 * Thread-safe: concurrent reads of overlapping regions compute each chunk once. */
IT_API int it_tensor_read(it_tensor *t, const it_region *region, void *buf, size_t bufsize);

/* it_tensor_read into a buffer it allocates: on success *out (release it with free()) holds
 * the region's *bytes bytes; NULL and 0 for an empty region. On failure *out is NULL.
 * Errors as it_tensor_read, and IT_ENOMEM when the buffer cannot be allocated. */
IT_API int it_tensor_read_alloc(it_tensor *t, const it_region *region, void **out, size_t *bytes);

/* Opens stored tensor `id` without a function (for analysis programs): reads of computed
 * chunks work; a read touching a chunk that was never computed fails with IT_ENOTCOMPUTED
 * (or yields blend_init with IT_OPEN_FILL_MISSING). Arguments are not linked. IT_ENOTFOUND
 * when the store has no such tensor (the memory store keeps nothing across handles),
 * IT_EEXIST when a handle of it is already open, IT_EFORMAT for unreadable metadata. */
IT_API int it_tensor_open(it_store *store, const char *id, unsigned flags, it_tensor **out);

/* Called with the pixel box [start, stop) of one stored chunk; non-zero stops the walk. */
typedef int (*it_chunk_fn)(const int64_t *start, const int64_t *stop, void *user);

/* Calls fn for every stored chunk of t (lexicographic chunk order); returns fn's non-zero
 * value, or 0. */
IT_API int it_tensor_foreach_chunk(it_tensor *t, it_chunk_fn fn, void *user);

/* Number, size and bounding box of the stored chunks. */
IT_API int it_tensor_get_stats(it_tensor *t, it_tensor_stats *stats);

/* Like it_tensor_read but only makes the chunks final in the store; copies nothing. */
IT_API int it_tensor_fill(it_tensor *t, const it_region *region);

/* Evaluation counters of t (it_tensor_counters); thread-safe, read while reads run. */
IT_API int it_tensor_get_counters(const it_tensor *t, it_tensor_counters *counters);
/* Sets t's counters to zero. */
IT_API int it_tensor_reset_counters(it_tensor *t);

/* Drops the tensor's chunks held in memory by its store, and its cached windows. */
IT_API int it_tensor_clear_cache(it_tensor *t);

/* Resolved metadata; pointers inside stay valid while the tensor lives. */
IT_API int it_tensor_get_info(const it_tensor *t, it_tensor_info *info);

/* Releases a handle (one reference, for tensors shared through it_tensor_get_or_create; the
 * tensor goes with its last). Persistent stores keep its chunks (a later it_tensor_create with the same
 * description, or it_tensor_open, reconnects to them); the memory store drops them. The tensor
 * must not be used as an argument of a live tensor any more. NULL is a no-op. */
IT_API void it_tensor_release(it_tensor *t);

/* Removes tensor `id` and all its stored data from the store; an open handle of it is
 * released. IT_ENOTFOUND when the store has no such tensor. */
IT_API int it_store_delete_tensor(it_store *store, const char *id);

#ifdef __cplusplus
}
#endif
#endif
