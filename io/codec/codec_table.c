/* The codec table (codec.h) and what it answers: the public names, levels and availability of
 * the codecs, and the options stores and exports resolve. */
#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "codec/codec.h"

/* The rows, each defined in its codec's file. */
extern const iti_codec_row iti_codec_deflate, iti_codec_lz4, iti_codec_zstd, iti_codec_none;

const iti_codec_row *const iti_codec_table[] = {
    &iti_codec_deflate, /* IT_COMPRESSION_DEFLATE */
    &iti_codec_lz4,     /* IT_COMPRESSION_LZ4 */
    &iti_codec_zstd,    /* IT_COMPRESSION_ZSTD */
    &iti_codec_none,    /* IT_COMPRESSION_NONE */
};
_Static_assert(sizeof iti_codec_table / sizeof *iti_codec_table == IT_COMPRESSION_COUNT,
               "the codec table has one row per it_compression value");

const char *it_compression_name(it_compression c) {
    const iti_codec_row *r = iti_codec_row_of(c);
    return r ? r->name : NULL;
}

/* "a, b, c or d": the names of every codec, for messages. */
static const char *name_list(char *buf, size_t cap) {
    size_t o = 0;
    buf[0] = '\0';
    for (int c = 0; c < IT_COMPRESSION_COUNT && o < cap; c++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%s",
                              c == 0 ? "" : c + 1 == IT_COMPRESSION_COUNT ? " or " : ", ",
                              iti_codec_table[c]->name);
    return buf;
}

int it_compression_parse(const char *name, it_compression *out) {
    for (int c = 0; name && out && c < IT_COMPRESSION_COUNT; c++)
        if (strcmp(name, iti_codec_table[c]->name) == 0) {
            *out = (it_compression)c;
            return 0;
        }
    char names[256];
    return iti_error(IT_EINVAL, "compression must be %s (got \"%s\")",
                     name_list(names, sizeof names), name ? name : "(null)");
}

int it_compression_available(it_compression c) {
    const iti_codec_row *r = iti_codec_row_of(c);
    return r && r->available;
}

int it_compression_info(it_compression c, it_codec_info *out) {
    const iti_codec_row *r = iti_codec_row_of(c);
    if (!r || !out)
        return iti_error(IT_EINVAL, "it_compression_info: %s",
                         out ? "compression must be an it_compression value" : "NULL argument");
    *out = (it_codec_info){
        .name = r->name, .available = r->available, .max_level = r->max_level,
        .default_level = r->default_level, .filter = r->filter,
        .needs_plugin = r->filter >= 256, .package = r->available ? NULL : r->package,
    };
    return 0;
}

int iti_codec_resolve(it_compression kind, int level, const char *fn, iti_codec *out) {
    const iti_codec_row *r = iti_codec_row_of(kind);
    if (!r)
        return iti_error(IT_EINVAL, "%s: compression must be an it_compression value (got %d)",
                         fn, (int)kind);
    if (level == -1 || !r->compresses) {
        if (level > 0)
            return iti_error(IT_EINVAL, "%s: compression %s takes no level (got %d)", fn, r->name,
                             level);
        *out = (iti_codec){IT_COMPRESSION_NONE, 0, false};
        return 0;
    }
    if (level < 0 || level > r->max_level)
        return iti_error(IT_EINVAL, "%s: compression_level must be -1..%d for %s (got %d)", fn,
                         r->max_level, r->name, level);
    if (!r->available)
        return iti_error(IT_EINVAL, "%s: this build has no %s codec (rebuild with %s installed)",
                         fn, r->name, r->package);
    *out = (iti_codec){kind, level ? level : r->default_level, false};
    return 0;
}
