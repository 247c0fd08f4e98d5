/* Checks of HDF5 structures read from files, made before HDF5 itself parses them, for the
 * places where HDF5 1.10.8 trusts the file (a crafted global heap makes it loop forever or copy
 * past its buffers). */
#ifndef IT_HDF5_GUARD_H
#define IT_HDF5_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Validates a global heap collection read at file address addr (buf holds size bytes, maybe
 * only the first part of the collection). With size_bytes the file's "size of lengths" (8 in
 * every file HDF5 writes by default). False, with a reason in why, when the collection's
 * declared size leaves the file or its objects do not tile it exactly as HDF5 walks them. */
bool it_h5_guard_gheap(const unsigned char *buf, size_t size, uint64_t eof, uint64_t addr,
                       int size_bytes, char *why, size_t why_size);

/* Validates an object header image (a first chunk, whose prefix may be cut short by HDF5's
 * speculative read, or a continuation chunk) of a file with the given "size of lengths":
 * false, with a reason, when an attribute message declares a name, datatype, dataspace or data
 * larger than the message holds (HDF5 1.10.8 copies them out of the image unchecked). Messages
 * HDF5 itself would reject are left to it. */
bool it_h5_guard_ohdr(const unsigned char *buf, size_t size, int size_bytes, char *why,
                      size_t why_size);

/* Reads the "size of lengths" field of a superblock image; 0 when buf is not a superblock. */
int it_h5_guard_superblock_lengths(const unsigned char *buf, size_t size);

#endif
