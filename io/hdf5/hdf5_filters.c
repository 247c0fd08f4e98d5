/* The HDF5 filter pipeline of each codec (codec.h): declared on new datasets, recognised on
 * stored ones, both from the codec table's rows.
 *
 * The codecs' own filters are declared optional, as H5Pset_deflate declares deflate: chunks are
 * always written whole and already encoded (H5Dwrite_chunk, filter mask 0) and read back the
 * same way, so HDF5 never runs them itself, and creating a dataset must not require a plugin
 * on the writing machine (HDF5 refuses a mandatory filter it cannot load). A reader without the
 * plugin fails with "required filter is not registered" either way; it never misreads. */
#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "hdf5/hdf5_attr.h"
#include "hdf5/hdf5_filters.h"

int iti_codec_set_filters(const iti_codec *c, hid_t dcpl, size_t esize, size_t chunk_bytes) {
    const iti_codec_row *r = iti_codec_row_of(c->kind);
    herr_t st = 0;
    if (r->compresses && r->shuffled)
        st = H5Pset_shuffle(dcpl);
    if (st >= 0 && r->compresses && r->filter) {
        unsigned values[8];
        size_t nv = r->filter_values(c->level, esize, chunk_bytes, values);
        st = H5Pset_filter(dcpl, (H5Z_filter_t)r->filter, H5Z_FLAG_OPTIONAL, nv, values);
    }
    if (st >= 0 && c->checksum)
        st = H5Pset_fletcher32(dcpl);
    return st < 0 ? iti_h5_error(IT_EIO, "setting up the compression filters") : 0;
}

/* The codec whose filter is `id` with those client values behind `shuffled` (or none): its
 * kind and level, or -1. */
static int match_row(bool shuffled, H5Z_filter_t id, const unsigned *values, size_t nv,
                     int *level) {
    for (int k = 0; k < IT_COMPRESSION_COUNT; k++) {
        const iti_codec_row *r = iti_codec_table[k];
        if (!r->compresses || r->shuffled != shuffled || r->filter != (int)id)
            continue;
        if ((*level = r->filter_level(values, nv)) >= 0)
            return k;
    }
    return -1;
}

int iti_codec_from_filters(hid_t dcpl, const char *what, iti_codec *out) {
    H5Z_filter_t id[3] = {-1, -1, -1};
    unsigned cd[3][8];
    size_t nv[3] = {0, 0, 0};
    int nf = H5Pget_nfilters(dcpl);
    for (int i = 0; i < nf && i < 3; i++) {
        unsigned flags;
        nv[i] = 8;
        memset(cd[i], 0, sizeof cd[i]);
        id[i] = H5Pget_filter2(dcpl, (unsigned)i, &flags, &nv[i], cd[i], 0, NULL, NULL);
    }
    bool checksum = nf >= 1 && nf <= 3 && id[nf - 1] == H5Z_FILTER_FLETCHER32;
    if (checksum) /* last: it checks the bytes as stored */
        nf--;
    int kind = -1, level = 0;
    if (nf == 0)
        kind = IT_COMPRESSION_NONE;
    else if (nf == 2 && id[0] == H5Z_FILTER_SHUFFLE)
        kind = match_row(true, id[1], cd[1], nv[1] < 8 ? nv[1] : 8, &level);
    else if (nf == 1)
        kind = match_row(false, id[0], cd[0], nv[0] < 8 ? nv[0] : 8, &level);
    if (kind < 0) {
        char codecs[512];
        size_t o = 0;
        for (int k = 0; k < IT_COMPRESSION_COUNT && o < sizeof codecs; k++) {
            const iti_codec_row *r = iti_codec_table[k];
            if (r->compresses)
                o += (size_t)snprintf(codecs + o, sizeof codecs - o, "%s%s%s (filter %d)",
                                      o ? ", " : "", r->shuffled ? "shuffle + " : "", r->name,
                                      r->filter);
        }
        return iti_error(IT_EFORMAT, "%s: data has filters other than those of a codec (%s, or "
                         "none, each optionally followed by Fletcher-32)", what, codecs);
    }
    *out = (iti_codec){(it_compression)kind, level, checksum};
    const iti_codec_row *r = iti_codec_table[kind];
    if (!r->available)
        return iti_error(IT_EFORMAT, "%s: data are compressed with %s, which this build cannot "
                         "decode (rebuild with %s installed)", what, r->name, r->package);
    return 0;
}
