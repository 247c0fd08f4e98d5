/* Mapped chunks of an HDF5 store (hdf5_map.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file_util.h"
#include "hdf5/hdf5_map.h"

char iti_h5_map_ref;

int iti_h5_map_open(h5_store *h) {
    int fd = open(h->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || iti_fs_same_file(fd, h->path) != 0) {
        int err = errno;
        if (fd >= 0)
            close(fd);
        return iti_error(IT_EIO, "it_store_open_hdf5: mapping %s: %s", h->path, strerror(err));
    }
    void *base = sb.st_size ? mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0) : NULL;
    close(fd); /* the mapping keeps the file */
    if (base == MAP_FAILED)
        return iti_error(IT_EIO, "it_store_open_hdf5: mapping %s: %s", h->path, strerror(errno));
    h->map_base = base;
    h->map_size = (size_t)sb.st_size;
    return 0;
}

bool iti_h5_mapped(const h5_store *h, const h5_tensor *ht) {
    return h->map_base && !iti_codec_compresses(&ht->codec);
}

/* Where chunk c lies in the mapping (store lock held): 1 with *at, 0 when not stored, < 0. */
static int locate(h5_store *h, h5_tensor *ht, const iti_coord *c, uint64_t *at, size_t *len) {
    const iti_store_tensor *t = ht->t;
    hsize_t off[IT_MAX_RANK], size = 0;
    iti_h5t_chunk_offset(ht, c, off);
    if (H5Dget_chunk_storage_size(ht->data, off, &size) < 0 || size == 0) {
        H5Eclear2(H5E_DEFAULT);
        return 0;
    }
    size_t want = iti_codec_bound(&ht->codec, t->chunk_bytes);
    if (size != want)
        return iti_error(IT_EFORMAT, "tensor \"%s\": a stored chunk claims %llu bytes (a chunk "
                        "holds %zu)", t->id, (unsigned long long)size, want);
    if (h->scratch_size < want) {
        void *s = realloc(h->scratch, want);
        if (!s)
            return iti_error(IT_ENOMEM, "out of memory locating a chunk");
        h->scratch = s;
        h->scratch_size = want;
    }
    int rc = iti_vfd_locate_chunk(&h->vfd, ht->data, off, want, h->scratch, at);
    if (rc)
        return rc;
    if (*at == UINT64_MAX || *at > h->map_size || want > h->map_size - *at)
        return iti_error(IT_EFORMAT, "tensor \"%s\": a stored chunk lies past the file's end "
                        "as it was mapped", t->id);
    *len = want;
    return 1;
}

int iti_h5_map_get(h5_store *h, h5_tensor *ht, const iti_coord *c, iti_chunk_ref *ref) {
    uint64_t at = 0;
    size_t len = 0;
    iti_h5s_enter(h);
    int p = h->failed ? iti_error(h->failed, "%s", h->failed_msg) : locate(h, ht, c, &at, &len);
    bool checked = p == 1 && ht->mapped_ok && iti_coordset_has(ht->mapped_ok, c);
    iti_h5s_leave(h);
    if (p <= 0)
        return p;
    const unsigned char *data = (const unsigned char *)h->map_base + at;
    if (!checked) { /* nothing read from the file is trusted before it is checked */
        int rc = iti_codec_verify(&ht->codec, data, &len, ht->t->chunk_bytes);
        if (rc)
            return iti_error_prefix(rc, "reading a stored chunk: ");
        iti_h5s_enter(h);
        if (!ht->mapped_ok && (ht->mapped_ok = calloc(1, sizeof *ht->mapped_ok)) &&
            iti_coordset_init(ht->mapped_ok)) {
            free(ht->mapped_ok);
            ht->mapped_ok = NULL;
        }
        if (ht->mapped_ok)
            iti_coordset_add(ht->mapped_ok, c); /* out of memory: checked again next time */
        iti_h5s_leave(h);
    }
    ref->data = (void *)data;
    ref->handle = &iti_h5_map_ref;
    return 1;
}

void iti_h5_map_forget(h5_tensor *ht) {
    if (ht->mapped_ok)
        iti_coordset_free(ht->mapped_ok);
    free(ht->mapped_ok);
    ht->mapped_ok = NULL;
}

void iti_h5_map_close(h5_store *h) {
    if (h->map_base)
        munmap(h->map_base, h->map_size);
    free(h->scratch);
    h->map_base = h->scratch = NULL;
    h->map_size = h->scratch_size = 0;
}
