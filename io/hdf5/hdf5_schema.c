/* Tensor metadata as group attributes, driven by one table of fields (hdf5_schema.h): written,
 * read and listed from it (the upgrade of old stores and the test that holds io/FORMAT.md to
 * it take the list). */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "hdf5/hdf5_attr.h"
#include "hdf5/hdf5_schema.h"

typedef enum field_kind {
    F_INTS,         /* int64[rank] */
    F_DTYPE,        /* the dtype's name */
    F_WINDOW,       /* <name>_size, _stride, _offset, _map: int64[rank] each */
    F_ARGS,         /* argument ids, string[n]; [""] when there are none */
    F_BLEND,        /* the blend's name */
    F_REAL,         /* float64 */
    F_STRING,       /* string */
    F_ORIGIN,       /* int64[rank]: the store's, not the record's (written only) */
    F_WRITER,       /* created_by: informational (written only) */
    F_ARG_WINDOWS,  /* arg<i>_window_*: argument i's window (its own rank) */
    F_WEIGHT        /* weight_*: the weighted blend's profile (only with blend "weighted") */
} field_kind;

typedef struct field {
    const char *name;
    field_kind kind;
    size_t offset;  /* in iti_tensor_meta */
    size_t size;    /* F_STRING: bytes of the array */
} field;

/* In the order the attributes are written (and listed by h5dump). */
static const field fields[] = {
    {"shape", F_INTS, offsetof(iti_tensor_meta, shape), 0},
    {"dtype", F_DTYPE, offsetof(iti_tensor_meta, dtype), 0},
    {"window", F_WINDOW, offsetof(iti_tensor_meta, window), 0},
    {"args", F_ARGS, 0, 0},
    {"blend", F_BLEND, offsetof(iti_tensor_meta, blend), 0},
    {"blend_init", F_REAL, offsetof(iti_tensor_meta, blend_init), 0},
    {"weight_*", F_WEIGHT, 0, 0},
    {"chunk", F_INTS, offsetof(iti_tensor_meta, chunk), 0},
    {"grid_offset", F_INTS, offsetof(iti_tensor_meta, grid), 0},
    {"origin", F_ORIGIN, 0, 0},
    {"fn_tag", F_STRING, offsetof(iti_tensor_meta, fn_tag), sizeof ((iti_tensor_meta *)0)->fn_tag},
    {"created_by", F_WRITER, 0, 0},
    {"arg<i>_window", F_ARG_WINDOWS, 0, 0},
};

#define AT(m, f, type) ((type *)((char *)(m) + (f)->offset))

/* The weighted blend's attributes (F_WEIGHT), in the order they are written. */
enum { W_PROFILE, W_BORDER, W_SIGMA, W_FLOOR, W_SHA256, W_COUNT };
static const iti_h5_attr_desc weight_fields[W_COUNT] = {
    {"weight_profile", "string"}, {"weight_border", "int64[r]"}, {"weight_sigma", "f64[r]"},
    {"weight_floor", "f64"},      {"weight_array_sha256", "string"},
};

/* What FORMAT.md writes as the type of each kind's attributes. */
static const char *const kind_types[] = {
    [F_INTS] = "int64[r]", [F_DTYPE] = "string", [F_WINDOW] = "int64[r]", [F_ARGS] = "string[n]",
    [F_BLEND] = "string",  [F_REAL] = "f64",     [F_STRING] = "string",   [F_ORIGIN] = "int64[r]",
    [F_WRITER] = "string", [F_ARG_WINDOWS] = "int64[r_i]",
};

/* A window's four attributes: prefix_size, prefix_stride, ... */
static void list_window(const char *prefix, const char *type, iti_h5_schema_fn fn, void *user) {
    for (int p = 0; p < ITI_WINDOW_PARTS; p++) {
        char name[64];
        snprintf(name, sizeof name, "%s_%s", prefix, iti_window_part_names[p]);
        fn(&(iti_h5_attr_desc){name, type}, user);
    }
}

void iti_h5_schema_list(iti_h5_schema_fn fn, void *user) {
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        const field *f = &fields[i];
        if (f->kind == F_WEIGHT)
            for (int w = 0; w < W_COUNT; w++)
                fn(&weight_fields[w], user);
        else if (f->kind == F_WINDOW || f->kind == F_ARG_WINDOWS)
            list_window(f->kind == F_WINDOW ? f->name : "arg<i>_window", kind_types[f->kind], fn,
                        user);
        else
            fn(&(iti_h5_attr_desc){f->name, kind_types[f->kind]}, user);
    }
}

/* ---- writing ---------------------------------------------------------------------------------- */

static int write_window(hid_t g, const char *prefix, const it_window *w) {
    int64_t v[ITI_WINDOW_PARTS][IT_MAX_RANK];
    iti_window_to_parts(w, v);
    for (int p = 0; p < ITI_WINDOW_PARTS; p++) {
        char name[64];
        snprintf(name, sizeof name, "%s_%s", prefix, iti_window_part_names[p]);
        int rc = iti_h5_write_i64(g, name, v[p], (size_t)w->rank);
        if (rc)
            return rc;
    }
    return 0;
}

static int write_weight(hid_t g, const iti_tensor_meta *m) {
    const it_weight_profile *w = &m->weight;
    size_t r = (size_t)m->rank;
    int rc;
    if (m->blend != IT_BLEND_WEIGHTED)
        return 0;
    if ((rc = iti_h5_write_str(g, weight_fields[W_PROFILE].name, it_weight_kind_name(w->kind))) ||
        (rc = iti_h5_write_i64(g, weight_fields[W_BORDER].name, w->border, r)) ||
        (rc = iti_h5_write_f64s(g, weight_fields[W_SIGMA].name, w->sigma, r)) ||
        (rc = iti_h5_write_f64(g, weight_fields[W_FLOOR].name, w->floor)))
        return rc;
    return iti_h5_write_str(g, weight_fields[W_SHA256].name, m->weight_sha256);
}

static int write_field(hid_t g, const field *f, const iti_tensor_meta *m, const int64_t *origin) {
    size_t r = (size_t)m->rank;
    switch (f->kind) {
    case F_INTS:
        return iti_h5_write_i64(g, f->name, AT(m, f, const int64_t), r);
    case F_DTYPE:
        return iti_h5_write_str(g, f->name, it_dtype_name(m->dtype));
    case F_WINDOW:
        return write_window(g, f->name, AT(m, f, const it_window));
    case F_ARGS: {
        const char *ids[IT_MAX_ARGS];
        for (size_t i = 0; i < m->n_args; i++)
            ids[i] = m->arg_ids[i];
        return iti_h5_write_strs(g, f->name, ids, m->n_args);
    }
    case F_BLEND:
        return iti_h5_write_str(g, f->name, it_blend_name(m->blend));
    case F_REAL:
        return iti_h5_write_f64(g, f->name, *AT(m, f, const double));
    case F_STRING:
        return iti_h5_write_str(g, f->name, AT(m, f, const char));
    case F_ORIGIN:
        return iti_h5_write_i64(g, f->name, origin, r);
    case F_WRITER:
        return iti_h5_write_str(g, f->name, "infinite-tensor " IT_VERSION_STRING);
    case F_ARG_WINDOWS:
        for (size_t i = 0; i < m->n_args; i++) {
            char prefix[32];
            snprintf(prefix, sizeof prefix, "arg%zu_window", i);
            int rc = write_window(g, prefix, &m->arg_windows[i]);
            if (rc)
                return rc;
        }
        return 0;
    case F_WEIGHT:
        return write_weight(g, m);
    }
    return iti_error(IT_EINTERNAL, "unknown metadata field kind");
}

int iti_h5_schema_write(hid_t g, const iti_tensor_meta *m, const int64_t *origin) {
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        int rc = write_field(g, &fields[i], m, origin);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- reading ---------------------------------------------------------------------------------- */

/* A 1-D attribute's length, which must be 1..IT_MAX_RANK (a rank). */
static int read_rank(hid_t g, const char *name, int *rank) {
    int64_t n = iti_h5_attr_len(g, name);
    if (n < 0)
        return (int)n;
    if (n < 1 || n > IT_MAX_RANK)
        return iti_error(IT_EFORMAT, "attribute \"%s\" has %lld elements, not a rank 1..%d", name,
                        (long long)n, IT_MAX_RANK);
    *rank = (int)n;
    return 0;
}

static int read_window(hid_t g, const char *prefix, int rank, it_window *w) {
    int64_t v[ITI_WINDOW_PARTS][IT_MAX_RANK];
    for (int p = 0; p < ITI_WINDOW_PARTS; p++) {
        char name[64];
        snprintf(name, sizeof name, "%s_%s", prefix, iti_window_part_names[p]);
        int rc = iti_h5_read_i64(g, name, v[p], (size_t)rank);
        if (rc)
            return rc;
    }
    memset(w, 0, sizeof *w);
    w->rank = rank;
    for (int d = 0; d < rank; d++) {
        if (v[3][d] < -1 || v[3][d] >= IT_MAX_RANK)
            return iti_error(IT_EFORMAT, "attribute %s_map holds %lld", prefix, (long long)v[3][d]);
        w->size[d] = v[0][d];
        w->stride[d] = v[1][d];
        w->offset[d] = v[2][d];
        w->map[d] = (int)v[3][d];
    }
    return 0;
}

static int read_args(hid_t g, const char *name, bool legacy, iti_tensor_meta *m) {
    int64_t n = iti_h5_attr_len(g, name);
    if (n < 0)
        return (int)n;
    if (n > IT_MAX_ARGS)
        return iti_error(IT_EFORMAT, "attribute \"%s\" names %lld arguments (at most %d)", name,
                        (long long)n, IT_MAX_ARGS);
    for (int64_t i = 0; i < n; i++) {
        int rc = iti_h5_read_strs_at(g, name, (size_t)i, legacy, m->arg_ids[i],
                                    sizeof m->arg_ids[i]);
        if (rc)
            return rc;
    }
    /* No arguments are stored as [""] (an attribute cannot have an empty simple extent). */
    m->n_args = n == 1 && m->arg_ids[0][0] == 0 ? 0 : (size_t)n;
    return 0;
}

static bool is_digest(const char *s) {
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return n == 0 || n == ITI_SHA256_HEX - 1;
}

/* The profile, checked value by value as it_tensor_create would have resolved it. */
static int read_weight(hid_t g, iti_tensor_meta *m) {
    it_weight_profile *w = &m->weight;
    char s[ITI_SHA256_HEX + 1];
    size_t r = (size_t)m->rank;
    int rc;
    if (m->blend != IT_BLEND_WEIGHTED)
        return 0;
    if ((rc = iti_h5_read_str(g, weight_fields[W_PROFILE].name, false, s, sizeof s)))
        return rc;
    if (it_weight_kind_parse(s, &w->kind))
        return iti_error(IT_EFORMAT, "unknown weight profile \"%s\"", s);
    if ((rc = iti_h5_read_i64(g, weight_fields[W_BORDER].name, w->border, r)) ||
        (rc = iti_h5_read_f64s(g, weight_fields[W_SIGMA].name, w->sigma, r)) ||
        (rc = iti_h5_read_f64(g, weight_fields[W_FLOOR].name, &w->floor)) ||
        (rc = iti_h5_read_str(g, weight_fields[W_SHA256].name, false, m->weight_sha256,
                              sizeof m->weight_sha256)))
        return rc;
    for (size_t d = 0; d < r; d++) {
        if (w->border[d] < IT_WEIGHT_FLAT || w->border[d] > m->window.size[d])
            return iti_error(IT_EFORMAT, "attribute weight_border holds %lld",
                             (long long)w->border[d]);
        if (!(w->sigma[d] == IT_WEIGHT_FLAT || (w->sigma[d] >= 0 && isfinite(w->sigma[d]))))
            return iti_error(IT_EFORMAT, "attribute weight_sigma holds %g", w->sigma[d]);
    }
    if (!(w->floor >= 0 && isfinite(w->floor)))
        return iti_error(IT_EFORMAT, "attribute weight_floor holds %g", w->floor);
    if (!is_digest(m->weight_sha256))
        return iti_error(IT_EFORMAT, "attribute weight_array_sha256 is not a SHA-256 digest");
    return 0;
}

static int read_field(hid_t g, const field *f, bool legacy, iti_tensor_meta *m) {
    char s[64];
    int rc;
    switch (f->kind) {
    case F_INTS:
        return iti_h5_read_i64(g, f->name, AT(m, f, int64_t), (size_t)m->rank);
    case F_DTYPE:
        if ((rc = iti_h5_read_str(g, f->name, legacy, s, sizeof s)))
            return rc;
        return it_dtype_parse(s, &m->dtype) ? iti_error(IT_EFORMAT, "unknown dtype \"%s\"", s) : 0;
    case F_WINDOW:
        return read_window(g, f->name, m->rank, AT(m, f, it_window));
    case F_ARGS:
        return read_args(g, f->name, legacy, m);
    case F_BLEND:
        if ((rc = iti_h5_read_str(g, f->name, legacy, s, sizeof s)))
            return rc;
        return it_blend_parse(s, &m->blend) ? iti_error(IT_EFORMAT, "unknown blend \"%s\"", s) : 0;
    case F_REAL:
        return iti_h5_read_f64(g, f->name, AT(m, f, double));
    case F_STRING:
        return iti_h5_read_str(g, f->name, legacy, AT(m, f, char), f->size);
    case F_ORIGIN:
    case F_WRITER:
        return 0;
    case F_ARG_WINDOWS:
        for (size_t i = 0; i < m->n_args; i++) {
            char prefix[32], name[48];
            int rank = 0;
            snprintf(prefix, sizeof prefix, "arg%zu_window", i);
            snprintf(name, sizeof name, "%s_size", prefix);
            if ((rc = read_rank(g, name, &rank)) ||
                (rc = read_window(g, prefix, rank, &m->arg_windows[i])))
                return rc;
        }
        return 0;
    case F_WEIGHT:
        return read_weight(g, m);
    }
    return iti_error(IT_EINTERNAL, "unknown metadata field kind");
}

int iti_h5_schema_read(hid_t g, bool legacy, iti_tensor_meta *m) {
    memset(m, 0, sizeof *m);
    int rc = read_rank(g, "shape", &m->rank);
    for (size_t i = 0; rc == 0 && i < sizeof fields / sizeof fields[0]; i++)
        rc = read_field(g, &fields[i], legacy, m);
    return rc;
}
