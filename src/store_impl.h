/* The generic store handle: a backend (ops + its state) and the open tensor handles. */
#ifndef ITI_STORE_IMPL_H
#define ITI_STORE_IMPL_H

#include <pthread.h>

#include "backend.h"

struct it_store {
    const iti_store_ops *ops;
    void *impl;
    it_ctx *ctx;
    pthread_mutex_t lock;       /* guards the tensor list */
    it_tensor *tensors;         /* open handles */
};

/* Links a resolved tensor into s and attaches it to the backend. A persistent store's record
 * of the id is compared with t (IT_EMISMATCH), or created from t when there is none; `opened`
 * tensors (it_tensor_open) were described from that record already. When the id is open in s:
 * IT_EEXIST without `existing`; with it, the open tensor is compared with t
 * (iti_tensor_same_config) and, when they match, gains a handle and is returned in *existing
 * (t is then not linked). */
int iti_store_register(it_store *s, it_tensor *t, bool opened, it_tensor **existing);
/* Unlinks and detaches t (which is not freed), whatever its handle count. */
void iti_store_unregister(it_tensor *t);
/* Drops one handle of t; when it was the last, unlinks and detaches t and returns true (the
 * caller frees it). Decrement and unlinking happen under the store's lock, where
 * iti_store_register counts reuses. */
bool iti_store_drop_handle(it_tensor *t);

#endif
