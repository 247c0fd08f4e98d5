/* itensor export and preview. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

typedef struct out_args {
    const char *file, *id, *region, *out, *dataset, *colormap, *range;
    const char *units, *coord_units, *long_name, *fill_value;
    char dim_names[1024];       /* a copy of --dim-names, cut at its commas */
    const char *names[IT_MAX_RANK + 1];
    bool contiguous, missing_as_fill, sample, colorbar, json;
    int overwrite, level;
    it_compression compression;
} out_args;

enum { OPT_DATASET = 256, OPT_CONTIGUOUS, OPT_COMPRESSION, OPT_LEVEL, OPT_MISSING, OPT_OVERWRITE,
       OPT_IDENTICAL, OPT_UNITS, OPT_COORD_UNITS, OPT_DIM_NAMES, OPT_LONG_NAME, OPT_FILL_VALUE,
       OPT_COLORMAP, OPT_RANGE, OPT_SAMPLE, OPT_COLORBAR, OPT_JSON };

static const struct option export_options[] = {
    {"region", required_argument, NULL, 'r'},   {"output", required_argument, NULL, 'o'},
    {"dataset", required_argument, NULL, OPT_DATASET},
    {"contiguous", no_argument, NULL, OPT_CONTIGUOUS},
    {"compression", required_argument, NULL, OPT_COMPRESSION},
    {"level", required_argument, NULL, OPT_LEVEL},
    {"missing-as-fill", no_argument, NULL, OPT_MISSING},
    {"overwrite", no_argument, NULL, OPT_OVERWRITE},
    {"if-identical", no_argument, NULL, OPT_IDENTICAL},
    {"units", required_argument, NULL, OPT_UNITS},
    {"coord-units", required_argument, NULL, OPT_COORD_UNITS},
    {"dim-names", required_argument, NULL, OPT_DIM_NAMES},
    {"long-name", required_argument, NULL, OPT_LONG_NAME},
    {"fill-value", required_argument, NULL, OPT_FILL_VALUE},
    {"json", no_argument, NULL, OPT_JSON}, {NULL, 0, NULL, 0}};

static const struct option preview_options[] = {
    {"region", required_argument, NULL, 'r'},   {"output", required_argument, NULL, 'o'},
    {"colormap", required_argument, NULL, OPT_COLORMAP},
    {"range", required_argument, NULL, OPT_RANGE},
    {"sample", no_argument, NULL, OPT_SAMPLE},  {"colorbar", no_argument, NULL, OPT_COLORBAR},
    {"missing-as-fill", no_argument, NULL, OPT_MISSING},
    {"json", no_argument, NULL, OPT_JSON}, {NULL, 0, NULL, 0}};

static int on_option(int code, const char *v, void *user) {
    out_args *a = user;
    switch (code) {
    case 'r': a->region = v; break;
    case 'o': a->out = v; break;
    case OPT_DATASET: a->dataset = v; break;
    case OPT_CONTIGUOUS: a->contiguous = true; break;
    case OPT_OVERWRITE: a->overwrite = IT_EXPORT_REPLACE; break;
    case OPT_IDENTICAL: a->overwrite = IT_EXPORT_IF_IDENTICAL; break;
    case OPT_UNITS: a->units = v; break;
    case OPT_COORD_UNITS: a->coord_units = v; break;
    case OPT_LONG_NAME: a->long_name = v; break;
    case OPT_FILL_VALUE: a->fill_value = v; break;
    case OPT_DIM_NAMES: {
        if (strlen(v) >= sizeof a->dim_names)
            return cli_usage_error("--dim-names is too long");
        strcpy(a->dim_names, v);
        int n = 0;
        for (char *p = a->dim_names, *save = NULL; n <= IT_MAX_RANK; p = NULL) {
            char *name = strtok_r(p, ",", &save);
            if (!name)
                break;
            a->names[n++] = name;
        }
        if (n > IT_MAX_RANK)
            return cli_usage_error("--dim-names takes at most %d names", IT_MAX_RANK);
        a->names[n] = NULL;
        break;
    }
    case OPT_MISSING: a->missing_as_fill = true; break;
    case OPT_COLORMAP: a->colormap = v; break;
    case OPT_RANGE: a->range = v; break;
    case OPT_SAMPLE: a->sample = true; break;
    case OPT_COLORBAR: a->colorbar = true; break;
    case OPT_JSON: a->json = true; break;
    case OPT_COMPRESSION:
        if (it_compression_parse(v, &a->compression))
            return cli_usage_error("--compression: %s", cli_message());
        break;
    case OPT_LEVEL: {
        char *end;
        long n = strtol(v, &end, 10);
        if (*end || end == v || n < -1 || n > 1000) /* the codec's own range is checked later */
            return cli_usage_error("--level takes -1 (none) or a codec level, not \"%s\"", v);
        a->level = (int)n;
        break;
    }
    default: break;
    }
    return 0;
}

/* Parses FILE ID and the options; returns 0, or an exit status. */
static int parse(int argc, char **argv, out_args *a, bool preview) {
    memset(a, 0, sizeof *a);
    a->dataset = "data";
    const char *pos[2];
    int npos;
    int rc = cli_parse(argc, argv, preview ? preview_options : export_options, on_option, a, pos,
                       2, 2, &npos);
    if (rc)
        return rc;
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
    int rc = cli_open(*ctx, a->file, false, a->id, a->missing_as_fill ? IT_OPEN_FILL_MISSING : 0, s, t);
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

/* The export options of the command line; a usage error's exit status, or 0. */
static int export_options_of(const out_args *a, it_tensor *t, it_export_options *o) {
    it_export_options_init(o);
    o->contiguous = a->contiguous;
    o->compression = a->compression;
    o->compression_level = a->level;
    o->overwrite = a->overwrite;
    o->value_units = a->units;
    o->units = a->coord_units;
    o->long_name = a->long_name;
    if (a->names[0]) {
        int n = 0;
        while (a->names[n])
            n++;
        it_tensor_info in;
        it_tensor_get_info(t, &in);
        if (n != in.rank)
            return cli_usage_error("--dim-names names %d dimensions; %s has %d", n, a->id, in.rank);
        o->dim_names = a->names;
    }
    if (a->fill_value) {
        char *end;
        o->fill_value = strtod(a->fill_value, &end);
        o->fill_value_set = 1;
        if (*end || end == a->fill_value)
            return cli_usage_error("--fill-value takes a number (or nan), not \"%s\"", a->fill_value);
    }
    return 0;
}

static void print_export(const out_args *a, const it_export_info *info) {
    if (a->json) {
        cli_json_begin("file", a->out);
        fputs(", \"dataset\": ", stdout);
        cli_json_string(stdout, a->dataset);
        fputs(", \"shape\": ", stdout);
        cli_json_array(stdout, info->shape, info->rank);
        printf(", \"data_bytes\": %llu, \"data_offset\": ", (unsigned long long)info->data_bytes);
        if (info->data_offset == UINT64_MAX)
            puts("null}");
        else
            printf("%llu}\n", (unsigned long long)info->data_offset);
        return;
    }
    char shape[128];
    cli_format_shape(shape, sizeof shape, info->shape, info->rank);
    printf("wrote %s:%s %s, %llu bytes of data", a->out, a->dataset, shape,
           (unsigned long long)info->data_bytes);
    if (info->data_offset != UINT64_MAX)
        printf(", contiguous at byte offset %llu", (unsigned long long)info->data_offset);
    printf("\n");
}

int cmd_export(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        puts("Usage: itensor export FILE ID --region R -o OUT [options]\n\n"
             "Writes region R of tensor ID to dataset N of the HDF5 file OUT (created if\n"
             "missing) with dimension scales and CF attributes (Conventions, units, axis,\n"
             "_FillValue), so ncdump, xarray and h5py open it directly.\n\n"
             "  --region R      numpy-like region, e.g. 0:3,-512:512,0:1024:2 (':' = whole finite dim)\n"
             "  -o OUT          output HDF5 file\n"
             "  --dataset N     dataset name or path inside OUT (default: data)\n"
             "  --contiguous    contiguous layout (uncompressed, mmap-able)");
        cli_print_codec_help();
        puts("  --overwrite     replace an existing dataset N (the old one stays if the export\n"
             "                  fails)\n"
             "  --if-identical  succeed without writing when dataset N already holds this export\n"
             "                  (same shape, region and values); refuse when it differs\n"
             "  --units U       units of the values, a UDUNITS string (e.g. m, K, 1)\n"
             "  --long-name S   long_name of the values (default: the tensor id)\n"
             "  --dim-names A,B,...  names of the coordinate variables (default: ..., y, x);\n"
             "                  x/lon, y/lat, z/depth/height/level and t/time get a CF axis\n"
             "  --coord-units U units of the coordinates (default: 1, pixel indices)\n"
             "  --fill-value V  the dataset's _FillValue (default: NaN for floats, none for\n"
             "                  integers)\n"
             "  --missing-as-fill  chunks never computed are written as the _FillValue (readers\n"
             "                  see them as missing) instead of failing; integer tensors need\n"
             "                  --fill-value. The attribute never_computed_pixels counts them\n"
             "  --json          print one JSON document: file, dataset, shape, data_bytes,\n"
             "                  data_offset (null for chunked outputs)\n\n"
             "Options also take the --name=value form, before or after FILE ID.\n"
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
    if ((rc = export_options_of(&a, t, &o))) {
        it_store_close(s);
        it_ctx_destroy(ctx);
        return rc;
    }
    it_export_info info;
    cli_progress_in_bytes();
    rc = it_export_hdf5(t, &r, a.out, a.dataset, &o, &info);
    cli_progress_done();
    it_store_close(s);
    it_ctx_destroy(ctx);
    if (rc)
        return cli_fail("export", rc);
    print_export(&a, &info);
    return 0;
}

int cmd_preview(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        puts("Usage: itensor preview FILE ID --region R -o OUT.png [options]\n\n"
             "Renders a 2-D region (grayscale or colour map) or a 3-channel region ((3, H, W)\n"
             "or (H, W, 3)) as RGB into an 8-bit PNG. With steps, each pixel is the mean of the\n"
             "box of values it stands for. The PNG's text chunks record the tensor, region,\n"
             "value range and colour map.\n\n"
             "  --region R        numpy-like region; use steps to shrink large areas\n"
             "  -o OUT.png        output image\n"
             "  --colormap NAME   gray (default), viridis or terrain, for 2-D regions\n"
             "  --range LO:HI     value range mapped to 0..255 (default: the data's min:max)\n"
             "  --colorbar        a bar under the image from the low to the high end of the range,\n"
             "                    with labelled ticks at both ends and round values between\n"
             "  --sample          with steps, take the value at each step instead of the mean of\n"
             "                    the box it stands for (reads less; aliases)\n"
             "  --missing-as-fill chunks never computed read as the fill value (blend_init)\n"
             "  --json            print one JSON document: file, tensor, region");
        return 0;
    }
    out_args a;
    int rc = parse(argc, argv, &a, true);
    if (rc)
        return rc;
    it_preview_options o;
    it_preview_options_init(&o);
    o.average = !a.sample;
    o.colorbar = a.colorbar;
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
    if (a.json) {
        cli_json_begin("file", a.out);
        fputs(", \"tensor\": ", stdout);
        cli_json_string(stdout, a.id);
        fputs(", \"region\": ", stdout);
        cli_json_string(stdout, a.region);
        puts("}");
    } else {
        printf("wrote %s\n", a.out);
    }
    return 0;
}
