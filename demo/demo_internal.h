#ifndef AA_DEMO_INTERNAL_H
#define AA_DEMO_INTERNAL_H

/* Signal pieces and class renderers of the demo corpus, shared by synth.c, synth_long.c and corpus.c. */

#include <stddef.h>

#include "demo/demo.h"

/* A second-order IIR section (RBJ audio-EQ cookbook), transposed direct form II, in double precision. */
typedef struct {
    double b0, b1, b2, a1, a2, z1, z2;
} demo_biquad;

void demo_bq_lowpass(demo_biquad *f, double fc, double q, double rate);
void demo_bq_highpass(demo_biquad *f, double fc, double q, double rate);
/* Band-pass with 0 dB gain at fc. */
void demo_bq_bandpass(demo_biquad *f, double fc, double q, double rate);
static inline double demo_bq_run(demo_biquad *f, double x)
{
    double y = f->b0 * x + f->z1;
    f->z1 = f->b1 * x - f->a1 * y + f->z2;
    f->z2 = f->b2 * x - f->a2 * y;
    return y;
}

/* White noise of unit variance (uniform: filtering makes it Gaussian enough, and it is cheaper than
 * Box-Muller per sample). */
static inline double demo_white(aa_rng *r)
{
    return (aa_rng_uniform_d(r) * 2.0 - 1.0) * 1.7320508075688772;
}

/* Uniform in [lo, hi). */
static inline double demo_unif(aa_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * aa_rng_uniform_d(r);
}

/* Pink (-3 dB/octave) noise: Paul Kellet's economy filter over white noise. state: [3]. */
double demo_pink(aa_rng *r, double *state);
/* A smooth random curve in [0, 1], about `rate` new random points a second, cosine-interpolated. */
typedef struct {
    double a, b, pos, step;
} demo_smooth;
void demo_smooth_init(demo_smooth *s, double rate, double fs, aa_rng *r);
double demo_smooth_next(demo_smooth *s, aa_rng *r);

/* Loudness while sounding: 90th percentile of 20 ms frame RMS. frames: scratch of n / 320 + 1 floats. */
double demo_active_level(const float *x, size_t n, float *frames);
int demo_cmp_float(const void *a, const void *b);

double demo_rms(const float *x, size_t n);

/* A simulated person: vocal tract, breathing and microphone/room. */
typedef struct {
    double formant[3], formant_gain[3];
    double f0;
    double breath_fc, breath_q;
    double mic_hp, mic_lp;
    double room_pink, room_brown, room_hum, hum_f;
    double effort_db;
} demo_speaker;

/* A simulated place: which sounds it tends to have. */
typedef struct {
    double w_white, w_pink, w_brown, lp;
    double p_wind, p_rain, p_hum, p_clicks, p_bursts, p_chirps, p_babble;
    double hum_f;
    double mic_hp, mic_lp;
} demo_scene;

void demo_speaker_draw(demo_speaker *sp, aa_rng *r);
void demo_scene_draw(demo_scene *sc, aa_rng *r);

/* Adds one cough starting at sample `onset` (cut at n) with peak-ish amplitude amp; returns its audible
 * length in samples. */
size_t demo_render_cough(float *y, size_t n, size_t onset, double amp, const demo_speaker *sp, aa_rng *r);
/* Adds breathing cycles over y[0..n) (deep: slow cycles; else fast). phase: where in the first cycle to start,
 * in [0, 1). The caller sets the level. */
void demo_render_breathing(float *y, size_t n, int deep, double phase, const demo_speaker *sp, aa_rng *r);
/* Adds a place's background over y[0..n), microphone included; the caller sets the level. tmp: n floats of
 * scratch. */
void demo_render_background(float *y, size_t n, const demo_scene *sc, aa_rng *r, float *tmp);
/* Adds a speaker's room tone; the caller sets the level. */
void demo_render_room(float *y, size_t n, const demo_speaker *sp, aa_rng *r);
/* Band-limits y as a microphone would. */
void demo_render_mic(float *y, size_t n, double hp, double lp);

/* rng streams (aa_rng_seed3's `stream`), so that clips, people and places draw independent numbers. */
enum { DEMO_STREAM_CLIP = 1, DEMO_STREAM_SPEAKER = 100, DEMO_STREAM_SCENE = 101, DEMO_STREAM_LONG = 200 };

#endif
