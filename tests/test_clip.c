/* Fixed-length clips: padding, the three crop policies (the cough in the fifth second), the window grid,
 * and dsp_windows_logmel, which every window's feature comes from. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/dsp.h"

static double energy(const float *x, size_t n)
{
    double e = 0;
    for (size_t i = 0; i < n; i++)
        e += (double)x[i] * x[i];
    return e;
}

START_TEST(short_clips_are_padded_at_the_end)
{
    for (int policy = 0; policy < 3; policy++) {
        dsp_settings s = dsp_settings_default();
        s.crop = (dsp_crop)policy;
        size_t len = dsp_clip_samples(&s), n = 1000;
        float x[1000], *out = malloc(sizeof(float) * len);
        for (size_t i = 0; i < n; i++)
            x[i] = (float)(i + 1);
        for (size_t i = 0; i < len; i++)
            out[i] = -1;
        size_t at = 99;
        dsp_clip(&s, x, n, out, &at);
        ck_assert_uint_eq(at, 0);
        ck_assert(memcmp(out, x, sizeof x) == 0);
        for (size_t i = n; i < len; i++)
            ck_assert_msg(out[i] == 0, "policy %d: out[%zu] = %g", policy, i, out[i]);
        /* Exactly one clip long: copied as is. */
        float *y = malloc(sizeof(float) * len);
        for (size_t i = 0; i < len; i++)
            y[i] = (float)sin(0.01 * (double)i);
        dsp_clip(&s, y, len, out, &at);
        ck_assert_uint_eq(at, 0);
        ck_assert(memcmp(out, y, sizeof(float) * len) == 0);
        free(y);
        free(out);
    }
}
END_TEST

/* The original app kept the first 4 s and lost a cough in the fifth second. Six seconds of quiet noise
 * with a 0.3 s burst at 4.2 s: `loudest` keeps the whole burst, `start` loses it, `center` takes 1-5 s. */
START_TEST(loudest_keeps_a_burst_in_the_fifth_second)
{
    dsp_settings s = dsp_settings_default();
    size_t len = dsp_clip_samples(&s), n = 6 * 16000;
    float *x = malloc(sizeof(float) * n), *out = malloc(sizeof(float) * len);
    aa_rng r;
    aa_rng_seed(&r, 3);
    for (size_t i = 0; i < n; i++)
        x[i] = 0.001f * (float)aa_rng_normal(&r);
    size_t b0 = (size_t)(4.2 * 16000), b1 = (size_t)(4.5 * 16000);
    for (size_t i = b0; i < b1; i++)
        x[i] += 0.5f * (float)sin(2 * M_PI * 300 * (double)i / 16000);
    double burst = energy(x + b0, b1 - b0);

    size_t at;
    s.crop = DSP_CROP_LOUDEST;
    dsp_clip(&s, x, n, out, &at);
    ck_assert_msg(at <= b0 && at + len >= b1, "loudest window %zu..%zu misses the burst", at, at + len);
    ck_assert(memcmp(out, x + at, sizeof(float) * len) == 0);
    ck_assert(energy(out, len) >= burst);

    s.crop = DSP_CROP_START;
    dsp_clip(&s, x, n, out, &at);
    ck_assert_uint_eq(at, 0);
    /* 4 s of noise at 1e-3 RMS: energy 0.064, against the burst's ~1200. */
    ck_assert(energy(out, len) < 1e-3 * burst);

    s.crop = DSP_CROP_CENTER;
    dsp_clip(&s, x, n, out, &at);
    ck_assert_uint_eq(at, 16000);
    ck_assert(memcmp(out, x + 16000, sizeof(float) * len) == 0);
    free(x);
    free(out);
}
END_TEST

/* The running sum finds the same window as summing every window afresh, on a signal whose envelope has a
 * clear maximum (so the answer does not hinge on rounding), and ties go to the earliest window. */
START_TEST(loudest_equals_brute_force)
{
    const size_t n = 6000, len = 1000;
    float *x = malloc(sizeof(float) * n);
    aa_rng r;
    for (int trial = 0; trial < 20; trial++) {
        aa_rng_seed3(&r, 11, 0, (uint64_t)trial);
        double centre = aa_rng_uniform_d(&r) * n;
        for (size_t i = 0; i < n; i++)
            x[i] = (float)(aa_rng_normal(&r) * exp(-pow(((double)i - centre) / 1200.0, 2)));
        size_t best = 0;
        double best_e = -1;
        for (size_t at = 0; at + len <= n; at++) {
            double e = energy(x + at, len);
            if (e > best_e) {
                best_e = e;
                best = at;
            }
        }
        size_t got = dsp_crop_offset(x, n, len, DSP_CROP_LOUDEST);
        /* Windows one sample apart can differ by one sample's square; accept the brute-force window or a
         * neighbour whose energy is within 1e-9 relative (rounding of the running sum). */
        ck_assert_msg(got == best || fabs(energy(x + got, len) - best_e) <= 1e-9 * best_e,
                      "trial %d: %zu vs brute force %zu", trial, got, best);
    }
    for (size_t i = 0; i < n; i++)
        x[i] = 0.25f;
    ck_assert_uint_eq(dsp_crop_offset(x, n, len, DSP_CROP_LOUDEST), 0);
    ck_assert_uint_eq(dsp_crop_offset(x, n, len, DSP_CROP_CENTER), (n - len) / 2);
    ck_assert_uint_eq(dsp_crop_offset(x, n, len, DSP_CROP_START), 0);
    ck_assert_uint_eq(dsp_crop_offset(x, len - 1, len, DSP_CROP_LOUDEST), 0);
    free(x);
}
END_TEST

START_TEST(window_offsets)
{
    size_t off[16];
    /* 10 s, 4 s windows, 2 s hop (in samples at 1 Hz for readability): 0, 2, 4, 6, the last ends at 10. */
    ck_assert_uint_eq(dsp_window_offsets(10, 4, 2, 1, off, 16), 4);
    ck_assert(off[0] == 0 && off[1] == 2 && off[2] == 4 && off[3] == 6);
    /* 11 s: the grid stops at 6..10; cover_end adds 7..11 so the tail is heard. */
    ck_assert_uint_eq(dsp_window_offsets(11, 4, 2, 0, off, 16), 4);
    ck_assert_uint_eq(dsp_window_offsets(11, 4, 2, 1, off, 16), 5);
    ck_assert_uint_eq(off[4], 7);
    /* Shorter than a window: one window at 0, to be zero-padded. */
    ck_assert_uint_eq(dsp_window_offsets(3, 4, 2, 1, off, 16), 1);
    ck_assert_uint_eq(off[0], 0);
    ck_assert_uint_eq(dsp_window_offsets(4, 4, 2, 1, off, 16), 1);
    /* Sizing call, and a short array: the count is the full count, only cap entries written. */
    ck_assert_uint_eq(dsp_window_offsets(64000 * 10, 64000, 32000, 1, NULL, 0), 19);
    off[2] = 12345;
    ck_assert_uint_eq(dsp_window_offsets(11, 4, 2, 1, off, 2), 5);
    ck_assert(off[0] == 0 && off[1] == 2 && off[2] == 12345);
    /* Every window fits inside the recording. */
    size_t big[64];
    size_t k = dsp_window_offsets(100003, 64000, 1000, 1, big, 64);
    ck_assert_uint_eq(k, 38);
    for (size_t i = 0; i < k; i++)
        ck_assert(big[i] + 64000 <= 100003);
    ck_assert_uint_eq(big[k - 1], 100003 - 64000);
}
END_TEST

/* dsp_windows_logmel gives the log-mel of exactly the samples dsp_clip and a plain copy give: a window
 * inside the recording, the last one running past its end (zero-padded), a recording shorter than a clip,
 * an empty window at the very end; two slots do not disturb each other; bad slots and offsets are
 * refused. */
START_TEST(windows_logmel_cuts_as_clip_does)
{
    dsp_settings s = dsp_settings_default();
    size_t len = dsp_clip_samples(&s), n = len + len / 3;
    aa_error err;
    dsp_logmel *lm = dsp_logmel_new(&s, 2, &err);
    ck_assert_msg(lm != NULL, "%s", err.msg);
    size_t per = dsp_logmel_size(lm, len);
    float *x = malloc(sizeof(float) * n), *clip = malloc(sizeof(float) * len);
    float *want = malloc(sizeof(float) * per), *got = malloc(sizeof(float) * 4 * per);
    aa_rng r;
    aa_rng_seed(&r, 7);
    for (size_t i = 0; i < n; i++)
        x[i] = 0.2f * (float)aa_rng_normal(&r);
    size_t offs[4] = {0, len / 5, len / 2, n};
    ck_assert_int_eq(dsp_windows_logmel(lm, 1, x, n, offs, 4, got, &err), 0);
    for (int i = 0; i < 4; i++) {
        size_t keep = n - offs[i] < len ? n - offs[i] : len;
        memset(clip, 0, sizeof(float) * len);
        memcpy(clip, x + offs[i], sizeof(float) * keep);
        ck_assert_int_eq(dsp_logmel_compute(lm, 0, clip, len, want, &err), 0);
        ck_assert_msg(memcmp(got + i * per, want, sizeof(float) * per) == 0, "window %d at %zu differs", i, offs[i]);
    }
    /* A short recording: the clip dsp_clip makes. */
    size_t short_n = len / 3, at = 0;
    dsp_clip(&s, x, short_n, clip, &at);
    ck_assert_int_eq(dsp_logmel_compute(lm, 0, clip, len, want, &err), 0);
    ck_assert_int_eq(dsp_windows_logmel(lm, 0, x, short_n, &at, 1, got, &err), 0);
    ck_assert(memcmp(got, want, sizeof(float) * per) == 0);
    /* Misuse. */
    size_t past = n + 1;
    ck_assert_int_eq(dsp_windows_logmel(lm, 2, x, n, offs, 1, got, &err), DSP_ERR_ARG);
    ck_assert_int_eq(dsp_windows_logmel(lm, 0, x, n, &past, 1, got, &err), DSP_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "past the end"));
    ck_assert(!dsp_status_is_input(DSP_ERR_ARG) && !dsp_status_is_input(DSP_ERR_NOMEM) &&
              dsp_status_is_input(DSP_ERR_FORMAT) && dsp_status_is_input(DSP_ERR_TOO_LONG) && !dsp_status_is_input(0));
    free(x), free(clip), free(want), free(got);
    dsp_logmel_free(lm);
}
END_TEST

Suite *clip_suite(void)
{
    Suite *s = suite_create("clip");
    TCase *tc = tcase_create("clip");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, short_clips_are_padded_at_the_end);
    tcase_add_test(tc, loudest_keeps_a_burst_in_the_fifth_second);
    tcase_add_test(tc, loudest_equals_brute_force);
    tcase_add_test(tc, window_offsets);
    tcase_add_test(tc, windows_logmel_cuts_as_clip_does);
    suite_add_tcase(s, tc);
    return s;
}
