/* libFuzzer target: any bytes as a store file. Opens it read-only, lists its tensors, opens
 * each, takes its stats, cross-checks its chunk index and reads its first chunks. Whatever the
 * bytes, every call returns a status: no crash, no hang, no read past a buffer. Seeds: small
 * real stores (corpus/store_open). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "infinite_tensor.h"

static it_ctx *ctx;
static char path[64];

typedef struct walk {
    it_store *s;
    int chunks;
} walk;

static int read_chunk(const int64_t *start, const int64_t *stop, void *user) {
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
    it_tensor_foreach_chunk(t, read_chunk, w);
    /* one small read at the origin of every dimension (finite dimensions from 0) */
    it_region r;
    it_region_init(&r, in.rank);
    for (int d = 0; d < in.rank; d++)
        r.stop[d] = 2;
    static unsigned char buf[1 << 12];
    it_tensor_read(t, &r, buf, sizeof buf);
    it_tensor_release(t);
    return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    if (!ctx) {
        it_ctx_options o;
        it_ctx_options_init(&o);
        o.threads = 1;
        it_ctx_create(&o, &ctx);
        snprintf(path, sizeof path, "/dev/shm/it-fuzz-%d.h5", (int)getpid());
    }
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    it_store *s;
    if (it_store_open_hdf5(ctx, path, IT_HDF5_READONLY, NULL, &s) == 0) {
        walk w = {s, 0};
        it_store_list(s, visit, &w);
        it_store_close(s);
    }
    unlink(path);
    return 0;
}
