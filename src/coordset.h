/* A set of coordinates with stable insertion and a sorted export: the planner's way of
 * listing "every window (or chunk) needed, each once". Not thread-safe. */
#ifndef IT_COORDSET_H
#define IT_COORDSET_H

#include "htab.h"

typedef struct it_cs_block it_cs_block;

typedef struct it_coordset {
    it_htab index;
    it_cs_block *blocks;
    size_t count;
} it_coordset;

int it_coordset_init(it_coordset *s);
void it_coordset_free(it_coordset *s);
/* 1 when added, 0 when already present, IT_ENOMEM. */
int it_coordset_add(it_coordset *s, const it_coord *c);
bool it_coordset_has(const it_coordset *s, const it_coord *c);
/* Newly allocated array of the members in lexicographic order (free() it). */
int it_coordset_sorted(const it_coordset *s, it_coord **out);

/* Calls fn for every coordinate of the box lo..hi (inclusive, `rank` dims) in lexicographic
 * order; stops at the first non-zero return and returns it. */
int it_box_foreach(const int64_t *lo, const int64_t *hi, int rank,
                   int (*fn)(const it_coord *c, void *arg), void *arg);

#endif
