/* Fixed-length clips from recordings of any length: which window to keep, and the window grid that
 * datasets (several windows per recording) and the inference timeline slide over a recording. */
#include <string.h>

#include "dsp/dsp.h"

/* Start of the len-sample window with the largest energy, earliest on ties. A running sum in double: each
 * step adds one square and removes one; over an hour at 16 kHz (5.8e7 steps) the rounding drift stays
 * below ~1e-8 of the largest window energy, negligible where windows compete for the maximum. */
static size_t loudest_offset(const float *x, size_t n, size_t len)
{
    /* The first window is summed in vector lanes (a plain loop is one long chain of dependent adds); the
     * slide below is inherently sequential but only n - len steps. */
    double e = 0;
#pragma omp simd reduction(+ : e)
    for (size_t i = 0; i < len; i++)
        e += (double)x[i] * x[i];
    double best = e;
    size_t at = 0;
    for (size_t i = len; i < n; i++) {
        double in = x[i], out = x[i - len];
        e += in * in - out * out;
        if (e > best) {
            best = e;
            at = i - len + 1;
        }
    }
    return at;
}

size_t dsp_crop_offset(const float *x, size_t n, size_t len, dsp_crop policy)
{
    if (n <= len)
        return 0;
    switch (policy) {
    case DSP_CROP_CENTER: return (n - len) / 2;
    case DSP_CROP_LOUDEST: return loudest_offset(x, n, len);
    case DSP_CROP_START:
    default: return 0;
    }
}

void dsp_clip(const dsp_settings *s, const float *x, size_t n, float *out, size_t *offset)
{
    size_t len = dsp_clip_samples(s);
    size_t at = dsp_crop_offset(x, n, len, s->crop);
    size_t keep = n - at < len ? n - at : len;
    if (keep)
        memcpy(out, x + at, sizeof(float) * keep);
    memset(out + keep, 0, sizeof(float) * (len - keep));
    if (offset)
        *offset = at;
}

size_t dsp_window_offsets(size_t n, size_t len, size_t hop, int cover_end, size_t *offsets, size_t cap)
{
    size_t count = 0;
    if (n <= len || hop == 0) {
        if (cap > 0)
            offsets[0] = 0;
        return 1;
    }
    size_t last = 0;
    for (size_t at = 0; at + len <= n; at += hop) {
        if (count < cap)
            offsets[count] = at;
        last = at;
        count++;
    }
    if (cover_end && last + len < n) {
        if (count < cap)
            offsets[count] = n - len;
        count++;
    }
    return count;
}
