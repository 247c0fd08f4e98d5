#include <pthread.h>
#include <stdlib.h>

#include "cache.h"
#include "htab.h"

struct iti_cache_entry {
    iti_hnode node;
    void *buf;
    size_t bytes;
    unsigned pins;
    bool dead;                          /* dropped while pinned: freed on last release */
    bool demoted;                       /* discarded while pinned: evicted first on release */
    iti_cache_entry *prev, *next;        /* LRU list of unpinned live entries */
};

struct iti_cache {
    pthread_mutex_t lock;
    iti_htab index;
    size_t limit, bytes;
    iti_cache_entry *lru_head, *lru_tail; /* head = least recently used */
};

int iti_cache_create(size_t limit, iti_cache **out) {
    iti_cache *c = calloc(1, sizeof *c);
    if (!c)
        return iti_error(IT_ENOMEM, "out of memory creating a cache");
    if (iti_htab_init(&c->index, 64) != 0) {
        free(c);
        return iti_error(IT_ENOMEM, "out of memory creating a cache");
    }
    pthread_mutex_init(&c->lock, NULL);
    c->limit = limit;
    *out = c;
    return 0;
}

static void free_entry(iti_cache *c, iti_cache_entry *e) {
    c->bytes -= e->bytes;
    iti_buf_free(e->buf);
    free(e);
}

void iti_cache_destroy(iti_cache *c) {
    if (!c)
        return;
    for (size_t b = 0; b < c->index.nbuckets; b++) {
        iti_hnode *n = c->index.buckets[b];
        while (n) {
            iti_hnode *next = n->next;
            free_entry(c, (iti_cache_entry *)n);
            n = next;
        }
    }
    iti_htab_free(&c->index);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static void lru_unlink(iti_cache *c, iti_cache_entry *e) {
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

static void lru_push(iti_cache *c, iti_cache_entry *e) {
    e->prev = c->lru_tail;
    e->next = NULL;
    if (c->lru_tail)
        c->lru_tail->next = e;
    else
        c->lru_head = e;
    c->lru_tail = e;
}

/* Makes unpinned e the next to be evicted. */
static void lru_push_front(iti_cache *c, iti_cache_entry *e) {
    e->prev = NULL;
    e->next = c->lru_head;
    if (c->lru_head)
        c->lru_head->prev = e;
    else
        c->lru_tail = e;
    c->lru_head = e;
}

static void evict(iti_cache *c) {
    while (c->limit && c->bytes > c->limit && c->lru_head) {
        iti_cache_entry *e = c->lru_head;
        lru_unlink(c, e);
        iti_htab_remove(&c->index, &e->node);
        free_entry(c, e);
        iti_log("cache", "evicted a chunk: %zu of %zu bytes held", c->bytes, c->limit);
    }
}

static void pin(iti_cache *c, iti_cache_entry *e) {
    if (e->pins++ == 0)
        lru_unlink(c, e);
}

iti_cache_entry *iti_cache_get(iti_cache *c, uint64_t tag, const iti_coord *key) {
    pthread_mutex_lock(&c->lock);
    iti_cache_entry *e = (iti_cache_entry *)iti_htab_find(&c->index, tag, key);
    if (e)
        pin(c, e);
    pthread_mutex_unlock(&c->lock);
    return e;
}

iti_cache_entry *iti_cache_put(iti_cache *c, uint64_t tag, const iti_coord *key, void *buf) {
    pthread_mutex_lock(&c->lock);
    iti_cache_entry *e = (iti_cache_entry *)iti_htab_find(&c->index, tag, key);
    if (e) {
        pin(c, e);
        pthread_mutex_unlock(&c->lock);
        iti_buf_free(buf);
        return e;
    }
    e = calloc(1, sizeof *e);
    if (!e) {
        pthread_mutex_unlock(&c->lock);
        iti_buf_free(buf);
        return NULL;
    }
    e->node.tag = tag;
    e->node.key = *key;
    e->buf = buf;
    e->bytes = iti_buf_size(buf);
    e->pins = 1;
    c->bytes += e->bytes;
    iti_htab_insert(&c->index, &e->node); /* a failed grow only lengthens chains */
    evict(c);
    pthread_mutex_unlock(&c->lock);
    return e;
}

void iti_cache_release(iti_cache *c, iti_cache_entry *e) {
    if (!e)
        return;
    pthread_mutex_lock(&c->lock);
    if (--e->pins == 0) {
        if (e->dead) {
            free_entry(c, e);
        } else {
            if (e->demoted)
                lru_push_front(c, e);
            else
                lru_push(c, e);
            e->demoted = false;
            evict(c);
        }
    }
    pthread_mutex_unlock(&c->lock);
}

void *iti_cache_data(const iti_cache_entry *e) { return e->buf; }

/* Takes e out of the index: freed now when unpinned, on its last release otherwise. */
static void remove_entry(iti_cache *c, iti_cache_entry *e) {
    iti_htab_remove(&c->index, &e->node);
    if (e->pins) {
        e->dead = true;
    } else {
        lru_unlink(c, e);
        free_entry(c, e);
    }
}

void iti_cache_drop(iti_cache *c, uint64_t tag, bool all_tags) {
    pthread_mutex_lock(&c->lock);
    for (size_t b = 0; b < c->index.nbuckets; b++) {
        iti_hnode *n = c->index.buckets[b];
        while (n) {
            iti_hnode *next = n->next;
            iti_cache_entry *e = (iti_cache_entry *)n;
            if (all_tags || n->tag == tag)
                remove_entry(c, e);
            n = next;
        }
    }
    pthread_mutex_unlock(&c->lock);
}

void iti_cache_discard(iti_cache *c, uint64_t tag, const iti_coord *key, bool drop) {
    pthread_mutex_lock(&c->lock);
    iti_cache_entry *e = (iti_cache_entry *)iti_htab_find(&c->index, tag, key);
    if (e && drop) {
        remove_entry(c, e);
    } else if (e && e->pins) {
        e->demoted = true;
    } else if (e) {
        lru_unlink(c, e);
        lru_push_front(c, e);
        evict(c);
    }
    pthread_mutex_unlock(&c->lock);
}

size_t iti_cache_bytes(const iti_cache *c) {
    pthread_mutex_lock((pthread_mutex_t *)&c->lock);
    size_t b = c->bytes;
    pthread_mutex_unlock((pthread_mutex_t *)&c->lock);
    return b;
}

bool iti_cache_contains(iti_cache *c, uint64_t tag, const iti_coord *key) {
    pthread_mutex_lock(&c->lock);
    bool found = iti_htab_find(&c->index, tag, key) != NULL;
    pthread_mutex_unlock(&c->lock);
    return found;
}

void iti_cache_foreach(iti_cache *c, uint64_t tag, void (*fn)(const iti_coord *key, void *user),
                      void *user) {
    pthread_mutex_lock(&c->lock);
    for (size_t b = 0; b < c->index.nbuckets; b++)
        for (iti_hnode *n = c->index.buckets[b]; n; n = n->next)
            if (n->tag == tag)
                fn(&n->key, user);
    pthread_mutex_unlock(&c->lock);
}
