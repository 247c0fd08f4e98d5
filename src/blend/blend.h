/* The blend room: how overlapping windows combine into a chunk. One row per it_blend
 * (blend_table.c), each defined in its own file: sum, max, min and replace (blend_plain.c),
 * mean (blend_mean.c), custom (blend_custom.c) and weighted (blend_weighted.c, with its weight
 * profiles in weights.c). The evaluator finalises a chunk through a row only: it starts the
 * accumulator and the per-pixel scratch, hands every window row that meets the chunk to the
 * row kernel of the tensor's dtype, then calls finish. HACKING.md lists what a new blend
 * touches. */
#ifndef ITI_BLEND_H
#define ITI_BLEND_H

#include "blend/weights.h"
#include "internal.h"

/* One window row blended into a chunk: n pixels of `in` into the chunk's pixels at .. at + n. */
typedef struct iti_blend_span {
    void *acc;                /* the chunk's accumulator (its dtype), pixel 0 */
    void *scratch;            /* the chunk's per-pixel scratch (kind->scratch_bytes each), pixel 0 */
    size_t chunk_elems;       /* pixels of the chunk (planes of the scratch) */
    size_t at, n;
    const void *in;           /* the window row: n elements of the dtype */
    double scale, floor;      /* takes_weights: weights max(scale * f[i], floor) */
    const double *f;
    it_blend_fn fn;           /* takes_fn: the user's function and its argument */
    void *user;
} iti_blend_span;

/* Blends a span; 0, or the user function's non-zero return (takes_fn). */
typedef int (*iti_blend_row_fn)(const iti_blend_span *s);

/* The per-pixel scratch holds what a blend keeps besides the accumulator, zeroed when a chunk
 * starts: counts (mean, custom) or double sums (weighted). finish turns the accumulator and
 * scratch into the chunk's final values, where no window met a pixel *init. */
typedef void (*iti_blend_finish_fn)(it_dtype dtype, void *acc, void *scratch, size_t n,
                                    const void *init);

typedef enum iti_acc_start {
    ITI_ACC_INIT = 0,   /* blend_init */
    ITI_ACC_ZERO,       /* zero */
    ITI_ACC_UNSET,      /* anything: finish writes every pixel */
} iti_acc_start;

typedef struct iti_blend_kind {
    it_blend id;
    const char *name;
    size_t scratch_bytes;           /* per pixel; 0: none */
    iti_acc_start acc_start;        /* what the accumulator holds when a chunk starts */
    bool takes_fn;                  /* needs blend_fn (and runs user code: callback rules) */
    bool takes_weights;             /* takes a weight profile (it_weight_profile) */
    /* Whether one window over blend_init gives that window unchanged, so windows that tile
     * chunks exactly are stored as they are (the direct path); NULL: never. fill is blend_init
     * as one element of dtype. */
    bool (*single_window_final)(it_dtype dtype, double init, const void *fill);
    iti_blend_row_fn row[IT_DTYPE_COUNT];
    iti_blend_finish_fn finish;     /* NULL: the accumulator is the result */
} iti_blend_kind;

/* ---- for the blends' files: kernels for every dtype ----------------------------------------- */

/* X(NAME, E, T, U, ADD, D) for each dtype E: its C type T, the type U its sums are computed in
 * (integers wrap in the unsigned type: no undefined behaviour), ADD(T, U, a, b), and the type
 * D its means divide in. */
#define ITI_BLEND_ADD_INT(T, U, a, b) ((T)((U)(a) + (U)(b)))
#define ITI_BLEND_ADD_FLT(T, U, a, b) ((a) + (b))
#define ITI_BLEND_FOR_DTYPES(X)                                                                 \
    X(f32, IT_F32, float, float, ITI_BLEND_ADD_FLT, float)                                      \
    X(f64, IT_F64, double, double, ITI_BLEND_ADD_FLT, double)                                   \
    X(i8, IT_I8, int8_t, uint8_t, ITI_BLEND_ADD_INT, int64_t)                                   \
    X(i16, IT_I16, int16_t, uint16_t, ITI_BLEND_ADD_INT, int64_t)                               \
    X(i32, IT_I32, int32_t, uint32_t, ITI_BLEND_ADD_INT, int64_t)                               \
    X(i64, IT_I64, int64_t, uint64_t, ITI_BLEND_ADD_INT, int64_t)                               \
    X(u8, IT_U8, uint8_t, uint8_t, ITI_BLEND_ADD_INT, uint64_t)                                 \
    X(u16, IT_U16, uint16_t, uint16_t, ITI_BLEND_ADD_INT, uint64_t)                             \
    X(u32, IT_U32, uint32_t, uint32_t, ITI_BLEND_ADD_INT, uint64_t)                             \
    X(u64, IT_U64, uint64_t, uint64_t, ITI_BLEND_ADD_INT, uint64_t)

/* A row's table of per-dtype kernels named PREFIX_f32, PREFIX_f64, ... */
#define ITI_BLEND_ROWS(PREFIX)                                                                  \
    {[IT_F32] = PREFIX##_f32, [IT_F64] = PREFIX##_f64, [IT_I8] = PREFIX##_i8,                   \
     [IT_I16] = PREFIX##_i16, [IT_I32] = PREFIX##_i32, [IT_I64] = PREFIX##_i64,                 \
     [IT_U8] = PREFIX##_u8,   [IT_U16] = PREFIX##_u16, [IT_U32] = PREFIX##_u32,                 \
     [IT_U64] = PREFIX##_u64}

/* The table, in it_blend order (blend_table.c, where each blend's file has its row; its
 * initializer has one row per value or the build fails). */
extern const iti_blend_kind *const iti_blend_table[IT_BLEND_COUNT_];

/* The row of a blend, or NULL for a value that is not an it_blend. */
static inline const iti_blend_kind *iti_blend_of(it_blend b) {
    return (unsigned)b < IT_BLEND_COUNT_ ? iti_blend_table[b] : NULL;
}

#endif
