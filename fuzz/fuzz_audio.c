/* The audio loading path on arbitrary bytes, as an upload reaches it: dsp_load_memory (any container
 * libsndfile knows) -> one clip by the loudest-window policy -> log-mel.
 *
 * Beyond "no crash, no leak", the properties checked are the loader's promises: a status equals the code
 * in the message, a message names the upload; a success has at least two finite samples at the model
 * rate; the streaming reader delivers exactly the samples the whole-file load returns; the log-mel of
 * finite audio is finite. Decoded length is capped at MAX_SECONDS so a tiny compressed input cannot
 * ask for an hour of work, and libsoxr's quick recipe stands in for the default HQ one: libsoxr is not
 * instrumented, so its quality adds nothing here but time. Clips are half a second (see get_state). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/dsp.h"

#define MAX_SECONDS 4.0
#define NAME "upload.bin"

#define REQUIRE(cond)                                                                                         \
    do {                                                                                                      \
        if (!(cond)) {                                                                                        \
            fprintf(stderr, "fuzz_audio: property failed: %s (line %d)\n", #cond, __LINE__);                  \
            abort();                                                                                          \
        }                                                                                                     \
    } while (0)

typedef struct {
    dsp_settings s;
    dsp_logmel *lm;
    float *clip; /* [clip_samples] */
    float *mel;  /* [n_mels][n_frames] */
    float *part; /* [READ_CAP] */
} state;

#define READ_CAP 3001 /* odd, so reads straddle the decoder's chunks */

static state *get_state(void)
{
    static state st; /* the fuzzer's own fixture, built once per process */
    if (!st.lm) {
        aa_error err;
        st.s = dsp_settings_default();
        st.s.resampler = DSP_RESAMPLE_SOXR_QQ;
        /* the log-mel's loops are instrumented and dominate a run: a half-second clip takes the same path
         * as a 4 s one at an eighth of the cost */
        st.s.clip_seconds = 0.5;
        st.lm = dsp_logmel_new(&st.s, 1, &err);
        REQUIRE(st.lm != NULL);
        size_t n = dsp_clip_samples(&st.s);
        st.clip = malloc(n * sizeof *st.clip);
        st.mel = malloc(dsp_logmel_size(st.lm, n) * sizeof *st.mel);
        st.part = malloc(READ_CAP * sizeof *st.part);
        REQUIRE(st.clip && st.mel && st.part);
    }
    return &st;
}

/* The streaming reader must agree with the whole-file load sample for sample. */
static void check_reader(const state *st, const uint8_t *data, size_t size, const dsp_audio *a)
{
    aa_error err;
    dsp_reader *r = dsp_reader_open_memory(data, size, NAME, &st->s, &err);
    REQUIRE(r != NULL);
    size_t total = 0, got;
    int rc;
    while ((rc = dsp_reader_read(r, st->part, READ_CAP, &got, &err)) == 0 && got > 0) {
        REQUIRE(total + got <= a->n);
        REQUIRE(memcmp(st->part, a->samples + total, got * sizeof(float)) == 0);
        total += got;
    }
    REQUIRE(rc == 0);
    REQUIRE(total == a->n);
    dsp_reader_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    state *st = get_state();
    dsp_audio a;
    aa_error err;
    memset(&err, 0, sizeof err);
    int rc = dsp_load_memory(data, size, NAME, &st->s, MAX_SECONDS, &a, &err);
    if (rc != 0) {
        REQUIRE(err.code == rc);
        REQUIRE(strncmp(err.msg, NAME ": ", strlen(NAME) + 2) == 0);
        REQUIRE(strchr(err.msg, '\n') == NULL);
        REQUIRE(a.samples == NULL && a.n == 0);
        return 0;
    }
    REQUIRE(a.samples != NULL);
    REQUIRE(a.rate == st->s.sample_rate);
    REQUIRE(a.src.frames >= 2);
    REQUIRE(a.src.channels >= 1 && a.src.channels <= DSP_MAX_CHANNELS);
    REQUIRE(a.src.rate >= DSP_MIN_RATE && a.src.rate <= DSP_MAX_RATE);
    for (size_t i = 0; i < a.n; i++)
        REQUIRE(isfinite(a.samples[i]));
    REQUIRE(isfinite(a.stats.rms_dbfs) && isfinite(a.stats.peak));
    REQUIRE(a.stats.clip_fraction >= 0 && a.stats.clip_fraction <= 1);
    check_reader(st, data, size, &a);

    size_t n = dsp_clip_samples(&st->s), off = (size_t)-1;
    dsp_clip(&st->s, a.samples, a.n, st->clip, &off);
    REQUIRE(a.n <= n ? off == 0 : off <= a.n - n);
    REQUIRE(dsp_logmel_compute(st->lm, 0, st->clip, n, st->mel, &err) == 0);
    size_t m = dsp_logmel_size(st->lm, n);
    for (size_t i = 0; i < m; i++)
        REQUIRE(isfinite(st->mel[i]));
    dsp_audio_free(&a);
    return 0;
}
