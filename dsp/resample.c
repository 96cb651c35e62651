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
 * Why soxr_hq is the default (bench/resample.sh, 44.1 kHz -> 16 kHz; gain of a 0.5-amplitude sine in dB;
 * alias: what a 9 kHz input leaves in the output; time: one 4 s clip fed as dsp_load feeds it, converter made
 * and freed, median of 21 on the shared 2-core AMD EPYC at load 2-3, 2026-12-07):
 *
 *   recipe                  SNR@1k   7 kHz    7.5 kHz   7.8 kHz   alias 9k   ms per 4 s clip
 *   soxr_vhq                152 dB   -0.005   -0.31     -32.0     -159 dB    1.94
 *   soxr_hq                 134 dB   -0.006   -0.41     -25.0     -144 dB    1.08
 *   soxr_mq                 111 dB   -0.051   -0.50     -21.6     -127 dB    0.99
 *   soxr_lq                 111 dB   -13.3    -37.9     -68.2     -128 dB    0.84
 *   soxr_qq                 111 dB   -0.12    -0.16     -0.18       -0 dB    0.21
 *   libsamplerate (the old front end's, same run):
 *   sinc_best               146 dB   -0.000   -0.002    -16.5     -155 dB    130
 *   sinc_medium             122 dB   -0.28    -12.9     -42.2     -137 dB    34.3
 *   sinc_fastest            113 dB   -13.8    -35.3     -60.2     -112 dB    14.5
 *   (scipy's resample_poly, the peers' choice: 91 dB, -0.25, -1.8, -4.0, -31 dB, 2.0 ms in an earlier run)
 *
 * It is what librosa users get, so the features of 44.1/48 kHz recordings are theirs (under sinc_medium
 * the top mel bands, 6-8 kHz, differed from librosa's by 2-10 dB); it is flat to 7.3 kHz (91.3 % of 8 kHz)
 * and rejects aliases by 144 dB; and it is 30x faster than sinc_medium: libsoxr designs its filters once per
 * conversion and runs them in SIMD float32, where libsamplerate interpolates its filter table per tap in
 * double. VHQ changes nothing a 64-mel spectrogram
 * floored 80 dB under its peak can show, at twice the time; MQ and LQ save little time, and LQ's band
 * ends at 5.4 kHz; QQ is cubic interpolation with no anti-aliasing filter.
 */
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
    /* libsoxr may release output in bursts; what does not fit waits inside for the next call, so the slack
     * only saves calls. */
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
