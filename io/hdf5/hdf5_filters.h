/* The HDF5 filter pipelines of the chunk codecs (hdf5_filters.c). Callers hold the HDF5
 * lock. */
#ifndef ITI_HDF5_FILTERS_H
#define ITI_HDF5_FILTERS_H

#include <hdf5.h>

#include "codec/codec.h"

/* Declares c's filters on a dataset creation property list (none for IT_COMPRESSION_NONE). */
int iti_codec_set_filters(const iti_codec *c, hid_t dcpl, size_t esize, size_t chunk_bytes);

/* The codec whose pipeline a dataset's creation property list holds; IT_EFORMAT naming `what`
 * for any other pipeline, or for one this build cannot decode. */
int iti_codec_from_filters(hid_t dcpl, const char *what, iti_codec *out);

#endif
