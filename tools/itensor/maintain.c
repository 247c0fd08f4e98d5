/* itensor verify, rm and compact. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
    bool json;
    FILE *bad_list;             /* --json: bad chunks as JSON objects, from bad_from the tensor's */
    char *bad_text;
    size_t bad_len;
    long bad_from;
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
        char box[IT_MAX_RANK * 48];
        cli_format_box(box, sizeof box, r.start, r.stop, v->rank);
        if (v->json) {
            fprintf(v->bad_list, "%s{\"region\": ", ftell(v->bad_list) > v->bad_from ? ", " : "");
            v->bad++;
            cli_json_string(v->bad_list, box);
            fputs(", \"error\": ", v->bad_list);
            cli_json_string(v->bad_list, cli_message());
            fputc('}', v->bad_list);
        } else {
            v->bad++;
            printf("  BAD chunk at %s: %s\n", box, cli_message());
        }
    }
    return 0;
}

/* --json: one tensor's object (error: what kept it from being checked, or NULL). */
static void json_tensor(verify_ctx *v, const char *id, uint64_t n, bool bad, const char *error,
                        const it_hdf5_index_report *ir) {
    printf("%s{\"id\": ", v->tensors > 1 ? ", " : "");
    cli_json_string(stdout, id);
    printf(", \"ok\": %s, \"chunks\": %llu, \"error\": ", bad ? "false" : "true",
           (unsigned long long)n);
    if (error)
        cli_json_string(stdout, error);
    else
        fputs("null", stdout);
    fflush(v->bad_list); /* bad_text holds what was written */
    printf(", \"bad_chunks\": [%s]", v->bad_text ? v->bad_text + v->bad_from : "");
    if (ir)
        printf(", \"index\": {\"rows_without_chunk\": %llu, \"chunks_not_indexed\": %llu, "
               "\"chunks_stored\": %llu}", (unsigned long long)ir->stale,
               (unsigned long long)ir->unindexed, (unsigned long long)ir->stored);
    putchar('}');
    v->bad_from = ftell(v->bad_list); /* the next tensor's list starts here */
}

static int verify_tensor(const char *id, void *user) {
    verify_ctx *v = user;
    v->tensors++;
    int rc = it_tensor_open(v->store, id, 0, &v->t);
    if (rc) {
        if (v->json)
            json_tensor(v, id, 0, true, cli_message(), NULL);
        else
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
        char why[1200];
        snprintf(why, sizeof why, "%s failed: %s", rc ? "listing its chunks" : "checking its index",
                 cli_message());
        if (v->json)
            json_tensor(v, id, v->chunks - before, true, why, NULL);
        else
            printf("%s: BAD: %s\n", id, why);
        v->broken++;
        return 0;
    }
    uint64_t n = v->chunks - before, bad = v->bad - bad_before;
    bool differs = ir.stale || ir.unindexed;
    if (v->json) {
        json_tensor(v, id, n, bad || differs, NULL, &ir);
        v->broken += bad || differs;
        return 0;
    }
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
        puts("Usage: itensor verify [--json] FILE\n\nOpens every tensor of the store (checking its "
             "metadata), reads and decodes every\nstored chunk, and compares the chunk index with "
             "HDF5's own chunk B-tree. Prints one\nline per tensor; exit status 1 if anything is "
             "wrong.\n\n  --json   one JSON document: file, tensors [{id, ok, chunks, error, "
             "bad_chunks\n           [{region, error}], index {rows_without_chunk, "
             "chunks_not_indexed,\n           chunks_stored}}], chunks_read, "
             "tensors_with_problems");
        return 0;
    }
    const char *pos[1];
    verify_ctx v = {0};
    int npos, prc = cli_parse(argc, argv, cli_json_option, cli_set_flag, &v.json, pos, 1, 1, &npos);
    if (prc)
        return prc;
    const char *file = pos[0];
    it_ctx *ctx = NULL;
    if (v.json && !(v.bad_list = open_memstream(&v.bad_text, &v.bad_len))) {
        fprintf(stderr, "itensor: verify: out of memory\n");
        return 1;
    }
    int rc = cli_context(&ctx, "verify") ? 1 : cli_open(ctx, file, false, NULL, 0, &v.store, NULL);
    if (rc == 0) {
        if (v.json) {
            cli_json_begin("file", file);
            fputs(", \"tensors\": [", stdout);
        }
        rc = it_store_list(v.store, verify_tensor, &v);
        it_store_close(v.store);
        rc = rc ? cli_fail("verify", rc) : 0;
    }
    if (ctx)
        it_ctx_destroy(ctx);
    free(v.buf);
    if (v.bad_list)
        fclose(v.bad_list);
    free(v.bad_text);
    if (rc)
        return rc;
    if (v.json)
        printf("], \"chunks_read\": %llu, \"tensors_with_problems\": %d}\n",
               (unsigned long long)v.chunks, v.broken);
    else
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

typedef struct rm_flags {
    bool force, json;
} rm_flags;

static int rm_option(int code, const char *value, void *user) {
    (void)value;
    rm_flags *f = user;
    if (code == 'f')
        f->force = true;
    else
        f->json = true;
    return 0;
}

static uint64_t file_bytes(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

int cmd_rm(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        puts("Usage: itensor rm [--json] FILE ID [--force]\n\nDeletes tensor ID (its group, "
             "metadata and data) from the store. Refuses when other\ntensors of the store read "
             "ID as an argument (it names them), unless --force.\nHDF5 does not shrink the "
             "file: 'itensor compact FILE' reclaims the space.\n\n"
             "  --force  delete even when other tensors read ID\n"
             "  --json   one JSON document: file, removed, file_bytes");
        return 0;
    }
    static const struct option opts[] = {{"force", no_argument, NULL, 'f'},
                                         {"json", no_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
    rm_flags fl = {0};
    const char *pos[2];
    int npos, prc = cli_parse(argc, argv, opts, rm_option, &fl, pos, 2, 2, &npos);
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
        else if (d.count && !fl.force) {
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
    }
    it_ctx_destroy(ctx);
    if (rc)
        return rc;
    uint64_t bytes = file_bytes(file);
    char size[32];
    cli_format_bytes(size, sizeof size, bytes, false);
    if (fl.json) {
        cli_json_begin("file", file);
        fputs(", \"removed\": ", stdout);
        cli_json_string(stdout, id);
        printf(", \"file_bytes\": %llu}\n", (unsigned long long)bytes);
    } else {
        printf("removed %s from %s; the file keeps its size (%s): 'itensor compact %s' "
               "reclaims the space\n", id, file, size, file);
    }
    return 0;
}

int cmd_compact(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        puts("Usage: itensor compact [--json] FILE\n\nRewrites the store without the space "
             "deleted tensors and rewritten metadata left\n(HDF5 never shrinks a file): every "
             "tensor is copied as stored (chunks are not\ndecoded) into a new store beside "
             "FILE, which is synced and renamed over FILE\nwhile FILE's writer lock is held. A "
             "failure or a kill leaves FILE as it was.\nNeeds room for the store's live data; "
             "fails while a writer has FILE open.\n\n"
             "  --json   one JSON document: file, tensors, bytes_before, bytes_after");
        return 0;
    }
    bool json = false;
    const char *pos[1];
    int npos, prc = cli_parse(argc, argv, cli_json_option, cli_set_flag, &json, pos, 1, 1, &npos);
    if (prc)
        return prc;
    it_ctx *ctx;
    if (cli_context(&ctx, "compact"))
        return 1;
    it_hdf5_compact_info info;
    int rc = it_hdf5_compact(ctx, pos[0], &info);
    it_ctx_destroy(ctx);
    if (rc)
        return cli_fail(pos[0], rc);
    if (json) {
        cli_json_begin("file", pos[0]);
        printf(", \"tensors\": %d, \"bytes_before\": %llu, \"bytes_after\": %llu}\n",
               info.tensors, (unsigned long long)info.bytes_before,
               (unsigned long long)info.bytes_after);
    } else {
        char a[32], b[32];
        cli_format_bytes(a, sizeof a, info.bytes_before, false);
        cli_format_bytes(b, sizeof b, info.bytes_after, false);
        printf("compacted %s: %d tensors, %s -> %s\n", pos[0], info.tensors, a, b);
    }
    return 0;
}
