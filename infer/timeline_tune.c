/* aa-infer --timeline --tune REF.tsv: the event rule's sweep (model/tune.c) on the user's own recordings.
 *
 * Each recording's windows are classified once (inf_timeline_run without smoothing); the sweep smooths,
 * finds events and scores them for every setting of the grid, by the overlap rule (a hit is an estimate
 * overlapping the reference event widened by the collar: the rule mixtures are scored by, since a window
 * places a cough only to within its length). The reference is read before any recording is decoded. */
#include <stdlib.h>
#include <string.h>

#include "eval/eval.h"
#include "infer/infer.h"

typedef struct {
    am_tune_recording *recs;
    char **names;
    float **probs;
    size_t n, cap;
} followed;

static void followed_free(followed *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->names[i]);
        free(f->probs[i]);
    }
    free(f->recs);
    free(f->names);
    free(f->probs);
    memset(f, 0, sizeof *f);
}

/* Takes t's probabilities. */
static int follow(followed *f, const char *name, inf_timeline *t, aa_error *err)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 16;
        am_tune_recording *r = realloc(f->recs, cap * sizeof *r);
        if (r)
            f->recs = r;
        char **nm = realloc(f->names, cap * sizeof *nm);
        if (nm)
            f->names = nm;
        float **p = realloc(f->probs, cap * sizeof *p);
        if (p)
            f->probs = p;
        if (!r || !nm || !p)
            return aa_error_set(err, AA_ERR_NOMEM, "%s: out of memory", name);
        f->cap = cap;
    }
    if (!(f->names[f->n] = strdup(name)))
        return aa_error_set(err, AA_ERR_NOMEM, "%s: out of memory", name);
    f->probs[f->n] = t->probs;
    t->probs = NULL;
    f->recs[f->n] = (am_tune_recording){.probs = f->probs[f->n], .n_windows = t->n_windows, .hop_s = t->hop_s,
                                        .window_s = t->window_s, .duration_s = t->duration_s};
    f->n++;
    return 0;
}

/* The reference's events as the sweep takes them: file = the recording's index; events of files that are
 * none of the recordings are left out (and counted). *out malloc'd. */
static int reference_events(const ev_reference *ref, const followed *f, ev_event **out, size_t *n_out,
                            size_t *unscored, aa_error *err)
{
    size_t *rec_of = malloc((ref->n_files ? ref->n_files : 1) * sizeof *rec_of);
    ev_event *ev = malloc((ref->n ? ref->n : 1) * sizeof *ev);
    if (!rec_of || !ev) {
        free(rec_of);
        free(ev);
        return aa_error_set(err, AA_ERR_NOMEM, "out of memory");
    }
    if (ev_reference_match(ref, f->n, (const char *const *)f->names, rec_of, err)) {
        free(rec_of);
        free(ev);
        return err->code;
    }
    size_t n = 0;
    *unscored = 0;
    for (size_t i = 0; i < ref->n; i++) {
        ev_event e = ref->events[i];
        size_t r = ref->n_files ? rec_of[e.file] : 0;
        if (r == EV_NO_EVENT || r >= f->n) {
            (*unscored)++;
            continue;
        }
        e.file = r;
        ev[n++] = e;
    }
    free(rec_of);
    *out = ev;
    *n_out = n;
    return 0;
}

static void setting_text(const am_timeline *t, char *buf, size_t n)
{
    if (t->threshold == AM_TIMELINE_GATE)
        snprintf(buf, n, "the gate's rule (no --event-threshold) --smooth %d --min-duration %g", t->smooth,
                 t->min_duration_s);
    else
        snprintf(buf, n, "--event-threshold %.2f --smooth %d --min-duration %g", t->threshold, t->smooth,
                 t->min_duration_s);
}

static void print_text(const am_tune_sweep *s, const am_model *m, const ev_event_opts *opts, size_t unscored)
{
    char lb[256];
    const am_tune_row *r0 = &s->rows[0];
    printf("Event rule sweep: %zu recordings, %.1f min, %zu reference events of %s (overlap rule, collar %g s)\n",
           s->n_recordings, s->duration_s / 60, r0->reference,
           s->target >= 0 ? aa_printable_into(am_class_label(m, s->target), lb, sizeof lb) : "every class but the "
                                                                                               "background",
           opts->collar);
    if (unscored)
        printf("  (%zu reference events of files that are none of these recordings not scored)\n", unscored);
    printf("  %9s %6s %6s %11s %7s %9s %6s %12s\n", "threshold", "smooth", "min s", "found", "recall", "precision",
           "F1", "false/10 min");
    for (size_t i = 0; i < AM_TUNE_ROWS; i++) {
        const am_tune_row *r = &s->rows[i];
        char th[16], found[32];
        if (r->setting.threshold == AM_TIMELINE_GATE)
            snprintf(th, sizeof th, "gate");
        else
            snprintf(th, sizeof th, "%.2f", r->setting.threshold);
        snprintf(found, sizeof found, "%zu/%zu", r->hits, r->reference);
        printf("  %9s %6d %6.1f %11s %7.3f %9.3f %6.3f %12.2f%s\n", th, r->setting.smooth, r->setting.min_duration_s,
               found, r->recall, r->precision, r->f1, r->fa_per_10min,
               i == s->chosen ? "  <- chosen" : i == s->baseline ? "  (default)" : "");
    }
    const am_tune_row *c = &s->rows[s->chosen], *b = &s->rows[s->baseline];
    char set[160];
    setting_text(&c->setting, set, sizeof set);
    if (s->within_budget)
        printf("Chosen for --fa-budget %g (at most %g false alarms per 10 min): %s\n", s->fa_budget, s->fa_budget,
               set);
    else
        printf("No setting keeps to --fa-budget %g; the one with the fewest false alarms: %s\n", s->fa_budget, set);
    printf("  found %zu of %zu (recall %.3f), precision %.3f, F1 %.3f, %.2f false alarms per 10 min; the default "
           "rule: %zu of %zu, %.2f per 10 min\n",
           c->hits, c->reference, c->recall, c->precision, c->f1, c->fa_per_10min, b->hits, b->reference,
           b->fa_per_10min);
}

static void row_json(aa_buf *b, const am_tune_row *r)
{
    aa_buf_printf(b, "{\"threshold\": ");
    if (r->setting.threshold == AM_TIMELINE_GATE)
        aa_buf_printf(b, "\"gate\"");
    else
        aa_buf_printf(b, "%.2f", r->setting.threshold);
    aa_buf_printf(b, ", \"smooth\": %d, \"min_duration_s\": %g, \"reference\": %zu, \"found\": %zu, "
                  "\"estimated\": %zu, \"false_alarms\": %zu, \"recall\": %.6g, \"precision\": %.6g, \"f1\": %.6g, "
                  "\"false_alarms_per_10min\": %.6g}",
                  r->setting.smooth, r->setting.min_duration_s, r->reference, r->hits, r->estimated,
                  r->false_alarms, r->recall, r->precision, r->f1, r->fa_per_10min);
}

char *inf_tune_json(const am_tune_sweep *s, const am_model *m, const ev_event_opts *opts, size_t unscored)
{
    aa_buf b = {0};
    aa_buf_printf(&b, "{\"recordings\": %zu, \"duration_s\": %.3f, \"target\": ", s->n_recordings, s->duration_s);
    aa_json_str(&b, s->target >= 0 ? am_class_label(m, s->target) : NULL);
    aa_buf_printf(&b, ", \"rule\": \"overlap\", \"collar_s\": %g, \"unscored_reference_events\": %zu, "
                  "\"fa_budget_per_10min\": %g, \"within_budget\": %s, \"rows\": [",
                  opts->collar, unscored, s->fa_budget, s->within_budget ? "true" : "false");
    for (size_t i = 0; i < AM_TUNE_ROWS; i++) {
        if (i)
            aa_buf_printf(&b, ", ");
        row_json(&b, &s->rows[i]);
    }
    aa_buf_printf(&b, "], \"chosen\": ");
    row_json(&b, &s->rows[s->chosen]);
    aa_buf_printf(&b, ", \"default\": ");
    row_json(&b, &s->rows[s->baseline]);
    inf_json_disclaimer(&b, m);
    aa_buf_printf(&b, "}");
    return aa_buf_take(&b);
}

int inf_cmd_tune(const inf_options *o, am_model *m, int background, const inf_input *in, size_t n, int threads)
{
    aa_error err = {0};
    int k = am_n_classes(m);
    const char *classes[AM_MAX_CLASSES], *labels[AM_MAX_CLASSES];
    for (int c = 0; c < k; c++) {
        classes[c] = am_class_name(m, c);
        labels[c] = am_class_label(m, c);
    }
    ev_reference *ref = ev_reference_read(o->tune, k, classes, labels, &err);
    if (!ref) {
        inf_print_error(err.msg);
        return 1;
    }
    followed f = {0};
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        inf_timeline t;
        unsigned char *data = NULL;
        size_t size = 0;
        int rc = 0;
        const char *name = strcmp(in[i].path, "-") ? in[i].path : "stdin";
        if (in[i].error)
            rc = aa_error_set(&err, AA_ERR_IO, "%s", in[i].error);
        else if (!strcmp(in[i].path, "-") &&
                 !(data = inf_read_all(stdin, "stdin", inf_stdin_limit(o->max_seconds, (size_t)4 << 30), &size, &err)))
            rc = err.code;
        if (!rc)
            rc = inf_timeline_run(m, name, data, size, o->hop, 1, background, threads, &t, &err);
        free(data);
        if (!rc) {
            rc = follow(&f, name, &t, &err);
            inf_timeline_free(&t);
        }
        if (rc) {
            inf_print_error(err.msg);
            failed = 1;
        }
    }
    ev_event *rev = NULL;
    size_t n_ref = 0, unscored = 0;
    ev_event_opts opts = ev_event_opts_default();
    opts.collar = o->collar;
    opts.overlap = 1;
    am_tune_sweep *s = malloc(sizeof *s);
    int rc = !s ? aa_error_set(&err, AA_ERR_NOMEM, "out of memory") : 0;
    if (!rc && !f.n)
        rc = aa_error_set(&err, AA_ERR_ARG, "%s: no recording could be followed, nothing to tune on", o->tune);
    if (!rc && reference_events(ref, &f, &rev, &n_ref, &unscored, &err))
        rc = 1;
    if (!rc && am_tune_run(m, f.recs, f.n, rev, n_ref, background, am_timeline_target(m), o->fa_budget, &opts, s, &err))
        rc = 1;
    if (!rc) {
        if (o->format == INF_JSON) {
            char *j = inf_tune_json(s, m, &opts, unscored);
            if (j)
                printf("%s\n", j);
            else
                rc = aa_error_set(&err, AA_ERR_NOMEM, "out of memory");
            free(j);
        } else {
            print_text(s, m, &opts, unscored);
            inf_text_disclaimer(stdout, m);
        }
    }
    if (rc) {
        fflush(stdout);
        inf_errorf("%s: %s", o->tune, err.msg);
        failed = 1;
    }
    free(s);
    free(rev);
    followed_free(&f);
    ev_reference_free(ref);
    return failed ? 1 : 0;
}
