/* A distributed fill: every rank builds the same two-tensor pipeline (value noise -> a 5x5 box
 * smoothing through padded windows); rank 0 keeps the smoothed field in an HDF5 store, the
 * others work in memory; it_mpi_fill computes a region across the ranks into the store.
 * Run it again and it computes only what is missing.
 *
 *   mpiexec -n 4 ./mpi_fill [STORE]          (default mpi-terrain.h5; as root add
 *                                             --allow-run-as-root) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "infinite_tensor.h"
#include "infinite_tensor/mpi.h"

#define TILE 256
#define PAD 2

/* Smooth value noise: bilinear interpolation of a hashed lattice of spacing 64. */
static float lattice(int64_t y, int64_t x) {
    uint64_t h = (uint64_t)y * 0x9E3779B97F4A7C15u ^ (uint64_t)x * 0xC2B2AE3D27D4EB4Fu;
    h ^= h >> 31;
    h *= 0xBF58476D1CE4E5B9u;
    return (float)(h >> 40) / 16777216.0f;
}

static int noise(const it_window_batch *b, void *user) {
    (void)user;
    for (size_t k = 0; k < b->count; k++) {
        float *out = b->out[k];
        for (int64_t i = 0; i < TILE; i++)
            for (int64_t j = 0; j < TILE; j++) {
                double y = (double)(b->index[2 * k] * TILE + i) / 64, x = (double)(b->index[2 * k + 1] * TILE + j) / 64;
                int64_t y0 = (int64_t)floor(y), x0 = (int64_t)floor(x);
                double fy = y - (double)y0, fx = x - (double)x0;
                out[i * TILE + j] = (float)((1 - fy) * ((1 - fx) * lattice(y0, x0) + fx * lattice(y0, x0 + 1)) +
                                            fy * ((1 - fx) * lattice(y0 + 1, x0) + fx * lattice(y0 + 1, x0 + 1)));
            }
    }
    return 0;
}

/* The mean of each 5x5 neighbourhood of the padded argument. */
static int smooth(const it_window_batch *b, void *user) {
    (void)user;
    const int64_t w = TILE + 2 * PAD;
    for (size_t k = 0; k < b->count; k++) {
        const float *in = b->arg[k];
        float *out = b->out[k];
        for (int64_t i = 0; i < TILE; i++)
            for (int64_t j = 0; j < TILE; j++) {
                float s = 0;
                for (int dy = 0; dy <= 2 * PAD; dy++)
                    for (int dx = 0; dx <= 2 * PAD; dx++)
                        s += in[(i + dy) * w + j + dx];
                out[i * TILE + j] = s / 25.0f;
            }
    }
    return 0;
}

static int failed(int rank, const char *what) {
    fprintf(stderr, "rank %d: %s: %s\n", rank, what, it_last_error());
    MPI_Abort(MPI_COMM_WORLD, 1);
    return 1;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const char *path = argc > 1 ? argv[1] : "mpi-terrain.h5";
    it_ctx *ctx;
    it_store *mem, *file = NULL;
    if (it_ctx_create(NULL, &ctx) || it_store_open_memory(ctx, NULL, &mem) ||
        (rank == 0 && it_store_open_hdf5(ctx, path, IT_HDF5_READWRITE, NULL, &file)))
        return failed(rank, "opening");
    /* the same graph on every rank: noise is transient, the result goes to rank 0's file */
    int64_t tile[2] = {TILE, TILE}, padded[2] = {TILE + 2 * PAD, TILE + 2 * PAD}, halo[2] = {-PAD, -PAD};
    it_tensor_desc d;
    it_tensor_desc_init(&d, 2);
    d.id = "noise";
    d.shape[0] = d.shape[1] = IT_INF;
    it_window_init(&d.window, 2, tile);
    d.fn = noise;
    d.flags = IT_TENSOR_TRANSIENT;
    it_tensor *n, *s;
    if (it_tensor_create(mem, &d, &n))
        return failed(rank, "noise");
    it_window aw;
    it_window_set(&aw, 2, padded, tile, halo);
    d.id = "smooth";
    d.fn = smooth;
    d.flags = 0;
    d.n_args = 1;
    d.args = &n;
    d.arg_windows = &aw;
    d.fn_tag = "smooth 5x5 v1";
    if (it_tensor_create(rank == 0 ? file : mem, &d, &s))
        return failed(rank, "smooth");
    it_region r;
    int64_t start[2] = {-2048, -2048}, stop[2] = {2048, 2048};
    it_region_set(&r, 2, start, stop, NULL);
    double t0 = MPI_Wtime();
    if (it_mpi_fill(s, &r, MPI_COMM_WORLD, NULL))
        return failed(rank, "it_mpi_fill");
    double secs = MPI_Wtime() - t0;
    it_tensor_counters c;
    it_tensor_get_counters(s, &c);
    uint64_t mine = c.chunks_computed, all = 0;
    MPI_Reduce(&mine, &all, 1, MPI_UINT64_T, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        it_tensor_stats st;
        it_tensor_get_stats(s, &st);
        printf("%d rank(s): %llu chunks computed in %.2f s; %s holds %llu chunks of \"smooth\" "
               "(%llu bytes)\n", size, (unsigned long long)all, secs, path,
               (unsigned long long)st.chunks, (unsigned long long)st.stored_bytes);
    }
    it_store_close(mem);
    if (file && it_store_close(file))
        return failed(rank, "closing");
    it_ctx_destroy(ctx);
    MPI_Finalize();
    return 0;
}
