/* Checks of HDF5 structures read from files, made before HDF5 itself parses them, for the
 * places where HDF5 1.10.8 trusts the file (a crafted global heap makes it loop forever or copy
 * past its buffers) and where a build of HDF5 with assertions enabled (Debian's 2.2) aborts. */
#ifndef ITI_HDF5_GUARD_H
#define ITI_HDF5_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>


/* The 8 bytes that begin an HDF5 superblock (at offset 0, 512, 1024, 2048, ...). */
#define ITI_H5_SIGNATURE "\x89HDF\r\n\x1a\n"

/* 1 when path starts with the HDF5 signature at offset 0 or at 512, 1024, 2048, ... (a user
 * block), 0 when it does not, or a negative IT_E* code with the OS error when it cannot be read. */
int iti_h5_file_is_hdf5(const char *path);

/* The sizes of addresses and lengths in a file (its superblock's "size of offsets" and
 * "size of lengths"), and its end.
 *
 * HDF5 loads a structure with a first read of a guessed length (512 bytes for object headers,
 * 4096 for global heaps) and, when the structure is longer, a second read of the rest only.
 * The checks below take a first read, or the whole image put together from both; each sets
 * *total to the length the structure declares (0 when not known), so the caller can tell that
 * a tail will follow. */
typedef struct iti_h5_sizes {
    int addr, len;
    uint64_t eof;
} iti_h5_sizes;

/* Addresses that checked structures named, with a kind each (IT_H5_CHUNK_*,
 * IT_H5_BTREE_CHUNK + dimensionality): a sorted array. Zero-initialised is empty. */
typedef struct iti_h5_notes {
    struct iti_h5_note {
        uint64_t addr;
        int kind;
    } *v;
    size_t n, cap;
} iti_h5_notes;

/* Records (or re-kinds) addr; false when out of memory (nothing recorded). */
bool iti_h5_notes_put(iti_h5_notes *s, uint64_t addr, int kind);
/* The kind recorded for addr, 0 when none (IT_H5_FIRST_CHUNK). */
int iti_h5_notes_get(const iti_h5_notes *s, uint64_t addr);
void iti_h5_notes_free(iti_h5_notes *s);

/* Validates a global heap collection read at file address addr (buf holds size bytes, maybe
 * only the first part of the collection): false, with a reason in why, when the collection's
 * declared size leaves the file or its objects do not tile it exactly as HDF5 walks them. */
bool iti_h5_guard_gheap(const unsigned char *buf, size_t size, uint64_t addr, const iti_h5_sizes *z,
                       uint64_t *total, char *why, size_t why_size);

/* Validates an object header image read at addr: a first chunk (its size may be cut short
 * by HDF5's speculative read), or, with continuation, a chunk a continuation message named.
 * False, with a reason, when the header's first chunk or a continuation it names leaves the
 * file, or when an attribute message declares a name, datatype, dataspace or data larger than
 * the message holds (HDF5 1.10.8 sizes buffers and copies by these numbers unchecked).
 * note(arg, address, kind) is called for every continuation the image names. Messages HDF5
 * itself rejects are left to it. */
bool iti_h5_guard_ohdr(const unsigned char *buf, size_t size, uint64_t addr, const iti_h5_sizes *z,
                      int continuation, void (*note)(void *arg, uint64_t addr, int kind),
                      void *arg, uint64_t *total, char *why, size_t why_size);

/* Kinds of continuation chunks (note's kind, and iti_h5_guard_ohdr's continuation): not one
 * (0), a version-1 chunk, a version-2 chunk without or with creation order in its message
 * headers. */
enum { IT_H5_FIRST_CHUNK, IT_H5_CHUNK_V1, IT_H5_CHUNK_V2, IT_H5_CHUNK_V2_ORDER };

/* Kinds of B-tree nodes (note's kind): a version-1 B-tree of chunks whose keys hold
 * `dimensionality` offsets (the layout message's, the data set's rank + 1) is
 * IT_H5_BTREE_CHUNK + dimensionality. Object headers note the root of each chunked data set's
 * B-tree from its layout message (versions 1 to 3; version 4 indexes chunks otherwise). */
enum { IT_H5_BTREE_CHUNK = 0x100 };

/* A version-1 B-tree node of chunks ("TREE", node type 1) whose keys hold dimensionality
 * offsets: false, with a reason, when a used entry's key declares a chunk of 0 bytes (HDF5
 * asserts that a stored chunk has bytes: a build with assertions enabled, such as Debian's HDF5
 * 2.2, aborts; 1.10 and 1.14 go on). note(arg, address, kind) is called for every child of an
 * internal node. Nodes HDF5 itself refuses (signature, type, too many entries) are left to it. */
bool iti_h5_guard_btree_chunks(const unsigned char *buf, size_t size, const iti_h5_sizes *z,
                              int dimensionality, void (*note)(void *arg, uint64_t addr, int kind),
                              void *arg, char *why, size_t why_size);

/* A local heap header ("HEAP"): false when its data segment leaves the file. Sets *segment,
 * *segment_size and *free_head for iti_h5_guard_lheap_free (*segment_size 0 when buf is not a
 * heap header). */
bool iti_h5_guard_lheap(const unsigned char *buf, size_t size, const iti_h5_sizes *z,
                       uint64_t *segment, uint64_t *segment_size, uint64_t *free_head, char *why,
                       size_t why_size);

/* Walks a local heap's free list through its data segment as HDF5 will (which follows it with
 * no check for a cycle, allocating a node per block): false when a block leaves the segment or
 * the list is longer than the segment can hold (a loop). */
bool iti_h5_guard_lheap_free(const unsigned char *segment, uint64_t segment_size,
                            uint64_t free_head, const iti_h5_sizes *z, char *why, size_t why_size);

/* A superblock read at addr: the superblock itself (its sizes of offsets and lengths go into
 * z), or a driver information block, which must lie inside the file (HDF5 sizes a buffer by
 * its length). False, with a reason, otherwise. */
bool iti_h5_guard_superblock(const unsigned char *buf, size_t size, uint64_t addr, iti_h5_sizes *z,
                            uint64_t *total, char *why, size_t why_size);



#endif
