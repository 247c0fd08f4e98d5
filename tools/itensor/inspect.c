/* itensor ls and info. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char *blend_name(it_blend b) {
    const char *name = it_blend_name(b);
    return name ? name : "?";
}

typedef struct ls_ctx {
    it_store *store;
    int tensors, failures;
    char first_bad[300];  /* "id: reason" of the first unreadable tensor */
} ls_ctx;

static void ls_broken(ls_ctx *l, const char *id, const char *what) {
    printf("%-24s  (%s: %s)\n", id, what, it_last_error());
    if (!l->failures++)
        snprintf(l->first_bad, sizeof l->first_bad, "%s: %s", id, it_last_error());
}

static int ls_one(const char *id, void *user) {
    ls_ctx *l = user;
    it_tensor *t;
    l->tensors++;
    int rc = it_tensor_open(l->store, id, 0, &t);
    if (rc) {
        ls_broken(l, id, "unreadable");
        return 0;
    }
    it_tensor_info in;
    it_tensor_stats st;
    it_tensor_get_info(t, &in);
    if ((rc = it_tensor_get_stats(t, &st))) {
        ls_broken(l, id, "stats failed");
        it_tensor_release(t);
        return 0;
    }
    char shape[128], chunk[128], box[512] = "-";
    cli_format_shape(shape, sizeof shape, in.shape, in.rank);
    cli_format_shape(chunk, sizeof chunk, in.chunk, in.rank);
    if (st.chunks) {
        size_t used = 0;
        for (int d = 0; d < in.rank && used < sizeof box; d++)
            used += (size_t)snprintf(box + used, sizeof box - used, "%s%lld:%lld", d ? "," : "",
                                     (long long)st.bbox_start[d], (long long)st.bbox_stop[d]);
    }
    printf("%-24s %-18s %-4s chunk %-16s %8llu chunks %12llu bytes  [%s]\n", id, shape,
           it_dtype_name(in.dtype), chunk, (unsigned long long)st.chunks,
           (unsigned long long)st.stored_bytes, box);
    it_tensor_release(t);
    return 0;
}

int cmd_ls(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        puts("usage: itensor ls FILE\n\nLists the tensors of a store: id, shape (inf = infinite),"
             " dtype, chunk shape,\nstored chunks, stored bytes and the bounding box of stored "
             "data in pixels.");
        return 0;
    }
    if (argc != 2)
        return cli_usage_error("ls takes one FILE");
    it_ctx *ctx;
    it_store *s;
    if (cli_context(&ctx, "ls"))
        return 1;
    int rc = cli_open(ctx, argv[1], false, NULL, 0, &s, NULL);
    if (rc) {
        it_ctx_destroy(ctx);
        return rc;
    }
    printf("%-24s %-18s %-4s %-22s %15s %18s  %s\n", "ID", "SHAPE", "TYPE", "CHUNK", "STORED",
           "BYTES", "BOUNDING BOX");
    ls_ctx l = {.store = s};
    int lrc = it_store_list(s, ls_one, &l);
    it_store_close(s);
    it_ctx_destroy(ctx);
    if (lrc)
        return cli_fail("listing", lrc);
    if (l.failures)
        fprintf(stderr, "itensor: ls: %s: %d of %d tensors unreadable (first: %s)\n", argv[1],
                l.failures, l.tensors, l.first_bad);
    return l.failures ? 1 : 0;
}

static void print_window(const char *label, const it_window *w) {
    char a[160], b[160], c[160], m[160];
    int64_t map[IT_MAX_RANK];
    for (int d = 0; d < w->rank; d++)
        map[d] = w->map[d];
    cli_format_array(a, sizeof a, w->size, w->rank);
    cli_format_array(b, sizeof b, w->stride, w->rank);
    cli_format_array(c, sizeof c, w->offset, w->rank);
    cli_format_array(m, sizeof m, map, w->rank);
    printf("%s size %s stride %s offset %s map %s\n", label, a, b, c, m);
}

/* The argument graph below tensor `id`, indented by depth. */
static void print_graph(it_store *s, const char *id, int depth) {
    it_tensor *t;
    if (depth > 16 || it_tensor_open(s, id, 0, &t) != 0) {
        printf("%*s%s (not in this store)\n", 2 * depth, "", id);
        return;
    }
    it_tensor_info in;
    it_tensor_get_info(t, &in);
    char shape[128];
    cli_format_shape(shape, sizeof shape, in.shape, in.rank);
    printf("%*s%s %s %s\n", 2 * depth, "", id, shape, it_dtype_name(in.dtype));
    size_t n = in.n_arg_ids;
    char ids[64][IT_ID_MAX + 1];
    for (size_t i = 0; i < n && i < 64; i++)
        snprintf(ids[i], sizeof ids[i], "%s", in.arg_ids[i]);
    it_tensor_release(t); /* a tensor may appear twice in the graph */
    for (size_t i = 0; i < n && i < 64; i++)
        print_graph(s, ids[i], depth + 1);
}

int cmd_info(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        puts("usage: itensor info FILE ID\n\nPrints every stored field of a tensor: shape, dtype,"
             " window, blend, chunk grid,\nfunction tag, stored data, and its arguments with "
             "their windows (recursively).");
        return 0;
    }
    if (argc != 3)
        return cli_usage_error("info takes FILE and ID");
    it_ctx *ctx;
    it_store *s;
    it_tensor *t;
    if (cli_context(&ctx, "info"))
        return 1;
    int rc = cli_open(ctx, argv[1], false, argv[2], 0, &s, &t);
    if (rc) {
        it_ctx_destroy(ctx);
        return rc;
    }
    it_tensor_info in;
    it_tensor_stats st;
    it_tensor_get_info(t, &in);
    rc = it_tensor_get_stats(t, &st);
    char buf[256];
    printf("tensor      %s\n", in.id);
    cli_format_shape(buf, sizeof buf, in.shape, in.rank);
    printf("shape       %s\n", buf);
    printf("dtype       %s\n", it_dtype_name(in.dtype));
    print_window("window     ", &in.window);
    printf("blend       %s, blend_init %g\n", blend_name(in.blend), in.blend_init);
    cli_format_array(buf, sizeof buf, in.chunk, in.rank);
    printf("chunk       %s", buf);
    cli_format_array(buf, sizeof buf, in.grid_offset, in.rank);
    printf(", grid offset %s\n", buf);
    printf("fn_tag      \"%s\"\n", in.fn_tag);
    if (rc == 0) {
        printf("stored      %llu chunks, %llu bytes", (unsigned long long)st.chunks,
               (unsigned long long)st.stored_bytes);
        if (st.chunks) {
            printf(", bounding box ");
            for (int d = 0; d < in.rank; d++)
                printf("%s%lld:%lld", d ? "," : "", (long long)st.bbox_start[d],
                       (long long)st.bbox_stop[d]);
        }
        printf("\n");
    }
    printf("args        %zu\n", in.n_arg_ids);
    for (size_t i = 0; i < in.n_arg_ids; i++) {
        printf("  [%zu] %s\n", i, in.arg_ids[i]);
        print_window("      window", &in.arg_windows[i]);
    }
    if (in.n_arg_ids) {
        printf("graph\n");
        char id[IT_ID_MAX + 1];
        snprintf(id, sizeof id, "%s", in.id);
        it_tensor_release(t);
        print_graph(s, id, 1);
    }
    it_store_close(s);
    it_ctx_destroy(ctx);
    return rc ? cli_fail("stats", rc) : 0;
}
