/* Weight profiles: validation, defaults, per-dimension factors, the array's copy and digest. */
#include <math.h>
#include <stdlib.h>

#include "blend/weights.h"

#define FAIL(code, ...) iti_error(code, "it_tensor_create: " __VA_ARGS__)

/* Smallest built-in factor: products over IT_MAX_RANK dimensions stay normal doubles. */
#define MIN_FACTOR 1e-30

#define HALF_PI 1.57079632679489661923

static const char *const kind_names[IT_WEIGHT_COUNT_] = {"constant", "tent", "hann", "gaussian",
                                                         "array"};

const char *it_weight_kind_name(it_weight_kind kind) {
    return (unsigned)kind < IT_WEIGHT_COUNT_ ? kind_names[kind] : NULL;
}

int it_weight_kind_parse(const char *name, it_weight_kind *out) {
    if (!name || !out)
        return iti_error(IT_EINVAL, "it_weight_kind_parse: NULL argument");
    for (int k = 0; k < IT_WEIGHT_COUNT_; k++) {
        if (strcmp(name, kind_names[k]) == 0) {
            *out = (it_weight_kind)k;
            return 0;
        }
    }
    return iti_error(IT_EINVAL, "it_weight_kind_parse: unknown weight profile \"%s\"", name);
}

bool iti_weights_unset(const it_weight_profile *p) {
    if (p->kind != IT_WEIGHT_CONSTANT || p->floor != 0 || p->array)
        return false;
    for (int d = 0; d < IT_MAX_RANK; d++)
        if (p->border[d] != 0 || p->sigma[d] != 0)
            return false;
    return true;
}

/* Whether consecutive windows along d overlap: the dimension a default fall-off applies to. */
static bool overlaps(const it_window *win, int d) {
    return win->map[d] >= 0 && win->stride[d] < win->size[d];
}

static int resolve_borders(const it_weight_profile *in, const it_window *win, int64_t *border) {
    const char *kind = kind_names[in->kind];
    for (int d = 0; d < win->rank; d++) {
        int64_t b = in->border[d];
        if (b == 0)
            b = overlaps(win, d) ? win->size[d] - win->stride[d] : IT_WEIGHT_FLAT;
        else if (b != IT_WEIGHT_FLAT && (b < 0 || b > win->size[d]))
            return FAIL(IT_EINVAL, "weight.border[%d] must be 1..%lld (the window size), 0 "
                        "(default) or IT_WEIGHT_FLAT for a %s profile (got %lld)", d,
                        (long long)win->size[d], kind, (long long)in->border[d]);
        border[d] = b;
    }
    return 0;
}

static int resolve_sigmas(const it_weight_profile *in, const it_window *win, double *sigma) {
    for (int d = 0; d < win->rank; d++) {
        double s = in->sigma[d];
        if (s == 0)
            s = overlaps(win, d) ? (double)win->size[d] / 8 : IT_WEIGHT_FLAT;
        else if (s != IT_WEIGHT_FLAT && !(s > 0 && isfinite(s)))
            return FAIL(IT_EINVAL, "weight.sigma[%d] must be finite and > 0, 0 (default) or "
                        "IT_WEIGHT_FLAT (got %g)", d, in->sigma[d]);
        sigma[d] = s;
    }
    return 0;
}

/* Parameters that the kind does not use must be zero: a profile says what it means. */
static int check_unused(const it_weight_profile *in, int rank) {
    bool ramps = in->kind == IT_WEIGHT_TENT || in->kind == IT_WEIGHT_HANN;
    for (int d = 0; d < IT_MAX_RANK; d++) {
        if (in->border[d] != 0 && (!ramps || d >= rank))
            return FAIL(IT_EINVAL, "weight.border[%d] is set but %s", d,
                        ramps ? "beyond the rank" : "only tent and hann profiles have borders");
        if (in->sigma[d] != 0 && (in->kind != IT_WEIGHT_GAUSSIAN || d >= rank))
            return FAIL(IT_EINVAL, "weight.sigma[%d] is set but %s", d,
                        in->kind == IT_WEIGHT_GAUSSIAN ? "beyond the rank"
                                                       : "only gaussian profiles have sigmas");
    }
    if (in->array && in->kind != IT_WEIGHT_ARRAY)
        return FAIL(IT_EINVAL, "weight.array is set but the profile is %s, not array",
                    kind_names[in->kind]);
    return 0;
}

/* Factor of a built-in kind at position x of a window `size` long. */
static double factor_at(const it_weight_profile *p, int d, int64_t x, int64_t size) {
    if (p->kind == IT_WEIGHT_GAUSSIAN) {
        if (p->sigma[d] == IT_WEIGHT_FLAT)
            return 1.0;
        double z = ((double)x - (double)(size - 1) / 2) / p->sigma[d];
        double g = exp(-0.5 * z * z);
        return g > MIN_FACTOR ? g : MIN_FACTOR;
    }
    if (p->kind == IT_WEIGHT_CONSTANT || p->border[d] == IT_WEIGHT_FLAT)
        return 1.0;
    double b = (double)p->border[d];
    double up = ((double)x + 0.5) / b, down = ((double)(size - x) - 0.5) / b;
    double r = up < down ? up : down;
    r = r < 1.0 ? r : 1.0;
    if (p->kind == IT_WEIGHT_TENT)
        return r;
    double s = sin(HALF_PI * r);
    return s * s;
}

static int make_factors(iti_weights *w, const it_window *win) {
    size_t total = 0;
    for (int d = 0; d < win->rank; d++)
        total += (size_t)win->size[d];
    if (!(w->storage = malloc(total * sizeof *w->storage)))
        return FAIL(IT_ENOMEM, "out of memory");
    double *f = w->storage;
    for (int d = 0; d < win->rank; d++) {
        for (int64_t x = 0; x < win->size[d]; x++)
            f[x] = factor_at(&w->p, d, x, win->size[d]);
        w->factor[d] = f;
        f += win->size[d];
    }
    return 0;
}

/* The array's copy, and its digest over little-endian float64 bytes. */
static int copy_array(iti_weights *w, const double *array, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!(array[i] >= 0 && isfinite(array[i])))
            return FAIL(IT_EINVAL, "weight.array[%zu] must be finite and >= 0 (got %g)", i,
                        array[i]);
    size_t bytes;
    if (!iti_mul_size(n, sizeof(double), &bytes) || !(w->storage = malloc(bytes)))
        return FAIL(IT_ENOMEM, "out of memory for the weight array");
    memcpy(w->storage, array, bytes);
    unsigned char *le = malloc(bytes);
    if (!le)
        return FAIL(IT_ENOMEM, "out of memory for the weight array");
    for (size_t i = 0; i < n; i++) {
        uint64_t u;
        memcpy(&u, &array[i], sizeof u);
        for (int b = 0; b < 8; b++)
            le[i * 8 + (size_t)b] = (unsigned char)(u >> (8 * b));
    }
    iti_sha256_hex(le, bytes, w->sha256);
    free(le);
    w->p.array = w->storage;
    return 0;
}

int iti_weights_resolve(const it_weight_profile *in, const it_window *win, size_t win_elems,
                        iti_weights *out) {
    memset(out, 0, sizeof *out);
    if ((unsigned)in->kind >= IT_WEIGHT_COUNT_)
        return FAIL(IT_EINVAL, "weight.kind must be an it_weight_kind value (got %d)",
                    (int)in->kind);
    if (!(in->floor >= 0 && isfinite(in->floor)))
        return FAIL(IT_EINVAL, "weight.floor must be finite and >= 0 (got %g)", in->floor);
    if (in->kind == IT_WEIGHT_ARRAY && !in->array)
        return FAIL(IT_EINVAL, "weight.array must not be NULL for an array profile");
    int rc = check_unused(in, win->rank);
    iti_weights w = {.p = {.kind = in->kind, .floor = in->floor}};
    if (rc == 0 && (in->kind == IT_WEIGHT_TENT || in->kind == IT_WEIGHT_HANN))
        rc = resolve_borders(in, win, w.p.border);
    if (rc == 0 && in->kind == IT_WEIGHT_GAUSSIAN)
        rc = resolve_sigmas(in, win, w.p.sigma);
    if (rc == 0)
        rc = in->kind == IT_WEIGHT_ARRAY ? copy_array(&w, in->array, win_elems)
                                         : make_factors(&w, win);
    if (rc) {
        iti_weights_free(&w);
        return rc;
    }
    *out = w;
    return 0;
}

void iti_weights_free(iti_weights *w) {
    free(w->storage);
    memset(w, 0, sizeof *w);
}
