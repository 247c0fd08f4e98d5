/* Distributed fills over MPI: one writer (rank 0) hands out units of missing chunks and writes
 * the encoded chunks workers send back (infinite_tensor/mpi.h).
 *
 * Messages between the writer and a worker (MPI keeps their order per pair):
 *   worker -> writer  READY  {status, message}: ready for a unit (after finishing one, with its
 *                            status: the first failure on any rank ends the fill everywhere)
 *   writer -> worker  UNIT   int64 [n, n chunk coordinates]; n = 0: no more work
 *   worker -> writer  CHUNK  int64 coordinates, uint64 length, the encoded bytes
 * The call ends with the writer broadcasting the outcome, so every rank returns the same status
 * and message. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infinite_tensor/mpi.h"

#include "backend.h"
#include "codec.h"
#include "hdf5_direct.h"

enum { TAG_READY = 7301, TAG_UNIT, TAG_CHUNK };

#define MSG_MAX 1024

typedef struct outcome {
    int code;
    char msg[MSG_MAX];
} outcome;

void it_mpi_fill_options_init(it_mpi_fill_options *opts) {
    if (opts)
        *opts = (it_mpi_fill_options){.struct_size = sizeof *opts};
}

static void take_error(outcome *o, int code) {
    if (o->code == 0 && code != 0) {
        o->code = code;
        snprintf(o->msg, sizeof o->msg, "%s", it_last_error());
    }
}

/* Every rank learns the outcome of the lowest rank that failed (or success). */
static int agree(MPI_Comm comm, int rank, const outcome *mine) {
    int failed = mine->code ? rank : INT_MAX, first;
    MPI_Allreduce(&failed, &first, 1, MPI_INT, MPI_MIN, comm);
    if (first == INT_MAX)
        return 0;
    outcome o = *mine;
    MPI_Bcast(&o, (int)sizeof o, MPI_BYTE, first, comm);
    return iti_error(o.code, "%s", o.msg);
}

/* ---- what every rank must share ------------------------------------------------------------ */

typedef struct signature {
    char id[IT_ID_MAX + 1];
    int rank, dtype, codec, level;
    int64_t shape[IT_MAX_RANK], chunk[IT_MAX_RANK], grid[IT_MAX_RANK];
} signature;

static void sign(const iti_store_tensor *v, const iti_codec *c, signature *s) {
    memset(s, 0, sizeof *s);
    snprintf(s->id, sizeof s->id, "%s", v->id);
    s->rank = v->rank;
    s->dtype = (int)v->dtype;
    s->codec = c ? (int)c->kind : 0;
    s->level = c ? c->level : 0;
    memcpy(s->shape, v->shape, sizeof s->shape);
    memcpy(s->chunk, v->chunk, sizeof s->chunk);
    memcpy(s->grid, v->grid, sizeof s->grid);
}

/* The writer's tensor must be in a writable HDF5 store; every rank's must match it. */
static int check_ranks(MPI_Comm comm, int rank, it_tensor *t, iti_codec *codec) {
    outcome o = {0};
    signature mine, writer;
    if (rank == 0)
        take_error(&o, iti_h5_codec_of(t, codec));
    sign(iti_tensor_view(t), rank == 0 && o.code == 0 ? codec : NULL, &mine);
    writer = mine;
    MPI_Bcast(&writer, (int)sizeof writer, MPI_BYTE, 0, comm);
    const char *field = strcmp(writer.id, mine.id)                                  ? "id"
                        : writer.rank != mine.rank                                  ? "rank"
                        : memcmp(writer.shape, mine.shape, sizeof mine.shape)       ? "shape"
                        : writer.dtype != mine.dtype                                ? "dtype"
                        : memcmp(writer.chunk, mine.chunk, sizeof mine.chunk) ||
                                  memcmp(writer.grid, mine.grid, sizeof mine.grid) ? "chunking"
                                                                                    : NULL;
    if (field && o.code == 0)
        take_error(&o, iti_error(IT_EMISMATCH, "it_mpi_fill: the tensor \"%s\" of rank %d differs "
                                 "from rank 0's \"%s\" in its %s", mine.id, rank, writer.id, field));
    *codec = (iti_codec){(it_compression)writer.codec, writer.level};
    return agree(comm, rank, &o);
}

/* ---- the writer ---------------------------------------------------------------------------- */

typedef struct units {
    iti_coord *chunks;  /* missing chunks, grouped by unit */
    size_t n;
    size_t *first;      /* unit u: chunks[first[u] .. first[u + 1]) */
    size_t count;
    int rank;
} units;

static int64_t unit_of(int64_t c, int64_t c0, int64_t ext) {
    int64_t d = c - c0;
    return d >= 0 ? d / ext : -((-d + ext - 1) / ext);
}

static int sort_rank;
static int64_t sort_c0[IT_MAX_RANK], sort_ext[IT_MAX_RANK];

/* By unit (lexicographic), then by coordinate. */
static int cmp_unit(const void *pa, const void *pb) {
    const iti_coord *a = pa, *b = pb;
    for (int d = 0; d < sort_rank; d++) {
        int64_t ua = unit_of(a->v[d], sort_c0[d], sort_ext[d]);
        int64_t ub = unit_of(b->v[d], sort_c0[d], sort_ext[d]);
        if (ua != ub)
            return ua < ub ? -1 : 1;
    }
    return iti_coord_cmp(a, b, IT_MAX_RANK);
}

/* The chunks of s that t's store lacks, cut into units of `ext` chunks per dimension. */
static int plan_units(it_tensor *t, const iti_selection *s, const int64_t *ext, units *u) {
    memset(u, 0, sizeof *u);
    u->rank = s->rank;
    iti_coord *all;
    size_t n;
    int rc = iti_selection_chunks(t, s, &all, &n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        int has = iti_tensor_has_chunk(t, &all[i]);
        if (has < 0)
            rc = has;
        else if (!has)
            all[u->n++] = all[i];
    }
    u->chunks = all;
    if (rc || u->n == 0)
        return rc;
    sort_rank = s->rank;
    for (int d = 0; d < s->rank; d++) {
        sort_c0[d] = all[0].v[d];
        sort_ext[d] = ext[d];
    }
    qsort(u->chunks, u->n, sizeof *u->chunks, cmp_unit);
    u->first = malloc((u->n + 1) * sizeof *u->first);
    if (!u->first)
        return iti_error(IT_ENOMEM, "it_mpi_fill: out of memory planning units");
    for (size_t i = 0; i < u->n; i++) {
        bool fresh = i == 0;
        for (int d = 0; d < s->rank && !fresh; d++)
            fresh = unit_of(all[i].v[d], sort_c0[d], ext[d]) !=
                    unit_of(all[i - 1].v[d], sort_c0[d], ext[d]);
        if (fresh)
            u->first[u->count++] = i;
    }
    u->first[u->count] = u->n;
    return 0;
}

static void send_unit(MPI_Comm comm, int to, const units *u, size_t k) {
    size_t n = k < u->count ? u->first[k + 1] - u->first[k] : 0;
    size_t words = 1 + n * (size_t)u->rank;
    int64_t *msg = malloc(words * sizeof *msg);
    if (!msg) { /* a stop needs no memory */
        int64_t stop = 0;
        MPI_Send(&stop, 1, MPI_INT64_T, to, TAG_UNIT, comm);
        return;
    }
    msg[0] = (int64_t)n;
    for (size_t i = 0; i < n; i++)
        memcpy(&msg[1 + i * (size_t)u->rank], u->chunks[u->first[k] + i].v,
               sizeof(int64_t) * (size_t)u->rank);
    MPI_Send(msg, (int)words, MPI_INT64_T, to, TAG_UNIT, comm);
    free(msg);
}

typedef struct writer {
    MPI_Comm comm;
    it_tensor *t;
    units u;
    size_t next;                 /* next unit to hand out */
    uint64_t done, total;        /* chunks stored */
    size_t unflushed;
    iti_engine eng;
    outcome o;
} writer;

static int nothing(const iti_coord *c, const void *data, void *user) {
    (void)c, (void)data, (void)user;
    return 0;
}

static void progress(writer *w) {
    if (w->o.code == 0 && w->eng.progress && w->eng.progress(w->done, w->total, w->eng.progress_user))
        take_error(&w->o, iti_error(IT_ECANCELED, "it_mpi_fill: canceled by the progress callback "
                                    "after %llu of %llu chunks", (unsigned long long)w->done,
                                    (unsigned long long)w->total));
}

static void flush(writer *w, size_t every) {
    if (w->unflushed >= every) {
        take_error(&w->o, iti_tensor_flush_stores(w->t));
        w->unflushed = 0;
    }
}

static void receive_chunk(writer *w, const MPI_Status *st) {
    int bytes;
    MPI_Get_count(st, MPI_BYTE, &bytes);
    unsigned char *msg = malloc(bytes > 0 ? (size_t)bytes : 1);
    MPI_Recv(msg, bytes, MPI_BYTE, st->MPI_SOURCE, TAG_CHUNK, w->comm, MPI_STATUS_IGNORE);
    size_t head = sizeof(int64_t) * (size_t)w->u.rank + sizeof(uint64_t);
    if (!msg) {
        take_error(&w->o, iti_error(IT_ENOMEM, "it_mpi_fill: out of memory receiving a chunk"));
        return;
    }
    iti_coord c;
    uint64_t len = 0;
    memset(&c, 0, sizeof c);
    if ((size_t)bytes >= head) {
        memcpy(c.v, msg, sizeof(int64_t) * (size_t)w->u.rank);
        memcpy(&len, msg + head - sizeof len, sizeof len);
    }
    if ((size_t)bytes < head || len != (size_t)bytes - head)
        take_error(&w->o, iti_error(IT_EINTERNAL, "it_mpi_fill: a malformed chunk message"));
    else if (w->o.code == 0)
        take_error(&w->o, iti_h5_put_encoded(w->t, &c, msg + head, (size_t)len));
    free(msg);
    w->done++;
    w->unflushed++;
}

/* A worker finished a unit (or starts): its status, then the next unit or the stop. */
static bool serve_ready(writer *w, const MPI_Status *st, size_t flush_every) {
    outcome theirs;
    MPI_Recv(&theirs, (int)sizeof theirs, MPI_BYTE, st->MPI_SOURCE, TAG_READY, w->comm,
             MPI_STATUS_IGNORE);
    if (theirs.code && w->o.code == 0) {
        theirs.msg[MSG_MAX - 1] = 0;
        w->o = theirs;
    }
    flush(w, flush_every);
    progress(w);
    bool more = w->o.code == 0 && w->next < w->u.count;
    send_unit(w->comm, st->MPI_SOURCE, &w->u, more ? w->next++ : w->u.count);
    return more;
}

static void compute_locally(writer *w, size_t flush_every) {
    size_t k = w->next++, n = w->u.first[k + 1] - w->u.first[k];
    take_error(&w->o, iti_eval_chunks(w->t, &w->u.chunks[w->u.first[k]], n, nothing, NULL));
    w->done += n;
    w->unflushed += n;
    flush(w, flush_every);
    progress(w);
}

static int run_writer(MPI_Comm comm, int size, it_tensor *t, const iti_selection *s,
                      const it_mpi_fill_options *o) {
    writer w = {.comm = comm, .t = t};
    iti_tensor_engine(t, &w.eng);
    int64_t ext[IT_MAX_RANK];
    for (int d = 0; d < s->rank; d++)
        ext[d] = o->unit[d] > 0 ? o->unit[d] : d >= s->rank - 2 ? 2 : 1;
    take_error(&w.o, plan_units(t, s, ext, &w.u));
    w.total = w.u.n;
    size_t flush_every = w.u.count ? 2 * (w.u.n / w.u.count) + 1 : 1;
    progress(&w);
    int active = size - 1;
    while (active > 0) {
        int flag = 0;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, comm, &flag, &st);
        if (!flag && !o->writer_idle && w.o.code == 0 && w.next < w.u.count) {
            compute_locally(&w, flush_every);
            continue;
        }
        if (!flag)
            MPI_Probe(MPI_ANY_SOURCE, MPI_ANY_TAG, comm, &st);
        if (st.MPI_TAG == TAG_CHUNK)
            receive_chunk(&w, &st);
        else if (!serve_ready(&w, &st, flush_every))
            active--;
    }
    while (w.o.code == 0 && w.next < w.u.count) /* the workers stopped early: none left */
        compute_locally(&w, flush_every);
    flush(&w, 1); /* what was stored stays, failure or not */
    free(w.u.chunks);
    free(w.u.first);
    return agree(comm, 0, &w.o);
}

/* ---- a worker ------------------------------------------------------------------------------ */

typedef struct sender {
    MPI_Comm comm;
    const iti_codec *codec;
    const iti_store_tensor *view;
} sender;

static int send_chunk(const iti_coord *c, const void *data, void *user) {
    sender *s = user;
    void *enc = NULL;
    size_t len = s->view->chunk_bytes;
    if (iti_codec_compresses(s->codec)) {
        int rc = iti_codec_encode(s->codec, data, s->view->chunk_bytes, s->view->esize, &enc, &len);
        if (rc)
            return rc;
    }
    size_t head = sizeof(int64_t) * (size_t)s->view->rank + sizeof(uint64_t);
    unsigned char *msg = malloc(head + len);
    if (!msg) {
        iti_buf_free(enc);
        return iti_error(IT_ENOMEM, "it_mpi_fill: out of memory sending a chunk");
    }
    uint64_t len64 = len;
    memcpy(msg, c->v, sizeof(int64_t) * (size_t)s->view->rank);
    memcpy(msg + head - sizeof len64, &len64, sizeof len64);
    memcpy(msg + head, enc ? enc : data, len);
    iti_buf_free(enc);
    MPI_Send(msg, (int)(head + len), MPI_BYTE, 0, TAG_CHUNK, s->comm);
    free(msg);
    return 0;
}

static int run_worker(MPI_Comm comm, int rank, it_tensor *t, const iti_codec *codec) {
    const iti_store_tensor *v = iti_tensor_view(t);
    sender snd = {comm, codec, v};
    outcome o = {0};
    for (;;) {
        MPI_Send(&o, (int)sizeof o, MPI_BYTE, 0, TAG_READY, comm);
        MPI_Status st;
        int words;
        MPI_Probe(0, TAG_UNIT, comm, &st);
        MPI_Get_count(&st, MPI_INT64_T, &words);
        int64_t *msg = malloc((size_t)(words > 0 ? words : 1) * sizeof *msg);
        MPI_Recv(msg, words, MPI_INT64_T, 0, TAG_UNIT, comm, MPI_STATUS_IGNORE);
        size_t n = msg && words > 0 ? (size_t)msg[0] : 0;
        iti_coord *chunks = n ? calloc(n, sizeof *chunks) : NULL;
        for (size_t i = 0; chunks && i < n; i++)
            memcpy(chunks[i].v, &msg[1 + i * (size_t)v->rank], sizeof(int64_t) * (size_t)v->rank);
        free(msg);
        if (n == 0)
            break;
        int rc = chunks ? iti_eval_chunks(t, chunks, n, send_chunk, &snd)
                        : iti_error(IT_ENOMEM, "it_mpi_fill: out of memory for a unit");
        free(chunks);
        iti_tensor_drop_cached(t); /* the next unit is elsewhere: keep memory to one unit's */
        take_error(&o, rc);
    }
    outcome reported = {0}; /* a failure here went to the writer, which tells everyone */
    return agree(comm, rank, &reported);
}

/* ---- the call ------------------------------------------------------------------------------ */

int it_mpi_fill(it_tensor *t, const it_region *region, MPI_Comm comm,
                const it_mpi_fill_options *opts) {
    int rank = 0, size = 1;
    if (comm == MPI_COMM_NULL || MPI_Comm_rank(comm, &rank) != MPI_SUCCESS ||
        MPI_Comm_size(comm, &size) != MPI_SUCCESS)
        return iti_error(IT_EINVAL, "it_mpi_fill: not a valid communicator");
    it_mpi_fill_options o;
    it_mpi_fill_options_init(&o);
    outcome bad = {0};
    if (!t || !region)
        take_error(&bad, iti_error(IT_EINVAL, "it_mpi_fill: NULL %s", t ? "region" : "tensor"));
    else
        take_error(&bad, iti_options_take(&o, opts, sizeof o, "it_mpi_fill",
                                          "it_mpi_fill_options_init"));
    iti_selection s;
    if (bad.code == 0)
        take_error(&bad, iti_selection_resolve(t, region, "it_mpi_fill", &s));
    for (int d = 0; bad.code == 0 && d < IT_MAX_RANK; d++)
        if (o.unit[d] < 0)
            take_error(&bad, iti_error(IT_EINVAL, "it_mpi_fill: unit[%d] must be >= 0", d));
    int rc = agree(comm, rank, &bad);
    if (rc)
        return rc;
    iti_codec codec;
    if ((rc = check_ranks(comm, rank, t, &codec)))
        return rc;
    if (size == 1) /* an ordinary fill */
        return it_tensor_fill(t, region);
    return rank == 0 ? run_writer(comm, size, t, &s, &o) : run_worker(comm, rank, t, &codec);
}
