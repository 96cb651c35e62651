/* datasets/events.c: the energy event finder on synthetic signals with bursts at known places. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/datasets.h"

#define RATE 16000

static uint64_t lcg(uint64_t *r)
{
    *r = *r * 6364136223846793005ULL + 1442695040888963407ULL;
    return *r >> 11;
}

/* Uniform noise in [-a, a). */
static float noise(uint64_t *r, double a)
{
    return (float)(a * (2.0 * (double)lcg(r) / 9007199254740992.0 - 1.0));
}

/* A background of noise at amplitude bg with bursts of noise at amplitude amp over [on[i], off[i]) s. */
static float *signal(size_t n, double bg, double amp, const double *on, const double *off, int k)
{
    float *x = malloc(n * sizeof *x);
    uint64_t r = 5;
    for (size_t i = 0; i < n; i++) {
        x[i] = noise(&r, bg);
        double t = (double)i / RATE;
        for (int j = 0; j < k; j++)
            if (t >= on[j] && t < off[j])
                x[i] += noise(&r, amp);
    }
    return x;
}

START_TEST(bursts_found_where_they_are)
{
    /* Three bursts 40 dB over the floor, one 0.04 s blip (below min_s) and a pair 0.1 s apart (merged). */
    const double on[] = {0.50, 1.30, 2.00, 2.95, 3.30}, off[] = {0.80, 1.34, 2.25, 3.20, 3.60};
    size_t n = 4 * RATE;
    float *x = signal(n, 0.001, 0.1, on, off, 5);
    ds_event_opts o;
    ds_event_opts_default(&o);
    o.margin_s = 0;
    ds_event *ev;
    size_t k;
    aa_error err;
    ck_assert_msg(ds_events_find(x, n, RATE, &o, &ev, &k, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(k, 3);
    /* Onsets and offsets within one frame (0.02 s): a frame counts once it overlaps the burst enough. */
    const double want_on[] = {0.50, 2.00, 2.95}, want_off[] = {0.80, 2.25, 3.60};
    for (size_t i = 0; i < k; i++) {
        double s = (double)ev[i].start / RATE, e = (double)ev[i].end / RATE;
        ck_assert_msg(fabs(s - want_on[i]) <= o.frame_s, "event %zu onset %.3f, want %.3f", i, s, want_on[i]);
        ck_assert_msg(fabs(e - want_off[i]) <= o.frame_s, "event %zu offset %.3f, want %.3f", i, e, want_off[i]);
        /* Uniform noise of amplitude a has RMS a / sqrt 3: -24.8 dBFS for a = 0.1. */
        ck_assert_msg(fabs(ev[i].rms_db - (-24.8)) < 1.0, "event %zu rms %.2f", i, ev[i].rms_db);
        ck_assert(ev[i].peak_db >= ev[i].rms_db - 1.0);
    }
    free(ev);

    /* The margin widens each side; max_s cuts the long merged pair to its loudest stretch. */
    o.margin_s = 0.05;
    o.max_s = 0.2;
    ck_assert_msg(ds_events_find(x, n, RATE, &o, &ev, &k, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(k, 3);
    for (size_t i = 0; i < k; i++)
        ck_assert_uint_eq(ev[i].end - ev[i].start, (size_t)(0.3 * RATE));
    ck_assert_uint_ge(ev[0].start, (size_t)(0.45 * RATE));
    ck_assert_uint_le(ev[0].end, (size_t)(0.85 * RATE));
    free(ev);
    free(x);
}
END_TEST

START_TEST(steady_signal_and_silence_have_none)
{
    size_t n = 2 * RATE;
    float *x = signal(n, 0.1, 0, NULL, NULL, 0);
    ds_event *ev = (ds_event *)1;
    size_t k = 7;
    aa_error err;
    ck_assert_msg(ds_events_find(x, n, RATE, NULL, &ev, &k, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(k, 0);
    ck_assert_ptr_null(ev);
    memset(x, 0, n * sizeof *x);
    ck_assert_int_eq(ds_events_find(x, n, RATE, NULL, &ev, &k, &err), 0);
    ck_assert_uint_eq(k, 0);
    /* Shorter than a frame: nothing, no error. */
    ck_assert_int_eq(ds_events_find(x, 10, RATE, NULL, &ev, &k, &err), 0);
    ck_assert_uint_eq(k, 0);
    /* A burst at the very start and one running into the end are kept, clipped to the recording. */
    const double on[] = {0.0, 1.8}, off[] = {0.2, 2.0};
    free(x);
    x = signal(n, 0.001, 0.3, on, off, 2);
    ck_assert_int_eq(ds_events_find(x, n, RATE, NULL, &ev, &k, &err), 0);
    ck_assert_uint_eq(k, 2);
    ck_assert_uint_eq(ev[0].start, 0);
    ck_assert_uint_eq(ev[1].end, n);
    free(ev);
    free(x);
}
END_TEST

START_TEST(bad_options_refused)
{
    float x[100] = {0};
    ds_event *ev;
    size_t k;
    aa_error err;
    ds_event_opts o;
    ds_event_opts_default(&o);
    o.hop_s = 2 * o.frame_s;
    ck_assert_int_eq(ds_events_find(x, 100, RATE, &o, &ev, &k, &err), DS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "hop"));
    ds_event_opts_default(&o);
    o.min_s = 2;
    o.max_s = 1;
    ck_assert_int_eq(ds_events_find(x, 100, RATE, &o, &ev, &k, &err), DS_ERR_ARG);
    ds_event_opts_default(&o);
    o.peak_drop_db = NAN;
    ck_assert_int_eq(ds_events_find(x, 100, RATE, &o, &ev, &k, &err), DS_ERR_ARG);
    ck_assert_int_eq(ds_events_find(x, 100, 100, NULL, &ev, &k, &err), DS_ERR_ARG);
}
END_TEST

Suite *events_find_suite(void)
{
    Suite *s = suite_create("events_find");
    TCase *t = tcase_create("core");
    tcase_add_test(t, bursts_found_where_they_are);
    tcase_add_test(t, steady_signal_and_silence_have_none);
    tcase_add_test(t, bad_options_refused);
    suite_add_tcase(s, t);
    return s;
}
