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
 * tensors (it_tensor_open) were described from that record already. IT_EEXIST when the id is
 * open in s. */
int iti_store_register(it_store *s, it_tensor *t, bool opened);
/* Unlinks and detaches t (which is not freed). */
void iti_store_unregister(it_tensor *t);

#endif
