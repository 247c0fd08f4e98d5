#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

double bench_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

float bench_field(int64_t y, int64_t x) {
    return (float)(y * 0.25 + x * 0.5) + (float)((x ^ y) & 7) * 0.125f;
}

int bench_field_fn(const it_window_batch *b, void *user) {
    (void)user;
    int64_t h = b->out_shape[0], w = b->out_shape[1];
    for (size_t k = 0; k < b->count; k++) {
        float *out = b->out[k];
        int64_t y0 = b->index[2 * k] * h, x0 = b->index[2 * k + 1] * w;
        for (int64_t y = 0; y < h; y++)
            for (int64_t x = 0; x < w; x++)
                out[y * w + x] = bench_field(y0 + y, x0 + x);
    }
    return 0;
}

typedef struct child_result {
    double ms, rss_mb;
    int ok;
} child_result;

int bench_in_child(int (*fn)(void *arg, double *ms), void *arg, double *ms, double *rss_mb) {
    int fd[2];
    if (pipe(fd))
        return 1;
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        close(fd[0]);
        child_result c = {0};
        c.ok = fn(arg, &c.ms) == 0;
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        c.rss_mb = ru.ru_maxrss / 1024.0;
        _exit(write(fd[1], &c, sizeof c) == sizeof c ? 0 : 1);
    }
    close(fd[1]);
    child_result r = {0};
    if (read(fd[0], &r, sizeof r) != sizeof r)
        r.ok = 0;
    close(fd[0]);
    waitpid(pid, NULL, 0);
    *ms = r.ms;
    *rss_mb = r.rss_mb;
    return r.ok ? 0 : 1;
}

int bench_field_tensor(it_store *store, int64_t tile, it_tensor **out) {
    int64_t w[2] = {tile, tile};
    it_tensor_desc d;
    it_tensor_desc_init(&d, 2);
    d.id = "field";
    d.shape[0] = d.shape[1] = IT_INF;
    it_window_init(&d.window, 2, w);
    d.chunk[0] = d.chunk[1] = tile;
    d.fn = bench_field_fn;
    return it_tensor_create(store, &d, out);
}

it_region bench_square(int64_t size) {
    it_region r;
    int64_t start[2] = {0, 0}, stop[2] = {size, size};
    it_region_set(&r, 2, start, stop, NULL);
    return r;
}

bool bench_args(int argc, char **argv, const char *name, int64_t unit, int *runs, int64_t *size,
                const char **dir) {
    *runs = argc > 1 ? atoi(argv[1]) : 3;
    if (argc > 2)
        *size = atoll(argv[2]);
    if (dir)
        *dir = argc > 3 ? argv[3] : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    if (*runs >= 1 && *runs <= 50 && *size >= unit && *size % unit == 0)
        return true;
    fprintf(stderr, "usage: %s [runs 1..50] [size, multiple of %lld]%s\n", name, (long long)unit,
            dir ? " [dir]" : "");
    return false;
}
