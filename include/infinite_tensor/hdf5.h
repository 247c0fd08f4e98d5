/* infinite-tensor: the HDF5 tile store.
 *
 * Every tensor of a store is one group /tensors/<id> of one HDF5 file, holding its metadata as
 * attributes and ONE sparse chunked dataset `data` with unlimited infinite dimensions: chunks
 * that were never computed take no space. The format is specified in io/FORMAT.md; h5py reads
 * the data directly (`f['tensors/<id>/data']`, pixel = index + attribute `origin`).
 *
 * Chunks are written whole and final, compressed (shuffle + deflate) on the context's pool, and
 * the file is flushed after every finished block of a read or fill. Every flush is an atomic
 * commit (through a redo journal kept inside the file and named by its store header, so every
 * name or link of a store finds an interrupted commit): after a kill, or a
 * failed write (full disk, I/O error), the file holds exactly the last commit, every stored
 * chunk is correct, and the next run computes only what is missing. After a failed write the
 * store writes nothing more: every later call returns that error, and closing is safe. HDF5
 * errors never print; they come back as IT_E* codes with the detail in a one-line message.
 * README "Guarantees" says what holds and what does not. */
#ifndef INFINITE_TENSOR_HDF5_H
#define INFINITE_TENSOR_HDF5_H

#include "infinite_tensor/tensor.h"

typedef enum it_hdf5_mode {
    IT_HDF5_CREATE = 0,   /* create, truncating an existing file */
    IT_HDF5_READWRITE,    /* open for reading and writing, creating the file if missing */
    IT_HDF5_READONLY      /* open an existing store for reading only */
} it_hdf5_mode;

typedef struct it_hdf5_options {
    size_t struct_size;     /* sizeof the struct as the caller's header declares it: set by
                               it_hdf5_options_init; the library refuses other sizes (IT_EINVAL), so a
                               newer library never reads fields an older caller lacks */
    int compression_level;  /* level of `compression` for new tensors (see it_compression);
                               0 = the codec's default; -1 = no compression */
    size_t cache_bytes;     /* decoded-chunk cache limit; 0 = 64 MiB or an eighth of the
                               context's memory_budget, whichever is less */
    int sync;               /* 1: every flush ends with fdatasync (chunk data first, then the
                               metadata pointing at them), and a new file's directory entry is
                               synced: what a flush made durable survives power loss, not only
                               a killed process. 0 (default): durable against process death;
                               the OS writes back when it chooses. */
    int trusted;            /* 1: the caller vouches for the file. Needed for format-1 stores
                               (infinite-tensor 0.1), whose variable-length strings HDF5 1.10
                               reads through a global heap it does not check against crafted
                               files; opened for writing, such a store is converted to format 3
                               (all or nothing). 0 (default): format-1 stores are
                               refused with IT_EFORMAT. */
    it_compression compression; /* codec of new tensors (0 = deflate); a stored tensor keeps
                               the codec it was created with. IT_EINVAL when this build lacks
                               it (it_compression_available) */
    int checksum;           /* 1 (set by it_hdf5_options_init): every chunk of a new tensor ends
                               with HDF5's Fletcher-32 checksum (H5Z_FILTER_FLETCHER32, which
                               HDF5, h5py and netCDF check too), so a damaged chunk reads as
                               IT_EFORMAT, whatever the codec. 0: no checksum (the format of
                               0.2; lz4, zstd and none then cannot tell damage). A stored tensor
                               keeps what it was created with. */
    int map;                /* 1 (read-only opens only): uncompressed chunks go to chunk views
                               (views.h) and reads straight from a read-only mapping of the
                               file, without a copy (their checksum checked once). The store
                               then keeps the file's shared lock while open, as readers of
                               0.2 did: no writer opens it meanwhile, so the file cannot shrink
                               under the mapping. 0 (default): chunks are read into the
                               decoded-chunk cache, and writers may come (live reading). */
} it_hdf5_options;

#ifdef __cplusplus
extern "C" {
#endif

IT_API void it_hdf5_options_init(it_hdf5_options *opts);

/* Opens (or creates) an HDF5 tile store at path on ctx (opts may be NULL). A new file is built
 * under a temporary name beside path and renamed into place, so a failed creation leaves
 * nothing (IT_HDF5_CREATE replaces an existing file only with a complete new store). The file
 * is locked while the store is open: exclusively for writers, shared for readers.
 * Errors: IT_EINVAL (NULL arguments, bad mode, level or sync), IT_ELOCKED (another process
 * holds the file, or this process has it open for writing, or opens it for writing while it
 * is open), IT_ENOSPC (no space to create or recover it), IT_EIO (cannot create, open or read
 * the file; the OS error in the message), IT_EFORMAT (not an HDF5 file, damaged, an HDF5 file
 * of another layout, a crafted structure the library refuses to let HDF5 parse, or a format-1
 * store without opts->trusted, a journal that is not one a commit writes), IT_ENOMEM. A
 * commit a writer left half applied is completed (into the file by writers, in memory by
 * readers). A store of format 1 or 2 (library 0.1, 0.2) opened for writing is converted to
 * format 3 first: a copy with a store header replaces it (it needs the store's size free, or
 * shares blocks where the file system can; other hard links keep the old file). No file
 * beside the store is written; a new store is renamed into place only if no other process
 * created one there meanwhile (IT_HDF5_READWRITE then opens that one), and IT_HDF5_CREATE
 * replaces a store only while no process has it open (IT_ELOCKED). */
IT_API int it_store_open_hdf5(it_ctx *ctx, const char *path, it_hdf5_mode mode,
                              const it_hdf5_options *opts, it_store **out);

/* How the chunk index of a stored tensor (the list that ls, stats and
 * it_tensor_foreach_chunk read) compares with HDF5's own chunk B-tree of its data set, which
 * decides what is stored. The library commits both in every flush, so in stores of format 2
 * and 3 they
 * are equal unless another program edited the file. Format-1 stores (whose flushes a crash
 * could tear) are checked when first listed: rows whose chunk the B-tree lacks are dropped.
 * Chunks the index lacks are still read (reads ask the B-tree). itensor verify reports any
 * difference. */
typedef struct it_hdf5_index_report {
    uint64_t indexed;    /* rows of the chunk index on disk */
    uint64_t stale;      /* rows whose chunk the B-tree does not hold (not listed) */
    uint64_t stored;     /* chunks in the B-tree */
    uint64_t unindexed;  /* stored chunks missing from the listing */
} it_hdf5_index_report;

/* Fills out for tensor t of an HDF5 store (IT_EINVAL for other stores). Looks every row up in
 * the B-tree (under a microsecond each) and walks the B-tree once. */
IT_API int it_hdf5_check_index(it_tensor *t, it_hdf5_index_report *out);

/* Where and how an HDF5 store keeps a tensor: what an h5py or HDF5 user needs to read it. */
typedef struct it_hdf5_layout {
    char data_path[IT_ID_MAX + 32]; /* "/tensors/<id>/data" */
    char index_path[IT_ID_MAX + 32];/* "/tensors/<id>/chunks": coordinates of computed chunks */
    int rank;
    int64_t origin[IT_MAX_RANK];    /* pixel x along dimension d is data set index x - origin[d] */
    int64_t extent[IT_MAX_RANK];    /* the data set's current dimensions */
    int64_t chunk[IT_MAX_RANK];     /* HDF5 chunk shape */
    it_compression compression;     /* the tensor's codec (see it_compression for readers) */
    int compression_level;          /* 0 for none */
    int checksum;                   /* 1: each stored chunk ends with HDF5's Fletcher-32 checksum
                                       (H5Z_FILTER_FLETCHER32, the last filter: tensors created
                                       since format 3); HDF5 and h5py check it when reading */
} it_hdf5_layout;

/* Fills out for tensor t of an HDF5 store (IT_EINVAL for other stores). */
IT_API int it_hdf5_tensor_layout(it_tensor *t, it_hdf5_layout *out);

/* What the writer of a store computes now, as another process sees it. */
typedef struct it_hdf5_progress {
    int running;                    /* 1: a writer has the store and a read or fill running */
    char id[IT_ID_MAX + 1];         /* the tensor it computes */
    uint64_t done, total;           /* chunks made final of the read or fill, and in all */
    int64_t pid;                    /* the writer's process id (on its host) */
    uint64_t started_ns, updated_ns;/* when it started and last reported (ns since the Unix
                                       epoch; reported at most every 100 ms) */
} it_hdf5_progress;

/* Reads the progress record of the store at path without opening the store (any process, any
 * time: it takes no lock a writer or reader waits for). Returns 1 with *out filled while a
 * writer has the store and a read or fill running; 0 when none does (no writer, a writer between
 * reads, or a system without open-file-description locks); IT_ENOTFOUND, IT_EIO, IT_EFORMAT (no
 * store header: not a store of format 3). */
IT_API int it_hdf5_writer_progress(const char *path, it_hdf5_progress *out);

/* What it_hdf5_compact did. */
typedef struct it_hdf5_compact_info {
    uint64_t bytes_before;       /* the store file's size before */
    uint64_t bytes_after;        /* and after */
    int tensors;                 /* tensors copied */
} it_hdf5_compact_info;

/* Rewrites the store at path without the space HDF5 leaves behind (deleted tensors, rewritten
 * metadata: HDF5 never shrinks a file): every tensor's group is copied as stored (chunks are
 * not decoded) into a new store beside it, which is committed, synced and renamed over path
 * while the old store's writer lock is held, so no writer changes it meanwhile. A failure
 * leaves the store as it was; a kill leaves it whole, as it was or compacted (and at most a
 * temporary file "<path>.compact-*" beside it). A symbolic link at path is followed: the store
 * it names is compacted, keeping its permission bits.
 * Opens the store for writing, so a store of format 1 or 2 is converted as any writer's open
 * converts it. Readers that have the old file open keep reading it; live readers must reopen
 * the store to see what writers commit after the compaction. info may be NULL.
 * Errors: IT_EINVAL, IT_ENOTFOUND (no such file), IT_ELOCKED (a writer has the store open, this
 * process included), IT_EFORMAT, IT_ENOSPC (the copy needs room for the store's live data),
 * IT_EIO, IT_ENOMEM. */
IT_API int it_hdf5_compact(it_ctx *ctx, const char *path, it_hdf5_compact_info *info);

#ifdef __cplusplus
}
#endif
#endif
