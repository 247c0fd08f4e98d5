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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "infinite_tensor/mpi.h"

#include "codec/codec.h"
#include "engine.h"

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

/* Keeps the first failure (and its message); returns code. */
static int take_error(outcome *o, int code) {
    if (o->code == 0 && code != 0) {
        o->code = code;
        snprintf(o->msg, sizeof o->msg, "%s", it_last_error());
    }
    return code;
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
    int rank, dtype, codec, level, checksum;
    int64_t shape[IT_MAX_RANK], chunk[IT_MAX_RANK], grid[IT_MAX_RANK];
} signature;

static void sign(const iti_store_tensor *v, const iti_codec *c, signature *s) {
    memset(s, 0, sizeof *s);
    snprintf(s->id, sizeof s->id, "%s", v->id);
    s->rank = v->rank;
    s->dtype = (int)v->dtype;
    s->codec = c ? (int)c->kind : 0;
    s->level = c ? c->level : 0;
    s->checksum = c ? c->checksum : 0;
    memcpy(s->shape, v->shape, sizeof s->shape);
    memcpy(s->chunk, v->chunk, sizeof s->chunk);
    memcpy(s->grid, v->grid, sizeof s->grid);
}

/* The writer's tensor must be in a writable store that takes chunks encoded elsewhere (the
 * store interface's put_encoded: HDF5 and memory stores); every rank's must match it. */
static int check_ranks(MPI_Comm comm, int rank, it_tensor *t, iti_codec *codec) {
    outcome o = {0};
    signature mine, writer;
    iti_chunk_encoding enc;
    if (rank == 0 && take_error(&o, iti_tensor_chunk_encoding(t, &enc)) == 0)
        *codec = (iti_codec){enc.codec, enc.level, enc.checksum};
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
    *codec = (iti_codec){(it_compression)writer.codec, writer.level, writer.checksum != 0};
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

/* Unit index of chunk coordinate c >= c0, in units of ext chunks. */
static int64_t unit_of(int64_t c, int64_t c0, int64_t ext) { return (c - c0) / ext; }

/* A chunk with its unit's index per dimension, for grouping (unused dimensions 0). */
typedef struct keyed {
    int64_t unit[IT_MAX_RANK];
    iti_coord c;
} keyed;

/* By unit (lexicographic), then by coordinate. */
static int cmp_keyed(const void *pa, const void *pb) {
    const keyed *a = pa, *b = pb;
    for (int d = 0; d < IT_MAX_RANK; d++)
        if (a->unit[d] != b->unit[d])
            return a->unit[d] < b->unit[d] ? -1 : 1;
    return iti_coord_cmp(&a->c, &b->c, IT_MAX_RANK);
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
    keyed *k = malloc(u->n * sizeof *k);
    u->first = malloc((u->n + 1) * sizeof *u->first);
    if (!k || !u->first) {
        free(k);
        return iti_error(IT_ENOMEM, "it_mpi_fill: out of memory planning units");
    }
    int64_t low[IT_MAX_RANK]; /* units count from the lowest missing chunk per dimension */
    for (int d = 0; d < s->rank; d++) {
        low[d] = all[0].v[d];
        for (size_t i = 1; i < u->n; i++)
            low[d] = all[i].v[d] < low[d] ? all[i].v[d] : low[d];
    }
    for (size_t i = 0; i < u->n; i++) {
        memset(k[i].unit, 0, sizeof k[i].unit);
        for (int d = 0; d < s->rank; d++)
            k[i].unit[d] = unit_of(all[i].v[d], low[d], ext[d]);
        k[i].c = all[i];
    }
    qsort(k, u->n, sizeof *k, cmp_keyed);
    for (size_t i = 0; i < u->n; i++) {
        if (i == 0 || memcmp(k[i].unit, k[i - 1].unit, sizeof k[i].unit) != 0)
            u->first[u->count++] = i;
        u->chunks[i] = k[i].c;
    }
    u->first[u->count] = u->n;
    free(k);
    return 0;
}

/* The pixel box of chunks[0..n) (a block of the chunk grid) as a selection. */
static void unit_selection(const iti_store_tensor *v, const iti_coord *chunks, size_t n,
                           iti_selection *s) {
    memset(s, 0, sizeof *s);
    s->rank = v->rank;
    s->elems = 1;
    for (int d = 0; d < v->rank; d++) {
        int64_t lo = chunks[0].v[d], hi = chunks[0].v[d];
        for (size_t i = 1; i < n; i++) {
            lo = chunks[i].v[d] < lo ? chunks[i].v[d] : lo;
            hi = chunks[i].v[d] > hi ? chunks[i].v[d] : hi;
        }
        s->start[d] = lo * v->chunk[d] + v->grid[d];
        s->step[d] = 1;
        s->count[d] = (hi - lo + 1) * v->chunk[d];
        s->elems *= (size_t)s->count[d];
    }
    s->bytes = s->elems * v->esize;
}

static int cmp_coord(const void *a, const void *b) { return iti_coord_cmp(a, b, IT_MAX_RANK); }

/* What is done with each final chunk of a unit (sent by workers, nothing on the writer). */
typedef int (*chunk_fn)(const iti_coord *c, const void *data, void *user);

/* A unit to compute: its chunks, sorted, so the walk of its box only handles those. */
typedef struct unit_job {
    const iti_coord *chunks;
    size_t n;
    chunk_fn then;               /* called for the unit's chunks */
    void *user;
} unit_job;

static int unit_members(const iti_coord *coords, const iti_chunk_ref *refs, size_t n, void *arg) {
    unit_job *j = arg;
    for (size_t i = 0; i < n; i++) {
        if (!bsearch(&coords[i], j->chunks, j->n, sizeof *j->chunks, cmp_coord))
            continue; /* stored before, or outside the requested region */
        int rc = j->then(&coords[i], refs[i].data, j->user);
        if (rc)
            return rc;
    }
    return 0;
}

/* Computes a unit's chunks (sorted by coordinate, as plan_units leaves them and the writer
 * sends them) by walking its box: blocks within the budget, halos shared inside the unit,
 * transient upstream chunks let go as the walk goes; or, when stored chunks lie in the box,
 * its runs of chunks, so that exactly the unit's chunks are computed. */
static int compute_unit(it_tensor *t, const iti_coord *chunks, size_t n, chunk_fn then,
                        void *user) {
    const iti_store_tensor *v = iti_tensor_view(t);
    iti_selection s;
    unit_selection(v, chunks, n, &s);
    unit_job j = {chunks, n, then, user};
    size_t box = s.elems / v->chunk_elems;
    if (box == n) /* the unit fills its box (every fresh fill): one walk */
        return iti_eval_visit(t, &s, 0, unit_members, &j, "it_mpi_fill");
    /* Some chunks of the box are stored (a resumed fill): a worker's own store lacks them and
     * would compute them again, so the unit is walked in runs along the last dimension. */
    int rc = 0, last = v->rank - 1;
    for (size_t i = 0, end; rc == 0 && i < n; i = end) {
        for (end = i + 1; end < n && chunks[end].v[last] == chunks[end - 1].v[last] + 1 &&
                          memcmp(chunks[end].v, chunks[i].v, sizeof(int64_t) * (size_t)last) == 0;
             end++)
            continue;
        unit_selection(v, chunks + i, end - i, &s);
        rc = iti_eval_visit(t, &s, 0, unit_members, &j, "it_mpi_fill");
    }
    return rc;
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

/* The writer's state. Its main thread serves messages; a helper thread computes units too
 * (unless writer_idle), so workers never wait for the writer's own computation. */
typedef struct writer {
    MPI_Comm comm;
    it_tensor *t;
    units u;
    pthread_mutex_t lock;        /* next, done, unflushed, o */
    size_t next;                 /* next unit to hand out */
    uint64_t done, total;        /* chunks stored */
    size_t unflushed, flush_every;
    uint64_t unflushed_bytes;    /* encoded bytes received since the last flush */
    double last_flush;           /* monotonic seconds */
    iti_engine eng;
    outcome o;
} writer;

static int nothing(const iti_coord *c, const void *data, void *user) {
    (void)c, (void)data, (void)user;
    return 0;
}

/* Lock held. */
static void failed(writer *w, int code) { take_error(&w->o, code); }

/* Lock held; main thread only (the progress callback runs on the calling thread). */
static void progress(writer *w) {
    if (w->o.code == 0 && w->eng.progress && w->eng.progress(w->done, w->total, w->eng.progress_user))
        failed(w, iti_error(IT_ECANCELED, "it_mpi_fill: canceled by the progress callback after "
                            "%llu of %llu chunks", (unsigned long long)w->done,
                            (unsigned long long)w->total));
}

#define FLUSH_SECONDS 1.0              /* a writer killed early keeps what it had this long */
#define FLUSH_BYTES ((uint64_t)64 << 20) /* and never more than this much unflushed */

static double seconds_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Commits what was stored since the last commit once `every` chunks, FLUSH_BYTES of them or
 * FLUSH_SECONDS have gone by (lock held). */
static void flush(writer *w, size_t every) {
    if (w->unflushed == 0)
        return;
    double now = seconds_now();
    if (w->unflushed >= every || w->unflushed_bytes >= FLUSH_BYTES ||
        now - w->last_flush >= FLUSH_SECONDS) {
        failed(w, iti_tensor_flush_stores(w->t));
        w->unflushed = 0;
        w->unflushed_bytes = 0;
        w->last_flush = now;
    }
}

/* The next unit to compute or hand out, or u.count when none (or after a failure). */
static size_t take_unit(writer *w) {
    pthread_mutex_lock(&w->lock);
    size_t k = w->o.code == 0 && w->next < w->u.count ? w->next++ : w->u.count;
    pthread_mutex_unlock(&w->lock);
    return k;
}

static void *compute_units(void *arg) {
    writer *w = arg;
    for (size_t k; (k = take_unit(w)) < w->u.count;) {
        size_t n = w->u.first[k + 1] - w->u.first[k];
        int rc = compute_unit(w->t, &w->u.chunks[w->u.first[k]], n, nothing, NULL);
        pthread_mutex_lock(&w->lock);
        failed(w, rc);
        w->done += n;
        w->unflushed += n;
        flush(w, w->flush_every);
        pthread_mutex_unlock(&w->lock);
    }
    return NULL;
}

static void receive_chunk(writer *w, const MPI_Status *st) {
    int bytes;
    MPI_Get_count(st, MPI_BYTE, &bytes);
    unsigned char *msg = malloc(bytes > 0 ? (size_t)bytes : 1);
    if (!msg) /* a message MPI holds cannot be left unreceived: the job cannot go on */
        MPI_Abort(w->comm, IT_ENOMEM);
    MPI_Recv(msg, bytes, MPI_BYTE, st->MPI_SOURCE, TAG_CHUNK, w->comm, MPI_STATUS_IGNORE);
    size_t head = sizeof(int64_t) * (size_t)w->u.rank + sizeof(uint64_t);
    iti_coord c;
    uint64_t len = 0;
    memset(&c, 0, sizeof c);
    if ((size_t)bytes >= head) {
        memcpy(c.v, msg, sizeof(int64_t) * (size_t)w->u.rank);
        memcpy(&len, msg + head - sizeof len, sizeof len);
    }
    int rc = (size_t)bytes < head || len != (size_t)bytes - head
                 ? iti_error(IT_EINTERNAL, "it_mpi_fill: a malformed chunk message")
                 : 0;
    pthread_mutex_lock(&w->lock);
    bool write = rc == 0 && w->o.code == 0;
    pthread_mutex_unlock(&w->lock);
    if (write) /* outside the lock: the store has its own */
        rc = iti_tensor_put_encoded(w->t, &c, msg + head, (size_t)len);
    free(msg);
    pthread_mutex_lock(&w->lock);
    failed(w, rc);
    w->done++;
    w->unflushed++;
    w->unflushed_bytes += len;
    flush(w, w->flush_every);
    pthread_mutex_unlock(&w->lock);
}

/* A worker finished a unit (or starts): its status, then the next unit or the stop. */
static bool serve_ready(writer *w, const MPI_Status *st) {
    outcome theirs;
    MPI_Recv(&theirs, (int)sizeof theirs, MPI_BYTE, st->MPI_SOURCE, TAG_READY, w->comm,
             MPI_STATUS_IGNORE);
    pthread_mutex_lock(&w->lock);
    if (theirs.code && w->o.code == 0) {
        theirs.msg[MSG_MAX - 1] = 0;
        w->o = theirs;
    }
    flush(w, w->flush_every);
    progress(w);
    pthread_mutex_unlock(&w->lock);
    size_t k = take_unit(w);
    send_unit(w->comm, st->MPI_SOURCE, &w->u, k);
    return k < w->u.count;
}

/* Default unit extents: bands of whole rows of chunks (neighbours share their halos within a
 * unit: only band edges are computed twice), one per rank and at most 16 chunk rows tall, so
 * that large fills still hand out enough units to balance uneven costs. A unit is walked in
 * blocks within the budget, so its size costs no memory. */
static void default_units(const iti_selection *s, const iti_store_tensor *v, int ranks,
                          const int64_t *given, int64_t *ext) {
    int band = s->rank >= 2 ? s->rank - 2 : 0; /* the dimension cut into bands */
    for (int d = 0; d < IT_MAX_RANK; d++)
        ext[d] = 1;
    for (int d = 0; d < s->rank; d++) {
        int64_t first = (int64_t)iti_floordiv((iti_i128)s->start[d] - v->grid[d], v->chunk[d]);
        int64_t last = (int64_t)iti_floordiv((iti_i128)s->start[d] + (iti_i128)(s->count[d] - 1) *
                                             s->step[d] - v->grid[d], v->chunk[d]);
        ext[d] = d < band ? 1 : last - first + 1;
    }
    int64_t rows = (ext[band] + ranks - 1) / ranks;
    ext[band] = rows < 1 ? 1 : rows > 16 ? 16 : rows;
    for (int d = 0; d < s->rank; d++)
        if (given[d] > 0)
            ext[d] = given[d];
}

static int run_writer(MPI_Comm comm, int size, it_tensor *t, const iti_selection *s,
                      const it_mpi_fill_options *o) {
    writer w = {.comm = comm, .t = t};
    pthread_mutex_init(&w.lock, NULL);
    iti_tensor_engine(t, &w.eng);
    int64_t ext[IT_MAX_RANK];
    default_units(s, iti_tensor_view(t), size, o->unit, ext);
    failed(&w, plan_units(t, s, ext, &w.u));
    w.total = w.u.n;
    w.flush_every = w.u.count ? 2 * (w.u.n / w.u.count) + 1 : 1;
    w.last_flush = seconds_now();
    progress(&w);
    pthread_t helper;
    bool helping = !o->writer_idle && pthread_create(&helper, NULL, compute_units, &w) == 0;
    int active = size - 1;
    struct timespec nap = {0, 200 * 1000}; /* polling, so that waiting takes no core */
    uint64_t reported = 0;
    while (active > 0) {
        int flag = 0;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, comm, &flag, &st);
        if (!flag) {
            pthread_mutex_lock(&w.lock);
            if (w.done != reported) { /* chunks stored since: report them (and hear a cancel) */
                reported = w.done;
                progress(&w);
            }
            flush(&w, w.flush_every); /* by time, while the workers compute */
            pthread_mutex_unlock(&w.lock);
            nanosleep(&nap, NULL);
            continue;
        }
        if (st.MPI_TAG == TAG_CHUNK)
            receive_chunk(&w, &st);
        else if (!serve_ready(&w, &st))
            active--;
    }
    if (helping)
        pthread_join(helper, NULL);
    compute_units(&w); /* what the workers left when they stopped early (none normally) */
    pthread_mutex_lock(&w.lock);
    progress(&w);
    flush(&w, 1); /* what was stored stays, failure or not */
    pthread_mutex_unlock(&w.lock);
    pthread_mutex_destroy(&w.lock);
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
    const sender *s = user;
    void *enc = NULL;
    size_t len = s->view->chunk_bytes;
    if (iti_codec_encodes(s->codec)) {
        int rc = iti_codec_encode(s->codec, data, s->view->chunk_bytes, s->view->esize, &enc, &len);
        if (rc)
            return rc;
    }
    size_t head = sizeof(int64_t) * (size_t)s->view->rank + sizeof(uint64_t);
    if (head + len > INT_MAX) { /* MPI counts are ints */
        iti_buf_free(enc);
        return iti_error(IT_EINVAL, "it_mpi_fill: a chunk of %zu encoded bytes is too large to "
                         "send (at most %d); use smaller chunks", len, INT_MAX - (int)head);
    }
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
        if (!msg) /* a message MPI holds cannot be left unreceived: the job cannot go on */
            MPI_Abort(comm, IT_ENOMEM);
        MPI_Recv(msg, words, MPI_INT64_T, 0, TAG_UNIT, comm, MPI_STATUS_IGNORE);
        size_t n = msg && words > 0 ? (size_t)msg[0] : 0;
        iti_coord *chunks = n ? calloc(n, sizeof *chunks) : NULL;
        for (size_t i = 0; chunks && i < n; i++)
            memcpy(chunks[i].v, &msg[1 + i * (size_t)v->rank], sizeof(int64_t) * (size_t)v->rank);
        free(msg);
        if (n == 0)
            break;
        int rc = chunks ? compute_unit(t, chunks, n, send_chunk, &snd)
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
