/* infinite-tensor: windows.
 *
 * A window describes how a tensor is tiled by calls of its function `f`. Window index w (one
 * int64 per window dimension; a tensor's window index has the tensor's rank) covers, for each
 * tensor dimension d,
 *
 *     [w[map[d]] * stride[d] + offset[d],  w[map[d]] * stride[d] + offset[d] + size[d])
 *
 * map[d] == IT_MAP_FIXED marks a fixed dimension covering [0, 1) (size[d] must be 1 and
 * offset[d] 0). Argument windows use the same description: they map the *downstream* tensor's
 * window index to a box of the upstream tensor, so an argument window has the upstream
 * tensor's rank while its map entries index the downstream window index.
 *
 * Windows whose box leaves a finite dimension's [0, n) are never computed. */
#ifndef INFINITE_TENSOR_WINDOW_H
#define INFINITE_TENSOR_WINDOW_H

#include "infinite_tensor/types.h"

#define IT_MAP_FIXED (-1)

typedef struct it_window {
    int rank;                      /* number of dimensions, 1..IT_MAX_RANK */
    int64_t size[IT_MAX_RANK];     /* extent per dimension, > 0 */
    int64_t stride[IT_MAX_RANK];   /* step between windows, > 0; 0 means "= size" */
    int64_t offset[IT_MAX_RANK];   /* position of window 0; any value */
    int map[IT_MAX_RANK];          /* window-index dimension feeding each dimension, or
                                      IT_MAP_FIXED; it_window_init sets the identity */
} it_window;

#ifdef __cplusplus
extern "C" {
#endif

/* Initialises *w: rank, size copied from `size` (rank entries), stride = size, offset 0,
 * identity map. Returns IT_EINVAL if w or size is NULL or rank is outside 1..IT_MAX_RANK
 * (w is then left zeroed when non-NULL). */
IT_API int it_window_init(it_window *w, int rank, const int64_t *size);

/* Like it_window_init, with stride and offset as well (rank entries each; NULL stride means
 * stride = size, NULL offset means 0). A padded argument window reading a halo of h pixels
 * around windows of size s: it_window_set(&w, r, s + 2h, s, -h) per dimension. The values are
 * checked when a tensor is created. */
IT_API int it_window_set(it_window *w, int rank, const int64_t *size, const int64_t *stride,
                         const int64_t *offset);

/* Window indices (a window index of rank w->rank) of the windows of `w` whose box intersects
 * the pixel box [start[d], stop[d]), d < w->rank: lo[k]..hi[k] inclusive per window dimension.
 * Window dimensions that no map entry references are fixed at 0. Returns 1 when some window
 * intersects, 0 when none does, or a negative status (IT_EINVAL, IT_EOVERFLOW) with the
 * message set. Finite-dimension filtering is the tensor's business, not applied here. */
IT_API int it_window_range(const it_window *w, const int64_t *start, const int64_t *stop,
                           int64_t *lo, int64_t *hi);

/* Pixel box covered by window `index` (index has `index_rank` entries; map entries must be
 * < index_rank): start[d], stop[d] for each of the w->rank dimensions. Returns 0, or
 * IT_EINVAL / IT_EOVERFLOW with the message set. */
IT_API int it_window_bounds(const it_window *w, const int64_t *index, int index_rank,
                            int64_t *start, int64_t *stop);

#ifdef __cplusplus
}
#endif
#endif
