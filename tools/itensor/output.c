/* itensor export and preview. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

typedef struct out_args {
    const char *file, *id, *region, *out, *dataset, *colormap, *range;
    bool contiguous, fill, overwrite;
    int level;
    it_compression compression;
} out_args;

/* Parses FILE ID and the options; returns 0, or an exit status. */
static int parse(int argc, char **argv, out_args *a, bool preview) {
    memset(a, 0, sizeof *a);
    a->dataset = "data";
    const char *pos[2];
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        bool takes_value = strcmp(o, "--region") == 0 || strcmp(o, "-r") == 0 ||
                           strcmp(o, "-o") == 0 || strcmp(o, "--output") == 0 ||
                           strcmp(o, "--dataset") == 0 || strcmp(o, "--level") == 0 ||
                           strcmp(o, "--compression") == 0 ||
                           strcmp(o, "--colormap") == 0 || strcmp(o, "--range") == 0;
        if (takes_value && i + 1 == argc)
            return cli_usage_error("%s needs a value", o);
        if (strcmp(o, "--region") == 0 || strcmp(o, "-r") == 0) {
            a->region = argv[++i];
        } else if (strcmp(o, "-o") == 0 || strcmp(o, "--output") == 0) {
            a->out = argv[++i];
        } else if (strcmp(o, "--fill") == 0) {
            a->fill = true;
        } else if (!preview && strcmp(o, "--dataset") == 0) {
            a->dataset = argv[++i];
        } else if (!preview && strcmp(o, "--contiguous") == 0) {
            a->contiguous = true;
        } else if (!preview && strcmp(o, "--overwrite") == 0) {
            a->overwrite = true;
        } else if (!preview && strcmp(o, "--level") == 0) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < -1 || v > 12) /* the codec's own range is checked by the export */
                return cli_usage_error("--level takes -1 (none) or a codec level, not \"%s\"",
                                       argv[i]);
            a->level = (int)v;
        } else if (!preview && strcmp(o, "--compression") == 0) {
            if (it_compression_parse(argv[++i], &a->compression))
                return cli_usage_error("--compression takes deflate, lz4, zstd or none, not \"%s\"",
                                       argv[i]);
        } else if (preview && strcmp(o, "--colormap") == 0) {
            a->colormap = argv[++i];
        } else if (preview && strcmp(o, "--range") == 0) {
            a->range = argv[++i];
        } else if (o[0] == '-' && o[1] && !(o[1] >= '0' && o[1] <= '9')) {
            return cli_usage_error("unknown option \"%s\"", o);
        } else if (npos < 2) {
            pos[npos++] = o;
        } else {
            return cli_usage_error("unexpected argument \"%s\"", o);
        }
    }
    if (npos != 2)
        return cli_usage_error("%s takes FILE and ID", preview ? "preview" : "export");
    a->file = pos[0];
    a->id = pos[1];
    if (!a->region)
        return cli_usage_error("--region is required");
    if (!a->out)
        return cli_usage_error("-o OUTPUT is required");
    return 0;
}

/* Opens the tensor and parses the region against its shape. */
static int prepare(const out_args *a, it_ctx **ctx, it_store **s, it_tensor **t, it_region *r,
                   const char *label) {
    if (cli_context(ctx, label))
        return 1;
    int rc = cli_open(*ctx, a->file, false, a->id, a->fill ? IT_OPEN_FILL_MISSING : 0, s, t);
    if (rc) {
        it_ctx_destroy(*ctx);
        return rc;
    }
    it_tensor_info in;
    it_tensor_get_info(*t, &in);
    if ((rc = it_region_parse(a->region, in.rank, in.shape, r))) {
        cli_fail("--region", rc);
        it_store_close(*s);
        it_ctx_destroy(*ctx);
        return 1;
    }
    return 0;
}

int cmd_export(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        puts("usage: itensor export FILE ID --region R -o OUT [options]\n\n"
             "Writes region R of tensor ID to dataset N of the HDF5 file OUT (created if\n"
             "missing) with dimension scales, so ncdump, xarray and h5py open it directly.\n\n"
             "  --region R      numpy-like region, e.g. 0:3,-512:512,0:1024:2 (':' = whole finite dim)\n"
             "  -o OUT          output HDF5 file\n"
             "  --dataset N     dataset name or path inside OUT (default: data)\n"
             "  --contiguous    contiguous layout (uncompressed, mmap-able)\n"
             "  --compression C deflate (default), lz4, zstd or none; lz4 and zstd files need\n"
             "                  HDF5's filter plugins where they are read\n"
             "  --level L       codec level: deflate and zstd 1..9, lz4 1..12; -1 = none\n"
             "  --overwrite     replace an existing dataset N\n"
             "  --fill          chunks never computed read as blend_init instead of failing\n\n"
             "Stores are opened read-only: export never computes. A failed export leaves OUT as "
             "it was.");
        return 0;
    }
    out_args a;
    int rc = parse(argc, argv, &a, false);
    if (rc)
        return rc;
    it_ctx *ctx;
    it_store *s;
    it_tensor *t;
    it_region r;
    if ((rc = prepare(&a, &ctx, &s, &t, &r, "export")))
        return rc;
    it_export_options o;
    it_export_options_init(&o);
    o.contiguous = a.contiguous;
    o.compression = a.compression;
    o.compression_level = a.level;
    o.overwrite = a.overwrite;
    it_export_info info;
    rc = it_export_hdf5(t, &r, a.out, a.dataset, &o, &info);
    cli_progress_done();
    it_store_close(s);
    it_ctx_destroy(ctx);
    if (rc)
        return cli_fail("export", rc);
    char shape[128];
    cli_format_shape(shape, sizeof shape, info.shape, info.rank);
    printf("wrote %s:%s %s, %llu bytes of data", a.out, a.dataset, shape,
           (unsigned long long)info.data_bytes);
    if (info.data_offset != UINT64_MAX)
        printf(", contiguous at byte offset %llu", (unsigned long long)info.data_offset);
    printf("\n");
    return 0;
}

int cmd_preview(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        puts("usage: itensor preview FILE ID --region R -o OUT.png [options]\n\n"
             "Renders a 2-D region (grayscale or colour map) or a 3-channel region ((3, H, W)\n"
             "or (H, W, 3)) as RGB into an 8-bit PNG.\n\n"
             "  --region R        numpy-like region; use steps to shrink large areas\n"
             "  -o OUT.png        output image\n"
             "  --colormap NAME   gray (default), viridis or terrain, for 2-D regions\n"
             "  --range LO:HI     value range mapped to 0..255 (default: the data's min:max)\n"
             "  --fill            chunks never computed read as blend_init");
        return 0;
    }
    out_args a;
    int rc = parse(argc, argv, &a, true);
    if (rc)
        return rc;
    it_preview_options o;
    it_preview_options_init(&o);
    if (a.colormap) {
        if (strcmp(a.colormap, "gray") == 0)
            o.colormap = IT_COLORMAP_GRAY;
        else if (strcmp(a.colormap, "viridis") == 0)
            o.colormap = IT_COLORMAP_VIRIDIS;
        else if (strcmp(a.colormap, "terrain") == 0)
            o.colormap = IT_COLORMAP_TERRAIN;
        else
            return cli_usage_error("unknown colormap \"%s\" (gray, viridis, terrain)", a.colormap);
    }
    if (a.range) {
        char *end;
        o.vmin = strtod(a.range, &end);
        if (*end != ':' || end == a.range)
            return cli_usage_error("--range takes LO:HI, not \"%s\"", a.range);
        const char *hi = end + 1;
        o.vmax = strtod(hi, &end);
        if (*end || end == hi || !(o.vmax > o.vmin))
            return cli_usage_error("--range takes LO:HI with LO < HI, not \"%s\"", a.range);
        o.fixed_range = 1;
    }
    it_ctx *ctx;
    it_store *s;
    it_tensor *t;
    it_region r;
    if ((rc = prepare(&a, &ctx, &s, &t, &r, "preview")))
        return rc;
    /* write next to the target and rename: a failure leaves OUT as it was */
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp-%d", a.out, (int)getpid());
    rc = it_preview_png(t, &r, tmp, &o);
    it_store_close(s);
    it_ctx_destroy(ctx);
    if (rc)
        return cli_fail("preview", rc);
    if (rename(tmp, a.out) != 0) {
        unlink(tmp);
        fprintf(stderr, "itensor: preview: cannot write %s\n", a.out);
        return 1;
    }
    printf("wrote %s\n", a.out);
    return 0;
}
