#ifndef TR_TUNE_H
#define TR_TUNE_H

/* The timeline's event rule fitted after calibration on mixtures made of validation recordings only. */

#include <stdio.h>

#include "model/model.h"
#include "nn/nn.h"
#include "train/data.h"
#include "train/options.h"

/* Makes the 30 mixtures of the validation side (datasets/mixset.c: its events of the model's cough class,
 * else of every class but the background, in its backgrounds and quiet stretches; stream 1 of --seed),
 * follows each with net judged by sp (the calibrated model as it will be saved), sweeps the event rule
 * (model/tune.c) for --timeline-fa-budget and puts the chosen row in *out (tuned 1). Prints one line on out
 * (unless --quiet), also when it does not tune: --no-timeline-tune (silent), a respiratory model without a
 * cough class, or too little validation material (*out is then left untuned). 0, or an error. */
int tr_tune_timeline(am_timeline *out, const tr_data *d, nn_model *net, const am_spec *sp, const tr_options *o,
                     FILE *to, aa_error *err);

#endif
