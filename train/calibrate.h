#ifndef TR_CALIBRATE_H
#define TR_CALIBRATE_H

/* Calibration of a trained network on validation items: the softmax temperature and the Unclear gate. */

#include <stddef.h>

#include "eval/eval.h"
#include "model/model.h"
#include "train/options.h"

typedef struct {
    ev_temp_fit fit;         /* as ev_fit_temperature found it */
    double temperature;      /* the one kept: fit.t, or 1 when the fit ran into the range's lower bound */
    int temperature_rejected;/* 1: the fit hit EV_TEMP_MIN (validation items all but perfectly separated,
                                which says nothing about confidence on new recordings), 1 kept */
    ev_gate_choice *gate;    /* chosen on the items scaled with `temperature`; owned */
    float *probs;            /* [n][k] the items' probabilities at `temperature`; owned */
    /* The validation recordings judged by the final model — temperature and gate as the model file stores
     * them — through the inference route (tr_judge_recordings); the trainer fills it once the gate is
     * chosen. Owned (tr_calibration_free frees it); NULL until then. */
    ev_eval *eval;
    ev_breakdown *breakdown; /* the same recordings per source, and the negatives among them; owned */
    am_timeline timeline;    /* the timeline's event rule (train/tune.c); tuned 0: not tuned */
} tr_calibration;

/* Fits the temperature on logits [n][k] with labels [n], then chooses the gate with the options'
 * --gate-target, --gate-min-covered and --per-class-gates (eval stays NULL). On failure (err says why) *c
 * holds nothing to free. */
int tr_calibrate(tr_calibration *c, size_t n, int k, const int *labels /* [n] */, const float *logits /* [n][k] */,
                 const tr_options *o, aa_error *err);
void tr_calibration_free(tr_calibration *c);
/* The two halves: the temperature alone, fitted on the network's outputs (logits [n][k], labels [n]) ...
 * (*c is reset first; nothing to free on failure) */
int tr_calibrate_fit(tr_calibration *c, size_t n, int k, const int *labels, const float *logits, aa_error *err);
/* ... then the gate on the decisions' probabilities at that temperature (probs [n][k] of the reported
 * classes, labels [n] reported classes: with negatives, the recordings of a class only), copied into
 * c->probs. rest_unclear: the model reports some output as Unclear (ev_gate_opts.rest_unclear). */
int tr_calibrate_gate(tr_calibration *c, size_t n, int k, const int *labels, const float *probs, int rest_unclear,
                      const tr_options *o, aa_error *err);

#endif
