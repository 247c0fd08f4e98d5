/* libFuzzer target: any bytes as a stored chunk of each codec. The first byte picks the codec
 * of the table and element size (and, from 128 on, a Fletcher-32 checksum after the encoding), the second
 * the chunk size; the rest is the encoded chunk, as read from a
 * file. Decoding returns 0 or IT_EFORMAT, never crashes or writes past the chunk; what decodes
 * encodes again and decodes to the same bytes. */
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "codec/codec.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    if (size < 2)
        return 0;
    iti_codec c;
    if (iti_codec_resolve((it_compression)(data[0] % IT_COMPRESSION_COUNT), 0, "fuzz", &c))
        return 0; /* a codec this build lacks */
    c.checksum = data[0] >= 128;
    size_t esize = (size_t)1 << (data[0] / IT_COMPRESSION_COUNT % 4);
    size_t n = 256 * ((size_t)data[1] + 1);
    unsigned char *out = malloc(n), *scratch = malloc(n), *again = malloc(n);
    if (!out || !scratch || !again)
        abort();
    int rc = iti_codec_decode(&c, data + 2, size - 2, esize, out, n, scratch);
    if (rc != 0 && rc != IT_EFORMAT)
        abort();
    if (rc == 0) {
        void *enc;
        size_t len;
        if (iti_codec_encode(&c, out, n, esize, &enc, &len) || len > iti_codec_bound(&c, n) ||
            iti_codec_decode(&c, enc, len, esize, again, n, scratch) || memcmp(again, out, n))
            abort();
        iti_buf_free(enc);
    }
    free(out);
    free(scratch);
    free(again);
    return 0;
}
