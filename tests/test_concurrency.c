/* Two HDF5 stores and an HDF5 export used from three threads at once: every HDF5 call of the
 * library goes through the one io-wide HDF5 lock, so this is safe on any HDF5 build. Run once
 * as HDF5 is built (Debian's is thread-safe: HDF5 serialises itself and the lock takes no
 * mutex) and once with IT_TEST_FORCE_H5_LOCK=1, which makes the lock take its mutex as it does
 * on a build without thread safety. Results must equal a single-threaded computation. */
#include <hdf5.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hdf5/hdf5_lock.h"
#include "test_util.h"

#define N 1024
#define ROUNDS 3

typedef struct job {
    it_ctx *ctx;
    char path[256];
    bool export;        /* export a memory-store tensor to path; else fill an HDF5 store */
    int rc;
    char msg[512];
    float *out;         /* N x N values of the tensor, read after the work */
    it_export_options overwrite;
} job;

static it_tensor *make_tensor(it_store *s, const char *id) {
    it_tensor_desc d;
    it_tensor_desc_init(&d, 2);
    d.id = id;
    d.shape[0] = d.shape[1] = IT_INF;
    int64_t size[2] = {32, 32}, stride[2] = {16, 16};
    it_window_set(&d.window, 2, size, stride, NULL);
    d.chunk[0] = d.chunk[1] = 32;
    d.fn = golden_fn;
    it_tensor *t = NULL;
    if (it_tensor_create(s, &d, &t))
        return NULL;
    return t;
}

static void *run_job(void *arg) {
    job *j = arg;
    it_region r = region2(0, N, 0, N);
    for (int round = 0; round < ROUNDS && j->rc == 0; round++) {
        it_store *s = NULL;
        j->rc = j->export ? it_store_open_memory(j->ctx, NULL, &s)
                          : it_store_open_hdf5(j->ctx, j->path, IT_HDF5_CREATE, NULL, &s);
        it_tensor *t = j->rc ? NULL : make_tensor(s, "t");
        if (j->rc == 0 && !t)
            j->rc = -1;
        if (j->rc == 0)
            j->rc = j->export ? it_export_hdf5(t, &r, j->path, "data", &j->overwrite, NULL)
                              : it_tensor_fill(t, &r);
        if (j->rc == 0)
            j->rc = it_tensor_read(t, &r, j->out, N * N * sizeof(float));
        if (j->rc)
            snprintf(j->msg, sizeof j->msg, "%s", it_last_error());
        it_store_close(s);
    }
    return NULL;
}

/* The exported dataset, read with HDF5 itself (under the library's lock: the library's own
 * threads may still be running HDF5 calls in other tests of the process). */
static void read_export(const char *path, float *out) {
    iti_h5_enter();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = f < 0 ? -1 : H5Dopen2(f, "data", H5P_DEFAULT);
    herr_t rc = d < 0 ? -1 : H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out);
    if (d >= 0)
        H5Dclose(d);
    if (f >= 0)
        H5Fclose(f);
    iti_h5_leave();
    assert_true(rc >= 0);
}

static void test_two_stores_and_an_export(void **state) {
    (void)state;
    it_ctx_options o;
    it_ctx_options_init(&o);
    o.threads = 2;
    it_ctx *ctx;
    assert_int_equal(it_ctx_create(&o, &ctx), 0);
    /* the reference, computed alone */
    float *want = malloc(N * N * sizeof *want);
    it_store *ms;
    assert_int_equal(it_store_open_memory(ctx, NULL, &ms), 0);
    it_region r = region2(0, N, 0, N);
    assert_int_equal(it_tensor_read(make_tensor(ms, "t"), &r, want, N * N * sizeof *want), 0);
    it_store_close(ms);

    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    job jobs[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        jobs[i] = (job){.ctx = ctx, .export = i == 2};
        it_export_options_init(&jobs[i].overwrite);
        jobs[i].overwrite.overwrite = 1;
        snprintf(jobs[i].path, sizeof jobs[i].path, "%s/it-concurrency-%d-%d.h5", tmp,
                 (int)getpid(), i);
        jobs[i].out = malloc(N * N * sizeof(float));
        pthread_create(&th[i], NULL, run_job, &jobs[i]);
    }
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 3; i++) {
        if (jobs[i].rc)
            fail_msg("job %d: %d %s", i, jobs[i].rc, jobs[i].msg);
        assert_memory_equal(jobs[i].out, want, N * N * sizeof(float));
    }
    read_export(jobs[2].path, jobs[2].out);
    assert_memory_equal(jobs[2].out, want, N * N * sizeof(float));
    for (int i = 0; i < 3; i++) {
        unlink(jobs[i].path);
        free(jobs[i].out);
    }
    free(want);
    it_ctx_destroy(ctx);
}

int main(void) {
    const char *force = getenv("IT_TEST_FORCE_H5_LOCK");
    if (force && strcmp(force, "1") == 0)
        iti_h5_lock_always();
    printf("HDF5 lock: %s\n", iti_h5_lock_is_mutex() ? "a mutex" : "HDF5's own (thread-safe build)");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_stores_and_an_export),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
