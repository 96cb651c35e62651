/* Choosing the Unclear gate on validation items: the highest coverage whose selective accuracy meets a target. */
#include <math.h>
#include <stdlib.h>

#include "eval/eval_internal.h"

/* Allowance when comparing a selective accuracy with the target, so that 19/20 meets 0.95 although
 * 0.95 is not exactly representable. */
#define TARGET_SLACK 1e-12

ev_gate_opts ev_gate_opts_default(void)
{
    return (ev_gate_opts){.target = 0.95, .min_covered = 20, .per_class = 0};
}

const char *ev_gate_status_name(ev_gate_status s)
{
    switch (s) {
    case EV_GATE_MET: return "met";
    case EV_GATE_BEST: return "best-effort";
    case EV_GATE_TOO_FEW: return "too-few";
    }
    return "unknown";
}

void ev_gate_choice_free(ev_gate_choice *g)
{
    if (!g)
        return;
    free(g->per_class);
    free(g->class_threshold);
    free(g);
}

/* The rule of eval.h on m scored items; pts is scratch for m points. */
static ev_threshold_pick pick(size_t m, ev_scored *items, const ev_gate_opts *o, ev_cov_point *pts)
{
    ev_threshold_pick p = {.threshold = 0, .items = m};
    size_t min_cov = o->min_covered ? o->min_covered : 1;
    size_t np = ev_cov_points(m, items, m, pts); /* ascending coverage */
    if (m < min_cov) {
        p.status = EV_GATE_TOO_FEW;
        p.covered = m;
        p.correct = np ? pts[np - 1].correct : 0;
    } else {
        size_t best = np; /* none yet */
        for (size_t j = 0; j < np; j++)
            if (pts[j].covered >= min_cov && pts[j].selective_accuracy >= o->target - TARGET_SLACK)
                best = j; /* later points cover more */
        p.status = EV_GATE_MET;
        if (best == np) {
            p.status = EV_GATE_BEST;
            for (size_t j = 0; j < np; j++)
                if (pts[j].covered >= min_cov &&
                    (best == np || pts[j].selective_accuracy >= pts[best].selective_accuracy))
                    best = j; /* >=: ties go to the higher coverage */
        }
        p.covered = pts[best].covered;
        p.correct = pts[best].correct;
        if (best + 1 < np) {
            /* Midway between the lowest covered confidence and the next lower one, as a float. */
            float hi = (float)pts[best].threshold, lo = (float)pts[best + 1].threshold;
            float mid = (float)(((double)hi + (double)lo) / 2);
            p.threshold = mid > lo ? mid : hi;
        }
    }
    p.coverage = ev_ratio(p.covered, m);
    p.selective_accuracy = ev_ratio(p.correct, p.covered);
    return p;
}

ev_gate_choice *ev_choose_gate(size_t n, int k, const int *labels, const float *probs,
                               const ev_gate_opts *opts, aa_error *err)
{
    if (ev_check_inputs(n, k, labels, probs, err))
        return NULL;
    ev_gate_opts o = opts ? *opts : ev_gate_opts_default();
    if (!(o.target > 0 && o.target <= 1)) {
        aa_error_set(err, EV_ERR_ARG, "gate: target selective accuracy %g is not in (0, 1]", o.target);
        return NULL;
    }
    size_t K = (size_t)k, m1 = n ? n : 1;
    ev_gate_choice *g = calloc(1, sizeof *g);
    ev_scored *items = malloc(m1 * sizeof *items);
    ev_cov_point *pts = malloc(m1 * sizeof *pts);
    if (!g || !items || !pts)
        goto nomem;
    g->opts = o;
    g->k = k;
    g->n = n;

    for (size_t i = 0; i < n; i++) {
        const float *row = probs + i * K;
        int c = ev_argmax(row, k);
        items[i] = (ev_scored){ev_confidence(row, c), c == labels[i]};
    }
    g->global = pick(n, items, &o, pts);
    g->gate.min_confidence = g->global.threshold;
    g->gate.rest_unclear = o.rest_unclear;

    if (o.per_class) {
        g->per_class = calloc(K, sizeof *g->per_class);
        g->class_threshold = malloc(K * sizeof *g->class_threshold);
        if (!g->per_class || !g->class_threshold)
            goto nomem;
        for (int c = 0; c < k; c++) {
            size_t m = 0;
            for (size_t i = 0; i < n; i++) {
                const float *row = probs + i * K;
                if (ev_argmax(row, k) == c)
                    items[m++] = (ev_scored){ev_confidence(row, c), labels[i] == c};
            }
            g->per_class[c] = pick(m, items, &o, pts);
            g->class_threshold[c] =
                g->per_class[c].status == EV_GATE_TOO_FEW ? g->global.threshold : g->per_class[c].threshold;
        }
        g->gate.min_confidence = 0;
        g->gate.class_threshold = g->class_threshold;
    }

    for (size_t i = 0; i < n; i++) {
        const float *row = probs + i * K;
        int c = ev_argmax(row, k);
        if (ev_gate_withholds_row(&g->gate, row, k))
            continue;
        g->covered++;
        g->correct += c == labels[i];
    }
    g->coverage = ev_ratio(g->covered, n);
    g->selective_accuracy = ev_ratio(g->correct, g->covered);
    free(items);
    free(pts);
    return g;

nomem:
    free(items);
    free(pts);
    ev_gate_choice_free(g);
    aa_error_set(err, EV_ERR_NOMEM, "gate: out of memory (%zu items)", n);
    return NULL;
}
