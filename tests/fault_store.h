/* A store backend for tests of failure paths: it wraps any other backend (the memory store,
 * an HDF5 store on a real file) and fails the k-th call of a chosen operation with a chosen
 * code, as a backend would: the failed call changes nothing in the wrapped store (a failed put
 * stores nothing and frees its buffer). It also records every chunk a put stored, so tests can
 * check that nothing stored before a failure is lost. */
#ifndef IT_TEST_FAULT_STORE_H
#define IT_TEST_FAULT_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "infinite_tensor.h"

typedef enum fault_op { FAULT_PUT, FAULT_GET, FAULT_FLUSH, FAULT_OPEN, FAULT_OP_COUNT } fault_op;

typedef struct fault_store fault_store;

/* Takes over the backend of inner (which must have no open tensors; the handle inner is
 * consumed) and returns a store that runs it behind the fault injector; closing *out closes
 * the wrapped backend. *ctl controls the injector and stays valid until *out is closed. */
int fault_store_wrap(it_ctx *ctx, it_store *inner, it_store **out, fault_store **ctl);

/* The k-th call (1-based, counted from now) of op fails with code; every other call passes. */
void fault_store_arm(fault_store *f, fault_op op, uint64_t k, int code);
void fault_store_disarm(fault_store *f);
/* Whether the armed fault was injected. */
bool fault_store_fired(const fault_store *f);
/* Calls of op since wrapping (failed ones included). */
uint64_t fault_store_calls(const fault_store *f, fault_op op);

/* Calls fn for every chunk (tensor id, chunk coordinate) a put stored successfully. */
void fault_store_foreach_put(const fault_store *f,
                             void (*fn)(const char *id, const int64_t *chunk, int rank, void *user),
                             void *user);

#endif
