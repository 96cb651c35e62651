/* Mixture sets (datasets/mixset.c): material taken from recordings as documented, mixtures reproducible by
 * seed and index (and different for another seed or stream), and the reference times right to the sample. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/mixset.h"

#define RATE 16000

/* 0.9 s: a faint floor, then a 0.3 s burst of a 700 Hz tone in its middle. No quiet stretch of 1 s. */
static float *burst_recording(size_t *n)
{
    *n = (size_t)(0.9 * RATE);
    float *x = malloc(*n * sizeof *x);
    aa_rng r;
    aa_rng_seed3(&r, 5, 0, 0);
    for (size_t i = 0; i < *n; i++) {
        double t = (double)i / RATE, floor = 1e-4 * (aa_rng_uniform_d(&r) - 0.5);
        x[i] = (float)(floor + (t >= 0.3 && t < 0.6 ? 0.3 * sin(2 * M_PI * 700 * t) : 0));
    }
    return x;
}

static ds_mix_material *material(void)
{
    ds_mix_material *m = ds_mix_material_new();
    ck_assert_ptr_nonnull(m);
    size_t n;
    float *x = burst_recording(&n);
    float *silence = calloc(RATE * 3, sizeof *silence);
    aa_error err;
    ck_assert_int_eq(ds_mix_material_add(m, x, n, RATE, 2, 0, &err), 0);
    ck_assert_int_eq(ds_mix_material_add(m, silence, RATE * 3, RATE, -1, 1, &err), 0);
    free(x); /* copied */
    free(silence);
    return m;
}

static ds_mixset_opts small_set(void)
{
    ds_mixset_opts o;
    ds_mixset_opts_default(&o);
    o.count = 4;
    o.seconds = 20;
    o.mix.events_min = o.mix.events_max = 3;
    o.mix.min_gap_s = 2;
    return o;
}

START_TEST(defaults_are_the_issue_mixtures)
{
    ds_mixset_opts o;
    ds_mixset_opts_default(&o);
    ck_assert_int_eq(o.count, 30);
    ck_assert(o.seconds == 60 && o.seed == 1 && o.stream == 0);
    ck_assert_int_eq(o.mix.events_min, 4);
    ck_assert_int_eq(o.mix.events_max, 4);
    ck_assert(o.mix.level_min_db == -50 && o.mix.level_max_db == -30 && o.mix.level_ref == DS_LEVEL_BACKGROUND_RMS);
    ck_assert(o.mix.snr_min_db == 8 && o.mix.snr_max_db == 25 && o.mix.min_gap_s == 6);
    ck_assert_uint_eq(ds_mixset_samples(&o, RATE), 60 * RATE);
}
END_TEST

START_TEST(material_as_documented)
{
    ds_mix_material *m = material();
    /* the burst is the one event, of the class it was added with; the silent recording the one background
     * (the burst recording has no quiet stretch of 1 s) */
    ck_assert_uint_eq(ds_mix_material_events(m), 1);
    ck_assert_uint_eq(ds_mix_material_backgrounds(m), 1);
    ck_assert_int_eq(ds_mix_material_event_class(m, 0), 2);
    ck_assert_int_eq(ds_mix_material_event_class(m, 1), -1);
    double ev_s = ds_mix_material_seconds(m, RATE, 1);
    ck_assert_msg(ev_s > 0.3 && ev_s < 0.4, "event of %g s", ev_s); /* 0.3 s and two 30 ms margins */
    ck_assert(fabs(ds_mix_material_seconds(m, RATE, 0) - 3) < 1e-9);
    /* no event, no background: refused, nothing drawn */
    ds_mix_material *empty = ds_mix_material_new();
    ds_mixset_opts o = small_set();
    float x[16];
    aa_error err;
    ck_assert_int_eq(ds_mixset_one(empty, RATE, &o, 0, x, 16, NULL, &err), DS_ERR_ARG);
    ck_assert_int_eq(ds_mixset_one(m, RATE, &o, 4, x, 16, NULL, &err), DS_ERR_ARG);
    ds_mix_material_free(empty);
    ds_mix_material_free(m);
}
END_TEST

START_TEST(reproducible_by_seed_and_index)
{
    ds_mix_material *a = material(), *b = material();
    ds_mixset_opts o = small_set();
    size_t n = ds_mixset_samples(&o, RATE);
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    ds_mixture ix, iy;
    aa_error err;
    /* mixture 2 of one material, made first, equals mixture 2 of another made after 0 and 1 */
    ck_assert_int_eq(ds_mixset_one(a, RATE, &o, 2, x, n, &ix, &err), 0);
    ck_assert_int_eq(ds_mixset_one(b, RATE, &o, 0, y, n, NULL, &err), 0);
    ck_assert_int_eq(ds_mixset_one(b, RATE, &o, 1, y, n, NULL, &err), 0);
    ck_assert_int_eq(ds_mixset_one(b, RATE, &o, 2, y, n, &iy, &err), 0);
    ck_assert_int_eq(memcmp(x, y, n * sizeof *x), 0);
    ck_assert_int_eq(memcmp(&ix, &iy, sizeof ix), 0);
    /* another index, seed or stream: other times */
    ds_mixset_opts o2 = o;
    o2.seed = 2;
    ds_mixset_opts o3 = o;
    o3.stream = 1;
    ck_assert_int_eq(ds_mixset_one(a, RATE, &o, 3, y, n, &iy, &err), 0);
    ck_assert(iy.events[0].onset != ix.events[0].onset);
    ck_assert_int_eq(ds_mixset_one(a, RATE, &o2, 2, y, n, &iy, &err), 0);
    ck_assert(iy.events[0].onset != ix.events[0].onset);
    ck_assert_int_eq(ds_mixset_one(a, RATE, &o3, 2, y, n, &iy, &err), 0);
    ck_assert(iy.events[0].onset != ix.events[0].onset);
    free(x);
    free(y);
    ds_mix_material_free(a);
    ds_mix_material_free(b);
}
END_TEST

START_TEST(reference_times_are_where_the_events_are)
{
    ds_mix_material *m = material();
    ds_mixset_opts o = small_set();
    size_t n = ds_mixset_samples(&o, RATE);
    float *x = malloc(n * sizeof *x);
    aa_error err;
    for (int i = 0; i < o.count; i++) {
        ds_mixture mx;
        ck_assert_int_eq(ds_mixset_one(m, RATE, &o, i, x, n, &mx, &err), 0);
        ck_assert_uint_eq(mx.n_events, 3);
        /* Over a silent background the mixture is zero outside the events exactly, and each event's span
         * holds its burst (the tone starts 0.27 s in, after the floor and the margin). */
        for (size_t j = 0; j < mx.n_events; j++) {
            const ds_mix_event *e = &mx.events[j];
            ck_assert_uint_eq(e->source, 0);
            ck_assert_uint_eq(e->offset - e->onset, (size_t)(ds_mix_material_seconds(m, RATE, 1) * RATE + 0.5));
            if (j)
                ck_assert_uint_ge(e->onset, mx.events[j - 1].offset + (size_t)(o.mix.min_gap_s * RATE));
            double peak = 0;
            for (size_t s = e->onset; s < e->offset; s++)
                peak = fmax(peak, fabs(x[s]));
            ck_assert(peak > 1e-3);
        }
        size_t stray = 0;
        for (size_t s = 0; s < n; s++) {
            int inside = 0;
            for (size_t j = 0; j < mx.n_events; j++)
                inside |= s >= mx.events[j].onset && s < mx.events[j].offset;
            stray += !inside && x[s] != 0;
        }
        ck_assert_uint_eq(stray, 0);
    }
    free(x);
    ds_mix_material_free(m);
}
END_TEST

Suite *mixset_suite(void)
{
    Suite *s = suite_create("mixset");
    TCase *tc = tcase_create("sets");
    tcase_add_test(tc, defaults_are_the_issue_mixtures);
    tcase_add_test(tc, material_as_documented);
    tcase_add_test(tc, reproducible_by_seed_and_index);
    tcase_add_test(tc, reference_times_are_where_the_events_are);
    suite_add_tcase(s, tc);
    return s;
}
