/* What the store fuzzers do with a file: open it read-only as a store, list it, open every
 * tensor, take its stats and info, check its index, list a few chunks and read a small
 * region. Every call must return a status; nothing else is asserted. */
#ifndef IT_FUZZ_WALK_H
#define IT_FUZZ_WALK_H

#include "infinite_tensor.h"

void fuzz_walk_store(it_ctx *ctx, const char *path);

#endif
