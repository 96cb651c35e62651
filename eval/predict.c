/* Prediction, confidence and the gate's decision for one item; validation of the arrays eval/ is given. */
#include <math.h>

#include "eval/eval_internal.h"

int ev_argmax(const float *row, int k)
{
    int best = 0;
    for (int c = 1; c < k; c++)
        if (row[c] > row[best])
            best = c;
    return best;
}

double ev_confidence(const float *row, int c)
{
    double p = row[c];
    return p < 0 ? 0 : p > 1 ? 1 : p;
}

int ev_gate_withholds(const ev_gate *gate, int c, double p)
{
    if (!gate)
        return 0;
    double t = gate->min_confidence;
    if (gate->class_threshold && gate->class_threshold[c] > t)
        t = gate->class_threshold[c];
    return p < t;
}

int ev_gate_withholds_row(const ev_gate *gate, const float *row, int k)
{
    int c = ev_argmax(row, k);
    double p = ev_confidence(row, c);
    if (ev_gate_withholds(gate, c, p))
        return 1;
    if (!gate || !gate->rest_unclear)
        return 0;
    double sum = 0;
    for (int j = 0; j < k; j++)
        sum += row[j];
    return 1 - sum > p;
}

int ev_check_inputs(size_t n, int k, const int *labels, const float *probs, aa_error *err)
{
    if (k < 1)
        return aa_error_set(err, EV_ERR_ARG, "evaluation: %d classes (need at least 1)", k);
    if (n && (!labels || !probs))
        return aa_error_set(err, EV_ERR_ARG, "evaluation: %zu items but no labels or probabilities", n);
    for (size_t i = 0; i < n; i++) {
        if (labels[i] < 0 || labels[i] >= k)
            return aa_error_set(err, EV_ERR_ARG, "evaluation: item %zu has label %d (classes are 0..%d)", i,
                                labels[i], k - 1);
        for (int c = 0; c < k; c++) {
            float p = probs[i * (size_t)k + (size_t)c];
            /* 1e-4 above 1 admits float rounding of softmax rows and of means of rows, nothing more. */
            if (!isfinite(p) || p < 0 || p > 1.0001f)
                return aa_error_set(err, EV_ERR_ARG,
                                    "evaluation: item %zu has probability %g for class %d (want 0..1)", i,
                                    (double)p, c);
        }
    }
    return 0;
}
