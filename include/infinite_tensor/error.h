/* infinite-tensor: status codes and error messages.
 *
 * Every public function that can fail returns an int: 0 on success, one of the negative IT_E*
 * codes below on failure. Codes are stable across releases. On failure the library also records
 * a detailed message (which argument, which dimension, which callback) for the calling thread;
 * read it with it_last_error(). A call that fails leaves stored data as it was. */
#ifndef INFINITE_TENSOR_ERROR_H
#define INFINITE_TENSOR_ERROR_H

#include "infinite_tensor/visibility.h"

/* X-macro list: name, value, description. The one place codes are defined. */
#define IT_ERROR_LIST(X)                                                                  \
    X(IT_OK, 0, "success")                                                                \
    X(IT_EINVAL, -1, "invalid argument")                                                  \
    X(IT_ENOMEM, -2, "out of memory")                                                     \
    X(IT_EIO, -3, "input/output error")                                                   \
    X(IT_EFORMAT, -4, "file is not in the expected format")                               \
    X(IT_EMISMATCH, -5, "stored tensor metadata do not match the description")            \
    X(IT_ECALLBACK, -6, "a user callback failed")                                         \
    X(IT_ERANGE, -7, "coordinates out of range")                                          \
    X(IT_ENOTCOMPUTED, -8, "data not computed and the tensor has no function")             \
    X(IT_ECANCELED, -9, "operation canceled")                                             \
    X(IT_EOVERFLOW, -10, "size arithmetic overflows")                                     \
    X(IT_EEXIST, -11, "an object with that name already exists")                          \
    X(IT_ENOTFOUND, -12, "no such object")                                                \
    X(IT_EBUFSIZE, -13, "buffer too small")                                               \
    X(IT_EINTERNAL, -14, "internal error")                                               \
    X(IT_ENOSPC, -15, "no space left on the device (or quota exceeded)")                 \
    X(IT_ELOCKED, -16, "the file is in use by another writer")                            \
    X(IT_ECYCLE, -17, "a computation needs its own result (a cycle of reads)")

enum it_status {
#define IT_ERROR_ENUM_(name, value, text) name = value,
    IT_ERROR_LIST(IT_ERROR_ENUM_)
#undef IT_ERROR_ENUM_
};

#ifdef __cplusplus
extern "C" {
#endif

/* Short description of a status code ("invalid argument"). Unknown codes give
 * "unknown error". Never NULL; static storage. Thread-safe. */
IT_API const char *it_strerror(int code);

/* The code's symbolic name ("IT_EINVAL"), or "IT_UNKNOWN". Static storage. Thread-safe. */
IT_API const char *it_error_name(int code);

/* Detailed message of the last failed call made by the calling thread, e.g.
 * "it_tensor_create: window.stride[1] must be > 0 (got -4)". Messages are kept per thread, so
 * concurrent callers never see each other's errors. Valid until the next failing call on the
 * same thread. Never NULL ("" when no call has failed yet). */
IT_API const char *it_last_error(void);

/* When the calling thread's last failed call failed with IT_ECALLBACK: the non-zero value the
 * window function or blend_fn returned (which it_last_error also quotes), so that a binding can
 * map it back to what its callback kept (the Python package raises the exception the callback
 * raised). 0 after any other failure. Thread-safe. */
IT_API int it_last_callback_status(void);

#ifdef __cplusplus
}
#endif
#endif
