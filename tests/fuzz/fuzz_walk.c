#include <stdio.h>
#include <stdlib.h>

#include "fuzz_walk.h"

typedef struct walk {
    it_store *s;
    int chunks;
} walk;

static int count_chunk(const int64_t *start, const int64_t *stop, void *user) {
    walk *w = user;
    (void)start;
    (void)stop;
    return ++w->chunks > 4; /* a few chunks per tensor are enough */
}

static int visit(const char *id, void *user) {
    walk *w = user;
    it_tensor *t;
    if (it_tensor_open(w->s, id, 0, &t))
        return 0;
    it_tensor_stats st;
    it_tensor_info in;
    it_hdf5_index_report ir;
    it_tensor_get_stats(t, &st);
    it_tensor_get_info(t, &in);
    it_hdf5_check_index(t, &ir);
    w->chunks = 0;
    it_tensor_foreach_chunk(t, count_chunk, w);
    /* a small read around the origin (finite dimensions from 0, which the reader checks) */
    it_region r;
    it_region_init(&r, in.rank);
    for (int d = 0; d < in.rank; d++) {
        r.start[d] = in.shape[d] == IT_INF ? -4 : 0;
        r.stop[d] = 4;
    }
    static float buf[1 << 14];
    it_tensor_read(t, &r, buf, sizeof buf);
    it_tensor_release(t);
    return 0;
}

void fuzz_walk_store(it_ctx *ctx, const char *path) {
    it_store *s;
    if (it_store_open_hdf5(ctx, path, IT_HDF5_READONLY, NULL, &s) == 0) {
        walk w = {s, 0};
        it_store_list(s, visit, &w);
        it_store_close(s);
    }
}

it_ctx *fuzz_ctx(void) {
    static it_ctx *ctx;
    if (!ctx) {
        it_ctx_options o;
        it_ctx_options_init(&o);
        o.threads = 1;
        it_ctx_create(&o, &ctx);
    }
    return ctx;
}

bool fuzz_write_file(const char *path, const unsigned char *data, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f)
        return false;
    bool ok = fwrite(data, 1, size, f) == size;
    return fclose(f) == 0 && ok;
}

int fuzz_ramp_fn(const it_window_batch *b, void *user) {
    (void)user;
    for (size_t k = 0; k < b->count; k++)
        for (size_t i = 0; i < 64; i++)
            ((float *)b->out[k])[i] = (float)(i + (size_t)b->index[k * 2]);
    return 0;
}

unsigned char *fuzz_read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f)
        abort();
    fseek(f, 0, SEEK_END);
    *size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*size ? *size : 1);
    if (!b || fread(b, 1, *size, f) != *size)
        abort();
    fclose(f);
    return b;
}
