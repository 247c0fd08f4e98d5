/* The HDF5 export (export_hdf5.c: the file, the dataset, its scales and attributes), its sink
 * (export_sink.c: the values, streamed from the evaluator into the dataset), its missing values
 * (export_fill.c) and what it does over an existing dataset (export_existing.c). */
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
    bool has_fill;               /* the dataset declares _FillValue = fill */
    unsigned char fill[8];
    const void *never_computed;  /* the chunk the tensor reads never-computed chunks as, or NULL */
    void *fill_chunk;            /* a chunk of `fill` written in their place */
    uint64_t never_computed_pixels;
} exporter;

/* Resolves x's declared _FillValue (has_fill, fill) and, for a tensor opened with
 * IT_OPEN_FILL_MISSING whose region has never-computed chunks, the chunk written in their
 * place (IT_EINVAL for integers without fill_value) (export_fill.c). */
int iti_export_resolve_fill(exporter *x, it_tensor *t);
/* The chunk exporters write for chunk data `data` of a visit: fill_chunk in place of a chunk
 * never computed (counting its selected pixels, `pixels`, in never_computed_pixels). */
const void *iti_export_source(exporter *x, const void *data, size_t pixels);

/* IT_EEXIST: path has the dataset; `why` (may be empty) says more, after the dataset's name. */
int iti_export_exists_error(const char *path, const char *dataset, const char *why);
/* Fills info (when not NULL) for exported dataset `data` (HDF5 lock held). */
void iti_export_fill_info(const exporter *x, hid_t data, it_export_info *info);

/* With IT_EXPORT_IF_IDENTICAL, when the output holds the dataset: 1 when it holds this export
 * (info filled when not NULL), 0 when it has no such dataset, else IT_EEXIST naming the difference, or an error. Reads the
 * region through the evaluator like an export and the dataset back, writes nothing. Called
 * without the HDF5 lock. */
int iti_export_compare(exporter *x, const char *path, const char *dataset, it_export_info *info);

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
