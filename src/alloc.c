/* Accounted allocation of large buffers. The counters back it_memory_stats, which tests and
 * benchmarks use to check that evaluation stays within its memory budget.
 *
 * Fresh memory is expensive here: on the virtual machines measured, the kernel clearing newly
 * touched pages costs more than the arithmetic of a typical window function. So freed buffers
 * of 64 KiB and more are kept (up to RECYCLE_CAP bytes in all) and handed out again for the
 * same size, which is what chunk, window and codec buffers ask for over and over. Fresh buffers
 * of 1 MiB and more are mapped with MAP_POPULATE: one kernel call instead of a fault per page. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "internal.h"

#define HEADER 64 /* keeps the payload 64-byte aligned */
#define MAP_MIN ((size_t)1 << 20)
#define RECYCLE_MIN ((size_t)64 << 10)
#define RECYCLE_CAP ((size_t)64 << 20)

static atomic_size_t current_bytes;
static atomic_size_t peak_bytes;
static atomic_uint_fast64_t serial_counter;

uint64_t it_next_serial(void) { return atomic_fetch_add(&serial_counter, 1) + 1; }

typedef struct header {
    size_t bytes;
    size_t mapped;        /* total mapping length, or 0 for the heap */
    struct header *next;  /* in the recycle list */
} header;

static pthread_mutex_t recycle_lock = PTHREAD_MUTEX_INITIALIZER;
static header *recycled;  /* most recently freed first */
static size_t recycled_bytes;

static void count(size_t bytes) {
    size_t now = atomic_fetch_add(&current_bytes, bytes) + bytes;
    size_t peak = atomic_load(&peak_bytes);
    while (now > peak && !atomic_compare_exchange_weak(&peak_bytes, &peak, now)) {
    }
}

static header *take_recycled(size_t bytes) {
    if (bytes < RECYCLE_MIN)
        return NULL;
    pthread_mutex_lock(&recycle_lock);
    header **p = &recycled;
    while (*p && (*p)->bytes != bytes)
        p = &(*p)->next;
    header *h = *p;
    if (h) {
        *p = h->next;
        recycled_bytes -= h->bytes;
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

void *it_buf_alloc(size_t bytes) {
    header *h = take_recycled(bytes);
    if (!h) {
        size_t total;
        if (!it_add_size(bytes, HEADER, &total))
            return NULL;
        void *raw = NULL;
        size_t mapped = 0;
        if (total >= MAP_MIN) {
            raw = mmap(NULL, total, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
            if (raw == MAP_FAILED)
                raw = NULL;
            else
                mapped = total;
        }
        if (!raw && posix_memalign(&raw, 64, total) != 0)
            return NULL;
        h = raw;
        h->bytes = bytes;
        h->mapped = mapped;
    }
    h->next = NULL;
    count(bytes);
    return (char *)h + HEADER;
}

size_t it_buf_size(const void *p) { return ((const header *)((const char *)p - HEADER))->bytes; }

void it_buf_free(void *p) {
    if (!p)
        return;
    header *h = (header *)((char *)p - HEADER);
    atomic_fetch_sub(&current_bytes, h->bytes);
    if (h->bytes >= RECYCLE_MIN && h->bytes <= RECYCLE_CAP / 4) {
        pthread_mutex_lock(&recycle_lock);
        header *evict = NULL;
        h->next = recycled;
        recycled = h;
        recycled_bytes += h->bytes;
        if (recycled_bytes > RECYCLE_CAP) { /* drop the oldest */
            header **q = &recycled;
            size_t kept = 0;
            while (*q && kept + (*q)->bytes <= RECYCLE_CAP) {
                kept += (*q)->bytes;
                q = &(*q)->next;
            }
            evict = *q;
            *q = NULL;
            recycled_bytes = kept;
        }
        pthread_mutex_unlock(&recycle_lock);
        while (evict) {
            header *n = evict->next;
            release_memory(evict);
            evict = n;
        }
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
