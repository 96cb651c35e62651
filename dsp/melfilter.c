/* The mel filterbank, computed as librosa 0.10.1's filters.mel does, step for step, so the float32 weights
 * come out the same: frequencies and ramps in double, rounded to float32, then (Slaney) multiplied by the
 * double normalisation and rounded again. */
#include <math.h>
#include <stdlib.h>

#include "dsp/dsp_internal.h"

/* Slaney's Auditory Toolbox scale: linear below 1 kHz (200/3 Hz per mel), logarithmic above. */
#define SL_F_SP (200.0 / 3)
#define SL_MIN_LOG_HZ 1000.0
#define SL_MIN_LOG_MEL (SL_MIN_LOG_HZ / SL_F_SP)

static double hz_to_mel(double f, dsp_mel_scale scale)
{
    if (scale == DSP_MEL_HTK)
        return 2595.0 * log10(1.0 + f / 700.0);
    double logstep = log(6.4) / 27.0;
    return f >= SL_MIN_LOG_HZ ? SL_MIN_LOG_MEL + log(f / SL_MIN_LOG_HZ) / logstep : f / SL_F_SP;
}

static double mel_to_hz(double m, dsp_mel_scale scale)
{
    if (scale == DSP_MEL_HTK)
        return 700.0 * (pow(10.0, m / 2595.0) - 1.0);
    double logstep = log(6.4) / 27.0;
    return m >= SL_MIN_LOG_MEL ? SL_MIN_LOG_HZ * exp(logstep * (m - SL_MIN_LOG_MEL)) : SL_F_SP * m;
}

/* The mel scale's ends, fmin and fmax, and the spacing of the n_mels + 2 points between them. */
static void mel_range(const dsp_settings *s, double *lo, double *hi, double *step)
{
    *lo = hz_to_mel(s->fmin, s->mel_scale);
    *hi = hz_to_mel(s->fmax, s->mel_scale);
    *step = (*hi - *lo) / (s->n_mels + 1);
}

/* np.linspace(min_mel, max_mel, n_mels + 2) in Hz: i * step + start, the last point set to stop exactly. */
static void mel_points(const dsp_settings *s, double *mel_f /* [n_mels + 2] */)
{
    double lo, hi, step;
    mel_range(s, &lo, &hi, &step);
    int np_ = s->n_mels + 2;
    for (int i = 0; i < np_; i++)
        mel_f[i] = mel_to_hz(i == np_ - 1 ? hi : i * step + lo, s->mel_scale);
}

/* Band m's centre is point m + 1 of mel_points. */
double dsp_mel_centre_hz(const dsp_settings *s, double m)
{
    double lo, hi, step;
    mel_range(s, &lo, &hi, &step);
    return mel_to_hz(lo + (m + 1) * step, s->mel_scale);
}

double dsp_mel_band_of_hz(const dsp_settings *s, double hz)
{
    double lo, hi, step;
    mel_range(s, &lo, &hi, &step);
    return (hz_to_mel(hz > 0 ? hz : 0, s->mel_scale) - lo) / step - 1;
}

/* np.fft.rfftfreq(n_fft, d=1/sr): k * (1 / (n_fft * d)). */
static double bin_spacing(const dsp_settings *s)
{
    return 1.0 / (s->n_fft * (1.0 / s->sample_rate));
}

/* The float32 weight of FFT bin frequency fk in filter m, as the filterbank stores it. */
static float mel_weight(const dsp_settings *s, const double *mel_f, int m, double fk)
{
    double d0 = mel_f[m + 1] - mel_f[m], d1 = mel_f[m + 2] - mel_f[m + 1];
    double lower = -(mel_f[m] - fk) / d0;
    double upper = (mel_f[m + 2] - fk) / d1;
    double w = fmax(0.0, fmin(lower, upper));
    float wf = (float)w;
    if (s->mel_norm != DSP_NORM_SLANEY)
        return wf;
    double enorm = 2.0 / (mel_f[m + 2] - mel_f[m]);
    return (float)((double)wf * enorm);
}

int dsp_mel_first_empty(const dsp_settings *s, double *band_lo, double *band_hi)
{
    double mel_f[DSP_MAX_MELS + 2];
    mel_points(s, mel_f);
    int n_bins = s->n_fft / 2 + 1;
    double val = bin_spacing(s);
    for (int m = 0; m < s->n_mels; m++) {
        /* A weight is non-zero only for a bin strictly inside (mel_f[m], mel_f[m + 2]); one bin of margin on
         * each side covers the rounding of the divisions, and the weights themselves decide. */
        double k0 = floor(mel_f[m] / val) - 1, k1 = ceil(mel_f[m + 2] / val) + 1;
        int lo = k0 < 0 ? 0 : k0 > n_bins - 1 ? n_bins - 1 : (int)k0;
        int hi = k1 < 0 ? 0 : k1 > n_bins - 1 ? n_bins - 1 : (int)k1;
        int found = 0;
        for (int k = lo; k <= hi && !found; k++)
            found = mel_weight(s, mel_f, m, k * val) != 0.0f;
        if (!found) {
            *band_lo = mel_f[m];
            *band_hi = mel_f[m + 2];
            return m;
        }
    }
    return -1;
}

int dsp_mel_filterbank(const dsp_settings *s, float *out, aa_error *err)
{
    aa_error sub;
    if (dsp_settings_validate(s, &sub) != 0)
        return aa_error_set(err, DSP_ERR_SETTINGS, "mel filterbank: %s", sub.msg);
    int n_mels = s->n_mels, n_bins = s->n_fft / 2 + 1;
    double *mel_f = malloc(sizeof(double) * (size_t)(n_mels + 2));
    double *fft_f = malloc(sizeof(double) * (size_t)n_bins);
    if (!mel_f || !fft_f) {
        free(mel_f);
        free(fft_f);
        return aa_error_set(err, DSP_ERR_NOMEM, "mel filterbank: out of memory");
    }
    double val = bin_spacing(s);
    for (int k = 0; k < n_bins; k++)
        fft_f[k] = k * val;
    mel_points(s, mel_f);
    for (int m = 0; m < n_mels; m++)
        for (int k = 0; k < n_bins; k++)
            out[(size_t)m * n_bins + k] = mel_weight(s, mel_f, m, fft_f[k]);
    free(mel_f);
    free(fft_f);
    aa_error_clear(err);
    return 0;
}
