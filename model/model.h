#ifndef AA_MODEL_H
#define AA_MODEL_H

/* model/: the deployable classifier — one file that carries everything inference needs, so inference can
 * never drift from training:
 *   the network (nn/), the front-end settings (dsp/), the class names, the per-mel feature normalisation,
 *   the calibration temperature, the confidence gate (global and per class), and a self-test: the log-mel
 *   and logits of a fixed test signal computed when the model was saved.
 *
 *   am_model *m = am_load("model.aam", 1, &err);
 *   am_result r;  am_classify_file(m, 0, "clip.wav", &r, NULL, &err);
 *   printf("%s %.2f\n", r.gated ? AM_UNCLEAR_LABEL : am_class_label(m, r.cls), r.confidence);
 *   am_free(m);
 *
 * Classification of one recording: decode + resample (dsp_load) -> its windows by the aggregation policy
 * (below; one clip for a recording no longer than a clip) -> each: log-mel -> (x - mean[mel]) / std[mel]
 * -> network (eval mode) -> the policy's combination -> softmax(scores / T) -> gate: withheld
 * ("Unclear/Unknown") when the top probability is below max(min_confidence, class_threshold[top]). The
 * route is spelled out, function by function, under "the route" below.
 *
 * Threading: an am_model has n_slots independent workers (each its own network copy and buffers); calls with
 * different slots may run concurrently, calls with the same slot may not. */

#include <stddef.h>

#include "dsp/dsp.h"
#include "nn/nn.h"
#include "util/util.h"

/* Error codes: AM_ERR_* in util/util.h, described by aa_strerror. */

#define AM_UNCLEAR_LABEL "Unclear/Unknown"
/* The one copy of the disclaimer every result of a respiratory model carries (am_disclaimer). */
#define AM_DISCLAIMER "Not a medical device: this is not a diagnosis or health advice."
#define AM_MAX_CLASSES 64
/* The temperatures a model file may hold. The trainer's fit lies in [EV_TEMP_MIN, EV_TEMP_MAX] (0.05..20);
 * far outside, a file is damaged or not the trainer's: 1e-4 turns every logit difference into certainty,
 * 1e4 makes every prediction uniform, and both read as a working model. */
#define AM_TEMPERATURE_MIN 1e-3
#define AM_TEMPERATURE_MAX 1e3

/* ---- recording-level decisions ------------------------------------------------------------------------
 * A recording no longer than one clip is one window and is classified as it is. A longer one is judged by
 * the aggregation policy stored in the model file:
 *   loudest     its loudest clip-long window (the front end's crop policy; files without a policy)
 *   mean@H      the mean of the probabilities of all windows H seconds apart (the last one ending at the
 *               recording's end)
 *   topK@H      the same mean over the K windows of largest energy only, so a short loud event in a long
 *               quiet recording is not averaged away
 *   rms@H       the mean over all those windows weighted by each window's RMS level: a quiet recording's
 *               windows count about equally, a short loud event outweighs the silence around it
 *   energy@H    the same weighted by energy (RMS squared): louder windows dominate more strongly
 * Window probabilities are at temperature 1; the mean is returned as log-probabilities, to which the
 * model's temperature and gate apply as to one window's logits. */
typedef enum { AM_AGG_LOUDEST = 0, AM_AGG_MEAN, AM_AGG_TOP, AM_AGG_RMS, AM_AGG_ENERGY } am_agg_policy;
typedef struct {
    am_agg_policy policy;
    double hop_s; /* s between windows (mean, top), in [0.05, 60] */
    int top;      /* windows kept by AM_AGG_TOP, >= 1 */
} am_aggregate;
#define AM_AGG_DEFAULT_POLICY AM_AGG_ENERGY
#define AM_AGG_DEFAULT_HOP_S 1.0
#define AM_AGG_DEFAULT_TOP 3
#define AM_AGGREGATE_TEXT_MAX 48

am_aggregate am_aggregate_loudest(void);
am_aggregate am_aggregate_default(void); /* what aa-train stores unless told otherwise */
const char *am_aggregate_name(am_agg_policy p);
int am_aggregate_check(const am_aggregate *a, aa_error *err);
/* "loudest", "mean", "mean@1.5", "top3", "top3@0.5" (hop default AM_AGG_DEFAULT_HOP_S). */
int am_aggregate_parse(const char *text, am_aggregate *out, aa_error *err);
void am_aggregate_format(const am_aggregate *a, char *buf, size_t cap);
/* The windows a recording x[0..n) at the model rate is judged by: their start offsets and (for mean and
 * top) their energies (sum of squares). One window when n <= one clip or the policy is loudest (its
 * offset then the crop policy's). Writes at most cap entries and returns the count (cap 0 sizes). */
size_t am_aggregate_windows(const am_aggregate *a, const dsp_settings *s, const float *x, size_t n,
                            size_t *offsets, double *energy /* may be NULL */, size_t cap);
/* One recording's scores [k] from its windows' logits [n][k] and energies [n] (as am_aggregate_windows
 * gave them); one window's logits are returned unchanged. */
int am_aggregate_combine(const am_aggregate *a, int k, size_t n, const float *logits, const double *energy,
                         float *out, aa_error *err);

/* ---- outputs and reported classes ------------------------------------------------------------------------
 * The network may have outputs that are not classes a user sees: aa-train --negatives trains an output
 * "other" on recordings of no class (speech, laughter, clicks), and what it says is reported as one of
 * the classes (the background class) or as Unclear. The model file stores which reported class each output
 * counts for. am_decide sums the probabilities of the outputs of each reported class before the argmax and
 * the gate, so every mode (clips, --eval, --timeline, --stream, --serve) reports the classes alone; the
 * probability of outputs reported as Unclear is left out of the reported probabilities (they then sum to
 * less than 1) and withholds a prediction it outweighs (ev_gate.rest_unclear). A file without a map (format
 * 1) reports every output as itself. */
#define AM_MAP_UNCLEAR (-1)
#define AM_OTHER_OUTPUT "other" /* the name of the negatives' output */

/* ---- the task ---------------------------------------------------------------------------------------------
 * A model is a respiratory model (coughs and breathing: every result it gives, in every output, carries
 * AM_DISCLAIMER) or a general sound classifier (any other classes: neutral wording, no disclaimer). The
 * file stores it (aa.task, format 3); aa-train sets it with --task, by default by the class-name rule: a
 * model is respiratory when every class it reports is one of cough, heavy breathing, normal breathing and
 * background noise, in any case and with any separator ("heavy_breathing", "Heavy Breathing",
 * "HEAVY-BREATHING"), and general otherwise. A file of format 1 or 2 has no aa.task and is judged by the
 * same rule. */
typedef enum { AM_TASK_AUTO = 0, AM_TASK_GENERAL = 1, AM_TASK_RESPIRATORY = 2 } am_task;
/* The class-name rule on names[0..n): AM_TASK_RESPIRATORY or AM_TASK_GENERAL. */
am_task am_task_of_classes(const char *const *names, int n);
const char *am_task_name(am_task t); /* "general", "respiratory"; "auto" for AM_TASK_AUTO */
/* "general" or "respiratory" (as am_task_name writes them) into *t; -1 for anything else. */
int am_task_parse(const char *s, am_task *t);
/* The background rule: a class is the background (never an event, the noise mixed in training, what
 * negatives are reported as) when its name is background_noise or background, in any case and with any
 * separator ("Background Noise", "_background_noise_"). */
int am_is_background_name(const char *name);

/* The timeline's event rule (am_events_find; model/timeline.c). A model without one stored (tuned 0) uses
 * the defaults: the gate's rule, AM_TIMELINE_SMOOTH windows averaged, no minimum duration. */
typedef struct {
    int tuned;             /* 1: chosen by the trainer's sweep (model/tune.c) and stored in the file */
    double threshold;      /* AM_TIMELINE_GATE, or [0, 1]: an event where a class's smoothed probability
                            * reaches it */
    int smooth;            /* windows in the centred moving average, odd, 1..101 */
    double min_duration_s; /* [0, 3600]: shorter runs of windows are not events */
} am_timeline;
#define AM_TIMELINE_GATE (-1.0) /* threshold: the model's gate decides, as a clip's result is decided */
#define AM_TIMELINE_SMOOTH 3
/* The rule of a model with nothing stored. */
am_timeline am_timeline_default(void);
/* 0, or AM_ERR_ARG naming what is out of range. */
int am_timeline_check(const am_timeline *t, aa_error *err);

/* What the trainer decides and the model file stores beside the network. */
typedef struct {
    dsp_settings dsp;
    int n_classes;                       /* the network's outputs */
    const char *classes[AM_MAX_CLASSES]; /* their names: folder names, in the network's output order */
    /* NULL: every output is reported as itself. Else [n_classes]: the index into reported[] of the class
     * each output counts for, or AM_MAP_UNCLEAR; every reported class needs an output. */
    const int *output_map;
    int n_reported;
    const char *reported[AM_MAX_CLASSES]; /* the reported classes' folder names (with output_map) */
    const float *norm_mean;              /* [n_mels] */
    const float *norm_std;               /* [n_mels], > 0 */
    double temperature;                  /* > 0; 1 = uncalibrated */
    double min_confidence;               /* global gate in [0, 1]; 0 = never withhold */
    const double *class_threshold;       /* [reported classes] or NULL: per-class gates, 0 = the global one */
    const char *train_json;              /* optional: a JSON summary of the training run (data, metrics) */
    am_aggregate aggregate;              /* recording-level decisions; zero = loudest */
    am_task task;                        /* AM_TASK_AUTO: by the class-name rule; the file stores the result */
    /* Drift statistics (model/drift.h), or NULL: a model that gives no drift verdict. */
    const float *drift_centre;           /* [2 n_mels] per-mel means, then log-spreads: the training median */
    const float *drift_scale;            /* [2 n_mels] their robust scale, > 0 */
    double drift_threshold;              /* > 0: a score above it is drifted */
    am_timeline timeline;                /* the timeline's event rule (zero: not tuned, nothing stored) */
} am_spec;

typedef struct am_model am_model;

/* ---- ensembles -------------------------------------------------------------------------------------------
 * A model file may hold several networks of one architecture sharing the front end, classes, output map,
 * normalisation, aggregation, temperature and gate (aa-train --cv-ensemble: the fold networks; cross-fitted
 * networks alike). Each window's logits are the mean of the networks' logits, computed in am_logits_batch,
 * so everything after it — aggregation, temperature, gate — is the one route of a single network, and one
 * temperature fitted on single networks' out-of-fold logits applies (a mean of logits has their scale; a
 * mean of probabilities would need each network's own temperature, fitted on fewer recordings). The cost
 * is the networks' forward passes: n times one network's. */
#define AM_MAX_NETWORKS 32

/* Saves net with spec into path (as nn_model_save writes: a file atomically, "-" standard output). Computes and stores the self-test (see am_selftest) with net
 * in evaluation mode. net is not changed. */
int am_save(const char *path, nn_model *net, const am_spec *spec, aa_error *err);
/* The same for an ensemble of n networks (1..AM_MAX_NETWORKS) of one architecture and shape; n = 1 writes
 * exactly what am_save writes. */
int am_save_ensemble(const char *path, nn_model *const *nets, int n, const am_spec *spec, aa_error *err);

/* Loads a model file for n_slots concurrent workers (>= 1). NULL on failure; err names the file and reason
 * (missing, truncated, not a model file, newer version, checksum mismatch, missing metadata). */
am_model *am_load(const char *path, int n_slots, aa_error *err);
/* A model in memory around a network that is being trained, so that the trainer judges its validation
 * recordings with the inference code itself: spec as am_save takes it (the trainer passes temperature 1 and
 * no gate while it trains), everything read back as am_load would read the file (per-class thresholds
 * rounded to float as the file stores them), one worker slot, no self-test. The network is borrowed: used
 * as it is (its weights as they are at each call), never copied or freed; the caller keeps it alive, and
 * uses it for nothing else while a call runs. am_free frees the rest. */
am_model *am_borrow(nn_model *net, const am_spec *spec, aa_error *err);
/* am_borrow for an ensemble of n networks (the caller's, borrowed alike). */
am_model *am_borrow_ensemble(nn_model *const *nets, int n, const am_spec *spec, aa_error *err);
void am_free(am_model *m);

/* ---- what the model knows ------------------------------------------------------------------------------- */
const dsp_settings *am_dsp(const am_model *m);
/* The reported classes: what a user sees, what am_result.probs and the class thresholds are indexed by. */
int am_n_classes(const am_model *m);
const char *am_class_name(const am_model *m, int c);  /* folder name, "heavy_breathing" */
const char *am_class_label(const am_model *m, int c); /* display label, "Heavy Breathing" */
/* The network's outputs: what logits and scores (am_logits_batch, am_windows_scores, am_recording_scores)
 * are indexed by; as many as the classes unless the model has internal outputs. */
int am_n_outputs(const am_model *m);
const char *am_output_name(const am_model *m, int o);
int am_output_class(const am_model *m, int o);       /* the reported class output o counts for, or AM_MAP_UNCLEAR */
int am_has_unclear(const am_model *m);               /* 1 when some output is reported as Unclear */
/* What the model reports recordings of no class (negatives) as: the class its "other" output counts for
 * (or AM_MAP_UNCLEAR); for a model without one, its background class (am_background_class), else
 * AM_MAP_UNCLEAR. */
int am_negatives_class(const am_model *m);
/* The first reported class whose name (or label) follows the background rule (am_is_background_name), or
 * -1 when none does. */
int am_background_class(const am_model *m);
/* The model's task (never AM_TASK_AUTO), whether it is respiratory, and the disclaimer its results carry:
 * AM_DISCLAIMER for a respiratory model, NULL for a general one. */
am_task am_get_task(const am_model *m);
int am_is_respiratory(const am_model *m);
const char *am_disclaimer(const am_model *m);
/* "respiratory sound classifier" or "sound classifier": what the model is, for titles and summaries. */
const char *am_task_noun(const am_model *m);
double am_temperature(const am_model *m);
double am_min_confidence(const am_model *m);
double am_class_threshold(const am_model *m, int c);  /* 0 when none */
const char *am_arch(const am_model *m);
const char *am_train_json(const am_model *m);         /* may be NULL */
int am_n_slots(const am_model *m);
int am_n_networks(const am_model *m); /* 1, or the networks of an ensemble */
/* OpenMP threads each worker's network uses for batches (am_logits_batch); default 1. */
void am_set_threads(am_model *m, int n);

/* Overrides the stored gate (--min-confidence, --threshold CLASS=P). */
void am_set_min_confidence(am_model *m, double p);
int am_set_class_threshold(am_model *m, const char *class_name, double p, aa_error *err);
/* The stored aggregation policy, and an override of it (--aggregate). */
am_aggregate am_get_aggregate(const am_model *m);
int am_set_aggregate(am_model *m, const am_aggregate *a, aa_error *err);

/* The stored timeline rule (am_timeline_default when none is stored), and an override of it
 * (--event-threshold, --min-duration, --smooth; checked as am_timeline_check). */
am_timeline am_get_timeline(const am_model *m);
int am_set_timeline(am_model *m, const am_timeline *t, aa_error *err);

/* ---- classification ------------------------------------------------------------------------------------ */

typedef struct {
    int cls;               /* most probable reported class */
    int gated;             /* 1: withheld, report AM_UNCLEAR_LABEL */
    double confidence;     /* probability of cls after temperature scaling */
    float probs[AM_MAX_CLASSES]; /* [am_n_classes] the reported classes' probabilities */
    size_t offset;         /* first sample of the clip used (the loudest of those judged), at the model rate */
    size_t windows;        /* windows the decision rests on (1 for loudest or a short recording) */
} am_result;

/* The one decision: logits [n_outputs] -> softmax at the temperature -> the outputs' probabilities summed
 * per reported class -> the argmax and the gate: withheld below max(min_confidence, class_threshold[top]),
 * or (am_has_unclear) when the outputs reported as Unclear outweigh the top class (eval/'s
 * ev_gate_withholds_row: the evaluations apply the same rule to the same probabilities). */
void am_decide(const am_model *m, const float *logits, am_result *out);

/* ---- the route from a recording to its scores ------------------------------------------------------------
 * Every judgement of a recording — aa-infer's clips, --eval, --timeline, --stream, --serve, the self-test,
 * and the trainer's validation, calibration and test report — is made of these steps, in this order:
 *   am_aggregate_windows   the windows the aggregation policy judges the recording by, and their energies
 *   dsp_windows_logmel     their log-mels (dsp/: the one place a window is cut out and zero-padded)
 *   am_logits_batch        normalised (dsp_normalise) and through the network, AM_BATCH at a time
 *   am_aggregate_combine   the recording's scores, to which am_decide applies temperature and gate.
 * am_recording_windows (the first half) and am_windows_scores (the second) split them where the trainer
 * needs it: it cuts each validation and test recording once, from the decoded signal its feature cache
 * holds, and runs the second half on the network it is training after every epoch. am_recording_scores
 * runs both halves on one recording, AM_BATCH windows at a time so that an hour-long recording needs 3 MB of
 * log-mels instead of 370 MB, and gives the same bits (the network judges each window independently of the
 * others in its batch). */
#define AM_BATCH 32

typedef struct {
    am_aggregate aggregate; /* the policy the windows were chosen by; am_windows_scores combines by it */
    size_t n;               /* windows (1 for a recording no longer than a clip, or the loudest policy) */
    size_t *offset;         /* [n] first sample of each window, at the model rate */
    double *energy;         /* [n] sum of squares of each window's samples (0 for a single window) */
    float *mel;             /* [n][n_mels][n_frames] log-mel in dB, not normalised */
} am_windows;

/* The first half: the windows recording x[0..n) (at lm's rate) is judged by under policy a, and their
 * log-mels, computed with lm's thread slot `slot` (any dsp_logmel made with the model's settings). Needs no
 * network, so the trainer cuts its validation recordings before it has one. On success *out is the
 * caller's (am_windows_free); on failure it holds nothing to free. */
int am_recording_windows(dsp_logmel *lm, int slot, const am_aggregate *a, const float *x /* [n] */, size_t n,
                         am_windows *out, aa_error *err);
void am_windows_free(am_windows *w);
/* The second half: the scores [n_rec][n_classes] of recordings w[0..n_rec) — the logits of all their
 * windows (am_logits_batch, batched across recordings) combined per recording by its windows' policy
 * (am_aggregate_combine). The scores are logits to am_decide. */
int am_windows_scores(am_model *m, int slot, const am_windows *w, size_t n_rec, float *scores, aa_error *err);
/* Both halves on one recording at the model rate under the model's policy: scores [n_classes]; *n_windows
 * the windows judged, *offset the start of the loudest of them (first on ties; the crop policy's window for
 * one window); mel (may be NULL) receives that window's log-mel in dB ([n_mels][n_frames]). */
int am_recording_scores(am_model *m, int slot, const float *x /* [n] */, size_t n, float *scores,
                        size_t *n_windows, size_t *offset, float *mel, aa_error *err);

/* Logits [n][n_classes] of n log-mels in dB (mels[i]: [n_mels][n_frames], as dsp_windows_logmel gives
 * them): each normalised with the model's statistics (dsp_normalise) into the slot's buffer, AM_BATCH at a
 * time, through the network in evaluation mode with the model's threads (am_set_threads). The one
 * "normalise, then forward" of the project. AM_ERR_NUMERIC when an output is not finite. */
int am_logits_batch(am_model *m, int slot, const float *const *mels, size_t n, float *logits, aa_error *err);

/* Classifies a whole recording already at the model rate: am_recording_scores then am_decide. mel (may be
 * NULL): receives the log-mel in dB, [n_mels][n_frames] (am_mel_size floats), of the window of largest
 * energy among those judged (out->offset is its start). A failure of the front end returns its own code. */
int am_classify_samples(am_model *m, int slot, const float *x, size_t n, am_result *out, float *mel,
                        aa_error *err);
/* Classifies exactly one clip of dsp_clip_samples() samples (no cropping). */
int am_classify_clip(am_model *m, int slot, const float *clip, am_result *out, float *mel, aa_error *err);
size_t am_mel_size(const am_model *m);

/* Wipes a slot's working buffers (the last recording's log-mels and features, and the front end's slot).
 * The server calls it after each answer so that nothing of an upload outlives its request. */
void am_wipe_slot(am_model *m, int slot);

/* ---- recording quality (kept apart from "Unclear") ----------------------------------------------------- */

typedef enum { AM_QUALITY_OK, AM_QUALITY_TOO_SHORT, AM_QUALITY_SILENT, AM_QUALITY_CLIPPED } am_quality_verdict;
#define AM_QUALITY_MIN_SECONDS 0.5   /* shorter than this: too little signal to judge */
#define AM_QUALITY_SILENT_DBFS -60.0 /* RMS below this: silence or a muted microphone */
#define AM_QUALITY_CLIP_FRACTION 0.01 /* more than 1 % of samples at full scale: clipped */
typedef struct {
    am_quality_verdict verdict;
    const char *name;     /* "ok", "too_short", "silent", "clipped" */
    const char *message;  /* one sentence for people, "" when ok */
} am_quality;
am_quality am_quality_of(const dsp_stats *stats);

/* ---- drift: unlike the training recordings (model/drift.h; kept apart from quality and "Unclear") ------ */

typedef struct {
    int judged;       /* 0: no verdict (a model file without drift statistics, or no frame to judge) */
    double score;     /* the mean clipped squared robust z of the recording's per-mel statistics */
    double threshold; /* the model's: above it the recording is drifted */
    int drifted;
} am_drift;

/* ---- files -------------------------------------------------------------------------------------------- */

typedef struct {
    am_result result;
    dsp_source source;   /* the file as stored: rate, channels, duration, format */
    dsp_stats stats;
    am_quality quality;
    am_drift drift;      /* judged on the windows the decision rests on */
    double duration;     /* seconds of audio */
} am_file_result;

/* Decodes (any format dsp_load reads, up to max_seconds; 0 = dsp's default limit), checks quality and
 * classifies. A recording too damaged to decode is an error; a poor-quality one is classified and flagged. */
int am_classify_file(am_model *m, int slot, const char *path, double max_seconds, am_file_result *out,
                     float *mel, aa_error *err);
/* The same from bytes in memory (an HTTP upload); name is used in messages. */
int am_classify_memory(am_model *m, int slot, const void *data, size_t size, const char *name,
                       double max_seconds, am_file_result *out, float *mel, aa_error *err);

/* ---- self-test ----------------------------------------------------------------------------------------- */

/* The fixed test signal (documented in model/selftest.c): n = dsp_clip_samples(s) samples at s->sample_rate.
 * Caller frees. */
float *am_selftest_signal(const dsp_settings *s, size_t *n);

typedef struct {
    double mel_max_abs_diff;    /* dB, recomputed vs stored */
    double logit_max_abs_diff;  /* recomputed vs stored */
    double mel_tolerance, logit_tolerance;
    int pass;
} am_selftest_report;
/* Recomputes the self-test signal's log-mel and logits with this build and compares with the stored ones. */
int am_selftest(am_model *m, am_selftest_report *out, aa_error *err);

#endif
