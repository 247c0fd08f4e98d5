/* Evaluator entry points used inside the library (exporters, previews). */
#ifndef IT_EVAL_H
#define IT_EVAL_H

#include "internal.h"

/* it_tensor_read without progress reports (the caller reports its own), and with `fn` naming
 * the public function in messages. */
int it_eval_read(it_tensor *t, const it_region *r, void *buf, size_t bufsize, const char *fn);

/* Number of chunks of r that are neither stored nor computable (the tensor has no function
 * and was opened without IT_OPEN_FILL_MISSING); 0 when the read can only succeed. */
int it_eval_count_uncomputable(it_tensor *t, const it_region *r, uint64_t *count);

/* Validates r against t (rank, steps, finite dimensions); 0 or IT_EINVAL / IT_ERANGE. */
int it_eval_check_region(const it_tensor *t, const it_region *r, const char *fn);

#endif
