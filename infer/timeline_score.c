/* aa-infer --timeline --reference: the timelines' events scored against reference events.
 *
 * The reference is read before any recording is decoded, so a malformed file costs nothing. Every
 * recording that was followed contributes its events and its duration (the hours false alarms are counted
 * over); one that failed to decode is not scored, and the reference's events for it are reported as
 * unscored rather than as misses. The background class is left out of every figure, as it is never an
 * event of the timeline. */
#include <stdlib.h>
#include <string.h>

#include "eval/eval.h"
#include "infer/infer.h"

int inf_score_open(inf_timeline_score *s, const am_model *m, const inf_options *o, int background,
                   aa_error *err)
{
    memset(s, 0, sizeof *s);
    int k = am_n_classes(m);
    const char *classes[AM_MAX_CLASSES], *labels[AM_MAX_CLASSES];
    for (int c = 0; c < k; c++) {
        classes[c] = am_class_name(m, c);
        labels[c] = am_class_label(m, c);
    }
    if (!(s->ref = ev_reference_read(o->reference, k, classes, labels, err)))
        return err->code;
    s->k = k;
    s->opts = ev_event_opts_default();
    s->opts.collar = o->collar;
    s->opts.offset = o->offsets;
    s->opts.overlap = o->overlap;
    s->opts.ignore_class = background;
    return 0;
}

int inf_score_add(inf_timeline_score *s, const char *name, const inf_timeline *t, aa_error *err)
{
    if (s->n_rec == s->cap_rec) {
        size_t cap = s->cap_rec ? 2 * s->cap_rec : 16;
        ev_recording *r = realloc(s->recs, cap * sizeof *r);
        if (!r)
            return aa_error_set(err, AA_ERR_NOMEM, "%s: out of memory", name);
        s->recs = r;
        s->cap_rec = cap;
    }
    if (s->n_est + t->n_events > s->cap_est) {
        size_t cap = s->cap_est ? 2 * s->cap_est : 64;
        while (cap < s->n_est + t->n_events)
            cap *= 2;
        ev_event *e = realloc(s->est, cap * sizeof *e);
        if (!e)
            return aa_error_set(err, AA_ERR_NOMEM, "%s: out of memory", name);
        s->est = e;
        s->cap_est = cap;
    }
    char *copy = strdup(name);
    if (!copy)
        return aa_error_set(err, AA_ERR_NOMEM, "%s: out of memory", name);
    for (size_t i = 0; i < t->n_events; i++)
        s->est[s->n_est++] = (ev_event){.onset = t->events[i].start, .offset = t->events[i].end,
                                        .cls = t->events[i].cls, .file = s->n_rec};
    s->recs[s->n_rec++] = (ev_recording){.name = copy, .duration_s = t->duration_s};
    return 0;
}

int inf_score_report(const inf_timeline_score *s, const am_model *m, const inf_options *o, aa_error *err)
{
    ev_event_eval *ev = ev_events_score_reference(s->ref, s->n_est, s->est, s->n_rec, s->recs, s->k, &s->opts,
                                                  err);
    if (!ev)
        return err->code;
    const char *names[AM_MAX_CLASSES];
    for (int c = 0; c < s->k; c++)
        names[c] = am_class_label(m, c);
    /* The text report is followed by --timeline's own disclaimer line; the JSON one carries it. */
    ev_report_info info = {.class_names = names, .notice = o->format == INF_JSON ? am_disclaimer(m) : NULL};
    int rc = o->format == INF_JSON ? ev_events_report_json(stdout, ev, &info, err)
                                   : ev_events_report_text(stdout, ev, &info, err);
    ev_event_eval_free(ev);
    return rc;
}

void inf_score_free(inf_timeline_score *s)
{
    for (size_t i = 0; i < s->n_rec; i++)
        free((char *)s->recs[i].name);
    free(s->recs);
    free(s->est);
    ev_reference_free(s->ref);
    memset(s, 0, sizeof *s);
}
