/* Live readers: while a writer in another process fills a store with frequent commits, other
 * processes open it read-only and read it over and over. Every read sees one completed commit:
 * each chunk all there (the reference values) or all missing (blend_init), never a mix, and a
 * handle that saw a chunk keeps seeing it; four reader processes at once. Readers keep working when the writer is killed
 * (SIGKILL) in the middle, and the next writer finishes the store. */
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_util.h"

enum { N = 256, C = 16, BANDS = N / C }; /* a store of N x N f32 in C x C chunks and windows */

static char path[256];

static int setup(void **state) {
    (void)state;
    temp_store_path(path, sizeof path, "live", (long)getpid());
    unlink(path);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    unlink(path);
    return 0;
}

static void pause_us(long us) {
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

static float ref(int64_t y, int64_t x) { return (float)(y * 1000 + x + 1); }

static int ref_fn(const it_window_batch *b, void *user) {
    (void)user;
    pause_us(2000); /* a fill lasts long enough to be seen running */
    for (size_t k = 0; k < b->count; k++) {
        float *out = b->out[k];
        int64_t y0 = b->index[2 * k] * C, x0 = b->index[2 * k + 1] * C;
        for (int y = 0; y < C; y++)
            for (int x = 0; x < C; x++)
                out[y * C + x] = ref(y0 + y, x0 + x);
    }
    return 0;
}

static void live_desc(it_tensor_desc *d) {
    int64_t w[2] = {C, C};
    it_tensor_desc_init(d, 2);
    d->id = "live";
    d->shape[0] = d->shape[1] = IT_INF;
    it_window_init(&d->window, 2, w);
    d->chunk[0] = d->chunk[1] = C;
    d->fn = ref_fn;
}

/* The writer: fills the square one row of chunks at a time, each a commit; `pause` us between
 * rows. Signals on `ready` once the tensor exists. Exits 0 when done. */
static void writer(int ready, long pause, it_hdf5_mode mode) {
    temp_store_path(path, sizeof path, "live", (long)getppid());
    it_ctx *ctx;
    it_store *s;
    it_tensor *t;
    it_tensor_desc d;
    live_desc(&d);
    if (it_ctx_create(NULL, &ctx) || it_store_open_hdf5(ctx, path, mode, NULL, &s) ||
        it_tensor_create(s, &d, &t) || it_store_flush(s)) {
        fprintf(stderr, "writer: %s\n", it_last_error());
        _exit(2);
    }
    if (write(ready, "w", 1) != 1)
        _exit(3);
    for (int band = 0; band < BANDS; band++) {
        it_region r = region2(band * C, band * C + C, 0, N);
        if (it_tensor_fill(t, &r) || it_store_flush(s))
            _exit(4);
        pause_us(pause);
    }
    it_store_close(s);
    _exit(0);
}

static pid_t start_writer(long pause, it_hdf5_mode mode) {
    int p[2];
    assert_int_equal(pipe(p), 0);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) { /* a fresh process: this one's open stores are not the writer's */
        close(p[0]);
        char fd[16], us[32], m[16];
        snprintf(fd, sizeof fd, "%d", p[1]);
        snprintf(us, sizeof us, "%ld", pause);
        snprintf(m, sizeof m, "%d", (int)mode);
        execl("/proc/self/exe", "test_live_readers", "--writer", fd, us, m, (char *)NULL);
        _exit(5);
    }
    close(p[1]);
    char c;
    assert_int_equal(read(p[0], &c, 1), 1);
    close(p[0]);
    return pid;
}

typedef struct reader {
    it_store *s;
    it_tensor *t;
    bool seen[BANDS][N / C];
    float *buf;
} reader;

static void reader_open(it_ctx *ctx, reader *r) {
    memset(r, 0, sizeof *r);
    if (it_store_open_hdf5(ctx, path, IT_HDF5_READONLY, NULL, &r->s) ||
        it_tensor_open(r->s, "live", IT_OPEN_FILL_MISSING, &r->t))
        fail_msg("live reader: %s", it_last_error());
    r->buf = malloc((size_t)N * N * sizeof *r->buf);
}

static void reader_close(reader *r) {
    it_tensor_release(r->t);
    assert_int_equal(it_store_close(r->s), 0);
    free(r->buf);
}

/* One snapshot: every chunk whole or missing, and none seen before missing now. Returns the
 * number of chunks present. */
static int check_snapshot(reader *r) {
    it_region all = region2(0, N, 0, N);
    if (it_tensor_read(r->t, &all, r->buf, (size_t)N * N * sizeof *r->buf))
        fail_msg("live read: %s", it_last_error());
    int present = 0;
    for (int cy = 0; cy < BANDS; cy++)
        for (int cx = 0; cx < N / C; cx++) {
            int whole = 0, none = 0;
            for (int y = cy * C; y < cy * C + C; y++)
                for (int x = cx * C; x < cx * C + C; x++) {
                    float v = r->buf[(size_t)y * N + (size_t)x];
                    whole += v == ref(y, x);
                    none += v == 0;
                }
            if (whole != C * C && none != C * C)
                fail_msg("chunk (%d, %d) half there: %d of %d values", cy, cx, whole, C * C);
            if (none == C * C && r->seen[cy][cx])
                fail_msg("chunk (%d, %d) was there and is gone", cy, cx);
            if (whole == C * C) {
                r->seen[cy][cx] = true;
                present++;
            }
        }
    return present;
}

/* A reader in its own process (started with --reader): snapshots through a long-lived handle
 * and fresh opens until `stop` reads end of file, then checks the last commit and writes its
 * snapshot count to `result`. A failed check exits non-zero. */
static void reader_process(int stop, int result) {
    temp_store_path(path, sizeof path, "live", (long)getppid());
    it_ctx *ctx;
    if (it_ctx_create(NULL, &ctx))
        _exit(5);
    reader kept;
    reader_open(ctx, &kept);
    int snapshots = 0;
    struct pollfd p = {.fd = stop, .events = POLLIN};
    while (poll(&p, 1, 0) == 0) {
        check_snapshot(&kept);
        reader fresh;
        reader_open(ctx, &fresh);
        check_snapshot(&fresh);
        reader_close(&fresh);
        snapshots += 2;
    }
    if (check_snapshot(&kept) != BANDS * (N / C))
        _exit(6);
    reader_close(&kept);
    it_ctx_destroy(ctx);
    _exit(write(result, &snapshots, sizeof snapshots) == sizeof snapshots ? 0 : 7);
}

enum { OTHER_READERS = 3 }; /* besides this process */

/* Starts the other reader processes; stop[1] and result[0] stay with the caller. */
static void start_readers(pid_t *pids, int *stop, int *result) {
    assert_int_equal(pipe(stop), 0);
    assert_int_equal(pipe(result), 0);
    fflush(NULL);
    for (int i = 0; i < OTHER_READERS; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            char s[16], r[16];
            snprintf(s, sizeof s, "%d", stop[0]);
            snprintf(r, sizeof r, "%d", result[1]);
            close(stop[1]);
            close(result[0]);
            execl("/proc/self/exe", "test_live_readers", "--reader", s, r, (char *)NULL);
            _exit(5);
        }
    }
    close(stop[0]);
    close(result[1]);
}

/* Ends the other readers once the writer is done; the sum of their snapshots. */
static int finish_readers(const pid_t *pids, int stop, int result) {
    close(stop);
    int total = 0;
    for (int i = 0; i < OTHER_READERS; i++) {
        int st, n = 0;
        waitpid(pids[i], &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            fail_msg("reader process %d failed (status %d)", i, st);
        assert_int_equal(read(result, &n, sizeof n), (ssize_t)sizeof n);
        total += n;
    }
    close(result);
    return total;
}

/* Readers reading while the writer commits row after row: a long-lived one and fresh opens
 * here and in three other processes. */
static void test_readers_while_a_writer_works(void **state) {
    (void)state;
    pid_t pid = start_writer(50000, IT_HDF5_CREATE), readers[OTHER_READERS];
    int stop[2], result[2];
    start_readers(readers, stop, result);
    it_ctx *ctx;
    assert_int_equal(it_ctx_create(NULL, &ctx), 0);
    reader kept;
    reader_open(ctx, &kept);
    int snapshots = 0, last = -1, changes = 0, st = 0, running = 0, tools = 0;
    while (waitpid(pid, &st, WNOHANG) == 0) {
        int n = check_snapshot(&kept);
        changes += n != last;
        last = n;
        reader fresh;
        reader_open(ctx, &fresh);
        check_snapshot(&fresh);
        reader_close(&fresh);
        snapshots += 2;
        it_hdf5_progress pg;
        int p = it_hdf5_writer_progress(path, &pg);
        assert_true(p == 0 || p == 1);
        if (p == 1) { /* a fill of one row of chunks, seen from this process */
            assert_string_equal(pg.id, "live");
            assert_true(pg.done <= pg.total && pg.total == N / C && pg.pid == pid);
            running++;
        }
#ifdef ITENSOR
        if (snapshots % 16 != 2)
            continue;
        char cmd[2048];
        snprintf(cmd, sizeof cmd, "'%s' ls '%s' >/dev/null && '%s' info --json '%s' live "
                 ">/dev/null", ITENSOR, path, ITENSOR, path);
        assert_int_equal(system(cmd), 0); /* the tool reads while the writer works */
        tools++;
#endif
    }
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    int others = finish_readers(readers, stop[1], result[0]);
    assert_int_equal(check_snapshot(&kept), BANDS * (N / C)); /* the last commit */
    print_message("%d snapshots here and %d in %d other reader processes while the writer "
                  "worked, %d commits seen by one handle, a fill seen running %d times, itensor "
                  "ls and info %d times\n", snapshots, others, OTHER_READERS, changes, running,
                  tools);
    assert_true(changes > 1 && running > 0);
    it_hdf5_progress none;
    assert_int_equal(it_hdf5_writer_progress(path, &none), 0); /* no writer any more */
    reader_close(&kept);
    it_ctx_destroy(ctx);
}

/* The writer killed in the middle: readers go on reading what was committed; the next writer
 * completes the store, and the reader sees that too. */
static void test_readers_survive_a_killed_writer(void **state) {
    (void)state;
    pid_t pid = start_writer(30000, IT_HDF5_CREATE);
    it_ctx *ctx;
    assert_int_equal(it_ctx_create(NULL, &ctx), 0);
    reader r;
    reader_open(ctx, &r);
    while (check_snapshot(&r) < 3 * (N / C))
        pause_us(1000);
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    int after = check_snapshot(&r);
    assert_true(after >= 3 * (N / C) && after < BANDS * (N / C));
    pid = start_writer(0, IT_HDF5_READWRITE); /* computes only what is missing */
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_int_equal(check_snapshot(&r), BANDS * (N / C));
    reader_close(&r);
    it_ctx_destroy(ctx);
}

int main(int argc, char **argv) {
    if (argc == 5 && strcmp(argv[1], "--writer") == 0)
        writer(atoi(argv[2]), atol(argv[3]), (it_hdf5_mode)atoi(argv[4]));
    if (argc == 4 && strcmp(argv[1], "--reader") == 0)
        reader_process(atoi(argv[2]), atoi(argv[3]));
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_readers_while_a_writer_works),
        T(test_readers_survive_a_killed_writer),
    };
    return cmocka_run_group_tests_name("live readers", tests, NULL, NULL);
}
