/* Chunks encoded elsewhere, written as they are: the writer of a distributed fill receives
 * chunks that other processes computed and encoded with the tensor's codec (io/mpi/mpi_fill.c). */
#ifndef ITI_HDF5_DIRECT_H
#define ITI_HDF5_DIRECT_H

#include "backend.h"

/* Stores chunk c of t from its encoded bytes (the codec's format, as iti_codec_encode makes
 * it), indexed like any put; durable at the next flush. IT_EINVAL for other stores, read-only
 * stores or chunks outside the storable range; IT_EFORMAT for a length no encoding has. */
int iti_h5_put_encoded(it_tensor *t, const iti_coord *c, const void *enc, size_t len);

#endif
