/* Shared pieces of the itensor commands: errors, options, progress bar, opening stores. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

const char *cli_message(void) {
    const char *msg = it_last_error();
    /* the library names its own function first ("it_export_hdf5: ..."): not the tool's word */
    for (;;) { /* also "it_a: it_b: ..." when a call reports what another one said */
        size_t n = strspn(msg, "abcdefghijklmnopqrstuvwxyz0123456789_");
        if (strncmp(msg, "it_", 3) != 0 || strncmp(msg + n, ": ", 2) != 0)
            return msg;
        msg += n + 2;
    }
}

int cli_fail(const char *what, int code) {
    const char *msg = cli_message();
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

const struct option cli_no_options[] = {{NULL, 0, NULL, 0}};

int cli_set_flag(int code, const char *value, void *user) {
    (void)code, (void)value;
    *(bool *)user = true;
    return 0;
}
const struct option cli_json_option[] = {{"json", no_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};

int cli_parse(int argc, char **argv, const struct option *opts, cli_option_fn on_option,
              void *user, const char **pos, int min_pos, int max_pos, int *npos) {
    char shortopts[64] = ":"; /* ':' first: a missing value is reported as ':' */
    size_t n = 1;
    for (const struct option *o = opts; o && o->name && n + 2 < sizeof shortopts; o++)
        if (o->val > 0 && o->val < 128) {
            shortopts[n++] = (char)o->val;
            if (o->has_arg == required_argument)
                shortopts[n++] = ':';
        }
    shortopts[n] = 0;
    opterr = 0;
    optind = 1;
    *npos = 0;
    for (;;) {
        int prev = optind;
        int c = getopt_long(argc, argv, shortopts, opts, NULL);
        if (c == -1)
            break;
        const char *seen = argv[prev < argc ? prev : argc - 1];
        if (c == ':')
            return cli_usage_error("%s needs a value", seen);
        if (c == '?')
            return cli_usage_error("unknown option \"%s\"", seen);
        int rc = on_option(c, optarg, user);
        if (rc)
            return rc;
    }
    for (int i = optind; i < argc; i++) {
        if (*npos == max_pos)
            return cli_usage_error("unexpected argument \"%s\"", argv[i]);
        pos[(*npos)++] = argv[i];
    }
    if (*npos < min_pos)
        return cli_usage_error("%s takes %d argument%s", argv[0], min_pos, min_pos == 1 ? "" : "s");
    return 0;
}

void cli_format_bytes(char *buf, size_t size, uint64_t bytes, bool exact) {
    static const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)bytes;
    int u = 0;
    while (!exact && v >= 1024 && u < 5)
        v /= 1024, u++;
    if (u == 0)
        snprintf(buf, size, "%llu B", (unsigned long long)bytes);
    else
        snprintf(buf, size, "%.1f %s", v, unit[u]);
}

void cli_format_box(char *buf, size_t size, const int64_t *start, const int64_t *stop, int n) {
    size_t used = 0;
    buf[0] = 0;
    for (int d = 0; d < n && used < size; d++)
        used += (size_t)snprintf(buf + used, size - used, "%s%lld:%lld", d ? "," : "",
                                 (long long)start[d], (long long)stop[d]);
}

void cli_json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

void cli_json_begin(const char *key, const char *value) {
    printf("{\"%s\": ", key);
    cli_json_string(stdout, value);
}

void cli_json_array(FILE *f, const int64_t *v, int n) {
    fputc('[', f);
    for (int i = 0; i < n; i++)
        fprintf(f, i ? ", %lld" : "%lld", (long long)v[i]);
    fputc(']', f);
}

static const char *bar_label;
static bool bar_drawn, bar_bytes;

void cli_progress_in_bytes(void) { bar_bytes = true; }

static double seconds_since(const struct timespec *t0, const struct timespec *t1) {
    return (double)(t1->tv_sec - t0->tv_sec) + (double)(t1->tv_nsec - t0->tv_nsec) / 1e9;
}

/* "[####    ]  42%  1234/2938 chunks  812 chunks/s  0:02 left" */
static int draw_bar(uint64_t done, uint64_t total, void *user) {
    (void)user;
    static struct timespec start, last;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (done == 0)
        start = now;
    if (done != total && seconds_since(&last, &now) < 0.1)
        return 0;
    last = now;
    int width = 30, filled = total ? (int)((double)done / (double)total * width) : width;
    fprintf(stderr, "\r%s [", bar_label);
    for (int i = 0; i < width; i++)
        fputc(i < filled ? '#' : ' ', stderr);
    fprintf(stderr, "] %3d%%", total ? (int)((double)done * 100 / (double)total) : 100);
    if (bar_bytes) {
        char a[32], b[32];
        cli_format_bytes(a, sizeof a, done, false);
        cli_format_bytes(b, sizeof b, total, false);
        fprintf(stderr, "  %s/%s", a, b);
    } else {
        fprintf(stderr, "  %llu/%llu chunks", (unsigned long long)done, (unsigned long long)total);
    }
    double secs = seconds_since(&start, &now);
    if (done > 0 && secs > 0) { /* the rate so far; at the end, the time it took */
        double rate = (double)done / secs, t = done == total ? secs : (double)(total - done) / rate;
        char r[32];
        if (bar_bytes)
            cli_format_bytes(r, sizeof r, (uint64_t)rate, false);
        else
            snprintf(r, sizeof r, "%.0f chunks", rate);
        fprintf(stderr, "  %s/s  %d:%02d %s ", r, (int)(t / 60), (int)t % 60,
                done == total ? "total" : "left");
    }
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

/* Joins the codecs' names (each through `item`) as "a, b or c" into buf. */
static void codec_list(char *buf, size_t cap, bool (*keep)(const it_codec_info *),
                       void (*item)(char *, size_t, it_compression, const it_codec_info *)) {
    int n = 0, total = 0;
    it_codec_info info;
    for (int c = 0; c < IT_COMPRESSION_COUNT; c++)
        total += it_compression_info((it_compression)c, &info) == 0 && keep(&info);
    size_t o = 0;
    buf[0] = '\0';
    for (int c = 0; c < IT_COMPRESSION_COUNT && o < cap; c++) {
        if (it_compression_info((it_compression)c, &info) || !keep(&info))
            continue;
        o += (size_t)snprintf(buf + o, cap - o, "%s", n == 0 ? "" : n + 1 == total ? " or " : ", ");
        if (o < cap)
            item(buf + o, cap - o, (it_compression)c, &info);
        o += strlen(buf + o);
        n++;
    }
}

static bool any_codec(const it_codec_info *info) { return info->name != NULL; }
static bool plugin_codec(const it_codec_info *info) { return info->needs_plugin; }
static bool leveled_codec(const it_codec_info *info) { return info->max_level > 0; }

static void codec_name(char *buf, size_t cap, it_compression c, const it_codec_info *info) {
    it_export_options o;
    it_export_options_init(&o);
    snprintf(buf, cap, "%s%s%s", info->name, c == o.compression ? " (default)" : "",
             info->available ? "" : " (not in this build)");
}

static void codec_plain_name(char *buf, size_t cap, it_compression c, const it_codec_info *info) {
    (void)c;
    snprintf(buf, cap, "%s", info->name);
}

static void codec_levels(char *buf, size_t cap, it_compression c, const it_codec_info *info) {
    (void)c;
    snprintf(buf, cap, "%s 1..%d", info->name, info->max_level);
}

void cli_print_codec_help(void) {
    char names[512], plugins[256], levels[512];
    codec_list(names, sizeof names, any_codec, codec_name);
    codec_list(plugins, sizeof plugins, plugin_codec, codec_plain_name);
    codec_list(levels, sizeof levels, leveled_codec, codec_levels);
    printf("  --compression C %s;\n"
           "                  files of %s need HDF5's filter plugins where they are read\n"
           "  --level L       codec level: %s;\n"
           "                  0 = the codec's default, -1 = none\n",
           names, plugins, levels);
}
