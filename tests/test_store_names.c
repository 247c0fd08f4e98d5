/* A store is the same store under every name: its journal is found through symbolic and hard
 * links; nothing beside it is written, followed or waited on (a link, a FIFO or a directory
 * where a format-2 writer kept its journal); crafted journals of format-2 stores are refused
 * with the file untouched; two processes creating one new store never both think they made
 * it. Kills in the middle of commits made through links are in test_faults. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_util.h"

static char dir[256], store[300], journal[320];
static char legacy[320], legacy_journal[340]; /* a format-2 store's name and journal name */
static it_ctx *ctx;

static int setup(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "%s/it-names-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir))
        return -1;
    snprintf(store, sizeof store, "%s/store.h5", dir);
    snprintf(journal, sizeof journal, "%s-journal", store);
    snprintf(legacy, sizeof legacy, "%s/v2.h5", dir);
    snprintf(legacy_journal, sizeof legacy_journal, "%s-journal", legacy);
    return it_ctx_create(NULL, &ctx);
}

static int teardown(void **state) {
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    it_ctx_destroy(ctx);
    return system(cmd) == 0 ? 0 : -1;
}

static unsigned char *slurp(const char *p, size_t *n) {
    FILE *f = fopen(p, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*n ? *n : 1);
    assert_int_equal(fread(b, 1, *n, f), *n);
    fclose(f);
    return b;
}

static void spit(const char *p, const void *b, size_t n) {
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
}

/* The image (n bytes) of a format-2 store written by library 0.2 (tests/data/hdf5). */
static unsigned char *legacy_store(size_t *n) {
    unsigned char *b = slurp(IT_TEST_DATA "/hdf5/1.10.8/compressed.h5", n);
    assert_non_null(b);
    return b;
}

/* Fills tensor `id` (golden_g2) over [0, 64)^2 in the store at path; 0 or the failing status. */
static int fill(const char *path, it_hdf5_mode mode, const char *id) {
    it_store *s;
    int rc = it_store_open_hdf5(ctx, path, mode, NULL, &s);
    if (rc)
        return rc;
    golden_gen gen = {0};
    it_tensor_desc d;
    golden_g2_desc(&d, &gen);
    d.id = id;
    it_tensor *t;
    rc = it_tensor_create(s, &d, &t);
    it_region r;
    it_region_init(&r, 2);
    r.stop[0] = r.stop[1] = 64;
    if (rc == 0)
        rc = it_tensor_fill(t, &r);
    int crc = it_store_close(s);
    return rc ? rc : crc;
}

/* A planted link at "<store>-journal": creating, filling and reopening the store never writes
 * through it (its target keeps its bytes), and never creates a file there. */
static void test_link_at_journal_name_is_never_written(void **state) {
    (void)state;
    char target[320];
    snprintf(target, sizeof target, "%s/precious", dir);
    spit(target, "precious bytes", 14);
    assert_int_equal(symlink(target, journal), 0);
    assert_int_equal(fill(store, IT_HDF5_CREATE, "a"), 0);
    assert_int_equal(fill(store, IT_HDF5_READWRITE, "b"), 0);
    size_t n;
    unsigned char *b = slurp(target, &n);
    assert_int_equal(n, 14);
    assert_memory_equal(b, "precious bytes", 14);
    free(b);
    struct stat sb;
    assert_int_equal(lstat(journal, &sb), 0);
    assert_true(S_ISLNK(sb.st_mode));
}

/* What a format-2 store's journal name may hold instead of a journal: a FIFO (which blocked
 * every open), a directory, a symbolic link loop. The format-3 store ignores them; a format-2
 * store (tests/data) refuses at once, naming the journal, and is left untouched. */
static void test_non_journals_at_journal_name(void **state) {
    (void)state;
    assert_int_equal(fill(store, IT_HDF5_CREATE, "a"), 0);
    size_t n;
    unsigned char *v2 = legacy_store(&n);
    for (int kind = 0; kind < 3; kind++) {
        spit(legacy, v2, n);
        unlink(journal);
        rmdir(journal);
        unlink(legacy_journal);
        rmdir(legacy_journal);
        int made = kind == 0 ? mkfifo(journal, 0600) | mkfifo(legacy_journal, 0600)
                   : kind == 1 ? mkdir(journal, 0700) | mkdir(legacy_journal, 0700)
                               : symlink(journal, journal) | symlink(legacy_journal, legacy_journal);
        assert_int_equal(made, 0);
        alarm(20); /* a hang fails the test */
        it_store *s;
        assert_int_equal(it_store_open_hdf5(ctx, store, IT_HDF5_READONLY, NULL, &s), 0);
        assert_int_equal(it_store_close(s), 0);
        assert_int_equal(fill(store, IT_HDF5_READWRITE, "b"), 0);
        for (int mode = IT_HDF5_READWRITE; mode <= IT_HDF5_READONLY; mode++) {
            int rc = it_store_open_hdf5(ctx, legacy, (it_hdf5_mode)mode, NULL, &s);
            if (rc != IT_EFORMAT || !strstr(it_last_error(), legacy_journal) ||
                !strstr(it_last_error(), "move it away"))
                fail_msg("kind %d mode %d: %s: %s", kind, mode, it_error_name(rc), it_last_error());
            size_t m;
            unsigned char *now = slurp(legacy, &m);
            assert_int_equal(m, n);
            assert_memory_equal(now, v2, n);
            free(now);
        }
        alarm(0);
    }
    free(v2);
}

/* Appends a format-2 journal (io/hdf5/driver/hdf5_journal.h, "ITJRNL02") to buf. */
static size_t legacy_journal_image(unsigned char *buf, uint64_t old_size, uint64_t size,
                                   uint64_t addr, const unsigned char *data,
                                   const unsigned char *old, uint64_t len);

/* Crafted format-2 journals with valid checksums that would grow the file to 1 TiB, cut it, or
 * write past it: refused with a message, the store untouched. A journal that is consistent with
 * the file is completed when the store is converted, and removed. */
static void test_crafted_legacy_journals(void **state) {
    (void)state;
    size_t n;
    unsigned char *v2 = legacy_store(&n);
    unsigned char *j = malloc(64 + 2 * n), zeros[64] = {0};
    struct {
        uint64_t size, addr, len;
        const char *why;
    } bad[] = {{(uint64_t)1 << 40, 0, 0, "grows the file"},
               {n, n - 8, 64, "outside"},
               {4096, 8, 8, "cuts the file to 4096 bytes"}};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        spit(legacy, v2, n);
        unsigned char old[64] = {0}; /* the file's bytes there: zeros past its end */
        if (bad[k].addr < n)
            memcpy(old, v2 + bad[k].addr, bad[k].len < n - bad[k].addr ? bad[k].len
                                                                         : n - bad[k].addr);
        size_t jn = legacy_journal_image(j, n, bad[k].size, bad[k].addr, zeros, old, bad[k].len);
        spit(legacy_journal, j, jn);
        it_store *s;
        for (int mode = IT_HDF5_READWRITE; mode <= IT_HDF5_READONLY; mode++) {
            int rc = it_store_open_hdf5(ctx, legacy, (it_hdf5_mode)mode, NULL, &s);
            if (rc != IT_EFORMAT || !strstr(it_last_error(), bad[k].why))
                fail_msg("case %zu: %s: %s", k, it_error_name(rc), it_last_error());
        }
        size_t m;
        unsigned char *now = slurp(legacy, &m);
        assert_int_equal(m, n);
        assert_memory_equal(now, v2, n);
        free(now);
    }
    /* consistent: new bytes are the file's (a commit applied, its journal left) */
    spit(legacy, v2, n);
    spit(legacy_journal, j, legacy_journal_image(j, n, n, 4096, v2 + 4096, zeros, 64));
    it_store *s;
    assert_int_equal(it_store_open_hdf5(ctx, legacy, IT_HDF5_READWRITE, NULL, &s), 0);
    assert_int_equal(it_store_close(s), 0);
    assert_int_equal(access(legacy_journal, F_OK), -1);
    size_t m;
    unsigned char *now = slurp(legacy, &m);
    assert_int_equal(m, n + 4096);
    assert_memory_equal(now, "ITSTORE1", 8);
    free(now);
    free(j);
    free(v2);
}

static unsigned char *put64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        *p++ = (unsigned char)(v >> 8 * i);
    return p;
}

static uint32_t crc32_of(const unsigned char *b, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= b[i];
        for (int k = 0; k < 8; k++)
            c = c >> 1 ^ (0xedb88320u & (0u - (c & 1)));
    }
    return ~c;
}

static size_t legacy_journal_image(unsigned char *buf, uint64_t old_size, uint64_t size,
                                   uint64_t addr, const unsigned char *data,
                                   const unsigned char *old, uint64_t len) {
    unsigned char *p = buf;
    memcpy(p, "ITJRNL02", 8);
    p = put64(put64(put64(p + 8, old_size), size), len ? 1 : 0);
    if (len) {
        p = put64(put64(p, addr), len);
        memcpy(p, data, len);
        memcpy(p + len, old, len);
        p += 2 * len;
    }
    uint32_t crc = crc32_of(buf, (size_t)(p - buf));
    for (int i = 0; i < 4; i++)
        *p++ = (unsigned char)(crc >> 8 * i);
    memcpy(p, "ITJEND02", 8);
    return (size_t)(p + 8 - buf);
}

/* Two processes create the same new store at once, each filling its own tensor: each either
 * succeeds, and its tensor is in the store afterwards, or gets IT_ELOCKED. Never both succeed
 * with one's work replaced by the other's file. */
static void test_concurrent_creation(void **state) {
    (void)state;
    for (int round = 0; round < 5; round++) {
        unlink(store);
        int go[2];
        assert_int_equal(pipe(go), 0);
        pid_t pid[2];
        static const char *ids[2] = {"first", "second"};
        for (int k = 0; k < 2; k++) {
            fflush(NULL);
            if ((pid[k] = fork()) == 0) {
                char c;
                close(go[1]);
                if (read(go[0], &c, 1) != 0)
                    _exit(3);
                /* the parent's pool has no threads here; one thread: no new one after a fork
                 * of a threaded process (ThreadSanitizer refuses that) */
                it_ctx_options co;
                it_ctx_options_init(&co);
                co.threads = 1;
                it_ctx_create(&co, &ctx);
                int rc = fill(store, IT_HDF5_READWRITE, ids[k]);
                _exit(rc == 0 ? 0 : rc == IT_ELOCKED ? 1 : 2);
            }
        }
        close(go[0]);
        close(go[1]); /* both start */
        int status[2];
        for (int k = 0; k < 2; k++) {
            assert_int_equal(waitpid(pid[k], &status[k], 0), pid[k]);
            assert_true(WIFEXITED(status[k]) && WEXITSTATUS(status[k]) <= 1);
        }
        it_store *s;
        assert_int_equal(it_store_open_hdf5(ctx, store, IT_HDF5_READONLY, NULL, &s), 0);
        for (int k = 0; k < 2; k++) {
            it_tensor *t;
            int rc = it_tensor_open(s, ids[k], 0, &t);
            if (WEXITSTATUS(status[k]) == 0 && rc != 0)
                fail_msg("round %d: %s succeeded but its tensor is gone: %s", round, ids[k],
                         it_last_error());
            if (rc == 0)
                it_tensor_release(t);
        }
        assert_int_equal(it_store_close(s), 0);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_link_at_journal_name_is_never_written, setup, teardown),
        cmocka_unit_test_setup_teardown(test_non_journals_at_journal_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crafted_legacy_journals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_creation, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
