/* Faults and kills at every I/O call: every write, truncate, sync, copy and rename that a fill
 * (of a new or an existing store, its close included) or an export (to a new or an existing
 * file) makes is failed in turn, in a child process: EIO on that call alone, ENOSPC from that
 * call on (a full disk), and SIGKILL in the middle of it (half its bytes written), through the
 * interposer of fault_inject.c. For every point:
 * the call returns an error (never silent success), the child exits normally (HDF5's exit
 * handlers included: no crash), the store still opens and every chunk it holds equals a fresh
 * computation, every chunk of a fill that returned success is still there, a fault-free rerun
 * completes the store, and an export's target is untouched (an existing file byte for byte, a
 * new one absent, no temporary left). Then the same on a real full file system (tmpfs, when
 * this process may mount one). Prints
 *   faults: points=N crashes=0 silent=0 corrupt_stores=0 lost_chunks=0 modified_files=0
 * IT_FAULT_STRIDE=s tests every s-th point (sanitizer builds). */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <hdf5.h>

#include "fault_inject.h"
#include "test_util.h"

#define BANDS 4
#define HALF 64 /* the filled region: [-HALF, HALF)^2 of "top" */
#define EXIT_REPORTED 0
#define EXIT_SUCCEEDED 10
#define EXIT_WRONG_CODE 5

typedef struct tally {
    long points, crashes, silent, wrong_codes, corrupt, lost, modified;
} tally;

static int sh(const char *fmt, ...);
static char dir[256];
static it_ctx *ref_ctx; /* the reference: the same pipeline in a memory store */
static it_store *ref_store;
static it_tensor *ref_t[2]; /* top, base */

#define MAX_BANDS 128
typedef struct bands {
    unsigned char done[MAX_BANDS]; /* fills that returned success (flushed: durable) */
} bands;

static void path_in(char *buf, size_t size, const char *name) {
    snprintf(buf, size, "%s/%s", dir, name);
}

/* ---- the pipeline ------------------------------------------------------------------------ */

/* "base": (inf, inf) f32 golden 16x16 windows and chunks; "top": 3x3 box sums of base in 16x16
 * windows, 32x32 chunks (blended, not direct). */
static int make_tensors(it_store *s, it_tensor **base, it_tensor **top) {
    int64_t w16[2] = {16, 16}, w18[2] = {18, 18};
    it_tensor_desc d;
    it_tensor_desc_init(&d, 2);
    d.id = "base";
    d.shape[0] = d.shape[1] = IT_INF;
    it_window_init(&d.window, 2, w16);
    d.chunk[0] = d.chunk[1] = 16;
    d.fn = golden_fn;
    int rc = it_tensor_create(s, &d, base);
    if (rc)
        return rc;
    int64_t halo[2] = {-1, -1};
    it_window aw;
    it_window_set(&aw, 2, w18, w16, halo);
    d.id = "top";
    d.chunk[0] = d.chunk[1] = 32;
    d.fn = box3_fn;
    d.args = base;
    d.arg_windows = &aw;
    d.n_args = 1;
    return it_tensor_create(s, &d, top);
}

/* Band b: 32 rows of top from -HALF down, HALF*2 columns. */
static it_region band(int b) {
    int64_t rows = 2 * HALF / BANDS;
    return region2(-HALF + b * rows, -HALF + (b + 1) * rows, -HALF, HALF);
}

static void make_reference(void) {
    it_tensor *base, *top;
    it_ctx_options o; /* one thread: no pool threads alive when the test forks */
    it_ctx_options_init(&o);
    o.threads = 1;
    assert_int_equal(it_ctx_create(&o, &ref_ctx), 0);
    assert_int_equal(it_store_open_memory(ref_ctx, NULL, &ref_store), 0);
    assert_int_equal(make_tensors(ref_store, &base, &top), 0);
    ref_t[0] = top;
    ref_t[1] = base;
}

/* ---- checking a store after a fault ------------------------------------------------------- */

typedef struct chunk_check {
    it_tensor *t, *ref;
    int bad;
} chunk_check;

static int check_chunk(const int64_t *start, const int64_t *stop, void *user) {
    chunk_check *c = user;
    float got[32 * 32], want[32 * 32];
    it_region r = region2(start[0], stop[0], start[1], stop[1]);
    size_t n = (size_t)((stop[0] - start[0]) * (stop[1] - start[1])) * 4;
    if (n > sizeof got || it_tensor_read(c->t, &r, got, n) != 0 ||
        it_tensor_read(c->ref, &r, want, n) != 0 || memcmp(got, want, n) != 0)
        c->bad++;
    return 0;
}

/* Opens the store read-only: every stored chunk of both tensors equal to the reference, every
 * band in `durable` present. Returns problems found; *lost counts missing durable bands. */
static int check_store(const char *path, const bands *durable, int nbands, long *lost) {
    it_ctx *ctx;
    it_store *s;
    it_ctx_create(NULL, &ctx);
    int problems = 0, any = 0;
    for (int b = 0; b < nbands; b++)
        any += durable->done[b];
    if (it_store_open_hdf5(ctx, path, IT_HDF5_READONLY, NULL, &s) != 0) {
        fprintf(stderr, "  store does not open: %s\n", it_last_error());
        it_ctx_destroy(ctx);
        return 1;
    }
    static const char *ids[2] = {"top", "base"};
    for (int k = 0; k < 2; k++) {
        it_tensor *t;
        if (it_tensor_open(s, ids[k], 0, &t) != 0) {
            if (any) {
                fprintf(stderr, "  tensor %s does not open: %s\n", ids[k], it_last_error());
                problems++;
            }
            continue;
        }
        chunk_check c = {t, ref_t[k], 0};
        if (it_tensor_foreach_chunk(t, check_chunk, &c) != 0 || c.bad) {
            fprintf(stderr, "  tensor %s: %d bad chunks (%s)\n", ids[k], c.bad, it_last_error());
            problems++;
        }
        it_hdf5_index_report ir;
        if (it_hdf5_check_index(t, &ir) != 0) {
            fprintf(stderr, "  tensor %s: index check failed: %s\n", ids[k], it_last_error());
            problems++;
        }
        for (int b = 0; k == 0 && b < nbands; b++) {
            if (!durable->done[b])
                continue;
            it_region r = band(b);
            size_t n = (size_t)(2 * HALF / BANDS) * 2 * HALF;
            float *buf = malloc(n * 4);
            if (it_tensor_read(t, &r, buf, n * 4) != 0) {
                fprintf(stderr, "  band %d was filled but is gone: %s\n", b, it_last_error());
                ++*lost;
            }
            free(buf);
        }
        it_tensor_release(t);
    }
    it_store_close(s);
    it_ctx_destroy(ctx);
    return problems;
}

/* A fault-free run completes the store and every value is right. */
static int resume(const char *path) {
    it_ctx *ctx;
    it_store *s;
    it_tensor *base, *top;
    it_ctx_create(NULL, &ctx);
    int rc = it_store_open_hdf5(ctx, path, IT_HDF5_READWRITE, NULL, &s);
    if (rc == 0) {
        rc = make_tensors(s, &base, &top);
        size_t n = (size_t)(4 * HALF * HALF);
        float *buf = malloc(n * 4), *want = malloc(n * 4);
        it_region all = region2(-HALF, HALF, -HALF, HALF);
        if (rc == 0)
            rc = it_tensor_read(top, &all, buf, n * 4);
        if (rc == 0 && it_tensor_read(ref_t[0], &all, want, n * 4) == 0 &&
            memcmp(buf, want, n * 4) != 0)
            rc = IT_EINTERNAL;
        free(buf);
        free(want);
        int crc = it_store_close(s);
        rc = rc ? rc : crc;
    }
    if (rc)
        fprintf(stderr, "  resume failed: %s\n", it_last_error());
    it_ctx_destroy(ctx);
    return rc;
}

/* ---- children --------------------------------------------------------------------------------- */

/* Reads the band numbers a child reported on fd until it closes; returns how many. */
static int read_bands(int fd, bands *b) {
    memset(b, 0, sizeof *b);
    int n = 0;
    unsigned char c;
    while (read(fd, &c, 1) == 1)
        b->done[c] = 1, n++;
    return n;
}

/* Fills the bands one by one (each successful fill is flushed: durable), reporting each on fd.
 * Returns the first error. */
static int child_fill(const char *path, it_hdf5_mode mode, int fd, int level, int nbands) {
    it_ctx *ctx;
    it_ctx_options co;
    it_ctx_options_init(&co);
    co.threads = 2;
    if (it_ctx_create(&co, &ctx))
        return 1;
    it_store *s;
    it_tensor *base, *top;
    it_hdf5_options o;
    it_hdf5_options_init(&o);
    o.compression_level = level;
    int rc = it_store_open_hdf5(ctx, path, mode, &o, &s);
    if (rc == 0) {
        rc = make_tensors(s, &base, &top);
        for (int b = 0; rc == 0 && b < nbands; b++) {
            it_region r = band(b);
            if ((rc = it_tensor_fill(top, &r)) == 0) {
                unsigned char c = (unsigned char)b;
                if (fd >= 0 && write(fd, &c, 1) != 1)
                    rc = IT_EIO;
            }
        }
        int crc = it_store_close(s);
        rc = rc ? rc : crc;
    }
    it_ctx_destroy(ctx);
    return rc;
}

/* Exports (or, with png, previews) top over [-HALF, HALF)^2 of the store into out. */
static int child_export(const char *store, const char *out, bool png) {
    it_ctx *ctx;
    it_store *s;
    it_tensor *top;
    if (it_ctx_create(NULL, &ctx))
        return 1;
    int rc = it_store_open_hdf5(ctx, store, IT_HDF5_READONLY, NULL, &s);
    if (rc == 0) {
        if ((rc = it_tensor_open(s, "top", 0, &top)) == 0) {
            it_region r = region2(-HALF, HALF, -HALF, HALF);
            it_export_options eo;
            it_export_options_init(&eo);
            eo.chunk[0] = eo.chunk[1] = 32;
            rc = png ? it_preview_png(top, &r, out, NULL)
                     : it_export_hdf5(top, &r, out, "elevation", &eo, NULL);
        }
        it_store_close(s);
    }
    it_ctx_destroy(ctx);
    return rc;
}

/* ---- files ---------------------------------------------------------------------------------- */

static unsigned char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(len > 0 ? (size_t)len : 1);
    *n = fread(b, 1, (size_t)len, f);
    fclose(f);
    return b;
}

static bool same_file(const char *path, const unsigned char *bytes, size_t n) {
    size_t m;
    unsigned char *b = slurp(path, &m);
    bool same = b && m == n && memcmp(b, bytes, n) == 0;
    free(b);
    return same;
}

/* Files in dir other than the allowed names (temporaries left behind). */
static int strays(const char *const *allowed, int n) {
    DIR *d = opendir(dir);
    int found = 0;
    for (struct dirent *e; (e = readdir(d));) {
        bool ok = e->d_name[0] == '.';
        for (int i = 0; i < n; i++)
            ok = ok || strcmp(e->d_name, allowed[i]) == 0;
        if (!ok) {
            fprintf(stderr, "  left behind: %s\n", e->d_name);
            found++;
        }
    }
    closedir(d);
    return found;
}

/* Whether the export target holds the complete "elevation" dataset (a kill after the rename). */
static bool export_complete(const char *path) {
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return false;
    size_t n = (size_t)(4 * HALF * HALF);
    float *got = malloc(n * 4), *want = malloc(n * 4);
    it_region all = region2(-HALF, HALF, -HALF, HALF);
    hid_t d = H5Dopen2(f, "elevation", H5P_DEFAULT);
    bool ok = d >= 0 && H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, got) >= 0 &&
              it_tensor_read(ref_t[0], &all, want, n * 4) == 0 && memcmp(got, want, n * 4) == 0;
    if (d >= 0)
        H5Dclose(d);
    H5Fclose(f);
    free(got);
    free(want);
    return ok;
}

/* ---- the sweep ------------------------------------------------------------------------------- */

typedef enum { FRESH_FILL, EXISTING_FILL, EXPORT_NEW, EXPORT_EXISTING, PREVIEW } scenario;
typedef enum { EIO_ONCE, ENOSPC_FROM_THEN_ON, KILL } fault_mode;
static const char *mode_names[] = {"EIO", "ENOSPC", "kill"};
static const char *scenario_names[] = {"fill of a new store", "fill of an existing store",
                                       "export to a new file", "export into an existing file",
                                       "preview over an existing image"};

/* Runs scenario sc in a child with a fault of the mode at I/O call k; k = 0 counts calls
 * instead (returned through *calls). Fills *durable with the bands the child reported. Returns
 * the child's status as from waitpid. */
static int run_child(scenario sc, long k, fault_mode mode, bands *durable, long *calls) {
    int err = mode == ENOSPC_FROM_THEN_ON ? ENOSPC : EIO;
    char store[300], out[300];
    path_in(store, sizeof store, "store.h5");
    path_in(out, sizeof out, "out.h5");
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        if (mode == KILL)
            fault_arm_kill(k);
        else
            fault_arm(k, err, mode == ENOSPC_FROM_THEN_ON);
        int report = k ? fds[1] : -1; /* counting: the pipe carries the count */
        int rc = sc == FRESH_FILL      ? child_fill(store, IT_HDF5_CREATE, report, 0, BANDS)
                 : sc == EXISTING_FILL ? child_fill(store, IT_HDF5_READWRITE, report, 0, BANDS)
                                       : child_export(store, out, sc == PREVIEW);
        long n = fault_calls();
        bool fired = fault_fired();
        fault_disarm();
        int want = err == ENOSPC ? IT_ENOSPC : IT_EIO;
        if (fired && rc != 0 && rc != want) {
            fprintf(stderr, "  %s instead of %s: %s\n", it_error_name(rc), it_error_name(want),
                    it_last_error());
            exit(EXIT_WRONG_CODE);
        }
        if (k == 0 && write(fds[1], &n, sizeof n) != (ssize_t)sizeof n)
            exit(2);
        /* exit(), not _exit(): HDF5's exit handlers run, where failed writes used to crash */
        exit(rc != 0 && (fired || k == 0) ? EXIT_REPORTED
             : rc == 0 && !fired          ? EXIT_SUCCEEDED
             : rc != 0                    ? 3 /* an error the fault did not cause */
                                          : EXIT_SUCCEEDED + 1 /* silent */);
    }
    close(fds[1]);
    long n = 0;
    memset(durable, 0, sizeof *durable);
    if (k == 0) {
        assert_int_equal(read(fds[0], &n, sizeof n), sizeof n);
        *calls = n;
    } else {
        read_bands(fds[0], durable);
    }
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    return status;
}

/* Empties the directory (a kill leaves temporaries) and lays out the scenario's inputs. */
static void prepare(scenario sc, const unsigned char *store_bytes, size_t store_n,
                    const unsigned char *half_bytes, size_t half_n, const unsigned char *out_bytes,
                    size_t out_n) {
    char store[300], out[300];
    path_in(store, sizeof store, "store.h5");
    path_in(out, sizeof out, "out.h5");
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        char p[600];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (e->d_name[0] != '.')
            unlink(p);
    }
    if (d)
        closedir(d);
    FILE *f;
    if (sc == EXISTING_FILL && (f = fopen(store, "wb"))) {
        fwrite(half_bytes, 1, half_n, f);
        fclose(f);
    }
    if (sc >= EXPORT_NEW && (f = fopen(store, "wb"))) {
        fwrite(store_bytes, 1, store_n, f);
        fclose(f);
    }
    if ((sc == EXPORT_EXISTING || sc == PREVIEW) && (f = fopen(out, "wb"))) {
        fwrite(out_bytes, 1, out_n, f);
        fclose(f);
    }
}

static void sweep(scenario sc, tally *t, long stride) {
    char store[300], out[300];
    path_in(store, sizeof store, "store.h5");
    path_in(out, sizeof out, "out.h5");
    /* Inputs: a half-filled store, a complete store, an existing export target. */
    size_t half_n = 0, full_n = 0, out_n = 0;
    unlink(store);
    assert_int_equal(child_fill(store, IT_HDF5_CREATE, -1, 0, BANDS), 0);
    unsigned char *full = slurp(store, &full_n);
    {
        it_ctx *ctx;
        it_store *s;
        it_tensor *base, *top;
        unlink(store);
        it_ctx_create(NULL, &ctx);
        assert_int_equal(it_store_open_hdf5(ctx, store, IT_HDF5_CREATE, NULL, &s), 0);
        assert_int_equal(make_tensors(s, &base, &top), 0);
        it_region r = band(0);
        assert_int_equal(it_tensor_fill(top, &r), 0);
        it_store_close(s);
        it_ctx_destroy(ctx);
    }
    unsigned char *half = slurp(store, &half_n);
    prepare(EXPORT_NEW, full, full_n, NULL, 0, NULL, 0);
    assert_int_equal(child_export(store, out, false), 0);
    unsigned char *old_out = slurp(out, &out_n);
    {   /* the existing target holds another dataset, so the export adds to it */
        hid_t f = H5Fopen(out, H5F_ACC_RDWR, H5P_DEFAULT);
        assert_true(f >= 0);
        assert_true(H5Lmove(f, "elevation", f, "earlier", H5P_DEFAULT, H5P_DEFAULT) >= 0);
        H5Fclose(f);
        free(old_out);
        old_out = slurp(out, &out_n);
    }
    size_t png_n = 0, new_png_n = 0;
    unsigned char *old_png = NULL, *new_png = NULL;
    if (sc == PREVIEW) { /* an image there before (of another region), and the one made now */
        prepare(EXPORT_NEW, full, full_n, NULL, 0, NULL, 0);
        assert_int_equal(child_export(store, out, true), 0);
        new_png = slurp(out, &new_png_n);
        old_png = malloc(new_png_n);
        memcpy(old_png, new_png, new_png_n);
        old_png[new_png_n / 2] ^= 0xff; /* any other bytes will do */
        png_n = new_png_n;
        free(old_out);
        old_out = old_png;
        out_n = png_n;
    }

    bands durable;
    long calls = 0;
    prepare(sc, full, full_n, half, half_n, old_out, out_n);
    int st = run_child(sc, 0, EIO_ONCE, &durable, &calls);
    assert_true(WIFEXITED(st));
    long points = 0;
    static const char *allowed[] = {"store.h5", "out.h5"};
    for (fault_mode mode = EIO_ONCE; mode <= KILL; mode++) {
        for (long k = 1; k <= calls; k += stride) {
            prepare(sc, full, full_n, half, half_n, old_out, out_n);
            st = run_child(sc, k, mode, &durable, &calls);
            points++;
            bool killed = mode == KILL && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
            if (!killed && (!WIFEXITED(st) || (WEXITSTATUS(st) != EXIT_REPORTED &&
                                               WEXITSTATUS(st) != EXIT_SUCCEEDED))) {
                if (WIFEXITED(st) && WEXITSTATUS(st) == EXIT_WRONG_CODE) {
                    fprintf(stderr, "%s: %s at call %ld: wrong error code\n", scenario_names[sc],
                            mode_names[mode], k);
                    t->wrong_codes++;
                } else if (WIFEXITED(st) && WEXITSTATUS(st) == EXIT_SUCCEEDED + 1) {
                    fprintf(stderr, "%s: %s at call %ld: reported success\n",
                            scenario_names[sc], mode_names[mode], k);
                    t->silent++;
                } else {
                    fprintf(stderr, "%s: %s at call %ld: child %s %d\n", scenario_names[sc],
                            mode_names[mode], k,
                            WIFSIGNALED(st) ? "killed by signal" : "exited with",
                            WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
                    t->crashes++;
                }
                continue;
            }
            bool fill = sc == FRESH_FILL || sc == EXISTING_FILL;
            if (fill) {
                if (sc == EXISTING_FILL)
                    durable.done[0] = 1; /* band 0 was there before */
                bool exists = access(store, F_OK) == 0;
                int any = 0;
                for (int b = 0; b < BANDS; b++)
                    any += durable.done[b];
                if (!exists && any) {
                    fprintf(stderr, "%s: call %ld: the store is gone\n", scenario_names[sc], k);
                    t->lost++;
                } else if (exists) {
                    long lost = 0;
                    if (check_store(store, &durable, BANDS, &lost)) {
                        fprintf(stderr, "%s: %s at call %ld: damaged store\n", scenario_names[sc],
                                mode_names[mode], k);
                        t->corrupt++;
                    }
                    t->lost += lost;
                }
                if (resume(store))
                    t->corrupt++;
            } else {
                /* the target is untouched, or (the export finished, or was killed after its
                 * rename) complete; the store is never written */
                bool done = (WIFEXITED(st) && WEXITSTATUS(st) == EXIT_SUCCEEDED) || killed;
                bool untouched = sc == EXPORT_NEW ? access(out, F_OK) != 0 : same_file(out, old_out, out_n);
                bool ok = untouched || (done && (sc == PREVIEW ? same_file(out, new_png, new_png_n)
                                                               : export_complete(out)));
                ok = ok && same_file(store, full, full_n);
                if (!ok)
                    fprintf(stderr, "%s: %s at call %ld: a file changed\n", scenario_names[sc],
                            mode_names[mode], k);
                t->modified += !ok;
            }
            if (!killed) /* a killed process leaves its temporary files; nothing else may */
                t->modified += strays(allowed, 2);
        }
    }
    printf("  %s: %ld I/O calls, %ld fault points\n", scenario_names[sc], calls, points);
    t->points += points;
    free(full);
    free(half);
    free(old_out);
    free(new_png);
}

/* ---- a real full file system ----------------------------------------------------------------- */

static int sh(const char *fmt, ...) {
    char cmd[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return system(cmd);
}

/* Fills an uncompressed store on tmpfs of each size until the disk is full, checks it, then
 * grows the file system and resumes. Skipped where this process may not mount. */
static void full_tmpfs(tally *t) {
    char mnt[300], store[400];
    path_in(mnt, sizeof mnt, "mnt");
    snprintf(store, sizeof store, "%s/store.h5", mnt);
    mkdir(mnt, 0700);
    if (geteuid() != 0 || sh("mount -t tmpfs -o size=64k tmpfs %s 2>/dev/null", mnt) != 0) {
        printf("  tmpfs: skipped (mounting needs root)\n");
        rmdir(mnt);
        return;
    }
    sh("umount %s", mnt);
    static const char *sizes[] = {"64k", "128k", "256k", "384k", "2048k"};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        assert_int_equal(sh("mount -t tmpfs -o size=%s tmpfs %s", sizes[i], mnt), 0);
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            close(fds[0]);
            exit(child_fill(store, IT_HDF5_CREATE, fds[1], -1, MAX_BANDS) == IT_ENOSPC ? 0 : 3);
        }
        close(fds[1]);
        bands durable;
        int filled = read_bands(fds[0], &durable);
        close(fds[0]);
        int st;
        waitpid(pid, &st, 0);
        t->points++;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "tmpfs %s: child %s %d\n", sizes[i], WIFSIGNALED(st) ? "signal" : "exit",
                    WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
            t->crashes++;
        }
        long lost = 0;
        if (access(store, F_OK) == 0 && check_store(store, &durable, MAX_BANDS, &lost))
            t->corrupt++;
        if (access(store, F_OK) != 0 && filled)
            lost++;
        t->lost += lost;
        sh("mount -o remount,size=64m %s", mnt); /* space freed: the next run resumes */
        if (resume(store))
            t->corrupt++;
        printf("  tmpfs %s: full after %d bands, store %s, resumed\n", sizes[i], filled,
               access(store, F_OK) == 0 ? "intact" : "never made");
        sh("umount %s", mnt);
    }
    rmdir(mnt);
}

static void test_fault_sweep(void **state) {
    (void)state;
    const char *s = getenv("IT_FAULT_STRIDE");
    long stride = s && atol(s) > 0 ? atol(s) : 1;
    tally t = {0};
    make_reference();
    for (int sc = FRESH_FILL; sc <= PREVIEW; sc++)
        sweep((scenario)sc, &t, stride);
    full_tmpfs(&t);
    it_store_close(ref_store);
    it_ctx_destroy(ref_ctx);
    printf("faults: points=%ld crashes=%ld silent=%ld wrong_codes=%ld corrupt_stores=%ld "
           "lost_chunks=%ld modified_files=%ld\n", t.points, t.crashes, t.silent, t.wrong_codes,
           t.corrupt, t.lost, t.modified);
    assert_int_equal(t.crashes + t.silent + t.wrong_codes + t.corrupt + t.lost + t.modified, 0);
}

/* Whether the store header of the file (image b, n bytes) says a commit is being applied: the
 * state of its slot of the higher generation (io/hdf5/driver/hdf5_header.h). */
static bool header_applying(const unsigned char *b, size_t n) {
    if (n < 4096 || memcmp(b, "ITSTORE1", 8) != 0)
        return false;
    uint64_t gen[2] = {0, 0};
    for (int k = 0; k < 2; k++)
        for (int i = 7; i >= 0; i--)
            gen[k] = gen[k] << 8 | b[k * 2048 + 24 + i];
    const unsigned char *slot = b + (gen[1] > gen[0] ? 2048 : 0);
    return slot[40] == 1;
}

/* The reference, and a new store at `store` holding band 0: its image (n bytes). */
static unsigned char *store_with_band0(const char *store, size_t *n) {
    make_reference();
    unlink(store);
    assert_int_equal(child_fill(store, IT_HDF5_CREATE, -1, 0, 1), 0);
    unsigned char *b = slurp(store, n);
    assert_non_null(b);
    return b;
}

static void put_back(const char *store, const unsigned char *b, size_t n) {
    FILE *f = fopen(store, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
}

/* A writer killed while applying a commit leaves the store header naming its journal (the file
 * half applied). Creating a new store at that path, and failing to (a full disk), must leave
 * that file as it was: the old store then still holds every chunk it committed. */
static void test_failed_create_keeps_a_pending_journal(void **state) {
    (void)state;
    char store[300];
    path_in(store, sizeof store, "store.h5");
    size_t n = 0;
    unsigned char *half = store_with_band0(store, &n);
    bands durable;
    long calls = 0, k;
    for (k = 1; k < 1000; k++) { /* the first kill that leaves a commit being applied */
        put_back(store, half, n);
        run_child(EXISTING_FILL, k, KILL, &durable, &calls);
        size_t sn = 0;
        unsigned char *b = slurp(store, &sn);
        bool applying = b && header_applying(b, sn);
        free(b);
        if (applying)
            break;
    }
    assert_true(k < 1000);
    size_t before_n = 0;
    unsigned char *before = slurp(store, &before_n);
    durable.done[0] = 1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        it_ctx *ctx;
        it_store *s;
        fault_arm(1, ENOSPC, true);
        int rc = it_ctx_create(NULL, &ctx) ? 1
                 : it_store_open_hdf5(ctx, store, IT_HDF5_CREATE, NULL, &s) == IT_ENOSPC ? 0 : 2;
        fault_disarm();
        exit(rc);
    }
    int st;
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    size_t after_n = 0;
    unsigned char *after = slurp(store, &after_n);
    assert_int_equal(before_n, after_n);
    assert_memory_equal(before, after, before_n);
    long lost = 0;
    assert_int_equal(check_store(store, &durable, BANDS, &lost), 0);
    assert_int_equal(lost, 0);
    print_message("killed at I/O call %ld, applying a commit; a failed create left the file as "
                  "it was\n", k);
    it_store_close(ref_store);
    it_ctx_destroy(ref_ctx);
    free(half);
    free(before);
    free(after);
}

/* Kills at every I/O call of a fill made through a symbolic link: whenever the kill leaves a
 * commit being applied, the store opened through a hard link (another name) is whole, and a
 * resume through that name completes it. */
static void test_kill_through_links(void **state) {
    (void)state;
    char store[300], link_name[300], hard[300];
    path_in(store, sizeof store, "store.h5");
    path_in(link_name, sizeof link_name, "link.h5");
    path_in(hard, sizeof hard, "hard.h5");
    size_t n = 0;
    unsigned char *half = store_with_band0(store, &n);
    long applying = 0;
    for (long k = 1; k < 400; k++) {
        put_back(store, half, n);
        unlink(link_name);
        unlink(hard);
        assert_int_equal(symlink(store, link_name), 0);
        assert_int_equal(link(store, hard), 0);
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            fault_arm_kill(k);
            int rc = child_fill(link_name, IT_HDF5_READWRITE, -1, 0, BANDS);
            fault_disarm();
            exit(rc == 0 ? EXIT_SUCCEEDED : EXIT_REPORTED);
        }
        int st;
        waitpid(pid, &st, 0);
        if (WIFEXITED(st))
            break; /* the fill ran to its end: every call was tried */
        size_t sn = 0;
        unsigned char *b = slurp(store, &sn);
        bool pending = b && header_applying(b, sn);
        free(b);
        if (!pending)
            continue;
        applying++;
        bands none = {{0}};
        long lost = 0;
        if (check_store(hard, &none, BANDS, &lost))
            fail_msg("killed at call %ld: the store read through a hard link is damaged", k);
        assert_int_equal(resume(hard), 0);
    }
    print_message("%ld kill points left a commit being applied; each read whole through a "
                  "hard link and resumed there\n", applying);
    assert_true(applying > 0);
    it_store_close(ref_store);
    it_ctx_destroy(ref_ctx);
    free(half);
}

static int setup(void **state) {
    (void)state;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* the test's own probes of damaged outputs */
    snprintf(dir, sizeof dir, "%s/it-faults-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    sh("rm -rf %s", dir);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fault_sweep),
        cmocka_unit_test(test_failed_create_keeps_a_pending_journal),
        cmocka_unit_test(test_kill_through_links),
    };
    return cmocka_run_group_tests_name("faults", tests, setup, teardown);
}
