/* Blend mode names, as stores record them and the itensor tool prints and parses them. */
#include <string.h>

#include "internal.h"

static const char *const names[IT_BLEND_COUNT_] = {"sum", "max", "min", "replace", "mean",
                                                   "custom", "weighted"};

const char *it_blend_name(it_blend blend) {
    return (unsigned)blend < IT_BLEND_COUNT_ ? names[blend] : NULL;
}

int it_blend_parse(const char *name, it_blend *out) {
    if (!name || !out)
        return iti_error(IT_EINVAL, "it_blend_parse: NULL argument");
    for (int b = 0; b < IT_BLEND_COUNT_; b++) {
        if (strcmp(name, names[b]) == 0) {
            *out = (it_blend)b;
            return 0;
        }
    }
    return iti_error(IT_EINVAL, "it_blend_parse: unknown blend \"%s\"", name);
}
