/* Global heap collection layout (HDF5 file format spec, "Global Heap"): "GCOL", version 1,
 * 3 reserved bytes, the collection size (a length), then objects, each: 2-byte index, 2-byte
 * reference count, 4 reserved bytes, a length, and the data padded to 8 bytes; object 0 is the
 * free space and its length counts its header. HDF5 1.10.8 advances by each object's length
 * without checking it, so a zero-length free-space object loops forever and lengths past the
 * end make later reads copy out of bounds. */
#include <stdio.h>
#include <string.h>

#include "hdf5_guard.h"

#define GHEAP_MIN 4096 /* HDF5 never writes a smaller collection */

static uint64_t decode_len(const unsigned char *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static bool reject(char *why, size_t why_size, const char *msg, uint64_t addr) {
    snprintf(why, why_size, "%s (collection at %llu)", msg, (unsigned long long)addr);
    return false;
}

bool it_h5_guard_gheap(const unsigned char *buf, size_t size, uint64_t eof, uint64_t addr,
                       int size_bytes, char *why, size_t why_size) {
    int L = size_bytes == 2 || size_bytes == 4 || size_bytes == 8 ? size_bytes : 8;
    size_t hdr = 8 + (size_t)L, objhdr = 8 + (size_t)L;
    if (size < hdr)
        return reject(why, why_size, "global heap read too short for its header", addr);
    if (memcmp(buf, "GCOL", 4) != 0 || buf[4] != 1)
        return reject(why, why_size, "global heap without signature or of unknown version", addr);
    uint64_t total = decode_len(buf + 8, L);
    if (total < GHEAP_MIN || total > eof || addr > eof - total)
        return reject(why, why_size, "global heap size is impossible for this file", addr);
    if (size < total)
        return true; /* the first, partial read: HDF5 reads the whole collection next */
    const unsigned char *p = buf + hdr, *end = buf + total;
    while (p < end) {
        if ((size_t)(end - p) < objhdr) /* a tail too short for a header is free space */
            break;
        unsigned idx = (unsigned)p[0] | (unsigned)p[1] << 8;
        uint64_t len = decode_len(p + 8, L);
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

int it_h5_guard_superblock_lengths(const unsigned char *buf, size_t size) {
    static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    if (size < 16 || memcmp(buf, sig, 8) != 0)
        return 0;
    int version = buf[8];
    /* v0/v1: sizes at bytes 13 (offsets) and 14 (lengths); v2/v3: bytes 9 and 10 */
    int len = version <= 1 ? buf[14] : buf[10];
    return len == 2 || len == 4 || len == 8 ? len : 0;
}
