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
 * has to be a probability distribution or a clean error. */
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
        /* k float probabilities, each rounded once: far inside 1e-3 */
        REQUIRE(fabs(sum - 1) < 1e-3);
    } else {
        REQUIRE(err.code == rc);
    }
    free(x);
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
