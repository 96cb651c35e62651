#ifndef AA_MODEL_TIMELINE_H
#define AA_MODEL_TIMELINE_H

/* Events of a long recording from its windows' probabilities (model/timeline.c), and the sweep that chooses
 * the event rule's threshold, smoothing and minimum duration for a false-alarm budget (model/tune.c). Both
 * aa-infer --timeline and the trainer use them, so an event is found one way everywhere. */

#include <stddef.h>

#include "eval/eval.h"
#include "model/model.h"

typedef struct {
    double start, end; /* s */
    int cls;
    double peak;       /* highest smoothed probability of cls over the event's windows */
    size_t windows;
} am_event;

/* The class a threshold is for: the first whose name or label contains "cough" (any case), else -1 (every
 * class but the background). */
int am_timeline_target(const am_model *m);

/* The class row (k probabilities) speaks for as an event, or -1; *conf gets its probability. First the
 * gate's rule: the most probable class, unless it is `background` or m's gate withholds the row (a clip's
 * rule); that is all with threshold AM_TIMELINE_GATE. With a threshold in [0, 1], a row that rule leaves
 * out speaks for the target class (am_timeline_target; with none, the most probable class other than
 * `background`) when its probability reaches the threshold (a quiet cough under a louder background is
 * the case the threshold is for). */
int am_row_event_class(const am_model *m, const float *row, int background, double threshold, double *conf);

/* Centred moving average of width w (odd, >= 1) over n rows of k probabilities; at the edges the average
 * of the rows that exist. in and out: [n][k], distinct. */
void am_smooth(const float *in, size_t n, int k, int w, float *out);

/* Events from smoothed rows probs [n][k] (window i covers [i hop_s, i hop_s + window_s)): runs of consecutive
 * windows whose am_row_event_class is the same class, merged and timed as model/timeline.c says, each kept
 * when its windows last at least min_duration_s (a window counts for one hop: a run of r windows lasts
 * r hop_s). Writes at most cap events and returns how many there are. */
size_t am_events_find(const am_model *m, const float *probs, size_t n, double hop_s, double window_s,
                      int background, double threshold, double min_duration_s, am_event *events, size_t cap);

/* The decided probabilities (am_decide, before smoothing) of every window hop_s apart of x [n] at the model
 * rate, with slot's network: *probs [*n_windows][am_n_classes], malloc'd (caller frees). Windows as
 * aa-infer --timeline cuts them: only whole windows, or one zero-padded window when n is shorter. */
int am_timeline_probs(am_model *m, int slot, const float *x, size_t n, double hop_s, float **probs,
                      size_t *n_windows, aa_error *err);

/* ---- the sweep (model/tune.c) ------------------------------------------------------------------------------ */

/* One recording of the sweep: its windows' probabilities before smoothing. */
typedef struct {
    const float *probs; /* [n_windows][k] */
    size_t n_windows;
    double hop_s, window_s, duration_s;
} am_tune_recording;

#define AM_TUNE_THRESHOLDS 20 /* the gate's rule, then 19 from 0.01 to 0.95 (model/tune.c) */
#define AM_TUNE_SMOOTHS 4     /* 1, 3, 5, 7 */
#define AM_TUNE_DURATIONS 4   /* 0, 1, 1.5, 2 s */
#define AM_TUNE_ROWS (AM_TUNE_THRESHOLDS * AM_TUNE_SMOOTHS * AM_TUNE_DURATIONS)
/* False alarms per 10 minutes the chosen setting may make on the tuning recordings, unless told otherwise:
 * model/tune.c says why 1. */
#define AM_TUNE_FA_BUDGET 1.0

typedef struct {
    am_timeline setting;
    size_t reference, estimated, hits, false_alarms; /* of the target class(es) */
    double recall, precision, f1, fa_per_10min;
} am_tune_row;

typedef struct {
    am_tune_row rows[AM_TUNE_ROWS]; /* thresholds outermost, then smoothing, then minimum duration */
    size_t chosen;                  /* the row chosen for fa_budget */
    int within_budget;              /* 0: no row keeps to the budget; chosen has the fewest false alarms */
    size_t baseline;                /* the row of the default rule (the gate, AM_TIMELINE_SMOOTH, 0 s) */
    double fa_budget;
    int target;                     /* the class scored, or -1: every class but the background */
    size_t n_recordings;
    double duration_s;
} am_tune_sweep;

/* Every setting of the grid on recs [n_rec] against the reference events ref [n_ref] (file: an index into
 * recs; classes m's): events found by am_events_find with `background` left out, scored by eval/'s event
 * scorer with opts (the caller's rule; overlap for mixtures) for `target` (am_timeline_target; -1: all
 * classes but background).
 * The chosen row: the highest recall among those within fa_budget false alarms per 10 minutes, then the
 * highest F1, then the fewest false alarms, then the first in the grid. */
int am_tune_run(const am_model *m, const am_tune_recording *recs, size_t n_rec, const ev_event *ref, size_t n_ref,
                int background, int target, double fa_budget, const ev_event_opts *opts, am_tune_sweep *out,
                aa_error *err);

#endif
