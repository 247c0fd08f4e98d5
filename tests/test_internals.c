/* Unit suites of internal modules, against independent references: the chunk codecs against
 * plain zlib, liblz4 and libblosc + a byte shuffle written here, the LRU cache's pins, eviction order and drops of
 * pinned entries, and the pool's error propagation and thread indices. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>
#ifdef ITI_HAVE_LZ4
#include <lz4.h>
#endif
#ifdef ITI_HAVE_BLOSC
#include <blosc.h>
#endif

#include "engine.h"
#include "blend/blend.h"
#include "codec/codec.h"
#include "hdf5/hdf5_schema.h"
#include "test_util.h"

/* ---- codec ---------------------------------------------------------------------------------- */

/* HDF5's shuffle: byte k of element j at k*count + j. */
static void ref_shuffle(unsigned char *dst, const unsigned char *src, size_t n, size_t esize) {
    size_t count = n / esize;
    for (size_t j = 0; j < count; j++)
        for (size_t k = 0; k < esize; k++)
            dst[k * count + j] = src[j * esize + k];
}

/* Smooth values with noisy low bytes, like real fields. */
static void fill_field(unsigned char *buf, size_t n, uint32_t seed) {
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        buf[i] = (unsigned char)((i % 8 < 4) ? (seed >> 24) : (i / 64));
    }
}

/* Fletcher-32 as HDF5's filter computes it: one word at a time, both sums folded every 360
 * words and at the end. */
static uint32_t ref_fletcher32(const unsigned char *p, size_t len) {
    uint32_t s1 = 0, s2 = 0;
    size_t words = len / 2;
    while (words) {
        size_t run = words > 360 ? 360 : words;
        words -= run;
        for (size_t i = 0; i < run; i++, p += 2) {
            s1 += (uint32_t)p[0] << 8 | p[1];
            s2 += s1;
        }
        s1 = (s1 & 0xffff) + (s1 >> 16);
        s2 = (s2 & 0xffff) + (s2 >> 16);
    }
    if (len % 2) {
        s1 += (uint32_t)p[0] << 8;
        s2 += s1;
        s1 = (s1 & 0xffff) + (s1 >> 16);
        s2 = (s2 & 0xffff) + (s2 >> 16);
    }
    s1 = (s1 & 0xffff) + (s1 >> 16);
    s2 = (s2 & 0xffff) + (s2 >> 16);
    return s2 << 16 | s1;
}

/* The vectorised checksum equals the word-at-a-time one for every length around its block and
 * lane sizes, for zeros, all-ones (sums of 65535: HDF5 keeps 0xffff, not 0) and noise. */
static void test_fletcher32_matches_reference(void **state) {
    (void)state;
    const size_t max = 3 * 2 * 16 * 256 + 77;
    unsigned char *b = malloc(max);
    uint32_t seed = 1;
    for (int kind = 0; kind < 3; kind++) {
        for (size_t i = 0; i < max; i++) {
            seed = seed * 1664525u + 1013904223u;
            b[i] = kind == 0 ? 0 : kind == 1 ? 0xff : (unsigned char)(seed >> 24);
        }
        for (size_t len = 0; len < max; len += len < 100 ? 1 : 97)
            assert_int_equal(iti_fletcher32(b, len), ref_fletcher32(b, len));
        assert_int_equal(iti_fletcher32(b, max), ref_fletcher32(b, max));
    }
    free(b);
}

static void test_codec_matches_zlib_and_shuffle(void **state) {
    (void)state;
    static const size_t esizes[4] = {1, 2, 4, 8};
    const size_t n = 4096 * 8;
    unsigned char *src = malloc(n), *shuf = malloc(n), *back = malloc(n), *scratch = malloc(n);
    for (int e = 0; e < 4; e++) {
        size_t es = esizes[e];
        fill_field(src, n, (uint32_t)es);
        ref_shuffle(shuf, src, n, es);
        for (int level = 1; level <= 9; level += 4) {
            /* our encoding is zlib over the shuffled bytes: plain zlib decodes it */
            void *enc;
            size_t len;
            iti_codec c = {IT_COMPRESSION_DEFLATE, level, false};
            assert_int_equal(iti_codec_encode(&c, src, n, es, &enc, &len), 0);
            assert_true(len <= iti_codec_bound(&c, n));
            uLongf got = (uLongf)n;
            assert_int_equal(uncompress(back, &got, enc, (uLong)len), Z_OK);
            assert_int_equal(got, n);
            assert_memory_equal(back, shuf, n);
            iti_buf_free(enc);
            /* plain zlib over a reference shuffle decodes to the original */
            uLongf zlen = compressBound((uLong)n);
            unsigned char *z = malloc(zlen);
            assert_int_equal(compress2(z, &zlen, shuf, (uLong)n, level), Z_OK);
            memset(back, 0, n);
            assert_int_equal(iti_codec_decode(&c, z, zlen, es, back, n, scratch), 0);
            assert_memory_equal(back, src, n);
            /* damaged or short streams are format errors, not crashes */
            z[zlen / 2] ^= 0x5a;
            int rc = iti_codec_decode(&c, z, zlen, es, back, n, scratch);
            assert_true(rc == 0 || rc == IT_EFORMAT);
            assert_int_equal(iti_codec_decode(&c, z, zlen / 3, es, back, n, scratch), IT_EFORMAT);
            free(z);
        }
    }
    free(src);
    free(shuf);
    free(back);
    free(scratch);
}

/* Random, smooth and repetitive chunks each make a stream plain zlib decodes, none larger than
 * the bound; random data are not expanded beyond stored-block framing (stored, not deflated). */
static void test_codec_stream_kinds(void **state) {
    (void)state;
    const size_t n = 512 * 512 * 4;
    float *f = malloc(n);
    unsigned char *shuf = malloc(n), *back = malloc(n);
    uint32_t seed = 7;
    for (int kind = 0; kind < 3; kind++) {
        for (size_t i = 0; i < n / 4; i++) {
            seed = seed * 1664525u + 1013904223u;
            size_t y = i / 512, x = i % 512;
            f[i] = kind == 0 ? (float)seed / 4294967296.0f             /* noise */
                 : kind == 1 ? (float)(y * 0.37 + x * 0.11) + (float)(seed >> 28) * 1e-3f
                             : (float)(x ^ y);                          /* repetitive */
        }
        ref_shuffle(shuf, (unsigned char *)f, n, 4);
        void *enc;
        size_t len;
        iti_codec c = {IT_COMPRESSION_DEFLATE, 1, false};
        assert_int_equal(iti_codec_encode(&c, f, n, 4, &enc, &len), 0);
        assert_true(len <= iti_codec_bound(&c, n));
        uLongf got = (uLongf)n;
        assert_int_equal(uncompress(back, &got, enc, (uLong)len), Z_OK);
        assert_int_equal(got, n);
        assert_memory_equal(back, shuf, n);
        if (kind == 0)
            assert_true(len < n + n / 1000 + 64);
        if (kind == 2)
            assert_true(len < n / 8);
        iti_buf_free(enc);
    }
    free(f);
    free(shuf);
    free(back);
}

/* LZ4 and zstd chunks are what the filters' own libraries decode: our LZ4 framing parsed here
 * and each block inflated by liblz4, our Blosc frames by libblosc; our decoders invert them, and
 * damaged or truncated chunks are format errors, not crashes. */
static void check_codec(it_compression kind, const unsigned char *src, size_t n, size_t es) {
    iti_codec c;
    assert_int_equal(iti_codec_resolve(kind, 0, "test", &c), 0);
    void *enc;
    size_t len;
    assert_int_equal(iti_codec_encode(&c, src, n, es, &enc, &len), 0);
    assert_true(len <= iti_codec_bound(&c, n));
    unsigned char *back = malloc(n), *scratch = malloc(n), *ref = malloc(n);
#ifdef ITI_HAVE_LZ4
    if (kind == IT_COMPRESSION_LZ4) { /* 8-byte size, 4-byte block size, blocks (big-endian) */
        const unsigned char *e = enc;
        uint64_t total = 0;
        for (int i = 0; i < 8; i++)
            total = total << 8 | e[i];
        size_t block = (size_t)e[8] << 24 | (size_t)e[9] << 16 | (size_t)e[10] << 8 | e[11];
        assert_int_equal(total, n);
        assert_int_equal(block, n); /* one block per chunk */
        size_t bl = (size_t)e[12] << 24 | (size_t)e[13] << 16 | (size_t)e[14] << 8 | e[15];
        assert_int_equal(16 + bl, len);
        unsigned char *shuf = malloc(n);
        if (bl == n)
            memcpy(shuf, e + 16, n);
        else
            assert_int_equal(LZ4_decompress_safe((const char *)e + 16, (char *)shuf, (int)bl, (int)n), (int)n);
        ref_shuffle(ref, src, n, es);
        assert_memory_equal(shuf, ref, n);
        free(shuf);
    }
#endif
#ifdef ITI_HAVE_BLOSC
    if (kind == IT_COMPRESSION_ZSTD) {
        assert_int_equal(blosc_decompress_ctx(enc, ref, n, 1), (int)n);
        assert_memory_equal(ref, src, n);
        assert_string_equal(blosc_cbuffer_complib(enc), "Zstd");
    }
#endif
    assert_int_equal(iti_codec_decode(&c, enc, len, es, back, n, scratch), 0);
    assert_memory_equal(back, src, n);
    assert_int_equal(iti_codec_decode(&c, enc, len / 3, es, back, n, scratch), IT_EFORMAT);
    assert_int_equal(iti_codec_decode(&c, enc, len, es, back, n / 2, scratch), IT_EFORMAT);
    unsigned char *bad = malloc(len);
    for (size_t at = 0; at < len; at += len / 7 + 1) {
        memcpy(bad, enc, len);
        bad[at] ^= 0x5a;
        int rc = iti_codec_decode(&c, bad, len, es, back, n, scratch);
        assert_true(rc == 0 || rc == IT_EFORMAT);
    }
    free(bad);
    iti_buf_free(enc);
    free(back);
    free(scratch);
    free(ref);
}

/* Every compressing codec of the table: what its library decodes (above), our decoder inverts,
 * for each element size, on smooth data and on noise; codecs this build lacks are refused. */
static void test_codec_every_row(void **state) {
    (void)state;
    const size_t n = 4096 * 8;
    unsigned char *src = malloc(n);
    for (int k = 0; k < IT_COMPRESSION_COUNT; k++) {
        const iti_codec_row *r = iti_codec_table[k];
        if (!r->compresses)
            continue;
        if (!r->available) {
            iti_codec c;
            print_message("%s not in this build: checking that it is refused\n", r->name);
            assert_int_equal(iti_codec_resolve(r->id, 0, "test", &c), IT_EINVAL);
            assert_non_null(strstr(it_last_error(), r->package));
            continue;
        }
        for (size_t es = 1; es <= 8; es *= 2) {
            fill_field(src, n, (uint32_t)es);
            check_codec(r->id, src, n, es);
            uint32_t seed = 3; /* noise: stored as it is, still decodable */
            for (size_t i = 0; i < n; i++)
                src[i] = (unsigned char)((seed = seed * 1664525u + 1013904223u) >> 24);
            check_codec(r->id, src, n, es);
        }
    }
    free(src);
}

/* The codec table: one row per it_compression at its index with a unique name, what the public
 * API says of each, an engine for every codec the build has, levels that resolve, and filter
 * client values that give back the level they were made from where the filter records one. */
static void test_codec_table(void **state) {
    (void)state;
    for (int k = 0; k < IT_COMPRESSION_COUNT; k++) {
        const iti_codec_row *r = iti_codec_table[k];
        assert_non_null(r);
        assert_int_equal(r->id, k);
        for (int j = 0; j < k; j++)
            assert_string_not_equal(iti_codec_table[j]->name, r->name);
        it_compression parsed;
        assert_int_equal(it_compression_parse(r->name, &parsed), 0);
        assert_int_equal(parsed, k);
        it_codec_info info;
        assert_int_equal(it_compression_info(r->id, &info), 0);
        assert_string_equal(info.name, r->name);
        assert_int_equal(info.available, r->available);
        assert_int_equal(info.max_level, r->max_level);
        assert_int_equal(info.needs_plugin, r->filter >= 256);
        assert_true(r->available ? info.package == NULL : info.package == r->package);
        if (!r->compresses) {
            assert_int_equal(r->max_level, 0);
            continue;
        }
        assert_true(r->default_level >= 1 && r->default_level <= r->max_level);
        assert_true(r->filter > 0 && r->filter_values && r->filter_level && r->package);
        assert_true(!r->available || (r->encode && r->decode && r->bound));
        for (int level = 1; level <= r->max_level; level++) {
            unsigned values[8];
            size_t nv = r->filter_values(level, 4, 4096, values);
            assert_true(nv <= 8);
            assert_int_equal(r->filter_level(values, nv), nv == 0 ? 1 : level);
            iti_codec c;
            assert_int_equal(iti_codec_resolve(r->id, level, "test", &c), r->available ? 0 : IT_EINVAL);
        }
    }
    it_codec_info info;
    assert_int_equal(it_compression_info(IT_COMPRESSION_COUNT, &info), IT_EINVAL);
    assert_int_equal(it_compression_info(IT_COMPRESSION_DEFLATE, NULL), IT_EINVAL);
}

/* The blend table: one row per it_blend at its index with a unique name that parses back, a
 * kernel for every dtype, and a scratch for the blends that keep counts or sums. */
static void test_blend_table(void **state) {
    (void)state;
    for (int b = 0; b < IT_BLEND_COUNT_; b++) {
        const iti_blend_kind *k = iti_blend_table[b];
        assert_non_null(k);
        assert_int_equal(k->id, b);
        assert_string_equal(it_blend_name(k->id), k->name);
        it_blend parsed;
        assert_int_equal(it_blend_parse(k->name, &parsed), 0);
        assert_int_equal(parsed, b);
        for (int j = 0; j < b; j++)
            assert_string_not_equal(iti_blend_table[j]->name, k->name);
        for (int d = 0; d < IT_DTYPE_COUNT; d++)
            assert_non_null(k->row[d]);
        /* what finish or a user function reads beyond the accumulator lives in the scratch */
        assert_true(!k->takes_fn || k->scratch_bytes >= sizeof(uint32_t));
        assert_true(k->acc_start != ITI_ACC_UNSET || k->finish);
    }
    assert_null(iti_blend_of(IT_BLEND_COUNT_));
    assert_null(it_blend_name(IT_BLEND_COUNT_));
}

/* Chunks encoded elsewhere (distributed fills) enter a store through its interface: its
 * encoding, then put_encoded, which checks them (a damaged checksum, a wrong length: IT_EFORMAT,
 * nothing stored) and stores them as they are; read-only stores refuse. */
static void put_encoded_into(it_store *s, const char *id, bool damage_first) {
    golden_gen gen;
    it_tensor_desc d;
    golden_overlap_desc(&d, &gen);
    d.id = id;
    it_tensor *t;
    assert_int_equal(it_tensor_create(s, &d, &t), 0);
    iti_chunk_encoding e;
    assert_int_equal(iti_tensor_chunk_encoding(t, &e), 0);
    const iti_store_tensor *v = iti_tensor_view(t);
    size_t n = v->chunk_bytes;
    float *data = malloc(n);
    for (size_t i = 0; i < n / 4; i++)
        data[i] = (float)i * 0.25f;
    iti_codec codec = {e.codec, e.level, e.checksum};
    void *enc = NULL;
    size_t len = n;
    if (iti_codec_encodes(&codec))
        assert_int_equal(iti_codec_encode(&codec, data, n, 4, &enc, &len), 0);
    unsigned char *bytes = malloc(len);
    memcpy(bytes, enc ? enc : (void *)data, len);
    iti_buf_free(enc);
    iti_coord c = {{0}};
    if (damage_first) { /* a flipped byte: the checksum catches it */
        bytes[len / 2] ^= 0x10;
        assert_int_equal(iti_tensor_put_encoded(t, &c, bytes, len), IT_EFORMAT);
        bytes[len / 2] ^= 0x10;
    }
    assert_int_equal(iti_tensor_put_encoded(t, &c, bytes, len - 1), IT_EFORMAT);
    assert_int_equal(iti_tensor_has_chunk(t, &c), 0);
    assert_int_equal(iti_tensor_put_encoded(t, &c, bytes, len), 0);
    assert_int_equal(iti_tensor_has_chunk(t, &c), 1);
    int64_t lo[IT_MAX_RANK], hi[IT_MAX_RANK];
    iti_chunk_box(v, &c, lo, hi);
    it_region r = region2(lo[0], hi[0], lo[1], hi[1]);
    float *back = malloc(n);
    assert_int_equal(it_tensor_read(t, &r, back, n), 0);
    assert_memory_equal(back, data, n);
    it_tensor_counters k;
    it_tensor_get_counters(t, &k);
    assert_int_equal(k.chunks_computed, 0);
    it_tensor_release(t);
    free(back);
    free(bytes);
    free(data);
}

static void test_encoded_chunks_through_the_store(void **state) {
    (void)state;
    it_ctx *ctx;
    it_store *mem, *file;
    assert_int_equal(it_ctx_create(NULL, &ctx), 0);
    assert_int_equal(it_store_open_memory(ctx, NULL, &mem), 0);
    put_encoded_into(mem, "m", false);
    char dir[] = "/tmp/it-encoded-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/s.h5", dir);
    assert_int_equal(it_store_open_hdf5(ctx, path, IT_HDF5_CREATE, NULL, &file), 0);
    put_encoded_into(file, "h", true);
    assert_int_equal(it_store_close(file), 0);
    assert_int_equal(it_store_open_hdf5(ctx, path, IT_HDF5_READONLY, NULL, &file), 0);
    it_tensor *t;
    assert_int_equal(it_tensor_open(file, "h", 0, &t), 0);
    iti_chunk_encoding e;
    assert_int_equal(iti_tensor_chunk_encoding(t, &e), IT_EINVAL);
    assert_non_null(strstr(it_last_error(), "read-only"));
    it_tensor_release(t);
    it_store_close(file);
    it_store_close(mem);
    it_ctx_destroy(ctx);
    unlink(path);
    rmdir(dir);
}

/* io/FORMAT.md's table of tensor group attributes lists exactly what the schema writes, with
 * the same types: the table in the code is the one source, the document is held to it. */
typedef struct attr_list {
    char names[64][64], types[64][32];
    int n;
} attr_list;

static void add_listed(const iti_h5_attr_desc *a, void *user) {
    attr_list *l = user;
    assert_true(l->n < 64);
    snprintf(l->names[l->n], sizeof l->names[0], "%s", a->name);
    snprintf(l->types[l->n++], sizeof l->types[0], "%s", a->type);
}

/* The rows of the table after `heading`: each backticked name of the first cell (a/_b/_c: a,
 * then the prefix of a up to its last '_' followed by _b, _c) with the second cell's type. */
static void read_format_table(const char *heading, attr_list *l) {
    FILE *f = fopen(IT_TEST_DATA "/../../io/FORMAT.md", "r");
    assert_non_null(f);
    char line[2048];
    bool in = false;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "#", 1) == 0) {
            in = strncmp(line, heading, strlen(heading)) == 0;
            continue;
        }
        if (!in || line[0] != '|' || line[1] != ' ' || line[2] != '`')
            continue;
        char *cell = line + 2, *end = strchr(cell, '|'), *type = end + 1;
        *end = 0;
        char *tend = strchr(type, '|');
        *tend = 0;
        while (*type == ' ')
            type++;
        for (char *t = type + strlen(type); t > type && t[-1] == ' ';)
            *--t = 0;
        for (char *q = strchr(cell, '`'); q; q = strchr(q + 1, '`')) {
            char *close = strchr(q + 1, '`');
            *close = 0;
            char *part = strtok(q + 1, "/"), first[64] = "";
            while (part) {
                assert_true(l->n < 64);
                if (!first[0]) {
                    snprintf(first, sizeof first, "%s", part);
                    snprintf(l->names[l->n], sizeof l->names[0], "%s", part);
                } else {
                    snprintf(l->names[l->n], sizeof l->names[0], "%.*s%s",
                             (int)(strrchr(first, '_') - first), first, part);
                }
                snprintf(l->types[l->n++], sizeof l->types[0], "%s", type);
                part = strtok(NULL, "/");
            }
            q = close;
        }
    }
    fclose(f);
}

static void test_format_md_lists_the_schema(void **state) {
    (void)state;
    attr_list code = {0}, doc = {0};
    iti_h5_schema_list(add_listed, &code);
    read_format_table("## Tensor group", &doc);
    assert_true(code.n > 20);
    for (int i = 0; i < code.n; i++) {
        int j = 0;
        while (j < doc.n && strcmp(doc.names[j], code.names[i]) != 0)
            j++;
        if (j == doc.n)
            fail_msg("io/FORMAT.md does not list the attribute %s", code.names[i]);
        if (strcmp(doc.types[j], code.types[i]) != 0)
            fail_msg("io/FORMAT.md gives %s the type %s, the schema writes %s", code.names[i],
                     doc.types[j], code.types[i]);
    }
    for (int j = 0; j < doc.n; j++) {
        int i = 0;
        while (i < code.n && strcmp(doc.names[j], code.names[i]) != 0)
            i++;
        if (i == code.n)
            fail_msg("io/FORMAT.md lists %s, which the schema does not write", doc.names[j]);
    }
    print_message("io/FORMAT.md lists the %d attributes the schema writes\n", code.n);
}

static void test_codec_options(void **state) {
    (void)state;
    iti_codec c;
    assert_int_equal(iti_codec_resolve(IT_COMPRESSION_DEFLATE, 0, "f", &c), 0);
    assert_int_equal(c.level, 1);
    assert_int_equal(iti_codec_resolve(IT_COMPRESSION_ZSTD, -1, "f", &c), 0);
    assert_int_equal(c.kind, IT_COMPRESSION_NONE);
    assert_int_equal(iti_codec_resolve(IT_COMPRESSION_DEFLATE, 10, "f", &c), IT_EINVAL);
    assert_int_equal(iti_codec_resolve(IT_COMPRESSION_NONE, 3, "f", &c), IT_EINVAL);
    assert_int_equal(iti_codec_resolve((it_compression)9, 0, "f", &c), IT_EINVAL);
    assert_non_null(strstr(it_last_error(), "it_compression"));
    it_compression k;
    assert_int_equal(it_compression_parse("zstd", &k), 0);
    assert_int_equal(k, IT_COMPRESSION_ZSTD);
    assert_int_equal(it_compression_parse("gzip", &k), IT_EINVAL);
    assert_string_equal(it_compression_name(IT_COMPRESSION_LZ4), "lz4");
    assert_null(it_compression_name(IT_COMPRESSION_COUNT));
}

/* ---- cache ---------------------------------------------------------------------------------- */

static iti_coord key(int64_t v) {
    iti_coord c;
    memset(&c, 0, sizeof c);
    c.v[0] = v;
    return c;
}

static void put_released(iti_cache *c, int64_t k, size_t bytes) {
    iti_coord kc = key(k);
    void *buf = iti_buf_alloc(bytes);
    memset(buf, (int)k, bytes);
    iti_cache_entry *e = iti_cache_put(c, 1, &kc, buf);
    assert_non_null(e);
    iti_cache_release(c, e);
}

static bool has(iti_cache *c, int64_t k) {
    iti_coord kc = key(k);
    return iti_cache_contains(c, 1, &kc);
}

static void test_cache_lru_order(void **state) {
    (void)state;
    iti_cache *c;
    assert_int_equal(iti_cache_create(3 * 1024, &c), 0);
    put_released(c, 1, 1024);
    put_released(c, 2, 1024);
    put_released(c, 3, 1024);
    put_released(c, 4, 1024); /* evicts 1, the least recently used */
    assert_false(has(c, 1));
    assert_true(has(c, 2) && has(c, 3) && has(c, 4));
    iti_coord k2 = key(2);
    iti_cache_release(c, iti_cache_get(c, 1, &k2)); /* 2 becomes the most recent */
    put_released(c, 5, 1024);                     /* evicts 3 */
    assert_false(has(c, 3));
    assert_true(has(c, 2) && has(c, 4) && has(c, 5));
    assert_true(iti_cache_bytes(c) <= 3 * 1024);
    iti_cache_destroy(c);
}

static void test_cache_pins_and_drops(void **state) {
    (void)state;
    iti_cache *c;
    assert_int_equal(iti_cache_create(2 * 1024, &c), 0);
    iti_coord k1 = key(1);
    put_released(c, 1, 1024);
    iti_cache_entry *pinned = iti_cache_get(c, 1, &k1);
    assert_non_null(pinned);
    put_released(c, 2, 1024);
    put_released(c, 3, 1024); /* over the limit, but 1 is pinned: 2 goes */
    assert_true(has(c, 1));
    assert_false(has(c, 2));
    /* a drop while pinned: gone from lookups at once, data valid until the last release */
    iti_cache_drop(c, 1, false);
    assert_false(has(c, 1));
    assert_false(has(c, 3));
    const unsigned char *data = iti_cache_data(pinned);
    for (int i = 0; i < 1024; i++)
        assert_int_equal(data[i], 1);
    assert_int_equal(iti_cache_bytes(c), 1024);
    iti_cache_release(c, pinned);
    assert_int_equal(iti_cache_bytes(c), 0);
    /* a put of a present key keeps the first buffer */
    put_released(c, 7, 512);
    iti_coord k7 = key(7);
    void *other = iti_buf_alloc(512);
    memset(other, 9, 512);
    iti_cache_entry *e = iti_cache_put(c, 1, &k7, other);
    assert_int_equal(((unsigned char *)iti_cache_data(e))[0], 7);
    iti_cache_release(c, e);
    iti_cache_destroy(c);
}

/* ---- pool ----------------------------------------------------------------------------------- */

typedef struct pool_job {
    atomic_int started;
    atomic_int busy[8];    /* per thread index: tasks running on it now */
    atomic_int clash;
} pool_job;

static int task(void *arg, size_t i, int thread) {
    pool_job *j = arg;
    atomic_fetch_add(&j->started, 1);
    if (atomic_fetch_add(&j->busy[thread], 1) != 0)
        atomic_store(&j->clash, 1);
    for (volatile int k = 0; k < 2000; k++) {
    }
    atomic_fetch_sub(&j->busy[thread], 1);
    if (i == 300)
        return iti_error(IT_ECALLBACK, "task %zu failed on purpose", i);
    return 0;
}

static void test_pool_errors_and_threads(void **state) {
    (void)state;
    iti_pool *p;
    assert_int_equal(iti_pool_create(4, &p), 0);
    assert_int_equal(iti_pool_threads(p), 4);
    for (int round = 0; round < 20; round++) {
        pool_job j = {0};
        iti_error(IT_EINVAL, "a stale message");
        assert_int_equal(iti_pool_run(p, 100000, task, &j), IT_ECALLBACK);
        assert_string_equal(it_last_error(), "task 300 failed on purpose");
        assert_int_equal(atomic_load(&j.clash), 0); /* thread indices are unique at any time */
        assert_true(atomic_load(&j.started) < 100000); /* the rest was skipped */
    }
    pool_job ok = {0};
    assert_int_equal(iti_pool_run(p, 300, task, &ok), 0); /* index 300 is not run */
    assert_int_equal(atomic_load(&ok.started), 300);
    iti_pool_destroy(p);
}

/* SHA-256 known answers (FIPS 180-4 examples): empty, "abc", the two-block message whose
 * padding needs a second block, and a million 'a's. */
static void test_sha256_known_answers(void **state) {
    (void)state;
    char hex[ITI_SHA256_HEX];
    iti_sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    iti_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    iti_sha256_hex(two, strlen(two), hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    char *million = malloc(1000000);
    memset(million, 'a', 1000000);
    iti_sha256_hex(million, 1000000, hex);
    free(million);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fletcher32_matches_reference),
        cmocka_unit_test(test_codec_matches_zlib_and_shuffle),
        cmocka_unit_test(test_codec_stream_kinds),
        cmocka_unit_test(test_codec_every_row),
        cmocka_unit_test(test_codec_table),
        cmocka_unit_test(test_blend_table),
        cmocka_unit_test(test_encoded_chunks_through_the_store),
        cmocka_unit_test(test_format_md_lists_the_schema),
        cmocka_unit_test(test_codec_options),
        cmocka_unit_test(test_cache_lru_order),
        cmocka_unit_test(test_cache_pins_and_drops),
        cmocka_unit_test(test_pool_errors_and_threads),
        cmocka_unit_test(test_sha256_known_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
