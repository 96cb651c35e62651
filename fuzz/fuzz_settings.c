/* The front end's settings text (what a model file and a feature cache carry) on arbitrary bytes:
 * dsp_settings_parse.
 *
 * Properties: a failure leaves the output untouched, names the source, and is printable ASCII (it quotes
 * the text); a success is valid
 * (dsp_settings_validate), formats to text that parses back to equal settings (the round trip the model
 * file relies on), and, where the sizes are moderate, builds a log-mel front end whose filterbank and
 * output on a fixed signal are finite, with every value within top_db of the clip's maximum. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/dsp.h"

#define REQUIRE(cond)                                                                                         \
    do {                                                                                                      \
        if (!(cond)) {                                                                                        \
            fprintf(stderr, "fuzz_settings: property failed: %s (line %d)\n", #cond, __LINE__);               \
            abort();                                                                                          \
        }                                                                                                     \
    } while (0)

#define SIGNAL_MAX 8192

static void run_front_end(const dsp_settings *s)
{
    /* Big transforms and long clips are valid but slow; the fuzzer's time is better spent elsewhere. */
    if (s->n_fft > 4096 || (double)s->n_mels * (s->n_fft / 2 + 1) > 2e6)
        return;
    aa_error err;
    dsp_logmel *lm = dsp_logmel_new(s, 1, &err);
    REQUIRE(lm != NULL);
    const float *fb = dsp_logmel_filterbank(lm);
    size_t nfb = (size_t)s->n_mels * (size_t)(s->n_fft / 2 + 1);
    for (size_t i = 0; i < nfb; i++)
        REQUIRE(isfinite(fb[i]) && fb[i] >= 0);
    size_t n = dsp_clip_samples(s);
    if (n > SIGNAL_MAX)
        n = SIGNAL_MAX;
    if (dsp_n_frames(s, n) == 0) {
        dsp_logmel_free(lm);
        return;
    }
    float *x = malloc(n * sizeof *x);
    size_t m = dsp_logmel_size(lm, n);
    float *mel = malloc(m * sizeof *mel);
    REQUIRE(x && mel);
    for (size_t i = 0; i < n; i++)
        x[i] = 0.5f * (float)sin(2 * M_PI * 440.0 * (double)i / s->sample_rate) + 0.01f * (float)((i * 7919) % 13) / 13;
    REQUIRE(dsp_logmel_compute(lm, 0, x, n, mel, &err) == 0);
    float mx = -INFINITY, mn = INFINITY;
    for (size_t i = 0; i < m; i++) {
        REQUIRE(isfinite(mel[i]));
        mx = mel[i] > mx ? mel[i] : mx;
        mn = mel[i] < mn ? mel[i] : mn;
    }
    /* the floor is max - top_db, computed in float: allow float rounding of values near 100 dB */
    REQUIRE(mx - mn <= s->top_db * (1 + 1e-5) + 1e-3);
    free(x);
    free(mel);
    dsp_logmel_free(lm);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dsp_settings s, before;
    memset(&s, 0x5a, sizeof s);
    before = s;
    aa_error err;
    int rc = dsp_settings_parse((const char *)data, size, "model.aam", &s, &err);
    if (rc != 0) {
        REQUIRE(rc == DSP_ERR_SETTINGS && err.code == rc);
        REQUIRE(strncmp(err.msg, "model.aam: ", 11) == 0);
        for (const char *c = err.msg; *c; c++) /* quoted file text included */
            REQUIRE(*c >= 0x20 && *c <= 0x7e);
        REQUIRE(memcmp(&s, &before, sizeof s) == 0);
        return 0;
    }
    REQUIRE(dsp_settings_validate(&s, &err) == 0);
    char text[DSP_SETTINGS_TEXT_MAX];
    size_t len = dsp_settings_format(&s, text, sizeof text);
    REQUIRE(len < sizeof text);
    dsp_settings back;
    REQUIRE(dsp_settings_parse(text, len, "again", &back, &err) == 0);
    REQUIRE(dsp_settings_equal(&s, &back));
    run_front_end(&s);
    return 0;
}
