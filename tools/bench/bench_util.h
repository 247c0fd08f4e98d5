/* Helpers shared by the benchmarks. */
#ifndef IT_BENCH_UTIL_H
#define IT_BENCH_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include "infinite_tensor.h"

double bench_now_ms(void);
/* Median of v[0..n) (sorts v). */
double bench_median(double *v, int n);
/* The trivial field: a smooth ramp with a little texture (compresses like real fields). */
float bench_field(int64_t y, int64_t x);
/* it_window_fn filling (inf, inf) f32 windows with bench_field. */
int bench_field_fn(const it_window_batch *b, void *user);

/* Creates tensor "field": (inf, inf) f32 of bench_field in tile x tile windows = chunks. */
int bench_field_tensor(it_store *store, int64_t tile, it_tensor **out);
/* The square region [0, size)^2. */
it_region bench_square(int64_t size);

/* The benchmarks' command line, [runs] [size] [dir]: runs 1..50 (default 3), size a multiple of
 * unit (*size holds the default), dir defaulting to $TMPDIR or /tmp (dir may be NULL for
 * benchmarks without files). Prints the usage and returns false when an argument is off. */
bool bench_args(int argc, char **argv, const char *name, int64_t unit, int *runs, int64_t *size,
                const char **dir);

/* Runs fn(arg, &ms) in a fresh child process; returns its time and peak RSS (MB).
 * 0 on success. A fresh process gives every measurement fresh memory and its own RSS. */
int bench_in_child(int (*fn)(void *arg, double *ms), void *arg, double *ms, double *rss_mb);

#endif
