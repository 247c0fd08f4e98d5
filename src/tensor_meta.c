/* Tensor records: build, compare, describe. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blend/blend.h"
#include "tensor_meta.h"

iti_tensor_meta *iti_tensor_meta_new(void) { return calloc(1, sizeof(iti_tensor_meta)); }

void iti_tensor_meta_free(iti_tensor_meta *m) { free(m); }

void iti_tensor_meta_from(const it_tensor *t, iti_tensor_meta *m) {
    memset(m, 0, sizeof *m);
    m->rank = t->view.rank;
    memcpy(m->shape, t->view.shape, sizeof m->shape);
    m->dtype = t->view.dtype;
    m->window = t->win;
    m->n_args = t->n_args;
    for (size_t i = 0; i < t->n_args; i++) {
        snprintf(m->arg_ids[i], sizeof m->arg_ids[i], "%s", t->args[i]->view.id);
        m->arg_windows[i] = t->arg_windows[i];
    }
    m->blend = t->blend;
    m->blend_init = t->blend_init;
    m->weight = t->weights.p;
    m->weight.array = NULL;
    memcpy(m->weight_sha256, t->weights.sha256, sizeof m->weight_sha256);
    memcpy(m->chunk, t->view.chunk, sizeof m->chunk);
    memcpy(m->grid, t->view.grid, sizeof m->grid);
    snprintf(m->fn_tag, sizeof m->fn_tag, "%s", t->fn_tag);
}

const char *const iti_window_part_names[ITI_WINDOW_PARTS] = {"size", "stride", "offset", "map"};

void iti_window_to_parts(const it_window *w, int64_t parts[ITI_WINDOW_PARTS][IT_MAX_RANK]) {
    for (int d = 0; d < w->rank; d++) {
        parts[0][d] = w->size[d];
        parts[1][d] = w->stride[d];
        parts[2][d] = w->offset[d];
        parts[3][d] = w->map[d];
    }
}

/* ---- comparison ----------------------------------------------------------------------------- */

static void format_array(char *buf, size_t size, const int64_t *v, int n) {
    size_t used = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < n && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, i ? ", %lld" : "%lld", (long long)v[i]);
    if (used < size)
        snprintf(buf + used, size - used, "]");
}

static int differ_array(const char *lead, const char *field, const int64_t *stored,
                        const int64_t *want, int n) {
    char a[256], b[256];
    format_array(a, sizeof a, stored, n);
    format_array(b, sizeof b, want, n);
    return iti_error(IT_EMISMATCH, "%s %s = %s, the description has %s", lead, field, a, b);
}

static int cmp_array(const char *lead, const char *field, const int64_t *stored, const int64_t *want,
                     int n) {
    if (memcmp(stored, want, sizeof(int64_t) * (size_t)n) == 0)
        return 0;
    return differ_array(lead, field, stored, want, n);
}

int iti_tensor_meta_cmp_count(const char *lead, const char *field, int64_t stored, int64_t want) {
    return stored == want ? 0 : differ_array(lead, field, &stored, &want, 1);
}

static void format_reals(char *buf, size_t size, const double *v, int n) {
    size_t used = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < n && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, i ? ", %.17g" : "%.17g", v[i]);
    if (used < size)
        snprintf(buf + used, size - used, "]");
}

/* Bitwise: a stored record is the same tensor only with the very same doubles. */
static int cmp_reals(const char *lead, const char *field, const double *stored, const double *want,
                     int n) {
    if (memcmp(stored, want, sizeof(double) * (size_t)n) == 0)
        return 0;
    char a[256], b[256];
    format_reals(a, sizeof a, stored, n);
    format_reals(b, sizeof b, want, n);
    return iti_error(IT_EMISMATCH, "%s %s = %s, the description has %s", lead, field, a, b);
}

static int cmp_str(const char *lead, const char *field, const char *stored, const char *want) {
    if (strcmp(stored, want) == 0)
        return 0;
    return iti_error(IT_EMISMATCH, "%s %s = \"%s\", the description has \"%s\"", lead, field,
                     stored, want);
}

/* A window's four arrays, compared as the store names them: <prefix>_size, _stride, ... */
static int cmp_window(const char *lead, const char *prefix, const it_window *stored,
                      const it_window *want) {
    char name[64];
    snprintf(name, sizeof name, "%s_size", prefix);
    if (stored->rank != want->rank)
        return iti_tensor_meta_cmp_count(lead, name, stored->rank, want->rank);
    int64_t s[ITI_WINDOW_PARTS][IT_MAX_RANK], w[ITI_WINDOW_PARTS][IT_MAX_RANK];
    iti_window_to_parts(stored, s);
    iti_window_to_parts(want, w);
    for (int p = 0; p < ITI_WINDOW_PARTS; p++) {
        snprintf(name, sizeof name, "%s_%s", prefix, iti_window_part_names[p]);
        int rc = cmp_array(lead, name, s[p], w[p], want->rank);
        if (rc)
            return rc;
    }
    return 0;
}

int iti_tensor_meta_compare(const iti_tensor_meta *stored, const iti_tensor_meta *want,
                           const char *lead) {
    int rc;
    if ((rc = iti_tensor_meta_cmp_count(lead, "rank", stored->rank, want->rank)) ||
        (rc = cmp_array(lead, "shape", stored->shape, want->shape, want->rank)) ||
        (rc = cmp_str(lead, "dtype", it_dtype_name(stored->dtype), it_dtype_name(want->dtype))) ||
        (rc = cmp_window(lead, "window", &stored->window, &want->window)) ||
        (rc = iti_tensor_meta_cmp_count(lead, "number of args", (int64_t)stored->n_args, (int64_t)want->n_args)))
        return rc;
    for (size_t i = 0; i < want->n_args; i++) {
        char field[32], prefix[32];
        snprintf(field, sizeof field, "args[%zu]", i);
        snprintf(prefix, sizeof prefix, "arg%zu_window", i);
        if ((rc = cmp_str(lead, field, stored->arg_ids[i], want->arg_ids[i])) ||
            (rc = cmp_window(lead, prefix, &stored->arg_windows[i], &want->arg_windows[i])))
            return rc;
    }
    if ((rc = cmp_str(lead, "blend", it_blend_name(stored->blend), it_blend_name(want->blend))) ||
        (rc = cmp_reals(lead, "blend_init", &stored->blend_init, &want->blend_init, 1)))
        return rc;
    if (iti_blend_of(want->blend)->takes_weights) {
        const it_weight_profile *s = &stored->weight, *w = &want->weight;
        if ((rc = cmp_str(lead, "weight_profile", it_weight_kind_name(s->kind),
                          it_weight_kind_name(w->kind))) ||
            (rc = cmp_array(lead, "weight_border", s->border, w->border, want->rank)) ||
            (rc = cmp_reals(lead, "weight_sigma", s->sigma, w->sigma, want->rank)) ||
            (rc = cmp_reals(lead, "weight_floor", &s->floor, &w->floor, 1)) ||
            (rc = cmp_str(lead, "weight_array_sha256", stored->weight_sha256, want->weight_sha256)))
            return rc;
    }
    if ((rc = cmp_array(lead, "chunk", stored->chunk, want->chunk, want->rank)) ||
        (rc = cmp_str(lead, "fn_tag", stored->fn_tag, want->fn_tag)))
        return rc;
    return 0;
}
