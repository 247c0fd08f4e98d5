/* A set of coordinates with stable insertion and a sorted export: the planner's way of
 * listing "every window (or chunk) needed, each once". Not thread-safe. */
#ifndef ITI_COORDSET_H
#define ITI_COORDSET_H

#include "htab.h"

typedef struct iti_cs_block iti_cs_block;

typedef struct iti_coordset {
    iti_htab index;
    iti_cs_block *blocks;
    size_t count;
} iti_coordset;

int iti_coordset_init(iti_coordset *s);
void iti_coordset_free(iti_coordset *s);
/* 1 when added, 0 when already present, IT_ENOMEM. */
int iti_coordset_add(iti_coordset *s, const iti_coord *c);
bool iti_coordset_has(const iti_coordset *s, const iti_coord *c);
/* Newly allocated array of the members in lexicographic order (free() it). */
int iti_coordset_sorted(const iti_coordset *s, iti_coord **out);

/* Calls fn for every coordinate of the box lo..hi (inclusive, `rank` dims) in lexicographic
 * order; stops at the first non-zero return and returns it. */
int iti_box_foreach(const int64_t *lo, const int64_t *hi, int rank,
                   int (*fn)(const iti_coord *c, void *arg), void *arg);

#endif
