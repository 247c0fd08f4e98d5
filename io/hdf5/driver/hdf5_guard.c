/* Checks of HDF5 file structures before HDF5 parses them (layouts from the HDF5 file format
 * specification). Each check covers a way HDF5 1.10.8 trusts a number from the file that
 * fuzzing turned into a hang, an endless allocation, a huge allocation or a read past a buffer.
 *
 * Global heap collection: "GCOL", version 1, 3 reserved bytes, the collection size (a length),
 * then objects, each: 2-byte index, 2-byte reference count, 4 reserved bytes, a length, and the
 * data padded to 8 bytes; object 0 is the free space and its length counts its header. HDF5
 * advances by each object's length without checking it, so a zero-length free-space object
 * loops forever and lengths past the end make later reads copy out of bounds. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "hdf5/driver/hdf5_guard.h"

#define GHEAP_MIN 4096 /* HDF5 never writes a smaller collection */

/* A little-endian unsigned integer of n bytes. */
static uint64_t le(const unsigned char *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Position of addr in the sorted notes, or where it would go. */
static size_t note_slot(const iti_h5_notes *s, uint64_t addr) {
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->v[mid].addr < addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

bool iti_h5_notes_put(iti_h5_notes *s, uint64_t addr, int kind) {
    size_t i = note_slot(s, addr);
    if (i < s->n && s->v[i].addr == addr) {
        s->v[i].kind = kind;
        return true;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        struct iti_h5_note *v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return false;
        s->v = v;
        s->cap = cap;
    }
    memmove(&s->v[i + 1], &s->v[i], (s->n - i) * sizeof *s->v);
    s->v[i] = (struct iti_h5_note){addr, kind};
    s->n++;
    return true;
}

int iti_h5_notes_get(const iti_h5_notes *s, uint64_t addr) {
    size_t i = note_slot(s, addr);
    return i < s->n && s->v[i].addr == addr ? s->v[i].kind : IT_H5_FIRST_CHUNK;
}

void iti_h5_notes_free(iti_h5_notes *s) {
    free(s->v);
    *s = (iti_h5_notes){0};
}

static bool reject(char *why, size_t why_size, const char *msg, uint64_t addr) {
    snprintf(why, why_size, "%s (collection at %llu)", msg, (unsigned long long)addr);
    return false;
}

bool iti_h5_guard_gheap(const unsigned char *buf, size_t size, uint64_t addr, const iti_h5_sizes *z,
                       uint64_t *total_out, char *why, size_t why_size) {
    int L = z->len;
    *total_out = 0;
    uint64_t eof = z->eof;
    size_t hdr = 8 + (size_t)L, objhdr = 8 + (size_t)L;
    if (size < hdr)
        return reject(why, why_size, "global heap read too short for its header", addr);
    if (memcmp(buf, "GCOL", 4) != 0 || buf[4] != 1)
        return reject(why, why_size, "global heap without signature or of unknown version", addr);
    uint64_t total = le(buf + 8, L);
    if (total < GHEAP_MIN || total > eof || addr > eof - total)
        return reject(why, why_size, "global heap size is impossible for this file", addr);
    *total_out = total;
    if (size < total)
        return true; /* the first read: HDF5 reads the rest next */
    const unsigned char *p = buf + hdr, *end = buf + total;
    while (p < end) {
        if ((size_t)(end - p) < objhdr) /* a tail too short for a header is free space */
            break;
        unsigned idx = (unsigned)p[0] | (unsigned)p[1] << 8;
        uint64_t len = le(p + 8, L);
        uint64_t need;
        if (idx > 0) {
            if (len > (uint64_t)(end - p))
                return reject(why, why_size, "global heap object runs past its collection", addr);
            need = objhdr + ((len + 7) & ~(uint64_t)7);
        } else {
            need = len; /* the free space, header included */
            if (need < objhdr)
                return reject(why, why_size, "global heap free space shorter than a header", addr);
        }
        if (need > (uint64_t)(end - p))
            return reject(why, why_size, "global heap object runs past its collection", addr);
        p += need;
    }
    return true;
}

/* ---- object headers ----------------------------------------------------------------------- *
 * Attribute message (type 0x000C): version 1: version, reserved, name size (2), datatype size
 * (2), dataspace size (2), then name, datatype and dataspace each padded to 8 bytes, then the
 * data; version 2: flags instead of reserved, no padding; version 3: an encoding byte after the
 * sizes. The data are (elements of the dataspace) x (datatype size, bytes 4..7 of the datatype
 * message) bytes. Dataspace: version 1: version, rank, flags, 5 reserved bytes, dims; version 2:
 * version, rank, flags, type (0 scalar, 1 simple, 2 null), dims; dims are lengths. */

static size_t pad8(size_t n) { return (n + 7) & ~(size_t)7; }

/* Elements of an encoded dataspace; false when it does not fit in n bytes. */
static bool dataspace_elements(const unsigned char *p, size_t n, int L, uint64_t *elements) {
    if (n < 4)
        return false;
    int version = p[0], rank = p[1];
    size_t at = version == 1 ? 8 : 4;
    if ((version != 1 && version != 2) || rank > 32)
        return false;
    if (version == 2 && p[3] == 2) { /* null */
        *elements = 0;
        return true;
    }
    if (at + (size_t)rank * (size_t)L > n)
        return false;
    uint64_t e = 1;
    for (int d = 0; d < rank; d++)
        if (__builtin_mul_overflow(e, le(p + at + (size_t)d * (size_t)L, L), &e))
            return false;
    *elements = e;
    return true;
}

static bool attribute_fits(const unsigned char *m, size_t n, int L) {
    if (n < 8)
        return false;
    int version = m[0];
    if (version < 1 || version > 3)
        return true; /* HDF5 refuses it */
    size_t name = le(m + 2, 2), dt = le(m + 4, 2), ds = le(m + 6, 2);
    size_t at = version == 3 ? 9 : 8;
    if (version == 1) {
        name = pad8(name);
        dt = pad8(dt);
        ds = pad8(ds);
    }
    if (at + name > n || name > n || at + name + dt > n || at + name + dt + ds > n)
        return false;
    if (version >= 2 && (m[1] & 0x03)) /* shared datatype or dataspace: sizes live elsewhere */
        return true;
    if (le(m + 4, 2) < 8)
        return false;
    uint64_t tsize = le(m + at + name + 4, 4), elements, data;
    if (!dataspace_elements(m + at + name + dt, le(m + 6, 2), L, &elements) ||
        __builtin_mul_overflow(elements, tsize, &data))
        return false;
    return data <= n - (at + name + dt + ds);
}

/* Walks messages [p, end) of a version-1 header (8-byte aligned headers and data) or a version-2
 * one (1-byte type, optional creation order). Messages that leave the image end the walk. */
typedef struct noter {
    void (*fn)(void *arg, uint64_t addr, int kind);
    void *arg;
} noter;

/* Data layout message (type 0x0008) of chunked storage (class 2) indexed by a version-1 B-tree:
 * versions 1 and 2: version, dimensionality, class, 5 reserved bytes, the B-tree's address;
 * version 3: version, class, dimensionality, the address. An undefined address (all ones: no
 * chunk stored yet) names nothing. */
static void note_chunk_btree(const unsigned char *m, size_t n, const iti_h5_sizes *z,
                             const noter *note) {
    size_t at;
    int dims;
    if (n >= 3 && (m[0] == 1 || m[0] == 2) && m[2] == 2)
        dims = m[1], at = 8;
    else if (n >= 3 && m[0] == 3 && m[1] == 2)
        dims = m[2], at = 3;
    else
        return;
    if (dims < 2 || dims > 33 || at + (size_t)z->addr > n)
        return; /* HDF5 refuses it */
    uint64_t addr = le(m + at, z->addr);
    if (addr <= z->eof)
        note->fn(note->arg, addr, IT_H5_BTREE_CHUNK + dims);
}

static bool walk(const unsigned char *p, const unsigned char *end, int v2, bool order,
                 const iti_h5_sizes *z, const noter *note, char *why, size_t why_size) {
    size_t head = v2 ? 4 + (order ? 2 : 0) : 8;
    while (p <= end && (size_t)(end - p) >= head) {
        unsigned type = v2 ? p[0] : (unsigned)le(p, 2);
        size_t n = le(p + (v2 ? 1 : 2), 2);
        if (n > (size_t)(end - p) - head)
            break; /* past this image: a speculative read, or HDF5 refuses it */
        const unsigned char *m = p + head;
        if (type == 0x000C && !attribute_fits(m, n, z->len)) {
            snprintf(why, why_size, "an attribute message declares more than its %zu bytes", n);
            return false;
        }
        if (type == 0x0010 && n < (size_t)(z->addr + z->len)) {
            /* HDF5 decodes the address and the length whatever the message's size */
            snprintf(why, why_size, "a header continuation message of %zu bytes", n);
            return false;
        }
        if (type == 0x0008)
            note_chunk_btree(m, n, z, note);
        if (type == 0x0010) { /* continuation */
            uint64_t at = le(m, z->addr), len = le(m + z->addr, z->len);
            if (at > z->eof || len > z->eof - at) {
                snprintf(why, why_size, "a header continuation of %llu bytes leaves the file",
                         (unsigned long long)len);
                return false;
            }
            note->fn(note->arg, at, !v2 ? IT_H5_CHUNK_V1 : order ? IT_H5_CHUNK_V2_ORDER : IT_H5_CHUNK_V2);
        }
        p += head + n;
    }
    return true;
}

static bool inside(uint64_t addr, uint64_t n, const iti_h5_sizes *z, const char *what, char *why,
                   size_t why_size) {
    if (addr <= z->eof && n <= z->eof - addr)
        return true;
    snprintf(why, why_size, "%s of %llu bytes leaves the file", what, (unsigned long long)n);
    return false;
}

bool iti_h5_guard_ohdr(const unsigned char *buf, size_t size, uint64_t addr, const iti_h5_sizes *z,
                      int continuation, void (*fn)(void *arg, uint64_t addr, int kind), void *arg,
                      uint64_t *total, char *why, size_t why_size) {
    const unsigned char *end = buf + size;
    noter note = {fn, arg};
    *total = 0;
    if (size >= 4 && memcmp(buf, "OCHK", 4) == 0) { /* version 2 continuation, checksum last */
        const unsigned char *stop = size >= 8 ? end - 4 : end;
        if (continuation == IT_H5_CHUNK_V2 || continuation == IT_H5_CHUNK_V2_ORDER)
            return walk(buf + 4, stop, 1, continuation == IT_H5_CHUNK_V2_ORDER, z, &note, why,
                        why_size);
        /* not named by a header seen here: both readings of its message headers must pass */
        return walk(buf + 4, stop, 1, false, z, &note, why, why_size) &&
               walk(buf + 4, stop, 1, true, z, &note, why, why_size);
    }
    /* A version-1 continuation is messages only, read whole. A noted address that holds what
     * looks like a first chunk (a crafted continuation message can name any object) is
     * checked as one: real continuations start with "OCHK" or a message header, and HDF5 never
     * moves the one message type that starts with byte 1 (the dataspace) out of chunk 0. */
    bool first_like = (size >= 4 && memcmp(buf, "OHDR", 4) == 0) || (size >= 1 && buf[0] == 1);
    if (continuation != IT_H5_FIRST_CHUNK && !first_like)
        return walk(buf, end, 0, false, z, &note, why, why_size);
    if (size >= 6 && memcmp(buf, "OHDR", 4) == 0 && buf[4] == 2) {
        unsigned flags = buf[5];
        size_t at = 6 + (flags & 0x20 ? 16 : 0) + (flags & 0x10 ? 4 : 0), w = (size_t)1 << (flags & 3);
        if (at + w > size)
            return true;
        uint64_t n = le(buf + at, (int)w);
        if (n > z->eof || !inside(addr, at + w + n + 4, z, "an object header", why, why_size)) {
            snprintf(why, why_size, "an object header of %llu bytes leaves the file",
                     (unsigned long long)n);
            return false;
        }
        *total = at + w + n + 4; /* the messages, then a checksum */
        return walk(buf + at + w, buf + (size < *total - 4 ? size : *total - 4), 1, flags & 0x04, z,
                    &note, why, why_size);
    }
    /* version 1 first chunk: version 1, a reserved byte, message count, reference count, the
     * chunk size, 4 bytes of padding (HDF5 checks none but the version) */
    if (size < 16 || buf[0] != 1)
        return true; /* HDF5 refuses it */
    *total = 16 + le(buf + 8, 4);
    if (!inside(addr, *total, z, "an object header", why, why_size))
        return false;
    return walk(buf + 16, size < *total ? end : buf + *total, 0, false, z, &note, why, why_size);
}

/* Version-1 B-tree node: "TREE", node type (1: chunks), level (0: leaf), entries used (2
 * bytes), left and right sibling addresses, then key 0, child 0, key 1, ... Key of a chunk node:
 * the chunk's stored size (4 bytes), its filter mask (4), then dimensionality 8-byte offsets. */
bool iti_h5_guard_btree_chunks(const unsigned char *buf, size_t size, const iti_h5_sizes *z,
                              int dimensionality, void (*note)(void *arg, uint64_t addr, int kind),
                              void *arg, char *why, size_t why_size) {
    size_t A = (size_t)z->addr, hdr = 8 + 2 * A, key = 8 + 8 * (size_t)dimensionality;
    if (size < hdr || memcmp(buf, "TREE", 4) != 0 || buf[4] != 1)
        return true; /* HDF5 refuses it */
    unsigned level = buf[5], used = (unsigned)le(buf + 6, 2);
    for (size_t i = 0; i < used; i++) {
        size_t at = hdr + i * (key + A);
        if (at + key + A > size)
            break; /* more entries than the node holds: HDF5 refuses it */
        if (le(buf + at, 4) == 0) {
            snprintf(why, why_size, "a chunk B-tree key declares a chunk of 0 bytes");
            return false;
        }
        if (level > 0)
            note(arg, le(buf + at + key, (int)A), IT_H5_BTREE_CHUNK + dimensionality);
    }
    return true;
}

/* "HEAP", version 0, 3 reserved bytes, data segment size (length), free list offset (length),
 * data segment address (address). A free block (in the segment): the offset of the next one
 * (length; 1 ends the list) and its size (length). */
bool iti_h5_guard_lheap(const unsigned char *buf, size_t size, const iti_h5_sizes *z,
                       uint64_t *segment, uint64_t *segment_size, uint64_t *free_head, char *why,
                       size_t why_size) {
    *segment_size = 0;
    size_t need = 8 + 2 * (size_t)z->len + (size_t)z->addr;
    if (size < need || memcmp(buf, "HEAP", 4) != 0)
        return true; /* not a heap header (a data segment read), or HDF5 refuses it */
    uint64_t n = le(buf + 8, z->len), at = le(buf + 8 + 2 * (size_t)z->len, z->addr);
    if (!inside(at, n, z, "a local heap", why, why_size))
        return false;
    *segment = at;
    *segment_size = n;
    *free_head = le(buf + 8 + (size_t)z->len, z->len);
    return true;
}

bool iti_h5_guard_lheap_free(const unsigned char *seg, uint64_t n, uint64_t off,
                            const iti_h5_sizes *z, char *why, size_t why_size) {
    uint64_t block = 2 * (uint64_t)z->len, steps = 0;
    while (off != 1) {
        if (off > n || block > n - off || off + le(seg + off + z->len, z->len) > n) {
            snprintf(why, why_size, "a local heap free block leaves its %llu-byte segment",
                     (unsigned long long)n);
            return false;
        }
        if (++steps > n / block + 1) {
            snprintf(why, why_size, "a local heap free list loops");
            return false;
        }
        off = le(seg + off, z->len);
    }
    return true;
}

/* Driver information block: version 0, 3 reserved bytes, its information size (4 bytes), an
 * 8-byte driver name, the information. */
bool iti_h5_guard_superblock(const unsigned char *buf, size_t size, uint64_t addr, iti_h5_sizes *z,
                            uint64_t *total, char *why, size_t why_size) {
    *total = 0;
    if (size >= 16 && memcmp(buf, ITI_H5_SIGNATURE, 8) == 0) {
        /* v0/v1: sizes at bytes 13 (offsets) and 14 (lengths); v2/v3: bytes 9 and 10 */
        int v = buf[8], a = v <= 1 ? buf[13] : buf[9], l = v <= 1 ? buf[14] : buf[10];
        if ((a == 2 || a == 4 || a == 8) && (l == 2 || l == 4 || l == 8)) {
            z->addr = a;
            z->len = l;
            /* v0: 24 fixed bytes, 4 addresses, the root group's entry (2 addresses + 24);
             * v1: 4 more; v2/v3: 12 fixed bytes, 4 addresses, a checksum */
            *total = v <= 1 ? 48 + 6 * (uint64_t)a + (v == 1 ? 4 : 0) : 16 + 4 * (uint64_t)a;
        }
        return true;
    }
    if (size >= 8 && buf[0] == 0) { /* a driver information block */
        *total = 16 + le(buf + 4, 4);
        return inside(addr, *total, z, "a driver information block", why, why_size);
    }
    return true;
}

int iti_h5_file_is_hdf5(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return iti_error(errno == ENOENT ? IT_ENOTFOUND : IT_EIO, "%s: %s", path, strerror(errno));
    struct stat sb;
    int found = 0;
    if (fstat(fd, &sb) != 0)
        found = iti_error(IT_EIO, "%s: %s", path, strerror(errno));
    for (off_t off = 0; found == 0 && off + 8 <= sb.st_size; off = off ? off * 2 : 512) {
        unsigned char buf[8];
        ssize_t n = pread(fd, buf, sizeof buf, off);
        if (n < 0)
            found = iti_error(IT_EIO, "%s: reading: %s", path, strerror(errno));
        else if (n == 8 && memcmp(buf, ITI_H5_SIGNATURE, 8) == 0)
            found = 1;
    }
    close(fd);
    return found;
}
