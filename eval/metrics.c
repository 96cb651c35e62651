/* Precision, recall, F1 and their macro average from a confusion matrix; NLL from probabilities. */
#include <math.h>

#include "eval/eval_internal.h"

double ev_ratio(size_t a, size_t b)
{
    return b ? (double)a / (double)b : 0.0;
}

double ev_f1(double precision, double recall)
{
    double s = precision + recall;
    return s > 0 ? 2 * precision * recall / s : 0.0;
}

void ev_class_metrics_from(const size_t *confusion, int k, int cols, ev_class_metrics *out)
{
    size_t K = (size_t)k, C = (size_t)cols;
    for (size_t c = 0; c < K; c++) {
        ev_class_metrics *m = &out[c];
        m->support = 0;
        m->predicted = 0;
        for (size_t j = 0; j < C; j++)
            m->support += confusion[c * C + j];
        for (size_t r = 0; r < K; r++)
            m->predicted += confusion[r * C + c];
        m->tp = confusion[c * C + c];
        /* The Unclear column is the last; it is predicted for no class, so it counts only as a miss. */
        m->withheld = C > K ? confusion[c * C + K] : 0;
        m->precision = ev_ratio(m->tp, m->predicted);
        m->recall = ev_ratio(m->tp, m->support);
        m->f1 = ev_f1(m->precision, m->recall);
    }
}

double ev_macro_f1(const ev_class_metrics *m, int k, int *used)
{
    double sum = 0;
    int n = 0;
    for (int c = 0; c < k; c++) {
        if (m[c].support == 0 && m[c].predicted == 0)
            continue; /* F1 is undefined for a class nobody has and nobody predicted */
        sum += m[c].f1;
        n++;
    }
    if (used)
        *used = n;
    return n ? sum / n : 0.0;
}

double ev_nll(size_t n, int k, const int *labels, const float *probs)
{
    if (!n)
        return 0.0;
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        double p = probs[i * (size_t)k + (size_t)labels[i]];
        sum -= log(p > 1e-12 ? p : 1e-12);
    }
    return sum / (double)n;
}
