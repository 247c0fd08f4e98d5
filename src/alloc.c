/* Accounted allocation of large buffers. The counters back it_memory_stats, which tests and
 * benchmarks use to check that evaluation stays within its memory budget.
 *
 * Buffers of 1 MiB and more are mapped with MAP_POPULATE: every chunk and window buffer is
 * written in full right after allocation, and faulting its pages in one kernel call costs
 * markedly less than one page fault per 4 KiB on the virtual machines measured here. */
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "internal.h"

#define HEADER 64 /* keeps the payload 64-byte aligned; holds size and kind */
#define MAP_MIN ((size_t)1 << 20)

static atomic_size_t current_bytes;
static atomic_size_t peak_bytes;
static atomic_uint_fast64_t serial_counter;

uint64_t it_next_serial(void) { return atomic_fetch_add(&serial_counter, 1) + 1; }

typedef struct header {
    size_t bytes;
    size_t mapped; /* total mapping length, or 0 for the heap */
} header;

static void count(size_t bytes) {
    size_t now = atomic_fetch_add(&current_bytes, bytes) + bytes;
    size_t peak = atomic_load(&peak_bytes);
    while (now > peak && !atomic_compare_exchange_weak(&peak_bytes, &peak, now)) {
    }
}

void *it_buf_alloc(size_t bytes) {
    size_t total;
    if (!it_add_size(bytes, HEADER, &total))
        return NULL;
    void *raw = NULL;
    size_t mapped = 0;
    if (total >= MAP_MIN) {
        raw = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
                   -1, 0);
        if (raw == MAP_FAILED)
            raw = NULL;
        else
            mapped = total;
    }
    if (!raw && posix_memalign(&raw, 64, total) != 0)
        return NULL;
    header *h = raw;
    h->bytes = bytes;
    h->mapped = mapped;
    count(bytes);
    return (char *)raw + HEADER;
}

size_t it_buf_size(const void *p) { return ((const header *)((const char *)p - HEADER))->bytes; }

void it_buf_free(void *p) {
    if (!p)
        return;
    header *h = (header *)((char *)p - HEADER);
    atomic_fetch_sub(&current_bytes, h->bytes);
    if (h->mapped)
        munmap(h, h->mapped);
    else
        free(h);
}

void it_memory_stats(size_t *current, size_t *peak) {
    if (current)
        *current = atomic_load(&current_bytes);
    if (peak)
        *peak = atomic_load(&peak_bytes);
}

void it_memory_reset_peak(void) { atomic_store(&peak_bytes, atomic_load(&current_bytes)); }
