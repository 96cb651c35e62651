#ifndef TR_DRIFT_H
#define TR_DRIFT_H

/* The drift statistics a model file stores (model/drift.h): centre and scale from the training recordings,
 * the threshold from the validation recordings, which played no part in them. */

#include <stdio.h>

#include "model/model.h"
#include "train/data.h"

typedef struct {
    float *centre, *scale; /* [2 n_mels] */
    double threshold;
    size_t n_train, n_val; /* recordings the statistics and the threshold rest on */
    size_t val_flagged;    /* validation recordings above the threshold */
} tr_drift;

/* Centre and scale from the features of d's training recordings (the cached training windows' log-mels,
 * each recording's frames that are its audio), the threshold the AM_DRIFT_PERCENTILE-th percentile of the
 * validation recordings' scores (their windows as aa-infer cuts them). On failure *dr holds nothing to free. */
int tr_drift_fit(tr_drift *dr, const tr_data *d, aa_error *err);
void tr_drift_free(tr_drift *dr);
/* Puts the statistics into a spec (NULL dr: leaves it without). */
void tr_drift_spec(const tr_drift *dr, am_spec *sp);
/* The training log's line. */
void tr_drift_print(FILE *out, const tr_drift *dr);

#endif
