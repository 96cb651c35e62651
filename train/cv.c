/* aa-train --cv (train/cv.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eval/eval.h"
#include "model/model.h"
#include "train/calibrate.h"
#include "train/cv.h"
#include "train/data.h"
#include "train/loop.h"
#include "train/progress.h"

typedef struct {
    int label;                /* the fold's name: the manifest's value, or 1..K */
    size_t n_val, n_test;
    int *val_label;           /* [n_val] */
    float *val_logits;        /* [n_val][k] the fold's network on its validation recordings */
    size_t *test_item;        /* [n_test] DATA's listing index of each test recording */
    int *test_label;          /* [n_test] */
    float *test_logits;       /* [n_test][k] */
    int best_epoch, epochs;
    nn_model *net;
    int own_gate;             /* 1: temperature and gate fitted on its own validation side */
    tr_calibration own;
    ev_eval *ev;              /* its test recordings, with its gate (own or pooled) */
} cv_fold;

typedef struct {
    int n, k;
    cv_fold *f;
    char **classes;           /* [k] DATA's class folders */
    const char *names[AM_MAX_CLASSES];
    char labels[AM_MAX_CLASSES][128];
    float *mean, *std;        /* the shared normalisation [n_mels] */
    tr_calibration pooled;
    ev_eval *oof;             /* every recording once, by the network of the fold that held it out */
    size_t n_items;
    int from_manifest;
    size_t groups_crossing;
} cv_run;

static int nomem(aa_error *err)
{
    return aa_error_set(err, AA_ERR_NOMEM, "out of memory");
}

static void cv_free(cv_run *c)
{
    for (int j = 0; c->f && j < c->n; j++) {
        cv_fold *f = &c->f[j];
        free(f->val_label);
        free(f->val_logits);
        free(f->test_item);
        free(f->test_label);
        free(f->test_logits);
        nn_model_free(f->net);
        if (f->own_gate)
            tr_calibration_free(&f->own);
        ev_eval_free(f->ev);
    }
    free(c->f);
    for (int j = 0; c->classes && j < c->k; j++)
        free(c->classes[j]);
    free(c->classes);
    free(c->mean);
    free(c->std);
    if (c->pooled.gate)
        tr_calibration_free(&c->pooled);
    ev_eval_free(c->oof);
}

/* The scores [n][k] of the recordings of d's side by net, through the inference code. */
static int side_scores(const tr_data *d, nn_model *net, int side, float **out, aa_error *err)
{
    size_t n = d->n_rec[side];
    *out = malloc((n ? n : 1) * (size_t)d->k * sizeof **out);
    if (!*out)
        return nomem(err);
    am_model *judge = tr_data_judge(d, net, err);
    int rc = !judge ? 1 : am_windows_scores(judge, 0, d->rec_windows[side], n, *out, err);
    am_free(judge);
    return rc;
}

/* Per-mel mean and sd over every window of DATA (fold 0's cache holds all their features). */
static int shared_norm(cv_run *c, const tr_data *d, aa_error *err)
{
    size_t n = 0;
    for (int s = 0; s < DS_N_SIDES; s++)
        n += d->n_win[s];
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    c->mean = malloc(d->n_mels * sizeof *c->mean);
    c->std = malloc(d->n_mels * sizeof *c->std);
    if (!idx || !c->mean || !c->std) {
        free(idx);
        return nomem(err);
    }
    for (int s = 0, at = 0; s < DS_N_SIDES; s++)
        for (size_t i = 0; i < d->n_win[s]; i++)
            idx[at++] = d->win[s][i];
    int rc = ds_norm_compute(d->cache, idx, n, c->mean, c->std, err);
    free(idx);
    return rc;
}

static int run_fold(cv_run *c, int j, const ds_folds *folds, const tr_options *o, FILE *out, aa_error *err)
{
    cv_fold *f = &c->f[j];
    f->label = folds->label[j];
    int *fixed = malloc((c->n_items ? c->n_items : 1) * sizeof *fixed);
    if (!fixed)
        return nomem(err);
    for (size_t i = 0; i < c->n_items; i++)
        fixed[i] = folds->fold[i] == j ? DS_TEST : DS_SIDE_NONE;
    tr_options of = *o;
    of.fixed_side = fixed;
    tr_progress p;
    tr_progress_init(&p, out, isatty(fileno(out)), o->quiet, NULL);
    tr_data d;
    int rc = tr_data_load(&d, &of, &p, err);
    if (rc) {
        tr_progress_break(&p);
        free(fixed);
        return rc;
    }
    if (d.cache->n_files != c->n_items) {
        rc = aa_error_set(err, AA_ERR_ARG, "%s: the listing changed while cross-validating", o->data_dir);
        goto out;
    }
    if (!j && !o->quiet)
        tr_data_print_warnings(&d, stderr);
    if (!j && (rc = shared_norm(c, &d, err)))
        goto out;
    memcpy(d.mean, c->mean, d.n_mels * sizeof *d.mean);
    memcpy(d.std, c->std, d.n_mels * sizeof *d.std);
    if (!o->quiet)
        fprintf(out, "Fold %d of %d (%d): %zu train, %zu validation, %zu test recordings\n", j + 1, c->n, f->label,
                d.n_rec[DS_TRAIN], d.n_rec[DS_VAL], d.n_rec[DS_TEST]);
    tr_run r;
    if ((rc = tr_train(&r, &d, &of, &p, err))) {
        tr_progress_break(&p);
        goto out;
    }
    f->best_epoch = r.best_epoch;
    f->epochs = r.n_history;
    f->net = r.net;
    r.net = NULL;
    tr_run_free(&r);
    f->n_val = d.n_rec[DS_VAL];
    f->n_test = d.n_rec[DS_TEST];
    f->val_label = malloc((f->n_val ? f->n_val : 1) * sizeof *f->val_label);
    f->test_label = malloc((f->n_test ? f->n_test : 1) * sizeof *f->test_label);
    f->test_item = malloc((f->n_test ? f->n_test : 1) * sizeof *f->test_item);
    if (!f->val_label || !f->test_label || !f->test_item) {
        rc = nomem(err);
        goto out;
    }
    memcpy(f->val_label, d.rec_label[DS_VAL], f->n_val * sizeof *f->val_label);
    memcpy(f->test_label, d.rec_label[DS_TEST], f->n_test * sizeof *f->test_label);
    memcpy(f->test_item, d.rec[DS_TEST], f->n_test * sizeof *f->test_item);
    rc = side_scores(&d, f->net, DS_VAL, &f->val_logits, err) || side_scores(&d, f->net, DS_TEST, &f->test_logits, err);
out:
    tr_data_free(&d);
    free(fixed);
    return rc;
}

/* Probabilities at temperature t and the figures with gate g. */
static ev_eval *judge(size_t n, int k, const int *labels, const float *logits, double t, const ev_gate *g,
                      aa_error *err)
{
    float *probs = malloc((n ? n : 1) * (size_t)k * sizeof *probs);
    if (!probs) {
        nomem(err);
        return NULL;
    }
    ev_softmax(n, k, logits, t, probs);
    ev_eval *ev = ev_evaluate_labelled(n, k, labels, probs, g, err);
    free(probs);
    return ev;
}

static int calibrate_all(cv_run *c, const tr_options *o, aa_error *err)
{
    size_t nv = 0, nt = 0;
    for (int j = 0; j < c->n; j++)
        nv += c->f[j].n_val, nt += c->f[j].n_test;
    int *vl = malloc((nv ? nv : 1) * sizeof *vl), *tl = malloc((nt ? nt : 1) * sizeof *tl);
    float *vz = malloc((nv ? nv : 1) * (size_t)c->k * sizeof *vz), *tz = malloc((nt ? nt : 1) * (size_t)c->k * sizeof *tz);
    int rc = 0;
    if (!vl || !tl || !vz || !tz) {
        rc = nomem(err);
        goto out;
    }
    for (int j = 0, av = 0, at = 0; j < c->n; j++) {
        const cv_fold *f = &c->f[j];
        memcpy(vl + av, f->val_label, f->n_val * sizeof *vl);
        memcpy(vz + (size_t)av * c->k, f->val_logits, f->n_val * (size_t)c->k * sizeof *vz);
        memcpy(tl + at, f->test_label, f->n_test * sizeof *tl);
        memcpy(tz + (size_t)at * c->k, f->test_logits, f->n_test * (size_t)c->k * sizeof *tz);
        av += (int)f->n_val, at += (int)f->n_test;
    }
    if ((rc = tr_calibrate(&c->pooled, nv, c->k, vl, vz, o, err)))
        goto out;
    if (!(c->oof = judge(nt, c->k, tl, tz, c->pooled.temperature, &c->pooled.gate->gate, err))) {
        rc = 1;
        goto out;
    }
    for (int j = 0; j < c->n && !rc; j++) {
        cv_fold *f = &c->f[j];
        if (f->n_val >= TR_CV_GATE_MIN) {
            if ((rc = tr_calibrate(&f->own, f->n_val, c->k, f->val_label, f->val_logits, o, err)))
                break;
            f->own_gate = 1;
        }
        const tr_calibration *cal = f->own_gate ? &f->own : &c->pooled;
        if (!(f->ev = judge(f->n_test, c->k, f->test_label, f->test_logits, cal->temperature, &cal->gate->gate, err)))
            rc = 1;
    }
out:
    free(vl);
    free(tl);
    free(vz);
    free(tz);
    return rc;
}

static void mean_sd(const cv_run *c, int which, double *mean, double *sd)
{
    double s = 0, ss = 0;
    for (int j = 0; j < c->n; j++)
        s += which ? c->f[j].ev->macro_f1 : c->f[j].ev->accuracy;
    *mean = s / c->n;
    for (int j = 0; j < c->n; j++) {
        double d = (which ? c->f[j].ev->macro_f1 : c->f[j].ev->accuracy) - *mean;
        ss += d * d;
    }
    *sd = c->n > 1 ? sqrt(ss / (c->n - 1)) : 0; /* the sample sd, as published cross-validation tables give */
}

/* The per-fold table and the pooled lines as JSON members (no braces), for the report and the model's
 * training summary. NULL when out of memory. */
static char *folds_json(const cv_run *c, const tr_options *o)
{
    aa_buf b = {0};
    double ma, sa, mf, sf;
    mean_sd(c, 0, &ma, &sa);
    mean_sd(c, 1, &mf, &sf);
    aa_buf_printf(&b, "\"folds_from\": \"%s\", \"n_folds\": %d, \"seed\": %llu, \"groups_crossing\": %zu,\n",
                  c->from_manifest ? "manifest" : "made", c->n, (unsigned long long)o->seed, c->groups_crossing);
    aa_buf_printf(&b, "\"gate_min_validation\": %d,\n\"folds\": [", TR_CV_GATE_MIN);
    for (int j = 0; j < c->n; j++) {
        const cv_fold *f = &c->f[j];
        const tr_calibration *cal = f->own_gate ? &f->own : &c->pooled;
        aa_buf_printf(&b, "%s\n  {\"fold\": %d, \"test_recordings\": %zu, \"validation_recordings\": %zu, "
                      "\"best_epoch\": %d, \"epochs\": %d, \"accuracy\": ", j ? "," : "", f->label, f->n_test, f->n_val,
                      f->best_epoch, f->epochs);
        aa_json_num(&b, f->ev->accuracy);
        aa_buf_printf(&b, ", \"macro_f1\": ");
        aa_json_num(&b, f->ev->macro_f1);
        aa_buf_printf(&b, ", \"gate\": \"%s\", \"temperature\": ", f->own_gate ? "own" : "pooled");
        aa_json_num(&b, cal->temperature);
        aa_buf_printf(&b, ", \"min_confidence\": ");
        aa_json_num(&b, cal->gate->gate.min_confidence);
        aa_buf_printf(&b, ", \"coverage\": ");
        aa_json_num(&b, f->ev->coverage);
        aa_buf_printf(&b, ", \"selective_accuracy\": ");
        aa_json_num(&b, f->ev->selective_accuracy);
        aa_buf_printf(&b, "}");
    }
    aa_buf_printf(&b, "],\n\"mean\": {\"accuracy\": ");
    aa_json_num(&b, ma);
    aa_buf_printf(&b, ", \"macro_f1\": ");
    aa_json_num(&b, mf);
    aa_buf_printf(&b, "}, \"sd\": {\"accuracy\": ");
    aa_json_num(&b, sa);
    aa_buf_printf(&b, ", \"macro_f1\": ");
    aa_json_num(&b, sf);
    aa_buf_printf(&b, "}");
    return aa_buf_take(&b);
}

static void print_text(const cv_run *c, const tr_options *o, FILE *out)
{
    fprintf(out, "\nCross-validation, %d folds (%s), per recording:\n", c->n,
            c->from_manifest ? "the manifest's fold column" : "whole groups, stratified by class");
    fprintf(out, "  fold   test    val  epoch  accuracy  macro-F1  | gate     T      threshold  coverage  sel. acc.\n");
    for (int j = 0; j < c->n; j++) {
        const cv_fold *f = &c->f[j];
        const tr_calibration *cal = f->own_gate ? &f->own : &c->pooled;
        fprintf(out, "  %4d %6zu %6zu %6d  %8.3f  %8.3f  | %-6s %6.3f  %9.3f  %8.3f  %9.3f\n", f->label, f->n_test,
                f->n_val, f->best_epoch, f->ev->accuracy, f->ev->macro_f1, f->own_gate ? "own" : "pooled",
                cal->temperature, cal->gate->gate.min_confidence, f->ev->coverage, f->ev->selective_accuracy);
    }
    double ma, sa, mf, sf;
    mean_sd(c, 0, &ma, &sa);
    mean_sd(c, 1, &mf, &sf);
    fprintf(out, "  mean ± sd over folds: accuracy %.3f ± %.3f, macro-F1 %.3f ± %.3f\n", ma, sa, mf, sf);
    for (int j = 0; j < c->n; j++)
        if (!c->f[j].own_gate) {
            fprintf(out, "  Folds marked 'pooled' have fewer than %d validation recordings, too few for a gate of "
                    "their own (its selective accuracy would be uncertain by more than 0.03): they are judged with "
                    "the pooled temperature and gate.\n", TR_CV_GATE_MIN);
            break;
        }
    if (c->groups_crossing)
        fprintf(out, "  warning: %zu group%s of the manifest cross its folds (honoured as given)\n", c->groups_crossing,
                c->groups_crossing == 1 ? "" : "s");
    const ev_gate_choice *g = c->pooled.gate;
    fprintf(out, "Pooled calibration on %zu validation predictions (each fold's validation side, its own network): "
            "temperature %.3f%s, gate %.3f (target %.2f: %s)\n",
            c->pooled.fit.n, c->pooled.temperature, c->pooled.temperature_rejected ? " (fit at its bound, 1 kept)" : "",
            g->gate.min_confidence, o->gate_target, ev_gate_status_name(g->global.status));
}

static int save_json(const cv_run *c, const tr_options *o, const char *members, aa_error *err)
{
    aa_afile *af = aa_afile_open_std(o->report_json, err);
    if (!af)
        return 1;
    FILE *f = aa_afile_stream(af);
    fprintf(f, "{\"format\": \"audio-audit-cv-report\", \"version\": 1,\n%s,\n\"out_of_fold\": ", members);
    ev_report_info ri = {.title = "Out-of-fold test predictions, every recording once", .class_names = c->names,
                         .unit = "recordings", .temperature = c->pooled.temperature, .fit = &c->pooled.fit,
                         .gate_choice = c->pooled.gate};
    if (ev_report_json(f, c->oof, &ri, err)) {
        aa_afile_abort(af);
        return 1;
    }
    fputs("}\n", f);
    return aa_afile_commit(af, err) ? 1 : 0;
}

static int save_ensemble(const cv_run *c, const tr_options *o, const char *members, aa_error *err)
{
    am_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.dsp = o->dsp;
    sp.n_classes = c->k;
    for (int j = 0; j < c->k; j++)
        sp.classes[j] = c->classes[j];
    sp.norm_mean = c->mean;
    sp.norm_std = c->std;
    sp.temperature = c->pooled.temperature;
    sp.min_confidence = c->pooled.gate->gate.min_confidence;
    sp.class_threshold = c->pooled.gate->class_threshold;
    sp.aggregate = o->aggregate;
    aa_buf b = {0};
    aa_buf_printf(&b, "{\"cross_validation\": {%s}}", members);
    char *tj = aa_buf_take(&b);
    if (!tj)
        return nomem(err);
    sp.train_json = tj;
    nn_model *nets[DS_MAX_FOLDS];
    for (int j = 0; j < c->n; j++)
        nets[j] = c->f[j].net;
    int rc = am_save_ensemble(o->model_path, nets, c->n, &sp, err);
    free(tj);
    return rc;
}

static int fail(const aa_error *err)
{
    fflush(stdout);
    fputs("aa-train: ", stderr);
    aa_fputs_printable(err->msg, stderr);
    fputc('\n', stderr);
    return err->code == AA_ERR_USAGE ? 2 : 1;
}

int tr_cv_run(const tr_options *o, FILE *out)
{
    aa_error err;
    aa_error_clear(&err);
    double t0 = aa_now();
    cv_run c;
    memset(&c, 0, sizeof c);
    ds_list *l = NULL;
    ds_folds *folds = NULL;
    char *members = NULL;
    ds_list_opts lo = {.classes = o->classes, .group_regex = o->group_regex, .manifest = o->manifest};
    int rc = ds_list_load(&l, o->data_dir, &lo, &err);
    if (!rc && l->explicit_sides)
        rc = aa_error_set(&err, AA_ERR_USAGE, "%s: --cv needs a folder of class folders, not DATA/{train,val,test}/",
                          o->data_dir);
    if (rc)
        goto out;
    int want = o->folds ? o->folds : ds_list_has_folds(l) ? 0 : TR_CV_DEFAULT_FOLDS;
    if ((rc = ds_folds_make(&folds, l, want, o->seed, &err)))
        goto out;
    c.n = folds->n;
    c.k = l->n_classes;
    c.n_items = l->n_items;
    c.from_manifest = folds->from_manifest;
    c.groups_crossing = folds->groups_crossing;
    if (!(c.f = calloc((size_t)c.n, sizeof *c.f)) || !(c.classes = calloc((size_t)c.k, sizeof *c.classes))) {
        rc = nomem(&err);
        goto out;
    }
    for (int j = 0; j < c.k; j++) {
        if (!(c.classes[j] = strdup(l->classes[j]))) {
            rc = nomem(&err);
            goto out;
        }
        ev_display_name(l->classes[j], c.labels[j], sizeof c.labels[j]);
        c.names[j] = c.labels[j];
    }
    ds_list_free(l);
    l = NULL;
    for (int j = 0; j < c.n && !rc; j++)
        rc = run_fold(&c, j, folds, o, out, &err);
    if (rc || (rc = calibrate_all(&c, o, &err)))
        goto out;
    if (!(members = folds_json(&c, o))) {
        rc = nomem(&err);
        goto out;
    }
    if (!o->quiet) {
        print_text(&c, o, out);
        ev_report_info ri = {.title = "Out-of-fold test predictions: every recording once, by the network of the "
                                      "fold that held it out (pooled temperature and gate)",
                             .class_names = c.names, .unit = "recordings", .temperature = c.pooled.temperature,
                             .gate_choice = c.pooled.gate};
        fputc('\n', out);
        if ((rc = ev_report_text(out, c.oof, &ri, &err)))
            goto out;
    }
    if (o->report_json && (rc = save_json(&c, o, members, &err)))
        goto out;
    if (o->cv_ensemble && (rc = save_ensemble(&c, o, members, &err)))
        goto out;
    if (!o->quiet)
        fprintf(out, "\n%s%s%s%.1f s in all.\n", o->cv_ensemble ? "Wrote " : "",
                o->cv_ensemble ? o->model_path : "", o->cv_ensemble ? " (an ensemble of the fold networks). " : "",
                aa_now() - t0);
out:
    free(members);
    ds_list_free(l);
    ds_folds_free(folds);
    cv_free(&c);
    return rc ? fail(&err) : 0;
}
