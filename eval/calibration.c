/* Temperature scaling: softmax(logits / T), its NLL, and the T that minimises NLL on validation logits. */
#include <math.h>
#include <stdlib.h>

#include "eval/eval_internal.h"

void ev_softmax(size_t n, int k, const float *logits, double t, float *probs)
{
    size_t K = (size_t)k;
    for (size_t i = 0; i < n; i++) {
        const float *z = logits + i * K;
        float *p = probs + i * K;
        double mx = z[0], sum = 0;
        for (size_t c = 1; c < K; c++)
            mx = z[c] > mx ? z[c] : mx;
        for (size_t c = 0; c < K; c++)
            sum += exp(((double)z[c] - mx) / t);
        /* Recomputing the exponentials lets p alias z: p[c] is written only after z[c] is read. */
        for (size_t c = 0; c < K; c++)
            p[c] = (float)(exp(((double)z[c] - mx) / t) / sum);
    }
}

double ev_nll_logits(size_t n, int k, const int *labels, const float *logits, double t)
{
    if (!n)
        return 0.0;
    size_t K = (size_t)k;
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        const float *z = logits + i * K;
        double mx = z[0], sum = 0;
        for (size_t c = 1; c < K; c++)
            mx = z[c] > mx ? z[c] : mx;
        for (size_t c = 0; c < K; c++)
            sum += exp(((double)z[c] - mx) / t);
        total += log(sum) - ((double)z[labels[i]] - mx) / t;
    }
    return total / (double)n;
}

static double ece_at(size_t n, int k, const int *labels, const float *logits, double t, float *scratch)
{
    ev_softmax(n, k, logits, t, scratch);
    return ev_ece(n, k, labels, scratch, NULL);
}

int ev_fit_temperature(size_t n, int k, const int *labels, const float *logits, ev_temp_fit *out,
                       aa_error *err)
{
    if (k < 1 || n == 0)
        return aa_error_set(err, EV_ERR_ARG, "temperature: nothing to fit on (%zu items, %d classes)", n, k);
    size_t K = (size_t)k;
    for (size_t i = 0; i < n; i++) {
        if (labels[i] < 0 || labels[i] >= k)
            return aa_error_set(err, EV_ERR_ARG, "temperature: item %zu has label %d (classes are 0..%d)", i,
                                labels[i], k - 1);
        for (size_t c = 0; c < K; c++)
            if (!isfinite(logits[i * K + c]))
                return aa_error_set(err, EV_ERR_ARG, "temperature: item %zu has a non-finite logit", i);
    }
    float *scratch = malloc(n * K * sizeof *scratch);
    if (!scratch)
        return aa_error_set(err, EV_ERR_NOMEM, "temperature: out of memory (%zu items)", n);

    /* Golden section on u = ln T. 48 steps shrink ln(400) = 6.0 by 0.618^48 to below 1e-9. */
    const double phi = (sqrt(5.0) - 1) / 2;
    double a = log(EV_TEMP_MIN), b = log(EV_TEMP_MAX);
    double x1 = b - phi * (b - a), x2 = a + phi * (b - a);
    double f1 = ev_nll_logits(n, k, labels, logits, exp(x1));
    double f2 = ev_nll_logits(n, k, labels, logits, exp(x2));
    for (int it = 0; it < 48; it++) {
        if (f1 <= f2) {
            b = x2, x2 = x1, f2 = f1;
            x1 = b - phi * (b - a);
            f1 = ev_nll_logits(n, k, labels, logits, exp(x1));
        } else {
            a = x1, x1 = x2, f1 = f2;
            x2 = a + phi * (b - a);
            f2 = ev_nll_logits(n, k, labels, logits, exp(x2));
        }
    }
    double t = exp((a + b) / 2);
    double nll_t = ev_nll_logits(n, k, labels, logits, t);
    double nll_1 = ev_nll_logits(n, k, labels, logits, 1.0);
    if (nll_1 <= nll_t) /* the search cannot beat the identity: keep the model as it is */
        t = 1.0, nll_t = nll_1;

    out->t = t;
    out->n = n;
    out->nll_before = nll_1;
    out->nll_after = nll_t;
    out->ece_before = ece_at(n, k, labels, logits, 1.0, scratch);
    out->ece_after = ece_at(n, k, labels, logits, t, scratch);
    out->at_bound = fabs(t / EV_TEMP_MIN - 1) < 1e-3 || fabs(t / EV_TEMP_MAX - 1) < 1e-3;
    free(scratch);
    return 0;
}
