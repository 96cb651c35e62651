/* eval/: softmax with a temperature, NLL from logits, and the temperature fit (recovery of a known T). */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval.h"
#include "util/util.h"

START_TEST(softmax_values_and_stability)
{
    /* logits (0, ln 3): T = 1 -> (1/4, 3/4); T = 2 -> (1, sqrt 3) / (1 + sqrt 3). */
    float z[2] = {0.0f, (float)log(3.0)}, p[2];
    ev_softmax(1, 2, z, 1.0, p);
    /* float output: relative rounding 6e-8, plus ln 3 rounded to float (1e-7 relative): 1e-6 is ample. */
    ck_assert_double_eq_tol(p[0], 0.25, 1e-6);
    ck_assert_double_eq_tol(p[1], 0.75, 1e-6);
    ev_softmax(1, 2, z, 2.0, p);
    ck_assert_double_eq_tol(p[0], 1 / (1 + sqrt(3.0)), 1e-6);
    /* Huge logits do not overflow: (1000, 990) -> 1 / (1 + e^-10) */
    float big[2] = {1000.0f, 990.0f};
    ev_softmax(1, 2, big, 1.0, p);
    ck_assert(isfinite(p[0]) && isfinite(p[1]));
    ck_assert_double_eq_tol(p[0], 1 / (1 + exp(-10.0)), 1e-6);
    /* In place (probs aliasing logits) gives the same as out of place. */
    float row[3] = {0.3f, -1.2f, 2.5f}, out[3];
    ev_softmax(1, 3, row, 0.7, out);
    ev_softmax(1, 3, row, 0.7, row);
    ck_assert_mem_eq(row, out, sizeof out);
}
END_TEST

START_TEST(nll_of_logits_matches_probabilities)
{
    enum { N = 50, K = 4 };
    aa_rng r;
    aa_rng_seed(&r, 5);
    float z[N * K], p[N * K];
    int lab[N];
    for (int i = 0; i < N * K; i++)
        z[i] = (float)(2 * aa_rng_normal(&r));
    for (int i = 0; i < N; i++)
        lab[i] = (int)aa_rng_below(&r, K);
    for (double t = 0.5; t <= 2.0; t *= 2) {
        ev_softmax(N, K, z, t, p);
        /* Exact log-sum-exp against -ln of float probabilities: float rounding, ~1e-7 relative per item. */
        ck_assert_double_eq_tol(ev_nll_logits(N, K, lab, z, t), ev_nll(N, K, lab, p), 1e-6);
    }
    /* Uniform logits: NLL = ln K at any temperature. */
    float flat[K] = {1, 1, 1, 1};
    int zero[1] = {0};
    ck_assert_double_eq_tol(ev_nll_logits(1, K, zero, flat, 3.0), log(4.0), 1e-12);
}
END_TEST

/* Logits z ~ 3 N(0, 1) per class; each label drawn from softmax(z / t0): the network is miscalibrated by
 * exactly t0, so the NLL-optimal temperature on a large sample is t0. */
static void make_miscalibrated(uint64_t seed, size_t n, int k, double t0, float *z, int *lab)
{
    aa_rng r;
    aa_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) {
        double p[8], sum = 0, mx = -INFINITY;
        for (int c = 0; c < k; c++) {
            z[i * k + c] = (float)(3 * aa_rng_normal(&r));
            mx = fmax(mx, z[i * k + c]);
        }
        for (int c = 0; c < k; c++)
            sum += p[c] = exp((z[i * k + c] - mx) / t0);
        double u = aa_rng_uniform_d(&r) * sum;
        int c = 0;
        while (c < k - 1 && u >= p[c])
            u -= p[c++];
        lab[i] = c;
    }
}

START_TEST(temperature_recovered)
{
    enum { N = 20000, K = 4 };
    float *z = malloc(sizeof(float) * N * K);
    int *lab = malloc(sizeof(int) * N);
    const double t0s[] = {0.5, 2.0, 1.0};
    for (size_t j = 0; j < sizeof t0s / sizeof t0s[0]; j++) {
        make_miscalibrated(11 + j, N, K, t0s[j], z, lab);
        ev_temp_fit f;
        aa_error err;
        ck_assert_int_eq(ev_fit_temperature(N, K, lab, z, &f, &err), 0);
        /* Over 20 seeds at N = 20000 the fit's relative spread was about 1 % (standard deviation), so 5 %
         * is a 5-sigma bound: a wrong optimiser misses by far more. */
        ck_assert_msg(fabs(f.t / t0s[j] - 1) < 0.05, "T0 %g: fitted %g", t0s[j], f.t);
        ck_assert_uint_eq(f.n, N);
        ck_assert(!f.at_bound);
        ck_assert_double_eq_tol(f.nll_after, ev_nll_logits(N, K, lab, z, f.t), 1e-12);
        ck_assert(f.nll_after <= f.nll_before);
        if (t0s[j] != 1.0) {
            /* Miscalibrated by 2x: the fit must improve NLL and ECE clearly (measured: NLL -0.07 to -0.17,
             * ECE from 0.10-0.17 down to under 0.01). */
            ck_assert_msg(f.nll_after < f.nll_before - 0.02, "NLL %g -> %g", f.nll_before, f.nll_after);
            ck_assert_msg(f.ece_after < f.ece_before / 3, "ECE %g -> %g", f.ece_before, f.ece_after);
        }
        /* The fitted T is a minimum: nudging it either way does not lower the NLL. */
        ck_assert(ev_nll_logits(N, K, lab, z, f.t * 1.01) >= f.nll_after);
        ck_assert(ev_nll_logits(N, K, lab, z, f.t / 1.01) >= f.nll_after);
    }
    free(z);
    free(lab);
}
END_TEST

START_TEST(temperature_deterministic_and_bounded)
{
    enum { N = 2000, K = 3 };
    float *z = malloc(sizeof(float) * N * K);
    int *lab = malloc(sizeof(int) * N);
    make_miscalibrated(3, N, K, 1.7, z, lab);
    ev_temp_fit a, b;
    ck_assert_int_eq(ev_fit_temperature(N, K, lab, z, &a, NULL), 0);
    ck_assert_int_eq(ev_fit_temperature(N, K, lab, z, &b, NULL), 0);
    /* Bit-identical (==, not a tolerance): a model file stores t, and the same data must give the same file. */
    ck_assert(a.t == b.t && a.nll_after == b.nll_after && a.ece_after == b.ece_after);
    ck_assert(a.nll_before == b.nll_before && a.ece_before == b.ece_before && a.at_bound == b.at_bound);

    /* Perfectly separable and always right: sharper is always better, the fit runs to the lower bound. */
    for (int i = 0; i < N; i++) {
        lab[i] = i % K;
        for (int c = 0; c < K; c++)
            z[i * K + c] = c == lab[i] ? 5.0f : 0.0f;
    }
    ck_assert_int_eq(ev_fit_temperature(N, K, lab, z, &a, NULL), 0);
    ck_assert(a.at_bound);
    ck_assert_double_eq_tol(a.t, EV_TEMP_MIN, EV_TEMP_MIN * 1e-3);

    /* Refusals: nothing to fit, a label out of range, a non-finite logit. */
    aa_error err;
    ck_assert_int_eq(ev_fit_temperature(0, K, lab, z, &a, &err), EV_ERR_ARG);
    lab[7] = K;
    ck_assert_int_eq(ev_fit_temperature(N, K, lab, z, &a, &err), EV_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "item 7"));
    lab[7] = 0;
    z[5] = NAN;
    ck_assert_int_eq(ev_fit_temperature(N, K, lab, z, &a, &err), EV_ERR_ARG);
    free(z);
    free(lab);
}
END_TEST

Suite *calibration_suite(void)
{
    Suite *s = suite_create("calibration");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30); /* three fits on 20000 items: ~0.2 s here */
    tcase_add_test(tc, softmax_values_and_stability);
    tcase_add_test(tc, nll_of_logits_matches_probabilities);
    tcase_add_test(tc, temperature_recovered);
    tcase_add_test(tc, temperature_deterministic_and_bounded);
    suite_add_tcase(s, tc);
    return s;
}
