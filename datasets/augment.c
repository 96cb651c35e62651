/* On-the-fly augmentation of cached log-mel windows: time shift, gain, background noise at an SNR,
 * SpecAugment masks, and the Beta draw mixup needs. See datasets.h for the order and the defaults' reasons. */
#include <math.h>
#include <string.h>

#include "datasets/augment_internal.h"

void ds_augment_opts_default(ds_augment_opts *o)
{
    *o = (ds_augment_opts){
        .shift_p = 0.5,
        .shift_max_s = 0.5,
        .gain_p = 0.5,
        .gain_db = 6,
        .noise_p = 0.3,
        .snr_min_db = 5,
        .snr_max_db = 30,
        .specaug_p = 0.5,
        .time_masks = 2,
        .time_mask_max = 40,
        .freq_masks = 2,
        .freq_mask_max = 8,
        .mixup_p = 0,
        .mixup_alpha = 0.2,
        .background_class = "background_noise",
        /* The waveform steps are off: on the real corpus's validation side they raised the cough
         * probability of quiet single coughs but neither the macro-F1 of its recordings nor the coughs a
         * timeline finds (README, "single coughs in quiet rooms"). */
        .mix_p = 0,
        .colour_p = 0,
        .reverb_p = 0,
        .rt60_min_s = 0.1,
        .rt60_max_s = 0.8,
        .clip_p = 0,
        .warp_p = 0,
        .warp_freq = 0.1,
        .warp_time = 0.1,
    };
    ds_mix_opts_default(&o->mix);
    ds_event_opts_default(&o->events);
}

int ds_augment_needs_signals(const ds_augment_opts *o)
{
    return o->mix_p > 0 || o->colour_p > 0 || o->reverb_p > 0 || o->clip_p > 0;
}

void ds_augment_opts_off(ds_augment_opts *o)
{
    ds_augment_opts_default(o);
    o->shift_p = o->gain_p = o->noise_p = o->specaug_p = o->mixup_p = 0;
    o->mix_p = o->colour_p = o->reverb_p = o->clip_p = o->warp_p = 0;
}

static int prob_ok(double p)
{
    return p >= 0 && p <= 1;
}

int ds_aug_validate(const ds_augment_opts *o, size_t n_mels, size_t n_frames, aa_error *err)
{
    if (!prob_ok(o->shift_p) || !prob_ok(o->gain_p) || !prob_ok(o->noise_p) || !prob_ok(o->specaug_p) ||
        !prob_ok(o->mixup_p) || !prob_ok(o->mix_p) || !prob_ok(o->colour_p) || !prob_ok(o->reverb_p) ||
        !prob_ok(o->clip_p) || !prob_ok(o->warp_p))
        return aa_error_set(err, DS_ERR_ARG, "augmentation: probabilities must be in [0, 1]");
    if (!(o->shift_max_s >= 0 && o->shift_max_s <= 60))
        return aa_error_set(err, DS_ERR_ARG, "augmentation: shift %g s out of range [0, 60]", o->shift_max_s);
    if (!(o->gain_db >= 0 && o->gain_db <= 60))
        return aa_error_set(err, DS_ERR_ARG, "augmentation: gain %g dB out of range [0, 60]", o->gain_db);
    if (!(o->snr_min_db >= -60 && o->snr_min_db <= o->snr_max_db && o->snr_max_db <= 120))
        return aa_error_set(err, DS_ERR_ARG, "augmentation: SNR range [%g, %g] dB invalid (within [-60, 120])",
                            o->snr_min_db, o->snr_max_db);
    if (o->time_masks < 0 || o->time_masks > DS_AUG_MAX_MASKS || o->freq_masks < 0 ||
        o->freq_masks > DS_AUG_MAX_MASKS)
        return aa_error_set(err, DS_ERR_ARG, "augmentation: mask counts must be in 0..%d", DS_AUG_MAX_MASKS);
    if (o->time_mask_max < 0 || (size_t)o->time_mask_max > n_frames || o->freq_mask_max < 0 ||
        (size_t)o->freq_mask_max > n_mels)
        return aa_error_set(err, DS_ERR_ARG,
                            "augmentation: mask widths %d frames, %d mels exceed the features (%zu x %zu)",
                            o->time_mask_max, o->freq_mask_max, n_frames, n_mels);
    if (!(o->warp_freq >= 0 && o->warp_freq <= DS_AUG_WARP_MAX && o->warp_time >= 0 &&
          o->warp_time <= DS_AUG_WARP_MAX))
        return aa_error_set(err, DS_ERR_ARG, "augmentation: warp %g (frequency), %g (time) out of range [0, %g]",
                            o->warp_freq, o->warp_time, DS_AUG_WARP_MAX);
    if (!(o->mixup_alpha > 0 && o->mixup_alpha <= 100))
        return aa_error_set(err, DS_ERR_ARG, "augmentation: mixup alpha %g out of range (0, 100]", o->mixup_alpha);
    if (o->mix_p > 0) {
        int rc = ds_mix_opts_validate(&o->mix, err);
        if (!rc)
            rc = ds_event_opts_validate(&o->events, err);
        if (rc)
            return rc;
    }
    if (o->reverb_p > 0 && !(o->rt60_min_s >= DS_AUG_RT60_MIN && o->rt60_min_s <= o->rt60_max_s &&
                             o->rt60_max_s <= DS_AUG_RT60_MAX))
        return aa_error_set(err, DS_ERR_ARG, "augmentation: RT60 range [%g, %g] s invalid (within [%g, %g])",
                            o->rt60_min_s, o->rt60_max_s, DS_AUG_RT60_MIN, DS_AUG_RT60_MAX);
    return 0;
}

/* The same float arithmetic as dsp_power_to_db's floor, so a shifted-in frame equals what zero padding of
 * the audio would have produced in that window. */
static float floor_of(const float *x, size_t count, double top_db)
{
    float top = x[0];
    for (size_t i = 1; i < count; i++)
        top = x[i] > top ? x[i] : top;
    return top - (float)top_db;
}

void ds_aug_shift(const float *src, float *out, size_t n_mels, size_t n_frames, int shift, double top_db)
{
    const size_t F = n_frames;
    if (shift == 0) {
        memcpy(out, src, n_mels * F * sizeof *out);
        return;
    }
    const float fl = floor_of(src, n_mels * F, top_db);
    size_t s = (size_t)(shift > 0 ? shift : -shift);
    if (s > F)
        s = F;
    for (size_t m = 0; m < n_mels; m++) {
        const float *a = src + m * F;
        float *b = out + m * F;
        if (shift > 0) {
            for (size_t t = 0; t < s; t++)
                b[t] = fl;
            memcpy(b + s, a, (F - s) * sizeof *b);
        } else {
            memcpy(b, a + s, (F - s) * sizeof *b);
            for (size_t t = F - s; t < F; t++)
                b[t] = fl;
        }
    }
}

void ds_aug_gain(float *x, size_t count, float gain_db)
{
    for (size_t i = 0; i < count; i++)
        x[i] += gain_db;
}

void ds_aug_mix_noise(float *x, const float *noise, size_t count, double snr_db, double top_db)
{
    /* Powers relative to the dB reference, which cancels in k. Sums in double: 25 664 terms spanning 80 dB. */
    const double c = M_LN10 / 10; /* 10^(d/10) = exp(c d), cheaper than pow */
    double sx = 0, sn = 0;
    for (size_t i = 0; i < count; i++) {
        sx += exp(c * x[i]);
        sn += exp(c * noise[i]);
    }
    const double k = sx / (sn * exp(c * snr_db));
    for (size_t i = 0; i < count; i++)
        x[i] = (float)(10.0 * log10(exp(c * x[i]) + k * exp(c * noise[i])));
    const float fl = floor_of(x, count, top_db);
    for (size_t i = 0; i < count; i++)
        x[i] = x[i] > fl ? x[i] : fl;
}

void ds_aug_warp(const float *src, float *out, const dsp_settings *s, size_t n_frames, float freq_warp,
                 float time_stretch)
{
    const size_t M = (size_t)s->n_mels, F = n_frames;
    const float fl = floor_of(src, M * F, s->top_db);
    const double mid = 0.5 * (double)(F - 1);
    for (size_t m = 0; m < M; m++) {
        double sm = dsp_mel_band_of_hz(s, dsp_mel_centre_hz(s, (double)m) / freq_warp);
        sm = sm < 0 ? 0 : sm > (double)(M - 1) ? (double)(M - 1) : sm;
        size_t m0 = (size_t)sm, m1 = m0 + 1 < M ? m0 + 1 : m0;
        const float fm = (float)(sm - (double)m0);
        const float *a = src + m0 * F, *b = src + m1 * F;
        float *o = out + m * F;
        for (size_t t = 0; t < F; t++) {
            double st = mid + ((double)t - mid) / time_stretch;
            if (st < 0 || st > (double)(F - 1)) {
                o[t] = fl;
                continue;
            }
            size_t t0 = (size_t)st, t1 = t0 + 1 < F ? t0 + 1 : t0;
            const float ft = (float)(st - (double)t0);
            float lo = a[t0] + ft * (a[t1] - a[t0]), hi = b[t0] + ft * (b[t1] - b[t0]);
            o[t] = lo + fm * (hi - lo);
        }
    }
}

void ds_aug_masks(float *x, size_t n_mels, size_t n_frames, const ds_augment_params *p)
{
    for (int k = 0; k < p->n_time_masks; k++)
        for (size_t m = 0; m < n_mels; m++)
            for (int t = p->time_start[k]; t < p->time_start[k] + p->time_width[k]; t++)
                x[m * n_frames + (size_t)t] = 0;
    for (int k = 0; k < p->n_freq_masks; k++)
        for (int m = p->freq_start[k]; m < p->freq_start[k] + p->freq_width[k]; m++)
            memset(x + (size_t)m * n_frames, 0, n_frames * sizeof *x);
}

/* Gamma(a, 1) by Marsaglia and Tsang (2000), with the boost U^(1/a) for a < 1. */
static double gamma_draw(aa_rng *r, double a)
{
    if (a < 1) {
        double u = aa_rng_uniform_d(r);
        return gamma_draw(r, a + 1) * pow(u, 1 / a);
    }
    const double d = a - 1.0 / 3, c = 1 / sqrt(9 * d);
    for (;;) {
        double x, v;
        do {
            x = aa_rng_normal(r);
            v = 1 + c * x;
        } while (v <= 0);
        v = v * v * v;
        double u = aa_rng_uniform_d(r);
        if (u < 1 - 0.0331 * x * x * x * x || log(u) < 0.5 * x * x + d * (1 - v + log(v)))
            return d * v;
    }
}

double ds_aug_beta(aa_rng *r, double alpha)
{
    double a = gamma_draw(r, alpha), b = gamma_draw(r, alpha);
    return a + b > 0 ? a / (a + b) : 0.5;
}
