/* Streaming mono sample-rate conversion with libsoxr, as librosa 0.10.1's default load resamples.
 *
 * librosa.load(path, sr=16000) resamples with res_type "soxr_hq": python-soxr's soxr.resample(y, orig, 16000,
 * quality="HQ"), i.e. libsoxr with soxr_quality_spec(SOXR_HQ, 0), float32 in and out, one channel, no
 * runtime spec, the input fed by soxr_process and one flush, the output capped at ceil(n * out / in); then
 * librosa.util.fix_length to ceil(n * (out / in)), zero-padding at the end. This file is that recipe, for
 * the other recipes too (dsp_resampler), streaming: libsoxr's output does not depend on how the input is
 * cut into calls (tests/test_resample.c checks it bit for bit), so dsp_reader's chunks give what one call
 * over the whole recording gives.
 *
 * Why soxr_hq is the default (bench/resample.sh, 44.1 kHz -> 16 kHz, one core; gain of a 0.5-amplitude sine
 * in dB, alias: what a 9 kHz input leaves in the output, time: one 4 s clip, resampler made and freed):
 *
 *   recipe        SNR@1k   7 kHz    7.5 kHz   alias 9k   ms per 4 s clip
 *   soxr_vhq      144 dB   -0.000   -0.000    -176 dB    1.05
 *   soxr_hq       116 dB   -0.000   -0.000    -127 dB    0.47
 *   soxr_mq        98 dB   -0.000   -0.000    -104 dB    0.38
 *   soxr_lq        98 dB   -9.3     -107      -105 dB    0.27
 *   soxr_qq        34 dB   -1.0     -1.4       -13 dB    0.15
 *   (libsamplerate sinc_medium, the old default: 122 dB, -0.28, -12.9, -137 dB, 33 ms)
 *
 * It is what librosa users get, so features of 44.1/48 kHz recordings equal theirs (the top mel bands,
 * 6-8 kHz, differed by 2-10 dB under sinc_medium, which is -12.9 dB at 7.5 kHz); it is flat to 7.3 kHz
 * (91.3 % of 8 kHz) with 127 dB alias rejection, and 70x faster than sinc_medium: libsoxr designs one
 * polyphase/FFT filter per conversion and runs it in SIMD float32, where libsamplerate interpolates its
 * filter table per tap in double. VHQ buys nothing a 64-mel spectrogram floored 80 dB under its peak can
 * show; MQ and LQ save little time; QQ aliases. */
#include <math.h>
#include <soxr.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/dsp.h"

struct dsp_converter {
    soxr_t soxr;           /* NULL when the rates are equal */
    int in_rate, out_rate;
    uint64_t n_in;         /* samples taken so far */
    uint64_t n_out;        /* samples delivered so far */
    uint64_t limit;        /* at the end: libsoxr's samples are kept up to here... */
    uint64_t length;       /* ...and the output is padded or cut to this; both known once flushing */
    int flushing, drained; /* drained: libsoxr has nothing more */
};

static const unsigned long RECIPES[] = {
    [DSP_RESAMPLE_SOXR_HQ] = SOXR_HQ, [DSP_RESAMPLE_SOXR_VHQ] = SOXR_VHQ, [DSP_RESAMPLE_SOXR_MQ] = SOXR_MQ,
    [DSP_RESAMPLE_SOXR_LQ] = SOXR_LQ, [DSP_RESAMPLE_SOXR_QQ] = SOXR_QQ,
};
#define N_RECIPES (int)(sizeof RECIPES / sizeof *RECIPES)

static int fail(aa_error *err, int code, const char *name, const char *what)
{
    return aa_error_set(err, code, "%s%s%s", name ? name : "", name ? ": " : "", what);
}

dsp_converter *dsp_converter_new(int in_rate, int out_rate, dsp_resampler recipe, const char *name, aa_error *err)
{
    if (in_rate < DSP_MIN_RATE || in_rate > DSP_MAX_RATE || out_rate < DSP_MIN_RATE || out_rate > DSP_MAX_RATE ||
        (int)recipe < 0 || (int)recipe >= N_RECIPES) {
        fail(err, DSP_ERR_ARG, name, "bad rate conversion (rates out of range or unknown recipe)");
        return NULL;
    }
    dsp_converter *c = calloc(1, sizeof *c);
    if (!c) {
        fail(err, DSP_ERR_NOMEM, name, "out of memory");
        return NULL;
    }
    c->in_rate = in_rate;
    c->out_rate = out_rate;
    if (in_rate != out_rate) {
        soxr_error_t e = NULL;
        soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
        soxr_quality_spec_t q = soxr_quality_spec(RECIPES[recipe], 0);
        /* One thread: libsoxr may use OpenMP inside a conversion, and callers already run one file per
         * thread. It is also what python-soxr asks for (the library default). */
        soxr_runtime_spec_t rt = soxr_runtime_spec(1);
        c->soxr = soxr_create(in_rate, out_rate, 1, &e, &io, &q, &rt);
        if (!c->soxr || e) {
            aa_error_set(err, DSP_ERR_RESAMPLE, "%s%scannot resample %d Hz to %d Hz (libsoxr: %s)", name ? name : "",
                         name ? ": " : "", in_rate, out_rate, e ? e : "out of memory");
            soxr_delete(c->soxr);
            free(c);
            return NULL;
        }
    }
    aa_error_clear(err);
    return c;
}

void dsp_converter_free(dsp_converter *c)
{
    if (c) {
        soxr_delete(c->soxr);
        free(c);
    }
}

size_t dsp_converter_capacity(const dsp_converter *c, size_t n_in)
{
    /* libsoxr releases output a filter block at a time; 1024 samples cover its blocks at these ratios, and
     * a smaller capacity only means more calls. */
    return (size_t)ceil((double)n_in * c->out_rate / c->in_rate) + 1024;
}

int dsp_converter_process(dsp_converter *c, const float *in, size_t n_in, float *out, size_t cap, size_t *got,
                          aa_error *err)
{
    *got = 0;
    if (c->flushing)
        return fail(err, DSP_ERR_ARG, NULL, "resampler: input after the end of input");
    if (!c->soxr) {
        /* Equal rates: librosa returns the signal itself. The caller takes what fits; the rest of the input
         * cannot wait inside, so a short buffer is a caller error. */
        if (n_in > cap)
            return fail(err, DSP_ERR_ARG, NULL, "resampler: output buffer shorter than the input at equal rates");
        if (n_in)
            memcpy(out, in, n_in * sizeof *out);
        c->n_in += n_in;
        c->n_out += n_in;
        *got = n_in;
        aa_error_clear(err);
        return 0;
    }
    /* A NULL idone makes libsoxr take all the input (python-soxr does the same); output it cannot deliver
     * now waits inside for the next call. An empty input must still be a non-NULL pointer: NULL means the
     * end. */
    static const float none[1] = {0};
    size_t done = 0;
    soxr_error_t e = soxr_process(c->soxr, n_in ? in : none, n_in, NULL, out, cap, &done);
    if (e)
        return aa_error_set(err, DSP_ERR_RESAMPLE, "resampling failed (libsoxr: %s)", e);
    c->n_in += n_in;
    c->n_out += done;
    *got = done;
    aa_error_clear(err);
    return 0;
}

int dsp_converter_flush(dsp_converter *c, float *out, size_t cap, size_t *got, aa_error *err)
{
    *got = 0;
    if (!c->flushing) {
        c->flushing = 1;
        double n = (double)c->n_in;
        /* python-soxr's output buffer: ceil(ilen * out_rate / in_rate); librosa's fix_length target:
         * ceil(n * (target_sr / orig_sr)), the ratio rounded first. Both in double, as they compute them. */
        c->limit = (uint64_t)ceil(n * c->out_rate / c->in_rate);
        c->length = (uint64_t)ceil(n * ((double)c->out_rate / c->in_rate));
        c->drained = c->soxr == NULL;
        if (c->limit > c->length)
            c->limit = c->length;
    }
    size_t n = 0;
    while (n < cap && !c->drained && c->n_out < c->limit) {
        size_t room = cap - n, done = 0;
        if ((uint64_t)room > c->limit - c->n_out)
            room = (size_t)(c->limit - c->n_out);
        soxr_error_t e = soxr_process(c->soxr, NULL, 0, NULL, out + n, room, &done);
        if (e)
            return aa_error_set(err, DSP_ERR_RESAMPLE, "resampling failed at the end (libsoxr: %s)", e);
        if (done == 0)
            c->drained = 1;
        n += done;
        c->n_out += done;
    }
    /* What libsoxr did not make, fix_length pads with zeros. Before the end libsoxr lags the input by its
     * filter's delay, so it never delivered more than the final length (n_out <= length here). */
    if (n < cap && c->n_out < c->length && (c->drained || c->n_out >= c->limit)) {
        size_t pad = cap - n;
        if ((uint64_t)pad > c->length - c->n_out)
            pad = (size_t)(c->length - c->n_out);
        memset(out + n, 0, pad * sizeof *out);
        n += pad;
        c->n_out += pad;
    }
    *got = n;
    aa_error_clear(err);
    return 0;
}
