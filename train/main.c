/* aa-train: labelled folders of recordings -> a trained, calibrated, evaluated model file.
 *
 *   data (list, cache, split)  ->  epochs (or a resumed run)  ->  calibration on validation
 *   ->  model file  ->  split file  ->  test report from the model file as written  ->  model file with
 *   the test figures in its training summary. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eval/eval.h"
#include "model/model.h"
#include "nn/nn.h"
#include "train/calibrate.h"
#include "train/clip.h"
#include "train/cv.h"
#include "train/data.h"
#include "train/demo_cmd.h"
#include "train/drift.h"
#include "train/loop.h"
#include "train/options.h"
#include "train/outputs.h"
#include "train/progress.h"
#include "train/report.h"
#include "train/summary.h"
#include "util/dist.h"
#include "train/tune.h"

/* Prints the error; returns the exit status: 2 for a usage error (colliding outputs included), else 1. */
static int fail(const aa_error *err)
{
    fflush(stdout);
    fputs("aa-train: ", stderr);
    aa_fputs_printable(err->msg, stderr); /* names in it may hold control characters */
    fputc('\n', stderr);
    return err->code == AA_ERR_USAGE ? 2 : 1;
}

/* What the model file stores: the data's spec with the calibration's temperature and gate. */
static void final_spec(const tr_data *d, const tr_calibration *cal, const char *train_json, am_spec *sp)
{
    tr_data_spec(d, sp);
    sp->temperature = cal->temperature;
    sp->min_confidence = cal->gate->gate.min_confidence;
    sp->class_threshold = cal->gate->class_threshold;
    sp->train_json = train_json;
    sp->timeline = cal->timeline;
}

/* The reported probabilities [n][K] and classes [n] (-1 for a negative) of the recordings of `side` from
 * their scores [n][outputs], decided by m (its temperature and merged outputs; the gate plays no part). */
static void decide_side(am_model *m, const tr_data *d, int side, const float *scores, float *probs, int *labels)
{
    int k = am_n_classes(m), ko = am_n_outputs(m);
    for (size_t i = 0; i < d->n_rec[side]; i++) {
        am_result r;
        am_decide(m, scores + i * (size_t)ko, &r);
        memcpy(probs + i * (size_t)k, r.probs, (size_t)k * sizeof *probs);
        labels[i] = tr_data_rec_class(d, side, i);
    }
}

/* Temperature and gate from the validation recordings' scores [n][outputs] by the trained network: the
 * temperature fitted on the outputs (negatives included, labelled "other"), the gate chosen on the decisions
 * of the recordings of a class at that temperature (the classes' target selective accuracy; what the gate
 * does to the negatives is reported beside). For a model without negatives the decisions' probabilities
 * are the plain softmax's, bit for bit. */
static int fit_calibration(tr_calibration *cal, const tr_data *d, nn_model *net, const float *scores,
                           const tr_options *o, aa_error *err)
{
    size_t n = d->n_rec[DS_VAL];
    if (tr_calibrate_fit(cal, n, d->k, d->rec_label[DS_VAL], scores, err))
        return 1;
    am_spec sp;
    tr_data_spec(d, &sp);
    sp.temperature = cal->temperature;
    am_model *m = am_borrow(net, &sp, err);
    float *probs = malloc((n ? n : 1) * (size_t)d->k_reported * sizeof *probs);
    int *labels = malloc((n ? n : 1) * sizeof *labels);
    int rc = !m ? 1 : !probs || !labels ? aa_error_set(err, AA_ERR_NOMEM, "out of memory") : 0;
    if (!rc) {
        decide_side(m, d, DS_VAL, scores, probs, labels);
        size_t kept = 0, K = (size_t)d->k_reported;
        for (size_t i = 0; i < n; i++)
            if (labels[i] >= 0) {
                memmove(probs + kept * K, probs + i * K, K * sizeof *probs);
                labels[kept++] = labels[i];
            }
        rc = tr_calibrate_gate(cal, kept, d->k_reported, labels, probs, am_has_unclear(m), o, err);
    }
    am_free(m);
    free(probs);
    free(labels);
    if (rc)
        tr_calibration_free(cal);
    return rc;
}

/* Temperature and gate on the validation recordings, each cut as aa-infer cuts a file and judged by the
 * inference code on the trained network: the gate is applied to recordings, and recordings are more
 * confidently classified than the average window, so a gate chosen on windows would withhold more than its
 * target asks. Then the validation recordings judged by the final model (its temperature and gate): the
 * figures aa-infer --eval gives on them. */
static int calibrate(tr_calibration *cal, const tr_data *d, const tr_run *run, const tr_options *o, FILE *out,
                     aa_error *err)
{
    size_t n = d->n_rec[DS_VAL];
    float *logits = malloc((n ? n : 1) * (size_t)d->k * sizeof *logits);
    am_model *judge = logits ? tr_data_judge(d, run->net, err) : NULL;
    int rc = !logits ? aa_error_set(err, AA_ERR_NOMEM, "out of memory") : !judge ? 1 : 0;
    if (!rc)
        rc = am_windows_scores(judge, 0, d->rec_windows[DS_VAL], n, logits, err);
    am_free(judge);
    judge = NULL;
    if (!rc)
        rc = fit_calibration(cal, d, run->net, logits, o, err);
    free(logits);
    if (!rc) {
        am_spec sp;
        final_spec(d, cal, NULL, &sp);
        if (!(judge = am_borrow(run->net, &sp, err)) ||
            tr_judge_side(judge, d, DS_VAL, &cal->eval, &cal->breakdown, err))
            rc = 1;
        am_free(judge);
    }
    if (rc || o->quiet)
        return rc;
    const ev_temp_fit *t = &cal->fit;
    char agg[AM_AGGREGATE_TEXT_MAX];
    am_aggregate_format(&d->aggregate, agg, sizeof agg);
    fprintf(out, "Recordings longer than one clip are judged by --aggregate %s\n", agg);
    fprintf(out, "Calibration on %zu validation recordings: temperature %.3f (ECE %.3f -> %.3f, NLL %.3f -> %.3f)%s\n",
            t->n, cal->temperature, t->ece_before, t->ece_after, t->nll_before, t->nll_after,
            cal->temperature_rejected ? "; the fit ran to the lower bound, so 1 is kept" : "");
    const ev_gate_choice *g = cal->gate;
    if (g->class_threshold) {
        fprintf(out, "Gate: per-class thresholds");
        for (int c = 0; c < d->k_reported; c++)
        {
            char nb[256];
            fprintf(out, " %s %.3f", aa_printable_into(d->cache->classes[c], nb, sizeof nb), g->class_threshold[c]);
        }
        fputc('\n', out);
    } else {
        fprintf(out, "Gate: withhold below %.3f confidence (target selective accuracy %.2f: %s)\n",
                g->gate.min_confidence, o->gate_target, ev_gate_status_name(g->global.status));
    }
    fprintf(out, "  on validation: coverage %.3f (%zu of %zu recordings), selective accuracy %.3f (%zu of %zu)\n",
            g->coverage, g->covered, g->n, g->selective_accuracy, g->correct, g->covered);
    if (d->other >= 0 || cal->breakdown->n_sources > 1) {
        const char *names[AM_MAX_CLASSES];
        char labels[AM_MAX_CLASSES][128];
        for (int c = 0; c < d->k_reported; c++) {
            ev_display_name(d->list->classes[c], labels[c], sizeof labels[c]);
            names[c] = labels[c];
        }
        ev_report_info vi = {.class_names = names, .unit = "validation recordings"};
        if (ev_breakdown_text(out, cal->breakdown, &vi, err))
            return 1;
    }
    return 0;
}

/* --aggregate-report: the validation recordings judged under other policies by the same network, each
 * with its own temperature and gate as the trainer would fit them, to choose a policy on validation. Each
 * policy cuts the recordings anew from their cached signals (tr_data_load kept them for this). */
static int aggregate_report(const tr_data *d, const tr_run *run, const tr_options *o, FILE *out, aa_error *err)
{
    size_t n = d->n_rec[DS_VAL];
    float *logits = malloc((n ? n : 1) * (size_t)d->k * sizeof *logits);
    float *probs = malloc((n ? n : 1) * (size_t)d->k * sizeof *probs);
    int *labels = malloc((n ? n : 1) * sizeof *labels);
    char *list = strdup(o->aggregate_report);
    am_model *judge = logits && probs && labels && list ? tr_data_judge(d, run->net, err) : NULL;
    int rc = 0;
    if (!logits || !probs || !labels || !list) {
        rc = aa_error_set(err, AA_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (!judge) {
        rc = 1;
        goto out;
    }
    fprintf(out, "Aggregation policies on %zu validation recordings (no gate; then the gate fitted to each):\n", n);
    char *save = NULL;
    for (char *tok = strtok_r(list, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save)) {
        am_aggregate a;
        am_windows *w = NULL;
        if ((rc = am_aggregate_parse(tok, &a, err)) ||
            (rc = tr_data_recording_windows(d, DS_VAL, &a, o->threads, &w, err)))
            break;
        rc = am_windows_scores(judge, 0, w, n, logits, err);
        tr_data_windows_free(w, n);
        if (rc)
            break;
        decide_side(judge, d, DS_VAL, logits, probs, labels); /* temperature 1 */
        ev_eval *ev = ev_evaluate_labelled(n, d->k_reported, labels, probs, NULL, err);
        tr_calibration cal;
        if (!ev || fit_calibration(&cal, d, run->net, logits, o, err)) {
            ev_eval_free(ev);
            rc = 1;
            break;
        }
        char name[AM_AGGREGATE_TEXT_MAX];
        am_aggregate_format(&a, name, sizeof name);
        fprintf(out, "  %-12s accuracy %.3f  macro-F1 %.3f  |  T %.3f, gate %.3f: coverage %.3f, selective accuracy %.3f\n",
                name, ev->accuracy, ev->macro_f1, cal.temperature, cal.gate->gate.min_confidence, cal.gate->coverage,
                cal.gate->selective_accuracy);
        ev_eval_free(ev);
        tr_calibration_free(&cal);
    }
out:
    am_free(judge);
    free(logits);
    free(probs);
    free(labels);
    free(list);
    return rc;
}

static int save_model(const char *path, const tr_data *d, const tr_run *run, const tr_calibration *cal,
                      const tr_drift *drift, const char *train_json, aa_error *err)
{
    am_spec sp;
    final_spec(d, cal, train_json, &sp);
    tr_drift_spec(drift, &sp);
    return am_save(path, run->net, &sp, err);
}

static void log_summary(FILE *log, const char *summary)
{
    if (!log || !summary)
        return;
    fprintf(log, "{\"type\": \"summary\", \"summary\": %s}\n", summary);
    fflush(log);
}

/* The plots' folder is made at the end: a file in its place, or a place where it cannot be made or written
 * in, is found now. */
static int check_svg_dir(const char *dir, aa_error *err)
{
    struct stat st;
    if (stat(dir, &st) != 0)
        return aa_output_check(dir, 0, err); /* its parent must take a new entry */
    if (!S_ISDIR(st.st_mode))
        return aa_error_set(err, AA_ERR_IO, "%s: not a folder", dir);
    char *probe = aa_path_join(dir, "confusion.svg");
    if (!probe)
        return aa_error_set(err, AA_ERR_NOMEM, "out of memory");
    int rc = aa_output_check(probe, 0, err);
    free(probe);
    return rc;
}

/* aa-train --audit: the data described and its problems found; nothing is trained or written but the
 * feature cache, which a training run would reuse. Listing warnings go to stderr; the report to stdout. */
static int run_audit(const tr_options *o)
{
    aa_error err;
    aa_error_clear(&err);
    tr_progress p;
    tr_progress_init(&p, stderr, isatty(fileno(stderr)), o->quiet || o->json, NULL);
    tr_data d;
    if (tr_data_load(&d, o, &p, &err)) {
        tr_progress_break(&p);
        return fail(&err);
    }
    for (size_t i = 0; i < d.list->n_warnings; i++)
        fprintf(stderr, "aa-train: warning: %s\n", d.list->warnings[i].msg);
    if (!d.split)
        fprintf(stderr, "aa-train: warning: no split: %s\n", d.split_error);
    int rc = o->json ? tr_audit_json(stdout, d.audit, &err) : tr_audit_text(stdout, d.audit, &err);
    tr_data_free(&d);
    return rc ? fail(&err) : 0;
}

/* An output that cannot be written is better found before an hour of training than after it: every place
 * is checked (aa_output_check creates and removes a file beside each) before the data is read. */
static int check_outputs(const tr_options *o, const char *split_out, aa_error *err)
{
    if (o->checkpoint && !strcmp(o->checkpoint, "-"))
        return aa_error_set(err, AA_ERR_USAGE, "--checkpoint -: a checkpoint is a file --resume reads back");
    return (o->model_path && aa_output_check(o->model_path, 1, err)) ||
           (split_out && aa_output_check(split_out, 0, err)) ||
           (o->report_json && aa_output_check(o->report_json, 1, err)) ||
           (o->checkpoint && aa_output_check(o->checkpoint, 0, err)) ||
           (o->log_path && aa_output_check(o->log_path, 0, err)) || (o->svg_dir && check_svg_dir(o->svg_dir, err));
}

/* What a run has written so far, for the message of a failure after training: the user learns which files
 * are new and which are not there. */
typedef struct {
    const char *done[8];
    int n;
} tr_written;

static void wrote(tr_written *w, const char *what)
{
    for (int i = 0; i < w->n; i++)
        if (!strcmp(w->done[i], what))
            return;
    if (w->n < 8)
        w->done[w->n++] = what;
}

static void fail_after(const aa_error *err, const tr_written *w)
{
    fflush(stdout);
    fputs("aa-train: ", stderr);
    aa_fputs_printable(err->msg, stderr);
    if (w->n) {
        fprintf(stderr, "; already written:");
        for (int i = 0; i < w->n; i++)
            fprintf(stderr, "%s %s", i ? "," : "", w->done[i]);
    } else {
        fprintf(stderr, "; nothing was written");
    }
    fputc('\n', stderr);
}

/* The model is judged on the test split as read back from the file written. A device, FIFO or standard
 * output cannot be read back, and a FIFO's reader would get two models: that first file goes to a private
 * temporary file instead, and the final model is written once. NULL when out of memory or no temporary
 * file can be made (err set). */
static char *private_model_path(aa_error *err)
{
    const char *dir = getenv("TMPDIR");
    char *p = aa_path_join(dir && *dir ? dir : "/tmp", "aa-train-model.XXXXXX");
    int fd = p ? mkstemp(p) : -1;
    if (fd < 0) {
        if (p)
            aa_error_set(err, AA_ERR_IO, "%s: cannot create a temporary model file (%s)", p, strerror(errno));
        else
            aa_error_set(err, AA_ERR_NOMEM, "out of memory");
        free(p);
        return NULL;
    }
    close(fd);
    return p;
}

/* *logp receives the --log stream once it is opened (the caller closes it). */
static int run(const tr_options *o, FILE *out, FILE **logp)
{
    aa_error err;
    aa_error_clear(&err);
    double t0 = aa_now();
    tr_written written = {0};
    tr_progress p;
    tr_progress_init(&p, out, isatty(fileno(out)), o->quiet, NULL);
    tr_data d;
    if (tr_data_load(&d, o, &p, &err)) {
        tr_progress_break(&p);
        return fail(&err);
    }
    /* under mpirun the other ranks read the feature cache this rank has just written (run_rank) */
    if (dist_barrier(&err)) {
        tr_data_free(&d);
        return fail(&err);
    }
    /* The log is written as the run goes (one line per epoch), so it is opened, not replaced: a symlink's
     * target, a device or a FIFO take it as they are. Opened once the listing has shown it is none of the
     * recordings, which opening it would truncate. */
    FILE *log = NULL;
    if (o->log_path && !(log = *logp = fopen(o->log_path, "w"))) {
        aa_error_set(&err, AA_ERR_IO, "%s: cannot write (%s)", o->log_path, strerror(errno));
        tr_data_free(&d);
        return fail(&err);
    }
    p.log = log;
    fflush(out);
    tr_data_print_warnings(&d, stderr);
    if (!o->quiet)
        tr_data_print_summary(&d, o, out);
    if (d.k > AM_MAX_CLASSES) {
        aa_error_set(&err, AA_ERR_ARG, "%s: %d classes, a model holds at most %d", o->data_dir, d.k, AM_MAX_CLASSES);
        tr_data_free(&d);
        return fail(&err);
    }

    tr_run r;
    if (tr_train(&r, &d, o, &p, &err)) {
        tr_progress_break(&p);
        tr_data_free(&d);
        return fail(&err);
    }
    if (r.paused) {
        if (!o->quiet)
            fprintf(out, "Stopped after epoch %d of %d as asked; continue with --resume %s\n", r.n_history,
                     o->epochs, o->checkpoint);
        tr_run_free(&r);
        tr_data_free(&d);
        return 0;
    }
    if (!o->quiet)
        fprintf(out, "Kept epoch %d (validation macro-F1 %.3f)%s\n", r.best_epoch, r.best_f1,
                r.stopped_early ? ", stopped early: no better epoch within --patience" : "");

    int rc = 1;
    tr_calibration cal;
    memset(&cal, 0, sizeof cal);
    tr_test test;
    memset(&test, 0, sizeof test);
    tr_drift drift;
    memset(&drift, 0, sizeof drift);
    int have_test = d.n_rec[DS_TEST] > 0;
    int model_is_file = aa_output_is_file(o->model_path);
    /* MODEL.split.tsv beside a device or a pipe would be a file in /dev or a name nobody asked for */
    char *summary = NULL, *split = model_is_file ? tr_split_path(o->model_path) : NULL;
    char *judged = NULL; /* the file the test split is judged from */
    if (model_is_file && !split) {
        aa_error_set(&err, AA_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (calibrate(&cal, &d, &r, o, out, &err))
        goto out;
    am_spec tuned_by; /* the calibrated model, judging the timeline's mixtures */
    final_spec(&d, &cal, NULL, &tuned_by);
    if (tr_tune_timeline(&cal.timeline, &d, r.net, &tuned_by, o, out, &err))
        goto out;
    if (o->aggregate_report && aggregate_report(&d, &r, o, out, &err))
        goto out;
    if (tr_drift_fit(&drift, &d, &err))
        goto out;
    if (!o->quiet)
        tr_drift_print(out, &drift);
    /* First without the test figures, then, once the file as written has been judged, with them: the
     * network, settings and gate are the same in both, so the figures describe the final file. */
    summary = tr_summary_json(&d, o, &r, &cal, "recordings", NULL);
    if (!summary) {
        aa_error_set(&err, AA_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (have_test && !model_is_file && !(judged = private_model_path(&err)))
        goto out;
    if (save_model(judged ? judged : o->model_path, &d, &r, &cal, &drift, summary, &err))
        goto out;
    if (!judged)
        wrote(&written, o->model_path);
    if (split) {
        if (tr_data_write_split(&d, split, &err))
            goto out;
        wrote(&written, split);
    }
    if (have_test) {
        int trc = tr_test_run(&test, judged ? judged : o->model_path, &d, o->threads, &err);
        if (judged) {
            unlink(judged);
            free(judged);
            judged = NULL;
        }
        if (trc)
            goto out;
        test.fit = &cal.fit;
        test.gate_choice = cal.gate;
        test.val = cal.eval;
        test.val_by = cal.breakdown;
        free(summary);
        summary = tr_summary_json(&d, o, &r, &cal, "recordings", &test);
        if (!summary) {
            aa_error_set(&err, AA_ERR_NOMEM, "out of memory");
            goto out;
        }
        if (save_model(o->model_path, &d, &r, &cal, &drift, summary, &err))
            goto out;
        wrote(&written, o->model_path);
        if (!o->quiet && tr_test_print(out, &test, &err))
            goto out;
        if (o->report_json) {
            if (tr_test_save_json(o->report_json, &test, &err))
                goto out;
            wrote(&written, o->report_json);
        }
        if (o->svg_dir) {
            if (tr_test_save_svg(o->svg_dir, &test, &err))
                goto out;
            wrote(&written, "the test plots");
        }
    } else if (o->report_json || o->svg_dir) {
        fprintf(stderr, "aa-train: warning: no test split (--test-frac 0), so no test report or test plots\n");
    }
    if (o->svg_dir && tr_save_learning_curves(o->svg_dir, r.history, r.n_history, &err))
        goto out;
    log_summary(log, summary);
    if (!o->quiet) {
        if (split)
            fprintf(out, "\nWrote %s and %s", o->model_path, split);
        else
            fprintf(out, "\nWrote %s (not a regular file, so no split table beside it)",
                    strcmp(o->model_path, "-") ? o->model_path : "the model to standard output");
        if (d.skipped)
            fprintf(out, "; %zu recording%s skipped (could not be decoded)", d.skipped, d.skipped == 1 ? "" : "s");
        size_t unlisted = tr_data_unlisted(&d);
        if (unlisted)
            fprintf(out, "; %zu entr%s skipped while listing", unlisted, unlisted == 1 ? "y" : "ies");
        fprintf(out, ". %d epochs, %.1f s in all.\n", r.n_history - r.resumed_from, aa_now() - t0);
    }
    /* last, where it is seen: a model whose gate is not what --gate-target asked (also in its summary) */
    char note[256];
    tr_gate_note(&cal, o, note, sizeof note);
    if (note[0]) {
        fflush(out);
        fprintf(stderr, "aa-train: warning: %s\n", note);
    }
    rc = 0;
out:
    if (rc) {
        tr_progress_break(&p);
        if (o->checkpoint)
            wrote(&written, o->checkpoint);
        fail_after(&err, &written);
    }
    if (judged)
        unlink(judged);
    free(judged);
    free(summary);
    free(split);
    tr_test_free(&test);
    tr_drift_free(&drift);
    tr_calibration_free(&cal);
    tr_run_free(&r);
    tr_data_free(&d);
    return rc;
}

/* A rank other than 0 under mpirun: the same data (the feature cache rank 0 has built, read once it is
 * there) and its share of every training step; rank 0 alone prints and writes the model, the split, the
 * log, the report, the plots and the checkpoints. */
static int run_rank(const tr_options *opts)
{
    tr_options o = *opts;
    o.quiet = 1;
    o.log_path = o.report_json = o.svg_dir = o.checkpoint = NULL;
    aa_error err;
    aa_error_clear(&err);
    tr_progress p;
    tr_progress_init(&p, stdout, 0, 1, NULL);
    if (dist_barrier(&err))
        return fail(&err);
    tr_data d;
    if (tr_data_load(&d, &o, &p, &err))
        return fail(&err);
    tr_run r;
    int rc = tr_train(&r, &d, &o, &p, &err);
    if (rc)
        fail(&err);
    else
        tr_run_free(&r);
    tr_data_free(&d);
    return rc ? 1 : 0;
}

static int train_main(const tr_options *opts);

/* The clip length and front end the corpus asks for, where the command line leaves them open
 * (train/clip.c), said where the data summary will follow: standard error for --audit --json and when an
 * output is standard output. Once the outputs are known to be fine: a refused command line does no work.
 * Non-zero after printing a usage error. */
static int derive_from_corpus(tr_options *o)
{
    tr_clip_choice clip;
    aa_error err;
    if (tr_clip_derive(o, &clip, &err)) {
        fprintf(stderr, "aa-train: %s (see --help)\n", err.msg);
        return 1;
    }
    int to_stderr = o->json || (o->model_path && !strcmp(o->model_path, "-")) ||
                    (o->report_json && !strcmp(o->report_json, "-"));
    if (!o->quiet)
        tr_clip_print(&clip, o, to_stderr ? stderr : stdout);
    return 0;
}

int main(int argc, char **argv)
{
    nn_blas_setup();
    if (aa_cmd_is_make_demo(argc, argv))
        return aa_cmd_make_demo(argc, argv);
    tr_options o;
    tr_options_default(&o);
    aa_error err;
    switch (tr_options_parse(&o, argc, argv, &err)) {
    case TR_PARSE_HELP:
        tr_usage(stdout);
        return 0;
    case TR_PARSE_VERSION:
        printf("aa-train %s\n", AA_VERSION);
        return 0;
    case TR_PARSE_USAGE:
        fprintf(stderr, "aa-train: %s (see --help)\n", err.msg);
        return 2;
    default: break;
    }
    /* after nn_blas_setup: MPI starts threads of its own */
    if (dist_init(&argc, &argv, &err))
        return fail(&err);
    int rc = train_main(&o);
    /* A rank that failed ends the whole run: the others may be waiting for it in a collective. */
    if (rc && dist_active())
        dist_abort("aa-train", NULL);
    dist_finalize();
    return rc;
}

static int train_main(const tr_options *opts)
{
    tr_options o = *opts;
    aa_error err;
    aa_error_clear(&err);
    if (dist_size() > 1 && (o.audit || o.cv)) {
        aa_error_set(&err, AA_ERR_USAGE, "under mpirun aa-train trains one model; run --audit and --cv as one process");
        return dist_rank() == 0 ? fail(&err) : 2;
    }
    if (dist_rank() > 0) { /* the same clip and front end as rank 0, derived from the same headers, unsaid */
        o.quiet = 1;
        return derive_from_corpus(&o) ? 2 : run_rank(&o);
    }
    if (o.audit)
        return derive_from_corpus(&o) ? 2 : run_audit(&o);
    char *split_out = o.model_path && aa_output_is_file(o.model_path) ? tr_split_path(o.model_path) : NULL;
    int bad = tr_outputs_collide(&o, &err) || check_outputs(&o, split_out, &err);
    free(split_out);
    if (bad)
        return fail(&err);
    if (derive_from_corpus(&o))
        return 2;
    if (o.cv) /* with the model or the report on standard output, what people read goes to standard error */
        return tr_cv_run(&o, (o.model_path && !strcmp(o.model_path, "-")) ||
                                     (o.report_json && !strcmp(o.report_json, "-")) ? stderr : stdout);
    FILE *log = NULL;
    /* With the model or the report on standard output, what people read goes to standard error. */
    int std_out = (o.model_path && !strcmp(o.model_path, "-")) || (o.report_json && !strcmp(o.report_json, "-"));
    int rc = run(&o, std_out ? stderr : stdout, &log);
    if (log) {
        int e = fflush(log) != 0 || ferror(log) ? (errno ? errno : EIO) : 0;
        if (fclose(log) != 0 && !e)
            e = errno;
        if (e) {
            fprintf(stderr, "aa-train: %s: write failed (%s)\n", o.log_path, strerror(e));
            rc = rc ? rc : 1;
        }
    }
    return rc;
}
