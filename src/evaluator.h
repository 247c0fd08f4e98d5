/* The evaluator's rooms, and what they share.
 *
 *  - ensure.c:  making chunks final. Chunks already stored are pinned; missing ones are
 *               claimed (a claimed chunk is computed by exactly one thread, others wait for
 *               it) and computed; pinned sets of argument chunks with a lookup by coordinate.
 *  - compute.c: computing claimed chunks: list the windows that intersect them, make the
 *               argument chunks those windows read final (recursively, one batch per tensor),
 *               gather argument slices and call fn in batches on the pool, then blend each
 *               chunk from its windows in lexicographic window order and hand it to the store.
 *  - blocks.c:  planning a read or fill: the chunks a selection touches, blocks of them
 *               whose working set fits half the budget, walked in strips.
 *  - release.c: letting go of chunks a read no longer needs (transient tensors are dropped,
 *               others offered for eviction first), planned from the blocks' footprints; the
 *               strips' widths, from what that plan keeps between blocks.
 *  - eval.c:    reads and fills: walking the blocks, copying chunks out, flushing stores and
 *               reporting progress after each block.
 *
 * A chunk reaches the store only when final, so stored data are always correct and results
 * never depend on threads, order, batch or cache sizes. */
#ifndef ITI_EVALUATOR_H
#define ITI_EVALUATOR_H

#include "coordset.h"
#include "graph.h"
#include "store_impl.h"
#include "tensor_impl.h"

struct iti_release_plan;

/* One read or fill. */
typedef struct eval {
    struct iti_release_plan *release; /* NULL: nothing is let go during the read */
    it_ctx *ctx;
    int threads;
    void **scratch;          /* per pool thread: argument slices, indices and pointers of one
                                batch (reused, never allocated per window) */
    size_t *scratch_size;
    bool nested;             /* started inside a callback: runs on its thread alone */
} eval;

/* Chunks of one tensor pinned for the duration of a step, with a lookup by coordinate. */
typedef struct pinned {
    it_tensor *t;
    size_t n;
    iti_coord *coords;
    iti_chunk_ref *refs;
    iti_hnode *nodes;
    iti_htab index;
} pinned;

/* ---- ensure.c --------------------------------------------------------------------------------- */

/* Makes chunks coords[0..n) of t final; with `keep` they are pinned in refs (zeroed by the
 * caller). On failure nothing stays pinned or claimed. */
int iti_ensure(eval *ev, it_tensor *t, const iti_coord *coords, size_t n, iti_chunk_ref *refs,
              bool keep);
/* Makes every chunk of `set` final and pinned in p, with a lookup index. */
int iti_pinned_ensure(eval *ev, it_tensor *t, const iti_coordset *set, pinned *p);
/* Data of pinned chunk c, NULL when c is not in p. */
const void *iti_pinned_find(const pinned *p, const iti_coord *c);
void iti_pinned_free(pinned *p);
/* Unpins refs[0..n) that hold data. */
void iti_release_refs(it_tensor *t, iti_chunk_ref *refs, size_t n);

/* ---- ensure.c: the wait graph ---------------------------------------------------------------- */

/* The frame (an iti_ensure call) a thread works for: pool tasks that call user code set it to
 * their computation's frame, so reads nested there count as part of it (ensure.c). */
typedef struct iti_frame iti_frame;
iti_frame *iti_frame_current(void);
/* Makes f the calling thread's frame; returns the previous one (to restore). */
iti_frame *iti_frame_swap(iti_frame *f);

/* ---- callback_guard.c: calls into user code ------------------------------------------------------ */

/* A window function, blend or progress callback runs between these on the thread that calls
 * it. A read, fill or export started from there is a nested evaluation: it runs on the
 * calling thread alone (its pool runs inline), so it never waits for workers that may all be
 * running callbacks; a chunk its thread or a thread waiting for it is computing is a cycle
 * (IT_ECYCLE, from ensure.c). */
void iti_callback_enter(void);
void iti_callback_leave(void);
/* Whether the calling thread is inside such a callback. */
bool iti_in_callback(void);
/* Enters and leaves a nested evaluation (`fn` names the public call); IT_ECYCLE beyond
 * ITI_MAX_NESTED_READS levels. */
#define ITI_MAX_NESTED_READS 64
int iti_nested_enter(const char *fn);
void iti_nested_leave(void);

/* ---- compute.c -------------------------------------------------------------------------------- */

/* Computes chunks[todo[0..ntodo)] (claimed by the caller) and stores them; with `keep` they
 * stay pinned in refs (indexed like chunks). On failure none stays pinned. */
int iti_compute_chunks(eval *ev, it_tensor *t, const iti_coord *chunks, const size_t *todo,
                      size_t ntodo, iti_chunk_ref *refs, bool keep);

/* ---- blocks.c --------------------------------------------------------------------------------- */

/* The chunks a selection touches, per dimension (ascending, distinct). */
typedef struct iti_chunk_axes {
    int rank;
    int64_t n[IT_MAX_RANK];
    int64_t *chunks[IT_MAX_RANK];
} iti_chunk_axes;

int iti_chunk_axes_plan(const it_tensor *t, const iti_selection *s, iti_chunk_axes *ax);
/* Along dimension d of a selection: its first and last chunk and how many chunks hold selected
 * elements (*n: the length of the plan's axis), from arithmetic alone. IT_ERANGE when those
 * chunks reach past the int64 pixel range. */
int iti_chunk_axis_span(const it_tensor *t, const iti_selection *s, int d, int64_t *first,
                       int64_t *last, int64_t *n);
void iti_chunk_axes_free(iti_chunk_axes *ax);

/* The order a read or fill walks its chunks in: blocks of bext chunks, grouped in strips.
 * A walk in one sweep (rows of blocks across the whole region) keeps the halos between rows,
 * the intermediate chunks the next row reads, for the region's whole width; strips bound them.
 * Strips tile the region across every dimension but `outer` and run its whole length along it;
 * inside a strip blocks go in lexicographic order with `outer` slowest. Chunks a later strip
 * reads again are let go when their strip ends and computed again there (release.c): strips
 * are as wide as the budget lets their halos be, so a region that fits is one strip. */
typedef struct iti_block_walk {
    const iti_graph *graph;      /* the tensors read, graph->order[0] the root (the caller's) */
    const iti_chunk_axes *ax;
    int64_t bext[IT_MAX_RANK];   /* a block's extents, in chunks of ax */
    int64_t sext[IT_MAX_RANK];   /* a strip's: multiples of bext, or ax->n (along outer) */
    int outer;                   /* the dimension of the most blocks */
} iti_block_walk;

/* Plans the walk of ax for the root of graph g (built once by the read, which keeps it for the
 * walk's life): outer is the dimension of the most chunks; blocks whose estimated working set
 * (their chunks, the windows computing them and every upstream chunk they read, each tensor of
 * the graph once) fits half the budget, halving the longest dimension; one strip
 * (iti_release_fit_strips narrows it). */
int iti_block_walk_plan(const iti_graph *g, const iti_chunk_axes *ax, size_t budget,
                        iti_block_walk *w);

static inline int64_t iti_blocks_in(int64_t chunks, int64_t bext) {
    return (chunks + bext - 1) / bext;
}

enum { ITI_WALK_END, ITI_WALK_NEXT, ITI_WALK_NEXT_STRIP };
/* Advances b0 (first planned index per dimension of a block; all 0 for the first) to the next
 * block: ITI_WALK_NEXT in the same strip, ITI_WALK_NEXT_STRIP the first of the next strip,
 * ITI_WALK_END after the last. */
int iti_next_block(const iti_block_walk *w, int64_t *b0);
/* First and last chunk coordinate (per dimension) of the block at b0. */
void iti_block_bounds(const iti_block_walk *w, const int64_t *b0, int64_t *lo, int64_t *hi);


/* ---- release.c -------------------------------------------------------------------------------- */

typedef struct iti_chunk_list iti_chunk_list;

typedef struct iti_release_plan {
    bool active;                  /* the graph has chunks to let go */
    const iti_graph *graph;       /* the walk's */
    unsigned char *mode;          /* per graph node: how its chunks are let go */
    iti_chunk_list *fresh;        /* per graph node: chunks to replay in the block replayed */
    const iti_block_walk *walk;   /* the read's blocks */
    iti_htab last;                /* (graph index, chunk) -> last replayed block reading it */
    size_t cap;                   /* most entries planned ahead */
    int64_t cursor[IT_MAX_RANK];  /* b0 of the first block not replayed */
    bool unplanned;               /* blocks remain to replay */
    bool strip_replayed;          /* the cursor is at the next strip: replay waits for it */
    bool probe;                   /* replayed to measure (iti_release_probe): lets nothing go */
    size_t planned, done;         /* blocks replayed; blocks finished (= the current block) */
} iti_release_plan;

/* Plans the read walked by w (of the root of w->graph). */
int iti_release_plan_init(iti_release_plan *p, const iti_block_walk *w, size_t budget);
/* The consumer of t's chunks[0..n) has computed its batch of the current block and is done
 * with its pins refs[0..n): the plan takes (and zeroes) the pin of each chunk a later block of
 * the strip reads, keeping it until that block; those no later block reads go now (tensors
 * reached by one path only). p may be NULL. */
void iti_release_consumed(iti_release_plan *p, const it_tensor *t, const iti_coord *chunks,
                          iti_chunk_ref *refs, size_t n);
/* The current block is final: chunks no later block of its strip needs go. */
int iti_release_block_done(iti_release_plan *p);
/* Lets go of every chunk still planned (the read is over) and frees the plan. */
void iti_release_plan_finish(iti_release_plan *p);
/* Narrows the strips of w (planned by iti_block_walk_plan) until the chunks below root alive
 * at once in one, replayed over its first rows as the plan would run them (a probe), fit half
 * the budget, three quarters when no window is cached; then widens them as far as that holds. */
int iti_release_fit_strips(iti_block_walk *w, size_t budget);

/* ---- shared helpers --------------------------------------------------------------------------- */

/* Chunk index of pixel x along dimension d. */
static inline int64_t iti_chunk_of(const iti_store_tensor *t, int d, int64_t x) {
    return (int64_t)iti_floordiv((iti_i128)x - t->grid[d], t->chunk[d]);
}

/* Windows of t intersecting chunk c that the finite dimensions allow: lo..hi; 0 when none. */
int iti_chunk_windows(const it_tensor *t, const iti_coord *c, int64_t *lo, int64_t *hi);
/* Widens the chunk box of argument i of t (box[0..1], *wanted: whether box holds anything) to
 * every chunk windows wlo..whi of t read through it; false when the bounds overflow. */
bool iti_widen_argument_box(const it_tensor *t, size_t i, const int64_t *wlo,
                            const int64_t *whi, int64_t (*box)[IT_MAX_RANK], bool *wanted);


#endif
