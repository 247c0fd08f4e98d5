/* Accounted allocation of large buffers. The counters back it_memory_stats, which tests and
 * benchmarks use to check that evaluation stays within its memory budget. */
#include <stdatomic.h>
#include <stdlib.h>

#include "internal.h"

#define HEADER 64 /* keeps the payload 64-byte aligned */

static atomic_size_t current_bytes;
static atomic_size_t peak_bytes;
static atomic_uint_fast64_t serial_counter;

uint64_t it_next_serial(void) { return atomic_fetch_add(&serial_counter, 1) + 1; }

void *it_buf_alloc(size_t bytes) {
    size_t total;
    if (!it_add_size(bytes, HEADER, &total))
        return NULL;
    void *raw = NULL;
    if (posix_memalign(&raw, 64, total) != 0)
        return NULL;
    *(size_t *)raw = bytes;
    size_t now = atomic_fetch_add(&current_bytes, bytes) + bytes;
    size_t peak = atomic_load(&peak_bytes);
    while (now > peak && !atomic_compare_exchange_weak(&peak_bytes, &peak, now)) {
    }
    return (char *)raw + HEADER;
}

size_t it_buf_size(const void *p) { return *(const size_t *)((const char *)p - HEADER); }

void it_buf_free(void *p) {
    if (!p)
        return;
    char *raw = (char *)p - HEADER;
    atomic_fetch_sub(&current_bytes, *(size_t *)raw);
    free(raw);
}

void it_memory_stats(size_t *current, size_t *peak) {
    if (current)
        *current = atomic_load(&current_bytes);
    if (peak)
        *peak = atomic_load(&peak_bytes);
}

void it_memory_reset_peak(void) { atomic_store(&peak_bytes, atomic_load(&current_bytes)); }
