/* Streaming mono sample-rate conversion with libsamplerate.
 *
 * Why sinc_medium is the default (bench/resample.c, 44.1 kHz -> 16 kHz; gain of a 0.5-amplitude sine, dB;
 * alias: what a 9 kHz input leaves in the output; speed: one minute of 44.1 kHz mono, one core):
 *
 *   converter      SNR@1k   6 kHz   7 kHz   7.5 kHz  7.8 kHz   alias 9k   ms per minute
 *   sinc_best      146 dB   -0.00   -0.00   -0.00    -16.5     -155 dB    1890
 *   sinc_medium    122 dB   -0.00   -0.28   -12.9    -42.2     -137 dB     510
 *   sinc_fastest   113 dB   -0.51   -13.8   -35.3    -60.2     -112 dB     226
 *   zoh / linear   28/62 dB  (no anti-aliasing: a 9 kHz tone comes back at 0 / -1 dB)   9
 *   (scipy resample_poly, the peers' choice: 91 dB, -0.01, -0.25, -1.8, -4.0, -31 dB, 31 ms per minute)
 *
 * The top mel filters (64 Slaney mels to 8 kHz) start near 6 kHz: sinc_fastest already loses 0.5 dB at
 * 6 kHz and 14 dB at 7 kHz, so resampled recordings would look different from native 16 kHz ones in the
 * top five or six bands. sinc_medium is flat to 7 kHz (two bands affected above it) at 2.3x fastest's
 * cost; sinc_best gains one more band for 3.7x medium's cost. zoh and linear alias audibly.
 * Speed is the price: libsamplerate interpolates its filter table per tap in double precision, so even
 * sinc_fastest is ~7x slower than a fixed polyphase filter; on 44.1/48 kHz material resampling, not the
 * log-mel, is where the front end spends its time (bench/features.sh shows the split). */
#include <math.h>
#include <samplerate.h>
#include <stdlib.h>

#include "dsp/dsp_internal.h"

struct dsp_resampler_state {
    SRC_STATE *src;
    double ratio; /* out_rate / in_rate */
};

dsp_resampler_state *dsp_resampler_new(int in_rate, int out_rate, dsp_resampler quality, int *src_err)
{
    *src_err = 0;
    dsp_resampler_state *r = malloc(sizeof *r);
    if (!r)
        return NULL;
    /* Rates are 8-192 kHz, so the ratio is within libsamplerate's 1/256..256; src_process checks again. */
    r->ratio = (double)out_rate / in_rate;
    /* dsp_resampler's values are libsamplerate's converter numbers. */
    r->src = src_new((int)quality, 1, src_err);
    if (!r->src) {
        free(r);
        return NULL;
    }
    return r;
}

void dsp_resampler_free(dsp_resampler_state *r)
{
    if (r) {
        src_delete(r->src);
        free(r);
    }
}

size_t dsp_resampler_out_capacity(const dsp_resampler_state *r, size_t n_in)
{
    return (size_t)ceil((double)n_in * r->ratio) + 64;
}

int dsp_resampler_process(dsp_resampler_state *r, const float *in, size_t n_in, size_t *used, float *out,
                          size_t cap, size_t *gen, int eof)
{
    SRC_DATA d = {.data_in = in, .data_out = out, .input_frames = (long)n_in, .output_frames = (long)cap,
                  .end_of_input = eof, .src_ratio = r->ratio};
    int e = src_process(r->src, &d);
    *used = e ? 0 : (size_t)d.input_frames_used;
    *gen = e ? 0 : (size_t)d.output_frames_gen;
    return e;
}

const char *dsp_resampler_strerror(int src_err)
{
    return src_err ? src_strerror(src_err) : "out of memory";
}
