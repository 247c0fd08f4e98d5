/* it_mpi_fill under mpiexec (tests/CMakeLists.txt runs it on 1, 2 and 4 ranks).
 *   test_mpi_fill DIR identical  fills a halo chain (feathered overlapping windows -> 3x3 box
 *                                sums through padded windows) into DIR/mpi.h5 and checks, on
 *                                rank 0, that every stored chunk equals byte for byte a
 *                                single-process fill, and that no chunk was computed twice
 *   test_mpi_fill DIR error      an fn error on whichever rank computes one window: every rank
 *                                returns IT_ECALLBACK with the same message
 *   test_mpi_fill DIR cancel     the writer's progress callback cancels after 20 chunks: every
 *                                rank returns IT_ECANCELED with the same message
 *   test_mpi_fill DIR kill       rank 1 kills itself (SIGKILL) in the middle of the fill
 *   test_mpi_fill DIR resume     after `kill`: the fill completes, computing only what is
 *                                missing, and equals a single-process fill
 *   test_mpi_fill DIR killwriter windows take 40 ms each; rank 0 (the writer) kills itself
 *                                (SIGKILL) 1.3 s after it stored its first chunk
 *   test_mpi_fill DIR resumekept as resume, and the killed writer kept chunks (it commits at
 *                                least every second)
 * Prints "ok ..." lines on rank 0; any failure aborts the job with a message. */
#include <mpi.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>

#include "hdf5/hdf5_compat.h" /* the library's own, for the chunk read of every HDF5 release */
#include "infinite_tensor.h"
#include "infinite_tensor/mpi.h"
#include "test_util.h"

static int rank, size;

#define CHECK(cond, ...)                                                                       \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "rank %d: FAILED %s:%d: ", rank, __FILE__, __LINE__);              \
            fprintf(stderr, __VA_ARGS__);                                                      \
            fprintf(stderr, "\n");                                                             \
            MPI_Abort(MPI_COMM_WORLD, 1);                                                      \
        }                                                                                      \
    } while (0)

typedef struct chain {
    it_ctx *ctx;
    it_store *file, *mem;
    golden_gen gen;
    it_tensor *base, *top;
} chain;

static int cancel_after_20(uint64_t done, uint64_t total, void *user) {
    (void)total, (void)user;
    return done >= 20;
}

static long kill_after = -1; /* windows of base this rank computes before SIGKILL */

static bool slow; /* each window takes 40 ms */

static int dying_fn(const it_window_batch *b, void *user) {
    if (kill_after >= 0 && atomic_load(&((golden_gen *)user)->calls) >= kill_after)
        raise(SIGKILL);
    if (slow)
        nanosleep(&(struct timespec){0, 40 * 1000 * 1000}, NULL);
    return golden_fn(b, user);
}

static void *kill_later(void *arg) {
    (void)arg;
    nanosleep(&(struct timespec){1, 300 * 1000 * 1000}, NULL);
    raise(SIGKILL);
    return NULL;
}

/* The writer's progress: 1.3 s after its first chunk stored, SIGKILL (fewer chunks than a
 * flush by count waits for arrive by then). */
static int kill_after_first(uint64_t done, uint64_t total, void *user) {
    (void)total, (void)user;
    static bool started;
    pthread_t killer;
    if (done >= 1 && !started)
        started = pthread_create(&killer, NULL, kill_later, NULL) == 0;
    return 0;
}

/* base and top; top (and base, on rank 0) in the HDF5 store at path when path is set. */
static void open_chain(chain *c, const char *path) {
    memset(c, 0, sizeof *c);
    CHECK(it_ctx_create(NULL, &c->ctx) == 0, "%s", it_last_error());
    CHECK(it_store_open_memory(c->ctx, NULL, &c->mem) == 0, "%s", it_last_error());
    if (path) {
        it_hdf5_options o;
        it_hdf5_options_init(&o);
        CHECK(it_store_open_hdf5(c->ctx, path, IT_HDF5_READWRITE, &o, &c->file) == 0, "%s",
              it_last_error());
    }
    it_tensor_desc d;
    golden_overlap_desc(&d, &c->gen);
    d.id = "base";
    d.blend = IT_BLEND_WEIGHTED; /* double sums per chunk: the same bits on every rank */
    d.weight.kind = IT_WEIGHT_HANN;
    d.blend_init = -1e30;
    d.fn = dying_fn;
    CHECK(it_tensor_create(path ? c->file : c->mem, &d, &c->base) == 0, "%s", it_last_error());
    it_window aw;
    box3_desc(&d, &c->base, &aw, NULL); /* chunks of 32: 140 in the region, many units */
    d.id = "top";
    CHECK(it_tensor_create(path ? c->file : c->mem, &d, &c->top) == 0, "%s", it_last_error());
}

static void close_chain(chain *c) {
    if (c->file)
        CHECK(it_store_close(c->file) == 0, "%s", it_last_error());
    it_store_close(c->mem);
    it_ctx_destroy(c->ctx);
}

static it_region region(void) { return region2(-100, 300, -50, 250); }

/* Every chunk of /tensors/top in `want` is in `got` with the same bytes; returns the count. */
static long compare_files(const char *got, const char *want) {
    hid_t fg = H5Fopen(got, H5F_ACC_RDONLY, H5P_DEFAULT), fw = H5Fopen(want, H5F_ACC_RDONLY, H5P_DEFAULT);
    CHECK(fg >= 0 && fw >= 0, "opening %s and %s", got, want);
    hid_t dg = H5Dopen2(fg, "/tensors/top/data", H5P_DEFAULT), dw = H5Dopen2(fw, "/tensors/top/data", H5P_DEFAULT);
    hid_t sw = H5Dget_space(dw), sg = H5Dget_space(dg);
    hsize_t nw = 0, ng = 0;
    H5Dget_num_chunks(dw, sw, &nw);
    H5Dget_num_chunks(dg, sg, &ng);
    CHECK(nw == ng && nw > 0, "chunk counts differ: %llu stored, %llu in a single-process fill",
          (unsigned long long)ng, (unsigned long long)nw);
    for (hsize_t i = 0; i < nw; i++) {
        hsize_t off[2];
        unsigned mask;
        haddr_t addr;
        hsize_t size_w, size_g;
        H5Dget_chunk_info(dw, sw, i, off, &mask, &addr, &size_w);
        CHECK(H5Dget_chunk_storage_size(dg, off, &size_g) >= 0 && size_g == size_w,
              "chunk at %llu,%llu: %llu bytes, single-process %llu", (unsigned long long)off[0],
              (unsigned long long)off[1], (unsigned long long)size_g, (unsigned long long)size_w);
        unsigned char *bw = malloc(size_w), *bg = malloc(size_w);
        uint32_t fw_mask, fg_mask;
        size_t nbw = size_w, nbg = size_w;
        CHECK(iti_h5_read_chunk(dw, off, &fw_mask, bw, &nbw) >= 0 &&
                  iti_h5_read_chunk(dg, off, &fg_mask, bg, &nbg) >= 0, "reading a chunk");
        CHECK(memcmp(bw, bg, size_w) == 0 && fw_mask == 0 && fg_mask == 0,
              "chunk at %llu,%llu differs from the single-process fill", (unsigned long long)off[0],
              (unsigned long long)off[1]);
        free(bw);
        free(bg);
    }
    H5Sclose(sw), H5Sclose(sg), H5Dclose(dw), H5Dclose(dg), H5Fclose(fw), H5Fclose(fg);
    return (long)nw;
}

/* Rank 0: the reference, a single-process fill into DIR/single.h5. */
static void single_process_fill(const char *dir, char *path, size_t size_path) {
    snprintf(path, size_path, "%s/single.h5", dir);
    unlink(path);
    chain c;
    open_chain(&c, path);
    it_region r = region();
    CHECK(it_tensor_fill(c.top, &r) == 0, "%s", it_last_error());
    close_chain(&c);
}

/* Chunks of top computed on all ranks, and (*by_workers) on ranks other than 0. */
static uint64_t top_chunks_computed_everywhere(chain *c, uint64_t *by_workers) {
    it_tensor_counters k;
    it_tensor_get_counters(c->top, &k);
    uint64_t mine[2] = {k.chunks_computed, rank ? k.chunks_computed : 0}, all[2] = {0, 0};
    MPI_Allreduce(mine, all, 2, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
    *by_workers = all[1];
    return all[0];
}

/* The region of top, read (rank 0: from the store it was filled into, computing nothing). */
static void *read_top(chain *c, size_t *bytes) {
    it_region r = region();
    void *buf = NULL;
    CHECK(it_tensor_read_alloc(c->top, &r, &buf, bytes) == 0, "%s", it_last_error());
    return buf;
}

static uint64_t stored_top_chunks(const char *path) {
    chain c;
    open_chain(&c, path);
    it_tensor_stats st;
    CHECK(it_tensor_get_stats(c.top, &st) == 0, "%s", it_last_error());
    close_chain(&c);
    return st.chunks;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    CHECK(argc == 3, "usage: test_mpi_fill DIR identical|memory|error|cancel|kill|resume|"
          "killwriter|resumekept");
    const char *dir = argv[1], *mode = argv[2];
    char path[1024], ref[1024];
    snprintf(path, sizeof path, "%s/mpi-%d.h5", dir, size);
    bool kept = strcmp(mode, "resumekept") == 0;
    bool fresh = strcmp(mode, "resume") != 0 && !kept;
    bool memory = strcmp(mode, "memory") == 0; /* the writer's top in a memory store */
    if (rank == 0 && fresh)
        unlink(path);
    uint64_t missing = 0;
    if (rank == 0 && !fresh)
        missing = 14 * 10 - stored_top_chunks(path); /* chunks -4..9 x -2..7 of 32 pixels */
    MPI_Barrier(MPI_COMM_WORLD);
    chain c;
    open_chain(&c, rank == 0 && !memory ? path : NULL);
    if (strcmp(mode, "kill") == 0 && rank == 1)
        kill_after = 40;
    if (rank == 0 && kept)
        CHECK(missing < 14 * 10 && missing > 0, "the writer killed 1.3 s after storing a chunk "
              "kept %llu of 140 chunks (some, and not all, expected)",
              (unsigned long long)(14 * 10 - missing));
    slow = strcmp(mode, "killwriter") == 0;
    bool cancel = strcmp(mode, "cancel") == 0;
    if (cancel && rank == 0)
        it_ctx_set_progress(c.ctx, cancel_after_20, NULL);
    if (slow && rank == 0)
        it_ctx_set_progress(c.ctx, kill_after_first, NULL);
    if (strcmp(mode, "error") == 0) {
        c.gen.fail_at = 42;
        c.gen.fail_window[0] = 10, c.gen.fail_window[1] = 7;
    }
    it_region r = region();
    it_mpi_fill_options mo; /* killwriter: one row of chunks a unit, so chunks come in steadily */
    it_mpi_fill_options_init(&mo);
    mo.unit[0] = 1;
    int rc = it_mpi_fill(c.top, &r, MPI_COMM_WORLD, slow ? &mo : NULL);
    if (strcmp(mode, "error") == 0 || cancel) {
        int want = cancel ? IT_ECANCELED : IT_ECALLBACK;
        char msg[1024] = {0}, *all = rank == 0 ? calloc((size_t)size, sizeof msg) : NULL;
        snprintf(msg, sizeof msg, "%d %s", rc, it_last_error());
        MPI_Gather(msg, sizeof msg, MPI_CHAR, all, sizeof msg, MPI_CHAR, 0, MPI_COMM_WORLD);
        CHECK(rc == want, "expected %d, got %d: %s", want, rc, it_last_error());
        for (int k = 1; rank == 0 && k < size; k++)
            CHECK(strcmp(all + k * sizeof msg, all) == 0, "rank %d says \"%s\", rank 0 \"%s\"", k,
                  all + k * sizeof msg, all);
        if (rank == 0)
            printf("ok %d ranks: every rank returned \"%s\"\n", size, msg);
        free(all);
        close_chain(&c);
        MPI_Finalize();
        return 0;
    }
    CHECK(rc == 0, "it_mpi_fill: %s", it_last_error());
    uint64_t by_workers;
    uint64_t computed = top_chunks_computed_everywhere(&c, &by_workers);
    CHECK(size == 1 || !fresh || by_workers > 0, "the workers computed nothing");
    if (memory) { /* chunks encoded by workers, stored through the memory store's interface */
        if (rank == 0) {
            size_t bytes, ref_bytes;
            void *got = read_top(&c, &bytes);
            it_tensor_counters k;
            it_tensor_get_counters(c.top, &k);
            CHECK(k.chunks_computed + by_workers == computed, "reading the filled region computed "
                  "chunks again");
            single_process_fill(dir, ref, sizeof ref);
            chain single;
            open_chain(&single, ref);
            void *want = read_top(&single, &ref_bytes);
            CHECK(bytes == ref_bytes && memcmp(got, want, bytes) == 0, "the writer's memory "
                  "store holds other values than a single-process fill");
            printf("ok %d ranks into a memory store: %zu bytes identical to a single-process "
                   "fill, %llu chunks computed (%llu by workers)\n", size, bytes,
                   (unsigned long long)computed, (unsigned long long)by_workers);
            free(got);
            free(want);
            close_chain(&single);
        }
        close_chain(&c);
        MPI_Finalize();
        return 0;
    }
    close_chain(&c);
    if (rank == 0) {
        single_process_fill(dir, ref, sizeof ref);
        long n = compare_files(path, ref);
        if (fresh)
            CHECK(computed == (uint64_t)n, "%llu chunks computed for %ld", (unsigned long long)computed, n);
        else
            CHECK(computed == missing, "the resumed fill computed %llu chunks, %llu were missing",
                  (unsigned long long)computed, (unsigned long long)missing);
        printf("ok %d ranks: %ld chunks byte-identical to a single-process fill, %llu computed "
               "(%llu by workers)%s\n", size, n, (unsigned long long)computed,
               (unsigned long long)by_workers,
               fresh ? "" : kept ? ", the missing ones (the killed writer kept the others)"
                             : ", the missing ones");
    }
    MPI_Finalize();
    return 0;
}
