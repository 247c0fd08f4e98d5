#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "tensor_impl.h"

typedef struct frame {
    it_tensor *t;
    size_t next_arg;
} frame;

static iti_graph_node *find(const iti_graph *g, const it_tensor *t) {
    iti_coord zero;
    memset(&zero, 0, sizeof zero);
    return (iti_graph_node *)iti_htab_find(&g->by_tensor, t->view.serial, &zero);
}

/* Iterative depth-first search (graphs may be deep chains): post-order puts every tensor after
 * its arguments; reversed, before them. */
int iti_graph_build(it_tensor *root, iti_graph *g) {
    memset(g, 0, sizeof *g);
    size_t cap = 16, depth_cap = 16, depth = 0;
    g->nodes = malloc(cap * sizeof *g->nodes);
    frame *stack = malloc(depth_cap * sizeof *stack);
    int rc = g->nodes && stack ? iti_htab_init(&g->by_tensor, 64) : IT_ENOMEM;
    it_tensor **post = NULL;
    if (rc)
        goto fail;
    /* nodes are appended when first seen; `post` records the post-order */
    post = malloc(cap * sizeof *post);
    size_t npost = 0;
    if (!post)
        goto nomem;
    g->nodes[0] = (iti_graph_node){.t = root, .link = {.tag = root->view.serial}};
    g->n = 1;
    iti_htab_insert(&g->by_tensor, &g->nodes[0].link);
    stack[depth++] = (frame){root, 0};
    while (depth) {
        frame *f = &stack[depth - 1];
        if (f->next_arg == f->t->n_args) {
            post[npost++] = f->t;
            depth--;
            continue;
        }
        it_tensor *a = f->t->args[f->next_arg++];
        if (find(g, a))
            continue;
        if (g->n == cap) { /* the table points into nodes: rebuild it after growing */
            iti_graph_node *bigger = malloc(2 * cap * sizeof *bigger);
            it_tensor **post2 = realloc(post, 2 * cap * sizeof *post2);
            if (post2)
                post = post2;
            if (!bigger || !post2) {
                free(bigger);
                goto nomem;
            }
            memcpy(bigger, g->nodes, g->n * sizeof *bigger);
            free(g->nodes);
            g->nodes = bigger;
            cap *= 2;
            iti_htab_free(&g->by_tensor);
            if ((rc = iti_htab_init(&g->by_tensor, cap)))
                goto fail;
            for (size_t i = 0; i < g->n; i++)
                iti_htab_insert(&g->by_tensor, &g->nodes[i].link);
        }
        iti_graph_node *nd = &g->nodes[g->n++];
        *nd = (iti_graph_node){.t = a, .link = {.tag = a->view.serial}};
        if (iti_htab_insert(&g->by_tensor, &nd->link))
            goto nomem;
        if (depth == depth_cap) {
            frame *s2 = realloc(stack, 2 * depth_cap * sizeof *s2);
            if (!s2)
                goto nomem;
            stack = s2;
            depth_cap *= 2;
        }
        stack[depth++] = (frame){a, 0};
    }
    g->order = malloc(g->n * sizeof *g->order);
    if (!g->order)
        goto nomem;
    for (size_t i = 0; i < g->n; i++) {
        g->order[i] = post[g->n - 1 - i];
        find(g, g->order[i])->index = i;
    }
    free(post);
    free(stack);
    return 0;
nomem:
    rc = iti_error(IT_ENOMEM, "out of memory walking the argument graph");
fail:
    free(post);
    free(stack);
    iti_graph_free(g);
    return rc;
}

size_t iti_graph_index(const iti_graph *g, const it_tensor *t) { return find(g, t)->index; }

void iti_graph_free(iti_graph *g) {
    iti_htab_free(&g->by_tensor);
    free(g->nodes);
    free(g->order);
    memset(g, 0, sizeof *g);
}
