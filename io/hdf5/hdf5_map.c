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

/* A chunk whose checksum was checked, and where it lies in the mapping. */
typedef struct checked_chunk {
    iti_hnode node;             /* first: the table's entry */
    uint64_t at;
} checked_chunk;

/* Where chunk c lies, once checked (store lock held): 0 when not checked yet. */
static uint64_t checked_at(const h5_tensor *ht, const iti_coord *c) {
    iti_hnode *n = ht->mapped ? iti_htab_find(ht->mapped, 0, c) : NULL;
    return n ? ((checked_chunk *)n)->at : 0;
}

/* Remembers that chunk c at `at` was checked (store lock held); out of memory: it is looked
 * up and checked again next time. */
static void remember(h5_tensor *ht, const iti_coord *c, uint64_t at) {
    if (!ht->mapped && (ht->mapped = calloc(1, sizeof *ht->mapped)) &&
        iti_htab_init(ht->mapped, 64)) {
        free(ht->mapped);
        ht->mapped = NULL;
    }
    checked_chunk *k = ht->mapped ? calloc(1, sizeof *k) : NULL;
    if (!k)
        return;
    k->node.key = *c;
    k->at = at;
    iti_htab_insert(ht->mapped, &k->node); /* out of memory to grow: inserted all the same */
}

int iti_h5_map_get(h5_store *h, h5_tensor *ht, const iti_coord *c, iti_chunk_ref *ref) {
    size_t len = iti_codec_bound(&ht->codec, ht->t->chunk_bytes);
    iti_h5s_enter(h);
    uint64_t at = checked_at(ht, c); /* a chunk seen before: no HDF5 lookup, no check */
    bool checked = at != 0;            /* chunks lie past the header: never at offset 0 */
    int p = checked ? 1 : h->failed ? iti_error(h->failed, "%s", h->failed_msg)
                                    : locate(h, ht, c, &at, &len);
    iti_h5s_leave(h);
    if (p <= 0)
        return p;
    const unsigned char *data = (const unsigned char *)h->map_base + at;
    if (!checked) { /* nothing read from the file is trusted before it is checked */
        int rc = iti_codec_verify(&ht->codec, data, &len, ht->t->chunk_bytes);
        if (rc)
            return iti_error_prefix(rc, "reading a stored chunk: ");
        iti_h5s_enter(h);
        if (!checked_at(ht, c))
            remember(ht, c, at);
        iti_h5s_leave(h);
    }
    ref->data = (void *)data;
    ref->handle = &iti_h5_map_ref;
    return 1;
}

void iti_h5_map_forget(h5_tensor *ht) {
    if (!ht->mapped)
        return;
    for (size_t b = 0; b < ht->mapped->nbuckets; b++)
        for (iti_hnode *n = ht->mapped->buckets[b], *next; n; n = next) {
            next = n->next;
            free(n);
        }
    iti_htab_free(ht->mapped);
    free(ht->mapped);
    ht->mapped = NULL;
}

void iti_h5_map_close(h5_store *h) {
    if (h->map_base)
        munmap(h->map_base, h->map_size);
    free(h->scratch);
    h->map_base = h->scratch = NULL;
    h->map_size = h->scratch_size = 0;
}
