/* The callback guard (evaluator.h): the library's calls into user code (window functions,
 * blends, progress) are counted per thread, so that a read started from inside one runs as a
 * nested evaluation: on that thread alone, never waiting for the pool it may occupy, and at
 * most ITI_MAX_NESTED_READS deep. */
#include "evaluator.h"

static _Thread_local int callback_depth, nested_reads;

void iti_callback_enter(void) { callback_depth++; }
void iti_callback_leave(void) { callback_depth--; }
bool iti_in_callback(void) { return callback_depth > 0; }

int iti_nested_enter(const char *fn) {
    if (nested_reads >= ITI_MAX_NESTED_READS)
        return iti_error(IT_ECYCLE, "%s: reads nested %d deep inside window functions (each "
                         "window reading another that reads another ...): a cycle of reads, or "
                         "a chain too deep", fn, nested_reads);
    nested_reads++;
    iti_pool_inline_begin();
    return 0;
}

void iti_nested_leave(void) {
    iti_pool_inline_end();
    nested_reads--;
}
