/* HDF5's Fletcher-32 checksum (the H5Z_FILTER_FLETCHER32 filter), over the bytes as big-endian
 * 16-bit words (a last odd byte is the high byte of a word).
 *
 * HDF5 folds its two sums as it goes, which keeps them congruent modulo 65535 to the plain sums
 * and above zero once a word was not zero: its result is each plain sum taken into 1..65535 (0
 * for data of zeros). So the sums here may be reduced any way modulo 65535. They run in LANES
 * interleaved lanes of a vector: lane j sums the words j, j + LANES, ... (A)
 * and, before each addition, adds its running sum to a second one (B). Over S steps of a block
 * of N = S * LANES words, the word at step s of lane j stands N - (s * LANES + j) places from the
 * block's end, and sum over the block of (N - t) * w_t = LANES * sum_j (A_j + B_j) - sum_j j * A_j. */
#include <stdint.h>
#include <string.h>

#include "codec/codec.h"

#define LANES 16
#define STEPS 256 /* per block: B_j < STEPS^2 * 65535 / 2 stays inside 32 bits */

/* LANES words as loaded from memory, and LANES 32-bit sums: GCC and Clang vector types, which
 * they compile to the machine's vector instructions. */
typedef uint16_t words16 __attribute__((vector_size(2 * LANES)));
typedef uint32_t lanes __attribute__((vector_size(4 * LANES)));

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_BIG_ENDIAN__
#define BIG_ENDIAN_WORDS(w) ((w) << 8 | (w) >> 8)
#else
#define BIG_ENDIAN_WORDS(w) (w)
#endif

static uint32_t fold(uint64_t sum, bool any) {
    uint64_t r = sum % 65535;
    return !any ? 0 : r ? (uint32_t)r : 65535;
}

uint32_t iti_fletcher32(const void *data, size_t len) {
    const unsigned char *p = data;
    size_t words = len / 2;
    uint64_t s1 = 0, s2 = 0;
    uint32_t any = 0;
    while (words >= LANES) {
        size_t steps = words / LANES < STEPS ? words / LANES : STEPS;
        lanes a = {0}, b = {0};
        for (size_t s = 0; s < steps; s++) {
            words16 w;
            memcpy(&w, p + 2 * LANES * s, sizeof w);
            b += a;
            a += __builtin_convertvector(BIG_ENDIAN_WORDS(w), lanes);
        }
        uint64_t n = steps * LANES, sa = 0, sab = 0, ja = 0;
        for (int j = 0; j < LANES; j++) {
            sa += a[j];
            sab += (uint64_t)a[j] + b[j];
            ja += (uint64_t)j * a[j];
            any |= a[j];
        }
        s2 = (s2 + n % 65535 * s1 + LANES * sab - ja) % 65535;
        s1 = (s1 + sa) % 65535;
        p += 2 * n;
        words -= n;
    }
    for (size_t i = 0; i < words; i++) { /* the last words, one at a time */
        uint32_t w = (uint32_t)p[2 * i] << 8 | p[2 * i + 1];
        s1 = (s1 + w) % 65535;
        s2 = (s2 + s1) % 65535;
        any |= w;
    }
    if (len % 2) {
        uint32_t w = (uint32_t)p[2 * words] << 8;
        s1 = (s1 + w) % 65535;
        s2 = (s2 + s1) % 65535;
        any |= w;
    }
    return fold(s2, any != 0) << 16 | fold(s1, any != 0);
}
