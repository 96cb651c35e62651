/* datasets/norm.c: per-mel statistics against a direct computation, constant rows, and the formula. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/datasets.h"
#include "tests/util/dsfake.h"
#include "tests/util/testutil.h"

/* Features like log-mels: around -60 dB with a per-mel offset and a spread of ~15 dB. */
static ds_cache *make(size_t n)
{
    static const char *const names[] = {"a", "b"};
    ds_cache *c = fk_cache(n, 2, names, NULL);
    uint64_t r = 7;
    for (size_t w = 0; w < n; w++) {
        float *x = fk_features(c, w);
        for (size_t m = 0; m < c->n_mels; m++)
            for (size_t t = 0; t < c->n_frames; t++) {
                r = r * 6364136223846793005ULL + 1442695040888963407ULL;
                double u = (double)(r >> 11) / 9007199254740992.0;
                x[m * c->n_frames + t] = (float)(-60.0 + 0.3 * (double)m + 30.0 * (u - 0.5) + (double)w);
            }
    }
    return c;
}

START_TEST(statistics_match_direct_computation)
{
    ds_cache *c = make(20);
    size_t idx[] = {3, 0, 7, 19, 12, 5, 5}; /* any order, repeats count twice */
    size_t n = sizeof idx / sizeof *idx;
    float mean[64], sd[64];
    aa_error err;
    ck_assert_int_eq(ds_norm_compute(c, idx, n, mean, sd, &err), 0);
    const size_t F = c->n_frames;
    for (size_t m = 0; m < 64; m++) {
        /* Welford's update in long double: a different algorithm from the library's two passes. */
        long double mu = 0, m2 = 0;
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t t = 0; t < F; t++) {
                long double x = fk_features(c, idx[i])[m * F + t], d = x - mu;
                mu += d / (long double)++k;
                m2 += d * (x - mu);
            }
        double ref_sd = sqrtl(m2 / (long double)k);
        /* Both are within a few double ulps of the exact value; the float outputs are rounded once, so
         * agreement to 1 float ulp (relative 1.2e-7, mean ~ -50, sd ~ 9) plus slack is expected: 2e-6. */
        ck_assert_msg(fabs(mean[m] - (double)mu) <= 2e-6 * fabs((double)mu), "mel %zu mean %.9g vs %.9Lg", m,
                      mean[m], mu);
        ck_assert_msg(fabs(sd[m] - ref_sd) <= 2e-6 * ref_sd, "mel %zu sd %.9g vs %.9g", m, sd[m], ref_sd);
        ck_assert_msg(sd[m] > 8 && sd[m] < 11, "sd %g: uniform spread of 30 dB plus window offsets", sd[m]);
    }
    /* Same input, same bits (double accumulation in a fixed order). */
    float mean2[64], sd2[64];
    ck_assert_int_eq(ds_norm_compute(c, idx, n, mean2, sd2, &err), 0);
    ck_assert_int_eq(memcmp(mean, mean2, sizeof mean), 0);
    ck_assert_int_eq(memcmp(sd, sd2, sizeof sd), 0);

    /* Applying: (x - mean) / std, per mel, in float. */
    float *x = malloc(64 * F * sizeof *x);
    memcpy(x, fk_features(c, 3), 64 * F * sizeof *x);
    dsp_normalise(mean, sd, 64, F, x);
    for (size_t m = 0; m < 64; m++)
        for (size_t t = 0; t < F; t += 37) {
            float want = (fk_features(c, 3)[m * F + t] - mean[m]) / sd[m];
            ck_assert(x[m * F + t] == want);
        }
    free(x);
    ds_cache_free(c);
}
END_TEST

START_TEST(constant_rows_and_errors)
{
    ds_cache *c = make(3);
    for (size_t w = 0; w < 3; w++)
        for (size_t t = 0; t < c->n_frames; t++)
            fk_features(c, w)[5 * c->n_frames + t] = -100.0f; /* mel 5: silent everywhere */
    size_t idx[] = {0, 1, 2};
    float mean[64], sd[64];
    aa_error err;
    ck_assert_int_eq(ds_norm_compute(c, idx, 3, mean, sd, &err), 0);
    ck_assert(mean[5] == -100.0f);
    ck_assert(sd[5] == 1.0f); /* below DS_NORM_MIN_STD: stored as 1 */
    ck_assert(sd[6] > 1.0f);
    ck_assert_int_eq(ds_norm_compute(c, idx, 0, mean, sd, &err), DS_ERR_ARG);
    size_t bad[] = {3};
    ck_assert_int_eq(ds_norm_compute(c, bad, 1, mean, sd, &err), DS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "out of range"));
    ds_cache_free(c);
}
END_TEST

Suite *norm_suite(void)
{
    Suite *s = suite_create("norm");
    TCase *tc = tcase_create("norm");
    tcase_add_test(tc, statistics_match_direct_computation);
    tcase_add_test(tc, constant_rows_and_errors);
    suite_add_tcase(s, tc);
    return s;
}
