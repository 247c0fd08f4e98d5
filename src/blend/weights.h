/* Weight profiles of the weighted blend (it_weight_profile, tensor.h): validated and resolved
 * at creation into per-dimension factors (built-in kinds) or a copy of the user's array, and
 * looked up one window row at a time while a chunk is blended. */
#ifndef ITI_WEIGHTS_H
#define ITI_WEIGHTS_H

#include "internal.h"
#include "sha256.h"

typedef struct iti_weights {
    it_weight_profile p;          /* resolved: default borders and sigmas filled in; p.array is
                                     `array` (NULL for tensors opened from a store) */
    char sha256[ITI_SHA256_HEX];  /* digest of the array ("" for other kinds) */
    const double *factor[IT_MAX_RANK]; /* built-in kinds: size[d] factors along d */
    double *storage;              /* owns the factors, or the array's copy */
} iti_weights;

/* True when every field of p is zero (the profile of blends other than IT_BLEND_WEIGHTED). */
bool iti_weights_unset(const it_weight_profile *p);

/* Validates `in` for an output window `win` (win_elems pixels) and resolves it into *out.
 * IT_EINVAL naming the field, IT_ENOMEM. On failure *out holds nothing to free. */
int iti_weights_resolve(const it_weight_profile *in, const it_window *win, size_t win_elems,
                        iti_weights *out);

void iti_weights_free(iti_weights *w);

/* Weights of the window row that starts at window-relative position pos (pos[last] is the
 * row's first element, `offset` its C-order offset in the window): the row's weights are
 * max(*scale * f[i], floor) for the returned f. */
static inline const double *iti_weights_row(const iti_weights *w, const int64_t *pos, int last,
                                            int64_t offset, double *scale) {
    if (w->p.kind == IT_WEIGHT_ARRAY) {
        *scale = 1.0;
        return w->storage + offset;
    }
    double s = 1.0;
    for (int d = 0; d < last; d++)
        s *= w->factor[d][pos[d]];
    *scale = s;
    return w->factor[last] + pos[last];
}

#endif
