/* A long demo recording: background throughout, foreground bouts at known times (for timelines and tests). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "demo/demo_internal.h"

#define FS ((double)DEMO_RATE)
#define GAP_MIN 1.5   /* s of background between events, so a 4 s window can straddle at most one edge */
#define EDGE_MIN 1.0  /* s of background at each end */
#define COUGH_SPAN 0.45 /* s from a cough's onset counted as the event: its tail is 25 dB down by then */
#define MAX_EVENTS 512

static double db(double x)
{
    return pow(10.0, x / 20.0);
}

typedef struct {
    int cls;
    double len;       /* event length, s */
    int coughs;       /* cough bouts: number of coughs and their onsets (s from the event start) */
    double onset[3];
} plan;

static void draw_plan(plan *p, int cls, aa_rng *r)
{
    memset(p, 0, sizeof *p);
    p->cls = cls;
    if (cls == DEMO_COUGH) {
        double v = aa_rng_uniform_d(r);
        p->coughs = v < 0.4 ? 1 : v < 0.8 ? 2 : 3;
        for (int c = 1; c < p->coughs; c++)
            p->onset[c] = p->onset[c - 1] + demo_unif(r, 0.3, 0.6);
        p->len = p->onset[p->coughs - 1] + COUGH_SPAN;
    } else {
        /* Long enough that a 4 s window fits wholly inside a bout. */
        p->len = cls == DEMO_HEAVY ? demo_unif(r, 5.0, 7.0) : demo_unif(r, 4.5, 6.0);
    }
}

int demo_long(float **out, size_t *n_out, demo_event **events, size_t *n_events, double seconds,
                  uint64_t seed, aa_error *err)
{
    *out = NULL;
    *events = NULL;
    *n_out = *n_events = 0;
    if (!(seconds >= 5 && seconds <= 600))
        return aa_error_set(err, AA_ERR_ARG, "synth: long recording of %g s; allowed 5 to 600 s", seconds);
    aa_rng r, rs, rc;
    aa_rng_seed3(&r, seed, DEMO_STREAM_LONG, 0);
    aa_rng_seed3(&rs, seed, DEMO_STREAM_LONG, 1);
    aa_rng_seed3(&rc, seed, DEMO_STREAM_LONG, 2);
    demo_speaker sp;
    demo_scene sc;
    demo_speaker_draw(&sp, &rs);
    demo_scene_draw(&sc, &rc);

    /* Plan: one event of each class first (in a seeded order), then cough/heavy/cough/normal while they fit. */
    plan *pl = malloc(MAX_EVENTS * sizeof *pl);
    demo_event *ev = calloc(MAX_EVENTS, sizeof *ev);
    size_t n = (size_t)lround(seconds * FS);
    float *y = calloc(n, sizeof *y), *tmp = calloc(n, sizeof *tmp), *frames = malloc((n / 320 + 1) * sizeof *frames);
    if (!pl || !ev || !y || !tmp || !frames) {
        free(pl), free(ev), free(y), free(tmp), free(frames);
        return aa_error_set(err, AA_ERR_NOMEM, "synth: out of memory for a %g s recording", seconds);
    }
    size_t first[3] = {DEMO_COUGH, DEMO_HEAVY, DEMO_NORMAL};
    aa_rng_shuffle(&r, first, 3);
    static const int cycle[4] = {DEMO_COUGH, DEMO_HEAVY, DEMO_COUGH, DEMO_NORMAL};
    size_t k = 0;
    double used = 0;
    for (size_t i = 0; k < MAX_EVENTS; i++) {
        plan p;
        draw_plan(&p, i < 3 ? (int)first[i] : cycle[(i - 3) % 4], &r);
        if (used + p.len + GAP_MIN * (double)k + 2 * EDGE_MIN > seconds)
            break;
        pl[k++] = p;
        used += p.len;
    }
    /* Spread the spare time over the gaps with random shares. */
    double share[MAX_EVENTS + 1], tot = 0;
    for (size_t i = 0; i <= k; i++)
        tot += share[i] = demo_unif(&r, 0.2, 1.0);
    double spare = seconds - used - GAP_MIN * (double)(k ? k - 1 : 0) - 2 * EDGE_MIN, t = EDGE_MIN;

    demo_render_background(y, n, &sc, &r, tmp);
    double lvl = demo_active_level(y, n, frames);
    double bg = db(demo_unif(&r, -46, -36));
    for (size_t i = 0; i < n; i++)
        y[i] = (float)(lvl > 0 ? y[i] * bg / lvl : 0);

    for (size_t e = 0; e < k; e++) {
        t += spare * share[e] / tot;
        plan *p = &pl[e];
        size_t s0 = (size_t)lround(t * FS), len = (size_t)lround(p->len * FS);
        /* Cough tails ring on past the counted span; breathing bouts fade in and out within theirs. */
        size_t buf = p->cls == DEMO_COUGH ? len + (size_t)(0.6 * FS) : len;
        if (s0 + buf > n)
            buf = n - s0;
        memset(tmp, 0, buf * sizeof *tmp);
        double snr;
        if (p->cls == DEMO_COUGH) {
            for (int c = 0; c < p->coughs; c++)
                demo_render_cough(tmp, buf, (size_t)lround(p->onset[c] * FS), c ? demo_unif(&r, 0.5, 1.0) : 1.0, &sp, &r);
            snr = demo_unif(&r, 14, 26);
        } else {
            demo_render_breathing(tmp, buf, p->cls == DEMO_HEAVY, 0.0, &sp, &r);
            size_t fade = (size_t)(0.15 * FS);
            for (size_t i = 0; i < fade && i < buf; i++) {
                double g = (double)i / (double)fade;
                tmp[i] *= (float)g;
                tmp[buf - 1 - i] *= (float)g;
            }
            snr = p->cls == DEMO_HEAVY ? demo_unif(&r, 14, 22) : demo_unif(&r, 8, 16);
        }
        demo_render_mic(tmp, buf, sp.mic_hp, sp.mic_lp);
        double el = demo_active_level(tmp, buf, frames);
        double g = el > 0 ? bg * db(snr) / el : 0;
        for (size_t i = 0; i < buf; i++)
            y[s0 + i] += (float)(g * tmp[i]);
        ev[e] = (demo_event){(double)s0 / FS, (double)(s0 + len) / FS, p->cls};
        t += p->len + GAP_MIN;
    }
    double peak = 0;
    for (size_t i = 0; i < n; i++)
        peak = fmax(peak, fabs(y[i]));
    if (peak > 0.89)
        for (size_t i = 0; i < n; i++)
            y[i] = (float)(y[i] * 0.89 / peak);
    free(pl);
    free(tmp);
    free(frames);
    *out = y;
    *n_out = n;
    *events = ev;
    *n_events = k;
    return 0;
}

int demo_label_at(const demo_event *events, size_t n_events, double t0, double t1)
{
    double cover[DEMO_N_CLASSES] = {0};
    for (size_t i = 0; i < n_events; i++) {
        const demo_event *e = &events[i];
        if (e->cls == DEMO_COUGH && e->start >= t0 && e->end <= t1)
            return DEMO_COUGH;
        double a = fmax(t0, e->start), b = fmin(t1, e->end);
        if (b > a)
            cover[e->cls] += b - a;
    }
    int best = DEMO_BACKGROUND;
    for (int c = DEMO_HEAVY; c <= DEMO_NORMAL; c++)
        if (cover[c] >= 0.5 * (t1 - t0) && (best == DEMO_BACKGROUND || cover[c] > cover[best]))
            best = c;
    return best;
}
