#ifndef EV_EVAL_H
#define EV_EVAL_H

/* eval/: how good a classifier's predictions are, from arrays alone (it never sees audio or networks).
 *
 * One implementation of every figure, shared by the trainer's test report and `aa-infer --eval`, so the
 * two agree on the same clips. Inputs are
 *   labels  [N]     true class of each item, 0 <= label < K
 *   probs   [N][K]  class probabilities of each item, already temperature-scaled (rows need not sum to
 *                   exactly 1: a mean of float rows drifts; each value must be finite and in [0, 1 + 1e-4])
 *   logits  [N][K]  raw network outputs, for fitting the temperature only
 * An "item" is whatever the caller evaluates: a 4 s window, a clip, or a whole recording after
 * ev_recordings_aggregate(). Reports name the unit ("clips", "recordings") so counts are never ambiguous.
 *
 * Prediction and confidence: the prediction is the argmax of the row (the lowest class index on ties);
 * the confidence is that maximum probability.
 *
 * Library code here never prints and never exits: it returns 0 or an ev_status and fills an aa_error.
 * Reports are written to a caller-supplied FILE * (use open_memstream() for a string); files on disk
 * (SVG, reports) are written atomically through aa_afile. Nothing holds global state. */

#include <stddef.h>
#include <stdio.h>

#include "util/util.h"

/* Error codes: EV_ERR_* in util/util.h (eval/ has no codes of its own), described by aa_strerror. */

/* ---- class names -------------------------------------------------------------------------------------- */

/* What a withheld prediction is called, everywhere a person reads it (reports, the web page, the CLI). */
#define EV_UNCLEAR_LABEL "Unclear/Unknown"

/* Turns a class folder name into the name shown to people: '_' and '-' become spaces, runs of spaces
 * collapse, leading/trailing ones go, and each word's first letter is upper-cased (ASCII only; the rest
 * of each word is kept as written): "heavy_breathing" -> "Heavy Breathing", "COVID-cough" -> "COVID Cough".
 * Writes at most cap bytes including the NUL (truncating, like snprintf) and returns the full length the
 * name needs, excluding the NUL. */
size_t ev_display_name(const char *folder, char *out, size_t cap);

/* ---- prediction and the gate -------------------------------------------------------------------------- */

/* The "Unclear" gate. A prediction of class c with probability p is WITHHELD (reported as Unclear/Unknown)
 * when p < max(min_confidence, class_threshold[c]); p equal to the threshold is kept. A threshold of 0
 * withholds nothing. Per-class thresholds are optional (NULL: the global minimum alone). */
typedef struct {
    double min_confidence;         /* global minimum confidence, in [0, 1] */
    const double *class_threshold; /* [K] per-class minimum, or NULL */
    /* 1: a row may sum to less than 1, the rest being the probability of what is reported as Unclear
     * itself (a model whose negatives are reported as Unclear, model.h); a row whose rest, 1 - its sum,
     * exceeds its top probability is withheld whatever the thresholds. */
    int rest_unclear;
} ev_gate;

/* Argmax of one row (the lowest index on ties). row: [K] */
int ev_argmax(const float *row, int k);
/* Non-zero when the gate's thresholds withhold a prediction of class c made with probability p. gate may
 * be NULL (never withholds). */
int ev_gate_withholds(const ev_gate *gate, int c, double p);
/* Non-zero when the gate withholds the prediction of a row [k]: its thresholds on the argmax, and with
 * rest_unclear the rest of the row outweighing it. Every decision (model/'s am_decide included) and every
 * figure with the gate uses this. */
int ev_gate_withholds_row(const ev_gate *gate, const float *row, int k);

/* ---- metrics ------------------------------------------------------------------------------------------ */

/* Per-class figures. Definitions, for class c:
 *   support    items whose true class is c
 *   predicted  items predicted as c (gated: predicted as c and not withheld)
 *   tp         items predicted as c whose true class is c (gated: and not withheld)
 *   withheld   gated only: items of true class c that the gate withheld (0 in the argmax figures)
 *   precision  tp / predicted; 0 when nothing was predicted as c
 *   recall     tp / support;   0 when c has no support. Gated recall counts withheld items as misses
 *              (the denominator is the full support), so withholding never improves recall.
 *   f1         2 * precision * recall / (precision + recall); 0 when both are 0
 * Gated precision ignores withheld items: it is the precision of the predictions actually made. */
typedef struct {
    size_t support, predicted, tp, withheld;
    double precision, recall, f1;
} ev_class_metrics;

/* One bin of the reliability diagram: items whose confidence lies in (lo, hi] (the first bin also holds
 * confidence 0). */
typedef struct {
    double lo, hi;
    size_t count;           /* items in the bin */
    size_t correct;         /* of which the argmax was right */
    double mean_confidence; /* mean confidence in the bin; 0 when empty */
    double accuracy;        /* correct / count; 0 when empty */
} ev_bin;

/* Selective prediction at one global threshold t: an item is covered when its confidence >= t. */
typedef struct {
    double threshold;
    size_t covered;            /* items with confidence >= threshold */
    size_t correct;            /* covered items whose argmax is right */
    double coverage;           /* covered / N; 0 when N = 0 */
    double selective_accuracy; /* correct / covered; 0 when nothing is covered */
} ev_cov_point;

/* Expected calibration error uses this many equal-width confidence bins over [0, 1]. */
#define EV_ECE_BINS 15
/* Rows of the fixed coverage-versus-accuracy table: thresholds 0.00, 0.05, ..., 0.95, then 0.99. */
#define EV_TABLE_ROWS 21

/* Everything ev_evaluate() measures on one set of items. Definitions:
 *   accuracy        correct / n, of the plain argmax (no gate); 0 when n = 0
 *   macro_f1        mean of per_class[c].f1 over the classes that occur in the truth or the argmax
 *                   predictions (support > 0 or predicted > 0), as scikit-learn's f1_score(average='macro')
 *                   does with its default labels; a class absent from both has no defined F1 and is left
 *                   out. 0 when no class qualifies (n = 0). macro_f1_classes says how many were averaged.
 *   coverage        covered / n: the fraction the gate did not withhold; 0 when n = 0
 *   selective_accuracy  covered_correct / covered: accuracy on the covered items; 0 when none is covered
 *   gated_macro_f1  as macro_f1 over gated[] (classes with support > 0 or gated predicted > 0)
 *   ece             sum over the EV_ECE_BINS bins of count/n * |accuracy - mean_confidence| (Guo et al.
 *                   2017: equal-width bins (m/15, (m+1)/15], confidence = max probability, plain argmax);
 *                   0 when n = 0
 *   nll             mean of -ln p[label], each p clamped below at 1e-12 (a float softmax can round a tiny
 *                   probability to 0, which would make the mean infinite); 0 when n = 0
 *   table           EV_TABLE_ROWS rows of ev_cov_point at the fixed thresholds (global threshold only: the
 *                   per-class thresholds of the gate are not applied, the table shows what a single
 *                   global threshold would do)
 *   curve           one ev_cov_point per distinct confidence, that confidence as the threshold, ascending
 *                   threshold (so descending coverage); n_curve = number of distinct confidences
 * No figure is ever NaN or infinite. */
typedef struct {
    int k;    /* classes */
    size_t n; /* items */

    /* The gate the figures were computed with (a copy; class_threshold is NULL or [K] owned here). */
    double min_confidence;
    double *class_threshold; /* [K] or NULL */
    int rest_unclear;        /* ev_gate.rest_unclear */

    size_t *confusion;        /* [K][K+1]: row = true class, column = predicted class, column K = withheld */
    size_t *confusion_argmax; /* [K][K]: the same without the gate */
    ev_class_metrics *per_class; /* [K] plain argmax */
    ev_class_metrics *gated;     /* [K] with the gate */

    size_t correct; /* argmax right */
    double accuracy;
    double macro_f1;
    int macro_f1_classes;

    size_t covered, covered_correct, withheld;
    double coverage, selective_accuracy;
    double gated_macro_f1;
    int gated_macro_f1_classes;

    double ece;
    ev_bin bins[EV_ECE_BINS];
    double nll;

    ev_cov_point table[EV_TABLE_ROWS];
    ev_cov_point *curve; /* [n_curve] */
    size_t n_curve;
} ev_eval;

/* Measures everything above. gate may be NULL (nothing withheld); its thresholds must be finite. Returns
 * NULL on failure (err says why: a label out of range or a bad probability names the item). The caller
 * frees with ev_eval_free(). */
ev_eval *ev_evaluate(size_t n, int k, const int *labels /* [N] */, const float *probs /* [N][K] */,
                     const ev_gate *gate, aa_error *err);
void ev_eval_free(ev_eval *ev);

/* The pieces ev_evaluate() is made of, for callers that need one figure. Inputs as above, unchecked. */
double ev_ece(size_t n, int k, const int *labels, const float *probs /* [N][K] */,
              ev_bin bins[EV_ECE_BINS] /* out, may be NULL */);
double ev_nll(size_t n, int k, const int *labels, const float *probs /* [N][K] */);
/* Coverage and selective accuracy at one global threshold. */
ev_cov_point ev_coverage_at(size_t n, int k, const int *labels, const float *probs /* [N][K] */,
                            double threshold);

/* ---- per-recording aggregation ------------------------------------------------------------------------ */

/* Many windows of one recording -> one item: its probabilities are the mean of its windows' probabilities
 * (so its prediction and confidence follow from that mean). */
typedef struct {
    size_t n;         /* recordings */
    int k;
    int *labels;      /* [R] */
    float *probs;     /* [R][K] mean of the windows' rows */
    size_t *ids;      /* [R] the caller's recording id */
    size_t *windows;  /* [R] how many windows each recording had */
    size_t *first;    /* [R] index of each recording's first window in the input */
} ev_recordings;

/* Groups items by recording id (any size_t values, not necessarily dense); recordings come out in order of
 * their first window. All windows of a recording must carry the same label (else EV_ERR_ARG naming the id).
 * Returns NULL on failure; the caller frees with ev_recordings_free(). */
ev_recordings *ev_recordings_aggregate(size_t n, int k, const int *labels /* [N] */,
                                       const float *probs /* [N][K] */, const size_t *rec_ids /* [N] */,
                                       aa_error *err);
void ev_recordings_free(ev_recordings *r);

/* ---- calibration -------------------------------------------------------------------------------------- */

/* probs = softmax(logits / t), row by row, computed in double and stable for any logit size.
 * logits: [N][K], probs: [N][K] (may be the same array); t > 0. */
void ev_softmax(size_t n, int k, const float *logits, double t, float *probs);
/* Mean negative log-likelihood of softmax(logits / t), exact (log-sum-exp, no clamping). */
double ev_nll_logits(size_t n, int k, const int *labels, const float *logits /* [N][K] */, double t);

/* Temperature search range: a sane span well beyond what a trained network needs (T < 1 sharpens,
 * T > 1 softens). */
#define EV_TEMP_MIN 0.05
#define EV_TEMP_MAX 20.0

typedef struct {
    double t;                      /* fitted temperature */
    double nll_before, nll_after;  /* mean NLL at T = 1 and at t */
    double ece_before, ece_after;  /* ECE (EV_ECE_BINS bins) at T = 1 and at t */
    size_t n;                      /* items the fit used */
    int at_bound;                  /* 1 when t is within 1e-3 (relative) of EV_TEMP_MIN or EV_TEMP_MAX:
                                      the optimum may lie outside the range */
} ev_temp_fit;

/* Fits a softmax temperature on validation logits by minimising the mean NLL over log T in
 * [ln EV_TEMP_MIN, ln EV_TEMP_MAX]. The NLL is convex in 1/T, hence unimodal in log T, so a golden-section
 * search with a fixed number of steps (interval below 1e-9 in log T) finds the minimum deterministically:
 * same inputs, same t, on every machine. If T = 1 scores no worse than the search result, t = 1.
 * Fails (EV_ERR_ARG) when n = 0 or a label is out of range or a logit is not finite. */
int ev_fit_temperature(size_t n, int k, const int *labels /* [N] */, const float *logits /* [N][K] */,
                       ev_temp_fit *out, aa_error *err);

/* ---- choosing the gate -------------------------------------------------------------------------------- */

typedef enum {
    EV_GATE_MET = 0,    /* the target selective accuracy was reached */
    EV_GATE_BEST = 1,   /* no threshold reached it: the threshold with the best selective accuracy */
    EV_GATE_TOO_FEW = 2 /* fewer than min_covered items to judge by: threshold 0 (gate open) */
} ev_gate_status;

const char *ev_gate_status_name(ev_gate_status s); /* "met", "best-effort", "too-few" */

typedef struct {
    double target;      /* selective accuracy to reach; default 0.95 */
    size_t min_covered; /* a threshold counts only if it leaves at least this many items covered; default
                           20, the smallest count at which one error (1/20) fits within the default 5 %
                           error budget, so a single lucky item cannot decide the gate */
    int per_class;      /* also choose one threshold per predicted class; default 0 */
    int rest_unclear;   /* the rows' rest is Unclear (ev_gate.rest_unclear): the chosen gate keeps that
                           rule and its figures (covered, coverage, ...) count those items withheld; the
                           thresholds are searched on the top probabilities alone; default 0 */
} ev_gate_opts;

/* The defaults above. */
ev_gate_opts ev_gate_opts_default(void);

/* One threshold choice over a set of items with confidences (all items, or those predicted as c). */
typedef struct {
    double threshold;
    ev_gate_status status;
    size_t items;              /* items the choice was made on */
    size_t covered, correct;   /* at the threshold, on those items */
    double coverage, selective_accuracy;
} ev_threshold_pick;

/* The rule, on the items' confidences:
 *   candidates  thresholds that cover the k most confident items, for every k at which the confidence
 *               changes (ties cover together), plus 0 (covers everything)
 *   choice      the candidate with the highest coverage whose selective accuracy >= target (compared
 *               with a 1e-12 allowance so that e.g. 19/20 meets 0.95) and whose covered count is
 *               >= min_covered: EV_GATE_MET
 *   otherwise   the candidate with the best selective accuracy among those covering >= min_covered,
 *               ties going to the higher coverage: EV_GATE_BEST
 *   too few     fewer than min_covered items at all: threshold 0, EV_GATE_TOO_FEW
 *   threshold   every threshold between the lowest covered confidence and the next lower confidence gives
 *               the same result on these items; the gate takes their midpoint (rounded to float, and
 *               exactly representable as one, so a model file storing it as float keeps it exact), so
 *               that neither neighbour sits on the boundary. Covering everything gives threshold 0.
 * Per-class (opts.per_class): the same rule on the items predicted as c with precision as the selective
 * accuracy. Classes with fewer than min_covered predictions take the global threshold. The resulting gate
 * has min_confidence 0 and class_threshold[c] the per-class choices, so each class's precision meets the
 * target where it can; when every class meets it, the overall selective accuracy does too (it is a
 * weighted mean of the per-class precisions). */
typedef struct {
    ev_gate gate;              /* the chosen gate; gate.class_threshold points into class_threshold */
    ev_gate_opts opts;
    ev_threshold_pick global;  /* the global rule on all items */
    ev_threshold_pick *per_class; /* [K] per-class picks, or NULL without opts.per_class */
    double *class_threshold;   /* [K] or NULL */
    int k;
    /* The chosen gate applied to the items it was chosen on. */
    size_t n, covered, correct;
    double coverage, selective_accuracy;
} ev_gate_choice;

/* Chooses the gate on validation items (probabilities already temperature-scaled). opts NULL = defaults.
 * Returns NULL on failure; the caller frees with ev_gate_choice_free(). */
ev_gate_choice *ev_choose_gate(size_t n, int k, const int *labels /* [N] */, const float *probs /* [N][K] */,
                               const ev_gate_opts *opts, aa_error *err);
void ev_gate_choice_free(ev_gate_choice *g);

/* ---- per source, and recordings of no class ------------------------------------------------------------
 * Beside the figures of a set of recordings: the same figures for each source (where recordings come
 * from: one corpus, one game's voice pack), so that a figure carried by one easy source shows; and what
 * was said of the negatives — recordings of no class at all (speech, laughter, keyboard clicks) — which the
 * classes' figures cannot show, as they have no true class. A negative is judged right when it is
 * reported as the expected class (the model's: the background class, or Unclear). */

/* One source's recordings (negatives left out), judged with the same gate. */
typedef struct {
    char *name;
    ev_eval *ev;
    int classes; /* distinct true classes among them: a macro-F1 means something from 2 on */
} ev_source_figures;

/* What a set of negatives was called. */
typedef struct {
    char *name;       /* the negatives' kind (their folder: "confuser_speech"); "all" for the whole set */
    size_t n;
    size_t *called;   /* [k + 1] how many were reported as each class after the gate; [k]: withheld */
    size_t false_alarms; /* reported as a class other than the expected one (withheld ones are not) */
} ev_negatives_row;

typedef struct {
    int k;
    size_t n_sources;
    ev_source_figures *sources; /* [n_sources] the sources of the recordings with a class, sorted bytewise */
    int expected;               /* the class negatives should be reported as; -1: withheld (Unclear) */
    ev_negatives_row all;       /* every negative (all.n = 0: none) */
    size_t n_kinds;
    ev_negatives_row *kinds;    /* [n_kinds] per kind, sorted bytewise */
} ev_breakdown;

/* labels [n]: each recording's class, or -1 for a negative; probs [n][k] as for ev_evaluate; source [n]
 * each recording's source name (NULL: none given, no per-source figures); kind [n] each negative's kind
 * (read for negatives only; NULL: all of one kind, "negatives"); expected in -1..k-1. The gate is
 * applied as ev_evaluate applies it. NULL on failure (err says why). Free with ev_breakdown_free. */
ev_breakdown *ev_breakdown_make(size_t n, int k, const int *labels, const float *probs, const ev_gate *gate,
                                const char *const *source, const char *const *kind, int expected, aa_error *err);
void ev_breakdown_free(ev_breakdown *b);
/* ev_evaluate over the recordings with a class (labels[i] >= 0), in order: the figures of the classes,
 * which negatives would only blur. */
ev_eval *ev_evaluate_labelled(size_t n, int k, const int *labels, const float *probs, const ev_gate *gate,
                              aa_error *err);

/* ---- drift per source (eval/drift_report.c) ------------------------------------------------------------- */

/* Recordings per source and how many of them were drifted (unlike the model's training recordings). */
typedef struct {
    const char *source; /* borrowed from the caller's array */
    size_t n, drifted;
} ev_drift_row;
typedef struct {
    double threshold;   /* the model's drift threshold, for the title */
    size_t n, drifted;  /* over every judged recording */
    ev_drift_row *rows; /* [n_rows] sources in order of first appearance */
    size_t n_rows;
} ev_drift_table;
/* From each recording's source [n] (names borrowed) and drift verdict [n] (1 drifted, 0 not, -1 no verdict:
 * left out). NULL when out of memory. */
ev_drift_table *ev_drift_table_make(size_t n, const char *const *source, const int *drifted, double threshold,
                                    aa_error *err);
void ev_drift_table_free(ev_drift_table *t);

/* ---- reports ------------------------------------------------------------------------------------------ */

/* What a report says besides the figures. Every field is optional (zero/NULL). */
typedef struct {
    const char *title;               /* first line / SVG titles, e.g. "Test split" */
    const char *const *class_names;  /* [K] names shown (see ev_display_name); NULL: "class 0", ... */
    const char *unit;                /* plural noun for the items: "clips", "windows", "recordings";
                                        NULL: "items" */
    double temperature;              /* the temperature the probabilities were scaled with; <= 0: not shown */
    const ev_temp_fit *fit;          /* how the temperature was fitted (ECE before/after), or NULL */
    const ev_gate_choice *gate_choice; /* how the gate was chosen, or NULL */
    int omit_curve;                  /* JSON: leave out the per-confidence "coverage_curve" array */
    const ev_breakdown *breakdown;   /* per source and the negatives, reported after the rest, or NULL */
    const ev_drift_table *drift;     /* drifted recordings per source, reported after the breakdown, or NULL */
    const char *notice;              /* a line every report and plot carries (the disclaimer of a
                                        respiratory model), or NULL: text reports end with it, JSON reports
                                        have it as "disclaimer", SVG plots at the bottom */
} ev_report_info;

/* Human-readable report: the confusion matrix (rows true class with names, numbered predicted columns and
 * the Unclear column, totals), the per-class table (argmax and gated precision/recall/F1 with counts),
 * summary lines with counts ("macro-F1 0.912 over 230 clips"), calibration and the coverage table.
 * Returns 0, or EV_ERR_IO if the stream reports an error. Every writer below flushes the stream when done,
 * so that a full disk is reported by the call that wrote, not by a later fclose. */
int ev_report_text(FILE *out, const ev_eval *ev, const ev_report_info *info, aa_error *err);
/* The per-source table and the negatives' table alone, as ev_report_text ends with them (info gives the
 * class names and the unit). */
int ev_breakdown_text(FILE *out, const ev_breakdown *b, const ev_report_info *info, aa_error *err);

/* One JSON object with everything, keys stable (version 1); numbers are integers (counts) or printed with
 * 12 significant digits (a float threshold read back and rounded to float is the same float):
 *   "format": "audio-audit-eval", "version": 1, "title": string|null, "unit": string,
 *   "n": int, "classes": [names],
 *   "gate": {"min_confidence": num, "class_thresholds": [num, in the order of "classes"]|null,
 *            "rest_unclear": bool},
 *   "temperature": num|null,
 *   "calibration": {"t", "nll_before", "nll_after", "ece_before", "ece_after", "n", "at_bound": bool}|null,
 *   "gate_choice": {"target", "min_covered", "threshold" (the global pick),
 *                   "status": "met"|"best-effort"|"too-few", "items", "covered",
 *                   "correct", "coverage", "selective_accuracy",
 *                   "per_class": [{"class", "threshold", "status", "items", "covered", "correct",
 *                                  "coverage", "selective_accuracy"}]|null}|null,
 *   "accuracy", "correct", "macro_f1", "macro_f1_classes",
 *   "coverage", "covered", "withheld", "selective_accuracy", "covered_correct",
 *   "gated_macro_f1", "gated_macro_f1_classes", "ece", "ece_bins": 15, "nll",
 *   "per_class": [{"class", "support", "predicted", "tp", "precision", "recall", "f1",
 *                  "gated": {"predicted", "tp", "withheld", "precision", "recall", "f1"}}],
 *   "confusion": {"rows": [names], "columns": [names..., "Unclear/Unknown"], "counts": [[int]]},
 *   "confusion_argmax": [[int]],
 *   "reliability": [{"lo", "hi", "count", "correct", "mean_confidence", "accuracy"}],
 *   "coverage_table": [{"threshold", "covered", "correct", "coverage", "selective_accuracy"}],
 *   "coverage_curve": [same]  (absent with info->omit_curve)
 * and with info->breakdown:
 *   "sources": [{"source", "n", "classes", "accuracy", "correct", "macro_f1": num|null (fewer than two
 *                classes), "coverage", "covered", "selective_accuracy", "covered_correct"}],
 *   "negatives": {"n", "expected": name ("Unclear/Unknown" for withheld), "columns": [names...,
 *                 "Unclear/Unknown"], "all": {row}, "per_kind": [{"kind", row...}]}|null (none)
 * and with info->drift, after "gate_choice" (so that from "accuracy" on a report reads as one without it):
 *   "drift": {"threshold", "n", "drifted", "sources": [{"source", "n", "drifted"}]}
 * and with info->notice, last: "disclaimer": string.
 *   where a row is "n", "called": [int per column], "shares": [num per column], "false_alarms",
 *   "false_alarm_share".
 * Strings are JSON-escaped; bytes that are not valid UTF-8 become U+FFFD. Ends with a newline. */
int ev_report_json(FILE *out, const ev_eval *ev, const ev_report_info *info, aa_error *err);

/* The same two, written atomically to a file. */
int ev_report_text_save(const char *path, const ev_eval *ev, const ev_report_info *info, aa_error *err);
int ev_report_json_save(const char *path, const ev_eval *ev, const ev_report_info *info, aa_error *err);

/* ---- plots (SVG) -------------------------------------------------------------------------------------- */

/* Self-contained SVG 1.1 (no scripts, no external fonts or files: generic font families only). */

/* Confusion-matrix heatmap of ev->confusion: colour = the cell's share of its row (true class), the count
 * written in each cell, class names on both axes, the Unclear column last, row totals on the right. */
int ev_svg_confusion(FILE *out, const ev_eval *ev, const ev_report_info *info, aa_error *err);
/* Reliability diagram: per confidence bin, a bar of accuracy with the bin's mean confidence marked on it,
 * the diagonal of perfect calibration, the bin's count above it, ECE and N under the title. */
int ev_svg_reliability(FILE *out, const ev_eval *ev, const ev_report_info *info, aa_error *err);
/* Coverage (x) against selective accuracy (y) over every distinct confidence (one global threshold), the
 * operating point of the gate ev was computed with marked (ev->coverage, ev->selective_accuracy) and, if
 * info->gate_choice is set, its target as a dashed line. */
int ev_svg_coverage(FILE *out, const ev_eval *ev, const ev_report_info *info, aa_error *err);

/* One epoch of training, for learning curves. A NaN field means "not recorded" and is skipped. */
typedef struct {
    int epoch;
    double train_loss, val_loss;
    double train_accuracy, val_accuracy, val_macro_f1;
} ev_epoch;

/* Two panels over epochs: losses (train, validation) and accuracies (train, validation, validation
 * macro-F1), with axes, ticks and a legend. n may be 0 (empty axes). */
int ev_svg_learning_curves(FILE *out, const ev_epoch *epochs /* [n] */, size_t n, const char *title,
                           aa_error *err);

/* The plots written atomically to files. */
int ev_svg_confusion_save(const char *path, const ev_eval *ev, const ev_report_info *info, aa_error *err);
int ev_svg_reliability_save(const char *path, const ev_eval *ev, const ev_report_info *info, aa_error *err);
int ev_svg_coverage_save(const char *path, const ev_eval *ev, const ev_report_info *info, aa_error *err);
int ev_svg_learning_curves_save(const char *path, const ev_epoch *epochs, size_t n, const char *title,
                                aa_error *err);
/* DIR/confusion.svg, DIR/reliability.svg and DIR/coverage.svg (DIR must exist). */
int ev_svg_save_all(const char *dir, const ev_eval *ev, const ev_report_info *info, aa_error *err);

/* ---- events: scoring a timeline against a reference ------------------------------------------------------
 *
 * A timeline (aa-infer --timeline) is a list of estimated events per recording, each a class and an onset
 * and offset in seconds. The functions below read the reference events from a TSV file, match estimates
 * with reference events and measure event-based precision, recall, F1, error rate, false alarms per hour
 * and the timing errors of the hits. Like the rest of eval/ they see arrays, never audio.
 *
 * The figures follow sed_eval's EventBasedMetrics (sed_eval 0.2; Mesaros, Heittola and Virtanen, "Metrics
 * for polyphonic sound event detection", 2016) with event_matching_type 'optimal':
 *   hit           an estimate and a reference event of the same class in the same recording with
 *                 |onset_est - onset_ref| <= collar and, when offsets are evaluated (opts.offset),
 *                 |offset_est - offset_ref| <= max(collar, offset_length * (offset_ref - onset_ref))
 *                 (sed_eval's t_collar and percentage_of_length); or, with opts.overlap, the estimate
 *                 overlaps [onset_ref - collar, offset_ref + collar] (a detector that says "a cough
 *                 somewhere in these 4 s" is right when the cough is there, wherever its onset estimate)
 *   one to one    every event is in at most one hit: the hits are a maximum bipartite matching, per recording
 *                 and class, between the estimates and the reference events that may pair (Hopcroft-Karp),
 *                 so no greedy order can leave a pairing unfound
 *   substitution  after the hits, a second maximum matching per recording between the estimates and the
 *                 reference events left over, on the time conditions alone (their classes always differ: a
 *                 leftover pair of one class would have enlarged the first matching): each pair is one
 *                 substitution S
 *   overall       (micro) precision = hits / estimated, recall = hits / reference, F1 = their harmonic mean;
 *                 insertions I = estimated - hits - S, deletions D = reference - hits - S;
 *                 error rate = (S + D + I) / reference, and each of S, D, I over reference
 *   per class     the class's hits over its estimates (precision) and reference events (recall), F1; its
 *                 insertions are its unmatched estimates, its deletions its unmatched reference events, its
 *                 error rate (D + I) / reference (no substitutions within one class, as sed_eval's class-wise
 *                 figures)
 *   macro         the mean of the per-class precision, recall, F1 and error rate (sed_eval's class-wise
 *                 average)
 * Where this differs from sed_eval:
 *   - the default collar is 1 s (sed_eval: 0.2 s): the timeline's windows are 4 s long and 0.5 s apart, so
 *     its boundaries are good to about a hop, and 0.2 s would count most hits as misses;
 *   - offsets are not compared by default (sed_eval compares them by default; see below);
 *   - times are compared with an allowance of EV_EVENT_TIME_EPS, so that an estimate a collar away in
 *     decimal (onsets 1.2 and 2.2, collar 1) is a hit although 2.2 - 1.2 is 1.0000000000000002 in
 *     binary; sed_eval compares the binary values exactly;
 *   - a ratio whose denominator is 0 is 0, with the counts beside it, as everywhere in eval/: precision
 *     with no estimates, recall and the error rates with no reference events. sed_eval divides by the
 *     denominator plus the machine epsilon, which also gives 0 for precision and recall, but an error rate
 *     of about 4.5e15 per insertion when there are no reference events;
 *   - the macro average is over the classes that occur in the reference or the estimates (reference > 0 or
 *     estimated > 0), like macro_f1 above; sed_eval averages over its whole class list, a class absent
 *     from both counting F1 0 and error rate 0;
 *   - ev_reference_read merges overlapping reference events of one class in one recording into one event
 *     (sed_eval keeps them apart): a timeline reports one event for one stretch of a class, so of two
 *     overlapping reference events it could hit at most one. Estimates are never merged: two detections
 *     of one event are one hit and one insertion;
 *   - an optional class (ev_event_opts.ignore_class: the timeline's background class, which is never an
 *     event) is left out of every figure; its events are only counted;
 *   - false alarms per hour and the onset and offset errors are figures of our own:
 *       false alarms per hour  per class: its unmatched estimates (estimated - hits) per hour of audio
 *                 scored (the sum of the recordings' durations); overall: every unmatched estimate
 *                 (substitutions included: each is an estimate that found no event of its class) per hour;
 *                 0 when no audio was scored
 *       onset and offset errors  over the hits: the signed difference estimate - reference (positive: the
 *                 estimate is late), its mean, and the mean and median of its absolute value (the median of
 *                 an even count is the mean of the two middle values); 0 when there are no hits.
 *     Several maximum matchings may exist: they have the same counts but may pair different events, and so
 *     give different timing errors; the one found is deterministic (events are taken in order of onset).
 *
 * Why onsets alone by default: the timeline knows where a sound starts to about a hop, but a short sound's
 * end only to within a 4 s window (a 1 s cough in the first seconds of a recording is reported as running
 * to the end of the first window, 4 s). With offsets compared such an estimate is a miss and a false alarm
 * at once, so recall and false alarms per hour would measure the window's length rather than whether the
 * events were found; an estimate that runs over several events still hits only one of them. The offset
 * errors of the hits are reported either way, and opts.offset = 1 applies sed_eval's offset rule (its
 * evaluate_offset=True, for figures comparable with DCASE's event-based ones). */

/* Allowance on every time comparison, in seconds: far below one sample (6.25e-5 s at 16 kHz) and far above
 * the rounding of a time of up to a day in double precision (1.5e-11 s). */
#define EV_EVENT_TIME_EPS 1e-9
/* "No partner" in the per-event outcomes, and "no recording" in ev_reference_match. */
#define EV_NO_EVENT ((size_t)-1)

/* One event: a class over [onset, offset] seconds of one recording. */
typedef struct {
    double onset, offset; /* s from the recording's start; finite, 0 <= onset <= offset */
    int cls;              /* class index, 0 <= cls < K */
    size_t file;          /* which recording: an index into the recordings (ev_events_score), or into
                             ev_reference.files (the reader's events) */
} ev_event;

typedef struct {
    double collar;        /* s, the largest onset difference of a hit (and smallest offset allowance); >= 0;
                             default 1 */
    int offset;           /* 0: onsets only (default); 1: offsets must match too, by the rule above */
    int overlap;          /* 1: a hit is an estimate overlapping the reference event widened by the collar on
                             each side, instead of the onset rule (offset is then not used) */
    double offset_length; /* offset allowance as a fraction of the reference event's length (with offset);
                             >= 0; default 0.5, as sed_eval's */
    int ignore_class;     /* a class left out of every figure (the background), or -1 (default): none */
} ev_event_opts;

/* The defaults above. Start from these: a zeroed struct would ignore class 0. */
ev_event_opts ev_event_opts_default(void);

/* A scored recording. */
typedef struct {
    const char *name;  /* as given to the scorer (the report's name for it, and what ev_reference_match
                          compares); may be NULL in ev_events_score */
    double duration_s; /* audio scored, s (>= 0, finite): the hours that false alarms are counted over */
} ev_recording;

/* ---- the reference file ----------------------------------------------------------------------------------- */

/* The reference events of a TSV file. Format:
 *   - the first non-empty line is a header naming the columns, in any order, case-insensitively and with
 *     spaces around the names ignored: `label` (or `class`, `event_label`), `start_s` (or `onset`,
 *     `event_onset`), `end_s` (or `offset`, `event_offset`), and `file` (or `filename`, `path`) when more
 *     than one recording is scored; other columns are ignored (and only the first 64 are looked at); a
 *     name given twice ("label" and "class") is an error. The demo's .events.tsv (start_s, end_s,
 *     class: datasets' ds_long_write) is one such file, for its one recording;
 *   - one event per line after it, fields separated by tabs; a field may write a tab, newline or backslash
 *     as \t, \n, \\ (as aa-train's split TSV does); a UTF-8 byte-order mark, a '\r' before each newline
 *     and empty lines are skipped; lines are counted from 1 as they are in the file;
 *   - label: a class folder name or its display name (ev_display_name, or labels[] when given), compared
 *     case-insensitively ("heavy_breathing", "Heavy Breathing", "HEAVY BREATHING");
 *   - start_s, end_s: decimal numbers of seconds (digits, '.', 'e', signs; spaces around them allowed),
 *     finite, 0 <= start < end.
 * Errors (EV_ERR_ARG; a file that cannot be read: EV_ERR_IO) are one line naming the file, the line and the
 * reason: "ref.tsv: line 7: start_s 5.2 is not before end_s 4.9", "ref.tsv: line 1: no 'label' column (the
 * first line names the columns: file, label, start_s, end_s)", "ref.tsv: line 3: unknown label 'wheeze' (the
 * classes: cough, ...)", a missing field, a number that is not one or is negative or not finite, an empty
 * file name, a NUL byte, no header. Text quoted in a message is made printable (control bytes and bytes
 * that are not UTF-8 as \xNN) and cut at 60 bytes.
 * Events of one class in one file that overlap (the later starts before the earlier ends) are merged into
 * one, from the earliest start to the latest end (counted in `merged`); events that only touch are kept
 * apart. */
typedef struct {
    char *name;        /* the file's name as given, for messages */
    int k;             /* classes the labels were mapped to */
    size_t n;          /* events, after merging */
    ev_event *events;  /* [n] by file (order of first appearance), then onset, then class; file indexes files */
    size_t *line;      /* [n] the line each event was read from (the first of those merged into it) */
    size_t n_files;
    char **files;      /* [n_files] names in the file column, in order of first appearance; without the
                          column, one name "" standing for the one recording scored */
    size_t *file_line; /* [n_files] the first line naming each */
    int has_file_column;
    size_t rows;       /* event lines read */
    size_t merged;     /* lines merged into an overlapping event (rows - merged = n) */
} ev_reference;

/* Reads path; classes [K] are the class folder names, labels [K] their display names or NULL (computed with
 * ev_display_name). Returns NULL on failure (err says why). The caller frees with ev_reference_free(). */
ev_reference *ev_reference_read(const char *path, int k, const char *const *classes, const char *const *labels,
                                aa_error *err);
/* The same from size bytes in memory (any bytes: a NUL is an error, not the end); name is used in
 * messages. */
ev_reference *ev_reference_parse(const char *text, size_t size, const char *name, int k,
                                 const char *const *classes, const char *const *labels, aa_error *err);
void ev_reference_free(ev_reference *r);

/* Which scored recording each of the reference's files is: rec_of_file [ref->n_files] gets a recording
 * index, or EV_NO_EVENT for a file that is not among them (its events are not scored; the scorer counts
 * them). Names are compared after dropping leading "./": equal names match; failing that, the shorter
 * name matches when it is the end of the longer one from a '/' on ("long.wav" and "demo/long.wav" both
 * name "build/demo/long.wav", and "/data/demo/long.wav" names "long.wav"; "a/x.wav" does not name
 * "b/x.wav"). Errors (EV_ERR_ARG), each naming the reference file and its line:
 *   - a reference name that matches two recordings, exactly or (with no exact match) at the end
 *     ("ref.tsv: line 2: 'x.wav' names two of the recordings scored: a/x.wav and b/x.wav");
 *   - a recording named by two reference names ("'x.wav' (line 2) and 'demo/x.wav' (line 9) both name ...");
 *   - no file column while more than one recording is scored (with one, every event is that recording's;
 *     with none, no event is scored). */
int ev_reference_match(const ev_reference *ref, size_t n_rec, const char *const *rec_names /* [n_rec] */,
                       size_t *rec_of_file /* out: [ref->n_files] */, aa_error *err);

/* ---- scoring ---------------------------------------------------------------------------------------------- */

/* Timing errors over the hits, in seconds (see above). */
typedef struct {
    size_t n;          /* hits measured */
    double mean;       /* mean of estimate - reference */
    double mean_abs;   /* mean of |estimate - reference| */
    double median_abs; /* median of |estimate - reference| */
} ev_time_error;

/* Counts and figures of one class, or of all (micro). Per class, substitutions is 0 and insertions equal
 * false_alarms; overall, insertions = false_alarms - substitutions. */
typedef struct {
    size_t reference, estimated, hits;
    size_t substitutions, deletions, insertions;
    size_t false_alarms; /* estimated - hits */
    double precision, recall, f1;
    double error_rate;            /* (substitutions + deletions + insertions) / reference */
    double false_alarms_per_hour; /* false_alarms / (duration_s / 3600) */
    ev_time_error onset, offset;
} ev_event_counts;

/* Counts of one recording (the ignored class left out). */
typedef struct {
    char *name; /* copy of the recording's name, or NULL */
    double duration_s;
    size_t reference, estimated, hits, substitutions;
} ev_event_file;

typedef struct {
    int k;
    ev_event_opts opts;
    size_t n_files;
    ev_event_file *files;       /* [n_files] */
    double duration_s;          /* audio scored: the sum of the recordings' durations */

    ev_event_counts overall;    /* micro: every event of every class but the ignored one */
    ev_event_counts *per_class; /* [K]; the ignored class's entry is all zero */
    int macro_classes;          /* classes averaged: not ignored, reference > 0 or estimated > 0 */
    double macro_precision, macro_recall, macro_f1, macro_error_rate;
    size_t ignored_reference, ignored_estimated; /* events of opts.ignore_class, left out */

    /* Every event as scored (copies, in the caller's order) and its outcome. */
    size_t n_ref, n_est;
    ev_event *ref, *est;        /* [n_ref], [n_est]; file indexes files[] */
    size_t *ref_hit, *est_hit;  /* [n_ref], [n_est]: the partner of a hit (an index into est / ref), or
                                   EV_NO_EVENT */
    size_t *ref_sub, *est_sub;  /* [n_ref], [n_est]: the partner of a substitution, or EV_NO_EVENT */

    /* The reference file, when scored through ev_events_score_reference (else NULL and 0). */
    char *reference_name;
    size_t reference_rows, reference_merged;
    size_t n_unscored;          /* reference files that are none of the recordings scored */
    char **unscored;            /* [n_unscored] their names */
    size_t unscored_events;     /* their events, not counted anywhere else */
} ev_event_eval;

/* Scores estimates against reference events. recs [n_rec]: the recordings (every event's file < n_rec);
 * opts NULL: the defaults. Fails with EV_ERR_ARG naming the event (its index) or option ("events:
 * estimated event 4 has class 7 (classes are 0..3)", "events: reference event 2 has its onset 3 s after its
 * offset 2 s", a time that is negative or not finite, a recording out of range, a duration that is negative
 * or not finite, a collar or offset_length that is negative or not finite, ignore_class out of range).
 * Returns NULL on failure; the caller frees with ev_event_eval_free(). */
ev_event_eval *ev_events_score(size_t n_ref, const ev_event *ref /* [n_ref] */, size_t n_est,
                               const ev_event *est /* [n_est] */, size_t n_rec, const ev_recording *recs,
                               int k, const ev_event_opts *opts, aa_error *err);
/* The same with the reference of a file: ev_reference_match on the recordings' names, then ev_events_score
 * over the reference events of the recordings scored; the reference's name, rows, merges and the files
 * that were not scored are kept for the reports. ref->k must be k. */
ev_event_eval *ev_events_score_reference(const ev_reference *ref, size_t n_est, const ev_event *est,
                                         size_t n_rec, const ev_recording *recs, int k,
                                         const ev_event_opts *opts, aa_error *err);
void ev_event_eval_free(ev_event_eval *s);

/* ---- event reports ---------------------------------------------------------------------------------------- */

/* The reports take the ev_report_info of the other reports for their title and class names (other fields
 * are not used); info may be NULL.
 *
 * Text: a header stating the matching rule (collar, offset rule, one-to-one matching), the audio scored,
 * the reference file and what was left out; a per-class table (reference, estimated, hits, precision and
 * recall with their counts, F1, error rate, false alarms with their count and per hour), the overall
 * (micro) and macro lines; the error rate with its S, D, I counts; the timing errors per class; one line
 * per recording. Returns 0, EV_ERR_IO if the stream reports an error, or EV_ERR_NOMEM; flushes the stream. */
int ev_events_report_text(FILE *out, const ev_event_eval *s, const ev_report_info *info, aa_error *err);

/* One JSON object on one line (so that it can follow the timeline's JSON lines), keys stable (version 1),
 * numbers as in ev_report_json (counts as integers, figures with 12 significant digits), ending with a
 * newline:
 *   "format": "audio-audit-events", "version": 1, "title": string|null,
 *   "matching": {"collar_s", "offset": bool, "offset_length", "method": "optimal",
 *                "time_allowance_s"},
 *   "classes": [names], "ignored_class": name|null, "ignored": {"reference", "estimated"},
 *   "reference": {"file", "rows", "merged", "unscored_files": [names], "unscored_events"}|null,
 *   "duration_s": num, "recordings": int,
 *   "overall": {counts}, "macro": {"classes", "precision", "recall", "f1", "error_rate"},
 *   "per_class": [{"class": name, counts}] (every class but the ignored one, in class order),
 *   "files": [{"file": name|null, "duration_s", "reference", "estimated", "hits", "substitutions"}]
 * where {counts} is "reference", "estimated", "hits", "substitutions", "deletions", "insertions",
 * "false_alarms", "precision", "recall", "f1", "error_rate", "false_alarms_per_hour",
 * "onset_error": {"n", "mean", "mean_abs", "median_abs"}, "offset_error": {the same}. */
int ev_events_report_json(FILE *out, const ev_event_eval *s, const ev_report_info *info, aa_error *err);

#endif
