/* Event-based scoring: hits, substitutions, the counts and figures per class, overall and per recording
 * (definitions in eval.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/events_internal.h"

ev_event_opts ev_event_opts_default(void)
{
    return (ev_event_opts){.collar = 1.0, .offset = 0, .offset_length = 0.5, .ignore_class = -1};
}

static int check_opts(const ev_event_opts *o, int k, size_t n_rec, const ev_recording *recs, aa_error *err)
{
    if (k < 1)
        return aa_error_set(err, EV_ERR_ARG, "events: %d classes (need at least 1)", k);
    if (!(isfinite(o->collar) && o->collar >= 0))
        return aa_error_set(err, EV_ERR_ARG, "events: collar %g s is not a finite number >= 0", o->collar);
    if (!(isfinite(o->offset_length) && o->offset_length >= 0))
        return aa_error_set(err, EV_ERR_ARG, "events: offset allowance %g of the length is not a finite number >= 0",
                            o->offset_length);
    if (o->ignore_class < -1 || o->ignore_class >= k)
        return aa_error_set(err, EV_ERR_ARG, "events: ignored class %d (classes are 0..%d, or -1 for none)",
                            o->ignore_class, k - 1);
    if (n_rec && !recs)
        return aa_error_set(err, EV_ERR_ARG, "events: %zu recordings but no list of them", n_rec);
    for (size_t i = 0; i < n_rec; i++)
        if (!(isfinite(recs[i].duration_s) && recs[i].duration_s >= 0))
            return aa_error_set(err, EV_ERR_ARG, "events: recording %zu has a duration of %g s", i,
                                recs[i].duration_s);
    return 0;
}

static int check_events(const char *what, size_t n, const ev_event *e, size_t n_rec, int k, aa_error *err)
{
    if (n && !e)
        return aa_error_set(err, EV_ERR_ARG, "events: %zu %s events but no list of them", n, what);
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(e[i].onset) || !isfinite(e[i].offset))
            return aa_error_set(err, EV_ERR_ARG, "events: %s event %zu has a time that is not finite (%g to %g)",
                                what, i, e[i].onset, e[i].offset);
        if (e[i].onset < 0)
            return aa_error_set(err, EV_ERR_ARG, "events: %s event %zu has a negative onset (%g s)", what, i,
                                e[i].onset);
        if (e[i].onset > e[i].offset)
            return aa_error_set(err, EV_ERR_ARG, "events: %s event %zu has its onset %g s after its offset %g s",
                                what, i, e[i].onset, e[i].offset);
        if (e[i].cls < 0 || e[i].cls >= k)
            return aa_error_set(err, EV_ERR_ARG, "events: %s event %zu has class %d (classes are 0..%d)", what, i,
                                e[i].cls, k - 1);
        if (e[i].file >= n_rec)
            return aa_error_set(err, EV_ERR_ARG, "events: %s event %zu is in recording %zu (%zu recordings)",
                                what, i, e[i].file, n_rec);
    }
    return 0;
}

/* ---- ordering ------------------------------------------------------------------------------------------ */

typedef struct {
    size_t file;
    int cls; /* 0 when the order ignores classes */
    double onset, offset;
    size_t i;
} key;

static int by_key(const void *pa, const void *pb)
{
    const key *a = pa, *b = pb;
    if (a->file != b->file)
        return a->file < b->file ? -1 : 1;
    if (a->cls != b->cls)
        return a->cls < b->cls ? -1 : 1;
    if (a->onset != b->onset)
        return a->onset < b->onset ? -1 : 1;
    if (a->offset != b->offset)
        return a->offset < b->offset ? -1 : 1;
    return a->i < b->i ? -1 : a->i > b->i;
}

/* Indices of the events e[i] that `keep` selects, ordered by recording, class (with_class) and onset, the
 * caller's order breaking ties so that the result is deterministic. Returns how many; idx [n] out. */
static size_t order(const ev_event *e, size_t n, const size_t *taken, int ignore, int with_class, key *scratch,
                    size_t *idx)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (e[i].cls == ignore || (taken && taken[i] != EV_NO_EVENT))
            continue;
        scratch[m++] = (key){e[i].file, with_class ? e[i].cls : 0, e[i].onset, e[i].offset, i};
    }
    qsort(scratch, m, sizeof *scratch, by_key);
    for (size_t j = 0; j < m; j++)
        idx[j] = scratch[j].i;
    return m;
}

/* Pairs the events of ref (ri [nr]) with those of est (ei [ne]), both ordered by (file[, class], onset), one
 * maximum matching per group of equal file (and class); partners go to l_out / r_out. */
static void match_groups(const ev_event *ref, const size_t *ri, size_t nr, const ev_event *est, const size_t *ei,
                         size_t ne, int with_class, const ev_event_opts *o, ev_match_ws *w, size_t *pos,
                         size_t *l_out, size_t *r_out)
{
    size_t a = 0, b = 0;
    while (a < nr && b < ne) {
        const ev_event *x = &ref[ri[a]], *y = &est[ei[b]];
        int cx = with_class ? x->cls : 0, cy = with_class ? y->cls : 0;
        if (x->file != y->file || cx != cy) { /* skip the side that is behind */
            if (x->file < y->file || (x->file == y->file && cx < cy))
                a++;
            else
                b++;
            continue;
        }
        size_t a1 = a, b1 = b;
        while (a1 < nr && ref[ri[a1]].file == x->file && (!with_class || ref[ri[a1]].cls == cx))
            a1++;
        while (b1 < ne && est[ei[b1]].file == x->file && (!with_class || est[ei[b1]].cls == cx))
            b1++;
        ev_side l = {ref, ri + a, a1 - a}, r = {est, ei + b, b1 - b};
        ev_match_max(&l, &r, o, w, pos);
        for (size_t u = 0; u < l.n; u++) {
            if (pos[u] == EV_NO_EVENT)
                continue;
            size_t i = l.idx[u], j = r.idx[pos[u]];
            l_out[i] = j;
            r_out[j] = i;
        }
        a = a1;
        b = b1;
    }
}

/* ---- figures ------------------------------------------------------------------------------------------- */

static int by_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* Timing errors from n signed differences d (sorted in place by absolute value). */
static ev_time_error time_error(double *d, size_t n)
{
    ev_time_error t = {.n = n};
    if (!n)
        return t;
    double sum = 0, sum_abs = 0;
    for (size_t i = 0; i < n; i++) {
        sum += d[i];
        d[i] = fabs(d[i]);
        sum_abs += d[i];
    }
    qsort(d, n, sizeof *d, by_double);
    t.mean = sum / (double)n;
    t.mean_abs = sum_abs / (double)n;
    t.median_abs = n % 2 ? d[n / 2] : (d[n / 2 - 1] + d[n / 2]) / 2;
    return t;
}

static void finish_counts(ev_event_counts *c, double duration_s)
{
    c->false_alarms = c->estimated - c->hits;
    c->deletions = c->reference - c->hits - c->substitutions;
    c->insertions = c->false_alarms - c->substitutions;
    c->precision = ev_ratio(c->hits, c->estimated);
    c->recall = ev_ratio(c->hits, c->reference);
    c->f1 = ev_f1(c->precision, c->recall);
    c->error_rate = ev_ratio(c->substitutions + c->deletions + c->insertions, c->reference);
    c->false_alarms_per_hour = duration_s > 0 ? (double)c->false_alarms * 3600.0 / duration_s : 0;
}

/* Onset and offset errors of the hits of class c (every class when c < 0); d: scratch [n_ref]. */
static void timing(ev_event_eval *s, int c, ev_event_counts *out, double *d)
{
    for (int which = 0; which < 2; which++) {
        size_t n = 0;
        for (size_t i = 0; i < s->n_ref; i++) {
            const ev_event *r = &s->ref[i];
            if (s->ref_hit[i] == EV_NO_EVENT || (c >= 0 && r->cls != c))
                continue;
            const ev_event *e = &s->est[s->ref_hit[i]];
            d[n++] = which ? e->offset - r->offset : e->onset - r->onset;
        }
        if (which)
            out->offset = time_error(d, n);
        else
            out->onset = time_error(d, n);
    }
}

static void figures(ev_event_eval *s, double *scratch)
{
    int ig = s->opts.ignore_class;
    for (size_t i = 0; i < s->n_ref; i++) {
        const ev_event *r = &s->ref[i];
        if (r->cls == ig) {
            s->ignored_reference++;
            continue;
        }
        ev_event_counts *c = &s->per_class[r->cls];
        ev_event_file *f = &s->files[r->file];
        c->reference++, f->reference++, s->overall.reference++;
        if (s->ref_hit[i] != EV_NO_EVENT)
            c->hits++, f->hits++, s->overall.hits++;
        if (s->ref_sub[i] != EV_NO_EVENT)
            f->substitutions++, s->overall.substitutions++;
    }
    for (size_t j = 0; j < s->n_est; j++) {
        const ev_event *e = &s->est[j];
        if (e->cls == ig) {
            s->ignored_estimated++;
            continue;
        }
        s->per_class[e->cls].estimated++;
        s->files[e->file].estimated++;
        s->overall.estimated++;
    }
    for (int c = 0; c < s->k; c++) {
        finish_counts(&s->per_class[c], s->duration_s);
        timing(s, c, &s->per_class[c], scratch);
        const ev_event_counts *m = &s->per_class[c];
        if (c == ig || (!m->reference && !m->estimated))
            continue;
        s->macro_classes++;
        s->macro_precision += m->precision;
        s->macro_recall += m->recall;
        s->macro_f1 += m->f1;
        s->macro_error_rate += m->error_rate;
    }
    if (s->macro_classes) {
        s->macro_precision /= s->macro_classes;
        s->macro_recall /= s->macro_classes;
        s->macro_f1 /= s->macro_classes;
        s->macro_error_rate /= s->macro_classes;
    }
    finish_counts(&s->overall, s->duration_s);
    timing(s, -1, &s->overall, scratch);
}

/* ---- the scorer ---------------------------------------------------------------------------------------- */

void ev_event_eval_free(ev_event_eval *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_files; i++)
        free(s->files[i].name);
    for (size_t i = 0; i < s->n_unscored; i++)
        free(s->unscored[i]);
    free(s->unscored);
    free(s->reference_name);
    free(s->files);
    free(s->per_class);
    free(s->ref);
    free(s->est);
    free(s->ref_hit);
    free(s->est_hit);
    free(s->ref_sub);
    free(s->est_sub);
    free(s);
}

static void *copy_of(const void *p, size_t n, size_t size)
{
    void *q = malloc(n ? n * size : 1);
    if (q && n)
        memcpy(q, p, n * size);
    return q;
}

static size_t *none_array(size_t n)
{
    size_t *a = malloc((n ? n : 1) * sizeof *a);
    for (size_t i = 0; a && i < n; i++)
        a[i] = EV_NO_EVENT;
    return a;
}

ev_event_eval *ev_events_score(size_t n_ref, const ev_event *ref, size_t n_est, const ev_event *est, size_t n_rec,
                               const ev_recording *recs, int k, const ev_event_opts *opts, aa_error *err)
{
    ev_event_opts o = opts ? *opts : ev_event_opts_default();
    if (check_opts(&o, k, n_rec, recs, err) || check_events("reference", n_ref, ref, n_rec, k, err) ||
        check_events("estimated", n_est, est, n_rec, k, err))
        return NULL;
    ev_event_eval *s = calloc(1, sizeof *s);
    size_t most = n_ref > n_est ? n_ref : n_est;
    key *keys = malloc((most ? most : 1) * sizeof *keys);
    size_t *ri = malloc((n_ref ? n_ref : 1) * sizeof *ri), *ei = malloc((n_est ? n_est : 1) * sizeof *ei);
    size_t *pos = malloc((n_ref ? n_ref : 1) * sizeof *pos);
    double *scratch = malloc((n_ref ? n_ref : 1) * sizeof *scratch);
    ev_match_ws w = {0};
    int ok = s && keys && ri && ei && pos && scratch && !ev_match_ws_init(&w, n_ref, n_est);
    if (ok) {
        s->k = k;
        s->opts = o;
        s->n_files = n_rec;
        s->n_ref = n_ref;
        s->n_est = n_est;
        s->files = calloc(n_rec ? n_rec : 1, sizeof *s->files);
        s->per_class = calloc((size_t)k, sizeof *s->per_class);
        s->ref = copy_of(ref, n_ref, sizeof *ref);
        s->est = copy_of(est, n_est, sizeof *est);
        s->ref_hit = none_array(n_ref);
        s->est_hit = none_array(n_est);
        s->ref_sub = none_array(n_ref);
        s->est_sub = none_array(n_est);
        ok = s->files && s->per_class && s->ref && s->est && s->ref_hit && s->est_hit && s->ref_sub && s->est_sub;
    }
    for (size_t i = 0; ok && i < n_rec; i++) {
        s->files[i].duration_s = recs[i].duration_s;
        s->duration_s += recs[i].duration_s;
        if (recs[i].name && !(s->files[i].name = strdup(recs[i].name)))
            ok = 0;
    }
    if (ok) {
        /* hits: one matching per recording and class */
        size_t nr = order(ref, n_ref, NULL, o.ignore_class, 1, keys, ri);
        size_t ne = order(est, n_est, NULL, o.ignore_class, 1, keys, ei);
        match_groups(ref, ri, nr, est, ei, ne, 1, &o, &w, pos, s->ref_hit, s->est_hit);
        /* substitutions: one matching per recording among what is left, on time alone */
        nr = order(ref, n_ref, s->ref_hit, o.ignore_class, 0, keys, ri);
        ne = order(est, n_est, s->est_hit, o.ignore_class, 0, keys, ei);
        match_groups(ref, ri, nr, est, ei, ne, 0, &o, &w, pos, s->ref_sub, s->est_sub);
        figures(s, scratch);
    }
    free(keys);
    free(ri);
    free(ei);
    free(pos);
    free(scratch);
    ev_match_ws_free(&w);
    if (!ok) {
        ev_event_eval_free(s);
        aa_error_set(err, EV_ERR_NOMEM, "events: out of memory (%zu reference and %zu estimated events)", n_ref,
                     n_est);
        return NULL;
    }
    return s;
}

ev_event_eval *ev_events_score_reference(const ev_reference *ref, size_t n_est, const ev_event *est, size_t n_rec,
                                         const ev_recording *recs, int k, const ev_event_opts *opts, aa_error *err)
{
    if (ref->k != k) {
        aa_error_set(err, EV_ERR_ARG, "%s: read for %d classes, scored with %d", ref->name, ref->k, k);
        return NULL;
    }
    if (n_rec && !recs) {
        aa_error_set(err, EV_ERR_ARG, "events: %zu recordings but no list of them", n_rec);
        return NULL;
    }
    const char **names = malloc((n_rec ? n_rec : 1) * sizeof *names);
    size_t *rec_of = malloc((ref->n_files ? ref->n_files : 1) * sizeof *rec_of);
    ev_event *bound = malloc((ref->n ? ref->n : 1) * sizeof *bound);
    ev_event_eval *s = NULL;
    if (!names || !rec_of || !bound) {
        aa_error_set(err, EV_ERR_NOMEM, "%s: out of memory", ref->name);
        goto done;
    }
    for (size_t i = 0; i < n_rec; i++)
        names[i] = recs[i].name ? recs[i].name : "";
    if (ev_reference_match(ref, n_rec, names, rec_of, err))
        goto done;
    size_t nb = 0, unscored = 0, n_unscored_files = 0;
    for (size_t i = 0; i < ref->n; i++) {
        size_t r = rec_of[ref->events[i].file];
        if (r == EV_NO_EVENT) {
            unscored++;
            continue;
        }
        bound[nb] = ref->events[i];
        bound[nb++].file = r;
    }
    for (size_t f = 0; f < ref->n_files; f++)
        n_unscored_files += rec_of[f] == EV_NO_EVENT;
    if (!(s = ev_events_score(nb, bound, n_est, est, n_rec, recs, k, opts, err)))
        goto done;
    s->reference_rows = ref->rows;
    s->reference_merged = ref->merged;
    s->unscored_events = unscored;
    s->reference_name = strdup(ref->name);
    s->unscored = calloc(n_unscored_files ? n_unscored_files : 1, sizeof *s->unscored);
    int ok = s->reference_name && s->unscored;
    for (size_t f = 0; ok && f < ref->n_files; f++)
        if (rec_of[f] == EV_NO_EVENT && (ok = (s->unscored[s->n_unscored] = strdup(ref->files[f])) != NULL))
            s->n_unscored++;
    if (!ok) {
        ev_event_eval_free(s);
        s = NULL;
        aa_error_set(err, EV_ERR_NOMEM, "%s: out of memory", ref->name);
    }
done:
    free(names);
    free(rec_of);
    free(bound);
    return s;
}
