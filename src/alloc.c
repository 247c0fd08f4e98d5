/* Accounted allocation of large buffers. The counters back it_memory_stats, which tests and
 * benchmarks use to check that evaluation stays within its memory budget.
 *
 * Fresh memory is expensive here: on the virtual machines measured, the kernel clearing newly
 * touched pages costs more than the arithmetic of a typical window function. So freed buffers
 * of 64 KiB and more are kept (up to RECYCLE_CAP bytes in all) and handed out again for the
 * same size, which is what chunk, window and codec buffers ask for over and over. Fresh buffers
 * of 1 MiB and more are mapped on their own (they return to the system when freed beyond the
 * pool) with MAP_POPULATE: every chunk and window buffer is written in full right after
 * allocation, and faulting its pages in one kernel call measured ~10% faster than a fault per
 * 4 KiB page on the blur benchmark. (A MADV_HUGEPAGE hint brought nothing: this kernel granted
 * no huge pages.) */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

#define HEADER 64 /* keeps the payload 64-byte aligned */
#ifdef MAP_POPULATE
#define POPULATE MAP_POPULATE
#else /* not on macOS or the BSDs: pages are then faulted in one by one */
#define POPULATE 0
#endif
#define MAP_MIN ((size_t)1 << 20)
#define RECYCLE_MIN ((size_t)64 << 10)
#define RECYCLE_CAP ((size_t)64 << 20)

static atomic_size_t current_bytes;
static atomic_size_t peak_bytes;
static atomic_uint_fast64_t serial_counter;

uint64_t iti_next_serial(void) { return atomic_fetch_add(&serial_counter, 1) + 1; }

typedef struct header {
    size_t bytes;
    size_t mapped;        /* total mapping length, or 0 for the heap */
} header;

/* Recycled buffers, oldest first. An array rather than a list threaded through the buffers:
 * leak checkers do not scan mapped memory, and would lose a list that runs through it. */
#define RECYCLE_SLOTS 256
static pthread_mutex_t recycle_lock = PTHREAD_MUTEX_INITIALIZER;
static header *recycled[RECYCLE_SLOTS];
static size_t nrecycled, recycled_bytes;

static void count(size_t bytes) {
    size_t now = atomic_fetch_add(&current_bytes, bytes) + bytes;
    size_t peak = atomic_load(&peak_bytes);
    while (now > peak && !atomic_compare_exchange_weak(&peak_bytes, &peak, now)) {
    }
}

static header *take_recycled(size_t bytes) {
    if (bytes < RECYCLE_MIN)
        return NULL;
    header *h = NULL;
    pthread_mutex_lock(&recycle_lock);
    for (size_t i = nrecycled; i-- > 0;) { /* most recent first: warmest in cache */
        if (recycled[i]->bytes == bytes) {
            h = recycled[i];
            memmove(&recycled[i], &recycled[i + 1], (nrecycled - i - 1) * sizeof *recycled);
            nrecycled--;
            recycled_bytes -= bytes;
            break;
        }
    }
    pthread_mutex_unlock(&recycle_lock);
    return h;
}

static void release_memory(header *h) {
    if (h->mapped)
        munmap(h, h->mapped);
    else
        free(h);
}

void *iti_buf_alloc(size_t bytes) {
    header *h = take_recycled(bytes);
    if (!h) {
        size_t total;
        if (!iti_add_size(bytes, HEADER, &total))
            return NULL;
        void *raw = NULL;
        size_t mapped = 0;
        if (total >= MAP_MIN) {
            raw = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | POPULATE,
                       -1, 0);
            if (raw == MAP_FAILED) {
                raw = NULL;
            } else {
                mapped = total;
            }
        }
        if (!raw && posix_memalign(&raw, 64, total) != 0)
            return NULL;
        h = raw;
        h->bytes = bytes;
        h->mapped = mapped;
    }
    count(bytes);
    return (char *)h + HEADER;
}

size_t iti_buf_size(const void *p) { return ((const header *)((const char *)p - HEADER))->bytes; }

void iti_buf_free(void *p) {
    if (!p)
        return;
    header *h = (header *)((char *)p - HEADER);
    atomic_fetch_sub(&current_bytes, h->bytes);
    if (h->bytes >= RECYCLE_MIN && h->bytes <= RECYCLE_CAP / 4) {
        header *evict[RECYCLE_SLOTS];
        size_t nevict = 0;
        pthread_mutex_lock(&recycle_lock);
        /* drop the oldest until the new one fits */
        while (nrecycled && (nrecycled == RECYCLE_SLOTS || recycled_bytes + h->bytes > RECYCLE_CAP)) {
            evict[nevict++] = recycled[0];
            recycled_bytes -= recycled[0]->bytes;
            memmove(&recycled[0], &recycled[1], (nrecycled - 1) * sizeof *recycled);
            nrecycled--;
        }
        recycled[nrecycled++] = h;
        recycled_bytes += h->bytes;
        pthread_mutex_unlock(&recycle_lock);
        for (size_t i = 0; i < nevict; i++)
            release_memory(evict[i]);
        return;
    }
    release_memory(h);
}

void it_memory_stats(size_t *current, size_t *peak) {
    if (current)
        *current = atomic_load(&current_bytes);
    if (peak)
        *peak = atomic_load(&peak_bytes);
}

void it_memory_reset_peak(void) { atomic_store(&peak_bytes, atomic_load(&current_bytes)); }
