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

static uint64_t key_hash(uint64_t tag, const it_coord *key) {
    uint64_t h = mix(tag + 0x9e3779b97f4a7c15ULL);
    for (int d = 0; d < IT_MAX_RANK; d++)
        h = mix(h ^ (uint64_t)key->v[d]) + (uint64_t)d;
    return h;
}

int it_htab_init(it_htab *h, size_t expected) {
    size_t nb = 16;
    while (nb < expected * 2 && nb < ((size_t)1 << 40))
        nb <<= 1;
    h->buckets = calloc(nb, sizeof *h->buckets);
    h->nbuckets = h->buckets ? nb : 0;
    h->count = 0;
    return h->buckets ? 0 : IT_ENOMEM;
}

void it_htab_free(it_htab *h) {
    free(h->buckets);
    h->buckets = NULL;
    h->nbuckets = h->count = 0;
}

static int grow(it_htab *h) {
    size_t nb = h->nbuckets * 2;
    it_hnode **nbk = calloc(nb, sizeof *nbk);
    if (!nbk)
        return IT_ENOMEM;
    for (size_t i = 0; i < h->nbuckets; i++) {
        it_hnode *n = h->buckets[i];
        while (n) {
            it_hnode *next = n->next;
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

int it_htab_insert(it_htab *h, it_hnode *n) {
    n->hash = key_hash(n->tag, &n->key);
    size_t b = n->hash & (h->nbuckets - 1);
    n->next = h->buckets[b];
    h->buckets[b] = n;
    h->count++;
    if (h->count > h->nbuckets)
        return grow(h);
    return 0;
}

it_hnode *it_htab_find(const it_htab *h, uint64_t tag, const it_coord *key) {
    uint64_t hash = key_hash(tag, key);
    for (it_hnode *n = h->buckets[hash & (h->nbuckets - 1)]; n; n = n->next) {
        if (n->hash == hash && n->tag == tag && memcmp(&n->key, key, sizeof *key) == 0)
            return n;
    }
    return NULL;
}

void it_htab_remove(it_htab *h, it_hnode *n) {
    it_hnode **p = &h->buckets[n->hash & (h->nbuckets - 1)];
    while (*p && *p != n)
        p = &(*p)->next;
    if (*p) {
        *p = n->next;
        h->count--;
    }
}
