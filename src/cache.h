/* Byte-limited LRU cache of buffers keyed by (tag, coordinate), with pins.
 *
 * Used for the memory store's chunks and the context's window cache. A pinned entry is never
 * evicted; unpinned entries are evicted least-recently-used first whenever the total exceeds
 * the limit. The cache owns its buffers (allocated with it_buf_alloc). Thread-safe. */
#ifndef IT_CACHE_H
#define IT_CACHE_H

#include "internal.h"

typedef struct it_cache it_cache;
typedef struct it_cache_entry it_cache_entry;

int it_cache_create(size_t limit, it_cache **out); /* limit 0 = unlimited */
void it_cache_destroy(it_cache *c);

/* Pins and returns the entry, or NULL when absent. */
it_cache_entry *it_cache_get(it_cache *c, uint64_t tag, const it_coord *key);
/* Inserts buf (ownership passes to the cache) and returns it pinned. If the key is already
 * present, buf is freed and the existing entry is pinned and returned. NULL on ENOMEM (buf is
 * then freed too). */
it_cache_entry *it_cache_put(it_cache *c, uint64_t tag, const it_coord *key, void *buf);
/* Unpins; may evict. NULL is a no-op. */
void it_cache_release(it_cache *c, it_cache_entry *e);
/* Data of a pinned entry. */
void *it_cache_data(const it_cache_entry *e);

/* Removes every entry with `tag` (all tags when all_tags): unpinned ones now, pinned ones
 * when their last pin goes. */
void it_cache_drop(it_cache *c, uint64_t tag, bool all_tags);
/* Calls fn for every entry with `tag` (under the cache lock: fn must not use the cache). */
void it_cache_foreach(it_cache *c, uint64_t tag, void (*fn)(const it_coord *key, void *user),
                      void *user);
/* Total bytes held. */
size_t it_cache_bytes(const it_cache *c);
/* Whether (tag, key) is held, without pinning it. */
bool it_cache_contains(it_cache *c, uint64_t tag, const it_coord *key);

#endif
