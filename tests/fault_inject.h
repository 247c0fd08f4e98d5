/* Fault injection by interposition: a test program linked with fault_inject.c defines pwrite,
 * write, ftruncate, fsync, fdatasync, copy_file_range and rename itself, so every such call of
 * the library and of HDF5 (a shared library, which resolves them to the program's definitions
 * first) passes through here on its way to the C library. Armed, the k-th counted call fails
 * with a chosen errno, as a full or failing disk would make it fail. Only calls on regular
 * files other than stdin/stdout/stderr are counted. */
#ifndef IT_FAULT_INJECT_H
#define IT_FAULT_INJECT_H

#include <stdbool.h>

/* Fails call number k (1-based) from now with err; with sticky, every later call too (a full
 * disk: the k-th write is cut short, the ones after fail). k = 0 only counts. */
void fault_arm(long k, int err, bool sticky);
/* At call number k the process writes half of that call's bytes (pwrite/write) and kills
 * itself with SIGKILL: a kill at a precise moment, with a torn write. */
void fault_arm_kill(long k);
void fault_disarm(void);
/* Counted calls since the last fault_arm. */
long fault_calls(void);
/* Whether the armed fault has struck. */
bool fault_fired(void);

#endif
