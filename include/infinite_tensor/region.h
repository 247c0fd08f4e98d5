/* infinite-tensor: regions of pixel space.
 *
 * A region selects start:stop:step per dimension, like numpy. It has ceil((stop-start)/step)
 * elements along each dimension (0 when stop <= start) and is returned in C order. Infinite
 * dimensions take any int64 start/stop, negative included; finite dimensions need
 * 0 <= start and stop <= n for non-empty selections. */
#ifndef INFINITE_TENSOR_REGION_H
#define INFINITE_TENSOR_REGION_H

#include "infinite_tensor/types.h"

typedef struct it_region {
    int rank;
    int64_t start[IT_MAX_RANK];
    int64_t stop[IT_MAX_RANK];
    int64_t step[IT_MAX_RANK];   /* >= 1; 0 means 1 */
} it_region;

#ifdef __cplusplus
extern "C" {
#endif

/* Sets rank and step 1, start = stop = 0 everywhere. IT_EINVAL for NULL or a bad rank. */
IT_API int it_region_init(it_region *r, int rank);

/* Convenience: a rank-n region from parallel arrays (step may be NULL for all ones). */
IT_API int it_region_set(it_region *r, int rank, const int64_t *start, const int64_t *stop,
                         const int64_t *step);

/* Number of elements of r (product of per-dimension counts) in *count.
 * IT_EINVAL (bad rank, step < 0) or IT_EOVERFLOW when the product exceeds SIZE_MAX. */
IT_API int it_region_count(const it_region *r, size_t *count);

/* Parses numpy-like text, one comma-separated item per dimension: "start:stop", 
 * "start:stop:step", a single index "i" (= i:i+1), or ":" / "::step" for the whole of a finite
 * dimension (shape[d] > 0; shape may be NULL when no dimension is finite). Spaces are ignored.
 * Example: "0:3,-512:512,0:1024:2". Errors: IT_EINVAL with the offending item and position in
 * the message (wrong number of items, bad number, step < 1, ':' on an infinite dimension),
 * IT_ERANGE for numbers outside int64. */
IT_API int it_region_parse(const char *text, int rank, const int64_t *shape, it_region *out);

/* Elements of r along dimension d (0 for an empty dimension). */
IT_API int64_t it_region_extent(const it_region *r, int d);

#ifdef __cplusplus
}
#endif
#endif
