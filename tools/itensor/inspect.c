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
    bool json, exact;
    int tensors, failures;
    char first_bad[300];  /* "id: reason" of the first unreadable tensor */
} ls_ctx;

static void ls_broken(ls_ctx *l, const char *id, const char *what) {
    if (l->json) {
        printf("%s\n    {\"id\": ", l->tensors > 1 ? "," : "");
        cli_json_string(stdout, id);
        printf(", \"error\": ");
        cli_json_string(stdout, cli_message());
        printf("}");
    } else {
        printf("%-24s  (%s: %s)\n", id, what, cli_message());
    }
    if (!l->failures++)
        snprintf(l->first_bad, sizeof l->first_bad, "%s: %s", id, cli_message());
}

/* "shape": [3, null, null]: infinite dimensions are null. */
static void json_shape(const int64_t *shape, int rank) {
    putchar('[');
    for (int d = 0; d < rank; d++) {
        if (shape[d] == IT_INF)
            printf(d ? ", null" : "null");
        else
            printf(d ? ", %lld" : "%lld", (long long)shape[d]);
    }
    putchar(']');
}

/* The keys ls and info share, in JSON (no braces). */
static void json_common(const it_tensor_info *in, const it_tensor_stats *st,
                        const it_hdf5_layout *lay) {
    printf("\"id\": ");
    cli_json_string(stdout, in->id);
    printf(", \"shape\": ");
    json_shape(in->shape, in->rank);
    printf(", \"dtype\": \"%s\", \"chunk\": ", it_dtype_name(in->dtype));
    cli_json_array(stdout, in->chunk, in->rank);
    printf(", \"stored_chunks\": %llu, \"stored_bytes\": %llu, \"bounding_box\": ",
           (unsigned long long)st->chunks, (unsigned long long)st->stored_bytes);
    if (st->chunks) {
        char box[512];
        cli_format_box(box, sizeof box, st->bbox_start, st->bbox_stop, in->rank);
        printf("{\"start\": ");
        cli_json_array(stdout, st->bbox_start, in->rank);
        printf(", \"stop\": ");
        cli_json_array(stdout, st->bbox_stop, in->rank);
        printf(", \"region\": ");
        cli_json_string(stdout, box);
        putchar('}');
    } else {
        printf("null");
    }
    printf(", \"data_path\": ");
    cli_json_string(stdout, lay->data_path);
    printf(", \"origin\": ");
    cli_json_array(stdout, lay->origin, in->rank);
    printf(", \"compression\": \"%s\", \"compression_level\": %d",
           it_compression_name(lay->compression), lay->compression_level);
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
    it_hdf5_layout lay;
    it_tensor_get_info(t, &in);
    if ((rc = it_tensor_get_stats(t, &st)) || (rc = it_hdf5_tensor_layout(t, &lay))) {
        ls_broken(l, id, "stats failed");
        it_tensor_release(t);
        return 0;
    }
    if (l->json) {
        printf("%s\n    {", l->tensors > 1 ? "," : "");
        json_common(&in, &st, &lay);
        printf("}");
        it_tensor_release(t);
        return 0;
    }
    char shape[128], chunk[128], box[512] = "-", bytes[32];
    cli_format_shape(shape, sizeof shape, in.shape, in.rank);
    cli_format_shape(chunk, sizeof chunk, in.chunk, in.rank);
    cli_format_bytes(bytes, sizeof bytes, st.stored_bytes, l->exact);
    if (st.chunks)
        cli_format_box(box, sizeof box, st.bbox_start, st.bbox_stop, in.rank);
    printf("%-24s %-18s %-4s %-16s %-7s %8llu chunks %12s  %s\n", id, shape,
           it_dtype_name(in.dtype), chunk, it_compression_name(lay.compression),
           (unsigned long long)st.chunks, bytes, box);
    it_tensor_release(t);
    return 0;
}

typedef struct view_opts {
    bool json, exact;
} view_opts;

static const struct option view_options[] = {
    {"json", no_argument, NULL, 'j'}, {"bytes", no_argument, NULL, 'b'}, {NULL, 0, NULL, 0}};

static int on_view_option(int code, const char *value, void *user) {
    (void)value;
    view_opts *v = user;
    if (code == 'j')
        v->json = true;
    else
        v->exact = true;
    return 0;
}

int cmd_ls(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        puts("Usage: itensor ls [--json] [-b] FILE\n\nLists the tensors of a store: id, shape "
             "(inf = infinite), dtype, chunk shape,\ncompression, stored chunks, stored bytes and"
             " the bounding box of stored data in\npixels, in the region syntax --region accepts."
             "\n\n  --json      machine-readable output (stable keys; infinite dimensions null)\n"
             "  -b, --bytes exact byte counts instead of KiB/MiB/GiB");
        return 0;
    }
    view_opts v = {0};
    const char *pos[1];
    int npos;
    int rc = cli_parse(argc, argv, view_options, on_view_option, &v, pos, 1, 1, &npos);
    if (rc)
        return rc;
    it_ctx *ctx;
    it_store *s;
    if (cli_context(&ctx, "ls"))
        return 1;
    if ((rc = cli_open(ctx, pos[0], false, NULL, 0, &s, NULL))) {
        it_ctx_destroy(ctx);
        return rc;
    }
    if (v.json) {
        printf("{\"file\": ");
        cli_json_string(stdout, pos[0]);
        printf(", \"tensors\": [");
    } else {
        printf("%-24s %-18s %-4s %-16s %-7s %15s %12s  %s\n", "ID", "SHAPE", "TYPE", "CHUNK",
               "CODEC", "STORED", "BYTES", "BOUNDING BOX");
    }
    ls_ctx l = {.store = s, .json = v.json, .exact = v.exact};
    int lrc = it_store_list(s, ls_one, &l);
    if (v.json)
        printf("%s]}\n", l.tensors ? "\n" : "");
    it_store_close(s);
    it_ctx_destroy(ctx);
    if (lrc)
        return cli_fail("listing", lrc);
    if (l.failures)
        fprintf(stderr, "itensor: ls: %s: %d of %d tensors unreadable (first: %s)\n", pos[0],
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

static void json_window(const it_window *w) {
    int64_t map[IT_MAX_RANK];
    for (int d = 0; d < w->rank; d++)
        map[d] = w->map[d];
    printf("{\"size\": ");
    cli_json_array(stdout, w->size, w->rank);
    printf(", \"stride\": ");
    cli_json_array(stdout, w->stride, w->rank);
    printf(", \"offset\": ");
    cli_json_array(stdout, w->offset, w->rank);
    printf(", \"map\": ");
    cli_json_array(stdout, map, w->rank);
    putchar('}');
}

/* The weighted blend's profile parameters, as "[a, b]" (-1 = flat along that dimension). */
static void format_reals(char *buf, size_t size, const double *v, int n) {
    size_t used = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < n && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, i ? ", %.17g" : "%.17g", v[i]);
    if (used < size)
        snprintf(buf + used, size - used, "]");
}

static void json_weight(const it_tensor_info *in) {
    const it_weight_profile *w = &in->weight;
    char buf[512];
    if (in->blend != IT_BLEND_WEIGHTED) {
        printf("null");
        return;
    }
    printf("{\"profile\": \"%s\", \"border\": ", it_weight_kind_name(w->kind));
    cli_json_array(stdout, w->border, in->rank);
    format_reals(buf, sizeof buf, w->sigma, in->rank);
    printf(", \"sigma\": %s, \"floor\": %.17g, \"array_sha256\": ", buf, w->floor);
    cli_json_string(stdout, in->weight_sha256);
    putchar('}');
}

static void info_weight(const it_tensor_info *in) {
    const it_weight_profile *w = &in->weight;
    char buf[512];
    bool flat = false;
    if (in->blend != IT_BLEND_WEIGHTED)
        return;
    printf("weights     %s", it_weight_kind_name(w->kind));
    for (int d = 0; d < in->rank; d++)
        flat = flat || (w->kind == IT_WEIGHT_GAUSSIAN ? w->sigma[d] : (double)w->border[d]) ==
                           IT_WEIGHT_FLAT;
    if (w->kind == IT_WEIGHT_TENT || w->kind == IT_WEIGHT_HANN) {
        cli_format_array(buf, sizeof buf, w->border, in->rank);
        printf(", border %s", buf);
    } else if (w->kind == IT_WEIGHT_GAUSSIAN) {
        format_reals(buf, sizeof buf, w->sigma, in->rank);
        printf(", sigma %s", buf);
    } else {
        flat = false;
        if (w->kind == IT_WEIGHT_ARRAY)
            printf(", sha256 %s", in->weight_sha256);
    }
    printf(", floor %g%s\n", w->floor, flat ? " (-1: flat along that dimension)" : "");
}

/* A read or fill of the tensor running in the store's writer (another process), or NULL. */
static const it_hdf5_progress *computing(const char *path, const char *id, it_hdf5_progress *p) {
    return it_hdf5_writer_progress(path, p) == 1 && strcmp(p->id, id) == 0 ? p : NULL;
}

static void info_json(const it_tensor_info *in, const it_tensor_stats *st,
                      const it_hdf5_layout *lay, const it_hdf5_progress *pg) {
    printf("{");
    json_common(in, st, lay);
    if (pg)
        printf(", \"computing\": {\"done\": %llu, \"total\": %llu, \"pid\": %lld, "
               "\"started_ns\": %llu, \"updated_ns\": %llu}", (unsigned long long)pg->done,
               (unsigned long long)pg->total, (long long)pg->pid,
               (unsigned long long)pg->started_ns, (unsigned long long)pg->updated_ns);
    else
        printf(", \"computing\": null");
    printf(", \"window\": ");
    json_window(&in->window);
    printf(", \"blend\": \"%s\", \"blend_init\": %.17g, \"weight\": ", blend_name(in->blend),
           in->blend_init);
    json_weight(in);
    printf(", \"grid_offset\": ");
    cli_json_array(stdout, in->grid_offset, in->rank);
    printf(", \"fn_tag\": ");
    cli_json_string(stdout, in->fn_tag);
    printf(", \"index_path\": ");
    cli_json_string(stdout, lay->index_path);
    printf(", \"extent\": ");
    cli_json_array(stdout, lay->extent, in->rank);
    printf(", \"args\": [");
    for (size_t i = 0; i < in->n_arg_ids; i++) {
        printf("%s{\"id\": ", i ? ", " : "");
        cli_json_string(stdout, in->arg_ids[i]);
        printf(", \"window\": ");
        json_window(&in->arg_windows[i]);
        putchar('}');
    }
    printf("]}\n");
}

static void info_text(const it_tensor_info *in, const it_tensor_stats *st,
                      const it_hdf5_layout *lay, const it_hdf5_progress *pg, bool exact) {
    char buf[512];
    printf("tensor      %s\n", in->id);
    cli_format_shape(buf, sizeof buf, in->shape, in->rank);
    printf("shape       %s\n", buf);
    printf("dtype       %s\n", it_dtype_name(in->dtype));
    print_window("window     ", &in->window);
    printf("blend       %s, blend_init %g\n", blend_name(in->blend), in->blend_init);
    info_weight(in);
    cli_format_array(buf, sizeof buf, in->chunk, in->rank);
    printf("chunk       %s", buf);
    cli_format_array(buf, sizeof buf, in->grid_offset, in->rank);
    printf(", grid offset %s\n", buf);
    printf("fn_tag      \"%s\"\n", in->fn_tag);
    cli_format_bytes(buf, sizeof buf, st->stored_bytes, exact);
    printf("stored      %llu chunks, %s", (unsigned long long)st->chunks, buf);
    if (st->chunks) {
        cli_format_box(buf, sizeof buf, st->bbox_start, st->bbox_stop, in->rank);
        printf(", bounding box %s", buf);
    }
    if (pg)
        printf("\ncomputing   %llu of %llu chunks of a read or fill in process %lld",
               (unsigned long long)pg->done, (unsigned long long)pg->total, (long long)pg->pid);
    printf("\nHDF5 data   %s (chunk index %s)\n", lay->data_path, lay->index_path);
    cli_format_array(buf, sizeof buf, lay->origin, in->rank);
    printf("origin      %s: pixel x is data set index x - origin\n", buf);
    it_codec_info codec;
    if (it_compression_info(lay->compression, &codec))
        codec = (it_codec_info){.name = "?"};
    printf("compression %s", codec.name);
    if (codec.max_level > 0)
        printf(" level %d", lay->compression_level);
    printf("%s\n", codec.needs_plugin ? " (readers need HDF5's filter plugin)" : "");
    printf("args        %zu\n", in->n_arg_ids);
    for (size_t i = 0; i < in->n_arg_ids; i++) {
        printf("  [%zu] %s\n", i, in->arg_ids[i]);
        print_window("      window", &in->arg_windows[i]);
    }
}

int cmd_info(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        puts("Usage: itensor info [--json] [-b] FILE ID\n\nPrints every stored field of a tensor:"
             " shape, dtype, window, blend (with the\nweighted blend's profile), chunk grid, "
             "function tag, stored data, where the data\nlie in the file (HDF5 path, origin, "
             "compression), and its arguments with their\nwindows (recursively). While the "
             "store's writer (another process) computes\nthe tensor, how far it has come.\n\n"
             "  --json      machine-readable output (stable keys)\n"
             "  -b, --bytes exact byte counts");
        return 0;
    }
    view_opts v = {0};
    const char *pos[2];
    int npos;
    int rc = cli_parse(argc, argv, view_options, on_view_option, &v, pos, 2, 2, &npos);
    if (rc)
        return rc;
    it_ctx *ctx;
    it_store *s;
    it_tensor *t;
    if (cli_context(&ctx, "info"))
        return 1;
    if ((rc = cli_open(ctx, pos[0], false, pos[1], 0, &s, &t))) {
        it_ctx_destroy(ctx);
        return rc;
    }
    it_tensor_info in;
    it_tensor_stats st;
    it_hdf5_layout lay;
    it_tensor_get_info(t, &in);
    if ((rc = it_tensor_get_stats(t, &st)) == 0 && (rc = it_hdf5_tensor_layout(t, &lay)) == 0) {
        it_hdf5_progress progress;
        const it_hdf5_progress *pg = computing(pos[0], in.id, &progress);
        if (v.json)
            info_json(&in, &st, &lay, pg);
        else
            info_text(&in, &st, &lay, pg, v.exact);
    }
    if (rc == 0 && !v.json && in.n_arg_ids) {
        printf("graph\n");
        char id[IT_ID_MAX + 1];
        snprintf(id, sizeof id, "%s", in.id);
        it_tensor_release(t);
        print_graph(s, id, 1);
    }
    it_store_close(s);
    it_ctx_destroy(ctx);
    return rc ? cli_fail("info", rc) : 0;
}
