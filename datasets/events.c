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

/* A recording's frame energies and the two thresholds. */
typedef struct {
    double *e;        /* [nf] dB */
    size_t nf, flen, hop;
    double peak, floor_db;
} frames;

static void frames_free(frames *f)
{
    free(f->e);
    f->e = NULL;
}

/* 0 with f->nf = 0 when the recording is shorter than a frame. */
static int frames_make(const float *x, size_t n, int rate, const ds_event_opts *o, frames *f, aa_error *err)
{
    memset(f, 0, sizeof *f);
    int rc = ds_event_opts_validate(o, err);
    if (rc)
        return rc;
    if (rate < DSP_MIN_RATE || rate > DSP_MAX_RATE)
        return aa_error_set(err, DS_ERR_ARG, "events: rate %d Hz out of range", rate);
    f->flen = samples(o->frame_s, rate);
    f->hop = samples(o->hop_s, rate);
    if (f->hop < 1)
        f->hop = 1;
    if (f->flen < f->hop)
        f->flen = f->hop;
    if (n < f->flen)
        return 0;
    size_t nf = 1 + (n - f->flen) / f->hop;
    double *sorted = malloc(nf * sizeof *sorted);
    f->e = malloc(nf * sizeof *f->e);
    if (!f->e || !sorted) {
        free(sorted);
        frames_free(f);
        return aa_error_set(err, DS_ERR_NOMEM, "events: out of memory");
    }
    f->nf = nf;
    f->peak = SILENCE_DB;
    for (size_t i = 0; i < nf; i++) {
        f->e[i] = rms_db(x + i * f->hop, f->flen);
        f->peak = f->e[i] > f->peak ? f->e[i] : f->peak;
    }
    memcpy(sorted, f->e, nf * sizeof *sorted);
    qsort(sorted, nf, sizeof *sorted, cmp_double);
    f->floor_db = sorted[(size_t)(FLOOR_PERCENTILE * (double)(nf - 1))];
    free(sorted);
    return 0;
}

static int push(ds_event **ev, size_t *count, size_t *cap, ds_event e, aa_error *err)
{
    if (*count == *cap) {
        size_t nc = *cap ? 2 * *cap : 16;
        ds_event *grown = realloc(*ev, nc * sizeof *grown);
        if (!grown)
            return aa_error_set(err, DS_ERR_NOMEM, "events: out of memory");
        *ev = grown;
        *cap = nc;
    }
    (*ev)[(*count)++] = e;
    return 0;
}

static void resolve(const ds_event_opts *in_opts, ds_event_opts *o)
{
    if (in_opts)
        *o = *in_opts;
    else
        ds_event_opts_default(o);
}

int ds_events_find(const float *x, size_t n, int rate, const ds_event_opts *opts, ds_event **out, size_t *n_out,
                   aa_error *err)
{
    *out = NULL;
    *n_out = 0;
    ds_event_opts o;
    resolve(opts, &o);
    frames f;
    int rc = frames_make(x, n, rate, &o, &f, err);
    if (rc || !f.nf)
        return rc;
    const size_t nf = f.nf, hop = f.hop, flen = f.flen;
    const double *e = f.e;
    ds_event *ev = NULL;
    size_t count = 0, cap = 0;
    double thr = fmax(f.peak - o.peak_drop_db, f.floor_db + o.floor_rise_db);

    /* Runs of active frames, merged over gaps of at most gap_frames inactive frames. */
    size_t gap_frames = (size_t)floor(o.gap_s / ((double)hop / rate) + 1e-9);
    size_t min_len = samples(o.min_s, rate), max_len = samples(o.max_s, rate), margin = samples(o.margin_s, rate);
    for (size_t i = 0; i < nf && !rc;) {
        if (!(e[i] >= thr && e[i] > SILENCE_DB)) {
            i++;
            continue;
        }
        size_t first = i, last = i;
        for (size_t g = i + 1; g < nf && g <= last + gap_frames + 1; g++)
            if (e[g] >= thr && e[g] > SILENCE_DB)
                last = g;
        i = last + 1;
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
        double r = rms_db(x + start, end - start);
        rc = push(&ev, &count, &cap, (ds_event){start, end, pk > r ? pk : r, r}, err);
    }
    frames_free(&f);
    if (rc) {
        free(ev);
        return rc;
    }
    *out = ev;
    *n_out = count;
    return 0;
}

int ds_quiet_find(const float *x, size_t n, int rate, const ds_event_opts *opts, double min_s, ds_event **out,
                  size_t *n_out, aa_error *err)
{
    *out = NULL;
    *n_out = 0;
    if (!in(min_s, 0.01, 3600))
        return aa_error_set(err, DS_ERR_ARG, "quiet stretches: shortest %g s out of range [0.01, 3600]", min_s);
    ds_event *events;
    size_t n_events;
    int rc = ds_events_find(x, n, rate, opts, &events, &n_events, err);
    free(events);
    if (rc || !n_events)
        return rc;
    ds_event_opts o;
    resolve(opts, &o);
    frames f;
    if ((rc = frames_make(x, n, rate, &o, &f, err)))
        return rc;
    double thr = f.floor_db + o.floor_rise_db;
    size_t margin = samples(o.margin_s, rate), min_len = samples(min_s, rate);
    ds_event *q = NULL;
    size_t count = 0, cap = 0;
    for (size_t i = 0; i < f.nf && !rc;) {
        if (f.e[i] >= thr) {
            i++;
            continue;
        }
        size_t first = i;
        while (i < f.nf && f.e[i] < thr)
            i++;
        /* Frames first .. i-1 are quiet: their samples, less the overlap with the loud frames each side. */
        size_t start = first ? (first - 1) * f.hop + f.flen : 0;
        size_t end = i < f.nf ? i * f.hop : n;
        if (start >= end)
            continue;
        start = start + margin;
        end = end > margin ? end - margin : 0;
        if (end <= start || end - start < min_len)
            continue;
        double r = rms_db(x + start, end - start), pk = SILENCE_DB;
        for (size_t g = first; g < i; g++)
            pk = f.e[g] > pk ? f.e[g] : pk;
        rc = push(&q, &count, &cap, (ds_event){start, end, pk > r ? pk : r, r}, err);
    }
    frames_free(&f);
    if (rc) {
        free(q);
        return rc;
    }
    *out = q;
    *n_out = count;
    return 0;
}
