/* Selective prediction: coverage and accuracy when items below a confidence threshold are withheld. */
#include <stdlib.h>

#include "eval/eval_internal.h"

static int by_conf_desc(const void *a, const void *b)
{
    double x = ((const ev_scored *)a)->conf, y = ((const ev_scored *)b)->conf;
    return (x < y) - (x > y);
}

size_t ev_cov_points(size_t n, ev_scored *items, size_t total, ev_cov_point *out)
{
    qsort(items, n, sizeof *items, by_conf_desc);
    size_t m = 0, correct = 0;
    for (size_t i = 0; i < n; i++) {
        correct += items[i].correct != 0;
        if (i + 1 < n && items[i + 1].conf == items[i].conf)
            continue; /* equal confidences are covered together */
        ev_cov_point *p = &out[m++];
        p->threshold = items[i].conf;
        p->covered = i + 1;
        p->correct = correct;
        p->coverage = ev_ratio(p->covered, total);
        p->selective_accuracy = ev_ratio(p->correct, p->covered);
    }
    return m;
}

ev_cov_point ev_coverage_at(size_t n, int k, const int *labels, const float *probs, double threshold)
{
    ev_cov_point p = {.threshold = threshold};
    for (size_t i = 0; i < n; i++) {
        const float *row = probs + i * (size_t)k;
        int c = ev_argmax(row, k);
        if (ev_confidence(row, c) < threshold)
            continue;
        p.covered++;
        p.correct += c == labels[i];
    }
    p.coverage = ev_ratio(p.covered, n);
    p.selective_accuracy = ev_ratio(p.correct, p.covered);
    return p;
}
