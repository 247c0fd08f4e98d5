/* Tensor records (iti_tensor_meta, backend.h): built from a tensor for a persistent store to
 * keep, compared with a stored one on reconnect, and turned back into a description when a
 * stored tensor is opened. */
#ifndef ITI_TENSOR_META_H
#define ITI_TENSOR_META_H

#include "tensor_impl.h"

/* The record of t (its arguments by id). */
void iti_tensor_meta_from(const it_tensor *t, iti_tensor_meta *m);

/* 0 when stored describes the same tensor as want; IT_EMISMATCH naming the first field that
 * differs otherwise (fields in the order of io/FORMAT.md), in a message that begins with lead
 * (`it_tensor_create: tensor "x" is stored with`) and goes on "FIELD = A, the description has
 * B". */
int iti_tensor_meta_compare(const iti_tensor_meta *stored, const iti_tensor_meta *want,
                           const char *lead);

/* A description of a stored tensor from its record (no fn, no argument handles); d->id and
 * d->fn_tag point into m. IT_EFORMAT when the record's counts are out of range. */
int iti_tensor_meta_desc(const iti_tensor_meta *m, const char *id, it_tensor_desc *d);

#endif
