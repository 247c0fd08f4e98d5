/* Intrusive chained hash table keyed by (tag, coordinate). Entries embed an it_hnode; the
 * table never allocates entries, only its bucket array. Not thread-safe: callers lock. */
#ifndef IT_HTAB_H
#define IT_HTAB_H

#include "internal.h"

typedef struct it_hnode {
    struct it_hnode *next;
    uint64_t hash;
    uint64_t tag;
    it_coord key;
} it_hnode;

typedef struct it_htab {
    it_hnode **buckets;
    size_t nbuckets; /* power of two */
    size_t count;
} it_htab;

int it_htab_init(it_htab *h, size_t expected);
void it_htab_free(it_htab *h);
/* Fills n->hash from n->tag and n->key, then links it (duplicates are the caller's
 * concern). IT_ENOMEM if growing fails (the node is still inserted). */
int it_htab_insert(it_htab *h, it_hnode *n);
it_hnode *it_htab_find(const it_htab *h, uint64_t tag, const it_coord *key);
void it_htab_remove(it_htab *h, it_hnode *n);

#endif
