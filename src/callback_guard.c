/* The callback guard (evaluator.h): the library's calls into user code (window functions,
 * blends, progress) are counted per thread, so a read started from inside one is refused
 * instead of waiting on the threads that run it. */
#include "evaluator.h"

static _Thread_local int callback_depth;

void iti_callback_enter(void) { callback_depth++; }
void iti_callback_leave(void) { callback_depth--; }
bool iti_in_callback(void) { return callback_depth > 0; }
