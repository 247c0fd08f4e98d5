#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "byte_order.h"
#include "file_util.h"
#include "hdf5/driver/hdf5_convert.h"
#include "hdf5/driver/hdf5_guard.h"
#include "hdf5/driver/hdf5_header.h"
#include "hdf5/driver/hdf5_journal.h"

/* The superblock (version 0 or 1, what format-1/2 stores have) at offset `at` of fd gets
 * base address `base`: every other address in an HDF5 file is relative to it. */
static int move_base(int fd, uint64_t at, uint64_t base, const char *path) {
    unsigned char sb[40];
    int err = iti_fs_pread_full(fd, sb, sizeof sb, at);
    if (err)
        return iti_error(iti_fs_errno_code(err), "converting %s: %s", path, strerror(err));
    int version = sb[8], offsets = sb[13];
    uint64_t field = version == 0 ? 24 : 28;
    if (memcmp(sb, ITI_H5_SIGNATURE, 8) != 0 || version > 1 || offsets != 8 ||
        iti_get_le(sb + field, 8) != 0)
        return iti_error(IT_EFORMAT, "converting %s: its HDF5 superblock (version %d, %d-byte "
                        "addresses, at offset 0 with base address 0 expected) is not one a store "
                        "of format 1 or 2 has", path, version, offsets);
    unsigned char b[8];
    iti_put_le(b, base, 8);
    err = iti_fs_pwrite_all(fd, b, 8, at + field);
    return err ? iti_error(iti_fs_errno_code(err), "converting %s: %s", path, strerror(err)) : 0;
}

/* The commit a format-1/2 writer left, applied to the copy (addresses moved by the header). */
static int finish_legacy_commit(const char *path, int in, int out,
                                const char *const legacy_journal[2], uint64_t *size) {
    iti_extent *x = NULL;
    size_t n = 0;
    char why[256] = "";
    int found = iti_journal_find_legacy(legacy_journal, in, &x, &n, size, why, sizeof why);
    int err = found < 0 ? -found : 0;
    for (size_t i = 0; found == 1 && i < n && !err; i++)
        err = iti_fs_pwrite_all(out, x[i].data, x[i].size, ITI_HEADER_SIZE + x[i].addr);
    iti_extents_free(x, n);
    if (found == -EBADMSG)
        return iti_error(IT_EFORMAT, "converting %s: %s; move it away to open the store", path,
                        why);
    return err ? iti_error(iti_fs_errno_code(err), "converting %s: completing its journal: %s",
                           path, strerror(err))
               : 0;
}

int iti_h5_convert_copy(const char *path, int in, const char *const legacy_journal[2],
                        const char *tmp, bool sync) {
    struct stat sb;
    if (fstat(in, &sb) != 0)
        return iti_error(IT_EIO, "converting %s: %s", path, strerror(errno));
    int out = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, sb.st_mode & 07777);
    if (out < 0)
        return iti_error(iti_fs_errno_code(errno), "converting %s: creating %s: %s", path, tmp,
                        strerror(errno));
    uint64_t size = (uint64_t)sb.st_size; /* or what a journal left makes it */
    unsigned char *block = malloc(ITI_HEADER_SIZE);
    int rc = block ? 0 : iti_error(IT_ENOMEM, "converting %s: out of memory", path);
    int err = rc ? 0 : iti_fs_copy_into(in, out, size, ITI_HEADER_SIZE);
    if (err)
        rc = iti_error(iti_fs_errno_code(err), "converting %s: copying it: %s", path, strerror(err));
    if (rc == 0)
        rc = finish_legacy_commit(path, in, out, legacy_journal, &size);
    iti_header h;
    if (rc == 0 && (err = iti_header_new(&h, ITI_HEADER_SIZE + size)) == 0) {
        iti_header_encode(&h, block);
        err = iti_fs_pwrite_all(out, block, ITI_HEADER_SIZE, 0);
        if (err == 0 && ftruncate(out, (off_t)(ITI_HEADER_SIZE + size)) != 0)
            err = errno;
    }
    if (rc == 0 && err)
        rc = iti_error(iti_fs_errno_code(err), "converting %s: writing %s: %s", path, tmp,
                      strerror(err));
    if (rc == 0)
        rc = move_base(out, ITI_HEADER_SIZE, ITI_HEADER_SIZE, path);
    if (rc == 0 && sync && fsync(out) != 0)
        rc = iti_error(iti_fs_errno_code(errno), "converting %s: syncing %s: %s", path, tmp,
                      strerror(errno));
    if (close(out) != 0 && rc == 0)
        rc = iti_error(iti_fs_errno_code(errno), "converting %s: closing %s: %s", path, tmp,
                      strerror(errno));
    free(block);
    if (rc)
        unlink(tmp);
    return rc;
}
