/* datasets/augment.c and batch.c: batches are deterministic whatever the thread count, each augmentation
 * does what it says on hand-made features, and everything off gives the plain features bit for bit. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/augment_internal.h"
#include "datasets/datasets.h"
#include "tests/util/dsfake.h"
#include "tests/util/testutil.h"

#define M 64
#define F 401
#define PER (M * F)

enum { CLICK, SILENT, BUSY, NOISE_A, NOISE_B, NOISE_FLAT, N_WIN };

static uint64_t lcg(uint64_t *r)
{
    *r = *r * 6364136223846793005ULL + 1442695040888963407ULL;
    return *r >> 11;
}

static float urand(uint64_t *r, float lo, float hi)
{
    return lo + (hi - lo) * (float)((double)lcg(r) / 9007199254740992.0);
}

/* Class 0 "cough" for the first three windows, class 1 "background_noise" for the rest:
 *   CLICK: -80 dB everywhere but frame 200 (0 dB): its floor is 0 - 80 = -80.
 *   SILENT: -100 dB everywhere (what digital silence gives: amin 1e-10).
 *   BUSY: uniform in [-70, -10] dB (never 0, never floored).
 *   NOISE_A, NOISE_B: uniform in [-60, -30] dB.   NOISE_FLAT: -50 dB everywhere. */
static ds_cache *make(void)
{
    static const char *const names[] = {"cough", "background_noise"};
    static const int cls[N_WIN] = {0, 0, 0, 1, 1, 1};
    ds_cache *c = fk_cache(N_WIN, 2, names, cls);
    uint64_t r = 99;
    for (int i = 0; i < PER; i++) {
        fk_features(c, CLICK)[i] = i % F == 200 ? 0.0f : -80.0f;
        fk_features(c, SILENT)[i] = -100.0f;
        fk_features(c, BUSY)[i] = urand(&r, -70, -10);
        fk_features(c, NOISE_A)[i] = urand(&r, -60, -30);
        fk_features(c, NOISE_B)[i] = urand(&r, -60, -30);
        fk_features(c, NOISE_FLAT)[i] = -50.0f;
    }
    /* Signals for the waveform steps: the cough windows a 0.3 s burst in a quiet room (so each has an event
     * and quiet stretches), the background windows steady noise. */
    c->signal = calloc(N_WIN, sizeof *c->signal);
    ck_assert_ptr_nonnull(c->signal);
    for (int w = 0; w < N_WIN; w++) {
        float *x = c->signal[w] = malloc(64000 * sizeof *x);
        ck_assert_ptr_nonnull(x);
        for (int i = 0; i < 64000; i++) {
            int burst = cls[w] == 0 && i >= 16000 + 4000 * w && i < 20800 + 4000 * w;
            x[i] = urand(&r, -1, 1) * (cls[w] ? 0.05f : burst ? 0.3f : 0.001f);
        }
    }
    return c;
}

static ds_batcher *batcher(const ds_cache *c, const ds_augment_opts *o, const size_t *pool, size_t n_pool,
                           const float *mean, const float *sd, int threads)
{
    ds_batcher *b = NULL;
    aa_error err;
    ck_assert_msg(ds_batcher_new(&b, c, mean, sd, o, pool, n_pool, threads, &err) == 0, "%s", err.msg);
    return b;
}

static void fill(ds_batcher *b, const size_t *idx, size_t n, uint64_t seed, uint64_t epoch, uint64_t first,
                 float *x, int *labels, float *targets)
{
    aa_error err;
    ck_assert_msg(ds_batch_fill(b, idx, n, seed, epoch, first, x, labels, targets, &err) == 0, "%s", err.msg);
}

static const size_t POOL[] = {CLICK, SILENT, BUSY, NOISE_A, NOISE_B, NOISE_FLAT};

static void stats(float *mean, float *sd)
{
    for (int m = 0; m < M; m++) {
        mean[m] = -55.0f + 0.1f * (float)m;
        sd[m] = 12.0f + 0.05f * (float)m;
    }
}

START_TEST(off_is_plain_features)
{
    ds_cache *c = make();
    float mean[M], sd[M];
    stats(mean, sd);
    ds_augment_opts off;
    ds_augment_opts_off(&off);
    size_t idx[] = {BUSY, CLICK, NOISE_A, BUSY};
    float *x = malloc(4 * PER * sizeof *x), *want = malloc(PER * sizeof *want), targets[4 * 2];
    int labels[4];
    for (int variant = 0; variant < 2; variant++) {
        /* variant 0: the "off" options; 1: no options at all (NULL) */
        ds_batcher *b = batcher(c, variant ? NULL : &off, POOL, N_WIN, mean, sd, 2);
        ck_assert_int_eq(ds_batcher_has_noise(b), 1); /* available, probability 0 */
        fill(b, idx, 4, 1, 3, 17, x, labels, targets);
        for (int i = 0; i < 4; i++) {
            memcpy(want, fk_features(c, idx[i]), PER * sizeof *want);
            dsp_normalise(mean, sd, M, F, want);
            ck_assert_msg(memcmp(x + i * PER, want, PER * sizeof *want) == 0, "item %d not the plain feature", i);
            ck_assert_int_eq(labels[i], c->windows[idx[i]].cls);
            ck_assert(targets[2 * i + labels[i]] == 1.0f && targets[2 * i + 1 - labels[i]] == 0.0f);
        }
        ds_batcher_free(b);
    }
    /* Without normalisation: the cached bits themselves. */
    ds_batcher *b = batcher(c, &off, POOL, N_WIN, NULL, NULL, 1);
    fill(b, idx, 4, 1, 3, 17, x, labels, NULL);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(memcmp(x + i * PER, fk_features(c, idx[i]), PER * sizeof(float)), 0);
    ds_batcher_free(b);
    free(x);
    free(want);
    ds_cache_free(c);
}
END_TEST

START_TEST(deterministic_whatever_the_threads)
{
    ds_cache *c = make();
    float mean[M], sd[M];
    stats(mean, sd);
    ds_augment_opts o;
    ds_augment_opts_default(&o);
    o.mixup_p = 0.5;
    o.mix_p = o.colour_p = o.reverb_p = o.clip_p = 0.3; /* the waveform steps too */
    o.warp_p = 0.5;
    size_t idx[] = {BUSY, CLICK, NOISE_A, BUSY, SILENT, BUSY, BUSY, CLICK, NOISE_B, BUSY, BUSY, SILENT};
    enum { B = sizeof idx / sizeof *idx };
    float *x1 = malloc(B * PER * sizeof(float)), *x2 = malloc(B * PER * sizeof(float));
    float t1[B * 2], t2[B * 2];
    int l1[B], l2[B];
    ds_batcher *b1 = batcher(c, &o, POOL, N_WIN, mean, sd, 1), *b2 = batcher(c, &o, POOL, N_WIN, mean, sd, 2);
    fill(b1, idx, B, 42, 5, 100, x1, l1, t1);
    fill(b2, idx, B, 42, 5, 100, x2, l2, t2);
    ck_assert_int_eq(memcmp(x1, x2, B * PER * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(t1, t2, sizeof t1), 0);
    ck_assert_int_eq(memcmp(l1, l2, sizeof l1), 0);
    /* Two items filled alone, at their place in the epoch, equal the same items of the whole batch. */
    fill(b2, idx + 7, 2, 42, 5, 107, x2, l2, t2);
    ck_assert_int_eq(memcmp(x1 + 7 * PER, x2, 2 * PER * sizeof(float)), 0);
    /* Another seed, epoch or place gives another batch (the default options draw something for almost every
     * item: the chance that all 12 items draw nothing at all is (0.5 * 0.5 * 0.7 * 0.5 * 0.5)^12 ~ 1e-14). */
    const uint64_t other[3][3] = {{43, 5, 100}, {42, 6, 100}, {42, 5, 101}};
    for (int k = 0; k < 3; k++) {
        fill(b2, idx, B, other[k][0], other[k][1], other[k][2], x2, l2, t2);
        ck_assert_int_ne(memcmp(x1, x2, B * PER * sizeof(float)), 0);
    }
    /* Switching one augmentation off leaves what the others drew unchanged. */
    ds_augment_opts o2 = o;
    o2.gain_p = 0;
    ds_batcher *b3 = batcher(c, &o2, POOL, N_WIN, mean, sd, 2);
    for (uint64_t i = 0; i < 50; i++) {
        ds_augment_params p, q;
        ds_batcher_draw(b1, BUSY, 42, 5, i, &p);
        ds_batcher_draw(b3, BUSY, 42, 5, i, &q);
        ck_assert(q.gain_db == 0);
        ck_assert_int_eq(p.shift, q.shift);
        ck_assert_int_eq(p.noise, q.noise);
        ck_assert(p.snr_db == q.snr_db);
        ck_assert_int_eq(p.n_time_masks, q.n_time_masks);
        ck_assert_int_eq(memcmp(p.time_start, q.time_start, sizeof p.time_start), 0);
        ck_assert_int_eq(p.mixup, q.mixup);
        ck_assert(p.lambda == q.lambda);
        ck_assert_int_eq(p.warp, q.warp);
        ck_assert(p.freq_warp == q.freq_warp && p.time_stretch == q.time_stretch);
    }
    /* The warp draws from a stream of its own: switching it off leaves every other draw where it was. */
    ds_augment_opts o3 = o;
    o3.warp_p = 0;
    ds_batcher *b4 = batcher(c, &o3, POOL, N_WIN, mean, sd, 2);
    int warped = 0;
    for (uint64_t i = 0; i < 50; i++) {
        ds_augment_params p, q;
        ds_batcher_draw(b1, BUSY, 42, 5, i, &p);
        ds_batcher_draw(b4, BUSY, 42, 5, i, &q);
        warped += p.warp;
        ck_assert_int_eq(q.warp, 0);
        ck_assert_int_eq(p.shift, q.shift);
        ck_assert(p.gain_db == q.gain_db && p.snr_db == q.snr_db && p.lambda == q.lambda);
        ck_assert_int_eq(memcmp(p.freq_start, q.freq_start, sizeof p.freq_start), 0);
        ck_assert(p.tilt_db == q.tilt_db && p.mix_seed == q.mix_seed && p.clip_db == q.clip_db);
    }
    ck_assert(warped > 10 && warped < 40); /* 50 draws at 0.5: outside 11-39 by a chance of ~1e-5 */
    ds_batcher_free(b4);
    ds_batcher_free(b1);
    ds_batcher_free(b2);
    ds_batcher_free(b3);
    free(x1);
    free(x2);
    ds_cache_free(c);
}
END_TEST

/* Options with everything off but what the test switches on. */
static ds_augment_opts only(void)
{
    ds_augment_opts o;
    ds_augment_opts_off(&o);
    return o;
}

START_TEST(gain_shifts_every_value)
{
    ds_cache *c = make();
    ds_augment_opts o = only();
    o.gain_p = 1;
    ds_batcher *b = batcher(c, &o, POOL, N_WIN, NULL, NULL, 2);
    float *x = malloc(PER * sizeof *x), lo = 0, hi = 0;
    const float *src = fk_features(c, BUSY);
    for (uint64_t i = 0; i < 200; i++) {
        size_t w = BUSY;
        fill(b, &w, 1, 7, 0, i, x, NULL, NULL);
        ds_augment_params p;
        ds_batcher_draw(b, w, 7, 0, i, &p);
        ck_assert(p.gain_db >= -6 && p.gain_db <= 6);
        lo = fminf(lo, p.gain_db), hi = fmaxf(hi, p.gain_db);
        /* (Check's assertions cost a pipe write each: loops count, then assert once.) */
        int bad = 0;
        for (int k = 0; k < PER; k++)
            /* x = src + g in float: |src| <= 76 has an ulp of 7.6e-6; the difference x - src recovers g to
             * within one rounding of the sum, so 1e-5 bounds it. */
            bad += !(fabsf((x[k] - src[k]) - p.gain_db) <= 1e-5f);
        ck_assert_msg(bad == 0, "item %d: %d values not shifted by the gain %g", (int)i, bad, p.gain_db);
    }
    /* 200 uniform draws on [-6, 6] reach beyond +-5 on both sides but for a chance of 2 * (11/12)^200 ~ 6e-8. */
    ck_assert(lo < -5 && hi > 5);
    ds_batcher_free(b);
    free(x);
    ds_cache_free(c);
}
END_TEST

START_TEST(shift_moves_a_click)
{
    ds_cache *c = make();
    ds_augment_opts o = only();
    o.shift_p = 1;
    ds_batcher *b = batcher(c, &o, POOL, N_WIN, NULL, NULL, 1);
    float *x = malloc(PER * sizeof *x);
    int lo = 0, hi = 0;
    for (uint64_t i = 0; i < 300; i++) {
        size_t w = CLICK;
        fill(b, &w, 1, 11, 2, i, x, NULL, NULL);
        ds_augment_params p;
        ds_batcher_draw(b, w, 11, 2, i, &p);
        /* 0.5 s at 16 kHz and a 160-sample hop: 50 frames */
        ck_assert(p.shift >= -50 && p.shift <= 50);
        lo = p.shift < lo ? p.shift : lo;
        hi = p.shift > hi ? p.shift : hi;
        int bad = 0;
        for (int m = 0; m < M; m++)
            for (int t = 0; t < F; t++) {
                /* the click lands at 200 + shift; everything else, shifted-in frames included, is the
                 * window's floor: max (0) - top_db (80) */
                float want = t == 200 + p.shift ? 0.0f : -80.0f;
                bad += x[m * F + t] != want;
            }
        ck_assert_msg(bad == 0, "shift %d: %d values wrong", p.shift, bad);
    }
    /* 300 uniform draws on -50..50 reach past +-45 on both sides but for a chance of ~2 (96/101)^300 ~ 5e-7. */
    ck_assert(lo < -45 && hi > 45);
    ds_batcher_free(b);
    free(x);
    ds_cache_free(c);
}
END_TEST

START_TEST(masks_hit_their_ranges)
{
    ds_cache *c = make();
    ds_augment_opts o = only();
    o.specaug_p = 1;
    ds_batcher *b = batcher(c, &o, POOL, N_WIN, NULL, NULL, 2);
    float *x = malloc(PER * sizeof *x);
    const float *src = fk_features(c, BUSY); /* never 0 */
    int wide_t = 0, wide_f = 0;
    for (uint64_t i = 0; i < 200; i++) {
        size_t w = BUSY;
        fill(b, &w, 1, 3, 0, i, x, NULL, NULL);
        ds_augment_params p;
        ds_batcher_draw(b, w, 3, 0, i, &p);
        ck_assert_int_eq(p.n_time_masks, 2);
        ck_assert_int_eq(p.n_freq_masks, 2);
        char tmask[F] = {0}, fmask[M] = {0};
        for (int k = 0; k < 2; k++) {
            ck_assert(p.time_width[k] >= 0 && p.time_width[k] <= 40);
            ck_assert(p.time_start[k] >= 0 && p.time_start[k] + p.time_width[k] <= F);
            ck_assert(p.freq_width[k] >= 0 && p.freq_width[k] <= 8);
            ck_assert(p.freq_start[k] >= 0 && p.freq_start[k] + p.freq_width[k] <= M);
            memset(tmask + p.time_start[k], 1, (size_t)p.time_width[k]);
            memset(fmask + p.freq_start[k], 1, (size_t)p.freq_width[k]);
            wide_t = p.time_width[k] > wide_t ? p.time_width[k] : wide_t;
            wide_f = p.freq_width[k] > wide_f ? p.freq_width[k] : wide_f;
        }
        int bad = 0;
        for (int m = 0; m < M; m++)
            for (int t = 0; t < F; t++) {
                float want = tmask[t] || fmask[m] ? 0.0f : src[m * F + t];
                bad += x[m * F + t] != want;
            }
        ck_assert_msg(bad == 0, "item %d: %d values wrong", (int)i, bad);
    }
    /* 400 width draws each: the largest allowed widths (40 frames, 8 mels) or close are met. */
    ck_assert_int_ge(wide_t, 38);
    ck_assert_int_eq(wide_f, 8);
    ds_batcher_free(b);
    free(x);
    ds_cache_free(c);
}
END_TEST

START_TEST(noise_mixing_at_the_snr)
{
    ds_cache *c = make();
    ds_augment_opts o = only();
    o.noise_p = 1;
    o.snr_min_db = o.snr_max_db = 10;
    float *x = malloc(PER * sizeof *x);

    /* A silent window (-100 dB = amin) with flat noise at 10 dB SNR: the noise power is a tenth of the
     * window's, so every value rises by 10 log10(1.1) = 0.4139 dB. Tolerance: the float result near -100
     * has an ulp of 7.6e-6; the arithmetic is in double; 1e-4 dB. */
    size_t flat_pool[] = {NOISE_FLAT, SILENT};
    ds_batcher *b = batcher(c, &o, flat_pool, 2, NULL, NULL, 1);
    size_t w = SILENT;
    fill(b, &w, 1, 1, 0, 0, x, NULL, NULL);
    ds_augment_params p;
    ds_batcher_draw(b, w, 1, 0, 0, &p);
    ck_assert_int_eq(p.noise, 1);
    ck_assert_uint_eq(p.noise_window, NOISE_FLAT); /* the only background window of the pool */
    double worst = 0;
    for (int k = 0; k < PER; k++)
        worst = fmax(worst, fabs(x[k] - (-100 + 10 * log10(1.1))));
    ck_assert_msg(worst < 1e-4, "off by %g dB", worst);
    ds_batcher_free(b);

    /* Silent window, varying noise: value k becomes 10 log10(1e-10 (1 + 0.1 Pn[k] / mean Pn)). */
    size_t pool_a[] = {NOISE_A};
    b = batcher(c, &o, pool_a, 1, NULL, NULL, 1);
    fill(b, &w, 1, 1, 0, 0, x, NULL, NULL);
    const float *n = fk_features(c, NOISE_A);
    double mean_pn = 0;
    for (int k = 0; k < PER; k++)
        mean_pn += pow(10, n[k] / 10.0) / PER;
    worst = 0;
    for (int k = 0; k < PER; k++) {
        double want = 10 * log10(1e-10 * (1 + 0.1 * pow(10, n[k] / 10.0) / mean_pn));
        worst = fmax(worst, fabs(x[k] - want));
    }
    ck_assert_msg(worst < 1e-4, "off by %g dB", worst);
    ds_batcher_free(b);

    /* A busy window at SNRs of 5..30 dB: the power added is the window's power / 10^(snr/10). The window
     * spans 60 dB, so no value falls under the re-floor (max - 80) and the power ratio is exact up to float
     * rounding of each value (relative 1e-6 in power): 0.01 dB. */
    o.snr_min_db = 5, o.snr_max_db = 30;
    size_t pool_b[] = {BUSY, NOISE_A, NOISE_B};
    b = batcher(c, &o, pool_b, 3, NULL, NULL, 2);
    const float *s = fk_features(c, BUSY);
    int seen[2] = {0, 0};
    for (uint64_t i = 0; i < 40; i++) {
        w = BUSY;
        fill(b, &w, 1, 9, 1, i, x, NULL, NULL);
        ds_batcher_draw(b, w, 9, 1, i, &p);
        ck_assert(p.snr_db >= 5 && p.snr_db <= 30);
        ck_assert(p.noise_window == NOISE_A || p.noise_window == NOISE_B);
        seen[p.noise_window == NOISE_B]++;
        double ps = 0, pn = 0;
        for (int k = 0; k < PER; k++) {
            double a = pow(10, s[k] / 10.0), m = pow(10, x[k] / 10.0);
            ps += a;
            pn += m - a;
        }
        ck_assert_msg(fabs(10 * log10(ps / pn) - p.snr_db) < 0.01, "SNR %.4f, drawn %.4f", 10 * log10(ps / pn),
                      p.snr_db);
    }
    ck_assert(seen[0] > 0 && seen[1] > 0); /* 40 draws of 2: both met but for a chance of 2^-39 */
    ds_batcher_free(b);

    /* The re-floor: a click (0 dB in one frame, -80 elsewhere) with noise 20 dB louder stays >= its new
     * max - 80. */
    o.snr_min_db = o.snr_max_db = -20;
    b = batcher(c, &o, pool_b, 3, NULL, NULL, 1);
    w = CLICK;
    fill(b, &w, 1, 2, 0, 0, x, NULL, NULL);
    float top = -1e9f;
    for (int k = 0; k < PER; k++)
        top = fmaxf(top, x[k]);
    int under = 0;
    for (int k = 0; k < PER; k++)
        under += x[k] < top - 80.0f;
    ck_assert_int_eq(under, 0);
    ck_assert(top > 0); /* the noise (20 dB above the click's power) is louder than the click */
    ds_batcher_free(b);

    /* No background class: no noise, whatever its probability. */
    o.background_class = "not_a_class";
    b = batcher(c, &o, POOL, N_WIN, NULL, NULL, 1);
    ck_assert_int_eq(ds_batcher_has_noise(b), 0);
    for (uint64_t i = 0; i < 20; i++) {
        ds_batcher_draw(b, BUSY, 1, 0, i, &p);
        ck_assert_int_eq(p.noise, 0);
    }
    fill(b, &w, 1, 1, 0, 0, x, NULL, NULL);
    ck_assert_int_eq(memcmp(x, fk_features(c, CLICK), PER * sizeof *x), 0);
    ds_batcher_free(b);
    free(x);
    ds_cache_free(c);
}
END_TEST

START_TEST(mixup_blends_and_labels)
{
    ds_cache *c = make();
    ds_augment_opts o = only();
    o.mixup_p = 1;
    ds_batcher *b = batcher(c, &o, POOL, N_WIN, NULL, NULL, 2);
    size_t idx[8] = {BUSY, BUSY, BUSY, BUSY, CLICK, CLICK, SILENT, BUSY};
    float *x = malloc(8 * PER * sizeof *x), t[16];
    int labels[8];
    aa_error err;
    ck_assert_int_eq(ds_batch_fill(b, idx, 8, 1, 0, 0, x, labels, NULL, &err), DS_ERR_ARG);
    fill(b, idx, 8, 1, 0, 0, x, labels, t);
    for (int i = 0; i < 8; i++) {
        ds_augment_params p;
        ds_batcher_draw(b, idx[i], 1, 0, (uint64_t)i, &p);
        ck_assert_int_eq(p.mixup, 1);
        ck_assert(p.lambda >= 0.5f && p.lambda <= 1.0f);
        ck_assert(fabsf(t[2 * i] + t[2 * i + 1] - 1) < 1e-6f);
        ck_assert(t[2 * i + labels[i]] >= 0.5f);
        const float *a = fk_features(c, idx[i]), *m = fk_features(c, p.mix_window);
        int bad = 0;
        for (int k = 0; k < PER; k++)
            /* lambda a + (1 - lambda) m in float: within a few ulps of values <= 100 in magnitude */
            bad += !(fabsf(x[i * PER + k] - (p.lambda * a[k] + (1 - p.lambda) * m[k])) < 1e-4f);
        ck_assert_int_eq(bad, 0);
    }
    ds_batcher_free(b);
    free(x);
    ds_cache_free(c);
}
END_TEST

START_TEST(warp_moves_a_tone_burst)
{
    /* SILENT becomes a tone burst: band 30 at 0 dB over frames 150-249, -80 dB elsewhere. After a warp of
     * factors a (frequency) and r (time) its loudest band is the one whose centre is a times band 30's,
     * it lasts r times 100 frames, and it stays centred on the window's middle (frame 200). */
    ds_cache *c = make();
    float *src = fk_features(c, SILENT);
    for (int i = 0; i < PER; i++)
        src[i] = i / F == 30 && i % F >= 150 && i % F < 250 ? 0.0f : -80.0f;
    ds_augment_opts o = only();
    o.warp_p = 1;
    o.warp_freq = 0.2;
    o.warp_time = 0.25;
    ds_batcher *b = batcher(c, &o, POOL, N_WIN, NULL, NULL, 2);
    float *x = malloc(PER * sizeof *x);
    double alo = 2, ahi = 0, rlo = 2, rhi = 0;
    for (uint64_t i = 0; i < 200; i++) {
        size_t w = SILENT;
        fill(b, &w, 1, 3, 1, i, x, NULL, NULL);
        ds_augment_params p;
        ds_batcher_draw(b, w, 3, 1, i, &p);
        ck_assert(p.warp == 1);
        ck_assert(p.freq_warp >= 1 / 1.2f - 1e-6f && p.freq_warp <= 1.2f + 1e-6f);
        ck_assert(p.time_stretch >= 1 / 1.25f - 1e-6f && p.time_stretch <= 1.25f + 1e-6f);
        alo = fmin(alo, p.freq_warp), ahi = fmax(ahi, p.freq_warp);
        rlo = fmin(rlo, p.time_stretch), rhi = fmax(rhi, p.time_stretch);
        int best = 0, first = F, last = -1, below = 0;
        float top = -1e9f;
        for (int m = 0; m < M; m++)
            for (int t = 0; t < F; t++) {
                float v = x[m * F + t];
                below += v < -80.0f - 1e-4f; /* interpolation never leaves the range of its inputs */
                if (v > top)
                    top = v, best = m;
                if (v > -40.0f) {
                    first = t < first ? t : first;
                    last = t > last ? t : last;
                }
            }
        double want = dsp_mel_band_of_hz(&c->dsp, dsp_mel_centre_hz(&c->dsp, 30) * p.freq_warp);
        ck_assert_msg(fabs(best - want) <= 1.0, "a %g: loudest band %d, expected %.2f", p.freq_warp, best, want);
        double len = last - first + 1, mid = 0.5 * (first + last);
        ck_assert_msg(fabs(len - 100 * p.time_stretch) <= 2.0, "r %g: %g frames", p.time_stretch, len);
        /* frames 150-249 centre on 199.5; stretched about 200 that moves by 0.5 (r - 1) at most 0.13 */
        ck_assert_msg(fabs(mid - 199.5) <= 1.5, "r %g: centred on %g", p.time_stretch, mid);
        ck_assert_int_eq(below, 0);
    }
    /* 200 log-uniform draws reach the outer tenths of both ranges on both sides. */
    ck_assert(alo < 1 / 1.18 && ahi > 1.18 && rlo < 1 / 1.22 && rhi > 1.22);
    /* Factors of 1: the window itself, up to the rounding of the mel-scale round trip. */
    float *y = malloc(PER * sizeof *y);
    ds_aug_warp(fk_features(c, BUSY), y, &c->dsp, F, 1.0f, 1.0f);
    int bad = 0;
    for (int i = 0; i < PER; i++)
        bad += !(fabsf(y[i] - fk_features(c, BUSY)[i]) < 1e-3f);
    ck_assert_int_eq(bad, 0);
    free(y);
    ds_batcher_free(b);
    free(x);
    ds_cache_free(c);
}
END_TEST

START_TEST(bad_options_refused)
{
    ds_cache *c = make();
    float mean[M], sd[M];
    stats(mean, sd);
    ds_batcher *b = NULL;
    aa_error err;
    ds_augment_opts o;
    ds_augment_opts_default(&o);
    o.shift_p = 1.5;
    ck_assert_int_eq(ds_batcher_new(&b, c, NULL, NULL, &o, POOL, N_WIN, 1, &err), DS_ERR_ARG);
    ds_augment_opts_default(&o);
    o.time_masks = DS_AUG_MAX_MASKS + 1;
    ck_assert_int_eq(ds_batcher_new(&b, c, NULL, NULL, &o, POOL, N_WIN, 1, &err), DS_ERR_ARG);
    ds_augment_opts_default(&o);
    o.snr_min_db = 40;
    ck_assert_int_eq(ds_batcher_new(&b, c, NULL, NULL, &o, POOL, N_WIN, 1, &err), DS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "SNR"));
    ds_augment_opts_default(&o);
    ck_assert_int_eq(ds_batcher_new(&b, c, mean, NULL, &o, POOL, N_WIN, 1, &err), DS_ERR_ARG);
    size_t bad_pool[] = {N_WIN};
    ck_assert_int_eq(ds_batcher_new(&b, c, NULL, NULL, &o, bad_pool, 1, 1, &err), DS_ERR_ARG);
    ck_assert_ptr_null(b);
    ds_augment_opts_default(&o);
    o.mix_p = 1.01;
    ck_assert_int_eq(ds_batcher_new(&b, c, NULL, NULL, &o, POOL, N_WIN, 1, &err), DS_ERR_ARG);
    ds_augment_opts_default(&o);
    o.reverb_p = 0.3;
    o.rt60_min_s = 0.9;
    ck_assert_int_eq(ds_batcher_new(&b, c, NULL, NULL, &o, POOL, N_WIN, 1, &err), DS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "RT60"));
    ds_augment_opts_default(&o);
    o.mix_p = 0.5;
    o.mix.events_max = DS_MIX_MAX_EVENTS + 1;
    ck_assert_int_eq(ds_batcher_new(&b, c, NULL, NULL, &o, POOL, N_WIN, 1, &err), DS_ERR_ARG);
    ds_augment_opts_default(&o);
    o.warp_p = 0.5;
    o.warp_freq = 0.6;
    ck_assert_int_eq(ds_batcher_new(&b, c, NULL, NULL, &o, POOL, N_WIN, 1, &err), DS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "warp"));
    /* Waveform steps without the signals: refused, naming the file. */
    ds_augment_opts_default(&o);
    o.mix_p = o.colour_p = 0.5;
    float *kept = c->signal[1];
    c->signal[1] = NULL;
    ck_assert_int_eq(ds_batcher_new(&b, c, NULL, NULL, &o, POOL, N_WIN, 1, &err), DS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "f00001.wav"));
    ck_assert_ptr_null(b);
    c->signal[1] = kept;
    b = batcher(c, &o, POOL, N_WIN, mean, sd, 1);
    size_t idx[] = {0, N_WIN};
    float *x = malloc(2 * PER * sizeof *x);
    int labels[2];
    ck_assert_int_eq(ds_batch_fill(b, idx, 2, 1, 0, 0, x, labels, NULL, &err), DS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "out of range"));
    free(x);
    ds_batcher_free(b);
    ds_cache_free(c);
}
END_TEST

Suite *augment_suite(void)
{
    Suite *s = suite_create("augment");
    TCase *tc = tcase_create("augment");
    tcase_set_timeout(tc, 30); /* a few hundred 64 x 401 items per case: well under a second here */
    tcase_add_test(tc, off_is_plain_features);
    tcase_add_test(tc, deterministic_whatever_the_threads);
    tcase_add_test(tc, gain_shifts_every_value);
    tcase_add_test(tc, shift_moves_a_click);
    tcase_add_test(tc, masks_hit_their_ranges);
    tcase_add_test(tc, noise_mixing_at_the_snr);
    tcase_add_test(tc, mixup_blends_and_labels);
    tcase_add_test(tc, warp_moves_a_tone_burst);
    tcase_add_test(tc, bad_options_refused);
    suite_add_tcase(s, tc);
    return s;
}
