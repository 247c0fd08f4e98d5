/* What the store fuzzers do with a file: open it read-only as a store, list it, open every
 * tensor, take its stats and info, check its index, list a few chunks and read a small
 * region. Every call must return a status; nothing else is asserted. */
#ifndef IT_FUZZ_WALK_H
#define IT_FUZZ_WALK_H

#include <stdbool.h>
#include <stddef.h>

#include "infinite_tensor.h"

void fuzz_walk_store(it_ctx *ctx, const char *path);

/* The fuzzers' context (one thread, made on first use). */
it_ctx *fuzz_ctx(void);

/* A window function for 8x8 f32 windows: element i of window w is i + w[0]. */
int fuzz_ramp_fn(const it_window_batch *b, void *user);

/* The bytes of the file at path (malloc'd, *size of them); aborts when it cannot be read (the
 * fuzzers' own templates). */
unsigned char *fuzz_read_file(const char *path, size_t *size);

/* Writes data to path; false when it cannot. */
bool fuzz_write_file(const char *path, const unsigned char *data, size_t size);

#endif
