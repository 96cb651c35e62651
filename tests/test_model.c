/* model/: the model file round trip, decisions (temperature, gate), quality verdicts, the self-test. */
#include <check.h>
#include <math.h>
#include <sndfile.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval.h"
#include "model/model.h"
#include "nn/nn.h"
#include "dsp/dsp_internal.h"
#include "model/model_internal.h"
#include "tests/util/testutil.h"

static const char *CLASSES[4] = {"background_noise", "cough", "heavy_breathing", "normal_breathing"};

/* A small network on the default front end with `outputs` outputs, He-initialised from a seed; the caller
 * frees. */
static nn_model *small_net_k(uint64_t seed, int outputs)
{
    dsp_settings s = dsp_settings_default();
    aa_error err;
    nn_model *net = nn_model_new("c4 bn relu p2 c8 bn relu gap fc", 1, s.n_mels, (int)dsp_clip_frames(&s), outputs,
                                 2, &err);
    ck_assert_msg(net != NULL, "%s", err.msg);
    nn_init_he(net, seed);
    return net;
}

static nn_model *small_net(uint64_t seed)
{
    return small_net_k(seed, 4);
}

static void default_spec(am_spec *sp, float *mean, float *std)
{
    memset(sp, 0, sizeof *sp);
    sp->dsp = dsp_settings_default();
    sp->n_classes = 4;
    for (int c = 0; c < 4; c++)
        sp->classes[c] = CLASSES[c];
    for (int i = 0; i < sp->dsp.n_mels; i++) {
        mean[i] = -40.0f + 0.1f * (float)i;
        std[i] = 12.0f + 0.05f * (float)i;
    }
    sp->norm_mean = mean;
    sp->norm_std = std;
    sp->temperature = 1.7;
    sp->min_confidence = 0.6;
}

static float *tone(size_t n, int rate, double f, double amp)
{
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(amp * sin(2 * M_PI * f * (double)i / rate));
    return x;
}

START_TEST(save_load_roundtrip_same_decisions)
{
    char dir[256], path[320];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(path, sizeof path, dir, "m.aam");
    float mean[64], std[64];
    am_spec sp;
    default_spec(&sp, mean, std);
    double th[4] = {0, 0.9, 0, 0};
    sp.class_threshold = th;
    sp.train_json = "{\"note\": \"test\"}";
    nn_model *net = small_net(3);
    aa_error err;
    ck_assert_msg(am_save(path, net, &sp, &err) == 0, "%s", err.msg);

    am_model *m = am_load(path, 2, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    ck_assert_int_eq(am_n_classes(m), 4);
    ck_assert_str_eq(am_class_name(m, 2), "heavy_breathing");
    ck_assert_str_eq(am_class_label(m, 2), "Heavy Breathing");
    ck_assert(am_temperature(m) == 1.7);
    ck_assert(am_min_confidence(m) == 0.6);
    ck_assert(am_class_threshold(m, 1) == (double)(float)0.9);
    ck_assert(dsp_settings_equal(am_dsp(m), &sp.dsp));
    ck_assert_str_eq(am_train_json(m), "{\"note\": \"test\"}");

    /* The loaded model's logits equal the saved network's on the same features (both slots). */
    size_t n = dsp_clip_samples(&sp.dsp);
    float *x = tone(n, 16000, 1000, 0.3);
    float *mel = malloc(am_mel_size(m) * sizeof *mel);
    am_result r0, r1;
    ck_assert_int_eq(am_classify_clip(m, 0, x, &r0, mel, &err), 0);
    ck_assert_int_eq(am_classify_clip(m, 1, x, &r1, NULL, &err), 0);
    ck_assert_mem_eq(r0.probs, r1.probs, 4 * sizeof(float));

    dsp_normalise(mean, std, 64, dsp_clip_frames(&sp.dsp), mel);
    float logits[4];
    ck_assert_int_eq(nn_forward_eval(net, mel, 1, logits, &err), 0);
    am_result direct;
    am_decide(m, logits, &direct);
    ck_assert_mem_eq(direct.probs, r0.probs, 4 * sizeof(float));
    double sum = 0;
    for (int c = 0; c < 4; c++)
        sum += r0.probs[c];
    ck_assert(fabs(sum - 1) < 1e-5);

    free(x);
    free(mel);
    am_free(m);
    nn_model_free(net);
    tu_rmtree(dir);
}
END_TEST

/* A network borrowed into a model in memory judges as the file made from it does: the same scores and
 * decisions on a long recording, the gate and temperature as the file stores them (a per-class threshold
 * rounded to float), and freeing the borrowed model leaves the network to its owner. */
START_TEST(borrowed_network_judges_as_its_file)
{
    char dir[256], path[320];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(path, sizeof path, dir, "m.aam");
    float mean[64], std[64];
    am_spec sp;
    default_spec(&sp, mean, std);
    double th[4] = {0, 0.9, 0.1, 0};
    sp.class_threshold = th;
    ck_assert_int_eq(am_aggregate_parse("energy@1", &sp.aggregate, NULL), 0);
    nn_model *net = small_net(5);
    aa_error err;
    ck_assert_msg(am_save(path, net, &sp, &err) == 0, "%s", err.msg);
    am_model *file = am_load(path, 1, &err), *mem = am_borrow(net, &sp, &err);
    ck_assert_msg(file && mem, "%s", err.msg);
    ck_assert(am_temperature(mem) == am_temperature(file) && am_min_confidence(mem) == am_min_confidence(file));
    for (int c = 0; c < 4; c++)
        ck_assert(am_class_threshold(mem, c) == am_class_threshold(file, c));
    ck_assert(am_class_threshold(mem, 2) == (double)(float)0.1 && am_class_threshold(mem, 2) != 0.1);
    ck_assert_str_eq(am_class_label(mem, 2), am_class_label(file, 2));
    ck_assert_str_eq(am_arch(mem), am_arch(file));
    size_t n = 9 * 16000 + 123;
    float *x = tone(n, 16000, 700, 0.2);
    for (size_t i = 5 * 16000; i < 6 * 16000; i++)
        x[i] += 0.5f * (float)sin((double)i * 1.3);
    am_result a, b;
    ck_assert_int_eq(am_classify_samples(file, 0, x, n, &a, NULL, &err), 0);
    ck_assert_int_eq(am_classify_samples(mem, 0, x, n, &b, NULL, &err), 0);
    ck_assert_uint_eq(a.windows, 7);
    ck_assert_uint_eq(a.windows, b.windows);
    ck_assert_uint_eq(a.offset, b.offset);
    ck_assert_mem_eq(a.probs, b.probs, 4 * sizeof(float));
    ck_assert_int_eq(a.gated, b.gated);
    /* No self-test in memory; the spec is checked as am_save checks it. */
    am_selftest_report rep;
    ck_assert_int_eq(am_selftest(mem, &rep, &err), AM_ERR_FORMAT);
    am_free(mem);
    sp.n_classes = 3;
    ck_assert_ptr_null(am_borrow(net, &sp, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "3 classes"));
    /* The network outlives the borrowed model. */
    float logits[4], *feat = calloc(am_mel_size(file), sizeof *feat);
    ck_assert_int_eq(nn_forward_eval(net, feat, 1, logits, &err), 0);
    free(feat);
    free(x);
    am_free(file);
    nn_model_free(net);
    tu_rmtree(dir);
}
END_TEST

START_TEST(decide_temperature_and_gate)
{
    char dir[256], path[320];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(path, sizeof path, dir, "m.aam");
    float mean[64], std[64];
    am_spec sp;
    default_spec(&sp, mean, std);
    sp.temperature = 2.0;
    sp.min_confidence = 0.5;
    nn_model *net = small_net(1);
    aa_error err;
    ck_assert_int_eq(am_save(path, net, &sp, &err), 0);
    am_model *m = am_load(path, 1, &err);
    ck_assert_ptr_nonnull(m);

    /* logits (2 ln 3, 0, 0, 0) at T = 2: exp(ln 3) = 3 -> p = 3/6 = 0.5, exactly the gate: kept. */
    float logits[4] = {(float)(2 * log(3.0)), 0, 0, 0};
    am_result r;
    am_decide(m, logits, &r);
    ck_assert_int_eq(r.cls, 0);
    ck_assert(fabs(r.confidence - 0.5) < 1e-6);
    ck_assert(fabs(r.probs[1] - 1.0 / 6) < 1e-6);

    am_set_min_confidence(m, 0.51);
    am_decide(m, logits, &r);
    ck_assert_int_eq(r.gated, 1);
    ck_assert_int_eq(r.cls, 0); /* the best guess is still reported */

    am_set_min_confidence(m, 0.0);
    ck_assert_int_eq(am_set_class_threshold(m, "background_noise", 0.7, &err), 0);
    am_decide(m, logits, &r);
    ck_assert_int_eq(r.gated, 1);
    ck_assert_int_eq(am_set_class_threshold(m, "Background Noise", 0.4, &err), 0);
    am_decide(m, logits, &r);
    ck_assert_int_eq(r.gated, 0);
    ck_assert_int_ne(am_set_class_threshold(m, "wheeze", 0.4, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "wheeze"));
    ck_assert_int_ne(am_set_class_threshold(m, "cough", 1.5, &err), 0);

    am_free(m);
    nn_model_free(net);
    tu_rmtree(dir);
}
END_TEST

/* An internal output "other" reported as background: the file stores the map, the model reports four
 * classes, and am_decide sums the two outputs' probabilities before the argmax and the gate. Reported as
 * Unclear instead, its probability is left out and withholds what it outweighs, and eval/'s figures agree. */
START_TEST(output_map_stored_and_merged)
{
    char dir[256], path[320];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(path, sizeof path, dir, "m.aam");
    float mean[64], std[64];
    am_spec sp;
    default_spec(&sp, mean, std);
    sp.temperature = 1;
    sp.min_confidence = 0;
    sp.n_classes = 5;
    sp.classes[4] = AM_OTHER_OUTPUT;
    int map[5] = {0, 1, 2, 3, 0};
    sp.output_map = map;
    sp.n_reported = 4;
    for (int c = 0; c < 4; c++)
        sp.reported[c] = CLASSES[c];
    nn_model *net = small_net_k(5, 5);
    aa_error err;
    ck_assert_msg(am_save(path, net, &sp, &err) == 0, "%s", err.msg);
    am_model *m = am_load(path, 1, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    ck_assert_int_eq(am_n_classes(m), 4);
    ck_assert_int_eq(am_n_outputs(m), 5);
    ck_assert_str_eq(am_output_name(m, 4), "other");
    ck_assert_int_eq(am_output_class(m, 4), 0);
    ck_assert_int_eq(am_output_class(m, 2), 2);
    ck_assert_int_eq(am_has_unclear(m), 0);
    ck_assert_int_eq(am_negatives_class(m), 0);
    ck_assert_ptr_null(am_class_name(m, 4));

    /* exp: 1, 2, 1, 1, 2 over 7: cough alone (2/7) would tie "other"; background gets (1 + 2) / 7. */
    float logits[5] = {0, (float)log(2.0), 0, 0, (float)log(2.0)};
    am_result r;
    am_decide(m, logits, &r);
    ck_assert_int_eq(r.cls, 0);
    ck_assert_int_eq(r.gated, 0);
    ck_assert(fabs(r.probs[0] - 3.0 / 7) < 1e-6 && fabs(r.probs[1] - 2.0 / 7) < 1e-6);
    ck_assert(fabs(r.probs[0] + r.probs[1] + r.probs[2] + r.probs[3] - 1) < 1e-6);
    /* A recording goes the same way: scores are per output, the decision per class. */
    size_t n = dsp_clip_samples(am_dsp(m));
    float *x = tone(n, 16000, 700, 0.2);
    am_result rc;
    ck_assert_int_eq(am_classify_samples(m, 0, x, n, &rc, NULL, &err), 0);
    float scores[5];
    size_t windows, offset;
    ck_assert_int_eq(am_recording_scores(m, 0, x, n, scores, &windows, &offset, NULL, &err), 0);
    am_decide(m, scores, &r);
    ck_assert_int_eq(r.cls, rc.cls);
    ck_assert(memcmp(r.probs, rc.probs, 4 * sizeof(float)) == 0);
    am_free(m);

    /* The same spec in memory decides alike (what the trainer's validation uses). */
    am_model *b = am_borrow(net, &sp, &err);
    ck_assert_msg(b != NULL, "%s", err.msg);
    ck_assert_int_eq(am_n_classes(b), 4);
    am_decide(b, logits, &r);
    ck_assert(fabs(r.probs[0] - 3.0 / 7) < 1e-6);
    am_free(b);

    /* Reported as Unclear: 1, 1, 1, 1, 8 over 12. Every class gets 1/12, the rest (8/12) outweighs it. */
    map[4] = AM_MAP_UNCLEAR;
    ck_assert_msg(am_save(path, net, &sp, &err) == 0, "%s", err.msg);
    m = am_load(path, 1, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    ck_assert_int_eq(am_has_unclear(m), 1);
    ck_assert_int_eq(am_negatives_class(m), AM_MAP_UNCLEAR);
    float unclear[5] = {0, 0, 0, 0, (float)log(8.0)};
    am_decide(m, unclear, &r);
    ck_assert_int_eq(r.gated, 1);
    ck_assert(fabs(r.probs[0] - 1.0 / 12) < 1e-6);
    ev_gate g = {.rest_unclear = 1};
    int label = 0;
    ev_eval *ev = ev_evaluate(1, 4, &label, r.probs, &g, &err);
    ck_assert_ptr_nonnull(ev);
    ck_assert_uint_eq(ev->withheld, 1);
    ev_eval_free(ev);
    float sure[5] = {(float)log(20.0), 0, 0, 0, (float)log(8.0)}; /* 20/31 against a rest of 8/31 */
    am_decide(m, sure, &r);
    ck_assert_int_eq(r.gated, 0);
    ck_assert_int_eq(r.cls, 0);
    am_free(m);

    /* A reported class no output counts for, or a map entry out of range, is refused. */
    map[0] = 1;
    ck_assert_int_eq(am_save(path, net, &sp, &err), AM_ERR_ARG);
    ck_assert_msg(strstr(err.msg, "background_noise") != NULL, "%s", err.msg);
    map[0] = 4;
    ck_assert_int_eq(am_save(path, net, &sp, &err), AM_ERR_ARG);
    nn_model_free(net);
    free(x);
    tu_rmtree(dir);
}
END_TEST

/* Rewrites the Audio Audit metadata of a saved model: key `drop` left out (NULL: none), `key` set to
 * `value` (NULL: none). */
static void rewrite_meta(const char *path, const char *drop, const char *drop2, const char *key, const char *value)
{
    aa_error err;
    nn_meta *meta = NULL;
    nn_model *net = nn_model_load(path, 1, 0, &meta, &err);
    ck_assert_msg(net != NULL, "%s", err.msg);
    nn_meta *out = nn_meta_new();
    for (int i = 0; i < nn_meta_str_count(meta); i++) {
        const char *k, *v;
        nn_meta_str_at(meta, i, &k, &v);
        if ((drop && !strcmp(k, drop)) || (drop2 && !strcmp(k, drop2)))
            continue;
        ck_assert_int_eq(nn_meta_set_str(out, k, key && !strcmp(k, key) ? value : v, &err), 0);
    }
    if (key && !nn_meta_get_str(out, key))
        ck_assert_int_eq(nn_meta_set_str(out, key, value, &err), 0);
    for (int i = 0; i < nn_meta_tensor_count(meta); i++) {
        const char *name;
        int ndim, dims[NN_MAX_DIMS];
        const float *t = nn_meta_tensor_at(meta, i, &name, &ndim, dims);
        ck_assert_int_eq(nn_meta_set_tensor(out, name, t, ndim, dims, &err), 0);
    }
    ck_assert_int_eq(nn_model_save(net, out, path, &err), 0);
    nn_meta_free(meta);
    nn_meta_free(out);
    nn_model_free(net);
}

/* A model file from before the map (format 1: no aa.reported_classes, no aa.output_map) loads with every
 * output reported as itself; a damaged map, or a newer format, is refused naming the file. */
START_TEST(format1_file_loads_as_identity)
{
    char dir[256], path[320];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(path, sizeof path, dir, "old.aam");
    float mean[64], std[64];
    am_spec sp;
    default_spec(&sp, mean, std);
    nn_model *net = small_net(4);
    aa_error err;
    ck_assert_int_eq(am_save(path, net, &sp, &err), 0);
    rewrite_meta(path, NULL, NULL, "aa.format", "audio-audit-model 1");
    am_model *m = am_load(path, 1, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    ck_assert_int_eq(am_n_outputs(m), 4);
    ck_assert_int_eq(am_n_classes(m), 4);
    for (int o = 0; o < 4; o++) {
        ck_assert_int_eq(am_output_class(m, o), o);
        ck_assert_str_eq(am_output_name(m, o), am_class_name(m, o));
    }
    ck_assert_int_eq(am_has_unclear(m), 0);
    ck_assert_int_eq(am_negatives_class(m), 0); /* background_noise, by name */
    float logits[4] = {0.1f, 2, 0.3f, -1};
    am_result r;
    am_decide(m, logits, &r);
    ck_assert_int_eq(r.cls, 1);
    float p[4];
    ev_softmax(1, 4, logits, am_temperature(m), p);
    ck_assert(memcmp(p, r.probs, sizeof p) == 0); /* the plain softmax, bit for bit */
    am_selftest_report st;
    ck_assert_int_eq(am_selftest(m, &st, &err), 0);
    ck_assert(st.pass);
    am_free(m);

    /* Files with a map that does not hold together. */
    sp.n_classes = 5;
    sp.classes[4] = AM_OTHER_OUTPUT;
    int map[5] = {0, 1, 2, 3, 0};
    sp.output_map = map;
    sp.n_reported = 4;
    for (int c = 0; c < 4; c++)
        sp.reported[c] = CLASSES[c];
    nn_model *net5 = small_net_k(4, 5);
    const char *bad[][3] = {{"aa.output_map", "0 1 9 3 0", "output map"},
                            {"aa.output_map", "0 1 2 3", "output map"},
                            {"aa.output_map", "0 1 2 3 0 1", "more entries"},
                            {"aa.output_map", "0 1 1 3 1", "has no output"},
                            {"aa.format", "audio-audit-model 4", "newer"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_int_eq(am_save(path, net5, &sp, &err), 0);
        rewrite_meta(path, NULL, NULL, bad[i][0], bad[i][1]);
        ck_assert_ptr_null(am_load(path, 1, &err));
        ck_assert_int_eq(err.code, AM_ERR_FORMAT);
        ck_assert_msg(strstr(err.msg, "old.aam") && strstr(err.msg, bad[i][2]), "%s: %s", bad[i][1], err.msg);
    }
    ck_assert_int_eq(am_save(path, net5, &sp, &err), 0);
    rewrite_meta(path, "aa.output_map", NULL, NULL, NULL);
    ck_assert_ptr_null(am_load(path, 1, &err));
    ck_assert_msg(strstr(err.msg, "without aa.output_map"), "%s", err.msg);
    /* Without both keys, five outputs are five classes. */
    rewrite_meta(path, "aa.reported_classes", NULL, NULL, NULL);
    m = am_load(path, 1, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    ck_assert_int_eq(am_n_classes(m), 5);
    am_free(m);
    nn_model_free(net5);
    nn_model_free(net);
    tu_rmtree(dir);
}
END_TEST

/* The task: the class-name rule, stored in the file (aa.task), overridden by the spec, verified on load;
 * files from before it (format 2, no aa.task) are judged by the rule. */
START_TEST(task_stored_verified_and_by_rule)
{
    const char *resp[4] = {"cough", "heavy_breathing", "normal_breathing", "background_noise"};
    const char *resp_styled[3] = {"Cough", "HEAVY-BREATHING", "Normal Breathing"};
    const char *mixed[2] = {"cough", "dog_bark"};
    const char *digits[3] = {"digit_0", "digit_1", "digit_2"};
    ck_assert_int_eq(am_task_of_classes(resp, 4), AM_TASK_RESPIRATORY);
    ck_assert_int_eq(am_task_of_classes(resp_styled, 3), AM_TASK_RESPIRATORY);
    ck_assert_int_eq(am_task_of_classes(mixed, 2), AM_TASK_GENERAL);
    ck_assert_int_eq(am_task_of_classes(digits, 3), AM_TASK_GENERAL);
    ck_assert(am_is_background_name("Background Noise") && am_is_background_name("_background_noise_") &&
              am_is_background_name("BACKGROUND") && !am_is_background_name("noise") &&
              !am_is_background_name("backgrounds") && !am_is_background_name(NULL));
    am_task t;
    ck_assert(am_task_parse("general", &t) == 0 && t == AM_TASK_GENERAL);
    ck_assert(am_task_parse("respiratory", &t) == 0 && t == AM_TASK_RESPIRATORY);
    ck_assert_int_eq(am_task_parse("Respiratory", &t), -1);

    char dir[256], path[320];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(path, sizeof path, dir, "task.aam");
    float mean[64], std[64];
    am_spec sp;
    default_spec(&sp, mean, std);
    nn_model *net = small_net(5);
    aa_error err;
    static const char *const general[4] = {"bird", "car", "Background", "dog"};
    /* {classes, spec task, the task loaded} */
    struct { const char *const *classes; am_task spec, want; } cases[] = {
        {CLASSES, AM_TASK_AUTO, AM_TASK_RESPIRATORY}, {CLASSES, AM_TASK_GENERAL, AM_TASK_GENERAL},
        {general, AM_TASK_AUTO, AM_TASK_GENERAL}, {general, AM_TASK_RESPIRATORY, AM_TASK_RESPIRATORY}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        for (int c = 0; c < 4; c++)
            sp.classes[c] = cases[i].classes[c];
        sp.task = cases[i].spec;
        ck_assert_int_eq(am_save(path, net, &sp, &err), 0);
        nn_meta *meta = NULL;
        nn_model *back = nn_model_load(path, 1, 0, &meta, &err);
        ck_assert_ptr_nonnull(back);
        ck_assert_str_eq(nn_meta_get_str(meta, "aa.task"), am_task_name(cases[i].want));
        /* one network: format 2 (3 is an ensemble), the task written all the same */
        ck_assert_str_eq(nn_meta_get_str(meta, "aa.format"), "audio-audit-model 2");
        nn_meta_free(meta);
        nn_model_free(back);
        am_model *m = am_load(path, 1, &err);
        ck_assert_msg(m != NULL, "%s", err.msg);
        ck_assert_int_eq(am_get_task(m), cases[i].want);
        ck_assert_int_eq(am_is_respiratory(m), cases[i].want == AM_TASK_RESPIRATORY);
        if (cases[i].want == AM_TASK_RESPIRATORY)
            ck_assert_str_eq(am_disclaimer(m), AM_DISCLAIMER);
        else
            ck_assert_ptr_null(am_disclaimer(m));
        am_free(m);
        am_model *b = am_borrow(net, &sp, &err);
        ck_assert_ptr_nonnull(b);
        ck_assert_int_eq(am_get_task(b), cases[i].want);
        am_free(b);
        /* A file without the task (older builds): the class-name rule decides, whatever was meant. */
        rewrite_meta(path, "aa.task", NULL, "aa.format", "audio-audit-model 2");
        ck_assert_msg((m = am_load(path, 1, &err)) != NULL, "%s", err.msg);
        ck_assert_int_eq(am_get_task(m), cases[i].classes == CLASSES ? AM_TASK_RESPIRATORY : AM_TASK_GENERAL);
        ck_assert_int_eq(am_background_class(m), cases[i].classes == CLASSES ? 0 : 2);
        am_free(m);
    }
    /* A format-3 file must say its task, and any file that says it says it in one of the two words. */
    const char *bad[][3] = {{"aa.task", NULL, "task (aa.task) missing"}, {"aa.task", "medical", "neither"}};
    for (size_t i = 0; i < 2; i++) {
        ck_assert_int_eq(am_save(path, net, &sp, &err), 0);
        if (bad[i][1])
            rewrite_meta(path, NULL, NULL, bad[i][0], bad[i][1]);
        else
            rewrite_meta(path, bad[i][0], NULL, "aa.format", "audio-audit-model 3");
        ck_assert_ptr_null(am_load(path, 1, &err));
        ck_assert_int_eq(err.code, AM_ERR_FORMAT);
        ck_assert_msg(strstr(err.msg, "task.aam") && strstr(err.msg, bad[i][2]), "%s", err.msg);
    }
    sp.task = (am_task)7;
    ck_assert_int_eq(am_save(path, net, &sp, &err), AM_ERR_ARG);
    nn_model_free(net);
    tu_rmtree(dir);
}
END_TEST

START_TEST(selftest_passes_and_detects_drift)
{
    char dir[256], path[320];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(path, sizeof path, dir, "m.aam");
    float mean[64], std[64];
    am_spec sp;
    default_spec(&sp, mean, std);
    nn_model *net = small_net(5);
    aa_error err;
    ck_assert_int_eq(am_save(path, net, &sp, &err), 0);
    am_model *m = am_load(path, 1, &err);
    am_selftest_report rep;
    ck_assert_msg(am_selftest(m, &rep, &err) == 0, "%s", err.msg);
    ck_assert_msg(rep.pass, "mel %g logits %g", rep.mel_max_abs_diff, rep.logit_max_abs_diff);
    /* Same build, same machine, same thread: the recomputation is exact. */
    ck_assert(rep.mel_max_abs_diff == 0);
    ck_assert(rep.logit_max_abs_diff == 0);
    am_free(m);

    /* A different network under the same metadata: the logits no longer match the stored ones. */
    nn_model *other = small_net(6);
    char path2[320];
    tu_path(path2, sizeof path2, dir, "m2.aam");
    ck_assert_int_eq(am_save(path2, other, &sp, &err), 0);
    nn_meta *meta = NULL;
    nn_model *loaded = nn_model_load(path2, 1, 0, &meta, &err);
    ck_assert_ptr_nonnull(loaded);
    /* Keep m2's network but plant m's self-test: a stand-in for inference seeing a different model. */
    nn_meta *meta1 = NULL;
    nn_model *l1 = nn_model_load(path, 1, 0, &meta1, &err);
    int nd, dims[NN_MAX_DIMS];
    const float *st = nn_meta_get_tensor(meta1, "aa.selftest.logits", &nd, dims);
    ck_assert_ptr_nonnull(st);
    ck_assert_int_eq(nn_meta_set_tensor(meta, "aa.selftest.logits", st, nd, dims, &err), 0);
    ck_assert_int_eq(nn_model_save(loaded, meta, path2, &err), 0);
    m = am_load(path2, 1, &err);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(am_selftest(m, &rep, &err), 0);
    ck_assert(!rep.pass);
    ck_assert(rep.logit_max_abs_diff > rep.logit_tolerance);
    ck_assert(rep.mel_max_abs_diff == 0);

    am_free(m);
    nn_model_free(l1);
    nn_model_free(loaded);
    nn_meta_free(meta);
    nn_meta_free(meta1);
    nn_model_free(net);
    nn_model_free(other);
    tu_rmtree(dir);
}
END_TEST

START_TEST(load_errors_name_the_file)
{
    char dir[256], path[320];
    tu_mkdtemp(dir, sizeof dir);
    aa_error err;
    tu_path(path, sizeof path, dir, "missing.aam");
    ck_assert_ptr_null(am_load(path, 1, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "missing.aam"));

    /* A bare network file (no Audio Audit metadata) is refused as such. */
    nn_model *net = small_net(2);
    tu_path(path, sizeof path, dir, "bare.aam");
    ck_assert_int_eq(nn_model_save(net, NULL, path, &err), 0);
    ck_assert_ptr_null(am_load(path, 1, &err));
    ck_assert_int_eq(err.code, AM_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.msg, "bare.aam"));

    /* Truncated: the nn layer's check speaks. */
    float mean[64], std[64];
    am_spec sp;
    default_spec(&sp, mean, std);
    tu_path(path, sizeof path, dir, "t.aam");
    ck_assert_int_eq(am_save(path, net, &sp, &err), 0);
    size_t n;
    char *buf = tu_read_file(path, &n);
    tu_write_file(path, buf, n / 2);
    free(buf);
    ck_assert_ptr_null(am_load(path, 1, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "t.aam"));

    /* A spec that does not fit the network is refused before anything is written. */
    sp.n_classes = 3;
    tu_path(path, sizeof path, dir, "bad.aam");
    ck_assert_int_ne(am_save(path, net, &sp, &err), 0);
    ck_assert(!tu_exists(path));
    sp.n_classes = 4;
    std[3] = 0;
    ck_assert_int_ne(am_save(path, net, &sp, &err), 0);
    ck_assert(!tu_exists(path));

    nn_model_free(net);
    tu_rmtree(dir);
}
END_TEST

/* A file whose checksum is right but whose numbers or names mean nothing is refused at load, one line
 * naming the tensor or the field; a network whose output overflows names the recording and the model. */
static void expect_refused(const char *path, const char *says)
{
    aa_error err;
    am_model *m = am_load(path, 1, &err);
    ck_assert_msg(m == NULL, "%s loaded (want: %s)", path, says);
    ck_assert_msg(strstr(err.msg, path) && strstr(err.msg, says) && !strchr(err.msg, '\n'), "'%s' does not say '%s'",
                  err.msg, says);
}

/* Loads the good file's network and metadata, lets `edit` change one, saves as dir/name. */
typedef void (*file_edit)(nn_model *net, nn_meta *meta);

static void edited(const char *good, const char *dir, const char *name, file_edit edit, char *out, size_t cap)
{
    aa_error err;
    nn_meta *meta = NULL;
    nn_model *net = nn_model_load(good, 1, 0, &meta, &err);
    ck_assert_msg(net != NULL, "%s", err.msg);
    edit(net, meta);
    tu_path(out, cap, dir, name);
    ck_assert_msg(nn_model_save(net, meta, out, &err) == 0, "%s", err.msg);
    nn_model_free(net);
    nn_meta_free(meta);
}

static int tensor_named(nn_model *net, const char *name)
{
    for (int i = 0; i < nn_tensor_count(net); i++)
        if (!strcmp(nn_tensor_at(net, i)->name, name))
            return i;
    ck_abort_msg("no tensor %s", name);
    return -1;
}

static void set_str(nn_meta *meta, const char *key, const char *v)
{
    aa_error err;
    ck_assert_int_eq(nn_meta_set_str(meta, key, v, &err), 0);
}

static void tiny_t(nn_model *n, nn_meta *m) { (void)n; set_str(m, AM_KEY_TEMPERATURE, "1e-300"); }
static void huge_t(nn_model *n, nn_meta *m) { (void)n; set_str(m, AM_KEY_TEMPERATURE, "5000"); }
static void nan_t(nn_model *n, nn_meta *m) { (void)n; set_str(m, AM_KEY_TEMPERATURE, "nan"); }
static void gate_high(nn_model *n, nn_meta *m) { (void)n; set_str(m, AM_KEY_MIN_CONF, "1.5"); }
static void gate_nan(nn_model *n, nn_meta *m) { (void)n; set_str(m, AM_KEY_MIN_CONF, "nan"); }
static void dup_class(nn_model *n, nn_meta *m)
{
    (void)n;
    set_str(m, AM_KEY_CLASSES, "cough\nwheeze\ncough\nnoise");
}
static void esc_class(nn_model *n, nn_meta *m)
{
    (void)n;
    set_str(m, AM_KEY_CLASSES, "cough\nwh\x1b[2Jeeze\nnormal\nnoise");
}
static void nan_weight(nn_model *n, nn_meta *m)
{
    (void)m;
    nn_tensor_data(n, tensor_named(n, "conv1.weight"))[5] = NAN;
}
static void inf_bias(nn_model *n, nn_meta *m)
{
    (void)m;
    nn_tensor_data(n, tensor_named(n, "fc1.bias"))[1] = -INFINITY;
}
static void negative_var(nn_model *n, nn_meta *m)
{
    (void)m;
    nn_tensor_data(n, tensor_named(n, "bn2.running_var"))[3] = -0.5f;
}
static void nan_var(nn_model *n, nn_meta *m)
{
    (void)m;
    nn_tensor_data(n, tensor_named(n, "bn1.running_var"))[0] = NAN;
}
/* finite, but the output overflows float */
static void huge_weights(nn_model *n, nn_meta *m)
{
    (void)m;
    float *w = nn_tensor_data(n, tensor_named(n, "fc1.weight"));
    for (size_t i = 0; i < nn_tensor_at(n, tensor_named(n, "fc1.weight"))->count; i++)
        w[i] = 3e38f;
}

START_TEST(meaning_checked_at_load)
{
    char dir[256], good[320], p[400];
    tu_mkdtemp(dir, sizeof dir);
    nn_model *net = small_net(4);
    float mean[64], std[64];
    am_spec sp;
    default_spec(&sp, mean, std);
    tu_path(good, sizeof good, dir, "good.aam");
    aa_error err;
    ck_assert_int_eq(am_save(good, net, &sp, &err), 0);
    am_model *ok = am_load(good, 1, &err);
    ck_assert_msg(ok != NULL, "%s", err.msg);
    am_free(ok);
    const struct {
        const char *name;
        file_edit edit;
        const char *says;
    } cases[] = {
        {"tiny_t.aam", tiny_t, "temperature 1e-300 outside [0.001, 1000]"},
        {"huge_t.aam", huge_t, "temperature 5000 outside [0.001, 1000]"},
        {"nan_t.aam", nan_t, "temperature nan outside"},
        {"gate_high.aam", gate_high, "gate threshold (aa.min_confidence) missing or outside [0, 1]"},
        {"gate_nan.aam", gate_nan, "gate threshold"},
        {"dup.aam", dup_class, "class 3 \"cough\": a second class of the same name"},
        {"esc.aam", esc_class, "class 2 \"wh\\x1B[2Jeeze\": name holds a control character"},
        {"nan_w.aam", nan_weight, "tensor \"conv1.weight\" holds NaN at entry 5"},
        {"inf_b.aam", inf_bias, "tensor \"fc1.bias\" holds an infinite value at entry 1"},
        {"neg_var.aam", negative_var, "tensor \"bn2.running_var\" holds a negative batch-norm variance (-0.5)"},
        {"nan_var.aam", nan_var, "tensor \"bn1.running_var\" holds NaN at entry 0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        edited(good, dir, cases[i].name, cases[i].edit, p, sizeof p);
        expect_refused(p, cases[i].says);
    }
    /* the writer refuses what the reader would */
    sp.temperature = 1e-300;
    tu_path(p, sizeof p, dir, "w.aam");
    ck_assert_int_ne(am_save(p, net, &sp, &err), 0);
    ck_assert_msg(strstr(err.msg, "outside [0.001, 1000]"), "%s", err.msg);
    sp.temperature = 1.7;
    sp.classes[2] = "cough";
    ck_assert_int_ne(am_save(p, net, &sp, &err), 0);
    ck_assert_msg(strstr(err.msg, "a second class of the same name"), "%s", err.msg);
    ck_assert(!tu_exists(p));

    /* finite weights whose output overflows: the error names the recording and the model */
    edited(good, dir, "huge_w.aam", huge_weights, p, sizeof p);
    am_model *m = am_load(p, 1, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    char wav[400];
    tu_path(wav, sizeof wav, dir, "clip.wav");
    float *x = tone(16000, 16000, 440, 0.3);
    tu_write_wav(wav, x, 16000, 1, 16000, SF_FORMAT_PCM_16);
    free(x);
    am_file_result r;
    ck_assert_int_eq(am_classify_file(m, 0, wav, 0, &r, NULL, &err), AM_ERR_NUMERIC);
    char want[1024];
    snprintf(want, sizeof want, "%s: network output of %s is not finite", wav, p);
    ck_assert_str_eq(err.msg, want);
    am_free(m);
    nn_model_free(net);
    tu_rmtree(dir);
}
END_TEST

START_TEST(quality_verdicts)
{
    dsp_stats st = {.duration = 4, .rms_dbfs = -25, .peak = 0.5, .clip_fraction = 0};
    ck_assert_int_eq(am_quality_of(&st).verdict, AM_QUALITY_OK);
    ck_assert_str_eq(am_quality_of(&st).name, "ok");
    st.duration = 0.3;
    ck_assert_int_eq(am_quality_of(&st).verdict, AM_QUALITY_TOO_SHORT);
    st.duration = 4;
    st.rms_dbfs = -70;
    ck_assert_int_eq(am_quality_of(&st).verdict, AM_QUALITY_SILENT);
    st.rms_dbfs = -10;
    st.clip_fraction = 0.02;
    ck_assert_int_eq(am_quality_of(&st).verdict, AM_QUALITY_CLIPPED);
    ck_assert_str_eq(am_quality_of(&st).name, "clipped");
    ck_assert(strlen(am_quality_of(&st).message) > 10);
}
END_TEST

START_TEST(classify_memory_reports_quality_and_offset)
{
    char dir[256], path[320], mpath[320];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(mpath, sizeof mpath, dir, "m.aam");
    float mean[64], std[64];
    am_spec sp;
    default_spec(&sp, mean, std);
    nn_model *net = small_net(4);
    aa_error err;
    ck_assert_int_eq(am_save(mpath, net, &sp, &err), 0);
    am_model *m = am_load(mpath, 1, &err);

    /* 6 s at 22.05 kHz: quiet noise-free tone with a loud burst at 5 s; `loudest` picks a window holding it. */
    int rate = 22050;
    size_t n = (size_t)rate * 6;
    float *x = tone(n, rate, 300, 0.01);
    for (size_t i = (size_t)rate * 5; i < (size_t)(rate * 5.2); i++)
        x[i] = 0.6f * (float)sin((double)i * 0.9);
    tu_path(path, sizeof path, dir, "c.wav");
    tu_write_wav(path, x, n, 1, rate, SF_FORMAT_PCM_16);
    size_t size;
    void *bytes = tu_read_file(path, &size);
    am_file_result fr, ff;
    ck_assert_msg(am_classify_memory(m, 0, bytes, size, "upload.wav", 0, &fr, NULL, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(am_classify_file(m, 0, path, 0, &ff, NULL, &err), 0);
    ck_assert_mem_eq(fr.result.probs, ff.result.probs, 4 * sizeof(float));
    ck_assert(fabs(fr.duration - 6.0) < 1e-3);
    ck_assert_int_eq(fr.source.rate, rate);
    ck_assert_int_eq(fr.quality.verdict, AM_QUALITY_OK);
    /* offset at 16 kHz: the 4 s window must include 5.0-5.2 s, i.e. start in [1.2 s, 2.0 s]. */
    ck_assert_uint_ge(fr.result.offset, 16000 * 12 / 10);
    ck_assert_uint_le(fr.result.offset, 16000 * 2);

    /* The front end's own code comes back (no remapping), and it blames the recording. */
    ck_assert_int_eq(am_classify_memory(m, 0, "garbage", 7, "upload.bin", 0, &fr, NULL, &err), DSP_ERR_FORMAT);
    ck_assert_int_eq(err.code, DSP_ERR_FORMAT);
    ck_assert(dsp_status_is_input(err.code));
    ck_assert_ptr_nonnull(strstr(err.msg, "upload.bin"));
    ck_assert_int_ne(am_classify_clip(m, 1, x, &fr.result, NULL, &err), 0); /* no slot 1 */

    /* After a wipe nothing of the last upload is left in the slot's buffers: the log-mels of its windows, the
     * features the network was given, and the front end's slot, where a short upload is zero-padded. */
    ck_assert_int_eq(am_classify_memory(m, 0, bytes, size, "upload.wav", 0, &fr, NULL, &err), 0);
    size_t per = am_mel_size(m), nonzero = 0;
    for (size_t i = 0; i < per; i++)
        nonzero += (m->slots[0].mels[i] != 0) + (m->slots[0].norm[i] != 0);
    ck_assert_uint_gt(nonzero, per);
    am_wipe_slot(m, 0);
    for (size_t i = 0; i < per; i++)
        ck_assert(m->slots[0].mels[i] == 0 && m->slots[0].norm[i] == 0);
    size_t short_n = (size_t)rate; /* 1 s: padded to 4 s at 16 kHz */
    tu_path(path, sizeof path, dir, "short.wav");
    tu_write_wav(path, x + 5 * rate, short_n, 1, rate, SF_FORMAT_PCM_16);
    void *short_bytes = tu_read_file(path, &size);
    ck_assert_int_eq(am_classify_memory(m, 0, short_bytes, size, "short.wav", 0, &fr, NULL, &err), 0);
    const float *padded = dsp_logmel_slot_window(m->logmel, 0);
    nonzero = 0;
    for (size_t i = 0; i < dsp_clip_samples(am_dsp(m)); i++)
        nonzero += padded[i] != 0;
    ck_assert_uint_gt(nonzero, 1000);
    am_wipe_slot(m, 0);
    for (size_t i = 0; i < dsp_clip_samples(am_dsp(m)); i++)
        ck_assert(padded[i] == 0);
    free(short_bytes);

    free(bytes);
    free(x);
    am_free(m);
    nn_model_free(net);
    tu_rmtree(dir);
}
END_TEST

/* A model file whose front end breaks a rule of dsp_settings_validate is refused at load, the message naming
 * the file and the fields; the same file with its settings put back loads. The broken settings keep the
 * network's input shape (64 x 401), so it is the rule that refuses them, not the shape check. */
START_TEST(load_refuses_impossible_front_end)
{
    char dir[256], path[320], bad[320];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(path, sizeof path, dir, "m.aam");
    tu_path(bad, sizeof bad, dir, "bad.aam");
    float mean[64], std[64];
    am_spec sp;
    default_spec(&sp, mean, std);
    nn_model *net = small_net(3);
    aa_error err;
    ck_assert_int_eq(am_save(path, net, &sp, &err), 0);
    static const struct {
        const char *from, *to, *words[2];
    } cases[] = {
        {"fmax=8000\n", "fmax=9000\n", {"fmax 9000", "sample_rate 16000"}},
        {"fmin=0\n", "fmin=8000\n", {"fmin 8000", "fmax 8000"}},
        {"n_fft=512\nwin_length=512\n", "n_fft=128\nwin_length=128\n", {"n_mels 64", "n_fft 128"}},
        {"win_length=512\n", "win_length=1024\n", {"win_length 1024", "n_fft 512"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        nn_meta *meta = NULL;
        nn_model *loaded = nn_model_load(path, 1, 0, &meta, &err);
        ck_assert_msg(loaded != NULL, "%s", err.msg);
        const char *stored = nn_meta_get_str(meta, "aa.dsp");
        ck_assert_ptr_nonnull(stored);
        char *text = strdup(stored); /* setting the key frees what it held */
        const char *at = strstr(text, cases[i].from);
        ck_assert_msg(at != NULL, "no '%s' in %s", cases[i].from, text);
        char planted[DSP_SETTINGS_TEXT_MAX * 2];
        snprintf(planted, sizeof planted, "%.*s%s%s", (int)(at - text), text, cases[i].to, at + strlen(cases[i].from));
        ck_assert_int_eq(nn_meta_set_str(meta, "aa.dsp", planted, &err), 0);
        ck_assert_int_eq(nn_model_save(loaded, meta, bad, &err), 0);
        am_model *m = am_load(bad, 1, &err);
        ck_assert_msg(m == NULL, "case %zu: a model with '%s' loaded", i, cases[i].to);
        ck_assert_int_eq(err.code, DSP_ERR_SETTINGS);
        ck_assert_msg(strstr(err.msg, bad) && strstr(err.msg, cases[i].words[0]) && strstr(err.msg, cases[i].words[1]),
                      "case %zu: '%s'", i, err.msg);
        /* put back, it loads: the refusal was the planted setting's */
        ck_assert_int_eq(nn_meta_set_str(meta, "aa.dsp", text, &err), 0);
        ck_assert_int_eq(nn_model_save(loaded, meta, bad, &err), 0);
        m = am_load(bad, 1, &err);
        ck_assert_msg(m != NULL, "%s", err.msg);
        am_free(m);
        free(text);
        nn_meta_free(meta);
        nn_model_free(loaded);
    }
    nn_model_free(net);
    tu_rmtree(dir);
}
END_TEST

/* An ensemble file: several networks, one front end; its logits are the mean of its networks' (model.h,
 * "ensembles"), checked here against the networks judged one by one; a file of one network stays format 2
 * and loads as before; damage to the ensemble's parts is refused naming the file. */
START_TEST(ensemble_file_means_logits_and_is_checked)
{
    char dir[256], path[320];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(path, sizeof path, dir, "ens.aam");
    float mean[64], std[64];
    am_spec sp;
    default_spec(&sp, mean, std);
    nn_model *nets[3] = {small_net(11), small_net(12), small_net(13)};
    aa_error err;
    ck_assert_msg(am_save_ensemble(path, nets, 3, &sp, &err) == 0, "%s", err.msg);
    am_model *m = am_load(path, 2, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    ck_assert_int_eq(am_n_networks(m), 3);
    nn_meta *meta = NULL;
    nn_model *first = nn_model_load(path, 1, 0, &meta, &err);
    ck_assert_ptr_nonnull(first);
    ck_assert_str_eq(nn_meta_get_str(meta, "aa.format"), "audio-audit-model 3");
    nn_meta_free(meta);
    nn_model_free(first);
    am_selftest_report st;
    ck_assert_int_eq(am_selftest(m, &st, &err), 0);
    ck_assert(st.pass);

    size_t n = 0;
    float *clip = am_selftest_signal(&sp.dsp, &n);
    for (size_t i = 0; i < n; i++) /* a louder, busier clip than the test tone: logits far from zero */
        clip[i] = 0.5f * clip[i] + 0.3f * (float)sin(0.013 * (double)(i * i % 100003));
    am_result r;
    ck_assert_int_eq(am_classify_clip(m, 1, clip, &r, NULL, &err), 0); /* slot 1: the copies */
    /* The other way: each network alone, through its own borrowed model at temperature 1, its logits
     * averaged in double, then the softmax at the file's temperature. The file's route sums floats in
     * network order; logits here are O(10), so the two differ by a few float ulps (1e-6): 1e-5 bounds it. */
    double z[4] = {0};
    am_spec one = sp;
    one.temperature = 1;
    one.min_confidence = 0;
    for (int e = 0; e < 3; e++) {
        am_model *single = am_borrow(nets[e], &one, &err);
        ck_assert_ptr_nonnull(single);
        float scores[4];
        size_t windows = 0, offset = 0;
        ck_assert_int_eq(am_recording_scores(single, 0, clip, n, scores, &windows, &offset, NULL, &err), 0);
        ck_assert_uint_eq(windows, 1);
        for (int c = 0; c < 4; c++)
            z[c] += scores[c] / 3.0;
        am_free(single);
    }
    double mx = z[0], sum = 0, p[4];
    for (int c = 1; c < 4; c++)
        mx = z[c] > mx ? z[c] : mx;
    for (int c = 0; c < 4; c++)
        sum += (p[c] = exp((z[c] - mx) / sp.temperature));
    for (int c = 0; c < 4; c++)
        ck_assert_msg(fabs(p[c] / sum - r.probs[c]) < 1e-5, "class %d: %g by hand, %g by the file", c, p[c] / sum,
                      r.probs[c]);
    /* and not the first network alone */
    am_model *single = am_borrow(nets[0], &sp, &err);
    am_result r0;
    ck_assert_int_eq(am_classify_clip(single, 0, clip, &r0, NULL, &err), 0);
    double diff = 0;
    for (int c = 0; c < 4; c++)
        diff += fabs(r0.probs[c] - r.probs[c]);
    ck_assert_msg(diff > 1e-3, "the ensemble says what its first network says (%g)", diff);
    am_free(single);
    am_free(m);
    free(clip);

    /* One network: format 2, as before */
    char path1[320];
    tu_path(path1, sizeof path1, dir, "one.aam");
    ck_assert_int_eq(am_save(path1, nets[0], &sp, &err), 0);
    first = nn_model_load(path1, 1, 0, &meta, &err);
    ck_assert_str_eq(nn_meta_get_str(meta, "aa.format"), "audio-audit-model 2");
    nn_meta_free(meta);
    nn_model_free(first);
    m = am_load(path1, 1, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    ck_assert_int_eq(am_n_networks(m), 1);
    am_free(m);

    /* Damage */
    const char *bad[][4] = {{NULL, "aa.format", "audio-audit-model 2", "ensemble is format 3"},
                            {NULL, "aa.networks", "4", "tensors of other networks"},
                            {NULL, "aa.networks", "1", "networks (2.."},
                            {"aa.networks", NULL, NULL, "tensors of other networks"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_int_eq(am_save_ensemble(path, nets, 3, &sp, &err), 0);
        rewrite_meta(path, bad[i][0], NULL, bad[i][1], bad[i][2]);
        ck_assert_ptr_null(am_load(path, 1, &err));
        ck_assert_int_eq(err.code, AM_ERR_FORMAT);
        ck_assert_msg(strstr(err.msg, "ens.aam") && strstr(err.msg, bad[i][3]), "%zu: %s", i, err.msg);
    }
    /* Networks that do not match cannot make one */
    nn_model *odd[2] = {nets[0], small_net_k(5, 5)};
    ck_assert_int_eq(am_save_ensemble(path, odd, 2, &sp, &err), AM_ERR_ARG);
    ck_assert_msg(strstr(err.msg, "network 2") != NULL, "%s", err.msg);
    nn_model_free(odd[1]);
    for (int e = 0; e < 3; e++)
        nn_model_free(nets[e]);
    tu_rmtree(dir);
}
END_TEST

Suite *model_suite(void)
{
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("file");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, save_load_roundtrip_same_decisions);
    tcase_add_test(tc, decide_temperature_and_gate);
    tcase_add_test(tc, borrowed_network_judges_as_its_file);
    tcase_add_test(tc, output_map_stored_and_merged);
    tcase_add_test(tc, format1_file_loads_as_identity);
    tcase_add_test(tc, ensemble_file_means_logits_and_is_checked);
    tcase_add_test(tc, task_stored_verified_and_by_rule);
    tcase_add_test(tc, selftest_passes_and_detects_drift);
    tcase_add_test(tc, load_errors_name_the_file);
    tcase_add_test(tc, load_refuses_impossible_front_end);
    tcase_add_test(tc, meaning_checked_at_load);
    tcase_add_test(tc, quality_verdicts);
    tcase_add_test(tc, classify_memory_reports_quality_and_offset);
    suite_add_tcase(s, tc);
    return s;
}
