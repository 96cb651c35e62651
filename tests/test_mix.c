/* datasets/mix.c: events land at the returned times, at the SNR and level drawn, measured back from the
 * mixture; the same stream gives the same bytes. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/datasets.h"

#define RATE 16000
#define N (4 * RATE)

static uint64_t lcg(uint64_t *r)
{
    *r = *r * 6364136223846793005ULL + 1442695040888963407ULL;
    return *r >> 11;
}

static float *noise(size_t n, double a, uint64_t seed)
{
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(a * (2.0 * (double)lcg(&seed) / 9007199254740992.0 - 1.0));
    return x;
}

static float *tone(size_t n, double f, double a)
{
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(a * sin(2 * M_PI * f * (double)i / RATE));
    return x;
}

static double power(const float *x, size_t lo, size_t hi)
{
    double s = 0;
    for (size_t i = lo; i < hi; i++)
        s += (double)x[i] * x[i];
    return s / (double)(hi - lo);
}

static double db(double p)
{
    return 10 * log10(p);
}

/* The background's power over the mixture outside every event. */
static double outside_power(const float *x, const ds_mixture *m)
{
    double s = 0;
    size_t count = 0;
    for (size_t i = 0; i < N; i++) {
        int inside = 0;
        for (size_t j = 0; j < m->n_events; j++)
            inside |= i >= m->events[j].onset && i < m->events[j].offset;
        if (!inside) {
            s += (double)x[i] * x[i];
            count++;
        }
    }
    return s / (double)count;
}

typedef struct {
    float *bg_x, *ev_x[3];
    ds_piece bg, ev[3];
} fixture;

static void fixture_make(fixture *f, size_t bg_n)
{
    f->bg_x = noise(bg_n, 0.2, 11);
    f->bg = (ds_piece){f->bg_x, bg_n};
    const double freq[3] = {700, 1500, 2600};
    const size_t len[3] = {(size_t)(0.3 * RATE), (size_t)(0.25 * RATE), (size_t)(0.4 * RATE)};
    for (int i = 0; i < 3; i++) {
        f->ev_x[i] = tone(len[i], freq[i], 0.5);
        f->ev[i] = (ds_piece){f->ev_x[i], len[i]};
    }
}

static void fixture_free(fixture *f)
{
    free(f->bg_x);
    for (int i = 0; i < 3; i++)
        free(f->ev_x[i]);
}

START_TEST(events_at_their_times_snr_and_background_level)
{
    fixture f;
    fixture_make(&f, 10 * RATE);
    ds_mix_opts o;
    ds_mix_opts_default(&o);
    o.events_min = o.events_max = 3;
    o.snr_min_db = 5;
    o.snr_max_db = 25;
    o.level_min_db = -55;
    o.level_max_db = -30;
    o.level_ref = DS_LEVEL_BACKGROUND_RMS;
    float *x = malloc(N * sizeof *x), *ev = malloc(N * sizeof *ev);
    for (uint64_t seed = 1; seed <= 20; seed++) {
        aa_rng r;
        aa_rng_seed(&r, seed);
        ds_mixture m;
        aa_error err;
        ck_assert_msg(ds_mixture_make(&f.bg, f.ev, 3, RATE, &o, &r, x, N, &m, &err) == 0, "%s", err.msg);
        ck_assert_uint_eq(m.n_events, 3); /* 0.95 s of events and 0.2 s of gaps always fit in 4 s */
        ck_assert(m.level_db >= -55 && m.level_db <= -30);
        /* The background's level, measured where no event is: within 0.5 dB (the stretch outside the events
         * holds ~45 000 samples of white noise, whose power estimate varies by ~0.03 dB). */
        double p_bg = outside_power(x, &m);
        ck_assert_msg(fabs(db(p_bg) - m.level_db) < 0.5, "seed %llu: background %.2f dB, drawn %.2f",
                      (unsigned long long)seed, db(p_bg), m.level_db);
        ck_assert(fabs(m.bg_rms_db - m.level_db) < 1e-9);
        /* What the mixture adds to the background is the events, at the returned times and nowhere else. */
        double gain = pow(10, m.level_db / 20) / sqrt(power(f.bg_x + m.bg_offset, 0, N));
        for (size_t i = 0; i < N; i++)
            ev[i] = x[i] - (float)(gain * f.bg_x[m.bg_offset + i]);
        double prev_end = 0;
        for (size_t j = 0; j < m.n_events; j++) {
            const ds_mix_event *e = &m.events[j];
            ck_assert_uint_eq(e->offset - e->onset, f.ev[e->source].n);
            ck_assert(e->onset >= prev_end);
            ck_assert(e->snr_db >= 5 && e->snr_db <= 25);
            prev_end = (double)e->offset;
            /* Correlation with the source at the returned onset: 0.99 with the 5 ms fades; one sample off, the
             * 700 Hz tone would give cos(2 pi 700 / 16000) = 0.96. */
            double xy = 0, xx = 0, yy = 0;
            for (size_t i = 0; i < f.ev[e->source].n; i++) {
                xy += (double)ev[e->onset + i] * f.ev[e->source].x[i];
                xx += (double)ev[e->onset + i] * ev[e->onset + i];
                yy += (double)f.ev[e->source].x[i] * f.ev[e->source].x[i];
            }
            ck_assert_msg(xy / sqrt(xx * yy) > 0.98, "event %zu not at its onset: %.4f", j, xy / sqrt(xx * yy));
            /* Its SNR, from the mixture alone: (power over the span - background power) / background power.
             * The noise-tone cross term over >= 4000 samples moves it by < 0.1 dB at 5 dB SNR; the fades take
             * 0.1 dB at most. */
            double p_span = power(x, e->onset, e->offset);
            double snr = db((p_span - p_bg) / p_bg);
            ck_assert_msg(fabs(snr - e->snr_db) < 0.5, "seed %llu event %zu: SNR %.2f, drawn %.2f",
                          (unsigned long long)seed, j, snr, e->snr_db);
        }
        double out_ev = 0;
        for (size_t i = 0; i < N; i++) {
            int inside = 0;
            for (size_t j = 0; j < m.n_events; j++)
                inside |= i >= m.events[j].onset && i < m.events[j].offset;
            if (!inside)
                out_ev += (double)ev[i] * ev[i];
        }
        ck_assert_msg(out_ev < 1e-9, "events' energy outside their spans: %g", out_ev);
    }
    free(x);
    free(ev);
    fixture_free(&f);
}
END_TEST

START_TEST(peak_level_and_snr)
{
    fixture f;
    fixture_make(&f, 2 * RATE); /* shorter than the mixture: read back and forth */
    ds_mix_opts o;
    ds_mix_opts_default(&o);
    o.snr_min_db = 10;
    float *x = malloc(N * sizeof *x);
    size_t counts[4] = {0};
    for (uint64_t seed = 1; seed <= 40; seed++) {
        aa_rng r;
        aa_rng_seed(&r, seed);
        ds_mixture m;
        aa_error err;
        ck_assert_msg(ds_mixture_make(&f.bg, f.ev, 3, RATE, &o, &r, x, N, &m, &err) == 0, "%s", err.msg);
        ck_assert(m.n_events >= 1 && m.n_events <= 3);
        counts[m.n_events]++;
        float peak = 0;
        for (size_t i = 0; i < N; i++)
            peak = fabsf(x[i]) > peak ? fabsf(x[i]) : peak;
        ck_assert(m.level_db >= -60 && m.level_db <= -10);
        ck_assert_msg(fabs(20 * log10(peak) - m.level_db) < 1e-4, "peak %.4f dBFS, drawn %.4f", 20 * log10(peak),
                      m.level_db);
        double p_bg = outside_power(x, &m);
        ck_assert(fabs(db(p_bg) - m.bg_rms_db) < 0.5);
        for (size_t j = 0; j < m.n_events; j++) {
            double snr = db((power(x, m.events[j].onset, m.events[j].offset) - p_bg) / p_bg);
            ck_assert_msg(fabs(snr - m.events[j].snr_db) < 0.5, "SNR %.2f, drawn %.2f", snr, m.events[j].snr_db);
        }
        /* Outside the events, the background read back and forth from its offset, at the level reported. */
        float *raw = malloc(N * sizeof *raw);
        for (size_t i = 0; i < N; i++) {
            size_t k = (m.bg_offset + i) % (2 * f.bg.n);
            raw[i] = f.bg.x[k < f.bg.n ? k : 2 * f.bg.n - 1 - k];
        }
        double g = pow(10, m.bg_rms_db / 20) / sqrt(power(raw, 0, N)), worst = 0;
        for (size_t i = 0; i < N; i++) {
            int inside = 0;
            for (size_t j = 0; j < m.n_events; j++)
                inside |= i >= m.events[j].onset && i < m.events[j].offset;
            if (!inside)
                worst = fmax(worst, fabs(x[i] - g * raw[i]));
        }
        free(raw);
        ck_assert_msg(worst < 1e-4 * peak, "background off by %g", worst); /* float rounding of the gains */
    }
    /* 40 draws of 1..3 events: each count appears (each has probability 1/3; missing one: 3 (2/3)^40 ~ 1e-7). */
    ck_assert(counts[1] && counts[2] && counts[3]);
    free(x);
    fixture_free(&f);
}
END_TEST

START_TEST(same_stream_same_bytes)
{
    fixture f;
    fixture_make(&f, 10 * RATE);
    float *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
    aa_rng r1, r2;
    ds_mixture m1, m2;
    aa_error err;
    aa_rng_seed3(&r1, 7, 2, 99);
    aa_rng_seed3(&r2, 7, 2, 99);
    ck_assert_int_eq(ds_mixture_make(&f.bg, f.ev, 3, RATE, NULL, &r1, a, N, &m1, &err), 0);
    ck_assert_int_eq(ds_mixture_make(&f.bg, f.ev, 3, RATE, NULL, &r2, b, N, &m2, &err), 0);
    ck_assert_int_eq(memcmp(a, b, N * sizeof *a), 0);
    ck_assert_int_eq(memcmp(&m1, &m2, sizeof m1), 0);
    aa_rng_seed3(&r2, 7, 2, 100);
    ck_assert_int_eq(ds_mixture_make(&f.bg, f.ev, 3, RATE, NULL, &r2, b, N, &m2, &err), 0);
    ck_assert_int_ne(memcmp(a, b, N * sizeof *a), 0);
    /* No events to place: the background alone at the level drawn. */
    aa_rng_seed(&r1, 3);
    ck_assert_int_eq(ds_mixture_make(&f.bg, NULL, 0, RATE, NULL, &r1, a, N, &m1, &err), 0);
    ck_assert_uint_eq(m1.n_events, 0);
    float peak = 0;
    for (size_t i = 0; i < N; i++)
        peak = fabsf(a[i]) > peak ? fabsf(a[i]) : peak;
    ck_assert(fabs(20 * log10(peak) - m1.level_db) < 1e-4);
    free(a);
    free(b);
    fixture_free(&f);
}
END_TEST

START_TEST(bad_arguments_refused)
{
    fixture f;
    fixture_make(&f, RATE);
    float x[100];
    aa_rng r;
    aa_rng_seed(&r, 1);
    aa_error err;
    ds_mix_opts o;
    ds_mix_opts_default(&o);
    o.events_min = 4;
    ck_assert_int_eq(ds_mixture_make(&f.bg, f.ev, 3, RATE, &o, &r, x, 100, NULL, &err), DS_ERR_ARG);
    ds_mix_opts_default(&o);
    o.snr_max_db = NAN;
    ck_assert_int_eq(ds_mixture_make(&f.bg, f.ev, 3, RATE, &o, &r, x, 100, NULL, &err), DS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "SNR"));
    ds_piece empty = {f.bg_x, 0};
    ck_assert_int_eq(ds_mixture_make(&empty, f.ev, 3, RATE, NULL, &r, x, 100, NULL, &err), DS_ERR_ARG);
    ck_assert_int_eq(ds_mixture_make(&f.bg, &empty, 1, RATE, NULL, &r, x, 100, NULL, &err), DS_ERR_ARG);
    ck_assert_int_eq(ds_mixture_make(&f.bg, f.ev, 3, RATE, NULL, &r, x, 0, NULL, &err), DS_ERR_ARG);
    fixture_free(&f);
}
END_TEST

START_TEST(quiet_stretches_between_events)
{
    /* Bursts at 1-1.3 s and 3-3.2 s of a 5 s recording: quiet before, between and after them. */
    size_t n = 5 * RATE;
    float *x = noise(n, 0.001, 3);
    float *burst = noise(n, 0.2, 4);
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / RATE;
        if ((t >= 1 && t < 1.3) || (t >= 3 && t < 3.2))
            x[i] += burst[i];
    }
    ds_event *q;
    size_t k;
    aa_error err;
    ck_assert_msg(ds_quiet_find(x, n, RATE, NULL, 0.5, &q, &k, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(k, 3);
    const double lo[] = {0, 1.3, 3.2}, hi[] = {1.0, 3.0, 5.0};
    for (size_t i = 0; i < k; i++) {
        double s = (double)q[i].start / RATE, e = (double)q[i].end / RATE;
        /* Inside the quiet part, no further in than a margin (0.03 s) and a frame (0.02 s). */
        ck_assert_msg(s >= lo[i] && s <= lo[i] + 0.06 && e <= hi[i] && e >= hi[i] - 0.06,
                      "stretch %zu: %.3f-%.3f", i, s, e);
        ck_assert(q[i].rms_db < -50);
    }
    free(q);
    /* A steady signal: no events, so no quiet stretch (its floor is the sound itself). */
    ck_assert_int_eq(ds_quiet_find(burst, n, RATE, NULL, 0.5, &q, &k, &err), 0);
    ck_assert_uint_eq(k, 0);
    free(x);
    free(burst);
}
END_TEST

Suite *mix_suite(void)
{
    Suite *s = suite_create("mix");
    TCase *t = tcase_create("core");
    tcase_add_test(t, events_at_their_times_snr_and_background_level);
    tcase_add_test(t, peak_level_and_snr);
    tcase_add_test(t, same_stream_same_bytes);
    tcase_add_test(t, bad_arguments_refused);
    tcase_add_test(t, quiet_stretches_between_events);
    suite_add_tcase(s, t);
    return s;
}
