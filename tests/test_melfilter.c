/* The mel filterbank against librosa 0.10.1's filters.mel (tests/fixtures/melfilters.f32), plus properties
 * that hold for any settings. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/dsp.h"
#include "tests/util/testutil.h"

/* Reads a little-endian float32 fixture of exactly n values; caller frees. */
static float *read_f32(const char *name, size_t n)
{
    char path[512];
    size_t size = 0;
    unsigned char *b = tu_read_file(tu_path(path, sizeof path, tu_fixtures_dir(), name), &size);
    ck_assert_msg(b != NULL, "cannot read %s", path);
    ck_assert_msg(size == 4 * n, "%s: %zu bytes, expected %zu", path, size, 4 * n);
    float *v = malloc(sizeof(float) * n);
    ck_assert_ptr_nonnull(v);
    for (size_t i = 0; i < n; i++)
        v[i] = aa_get_f32(b + 4 * i);
    free(b);
    return v;
}

START_TEST(equals_librosa)
{
    dsp_settings s = dsp_settings_default();
    const size_t n_bins = 257, n = 64 * n_bins;
    float *ref = read_f32("melfilters.f32", n);
    float *fb = malloc(sizeof(float) * n);
    ck_assert_int_eq(dsp_mel_filterbank(&s, fb, NULL), 0);
    /* melfilter.c repeats librosa's double-precision steps and its two float32 roundings, so the weights
     * should be identical; the only possible difference is a 1-ulp disagreement between numpy's and
     * glibc's log/exp flipping a rounding, i.e. 2^-23 relative per rounding, hence 2.5e-7. Zeros must be
     * exact zeros: the support of every triangle is the same bins. */
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        if (ref[i] == 0) {
            ck_assert_msg(fb[i] == 0, "mel %zu bin %zu: %g where librosa has 0", i / n_bins, i % n_bins, fb[i]);
            continue;
        }
        double rel = fabs((double)fb[i] - ref[i]) / fabs((double)ref[i]);
        worst = rel > worst ? rel : worst;
        ck_assert_msg(rel <= 2.5e-7, "mel %zu bin %zu: %.9g vs librosa %.9g", i / n_bins, i % n_bins, fb[i],
                      ref[i]);
    }
    /* The fixture is the real thing, not zeros: mel 10 (centre near 510 Hz, 31.25 Hz bins) peaks at bin 16
     * with the Slaney height 2 / (f_hi - f_lo), about 0.02. */
    size_t peak = 0;
    for (size_t k = 0; k < n_bins; k++)
        peak = ref[10 * n_bins + k] > ref[10 * n_bins + peak] ? k : peak;
    ck_assert_uint_eq(peak, 16);
    ck_assert(ref[10 * n_bins + peak] > 0.01f);
    ck_assert(worst <= 2.5e-7);

    /* The log-mel object uses the same weights. */
    dsp_logmel *m = dsp_logmel_new(&s, 1, NULL);
    ck_assert_ptr_nonnull(m);
    ck_assert(memcmp(dsp_logmel_filterbank(m), fb, sizeof(float) * n) == 0);
    dsp_logmel_free(m);
    free(fb);
    free(ref);
}
END_TEST

/* Unnormalised triangles on either scale form a partition of unity between the first and the last centre
 * frequency, peak at most 1, and each is one run of non-zero bins. */
START_TEST(triangles_partition_unity)
{
    for (int scale = 0; scale < 2; scale++) {
        dsp_settings s = dsp_settings_default();
        s.mel_scale = scale ? DSP_MEL_HTK : DSP_MEL_SLANEY;
        s.mel_norm = DSP_NORM_NONE;
        s.n_fft = 2048;
        s.win_length = 2048;
        s.n_mels = 40;
        s.fmin = 100;
        s.fmax = 7000;
        int nb = s.n_fft / 2 + 1;
        float *fb = malloc(sizeof(float) * (size_t)(s.n_mels * nb));
        ck_assert_int_eq(dsp_mel_filterbank(&s, fb, NULL), 0);
        int first_peak = -1, last_peak = -1;
        for (int m = 0; m < s.n_mels; m++) {
            int runs = 0, peak = 0;
            for (int k = 0; k < nb; k++) {
                float w = fb[m * nb + k];
                ck_assert(w >= 0 && w <= 1.0f);
                runs += w > 0 && (k == 0 || fb[m * nb + k - 1] == 0);
                peak = w > fb[m * nb + peak] ? k : peak;
            }
            ck_assert_int_eq(runs, 1);
            if (m == 0)
                first_peak = peak;
            last_peak = peak;
        }
        /* Sums are of float32 weights rounded once each: 1e-6 is a few ulps of 1. */
        for (int k = first_peak + 1; k < last_peak; k++) {
            double sum = 0;
            for (int m = 0; m < s.n_mels; m++)
                sum += fb[m * nb + k];
            ck_assert_msg(fabs(sum - 1) < 1e-6, "scale %d bin %d: sum %.9f", scale, k, sum);
        }
        free(fb);
    }
}
END_TEST

/* Slaney normalisation makes each filter's area in Hz equal to 1 (2 / (f_hi - f_lo) times a triangle of
 * height 1 and base f_hi - f_lo); on a fine grid the Riemann sum is within 1% for every filter. */
START_TEST(slaney_norm_gives_unit_area)
{
    dsp_settings s = dsp_settings_default();
    s.n_fft = 16384;
    s.win_length = 16384;
    int nb = s.n_fft / 2 + 1;
    float *fb = malloc(sizeof(float) * (size_t)(s.n_mels * nb));
    ck_assert_int_eq(dsp_mel_filterbank(&s, fb, NULL), 0);
    double df = (double)s.sample_rate / s.n_fft;
    for (int m = 0; m < s.n_mels; m++) {
        double area = 0;
        for (int k = 0; k < nb; k++)
            area += fb[m * nb + k] * df;
        ck_assert_msg(fabs(area - 1) < 0.01, "mel %d: area %.5f", m, area);
    }
    free(fb);
}
END_TEST

START_TEST(band_centres_and_their_inverse)
{
    /* Band m's centre is the peak of filter m (its weight there is the filter's largest), the inverse gives m
     * back, and points -1 and n_mels are fmin and fmax: on both scales, at two settings. */
    for (int k = 0; k < 4; k++) {
        dsp_settings s = dsp_settings_default();
        s.mel_scale = k & 1 ? DSP_MEL_HTK : DSP_MEL_SLANEY;
        if (k & 2)
            s.sample_rate = 8000, s.fmax = 4000, s.fmin = 50, s.n_mels = 40, s.n_fft = s.win_length = 256, s.hop_length = 80;
        ck_assert(fabs(dsp_mel_centre_hz(&s, -1) - s.fmin) < 1e-6);
        ck_assert(fabs(dsp_mel_centre_hz(&s, s.n_mels) - s.fmax) < 1e-6 * s.fmax);
        double prev = -1;
        for (int m = 0; m < s.n_mels; m++) {
            double c = dsp_mel_centre_hz(&s, m);
            ck_assert(c > prev);
            prev = c;
            ck_assert_msg(fabs(dsp_mel_band_of_hz(&s, c) - m) < 1e-9, "setting %d band %d", k, m);
            /* halfway between two centres on the mel scale is band m + 0.5 */
            if (m + 1 < s.n_mels) {
                double h = dsp_mel_centre_hz(&s, m + 0.5);
                ck_assert(h > c && h < dsp_mel_centre_hz(&s, m + 1));
                ck_assert(fabs(dsp_mel_band_of_hz(&s, h) - (m + 0.5)) < 1e-9);
            }
        }
        /* the filter of band m peaks at the FFT bin nearest its centre */
        const int nb = s.n_fft / 2 + 1;
        float *fb = malloc(sizeof *fb * s.n_mels * nb);
        aa_error err;
        ck_assert_msg(dsp_mel_filterbank(&s, fb, &err) == 0, "setting %d: %s", k, err.msg);
        for (int m = 0; m < s.n_mels; m++) {
            int arg = 0;
            for (int j = 1; j < nb; j++)
                arg = fb[m * nb + j] > fb[m * nb + arg] ? j : arg;
            double bin = (double)s.sample_rate / s.n_fft;
            ck_assert_msg(fabs(arg * bin - dsp_mel_centre_hz(&s, m)) <= bin, "setting %d band %d: peak %g Hz, centre %g",
                          k, m, arg * bin, dsp_mel_centre_hz(&s, m));
        }
        free(fb);
    }
}
END_TEST

START_TEST(bad_settings_are_refused)
{
    dsp_settings s = dsp_settings_default();
    s.fmax = 9000;
    float fb[1];
    aa_error err;
    ck_assert_int_eq(dsp_mel_filterbank(&s, fb, &err), DSP_ERR_SETTINGS);
    ck_assert_msg(strstr(err.msg, "fmax") != NULL, "got '%s'", err.msg);
}
END_TEST

Suite *melfilter_suite(void)
{
    Suite *s = suite_create("melfilter");
    TCase *tc = tcase_create("melfilter");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, equals_librosa);
    tcase_add_test(tc, triangles_partition_unity);
    tcase_add_test(tc, slaney_norm_gives_unit_area);
    tcase_add_test(tc, band_centres_and_their_inverse);
    tcase_add_test(tc, bad_settings_are_refused);
    suite_add_tcase(s, tc);
    return s;
}
