/* Mixture sets: the material of one side (event pieces and background pieces, copied out of its
 * recordings) and the mixtures drawn from it, each from its own random stream so that mixture i is the
 * same whatever is made before it. */
#include <stdlib.h>
#include <string.h>

#include "datasets/mixset.h"

struct ds_mix_material {
    ds_piece *ev, *bg; /* pieces owning their samples (x malloc'd) */
    int *ev_class;     /* [n_ev] each event piece's class */
    size_t n_ev, n_bg, cap_ev, cap_bg, cap_class;
};

ds_mix_material *ds_mix_material_new(void)
{
    return calloc(1, sizeof(ds_mix_material));
}

void ds_mix_material_free(ds_mix_material *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_ev; i++)
        free((float *)m->ev[i].x);
    for (size_t i = 0; i < m->n_bg; i++)
        free((float *)m->bg[i].x);
    free(m->ev);
    free(m->ev_class);
    free(m->bg);
    free(m);
}

static int push(ds_piece **v, size_t *n, size_t *cap, const float *x, size_t len, aa_error *err)
{
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 64;
        ds_piece *p = realloc(*v, c * sizeof *p);
        if (!p)
            return aa_error_set(err, DS_ERR_NOMEM, "mixtures: out of memory");
        *v = p;
        *cap = c;
    }
    float *copy = malloc((len ? len : 1) * sizeof *copy);
    if (!copy)
        return aa_error_set(err, DS_ERR_NOMEM, "mixtures: out of memory");
    memcpy(copy, x, len * sizeof *copy);
    (*v)[(*n)++] = (ds_piece){copy, len};
    return 0;
}

int ds_mix_material_add(ds_mix_material *m, const float *x, size_t n, int rate, int event_class, int is_background,
                        aa_error *err)
{
    int is_event = event_class >= 0;
    if (!n)
        return 0;
    if (is_background)
        return push(&m->bg, &m->n_bg, &m->cap_bg, x, n, err);
    ds_event *ev = NULL, *q = NULL;
    size_t ne = 0, nq = 0;
    int rc = ds_quiet_find(x, n, rate, NULL, 1.0, &q, &nq, err);
    if (!rc && is_event)
        rc = ds_events_find(x, n, rate, NULL, &ev, &ne, err);
    for (size_t j = 0; !rc && j < nq; j++)
        rc = push(&m->bg, &m->n_bg, &m->cap_bg, x + q[j].start, q[j].end - q[j].start, err);
    for (size_t j = 0; !rc && j < ne; j++) {
        if (m->n_ev == m->cap_class) {
            size_t c = m->cap_class ? 2 * m->cap_class : 64;
            int *v = realloc(m->ev_class, c * sizeof *v);
            if (!v) {
                rc = aa_error_set(err, DS_ERR_NOMEM, "mixtures: out of memory");
                break;
            }
            m->ev_class = v;
            m->cap_class = c;
        }
        m->ev_class[m->n_ev] = event_class;
        rc = push(&m->ev, &m->n_ev, &m->cap_ev, x + ev[j].start, ev[j].end - ev[j].start, err);
    }
    free(ev);
    free(q);
    return rc;
}

size_t ds_mix_material_events(const ds_mix_material *m)
{
    return m->n_ev;
}

int ds_mix_material_event_class(const ds_mix_material *m, size_t i)
{
    return i < m->n_ev ? m->ev_class[i] : -1;
}

size_t ds_mix_material_backgrounds(const ds_mix_material *m)
{
    return m->n_bg;
}

double ds_mix_material_seconds(const ds_mix_material *m, int rate, int events)
{
    const ds_piece *p = events ? m->ev : m->bg;
    size_t n = events ? m->n_ev : m->n_bg;
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)p[i].n;
    return rate > 0 ? s / rate : 0;
}

void ds_mixset_opts_default(ds_mixset_opts *o)
{
    memset(o, 0, sizeof *o);
    o->count = 30;
    o->seconds = 60;
    o->seed = 1;
    ds_mix_opts_default(&o->mix);
    o->mix.events_min = o->mix.events_max = 4;
    o->mix.snr_min_db = 8;
    o->mix.snr_max_db = 25;
    o->mix.level_min_db = -50;
    o->mix.level_max_db = -30;
    o->mix.level_ref = DS_LEVEL_BACKGROUND_RMS;
    o->mix.min_gap_s = 6;
}

size_t ds_mixset_samples(const ds_mixset_opts *o, int rate)
{
    return (size_t)(o->seconds * rate);
}

int ds_mixset_one(const ds_mix_material *m, int rate, const ds_mixset_opts *o, int i, float *out, size_t n,
                  ds_mixture *info, aa_error *err)
{
    if (!m->n_ev || !m->n_bg)
        return aa_error_set(err, DS_ERR_ARG, "mixtures: %s", !m->n_ev ? "no events to place" : "no backgrounds");
    if (i < 0 || i >= o->count)
        return aa_error_set(err, DS_ERR_ARG, "mixtures: mixture %d of %d", i, o->count);
    aa_rng r;
    aa_rng_seed3(&r, o->seed, o->stream, (uint64_t)i);
    const ds_piece *bg = &m->bg[aa_rng_below(&r, m->n_bg)];
    return ds_mixture_make(bg, m->ev, m->n_ev, rate, &o->mix, &r, out, n, info, err);
}
