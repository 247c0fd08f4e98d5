// The C++ consumer of an installed infinite-tensor (tests/downstream.sh): every public header
// included from C++, a tensor computed on demand by a C++ function, a read. Prints "ok".
#include <infinite_tensor.h>
#include <infinite_tensor/context.h>
#include <infinite_tensor/error.h>
#include <infinite_tensor/export.h>
#include <infinite_tensor/hdf5.h>
#include <infinite_tensor/region.h>
#include <infinite_tensor/store.h>
#include <infinite_tensor/tensor.h>
#include <infinite_tensor/types.h>
#include <infinite_tensor/version.h>
#include <infinite_tensor/visibility.h>
#include <infinite_tensor/window.h>

#include <cstdio>
#include <vector>

static int ramp(const it_window_batch *b, void *) {
    for (size_t k = 0; k < b->count; k++) {
        float *out = static_cast<float *>(b->out[k]);
        for (int64_t i = 0; i < b->out_shape[0]; i++)
            out[i] = static_cast<float>(b->index[k] * b->out_shape[0] + i);
    }
    return 0;
}

int main() {
    it_ctx *ctx = nullptr;
    it_store *store = nullptr;
    if (it_ctx_create(nullptr, &ctx) || it_store_open_memory(ctx, nullptr, &store)) {
        std::fprintf(stderr, "%s\n", it_last_error());
        return 1;
    }
    it_tensor_desc d;
    it_tensor_desc_init(&d, 1);
    d.shape[0] = IT_INF;
    int64_t size[1] = {16};
    it_window_init(&d.window, 1, size);
    d.fn = ramp;
    it_tensor *t = nullptr;
    std::vector<float> v(40);
    it_region r;
    int64_t start[1] = {-20}, stop[1] = {20};
    it_region_set(&r, 1, start, stop, nullptr);
    if (it_tensor_create(store, &d, &t) ||
        it_tensor_read(t, &r, v.data(), v.size() * sizeof(float))) {
        std::fprintf(stderr, "%s\n", it_last_error());
        return 1;
    }
    for (int i = 0; i < 40; i++)
        if (v[i] != static_cast<float>(i - 20))
            return 1;
    it_store_close(store);
    it_ctx_destroy(ctx);
    std::printf("ok: C++, infinite-tensor %s, codec %s\n", it_version_string(),
                it_compression_name(IT_COMPRESSION_DEFLATE));
    return 0;
}
