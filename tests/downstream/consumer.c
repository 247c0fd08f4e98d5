/* A downstream program, built against an installed infinite-tensor (tests/downstream.sh): a
 * tensor computed on demand, a read, an HDF5 store round trip. Prints "ok" and exits 0. */
#include <stdio.h>
#include <string.h>

#include <infinite_tensor.h>

static int ramp(const it_window_batch *b, void *user) {
    (void)user;
    for (size_t k = 0; k < b->count; k++) {
        float *out = b->out[k];
        for (int64_t i = 0; i < b->out_shape[0]; i++)
            out[i] = (float)(b->index[k] * b->out_shape[0] + i);
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "consumer.h5";
    it_ctx *ctx;
    it_store *store;
    if (it_ctx_create(NULL, &ctx) || it_store_open_hdf5(ctx, path, IT_HDF5_CREATE, NULL, &store))
        return fprintf(stderr, "%s\n", it_last_error()), 1;
    it_tensor_desc d;
    it_tensor_desc_init(&d, 1);
    d.id = "ramp";
    d.shape[0] = IT_INF;
    int64_t size[1] = {16};
    it_window_init(&d.window, 1, size);
    d.fn = ramp;
    it_tensor *t;
    float v[40];
    it_region r;
    int64_t start[1] = {-20}, stop[1] = {20};
    it_region_set(&r, 1, start, stop, NULL);
    if (it_tensor_create(store, &d, &t) || it_tensor_read(t, &r, v, sizeof v) ||
        it_store_close(store))
        return fprintf(stderr, "%s\n", it_last_error()), 1;
    for (int i = 0; i < 40; i++)
        if (v[i] != (float)(i - 20))
            return fprintf(stderr, "value %d is %g\n", i, (double)v[i]), 1;
    it_ctx_destroy(ctx);
    printf("ok: infinite-tensor %s, read [-20, 20) of a stored tensor\n", it_version_string());
    return 0;
}
