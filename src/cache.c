#include <pthread.h>
#include <stdlib.h>

#include "cache.h"
#include "htab.h"

struct it_cache_entry {
    it_hnode node;
    void *buf;
    size_t bytes;
    unsigned pins;
    bool dead;                          /* dropped while pinned: freed on last release */
    it_cache_entry *prev, *next;        /* LRU list of unpinned live entries */
};

struct it_cache {
    pthread_mutex_t lock;
    it_htab index;
    size_t limit, bytes;
    it_cache_entry *lru_head, *lru_tail; /* head = least recently used */
};

int it_cache_create(size_t limit, it_cache **out) {
    it_cache *c = calloc(1, sizeof *c);
    if (!c)
        return it_error(IT_ENOMEM, "out of memory creating a cache");
    if (it_htab_init(&c->index, 64) != 0) {
        free(c);
        return it_error(IT_ENOMEM, "out of memory creating a cache");
    }
    pthread_mutex_init(&c->lock, NULL);
    c->limit = limit;
    *out = c;
    return 0;
}

static void free_entry(it_cache *c, it_cache_entry *e) {
    c->bytes -= e->bytes;
    it_buf_free(e->buf);
    free(e);
}

void it_cache_destroy(it_cache *c) {
    if (!c)
        return;
    for (size_t b = 0; b < c->index.nbuckets; b++) {
        it_hnode *n = c->index.buckets[b];
        while (n) {
            it_hnode *next = n->next;
            free_entry(c, (it_cache_entry *)n);
            n = next;
        }
    }
    it_htab_free(&c->index);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static void lru_unlink(it_cache *c, it_cache_entry *e) {
    if (e->prev)
        e->prev->next = e->next;
    else
        c->lru_head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->lru_tail = e->prev;
    e->prev = e->next = NULL;
}

static void lru_push(it_cache *c, it_cache_entry *e) {
    e->prev = c->lru_tail;
    e->next = NULL;
    if (c->lru_tail)
        c->lru_tail->next = e;
    else
        c->lru_head = e;
    c->lru_tail = e;
}

static void evict(it_cache *c) {
    while (c->limit && c->bytes > c->limit && c->lru_head) {
        it_cache_entry *e = c->lru_head;
        lru_unlink(c, e);
        it_htab_remove(&c->index, &e->node);
        free_entry(c, e);
    }
}

static void pin(it_cache *c, it_cache_entry *e) {
    if (e->pins++ == 0)
        lru_unlink(c, e);
}

it_cache_entry *it_cache_get(it_cache *c, uint64_t tag, const it_coord *key) {
    pthread_mutex_lock(&c->lock);
    it_cache_entry *e = (it_cache_entry *)it_htab_find(&c->index, tag, key);
    if (e)
        pin(c, e);
    pthread_mutex_unlock(&c->lock);
    return e;
}

it_cache_entry *it_cache_put(it_cache *c, uint64_t tag, const it_coord *key, void *buf) {
    pthread_mutex_lock(&c->lock);
    it_cache_entry *e = (it_cache_entry *)it_htab_find(&c->index, tag, key);
    if (e) {
        pin(c, e);
        pthread_mutex_unlock(&c->lock);
        it_buf_free(buf);
        return e;
    }
    e = calloc(1, sizeof *e);
    if (!e) {
        pthread_mutex_unlock(&c->lock);
        it_buf_free(buf);
        return NULL;
    }
    e->node.tag = tag;
    e->node.key = *key;
    e->buf = buf;
    e->bytes = it_buf_size(buf);
    e->pins = 1;
    c->bytes += e->bytes;
    it_htab_insert(&c->index, &e->node); /* a failed grow only lengthens chains */
    evict(c);
    pthread_mutex_unlock(&c->lock);
    return e;
}

void it_cache_release(it_cache *c, it_cache_entry *e) {
    if (!e)
        return;
    pthread_mutex_lock(&c->lock);
    if (--e->pins == 0) {
        if (e->dead)
            free_entry(c, e);
        else {
            lru_push(c, e);
            evict(c);
        }
    }
    pthread_mutex_unlock(&c->lock);
}

void *it_cache_data(const it_cache_entry *e) { return e->buf; }

void it_cache_drop(it_cache *c, uint64_t tag, bool all_tags) {
    pthread_mutex_lock(&c->lock);
    for (size_t b = 0; b < c->index.nbuckets; b++) {
        it_hnode *n = c->index.buckets[b];
        while (n) {
            it_hnode *next = n->next;
            it_cache_entry *e = (it_cache_entry *)n;
            if (all_tags || n->tag == tag) {
                it_htab_remove(&c->index, n);
                if (e->pins) {
                    e->dead = true;
                } else {
                    lru_unlink(c, e);
                    free_entry(c, e);
                }
            }
            n = next;
        }
    }
    pthread_mutex_unlock(&c->lock);
}

size_t it_cache_bytes(const it_cache *c) {
    pthread_mutex_lock((pthread_mutex_t *)&c->lock);
    size_t b = c->bytes;
    pthread_mutex_unlock((pthread_mutex_t *)&c->lock);
    return b;
}

bool it_cache_contains(it_cache *c, uint64_t tag, const it_coord *key) {
    pthread_mutex_lock(&c->lock);
    bool found = it_htab_find(&c->index, tag, key) != NULL;
    pthread_mutex_unlock(&c->lock);
    return found;
}

void it_cache_foreach(it_cache *c, uint64_t tag, void (*fn)(const it_coord *key, void *user),
                      void *user) {
    pthread_mutex_lock(&c->lock);
    for (size_t b = 0; b < c->index.nbuckets; b++)
        for (it_hnode *n = c->index.buckets[b]; n; n = n->next)
            if (n->tag == tag)
                fn(&n->key, user);
    pthread_mutex_unlock(&c->lock);
}
