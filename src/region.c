/* Regions: start:stop:step per dimension. */
#include <string.h>

#include "internal.h"

int it_region_init(it_region *r, int rank) {
    if (!r)
        return it_error(IT_EINVAL, "it_region_init: NULL region");
    memset(r, 0, sizeof *r);
    if (rank < 1 || rank > IT_MAX_RANK)
        return it_error(IT_EINVAL, "it_region_init: rank must be 1..%d (got %d)", IT_MAX_RANK,
                        rank);
    r->rank = rank;
    for (int d = 0; d < rank; d++)
        r->step[d] = 1;
    return 0;
}

int it_region_set(it_region *r, int rank, const int64_t *start, const int64_t *stop,
                  const int64_t *step) {
    int rc = it_region_init(r, rank);
    if (rc)
        return rc;
    if (!start || !stop)
        return it_error(IT_EINVAL, "it_region_set: NULL start or stop");
    for (int d = 0; d < rank; d++) {
        r->start[d] = start[d];
        r->stop[d] = stop[d];
        r->step[d] = step ? step[d] : 1;
    }
    return 0;
}

int64_t it_region_extent(const it_region *r, int d) {
    if (!r || d < 0 || d >= r->rank || r->stop[d] <= r->start[d] || r->step[d] < 0)
        return 0;
    uint64_t span = (uint64_t)r->stop[d] - (uint64_t)r->start[d];
    uint64_t step = r->step[d] ? (uint64_t)r->step[d] : 1;
    return (int64_t)((span - 1) / step + 1);
}

int it_region_count(const it_region *r, size_t *count) {
    if (!r || !count)
        return it_error(IT_EINVAL, "it_region_count: NULL argument");
    if (r->rank < 1 || r->rank > IT_MAX_RANK)
        return it_error(IT_EINVAL, "region.rank must be 1..%d (got %d)", IT_MAX_RANK, r->rank);
    size_t n = 1;
    for (int d = 0; d < r->rank; d++) {
        if (r->step[d] < 0)
            return it_error(IT_EINVAL, "region.step[%d] must be >= 1 (got %lld)", d,
                            (long long)r->step[d]);
        uint64_t e = (uint64_t)it_region_extent(r, d);
        if (e > SIZE_MAX || !it_mul_size(n, (size_t)e, &n))
            return it_error(IT_EOVERFLOW, "region element count overflows size_t");
    }
    *count = n;
    return 0;
}
