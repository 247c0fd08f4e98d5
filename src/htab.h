/* Intrusive chained hash table keyed by (tag, coordinate). Entries embed an iti_hnode; the
 * table never allocates entries, only its bucket array. Not thread-safe: callers lock. */
#ifndef ITI_HTAB_H
#define ITI_HTAB_H

#include "internal.h"

typedef struct iti_hnode {
    struct iti_hnode *next;
    uint64_t hash;
    uint64_t tag;
    iti_coord key;
} iti_hnode;

typedef struct iti_htab {
    iti_hnode **buckets;
    size_t nbuckets; /* power of two */
    size_t count;
} iti_htab;

int iti_htab_init(iti_htab *h, size_t expected);
void iti_htab_free(iti_htab *h);
/* Fills n->hash from n->tag and n->key, then links it (duplicates are the caller's
 * concern). IT_ENOMEM if growing fails (the node is still inserted). */
int iti_htab_insert(iti_htab *h, iti_hnode *n);
iti_hnode *iti_htab_find(const iti_htab *h, uint64_t tag, const iti_coord *key);
void iti_htab_remove(iti_htab *h, iti_hnode *n);

#endif
