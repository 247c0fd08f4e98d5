/* The generic store handle: a backend (ops + its state) and the open tensor handles
 * (tensor_handles.c keeps the list). */
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

#endif
