/* Recording-level decisions: how the windows of a recording longer than one clip become one decision.
 * The same functions serve am_classify_* and the trainer's validation, so calibration and the gate are
 * fitted on exactly the scores aa-infer gates. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"

/* exp(-700) is the smallest double exp() returns non-zero; a score below it is "impossible" either way,
 * and clamping keeps every score finite for the temperature fit and the checks downstream. */
#define SCORE_FLOOR (-700.0)

am_aggregate am_aggregate_loudest(void)
{
    return (am_aggregate){.policy = AM_AGG_LOUDEST, .hop_s = 0, .top = 0};
}

am_aggregate am_aggregate_default(void)
{
    return (am_aggregate){.policy = AM_AGG_DEFAULT_POLICY, .hop_s = AM_AGG_DEFAULT_HOP_S,
                          .top = AM_AGG_DEFAULT_POLICY == AM_AGG_TOP ? AM_AGG_DEFAULT_TOP : 0};
}

const char *am_aggregate_name(am_agg_policy p)
{
    switch (p) {
    case AM_AGG_MEAN: return "mean";
    case AM_AGG_TOP: return "top";
    case AM_AGG_RMS: return "rms";
    case AM_AGG_ENERGY: return "energy";
    case AM_AGG_LOUDEST:
    default: return "loudest";
    }
}

int am_aggregate_check(const am_aggregate *a, aa_error *err)
{
    if (a->policy == AM_AGG_LOUDEST)
        return 0;
    if (a->policy != AM_AGG_MEAN && a->policy != AM_AGG_TOP && a->policy != AM_AGG_RMS &&
        a->policy != AM_AGG_ENERGY)
        return aa_error_set(err, AM_ERR_ARG, "unknown aggregation policy %d", (int)a->policy);
    if (!(a->hop_s >= 0.05 && a->hop_s <= 60))
        return aa_error_set(err, AM_ERR_ARG, "aggregation hop %g s outside [0.05, 60]", a->hop_s);
    if (a->policy == AM_AGG_TOP && (a->top < 1 || a->top > 1000))
        return aa_error_set(err, AM_ERR_ARG, "aggregation over the top %d windows (1..1000)", a->top);
    return 0;
}

int am_aggregate_parse(const char *text, am_aggregate *out, aa_error *err)
{
    am_aggregate a = {0};
    char name[16];
    int n = 0, used = 0;
    double hop = AM_AGG_DEFAULT_HOP_S;
    if (!text || sscanf(text, "%15[a-z]%n", name, &used) != 1)
        goto bad;
    const char *rest = text + used;
    if (!strcmp(name, "loudest")) {
        if (*rest)
            goto bad;
        *out = am_aggregate_loudest();
        return 0;
    }
    if (!strcmp(name, "mean") || !strcmp(name, "rms") || !strcmp(name, "energy")) {
        a.policy = name[0] == 'm' ? AM_AGG_MEAN : name[0] == 'r' ? AM_AGG_RMS : AM_AGG_ENERGY;
    } else if (!strcmp(name, "top")) {
        a.policy = AM_AGG_TOP;
        used = 0;
        if (sscanf(rest, "%d%n", &n, &used) != 1 || used == 0 || !(*rest >= '0' && *rest <= '9'))
            goto bad;
        a.top = n;
        rest += used;
    } else {
        goto bad;
    }
    if (*rest == '@') {
        char *end = NULL;
        hop = strtod(rest + 1, &end);
        if (end == rest + 1 || *end)
            goto bad;
    } else if (*rest) {
        goto bad;
    }
    a.hop_s = hop;
    if (am_aggregate_check(&a, err))
        return AM_ERR_ARG;
    *out = a;
    return 0;
bad:
    return aa_error_set(err, AM_ERR_ARG, "aggregation \"%s\" not understood (loudest, mean, mean@HOP, topK, "
                        "topK@HOP; HOP in seconds)", text ? text : "");
}

void am_aggregate_format(const am_aggregate *a, char *buf, size_t cap)
{
    if (a->policy == AM_AGG_MEAN || a->policy == AM_AGG_RMS || a->policy == AM_AGG_ENERGY)
        snprintf(buf, cap, "%s@%g", am_aggregate_name(a->policy), a->hop_s);
    else if (a->policy == AM_AGG_TOP)
        snprintf(buf, cap, "top%d@%g", a->top, a->hop_s);
    else
        snprintf(buf, cap, "loudest");
}

size_t am_aggregate_windows(const am_aggregate *a, const dsp_settings *s, const float *x, size_t n,
                            size_t *offsets, double *energy, size_t cap)
{
    size_t len = dsp_clip_samples(s);
    if (a->policy == AM_AGG_LOUDEST || n <= len) {
        if (cap > 0) {
            offsets[0] = dsp_crop_offset(x, n, len, s->crop);
            if (energy)
                energy[0] = 0;
        }
        return 1;
    }
    size_t hop = (size_t)lround(a->hop_s * s->sample_rate);
    if (hop < 1)
        hop = 1;
    /* cover_end: the last seconds of a recording are heard even when the hop does not land on them. */
    size_t count = dsp_window_offsets(n, len, hop, 1, offsets, cap);
    for (size_t i = 0; energy && i < count && i < cap; i++) {
        double e = 0;
        const float *w = x + offsets[i];
        for (size_t t = 0; t < len; t++)
            e += (double)w[t] * w[t];
        energy[i] = e;
    }
    return count;
}

/* Window indices of the `top` largest energies (earliest first on ties), into keep[0..*m). */
static size_t top_windows(const double *energy, size_t n, size_t top, size_t *keep)
{
    size_t m = top < n ? top : n;
    for (size_t j = 0; j < m; j++) {
        size_t best = (size_t)-1;
        for (size_t i = 0; i < n; i++) {
            int taken = 0;
            for (size_t q = 0; q < j && !taken; q++)
                taken = keep[q] == i;
            if (!taken && (best == (size_t)-1 || energy[i] > energy[best]))
                best = i;
        }
        keep[j] = best;
    }
    return m;
}

int am_aggregate_combine(const am_aggregate *a, int k, size_t n, const float *logits, const double *energy,
                         float *out, aa_error *err)
{
    if (n == 0 || k < 1 || k > AM_MAX_CLASSES)
        return aa_error_set(err, AM_ERR_ARG, "aggregation of %zu windows of %d classes", n, k);
    if (n == 1 || a->policy == AM_AGG_LOUDEST) {
        /* One window: its logits as they are, so a short recording's decision is unchanged bit for bit. */
        memcpy(out, logits, (size_t)k * sizeof *out);
        return 0;
    }
    size_t *keep = malloc(n * sizeof *keep);
    if (!keep)
        return aa_error_set(err, AM_ERR_NOMEM, "out of memory");
    size_t m = n;
    if (a->policy == AM_AGG_TOP && energy)
        m = top_windows(energy, n, (size_t)a->top, keep);
    else
        for (size_t i = 0; i < n; i++)
            keep[i] = i;
    /* The (weighted) mean of the windows' probabilities (at temperature 1), returned as log-probabilities: softmax
     * of these gives that mean back, so temperature and gate apply to them as to one window's logits. */
    double acc[AM_MAX_CLASSES] = {0}, wsum = 0;
    for (size_t j = 0; j < m; j++) {
        double wt = 1;
        if (energy && a->policy == AM_AGG_RMS)
            wt = sqrt(energy[keep[j]]);
        else if (energy && a->policy == AM_AGG_ENERGY)
            wt = energy[keep[j]];
        wsum += wt;
        const float *l = logits + keep[j] * (size_t)k;
        double mx = -INFINITY, sum = 0;
        for (int c = 0; c < k; c++)
            if (l[c] > mx)
                mx = l[c];
        for (int c = 0; c < k; c++)
            sum += exp((double)l[c] - mx);
        for (int c = 0; c < k; c++)
            acc[c] += wt * exp((double)l[c] - mx) / sum;
    }
    free(keep);
    /* All-silent windows (zero energy) have no weights to speak of: then every window counts the same. */
    if (!(wsum > 0)) {
        memset(acc, 0, sizeof acc);
        return am_aggregate_combine(&(am_aggregate){.policy = AM_AGG_MEAN, .hop_s = a->hop_s}, k, n, logits,
                                    NULL, out, err);
    }
    for (int c = 0; c < k; c++) {
        double v = log(acc[c] / wsum);
        out[c] = (float)(v > SCORE_FLOOR ? v : SCORE_FLOOR);
    }
    return 0;
}
