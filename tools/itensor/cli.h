/* itensor: the command-line tool, a thin layer over the public API. */
#ifndef ITENSOR_CLI_H
#define ITENSOR_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "infinite_tensor.h"

/* Each command: argc/argv start at the command name; returns the process exit status. */
int cmd_ls(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_preview(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_upgrade(int argc, char **argv);
int cmd_demo(int argc, char **argv);

/* Prints "itensor: <what>: <library message>" (one line) and returns 1. */
int cli_fail(const char *what, int code);
/* Prints "itensor: <message>" and returns 2 (usage errors). */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* True when argv[i] is -h or --help. */
bool cli_wants_help(int argc, char **argv);

/* A context whose progress callback draws a bar on stderr when it is a terminal. */
int cli_context(it_ctx **ctx, const char *label);
void cli_progress_done(void);

/* Opens a store read-only (or read-write) and a tensor of it; prints and returns non-zero on
 * failure, after releasing what was opened. */
int cli_open(it_ctx *ctx, const char *path, bool writable, const char *id, unsigned flags,
             it_store **store, it_tensor **t);

/* Formats "[a, b, c]" / a region "a:b:s, ..." into buf. */
void cli_format_array(char *buf, size_t size, const int64_t *v, int n);
void cli_format_shape(char *buf, size_t size, const int64_t *shape, int n);

#endif
