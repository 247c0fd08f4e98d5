/* Typed values. */
#ifndef ITI_DTYPE_H
#define ITI_DTYPE_H

#include "internal.h"

bool iti_dtype_is_float(it_dtype t);
/* Converts v into one element of type t at out. Integer types need a finite, integral, in-range
 * v; `what` names the value in the error message (e.g. "blend_init"). */
int iti_dtype_from_double(it_dtype t, double v, void *out, const char *what);
/* Writes `count` copies of the esize-byte value at dst. */
void iti_fill_pattern(void *dst, const void *value, size_t esize, size_t count);

#endif
