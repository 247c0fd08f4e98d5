/* bench_calls: the library's own cost per window with trivial C window functions: a source of
 * 16x16 zeros and a consumer copying its argument, read over [0, 2048)^2 from a memory store on
 * 2 threads (32768 windows). It is the baseline of bench_python's per-window figures, which run
 * the same workload with Python functions: the difference is the Python package's own cost.
 *
 * Usage: bench_calls [runs]      (default 5; medians)
 *        bench_calls --raw       one run: "RESULT us_per_window" */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "infinite_tensor.h"

enum { W = 16, N = 2048 };

static int zeros_fn(const it_window_batch *b, void *user) {
    (void)user;
    for (size_t k = 0; k < b->count; k++)
        memset(b->out[k], 0, W * W * sizeof(float));
    return 0;
}

static int copy_fn(const it_window_batch *b, void *user) {
    (void)user;
    for (size_t k = 0; k < b->count; k++)
        memcpy(b->out[k], b->arg[k], W * W * sizeof(float));
    return 0;
}

/* One run: microseconds per window, or a negative value. */
static double run(void) {
    it_ctx_options co;
    it_ctx_options_init(&co);
    co.threads = 2;
    it_ctx *ctx = NULL;
    it_store *s = NULL;
    it_tensor *src = NULL, *same = NULL;
    float *buf = malloc((size_t)N * N * sizeof *buf);
    double us = -1;
    int64_t w[2] = {W, W};
    it_tensor_desc d;
    it_window aw;
    it_tensor_desc_init(&d, 2);
    d.shape[0] = d.shape[1] = IT_INF;
    it_window_init(&d.window, 2, w);
    it_window_init(&aw, 2, w);
    d.id = "zeros";
    d.fn = zeros_fn;
    if (buf && it_ctx_create(&co, &ctx) == 0 && it_store_open_memory(ctx, NULL, &s) == 0 &&
        it_tensor_create(s, &d, &src) == 0) {
        d.id = "same";
        d.fn = copy_fn;
        d.n_args = 1;
        d.args = &src;
        d.arg_windows = &aw;
        it_region r = bench_square(N);
        double t0 = bench_now_ms();
        if (it_tensor_create(s, &d, &same) == 0 &&
            it_tensor_read(same, &r, buf, (size_t)N * N * sizeof *buf) == 0)
            us = (bench_now_ms() - t0) * 1e3 / (2.0 * (N / W) * (N / W));
    }
    if (us < 0)
        fprintf(stderr, "bench_calls: %s\n", it_last_error());
    it_store_close(s);
    it_ctx_destroy(ctx);
    free(buf);
    return us;
}

int main(int argc, char **argv) {
    bool raw = argc > 1 && strcmp(argv[1], "--raw") == 0;
    int runs = raw ? 1 : argc > 1 ? atoi(argv[1]) : 5;
    if (runs < 1 || runs > 50)
        return fprintf(stderr, "usage: bench_calls [runs 1..50] | --raw\n"), 2;
    double us[50];
    for (int i = 0; i < runs; i++)
        if ((us[i] = run()) < 0)
            return 1;
    if (raw) {
        printf("RESULT %.3f 0 0 0\n", us[0]);
        return 0;
    }
    printf("trivial C window functions on %dx%d windows over [0, %d)^2, 2 threads, %d run(s)\n",
           W, W, N, runs);
    printf("BENCH calls: us_per_window=%.2f\n", bench_median(us, runs));
    return 0;
}
