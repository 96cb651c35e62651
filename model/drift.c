/* Drift features, scores and their calibration (model/drift.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/drift.h"
#include "model/model_internal.h"

am_drift_acc *am_drift_acc_new(int n_mels)
{
    am_drift_acc *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->n_mels = n_mels;
    a->sum = calloc((size_t)n_mels, sizeof *a->sum);
    a->sumsq = calloc((size_t)n_mels, sizeof *a->sumsq);
    if (!a->sum || !a->sumsq) {
        am_drift_acc_free(a);
        return NULL;
    }
    return a;
}

void am_drift_acc_free(am_drift_acc *a)
{
    if (!a)
        return;
    /* an upload's band levels are the upload's, and do not outlive its request (am_wipe_slot) */
    if (a->sum)
        explicit_bzero(a->sum, (size_t)a->n_mels * sizeof *a->sum);
    if (a->sumsq)
        explicit_bzero(a->sumsq, (size_t)a->n_mels * sizeof *a->sumsq);
    free(a->sum);
    free(a->sumsq);
    free(a);
}

size_t am_drift_frames_used(const dsp_settings *s, size_t offset, size_t n, size_t n_frames)
{
    if (offset >= n)
        return 0;
    size_t hop = (size_t)s->hop_length, left = n - offset;
    size_t used = (left + hop - 1) / hop; /* t with t hop < left */
    return used < n_frames ? used : n_frames;
}

void am_drift_acc_add(am_drift_acc *a, const float *mel, size_t n_frames, size_t used)
{
    for (int b = 0; b < a->n_mels; b++) {
        const float *row = mel + (size_t)b * n_frames;
        double s = 0, q = 0;
        for (size_t t = 0; t < used; t++) {
            s += row[t];
            q += (double)row[t] * row[t];
        }
        a->sum[b] += s;
        a->sumsq[b] += q;
    }
    a->frames += (double)used;
}

int am_drift_features(const am_drift_acc *a, float *feat)
{
    if (!(a->frames > 0))
        return -1;
    for (int b = 0; b < a->n_mels; b++) {
        double mean = a->sum[b] / a->frames, var = a->sumsq[b] / a->frames - mean * mean;
        feat[b] = (float)mean;
        feat[a->n_mels + b] = (float)log(sqrt(var > 0 ? var : 0) + AM_DRIFT_SPREAD_EPS);
    }
    return 0;
}

double am_drift_score(const float *feat, const float *centre, const float *scale, int n_feat)
{
    const double cap = AM_DRIFT_Z_CLIP * AM_DRIFT_Z_CLIP;
    double sum = 0;
    for (int i = 0; i < n_feat; i++) {
        double z = ((double)feat[i] - centre[i]) / scale[i], z2 = z * z;
        sum += z2 < cap ? z2 : cap; /* a NaN feature counts as the cap: never as "like training" */
    }
    return n_feat > 0 ? sum / n_feat : 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of x[0..n), n >= 1; sorts x. */
static double median(double *x, size_t n)
{
    qsort(x, n, sizeof *x, cmp_double);
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

int am_drift_fit(const float *feats, size_t n, int n_feat, float *centre, float *scale, aa_error *err)
{
    if (n < 1 || n_feat < 1)
        return aa_error_set(err, AM_ERR_ARG, "drift statistics need at least one recording (%zu given)", n);
    double *col = malloc(n * sizeof *col);
    if (!col)
        return aa_error_set(err, AM_ERR_NOMEM, "out of memory for the drift statistics of %zu recordings", n);
    for (int i = 0; i < n_feat; i++) {
        for (size_t r = 0; r < n; r++)
            col[r] = feats[r * (size_t)n_feat + (size_t)i];
        double med = median(col, n);
        for (size_t r = 0; r < n; r++)
            col[r] = fabs(col[r] - med);
        /* 1.4826 MAD is the standard deviation for normal data, so z reads as usual z-scores */
        double s = 1.4826 * median(col, n);
        centre[i] = (float)med;
        scale[i] = (float)(s > AM_DRIFT_SCALE_MIN ? s : AM_DRIFT_SCALE_MIN);
    }
    free(col);
    return 0;
}

double am_drift_percentile(double *x, size_t n, double pct)
{
    qsort(x, n, sizeof *x, cmp_double);
    double pos = pct / 100.0 * (double)(n - 1);
    size_t lo = (size_t)floor(pos);
    if (lo >= n - 1)
        return x[n - 1];
    double f = pos - (double)lo;
    return x[lo] + f * (x[lo + 1] - x[lo]);
}

int am_has_drift(const am_model *m)
{
    return m->drift_centre != NULL;
}

double am_drift_threshold(const am_model *m)
{
    return m->drift_centre ? m->drift_threshold : 0;
}

am_drift am_drift_judge(const am_model *m, const am_drift_acc *a)
{
    am_drift d = {0};
    int n_feat = 2 * m->dsp.n_mels;
    float *feat = m->drift_centre && a ? malloc((size_t)n_feat * sizeof *feat) : NULL;
    if (feat && !am_drift_features(a, feat)) {
        d.judged = 1;
        d.score = am_drift_score(feat, m->drift_centre, m->drift_scale, n_feat);
        d.threshold = m->drift_threshold;
        d.drifted = d.score > d.threshold;
    }
    free(feat);
    return d;
}
