/* The model and checkpoint loaders on arbitrary files: am_load (which reads the container through
 * nn_model_load), nn_model_load without metadata, and nn_checkpoint_load.
 *
 * Input: one flag byte, then the file's bytes. The loaders read paths, so the file is handed over as an
 * anonymous in-memory file (memfd) named by /proc/self/fd/N: nothing touches the disk and no loader
 * needs an in-memory twin. A random change almost never keeps the CRC-32 right, so with flag bit 0 the
 * target first stamps the right magic, total size and checksum on the bytes: the mutations then reach
 * the parser behind the checksum, which is where a crafted file would aim.
 *   bit 0  fix magic, size and CRC          bit 1  the checkpoint magic and loader instead of the model's
 *   bit 2  am_load with two worker slots (the per-slot network copies)
 * A model that loads must also run: its self-test and a classification of a fixed signal, whose result
 * has to be a probability distribution or a clean error.
 *
 * A custom mutator knows the container: most of the time it decodes the entries, mutates one of them (a
 * string's value, a tensor's name, shape or data, an entry dropped or doubled) and encodes the file again,
 * so that the parser's callers (architecture strings, shapes, settings text, class names, numbers) are
 * reached with files that are well formed around the one change. */
#define _GNU_SOURCE
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "model/model.h"
#include "nn/nn.h"

#define REQUIRE(cond)                                                                                         \
    do {                                                                                                      \
        if (!(cond)) {                                                                                        \
            fprintf(stderr, "fuzz_model: property failed: %s (line %d)\n", #cond, __LINE__);                  \
            abort();                                                                                          \
        }                                                                                                     \
    } while (0)

static const char MAGIC_MODEL[8] = {'A', 'A', 'M', 'O', 'D', '\r', '\n', 0x1a};
static const char MAGIC_CKPT[8] = {'A', 'A', 'C', 'K', 'P', '\r', '\n', 0x1a};

static int memfd(char *path, size_t cap)
{
    static int fd = -1; /* one anonymous file for the whole run, rewritten per input */
    if (fd < 0) {
        fd = memfd_create("fuzz-model", MFD_CLOEXEC);
        REQUIRE(fd >= 0);
    }
    snprintf(path, cap, "/proc/self/fd/%d", fd);
    return fd;
}

static void put(const char *path, int fd, const uint8_t *data, size_t size)
{
    (void)path;
    REQUIRE(ftruncate(fd, 0) == 0);
    size_t done = 0;
    while (done < size) {
        ssize_t w = pwrite(fd, data + done, size - done, (off_t)done);
        REQUIRE(w > 0);
        done += (size_t)w;
    }
}

/* Error messages name the file and give a reason on one line; the code is the return value. */
static void check_error(const aa_error *err, int rc, const char *path)
{
    REQUIRE(rc != 0 && err->code == rc);
    REQUIRE(strncmp(err->msg, path, strlen(path)) == 0);
    REQUIRE(strchr(err->msg, '\n') == NULL);
}

static void exercise(am_model *m)
{
    int k = am_n_classes(m);
    REQUIRE(k >= 2 && k <= AM_MAX_CLASSES);
    for (int c = 0; c < k; c++)
        REQUIRE(am_class_name(m, c) != NULL && am_class_label(m, c) != NULL);
    REQUIRE(am_temperature(m) > 0 && am_min_confidence(m) >= 0 && am_min_confidence(m) <= 1);
    am_selftest_report rep;
    aa_error err;
    int rc = am_selftest(m, &rep, &err);
    REQUIRE(rc == 0 || err.code == rc);

    /* A second of a chirp-like signal: any deterministic non-silent input does. */
    const dsp_settings *s = am_dsp(m);
    size_t n = (size_t)s->sample_rate;
    float *x = malloc(n * sizeof *x);
    REQUIRE(x != NULL);
    for (size_t i = 0; i < n; i++)
        x[i] = 0.3f * (float)sin(0.002 * (double)i * (double)i / (double)n * 300.0);
    am_result r;
    rc = am_classify_samples(m, am_n_slots(m) - 1, x, n, &r, NULL, &err);
    if (rc == 0) {
        REQUIRE(r.cls >= 0 && r.cls < k);
        REQUIRE(isfinite(r.confidence) && r.confidence >= 0 && r.confidence <= 1);
        double sum = 0;
        for (int c = 0; c < k; c++) {
            REQUIRE(isfinite(r.probs[c]) && r.probs[c] >= 0 && r.probs[c] <= r.confidence);
            sum += r.probs[c];
        }
        /* k float probabilities, each rounded once: far inside 1e-3; outputs reported as Unclear take the
         * rest */
        REQUIRE(am_has_unclear(m) ? sum < 1 + 1e-3 : fabs(sum - 1) < 1e-3);
        REQUIRE(am_n_outputs(m) >= k);
    } else {
        REQUIRE(err.code == rc);
    }
    free(x);
}

/* ---- the structure-aware mutator ------------------------------------------------------------------------- */

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

#define MAX_ENTRY 64

typedef struct {
    int tensor;
    uint8_t name[MAX_ENTRY];
    size_t name_n;
    uint32_t ndim, dims[4];
    const uint8_t *body; /* string value or tensor data, into the input */
    size_t body_n;
} entry;

/* Decodes the entries of a container (no checks beyond staying inside it); -1 if it is not one. */
static int decode(const uint8_t *b, size_t n, entry *e, int cap, int *count)
{
    if (n < 36)
        return -1;
    uint32_t ns = aa_get_u32(b + 12), nt = aa_get_u32(b + 16);
    if (ns + nt > (uint32_t)cap)
        return -1;
    size_t p = 32, end = n - 4;
    for (uint32_t i = 0; i < ns + nt; i++) {
        entry *x = &e[i];
        x->tensor = i >= ns;
        if (end - p < 4 || (x->name_n = aa_get_u32(b + p)) > MAX_ENTRY || end - p - 4 < x->name_n)
            return -1;
        memcpy(x->name, b + p + 4, x->name_n);
        p += 4 + x->name_n;
        if (end - p < 4)
            return -1;
        uint64_t len;
        if (!x->tensor) {
            len = aa_get_u32(b + p);
            p += 4;
        } else {
            x->ndim = aa_get_u32(b + p);
            p += 4;
            if (x->ndim < 1 || x->ndim > 4 || end - p < 4 * x->ndim)
                return -1;
            len = 4;
            for (uint32_t d = 0; d < x->ndim; d++, p += 4)
                len *= (x->dims[d] = aa_get_u32(b + p));
        }
        if (len > end - p)
            return -1;
        x->body = b + p;
        x->body_n = (size_t)len;
        p += (size_t)len;
    }
    *count = (int)(ns + nt);
    return 0;
}

/* Encodes entries (strings first, as the format wants) after the flag byte; 0 if it does not fit. */
static size_t encode(uint8_t flag, const uint8_t *magic, const entry *e, int n, uint8_t *out, size_t cap)
{
    size_t p = 33;
    uint32_t ns = 0, nt = 0;
    if (cap < 37)
        return 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < n; i++) {
            const entry *x = &e[i];
            if (x->tensor != pass)
                continue;
            size_t need = 8 + x->name_n + (x->tensor ? 4 * x->ndim : 0) + x->body_n;
            if (cap - p < need + 4)
                return 0;
            aa_put_u32(out + p, (uint32_t)x->name_n);
            memcpy(out + p + 4, x->name, x->name_n);
            p += 4 + x->name_n;
            if (!x->tensor) {
                aa_put_u32(out + p, (uint32_t)x->body_n), p += 4;
                ns++;
            } else {
                aa_put_u32(out + p, x->ndim), p += 4;
                for (uint32_t d = 0; d < x->ndim; d++, p += 4)
                    aa_put_u32(out + p, x->dims[d]);
                nt++;
            }
            memmove(out + p, x->body, x->body_n);
            p += x->body_n;
        }
    out[0] = flag;
    memcpy(out + 1, magic, 8);
    aa_put_u32(out + 9, 1);
    aa_put_u32(out + 13, ns);
    aa_put_u32(out + 17, nt);
    aa_put_u32(out + 21, 0);
    aa_put_u64(out + 25, p + 4 - 1);
    aa_put_u32(out + p, aa_crc32(0, out + 1, p - 1));
    return p + 4;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    entry e[256];
    int n = 0;
    aa_rng r;
    aa_rng_seed(&r, seed);
    if (size < 2 || aa_rng_below(&r, 4) == 0 || decode(data + 1, size - 1, e, 256, &n) != 0 || n == 0)
        return LLVMFuzzerMutate(data, size, max_size);
    /* the bodies point into data, which encode() overwrites: work on a copy */
    uint8_t *copy = malloc(size), *scratch = malloc(max_size);
    REQUIRE(copy && scratch);
    memcpy(copy, data, size);
    decode(copy + 1, size - 1, e, 256, &n);
    int k = (int)aa_rng_below(&r, (uint64_t)n);
    entry *x = &e[k];
    size_t room = max_size > size ? max_size - size : 0;
    uint64_t op = aa_rng_below(&r, 6);
    if (op == 1 && !x->tensor)
        op = 2; /* a string has no shape */
    if (op == 0) { /* the name */
        x->name_n = LLVMFuzzerMutate(x->name, x->name_n, MAX_ENTRY);
    } else if (op == 1) { /* a dimension: small steps, powers of two, or anything */
        uint32_t d = (uint32_t)aa_rng_below(&r, x->ndim), v = x->dims[d];
        uint64_t how = aa_rng_below(&r, 3);
        x->dims[d] = how == 0 ? v + (uint32_t)aa_rng_below(&r, 5) - 2
                     : how == 1 ? 1u << aa_rng_below(&r, 32) : (uint32_t)aa_rng_u64(&r);
        /* data to match when it is small, so that the shape itself is what gets tested */
        uint64_t len = 4;
        for (uint32_t i = 0; i < x->ndim && len <= ((uint64_t)1 << 20); i++)
            len *= x->dims[i];
        if (len <= x->body_n) {
            x->body_n = (size_t)len;
        } else if (len - x->body_n <= room && len <= ((uint64_t)1 << 20)) {
            memcpy(scratch, x->body, x->body_n);
            for (size_t i = x->body_n; i < len; i++)
                scratch[i] = (uint8_t)(i * 37);
            x->body = scratch;
            x->body_n = (size_t)len;
        }
    } else if (op == 4) { /* drop the entry */
        e[k] = e[--n];
    } else if (op == 5) { /* double it: a repeated key */
        if (n < 256)
            e[n++] = *x;
    } else { /* the value or the data */
        size_t cap = x->body_n + (room < 512 ? room : 512);
        memcpy(scratch, x->body, x->body_n);
        x->body_n = LLVMFuzzerMutate(scratch, x->body_n, cap ? cap : 1);
        x->body = scratch;
    }
    size_t out_n = encode(copy[0], copy + 1, e, n, data, max_size);
    free(copy);
    free(scratch);
    return out_n ? out_n : LLVMFuzzerMutate(data, size, max_size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const unsigned flags = data[0];
    const int ckpt = (flags & 2) != 0;
    data++, size--;
    char path[64];
    int fd = memfd(path, sizeof path);
    if ((flags & 1) && size >= 36) {
        uint8_t *b = malloc(size);
        REQUIRE(b != NULL);
        memcpy(b, data, size);
        memcpy(b, ckpt ? MAGIC_CKPT : MAGIC_MODEL, 8);
        aa_put_u64(b + 24, size);
        aa_put_u32(b + size - 4, aa_crc32(0, b, size - 4));
        put(path, fd, b, size);
        free(b);
    } else {
        put(path, fd, data, size);
    }

    aa_error err;
    if (ckpt) {
        nn_model *net = NULL;
        nn_optimizer *opt = NULL;
        nn_meta *meta = NULL;
        aa_rng rng;
        int rc = nn_checkpoint_load(path, 2, &net, &opt, &rng, &meta, &err);
        if (rc == 0) {
            REQUIRE(net && opt && meta);
            /* One training step on a small zero input: the restored optimizer state must fit the model. */
            nn_model_info in = nn_model_get_info(net);
            size_t per = (size_t)in.in_c * (size_t)in.in_h * (size_t)in.in_w;
            if (per <= (1u << 16)) {
                float *x = calloc(per, sizeof *x);
                int label = 0;
                REQUIRE(x != NULL);
                nn_step_result res;
                int st = nn_train_step(net, opt, x, &label, 1, NULL, 1, 0, NULL, &res, &err);
                REQUIRE(st == 0 || err.code == st);
                free(x);
            }
        } else {
            check_error(&err, rc, path);
            REQUIRE(!net && !opt && !meta);
        }
        nn_model_free(net);
        nn_opt_free(opt);
        nn_meta_free(meta);
        return 0;
    }

    nn_model *net = nn_model_load(path, 1, 0, NULL, &err);
    if (!net)
        check_error(&err, err.code, path);
    nn_model_free(net);

    am_model *m = am_load(path, (flags & 4) ? 2 : 1, &err);
    if (!m) {
        check_error(&err, err.code, path);
        return 0;
    }
    exercise(m);
    am_free(m);
    return 0;
}
