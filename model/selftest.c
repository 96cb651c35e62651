/* The self-test: a fixed signal whose log-mel and logits the trainer stores in the model file, so that any
 * build on any machine can prove it computes what training computed.
 *
 * The signal, at the model's rate r over one clip (t in seconds, n = clip_samples):
 *   0.25 sin(2 pi 440 t)                                  a steady tone
 * + 0.15 sin(2 pi (200 t + (f1 - 200) t^2 / (2 T)))       a linear chirp from 200 Hz to f1 = 0.75 r/2
 * + 0.10 g(t)                                             noise from aa_rng seed 20240601, only for
 *                                                         0.3 T <= t < 0.45 T (a burst)
 * + 0.50 at every sample index divisible by r/4           clicks, four a second
 * where T is the clip length and g(t) standard normal. Everything is computed in double and rounded to
 * float once, so the signal is the same bits wherever libm's sin agrees to within half a float ulp. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"

float *am_selftest_signal(const dsp_settings *s, size_t *n_out)
{
    size_t n = dsp_clip_samples(s);
    float *x = malloc(n * sizeof *x);
    if (!x)
        return NULL;
    double r = s->sample_rate, T = (double)n / r, f1 = 0.75 * r / 2;
    size_t click = (size_t)(r / 4);
    aa_rng rng;
    aa_rng_seed(&rng, 20240601);
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / r;
        double v = 0.25 * sin(2 * M_PI * 440 * t) + 0.15 * sin(2 * M_PI * (200 * t + (f1 - 200) * t * t / (2 * T)));
        if (t >= 0.3 * T && t < 0.45 * T)
            v += 0.10 * aa_rng_normal(&rng);
        if (click && i % click == 0)
            v += 0.5;
        x[i] = (float)v;
    }
    *n_out = n;
    return x;
}

int am_selftest_compute(am_model *m, float *mel, float *logits, aa_error *err)
{
    size_t n = 0, at = 0;
    float *sig = am_selftest_signal(&m->dsp, &n);
    if (!sig)
        return aa_error_set(err, AM_ERR_NOMEM, "out of memory");
    const float *one[1] = {mel};
    int rc = dsp_windows_logmel(m->logmel, 0, sig, n, &at, 1, mel, err);
    if (!rc)
        rc = am_logits_batch(m, 0, one, 1, logits, err);
    free(sig);
    return rc;
}

int am_selftest(am_model *m, am_selftest_report *out, aa_error *err)
{
    memset(out, 0, sizeof *out);
    /* 0.01 dB is the front end's own exactness bound against librosa; logits may differ in their last bits
     * between OpenBLAS kernels (AVX2 vs AVX-512 sum in different orders), ~1e-6 relative, so 1e-3 absolute
     * leaves a wide margin while any real drift (a changed setting, a different filterbank) is far larger. */
    out->mel_tolerance = 0.01;
    out->logit_tolerance = 1e-3;
    if (!m->st_mel || !m->st_logits)
        return aa_error_set(err, AM_ERR_FORMAT, "this model file carries no self-test data");
    size_t per = am_mel_size(m);
    float *mel = malloc(per * sizeof *mel);
    float logits[AM_MAX_CLASSES];
    if (!mel)
        return aa_error_set(err, AM_ERR_NOMEM, "out of memory");
    int rc = am_selftest_compute(m, mel, logits, err);
    if (rc) {
        free(mel);
        return rc;
    }
    double dm = 0, dl = 0;
    for (size_t i = 0; i < per; i++) {
        double d = fabs((double)mel[i] - m->st_mel[i]);
        if (!(d <= dm))
            dm = d; /* also catches NaN */
    }
    free(mel);
    for (int c = 0; c < m->n_outputs; c++) {
        double d = fabs((double)logits[c] - m->st_logits[c]);
        if (!(d <= dl))
            dl = d;
    }
    out->mel_max_abs_diff = dm;
    out->logit_max_abs_diff = dl;
    out->pass = dm <= out->mel_tolerance && dl <= out->logit_tolerance;
    return 0;
}
