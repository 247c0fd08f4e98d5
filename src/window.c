/* Window geometry: which windows intersect a box, and which box a window covers. */
#include <string.h>

#include "window_math.h"

int it_window_init(it_window *w, int rank, const int64_t *size) {
    if (w)
        memset(w, 0, sizeof *w);
    if (!w || !size)
        return iti_error(IT_EINVAL, "it_window_init: NULL %s", w ? "size" : "window");
    if (rank < 1 || rank > IT_MAX_RANK)
        return iti_error(IT_EINVAL, "it_window_init: rank must be 1..%d (got %d)", IT_MAX_RANK,
                        rank);
    w->rank = rank;
    for (int d = 0; d < rank; d++) {
        w->size[d] = size[d];
        w->stride[d] = size[d];
        w->map[d] = d;
    }
    return 0;
}

int it_window_set(it_window *w, int rank, const int64_t *size, const int64_t *stride,
                  const int64_t *offset) {
    int rc = it_window_init(w, rank, size);
    if (rc)
        return iti_error_prefix(rc, "it_window_set: ");
    for (int d = 0; d < rank; d++) {
        w->stride[d] = stride ? stride[d] : size[d];
        w->offset[d] = offset ? offset[d] : 0;
    }
    return 0;
}

int iti_window_resolve(const it_window *w, int index_rank, const char *what, it_window *out) {
    if (w->rank < 1 || w->rank > IT_MAX_RANK)
        return iti_error(IT_EINVAL, "%s.rank must be 1..%d (got %d)", what, IT_MAX_RANK, w->rank);
    it_window r = *w;
    for (int d = 0; d < w->rank; d++) {
        if (w->size[d] <= 0)
            return iti_error(IT_EINVAL, "%s.size[%d] must be > 0 (got %lld)", what, d,
                            (long long)w->size[d]);
        if (w->stride[d] < 0)
            return iti_error(IT_EINVAL, "%s.stride[%d] must be > 0 (got %lld)", what, d,
                            (long long)w->stride[d]);
        if (w->stride[d] == 0)
            r.stride[d] = w->size[d];
        if (w->map[d] == IT_MAP_FIXED) {
            if (w->size[d] != 1 || w->offset[d] != 0)
                return iti_error(IT_EINVAL,
                                "%s: fixed dimension %d (map -1) covers [0, 1): size must be 1 "
                                "and offset 0 (got size %lld, offset %lld)",
                                what, d, (long long)w->size[d], (long long)w->offset[d]);
        } else if (w->map[d] < 0 || w->map[d] >= index_rank) {
            return iti_error(IT_EINVAL, "%s.map[%d] must be -1 or 0..%d (got %d)", what, d,
                            index_rank - 1, w->map[d]);
        }
    }
    for (int d = w->rank; d < IT_MAX_RANK; d++) {
        r.size[d] = r.stride[d] = r.offset[d] = 0;
        r.map[d] = 0;
    }
    *out = r;
    return 0;
}

int iti_win_range(const it_window *w, int index_rank, const int64_t *start, const int64_t *stop,
                 int64_t *lo, int64_t *hi) {
    iti_i128 l[IT_MAX_RANK], h[IT_MAX_RANK];
    bool used[IT_MAX_RANK] = {false};
    for (int k = 0; k < index_rank; k++) {
        l[k] = INT64_MIN;
        h[k] = INT64_MAX;
    }
    for (int d = 0; d < w->rank; d++) {
        if (start[d] >= stop[d])
            return 0;
        if (w->map[d] == IT_MAP_FIXED) {
            if (start[d] > 0 || stop[d] < 1)
                return 0;
            continue;
        }
        int k = w->map[d];
        iti_i128 s = w->stride[d], o = w->offset[d], n = w->size[d];
        /* window w intersects iff w*s + o < stop and w*s + o + n > start */
        iti_i128 low = iti_ceildiv((iti_i128)start[d] - o - n + 1, s);
        iti_i128 high = iti_floordiv((iti_i128)stop[d] - 1 - o, s);
        if (low > l[k])
            l[k] = low;
        if (high < h[k])
            h[k] = high;
        used[k] = true;
    }
    for (int k = 0; k < index_rank; k++) {
        if (!used[k])
            l[k] = h[k] = 0;
        if (l[k] > h[k])
            return 0;
        lo[k] = (int64_t)l[k];
        hi[k] = (int64_t)h[k];
    }
    return 1;
}

int iti_win_bounds(const it_window *w, const int64_t *index, int64_t *start, int64_t *stop) {
    for (int d = 0; d < w->rank; d++) {
        if (w->map[d] == IT_MAP_FIXED) {
            start[d] = 0;
            stop[d] = 1;
            continue;
        }
        iti_i128 a = (iti_i128)index[w->map[d]] * w->stride[d] + w->offset[d];
        iti_i128 b = a + w->size[d];
        if (!iti_fits_i64(a) || !iti_fits_i64(b))
            return iti_error(IT_ERANGE,
                            "window %lld along dimension %d covers pixels beyond the int64 range",
                            (long long)index[w->map[d]], d);
        start[d] = (int64_t)a;
        stop[d] = (int64_t)b;
    }
    return 0;
}

int it_window_range(const it_window *w, const int64_t *start, const int64_t *stop, int64_t *lo,
                    int64_t *hi) {
    if (!w || !start || !stop || !lo || !hi)
        return iti_error(IT_EINVAL, "it_window_range: NULL argument");
    it_window r;
    int rc = iti_window_resolve(w, w->rank, "window", &r);
    if (rc)
        return rc;
    return iti_win_range(&r, r.rank, start, stop, lo, hi);
}

int it_window_bounds(const it_window *w, const int64_t *index, int index_rank, int64_t *start,
                     int64_t *stop) {
    if (!w || !index || !start || !stop)
        return iti_error(IT_EINVAL, "it_window_bounds: NULL argument");
    if (index_rank < 1 || index_rank > IT_MAX_RANK)
        return iti_error(IT_EINVAL, "it_window_bounds: index_rank must be 1..%d (got %d)",
                        IT_MAX_RANK, index_rank);
    it_window r;
    int rc = iti_window_resolve(w, index_rank, "window", &r);
    if (rc)
        return rc;
    return iti_win_bounds(&r, index, start, stop);
}
