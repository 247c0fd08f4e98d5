/* The blend table (blend.h) and the blends' public names, as stores record them and the
 * itensor tool prints and parses them. */
#include <string.h>

#include "blend/blend.h"

/* The rows, each defined in its blend's file. */
extern const iti_blend_kind iti_blend_sum, iti_blend_max, iti_blend_min, iti_blend_replace,
    iti_blend_mean, iti_blend_custom, iti_blend_weighted;

const iti_blend_kind *const iti_blend_table[] = {
    &iti_blend_sum,      /* IT_BLEND_SUM */
    &iti_blend_max,      /* IT_BLEND_MAX */
    &iti_blend_min,      /* IT_BLEND_MIN */
    &iti_blend_replace,  /* IT_BLEND_REPLACE */
    &iti_blend_mean,     /* IT_BLEND_MEAN */
    &iti_blend_custom,   /* IT_BLEND_CUSTOM */
    &iti_blend_weighted, /* IT_BLEND_WEIGHTED */
};
_Static_assert(sizeof iti_blend_table / sizeof *iti_blend_table == IT_BLEND_COUNT_,
               "the blend table has one row per it_blend value");

const char *it_blend_name(it_blend blend) {
    const iti_blend_kind *k = iti_blend_of(blend);
    return k ? k->name : NULL;
}

int it_blend_parse(const char *name, it_blend *out) {
    if (!name || !out)
        return iti_error(IT_EINVAL, "it_blend_parse: NULL argument");
    for (int b = 0; b < IT_BLEND_COUNT_; b++) {
        if (strcmp(name, iti_blend_table[b]->name) == 0) {
            *out = (it_blend)b;
            return 0;
        }
    }
    return iti_error(IT_EINVAL, "it_blend_parse: unknown blend \"%s\"", name);
}
