/* model/'s recording-level decisions: policy text, the windows of a recording, how window logits combine,
 * a short event in a longer recording under the default policy, and the policy's place in the model file
 * (stored, round-tripped, overridden; absent in older files = loudest). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "nn/nn.h"
#include "tests/util/demomodel.h"
#include "tests/util/testutil.h"

#define RATE 16000

START_TEST(test_parse_format)
{
    const char *ok[] = {"loudest", "mean@1", "mean@0.5", "top3@1", "top1@2", "rms@1", "energy@1.5"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        am_aggregate a;
        aa_error err;
        aa_error_clear(&err);
        ck_assert_msg(am_aggregate_parse(ok[i], &a, &err) == 0, "%s: %s", ok[i], err.msg);
        char text[AM_AGGREGATE_TEXT_MAX];
        am_aggregate_format(&a, text, sizeof text);
        ck_assert_str_eq(text, ok[i]);
    }
    /* Without a hop, the default hop. */
    am_aggregate a;
    ck_assert_int_eq(am_aggregate_parse("top3", &a, NULL), 0);
    ck_assert_int_eq(a.policy, AM_AGG_TOP);
    ck_assert_int_eq(a.top, 3);
    ck_assert(a.hop_s == AM_AGG_DEFAULT_HOP_S);
    const char *bad[] = {"", "median", "top", "top0@1", "top-1", "mean@0", "mean@", "mean@1x", "loudest@1",
                         "mean 1", "Mean", "top3@100"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        aa_error err;
        aa_error_clear(&err);
        ck_assert_msg(am_aggregate_parse(bad[i], &a, &err) != 0, "'%s' accepted", bad[i]);
        ck_assert_ptr_nonnull(strstr(err.msg, "aggregation"));
    }
    /* The default is one the parser accepts and the checker passes. */
    am_aggregate d = am_aggregate_default();
    ck_assert_int_eq(am_aggregate_check(&d, NULL), 0);
}
END_TEST

START_TEST(test_windows)
{
    dsp_settings s = dsp_settings_default();
    am_aggregate mean1;
    ck_assert_int_eq(am_aggregate_parse("mean@1", &mean1, NULL), 0);
    size_t clip = dsp_clip_samples(&s), off[16];
    double e[16];
    float *x = calloc(8 * RATE, sizeof *x);
    ck_assert_ptr_nonnull(x);
    /* Up to one clip: one window, at 0, whatever the policy. */
    ck_assert_uint_eq(am_aggregate_windows(&mean1, &s, x, clip, off, e, 16), 1);
    ck_assert_uint_eq(off[0], 0);
    ck_assert_uint_eq(am_aggregate_windows(&mean1, &s, x, RATE, off, e, 16), 1);
    /* 6 s at a 1 s hop: 0, 1, 2 s. 6.5 s: one more ending at the end (2.5 s), so the tail is heard. */
    ck_assert_uint_eq(am_aggregate_windows(&mean1, &s, x, 6 * RATE, NULL, NULL, 0), 3);
    ck_assert_uint_eq(am_aggregate_windows(&mean1, &s, x, 6 * RATE, off, e, 16), 3);
    ck_assert_uint_eq(off[2], 2 * RATE);
    ck_assert_uint_eq(am_aggregate_windows(&mean1, &s, x, 6 * RATE + RATE / 2, off, e, 16), 4);
    ck_assert_uint_eq(off[3], 2 * RATE + RATE / 2);
    /* Energies are sums of squares over each window: a unit sample at 5 s is in windows 2 and 3 only. */
    x[5 * RATE] = 1;
    am_aggregate_windows(&mean1, &s, x, 6 * RATE + RATE / 2, off, e, 16);
    ck_assert(e[0] == 0 && e[1] == 0 && e[2] == 1 && e[3] == 1);
    /* loudest: one window, where the crop policy puts it. */
    am_aggregate loud = am_aggregate_loudest();
    ck_assert_uint_eq(am_aggregate_windows(&loud, &s, x, 8 * RATE, off, e, 16), 1);
    ck_assert_uint_eq(off[0], dsp_crop_offset(x, 8 * RATE, clip, s.crop));
    free(x);
}
END_TEST

/* softmax of v [k] */
static void softmax(const float *v, int k, double *p)
{
    double mx = -INFINITY, sum = 0;
    for (int c = 0; c < k; c++)
        mx = v[c] > mx ? v[c] : mx;
    for (int c = 0; c < k; c++)
        sum += (p[c] = exp(v[c] - mx));
    for (int c = 0; c < k; c++)
        p[c] /= sum;
}

START_TEST(test_combine)
{
    enum { K = 3 };
    const float logits[4][K] = {{2, 0, -1}, {-1, 3, 0}, {0, 0, 0}, {5, -5, 1}};
    const double energy[4] = {1, 4, 0, 9};
    float out[K];
    double p[4][K], q[K];
    for (int w = 0; w < 4; w++)
        softmax(logits[w], K, p[w]);
    am_aggregate a;
    /* One window: its logits exactly, under every policy (a short recording's decision is unchanged). */
    const char *all[] = {"loudest", "mean@1", "top2@1", "rms@1", "energy@1"};
    for (size_t i = 0; i < 5; i++) {
        ck_assert_int_eq(am_aggregate_parse(all[i], &a, NULL), 0);
        ck_assert_int_eq(am_aggregate_combine(&a, K, 1, logits[3], energy + 3, out, NULL), 0);
        ck_assert(memcmp(out, logits[3], sizeof out) == 0);
    }
    /* Tolerance 1e-6: the scores are float log-probabilities of values computed in double. */
    ck_assert_int_eq(am_aggregate_parse("mean@1", &a, NULL), 0);
    ck_assert_int_eq(am_aggregate_combine(&a, K, 4, &logits[0][0], energy, out, NULL), 0);
    softmax(out, K, q);
    for (int c = 0; c < K; c++)
        ck_assert_double_eq_tol(q[c], (p[0][c] + p[1][c] + p[2][c] + p[3][c]) / 4, 1e-6);
    /* top2: the windows of energy 9 and 4. */
    ck_assert_int_eq(am_aggregate_parse("top2@1", &a, NULL), 0);
    ck_assert_int_eq(am_aggregate_combine(&a, K, 4, &logits[0][0], energy, out, NULL), 0);
    softmax(out, K, q);
    for (int c = 0; c < K; c++)
        ck_assert_double_eq_tol(q[c], (p[3][c] + p[1][c]) / 2, 1e-6);
    /* rms: weights 1, 2, 0, 3; energy: 1, 4, 0, 9. */
    ck_assert_int_eq(am_aggregate_parse("rms@1", &a, NULL), 0);
    ck_assert_int_eq(am_aggregate_combine(&a, K, 4, &logits[0][0], energy, out, NULL), 0);
    softmax(out, K, q);
    for (int c = 0; c < K; c++)
        ck_assert_double_eq_tol(q[c], (p[0][c] + 2 * p[1][c] + 3 * p[3][c]) / 6, 1e-6);
    ck_assert_int_eq(am_aggregate_parse("energy@1", &a, NULL), 0);
    ck_assert_int_eq(am_aggregate_combine(&a, K, 4, &logits[0][0], energy, out, NULL), 0);
    softmax(out, K, q);
    for (int c = 0; c < K; c++)
        ck_assert_double_eq_tol(q[c], (p[0][c] + 4 * p[1][c] + 9 * p[3][c]) / 14, 1e-6);
    /* All-silent windows: no weights, so the plain mean. */
    const double zero[4] = {0, 0, 0, 0};
    ck_assert_int_eq(am_aggregate_combine(&a, K, 4, &logits[0][0], zero, out, NULL), 0);
    softmax(out, K, q);
    for (int c = 0; c < K; c++)
        ck_assert_double_eq_tol(q[c], (p[0][c] + p[1][c] + p[2][c] + p[3][c]) / 4, 1e-6);
    /* A window sure beyond double's range keeps every score finite. */
    const float extreme[2][K] = {{1000, -1000, 0}, {900, -1000, 0}};
    const double e2[2] = {1, 1};
    ck_assert_int_eq(am_aggregate_combine(&a, K, 2, &extreme[0][0], e2, out, NULL), 0);
    for (int c = 0; c < K; c++)
        ck_assert(isfinite(out[c]));
}
END_TEST

/* ---- a short event in a longer recording, with the tone model (tests/util/demomodel.h) ----------------- */

static char g_dir[256], g_model[400];

static void setup_model(void)
{
    tu_mkdtemp(g_dir, sizeof g_dir);
    tu_path(g_model, sizeof g_model, g_dir, "tone.aam");
    char msg[256];
    ck_assert_msg(tu_make_tone_model(g_model, msg, sizeof msg) == 0, "%s", msg);
}

static void teardown_model(void)
{
    tu_rmtree(g_dir);
}

static am_result classify_under(am_model *m, const char *policy, const float *x, size_t n)
{
    am_aggregate a;
    aa_error err;
    aa_error_clear(&err);
    ck_assert_int_eq(am_aggregate_parse(policy, &a, &err), 0);
    ck_assert_int_eq(am_set_aggregate(m, &a, &err), 0);
    am_result r;
    memset(&r, 0, sizeof r);
    ck_assert_msg(am_classify_samples(m, 0, x, n, &r, NULL, &err) == 0, "%s", err.msg);
    return r;
}

/* 6 s of quiet with a cough-like burst at 5 s. The tone model gives a window holding the whole burst
 * cough 0.68 and every other window background 0.95, so the policies are told apart: a plain mean of the
 * three windows (0, 1, 2 s) is background, one that lets the burst's loud window count is cough. */
START_TEST(test_burst_at_5s)
{
    aa_error err;
    am_model *m = am_load(g_model, 1, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    size_t n = 6 * RATE;
    tu_tone_event ev = {5.0, TU_TONE_BURST_S, 0};
    float *x = tu_tone_recording(n, &ev, 1, 21);
    char def[AM_AGGREGATE_TEXT_MAX];
    am_aggregate d = am_aggregate_default();
    am_aggregate_format(&d, def, sizeof def);

    am_result r = classify_under(m, def, x, n);
    ck_assert_msg(r.cls == 0 && !r.gated, "default %s: class %d (%.3f), gated %d", def, r.cls, r.confidence,
                  r.gated);
    ck_assert_uint_eq(r.windows, 3);
    ck_assert_uint_eq(r.offset, 2 * RATE); /* the loudest window judged: the one holding the burst */
    r = classify_under(m, "loudest", x, n);
    ck_assert_int_eq(r.cls, 0);
    ck_assert_uint_eq(r.windows, 1);
    /* The plain mean loses it: what makes this case a test of the policy at all. */
    r = classify_under(m, "mean@1", x, n);
    ck_assert_int_eq(r.cls, 3);
    free(x);
    am_free(m);
}
END_TEST

/* A recording no longer than one clip: every policy gives the decision loudest gives, to the bit. */
START_TEST(test_short_unchanged)
{
    aa_error err;
    am_model *m = am_load(g_model, 1, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    size_t n = 3 * RATE;
    tu_tone_event ev = {0.5, 2.0, 1};
    float *x = tu_tone_recording(n, &ev, 1, 5);
    am_result a = classify_under(m, "loudest", x, n);
    const char *others[] = {"mean@1", "top3@0.5", "rms@1", "energy@2"};
    for (size_t i = 0; i < 4; i++) {
        am_result b = classify_under(m, others[i], x, n);
        ck_assert_int_eq(b.cls, a.cls);
        ck_assert(memcmp(b.probs, a.probs, sizeof a.probs) == 0);
        ck_assert_uint_eq(b.windows, 1);
    }
    free(x);
    am_free(m);
}
END_TEST

/* The two halves of the route and the whole agree to the bit: am_recording_scores (both halves, AM_BATCH
 * windows at a time) against am_recording_windows + am_windows_scores (every window at once, batched across
 * recordings, as the trainer's validation runs them), on a recording of more windows than one batch, one of
 * a few windows and one shorter than a clip; and am_classify_samples decides on those scores. */
START_TEST(test_halves_equal_whole)
{
    aa_error err;
    am_model *m = am_load(g_model, 1, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    am_aggregate a;
    ck_assert_int_eq(am_aggregate_parse("energy@1", &a, &err), 0);
    ck_assert_int_eq(am_set_aggregate(m, &a, &err), 0);
    const size_t lens[3] = {40 * RATE + RATE / 3, 6 * RATE + RATE / 2, 3 * RATE};
    const size_t want_windows[3] = {38, 4, 1};
    tu_tone_event ev[3] = {{12.0, TU_TONE_BURST_S, 0}, {2.0, 3.0, 1}, {0.5, 2.0, 1}};
    float *x[3];
    am_windows w[3];
    float whole[3][AM_MAX_CLASSES], halves[3 * AM_MAX_CLASSES], alone[AM_MAX_CLASSES]; /* halves: [3][k] */
    int k = am_n_classes(m);
    dsp_logmel *lm = dsp_logmel_new(am_dsp(m), 2, &err);
    ck_assert_ptr_nonnull(lm);
    for (int r = 0; r < 3; r++) {
        x[r] = tu_tone_recording(lens[r], &ev[r], 1, 40 + (uint64_t)r);
        size_t nw = 0, off = 0;
        float *mel = malloc(am_mel_size(m) * sizeof *mel);
        ck_assert_int_eq(am_recording_scores(m, 0, x[r], lens[r], whole[r], &nw, &off, mel, &err), 0);
        ck_assert_uint_eq(nw, want_windows[r]);
        ck_assert_int_eq(am_recording_windows(lm, r % 2, &a, x[r], lens[r], &w[r], &err), 0);
        ck_assert_uint_eq(w[r].n, nw);
        size_t loudest = 0;
        for (size_t i = 1; i < w[r].n; i++)
            loudest = w[r].energy[i] > w[r].energy[loudest] ? i : loudest;
        ck_assert_uint_eq(w[r].offset[loudest], off);
        ck_assert(memcmp(w[r].mel + loudest * am_mel_size(m), mel, am_mel_size(m) * sizeof *mel) == 0);
        free(mel);
        ck_assert_int_eq(am_windows_scores(m, 0, &w[r], 1, alone, &err), 0);
        ck_assert_msg(memcmp(alone, whole[r], (size_t)k * sizeof *alone) == 0, "recording %d alone", r);
        am_result res, dec;
        ck_assert_int_eq(am_classify_samples(m, 0, x[r], lens[r], &res, NULL, &err), 0);
        am_decide(m, whole[r], &dec);
        ck_assert(memcmp(res.probs, dec.probs, (size_t)k * sizeof *res.probs) == 0);
        ck_assert_uint_eq(res.windows, nw);
        ck_assert_uint_eq(res.offset, off);
    }
    ck_assert_int_eq(am_windows_scores(m, 0, w, 3, halves, &err), 0);
    for (int r = 0; r < 3; r++)
        ck_assert_msg(memcmp(halves + r * k, whole[r], (size_t)k * sizeof(float)) == 0, "recording %d in a batch", r);
    /* Windows chosen by another policy are combined by that policy, whatever the model's. */
    am_aggregate mean;
    ck_assert_int_eq(am_aggregate_parse("mean@1", &mean, &err), 0);
    am_windows wm;
    ck_assert_int_eq(am_recording_windows(lm, 0, &mean, x[0], lens[0], &wm, &err), 0);
    ck_assert_int_eq(am_windows_scores(m, 0, &wm, 1, alone, &err), 0);
    ck_assert_int_eq(am_set_aggregate(m, &mean, &err), 0);
    size_t nw, off;
    ck_assert_int_eq(am_recording_scores(m, 0, x[0], lens[0], whole[0], &nw, &off, NULL, &err), 0);
    ck_assert(memcmp(alone, whole[0], (size_t)k * sizeof *alone) == 0);
    ck_assert(memcmp(alone, halves, (size_t)k * sizeof *alone) != 0); /* and differ from energy's */
    am_windows_free(&wm);
    for (int r = 0; r < 3; r++) {
        am_windows_free(&w[r]);
        free(x[r]);
    }
    dsp_logmel_free(lm);
    am_free(m);
}
END_TEST

/* ---- the model file ------------------------------------------------------------------------------------ */

static int save_with(const char *path, const am_aggregate *a, aa_error *err)
{
    dsp_settings s = dsp_settings_default();
    nn_model *net = nn_model_new(TU_TINY_ARCH, 1, s.n_mels, (int)dsp_clip_frames(&s), 2, 1, err);
    ck_assert_ptr_nonnull(net);
    nn_init_he(net, 3);
    float mean[512], std[512];
    for (int i = 0; i < s.n_mels; i++)
        mean[i] = -40, std[i] = 10;
    am_spec sp = {.dsp = s, .n_classes = 2, .classes = {"a", "b"}, .norm_mean = mean, .norm_std = std,
                  .temperature = 1, .min_confidence = 0.5};
    if (a)
        sp.aggregate = *a;
    int rc = am_save(path, net, &sp, err);
    nn_model_free(net);
    return rc;
}

START_TEST(test_file_roundtrip)
{
    char dir[256], path[400];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(path, sizeof path, dir, "m.aam");
    const char *texts[] = {"top3@0.5", "mean@2", "rms@1", "energy@1", "loudest"};
    for (size_t i = 0; i < 5; i++) {
        am_aggregate a, b;
        aa_error err;
        ck_assert_int_eq(am_aggregate_parse(texts[i], &a, NULL), 0);
        ck_assert_msg(save_with(path, &a, &err) == 0, "%s", err.msg);
        am_model *m = am_load(path, 1, &err);
        ck_assert_msg(m != NULL, "%s", err.msg);
        b = am_get_aggregate(m);
        ck_assert_int_eq(b.policy, a.policy);
        ck_assert(b.hop_s == a.hop_s);
        ck_assert_int_eq(b.top, a.top);
        /* An override replaces it for this process only; a bad one is refused and changes nothing. */
        am_aggregate bad = {.policy = AM_AGG_TOP, .hop_s = 1, .top = 0};
        ck_assert_int_ne(am_set_aggregate(m, &bad, &err), 0);
        ck_assert_int_eq(am_get_aggregate(m).top, a.top);
        am_free(m);
    }
    /* A spec with a policy that makes no sense is refused before anything is written. */
    am_aggregate bad = {.policy = AM_AGG_MEAN, .hop_s = 0};
    aa_error err;
    ck_assert_int_ne(save_with(path, &bad, &err), 0);
    tu_rmtree(dir);
}
END_TEST

/* A file written before the policy was stored: the same file without the aa.aggregate key. */
START_TEST(test_old_file_is_loudest)
{
    char dir[256], path[400], old[400];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(path, sizeof path, dir, "new.aam");
    tu_path(old, sizeof old, dir, "old.aam");
    am_aggregate a;
    aa_error err;
    ck_assert_int_eq(am_aggregate_parse("mean@1", &a, NULL), 0);
    ck_assert_msg(save_with(path, &a, &err) == 0, "%s", err.msg);
    nn_meta *meta = NULL, *stripped = nn_meta_new();
    nn_model *net = nn_model_load(path, 1, 0, &meta, &err);
    ck_assert_msg(net != NULL, "%s", err.msg);
    int dropped = 0;
    for (int i = 0; i < nn_meta_str_count(meta); i++) {
        const char *k, *v;
        nn_meta_str_at(meta, i, &k, &v);
        if (!strcmp(k, "aa.aggregate")) {
            dropped++;
            continue;
        }
        ck_assert_int_eq(nn_meta_set_str(stripped, k, v, &err), 0);
    }
    ck_assert_int_eq(dropped, 1);
    for (int i = 0; i < nn_meta_tensor_count(meta); i++) {
        const char *name;
        int ndim, dims[NN_MAX_DIMS];
        const float *t = nn_meta_tensor_at(meta, i, &name, &ndim, dims);
        ck_assert_int_eq(nn_meta_set_tensor(stripped, name, t, ndim, dims, &err), 0);
    }
    ck_assert_msg(nn_model_save(net, stripped, old, &err) == 0, "%s", err.msg);
    am_model *m = am_load(old, 1, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    ck_assert_int_eq(am_get_aggregate(m).policy, AM_AGG_LOUDEST);
    am_free(m);
    /* A stored policy this build does not understand is refused, not silently replaced. */
    ck_assert_int_eq(nn_meta_set_str(stripped, "aa.aggregate", "median@1", &err), 0);
    ck_assert_msg(nn_model_save(net, stripped, old, &err) == 0, "%s", err.msg);
    ck_assert_ptr_null(am_load(old, 1, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "aggregation policy"));
    nn_meta_free(meta);
    nn_meta_free(stripped);
    nn_model_free(net);
    tu_rmtree(dir);
}
END_TEST

Suite *aggregate_suite(void)
{
    Suite *s = suite_create("aggregate");
    TCase *tc = tcase_create("policy");
    tcase_add_test(tc, test_parse_format);
    tcase_add_test(tc, test_windows);
    tcase_add_test(tc, test_combine);
    suite_add_tcase(s, tc);
    tc = tcase_create("recordings");
    tcase_add_checked_fixture(tc, setup_model, teardown_model);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_burst_at_5s);
    tcase_add_test(tc, test_short_unchanged);
    tcase_add_test(tc, test_halves_equal_whole);
    suite_add_tcase(s, tc);
    tc = tcase_create("file");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_file_roundtrip);
    tcase_add_test(tc, test_old_file_is_loudest);
    suite_add_tcase(s, tc);
    return s;
}
