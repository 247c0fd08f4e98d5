/* libFuzzer target: any bytes as a store file. Opens it read-only, lists its tensors, opens
 * each, takes its stats, cross-checks its chunk index and reads its first chunks. Whatever the
 * bytes, every call returns a status: no crash, no hang, no read past a buffer. Seeds: small
 * real stores (corpus/store_open). */
#include <stdio.h>
#include <unistd.h>

#include "fuzz_walk.h"

static char path[64];

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    if (!path[0])
        snprintf(path, sizeof path, "/dev/shm/it-fuzz-%d.h5", (int)getpid());
    if (fuzz_write_file(path, data, size))
        fuzz_walk_store(fuzz_ctx(), path);
    unlink(path);
    return 0;
}
