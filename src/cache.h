/* Byte-limited LRU cache of buffers keyed by (tag, coordinate), with pins.
 *
 * Used for the memory store's chunks and the context's window cache. A pinned entry is never
 * evicted; unpinned entries are evicted least-recently-used first whenever the total exceeds
 * the limit. The cache owns its buffers (allocated with iti_buf_alloc). Thread-safe. */
#ifndef ITI_CACHE_H
#define ITI_CACHE_H

#include "internal.h"

typedef struct iti_cache iti_cache;
typedef struct iti_cache_entry iti_cache_entry;

int iti_cache_create(size_t limit, iti_cache **out); /* limit 0 = unlimited */
void iti_cache_destroy(iti_cache *c);

/* Pins and returns the entry, or NULL when absent. */
iti_cache_entry *iti_cache_get(iti_cache *c, uint64_t tag, const iti_coord *key);
/* Inserts buf (ownership passes to the cache) and returns it pinned. If the key is already
 * present, buf is freed and the existing entry is pinned and returned. NULL on ENOMEM (buf is
 * then freed too). */
iti_cache_entry *iti_cache_put(iti_cache *c, uint64_t tag, const iti_coord *key, void *buf);
/* Unpins; may evict. NULL is a no-op. */
void iti_cache_release(iti_cache *c, iti_cache_entry *e);
/* Data of a pinned entry. */
void *iti_cache_data(const iti_cache_entry *e);

/* Removes every entry with `tag` (all tags when all_tags): unpinned ones now, pinned ones
 * when their last pin goes. */
void iti_cache_drop(iti_cache *c, uint64_t tag, bool all_tags);
/* The entry (tag, key) is no longer needed. With `drop` it is removed (now when unpinned, on
 * its last release otherwise); without, it becomes the first to be evicted (now, or when its
 * last pin goes). Absent keys are a no-op. */
void iti_cache_discard(iti_cache *c, uint64_t tag, const iti_coord *key, bool drop);
/* Calls fn for every entry with `tag` (under the cache lock: fn must not use the cache). */
void iti_cache_foreach(iti_cache *c, uint64_t tag, void (*fn)(const iti_coord *key, void *user),
                      void *user);
/* Total bytes held. */
size_t iti_cache_bytes(const iti_cache *c);
/* Whether (tag, key) is held, without pinning it. */
bool iti_cache_contains(iti_cache *c, uint64_t tag, const iti_coord *key);

#endif
