#ifndef TR_CHECKPOINT_H
#define TR_CHECKPOINT_H

/* The trainer's state between epochs, and its checkpoint file: nn/'s checkpoint (network, optimiser
 * moments and step count, the shuffling RNG) carrying the rest as metadata: the epochs done, the history,
 * the best score and the best parameters, the early-stopping counter, and the options that shaped the
 * run, which a resume must repeat. */

#include "nn/nn.h"
#include "train/progress.h"

typedef struct {
    int epochs_done;
    int best_epoch;        /* 1-based, 0: none yet */
    double best_f1, best_loss;
    int bad_epochs;        /* epochs since the best */
    int finished;          /* 1: the run ended (patience or the last epoch); only calibration is left */
    float *best_params;    /* [n_params] */
    float *best_stats;     /* [n_stats] (NULL when the network has none) */
    /* With --ema: exponential moving averages of the parameters and running statistics, the network
     * that is validated and kept; NULL without. */
    float *ema_params;     /* [n_params] */
    float *ema_stats;      /* [n_stats] */
    size_t n_params, n_stats;
    tr_epoch *history;     /* [n_history], capacity cap_history */
    int n_history, cap_history;
} tr_state;

/* Sizes the state for net (best parameters and averages = the current ones); ema: keep averages. */
int tr_state_init(tr_state *s, nn_model *net, int max_epochs, int ema, aa_error *err);
void tr_state_free(tr_state *s);
/* Copies net's parameters and running statistics in as the best. */
void tr_state_keep_best(tr_state *s, nn_model *net);
/* Copies the best back into net. */
void tr_state_restore_best(const tr_state *s, nn_model *net);
/* After optimiser step `step` (0-based): average = d average + (1 - d) current, with
 * d = min(decay, (1 + step) / (10 + step)) so that the early average is not dominated by the initial
 * weights. */
void tr_state_ema_update(tr_state *s, nn_model *net, double decay, uint64_t step);
/* Exchanges net's parameters and statistics with the averages (twice restores both). */
void tr_state_ema_swap(tr_state *s, nn_model *net);

/* Writes the checkpoint atomically. fingerprint: tr_options_fingerprint. */
int tr_checkpoint_save(const char *path, const nn_model *net, const nn_optimizer *opt, const aa_rng *rng,
                       const tr_state *s, const char *fingerprint, aa_error *err);
/* Loads a checkpoint for batches up to max_batch, refusing one made with other options or on other data
 * (fingerprint: the options' and tr_data_fingerprint's lines; the message names the first line that
 * differs). Fills *net, *opt, *rng and *s (tr_state_init'ed here); on failure
 * nothing is left to free. */
int tr_checkpoint_load(const char *path, int max_batch, int max_epochs, int ema, const char *fingerprint,
                       nn_model **net, nn_optimizer **opt, aa_rng *rng, tr_state *s, aa_error *err);

#endif
