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
#include "file_util.h"

#define MAX_PIXELS ((size_t)1 << 28)
#define AVERAGE_BAND_MAX ((size_t)256 << 20) /* values read at once when averaging */

void it_preview_options_init(it_preview_options *opts) {
    if (opts)
        *opts = (it_preview_options){.struct_size = sizeof *opts};
}

/* Piecewise-linear colour maps: (position, r, g, b) stops. */
typedef struct stop {
    double at;
    unsigned char r, g, b;
} stop;

static const stop viridis[] = {{0.0, 68, 1, 84},    {0.25, 59, 82, 139}, {0.5, 33, 145, 140},
                               {0.75, 94, 201, 98}, {1.0, 253, 231, 37}};
static const stop terrain[] = {{0.0, 20, 40, 110},   {0.35, 40, 110, 190}, {0.40, 220, 210, 150},
                               {0.50, 70, 150, 60},  {0.70, 40, 100, 40},  {0.85, 120, 100, 80},
                               {0.95, 220, 220, 220}, {1.0, 255, 255, 255}};

static void colour(it_colormap m, double v, unsigned char *rgb) {
    const stop *s = m == IT_COLORMAP_TERRAIN ? terrain : viridis;
    size_t n = m == IT_COLORMAP_TERRAIN ? sizeof terrain / sizeof *terrain : sizeof viridis / sizeof *viridis;
    size_t i = 1;
    while (i < n - 1 && v > s[i].at)
        i++;
    double f = (v - s[i - 1].at) / (s[i].at - s[i - 1].at);
    f = f < 0 ? 0 : f > 1 ? 1 : f;
    rgb[0] = (unsigned char)lround(s[i - 1].r + f * (s[i].r - s[i - 1].r));
    rgb[1] = (unsigned char)lround(s[i - 1].g + f * (s[i].g - s[i - 1].g));
    rgb[2] = (unsigned char)lround(s[i - 1].b + f * (s[i].b - s[i - 1].b));
}

/* Written under a temporary name beside path and renamed over it: a failure leaves path as it
 * was (an existing image included). */
typedef struct png_note {
    char tensor[IT_ID_MAX + 1], region[IT_MAX_RANK * 64], range[64], colormap[16];
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
    png_text text[5] = {
        {.compression = PNG_TEXT_COMPRESSION_NONE, .key = "Software", .text = "infinite-tensor"},
        {.compression = PNG_TEXT_COMPRESSION_NONE, .key = "infinite-tensor:tensor",
         .text = (char *)note->tensor},
        {.compression = PNG_TEXT_COMPRESSION_NONE, .key = "infinite-tensor:region",
         .text = (char *)note->region},
        {.compression = PNG_TEXT_COMPRESSION_NONE, .key = "infinite-tensor:range",
         .text = (char *)note->range},
        {.compression = PNG_TEXT_COMPRESSION_NONE, .key = "infinite-tensor:colormap",
         .text = (char *)note->colormap},
    };
    png_set_text(png, info, text, 5);
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
    int row_dim;                 /* the dimension of image rows */
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

/* Adds the values of a row of boxes (C order over ext) to their box's sum and count (NaN left
 * out). The box index is worked out once per line along the last dimension and advanced every
 * step values along it; each line is converted to double at once (into `line`, ext[last]
 * values). */
static void accumulate(const preview *pv, const void *vals, const int64_t *ext, double *line,
                       double *sum, uint32_t *n) {
    const iti_selection *s = pv->sel;
    const iti_store_tensor *v = iti_tensor_view(pv->t);
    int r = pv->row_dim, last = s->rank - 1;
    int64_t idx[IT_MAX_RANK] = {0};
    const char *src = vals;
    for (;;) {
        size_t box = 0; /* within the row of boxes: dimension r counts one box */
        for (int d = 0; d <= last; d++)
            box = box * (size_t)(d == r ? 1 : s->count[d]) +
                  (size_t)(d == r || d == last ? 0 : idx[d] / s->step[d]);
        int64_t step = last == r ? ext[last] : s->step[last], left = step;
        iti_dtype_to_double(v->dtype, src, (size_t)ext[last], line);
        src += (size_t)ext[last] * v->esize;
        for (int64_t x = 0; x < ext[last]; x++) {
            if (!isnan(line[x]))
                sum[box] += line[x], n[box]++;
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

/* Box filter: value k along dimension d stands for [start + k*step, start + (k+1)*step) (cut
 * at the end of a finite dimension). The area is read one row of boxes at a time. */
static int read_averaged(preview *pv) {
    const iti_selection *s = pv->sel;
    const iti_store_tensor *v = iti_tensor_view(pv->t);
    int rank = s->rank, r = pv->row_dim;
    int64_t fine[IT_MAX_RANK]; /* fine extent of the area per dimension */
    iti_selection area = *s;
    size_t band = v->esize;    /* bytes of one row of boxes */
    for (int d = 0; d < rank; d++) {
        int64_t end;
        if (__builtin_mul_overflow(s->count[d], s->step[d], &fine[d]) ||
            __builtin_add_overflow(s->start[d], fine[d], &end))
            return iti_error(IT_ERANGE, "it_preview_png: the boxes of dimension %d leave the int64 "
                             "range; preview without averaging", d);
        if (v->shape[d] != IT_INF && end > v->shape[d])
            fine[d] = v->shape[d] - s->start[d];
        area.step[d] = 1;
        area.count[d] = fine[d];
        int64_t rows = d == r ? s->step[d] : fine[d];
        if (band > AVERAGE_BAND_MAX / (size_t)rows)
            return iti_error(IT_EINVAL, "it_preview_png: averaging reads rows of boxes larger than "
                             "%zu MiB here; use smaller steps or preview without averaging",
                             AVERAGE_BAND_MAX >> 20);
        band *= (size_t)rows;
    }
    size_t per_row = s->elems / (size_t)s->count[r];
    pv->avg = malloc(s->elems * sizeof *pv->avg);
    double *sum = calloc(per_row, sizeof *sum);
    uint32_t *n = calloc(per_row, sizeof *n);
    void *vals = malloc(band);
    double *line = malloc((size_t)fine[rank - 1] * sizeof *line);
    int rc = pv->avg && sum && n && vals && line
                 ? 0 : iti_error(IT_ENOMEM, "it_preview_png: out of memory");
    for (int64_t row = 0; rc == 0 && row < s->count[r]; row++) {
        int64_t first[IT_MAX_RANK] = {0}, ext[IT_MAX_RANK];
        memcpy(ext, fine, sizeof ext);
        first[r] = row * s->step[r];
        ext[r] = fine[r] - first[r] < s->step[r] ? fine[r] - first[r] : s->step[r];
        iti_selection sub;
        iti_selection_sub(&area, first, ext, v->esize, &sub);
        if ((rc = iti_eval_read(pv->t, &sub, vals, "it_preview_png")))
            break;
        memset(sum, 0, per_row * sizeof *sum);
        memset(n, 0, per_row * sizeof *n);
        accumulate(pv, vals, ext, line, sum, n);
        /* the row's boxes sit at stride per_row / (boxes before r) in the region's order */
        size_t outer = 1, inner = per_row;
        for (int d = 0; d < r; d++)
            outer *= (size_t)s->count[d];
        inner /= outer;
        for (size_t a = 0; a < outer; a++)
            for (size_t b = 0; b < inner; b++) {
                size_t o = a * inner + b;
                pv->avg[(a * (size_t)s->count[r] + (size_t)row) * inner + b] =
                    n[o] ? (float)(sum[o] / n[o]) : NAN;
            }
    }
    free(sum);
    free(n);
    free(vals);
    free(line);
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

/* `rows` rows of `width` pixels: two white rows, then the colour map from 0 (left) to 1. */
static void draw_colorbar(unsigned char *px, int width, int rows, int channels, it_colormap m) {
    for (int y = 0; y < rows; y++)
        for (int x = 0; x < width; x++) {
            unsigned char *q = px + ((size_t)y * (size_t)width + (size_t)x) * (size_t)channels;
            double n = width > 1 ? (double)x / (width - 1) : 0;
            if (y < 2)
                memset(q, 255, (size_t)channels);
            else if (channels == 3)
                colour(m, n, q);
            else
                q[0] = (unsigned char)lround(n * 255);
        }
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
    preview pv = {.t = t, .sel = &sel, .row_dim = nd == 0 ? 0 : dims[planar ? 1 : 0]};
    rc = o.average && stepped(&sel) ? read_averaged(&pv) : read_sampled(&pv);
    if (rc)
        return rc;
    double lo = o.vmin, hi = o.vmax;
    if (!o.fixed_range)
        value_range(&pv, count, &lo, &hi);
    int out_channels = channels == 3 || o.colormap != IT_COLORMAP_GRAY ? 3 : 1;
    bool bar = o.colorbar && channels == 1;
    int bar_rows = bar ? (height / 16 > 8 ? height / 16 : 8) : 0;
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
                    colour(o.colormap, n, px + p * 3);
            } else {
                px[p * (size_t)out_channels + (size_t)c] = isnan(v) ? 0 : (unsigned char)lround(n * 255);
            }
        }
    draw_colorbar(px + plane * (size_t)out_channels, width, bar_rows, out_channels, o.colormap);
    png_note note;
    describe(t, &sel, lo, hi, channels == 3 ? "rgb" : colormap_name(o.colormap), &note);
    rc = write_png(path, width, height + bar_rows, out_channels, px, &note);
    free(pv.buf);
    free(pv.avg);
    free(px);
    return rc;
}
