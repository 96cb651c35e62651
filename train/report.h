#ifndef TR_REPORT_H
#define TR_REPORT_H

/* The test report. The unit a user sees is a recording classified as aa-infer classifies a file, so the
 * model is read back from its file and each test recording goes through the inference route: its windows
 * as model/'s first half cut them from the cached signal (tr_data_load), the second half and am_decide with
 * the model as read back — the same code path, the same numbers as
 * `aa-infer -m MODEL --eval MODEL.split.tsv --side test`. The windows (clips) of the same recordings are
 * reported beside, as a second, clearly labelled table. */

#include <stdio.h>

#include "eval/eval.h"
#include "model/model.h"
#include "train/data.h"
#include "train/progress.h"

typedef struct {
    ev_eval *rec;            /* per recording, with the model's gate (recordings of a class) */
    ev_breakdown *rec_by;    /* the same per source, and the negatives among the test recordings */
    ev_eval *win;            /* per window, with the model's gate (windows of a class) */
    const char *names[AM_MAX_CLASSES]; /* display names, owned by `model` */
    double temperature;
    double min_confidence;
    double class_threshold[AM_MAX_CLASSES];
    int per_class;           /* the model has per-class thresholds */
    am_model *model;         /* the model as read back */
    /* How temperature and gate were chosen on the validation recordings, for the recordings' report (may be
     * NULL). */
    const ev_temp_fit *fit;
    const ev_gate_choice *gate_choice;
    /* The validation recordings judged by the final model (tr_calibration.eval; may be NULL): saved beside
     * the test figures, they equal `aa-infer --eval MODEL.split.tsv --side val`. */
    const ev_eval *val;
    const ev_breakdown *val_by; /* tr_calibration.breakdown (may be NULL) */
} tr_test;

/* The recordings of d's `side` judged as aa-infer judges them: their windows (model/'s first half, cut by
 * tr_data_load) through m (the second half), then m's temperature and gate (am_decide). *ev: the figures
 * of the recordings of a class; *by: per source, and what the negatives were called. The figures
 * `aa-infer -m M --eval M.split.tsv --side SIDE` gives on the same files. On failure (err says why)
 * nothing is left to free. */
int tr_judge_side(am_model *m, const tr_data *d, int side, ev_eval **ev, ev_breakdown **by, aa_error *err);

/* Reads model_path back and evaluates d's test side. threads: 0 = all cores. On failure nothing is left
 * to free. */
int tr_test_run(tr_test *t, const char *model_path, const tr_data *d, int threads, aa_error *err);
void tr_test_free(tr_test *t);

/* Both tables as text. */
int tr_test_print(FILE *out, const tr_test *t, aa_error *err);
/* {"format": "audio-audit-train-report", "version": 1, "recordings": <ev_report_json>,
 *  "windows": <ev_report_json>, "validation": <ev_report_json>} written atomically to path ("validation":
 *  the validation recordings with the final model, with how temperature and gate were fitted on them;
 *  present when t->val is). */
int tr_test_save_json(const char *path, const tr_test *t, aa_error *err);
/* DIR/confusion.svg, reliability.svg, coverage.svg (recordings), confusion_windows.svg (windows);
 * DIR is created if missing. */
int tr_test_save_svg(const char *dir, const tr_test *t, aa_error *err);

/* DIR/learning_curves.svg from the run's epochs (DIR created if missing). */
int tr_save_learning_curves(const char *dir, const tr_epoch *h, int n, aa_error *err);

#endif
