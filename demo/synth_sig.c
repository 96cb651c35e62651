/* Signal pieces of the demo corpus: filters, coloured noise, smooth random curves. */
#include <math.h>

#include "demo/demo_internal.h"

#define PI 3.14159265358979323846

/* The cookbook formulas misbehave near Nyquist; the demo never needs more than 0.45 fs. */
static double clamp_fc(double fc, double rate)
{
    if (fc > 0.45 * rate)
        return 0.45 * rate;
    return fc < 10.0 ? 10.0 : fc;
}

static void set(demo_biquad *f, double b0, double b1, double b2, double a0, double a1, double a2)
{
    *f = (demo_biquad){b0 / a0, b1 / a0, b2 / a0, a1 / a0, a2 / a0, 0, 0};
}

void demo_bq_lowpass(demo_biquad *f, double fc, double q, double rate)
{
    double w = 2 * PI * clamp_fc(fc, rate) / rate, c = cos(w), al = sin(w) / (2 * q);
    set(f, (1 - c) / 2, 1 - c, (1 - c) / 2, 1 + al, -2 * c, 1 - al);
}

void demo_bq_highpass(demo_biquad *f, double fc, double q, double rate)
{
    double w = 2 * PI * clamp_fc(fc, rate) / rate, c = cos(w), al = sin(w) / (2 * q);
    set(f, (1 + c) / 2, -(1 + c), (1 + c) / 2, 1 + al, -2 * c, 1 - al);
}

void demo_bq_bandpass(demo_biquad *f, double fc, double q, double rate)
{
    double w = 2 * PI * clamp_fc(fc, rate) / rate, c = cos(w), al = sin(w) / (2 * q);
    set(f, al, 0, -al, 1 + al, -2 * c, 1 - al);
}

double demo_pink(aa_rng *r, double *s)
{
    double w = demo_white(r);
    s[0] = 0.99765 * s[0] + w * 0.0990460;
    s[1] = 0.96300 * s[1] + w * 0.2965164;
    s[2] = 0.57000 * s[2] + w * 1.0526913;
    return (s[0] + s[1] + s[2] + w * 0.1848) * 0.2;
}

void demo_smooth_init(demo_smooth *s, double rate, double fs, aa_rng *r)
{
    s->step = fs / rate;
    s->a = aa_rng_uniform_d(r);
    s->b = aa_rng_uniform_d(r);
    s->pos = aa_rng_uniform_d(r) * s->step;
}

double demo_smooth_next(demo_smooth *s, aa_rng *r)
{
    double v = s->a + (s->b - s->a) * (1 - cos(PI * s->pos / s->step)) / 2;
    if (++s->pos >= s->step) {
        s->pos -= s->step;
        s->a = s->b;
        s->b = aa_rng_uniform_d(r);
    }
    return v;
}

double demo_rms(const float *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)x[i] * x[i];
    return n ? sqrt(s / (double)n) : 0;
}

void demo_render_mic(float *y, size_t n, double hp, double lp)
{
    demo_biquad h, l;
    demo_bq_highpass(&h, hp, 0.707, DEMO_RATE);
    demo_bq_lowpass(&l, lp, 0.707, DEMO_RATE);
    for (size_t i = 0; i < n; i++)
        y[i] = (float)demo_bq_run(&l, demo_bq_run(&h, y[i]));
}
