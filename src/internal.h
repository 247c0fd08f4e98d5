/* Internal helpers shared by every module of the library (never installed). */
#ifndef IT_INTERNAL_H
#define IT_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "infinite_tensor.h"

/* A coordinate in pixel, window or chunk space. Unused entries stay 0, so whole structs
 * compare and hash the same way whatever the rank. */
typedef struct it_coord {
    int64_t v[IT_MAX_RANK];
} it_coord;

/* 128-bit intermediate for coordinate arithmetic: window and chunk bounds are computed
 * exactly, then checked against the int64 range once. */
__extension__ typedef __int128 it_i128;

/* Records a detailed message for the calling thread and returns `code`. */
int it_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Like it_error with a va_list. */
int it_verror(int code, const char *fmt, va_list ap);
/* Prepends prefix to the calling thread's message; returns code. */
int it_error_prefix(int code, const char *prefix);
/* Copies the calling thread's message into buf (for handing errors across threads). */
void it_error_save(char *buf, size_t size);

/* Large buffers (chunks, windows, slices): 64-byte aligned, counted in it_memory_stats. */
void *it_buf_alloc(size_t bytes);
void it_buf_free(void *p);
/* Size recorded for a buffer of it_buf_alloc. */
size_t it_buf_size(const void *p);

/* Overflow-checked size arithmetic: return false on overflow. */
static inline bool it_mul_size(size_t a, size_t b, size_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}
static inline bool it_add_size(size_t a, size_t b, size_t *out) {
    return !__builtin_add_overflow(a, b, out);
}

/* Mathematical floor and ceiling division (b > 0). */
static inline it_i128 it_floordiv(it_i128 a, it_i128 b) {
    it_i128 q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}
static inline it_i128 it_ceildiv(it_i128 a, it_i128 b) {
    it_i128 q = a / b;
    return (a % b != 0 && a > 0) ? q + 1 : q;
}
static inline bool it_fits_i64(it_i128 v) { return v >= INT64_MIN && v <= INT64_MAX; }

/* Lexicographic comparison of the first `rank` entries. */
static inline int it_coord_cmp(const it_coord *a, const it_coord *b, int rank) {
    for (int d = 0; d < rank; d++) {
        if (a->v[d] != b->v[d])
            return a->v[d] < b->v[d] ? -1 : 1;
    }
    return 0;
}

/* Public option structs begin with struct_size, set by their *_init to the size the caller's
 * header declares. 0 when got is this library's size; IT_EINVAL naming fn and init otherwise
 * (0: the struct was not initialised; another size: a header of another library version). */
static inline int it_check_struct_size(size_t got, size_t want, const char *fn,
                                       const char *init) {
    if (got == want)
        return 0;
    if (got == 0)
        return it_error(IT_EINVAL, "%s: options have struct_size 0: initialise them with %s",
                        fn, init);
    return it_error(IT_EINVAL, "%s: options of %zu bytes come from another version's header "
                    "(this library's are %zu bytes)", fn, got, want);
}

/* Unique, never reused serial numbers (tensor identity in caches). */
uint64_t it_next_serial(void);

#endif
