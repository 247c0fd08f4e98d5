/* Internal helpers shared by every module of the library (never installed). */
#ifndef ITI_INTERNAL_H
#define ITI_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "infinite_tensor.h"

/* A coordinate in pixel, window or chunk space. Unused entries stay 0, so whole structs
 * compare and hash the same way whatever the rank. */
typedef struct iti_coord {
    int64_t v[IT_MAX_RANK];
} iti_coord;

/* 128-bit intermediate for coordinate arithmetic: window and chunk bounds are computed
 * exactly, then checked against the int64 range once. */
__extension__ typedef __int128 iti_i128;

/* Records a detailed message for the calling thread and returns `code`. */
int iti_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Like iti_error with a va_list. */
int iti_verror(int code, const char *fmt, va_list ap);
/* Prepends prefix to the calling thread's message; returns code. */
int iti_error_prefix(int code, const char *prefix);
/* IT_ECALLBACK with a message, keeping the user function's own status for
 * it_last_callback_status. */
int iti_callback_error(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The calling thread's error (message and callback status), for handing errors across
 * threads: saved where it happened, restored on the thread that reports it. */
#define ITI_ERROR_MAX 1024
typedef struct iti_error_state {
    char message[ITI_ERROR_MAX];
    int callback_status;
} iti_error_state;
void iti_error_save(iti_error_state *e);
/* Makes e the calling thread's error; returns code. */
int iti_error_restore(int code, const iti_error_state *e);

/* "v0, v1, ..." of rank values, for messages. */
void iti_format_coord(char *buf, size_t size, const int64_t *v, int rank);

/* IT_LOG=debug in the environment (read once): iti_log writes "infinite-tensor[pid] area:
 * message" as one line to stderr; otherwise nothing. */
bool iti_log_on(void);
void iti_log(const char *area, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Large buffers (chunks, windows, slices): 64-byte aligned, counted in it_memory_stats. */
void *iti_buf_alloc(size_t bytes);
void iti_buf_free(void *p);
/* Size recorded for a buffer of iti_buf_alloc. */
size_t iti_buf_size(const void *p);

/* Overflow-checked size arithmetic: return false on overflow. */
static inline bool iti_mul_size(size_t a, size_t b, size_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}
static inline bool iti_add_size(size_t a, size_t b, size_t *out) {
    return !__builtin_add_overflow(a, b, out);
}

/* Mathematical floor and ceiling division (b > 0). */
static inline iti_i128 iti_floordiv(iti_i128 a, iti_i128 b) {
    iti_i128 q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}
static inline iti_i128 iti_ceildiv(iti_i128 a, iti_i128 b) {
    iti_i128 q = a / b;
    return (a % b != 0 && a > 0) ? q + 1 : q;
}
static inline bool iti_fits_i64(iti_i128 v) { return v >= INT64_MIN && v <= INT64_MAX; }

/* Lexicographic comparison of the first `rank` entries. */
static inline int iti_coord_cmp(const iti_coord *a, const iti_coord *b, int rank) {
    for (int d = 0; d < rank; d++) {
        if (a->v[d] != b->v[d])
            return a->v[d] < b->v[d] ? -1 : 1;
    }
    return 0;
}

/* Public option structs begin with struct_size, set by their *_init to the size the caller's
 * header declares. Copies the caller's opts over dst (size bytes, holding the defaults) once
 * its struct_size is this library's size; opts NULL keeps the defaults. IT_EINVAL naming fn and
 * init otherwise (0: the struct was not initialised; another size: another version's header). */
static inline int iti_options_take(void *dst, const void *opts, size_t size, const char *fn,
                                   const char *init) {
    if (!opts)
        return 0;
    size_t got;
    memcpy(&got, opts, sizeof got);
    if (got == 0)
        return iti_error(IT_EINVAL, "%s: options have struct_size 0: initialise them with %s",
                         fn, init);
    if (got != size)
        return iti_error(IT_EINVAL, "%s: options of %zu bytes come from another version's "
                         "header (this library's are %zu bytes)", fn, got, size);
    memcpy(dst, opts, size);
    return 0;
}

/* Unique, never reused serial numbers (tensor identity in caches). */
uint64_t iti_next_serial(void);

#endif
