/* File-system steps of writing files safely: temporary names, copies, renames made durable,
 * and the HDF5 signature probe, each reporting the OS error. */
#ifndef ITI_FILE_UTIL_H
#define ITI_FILE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "<path>.<tag>-<pid>-<n>" in buf: a fresh name beside path (same file system, so a rename
 * replaces path atomically). IT_EINVAL when it does not fit. */
int iti_fs_temp_name(const char *path, const char *tag, char *buf, size_t size);

/* fsync of the directory holding path, so a rename into it survives power loss. */
int iti_fs_sync_dir(const char *path);

/* Copies src to a new file dst (reflink where the file system shares blocks, else
 * copy_file_range), with src's permission bits; with sync, fsyncs dst. Removes dst on failure. */
int iti_fs_copy(const char *src, const char *dst, bool sync);

/* Writes all n bytes at off (retrying short writes and EINTR); 0 or an errno (ENOSPC when
 * the file system takes no byte). */
int iti_fs_pwrite_all(int fd, const void *buf, size_t n, uint64_t off);

/* Copies size bytes of the file open as in to the file open as out at offset at (shared blocks
 * where the file system offers them and `at` is a multiple of its block size). 0 or an errno. */
int iti_fs_copy_into(int in, int out, uint64_t size, uint64_t at);

/* Renames from to `to` unless `to` exists (EEXIST then): no store another process created
 * meanwhile is replaced. 0 or an errno. */
int iti_fs_rename_noreplace(const char *from, const char *to);

/* Locks the file open as fd (shared or exclusive, without waiting) and checks that path still
 * names it: 0; EWOULDBLOCK when another process holds a conflicting lock; ESTALE when path was
 * replaced (by a process creating or converting a store there) or removed since fd was opened;
 * another errno. A file system without locks counts as locked. */
int iti_fs_lock_name(int fd, const char *path, bool exclusive);
/* Whether path still names the file open as fd: 0, ESTALE (replaced or removed), an errno. */
int iti_fs_same_file(int fd, const char *path);

/* The commit lock of a store file: a byte-range lock of the open file description (Linux OFD
 * locks, so threads and other handles of this process do not share it) on a byte far past any
 * data. A writer holds it exclusively while it applies a commit; live readers hold it shared
 * around each operation (io/FORMAT.md, "Readers while a writer works"). `type` is F_RDLCK,
 * F_WRLCK (both wait) or F_UNLCK. 0, ENOTSUP where the system has no such locks, or an errno. */
int iti_fs_commit_lock(int fd, short type);
/* A writer marks the file as written (a lock on the next byte, held while fd is open), so other
 * processes can tell without taking any lock: iti_fs_writer_present is 1 while some process's
 * mark stands, 0 when none, -errno (-ENOTSUP without such locks). */
int iti_fs_writer_mark(int fd);
int iti_fs_writer_present(int fd);

/* Renames from over `to` while holding an exclusive lock on the file at `to`, so no process
 * has it open through the library (EWOULDBLOCK when one has, or when `to` was replaced
 * meanwhile); like iti_fs_rename_noreplace when `to` does not exist. 0 or an errno. */
int iti_fs_replace_locked(const char *from, const char *to);

/* Reads n bytes at off; bytes past the end of the file read as zeros. 0 or an errno. */
int iti_fs_pread_full(int fd, void *buf, size_t n, uint64_t off);

/* Makes fd's data durable (and the metadata needed to read them back): fdatasync, or on macOS
 * F_FULLFSYNC (its fsync does not reach the disk). 0 or -1 with errno set. */
int iti_fs_sync_data(int fd);

/* IT_ENOSPC for ENOSPC/EDQUOT/EFBIG, else IT_EIO. */
int iti_fs_errno_code(int err);

#endif
