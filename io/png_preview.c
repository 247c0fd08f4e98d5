/* PNG previews of 2-D and 3-channel regions through libpng. */
#include <errno.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "file_util.h"

#define MAX_PIXELS ((size_t)1 << 28)

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
static int write_png(const char *path, int width, int height, int channels,
                     const unsigned char *pixels) {
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
    size_t bytes = sel.bytes;
    void *buf = malloc(bytes);
    unsigned char *px = malloc((size_t)width * (size_t)height * (channels == 3 || o.colormap ? 3 : 1));
    if (!buf || !px) {
        free(buf);
        free(px);
        return iti_error(IT_ENOMEM, "it_preview_png: out of memory");
    }
    rc = iti_eval_read(t, &sel, buf, "it_preview_png");
    if (rc == 0) {
        double lo = o.vmin, hi = o.vmax;
        if (!o.fixed_range) {
            lo = INFINITY, hi = -INFINITY;
            for (size_t i = 0; i < count; i++) {
                double v = it_dtype_load(iti_tensor_view(t)->dtype, buf, i);
                if (v < lo)
                    lo = v;
                if (v > hi)
                    hi = v;
            }
            if (!(hi > lo))
                hi = lo + 1;
        }
        size_t plane = (size_t)width * (size_t)height;
        int out_channels = channels == 3 || o.colormap != IT_COLORMAP_GRAY ? 3 : 1;
        for (size_t p = 0; p < plane; p++)
            for (int c = 0; c < channels; c++) {
                size_t src = planar ? c * plane + p : p * (size_t)channels + (size_t)c;
                double v = it_dtype_load(iti_tensor_view(t)->dtype, buf, src);
                double n = (v - lo) / (hi - lo);
                n = n < 0 ? 0 : n > 1 ? 1 : n;
                if (out_channels == 3 && channels == 1) {
                    if (isnan(v)) /* black in every colour map */
                        memset(px + p * 3, 0, 3);
                    else
                        colour(o.colormap, n, px + p * 3);
                } else {
                    px[p * (size_t)out_channels + (size_t)c] =
                        isnan(v) ? 0 : (unsigned char)lround(n * 255);
                }
            }
        rc = write_png(path, width, height, out_channels, px);
    }
    free(buf);
    free(px);
    return rc;
}
