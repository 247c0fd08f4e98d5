/* infinite-tensor: filling a tensor across MPI ranks into one store (the optional
 * infinite_tensor_mpi component; built when MPI is found).
 *
 * SPMD, one writer: every rank runs the same program and builds the same tensor graph (same
 * ids, descriptions, functions and fn_tags). On rank 0 of the communicator (the writer) the
 * filled tensor lives in a store opened for writing (an HDF5 store, or a memory store when the
 * writer process uses the result itself); on the other ranks it and its upstream tensors live
 * in memory stores. it_mpi_fill is collective: the writer lists the
 * chunks of the region its store lacks (a rerun resumes), cuts them into units (bands of whole
 * chunk rows) and hands them out on demand; a worker walks a unit like a fill with its own
 * threads (upstream tensors locally, halos shared inside the unit and computed again at its
 * edges), encodes each chunk with the store's codec and sends the bytes, which the writer stores
 * as they are and commits as it goes (every two units' worth of chunks, every 64 MiB received
 * and at least every second, so a writer killed early keeps what it had). The writer computes units too, on a helper thread, while
 * its calling thread serves the workers (only that thread calls MPI; initialise MPI with at
 * least MPI_THREAD_FUNNELED when you mind the letter of the standard). The stored chunks are
 * byte for byte those of a single-process fill, whatever the number of ranks and threads;
 * upstream tensors in the writer's store hold what its own units computed.
 *
 * The component is a static library that brings the static core: link
 * infinite_tensor::infinite_tensor_mpi instead of infinite_tensor::infinite_tensor. */
#ifndef INFINITE_TENSOR_MPI_H
#define INFINITE_TENSOR_MPI_H

#include <mpi.h>

#include "infinite_tensor/tensor.h"

typedef struct it_mpi_fill_options {
    size_t struct_size;          /* set by it_mpi_fill_options_init */
    int64_t unit[IT_MAX_RANK];   /* chunks per work unit along each dimension; 0 entries =
                                    default: bands of whole rows (the last dimension whole,
                                    the one before cut into one band per rank, at most 16
                                    chunks tall, dimensions before that 1 chunk) */
    int writer_idle;             /* 1: the writer only writes (0: it computes units too) */
} it_mpi_fill_options;

#ifdef __cplusplus
extern "C" {
#endif

IT_API void it_mpi_fill_options_init(it_mpi_fill_options *opts);

/* Collective over comm: fills `region` of t (rank 0's tensor is in a writable HDF5 or memory
 * store, the others' in memory stores, all from the same description). Every rank returns the same status and
 * it_last_error() message: an fn error or a store error on any rank ends the call on all of
 * them (IT_ECALLBACK, IT_EIO, ...), after the units under way finish; no partial chunk is
 * stored, and every chunk written before stays. Progress goes to the writer's context callback
 * as chunks done of chunks missing; cancelling there stops every rank (IT_ECANCELED).
 * IT_EMISMATCH when the ranks' tensors differ (id, shape, dtype or chunking); IT_EINVAL for
 * bad arguments or when rank 0's tensor is not in a writable store that takes chunks encoded
 * elsewhere (HDF5 and memory stores do). A rank killed during
 * the call ends the job (MPI's behaviour): the store keeps what was flushed, and the same call
 * run again computes only the chunks still missing. */
IT_API int it_mpi_fill(it_tensor *t, const it_region *region, MPI_Comm comm,
                       const it_mpi_fill_options *opts);

#ifdef __cplusplus
}
#endif
#endif
