/* Regions: start:stop:step per dimension. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int it_region_init(it_region *r, int rank) {
    if (!r)
        return iti_error(IT_EINVAL, "it_region_init: NULL region");
    memset(r, 0, sizeof *r);
    if (rank < 1 || rank > IT_MAX_RANK)
        return iti_error(IT_EINVAL, "it_region_init: rank must be 1..%d (got %d)", IT_MAX_RANK,
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
        return iti_error(IT_EINVAL, "it_region_set: NULL start or stop");
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
        return iti_error(IT_EINVAL, "it_region_count: NULL argument");
    if (r->rank < 1 || r->rank > IT_MAX_RANK)
        return iti_error(IT_EINVAL, "region.rank must be 1..%d (got %d)", IT_MAX_RANK, r->rank);
    size_t n = 1;
    for (int d = 0; d < r->rank; d++) {
        if (r->step[d] < 0)
            return iti_error(IT_EINVAL, "region.step[%d] must be >= 1 (got %lld)", d,
                            (long long)r->step[d]);
        uint64_t e = (uint64_t)it_region_extent(r, d);
        if (e > SIZE_MAX || !iti_mul_size(n, (size_t)e, &n))
            return iti_error(IT_EOVERFLOW, "region element count overflows size_t");
    }
    *count = n;
    return 0;
}

/* One signed integer at *p; advances p. 0, IT_EINVAL (no digits) or IT_ERANGE. */
static int parse_int(const char **p, int64_t *out) {
    const char *s = *p;
    while (*s == ' ')
        s++;
    if (!(isdigit((unsigned char)*s) || ((*s == '-' || *s == '+') && isdigit((unsigned char)s[1]))))
        return IT_EINVAL;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno == ERANGE)
        return IT_ERANGE;
    while (*end == ' ')
        end++;
    *out = v;
    *p = end;
    return 0;
}

int it_region_parse(const char *text, int rank, const int64_t *shape, it_region *out) {
    if (!text || !out)
        return iti_error(IT_EINVAL, "it_region_parse: NULL %s", text ? "out" : "text");
    int rc = it_region_init(out, rank);
    if (rc)
        return rc;
    const char *p = text;
    for (int d = 0; d < rank; d++) {
        const char *item = p;
        int64_t v[3] = {0, 0, 1};
        bool given[3] = {false, false, false};
        int parts = 0;
        for (;;) {
            if (parts == 3)
                return iti_error(IT_EINVAL, "region item %d (\"%.*s\"): more than start:stop:step",
                                d, (int)strcspn(item, ","), item);
            int r = parse_int(&p, &v[parts]);
            if (r == IT_ERANGE)
                return iti_error(IT_ERANGE, "region item %d: number out of the int64 range at "
                                "offset %d", d, (int)(p - text));
            given[parts] = r == 0;
            parts++;
            while (*p == ' ')
                p++;
            if (*p != ':')
                break;
            p++;
        }
        if (*p != (d == rank - 1 ? '\0' : ',')) {
            if (*p == ',' || *p == '\0')
                return iti_error(IT_EINVAL, "region has %s items than the tensor's %d dimensions",
                                *p == ',' ? "more" : "fewer", rank);
            return iti_error(IT_EINVAL, "region item %d: unexpected \"%c\" at offset %d", d, *p,
                            (int)(p - text));
        }
        if (*p == ',')
            p++;
        bool finite = shape && shape[d] > 0;
        if (parts == 1) { /* single index */
            if (!given[0])
                return iti_error(IT_EINVAL, "region item %d is empty", d);
            if (v[0] == INT64_MAX)
                return iti_error(IT_ERANGE, "region item %d: index too large", d);
            out->start[d] = v[0];
            out->stop[d] = v[0] + 1;
            continue;
        }
        if ((!given[0] || !given[1]) && !finite)
            return iti_error(IT_EINVAL,
                            "region item %d (\"%.*s\"): dimension %d is infinite, give start and stop",
                            d, (int)strcspn(item, ","), item, d);
        if (parts == 3 && given[2] && v[2] < 1)
            return iti_error(IT_EINVAL, "region item %d: step must be >= 1 (got %lld)", d,
                            (long long)v[2]);
        out->start[d] = given[0] ? v[0] : 0;
        out->stop[d] = given[1] ? v[1] : shape[d];
        out->step[d] = parts == 3 && given[2] ? v[2] : 1;
    }
    if (rank == 0 || *p != '\0')
        return iti_error(IT_EINVAL, "region has more items than the tensor's %d dimensions", rank);
    return 0;
}
