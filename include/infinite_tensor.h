/* infinite-tensor: tensors with unbounded dimensions, filled on demand by window functions
 * and stored in sparse chunked tile stores. Umbrella header: includes every module. */
#ifndef INFINITE_TENSOR_H
#define INFINITE_TENSOR_H

#include "infinite_tensor/version.h"
#include "infinite_tensor/error.h"
#include "infinite_tensor/types.h"
#include "infinite_tensor/window.h"
#include "infinite_tensor/region.h"
#include "infinite_tensor/context.h"
#include "infinite_tensor/store.h"
#include "infinite_tensor/tensor.h"
#include "infinite_tensor/views.h"
#include "infinite_tensor/hdf5.h"
#include "infinite_tensor/export.h"

#endif
