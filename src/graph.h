/* The argument graph below a tensor: t and every tensor upstream of it, each once, in an order
 * where every tensor comes before its arguments (consumers before what they consume). Planning
 * walks it once, so graphs that share upstream tensors (args = {prev, prev}, diamonds) cost
 * their size, not the number of paths through them. */
#ifndef ITI_GRAPH_H
#define ITI_GRAPH_H

#include "htab.h"

typedef struct iti_graph_node {
    iti_hnode link;              /* keyed by the tensor's serial */
    struct it_tensor *t;
    size_t index;               /* position in order */
} iti_graph_node;

typedef struct iti_graph {
    struct it_tensor **order;   /* order[0] is the root */
    size_t n;
    iti_graph_node *nodes;
    iti_htab by_tensor;
} iti_graph;

int iti_graph_build(struct it_tensor *root, iti_graph *g);
/* Position of t in order (t must be in the graph). */
size_t iti_graph_index(const iti_graph *g, const struct it_tensor *t);
void iti_graph_free(iti_graph *g);

#endif
