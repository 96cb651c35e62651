/* dsp/filter.c and dsp/reverb.c: the filters' responses, the room response's RT60 and DRR measured back, and
 * FFT convolution against the direct sum. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/dsp.h"

#define RATE 16000

static double sine_gain_db(const dsp_biquad *b, int nb, double f)
{
    size_t n = RATE; /* 1 s; the first 0.25 s (the transient) is left out */
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)sin(2 * M_PI * f * (double)i / RATE);
    for (int k = 0; k < nb; k++)
        dsp_biquad_run(&b[k], x, n);
    double s = 0;
    for (size_t i = n / 4; i < n; i++)
        s += (double)x[i] * x[i];
    free(x);
    return 10 * log10(s / (double)(n - n / 4) / 0.5);
}

START_TEST(filters_have_their_responses)
{
    dsp_biquad lp = dsp_biquad_lowpass(1000, M_SQRT1_2, RATE);
    ck_assert(fabs(dsp_biquad_gain_db(&lp, 1000, RATE) + 3.0103) < 0.01);
    ck_assert(fabs(dsp_biquad_gain_db(&lp, 50, RATE)) < 0.01);
    ck_assert(dsp_biquad_gain_db(&lp, 4000, RATE) < -20);
    dsp_biquad hp = dsp_biquad_highpass(300, M_SQRT1_2, RATE);
    ck_assert(fabs(dsp_biquad_gain_db(&hp, 300, RATE) + 3.0103) < 0.01);
    ck_assert(dsp_biquad_gain_db(&hp, 50, RATE) < -25);
    dsp_biquad hs = dsp_biquad_high_shelf(2000, 6, RATE), ls = dsp_biquad_low_shelf(400, -6, RATE);
    ck_assert(fabs(dsp_biquad_gain_db(&hs, 7500, RATE) - 6) < 0.3 && fabs(dsp_biquad_gain_db(&hs, 50, RATE)) < 0.05);
    ck_assert(fabs(dsp_biquad_gain_db(&ls, 20, RATE) + 6) < 0.1 && fabs(dsp_biquad_gain_db(&ls, 7000, RATE)) < 0.1);
    /* A fourth-order Butterworth from two sections: -3 dB at its corner, -24 dB an octave above... */
    dsp_biquad b4[2] = {dsp_biquad_lowpass(3400, DSP_BUTTER4_Q1, RATE), dsp_biquad_lowpass(3400, DSP_BUTTER4_Q2, RATE)};
    double at = dsp_biquad_gain_db(&b4[0], 3400, RATE) + dsp_biquad_gain_db(&b4[1], 3400, RATE);
    ck_assert_msg(fabs(at + 3.0103) < 0.01, "%.3f dB at the corner", at);
    /* ...and running the filter on a sine gives what the response says (within 0.1 dB: the steady part of a
     * 0.75 s measurement). */
    for (int i = 0; i < 3; i++) {
        double f = (double[]){500, 3400, 5000}[i];
        double want = dsp_biquad_gain_db(&b4[0], f, RATE) + dsp_biquad_gain_db(&b4[1], f, RATE);
        double got = sine_gain_db(b4, 2, f);
        ck_assert_msg(fabs(got - want) < 0.1, "%g Hz: %.3f dB, response %.3f", f, got, want);
    }
}
END_TEST

START_TEST(room_response_rt60_and_drr_measured_back)
{
    const double rt60[] = {0.1, 0.3, 0.5, 0.8}, drr[] = {0, 10};
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 2; j++) {
            size_t n = dsp_room_length(rt60[i], RATE);
            ck_assert_uint_eq(n, (size_t)ceil(rt60[i] * RATE));
            float *h = malloc(n * sizeof *h);
            aa_rng r;
            aa_rng_seed(&r, 10 + (uint64_t)i);
            aa_error err;
            ck_assert_msg(dsp_room_response(rt60[i], drr[j], RATE, &r, h, n, &err) == 0, "%s", err.msg);
            double e = 0;
            for (size_t k = 0; k < n; k++)
                e += (double)h[k] * h[k];
            ck_assert(fabs(e - 1) < 1e-5);
            double got_drr = 10 * log10((double)h[0] * h[0] / (e - (double)h[0] * h[0]));
            ck_assert_msg(fabs(got_drr - drr[j]) < 0.01, "DRR %.3f, asked %.1f", got_drr, drr[j]);
            /* T20 of a noise decay: within 10 % (the noise's own fluctuation over 0.1 s of decay is a few %). */
            double m = dsp_rt60_measure(h, n, RATE);
            ck_assert_msg(fabs(m - rt60[i]) < 0.1 * rt60[i], "RT60 %.3f s measured, %.2f asked", m, rt60[i]);
            free(h);
        }
    /* The same stream, the same response; a bad RT60 is refused. */
    float a[1600], b[1600];
    aa_rng r1, r2;
    aa_rng_seed(&r1, 3);
    aa_rng_seed(&r2, 3);
    aa_error err;
    ck_assert_int_eq(dsp_room_response(0.1, 3, RATE, &r1, a, 1600, &err), 0);
    ck_assert_int_eq(dsp_room_response(0.1, 3, RATE, &r2, b, 1600, &err), 0);
    ck_assert_int_eq(memcmp(a, b, sizeof a), 0);
    ck_assert_int_eq(dsp_room_response(0.001, 3, RATE, &r1, a, 1600, &err), DSP_ERR_ARG);
    ck_assert_int_eq(dsp_room_response(0.1, NAN, RATE, &r1, a, 1600, &err), DSP_ERR_ARG);
    /* A response that never decays 25 dB has no RT60: 100 equal samples, the last holding 1 % (-20 dB). */
    for (int k = 0; k < 100; k++)
        a[k] = 1;
    ck_assert(isnan(dsp_rt60_measure(a, 100, RATE)));
}
END_TEST

START_TEST(fft_convolution_equals_the_direct_sum)
{
    const size_t n = 5000, m = 700;
    float *x = malloc(n * sizeof *x), *h = malloc(m * sizeof *h), *y = malloc(n * sizeof *y);
    float *y2 = malloc(n * sizeof *y2);
    aa_rng r;
    aa_rng_seed(&r, 1);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)aa_rng_normal(&r);
    for (size_t i = 0; i < m; i++)
        h[i] = (float)(aa_rng_normal(&r) * exp(-(double)i / 100));
    aa_error err;
    dsp_convolver *c = dsp_convolver_new(n, m, 2, &err);
    ck_assert_msg(c != NULL, "%s", err.msg);
    ck_assert_int_eq(dsp_convolve(c, 0, x, n, h, m, y, &err), 0);
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t k = 0; k <= i && k < m; k++)
            s += (double)h[k] * x[i - k];
        worst = fmax(worst, fabs(s - y[i]));
    }
    /* float FFTs of 8192 points on unit-variance data: errors ~1e-6 of the output's scale (~3). */
    ck_assert_msg(worst < 1e-4, "worst error %g", worst);
    /* Another slot, and in place, give the same bits; a shorter response too. */
    memcpy(y2, x, n * sizeof *x);
    ck_assert_int_eq(dsp_convolve(c, 1, y2, n, h, m, y2, &err), 0);
    ck_assert_int_eq(memcmp(y, y2, n * sizeof *y), 0);
    ck_assert_int_eq(dsp_convolve(c, 0, x, n, h, 1, y, &err), 0);
    for (size_t i = 0; i < n; i++)
        worst = fmax(worst, fabs(y[i] - h[0] * x[i]));
    ck_assert(worst < 1e-4);
    ck_assert_int_eq(dsp_convolve(c, 2, x, n, h, m, y, &err), DSP_ERR_ARG);
    ck_assert_int_eq(dsp_convolve(c, 0, x, n + 1, h, m, y, &err), DSP_ERR_ARG);
    dsp_convolver_free(c);
    ck_assert_ptr_null(dsp_convolver_new(0, m, 1, &err));
    free(x);
    free(h);
    free(y);
    free(y2);
}
END_TEST

Suite *reverb_suite(void)
{
    Suite *s = suite_create("reverb");
    TCase *t = tcase_create("core");
    tcase_add_test(t, filters_have_their_responses);
    tcase_add_test(t, room_response_rt60_and_drr_measured_back);
    tcase_add_test(t, fft_convolution_equals_the_direct_sum);
    suite_add_tcase(s, t);
    return s;
}
