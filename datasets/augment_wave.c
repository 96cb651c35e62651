/* Waveform augmentation of a training item: a mixture of the corpus's own events in its own quiet
 * backgrounds, a synthetic room, a microphone's colour and clipping; then the item's log-mel is computed as
 * inference computes it. See datasets.h ("waveform augmentation") for the draws and their ranges. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/augment_internal.h"

#define QUIET_MIN_S 1.0    /* the shortest quiet stretch kept as a background */
#define TILT_MAX_DB 10.0
#define TILT_LOW_HZ 400.0
#define TILT_HIGH_HZ 2500.0
#define HIGHPASS_LO_HZ 60.0
#define HIGHPASS_HI_HZ 400.0
#define LOWPASS_LO_HZ 3500.0
#define LOWPASS_HI_HZ 8000.0
#define TELEPHONE_LO_HZ 300.0
#define TELEPHONE_HI_HZ 3400.0
#define DRR_LO_DB 0.0
#define DRR_HI_DB 12.0
#define CLIP_LO_DB 1.0
#define CLIP_HI_DB 12.0

/* ---- pools ------------------------------------------------------------------------------------------------- */

void ds_wave_pools_free(ds_wave_pools *p)
{
    free(p->bg);
    free(p->ev);
    free(p->ev_first);
    free(p->ev_count);
    memset(p, 0, sizeof *p);
}

typedef struct {
    int cls;
    ds_piece piece;
} tagged;

static int grow(void **v, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : 64;
    while (nc < need)
        nc *= 2;
    void *g = realloc(*v, nc * size);
    if (!g)
        return 1;
    *v = g;
    *cap = nc;
    return 0;
}

/* mixes[K]: 1 for the classes whose events are mixed (names: "a,b"; NULL: every class but the background). */
static int mixed_classes(const ds_cache *c, const char *names, int bg_class, unsigned char *mixes, aa_error *err)
{
    for (int k = 0; k < c->n_classes; k++)
        mixes[k] = !names && k != bg_class;
    for (const char *at = names; at && *at;) {
        size_t len = strcspn(at, ",");
        int found = 0;
        for (int k = 0; k < c->n_classes; k++)
            if (strlen(c->classes[k]) == len && !strncmp(c->classes[k], at, len) && k != bg_class)
                mixes[k] = found = 1;
        if (!found)
            return aa_error_set(err, DS_ERR_ARG, "augmentation: mixed classes name '%.*s', not a class other than "
                                "the background", (int)(len < 64 ? len : 64), at);
        at += len + (at[len] == ',');
    }
    return 0;
}

int ds_wave_pools_make(ds_wave_pools *p, const ds_cache *c, const size_t *pool, size_t n_pool, int bg_class,
                       const char *mix_classes, const ds_event_opts *eo, aa_error *err)
{
    memset(p, 0, sizeof *p);
    const int rate = c->dsp.sample_rate;
    const size_t K = (size_t)c->n_classes;
    unsigned char *used = calloc(c->n_files ? c->n_files : 1, 1);
    tagged *ev = NULL;
    size_t n_ev = 0, cap_ev = 0, cap_bg = 0;
    p->ev_first = calloc(K ? K : 1, sizeof *p->ev_first);
    p->ev_count = calloc(K ? K : 1, sizeof *p->ev_count);
    unsigned char *mixes = malloc(K ? K : 1);
    int rc = 0;
    if (!used || !p->ev_first || !p->ev_count || !mixes) {
        rc = aa_error_set(err, DS_ERR_NOMEM, "augmentation: out of memory");
        goto done;
    }
    if ((rc = mixed_classes(c, mix_classes, bg_class, mixes, err)))
        goto done;
    for (size_t i = 0; i < n_pool; i++)
        used[c->windows[pool[i]].file] = 1;
    for (size_t f = 0; f < c->n_files && !rc; f++) {
        if (!used[f])
            continue;
        const ds_cache_file *cf = &c->files[f];
        const float *x = c->signal ? c->signal[f] : NULL;
        if (!x) {
            rc = aa_error_set(err, DS_ERR_ARG, "%s: waveform augmentation needs its decoded signal, no longer held",
                              cf->rel);
            break;
        }
        size_t n = (size_t)cf->n_samples;
        if (cf->cls == bg_class) {
            if (grow((void **)&p->bg, &cap_bg, p->n_bg + 1, sizeof *p->bg)) {
                rc = aa_error_set(err, DS_ERR_NOMEM, "augmentation: out of memory");
                break;
            }
            p->bg[p->n_bg++] = (ds_piece){x, n};
            continue;
        }
        ds_event *e = NULL, *q = NULL;
        size_t ne = 0, nq = 0;
        if ((mixes[cf->cls] && (rc = ds_events_find(x, n, rate, eo, &e, &ne, err))) ||
            (rc = ds_quiet_find(x, n, rate, eo, QUIET_MIN_S, &q, &nq, err))) {
            free(e);
            break;
        }
        if (grow((void **)&ev, &cap_ev, n_ev + ne, sizeof *ev) ||
            grow((void **)&p->bg, &cap_bg, p->n_bg + nq, sizeof *p->bg)) {
            rc = aa_error_set(err, DS_ERR_NOMEM, "augmentation: out of memory");
        } else {
            for (size_t j = 0; j < ne; j++)
                ev[n_ev++] = (tagged){cf->cls, {x + e[j].start, e[j].end - e[j].start}};
            for (size_t j = 0; j < nq; j++)
                p->bg[p->n_bg++] = (ds_piece){x + q[j].start, q[j].end - q[j].start};
        }
        free(e);
        free(q);
    }
    if (rc)
        goto done;
    /* Grouped by class, each class's events in file order (a counting sort keeps the order). */
    if (!(p->ev = malloc((n_ev ? n_ev : 1) * sizeof *p->ev))) {
        rc = aa_error_set(err, DS_ERR_NOMEM, "augmentation: out of memory");
        goto done;
    }
    for (size_t i = 0; i < n_ev; i++)
        p->ev_count[ev[i].cls]++;
    for (size_t k = 1; k < K; k++)
        p->ev_first[k] = p->ev_first[k - 1] + p->ev_count[k - 1];
    size_t *at = calloc(K ? K : 1, sizeof *at);
    if (!at) {
        rc = aa_error_set(err, DS_ERR_NOMEM, "augmentation: out of memory");
        goto done;
    }
    for (size_t i = 0; i < n_ev; i++) {
        size_t k = (size_t)ev[i].cls;
        p->ev[p->ev_first[k] + at[k]++] = ev[i].piece;
    }
    free(at);
    p->n_ev = n_ev;
done:
    free(used);
    free(mixes);
    free(ev);
    if (rc)
        ds_wave_pools_free(p);
    return rc;
}

/* ---- draws ------------------------------------------------------------------------------------------------- */

static double uniform(aa_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * aa_rng_uniform_d(r);
}

static double log_uniform(aa_rng *r, double lo, double hi)
{
    return lo * exp(aa_rng_uniform_d(r) * log(hi / lo));
}

/* Whether an item of class cls can be remade as a mixture: background items become a background, items of a
 * class with events a mixture of them; both need a background. */
static int mixable(const ds_wave_pools *pools, int cls, int bg_class)
{
    if (!pools || !pools->n_bg)
        return 0;
    return cls == bg_class || pools->ev_count[cls] > 0;
}

void ds_wave_draw(const ds_augment_opts *o, const ds_wave_pools *pools, int cls, int bg_class, int rate,
                  aa_rng *r, ds_augment_params *p)
{
    double u = aa_rng_uniform_d(r);
    uint64_t ms = aa_rng_u64(r);
    if (u < o->mix_p && mixable(pools, cls, bg_class)) {
        p->mixture = 1;
        p->mix_seed = ms;
    }

    u = aa_rng_uniform_d(r);
    double tilt = uniform(r, -TILT_MAX_DB, TILT_MAX_DB);
    double u_hp = aa_rng_uniform_d(r), hp = log_uniform(r, HIGHPASS_LO_HZ, HIGHPASS_HI_HZ);
    double u_band = aa_rng_uniform_d(r);
    double lp_hi = fmin(LOWPASS_HI_HZ, 0.45 * rate), lp = log_uniform(r, fmin(LOWPASS_LO_HZ, lp_hi), lp_hi);
    if (u < o->colour_p) {
        p->colour = 1;
        p->tilt_db = (float)tilt;
        p->highpass_hz = u_hp < 0.5 ? (float)hp : 0;
        p->band = u_band < 0.25 ? DS_BAND_TELEPHONE : u_band < 0.5 ? DS_BAND_LOWPASS : DS_BAND_NONE;
        p->lowpass_hz = p->band == DS_BAND_LOWPASS ? (float)lp : 0;
    }

    u = aa_rng_uniform_d(r);
    double rt = uniform(r, o->rt60_min_s, o->rt60_max_s), drr = uniform(r, DRR_LO_DB, DRR_HI_DB);
    uint64_t rs = aa_rng_u64(r);
    if (u < o->reverb_p) {
        p->reverb = 1;
        p->rt60_s = (float)rt;
        p->drr_db = (float)drr;
        p->reverb_seed = rs;
    }

    u = aa_rng_uniform_d(r);
    double cd = uniform(r, CLIP_LO_DB, CLIP_HI_DB);
    if (u < o->clip_p) {
        p->clip = 1;
        p->clip_db = (float)cd;
    }
}

int ds_wave_any(const ds_augment_params *p)
{
    return p->mixture || p->colour || p->reverb || p->clip;
}

/* ---- rendering --------------------------------------------------------------------------------------------- */

void ds_wave_tools_free(ds_wave_tools *t)
{
    dsp_logmel_free(t->lm);
    dsp_convolver_free(t->cv);
    free(t->wave);
    free(t->ir);
    memset(t, 0, sizeof *t);
}

int ds_wave_tools_make(ds_wave_tools *t, const dsp_settings *s, const ds_augment_opts *o, int n_threads,
                       aa_error *err)
{
    memset(t, 0, sizeof *t);
    t->n_threads = n_threads;
    t->clip_n = dsp_clip_samples(s);
    if (!(t->lm = dsp_logmel_new(s, n_threads, err)))
        return err ? err->code : DS_ERR_DSP;
    if (o->reverb_p > 0) {
        t->ir_n = dsp_room_length(o->rt60_max_s, s->sample_rate);
        if (!(t->cv = dsp_convolver_new(t->clip_n, t->ir_n, n_threads, err))) {
            ds_wave_tools_free(t);
            return err ? err->code : DS_ERR_DSP;
        }
        t->ir = malloc((size_t)n_threads * t->ir_n * sizeof *t->ir);
    }
    t->wave = malloc((size_t)n_threads * t->clip_n * sizeof *t->wave);
    if (!t->wave || (o->reverb_p > 0 && !t->ir)) {
        ds_wave_tools_free(t);
        return aa_error_set(err, DS_ERR_NOMEM, "augmentation: out of memory");
    }
    return 0;
}

static void colour(float *x, size_t n, const ds_augment_params *p, int rate)
{
    dsp_biquad b = dsp_biquad_low_shelf(TILT_LOW_HZ, -p->tilt_db / 2, rate);
    dsp_biquad_run(&b, x, n);
    b = dsp_biquad_high_shelf(TILT_HIGH_HZ, p->tilt_db / 2, rate);
    dsp_biquad_run(&b, x, n);
    if (p->highpass_hz > 0) {
        b = dsp_biquad_highpass(p->highpass_hz, M_SQRT1_2, rate);
        dsp_biquad_run(&b, x, n);
    }
    double lo = p->band == DS_BAND_TELEPHONE ? TELEPHONE_LO_HZ : 0;
    double hi = p->band == DS_BAND_TELEPHONE ? TELEPHONE_HI_HZ : p->band == DS_BAND_LOWPASS ? p->lowpass_hz : 0;
    const double q[2] = {DSP_BUTTER4_Q1, DSP_BUTTER4_Q2};
    for (int k = 0; k < 2; k++) {
        if (lo > 0) {
            b = dsp_biquad_highpass(lo, q[k], rate);
            dsp_biquad_run(&b, x, n);
        }
        if (hi > 0) {
            b = dsp_biquad_lowpass(hi, q[k], rate);
            dsp_biquad_run(&b, x, n);
        }
    }
}

static void clip(float *x, size_t n, double depth_db)
{
    float peak = 0;
    for (size_t i = 0; i < n; i++)
        peak = fabsf(x[i]) > peak ? fabsf(x[i]) : peak;
    float t = (float)(peak * pow(10, -depth_db / 20));
    for (size_t i = 0; i < n; i++)
        x[i] = x[i] > t ? t : x[i] < -t ? -t : x[i];
}

int ds_wave_render(const ds_cache *c, const ds_wave_pools *pools, const ds_augment_opts *o, int bg_class,
                   ds_wave_tools *t, int slot, size_t w, const ds_augment_params *p, float *feat, aa_error *err)
{
    const ds_window *win = &c->windows[w];
    const int rate = c->dsp.sample_rate;
    const size_t n = t->clip_n;
    float *x = t->wave + (size_t)slot * n;
    int rc = 0;
    if (p->mixture) {
        aa_rng r;
        aa_rng_seed(&r, p->mix_seed);
        const ds_piece *bg = &pools->bg[aa_rng_below(&r, pools->n_bg)];
        size_t ne = win->cls == bg_class ? 0 : pools->ev_count[win->cls];
        const ds_piece *ev = ne ? pools->ev + pools->ev_first[win->cls] : NULL;
        if ((rc = ds_mixture_make(bg, ev, ne, rate, &o->mix, &r, x, n, NULL, err)))
            return rc;
    } else {
        const float *s = c->signal ? c->signal[win->file] : NULL;
        if (!s)
            return aa_error_set(err, DS_ERR_ARG, "%s: waveform augmentation needs its decoded signal, no longer held",
                                c->files[win->file].rel);
        size_t len = (size_t)c->files[win->file].n_samples, off = (size_t)win->offset;
        size_t have = off < len ? len - off : 0;
        have = have < n ? have : n;
        memcpy(x, s + off, have * sizeof *x);
        memset(x + have, 0, (n - have) * sizeof *x);
    }
    if (p->reverb) {
        aa_rng r;
        aa_rng_seed(&r, p->reverb_seed);
        size_t m = dsp_room_length(p->rt60_s, rate);
        m = m < t->ir_n ? m : t->ir_n;
        float *h = t->ir + (size_t)slot * t->ir_n;
        if ((rc = dsp_room_response(p->rt60_s, p->drr_db, rate, &r, h, m, err)) ||
            (rc = dsp_convolve(t->cv, slot, x, n, h, m, x, err)))
            return rc;
    }
    if (p->colour)
        colour(x, n, p, rate);
    if (p->clip)
        clip(x, n, p->clip_db);
    const size_t zero = 0;
    return dsp_windows_logmel(t->lm, slot, x, n, &zero, 1, feat, err);
}
