/* Little-endian integers in file records (store header, journals). */
#ifndef ITI_BYTE_ORDER_H
#define ITI_BYTE_ORDER_H

#include <stdint.h>

static inline unsigned char *iti_put_le(unsigned char *p, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; i++)
        *p++ = (unsigned char)(v >> 8 * i);
    return p;
}

static inline uint64_t iti_get_le(const unsigned char *p, int bytes) {
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

#endif
