/* Contiguous datasets mapped read-only (it_export_map, export.h).
 *
 * The file is opened through the library's checking driver to find the dataset, which must be
 * a contiguous, unfiltered, allocated array of a little-endian element type the library knows,
 * lying wholly inside the file; then the bytes are mapped. The shared lock taken first is what
 * HDF5's writers and the library's take exclusively, so none of them shrinks the file while
 * the mapping exists (a read past its end would raise SIGBUS); exports replace files by
 * rename, which leaves the mapped file as it was. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"
#include "export/export_hdf5.h"
#include "file_util.h"
#include "hdf5/driver/hdf5_vfd.h"
#include "hdf5/hdf5_attr.h"
#include "hdf5/hdf5_compat.h"
#include "hdf5/hdf5_lock.h"
#include "infinite_tensor/export.h"

typedef struct mapped {
    it_mapped_array pub;
    int fd;                      /* holds the shared lock */
    void *base;                  /* the mapping (page-aligned) */
    size_t length;
} mapped;

/* The library's dtype of a little-endian integer or float HDF5 type, or -1. */
static int dtype_of(hid_t ty) {
    for (int d = 0; d < IT_DTYPE_COUNT; d++)
        if (H5Tequal(ty, iti_h5_file_type(d)) > 0)
            return d;
    return -1;
}

/* Fills m's shape, dtype, origin, offset and bytes from dataset ds (HDF5 lock held),
 * checking that the bytes lie inside the fsize-byte file. */
static int describe(hid_t ds, const char *dataset, uint64_t fsize, it_mapped_array *m) {
    hid_t dcpl = H5Dget_create_plist(ds), ty = H5Dget_type(ds), sp = H5Dget_space(ds);
    hsize_t dims[IT_MAX_RANK];
    int rank = sp < 0 ? -1 : H5Sget_simple_extent_ndims(sp), rc = 0;
    int dtype = ty < 0 ? -1 : dtype_of(ty);
    if (dcpl < 0 || H5Pget_layout(dcpl) != H5D_CONTIGUOUS || H5Pget_external_count(dcpl) != 0)
        rc = iti_error(IT_EINVAL, "it_export_map: dataset \"%s\" is not contiguous (export it "
                       "with contiguous = 1)", dataset);
    else if (dtype < 0)
        rc = iti_error(IT_EINVAL, "it_export_map: dataset \"%s\" holds no little-endian integer "
                       "or float type of the library's", dataset);
    else if (rank < 1 || rank > IT_MAX_RANK || H5Sget_simple_extent_dims(sp, dims, NULL) != rank)
        rc = iti_error(IT_EINVAL, "it_export_map: dataset \"%s\" has rank %d (1..%d mapped)",
                       dataset, rank, IT_MAX_RANK);
    haddr_t at = rc ? HADDR_UNDEF : H5Dget_offset(ds);
    uint64_t bytes = it_dtype_size((it_dtype)(dtype < 0 ? 0 : dtype));
    for (int d = 0; rc == 0 && d < rank; d++) {
        if (dims[d] > (hsize_t)INT64_MAX || (dims[d] && bytes > UINT64_MAX / dims[d]))
            rc = iti_error(IT_EFORMAT, "it_export_map: dataset \"%s\" is too large", dataset);
        bytes *= dims[d];
        m->shape[d] = (int64_t)dims[d];
    }
    /* H5Dget_offset counts from the file's start (a user block included) */
    if (rc == 0 && bytes && (at == HADDR_UNDEF || at > fsize || bytes > fsize - at))
        rc = iti_error(IT_EFORMAT, "it_export_map: dataset \"%s\" claims %llu bytes that its "
                       "%llu-byte file does not hold", dataset, (unsigned long long)bytes,
                       (unsigned long long)fsize);
    if (rc == 0) {
        m->rank = rank;
        m->dtype = (it_dtype)dtype;
        m->bytes = bytes;
        m->offset = bytes ? (uint64_t)at : 0;
        if (H5Aexists(ds, "origin") <= 0 ||
            iti_h5_read_i64(ds, "origin", m->origin, (size_t)rank) != 0)
            memset(m->origin, 0, sizeof m->origin); /* not an export: index = pixel */
    }
    H5Eclear2(H5E_DEFAULT);
    if (sp >= 0)
        H5Sclose(sp);
    if (ty >= 0)
        H5Tclose(ty);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    return rc;
}

/* Finds the dataset through the checking driver (HDF5 lock taken here). */
static int find(const char *path, const char *dataset, uint64_t fsize, it_mapped_array *m) {
    iti_h5_enter();
    iti_vfd_state vfd = {0};
    hid_t f = iti_vfd_open_readonly(path, &vfd);
    int rc = 0;
    if (f < 0) {
        rc = iti_vfd_failure(&vfd, IT_EFORMAT, "it_export_map: opening the file");
    } else if (iti_h5_object_type(f, dataset) != H5O_TYPE_DATASET) {
        rc = iti_error(IT_ENOTFOUND, "it_export_map: %s has no dataset \"%s\"", path, dataset);
    } else {
        hid_t ds = H5Dopen2(f, dataset, H5P_DEFAULT);
        rc = ds < 0 ? iti_vfd_failure(&vfd, IT_EFORMAT, "it_export_map: opening the dataset")
                    : describe(ds, dataset, fsize, m);
        if (ds >= 0)
            H5Dclose(ds);
    }
    H5Eclear2(H5E_DEFAULT);
    if (f >= 0)
        H5Fclose(f);
    iti_h5_leave();
    return rc;
}

/* Opens and share-locks path: the descriptor, or a negative status. */
static int open_locked(const char *path, uint64_t *fsize) {
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return iti_error(errno == ENOENT ? IT_ENOTFOUND : iti_fs_errno_code(errno),
                         "it_export_map: %s: %s", path, strerror(errno));
    int err = iti_fs_lock_name(fd, path, false);
    struct stat sb;
    if (err == 0 && fstat(fd, &sb) != 0)
        err = errno;
    if (err) {
        close(fd);
        return err == EWOULDBLOCK
                   ? iti_error(IT_ELOCKED, "it_export_map: %s is being written by another "
                               "process", path)
                   : iti_error(IT_EIO, "it_export_map: %s: %s", path, strerror(err));
    }
    *fsize = (uint64_t)sb.st_size;
    return fd;
}

int it_export_map(const char *path, const char *dataset, it_mapped_array **out) {
    if (!out)
        return iti_error(IT_EINVAL, "it_export_map: NULL out");
    *out = NULL;
    if (!path || !dataset || !dataset[0])
        return iti_error(IT_EINVAL, "it_export_map: %s", !path ? "NULL path" : "no dataset name");
    int rc = iti_export_check_file(path, "it_export_map");
    if (rc)
        return rc;
    mapped *m = calloc(1, sizeof *m);
    if (!m)
        return iti_error(IT_ENOMEM, "out of memory mapping %s", path);
    uint64_t fsize = 0;
    m->fd = open_locked(path, &fsize);
    rc = m->fd < 0 ? m->fd : find(path, dataset, fsize, &m->pub);
    if (rc == 0 && m->pub.bytes) {
        long page = sysconf(_SC_PAGESIZE);
        uint64_t from = m->pub.offset - m->pub.offset % (uint64_t)(page > 0 ? page : 4096);
        m->length = (size_t)(m->pub.offset - from + m->pub.bytes);
        m->base = mmap(NULL, m->length, PROT_READ, MAP_SHARED, m->fd, (off_t)from);
        if (m->base == MAP_FAILED) {
            m->base = NULL;
            rc = iti_error(errno == ENOMEM ? IT_ENOMEM : IT_EIO, "it_export_map: mapping %s: %s",
                           path, strerror(errno));
        } else {
            m->pub.data = (const char *)m->base + (m->pub.offset - from);
        }
    }
    if (rc) {
        if (m->fd >= 0)
            close(m->fd);
        free(m);
        return rc;
    }
    *out = &m->pub;
    return 0;
}

void it_export_unmap(it_mapped_array *array) {
    if (!array)
        return;
    mapped *m = (mapped *)array;
    if (m->base)
        munmap(m->base, m->length);
    close(m->fd);
    free(m);
}
