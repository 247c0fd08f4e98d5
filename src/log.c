/* IT_LOG=debug: what the library decides (walk plans, strips, cache evictions, commits), one
 * line each on stderr. Off by default; the level is read once (pthread_once), so a disabled
 * log costs that check per call, and callers that format a line first ask iti_log_on. A
 * line is formatted whole and written with one write(2), so lines of threads and processes
 * sharing stderr do not interleave. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool enabled;

static void read_level(void) {
    const char *v = getenv("IT_LOG");
    if (!v || !v[0] || strcmp(v, "off") == 0 || strcmp(v, "0") == 0)
        return;
    enabled = strcmp(v, "debug") == 0;
    if (!enabled) {
        char line[160];
        int n = snprintf(line, sizeof line, "infinite-tensor: IT_LOG=%.40s is not a level (debug, "
                         "off): logging stays off\n", v);
        if (write(STDERR_FILENO, line, (size_t)n) < 0) {
            /* nothing to do: stderr is gone */
        }
    }
}

bool iti_log_on(void) {
    pthread_once(&once, read_level);
    return enabled;
}

void iti_log(const char *area, const char *fmt, ...) {
    if (!iti_log_on())
        return;
    char line[1024];
    int n = snprintf(line, sizeof line, "infinite-tensor[%d] %s: ", (int)getpid(), area);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof line)
        n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof line - 1)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    if (write(STDERR_FILENO, line, (size_t)n) < 0) {
        /* nothing to do: stderr is gone */
    }
}
