/* libFuzzer target: any text as a region ("0:3,-512:512,0:1024:2"), parsed against a tensor
 * shape taken from the first bytes. A status and a one-line message, never a crash; a parsed
 * region has steps >= 1 (bounds are the readers' to check) and a countable size. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "infinite_tensor.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    if (size < 2)
        return 0;
    int rank = 1 + data[0] % IT_MAX_RANK;
    int64_t shape[IT_MAX_RANK];
    for (int d = 0; d < rank; d++)
        shape[d] = (data[1] >> (d % 8)) & 1 ? IT_INF : 1 + (int64_t)(data[1] * 977 + d * 131) % 4096;
    char *text = malloc(size - 1);
    if (!text)
        return 0;
    memcpy(text, data + 2, size - 2);
    text[size - 2] = 0;
    it_region r;
    int rc = it_region_parse(text, rank, shape, &r);
    if (rc == 0) {
        for (int d = 0; d < rank; d++)
            if (r.step[d] < 1)
                abort();
        size_t n;
        it_region_count(&r, &n);
    } else if (strchr(it_last_error(), '\n')) {
        abort(); /* messages are one line */
    }
    free(text);
    return 0;
}
