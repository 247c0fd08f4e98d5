/* The argument graph below a tensor: t and every tensor upstream of it, each once, in an order
 * where every tensor comes before its arguments (consumers before what they consume). Planning
 * walks it once, so graphs that share upstream tensors (args = {prev, prev}, diamonds) cost
 * their size, not the number of paths through them. */
#ifndef IT_GRAPH_H
#define IT_GRAPH_H

#include "htab.h"

typedef struct it_graph_node {
    it_hnode link;              /* keyed by the tensor's serial */
    struct it_tensor *t;
    size_t index;               /* position in order */
} it_graph_node;

typedef struct it_graph {
    struct it_tensor **order;   /* order[0] is the root */
    size_t n;
    it_graph_node *nodes;
    it_htab by_tensor;
} it_graph;

int it_graph_build(struct it_tensor *root, it_graph *g);
/* Position of t in order (t must be in the graph). */
size_t it_graph_index(const it_graph *g, const struct it_tensor *t);
void it_graph_free(it_graph *g);

#endif
