/* Tensor records (iti_tensor_meta, backend.h): built from a tensor for a persistent store to
 * keep and compared with a stored one on reconnect (tensor_handles.c turns a stored record back
 * into a description when a stored tensor is opened). */
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

/* 0 when a count of the record equals the description's, else IT_EMISMATCH worded as by
 * iti_tensor_meta_compare. */
int iti_tensor_meta_cmp_count(const char *lead, const char *field, int64_t stored, int64_t want);

#endif
