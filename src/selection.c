/* Selections: regions resolved against a tensor once (backend.h). */
#include <stdio.h>
#include <string.h>

#include "kernels.h"
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

bool iti_selection_in_chunk(const iti_store_tensor *t, const iti_selection *s, const iti_coord *c,
                            int64_t *first, int64_t *n, int64_t *at) {
    int64_t cs[IT_MAX_RANK], ce[IT_MAX_RANK];
    iti_chunk_box(t, c, cs, ce);
    for (int d = 0; d < t->rank; d++) {
        int64_t step = s->step[d];
        /* first selected index k with start + k*step >= cs, last with < ce */
        iti_i128 k0 = iti_ceildiv((iti_i128)cs[d] - s->start[d], step);
        if (k0 < 0)
            k0 = 0;
        iti_i128 k1 = iti_floordiv((iti_i128)ce[d] - 1 - s->start[d], step);
        if (k1 > s->count[d] - 1)
            k1 = s->count[d] - 1;
        if (k1 < k0)
            return false;
        first[d] = (int64_t)k0;
        n[d] = (int64_t)(k1 - k0 + 1);
        at[d] = s->start[d] + (int64_t)k0 * step - cs[d];
    }
    return true;
}

void iti_selection_gather(const iti_store_tensor *t, const iti_selection *s, const int64_t *n,
                          const int64_t *at, const void *chunk, void *dst, const int64_t *dstr) {
    int64_t cstr[IT_MAX_RANK], sstr[IT_MAX_RANK], so = 0;
    iti_strides(t->chunk, t->rank, cstr);
    for (int d = 0; d < t->rank; d++) {
        so += at[d] * cstr[d];
        sstr[d] = cstr[d] * s->step[d];
    }
    iti_copy_nd(dst, dstr, (const char *)chunk + so * (int64_t)t->esize, sstr, n, t->rank,
                t->esize);
}
