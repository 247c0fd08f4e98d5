/* A C analysis program: opens a store read-only (no generating function needed), reads a
 * region of a stored tensor and prints statistics. Chunks that were never computed are an
 * error unless --fill is given (then they read as the tensor's blend_init).
 *
 * Usage: analyze STORE.h5 TENSOR REGION [--fill]
 *   e.g. analyze demo-out/store.h5 smooth -512:512,-512:512 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infinite_tensor.h"

int main(int argc, char **argv) {
    if (argc < 4 || argc > 5 || (argc == 5 && strcmp(argv[4], "--fill") != 0)) {
        fprintf(stderr, "usage: analyze STORE.h5 TENSOR REGION [--fill]\n");
        return 2;
    }
    it_ctx *ctx;
    it_store *store;
    it_tensor *t;
    int rc = it_ctx_create(NULL, &ctx);
    if (rc == 0)
        rc = it_store_open_hdf5(ctx, argv[1], IT_HDF5_READONLY, NULL, &store);
    if (rc == 0)
        rc = it_tensor_open(store, argv[2], argc == 5 ? IT_OPEN_FILL_MISSING : 0, &t);
    if (rc) {
        fprintf(stderr, "analyze: %s\n", it_last_error());
        return 1;
    }
    it_tensor_info info;
    it_tensor_get_info(t, &info);
    it_region r;
    size_t n;
    if ((rc = it_region_parse(argv[3], info.rank, info.shape, &r)) || (rc = it_region_count(&r, &n))) {
        fprintf(stderr, "analyze: %s\n", it_last_error());
        return 1;
    }
    size_t bytes = n * it_dtype_size(info.dtype);
    void *buf = malloc(bytes ? bytes : 1);
    if (!buf || (rc = it_tensor_read(t, &r, buf, bytes))) {
        fprintf(stderr, "analyze: %s\n", buf ? it_last_error() : "out of memory");
        return 1;
    }
    double lo = INFINITY, hi = -INFINITY, sum = 0, sq = 0;
    for (size_t i = 0; i < n; i++) {
        double v = it_dtype_load(info.dtype, buf, i);
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
        sum += v;
        sq += v * v;
    }
    double mean = n ? sum / (double)n : 0;
    printf("%s %s [%s]: %zu values (%s)\n", argv[1], argv[2], argv[3], n, it_dtype_name(info.dtype));
    printf("  min %.6g  max %.6g  mean %.6g  sd %.6g\n", lo, hi, mean,
           n ? sqrt(fmax(sq / (double)n - mean * mean, 0)) : 0);
    free(buf);
    it_store_close(store);
    it_ctx_destroy(ctx);
    return 0;
}
