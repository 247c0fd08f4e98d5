/* itensor verify and rm. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

typedef struct verify_ctx {
    it_store *store;
    it_tensor *t;
    int64_t shape[IT_MAX_RANK];
    int rank;
    size_t esize;
    void *buf;
    size_t bufsize;
    uint64_t chunks, bad;
    int tensors, broken;
} verify_ctx;

/* Reads (so decodes and checks) one stored chunk, clipped to the finite dimensions. */
static int verify_chunk(const int64_t *start, const int64_t *stop, void *user) {
    verify_ctx *v = user;
    it_region r;
    it_region_init(&r, v->rank);
    size_t n = v->esize;
    for (int d = 0; d < v->rank; d++) {
        r.start[d] = start[d];
        r.stop[d] = v->shape[d] != IT_INF && stop[d] > v->shape[d] ? v->shape[d] : stop[d];
        n *= (size_t)(r.stop[d] - r.start[d]);
    }
    if (n > v->bufsize) {
        free(v->buf);
        v->buf = malloc(n);
        v->bufsize = v->buf ? n : 0;
        if (!v->buf) {
            fprintf(stderr, "itensor: verify: out of memory\n");
            return 1;
        }
    }
    v->chunks++;
    int rc = it_tensor_read(v->t, &r, v->buf, n);
    if (rc) {
        v->bad++;
        printf("  BAD chunk at");
        for (int d = 0; d < v->rank; d++)
            printf("%s%lld:%lld", d ? "," : " ", (long long)r.start[d], (long long)r.stop[d]);
        printf(": %s\n", cli_message());
    }
    return 0;
}

static int verify_tensor(const char *id, void *user) {
    verify_ctx *v = user;
    v->tensors++;
    int rc = it_tensor_open(v->store, id, 0, &v->t);
    if (rc) {
        printf("%s: BAD metadata: %s\n", id, cli_message());
        v->broken++;
        return 0;
    }
    it_tensor_info in;
    it_tensor_get_info(v->t, &in);
    memcpy(v->shape, in.shape, sizeof v->shape);
    v->rank = in.rank;
    v->esize = it_dtype_size(in.dtype);
    uint64_t before = v->chunks, bad_before = v->bad;
    rc = it_tensor_foreach_chunk(v->t, verify_chunk, v);
    /* The chunk index (what listings read) against HDF5's chunk B-tree (what is stored). */
    it_hdf5_index_report ir = {0};
    int irc = rc ? 0 : it_hdf5_check_index(v->t, &ir);
    it_tensor_release(v->t);
    it_store_clear_cache(v->store); /* verification should not hold memory */
    if (rc || irc) {
        printf("%s: BAD: %s failed: %s\n", id, rc ? "listing its chunks" : "checking its index",
               cli_message());
        v->broken++;
        return 0;
    }
    uint64_t n = v->chunks - before, bad = v->bad - bad_before;
    bool differs = ir.stale || ir.unindexed;
    printf("%s: %llu chunks, %s\n", id, (unsigned long long)n, bad || differs ? "BAD" : "ok");
    if (differs)
        printf("  chunk index differs from HDF5's chunk B-tree: %llu index rows without a chunk, "
               "%llu stored chunks not indexed (%llu in the B-tree)\n",
               (unsigned long long)ir.stale, (unsigned long long)ir.unindexed,
               (unsigned long long)ir.stored);
    if (bad || differs)
        v->broken++;
    return 0;
}

int cmd_verify(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        puts("usage: itensor verify FILE\n\nOpens every tensor of the store (checking its "
             "metadata), reads and decodes every\nstored chunk, and compares the chunk index with "
             "HDF5's own chunk B-tree. Prints one\nline per tensor; exit status 1 if anything is "
             "wrong.");
        return 0;
    }
    const char *pos[1];
    int npos, prc = cli_parse(argc, argv, cli_no_options, NULL, NULL, pos, 1, 1, &npos);
    if (prc)
        return prc;
    const char *file = pos[0];
    it_ctx *ctx;
    verify_ctx v = {0};
    if (cli_context(&ctx, "verify"))
        return 1;
    int rc = cli_open(ctx, file, false, NULL, 0, &v.store, NULL);
    if (rc) {
        it_ctx_destroy(ctx);
        return rc;
    }
    rc = it_store_list(v.store, verify_tensor, &v);
    it_store_close(v.store);
    it_ctx_destroy(ctx);
    free(v.buf);
    if (rc)
        return cli_fail("verify", rc);
    printf("%d tensors, %llu chunks read, %d with problems\n", v.tensors,
           (unsigned long long)v.chunks, v.broken);
    if (v.broken)
        fprintf(stderr, "itensor: verify: %s: %d of %d tensors have problems (%llu bad chunks)\n",
                file, v.broken, v.tensors, (unsigned long long)v.bad);
    return v.broken ? 1 : 0;
}

typedef struct dependants {
    it_store *store;
    const char *id;
    char names[512];
    int count;
} dependants;

/* Collects the stored tensors that read `id` as an argument. */
static int find_dependant(const char *other, void *user) {
    dependants *d = user;
    it_tensor *t;
    if (strcmp(other, d->id) == 0 || it_tensor_open(d->store, other, 0, &t) != 0)
        return 0; /* an unreadable tensor cannot be checked; verify reports it */
    it_tensor_info in;
    it_tensor_get_info(t, &in);
    for (size_t i = 0; i < in.n_arg_ids; i++) {
        if (strcmp(in.arg_ids[i], d->id) == 0) {
            size_t used = strlen(d->names);
            snprintf(d->names + used, sizeof d->names - used, "%s%s", d->count ? ", " : "", other);
            d->count++;
            break;
        }
    }
    it_tensor_release(t);
    return 0;
}

static int set_flag(int code, const char *value, void *user) {
    (void)code, (void)value;
    *(bool *)user = true;
    return 0;
}

int cmd_rm(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        puts("usage: itensor rm FILE ID [--force]\n\nDeletes tensor ID (its group, metadata and "
             "data) from the store. Refuses when other\ntensors of the store read ID as an "
             "argument (it names them), unless --force.\nHDF5 does not shrink the file; h5repack "
             "reclaims the space.");
        return 0;
    }
    static const struct option opts[] = {{"force", no_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
    bool force = false;
    const char *pos[2];
    int npos, prc = cli_parse(argc, argv, opts, set_flag, &force, pos, 2, 2, &npos);
    if (prc)
        return prc;
    const char *file = pos[0], *id = pos[1];
    it_ctx *ctx;
    it_store *s;
    it_tensor *t;
    if (cli_context(&ctx, "rm"))
        return 1;
    /* check read-only first, so that a refused rm leaves the file untouched */
    int rc = cli_open(ctx, file, false, id, 0, &s, &t);
    if (rc == 0) {
        it_tensor_release(t);
        dependants d = {.store = s, .id = id};
        int lrc = it_store_list(s, find_dependant, &d);
        it_store_close(s);
        if (lrc)
            rc = cli_fail("rm", lrc);
        else if (d.count && !force) {
            fprintf(stderr, "itensor: rm: %s is an argument of %s; deleting it leaves %s unable "
                    "to recompute (--force deletes it anyway)\n", id, d.names,
                    d.count > 1 ? "them" : "it");
            rc = 1;
        }
    }
    if (rc == 0)
        rc = cli_open(ctx, file, true, NULL, 0, &s, NULL);
    if (rc == 0) {
        int drc = it_store_delete_tensor(s, id);
        int crc = it_store_close(s);
        rc = drc ? cli_fail("rm", drc) : crc ? cli_fail("rm", crc) : 0;
        if (rc == 0)
            printf("removed %s from %s\n", id, file);
    }
    it_ctx_destroy(ctx);
    return rc;
}
