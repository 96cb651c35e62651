/* Second-order sections from the Audio EQ Cookbook (R. Bristow-Johnson): the microphone colours of the
 * waveform augmentation (tilt, high-pass, telephone band, low-pass) are cascades of them. */
#include <complex.h>
#include <math.h>

#include "dsp/dsp.h"

static double clamp_fc(double fc, int rate)
{
    double hi = 0.49 * rate;
    return fc < 1 ? 1 : fc > hi ? hi : fc;
}

/* Normalised by a0. */
static dsp_biquad make(double b0, double b1, double b2, double a0, double a1, double a2)
{
    return (dsp_biquad){b0 / a0, b1 / a0, b2 / a0, a1 / a0, a2 / a0};
}

dsp_biquad dsp_biquad_lowpass(double fc, double q, int rate)
{
    double w = 2 * M_PI * clamp_fc(fc, rate) / rate, c = cos(w), al = sin(w) / (2 * q);
    return make((1 - c) / 2, 1 - c, (1 - c) / 2, 1 + al, -2 * c, 1 - al);
}

dsp_biquad dsp_biquad_highpass(double fc, double q, int rate)
{
    double w = 2 * M_PI * clamp_fc(fc, rate) / rate, c = cos(w), al = sin(w) / (2 * q);
    return make((1 + c) / 2, -(1 + c), (1 + c) / 2, 1 + al, -2 * c, 1 - al);
}

/* Shelf slope S = 1: alpha = sin(w) / 2 * sqrt((A + 1/A)(1/S - 1) + 2) = sin(w) / 2 * sqrt(2). */
dsp_biquad dsp_biquad_low_shelf(double fc, double gain_db, int rate)
{
    double A = pow(10, gain_db / 40), w = 2 * M_PI * clamp_fc(fc, rate) / rate, c = cos(w);
    double al = sin(w) / 2 * sqrt(2.0), sa = 2 * sqrt(A) * al;
    return make(A * ((A + 1) - (A - 1) * c + sa), 2 * A * ((A - 1) - (A + 1) * c), A * ((A + 1) - (A - 1) * c - sa),
                (A + 1) + (A - 1) * c + sa, -2 * ((A - 1) + (A + 1) * c), (A + 1) + (A - 1) * c - sa);
}

dsp_biquad dsp_biquad_high_shelf(double fc, double gain_db, int rate)
{
    double A = pow(10, gain_db / 40), w = 2 * M_PI * clamp_fc(fc, rate) / rate, c = cos(w);
    double al = sin(w) / 2 * sqrt(2.0), sa = 2 * sqrt(A) * al;
    return make(A * ((A + 1) + (A - 1) * c + sa), -2 * A * ((A - 1) + (A + 1) * c), A * ((A + 1) + (A - 1) * c - sa),
                (A + 1) - (A - 1) * c + sa, 2 * ((A - 1) - (A + 1) * c), (A + 1) - (A - 1) * c - sa);
}

void dsp_biquad_run(const dsp_biquad *b, float *x, size_t n)
{
    double s1 = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) {
        double in = x[i], y = b->b0 * in + s1;
        s1 = b->b1 * in - b->a1 * y + s2;
        s2 = b->b2 * in - b->a2 * y;
        x[i] = (float)y;
    }
}

double dsp_biquad_gain_db(const dsp_biquad *b, double f, int rate)
{
    double complex z1 = cexp(-I * 2 * M_PI * f / rate), z2 = z1 * z1;
    double complex h = (b->b0 + b->b1 * z1 + b->b2 * z2) / (1 + b->a1 * z1 + b->a2 * z2);
    return 20 * log10(cabs(h));
}
