/* The drift statistics of a training run (train/drift.h).
 *
 * Why the 99th percentile of the validation scores: the validation recordings are recordings like the
 * training ones that the statistics were not computed from, as new recordings of the same kind will be, so
 * the threshold lets about 1 in 100 of those through as drifted and a flag says "rarer than that". The
 * training recordings' own scores would set it too low (the median was taken over them). With 100 or
 * fewer validation recordings the percentile lies between the two largest scores (linear interpolation), so
 * at most one validation recording is flagged and the share flagged on new recordings of the training kind
 * is known only roughly; the training log says on how many recordings it rests. */
#include <stdlib.h>
#include <string.h>

#include "model/drift.h"
#include "train/drift.h"

void tr_drift_free(tr_drift *dr)
{
    free(dr->centre);
    free(dr->scale);
    memset(dr, 0, sizeof *dr);
}

/* The features of training recording f from its cached windows. A long recording's training windows (at
 * most the cache's cap, evenly spaced) cover it less evenly than the windows aa-infer judges it by, which
 * overlap; per-band means and spreads over its frames change little with that, and a recording no longer
 * than a clip is the same one window either way. */
static int train_features(const tr_data *d, size_t f, am_drift_acc *acc, float *feat)
{
    const ds_cache *c = d->cache;
    const ds_cache_file *cf = &c->files[f];
    size_t per = d->n_mels * d->n_frames;
    acc->frames = 0;
    memset(acc->sum, 0, d->n_mels * sizeof *acc->sum);
    memset(acc->sumsq, 0, d->n_mels * sizeof *acc->sumsq);
    for (size_t j = 0; c->feat && c->feat[f] && j < cf->n_windows; j++)
        am_drift_acc_add(acc, c->feat[f] + j * per, d->n_frames,
                         am_drift_frames_used(&d->dsp, (size_t)c->windows[cf->first_window + j].offset,
                                              (size_t)cf->n_samples, d->n_frames));
    return am_drift_features(acc, feat);
}

/* The features of validation recording i from the windows aa-infer would judge it by. */
static int val_features(const tr_data *d, size_t i, am_drift_acc *acc, float *feat)
{
    const am_windows *w = &d->rec_windows[DS_VAL][i];
    size_t per = d->n_mels * d->n_frames, n = (size_t)d->cache->files[d->rec[DS_VAL][i]].n_samples;
    acc->frames = 0;
    memset(acc->sum, 0, d->n_mels * sizeof *acc->sum);
    memset(acc->sumsq, 0, d->n_mels * sizeof *acc->sumsq);
    for (size_t j = 0; j < w->n; j++)
        am_drift_acc_add(acc, w->mel + j * per, d->n_frames, am_drift_frames_used(&d->dsp, w->offset[j], n, d->n_frames));
    return am_drift_features(acc, feat);
}

int tr_drift_fit(tr_drift *dr, const tr_data *d, aa_error *err)
{
    memset(dr, 0, sizeof *dr);
    int nf = 2 * (int)d->n_mels;
    size_t nt = d->n_rec[DS_TRAIN], nv = d->n_rec[DS_VAL];
    float *feats = malloc((nt ? nt : 1) * (size_t)nf * sizeof *feats);
    double *scores = malloc((nv ? nv : 1) * sizeof *scores);
    am_drift_acc *acc = am_drift_acc_new((int)d->n_mels);
    dr->centre = malloc((size_t)nf * sizeof *dr->centre);
    dr->scale = malloc((size_t)nf * sizeof *dr->scale);
    int rc = 0;
    if (!feats || !scores || !acc || !dr->centre || !dr->scale) {
        rc = aa_error_set(err, AA_ERR_NOMEM, "out of memory for the drift statistics");
        goto out;
    }
    for (size_t i = 0; i < nt; i++)
        if (!train_features(d, d->rec[DS_TRAIN][i], acc, feats + dr->n_train * (size_t)nf))
            dr->n_train++;
    if ((rc = am_drift_fit(feats, dr->n_train, nf, dr->centre, dr->scale, err)))
        goto out;
    float *f = feats; /* the training features are no longer needed: one recording's room is reused */
    for (size_t i = 0; i < nv; i++)
        if (!val_features(d, i, acc, f))
            scores[dr->n_val++] = am_drift_score(f, dr->centre, dr->scale, nf);
    if (!dr->n_val) {
        rc = aa_error_set(err, AA_ERR_ARG, "no validation recording to calibrate the drift threshold on");
        goto out;
    }
    double *sorted = malloc(dr->n_val * sizeof *sorted);
    if (!sorted) {
        rc = aa_error_set(err, AA_ERR_NOMEM, "out of memory for the drift statistics");
        goto out;
    }
    memcpy(sorted, scores, dr->n_val * sizeof *sorted);
    dr->threshold = am_drift_percentile(sorted, dr->n_val, AM_DRIFT_PERCENTILE);
    free(sorted);
    if (!(dr->threshold > 0)) /* every validation recording at the centre itself: a degenerate corpus */
        dr->threshold = AM_DRIFT_SCALE_MIN;
    for (size_t i = 0; i < dr->n_val; i++)
        dr->val_flagged += scores[i] > dr->threshold;
out:
    free(feats);
    free(scores);
    am_drift_acc_free(acc);
    if (rc)
        tr_drift_free(dr);
    return rc;
}

void tr_drift_spec(const tr_drift *dr, am_spec *sp)
{
    if (!dr || !dr->centre)
        return;
    sp->drift_centre = dr->centre;
    sp->drift_scale = dr->scale;
    sp->drift_threshold = dr->threshold;
}

void tr_drift_print(FILE *out, const tr_drift *dr)
{
    fprintf(out, "Drift: per-mel statistics of %zu training recordings; threshold %.3f (the %.0fth percentile of "
            "%zu validation recordings' scores%s), %zu of them above it\n",
            dr->n_train, dr->threshold, AM_DRIFT_PERCENTILE, dr->n_val,
            dr->n_val <= 100 ? ": 100 or fewer, so it lies between the two largest" : "", dr->val_flagged);
}
