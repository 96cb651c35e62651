/* Expected calibration error and the reliability diagram's bins. */
#include <math.h>
#include <string.h>

#include "eval/eval_internal.h"

/* The bin (m/B, (m+1)/B] holding conf, bounds computed as m/B in double exactly as they are reported, so
 * a confidence equal to a printed bound lands where the bound says (0 goes to the first bin). */
static int bin_of(double conf)
{
    const int B = EV_ECE_BINS;
    int m = (int)ceil(conf * B) - 1;
    m = m < 0 ? 0 : m >= B ? B - 1 : m;
    while (m > 0 && conf <= (double)m / B)
        m--;
    while (m < B - 1 && conf > (double)(m + 1) / B)
        m++;
    return m;
}

double ev_ece(size_t n, int k, const int *labels, const float *probs, ev_bin bins[EV_ECE_BINS])
{
    ev_bin local[EV_ECE_BINS];
    ev_bin *b = bins ? bins : local;
    double conf_sum[EV_ECE_BINS] = {0};
    memset(b, 0, sizeof local);
    for (int m = 0; m < EV_ECE_BINS; m++) {
        b[m].lo = (double)m / EV_ECE_BINS;
        b[m].hi = (double)(m + 1) / EV_ECE_BINS;
    }
    for (size_t i = 0; i < n; i++) {
        const float *row = probs + i * (size_t)k;
        int c = ev_argmax(row, k);
        double conf = ev_confidence(row, c);
        int m = bin_of(conf);
        b[m].count++;
        b[m].correct += c == labels[i];
        conf_sum[m] += conf;
    }
    double ece = 0;
    for (int m = 0; m < EV_ECE_BINS; m++) {
        if (!b[m].count)
            continue;
        b[m].mean_confidence = conf_sum[m] / (double)b[m].count;
        b[m].accuracy = ev_ratio(b[m].correct, b[m].count);
        ece += (double)b[m].count / (double)n * fabs(b[m].accuracy - b[m].mean_confidence);
    }
    return ece;
}
