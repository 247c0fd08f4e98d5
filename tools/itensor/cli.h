/* itensor: the command-line tool, a thin layer over the public API. */
#ifndef ITENSOR_CLI_H
#define ITENSOR_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "infinite_tensor.h"

/* Each command: argc/argv start at the command name; returns the process exit status. */
int cmd_ls(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_preview(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_compact(int argc, char **argv);
int cmd_upgrade(int argc, char **argv);
int cmd_demo(int argc, char **argv);

/* The calling thread's library message without the library function it starts with. */
const char *cli_message(void);
/* Prints "itensor: <what>: <library message>" (one line) and returns 1. */
int cli_fail(const char *what, int code);
/* Prints "itensor: <message>" and returns 2 (usage errors). */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* True when argv[i] is -h or --help. */
bool cli_wants_help(int argc, char **argv);

/* Called for each option a command's table matches (code = its val, value = its argument or
 * NULL); returns 0, or an exit status that ends the parse. */
typedef int (*cli_option_fn)(int code, const char *value, void *user);
/* Parses a command's argv (argv[0] = the command) with getopt_long: --name=value, --name value
 * and -x value forms, options before or after the positional arguments, which land in pos
 * (min_pos..max_pos of them). Returns 0 or the exit status of a usage error (printed). */
int cli_parse(int argc, char **argv, const struct option *opts, cli_option_fn on_option,
              void *user, const char **pos, int min_pos, int max_pos, int *npos);

/* Prints the help lines of --compression and --level from the library's codec table. */
void cli_print_codec_help(void);

/* The option table of commands that take none, and of those that take only --json. */
extern const struct option cli_no_options[];
extern const struct option cli_json_option[];
/* A cli_option_fn that sets the bool `user` points to (commands whose only option is a flag). */
int cli_set_flag(int code, const char *value, void *user);

/* A byte count: "12.3 MiB" (1024-based), or the exact number with `exact`. */
void cli_format_bytes(char *buf, size_t size, uint64_t bytes, bool exact);
/* A pixel box in the region syntax --region accepts: "a:b,c:d". */
void cli_format_box(char *buf, size_t size, const int64_t *start, const int64_t *stop, int n);
/* JSON output: a quoted, escaped string; an array of integers. */
void cli_json_string(FILE *f, const char *s);
void cli_json_array(FILE *f, const int64_t *v, int n);
/* Opens a command's JSON document on stdout with its first key: {"key": "value" */
void cli_json_begin(const char *key, const char *value);

/* A context whose progress callback draws a bar on stderr when it is a terminal. */
int cli_context(it_ctx **ctx, const char *label);
void cli_progress_done(void);
/* The progress that follows counts bytes (exports), not chunks (reads and fills). */
void cli_progress_in_bytes(void);

/* Opens a store read-only (or read-write) and a tensor of it; prints and returns non-zero on
 * failure, after releasing what was opened. */
int cli_open(it_ctx *ctx, const char *path, bool writable, const char *id, unsigned flags,
             it_store **store, it_tensor **t);

/* Formats "[a, b, c]" / a region "a:b:s, ..." into buf. */
void cli_format_array(char *buf, size_t size, const int64_t *v, int n);
void cli_format_shape(char *buf, size_t size, const int64_t *shape, int n);

#endif
