/* Files this process has open through the library, by device and inode. HDF5 shares one open
 * file between handles of the same process, so a second store handle on a file would write
 * through the same B-tree with its own chunk index (clobbering it), and an export into a
 * store being written would copy it mid-write. Claims refuse that with IT_ELOCKED. */
#ifndef ITI_OPEN_FILES_H
#define ITI_OPEN_FILES_H

#include <stdbool.h>
#include <sys/types.h>

typedef struct iti_open_file iti_open_file;

/* Claims path's file for reading or writing: a writer excludes every other claim, readers
 * share. If path exists and is claimed in a conflicting way: IT_ELOCKED naming path. Otherwise
 * `then(arg)` runs (may be NULL; it opens or creates the file) under the registry's lock, so
 * nobody claims the file in between, and the claim records the file then at path. A non-zero
 * return of then is returned and nothing is claimed. *out is the claim or NULL. */
int iti_open_file_claim(const char *path, bool writable, int (*then)(void *), void *arg,
                       iti_open_file **out);

/* Whether path's file is claimed for writing (export targets check this). */
bool iti_open_file_is_written(const char *path);

/* Releases a claim; NULL is a no-op. */
void iti_open_file_release(iti_open_file *f);

#endif
