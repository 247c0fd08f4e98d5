/* bench_live: a writer fills a 2048^2 f32 store row of chunks by row of chunks (a window
 * function of ~0.1 us per pixel, one thread, on CPU 0), a commit each, alone and then with 4
 * reader processes (on the other CPUs, so that what is measured is what the readers' locks cost
 * the writer, not the CPU they take) hammering it: each reader opens the store read-only once and reads 512x512 regions
 * at places that move from read to read, 5 ms apart (every read follows the newest commit),
 * checking every value against the reference (each chunk whole or missing, never mixed, never
 * gone once seen), and every 8th read opens a second handle for one read. Then the writer is
 * killed (SIGKILL) in the middle, the readers read on, and the next writer completes the
 * store. Reports the writer's time with readers over its time alone (medians of the runs), the
 * snapshots and the mismatches.
 *
 * Usage: bench_live [runs] [dir]   (defaults 5, $TMPDIR or /tmp) */
#define _GNU_SOURCE /* sched_setaffinity */
#include <sched.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "infinite_tensor.h"

enum { N = 2048, C = 32, ROWS = N / C, READERS = 4, VIEW = 512, PAUSE_MS = 5 };

static char path[512];

static float ref(int64_t y, int64_t x) { return (float)(y * 4096 + x + 1); }

static volatile float sink; /* keeps the window function's work */

static int ref_fn(const it_window_batch *b, void *user) {
    (void)user;
    for (size_t k = 0; k < b->count; k++) {
        float *out = b->out[k], acc = 0;
        int64_t y0 = b->index[2 * k] * C, x0 = b->index[2 * k + 1] * C;
        for (int y = 0; y < C; y++)
            for (int x = 0; x < C; x++) {
                for (int i = 0; i < 40; i++) /* the work of a real window function */
                    acc = acc * 0.999f + (float)i;
                out[y * C + x] = ref(y0 + y, x0 + x);
            }
        sink = acc;
    }
    return 0;
}

/* Runs the calling process on CPU `cpu` only, or on every CPU but it (machines of 2 or more). */
static void pin(int cpu, bool only) {
    cpu_set_t set;
    CPU_ZERO(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 2)
        return;
    for (int c = 0; c < n && c < CPU_SETSIZE; c++)
        if ((c == cpu) == only)
            CPU_SET(c, &set);
    sched_setaffinity(0, sizeof set, &set);
}

/* The stored tensor: (inf, inf) f32 of ref_fn in C x C windows = chunks. */
static void live_desc(it_tensor_desc *d) {
    int64_t w[2] = {C, C};
    it_tensor_desc_init(d, 2);
    d->id = "live";
    d->shape[0] = d->shape[1] = IT_INF;
    it_window_init(&d->window, 2, w);
    d->chunk[0] = d->chunk[1] = C;
    d->fn = ref_fn;
}

/* The writer: ms to fill every row, each its own fill and commit; -1 on failure. */
static double write_all(void) {
    it_ctx_options co;
    it_ctx_options_init(&co);
    co.threads = 1;
    it_ctx *ctx;
    it_store *s;
    it_tensor *t;
    it_tensor_desc d;
    live_desc(&d);
    if (it_ctx_create(&co, &ctx) || it_store_open_hdf5(ctx, path, IT_HDF5_READWRITE, NULL, &s) ||
        it_tensor_create(s, &d, &t) || it_store_flush(s))
        return fprintf(stderr, "writer: %s\n", it_last_error()), -1;
    double t0 = bench_now_ms();
    for (int row = 0; row < ROWS; row++) {
        it_region r;
        int64_t start[2] = {row * C, 0}, stop[2] = {row * C + C, N};
        it_region_set(&r, 2, start, stop, NULL);
        if (it_tensor_fill(t, &r) || it_store_flush(s))
            return fprintf(stderr, "writer: %s\n", it_last_error()), -1;
    }
    double ms = bench_now_ms() - t0;
    it_store_close(s);
    it_ctx_destroy(ctx);
    return ms;
}

/* Checks one read of the VIEW x VIEW region at (y0, x0); counts mismatches (chunks half
 * there, or gone once seen). */
static long check(const float *buf, int64_t y0, int64_t x0, bool *seen) {
    long bad = 0;
    for (int cy = 0; cy < VIEW / C; cy++)
        for (int cx = 0; cx < VIEW / C; cx++) {
            int whole = 0, none = 0;
            for (int y = cy * C; y < cy * C + C; y++)
                for (int x = cx * C; x < cx * C + C; x++) {
                    float v = buf[(size_t)y * VIEW + (size_t)x];
                    whole += v == ref(y0 + y, x0 + x);
                    none += v == 0;
                }
            bool *was = &seen[(y0 / C + cy) * ROWS + x0 / C + cx];
            bad += (whole != C * C && none != C * C) || (none == C * C && *was);
            *was = *was || whole == C * C;
        }
    return bad;
}

static int read_once(it_ctx *ctx, float *buf, int64_t y0, int64_t x0, it_store **keep,
                     it_tensor **kt) {
    it_store *s = keep ? *keep : NULL;
    it_tensor *t = kt ? *kt : NULL;
    if (!s && (it_store_open_hdf5(ctx, path, IT_HDF5_READONLY, NULL, &s) ||
               it_tensor_open(s, "live", IT_OPEN_FILL_MISSING, &t)))
        return -1;
    it_region r;
    int64_t start[2] = {y0, x0}, stop[2] = {y0 + VIEW, x0 + VIEW};
    it_region_set(&r, 2, start, stop, NULL);
    int rc = it_tensor_read(t, &r, buf, (size_t)VIEW * VIEW * sizeof *buf);
    if (keep) {
        *keep = s, *kt = t;
    } else {
        it_tensor_release(t);
        it_store_close(s);
    }
    return rc;
}

/* A reader process: reads until `stop` is readable; writes "snapshots mismatches" to out. */
static int reader(int stop, int out) {
    it_ctx *ctx;
    it_ctx_options co;
    it_ctx_options_init(&co);
    co.threads = 1;
    float *buf = malloc((size_t)VIEW * VIEW * sizeof *buf);
    bool *seen = calloc(ROWS * ROWS, sizeof *seen), *seen2 = calloc(ROWS * ROWS, sizeof *seen2);
    it_store *s = NULL;
    it_tensor *t = NULL;
    if (!buf || !seen || !seen2 || it_ctx_create(&co, &ctx))
        return 1;
    long snapshots = 0, bad = 0;
    unsigned seed = (unsigned)getpid();
    for (;;) {
        struct pollfd p = {.fd = stop, .events = POLLIN};
        if (poll(&p, 1, PAUSE_MS) != 0) /* the writer is done (the pipe closed) */
            break;
        seed = seed * 1103515245u + 12345u;
        int64_t y0 = (int64_t)(seed >> 8) % ((N - VIEW) / C + 1) * C;
        int64_t x0 = (int64_t)(seed >> 16) % ((N - VIEW) / C + 1) * C;
        if (read_once(ctx, buf, y0, x0, &s, &t))
            return fprintf(stderr, "reader: %s\n", it_last_error()), 1;
        bad += check(buf, y0, x0, seen);
        if (++snapshots % 8 == 0) { /* a fresh handle now and then */
            memset(seen2, 0, ROWS * ROWS * sizeof *seen2);
            if (read_once(ctx, buf, y0, x0, NULL, NULL))
                return fprintf(stderr, "reader: %s\n", it_last_error()), 1;
            bad += check(buf, y0, x0, seen2);
            snapshots++;
        }
    }
    dprintf(out, "%ld %ld\n", snapshots, bad);
    return 0;
}

/* A store with the tensor and no chunk, made before readers start. */
static int make_empty_store(void) {
    unlink(path);
    it_ctx *ctx;
    it_store *s;
    it_tensor *t;
    it_tensor_desc d;
    live_desc(&d);
    int rc = it_ctx_create(NULL, &ctx);
    if (rc == 0 && (rc = it_store_open_hdf5(ctx, path, IT_HDF5_CREATE, NULL, &s)) == 0) {
        rc = it_tensor_create(s, &d, &t);
        rc = it_store_close(s) ? -1 : rc;
    }
    if (rc)
        fprintf(stderr, "%s\n", it_last_error());
    it_ctx_destroy(ctx);
    return rc;
}

typedef struct readers {
    pid_t pids[READERS];
    int stop, out;              /* closing stop ends them; each writes its counts to out */
} readers;

static int start_readers(readers *rd) {
    int stop[2], out[2];
    if (pipe(stop) || pipe(out))
        return -1;
    for (int r = 0; r < READERS; r++) {
        fflush(NULL);
        if ((rd->pids[r] = fork()) == 0) {
            char a[16], b[16];
            snprintf(a, sizeof a, "%d", stop[0]);
            snprintf(b, sizeof b, "%d", out[1]);
            close(stop[1]);
            execl("/proc/self/exe", "bench_live", "--reader", a, b, path, (char *)NULL);
            _exit(5);
        }
    }
    close(stop[0]);
    close(out[1]);
    rd->stop = stop[1];
    rd->out = out[0];
    struct timespec settle = {0, 200000000}; /* the readers are reading */
    nanosleep(&settle, NULL);
    return 0;
}

/* Ends the readers; adds their snapshots and mismatches. -1 when one failed. */
static int stop_readers(readers *rd, long *snapshots, long *bad) {
    close(rd->stop);
    int rc = 0;
    for (int r = 0; r < READERS; r++) {
        int st;
        waitpid(rd->pids[r], &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            rc = -1;
    }
    FILE *f = fdopen(rd->out, "r");
    long sn, bd;
    while (f && fscanf(f, "%ld %ld", &sn, &bd) == 2)
        *snapshots += sn, *bad += bd;
    if (f)
        fclose(f);
    if (rc)
        fprintf(stderr, "a reader failed\n");
    return rc;
}

int main(int argc, char **argv) {
    if (argc == 5 && strcmp(argv[1], "--reader") == 0) {
        pin(0, false);
        snprintf(path, sizeof path, "%s", argv[4]);
        return reader(atoi(argv[2]), atoi(argv[3]));
    }
    int runs = argc > 1 ? atoi(argv[1]) : 5;
    const char *dir = argc > 2 ? argv[2] : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    if (runs < 1 || runs > 50)
        return fprintf(stderr, "usage: bench_live [runs 1..50] [dir]\n"), 2;
    snprintf(path, sizeof path, "%s/bench-live-%d.h5", dir, (int)getpid());
    pin(0, true);
    double alone[50], with[50];
    long snapshots = 0, bad = 0;
    for (int i = 0; i < runs; i++) {
        unlink(path);
        if ((alone[i] = write_all()) < 0 || make_empty_store())
            return 1;
        readers rd;
        if (start_readers(&rd))
            return 1;
        with[i] = write_all();
        if (stop_readers(&rd, &snapshots, &bad) || with[i] < 0)
            return 1;
        printf("run %d: writer alone %.0f ms, with %d readers %.0f ms\n", i + 1, alone[i],
               READERS, with[i]);
    }
    /* The writer killed in the middle of the hammer: readers read on; the next writer
     * completes the store under their eyes. */
    readers rd;
    if (make_empty_store() || start_readers(&rd))
        return 1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0)
        _exit(write_all() < 0);
    struct timespec part = {0, 150000000};
    nanosleep(&part, NULL);
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    nanosleep(&part, NULL);
    double resumed = write_all();
    long killed_snapshots = 0;
    if (stop_readers(&rd, &killed_snapshots, &bad) || resumed < 0)
        return 1;
    snapshots += killed_snapshots;
    printf("writer killed after 150 ms: the readers went on (%ld snapshots), the next writer "
           "finished in %.0f ms\n", killed_snapshots, resumed);
    unlink(path);
    double a = bench_median(alone, runs), w = bench_median(with, runs);
    printf("writer: %d rows of %d chunks (%dx%d f32, chunks %d), a commit each; %d readers "
           "reading %dx%d regions %d ms apart\n", ROWS, ROWS, N, N, C, READERS, VIEW, VIEW, PAUSE_MS);
    printf("BENCH live: writer_ratio=%.2f ms_alone=%.0f ms_with_readers=%.0f snapshots=%ld "
           "mismatches=%ld\n", w / a, a, w, snapshots, bad);
    return bad ? 1 : 0;
}
