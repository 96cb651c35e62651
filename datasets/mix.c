/* Mixtures: events placed at random times into a background, at a drawn SNR and level, with the times
 * handed back so that the same code can make training items and scored test recordings. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/datasets.h"

#define PLACE_TRIES 64
#define SILENT_RMS 1e-6 /* -120 dBFS: a background quieter than this is taken as silent */

void ds_mix_opts_default(ds_mix_opts *o)
{
    *o = (ds_mix_opts){.events_min = 1,
                       .events_max = 3,
                       .snr_min_db = 0,
                       .snr_max_db = 30,
                       .level_min_db = -60,
                       .level_max_db = -10,
                       .level_ref = DS_LEVEL_PEAK,
                       .fade_s = 0.005,
                       .min_gap_s = 0.1};
}

static int in(double v, double lo, double hi)
{
    return v >= lo && v <= hi;
}

int ds_mix_opts_validate(const ds_mix_opts *o, aa_error *err)
{
    if (o->events_min < 0 || o->events_min > o->events_max || o->events_max > DS_MIX_MAX_EVENTS)
        return aa_error_set(err, DS_ERR_ARG, "mixtures: events [%d, %d] invalid (0 <= min <= max <= %d)",
                            o->events_min, o->events_max, DS_MIX_MAX_EVENTS);
    if (!in(o->snr_min_db, -60, 120) || !in(o->snr_max_db, o->snr_min_db, 120))
        return aa_error_set(err, DS_ERR_ARG, "mixtures: SNR range [%g, %g] dB invalid (within [-60, 120])",
                            o->snr_min_db, o->snr_max_db);
    if (!in(o->level_min_db, -120, 20) || !in(o->level_max_db, o->level_min_db, 20))
        return aa_error_set(err, DS_ERR_ARG, "mixtures: level range [%g, %g] dBFS invalid (within [-120, 20])",
                            o->level_min_db, o->level_max_db);
    if (o->level_ref != DS_LEVEL_PEAK && o->level_ref != DS_LEVEL_BACKGROUND_RMS)
        return aa_error_set(err, DS_ERR_ARG, "mixtures: unknown level reference %d", o->level_ref);
    if (!in(o->fade_s, 0, 1) || !in(o->min_gap_s, 0, 3600))
        return aa_error_set(err, DS_ERR_ARG, "mixtures: fade %g s or gap %g s out of range", o->fade_s,
                            o->min_gap_s);
    return 0;
}

static double uniform(aa_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * aa_rng_uniform_d(r);
}

static double rms(const float *x, size_t n)
{
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += (double)x[i] * x[i];
    return n ? sqrt(ss / (double)n) : 0;
}

/* Sample i of a piece read back and forth: 0 1 .. n-1 n-1 .. 1 0 0 1 .. */
static float pingpong(const ds_piece *p, size_t i)
{
    size_t period = 2 * p->n, k = i % period;
    return p->x[k < p->n ? k : period - 1 - k];
}

static int overlaps(const ds_mixture *m, size_t on, size_t off, size_t gap)
{
    for (size_t i = 0; i < m->n_events; i++)
        if (on < m->events[i].offset + gap && m->events[i].onset < off + gap)
            return 1;
    return 0;
}

static int cmp_onset(const void *a, const void *b)
{
    const ds_mix_event *x = a, *y = b;
    return (x->onset > y->onset) - (x->onset < y->onset);
}

int ds_mixture_make(const ds_piece *bg, const ds_piece *events, size_t n_events, int rate, const ds_mix_opts *opts,
                    aa_rng *r, float *out, size_t n, ds_mixture *info, aa_error *err)
{
    ds_mix_opts o;
    if (opts)
        o = *opts;
    else
        ds_mix_opts_default(&o);
    int rc = ds_mix_opts_validate(&o, err);
    if (rc)
        return rc;
    if (!n || !bg || !bg->x || !bg->n)
        return aa_error_set(err, DS_ERR_ARG, "mixtures: an empty background or mixture");
    if (rate < DSP_MIN_RATE || rate > DSP_MAX_RATE)
        return aa_error_set(err, DS_ERR_ARG, "mixtures: rate %d Hz out of range", rate);
    for (size_t i = 0; i < n_events; i++)
        if (!events[i].x || !events[i].n)
            return aa_error_set(err, DS_ERR_ARG, "mixtures: event piece %zu is empty", i);

    ds_mixture m;
    memset(&m, 0, sizeof m);
    /* The background: a stretch where it fits, else the piece back and forth from a random point. */
    m.bg_offset = bg->n > n ? (size_t)aa_rng_below(r, bg->n - n + 1) : (size_t)aa_rng_below(r, bg->n);
    for (size_t i = 0; i < n; i++)
        out[i] = bg->n > n ? bg->x[m.bg_offset + i] : pingpong(bg, m.bg_offset + i);
    double bg_rms = rms(out, n);
    int silent = bg_rms < SILENT_RMS;
    m.bg_rms_db = silent ? -120 : 20 * log10(bg_rms);
    m.level_db = uniform(r, o.level_min_db, o.level_max_db);
    /* Amplitudes relative to the background's RMS (1 = the background's RMS, or 0 dBFS when silent). */
    double bg_gain = silent ? 0 : 1 / bg_rms;
    if (o.level_ref == DS_LEVEL_BACKGROUND_RMS)
        bg_gain *= pow(10, m.level_db / 20);
    for (size_t i = 0; i < n; i++)
        out[i] = (float)(out[i] * bg_gain);

    int k = n_events ? o.events_min + (int)aa_rng_below(r, (uint64_t)(o.events_max - o.events_min + 1)) : 0;
    size_t gap = (size_t)floor(o.min_gap_s * rate + 0.5), fade = (size_t)floor(o.fade_s * rate + 0.5);
    for (int j = 0; j < k; j++) {
        size_t src = (size_t)aa_rng_below(r, n_events);
        const ds_piece *p = &events[src];
        size_t len = p->n < n ? p->n : n;
        double snr = uniform(r, o.snr_min_db, o.snr_max_db);
        size_t on = 0;
        int placed = 0;
        for (int t = 0; t < PLACE_TRIES && !placed; t++) {
            on = (size_t)aa_rng_below(r, n - len + 1);
            placed = !overlaps(&m, on, on + len, gap);
        }
        if (!placed)
            continue;
        double ev_rms = rms(p->x, len);
        if (!(ev_rms > 0))
            continue;
        double ref = o.level_ref == DS_LEVEL_BACKGROUND_RMS ? pow(10, m.level_db / 20) : 1;
        double g = ref * pow(10, snr / 20) / ev_rms;
        size_t fd = fade < len / 2 ? fade : len / 2;
        for (size_t i = 0; i < len; i++) {
            double w = 1;
            if (i < fd)
                w = 0.5 - 0.5 * cos(M_PI * ((double)i + 0.5) / (double)fd);
            else if (i >= len - fd)
                w = 0.5 - 0.5 * cos(M_PI * ((double)(len - i) - 0.5) / (double)fd);
            out[on + i] += (float)(g * w * p->x[i]);
        }
        m.events[m.n_events++] = (ds_mix_event){on, on + len, src, snr};
    }
    qsort(m.events, m.n_events, sizeof *m.events, cmp_onset);

    if (o.level_ref == DS_LEVEL_PEAK) {
        float peak = 0;
        for (size_t i = 0; i < n; i++)
            peak = fabsf(out[i]) > peak ? fabsf(out[i]) : peak;
        double g = peak > 0 ? pow(10, m.level_db / 20) / peak : 0;
        for (size_t i = 0; i < n; i++)
            out[i] = (float)(out[i] * g);
        if (!silent) /* the background's RMS was 1 before this gain */
            m.bg_rms_db = g > 0 ? 20 * log10(g) : -120;
    } else if (!silent) {
        m.bg_rms_db = m.level_db;
    }
    if (info)
        *info = m;
    return 0;
}
