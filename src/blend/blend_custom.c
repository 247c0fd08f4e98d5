/* The custom blend: the user's blend_fn (it_blend_fn, tensor.h) over the accumulator, which
 * starts at blend_init, with the count of windows already blended per pixel. */
#include "blend/blend.h"

static int custom_row(const iti_blend_span *s, size_t esize) {
    uint32_t *cnt = (uint32_t *)s->scratch + s->at;
    int rc = s->fn((char *)s->acc + s->at * esize, s->in, cnt, s->n, s->user);
    if (rc == 0)
        for (size_t i = 0; i < s->n; i++)
            cnt[i]++;
    return rc;
}

#define CUSTOM_KERNEL(NAME, E, T, U, ADD, D)                                                 \
    static int custom_##NAME(const iti_blend_span *s) { return custom_row(s, sizeof(T)); }
ITI_BLEND_FOR_DTYPES(CUSTOM_KERNEL)

const iti_blend_kind iti_blend_custom = {
    .id = IT_BLEND_CUSTOM, .name = "custom", .scratch_bytes = sizeof(uint32_t),
    .takes_fn = true, .row = ITI_BLEND_ROWS(custom),
};
