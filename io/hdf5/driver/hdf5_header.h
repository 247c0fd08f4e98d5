/* The store header: the first 4096 bytes of a store file (format 3), an HDF5 user block that
 * HDF5 leaves alone, holding the store's identity and the state of its commits. It is what
 * makes a store's journal part of the file (hdf5_vfd.h): whatever name, link or copy a store
 * is opened by, the header says whether a commit was being applied and where its journal is.
 *
 * Two slots, at offsets 0 and 2048, each a record (integers little-endian):
 *   0  "ITSTORE1"
 *   8  store id: 16 random bytes chosen when the store is created
 *  24  generation (u64): one more at every write of the header; it goes to slot gen % 2
 *  32  sequence number of the last commit begun (u64)
 *  40  state (u32): 0 committed, 1 applying the journal at [journal, journal + length)
 *  44  0 (u32)
 *  48  the file's size after that commit (u64)
 *  56  journal offset (u64), 64 journal length (u64): state 1 only, 0 otherwise
 *  72  CRC-32 of bytes 0..71 (u32)
 * The valid record of the higher generation is the header: a write torn by a kill or a power
 * cut leaves the previous one, which describes the state before that write. Bytes 1024..1331
 * hold the writer's progress record (below); the rest of the 4096 bytes are zero. */
#ifndef ITI_HDF5_HEADER_H
#define ITI_HDF5_HEADER_H

#include <stdbool.h>
#include <stdint.h>

#define ITI_HEADER_SIZE 4096 /* the user block: a power of two of at least 512 (HDF5), and a
                                file-system block, so a store's HDF5 part can share blocks */
#define ITI_HEADER_MAGIC "ITSTORE1"

enum { ITI_HEADER_COMMITTED = 0, ITI_HEADER_APPLYING = 1 };

typedef struct iti_header {
    unsigned char id[16];
    uint64_t gen;
    uint64_t seq;
    uint32_t state;
    uint64_t size;
    uint64_t journal, journal_len;
} iti_header;

/* A header for a new store: a fresh random id, sequence 0, committed at size. 0 or an errno. */
int iti_header_new(iti_header *h, uint64_t size);

/* Reads the header of the file open as fd. 1: a valid header (*h); 0: the file has none (no
 * magic: a store of format 1 or 2, an export, another HDF5 file); -EBADMSG: the magic is there
 * but the record is damaged; -errno when it cannot be read. */
int iti_header_read(int fd, iti_header *h);

/* Writes h into the file open as fd, one generation on (h->gen is incremented). 0 or an
 * errno. */
int iti_header_write(int fd, iti_header *h);

/* The whole user block of a new store: h's record, then zeros. */
void iti_header_encode(const iti_header *h, unsigned char block[ITI_HEADER_SIZE]);

/* The progress record at offset 1024 of the header block: what the store's writer is
 * computing, for other processes (itensor info). The writer rewrites it as a read or fill makes
 * blocks final; it is not part of any commit (zeros: none was ever written). Little-endian:
 *   0 "ITPROG01", 8 writer's pid (u32), 12 state (u32: 1 running, 2 ended), 16 chunks done
 *   (u64), 24 chunks in all (u64), 32 started, 40 updated (u64, ns since the Unix epoch),
 *   48 the tensor id (256 bytes, NUL-padded), 304 CRC-32 of bytes 0..303 (u32). */
#define ITI_PROGRESS_AT 1024
#define ITI_PROGRESS_SIZE 308
enum { ITI_PROGRESS_RUNNING = 1, ITI_PROGRESS_ENDED = 2 };

typedef struct iti_progress {
    uint32_t pid, state;
    uint64_t done, total, started, updated;
    char id[256];
} iti_progress;

/* Writes p into the file open as fd. 0 or an errno. */
int iti_progress_write(int fd, const iti_progress *p);
/* Reads the record: 1 (*p), 0 none, -EBADMSG damaged (a write torn by a kill), -errno. */
int iti_progress_read(int fd, iti_progress *p);

#endif
