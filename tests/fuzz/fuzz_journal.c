/* libFuzzer target: the journal inside a store (io/hdf5/driver/hdf5_journal.h), as a writer would find it
 * after a crash. A small valid store (made at start-up) gets the input as the body of a journal
 * past its end (old and new sizes, extent count, extents), framed as the store's own would be:
 * its magic, the store's id and the next commit's number before it, its CRC-32 and end mark
 * after it, and the store header set to name it. The store is then opened for writing, which
 * applies the journal or refuses it, and walked read-only. Whatever the body, every call
 * returns a status; nothing writes outside the file's committed part and the journal's bounds,
 * reads past a buffer or allocates absurd sizes. */
#define _POSIX_C_SOURCE 200809L /* fileno */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "fuzz_walk.h"
#include "hdf5/driver/hdf5_header.h"

static char path[64];
static unsigned char *template_bytes;
static size_t template_size;

static void make_template(void) {
    it_store *s;
    it_tensor *t;
    int64_t w[2] = {8, 8}, a[2] = {-16, -16}, z[2] = {16, 16};
    it_tensor_desc d;
    it_tensor_desc_init(&d, 2);
    d.id = "t";
    d.shape[0] = d.shape[1] = IT_INF;
    it_window_init(&d.window, 2, w);
    d.chunk[0] = d.chunk[1] = 8;
    d.fn = fuzz_ramp_fn;
    it_region r;
    it_region_set(&r, 2, a, z, NULL);
    if (it_store_open_hdf5(fuzz_ctx(), path, IT_HDF5_CREATE, NULL, &s) ||
        it_tensor_create(s, &d, &t) || it_tensor_fill(t, &r) || it_store_close(s))
        abort();
    template_bytes = fuzz_read_file(path, &template_size);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    if (!path[0]) {
        snprintf(path, sizeof path, "/dev/shm/it-fuzz-journal-%d.h5", (int)getpid());
        make_template();
    }
    if (size > 1 << 20)
        return 0;
    size_t at = (template_size + ITI_HEADER_SIZE - 1) / ITI_HEADER_SIZE * ITI_HEADER_SIZE;
    size_t len = 32 + size + 12; /* magic, id, sequence; the body; CRC-32 and end mark */
    unsigned char *file = calloc(1, at + len);
    memcpy(file, template_bytes, template_size);
    FILE *f = fopen(path, "w+b");
    iti_header h;
    int fd = fileno(f);
    fwrite(file, 1, at, f); /* the store, then its header rewritten below */
    fflush(f);
    if (iti_header_read(fd, &h) != 1)
        abort();
    unsigned char *j = file + at;
    memcpy(j, "ITJRNL03", 8);
    memcpy(j + 8, h.id, 16);
    uint64_t seq = h.seq + 1;
    for (int i = 0; i < 8; i++)
        j[24 + i] = (unsigned char)(seq >> 8 * i);
    memcpy(j + 32, data, size);
    uint32_t crc = (uint32_t)crc32(0L, j, (uInt)(32 + size));
    for (int i = 0; i < 4; i++)
        j[32 + size + i] = (unsigned char)(crc >> 8 * i);
    memcpy(j + 32 + size + 4, "ITJEND03", 8);
    fwrite(j, 1, len, f);
    fflush(f);
    uint64_t new_size = 0; /* the body's second field: what the header must say too */
    for (int i = 7; size >= 16 && i >= 0; i--)
        new_size = new_size << 8 | data[8 + i];
    h.seq = seq;
    h.state = ITI_HEADER_APPLYING;
    h.size = new_size >= ITI_HEADER_SIZE ? new_size : ITI_HEADER_SIZE;
    h.journal = at;
    h.journal_len = len;
    iti_header_write(fd, &h);
    fclose(f);
    free(file);
    it_store *s;
    if (it_store_open_hdf5(fuzz_ctx(), path, IT_HDF5_READWRITE, NULL, &s) == 0)
        it_store_close(s);
    fuzz_walk_store(fuzz_ctx(), path);
    unlink(path);
    return 0;
}
