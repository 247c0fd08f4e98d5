/* libFuzzer target: any bytes as a store file. Opens it read-only, lists its tensors, opens
 * each, takes its stats, cross-checks its chunk index and reads its first chunks. Whatever the
 * bytes, every call returns a status: no crash, no hang, no read past a buffer. Seeds: small
 * real stores (corpus/store_open). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz_walk.h"

static it_ctx *ctx;
static char path[64];

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
    fuzz_walk_store(ctx, path);
    unlink(path);
    return 0;
}
