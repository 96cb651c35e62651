#ifndef TR_LOOP_H
#define TR_LOOP_H

/* The training loop: epochs of shuffled, augmented batches, validation after each epoch, early stopping on
 * the validation macro-F1 keeping the best parameters, a checkpoint after every epoch and an exact resume. */

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

/* Evaluation-mode logits of windows idx[0..n) of d, normalised as in training ([n][k]); chunks of `batch`. */
int tr_window_logits(nn_model *net, const tr_data *d, const size_t *idx, size_t n, int batch,
                     float *logits /* [n][k] */, aa_error *err);
/* Evaluation-mode scores of recordings [w->n_rec][k]: the logits of their windows w, combined by policy a
 * (am_aggregate_combine), as am_classify_file scores a file. */
int tr_rec_logits(nn_model *net, const tr_data *d, const tr_rec_windows *w, const am_aggregate *a, int batch,
                  float *logits, aa_error *err);
/* The same for the validation recordings under the run's policy (d->val_rec, d->aggregate), [n_rec[DS_VAL]][k]. */
int tr_val_recording_logits(nn_model *net, const tr_data *d, int batch, float *logits, aa_error *err);

#endif
