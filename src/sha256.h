/* SHA-256 (FIPS 180-4) of a byte string, as 64 lowercase hex digits: the digest a store records
 * of a tensor's weight array, so that any tool (Python's hashlib, sha256sum) can check it. */
#ifndef ITI_SHA256_H
#define ITI_SHA256_H

#include <stddef.h>

#define ITI_SHA256_HEX 65 /* 64 digits and the NUL */

void iti_sha256_hex(const void *data, size_t len, char out[ITI_SHA256_HEX]);

#endif
