/* The test report, computed from the model file as written: nothing of the network the trainer holds in
 * memory is trusted for it, so what it says is what a user of the file gets. */
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "train/report.h"

void tr_test_free(tr_test *t)
{
    if (!t)
        return;
    ev_eval_free(t->rec);
    ev_breakdown_free(t->rec_by);
    ev_eval_free(t->win);
    am_free(t->model);
    memset(t, 0, sizeof *t);
}

/* The model's gate as eval/ applies it: per-class thresholds only when it has any (all zero is the same
 * gate, said longer), as aa-infer --eval states it, so that the two reports agree to the byte on "gate".
 * th [AM_MAX_CLASSES] holds them. */
static ev_gate model_gate(const am_model *m, double *th)
{
    int per_class = 0;
    for (int c = 0; c < am_n_classes(m); c++)
        per_class |= (th[c] = am_class_threshold(m, c)) > 0;
    return (ev_gate){.min_confidence = am_min_confidence(m), .class_threshold = per_class ? th : NULL,
                     .rest_unclear = am_has_unclear(m)};
}

int tr_judge_side(am_model *m, const tr_data *d, int side, ev_eval **ev, ev_breakdown **by, aa_error *err)
{
    *ev = NULL;
    *by = NULL;
    size_t n = d->n_rec[side];
    int k = am_n_classes(m), ko = am_n_outputs(m);
    float *scores = malloc((n ? n : 1) * (size_t)ko * sizeof *scores);
    float *probs = malloc((n ? n : 1) * (size_t)k * sizeof *probs);
    int *labels = malloc((n ? n : 1) * sizeof *labels);
    const char **src = malloc((n ? n : 1) * sizeof *src), **kind = malloc((n ? n : 1) * sizeof *kind);
    int rc = 0;
    if (!scores || !probs || !labels || !src || !kind) {
        rc = aa_error_set(err, AA_ERR_NOMEM, "out of memory");
    } else if (!(rc = am_windows_scores(m, 0, d->rec_windows[side], n, scores, err))) {
        for (size_t i = 0; i < n; i++) {
            am_result r;
            am_decide(m, scores + i * (size_t)ko, &r);
            memcpy(probs + i * (size_t)k, r.probs, (size_t)k * sizeof *probs);
            size_t f = d->rec[side][i];
            labels[i] = tr_data_rec_class(d, side, i);
            src[i] = d->file_source[f];
            kind[i] = d->file_kind[f] ? d->file_kind[f] : "";
        }
        double th[AM_MAX_CLASSES];
        ev_gate g = model_gate(m, th);
        if (!(*ev = ev_evaluate_labelled(n, k, labels, probs, &g, err)) ||
            !(*by = ev_breakdown_make(n, k, labels, probs, &g, src, kind, am_negatives_class(m), err))) {
            ev_eval_free(*ev);
            *ev = NULL;
            rc = err && err->code ? err->code : 1;
        }
    }
    free(scores);
    free(probs);
    free(labels);
    free(src);
    free(kind);
    return rc;
}

/* The test windows of a class: their features from the cache through the model's own normalisation,
 * network, temperature and decision. */
static int per_window(tr_test *t, const tr_data *d, aa_error *err)
{
    size_t n = d->n_win[DS_TEST];
    int k = am_n_classes(t->model), ko = am_n_outputs(t->model);
    int *labels = malloc((n ? n : 1) * sizeof *labels);
    float *probs = malloc((n ? n : 1) * (size_t)k * sizeof *probs);
    float *logits = malloc((n ? n : 1) * (size_t)ko * sizeof *logits);
    const float **mels = calloc(n ? n : 1, sizeof *mels);
    int rc = 0;
    if (!labels || !probs || !logits || !mels) {
        rc = aa_error_set(err, AA_ERR_NOMEM, "test report: out of memory");
        goto out;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int cls = d->cache->windows[d->win[DS_TEST][i]].cls;
        if (cls == d->other)
            continue;
        mels[m] = ds_cache_features(d->cache, d->win[DS_TEST][i]);
        labels[m++] = cls;
    }
    if ((rc = am_logits_batch(t->model, 0, mels, m, logits, err)))
        goto out;
    for (size_t i = 0; i < m; i++) {
        am_result r;
        am_decide(t->model, logits + i * (size_t)ko, &r);
        memcpy(probs + i * (size_t)k, r.probs, (size_t)k * sizeof *probs);
    }
    double th[AM_MAX_CLASSES];
    ev_gate g = model_gate(t->model, th);
    if (!(t->win = ev_evaluate(m, k, labels, probs, &g, err)))
        rc = 1;
out:
    free(labels), free(probs), free(logits), free(mels);
    return rc;
}

int tr_test_run(tr_test *t, const char *model_path, const tr_data *d, int threads, aa_error *err)
{
    memset(t, 0, sizeof *t);
    /* One worker whose network runs its batches on every thread: the recordings' windows are judged in
     * batches across recordings, as the trainer's validation judges them. */
    int nt = threads > 0 ? threads : omp_get_max_threads();
    if (!(t->model = am_load(model_path, 1, err)))
        return 1;
    am_set_threads(t->model, nt);
    t->temperature = am_temperature(t->model);
    t->min_confidence = am_min_confidence(t->model);
    for (int c = 0; c < am_n_classes(t->model); c++) {
        t->names[c] = am_class_label(t->model, c);
        t->class_threshold[c] = am_class_threshold(t->model, c);
        t->per_class |= t->class_threshold[c] > 0;
    }
    if (tr_judge_side(t->model, d, DS_TEST, &t->rec, &t->rec_by, err) || per_window(t, d, err)) {
        tr_test_free(t);
        return 1;
    }
    return 0;
}

/* Calibration was done on validation recordings, so how it was done belongs with the recordings' report. */
static ev_report_info info_of(const tr_test *t, const char *title, const char *unit)
{
    int rec = !strcmp(unit, "recordings");
    return (ev_report_info){.title = title, .class_names = t->names, .unit = unit, .temperature = t->temperature,
                            .fit = rec ? t->fit : NULL, .gate_choice = rec ? t->gate_choice : NULL,
                            .omit_curve = 1, .breakdown = rec ? t->rec_by : NULL,
                            .notice = am_disclaimer(t->model)};
}

/* "Test split, per 4 s window" + more, with the model's clip length. */
static const char *window_title(const tr_test *t, const char *more, char *buf, size_t n)
{
    snprintf(buf, n, "Test split, per %g s window%s", am_dsp(t->model)->clip_seconds, more);
    return buf;
}

int tr_test_print(FILE *out, const tr_test *t, aa_error *err)
{
    ev_report_info ri = info_of(t, "Test split, per recording (each file classified as aa-infer classifies it)",
                                "recordings");
    ri.notice = NULL; /* once, after the windows' report that follows */
    fputc('\n', out);
    if (ev_report_text(out, t->rec, &ri, err))
        return 1;
    char title[128];
    ev_report_info wi = info_of(t, window_title(t, " (for reference: aa-infer reports recordings)", title,
                                                sizeof title), "windows");
    fputc('\n', out);
    return ev_report_text(out, t->win, &wi, err) ? 1 : 0;
}

int tr_test_save_json(const char *path, const tr_test *t, aa_error *err)
{
    aa_afile *af = aa_afile_open_std(path, err); /* "-": standard output */
    if (!af)
        return 1;
    FILE *f = aa_afile_stream(af);
    ev_report_info ri = info_of(t, "Test split, per recording", "recordings");
    char title[128];
    ev_report_info wi = info_of(t, window_title(t, "", title, sizeof title), "windows");
    ri.omit_curve = wi.omit_curve = 0;
    fputs("{\"format\": \"audio-audit-train-report\", \"version\": 1,\n\"recordings\": ", f);
    if (ev_report_json(f, t->rec, &ri, err))
        goto fail;
    fputs(",\n\"windows\": ", f);
    if (ev_report_json(f, t->win, &wi, err))
        goto fail;
    if (t->val) {
        /* After the test figures, so that a reader looking for the first "accuracy" finds the test's. */
        ev_report_info vi = {.title = "Validation split, per recording (temperature and gate fitted here)",
                             .class_names = t->names, .unit = "recordings", .temperature = t->temperature,
                             .fit = t->fit, .gate_choice = t->gate_choice, .breakdown = t->val_by,
                             .notice = am_disclaimer(t->model)};
        fputs(",\n\"validation\": ", f);
        if (ev_report_json(f, t->val, &vi, err))
            goto fail;
    }
    fputs("}\n", f);
    return aa_afile_commit(af, err) ? 1 : 0;
fail:
    aa_afile_abort(af);
    /* The writer's message names what it was writing, not the file: name the file too. */
    if (err) {
        char what[AA_ERROR_MSG_MAX];
        snprintf(what, sizeof what, "%s", err->msg);
        aa_error_set(err, err->code, "%s: %s", path, what);
    }
    return 1;
}

static int make_dir(const char *dir, aa_error *err)
{
    if (mkdir(dir, 0777) && errno != EEXIST)
        return aa_error_set(err, AA_ERR_IO, "%s: cannot create folder (%s)", dir, strerror(errno));
    struct stat st;
    if (stat(dir, &st) || !S_ISDIR(st.st_mode))
        return aa_error_set(err, AA_ERR_IO, "%s: not a folder", dir);
    return 0;
}

int tr_test_save_svg(const char *dir, const tr_test *t, aa_error *err)
{
    if (make_dir(dir, err))
        return 1;
    ev_report_info ri = info_of(t, "Test split, per recording", "recordings");
    char title[128];
    ev_report_info wi = info_of(t, window_title(t, "", title, sizeof title), "windows");
    char path[4096];
    snprintf(path, sizeof path, "%s/confusion_windows.svg", dir);
    return ev_svg_save_all(dir, t->rec, &ri, err) || ev_svg_confusion_save(path, t->win, &wi, err) ? 1 : 0;
}

int tr_save_learning_curves(const char *dir, const tr_epoch *h, int n, aa_error *err)
{
    if (make_dir(dir, err))
        return 1;
    ev_epoch *e = malloc((size_t)(n ? n : 1) * sizeof *e);
    if (!e)
        return aa_error_set(err, AA_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n; i++)
        e[i] = (ev_epoch){.epoch = h[i].epoch, .train_loss = h[i].train_loss, .val_loss = h[i].val_loss,
                          .train_accuracy = h[i].train_accuracy, .val_accuracy = h[i].val_accuracy,
                          .val_macro_f1 = h[i].val_macro_f1};
    char path[4096];
    snprintf(path, sizeof path, "%s/learning_curves.svg", dir);
    int rc = ev_svg_learning_curves_save(path, e, (size_t)n, "Training", err);
    free(e);
    return rc ? 1 : 0;
}
