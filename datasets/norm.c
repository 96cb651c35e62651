/* Per-mel feature normalisation statistics over the training windows (dsp_normalise applies them). */
#include <math.h>
#include <stdlib.h>

#include "datasets/datasets.h"

/* Two passes (mean, then squared deviations) rather than sum and sum of squares: dB values sit around -60
 * with a spread of ~15, where E[x^2] - E[x]^2 would cancel most of its digits. Each row is a plain serial
 * sum in double over windows in the given order, then frames in order, so the result is the same bits on
 * every run. */
int ds_norm_compute(const ds_cache *c, const size_t *idx, size_t n, float *mean, float *std, aa_error *err)
{
    if (n == 0)
        return aa_error_set(err, DS_ERR_ARG, "normalisation: no windows to compute it from");
    for (size_t i = 0; i < n; i++)
        if (idx[i] >= c->n_windows)
            return aa_error_set(err, DS_ERR_ARG, "normalisation: window %zu out of range (%zu windows)", idx[i],
                                c->n_windows);
    const size_t M = c->n_mels, F = c->n_frames;
    double *mu = calloc(M, sizeof *mu), *ss = calloc(M, sizeof *ss);
    if (!mu || !ss) {
        free(mu);
        free(ss);
        return aa_error_set(err, DS_ERR_NOMEM, "normalisation: out of memory");
    }
    const double count = (double)n * (double)F;
    for (size_t i = 0; i < n; i++) {
        const float *x = ds_cache_features(c, idx[i]);
        for (size_t m = 0; m < M; m++)
            for (size_t t = 0; t < F; t++)
                mu[m] += x[m * F + t];
    }
    for (size_t m = 0; m < M; m++)
        mu[m] /= count;
    for (size_t i = 0; i < n; i++) {
        const float *x = ds_cache_features(c, idx[i]);
        for (size_t m = 0; m < M; m++)
            for (size_t t = 0; t < F; t++) {
                double d = x[m * F + t] - mu[m];
                ss[m] += d * d;
            }
    }
    for (size_t m = 0; m < M; m++) {
        double sd = sqrt(ss[m] / count);
        mean[m] = (float)mu[m];
        std[m] = sd < DS_NORM_MIN_STD ? 1.0f : (float)sd;
    }
    free(mu);
    free(ss);
    return 0;
}
