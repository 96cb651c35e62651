#ifndef TR_CV_H
#define TR_CV_H

/* aa-train --cv: k-fold cross-validation over DATA's folds (the manifest's fold column, or --folds K made
 * by group and class). Each fold in turn is the test side; validation is carved from the other folds with
 * whole groups, as the ordinary split carves it; each fold is loaded, trained and judged by the ordinary
 * trainer's route (tr_data_load, tr_train, the inference code through tr_data_judge, eval/'s figures).
 *
 * The normalisation is one for all folds (per-mel mean and standard deviation over every window of DATA,
 * labels not used) so that the fold networks can share a front end in one ensemble file; it therefore sees
 * the test fold's audio, never its labels.
 *
 * Calibration: temperature and gate are fitted on the pooled validation predictions (each fold's
 * validation recordings judged by that fold's network) and applied to the pooled out-of-fold test
 * predictions, which hold every recording exactly once. Each fold also gets its own temperature and gate,
 * fitted on its validation side alone, when that side holds at least TR_CV_GATE_MIN recordings; a smaller
 * side says so and the fold is judged with the pooled gate instead. */

#include <stdio.h>

#include "train/options.h"

/* At 0.95 selective accuracy, the binomial sd of an estimate over n recordings is sqrt(0.0475 / n): 0.022
 * at 100, inside the 0.03 a gate should transfer within; at 50 it is 0.031. */
#define TR_CV_GATE_MIN 100

/* Runs the whole cross-validation; prints to out (text) and writes --report-json and, with --cv-ensemble,
 * -o MODEL. Returns the exit status (0, 1 runtime error, 2 usage error) after printing any error. */
int tr_cv_run(const tr_options *o, FILE *out);

#endif
