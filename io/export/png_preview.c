/* PNG previews of 2-D and 3-channel regions through libpng. */
#include <errno.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "export/colormap.h"
#include "file_util.h"

#define MAX_PIXELS ((size_t)1 << 28)
#define AVERAGE_SUMS_MAX ((size_t)1 << 30) /* the averaged preview's per-pixel sums and counts */

void it_preview_options_init(it_preview_options *opts) {
    if (opts)
        *opts = (it_preview_options){.struct_size = sizeof *opts};
}

/* Written under a temporary name beside path and renamed over it: a failure leaves path as it
 * was (an existing image included). */
typedef struct png_note {
    char tensor[IT_ID_MAX + 1], region[IT_MAX_RANK * 64], range[64], colormap[16];
    char ticks[12 * 32];         /* the colour bar's labelled values, "" without a bar */
} png_note;

static int write_png(const char *path, int width, int height, int channels,
                     const unsigned char *pixels, const png_note *note) {
    char tmp[4200];
    int rc = iti_fs_temp_name(path, "preview", tmp, sizeof tmp);
    if (rc)
        return iti_error_prefix(rc, "it_preview_png: ");
    FILE *f = fopen(tmp, "wbx");
    if (!f)
        return iti_error(iti_fs_errno_code(errno), "it_preview_png: cannot create %s: %s", tmp,
                        strerror(errno));
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_write_struct(&png, NULL);
        fclose(f);
        unlink(tmp);
        return iti_error(IT_ENOMEM, "it_preview_png: out of memory");
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fclose(f);
        unlink(tmp);
        return iti_error(IT_EIO, "it_preview_png: libpng failed writing %s", path);
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8,
                 channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_text text[6] = {
        {.compression = PNG_TEXT_COMPRESSION_NONE, .key = "Software", .text = "infinite-tensor"},
        {.compression = PNG_TEXT_COMPRESSION_NONE, .key = "infinite-tensor:tensor",
         .text = (char *)note->tensor},
        {.compression = PNG_TEXT_COMPRESSION_NONE, .key = "infinite-tensor:region",
         .text = (char *)note->region},
        {.compression = PNG_TEXT_COMPRESSION_NONE, .key = "infinite-tensor:range",
         .text = (char *)note->range},
        {.compression = PNG_TEXT_COMPRESSION_NONE, .key = "infinite-tensor:colormap",
         .text = (char *)note->colormap},
        {.compression = PNG_TEXT_COMPRESSION_NONE, .key = "infinite-tensor:ticks",
         .text = (char *)note->ticks},
    };
    png_set_text(png, info, text, note->ticks[0] ? 6 : 5);
    png_write_info(png, info);
    for (int y = 0; y < height; y++)
        png_write_row(png, pixels + (size_t)y * (size_t)width * (size_t)channels);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    errno = 0;
    if (ferror(f) | fclose(f)) /* both: the stream is closed either way */
        rc = iti_error(iti_fs_errno_code(errno), "it_preview_png: writing %s: %s", path,
                      errno ? strerror(errno) : "write error");
    else if (rename(tmp, path) != 0)
        rc = iti_error(iti_fs_errno_code(errno), "it_preview_png: renaming %s to %s: %s", tmp, path,
                      strerror(errno));
    if (rc)
        unlink(tmp);
    return rc;
}

/* ---- reading the values ------------------------------------------------------------------- */

typedef struct preview {
    it_tensor *t;
    const iti_selection *sel;
    void *buf;                   /* sampled: the region's values in the tensor's dtype */
    float *avg;                  /* averaged: the mean of each value's box */
} preview;

static double value(const preview *pv, size_t i) {
    return pv->avg ? (double)pv->avg[i] : it_dtype_load(iti_tensor_view(pv->t)->dtype, pv->buf, i);
}

static bool stepped(const iti_selection *s) {
    for (int d = 0; d < s->rank; d++)
        if (s->step[d] > 1 && s->count[d] > 1)
            return true;
    return false;
}

static int read_sampled(preview *pv) {
    if (!(pv->buf = malloc(pv->sel->bytes ? pv->sel->bytes : 1)))
        return iti_error(IT_ENOMEM, "it_preview_png: out of memory");
    int rc = iti_eval_read(pv->t, pv->sel, pv->buf, "it_preview_png");
    if (rc) {
        free(pv->buf);
        pv->buf = NULL;
    }
    return rc;
}

/* The averaged preview's walk: every value of the area goes to its box's sum and count. */
typedef struct averager {
    const preview *pv;
    iti_selection area;          /* every pixel the boxes cover (steps of 1) */
    double *sum;                 /* per box (the region's values, C order) */
    uint32_t *n;
    double *line;                /* one row of a chunk, as double */
} averager;

/* Adds chunk c's values of the area (data: the chunk) to their boxes (NaN left out). The box
 * index is worked out once per row along the last dimension and advanced every step values. */
static void accumulate(averager *a, const iti_coord *c, const char *data) {
    const iti_selection *s = a->pv->sel;
    const iti_store_tensor *v = iti_tensor_view(a->pv->t);
    int rank = s->rank, last = rank - 1;
    int64_t first[IT_MAX_RANK], ext[IT_MAX_RANK], at[IT_MAX_RANK], cstr[IT_MAX_RANK];
    if (!iti_selection_in_chunk(v, &a->area, c, first, ext, at))
        return;
    iti_strides(v->chunk, rank, cstr);
    int64_t idx[IT_MAX_RANK] = {0};
    for (;;) {
        size_t box = 0, so = 0;
        for (int d = 0; d < rank; d++) {
            int64_t k = first[d] + (d < last ? idx[d] : 0); /* index in the area */
            box = box * (size_t)s->count[d] + (size_t)(k / s->step[d]);
            so += (size_t)((at[d] + (d < last ? idx[d] : 0)) * cstr[d]);
        }
        iti_dtype_to_double(v->dtype, data + so * v->esize, (size_t)ext[last], a->line);
        int64_t step = s->step[last], left = step - first[last] % step;
        for (int64_t x = 0; x < ext[last]; x++) {
            if (!isnan(a->line[x]))
                a->sum[box] += a->line[x], a->n[box]++;
            if (--left == 0)
                left = step, box++;
        }
        int d = last - 1;
        while (d >= 0 && ++idx[d] == ext[d])
            idx[d--] = 0;
        if (d < 0)
            return;
    }
}

static int average_block(const iti_coord *coords, const iti_chunk_ref *refs, size_t n, void *user) {
    for (size_t i = 0; i < n; i++)
        accumulate(user, &coords[i], refs[i].data);
    return 0;
}

/* Box filter: value k along dimension d stands for [start + k*step, start + (k+1)*step) (cut
 * at the end of a finite dimension). The area is walked once through the evaluator; every box
 * keeps a double sum and a count until the walk ends. */
static int read_averaged(preview *pv) {
    const iti_selection *s = pv->sel;
    const iti_store_tensor *v = iti_tensor_view(pv->t);
    averager a = {.pv = pv, .area = *s};
    int rank = s->rank;
    if (s->elems > AVERAGE_SUMS_MAX / (sizeof *a.sum + sizeof *a.n))
        return iti_error(IT_EINVAL, "it_preview_png: averaging keeps a sum per pixel, at most %zu "
                         "pixels; preview a smaller image or without averaging",
                         AVERAGE_SUMS_MAX / (sizeof *a.sum + sizeof *a.n));
    size_t elems = 1;
    for (int d = 0; d < rank; d++) {
        int64_t fine, end;
        if (__builtin_mul_overflow(s->count[d], s->step[d], &fine) ||
            __builtin_add_overflow(s->start[d], fine, &end))
            return iti_error(IT_ERANGE, "it_preview_png: the boxes of dimension %d leave the int64 "
                             "range; preview without averaging", d);
        if (v->shape[d] != IT_INF && end > v->shape[d])
            fine = v->shape[d] - s->start[d];
        a.area.step[d] = 1;
        a.area.count[d] = fine;
        if (__builtin_mul_overflow(elems, (size_t)fine, &elems))
            return iti_error(IT_EOVERFLOW, "it_preview_png: the averaged area is too large");
    }
    a.area.elems = elems;
    a.area.bytes = elems * v->esize; /* the walk reads it chunk by chunk, never whole */
    pv->avg = malloc(s->elems * sizeof *pv->avg);
    a.sum = calloc(s->elems, sizeof *a.sum);
    a.n = calloc(s->elems, sizeof *a.n);
    a.line = malloc((size_t)v->chunk[rank - 1] * sizeof *a.line);
    int rc = pv->avg && a.sum && a.n && a.line
                 ? iti_eval_visit(pv->t, &a.area, 0, average_block, &a, "it_preview_png")
                 : iti_error(IT_ENOMEM, "it_preview_png: out of memory");
    for (size_t i = 0; rc == 0 && i < s->elems; i++)
        pv->avg[i] = a.n[i] ? (float)(a.sum[i] / a.n[i]) : NAN;
    free(a.sum);
    free(a.n);
    free(a.line);
    if (rc) {
        free(pv->avg);
        pv->avg = NULL;
    }
    return rc;
}

/* The lowest and highest value (NaN left out); an empty or flat range becomes [lo, lo + 1]. */
static void value_range(const preview *pv, size_t count, double *lo, double *hi) {
    *lo = INFINITY, *hi = -INFINITY;
    for (size_t i = 0; i < count; i++) {
        double v = value(pv, i);
        if (v < *lo)
            *lo = v;
        if (v > *hi)
            *hi = v;
    }
    if (!(*hi > *lo))
        *hi = *lo + 1;
}

static const char *colormap_name(it_colormap m) {
    return m == IT_COLORMAP_VIRIDIS ? "viridis" : m == IT_COLORMAP_TERRAIN ? "terrain" : "gray";
}

/* The text chunks: what the image shows. */
static void describe(it_tensor *t, const iti_selection *s, double lo, double hi,
                     const char *map, png_note *note) {
    snprintf(note->tensor, sizeof note->tensor, "%s", iti_tensor_view(t)->id);
    size_t used = 0;
    note->region[0] = 0;
    for (int d = 0; d < s->rank && used < sizeof note->region; d++)
        used += (size_t)snprintf(note->region + used, sizeof note->region - used, "%s%lld:%lld:%lld",
                                 d ? "," : "", (long long)s->start[d],
                                 (long long)(s->start[d] + s->count[d] * s->step[d]),
                                 (long long)s->step[d]);
    snprintf(note->range, sizeof note->range, "%.9g:%.9g", lo, hi);
    snprintf(note->colormap, sizeof note->colormap, "%s", map);
    note->ticks[0] = 0;
}

int it_preview_png(it_tensor *t, const it_region *region, const char *path,
                   const it_preview_options *opts) {
    if (!t || !region || !path)
        return iti_error(IT_EINVAL, "it_preview_png: NULL %s", !t ? "tensor" : !region ? "region" : "path");
    it_preview_options o;
    it_preview_options_init(&o);
    int rc = iti_options_take(&o, opts, sizeof o, "it_preview_png", "it_preview_options_init");
    if (rc)
        return rc;
    if ((unsigned)o.colormap > IT_COLORMAP_TERRAIN)
        return iti_error(IT_EINVAL, "it_preview_png: unknown colormap %d", (int)o.colormap);
    if (o.fixed_range && !(o.vmax > o.vmin))
        return iti_error(IT_EINVAL, "it_preview_png: range [%g, %g] is empty", o.vmin, o.vmax);
    iti_selection sel;
    rc = iti_selection_resolve(t, region, "it_preview_png", &sel);
    if (rc)
        return rc;
    /* The region's non-trivial dimensions decide the image layout. */
    const int64_t *ext = sel.count;
    int dims[IT_MAX_RANK], nd = 0;
    size_t count = sel.elems;
    for (int d = 0; d < sel.rank; d++)
        if (ext[d] > 1)
            dims[nd++] = d;
    if (count == 0)
        return iti_error(IT_EINVAL, "it_preview_png: the region is empty");
    if (count > MAX_PIXELS * 3)
        return iti_error(IT_EINVAL, "it_preview_png: %zu values is too many for a preview; use steps", count);
    int height, width, channels = 1;
    bool planar = false;
    if (nd == 3 && ext[dims[0]] == 3) {
        channels = 3, planar = true, height = (int)ext[dims[1]], width = (int)ext[dims[2]];
    } else if (nd == 3 && ext[dims[2]] == 3) {
        channels = 3, height = (int)ext[dims[0]], width = (int)ext[dims[1]];
    } else if (nd <= 2) {
        height = nd == 2 ? (int)ext[dims[0]] : 1;
        width = nd >= 1 ? (int)ext[dims[nd - 1]] : 1;
    } else {
        return iti_error(IT_EINVAL,
                        "it_preview_png: the region has %d dimensions larger than 1; previews take "
                        "2-D regions or 3 channels (3, H, W) / (H, W, 3)", nd);
    }
    preview pv = {.t = t, .sel = &sel};
    rc = o.average && stepped(&sel) ? read_averaged(&pv) : read_sampled(&pv);
    if (rc)
        return rc;
    double lo = o.vmin, hi = o.vmax;
    if (!o.fixed_range)
        value_range(&pv, count, &lo, &hi);
    int out_channels = channels == 3 || o.colormap != IT_COLORMAP_GRAY ? 3 : 1;
    bool bar = o.colorbar && channels == 1;
    int bar_rows = bar ? iti_colorbar_rows(width, height) : 0;
    size_t plane = (size_t)width * (size_t)height;
    unsigned char *px = malloc((size_t)width * (size_t)(height + bar_rows) * (size_t)out_channels);
    if (!px) {
        free(pv.buf);
        free(pv.avg);
        return iti_error(IT_ENOMEM, "it_preview_png: out of memory");
    }
    for (size_t p = 0; p < plane; p++)
        for (int c = 0; c < channels; c++) {
            size_t src = planar ? c * plane + p : p * (size_t)channels + (size_t)c;
            double v = value(&pv, src);
            double n = (v - lo) / (hi - lo);
            n = n < 0 ? 0 : n > 1 ? 1 : n;
            if (out_channels == 3 && channels == 1) {
                if (isnan(v)) /* black in every colour map */
                    memset(px + p * 3, 0, 3);
                else
                    iti_colormap_rgb(o.colormap, n, px + p * 3);
            } else {
                px[p * (size_t)out_channels + (size_t)c] = isnan(v) ? 0 : (unsigned char)lround(n * 255);
            }
        }
    png_note note;
    describe(t, &sel, lo, hi, channels == 3 ? "rgb" : colormap_name(o.colormap), &note);
    if (bar) {
        double ticks[12];
        int nt = iti_colorbar_draw(px + plane * (size_t)out_channels, width, bar_rows,
                                   out_channels, o.colormap, lo, hi, ticks, 12);
        size_t used = 0;
        for (int i = 0; i < nt && used < sizeof note.ticks; i++)
            used += (size_t)snprintf(note.ticks + used, sizeof note.ticks - used, "%s%.9g",
                                     i ? "," : "", ticks[i]);
    }
    rc = write_png(path, width, height + bar_rows, out_channels, px, &note);
    free(pv.buf);
    free(pv.avg);
    free(px);
    return rc;
}
