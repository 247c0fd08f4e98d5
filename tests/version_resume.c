/* Reads, resumes and reads again a store written by tests/interop_write.c, maybe with another
 * HDF5 release (tests/hdf5_versions.sh): its g2 holds golden values over [-40, 40) x [-24, 32).
 * Usage: version_resume STORE
 * STORE is changed: g2 grows to [-40, 56) x [-24, 48), computing only the 38 windows missing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#define STORED_WINDOWS 70 /* 10 x 7 windows of 8 x 8 */
#define GROWN_WINDOWS 108 /* 12 x 9 */

static const char *path;

/* Reports a failure; detail NULL: the library's last error. Returns 1. */
static int fail(const char *what, const char *detail) {
    fprintf(stderr, "version_resume: %s: %s: %s\n", path, what, detail ? detail : it_last_error());
    return 1;
}

/* Region r of g2 computed in a memory store: the values every release must read back. */
static float *expected(it_ctx *ctx, const it_region *r, size_t n) {
    it_store *s;
    it_tensor *t;
    it_tensor_desc d;
    golden_g2_desc(&d, NULL);
    float *v = malloc(n * sizeof *v);
    if (!v || it_store_open_memory(ctx, NULL, &s))
        return free(v), NULL;
    if (it_tensor_create(s, &d, &t) || it_tensor_read(t, r, v, n * sizeof *v))
        free(v), v = NULL;
    it_store_close(s);
    return v;
}

/* Reads region r of the stored g2 (opened without a function) and compares it with want. */
static int check_stored(it_ctx *ctx, const it_region *r, const float *want, size_t n,
                        const char *when) {
    it_store *s;
    it_tensor *t;
    float *got = malloc(n * sizeof *got);
    int rc = got ? it_store_open_hdf5(ctx, path, IT_HDF5_READONLY, NULL, &s) : IT_ENOMEM;
    if (rc)
        return free(got), fail(when, NULL);
    if ((rc = it_tensor_open(s, "g2", 0, &t)) == 0)
        rc = it_tensor_read(t, r, got, n * sizeof *got);
    int bad = rc ? fail(when, NULL) : 0;
    if (!bad && memcmp(got, want, n * sizeof *got) != 0)
        bad = fail(when, "values differ from a fresh computation");
    it_store_close(s);
    free(got);
    return bad;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: version_resume STORE\n");
        return 2;
    }
    path = argv[1];
    it_ctx *ctx;
    if (it_ctx_create(NULL, &ctx))
        return fail("it_ctx_create", NULL);
    it_region stored = region2(-40, 40, -24, 32), grown = region2(-40, 56, -24, 48);
    size_t ns = 80 * 56, ng = 96 * 72;
    float *want_stored = expected(ctx, &stored, ns), *want_grown = expected(ctx, &grown, ng);
    if (!want_stored || !want_grown)
        return fail("computing the expected values", NULL);
    int bad = check_stored(ctx, &stored, want_stored, ns, "reading what was stored");

    /* Resume: reconnect with the same description, fill the larger region. */
    golden_gen gen = {0};
    it_tensor_desc d;
    golden_g2_desc(&d, &gen);
    it_store *s;
    it_tensor *t;
    int rc = it_store_open_hdf5(ctx, path, IT_HDF5_READWRITE, NULL, &s);
    if (rc == 0 && (rc = it_tensor_create(s, &d, &t)) == 0)
        rc = it_tensor_fill(t, &grown);
    if (rc == 0)
        rc = it_store_close(s), s = NULL;
    char why[96];
    snprintf(why, sizeof why, "computed %ld windows, %d were missing", (long)gen.calls,
             GROWN_WINDOWS - STORED_WINDOWS);
    if (rc)
        bad |= fail("resuming the fill", NULL);
    else if (gen.calls != GROWN_WINDOWS - STORED_WINDOWS)
        bad |= fail("resuming the fill", why);
    it_store_close(s); /* after a failure: the message above was the failure's */
    if (!bad)
        bad |= check_stored(ctx, &grown, want_grown, ng, "reading after the resume");
    if (!bad)
        printf("%s: %zu stored values read, %ld windows computed on resume, %zu values read "
               "back\n", path, ns, (long)gen.calls, ng);
    free(want_stored);
    free(want_grown);
    it_ctx_destroy(ctx);
    return bad;
}
