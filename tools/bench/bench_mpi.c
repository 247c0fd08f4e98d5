/* bench_mpi: distributed fills with it_mpi_fill. Without arguments it runs every configuration
 * through mpiexec (each in fresh processes, medians of 3) and ends with one BENCH line:
 *  - blur: the blur-of-blur workload (noise -> 5x5 gaussian -> 5x5 gaussian, 512x512 windows,
 *    [:, 0:4096, 0:4096] f32) filled into an HDF5 store with deflate, noise and the first blur
 *    transient in memory stores on every rank: 1 process x 2 threads, 2 ranks x 1 thread and
 *    1 rank x 1 thread;
 *  - latency: an fn that sleeps 20 ms per 64x64 window (a stand-in for a remote model or a GPU
 *    call), 1 thread per rank, on 1, 2, 4, 8 and 16 ranks (oversubscribed): chunks per second;
 *  - ceiling: what the writer can store when workers produce instantly (noise chunks of
 *    256 KiB, deflate, 4 ranks, the writer only writing): chunks/s and encoded MB/s.
 * Usage: bench_mpi [runs]   (default 3)
 *        mpiexec ... bench_mpi --run blur|latency|ceiling THREADS DIR   (one measurement;
 *        rank 0 prints "RESULT ms chunks encoded_bytes") */
#define _POSIX_C_SOURCE 200809L
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "blur_kernels.h"
#include "infinite_tensor.h"
#include "infinite_tensor/mpi.h"

static int rank;

static int fail(const char *what) {
    fprintf(stderr, "bench_mpi rank %d: %s: %s\n", rank, what, it_last_error());
    MPI_Abort(MPI_COMM_WORLD, 1);
    return 1;
}

/* ---- the workloads (run under mpiexec) ------------------------------------------------------ */

static int sleepy_fn(const it_window_batch *b, void *user) {
    (void)user;
    struct timespec ts = {0, 20 * 1000 * 1000};
    for (size_t k = 0; k < b->count; k++) {
        nanosleep(&ts, NULL);
        float *out = b->out[k];
        for (int64_t i = 0; i < b->out_shape[0] * b->out_shape[1]; i++)
            out[i] = (float)(b->index[k * 2] * 7 + b->index[k * 2 + 1] * 13 + i % 64);
    }
    return 0;
}

static int noise2d_fn(const it_window_batch *b, void *user) {
    (void)user;
    for (size_t k = 0; k < b->count; k++) {
        uint32_t s = (uint32_t)(b->index[k * 2] * 73856093u) ^ (uint32_t)(b->index[k * 2 + 1] * 19349663u);
        float *out = b->out[k];
        for (int64_t i = 0; i < b->out_shape[0] * b->out_shape[1]; i++) {
            s = s * 1664525u + 1013904223u;
            out[i] = (float)(s >> 8) / 16777216.0f;
        }
    }
    return 0;
}

/* One measurement: rank 0's last tensor in an HDF5 store at DIR, everything else in memory. */
static int run(const char *kind, int threads, const char *dir) {
    int size;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    char path[1100];
    snprintf(path, sizeof path, "%s/bench-mpi.h5", dir);
    if (rank == 0)
        unlink(path);
    MPI_Barrier(MPI_COMM_WORLD);
    it_ctx_options co;
    it_ctx_options_init(&co);
    co.threads = threads;
    it_ctx *ctx;
    it_store *mem, *file = NULL;
    if (it_ctx_create(&co, &ctx) || it_store_open_memory(ctx, NULL, &mem) ||
        (rank == 0 && it_store_open_hdf5(ctx, path, IT_HDF5_CREATE, NULL, &file)))
        return fail("setup");
    it_store *last = rank == 0 ? file : mem;
    it_tensor *t = NULL;
    it_region r;
    it_mpi_fill_options mo;
    it_mpi_fill_options_init(&mo);
    bench_blur_pipeline bp = {0};
    if (strcmp(kind, "blur") == 0) {
        if (bench_blur_pipeline_create(mem, last, bench_noise_fn, NULL, IT_TENSOR_TRANSIENT,
                                       threads, &bp))
            return fail("pipeline");
        t = bp.blur2;
        int64_t start[3] = {0, 0, 0}, stop[3] = {CH, 4096, 4096};
        it_region_set(&r, 3, start, stop, NULL);
    } else {
        bool latency = strcmp(kind, "latency") == 0;
        int64_t tile = latency ? 64 : 256;
        it_tensor_desc d;
        it_tensor_desc_init(&d, 2);
        d.id = kind;
        d.shape[0] = d.shape[1] = IT_INF;
        int64_t w[2] = {tile, tile};
        it_window_init(&d.window, 2, w);
        d.chunk[0] = d.chunk[1] = tile;
        d.fn = latency ? sleepy_fn : noise2d_fn;
        if (it_tensor_create(last, &d, &t))
            return fail("tensor");
        r = bench_square(latency ? 64 * 16 : 256 * 32); /* 256 or 1024 chunks */
        mo.unit[0] = mo.unit[1] = latency ? 1 : 4;
        mo.writer_idle = !latency;
    }
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = bench_now_ms();
    if (it_mpi_fill(t, &r, MPI_COMM_WORLD, &mo))
        return fail("it_mpi_fill");
    double ms = bench_now_ms() - t0;
    if (rank == 0) {
        it_tensor_stats st;
        if (it_tensor_get_stats(t, &st))
            return fail("stats");
        printf("RESULT %.3f %llu %llu\n", ms, (unsigned long long)st.chunks,
               (unsigned long long)st.stored_bytes);
    }
    it_store_close(mem);
    if (file && it_store_close(file))
        return fail("close");
    it_ctx_destroy(ctx);
    bench_blur_pipeline_free(&bp);
    if (rank == 0)
        unlink(path);
    return 0;
}

/* ---- the driver ------------------------------------------------------------------------------ */

typedef struct result {
    double ms, chunks, bytes;
} result;

static int measure(const char *self, const char *dir, int ranks, const char *kind, int threads,
                   int runs, result *out) {
    double ms[50], chunks = 0, bytes = 0;
    for (int i = 0; i < runs; i++) {
        char cmd[4400];
        snprintf(cmd, sizeof cmd,
                 "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 HWLOC_COMPONENTS=-opencl "
                 "mpiexec -n %d "
                 "--oversubscribe --bind-to none '%s' --run %s %d '%s'", ranks, self, kind,
                 threads, dir);
        FILE *p = popen(cmd, "r");
        if (!p)
            return 1;
        unsigned long long c = 0, b = 0;
        int n = fscanf(p, "RESULT %lf %llu %llu", &ms[i], &c, &b);
        if (pclose(p) != 0 || n != 3) {
            fprintf(stderr, "bench_mpi: %s failed\n", cmd);
            return 1;
        }
        chunks = (double)c, bytes = (double)b;
    }
    *out = (result){bench_median(ms, runs), chunks, bytes};
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 5 && strcmp(argv[1], "--run") == 0) {
        MPI_Init(&argc, &argv);
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        int rc = run(argv[2], atoi(argv[3]), argv[4]);
        MPI_Finalize();
        return rc;
    }
    int runs = argc > 1 ? atoi(argv[1]) : 3;
    if (runs < 1 || runs > 50)
        return fprintf(stderr, "usage: bench_mpi [runs 1..50]\n"), 2;
    char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0)
        return fprintf(stderr, "bench_mpi: cannot find its own executable\n"), 1;
    self[len] = 0;
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    printf("it_mpi_fill, medians of %d run(s) each, fresh processes under mpiexec\n", runs);
    result one2, two1, one1;
    if (measure(self, dir, 1, "blur", 2, runs, &one2) || measure(self, dir, 2, "blur", 1, runs, &two1) ||
        measure(self, dir, 1, "blur", 1, runs, &one1))
        return 1;
    printf("blur-of-blur into HDF5 (deflate; noise and blur1 transient), 4096^2 x 3 f32:\n"
           "  1 process x 2 threads %8.0f ms\n  2 ranks x 1 thread    %8.0f ms  (%.2f of the "
           "2-thread process's speed)\n  1 rank x 1 thread     %8.0f ms\n",
           one2.ms, two1.ms, one2.ms / two1.ms, one1.ms);
    static const int ranks[5] = {1, 2, 4, 8, 16};
    double rate[5];
    printf("latency-bound fn (20 ms per 64x64 window), 256 chunks, 1 thread per rank:\n");
    for (int k = 0; k < 5; k++) {
        result lr;
        if (measure(self, dir, ranks[k], "latency", 1, runs, &lr))
            return 1;
        rate[k] = lr.chunks / lr.ms * 1e3;
        printf("  %2d ranks %8.0f ms  %7.1f chunks/s  (%.2fx one rank)\n", ranks[k], lr.ms, rate[k],
               rate[k] / rate[0]);
    }
    result ceil;
    if (measure(self, dir, 4, "ceiling", 1, runs, &ceil))
        return 1;
    double cps = ceil.chunks / ceil.ms * 1e3, mbs = ceil.bytes / 1048576.0 / ceil.ms * 1e3;
    printf("writer ceiling (4 ranks, writer only writing, 256 KiB noise chunks, deflate):\n"
           "  %.0f chunks in %.0f ms: %.0f chunks/s, %.1f MiB/s encoded\n", ceil.chunks, ceil.ms,
           cps, mbs);
    printf("BENCH mpi: ratio_2ranks_vs_2threads=%.2f ms_1p2t=%.0f ms_2r1t=%.0f ms_1r1t=%.0f "
           "latency_chunks_s_1=%.1f latency_chunks_s_2=%.1f latency_chunks_s_4=%.1f "
           "latency_chunks_s_8=%.1f latency_chunks_s_16=%.1f writer_chunks_s=%.0f "
           "writer_mib_s=%.1f\n",
           one2.ms / two1.ms, one2.ms, two1.ms, one1.ms, rate[0], rate[1], rate[2], rate[3],
           rate[4], cps, mbs);
    return 0;
}
