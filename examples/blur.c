/* The original library's blur example in C: a random RGB image of unbounded size (3, inf, inf)
 * made of 512x512 windows, blurred twice with a 5x5 gaussian through a padded argument window
 * (size 516, stride 512, offset -2). Reads [:, 500:524, 500:524] of all three tensors, which
 * computes only the windows those pixels need, and prints a summary.
 *
 * The tiles are kept in an HDF5 store (default blur.h5; run it twice: the second run computes
 * nothing). Usage: blur [STORE.h5 | --memory] */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infinite_tensor.h"

#define WINDOW 512
#define KERNEL 5
#define PAD (KERNEL / 2)
#define PADDED (WINDOW + 2 * PAD)

static atomic_int noise_calls, blur_calls;

/* Uniform [0, 1) from a counter-based hash of the pixel coordinate: the same pixel always gets
 * the same value, whichever window or thread computes it. */
static float noise_at(int64_t c, int64_t y, int64_t x) {
    uint64_t h = (uint64_t)c * 0x9E3779B97F4A7C15u ^ (uint64_t)y * 0xC2B2AE3D27D4EB4Fu ^
                 (uint64_t)x * 0x165667B19E3779F9u;
    h ^= h >> 31;
    h *= 0xBF58476D1CE4E5B9u;
    h ^= h >> 29;
    return (float)(h >> 40) / 16777216.0f;
}

static int random_image(const it_window_batch *b, void *user) {
    (void)user;
    for (size_t k = 0; k < b->count; k++) {
        const int64_t *w = b->index + 3 * k; /* (0, wy, wx) */
        float *out = b->out[k];
        for (int64_t c = 0; c < 3; c++)
            for (int64_t y = 0; y < WINDOW; y++)
                for (int64_t x = 0; x < WINDOW; x++)
                    *out++ = noise_at(c, w[1] * WINDOW + y, w[2] * WINDOW + x);
        atomic_fetch_add(&noise_calls, 1);
    }
    return 0;
}

/* Separable gaussian (sigma 1) over the padded input; keeps the valid 512x512 interior. */
static int gaussian_blur(const it_window_batch *b, void *user) {
    float *tmp = malloc(sizeof(float) * PADDED * WINDOW);
    if (!tmp)
        return 1;
    float k[KERNEL], sum = 0;
    for (int i = 0; i < KERNEL; i++)
        sum += k[i] = expf(-0.5f * (float)((i - PAD) * (i - PAD)));
    for (int i = 0; i < KERNEL; i++)
        k[i] /= sum;
    (void)user;
    for (size_t n = 0; n < b->count; n++) {
        const float *in = b->arg[n * b->n_args];
        float *out = b->out[n];
        for (int c = 0; c < 3; c++) {
            const float *src = in + (size_t)c * PADDED * PADDED;
            for (int y = 0; y < PADDED; y++)
                for (int x = 0; x < WINDOW; x++) {
                    float s = 0;
                    for (int i = 0; i < KERNEL; i++)
                        s += k[i] * src[y * PADDED + x + i];
                    tmp[y * WINDOW + x] = s;
                }
            float *dst = out + (size_t)c * WINDOW * WINDOW;
            for (int y = 0; y < WINDOW; y++)
                for (int x = 0; x < WINDOW; x++) {
                    float s = 0;
                    for (int i = 0; i < KERNEL; i++)
                        s += k[i] * tmp[(y + i) * WINDOW + x];
                    dst[y * WINDOW + x] = s;
                }
        }
        atomic_fetch_add(&blur_calls, 1);
    }
    free(tmp);
    return 0;
}

#define CHECK(call)                                                                   \
    do {                                                                              \
        int rc_ = (call);                                                             \
        if (rc_) {                                                                    \
            fprintf(stderr, "%s failed: %s (%s)\n", #call, it_strerror(rc_), it_last_error()); \
            return 1;                                                                 \
        }                                                                             \
    } while (0)

static void summary(const char *name, const float *v) {
    printf("%-15s", name);
    for (int c = 0; c < 3; c++) {
        double mn = 1e30, mx = -1e30, mean = 0, var = 0;
        for (int i = 0; i < 24 * 24; i++) {
            double x = v[c * 576 + i];
            mn = x < mn ? x : mn;
            mx = x > mx ? x : mx;
            mean += x;
        }
        mean /= 576;
        for (int i = 0; i < 576; i++)
            var += (v[c * 576 + i] - mean) * (v[c * 576 + i] - mean);
        printf("  ch%d mean %.4f sd %.4f [%.3f, %.3f]", c, mean, sqrt(var / 576), mn, mx);
    }
    printf("\n");
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "blur.h5";
    it_ctx *ctx;
    it_store *store;
    CHECK(it_ctx_create(NULL, &ctx));
    if (strcmp(path, "--memory") == 0) {
        CHECK(it_store_open_memory(ctx, NULL, &store));
        printf("store: memory\n");
    } else {
        CHECK(it_store_open_hdf5(ctx, path, IT_HDF5_READWRITE, NULL, &store));
        printf("store: %s\n", path);
    }

    int64_t window[3] = {3, WINDOW, WINDOW}, padded[3] = {3, PADDED, PADDED};
    it_tensor_desc d;
    it_tensor_desc_init(&d, 3);
    d.shape[0] = 3, d.shape[1] = IT_INF, d.shape[2] = IT_INF;
    it_window_init(&d.window, 3, window);
    d.fn = random_image;
    d.fn_tag = "noise v1"; /* changing the generator? change the tag: old tiles are refused */
    d.id = "image";
    it_tensor *image, *blurred, *twice;
    CHECK(it_tensor_create(store, &d, &image));

    /* Each blur window reads its own window of the image plus a PAD-pixel halo. */
    int64_t step[3] = {3, WINDOW, WINDOW}, halo[3] = {0, -PAD, -PAD};
    it_window input;
    it_window_set(&input, 3, padded, step, halo);
    d.fn = gaussian_blur;
    d.fn_tag = "gaussian 5x5 sigma 1";
    d.n_args = 1;
    d.arg_windows = &input;
    d.args = &image;
    d.id = "blurred";
    CHECK(it_tensor_create(store, &d, &blurred));
    d.args = &blurred;
    d.id = "blurred-twice";
    CHECK(it_tensor_create(store, &d, &twice));

    it_region r;
    int64_t start[3] = {0, 500, 500}, stop[3] = {3, 524, 524};
    it_region_set(&r, 3, start, stop, NULL);
    float v[3][3 * 24 * 24];
    it_tensor *t[3] = {image, blurred, twice};
    const char *names[3] = {"original", "blurred", "double blurred"};
    printf("region [:, 500:524, 500:524] of a (3, inf, inf) image, windows %d:\n", WINDOW);
    for (int i = 0; i < 3; i++) {
        CHECK(it_tensor_read(t[i], &r, v[i], sizeof v[i]));
        summary(names[i], v[i]);
    }
    printf("pixel (0, 500, 500): original %.4f, blurred %.4f, double blurred %.4f\n", v[0][0],
           v[1][0], v[2][0]);
    printf("f was called %d times: %d image, %d blur windows (0 when the store already held "
           "them)\n",
           atomic_load(&noise_calls) + atomic_load(&blur_calls), atomic_load(&noise_calls),
           atomic_load(&blur_calls));
    int before = atomic_load(&noise_calls) + atomic_load(&blur_calls);
    CHECK(it_tensor_read(twice, &r, v[2], sizeof v[2]));
    printf("reading the same region again computed %d windows\n",
           atomic_load(&noise_calls) + atomic_load(&blur_calls) - before);
    CHECK(it_store_close(store));
    it_ctx_destroy(ctx);
    return 0;
}
