/* infinite-tensor: version information. */
#ifndef INFINITE_TENSOR_VERSION_H
#define INFINITE_TENSOR_VERSION_H

#include "infinite_tensor/visibility.h"

#define IT_VERSION_MAJOR 0
#define IT_VERSION_MINOR 2
#define IT_VERSION_PATCH 0
#define IT_VERSION_STRING "0.2.0"
/* One number for compile-time comparisons: MAJOR*10000 + MINOR*100 + PATCH. */
#define IT_VERSION_NUMBER (IT_VERSION_MAJOR * 10000 + IT_VERSION_MINOR * 100 + IT_VERSION_PATCH)

#ifdef __cplusplus
extern "C" {
#endif

/* Version of the library actually linked (IT_VERSION_NUMBER of the build). Thread-safe. */
IT_API int it_version_number(void);
/* Same as a static string "MAJOR.MINOR.PATCH". Never NULL. Thread-safe. */
IT_API const char *it_version_string(void);

#ifdef __cplusplus
}
#endif
#endif
