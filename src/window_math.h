/* Window geometry on validated windows (stride resolved, map entries checked). */
#ifndef ITI_WINDOW_MATH_H
#define ITI_WINDOW_MATH_H

#include "internal.h"

/* Checks w and resolves stride 0 to size into *out. `what` names the window in messages
 * ("window", "arg_windows[2]"); index_rank is the rank of the window index it reads. */
int iti_window_resolve(const it_window *w, int index_rank, const char *what, it_window *out);

/* Windows intersecting [start, stop): 1 with lo/hi set, 0 when none. */
int iti_win_range(const it_window *w, int index_rank, const int64_t *start, const int64_t *stop,
                 int64_t *lo, int64_t *hi);

/* Box of window `index`; IT_ERANGE when it leaves int64. */
int iti_win_bounds(const it_window *w, const int64_t *index, int64_t *start, int64_t *stop);

#endif
