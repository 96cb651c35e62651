/* ev_evaluate: every figure of one evaluation, gathered in one ev_eval. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval_internal.h"

/* The fixed thresholds of the coverage table. */
static const double table_thresholds[EV_TABLE_ROWS] = {
    0.00, 0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 0.40, 0.45, 0.50,
    0.55, 0.60, 0.65, 0.70, 0.75, 0.80, 0.85, 0.90, 0.95, 0.99,
};

void ev_eval_free(ev_eval *ev)
{
    if (!ev)
        return;
    free(ev->class_threshold);
    free(ev->confusion);
    free(ev->confusion_argmax);
    free(ev->per_class);
    free(ev->gated);
    free(ev->curve);
    free(ev);
}

/* Selective accuracy at every distinct confidence (a curve with one point per value). */
static int fill_curve(ev_eval *ev, const int *labels, const float *probs)
{
    size_t n = ev->n, K = (size_t)ev->k;
    ev_scored *items = malloc((n ? n : 1) * sizeof *items);
    ev->curve = malloc((n ? n : 1) * sizeof *ev->curve);
    if (!items || !ev->curve) {
        free(items);
        return EV_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        const float *row = probs + i * K;
        int c = ev_argmax(row, ev->k);
        items[i].conf = ev_confidence(row, c);
        items[i].correct = c == labels[i];
    }
    ev->n_curve = ev_cov_points(n, items, n, ev->curve);
    free(items);
    /* ev_cov_points gives descending thresholds; the curve reads in ascending ones. */
    for (size_t a = 0, b = ev->n_curve; a + 1 < b; a++, b--) {
        ev_cov_point t = ev->curve[a];
        ev->curve[a] = ev->curve[b - 1];
        ev->curve[b - 1] = t;
    }
    return 0;
}

ev_eval *ev_evaluate(size_t n, int k, const int *labels, const float *probs, const ev_gate *gate,
                     aa_error *err)
{
    if (ev_check_inputs(n, k, labels, probs, err))
        return NULL;
    size_t K = (size_t)k;
    /* A NaN threshold would compare false and silently open the gate. */
    for (size_t c = 0; gate && c <= K; c++) {
        double t = c == K ? gate->min_confidence : gate->class_threshold ? gate->class_threshold[c] : 0;
        if (!isfinite(t)) {
            aa_error_set(err, EV_ERR_ARG, "evaluation: gate threshold %g is not a number", t);
            return NULL;
        }
    }
    ev_eval *ev = calloc(1, sizeof *ev);
    if (!ev) {
        aa_error_set(err, EV_ERR_NOMEM, "evaluation: out of memory");
        return NULL;
    }
    ev->k = k;
    ev->n = n;
    ev->confusion = malloc(K * (K + 1) * sizeof *ev->confusion);
    ev->confusion_argmax = malloc(K * K * sizeof *ev->confusion_argmax);
    ev->per_class = calloc(K, sizeof *ev->per_class);
    ev->gated = calloc(K, sizeof *ev->gated);
    if (gate && gate->class_threshold && (ev->class_threshold = malloc(K * sizeof(double))))
        memcpy(ev->class_threshold, gate->class_threshold, K * sizeof(double));
    if (!ev->confusion || !ev->confusion_argmax || !ev->per_class || !ev->gated ||
        (gate && gate->class_threshold && !ev->class_threshold) || fill_curve(ev, labels, probs)) {
        ev_eval_free(ev);
        aa_error_set(err, EV_ERR_NOMEM, "evaluation: out of memory (%zu items, %d classes)", n, k);
        return NULL;
    }
    ev->min_confidence = gate ? gate->min_confidence : 0.0;
    ev->rest_unclear = gate ? gate->rest_unclear : 0;

    ev_confusion_fill(n, k, labels, probs, gate, ev->confusion, ev->confusion_argmax);
    ev_class_metrics_from(ev->confusion_argmax, k, k, ev->per_class);
    ev_class_metrics_from(ev->confusion, k, k + 1, ev->gated);

    for (size_t c = 0; c < K; c++) {
        ev->correct += ev->per_class[c].tp;
        ev->covered_correct += ev->gated[c].tp;
        ev->withheld += ev->gated[c].withheld;
    }
    ev->covered = n - ev->withheld;
    ev->accuracy = ev_ratio(ev->correct, n);
    ev->macro_f1 = ev_macro_f1(ev->per_class, k, &ev->macro_f1_classes);
    ev->coverage = ev_ratio(ev->covered, n);
    ev->selective_accuracy = ev_ratio(ev->covered_correct, ev->covered);
    ev->gated_macro_f1 = ev_macro_f1(ev->gated, k, &ev->gated_macro_f1_classes);

    ev->ece = ev_ece(n, k, labels, probs, ev->bins);
    ev->nll = ev_nll(n, k, labels, probs);
    for (int r = 0; r < EV_TABLE_ROWS; r++)
        ev->table[r] = ev_coverage_at(n, k, labels, probs, table_thresholds[r]);
    return ev;
}
