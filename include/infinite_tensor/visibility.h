/* infinite-tensor: symbol visibility. The library is built with hidden visibility; only
 * declarations marked IT_API are exported from the shared object. */
#ifndef INFINITE_TENSOR_VISIBILITY_H
#define INFINITE_TENSOR_VISIBILITY_H

#if defined(IT_STATIC_DEFINE)
#define IT_API
#elif defined(_WIN32)
#ifdef IT_BUILDING_LIBRARY
#define IT_API __declspec(dllexport)
#else
#define IT_API __declspec(dllimport)
#endif
#else
#define IT_API __attribute__((visibility("default")))
#endif

#endif
