/* Events of a long recording from the probabilities of its windows: the one rule aa-infer --timeline,
 * --stream --events and the trainer's tuning (model/tune.c) share.
 *
 * Smoothing: each window's probabilities are replaced by the mean over a centred run of `smooth` windows
 * (the model's stored number, else 3: the window and its two neighbours; at the ends, the mean of those that
 * exist). A one-window blip between two windows of another class no longer makes an event; an edge between
 * two runs of at least two windows stays where it was.
 *
 * Which class a window speaks for: by default (threshold AM_TIMELINE_GATE) its most probable class, unless
 * that is the background class or the model's gate withholds it: the rule a clip is judged by. With a
 * threshold (stored by the trainer's tuning, or --event-threshold), a window the gate's rule leaves out
 * speaks for the target class (am_timeline_target: the model's cough class) when its smoothed probability
 * reaches the threshold: a quiet cough rarely makes Cough the most probable class of a 4 s window that is
 * mostly room, but it raises Cough's probability in every window that holds it. The other classes keep
 * the gate's rule, so a low threshold adds coughs and nothing else (the tuning counts only false coughs).
 * A model without a cough class (a general one) has every class but the background as its targets: the
 * most probable of them is taken.
 *
 * Events: consecutive windows speaking for the same class make one event; its confidence is the highest
 * smoothed probability of the class among them. A run of r windows lasts r hops (each window stands for
 * the hop it adds); a run shorter than the minimum duration is dropped (0 by default: none is). When does
 * an event start and end? A window says something about all of its W seconds at once, so:
 *   - if the event's windows all overlap (they span less than 2 W), the sound lies in their common part
 *     [last start, first end): a window flags a short sound (a cough) as soon as it lies wholly inside;
 *   - otherwise (a long sound: breathing for longer than a window) the windows that flag it are those
 *     mostly covered by it, and the sound runs from the centre of the first to the centre of the last.
 * Each boundary is then moved half a hop towards the neighbouring window that did not flag the event
 * (the true edge lies somewhere in that hop), except at the ends of the recording. On the demo recordings
 * (ds_synth_long: coughs of 0.45-1.7 s, breathing bouts of 4.5-7 s) this places both kinds within half a
 * hop of the truth when the model's windows follow the labelling rule the corpus is made with. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "model/model_internal.h"
#include "model/timeline.h"

/* A run of windows is compared with the minimum duration to within this, so that 2 windows of 0.5 s make
 * the 1 s they are in spite of rounding. */
#define DURATION_EPS 1e-9

am_timeline am_timeline_default(void)
{
    return (am_timeline){.tuned = 0, .threshold = AM_TIMELINE_GATE, .smooth = AM_TIMELINE_SMOOTH,
                         .min_duration_s = 0};
}

int am_timeline_check(const am_timeline *t, aa_error *err)
{
    if (!(t->threshold == AM_TIMELINE_GATE || (t->threshold >= 0 && t->threshold <= 1)))
        return aa_error_set(err, AM_ERR_ARG, "timeline threshold %g is neither %g (the gate) nor in [0, 1]",
                            t->threshold, AM_TIMELINE_GATE);
    if (t->smooth < 1 || t->smooth > 101 || t->smooth % 2 == 0)
        return aa_error_set(err, AM_ERR_ARG, "timeline smoothing %d is not an odd count in [1, 101]", t->smooth);
    if (!(t->min_duration_s >= 0 && t->min_duration_s <= 3600))
        return aa_error_set(err, AM_ERR_ARG, "timeline minimum duration %g s outside [0, 3600]", t->min_duration_s);
    return 0;
}

am_timeline am_get_timeline(const am_model *m)
{
    return m->timeline.smooth ? m->timeline : am_timeline_default();
}

int am_set_timeline(am_model *m, const am_timeline *t, aa_error *err)
{
    if (am_timeline_check(t, err))
        return AM_ERR_ARG;
    m->timeline = *t;
    return 0;
}

void am_smooth(const float *in, size_t n, int k, int w, float *out)
{
    size_t half = w > 1 ? (size_t)(w / 2) : 0;
    for (size_t i = 0; i < n; i++) {
        size_t lo = i >= half ? i - half : 0, hi = i + half < n ? i + half : n - 1;
        for (int c = 0; c < k; c++) {
            double s = 0;
            for (size_t j = lo; j <= hi; j++)
                s += in[j * (size_t)k + (size_t)c];
            out[i * (size_t)k + (size_t)c] = (float)(s / (double)(hi - lo + 1));
        }
    }
}

int am_timeline_target(const am_model *m)
{
    for (int c = 0; c < am_n_classes(m); c++) {
        const char *names[2] = {am_class_name(m, c), am_class_label(m, c)};
        for (int j = 0; j < 2; j++)
            for (const char *p = names[j]; p && *p; p++)
                if (!strncasecmp(p, "cough", 5))
                    return c;
    }
    return -1;
}

/* am_row_event_class with the target class found once. */
static int row_class(const am_model *m, const float *row, int background, double threshold, int target,
                     double *conf)
{
    int k = am_n_classes(m), c = ev_argmax(row, k);
    double th[AM_MAX_CLASSES];
    for (int j = 0; j < k; j++)
        th[j] = am_class_threshold(m, j);
    ev_gate gate = {am_min_confidence(m), th, am_has_unclear(m)};
    *conf = row[c];
    if (c != background && !ev_gate_withholds_row(&gate, row, k))
        return c;
    if (threshold == AM_TIMELINE_GATE)
        return -1;
    int best = target;
    for (int j = 0; target < 0 && j < k; j++)
        if (j != background && (best < 0 || row[j] > row[best]))
            best = j;
    if (best < 0 || best == background || row[best] < threshold)
        return -1;
    *conf = row[best];
    return best;
}

int am_row_event_class(const am_model *m, const float *row, int background, double threshold, double *conf)
{
    return row_class(m, row, background, threshold,
                     threshold == AM_TIMELINE_GATE ? -1 : am_timeline_target(m), conf);
}

size_t am_events_find(const am_model *m, const float *probs, size_t n, double hop_s, double window_s,
                      int background, double threshold, double min_duration_s, am_event *events, size_t cap)
{
    int k = am_n_classes(m), target = threshold == AM_TIMELINE_GATE ? -1 : am_timeline_target(m);
    size_t count = 0;
    for (size_t i = 0; i < n;) {
        double conf;
        int c = row_class(m, probs + i * (size_t)k, background, threshold, target, &conf);
        if (c < 0) {
            i++;
            continue;
        }
        size_t f = i;
        double peak = conf;
        while (i + 1 < n) {
            double c2;
            if (row_class(m, probs + (i + 1) * (size_t)k, background, threshold, target, &c2) != c)
                break;
            peak = c2 > peak ? c2 : peak;
            i++;
        }
        size_t l = i++;
        if ((double)(l - f + 1) * hop_s < min_duration_s - DURATION_EPS)
            continue;
        double sf = (double)f * hop_s, sl = (double)l * hop_s, start, end;
        int first_edge = f > 0, last_edge = l + 1 < n;
        int overlap = sl < sf + window_s;
        if (overlap) {
            start = sl + (last_edge ? hop_s / 2 : 0);
            end = sf + window_s - (first_edge ? hop_s / 2 : 0);
            /* A common part shorter than a hop says the windows did not each hold the whole sound: a
             * sound longer than their overlap (breathing flagged by windows it covers only in part). */
            overlap = end - start >= hop_s;
        }
        if (!overlap) {
            start = first_edge ? sf + window_s / 2 - hop_s / 2 : 0;
            end = last_edge ? sl + window_s / 2 + hop_s / 2 : sl + window_s;
        }
        if (end < start) { /* a hop longer than the sound: keep the middle of the two estimates */
            double mid = (start + end) / 2;
            start = end = mid;
        }
        if (count < cap)
            events[count] = (am_event){start, end, c, peak, l - f + 1};
        count++;
    }
    return count;
}

int am_timeline_probs(am_model *m, int slot, const float *x, size_t n, double hop_s, float **probs,
                      size_t *n_windows, aa_error *err)
{
    *probs = NULL;
    *n_windows = 0;
    if (slot < 0 || slot >= m->n_slots)
        return aa_error_set(err, AM_ERR_ARG, "slot %d of %d", slot, m->n_slots);
    size_t hop = (size_t)lround(hop_s * m->dsp.sample_rate);
    if (hop < 1)
        return aa_error_set(err, AM_ERR_ARG, "hop of %g s is less than one sample", hop_s);
    size_t nw = dsp_window_offsets(n, m->clip_samples, hop, 0, NULL, 0);
    int k = m->n_classes;
    size_t per = am_mel_size(m);
    size_t *at = malloc((nw ? nw : 1) * sizeof *at);
    float *mels = malloc(AM_BATCH * per * sizeof *mels);
    float *logits = malloc(AM_BATCH * (size_t)m->n_outputs * sizeof *logits);
    float *out = malloc((nw ? nw : 1) * (size_t)k * sizeof *out);
    int rc = !at || !mels || !logits || !out ? aa_error_set(err, AM_ERR_NOMEM, "out of memory") : 0;
    if (!rc)
        dsp_window_offsets(n, m->clip_samples, hop, 0, at, nw);
    for (size_t b = 0; !rc && b < nw; b += AM_BATCH) {
        size_t nb = nw - b < AM_BATCH ? nw - b : AM_BATCH;
        const float *ptr[AM_BATCH];
        for (size_t j = 0; j < nb; j++)
            ptr[j] = mels + j * per;
        rc = dsp_windows_logmel(m->logmel, slot, x, n, at + b, nb, mels, err) ||
             am_logits_batch(m, slot, ptr, nb, logits, err);
        if (rc) {
            rc = err ? err->code : AM_ERR_ARG;
            break;
        }
        for (size_t j = 0; j < nb; j++) {
            am_result r;
            am_decide(m, logits + j * (size_t)m->n_outputs, &r);
            memcpy(out + (b + j) * (size_t)k, r.probs, (size_t)k * sizeof *out);
        }
    }
    free(at);
    free(mels);
    free(logits);
    if (rc) {
        free(out);
        return rc;
    }
    *probs = out;
    *n_windows = nw;
    return 0;
}
