/* datasets/augment_wave.c through the batcher: the pools hold the events and quiet stretches of the files,
 * an item remade from its waveform is the log-mel of what the documented steps make, and batches are the
 * same bytes whatever the thread count. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/augment_internal.h"
#include "tests/util/dsfake.h"

#define RATE 16000
#define NS 64000
enum { COUGH_A, COUGH_B, COUGH_C, BG_A, BG_B, BG_C, N_WIN };
#define BURST_ON(w) (16000 + 4000 * (w))
#define BURST_LEN 4800

static uint64_t lcg(uint64_t *r)
{
    *r = *r * 6364136223846793005ULL + 1442695040888963407ULL;
    return *r >> 11;
}

static float urand(uint64_t *r)
{
    return (float)(2.0 * (double)lcg(r) / 9007199254740992.0 - 1.0);
}

/* Three cough windows (a 0.3 s burst at 1.0, 1.25, 1.5 s in a quiet room) and three of steady background. */
static ds_cache *make(void)
{
    static const char *const names[] = {"cough", "background_noise"};
    static const int cls[N_WIN] = {0, 0, 0, 1, 1, 1};
    ds_cache *c = fk_cache(N_WIN, 2, names, cls);
    c->signal = calloc(N_WIN, sizeof *c->signal);
    ck_assert_ptr_nonnull(c->signal);
    uint64_t r = 17;
    for (int w = 0; w < N_WIN; w++) {
        float *x = c->signal[w] = malloc(NS * sizeof *x);
        ck_assert_ptr_nonnull(x);
        for (int i = 0; i < NS; i++) {
            int burst = cls[w] == 0 && i >= BURST_ON(w) && i < BURST_ON(w) + BURST_LEN;
            x[i] = urand(&r) * (cls[w] ? 0.05f : burst ? 0.3f : 0.001f);
        }
    }
    return c;
}

static const size_t POOL[] = {0, 1, 2, 3, 4, 5};

static ds_augment_opts only(void)
{
    ds_augment_opts o;
    ds_augment_opts_off(&o);
    return o;
}

/* The items' features as the batcher makes them: no normalisation, no feature-domain step, so x is the
 * (remade or cached) log-mel itself. */
static void fill(const ds_cache *c, const ds_augment_opts *o, int threads, const size_t *idx, size_t n,
                 uint64_t epoch, float *x)
{
    ds_batcher *b = NULL;
    aa_error err;
    ck_assert_msg(ds_batcher_new(&b, c, NULL, NULL, o, POOL, N_WIN, threads, &err) == 0, "%s", err.msg);
    int labels[16];
    ck_assert(n <= 16);
    ck_assert_msg(ds_batch_fill(b, idx, n, 5, epoch, 0, x, labels, NULL, &err) == 0, "%s", err.msg);
    ds_batcher_free(b);
}

static void logmel(const dsp_settings *s, const float *x, float *out)
{
    aa_error err;
    dsp_logmel *lm = dsp_logmel_new(s, 1, &err);
    ck_assert_ptr_nonnull(lm);
    size_t zero = 0;
    ck_assert_int_eq(dsp_windows_logmel(lm, 0, x, NS, &zero, 1, out, &err), 0);
    dsp_logmel_free(lm);
}

START_TEST(pools_hold_events_and_quiet_stretches)
{
    ds_cache *c = make();
    ds_event_opts eo;
    ds_event_opts_default(&eo);
    ds_wave_pools p;
    aa_error err;
    ck_assert_msg(ds_wave_pools_make(&p, c, POOL, N_WIN, 1, NULL, &eo, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(p.ev_count[0], 3);
    ck_assert_uint_eq(p.ev_count[1], 0);
    for (size_t k = 0; k < 3; k++) {
        const ds_piece *e = &p.ev[p.ev_first[0] + k];
        size_t at = (size_t)(e->x - c->signal[k]);
        /* The burst with the 0.03 s margins, within a frame (0.02 s) either way. */
        ck_assert_msg(at + 480 + 320 >= (size_t)BURST_ON(k) && at + 480 <= (size_t)BURST_ON(k) + 320,
                      "event %zu at %zu", k, at);
        ck_assert(e->n >= BURST_LEN + 960 - 640 && e->n <= BURST_LEN + 960 + 640);
    }
    /* Backgrounds: the three background files whole, and the quiet before and after each burst when it
     * lasts 1 s: not before the first burst (1 s less a margin and a frame), so 3 + 2 + 3. */
    ck_assert_uint_eq(p.n_bg, 8);
    size_t whole = 0;
    for (size_t i = 0; i < p.n_bg; i++)
        whole += p.bg[i].n == NS;
    ck_assert_uint_eq(whole, 3);
    ds_wave_pools_free(&p);
    /* Only the classes named are cut into events (the others still give their quiet stretches); a name that
     * is not a class, or is the background, is refused. */
    ck_assert_int_eq(ds_wave_pools_make(&p, c, POOL, N_WIN, 1, "cough", &eo, &err), 0);
    ck_assert_uint_eq(p.ev_count[0], 3);
    ds_wave_pools_free(&p);
    ck_assert_int_eq(ds_wave_pools_make(&p, c, POOL, N_WIN, 1, "wheeze", &eo, &err), DS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "'wheeze'"));
    ck_assert_int_eq(ds_wave_pools_make(&p, c, POOL, N_WIN, 1, "cough,background_noise", &eo, &err), DS_ERR_ARG);
    ds_cache_free(c);
}
END_TEST

START_TEST(unmixed_class_stays_as_it_is)
{
    /* With the background as the only class left to mix, cough items are never mixtures and background
     * items still are. */
    static const char *const names[] = {"cough", "background_noise", "hum"};
    static const int cls[4] = {0, 1, 2, 1};
    ds_cache *c = fk_cache(4, 3, names, cls);
    c->signal = calloc(4, sizeof *c->signal);
    uint64_t r = 3;
    for (int w = 0; w < 4; w++) {
        c->signal[w] = malloc(NS * sizeof(float));
        for (int i = 0; i < NS; i++)
            c->signal[w][i] = urand(&r) * (w == 0 && i > 16000 && i < 20000 ? 0.3f : 0.01f);
    }
    ds_augment_opts o = only();
    o.mix_p = 1;
    o.mix_classes = "hum";
    ds_batcher *b;
    aa_error err;
    const size_t pool[] = {0, 1, 2, 3};
    ck_assert_msg(ds_batcher_new(&b, c, NULL, NULL, &o, pool, 4, 1, &err) == 0, "%s", err.msg);
    for (uint64_t i = 0; i < 20; i++) {
        ds_augment_params p;
        ds_batcher_draw(b, 0, 1, 0, i, &p);
        ck_assert_int_eq(p.mixture, 0); /* cough: not among the classes mixed */
        ds_batcher_draw(b, 1, 1, 0, i, &p);
        ck_assert_int_eq(p.mixture, 1); /* background: always a background */
        ds_batcher_draw(b, 2, 1, 0, i, &p);
        ck_assert_int_eq(p.mixture, 0); /* hum: named, but a steady signal has no events */
    }
    ds_batcher_free(b);
    ds_cache_free(c);
}
END_TEST

START_TEST(mixture_item_is_the_mixers_output)
{
    ds_cache *c = make();
    ds_augment_opts o = only();
    o.mix_p = 1;
    ds_batcher *b = NULL;
    aa_error err;
    ck_assert_int_eq(ds_batcher_new(&b, c, NULL, NULL, &o, POOL, N_WIN, 1, &err), 0);
    ds_wave_pools p;
    ck_assert_int_eq(ds_wave_pools_make(&p, c, POOL, N_WIN, 1, NULL, &o.events, &err), 0);
    const size_t per = c->n_mels * c->n_frames;
    float *got = malloc(per * sizeof *got), *want = malloc(per * sizeof *want), *wave = malloc(NS * sizeof *wave);
    for (size_t w = 0; w < N_WIN; w += 3) { /* a cough item and a background item */
        ds_augment_params prm;
        ds_batcher_draw(b, w, 5, 0, 0, &prm);
        ck_assert_int_eq(prm.mixture, 1);
        ck_assert(!prm.colour && !prm.reverb && !prm.clip);
        int labels[1];
        ck_assert_int_eq(ds_batch_fill(b, &w, 1, 5, 0, 0, got, labels, NULL, &err), 0);
        ck_assert_int_eq(labels[0], c->windows[w].cls);
        /* The documented recipe: a background from the mixture's stream, then ds_mixture_make with the
         * item's class's events (none for the background class). */
        aa_rng r;
        aa_rng_seed(&r, prm.mix_seed);
        const ds_piece *bg = &p.bg[aa_rng_below(&r, p.n_bg)];
        ds_mixture m;
        int cough = c->windows[w].cls == 0;
        ck_assert_int_eq(ds_mixture_make(bg, cough ? p.ev : NULL, cough ? 3 : 0, RATE, &o.mix, &r, wave, NS, &m,
                                         &err), 0);
        ck_assert_uint_eq(m.n_events > 0, cough);
        logmel(&c->dsp, wave, want);
        ck_assert_msg(memcmp(got, want, per * sizeof *got) == 0, "window %zu is not the mixer's mixture", w);
    }
    free(got);
    free(want);
    free(wave);
    ds_wave_pools_free(&p);
    ds_batcher_free(b);
    ds_cache_free(c);
}
END_TEST

START_TEST(clip_colour_and_reverb_do_what_they_say)
{
    ds_cache *c = make();
    const size_t per = c->n_mels * c->n_frames, F = c->n_frames;
    float *got = malloc(per * sizeof *got), *plain = malloc(per * sizeof *plain), *wave = malloc(NS * sizeof *wave);
    logmel(&c->dsp, c->signal[COUGH_A], plain);
    size_t w = COUGH_A;
    aa_error err;

    /* Clipping: the log-mel of the signal clipped clip_db below its peak, bit for bit. */
    ds_augment_opts o = only();
    o.clip_p = 1;
    ds_batcher *b = NULL;
    ck_assert_int_eq(ds_batcher_new(&b, c, NULL, NULL, &o, POOL, N_WIN, 1, &err), 0);
    ds_augment_params prm;
    ds_batcher_draw(b, w, 5, 0, 0, &prm);
    ck_assert(prm.clip && prm.clip_db >= 1 && prm.clip_db <= 12);
    ds_batcher_free(b);
    fill(c, &o, 1, &w, 1, 0, got);
    float peak = 0;
    for (int i = 0; i < NS; i++)
        peak = fabsf(c->signal[w][i]) > peak ? fabsf(c->signal[w][i]) : peak;
    float t = (float)(peak * pow(10, -prm.clip_db / 20));
    for (int i = 0; i < NS; i++)
        wave[i] = c->signal[w][i] > t ? t : c->signal[w][i] < -t ? -t : c->signal[w][i];
    float *want = malloc(per * sizeof *want);
    logmel(&c->dsp, wave, want);
    ck_assert_int_eq(memcmp(got, want, per * sizeof *got), 0);
    free(want);

    /* Colour: find an item drawing the telephone band; the mels below 250 Hz fall by more than 15 dB during
     * the burst, those near 1 kHz move by less than the tilt's half plus 3 dB. */
    o = only();
    o.colour_p = 1;
    ck_assert_int_eq(ds_batcher_new(&b, c, NULL, NULL, &o, POOL, N_WIN, 1, &err), 0);
    uint64_t epoch = 0;
    for (; epoch < 200; epoch++) {
        ds_batcher_draw(b, w, 5, epoch, 0, &prm);
        if (prm.band == DS_BAND_TELEPHONE)
            break;
    }
    ds_batcher_free(b);
    ck_assert_msg(epoch < 200, "no telephone band in 200 draws (p = 1/4 each)");
    fill(c, &o, 1, &w, 1, epoch, got);
    size_t frame = (size_t)(BURST_ON(w) + BURST_LEN / 2) / 160;
    /* Slaney mels of 0-8 kHz in 64 bands: band 1 is centred near 70 Hz, band 14 near 1 kHz. */
    ck_assert_msg(plain[1 * F + frame] - got[1 * F + frame] > 15, "low band %.1f -> %.1f dB", plain[1 * F + frame],
                  got[1 * F + frame]);
    ck_assert_msg(fabsf(plain[14 * F + frame] - got[14 * F + frame]) < fabsf(prm.tilt_db) / 2 + 3,
                  "1 kHz band %.1f -> %.1f dB (tilt %.1f)", plain[14 * F + frame], got[14 * F + frame], prm.tilt_db);

    /* Reverberation of 0.8 s: 0.1 s after the burst the room still rings 15 dB over the quiet room. */
    o = only();
    o.reverb_p = 1;
    o.rt60_min_s = o.rt60_max_s = 0.8;
    fill(c, &o, 1, &w, 1, 0, got);
    size_t after = (size_t)(BURST_ON(w) + BURST_LEN + 1600) / 160;
    double rise = 0;
    for (size_t m = 0; m < c->n_mels; m++)
        rise += (got[m * F + after] - plain[m * F + after]) / (double)c->n_mels;
    ck_assert_msg(rise > 15, "tail only %.1f dB over the room", rise);
    free(got);
    free(plain);
    free(wave);
    ds_cache_free(c);
}
END_TEST

START_TEST(wave_batches_same_bytes_whatever_the_threads)
{
    ds_cache *c = make();
    ds_augment_opts o;
    ds_augment_opts_default(&o);
    o.mix_p = o.colour_p = o.reverb_p = o.clip_p = 0.7;
    const size_t per = c->n_mels * c->n_frames;
    size_t idx[] = {0, 3, 1, 4, 2, 5, 0, 3};
    enum { B = 8 };
    float *x1 = malloc(B * per * sizeof(float)), *x2 = malloc(B * per * sizeof(float));
    fill(c, &o, 1, idx, B, 2, x1);
    fill(c, &o, 2, idx, B, 2, x2);
    ck_assert_int_eq(memcmp(x1, x2, B * per * sizeof(float)), 0);
    /* Items 0 and 6 are the same window at other places: remade differently. */
    ck_assert_int_ne(memcmp(x1, x1 + 6 * per, per * sizeof(float)), 0);
    fill(c, &o, 2, idx, B, 3, x2);
    ck_assert_int_ne(memcmp(x1, x2, B * per * sizeof(float)), 0);
    /* The waveform draws leave the feature-domain ones where they were, and colour off leaves the others. */
    ds_augment_opts feat_only = o;
    feat_only.mix_p = feat_only.colour_p = feat_only.reverb_p = feat_only.clip_p = 0;
    ds_augment_opts no_colour = o;
    no_colour.colour_p = 0;
    ds_batcher *b1, *b2, *b3;
    aa_error err;
    ck_assert_int_eq(ds_batcher_new(&b1, c, NULL, NULL, &o, POOL, N_WIN, 1, &err), 0);
    ck_assert_int_eq(ds_batcher_new(&b2, c, NULL, NULL, &feat_only, POOL, N_WIN, 1, &err), 0);
    ck_assert_int_eq(ds_batcher_new(&b3, c, NULL, NULL, &no_colour, POOL, N_WIN, 1, &err), 0);
    int mixtures = 0;
    for (uint64_t i = 0; i < 40; i++) {
        ds_augment_params p, q, s;
        ds_batcher_draw(b1, i % N_WIN, 9, 1, i, &p);
        ds_batcher_draw(b2, i % N_WIN, 9, 1, i, &q);
        ds_batcher_draw(b3, i % N_WIN, 9, 1, i, &s);
        ck_assert(p.shift == q.shift && p.gain_db == q.gain_db && p.noise == q.noise && p.snr_db == q.snr_db);
        ck_assert(p.n_time_masks == q.n_time_masks && p.mixup == q.mixup && p.lambda == q.lambda);
        ck_assert(!ds_wave_any(&q));
        ck_assert(!s.colour);
        ck_assert(p.mixture == s.mixture && p.mix_seed == s.mix_seed && p.reverb == s.reverb &&
                  p.rt60_s == s.rt60_s && p.reverb_seed == s.reverb_seed && p.clip == s.clip &&
                  p.clip_db == s.clip_db);
        mixtures += p.mixture;
    }
    ck_assert(mixtures > 10 && mixtures < 40); /* p = 0.7 over 40 items */
    ds_batcher_free(b1);
    ds_batcher_free(b2);
    ds_batcher_free(b3);
    free(x1);
    free(x2);
    ds_cache_free(c);
}
END_TEST

Suite *augment_wave_suite(void)
{
    Suite *s = suite_create("augment_wave");
    TCase *t = tcase_create("core");
    tcase_set_timeout(t, 30);
    tcase_add_test(t, pools_hold_events_and_quiet_stretches);
    tcase_add_test(t, unmixed_class_stays_as_it_is);
    tcase_add_test(t, mixture_item_is_the_mixers_output);
    tcase_add_test(t, clip_colour_and_reverb_do_what_they_say);
    tcase_add_test(t, wave_batches_same_bytes_whatever_the_threads);
    suite_add_tcase(s, t);
    return s;
}
