/* The HDF5 filter pipeline of each codec (codec.h): declared on new datasets, recognised on
 * stored ones.
 *
 * The plugin filters (lz4, Blosc) are declared optional: chunks are always written whole and
 * already encoded (H5Dwrite_chunk, filter mask 0) and read back the same way, so HDF5 never
 * runs them itself, and creating a dataset must not require the plugin on the writing machine
 * (HDF5 refuses a mandatory filter it cannot load). A reader without the plugin fails with
 * "required filter is not registered" either way; it never misreads. */
#include <string.h>

#include "backend.h"
#include "hdf5/hdf5_attr.h"
#include "hdf5/hdf5_filters.h"

#define FILTER_LZ4 32004
#define FILTER_BLOSC 32001
#define BLOSC_FILTER_REVISION 2 /* cd_values of the Blosc filter: revision, format, element */
#define BLOSC_FORMAT 2          /* size, chunk bytes, level, shuffle (1: bytes), compressor */
#define BLOSC_COMPRESSOR_ZSTD 5

int iti_codec_set_filters(const iti_codec *c, hid_t dcpl, size_t esize, size_t chunk_bytes) {
    herr_t st = 0;
    switch (c->kind) {
    case IT_COMPRESSION_DEFLATE:
        st = H5Pset_shuffle(dcpl) < 0 ? -1 : H5Pset_deflate(dcpl, (unsigned)c->level);
        break;
    case IT_COMPRESSION_LZ4:
        st = H5Pset_shuffle(dcpl) < 0 ? -1 : H5Pset_filter(dcpl, FILTER_LZ4, H5Z_FLAG_OPTIONAL, 0, NULL);
        break;
    case IT_COMPRESSION_ZSTD: {
        unsigned cd[7] = {BLOSC_FILTER_REVISION, BLOSC_FORMAT, (unsigned)esize,
                          chunk_bytes > UINT32_MAX ? 0 : (unsigned)chunk_bytes, (unsigned)c->level,
                          1, BLOSC_COMPRESSOR_ZSTD};
        st = H5Pset_filter(dcpl, FILTER_BLOSC, H5Z_FLAG_OPTIONAL, 7, cd);
        break;
    }
    default:
        break;
    }
    if (st >= 0 && c->checksum)
        st = H5Pset_fletcher32(dcpl);
    return st < 0 ? iti_h5_error(IT_EIO, "setting up the compression filters") : 0;
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
    bool shuffled = nf == 2 && id[0] == H5Z_FILTER_SHUFFLE;
    if (nf == 0)
        *out = (iti_codec){IT_COMPRESSION_NONE, 0, checksum};
    else if (shuffled && id[1] == H5Z_FILTER_DEFLATE && nv[1] >= 1 && cd[1][0] <= 9)
        *out = (iti_codec){IT_COMPRESSION_DEFLATE, (int)cd[1][0], checksum};
    else if (shuffled && id[1] == FILTER_LZ4)
        *out = (iti_codec){IT_COMPRESSION_LZ4, 1, checksum};
    else if (nf == 1 && id[0] == FILTER_BLOSC) /* frames describe their compressor themselves */
        *out = (iti_codec){IT_COMPRESSION_ZSTD,
                           nv[0] >= 5 && cd[0][4] >= 1 && cd[0][4] <= 9 ? (int)cd[0][4] : 1,
                           checksum};
    else
        return iti_error(IT_EFORMAT, "%s: data has filters other than those of a codec (shuffle + "
                         "deflate 0..9, shuffle + lz4, or Blosc, each optionally followed by "
                         "Fletcher-32)", what);
    if (!it_compression_available(out->kind))
        return iti_error(IT_EFORMAT, "%s: data are compressed with %s, which this build cannot "
                         "decode (rebuild with %s installed)", what, it_compression_name(out->kind),
                         out->kind == IT_COMPRESSION_LZ4 ? "liblz4-dev" : "libblosc-dev");
    return 0;
}
