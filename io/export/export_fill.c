/* What an export writes for missing values: the _FillValue it declares (NaN for floats, the
 * caller's fill_value, none for integers without one), and, for a tensor opened with
 * IT_OPEN_FILL_MISSING, a chunk of that value in place of each chunk never computed, counted
 * for the dataset's never_computed_pixels. */
#include <math.h>

#include "export/export_hdf5.h"

int iti_export_resolve_fill(exporter *x, it_tensor *t) {
    const iti_store_tensor *v = x->t;
    if (x->o->fill_value_set) {
        int rc = iti_dtype_from_double(v->dtype, x->o->fill_value, x->fill,
                                       "it_export_hdf5: fill_value");
        if (rc)
            return rc;
        x->has_fill = true;
    } else if (iti_dtype_is_float(v->dtype)) {
        iti_dtype_from_double(v->dtype, NAN, x->fill, "_FillValue");
        x->has_fill = true;
    }
    x->never_computed = iti_tensor_never_computed_chunk(t);
    if (!x->never_computed)
        return 0;
    uint64_t n;
    int rc = iti_eval_count_never_computed(t, &x->s, &n);
    if (rc || n == 0)
        return rc;
    if (!x->has_fill)
        return iti_error(IT_EINVAL, "it_export_hdf5: %llu chunk(s) of the region of tensor \"%s\" "
                         "were never computed and %s values cannot mark them: set fill_value "
                         "(CLI --fill-value, Python fill_value=) to a value the data never take",
                         (unsigned long long)n, v->id, it_dtype_name(v->dtype));
    if (!(x->fill_chunk = iti_buf_alloc(v->chunk_bytes)))
        return iti_error(IT_ENOMEM, "it_export_hdf5: out of memory");
    iti_fill_pattern(x->fill_chunk, x->fill, v->esize, v->chunk_elems);
    return 0;
}

const void *iti_export_source(exporter *x, const void *data, size_t pixels) {
    if (!x->never_computed || data != x->never_computed)
        return data;
    x->never_computed_pixels += pixels;
    return x->fill_chunk;
}

