/* The HDF5 export (export_hdf5.c: the file, the dataset, its scales and attributes) and its
 * sink (export_sink.c: the values, streamed from the evaluator into the dataset). */
#ifndef ITI_EXPORT_HDF5_H
#define ITI_EXPORT_HDF5_H

#include <hdf5.h>

#include "codec/codec.h"
#include "engine.h"
#include "hdf5/driver/hdf5_vfd.h"

typedef struct exporter {
    it_tensor *tensor;
    const iti_store_tensor *t;   /* the tensor's view */
    iti_engine eng;
    iti_selection s;             /* the exported region */
    const it_export_options *o;
    int rank;
    const int64_t *ext;         /* exported shape (s.count) */
    int64_t chunk[IT_MAX_RANK]; /* output chunk shape (chunked layout) */
    iti_codec codec;            /* of the chunks (none for contiguous exports) */
    hid_t file, data;
    const iti_vfd_state *vfd;    /* the output's driver: a failed write stops the export */
} exporter;

/* An existing file exports write into or map (export_map.c) must be an HDF5 file that this
 * process does not have open for writing (a store being filled); messages begin with fn.
 * Called before the HDF5 lock is taken: the registry of open files is locked before the HDF5
 * lock when stores open, never after it. */
int iti_export_check_file(const char *path, const char *fn);

/* Walks the exported region once through the evaluator (iti_eval_visit) and writes its values
 * into x->data as the chunks become final, reporting progress in bytes. Called without the
 * HDF5 lock (the stores take it themselves); takes it for its own writes. */
int iti_export_stream(exporter *x);

#endif
