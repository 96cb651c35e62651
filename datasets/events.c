/* Events of a recording by short-time energy: frames above a threshold set from the recording's own peak and
 * floor, merged across short gaps, kept within a duration range. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/datasets.h"

#define SILENCE_DB (-120.0)
#define FLOOR_PERCENTILE 0.10

void ds_event_opts_default(ds_event_opts *o)
{
    *o = (ds_event_opts){.frame_s = 0.02,
                         .hop_s = 0.01,
                         .peak_drop_db = 25,
                         .floor_rise_db = 10,
                         .gap_s = 0.15,
                         .min_s = 0.08,
                         .max_s = 1.5,
                         .margin_s = 0.03};
}

static int in(double v, double lo, double hi)
{
    return v >= lo && v <= hi; /* false for NaN */
}

int ds_event_opts_validate(const ds_event_opts *o, aa_error *err)
{
    if (!in(o->frame_s, 0.001, 1))
        return aa_error_set(err, DS_ERR_ARG, "events: frame %g s out of range [0.001, 1]", o->frame_s);
    if (!in(o->hop_s, 0.0005, o->frame_s))
        return aa_error_set(err, DS_ERR_ARG, "events: hop %g s out of range [0.0005, frame %g]", o->hop_s,
                            o->frame_s);
    if (!in(o->peak_drop_db, 0, 120) || !in(o->floor_rise_db, 0, 120))
        return aa_error_set(err, DS_ERR_ARG, "events: thresholds %g dB below the peak, %g dB above the floor "
                            "out of range [0, 120]", o->peak_drop_db, o->floor_rise_db);
    if (!in(o->gap_s, 0, 60) || !in(o->margin_s, 0, 10))
        return aa_error_set(err, DS_ERR_ARG, "events: gap %g s or margin %g s out of range", o->gap_s, o->margin_s);
    if (!in(o->min_s, 0, 3600) || !in(o->max_s, o->min_s, 3600) || o->max_s < o->frame_s)
        return aa_error_set(err, DS_ERR_ARG, "events: durations [%g, %g] s invalid (0 <= min <= max, max >= "
                            "one frame)", o->min_s, o->max_s);
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static size_t samples(double s, int rate)
{
    double v = floor(s * rate + 0.5);
    return v > 0 ? (size_t)v : 0;
}

static double rms_db(const float *x, size_t n)
{
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += (double)x[i] * x[i];
    double ms = n ? ss / (double)n : 0;
    return ms > 0 ? fmax(10 * log10(ms), SILENCE_DB) : SILENCE_DB;
}

int ds_events_find(const float *x, size_t n, int rate, const ds_event_opts *opts, ds_event **out, size_t *n_out,
                   aa_error *err)
{
    *out = NULL;
    *n_out = 0;
    ds_event_opts o;
    if (opts)
        o = *opts;
    else
        ds_event_opts_default(&o);
    int rc = ds_event_opts_validate(&o, err);
    if (rc)
        return rc;
    if (rate < DSP_MIN_RATE || rate > DSP_MAX_RATE)
        return aa_error_set(err, DS_ERR_ARG, "events: rate %d Hz out of range", rate);
    size_t flen = samples(o.frame_s, rate), hop = samples(o.hop_s, rate);
    if (hop < 1)
        hop = 1;
    if (flen < hop)
        flen = hop;
    if (n < flen)
        return 0;
    size_t nf = 1 + (n - flen) / hop;
    double *e = malloc(nf * sizeof *e), *sorted = malloc(nf * sizeof *sorted);
    unsigned char *act = malloc(nf);
    ds_event *ev = NULL;
    if (!e || !sorted || !act) {
        rc = aa_error_set(err, DS_ERR_NOMEM, "events: out of memory");
        goto done;
    }
    double peak = SILENCE_DB;
    for (size_t f = 0; f < nf; f++) {
        e[f] = rms_db(x + f * hop, flen);
        peak = e[f] > peak ? e[f] : peak;
    }
    memcpy(sorted, e, nf * sizeof *e);
    qsort(sorted, nf, sizeof *sorted, cmp_double);
    double floor_db = sorted[(size_t)(FLOOR_PERCENTILE * (double)(nf - 1))];
    double thr = fmax(peak - o.peak_drop_db, floor_db + o.floor_rise_db);
    for (size_t f = 0; f < nf; f++)
        act[f] = e[f] >= thr && e[f] > SILENCE_DB;

    /* Runs of active frames, merged over gaps of at most gap_frames inactive frames. */
    size_t gap_frames = (size_t)floor(o.gap_s / ((double)hop / rate) + 1e-9);
    size_t cap = 16, count = 0;
    if (!(ev = malloc(cap * sizeof *ev))) {
        rc = aa_error_set(err, DS_ERR_NOMEM, "events: out of memory");
        goto done;
    }
    size_t min_len = samples(o.min_s, rate), max_len = samples(o.max_s, rate), margin = samples(o.margin_s, rate);
    for (size_t f = 0; f < nf;) {
        if (!act[f]) {
            f++;
            continue;
        }
        size_t first = f, last = f;
        for (size_t g = f + 1; g < nf && g <= last + gap_frames + 1; g++)
            if (act[g])
                last = g;
        f = last + 1;
        size_t start = first * hop, end = last * hop + flen;
        if (end - start < min_len)
            continue;
        if (end - start > max_len) {
            start += dsp_crop_offset(x + start, end - start, max_len, DSP_CROP_LOUDEST);
            end = start + max_len;
        }
        double pk = SILENCE_DB;
        for (size_t g = first; g <= last; g++)
            if (g * hop >= start && g * hop + flen <= end && e[g] > pk)
                pk = e[g];
        start = start > margin ? start - margin : 0;
        end = end + margin < n ? end + margin : n;
        if (count == cap) {
            ds_event *grown = realloc(ev, 2 * cap * sizeof *ev);
            if (!grown) {
                rc = aa_error_set(err, DS_ERR_NOMEM, "events: out of memory");
                goto done;
            }
            ev = grown;
            cap *= 2;
        }
        double r = rms_db(x + start, end - start);
        ev[count++] = (ds_event){start, end, pk > r ? pk : r, r};
    }
    if (count) {
        *out = ev;
        *n_out = count;
        ev = NULL;
    }
done:
    free(e);
    free(sorted);
    free(act);
    free(ev);
    return rc;
}
