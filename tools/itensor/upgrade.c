/* itensor upgrade: converts a store of library 0.1 or 0.2 (format 1 or 2) to format 3.
 *
 * Converting format 1 reads variable-length strings through HDF5's global heap, which HDF5
 * 1.10.8 reads without checking it against crafted files (a heap overflow in H5A__read and an
 * endless loop in H5HG_read were found that way). So every conversion runs in a child process
 * with limits on its CPU time and address space: a crafted file costs that process, never
 * this one, and the store is left as it was (the library converts a copy and renames it over
 * the store only when it is complete; a copy left by a killed child is removed here). */
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

/* Address and thread sanitizers reserve terabytes of address space up front. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZER_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZER_BUILD 1
#endif
#endif

typedef struct limits {
    unsigned long seconds;      /* CPU time of the child */
    unsigned long long bytes;   /* its address space (0: 64 times the file, at least 4 GiB) */
    bool json;
} limits;

static int on_option(int code, const char *value, void *user) {
    limits *l = user;
    if (code == 'j') {
        l->json = true;
        return 0;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(value, &end, 10);
    if (errno || end == value || *end || v == 0)
        return cli_usage_error("upgrade: --%s wants a positive integer (got \"%s\")",
                               code == 's' ? "limit-seconds" : "limit-memory", value);
    if (code == 's')
        l->seconds = (unsigned long)v;
    else
        l->bytes = v;
    return 0;
}

static const struct option options[] = {{"limit-seconds", required_argument, NULL, 's'},
                                        {"limit-memory", required_argument, NULL, 'm'},
                                        {"json", no_argument, NULL, 'j'},
                                        {NULL, 0, NULL, 0}};

/* Whether the file begins with a store header (format 3): -1 when it cannot be read. */
static int has_header(const char *file) {
    FILE *f = fopen(file, "rb");
    if (!f)
        return -1;
    char magic[8] = {0};
    size_t n = fread(magic, 1, sizeof magic, f);
    fclose(f);
    return n == sizeof magic && memcmp(magic, "ITSTORE1", 8) == 0;
}

/* Opens the store for writing (trusted: format 1 is read) and closes it: the conversion, or
 * the completion of a commit a writer left. Returns the exit status. */
static int open_for_writing(const char *file, bool trusted) {
    it_ctx *ctx;
    if (cli_context(&ctx, "upgrade"))
        return 1;
    it_hdf5_options o;
    it_hdf5_options_init(&o);
    o.trusted = trusted;
    it_store *s;
    int rc = it_store_open_hdf5(ctx, file, IT_HDF5_READWRITE, &o, &s);
    if (rc == 0)
        rc = it_store_close(s);
    it_ctx_destroy(ctx);
    return rc ? cli_fail(file, rc) : 0;
}

/* The child: limits, then the conversion. */
static void convert_in_child(const char *file, const limits *l) {
    struct rlimit cpu = {l->seconds, l->seconds + 5};
    setrlimit(RLIMIT_CPU, &cpu);
    struct stat sb;
    unsigned long long bytes = l->bytes;
    if (bytes == 0) {
        bytes = 4ULL << 30;
        if (stat(file, &sb) == 0 && (unsigned long long)sb.st_size > bytes / 64)
            bytes = (unsigned long long)sb.st_size * 64;
    }
#ifdef SANITIZER_BUILD
    (void)bytes;
    fprintf(stderr, "itensor: upgrade: the memory limit is not applied (sanitizer build)\n");
#else
    struct rlimit as = {bytes, bytes};
    setrlimit(RLIMIT_AS, &as);
#endif
    _exit(open_for_writing(file, true));
}

/* Removes the copies "<resolved file>.convert-<pid>-<n>" a killed child left. */
static void remove_child_copies(const char *file, pid_t pid) {
    char target[PATH_MAX], pattern[PATH_MAX + 64];
    if (!realpath(file, target))
        return;
    snprintf(pattern, sizeof pattern, "%s.convert-%ld-*", target, (long)pid);
    glob_t g;
    if (glob(pattern, 0, NULL, &g) == 0)
        for (size_t i = 0; i < g.gl_pathc; i++)
            unlink(g.gl_pathv[i]);
    globfree(&g);
}

static int convert_isolated(const char *file, const limits *l) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "itensor: upgrade: fork: %s\n", strerror(errno));
        return 1;
    }
    if (pid == 0)
        convert_in_child(file, l);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        continue;
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    int sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
    remove_child_copies(file, pid);
    fprintf(stderr, "itensor: upgrade: the process converting %s was stopped by signal %d (%s)%s; "
                    "%s is unchanged\n", file, sig, strsignal(sig),
            sig == SIGXCPU ? ", past its CPU time limit (--limit-seconds)"
            : sig == SIGSEGV || sig == SIGBUS || sig == SIGABRT
                ? ": HDF5 failed on the file's structures, or ran out of memory (--limit-memory)"
                : "", file);
    return 1;
}

int cmd_upgrade(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        puts("Usage: itensor upgrade [--json] FILE [--limit-seconds S] [--limit-memory BYTES]\n\n"
             "Converts a store written by infinite-tensor 0.1 or 0.2 (format 1 or 2) to the\n"
             "current format 3 (a store header in front of the HDF5 file; format 1's strings\n"
             "become fixed-length and each chunk index is rebuilt from HDF5's chunk B-tree).\n"
             "Reading format 1 goes through HDF5's global heap, which HDF5 does not check\n"
             "against crafted files, so the conversion runs in a child process limited to S\n"
             "seconds of CPU time (default 600) and BYTES of memory (default 64 times the file,\n"
             "at least 4 GiB); a file that crashes or stalls it leaves the store unchanged.\n"
             "Upgrade only files you trust. All or nothing; a current store is left as it is\n"
             "(a commit its writer left unfinished is completed).\n\n"
             "  --json   one JSON document: file, upgraded (false when already current)");
        return 0;
    }
    limits l = {600, 0, false};
    const char *pos[1];
    int npos, prc = cli_parse(argc, argv, options, on_option, &l, pos, 1, 1, &npos);
    if (prc)
        return prc;
    const char *file = pos[0];
    int current = has_header(file);
    if (current < 0) {
        fprintf(stderr, "itensor: %s: %s\n", file, strerror(errno));
        return 1;
    }
    int rc = current ? open_for_writing(file, false) : convert_isolated(file, &l);
    if (rc == 0 && l.json) {
        cli_json_begin("file", file);
        printf(", \"upgraded\": %s}\n", current ? "false" : "true");
    } else if (rc == 0) {
        printf(current ? "%s is already in the current format\n"
                       : "upgraded %s to the current format\n", file);
    }
    return rc;
}
