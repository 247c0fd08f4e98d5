/* Shared pieces of the itensor commands: errors, progress bar, opening stores. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

int cli_fail(const char *what, int code) {
    const char *msg = it_last_error();
    fprintf(stderr, "itensor: %s: %s\n", what, msg[0] ? msg : it_strerror(code));
    return 1;
}

int cli_usage_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("itensor: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs(" (see --help)\n", stderr);
    va_end(ap);
    return 2;
}

bool cli_wants_help(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return true;
    return false;
}

static const char *bar_label;
static bool bar_drawn;

static int draw_bar(uint64_t done, uint64_t total, void *user) {
    (void)user;
    static struct timespec last;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double dt = (double)(now.tv_sec - last.tv_sec) + (now.tv_nsec - last.tv_nsec) / 1e9;
    if (done != total && dt < 0.1)
        return 0;
    last = now;
    int width = 30, filled = total ? (int)((double)done / (double)total * width) : width;
    fprintf(stderr, "\r%s [", bar_label);
    for (int i = 0; i < width; i++)
        fputc(i < filled ? '#' : ' ', stderr);
    fprintf(stderr, "] %3d%%", total ? (int)((double)done * 100 / (double)total) : 100);
    bar_drawn = true;
    return 0;
}

int cli_context(it_ctx **ctx, const char *label) {
    int rc = it_ctx_create(NULL, ctx);
    if (rc)
        return cli_fail("creating a context", rc);
    if (isatty(STDERR_FILENO)) {
        bar_label = label;
        it_ctx_set_progress(*ctx, draw_bar, NULL);
    }
    return 0;
}

void cli_progress_done(void) {
    if (bar_drawn)
        fputc('\n', stderr);
    bar_drawn = false;
}

int cli_open(it_ctx *ctx, const char *path, bool writable, const char *id, unsigned flags,
             it_store **store, it_tensor **t) {
    *store = NULL;
    if (t)
        *t = NULL;
    if (access(path, F_OK) != 0) { /* never create a file by accident */
        fprintf(stderr, "itensor: %s: no such file\n", path);
        return 1;
    }
    int rc = it_store_open_hdf5(ctx, path, writable ? IT_HDF5_READWRITE : IT_HDF5_READONLY, NULL, store);
    if (rc)
        return cli_fail(path, rc);
    if (t && (rc = it_tensor_open(*store, id, flags, t))) {
        cli_fail(id, rc);
        it_store_close(*store);
        *store = NULL;
        return 1;
    }
    return 0;
}

void cli_format_array(char *buf, size_t size, const int64_t *v, int n) {
    size_t used = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < n && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, i ? ", %lld" : "%lld", (long long)v[i]);
    if (used < size)
        snprintf(buf + used, size - used, "]");
}

void cli_format_shape(char *buf, size_t size, const int64_t *shape, int n) {
    size_t used = (size_t)snprintf(buf, size, "(");
    for (int i = 0; i < n && used < size; i++) {
        const char *sep = i ? ", " : "";
        if (shape[i] == IT_INF)
            used += (size_t)snprintf(buf + used, size - used, "%sinf", sep);
        else
            used += (size_t)snprintf(buf + used, size - used, "%s%lld", sep, (long long)shape[i]);
    }
    if (used < size)
        snprintf(buf + used, size - used, ")");
}
