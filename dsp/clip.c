/* Fixed-length windows of recordings of any length: which window to keep (the crop policy), the window grid
 * that datasets, the aggregation policies and the inference timeline slide over a recording, and the one
 * place a window is cut out of its recording (zero-padded past the end) and turned into a log-mel. */
#include <string.h>

#include "dsp/dsp_internal.h"

/* out[0..len) = x[at .. at + len), zeros past n. Every window anyone computes a feature of is cut here. */
static void cut_window(const float *x, size_t n, size_t at, size_t len, float *out)
{
    size_t keep = at < n ? (n - at < len ? n - at : len) : 0;
    if (keep)
        memcpy(out, x + at, sizeof(float) * keep);
    memset(out + keep, 0, sizeof(float) * (len - keep));
}

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
    cut_window(x, n, at, len, out);
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

int dsp_windows_logmel(dsp_logmel *m, int slot, const float *x, size_t n, const size_t *offsets, size_t count,
                       float *out, aa_error *err)
{
    const dsp_settings *s = dsp_logmel_settings(m);
    const size_t len = dsp_clip_samples(s), per = dsp_logmel_size(m, len);
    float *window = dsp_logmel_slot_window(m, slot);
    if (!window)
        return aa_error_set(err, DSP_ERR_ARG, "windows: thread slot %d out of range (0-%d)", slot,
                            dsp_logmel_n_threads(m) - 1);
    for (size_t i = 0; i < count; i++) {
        size_t at = offsets[i];
        if (at > n)
            return aa_error_set(err, DSP_ERR_ARG, "windows: offset %zu past the end of %zu samples", at, n);
        /* A window wholly inside x is read in place: the log-mel pads with zeros outside what it is given,
         * so a copy would give the same bits. */
        const float *src = window;
        if (n - at >= len)
            src = x + at;
        else
            cut_window(x, n, at, len, window);
        int rc = dsp_logmel_compute(m, slot, src, len, out + i * per, err);
        if (rc)
            return rc;
    }
    aa_error_clear(err);
    return 0;
}
