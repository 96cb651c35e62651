/* Drift (model/drift.h): the score, its calibration, the model file's keys, and the verdict in every
 * output. The recordings are made here: low-passed noise whose level and colour vary a little from one to
 * the next, as a corpus of one microphone's recordings does; then the same recordings louder, with white
 * noise added, or band-limited, which a drift verdict must flag. */
#include <check.h>
#include <math.h>
#include <sndfile.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "include/audioaudit.h"
#include "demo/demo.h"
#include "infer/infer.h"
#include "model/drift.h"
#include "model/model_internal.h"
#include "tests/util/demomodel.h"
#include "tests/util/testutil.h"

#define RATE 16000
#define SECONDS 4 /* one clip of the default front end */

static double uniform(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return (double)(*s >> 11) / 9007199254740992.0;
}

typedef enum { LIKE, LOUDER, NOISY, BAND_LIMITED } kind;

/* Recording `seed` of the corpus, or the same recording changed by k. */
static float *recording(uint64_t seed, kind k)
{
    size_t n = (size_t)RATE * SECONDS;
    float *x = malloc(n * sizeof *x);
    ck_assert_ptr_nonnull(x);
    uint64_t s = 0x9E3779B97F4A7C15ull ^ (seed * 0xBF58476D1CE4E5B9ull);
    for (int i = 0; i < 4; i++)
        uniform(&s);
    double gain_db = -6 + 6 * uniform(&s), pole = 0.90 + 0.04 * uniform(&s), y = 0;
    double amp = 0.01 * pow(10, gain_db / 20) * (k == LOUDER ? 10 : 1); /* LOUDER: +20 dB */
    for (size_t i = 0; i < n; i++) {
        double w = 2 * uniform(&s) - 1;
        y = pole * y + (1 - pole) * w;
        x[i] = (float)(amp * 8 * y);
        if (k == NOISY)
            x[i] += (float)(0.02 * (2 * uniform(&s) - 1));
    }
    if (k == BAND_LIMITED) /* four one-pole low-passes at about 300 Hz: the upper bands all but gone */
        for (int pass = 0; pass < 4; pass++) {
            double p = exp(-2 * M_PI * 300.0 / RATE), z = 0;
            for (size_t i = 0; i < n; i++)
                x[i] = (float)(z = p * z + (1 - p) * x[i]);
        }
    return x;
}

/* The drift features of one clip as the trainer computes them: its log-mel, every frame its audio. */
static void features_of(const float *x, float *feat)
{
    dsp_settings s = dsp_settings_default();
    aa_error err;
    dsp_logmel *lm = dsp_logmel_new(&s, 1, &err);
    ck_assert_msg(lm != NULL, "%s", err.msg);
    size_t frames = dsp_clip_frames(&s), n = (size_t)RATE * SECONDS, off = 0;
    float *mel = malloc((size_t)s.n_mels * frames * sizeof *mel);
    ck_assert_int_eq(dsp_windows_logmel(lm, 0, x, n, &off, 1, mel, &err), 0);
    am_drift_acc *a = am_drift_acc_new(s.n_mels);
    ck_assert_ptr_nonnull(a);
    /* the last frame of a whole clip is centred on its end: half of it is padding, and it is left out */
    ck_assert_uint_eq(am_drift_frames_used(&s, 0, n, frames), frames - 1);
    am_drift_acc_add(a, mel, frames, frames - 1);
    ck_assert_int_eq(am_drift_features(a, feat), 0);
    am_drift_acc_free(a);
    free(mel);
    dsp_logmel_free(lm);
}

enum { N_TRAIN = 60, N_VAL = 60, N_FEAT = 128 };

/* Centre and scale from N_TRAIN recordings, threshold the 99th percentile of N_VAL others' scores. */
static double g_threshold;
static float g_centre[N_FEAT], g_scale[N_FEAT];

static void fit_corpus(void)
{
    static float feats[N_TRAIN * N_FEAT];
    for (int i = 0; i < N_TRAIN; i++) {
        float *x = recording((uint64_t)i, LIKE);
        features_of(x, feats + (size_t)i * N_FEAT);
        free(x);
    }
    aa_error err;
    ck_assert_int_eq(am_drift_fit(feats, N_TRAIN, N_FEAT, g_centre, g_scale, &err), 0);
    double scores[N_VAL];
    float f[N_FEAT];
    for (int i = 0; i < N_VAL; i++) {
        float *x = recording(1000 + (uint64_t)i, LIKE);
        features_of(x, f);
        scores[i] = am_drift_score(f, g_centre, g_scale, N_FEAT);
        free(x);
    }
    g_threshold = am_drift_percentile(scores, N_VAL, AM_DRIFT_PERCENTILE);
}

START_TEST(score_is_zero_at_the_training_centre)
{
    fit_corpus();
    ck_assert(am_drift_score(g_centre, g_centre, g_scale, N_FEAT) == 0);
    /* and about 1 on a training recording (the median's z-scores, clipped: normal-like data gives 1) */
    float f[N_FEAT];
    float *x = recording(3, LIKE);
    features_of(x, f);
    free(x);
    double s = am_drift_score(f, g_centre, g_scale, N_FEAT);
    ck_assert_msg(s > 0.05 && s < 4, "training recording scores %g", s);
}
END_TEST

START_TEST(fit_is_median_and_scaled_mad)
{
    /* one feature: 1 2 3 4 100 -> median 3, |x - 3| = 2 1 0 1 97 -> MAD 1; a constant feature gets the floor */
    const float feats[5 * 2] = {1, 7, 2, 7, 3, 7, 4, 7, 100, 7};
    float c[2], sc[2];
    aa_error err;
    ck_assert_int_eq(am_drift_fit(feats, 5, 2, c, sc, &err), 0);
    ck_assert(c[0] == 3 && c[1] == 7);
    ck_assert(fabsf(sc[0] - 1.4826f) < 1e-6f);
    ck_assert(sc[1] == (float)AM_DRIFT_SCALE_MIN);
    ck_assert_int_ne(am_drift_fit(feats, 0, 2, c, sc, &err), 0);
}
END_TEST

START_TEST(one_band_alone_is_clipped)
{
    float centre[N_FEAT] = {0}, scale[N_FEAT], feat[N_FEAT] = {0};
    for (int i = 0; i < N_FEAT; i++)
        scale[i] = 1;
    feat[5] = 1e6f; /* a hum in one band: z = 1e6 */
    double s = am_drift_score(feat, centre, scale, N_FEAT);
    ck_assert(fabs(s - AM_DRIFT_Z_CLIP * AM_DRIFT_Z_CLIP / N_FEAT) < 1e-12);
    feat[5] = NAN; /* a feature that is not a number never reads as "like training" */
    ck_assert(am_drift_score(feat, centre, scale, N_FEAT) == s);
    feat[5] = 2; /* below the clip: z^2 itself */
    ck_assert(fabs(am_drift_score(feat, centre, scale, N_FEAT) - 4.0 / N_FEAT) < 1e-12);
}
END_TEST

START_TEST(percentile_is_the_stated_one)
{
    double x[100];
    for (int i = 0; i < 100; i++)
        x[99 - i] = i + 1; /* 100 .. 1: sorted by the call */
    /* position 0.99 * 99 = 98.01: 99 + 0.01 (100 - 99) */
    ck_assert(fabs(am_drift_percentile(x, 100, 99) - 99.01) < 1e-9);
    ck_assert(am_drift_percentile(x, 100, 100) == 100 && am_drift_percentile(x, 100, 0) == 1);
    double one[1] = {2.5};
    ck_assert(am_drift_percentile(one, 1, 99) == 2.5);
    /* few recordings: between the two largest */
    double few[49];
    for (int i = 0; i < 49; i++)
        few[i] = i;
    double p = am_drift_percentile(few, 49, 99);
    ck_assert(p > 47 && p < 48);
}
END_TEST

START_TEST(score_rises_with_gain_noise_and_band_limits)
{
    fit_corpus();
    ck_assert(g_threshold > 0);
    float f[N_FEAT];
    int flagged = 0;
    double sum = 0;
    for (int i = 0; i < 40; i++) { /* new recordings of the corpus's kind */
        float *x = recording(5000 + (uint64_t)i, LIKE);
        features_of(x, f);
        double s = am_drift_score(f, g_centre, g_scale, N_FEAT);
        sum += s;
        flagged += s > g_threshold;
        free(x);
    }
    /* the threshold lets about 1 in 100 through; 3 of 40 would be a threshold far too low */
    ck_assert_msg(flagged <= 2, "%d of 40 recordings like the corpus flagged (threshold %g)", flagged, g_threshold);
    ck_assert_msg(sum / 40 < 3, "mean score %g of recordings like the corpus", sum / 40);
    const kind changed[] = {LOUDER, NOISY, BAND_LIMITED};
    const char *names[] = {"20 dB louder", "white noise added", "band-limited"};
    for (int k = 0; k < 3; k++)
        for (uint64_t i = 0; i < 5; i++) {
            float *x = recording(6000 + i, changed[k]), *y = recording(6000 + i, LIKE);
            float g[N_FEAT];
            features_of(x, f);
            features_of(y, g);
            double s = am_drift_score(f, g_centre, g_scale, N_FEAT), base = am_drift_score(g, g_centre, g_scale, N_FEAT);
            ck_assert_msg(s > g_threshold && s > 2 * base, "%s: score %g (threshold %g, unchanged %g)", names[k], s,
                          g_threshold, base);
            free(x);
            free(y);
        }
}
END_TEST

/* ---- the model file and the outputs ------------------------------------------------------------------------ */

static char g_dir[256];

/* A random tiny network with the demo classes and a spec to save it with (norm: mean and std, [64] each,
 * the caller's, as the spec points at them). */
static nn_model *random_net(am_spec *sp, float *mean, float *std)
{
    dsp_settings s = dsp_settings_default();
    aa_error err;
    nn_model *net = nn_model_new(TU_TINY_ARCH, 1, s.n_mels, (int)dsp_clip_frames(&s), 4, 1, &err);
    ck_assert_msg(net != NULL, "%s", err.msg);
    nn_init_he(net, 7);
    for (int i = 0; i < 64; i++) {
        mean[i] = -45;
        std[i] = 15;
    }
    memset(sp, 0, sizeof *sp);
    sp->dsp = s;
    sp->n_classes = 4;
    for (int c = 0; c < 4; c++)
        sp->classes[c] = TU_DEMO_CLASSES[c];
    sp->norm_mean = mean;
    sp->norm_std = std;
    sp->temperature = 1;
    return net;
}

/* A random network with the demo classes and, when with_drift, the corpus's drift statistics. */
static void save_model(const char *path, int with_drift, double threshold)
{
    float mean[64], std[64];
    am_spec sp;
    nn_model *net = random_net(&sp, mean, std);
    aa_error err;
    if (with_drift) {
        sp.drift_centre = g_centre;
        sp.drift_scale = g_scale;
        sp.drift_threshold = threshold;
    }
    ck_assert_msg(am_save(path, net, &sp, &err) == 0, "%s", err.msg);
    nn_model_free(net);
}

static void write_recording(const char *path, uint64_t seed, kind k)
{
    float *x = recording(seed, k);
    tu_write_wav(path, x, (size_t)RATE * SECONDS, 1, RATE, SF_FORMAT_FLOAT);
    free(x);
}

static void models_setup(void)
{
    fit_corpus();
    tu_mkdtemp(g_dir, sizeof g_dir);
    char p[400];
    save_model(tu_path(p, sizeof p, g_dir, "drift.aam"), 1, g_threshold);
    save_model(tu_path(p, sizeof p, g_dir, "old.aam"), 0, 0);
    write_recording(tu_path(p, sizeof p, g_dir, "like.wav"), 7000, LIKE);
    write_recording(tu_path(p, sizeof p, g_dir, "louder.wav"), 7000, LOUDER);
}

static void models_teardown(void)
{
    tu_rmtree(g_dir);
}

static am_model *load(const char *name)
{
    char p[400];
    aa_error err;
    am_model *m = am_load(tu_path(p, sizeof p, g_dir, name), 1, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    return m;
}

static am_file_result classify(am_model *m, const char *name)
{
    char p[400];
    aa_error err;
    am_file_result r;
    ck_assert_msg(am_classify_file(m, 0, tu_path(p, sizeof p, g_dir, name), 0, &r, NULL, &err) == 0, "%s", err.msg);
    return r;
}

START_TEST(model_keeps_the_statistics)
{
    am_model *m = load("drift.aam");
    ck_assert(am_has_drift(m));
    ck_assert(am_drift_threshold(m) == g_threshold);
    ck_assert(!memcmp(m->drift_centre, g_centre, sizeof g_centre) && !memcmp(m->drift_scale, g_scale, sizeof g_scale));
    /* the verdict through the inference route is the score of the features the trainer computes */
    am_file_result r = classify(m, "like.wav");
    float f[N_FEAT];
    float *x = recording(7000, LIKE);
    features_of(x, f);
    free(x);
    ck_assert(r.drift.judged);
    double want = am_drift_score(f, g_centre, g_scale, N_FEAT);
    ck_assert_msg(fabs(r.drift.score - want) <= 1e-9 * (1 + want), "%g vs %g", r.drift.score, want);
    ck_assert(!r.drift.drifted && r.drift.threshold == g_threshold);
    r = classify(m, "louder.wav");
    ck_assert(r.drift.judged && r.drift.drifted && r.drift.score > g_threshold);
    am_free(m);
}
END_TEST

START_TEST(old_model_loads_without_a_verdict)
{
    am_model *m = load("old.aam");
    ck_assert(!am_has_drift(m) && am_drift_threshold(m) == 0);
    am_file_result r = classify(m, "louder.wav");
    ck_assert(!r.drift.judged && !r.drift.drifted);
    char *json = inf_result_json(m, "louder.wav", &r, NULL);
    ck_assert_ptr_nonnull(strstr(json, "\"drift_score\": null, \"drifted\": null"));
    free(json);
    char *text = NULL, *csv = NULL;
    size_t tn = 0, cn = 0;
    FILE *t = open_memstream(&text, &tn), *c = open_memstream(&csv, &cn);
    inf_result_text(t, m, "louder.wav", &r);
    inf_csv_header(c, m);
    inf_result_csv(c, m, "louder.wav", &r);
    fclose(t);
    fclose(c);
    ck_assert_msg(!strstr(text, "drift"), "%s", text);
    /* the same columns for every model, empty without a verdict */
    ck_assert_msg(strstr(csv, ",quality,duration_s,drift_score,drifted,disclaimer\n") != NULL, "%s", csv);
    ck_assert_msg(strstr(csv, ",ok,4.000,,,") != NULL, "%s", csv);
    free(text);
    free(csv);
    am_free(m);
    /* the library: -1 and NaN */
    char p[400];
    audioaudit_error e;
    audioaudit_model *am = audioaudit_model_load(tu_path(p, sizeof p, g_dir, "old.aam"), 1, &e);
    ck_assert_ptr_nonnull(am);
    audioaudit_result *ar = audioaudit_classify_file(am, tu_path(p, sizeof p, g_dir, "louder.wav"), &e);
    ck_assert_ptr_nonnull(ar);
    ck_assert_int_eq(audioaudit_result_drifted(ar), -1);
    ck_assert(isnan(audioaudit_result_drift_score(ar)));
    audioaudit_result_free(ar);
    audioaudit_model_free(am);
}
END_TEST

START_TEST(every_output_says_drifted)
{
    am_model *m = load("drift.aam");
    am_file_result like = classify(m, "like.wav"), louder = classify(m, "louder.wav");
    char *j1 = inf_result_json(m, "like.wav", &like, NULL), *j2 = inf_result_json(m, "louder.wav", &louder, NULL);
    const char *p1 = strstr(j1, "\"drift_score\": "), *p2 = strstr(j2, "\"drift_score\": ");
    ck_assert(p1 && p2);
    ck_assert(fabs(strtod(p1 + 15, NULL) - like.drift.score) <= 1e-5 * like.drift.score);
    ck_assert_ptr_nonnull(strstr(j1, "\"drifted\": false"));
    ck_assert_ptr_nonnull(strstr(j2, "\"drifted\": true"));
    free(j1);
    free(j2);
    char *text = NULL, *csv = NULL;
    size_t tn = 0, cn = 0;
    FILE *t = open_memstream(&text, &tn), *c = open_memstream(&csv, &cn);
    inf_result_text(t, m, "like.wav", &like);
    inf_result_text(t, m, "louder.wav", &louder);
    inf_csv_header(c, m);
    inf_result_csv(c, m, "louder.wav", &louder);
    fclose(t);
    fclose(c);
    ck_assert_msg(strstr(text, "    drift: like the training recordings (score ") != NULL, "%s", text);
    ck_assert_msg(strstr(text, "    drift: unlike the training recordings! score ") != NULL, "%s", text);
    /* apart from the quality line: both there */
    ck_assert_msg(strstr(text, "    quality: ok") != NULL, "%s", text);
    const char *row = strchr(csv, '\n') + 1;
    char want[64];
    snprintf(want, sizeof want, ",ok,4.000,%.6g,1,", louder.drift.score);
    ck_assert_msg(strstr(row, want) != NULL, "%s", csv);
    free(text);
    free(csv);
    am_free(m);
    /* the library and the command line say the same */
    char p[400], out[8192], err[4096];
    audioaudit_error e;
    audioaudit_model *am = audioaudit_model_load(tu_path(p, sizeof p, g_dir, "drift.aam"), 1, &e);
    ck_assert_ptr_nonnull(am);
    audioaudit_result *ar = audioaudit_classify_file(am, tu_path(p, sizeof p, g_dir, "louder.wav"), &e);
    ck_assert_ptr_nonnull(ar);
    ck_assert_int_eq(audioaudit_result_drifted(ar), 1);
    ck_assert(audioaudit_result_drift_score(ar) == louder.drift.score);
    audioaudit_result_free(ar);
    audioaudit_model_free(am);
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "%s/aa-infer -m %s/drift.aam --json %s/like.wav %s/louder.wav", tu_build_dir(), g_dir,
             g_dir, g_dir);
    ck_assert_msg(tu_run(cmd, out, sizeof out, err, sizeof err) == 0, "%s", err);
    const char *second = strchr(out, '\n');
    ck_assert(second && strstr(out, "\"drifted\": false") < second && strstr(second, "\"drifted\": true"));
}
END_TEST

START_TEST(incomplete_or_bad_statistics_are_refused)
{
    /* saving: a threshold that is not positive, a centre without a scale */
    float mean[64], std[64];
    am_spec sp;
    nn_model *net = random_net(&sp, mean, std);
    aa_error err;
    sp.drift_centre = g_centre;
    sp.drift_scale = g_scale;
    char p[400];
    tu_path(p, sizeof p, g_dir, "bad.aam");
    sp.drift_threshold = 0;
    ck_assert_int_ne(am_save(p, net, &sp, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "drift"));
    sp.drift_threshold = 1;
    sp.drift_scale = NULL;
    ck_assert_int_ne(am_save(p, net, &sp, &err), 0);
    /* loading: a file with the threshold alone (written around am_save) */
    nn_meta *meta = NULL;
    char old[400];
    nn_model *first = nn_model_load(tu_path(old, sizeof old, g_dir, "old.aam"), 1, 0, &meta, &err);
    ck_assert_msg(first != NULL, "%s", err.msg);
    ck_assert_int_eq(nn_meta_set_num(meta, AM_KEY_DRIFT_THRESHOLD, 3.0, &err), 0);
    ck_assert_int_eq(nn_model_save(first, meta, p, &err), 0);
    am_model *m = am_load(p, 1, &err);
    ck_assert_ptr_null(m);
    ck_assert_msg(strstr(err.msg, "drift statistics incomplete") != NULL, "%s", err.msg);
    nn_meta_free(meta);
    nn_model_free(first);
    nn_model_free(net);
}
END_TEST

/* ---- the trainer ------------------------------------------------------------------------------------------ */

/* aa-train stores the statistics, and its threshold is the 99th percentile of the scores aa-infer gives the
 * validation recordings of its split file: the trainer calibrates on exactly what inference computes. */
START_TEST(trainer_threshold_is_the_validation_percentile)
{
    char dir[256], data[320], cmd[8192], path[400];
    static char out[1 << 16], err[1 << 14], inf[1 << 18];
    tu_mkdtemp(dir, sizeof dir);
    snprintf(data, sizeof data, "%s/demo", dir);
    demo_corpus_opts o;
    demo_corpus_opts_default(&o);
    o.per_class = 20;
    o.seed = 5;
    aa_error e;
    ck_assert_msg(demo_corpus_write(data, &o, &e) == 0, "%s", e.msg);
    snprintf(cmd, sizeof cmd, "%s/aa-train %s -o %s/m.aam --arch \"" TU_TINY_ARCH "\" --epochs 1 --batch 16 -j 2",
             tu_build_dir(), data, dir);
    ck_assert_msg(tu_run(cmd, out, sizeof out, err, sizeof err) == 0, "%s", err);
    const char *line = strstr(out, "Drift: per-mel statistics of ");
    ck_assert_msg(line != NULL, "%s", out);
    am_model *m = am_load(tu_path(path, sizeof path, dir, "m.aam"), 1, &e);
    ck_assert_msg(m != NULL, "%s", e.msg);
    ck_assert(am_has_drift(m));
    double th = am_drift_threshold(m);
    char want[64];
    snprintf(want, sizeof want, "threshold %.3f (the 99th percentile of ", th);
    ck_assert_msg(strstr(line, want) != NULL, "%s", line);
    am_free(m);

    /* the validation rows of the split file, through aa-infer --json */
    char *split = tu_read_file(tu_path(path, sizeof path, dir, "m.aam.split.tsv"), NULL);
    ck_assert_ptr_nonnull(split);
    size_t at = (size_t)snprintf(cmd, sizeof cmd, "%s/aa-infer -m %s/m.aam --json", tu_build_dir(), dir), n_val = 0;
    for (char *l = strtok(split, "\n"); l; l = strtok(NULL, "\n"))
        if (strstr(l, "\tval\t")) {
            *strchr(l, '\t') = 0;
            at += (size_t)snprintf(cmd + at, sizeof cmd - at, " '%s'", l);
            n_val++;
        }
    ck_assert_uint_lt(at, sizeof cmd);
    ck_assert_uint_ge(n_val, 5);
    ck_assert_msg(tu_run(cmd, inf, sizeof inf, err, sizeof err) == 0, "%s", err);
    double scores[256];
    size_t n = 0;
    for (const char *p = inf; (p = strstr(p, "\"drift_score\": ")) && n < 256; p++)
        scores[n++] = strtod(p + 15, NULL);
    ck_assert_uint_eq(n, n_val);
    double p99 = am_drift_percentile(scores, n, AM_DRIFT_PERCENTILE);
    /* aa-infer prints 6 significant digits */
    ck_assert_msg(fabs(p99 - th) <= 2e-5 * th, "threshold %.9g, the percentile of aa-infer's scores %.9g", th, p99);
    size_t above = 0;
    for (size_t i = 0; i < n; i++)
        above += scores[i] > th;

    /* --eval: the table of drifted recordings per source, in JSON and text, says the same */
    snprintf(cmd, sizeof cmd, "%s/aa-infer -m %s/m.aam --eval %s/m.aam.split.tsv --side val --json", tu_build_dir(),
             dir, dir);
    ck_assert_msg(tu_run(cmd, inf, sizeof inf, err, sizeof err) == 0, "%s", err);
    const char *d = strstr(inf, "\n\"drift\":{\"threshold\":");
    ck_assert_msg(d != NULL, "%.400s", inf);
    char counts[64];
    snprintf(counts, sizeof counts, ",\"n\":%zu,\"drifted\":%zu,\"sources\":[", n_val, above);
    ck_assert_msg(strstr(d, counts) != NULL && strstr(d, counts) < strstr(d, "\"accuracy\":"), "%.300s", d);
    snprintf(cmd, sizeof cmd, "%s/aa-infer -m %s/m.aam --eval %s/m.aam.split.tsv --side val", tu_build_dir(), dir, dir);
    ck_assert_msg(tu_run(cmd, inf, sizeof inf, err, sizeof err) == 0, "%s", err);
    d = strstr(inf, "\nDrift (recordings unlike the training recordings: drift score above the model's ");
    ck_assert_msg(d != NULL, "%s", inf);
    const char *all = strstr(d, "\nall ");
    ck_assert_ptr_nonnull(all);
    size_t an = 0, ad = 0;
    ck_assert_int_eq(sscanf(all + 5, "%zu %zu", &an, &ad), 2);
    ck_assert(an == n_val && ad == above);
    free(split);
    tu_rmtree(dir);
}
END_TEST

Suite *drift_suite(void)
{
    Suite *s = suite_create("drift");
    TCase *tc = tcase_create("score");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, score_is_zero_at_the_training_centre);
    tcase_add_test(tc, fit_is_median_and_scaled_mad);
    tcase_add_test(tc, one_band_alone_is_clipped);
    tcase_add_test(tc, percentile_is_the_stated_one);
    tcase_add_test(tc, score_rises_with_gain_noise_and_band_limits);
    suite_add_tcase(s, tc);
    tc = tcase_create("model");
    tcase_set_timeout(tc, 60);
    tcase_add_unchecked_fixture(tc, models_setup, models_teardown);
    tcase_add_test(tc, model_keeps_the_statistics);
    tcase_add_test(tc, old_model_loads_without_a_verdict);
    tcase_add_test(tc, every_output_says_drifted);
    tcase_add_test(tc, incomplete_or_bad_statistics_are_refused);
    suite_add_tcase(s, tc);
    tc = tcase_create("trainer");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, trainer_threshold_is_the_validation_percentile);
    suite_add_tcase(s, tc);
    return s;
}
