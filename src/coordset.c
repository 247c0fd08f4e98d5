#include <stdlib.h>
#include <string.h>

#include "coordset.h"

#define BLOCK_NODES 1024

struct iti_cs_block {
    iti_cs_block *next;
    size_t used;
    iti_hnode nodes[BLOCK_NODES];
};

int iti_coordset_init(iti_coordset *s) {
    memset(s, 0, sizeof *s);
    return iti_htab_init(&s->index, 64) ? iti_error(IT_ENOMEM, "out of memory planning") : 0;
}

void iti_coordset_free(iti_coordset *s) {
    while (s->blocks) {
        iti_cs_block *n = s->blocks->next;
        free(s->blocks);
        s->blocks = n;
    }
    iti_htab_free(&s->index);
    s->count = 0;
}

int iti_coordset_add(iti_coordset *s, const iti_coord *c) {
    if (iti_htab_find(&s->index, 0, c))
        return 0;
    if (!s->blocks || s->blocks->used == BLOCK_NODES) {
        iti_cs_block *b = malloc(sizeof *b);
        if (!b)
            return iti_error(IT_ENOMEM, "out of memory planning");
        b->next = s->blocks;
        b->used = 0;
        s->blocks = b;
    }
    iti_hnode *n = &s->blocks->nodes[s->blocks->used++];
    n->tag = 0;
    n->key = *c;
    iti_htab_insert(&s->index, n);
    s->count++;
    return 1;
}

bool iti_coordset_has(const iti_coordset *s, const iti_coord *c) {
    return iti_htab_find(&s->index, 0, c) != NULL;
}

static int cmp(const void *a, const void *b) {
    return iti_coord_cmp(a, b, IT_MAX_RANK);
}

int iti_coordset_sorted(const iti_coordset *s, iti_coord **out) {
    iti_coord *v = malloc((s->count ? s->count : 1) * sizeof *v);
    if (!v)
        return iti_error(IT_ENOMEM, "out of memory planning");
    size_t i = 0;
    for (iti_cs_block *b = s->blocks; b; b = b->next)
        for (size_t k = 0; k < b->used; k++)
            v[i++] = b->nodes[k].key;
    qsort(v, s->count, sizeof *v, cmp);
    *out = v;
    return 0;
}

int iti_box_foreach(const int64_t *lo, const int64_t *hi, int rank,
                   int (*fn)(const iti_coord *c, void *arg), void *arg) {
    iti_coord c;
    memset(&c, 0, sizeof c);
    for (int d = 0; d < rank; d++) {
        if (lo[d] > hi[d])
            return 0;
        c.v[d] = lo[d];
    }
    for (;;) {
        int rc = fn(&c, arg);
        if (rc)
            return rc;
        int d = rank - 1;
        while (d >= 0 && c.v[d] == hi[d])
            c.v[d] = lo[d], d--;
        if (d < 0)
            return 0;
        c.v[d]++;
    }
}
