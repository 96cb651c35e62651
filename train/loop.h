#ifndef TR_LOOP_H
#define TR_LOOP_H

/* The training loop: epochs of shuffled, augmented batches, validation after each epoch, early stopping on
 * the validation macro-F1 keeping the best parameters, a checkpoint after every epoch and an exact resume.
 * Validation runs the inference code on the network being trained (tr_data_judge): the windows' logits
 * through am_logits_batch, the recordings' scores through am_windows_scores. */

#include "nn/nn.h"
#include "train/data.h"
#include "train/options.h"
#include "train/progress.h"

typedef struct {
    nn_model *net;          /* after tr_train: the best epoch's parameters and running statistics */
    tr_epoch *history;      /* [n_history] every epoch run, including those before a resume */
    int n_history;
    int best_epoch;         /* 1-based; 0 if none */
    double best_f1, best_loss;
    int stopped_early;      /* 1: patience ran out */
    int paused;             /* 1: --stop-after ended the run; net holds the last epoch's state */
    int resumed_from;       /* epochs already done in the checkpoint resumed from; 0 for a fresh run */
    double seconds;         /* wall time of the epochs run in this process */
} tr_run;

/* Trains (or resumes, with --resume) on d. On failure (err says why) *r holds nothing to free. */
int tr_train(tr_run *r, const tr_data *d, const tr_options *o, tr_progress *p, aa_error *err);
void tr_run_free(tr_run *r);

#endif
