#ifndef AA_MODEL_DRIFT_H
#define AA_MODEL_DRIFT_H

/* Drift: how unlike the training recordings a recording is, judged on the features the classifier sees
 * (the log-mel in dB, before normalisation), apart from the quality verdict and the Unclear gate.
 *
 * A recording's drift features are, for each mel band, the mean of its frames (dB) and the log of their
 * spread (natural log of the standard deviation in dB, plus AM_DRIFT_SPREAD_EPS): 2 n_mels numbers, over
 * the frames of the windows the recording is judged by whose centre lies in the recording (the zero padding
 * of a short recording's clip is not the recording). The trainer stores, per feature, the median over the
 * training recordings (centre) and their spread as a robust scale (1.4826 MAD, at least
 * AM_DRIFT_SCALE_MIN). The score is the mean over features of min(z^2, AM_DRIFT_Z_CLIP^2), z = (feature -
 * centre) / scale: about 1 for a recording like the training ones, 0 for one at the centre itself. A
 * recording is drifted when its score is above the threshold stored beside them (the trainer: the
 * AM_DRIFT_PERCENTILE-th percentile of the validation recordings' scores).
 *
 * Why clipped: one band far off (a mains hum, a dead band of one microphone) would otherwise decide alone,
 * since z^2 grows without bound; clipped at 12, one feature of the 128 of a 64-mel model adds at most
 * 144 / 128 = 1.1 to the score, well under the thresholds calibrated on real data (about 10 to 20), while a
 * change of many bands at once (gain, noise, band limits) still adds up. Why 12: recordings like the
 * training ones stay far below it (on the respiratory corpus no validation recording had a |z| above 6, so
 * the clip changes none of their scores), while the signature of an 8 kHz recording, a dozen upper bands
 * with no spread at all, sits at |z| 8 to 11: clipped at 8 that was cut to the bulk and 0.7 % of the Free
 * Spoken Digit recordings were flagged, at 12 half of them. */

#include <stddef.h>

#include "model/model.h"

#define AM_DRIFT_Z_CLIP 12.0
/* A feature constant across the training recordings (a synthetic corpus) would divide by zero; real
 * recordings' per-band means spread by several dB and their log-spreads by tenths. */
#define AM_DRIFT_SCALE_MIN 0.01
/* dB added to a band's spread before the log: a constant band (digital silence, the front end's floor)
 * gives log(0.01), not -inf. */
#define AM_DRIFT_SPREAD_EPS 0.01
#define AM_DRIFT_PERCENTILE 99.0

/* The running sums of one recording's frames, band by band. */
typedef struct {
    int n_mels;
    double frames; /* frames added */
    double *sum;   /* [n_mels] */
    double *sumsq; /* [n_mels] */
} am_drift_acc;

/* NULL when out of memory. */
am_drift_acc *am_drift_acc_new(int n_mels);
void am_drift_acc_free(am_drift_acc *a);
/* Frames of a window starting at sample offset (of a recording of n samples) that are the recording's: those
 * whose centre (or start, uncentred) sample offset + t hop is before n; at most n_frames. */
size_t am_drift_frames_used(const dsp_settings *s, size_t offset, size_t n, size_t n_frames);
/* Adds the first `used` frames of mel [n_mels][n_frames] (dB). */
void am_drift_acc_add(am_drift_acc *a, const float *mel, size_t n_frames, size_t used);
/* The features [2 n_mels] (means, then log-spreads) of what was added: 0, or -1 when no frame was. */
int am_drift_features(const am_drift_acc *a, float *feat);
/* The score of features feat [n_feat] against centre and scale [n_feat] (scale > 0). */
double am_drift_score(const float *feat, const float *centre, const float *scale, int n_feat);
/* The centre (median) and scale (1.4826 MAD, floored) of n >= 1 recordings' features feats [n][n_feat]. */
int am_drift_fit(const float *feats, size_t n, int n_feat, float *centre, float *scale, aa_error *err);
/* The pct-th percentile (0..100) of x[0..n), n >= 1, by linear interpolation between order statistics
 * (position pct/100 (n - 1), numpy's default); sorts x. */
double am_drift_percentile(double *x, size_t n, double pct);

/* The model's drift statistics (NULL, NULL, 0 for a model without them) and the verdict on the features
 * of one recording. */
int am_has_drift(const am_model *m);
double am_drift_threshold(const am_model *m);
am_drift am_drift_judge(const am_model *m, const am_drift_acc *a);

#endif
