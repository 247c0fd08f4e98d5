#include <stdlib.h>
#include <string.h>

#include "htab.h"

static uint64_t mix(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static uint64_t key_hash(uint64_t tag, const iti_coord *key) {
    uint64_t h = mix(tag + 0x9e3779b97f4a7c15ULL);
    for (int d = 0; d < IT_MAX_RANK; d++)
        h = mix(h ^ (uint64_t)key->v[d]) + (uint64_t)d;
    return h;
}

int iti_htab_init(iti_htab *h, size_t expected) {
    size_t nb = 16;
    while (nb < expected * 2 && nb < ((size_t)1 << 40))
        nb <<= 1;
    h->buckets = calloc(nb, sizeof *h->buckets);
    h->nbuckets = h->buckets ? nb : 0;
    h->count = 0;
    return h->buckets ? 0 : IT_ENOMEM;
}

void iti_htab_free(iti_htab *h) {
    free(h->buckets);
    h->buckets = NULL;
    h->nbuckets = h->count = 0;
}

static int grow(iti_htab *h) {
    size_t nb = h->nbuckets * 2;
    iti_hnode **nbk = calloc(nb, sizeof *nbk);
    if (!nbk)
        return IT_ENOMEM;
    for (size_t i = 0; i < h->nbuckets; i++) {
        iti_hnode *n = h->buckets[i];
        while (n) {
            iti_hnode *next = n->next;
            size_t b = n->hash & (nb - 1);
            n->next = nbk[b];
            nbk[b] = n;
            n = next;
        }
    }
    free(h->buckets);
    h->buckets = nbk;
    h->nbuckets = nb;
    return 0;
}

int iti_htab_insert(iti_htab *h, iti_hnode *n) {
    n->hash = key_hash(n->tag, &n->key);
    size_t b = n->hash & (h->nbuckets - 1);
    n->next = h->buckets[b];
    h->buckets[b] = n;
    h->count++;
    if (h->count > h->nbuckets)
        return grow(h);
    return 0;
}

iti_hnode *iti_htab_find(const iti_htab *h, uint64_t tag, const iti_coord *key) {
    uint64_t hash = key_hash(tag, key);
    for (iti_hnode *n = h->buckets[hash & (h->nbuckets - 1)]; n; n = n->next) {
        if (n->hash == hash && n->tag == tag && memcmp(&n->key, key, sizeof *key) == 0)
            return n;
    }
    return NULL;
}

void iti_htab_remove(iti_htab *h, iti_hnode *n) {
    iti_hnode **p = &h->buckets[n->hash & (h->nbuckets - 1)];
    while (*p && *p != n)
        p = &(*p)->next;
    if (*p) {
        *p = n->next;
        h->count--;
    }
}
