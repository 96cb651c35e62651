#ifndef TR_PROGRESS_H
#define TR_PROGRESS_H

/* What aa-train tells the person watching: a progress bar while features are extracted, a line per epoch
 * (updated in place on a terminal, plain lines otherwise), and the JSON-lines log (--log). */

#include <stddef.h>
#include <stdio.h>

#include "util/util.h"

/* One epoch's figures. NaN means "not measured". */
typedef struct {
    int epoch;             /* 1-based */
    double lr;             /* the rate of the epoch's last step */
    double train_loss;     /* mean loss over the epoch's steps (weighted as the training loss is) */
    double train_accuracy; /* of the augmented training windows, in training mode */
    double val_loss;       /* mean cross-entropy (unweighted) of the validation windows */
    double val_accuracy, val_macro_f1;
    /* the validation recordings, each judged as aa-infer judges a file (its policy's windows) */
    double val_rec_accuracy, val_rec_macro_f1;
    /* the same recordings judged by the mean of their windows' probabilities (the log only) */
    double val_rec_mean_macro_f1;
    double seconds;        /* wall time of the epoch (never stored in the model) */
    double train_seconds;  /* of which the training steps (batches, forward, backward, update) */
    size_t samples;        /* training windows seen in the epoch (the last partial batch is left out) */
    /* under mpirun (the log only, never the model): of train_seconds, the time in MPI calls (waiting for
     * the other ranks included), and the bytes this rank handed to them (nn_shard_comm) */
    double comm_seconds, comm_bytes;
    int best;              /* 1 when this epoch became the kept model */
} tr_epoch;

typedef struct {
    FILE *out;     /* human output (stdout) */
    int tty;       /* out is a terminal: redraw lines in place */
    int quiet;     /* print nothing but the caller's warnings and errors */
    FILE *log;     /* --log, or NULL */
    double t0;     /* start of the current phase (aa_now) */
    size_t last_drawn; /* extraction: last count drawn (plain mode prints at each quarter) */
    double last_draw_t;
    int line_open; /* a line without its newline is on the terminal */
} tr_progress;

void tr_progress_init(tr_progress *p, FILE *out, int tty, int quiet, FILE *log);

/* A ds_progress_fn for the feature extraction: a bar on a terminal, a line at each quarter otherwise. */
void tr_progress_extract(void *user, size_t done, size_t total);

/* During an epoch: step `done` of `total`, the running mean loss (terminal only, at most ~10 redraws/s). */
void tr_progress_step(tr_progress *p, int epoch, int epochs, size_t done, size_t total, double loss);

/* The epoch's final line (and its --log line). elapsed: seconds since training started; eta: estimate of
 * the seconds left (< 0: unknown). */
void tr_progress_epoch(tr_progress *p, const tr_epoch *e, int epochs, double elapsed, double eta);

/* Ends an open in-place line so that a following message starts on its own line. */
void tr_progress_break(tr_progress *p);

/* "1h02m", "3m05s", "12.3s". Writes into buf[n]; returns buf. */
char *tr_format_seconds(double s, char *buf, size_t n);

#endif
