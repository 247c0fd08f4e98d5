/* itensor demo: a procedural terrain of unbounded size, built with the library end to end.
 *
 *   height  (inf, inf) f32   fractal value noise, 256x256 windows
 *   smooth  (inf, inf) f32   5x5 smoothing of height through a padded window (260, offset -2)
 *   relief  (3, inf, inf) u8 shaded relief in RGB from smooth, read through a 2-D window
 *                             mapped onto the 3-D window index (map 1, 2)
 *
 * Stored in DIR/store.h5 (a second run is served from it), a region exported to
 * DIR/export.h5 and rendered to DIR/preview.png. */
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define W 256

static atomic_long calls;

static double lattice(int64_t y, int64_t x, int octave) {
    uint64_t h = (uint64_t)y * 0x9E3779B97F4A7C15u ^ (uint64_t)x * 0xC2B2AE3D27D4EB4Fu ^
                 (uint64_t)(octave + 1) * 0x165667B19E3779F9u;
    h ^= h >> 31;
    h *= 0xBF58476D1CE4E5B9u;
    h ^= h >> 29;
    return (double)(h >> 11) / 9007199254740992.0;
}

static double smoothstep(double t) { return t * t * (3 - 2 * t); }

/* Fractal value noise: 6 octaves from a 512-pixel lattice down to 16 pixels. */
static double fbm(int64_t y, int64_t x) {
    double sum = 0, amp = 0.5;
    for (int o = 0; o < 6; o++) {
        int64_t cell = (int64_t)512 >> o;
        int64_t cy = y >= 0 ? y / cell : -((-y + cell - 1) / cell);
        int64_t cx = x >= 0 ? x / cell : -((-x + cell - 1) / cell);
        double fy = smoothstep((double)(y - cy * cell) / (double)cell);
        double fx = smoothstep((double)(x - cx * cell) / (double)cell);
        double a = lattice(cy, cx, o), b = lattice(cy, cx + 1, o);
        double c = lattice(cy + 1, cx, o), d = lattice(cy + 1, cx + 1, o);
        sum += amp * ((a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy);
        amp *= 0.5;
    }
    return (sum - 0.5) * 3000.0; /* metres */
}

static int height_fn(const it_window_batch *b, void *user) {
    (void)user;
    for (size_t k = 0; k < b->count; k++) {
        float *out = b->out[k];
        int64_t y0 = b->index[2 * k] * W, x0 = b->index[2 * k + 1] * W;
        for (int y = 0; y < W; y++)
            for (int x = 0; x < W; x++)
                out[y * W + x] = (float)fbm(y0 + y, x0 + x);
        atomic_fetch_add(&calls, 1);
    }
    return 0;
}

static int smooth_fn(const it_window_batch *b, void *user) {
    (void)user;
    const int P = W + 4;
    for (size_t k = 0; k < b->count; k++) {
        const float *in = b->arg[k * b->n_args];
        float *out = b->out[k];
        for (int y = 0; y < W; y++)
            for (int x = 0; x < W; x++) {
                float s = 0;
                for (int dy = 0; dy < 5; dy++)
                    for (int dx = 0; dx < 5; dx++)
                        s += in[(y + dy) * P + x + dx];
                out[y * W + x] = s / 25.0f;
            }
        atomic_fetch_add(&calls, 1);
    }
    return 0;
}

static void palette(double h, double *rgb) {
    static const double stops[][4] = {{-1500, 20, 50, 120}, {-1, 60, 120, 190}, {0, 210, 200, 150},
                                      {150, 80, 150, 70},   {600, 40, 100, 45}, {900, 120, 100, 80},
                                      {1200, 235, 235, 235}};
    int n = sizeof stops / sizeof *stops, i = 1;
    while (i < n - 1 && h > stops[i][0])
        i++;
    double f = (h - stops[i - 1][0]) / (stops[i][0] - stops[i - 1][0]);
    f = f < 0 ? 0 : f > 1 ? 1 : f;
    for (int c = 0; c < 3; c++)
        rgb[c] = stops[i - 1][c + 1] + f * (stops[i][c + 1] - stops[i - 1][c + 1]);
}

static int relief_fn(const it_window_batch *b, void *user) {
    (void)user;
    const int P = W + 2;
    for (size_t k = 0; k < b->count; k++) {
        const float *h = b->arg[k * b->n_args];
        uint8_t *out = b->out[k];
        for (int y = 0; y < W; y++)
            for (int x = 0; x < W; x++) {
                const float *c = h + (y + 1) * P + x + 1;
                double dx = (c[1] - c[-1]) / 2.0, dy = (c[P] - c[-P]) / 2.0;
                double nx = -dx / 8, ny = -dy / 8, nz = 1; /* 8 m per pixel */
                double len = sqrt(nx * nx + ny * ny + nz * nz);
                double shade = (-0.6 * nx - 0.6 * ny + 0.53 * nz) / len; /* light from the NW */
                shade = 0.35 + 0.65 * (shade < 0 ? 0 : shade);
                double rgb[3];
                palette(c[0], rgb);
                if (c[0] < 0) /* water is flat */
                    shade = 1;
                for (int ch = 0; ch < 3; ch++) {
                    double v = rgb[ch] * shade;
                    out[(ch * W + y) * W + x] = (uint8_t)(v > 255 ? 255 : v);
                }
            }
        atomic_fetch_add(&calls, 1);
    }
    return 0;
}

static int build(it_store *s, it_tensor **height, it_tensor **smooth, it_tensor **relief) {
    int64_t w2[2] = {W, W}, pad5[2] = {W + 4, W + 4}, w3[3] = {3, W, W}, pad3[2] = {W + 2, W + 2};
    it_tensor_desc d;
    it_tensor_desc_init(&d, 2);
    d.shape[0] = d.shape[1] = IT_INF;
    it_window_init(&d.window, 2, w2);
    d.fn = height_fn;
    d.fn_tag = "fbm value noise v1";
    d.id = "height";
    int rc = it_tensor_create(s, &d, height);
    if (rc)
        return rc;
    int64_t step[2] = {W, W}, halo2[2] = {-2, -2}, halo1[2] = {-1, -1};
    it_window smooth_in;
    it_window_set(&smooth_in, 2, pad5, step, halo2);
    d.fn = smooth_fn;
    d.fn_tag = "box 5x5 v1";
    d.id = "smooth";
    d.n_args = 1;
    d.args = height;
    d.arg_windows = &smooth_in;
    if ((rc = it_tensor_create(s, &d, smooth)))
        return rc;
    it_window relief_in; /* 2-D window on smooth, fed by window dims 1 and 2 of relief */
    it_window_set(&relief_in, 2, pad3, step, halo1);
    relief_in.map[0] = 1;
    relief_in.map[1] = 2;
    it_tensor_desc_init(&d, 3);
    d.shape[0] = 3, d.shape[1] = d.shape[2] = IT_INF;
    d.dtype = IT_U8;
    it_window_init(&d.window, 3, w3);
    d.fn = relief_fn;
    d.fn_tag = "hillshade v1";
    d.id = "relief";
    d.n_args = 1;
    d.args = smooth;
    d.arg_windows = &relief_in;
    return it_tensor_create(s, &d, relief);
}

static bool json; /* --json: the narration is left out, one document printed at the end */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
    if (json)
        return;
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
}

static void print_json(const char *store, const char *exported, const char *png, long windows,
                       double secs) {
    cli_json_begin("store", store);
    fputs(", \"export\": ", stdout);
    cli_json_string(stdout, exported);
    fputs(", \"preview\": ", stdout);
    cli_json_string(stdout, png);
    printf(", \"windows_computed\": %ld, \"seconds\": %.3f}\n", windows, secs);
}

int cmd_demo(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        puts("Usage: itensor demo [--json] [DIR]\n\nBuilds a procedural terrain of unbounded size into "
             "DIR (default demo-out):\n  DIR/store.h5    the tile store (height, smooth, relief)\n"
             "  DIR/export.h5   a region of the smoothed heights, with pixel coordinates\n"
             "  DIR/preview.png the shaded relief of that region\n"
             "Run it twice: the second run is served from the store.\n\n"
             "  --json   one JSON document: store, export, preview, windows_computed, seconds");
        return 0;
    }
    const char *pos[1];
    int npos, prc = cli_parse(argc, argv, cli_json_option, cli_set_flag, &json, pos, 0, 1, &npos);
    if (prc)
        return prc;
    const char *dir = npos ? pos[0] : "demo-out";
    mkdir(dir, 0777);
    char store_path[4096], export_path[4096], png_path[4096];
    snprintf(store_path, sizeof store_path, "%s/store.h5", dir);
    snprintf(export_path, sizeof export_path, "%s/export.h5", dir);
    snprintf(png_path, sizeof png_path, "%s/preview.png", dir);
    it_ctx *ctx;
    it_store *s;
    it_tensor *height, *smooth, *relief;
    if (cli_context(&ctx, "demo"))
        return 1;
    int rc = it_store_open_hdf5(ctx, store_path, IT_HDF5_READWRITE, NULL, &s);
    if (rc == IT_EFORMAT) { /* the demo's own store, unreadable (an older version's): rebuilt */
        say("%s cannot be read (%s): rebuilding it\n", store_path, cli_message());
        rc = it_store_open_hdf5(ctx, store_path, IT_HDF5_CREATE, NULL, &s);
    }
    if (rc) {
        it_ctx_destroy(ctx);
        return cli_fail(store_path, rc);
    }
    if ((rc = build(s, &height, &smooth, &relief))) {
        cli_fail("building the pipeline", rc);
        goto out;
    }
    /* a region straddling the origin: negative coordinates included */
    it_region r3, r2;
    int64_t s3[3] = {0, -640, -1024}, e3[3] = {3, 640, 1024};
    it_region_set(&r3, 3, s3, e3, NULL);
    it_region_set(&r2, 2, s3 + 1, e3 + 1, NULL);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    say("relief[:, -640:640, -1024:1024] (computes height, smooth and relief windows)...\n");
    rc = it_tensor_fill(relief, &r3);
    cli_progress_done();
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc) {
        cli_fail("computing", rc);
        goto out;
    }
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    long n = atomic_load(&calls);
    if (n)
        say("  computed %ld windows in %.2f s, stored in %s\n", n, secs, store_path);
    else
        say("  computed 0 windows: everything was already in %s (%.2f s)\n", store_path, secs);
    it_export_options eo;
    it_export_options_init(&eo);
    eo.overwrite = 1;
    eo.units = "8 m"; /* UDUNITS: one pixel step is 8 metres */
    eo.long_name = "smoothed height";
    cli_progress_in_bytes();
    rc = it_export_hdf5(smooth, &r2, export_path, "height", &eo, NULL);
    cli_progress_done();
    if (rc) {
        cli_fail("export", rc);
        goto out;
    }
    say("  exported smooth[-640:640, -1024:1024] to %s:height (1280 x 2048 f32, y/x "
           "coordinates)\n", export_path);
    if ((rc = it_preview_png(relief, &r3, png_path, NULL))) {
        cli_fail("preview", rc);
        goto out;
    }
    say("  rendered the shaded relief to %s (2048 x 1280 RGB)\n", png_path);
    /* Debian's python3-h5py and -xarray belong to /usr/bin/python3, which another python3
     * (a venv, conda) may come before on PATH */
    const char *py = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
    if (json) {
        print_json(store_path, export_path, png_path, n, secs);
        goto out;
    }
    printf("\nopen it:\n"
           "  itensor ls %s\n"
           "  ncdump -h %s\n"
           "  %s -c \"import xarray; print(xarray.open_dataset('%s'))\"\n"
           "  %s -c \"import h5py; f = h5py.File('%s'); g = f['tensors/smooth']; "
           "o = g.attrs['origin']; print(g['data'][0 - o[0], 0 - o[1]])\"\n",
           store_path, export_path, py, export_path, py, store_path);
out:
    it_store_close(s);
    it_ctx_destroy(ctx);
    return rc ? 1 : 0;
}
