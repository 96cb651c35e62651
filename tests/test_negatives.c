/* aa-train --negatives and the reports per source, end to end on the generated demo corpus and a
 * generated folder of negatives (tones and clicks, with a manifest naming groups and sources): the model
 * stores the output map and reports the four classes only, negatives are reported as the background class
 * (or Unclear), the validation report still equals aa-infer --eval to the byte, the per-source and
 * negatives tables count what the split file holds, sources can be held out whole, and the model's bytes
 * do not depend on the thread count. */
#include <check.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "demo/demo.h"
#include "eval/eval.h"
#include "model/model.h"
#include "tests/util/testutil.h"

static char g_dir[256], g_data[320], g_neg[320], g_src[320];

#define ARCH "\"c8 bn relu p2 c16 bn relu p2 c32 bn relu gap fc\""
#define PER_CLASS 40
#define PER_KIND 18 /* negatives per kind: 9 groups of two, so a grouped split has some on every side */

static int epochs(void)
{
    return tu_sanitized() ? 3 : 4;
}

static void mkdir_ok(const char *path)
{
    if (mkdir(path, 0777) != 0) {
        perror(path);
        abort();
    }
}

/* DIR/tone/ (steady tones) and DIR/click/ (trains of clicks) WAV files, 2 s at 16 kHz, and a folder
 * named like a class of DATA, which is not a negative; manifest.tsv gives groups and two sources. */
static void write_negatives(const char *dir)
{
    char path[600];
    mkdir_ok(dir);
    const char *kinds[] = {"tone", "click", "heavy_breathing"};
    for (int k = 0; k < 3; k++) {
        snprintf(path, sizeof path, "%s/%s", dir, kinds[k]);
        mkdir_ok(path);
    }
    size_t n = 32000;
    float *x = malloc(n * sizeof *x);
    FILE *m = fopen((snprintf(path, sizeof path, "%s/manifest.tsv", dir), path), "w");
    fputs("path\tgroup\tsource\tnote\n", m);
    aa_rng rng;
    aa_rng_seed(&rng, 5);
    for (int i = 0; i < PER_KIND; i++) {
        double f = 250 + 90 * i;
        for (size_t t = 0; t < n; t++)
            x[t] = (float)(0.3 * sin(2 * M_PI * f * (double)t / 16000));
        snprintf(path, sizeof path, "%s/tone/t%02d.wav", dir, i);
        tu_write_wav(path, x, n, 1, 16000, SF_FORMAT_PCM_16);
        fprintf(m, "tone/t%02d.wav\ttone_%d\t%s\tsteady\n", i, i / 2, i % 4 < 2 ? "synth_a" : "synth_b");
        memset(x, 0, n * sizeof *x);
        for (size_t at = 0; at + 64 < n; at += 1500 + 80 * (size_t)i)
            for (size_t j = 0; j < 64; j++)
                x[at + j] += (float)((aa_rng_uniform(&rng) - 0.5) * 1.2 * exp(-(double)j / 10));
        snprintf(path, sizeof path, "%s/click/c%02d.wav", dir, i);
        tu_write_wav(path, x, n, 1, 16000, SF_FORMAT_PCM_16);
        fprintf(m, "click/c%02d.wav\tclick_%d\tsynth_b\tclicks\n", i, i / 2);
    }
    for (int i = 0; i < 3; i++) {
        for (size_t t = 0; t < n; t++)
            x[t] = (float)(0.2 * (aa_rng_uniform(&rng) - 0.5));
        snprintf(path, sizeof path, "%s/heavy_breathing/b%d.wav", dir, i);
        tu_write_wav(path, x, n, 1, 16000, SF_FORMAT_PCM_16);
    }
    fclose(m);
    free(x);
}

/* The demo corpus's files behind links, with a manifest that adds a source column: people with an even
 * number recorded by "phone_a", the others by "phone_b"; background places likewise. */
static void write_sourced(const char *dir)
{
    char path[700], target[700];
    mkdir_ok(dir);
    snprintf(path, sizeof path, "%s/manifest.tsv", dir);
    FILE *m = fopen(path, "w");
    fputs("path\tclass\tgroup\tsource\n", m);
    for (int c = 0; c < DEMO_N_CLASSES; c++) {
        const char *cls = demo_class_name(c);
        snprintf(path, sizeof path, "%s/%s", dir, cls);
        mkdir_ok(path);
        for (int i = 0; i < PER_CLASS; i++) {
            snprintf(path, sizeof path, "%s/%s/%04d.wav", dir, cls, i);
            snprintf(target, sizeof target, "%s/%s/%04d.wav", g_data, cls, i);
            if (symlink(target, path) != 0)
                abort();
            int who = i / 2;
            fprintf(m, "%s/%04d.wav\t%s\t%s_%03d\t%s\n", cls, i, cls, c == DEMO_BACKGROUND ? "place" : "person", who,
                    who % 2 ? "phone_b" : "phone_a");
        }
    }
    fclose(m);
}

static void setup(void)
{
    tu_mkdtemp(g_dir, sizeof g_dir);
    snprintf(g_data, sizeof g_data, "%s/demo", g_dir);
    snprintf(g_neg, sizeof g_neg, "%s/negatives", g_dir);
    snprintf(g_src, sizeof g_src, "%s/sourced", g_dir);
    demo_corpus_opts o;
    demo_corpus_opts_default(&o);
    o.per_class = PER_CLASS;
    o.seed = 11;
    aa_error err;
    if (demo_corpus_write(g_data, &o, &err)) {
        fprintf(stderr, "corpus: %s\n", err.msg);
        abort();
    }
    write_negatives(g_neg);
    write_sourced(g_src);
}

static void teardown(void)
{
    tu_rmtree(g_dir);
}

static char g_out[1 << 17], g_err[1 << 15];

/* aa-train on data with the shared small settings and `more`; the exit status. */
static int train(const char *data, const char *dir, const char *model, const char *more)
{
    char cmd[3000];
    snprintf(cmd, sizeof cmd,
             "%s/aa-train %s -o %s/%s --cache %s/%s.aacache --arch " ARCH " --epochs %d --batch 16 --lr 0.003 -j 2 %s",
             tu_build_dir(), data, dir, model, dir, model, epochs(), more);
    return tu_run(cmd, g_out, sizeof g_out, g_err, sizeof g_err);
}

/* Rows of the split file whose side and negative columns are as asked (side NULL: any). */
static size_t split_rows(const char *split, const char *side, int negative)
{
    size_t n = 0;
    char want[32];
    snprintf(want, sizeof want, "\t%d\n", negative);
    for (const char *line = strchr(split, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
        const char *end = strchr(line + 1, '\n');
        size_t len = end ? (size_t)(end - line) + 1 : strlen(line);
        char row[2048];
        if (len >= sizeof row)
            continue;
        memcpy(row, line, len);
        row[len] = 0;
        char side_field[32];
        snprintf(side_field, sizeof side_field, "\t%s\t", side ? side : "");
        if (strstr(row, want) && (!side || strstr(row, side_field)))
            n++;
    }
    return n;
}

static long json_count_after(const char *json, const char *anchor, const char *key)
{
    const char *p = strstr(json, anchor);
    ck_assert_msg(p != NULL, "no %s in %.200s", anchor, json);
    p = strstr(p, key);
    ck_assert_msg(p != NULL, "no %s after %s", key, anchor);
    return strtol(p + strlen(key), NULL, 10);
}

/* From the first "accuracy" of the validation object to the end of the report, against aa-infer --eval. */
static void validation_equals_infer(const char *dir, const char *model, const char *report_name)
{
    char path[600], cmd[1400], err[8192];
    static char inf[1 << 20];
    char *report = tu_read_file(tu_path(path, sizeof path, dir, report_name), NULL);
    ck_assert_ptr_nonnull(report);
    const char *v = strstr(report, "\n\"validation\": ");
    ck_assert_ptr_nonnull(v);
    const char *a0 = strstr(v, "\"accuracy\":");
    size_t an = strlen(a0) - 2; /* without the closing "}\n" of the whole report */
    snprintf(cmd, sizeof cmd, "%s/aa-infer -m %s/%s --eval %s/%s.split.tsv --side val --json --threads 1",
             tu_build_dir(), dir, model, dir, model);
    ck_assert_int_eq(tu_run(cmd, inf, sizeof inf, err, sizeof err), 0);
    const char *b0 = strstr(inf, "\"accuracy\":");
    ck_assert_ptr_nonnull(b0);
    size_t bn = strlen(b0), at = 0;
    while (at < an && at < bn && a0[at] == b0[at])
        at++;
    size_t from = at > 80 ? at - 80 : 0;
    ck_assert_msg(an == bn && at == an, "the trainer's validation figures and aa-infer --eval disagree at byte %zu:\n"
                  "%.160s\n---\n%.160s", at, a0 + from, b0 + from);
    ck_assert_ptr_nonnull(strstr(a0, "\"negatives\":{\"n\":"));
    free(report);
}

START_TEST(negatives_train_an_internal_output)
{
    char dir[256], path[600], more[1200];
    tu_mkdtemp(dir, sizeof dir);
    snprintf(more, sizeof more, "--negatives %s --report-json %s/r.json --gate-target 0.8 --gate-min-covered 5", g_neg,
             dir);
    int rc = train(g_data, dir, "m.aam", more);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, g_err);
    /* The folder named like a class of DATA is skipped, and says why. */
    ck_assert_msg(strstr(g_err, "heavy_breathing") && strstr(g_err, "not negatives"), "%s", g_err);
    ck_assert_msg(strstr(g_out, "which the model reports as Background Noise") != NULL, "%s", g_out);

    aa_error e;
    am_model *m = am_load(tu_path(path, sizeof path, dir, "m.aam"), 1, &e);
    ck_assert_msg(m != NULL, "%s", e.msg);
    ck_assert_int_eq(am_n_classes(m), 4);
    ck_assert_int_eq(am_n_outputs(m), 5);
    ck_assert_str_eq(am_output_name(m, 4), "other");
    ck_assert_str_eq(am_class_name(m, am_output_class(m, 4)), "background_noise");
    ck_assert_int_eq(am_negatives_class(m), am_output_class(m, 4));
    am_selftest_report st;
    ck_assert_int_eq(am_selftest(m, &st, &e), 0);
    ck_assert(st.pass);

    /* A negative's decision: the background class gets its own output's and "other"'s probability. */
    char clip[600];
    snprintf(clip, sizeof clip, "%s/tone/t03.wav", g_neg);
    dsp_audio a;
    ck_assert_int_eq(dsp_load(clip, am_dsp(m), 0, &a, &e), 0);
    float scores[8], p[8];
    size_t windows, offset;
    ck_assert_int_eq(am_recording_scores(m, 0, a.samples, a.n, scores, &windows, &offset, NULL, &e), 0);
    ev_softmax(1, 5, scores, am_temperature(m), p);
    am_result r;
    am_decide(m, scores, &r);
    int bg = am_output_class(m, 4);
    /* Summed in double then rounded: within a float's rounding of the float sum. */
    ck_assert_msg(fabsf(r.probs[bg] - (p[bg] + p[4])) < 1e-6f, "%g vs %g + %g", r.probs[bg], p[bg], p[4]);
    dsp_audio_free(&a);
    am_free(m);

    /* aa-infer shows four classes, never the internal output. */
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "%s/aa-infer -m %s/m.aam --json %s", tu_build_dir(), dir, clip);
    ck_assert_int_eq(tu_run(cmd, g_out, sizeof g_out, g_err, sizeof g_err), 0);
    ck_assert_ptr_nonnull(strstr(g_out, "\"Normal Breathing\": "));
    ck_assert_ptr_null(strstr(g_out, "\"other\""));
    ck_assert_ptr_null(strstr(g_out, "\"Other\""));

    /* The split file lists the negatives (not the excluded folder) with their sources. */
    char *split = tu_read_file(tu_path(path, sizeof path, dir, "m.aam.split.tsv"), NULL);
    ck_assert_ptr_nonnull(split);
    ck_assert(!strncmp(split, "path\tclass\tgroup\tside\tsource\tnegative\n", 38));
    ck_assert_uint_eq(split_rows(split, NULL, 1), 2 * PER_KIND);
    ck_assert_uint_eq(split_rows(split, NULL, 0), 4 * PER_CLASS);
    ck_assert_ptr_null(strstr(split, "heavy_breathing/b0.wav"));
    ck_assert_ptr_nonnull(strstr(split, "\ttone\ttone_0\t"));
    ck_assert_ptr_nonnull(strstr(split, "\tsynth_a\t1\n"));

    /* The test report: the classes' figures on DATA's test recordings, one source ("demo"), and every test
     * negative in the negatives table, the expected class named. */
    char *report = tu_read_file(tu_path(path, sizeof path, dir, "r.json"), NULL);
    ck_assert_ptr_nonnull(report);
    size_t test_pos = split_rows(split, "test", 0), test_neg = split_rows(split, "test", 1);
    ck_assert_uint_gt(test_neg, 0);
    ck_assert_int_eq(json_count_after(report, "\"recordings\":", "\"n\":"), (long)test_pos);
    ck_assert_int_eq(json_count_after(report, "\"sources\":[", "\"n\":"), (long)test_pos);
    ck_assert_ptr_nonnull(strstr(report, "\"sources\":[\n  {\"source\":\"demo\""));
    ck_assert_int_eq(json_count_after(report, "\"negatives\":{", "\"n\":"), (long)test_neg);
    ck_assert_ptr_nonnull(strstr(report, "\"expected\":\"Background Noise\""));
    const char *kind = strstr(report, "{\"kind\":\"tone\",\"n\":");
    ck_assert_ptr_nonnull(kind);
    size_t tone_test = 0;
    for (const char *q = split; (q = strstr(q, "/tone/")); q++)
        tone_test += strstr(q, "\ttest\t") && strstr(q, "\ttest\t") < strchr(q, '\n');
    ck_assert_int_eq(strtol(kind + strlen("{\"kind\":\"tone\",\"n\":"), NULL, 10), (long)tone_test);
    free(report);
    free(split);

    validation_equals_infer(dir, "m.aam", "r.json");

    /* aa-infer --eval DATA --negatives DIR: the folders as given, every negative counted. */
    snprintf(cmd, sizeof cmd, "%s/aa-infer -m %s/m.aam --eval %s --negatives %s --json --threads 2", tu_build_dir(), dir,
             g_data, g_neg);
    static char inf[1 << 20];
    ck_assert_int_eq(tu_run(cmd, inf, sizeof inf, g_err, sizeof g_err), 0);
    ck_assert_int_eq(json_count_after(inf, "\"negatives\":{", "\"n\":"), 2 * PER_KIND);
    ck_assert_int_eq(json_count_after(inf, "\"sources\":[", "\"n\":"), 4 * PER_CLASS);
    ck_assert_msg(strstr(g_err, "heavy_breathing") != NULL, "%s", g_err);
    tu_rmtree(dir);
}
END_TEST

/* Reported as Unclear: the map says so, negatives are expected withheld, and the gate states the rule. */
START_TEST(negatives_as_unclear)
{
    char dir[256], path[600], more[1200];
    tu_mkdtemp(dir, sizeof dir);
    snprintf(more, sizeof more, "-q --negatives %s --negatives-as unclear --report-json %s/r.json", g_neg, dir);
    int rc = train(g_data, dir, "u.aam", more);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, g_err);
    aa_error e;
    am_model *m = am_load(tu_path(path, sizeof path, dir, "u.aam"), 1, &e);
    ck_assert_msg(m != NULL, "%s", e.msg);
    ck_assert_int_eq(am_n_classes(m), 4);
    ck_assert_int_eq(am_output_class(m, 4), AM_MAP_UNCLEAR);
    ck_assert_int_eq(am_has_unclear(m), 1);
    ck_assert_int_eq(am_negatives_class(m), AM_MAP_UNCLEAR);
    /* Whatever "other" outweighs is withheld, whatever the thresholds. */
    am_set_min_confidence(m, 0);
    float logits[5] = {0, 0.5f, 0, 0, 3};
    am_result r;
    am_decide(m, logits, &r);
    ck_assert_int_eq(r.gated, 1);
    am_free(m);
    char *report = tu_read_file(tu_path(path, sizeof path, dir, "r.json"), NULL);
    ck_assert_ptr_nonnull(report);
    ck_assert_ptr_nonnull(strstr(report, "\"expected\":\"Unclear/Unknown\""));
    ck_assert_ptr_nonnull(strstr(report, "\"rest_unclear\":true"));
    free(report);
    validation_equals_infer(dir, "u.aam", "r.json");

    /* A class DATA does not have is refused before training. */
    snprintf(more, sizeof more, "--negatives %s --negatives-as wheeze", g_neg);
    ck_assert_int_eq(train(g_data, dir, "w.aam", more), 1);
    ck_assert_msg(strstr(g_err, "--negatives-as: 'wheeze'") != NULL && tu_count_lines(g_err) >= 1, "%s", g_err);
    ck_assert(!tu_exists(tu_path(path, sizeof path, dir, "w.aam")));
    tu_rmtree(dir);
}
END_TEST

/* Whole sources held out: the test split is phone_b's recordings and nothing else, its table has that one
 * source with the test count, and validation's has only phone_a. */
START_TEST(sources_held_out_and_tabled)
{
    char dir[256], path[600], more[1200];
    tu_mkdtemp(dir, sizeof dir);
    snprintf(more, sizeof more, "-q --test-sources phone_b --report-json %s/r.json", dir);
    int rc = train(g_src, dir, "s.aam", more);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, g_err);
    char *split = tu_read_file(tu_path(path, sizeof path, dir, "s.aam.split.tsv"), NULL);
    ck_assert_ptr_nonnull(split);
    size_t test = 0, test_b = 0, val_b = 0;
    for (const char *line = strchr(split, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
        const char *end = strchr(line + 1, '\n');
        int is_test = strstr(line, "\ttest\t") && strstr(line, "\ttest\t") < end;
        int is_val = strstr(line, "\tval\t") && strstr(line, "\tval\t") < end;
        int is_b = strstr(line, "\tphone_b\t") && strstr(line, "\tphone_b\t") < end;
        test += is_test;
        test_b += is_test && is_b;
        val_b += is_val && is_b;
    }
    ck_assert_uint_eq(test, 2 * PER_CLASS); /* half the people of every class */
    ck_assert_uint_eq(test_b, test);
    ck_assert_uint_eq(val_b, 0);
    char *report = tu_read_file(tu_path(path, sizeof path, dir, "r.json"), NULL);
    ck_assert_ptr_nonnull(report);
    const char *t = strstr(report, "\"sources\":[");
    ck_assert_ptr_nonnull(t);
    const char *want = "\"sources\":[\n  {\"source\":\"phone_b\",\"n\":80,\"classes\":4,";
    ck_assert_msg(!strncmp(t, want, strlen(want)), "%.120s", t);
    ck_assert_ptr_nonnull(strstr(report, "\"negatives\":null"));
    const char *v = strstr(report, "\n\"validation\": ");
    ck_assert_ptr_nonnull(v);
    const char *vs = strstr(v, "\"sources\":[");
    ck_assert_ptr_nonnull(vs);
    const char *want_a = "\"sources\":[\n  {\"source\":\"phone_a\",";
    ck_assert_msg(!strncmp(vs, want_a, strlen(want_a)), "%.120s", vs);
    ck_assert_ptr_null(strstr(vs, "phone_b"));
    free(report);
    free(split);

    /* A source no listing has is a mistake, said before training. */
    ck_assert_int_eq(train(g_src, dir, "x.aam", "--val-sources phone_c"), 1);
    ck_assert_msg(strstr(g_err, "--val-sources: no recording comes from source 'phone_c'") != NULL, "%s", g_err);
    tu_rmtree(dir);
}
END_TEST

/* With negatives too, the model file is the same bits whatever the thread count. */
START_TEST(negatives_model_bytes_do_not_depend_on_threads)
{
    char dir[256], more[1200];
    tu_mkdtemp(dir, sizeof dir);
    snprintf(more, sizeof more, "-q --negatives %s", g_neg);
    ck_assert_msg(train(g_data, dir, "a.aam", more) == 0, "%s", g_err);
    snprintf(more, sizeof more, "-q --negatives %s -j 1", g_neg);
    ck_assert_msg(train(g_data, dir, "b.aam", more) == 0, "%s", g_err);
    char path[600];
    size_t na, nb;
    void *a = tu_read_file(tu_path(path, sizeof path, dir, "a.aam"), &na);
    void *b = tu_read_file(tu_path(path, sizeof path, dir, "b.aam"), &nb);
    ck_assert(a && b);
    ck_assert_msg(na == nb && memcmp(a, b, na) == 0, "-j 2 and -j 1 gave different model files");
    free(a);
    free(b);
    tu_rmtree(dir);
}
END_TEST

Suite *negatives_suite(void)
{
    Suite *s = suite_create("negatives");
    TCase *tc = tcase_create("negatives");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    /* Two to four short trainings each: seconds on an idle machine, room for a loaded one (x8 under asan). */
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, negatives_train_an_internal_output);
    tcase_add_test(tc, negatives_as_unclear);
    tcase_add_test(tc, sources_held_out_and_tabled);
    tcase_add_test(tc, negatives_model_bytes_do_not_depend_on_threads);
    suite_add_tcase(s, tc);
    return s;
}
