/* Demo corpus clips: coughs, deep and shallow breathing, background, with per-person and per-clip variation.
 *
 * The aim is a task a small CNN learns well but not perfectly, and that no single loudness threshold solves:
 * levels of all classes overlap widely; background places contain confusers (distant formant-coloured
 * bursts that resemble far coughs, slow wind gusts that resemble breathing, babble); deep and shallow
 * breathing differ mainly in their cycle rate, whose ranges overlap a little, and in loudness. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "demo/demo_internal.h"

#define FS ((double)DEMO_RATE)
#define PI 3.14159265358979323846

const char *demo_class_name(int cls)
{
    static const char *const names[DEMO_N_CLASSES] = {"cough", "heavy_breathing", "normal_breathing",
                                                        "background_noise"};
    return cls >= 0 && cls < DEMO_N_CLASSES ? names[cls] : NULL;
}

void demo_speaker_draw(demo_speaker *sp, aa_rng *r)
{
    /* Formant ranges of adult vowels around an open vocal tract, where cough noise is coloured. */
    sp->formant[0] = demo_unif(r, 450, 900);
    sp->formant[1] = demo_unif(r, 1100, 2000);
    sp->formant[2] = demo_unif(r, 2300, 3300);
    sp->formant_gain[0] = 1.0;
    sp->formant_gain[1] = demo_unif(r, 0.4, 0.9);
    sp->formant_gain[2] = demo_unif(r, 0.2, 0.6);
    sp->f0 = demo_unif(r, 90, 250);
    sp->breath_fc = demo_unif(r, 500, 1400);
    sp->breath_q = demo_unif(r, 0.6, 1.4);
    sp->mic_hp = demo_unif(r, 60, 250);
    sp->mic_lp = demo_unif(r, 4500, 7500);
    sp->room_pink = demo_unif(r, 0.2, 1.0);
    sp->room_brown = demo_unif(r, 0.0, 1.0);
    sp->room_hum = aa_rng_uniform_d(r) < 0.3 ? demo_unif(r, 0.1, 0.6) : 0.0;
    sp->hum_f = aa_rng_uniform_d(r) < 0.5 ? 50.0 : 60.0;
    sp->effort_db = demo_unif(r, -4, 4);
}

void demo_scene_draw(demo_scene *sc, aa_rng *r)
{
    sc->w_white = demo_unif(r, 0.0, 1.0);
    sc->w_pink = demo_unif(r, 0.2, 1.0);
    sc->w_brown = demo_unif(r, 0.0, 1.0);
    sc->lp = demo_unif(r, 1500, 7500);
    sc->p_wind = demo_unif(r, 0.0, 0.7);
    sc->p_rain = demo_unif(r, 0.0, 0.5);
    sc->p_hum = demo_unif(r, 0.0, 0.7);
    sc->p_clicks = demo_unif(r, 0.0, 0.7);
    sc->p_bursts = demo_unif(r, 0.1, 0.8);
    sc->p_chirps = demo_unif(r, 0.0, 0.5);
    sc->p_babble = demo_unif(r, 0.0, 0.5);
    sc->hum_f = aa_rng_uniform_d(r) < 0.5 ? 50.0 : 60.0;
    sc->mic_hp = demo_unif(r, 40, 250);
    sc->mic_lp = demo_unif(r, 4000, 7800);
}

/* ---- coughs ----------------------------------------------------------------------------------------------- */

size_t demo_render_cough(float *y, size_t n, size_t onset, double amp, const demo_speaker *sp, aa_rng *r)
{
    double attack = demo_unif(r, 0.003, 0.012);
    double tau1 = demo_unif(r, 0.025, 0.07), tau2 = demo_unif(r, 0.08, 0.2), tail = demo_unif(r, 0.12, 0.4);
    double broad = demo_unif(r, 0.25, 0.6);
    size_t len = (size_t)((attack + 5 * tau2 + 0.03) * FS);
    demo_biquad fm[3], hp;
    for (int j = 0; j < 3; j++)
        demo_bq_bandpass(&fm[j], sp->formant[j] * demo_unif(r, 0.92, 1.08), demo_unif(r, 3, 8), FS);
    demo_bq_highpass(&hp, demo_unif(r, 800, 2000), 0.707, FS);
    /* The voiced part: a glottal pulse train through the same formants, shortly after the burst. */
    int voiced = aa_rng_uniform_d(r) < 0.55;
    double v_start = demo_unif(r, 0.02, 0.05), v_dur = demo_unif(r, 0.08, 0.25), v_gain = demo_unif(r, 0.25, 0.7);
    double f0 = sp->f0 * demo_unif(r, 0.9, 1.25), f0_drop = demo_unif(r, 0.0, 0.3), pulse_pos = 1.0;
    /* Sometimes a quick inhale just before the cough. */
    if (aa_rng_uniform_d(r) < 0.3) {
        size_t in_len = (size_t)(demo_unif(r, 0.12, 0.28) * FS), gap = (size_t)(demo_unif(r, 0.02, 0.08) * FS);
        if (onset > in_len + gap) {
            demo_biquad bi;
            demo_bq_bandpass(&bi, sp->breath_fc * demo_unif(r, 1.1, 1.6), sp->breath_q, FS);
            double g = amp * demo_unif(r, 0.05, 0.15);
            size_t s0 = onset - in_len - gap;
            for (size_t i = 0; i < in_len && s0 + i < n; i++)
                y[s0 + i] += (float)(g * pow(sin(PI * (double)i / (double)in_len), 2) * demo_bq_run(&bi, demo_white(r)));
        }
    }
    double norm = 4.0; /* narrow band-passes of unit noise come out near 0.25 RMS */
    for (size_t i = 0; i < len && onset + i < n; i++) {
        double t = (double)i / FS;
        double e = t < attack ? (t / attack) * (t / attack)
                              : (1 - tail) * exp(-(t - attack) / tau1) + tail * exp(-(t - attack) / tau2);
        double ev = 0, pulse = 0;
        if (voiced && t >= v_start && t < v_start + v_dur) {
            double u = (t - v_start) / v_dur;
            ev = v_gain * sin(PI * u);
            pulse_pos += f0 * (1 - f0_drop * u) / FS;
            if (pulse_pos >= 1.0) {
                pulse_pos -= 1.0;
                pulse = 6.0;
            }
        }
        double w = demo_white(r);
        double x = e * w + ev * pulse;
        double s = 0;
        for (int j = 0; j < 3; j++)
            s += sp->formant_gain[j] * demo_bq_run(&fm[j], x);
        s = s * norm + broad * e * demo_bq_run(&hp, w);
        y[onset + i] += (float)(amp * s);
    }
    return len;
}

/* ---- breathing -------------------------------------------------------------------------------------------- */

void demo_render_breathing(float *y, size_t n, int deep, double phase, const demo_speaker *sp, aa_rng *r)
{
    /* Deep: 10-23 breaths a minute; shallow: 20-55. The overlap (2.6-3.0 s) keeps the pair from being
     * separable by rate alone, as with real recordings. */
    double period = deep ? demo_unif(r, 2.6, 6.0) : demo_unif(r, 1.1, 3.0);
    double in_frac = demo_unif(r, 0.32, 0.45), ex_frac = demo_unif(r, 0.38, 0.50), hold = demo_unif(r, 0.02, 0.08);
    double ex_gain = demo_unif(r, 0.6, 1.2);
    double hiss = deep ? demo_unif(r, 0.05, 0.25) : demo_unif(r, 0.15, 0.5);
    double rumble = deep ? demo_unif(r, 0.2, 0.7) : demo_unif(r, 0.0, 0.3);
    demo_biquad bin, bex, bhiss, blow;
    demo_bq_bandpass(&bin, sp->breath_fc * (deep ? demo_unif(r, 1.0, 1.4) : demo_unif(r, 1.1, 1.7)),
                   sp->breath_q * demo_unif(r, 0.8, 1.2), FS);
    demo_bq_bandpass(&bex, sp->breath_fc * demo_unif(r, 0.65, 1.0), sp->breath_q * demo_unif(r, 0.7, 1.1), FS);
    demo_bq_highpass(&bhiss, demo_unif(r, 2000, 4000), 0.707, FS);
    demo_bq_lowpass(&blow, demo_unif(r, 150, 400), 0.707, FS);
    demo_smooth flutter;
    demo_smooth_init(&flutter, demo_unif(r, 8, 15), FS, r);
    double flutter_depth = demo_unif(r, 0.1, 0.3);
    double cur = period * FS * demo_unif(r, 0.9, 1.1), pos = phase * cur; /* samples */
    for (size_t i = 0; i < n; i++) {
        double u = pos / cur, ein = 0, eex = 0, ex0 = in_frac + hold;
        if (u < in_frac)
            ein = pow(sin(PI * u / in_frac), 1.5);
        else if (u >= ex0 && u < ex0 + ex_frac)
            eex = ex_gain * pow(sin(PI * (u - ex0) / ex_frac), 1.5);
        double fl = 1.0 + flutter_depth * (demo_smooth_next(&flutter, r) - 0.5);
        double w = demo_white(r);
        double s = ein * demo_bq_run(&bin, w) + eex * demo_bq_run(&bex, w) +
                   (ein + eex) * (hiss * demo_bq_run(&bhiss, w) + rumble * demo_bq_run(&blow, w));
        y[i] += (float)(s * fl);
        if (++pos >= cur) {
            pos -= cur;
            cur = period * FS * demo_unif(r, 0.9, 1.1);
        }
    }
}

/* ---- background and room tone ----------------------------------------------------------------------------- */

static void add_scaled(float *y, const float *x, size_t n, double level)
{
    double rms = demo_rms(x, n);
    if (rms <= 0)
        return;
    double g = level / rms;
    for (size_t i = 0; i < n; i++)
        y[i] += (float)(g * x[i]);
}

static double db(double x)
{
    return pow(10.0, x / 20.0);
}

static void add_hum(float *x, size_t n, double f, aa_rng *r)
{
    double amp[6], ph[6], tilt = demo_unif(r, 0.5, 1.5);
    for (int h = 0; h < 6; h++) {
        amp[h] = pow(h + 1.0, -tilt);
        ph[h] = demo_unif(r, 0, 2 * PI);
    }
    for (size_t i = 0; i < n; i++) {
        double s = 0, t = (double)i / FS;
        for (int h = 0; h < 6; h++)
            s += amp[h] * sin(2 * PI * f * (h + 1) * t + ph[h]);
        x[i] += (float)s;
    }
}

/* Components are rendered one at a time into `tmp` and added at a level relative to the base noise. */
void demo_render_background(float *y, size_t n, const demo_scene *sc, aa_rng *r, float *tmp)
{
    double ps[3] = {0};
    demo_biquad lp;
    demo_bq_lowpass(&lp, sc->lp * demo_unif(r, 0.8, 1.2), 0.707, FS);
    double ww = sc->w_white * demo_unif(r, 0.7, 1.3), wp = sc->w_pink * demo_unif(r, 0.7, 1.3),
           wb = sc->w_brown * demo_unif(r, 0.7, 1.3), brown = 0;
    for (size_t i = 0; i < n; i++) {
        double w = demo_white(r);
        brown = 0.995 * brown + 0.1 * demo_white(r);
        tmp[i] = (float)demo_bq_run(&lp, ww * w + wp * demo_pink(r, ps) + wb * brown);
    }
    add_scaled(y, tmp, n, 1.0);

    if (aa_rng_uniform_d(r) < sc->p_wind) { /* gusts: slow swells of low rumble, like breathing cycles */
        demo_biquad wl;
        demo_bq_lowpass(&wl, demo_unif(r, 150, 500), 0.707, FS);
        demo_smooth gust;
        demo_smooth_init(&gust, demo_unif(r, 0.2, 1.2), FS, r);
        for (size_t i = 0; i < n; i++) {
            double g = demo_smooth_next(&gust, r);
            tmp[i] = (float)(g * g * demo_bq_run(&wl, demo_white(r)));
        }
        add_scaled(y, tmp, n, db(demo_unif(r, 0, 10)));
    }
    if (aa_rng_uniform_d(r) < sc->p_rain) { /* droplets: short decaying tones */
        memset(tmp, 0, n * sizeof *tmp);
        double rate = demo_unif(r, 20, 150);
        size_t drops = (size_t)(rate * (double)n / FS);
        for (size_t d = 0; d < drops; d++) {
            size_t at = (size_t)aa_rng_below(r, n);
            double f = demo_unif(r, 1500, 6000), tau = demo_unif(r, 0.002, 0.006), a = demo_unif(r, 0.2, 1.0);
            for (size_t i = 0; at + i < n && i < (size_t)(5 * tau * FS); i++)
                tmp[at + i] += (float)(a * exp(-(double)i / (tau * FS)) * sin(2 * PI * f * (double)i / FS));
        }
        add_scaled(y, tmp, n, db(demo_unif(r, -5, 5)));
    }
    if (aa_rng_uniform_d(r) < sc->p_hum) {
        memset(tmp, 0, n * sizeof *tmp);
        add_hum(tmp, n, sc->hum_f, r);
        add_scaled(y, tmp, n, db(demo_unif(r, -10, 5)));
    }
    if (aa_rng_uniform_d(r) < sc->p_clicks) { /* sharp broadband ticks, well above the base noise */
        int k = 1 + (int)aa_rng_below(r, 10);
        for (int c = 0; c < k; c++) {
            size_t at = (size_t)aa_rng_below(r, n);
            double tau = demo_unif(r, 0.0005, 0.003), a = demo_unif(r, 3, 15);
            for (size_t i = 0; at + i < n && i < (size_t)(6 * tau * FS); i++)
                y[at + i] += (float)(a * exp(-(double)i / (tau * FS)) * demo_white(r));
        }
    }
    if (aa_rng_uniform_d(r) < sc->p_bursts) { /* distant bursts; half formant-coloured, like a far cough */
        int k = 1 + (int)aa_rng_below(r, 3);
        for (int b = 0; b < k; b++) {
            size_t len = (size_t)(demo_unif(r, 0.08, 0.5) * FS);
            if (len >= n)
                len = n / 2;
            size_t at = (size_t)aa_rng_below(r, n - len);
            demo_biquad f1, f2;
            int formant = aa_rng_uniform_d(r) < 0.5;
            demo_bq_lowpass(&f1, demo_unif(r, 400, 2000), 0.707, FS);
            demo_bq_bandpass(&f2, demo_unif(r, 450, 1800), demo_unif(r, 2, 6), FS);
            double a = db(demo_unif(r, 0, 8)) * 2.0;
            for (size_t i = 0; i < len; i++) {
                double e = pow(sin(PI * (double)i / (double)len), 2), w = demo_white(r);
                y[at + i] += (float)(a * e * (formant ? 3.0 * demo_bq_run(&f2, w) : demo_bq_run(&f1, w)));
            }
        }
    }
    if (aa_rng_uniform_d(r) < sc->p_chirps) { /* bird-like sweeps */
        int k = 2 + (int)aa_rng_below(r, 7);
        for (int c = 0; c < k; c++) {
            size_t len = (size_t)(demo_unif(r, 0.04, 0.2) * FS);
            size_t at = (size_t)aa_rng_below(r, n > len ? n - len : 1);
            double f1 = demo_unif(r, 2000, 7000), f2 = demo_unif(r, 2000, 7000), ph = 0, a = db(demo_unif(r, -6, 6));
            for (size_t i = 0; i < len && at + i < n; i++) {
                double u = (double)i / (double)len;
                ph += 2 * PI * (f1 + (f2 - f1) * u) / FS;
                y[at + i] += (float)(a * sin(PI * u) * sin(ph));
            }
        }
    }
    if (aa_rng_uniform_d(r) < sc->p_babble) { /* distant voices: formant noise in syllable-rate bursts */
        demo_biquad v[3];
        double fc[3] = {demo_unif(r, 400, 900), demo_unif(r, 1000, 2200), demo_unif(r, 2300, 3200)};
        for (int j = 0; j < 3; j++)
            demo_bq_bandpass(&v[j], fc[j], demo_unif(r, 3, 6), FS);
        demo_smooth syl;
        demo_smooth_init(&syl, demo_unif(r, 6, 12), FS, r);
        for (size_t i = 0; i < n; i++) {
            double e = demo_smooth_next(&syl, r), w = demo_white(r);
            tmp[i] = (float)(e * e * e * (demo_bq_run(&v[0], w) + 0.6 * demo_bq_run(&v[1], w) + 0.3 * demo_bq_run(&v[2], w)));
        }
        add_scaled(y, tmp, n, db(demo_unif(r, -6, 4)));
    }
    demo_render_mic(y, n, sc->mic_hp, sc->mic_lp);
}

void demo_render_room(float *y, size_t n, const demo_speaker *sp, aa_rng *r)
{
    double ps[3] = {0}, brown = 0;
    for (size_t i = 0; i < n; i++) {
        brown = 0.995 * brown + 0.1 * demo_white(r);
        y[i] += (float)(sp->room_pink * demo_pink(r, ps) + sp->room_brown * brown + 0.1 * demo_white(r));
    }
    if (sp->room_hum > 0) {
        double rms = demo_rms(y, n), ph = demo_unif(r, 0, 2 * PI);
        for (size_t i = 0; i < n; i++)
            y[i] += (float)(sp->room_hum * rms * 2.0 * sin(2 * PI * sp->hum_f * (double)i / FS + ph));
    }
}

/* ---- a clip ----------------------------------------------------------------------------------------------- */

/* Loudness while sounding: the 90th percentile of 20 ms frame RMS. Clip RMS would make a lone cough in
 * silence look quiet. frames: scratch of n/320+1. */
double demo_active_level(const float *x, size_t n, float *frames)
{
    size_t hop = DEMO_RATE / 50, m = 0;
    for (size_t i = 0; i + hop <= n; i += hop)
        frames[m++] = (float)demo_rms(x + i, hop);
    if (!m)
        return demo_rms(x, n);
    qsort(frames, m, sizeof *frames, demo_cmp_float);
    return frames[(size_t)(0.9 * (double)(m - 1))];
}

int demo_cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Active level ranges (dBFS) overlap across classes on purpose, so loudness alone cannot tell them apart. */
static const double level_lo[DEMO_N_CLASSES] = {-30, -34, -42, -44};
static const double level_hi[DEMO_N_CLASSES] = {-8, -12, -20, -16};

int demo_clip(float **out, size_t *n_out, int cls, uint64_t index, uint64_t speaker, uint64_t seed, aa_error *err)
{
    *out = NULL;
    *n_out = 0;
    if (!demo_class_name(cls))
        return aa_error_set(err, AA_ERR_ARG, "synth: class %d out of range (0..%d)", cls, DEMO_N_CLASSES - 1);
    aa_rng r;
    aa_rng_seed3(&r, seed, DEMO_STREAM_CLIP + (uint64_t)cls, index);
    double u = aa_rng_uniform_d(&r);
    double dur = u < 1.0 / 6 ? demo_unif(&r, 1.5, 4.0) : u < 2.0 / 6 ? demo_unif(&r, 4.0, 8.0) : 4.0;
    size_t n = (size_t)lround(dur * FS);
    float *y = calloc(n, sizeof *y), *tmp = calloc(n, sizeof *tmp), *frames = malloc((n / 320 + 1) * sizeof *frames);
    if (!y || !tmp || !frames) {
        free(y);
        free(tmp);
        free(frames);
        return aa_error_set(err, AA_ERR_NOMEM, "synth: out of memory");
    }
    aa_rng who;
    double effort = 0;
    if (cls == DEMO_BACKGROUND) {
        demo_scene sc;
        aa_rng_seed3(&who, seed, DEMO_STREAM_SCENE, speaker);
        demo_scene_draw(&sc, &who);
        demo_render_background(y, n, &sc, &r, tmp);
    } else {
        demo_speaker sp;
        aa_rng_seed3(&who, seed, DEMO_STREAM_SPEAKER, speaker);
        demo_speaker_draw(&sp, &who);
        effort = sp.effort_db;
        if (cls == DEMO_COUGH) {
            /* 1 cough (half the clips), 2 or 3, at random non-overlapping times. */
            double v = aa_rng_uniform_d(&r);
            int k = v < 0.5 ? 1 : v < 0.8 ? 2 : 3;
            size_t spacing = (size_t)(0.35 * FS), last = 0;
            for (int c = 0; c < k; c++) {
                size_t lo = c ? last + spacing : (size_t)(0.05 * FS), hi = n > (size_t)(0.45 * FS) ? n - (size_t)(0.45 * FS) : 0;
                if (lo >= hi)
                    break;
                /* Later coughs of a bout follow closely; the first one may fall anywhere. */
                size_t span = c ? (size_t)(0.6 * FS) : hi - lo;
                size_t at = lo + (size_t)aa_rng_below(&r, span < hi - lo ? span : hi - lo);
                demo_render_cough(tmp, n, at, c ? demo_unif(&r, 0.5, 1.0) : 1.0, &sp, &r);
                last = at;
            }
        } else {
            demo_render_breathing(tmp, n, cls == DEMO_HEAVY, aa_rng_uniform_d(&r), &sp, &r);
        }
        /* Foreground at active level 0.1, room tone 8-30 dB under it. */
        double lvl = demo_active_level(tmp, n, frames);
        double g = lvl > 0 ? 0.1 / lvl : 0;
        for (size_t i = 0; i < n; i++)
            y[i] = (float)(g * tmp[i]);
        memset(tmp, 0, n * sizeof *tmp);
        demo_render_room(tmp, n, &sp, &r);
        add_scaled(y, tmp, n, 0.1 * db(-demo_unif(&r, 8, 30)));
        demo_render_mic(y, n, sp.mic_hp * demo_unif(&r, 0.9, 1.1), sp.mic_lp * demo_unif(&r, 0.9, 1.1));
    }
    double target = db(demo_unif(&r, level_lo[cls], level_hi[cls]) + effort);
    double lvl = demo_active_level(y, n, frames), peak = 0;
    double g = lvl > 0 ? target / lvl : 0;
    for (size_t i = 0; i < n; i++)
        peak = fmax(peak, fabs(g * y[i]));
    /* Keep 1 dB of headroom: a demo corpus that clips would teach the model clipping. */
    if (peak > 0.89)
        g *= 0.89 / peak;
    for (size_t i = 0; i < n; i++)
        y[i] = (float)(g * y[i]);
    free(tmp);
    free(frames);
    *out = y;
    *n_out = n;
    return 0;
}
