/* Selections: regions resolved against a tensor once (backend.h). */
#include <stdio.h>
#include <string.h>

#include "tensor_impl.h"

int iti_selection_resolve(const it_tensor *t, const it_region *r, const char *fn,
                         iti_selection *out) {
    memset(out, 0, sizeof *out);
    const iti_store_tensor *v = &t->view;
    if (r->rank != v->rank)
        return iti_error(IT_EINVAL, "%s: region rank %d does not match tensor \"%s\" rank %d", fn,
                        r->rank, v->id, v->rank);
    size_t elems = 1;
    out->rank = v->rank;
    for (int d = 0; d < v->rank; d++) {
        if (r->step[d] < 0)
            return iti_error(IT_EINVAL, "%s: region.step[%d] must be >= 1 (got %lld)", fn, d,
                            (long long)r->step[d]);
        if (v->shape[d] != IT_INF && r->stop[d] > r->start[d] &&
            (r->start[d] < 0 || r->stop[d] > v->shape[d]))
            return iti_error(IT_ERANGE,
                            "%s: region [%lld, %lld) of dimension %d leaves [0, %lld) of tensor "
                            "\"%s\"",
                            fn, (long long)r->start[d], (long long)r->stop[d], d,
                            (long long)v->shape[d], v->id);
        out->start[d] = r->start[d];
        out->step[d] = r->step[d] ? r->step[d] : 1;
        out->count[d] = it_region_extent(r, d);
        if ((uint64_t)out->count[d] > SIZE_MAX || !iti_mul_size(elems, (size_t)out->count[d], &elems))
            return iti_error(IT_EOVERFLOW, "%s: region element count overflows size_t", fn);
    }
    out->elems = elems;
    if (!iti_mul_size(elems, v->esize, &out->bytes))
        return iti_error(IT_EOVERFLOW, "%s: region byte size overflows size_t", fn);
    return 0;
}

void iti_selection_sub(const iti_selection *s, const int64_t *first, const int64_t *n, size_t esize,
                      iti_selection *out) {
    *out = *s;
    out->elems = 1;
    for (int d = 0; d < s->rank; d++) {
        out->start[d] = s->start[d] + first[d] * s->step[d];
        out->count[d] = n[d];
        out->elems *= (size_t)n[d];
    }
    out->bytes = out->elems * esize;
}
