/* aa-train end to end on a small generated demo corpus: it learns, it is deterministic, a resumed run equals
 * an uninterrupted one, the model file loads and passes its self-test, and bad input is refused before
 * training with one line naming the problem. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "demo/demo.h"
#include "model/model.h"
#include "tests/util/testutil.h"

/* One corpus for the whole suite, made once in the parent process (an unchecked fixture). */
static char g_dir[256], g_data[320];

/* Clips per class: 40 is 20 simulated people per class, so a grouped 70/15/15 split has several people of
 * every class on every side, and the test split about 30 recordings. */
static int per_class(void)
{
    return 40;
}

/* A small network (four conv blocks of 8-32 channels) keeps an epoch to about a second. */
#define ARCH "\"c8 bn relu p2 c16 bn relu p2 c32 bn relu p2 c32 bn relu gap fc\""

/* Epochs of the runs that only need a model, not a good one (determinism, resume, bad input). */
static int short_epochs(void)
{
    return tu_sanitized() ? 3 : 4;
}

static void corpus_setup(void)
{
    tu_mkdtemp(g_dir, sizeof g_dir);
    snprintf(g_data, sizeof g_data, "%s/demo", g_dir);
    demo_corpus_opts o;
    demo_corpus_opts_default(&o);
    o.per_class = per_class();
    o.seed = 11;
    aa_error err;
    if (demo_corpus_write(g_data, &o, &err)) {
        fprintf(stderr, "corpus: %s\n", err.msg);
        abort();
    }
}

static void corpus_teardown(void)
{
    tu_rmtree(g_dir);
}

static int run_train(const char *args, char *out, size_t on, char *err, size_t en)
{
    size_t n = strlen(args) + 512;
    char *cmd = malloc(n);
    snprintf(cmd, n, "%s/aa-train %s", tu_build_dir(), args);
    int rc = tu_run(cmd, out, on, err, en);
    free(cmd);
    return rc;
}

/* The options every training test shares: a small network, its own cache file; `more` comes last and
 * may override them. */
static void base_args(char *buf, size_t n, const char *data, const char *dir, const char *model, const char *more)
{
    snprintf(buf, n, "%s -o %s/%s --cache %s/cache.aacache --arch " ARCH " --epochs %d --batch 16 --lr 0.003 -j 2 %s",
             data, dir, model, dir, short_epochs(), more);
}

static double json_number_after(const char *json, const char *anchor, const char *key)
{
    const char *p = strstr(json, anchor);
    ck_assert_msg(p != NULL, "no %s in report", anchor);
    p = strstr(p, key);
    ck_assert_msg(p != NULL, "no %s after %s", key, anchor);
    return strtod(p + strlen(key), NULL);
}

START_TEST(learns_the_demo_corpus)
{
    char dir[256], args[2048], path[400], out[65536], err[8192];
    tu_mkdtemp(dir, sizeof dir);
    char more[1024];
    snprintf(more, sizeof more, "--epochs 20 --patience 0 --report-json %s/report.json --svg %s/plots --log %s/log.jsonl",
             dir, dir, dir);
    base_args(args, sizeof args, g_data, dir, "m.aam", more);
    int rc = run_train(args, out, sizeof out, err, sizeof err);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    ck_assert_msg(strstr(out, "Test split, per recording") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "Test split, per 4 s window") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "Calibration on") != NULL, "%s", out);

    char *report = tu_read_file(tu_path(path, sizeof path, dir, "report.json"), NULL);
    ck_assert_ptr_nonnull(report);
    double acc = json_number_after(report, "\"recordings\":", "\"accuracy\":");
    double f1 = json_number_after(report, "\"recordings\":", "\"macro_f1\":");
    /* Chance is 0.25 with four balanced classes. The demo classes are built to be told apart (a cough is a
     * short broadband burst, the breathing classes differ in rate and depth, background has no events),
     * but each simulated person has their own voice and microphone, and the test recordings come from
     * people the network never heard. With these settings it reached 0.72, 0.83 and 0.87 per recording on
     * three seeds of the split (about 30 test recordings each); 0.6, more than twice chance, fails a run
     * that did not learn while leaving room for a less lucky split. */
    ck_assert_msg(acc >= 0.6 && f1 >= 0.55, "test accuracy %.3f, macro-F1 %.3f", acc, f1);

    /* aa-infer --eval on the split file's test rows says the same, to the last digit: every figure from
     * the accuracy to the coverage table (title and calibration notes aside, which only the trainer has). */
    char cmd[1200];
    static char inf[1 << 20];
    snprintf(cmd, sizeof cmd, "%s/aa-infer -m %s/m.aam --eval %s/m.aam.split.tsv --side test --json --threads 2",
             tu_build_dir(), dir, dir);
    ck_assert_int_eq(tu_run(cmd, inf, sizeof inf, err, sizeof err), 0);
    const char *a0 = strstr(report, "\"accuracy\":"), *a1 = a0 ? strstr(a0, "\"coverage_curve\"") : NULL;
    const char *b0 = strstr(inf, "\"accuracy\":"), *b1 = b0 ? strstr(b0, "\"coverage_curve\"") : NULL;
    ck_assert_msg(a0 && a1 && b0 && b1, "figures missing: %.300s", inf);
    ck_assert_msg(a1 - a0 == b1 - b0 && memcmp(a0, b0, (size_t)(a1 - a0)) == 0,
                  "aa-train and aa-infer --eval disagree:\n%.*s\n---\n%.*s", (int)(a1 - a0), a0, (int)(b1 - b0), b0);
    free(report);

    /* The model file loads, passes its self-test, and carries the summary with the test figures. */
    aa_error e;
    am_model *m = am_load(tu_path(path, sizeof path, dir, "m.aam"), 1, &e);
    ck_assert_msg(m != NULL, "%s", e.msg);
    am_selftest_report st;
    ck_assert_int_eq(am_selftest(m, &st, &e), 0);
    ck_assert_msg(st.pass, "self-test: mel %g, logits %g", st.mel_max_abs_diff, st.logit_max_abs_diff);
    const char *tj = am_train_json(m);
    ck_assert_ptr_nonnull(tj);
    ck_assert_ptr_nonnull(strstr(tj, "\"format\": \"audio-audit-training\""));
    ck_assert_ptr_nonnull(strstr(tj, "\"test\": {\"recordings\": {\"n\": "));
    ck_assert_ptr_null(strstr(tj, "seconds"));
    ck_assert_int_eq(am_n_classes(m), 4);
    ck_assert(am_temperature(m) > 0);
    am_free(m);

    /* The split file: a header and one row per recording, each on one side. */
    char *split = tu_read_file(tu_path(path, sizeof path, dir, "m.aam.split.tsv"), NULL);
    ck_assert_ptr_nonnull(split);
    const char *header = "path\tclass\tgroup\tside\tsource\tnegative\n";
    ck_assert(strncmp(split, header, strlen(header)) == 0);
    ck_assert_int_eq(tu_count_lines(split), 4 * per_class() + 1);
    ck_assert_ptr_nonnull(strstr(split, "\ttest\tdemo\t0\n")); /* no source column: the folder's name */
    ck_assert_ptr_nonnull(strstr(split, "\tval\tdemo\t0\n"));
    free(split);

    /* The log: one line per epoch and a summary; the plots. */
    char *log = tu_read_file(tu_path(path, sizeof path, dir, "log.jsonl"), NULL);
    ck_assert_ptr_nonnull(log);
    int epochs = 0;
    for (const char *p = log; (p = strstr(p, "\"type\": \"epoch\"")); p++)
        epochs++;
    ck_assert_int_ge(epochs, 1);
    ck_assert_int_eq(tu_count_lines(log), epochs + 1);
    ck_assert_ptr_nonnull(strstr(log, "{\"type\": \"summary\""));
    free(log);
    const char *plots[] = {"confusion.svg", "reliability.svg", "coverage.svg", "learning_curves.svg",
                           "confusion_windows.svg"};
    for (size_t i = 0; i < sizeof plots / sizeof *plots; i++) {
        char p2[400];
        snprintf(p2, sizeof p2, "%s/plots/%s", dir, plots[i]);
        ck_assert_msg(tu_exists(p2), "%s missing", plots[i]);
    }
    tu_rmtree(dir);
}
END_TEST

/* The validation figures the trainer computes with the final model — the report's "validation": the
 * recordings its temperature and gate were fitted on, judged with them — equal aa-infer --eval on the split
 * file's validation rows, every figure to the last digit (reliability bins and coverage curve included):
 * the trainer judges them with the inference code on the network it holds in memory, from the signals its
 * cache holds, while aa-infer reads the model file and decodes each file itself, here on one thread against
 * the trainer's two. Once with a global gate, once with per-class gates (stored as float in the file); a
 * four-epoch network is not sure enough of itself for the default target, so a lower one makes each gate
 * withhold some recordings and its figures worth comparing. */
START_TEST(validation_report_equals_infer_eval)
{
    char dir[256], args[2048], path[400], out[65536], err[8192], cmd[1200];
    static char inf[1 << 20];
    tu_mkdtemp(dir, sizeof dir);
    const char *gates[] = {"--gate-target 0.8 --gate-min-covered 5", "--per-class-gates --gate-min-covered 2"};
    for (int g = 0; g < 2; g++) {
        char more[1024];
        snprintf(more, sizeof more, "-q --report-json %s/report%d.json %s", dir, g, gates[g]);
        base_args(args, sizeof args, g_data, dir, "v.aam", more);
        int rc = run_train(args, out, sizeof out, err, sizeof err);
        ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
        char name[64];
        snprintf(name, sizeof name, "report%d.json", g);
        char *report = tu_read_file(tu_path(path, sizeof path, dir, name), NULL);
        ck_assert_ptr_nonnull(report);
        const char *v = strstr(report, "\n\"validation\": ");
        ck_assert_msg(v != NULL, "no validation report: %.300s", report);
        ck_assert_ptr_nonnull(strstr(v, "\"calibration\":{\"t\":")); /* the trainer says how it fitted */
        const char *a0 = strstr(v, "\"accuracy\":");
        size_t alen = strlen(report);
        ck_assert(a0 && alen > 2 && !strcmp(report + alen - 2, "}\n"));
        size_t an = (size_t)(report + alen - 2 - a0); /* up to the end of the validation object */

        snprintf(cmd, sizeof cmd, "%s/aa-infer -m %s/v.aam --eval %s/v.aam.split.tsv --side val --json --threads 1",
                 tu_build_dir(), dir, dir);
        ck_assert_int_eq(tu_run(cmd, inf, sizeof inf, err, sizeof err), 0);
        const char *b0 = strstr(inf, "\"accuracy\":");
        ck_assert_msg(b0 != NULL, "figures missing: %.300s", inf);
        size_t bn = strlen(b0), at = 0;
        while (at < an && at < bn && a0[at] == b0[at])
            at++;
        size_t from = at > 80 ? at - 80 : 0;
        ck_assert_msg(an == bn && at == an, "%s: the trainer's validation figures and aa-infer --eval --side val "
                      "disagree at byte %zu:\n%.160s\n---\n%.160s", g ? "per-class gates" : "global gate", at,
                      a0 + from, b0 + from);
        /* Both judged every validation recording of the split file, and the gate under test was used. */
        char *split = tu_read_file(tu_path(path, sizeof path, dir, "v.aam.split.tsv"), NULL);
        ck_assert_ptr_nonnull(split);
        size_t n_val = 0;
        for (const char *p = split; (p = strstr(p, "\tval\t")); p++)
            n_val++;
        char want[64];
        snprintf(want, sizeof want, "\"n\":%zu,", n_val);
        ck_assert_uint_gt(n_val, 10);
        ck_assert_msg(strstr(v, want) != NULL, "validation report is not of %zu recordings", n_val);
        ck_assert_ptr_nonnull(strstr(v, g ? "\"min_confidence\":0,\"class_thresholds\":[" : "\"class_thresholds\":null"));
        const char *wh = strstr(a0, "\"withheld\":"); /* the whole split's, first after the accuracy */
        ck_assert_msg(wh && strtol(wh + 11, NULL, 10) > 0, "the gate withheld nothing: %.200s", a0);
        free(split);
        free(report);
    }
    tu_rmtree(dir);
}
END_TEST

static void *read_model(const char *dir, const char *name, size_t *n)
{
    char path[400];
    void *b = tu_read_file(tu_path(path, sizeof path, dir, name), n);
    ck_assert_msg(b != NULL, "%s missing", name);
    return b;
}

/* Same data, seed and options: the same bytes, also with another thread count (every reduction in nn/ and
 * datasets/ is ordered by sample, not by thread). A different seed: different bytes. Then the same with the
 * waveform augmentation on (each item's mixture, room, colour and clipping drawn from its own stream). */
START_TEST(deterministic_model_bytes)
{
    char dir[256], args[2048], out[65536], err[8192];
    tu_mkdtemp(dir, sizeof dir);
#define WAVE " --mix-p 0.5 --colour-p 0.3 --reverb-p 0.3 --clip-p 0.2"
    const char *runs[][2] = {{"a.aam", "-q"}, {"b.aam", "-q -j 1"}, {"c.aam", "-q --seed 2"},
                             {"d.aam", "-q" WAVE}, {"e.aam", "-q -j 1" WAVE}};
    for (int i = 0; i < 5; i++) {
        base_args(args, sizeof args, g_data, dir, runs[i][0], runs[i][1]);
        int rc = run_train(args, out, sizeof out, err, sizeof err);
        ck_assert_msg(rc == 0, "run %d: exit %d: %s", i, rc, err);
        ck_assert_msg(out[0] == 0, "--quiet printed: %s", out);
    }
    size_t na, nb, nc;
    void *a = read_model(dir, "a.aam", &na), *b = read_model(dir, "b.aam", &nb), *c = read_model(dir, "c.aam", &nc);
    ck_assert_msg(na == nb && memcmp(a, b, na) == 0, "two runs gave different model files");
    ck_assert(na != nc || memcmp(a, c, na) != 0);
    size_t nd, ne;
    void *d = read_model(dir, "d.aam", &nd), *e = read_model(dir, "e.aam", &ne);
    ck_assert_msg(nd == ne && memcmp(d, e, nd) == 0, "with waveform augmentation, 2 and 1 threads differ");
    ck_assert(na != nd || memcmp(a, d, na) != 0);
    free(a), free(b), free(c), free(d), free(e);
    tu_rmtree(dir);
#undef WAVE
}
END_TEST

/* A run stopped after epoch 2 and resumed from its checkpoint writes the model file an uninterrupted run
 * writes, bit for bit. */
START_TEST(resume_equals_uninterrupted)
{
    char dir[256], args[2048], more[1024], out[65536], err[8192];
    tu_mkdtemp(dir, sizeof dir);
    /* No early stopping, so the resumed half has epochs to run. */
    base_args(args, sizeof args, g_data, dir, "full.aam", "-q --patience 0");
    ck_assert_msg(run_train(args, out, sizeof out, err, sizeof err) == 0, "%s", err);

    snprintf(more, sizeof more, "--patience 0 --checkpoint %s/run.ckpt --stop-after 2", dir);
    base_args(args, sizeof args, g_data, dir, "half.aam", more);
    ck_assert_msg(run_train(args, out, sizeof out, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(strstr(out, "Stopped after epoch 2") != NULL, "%s", out);
    char path[400];
    ck_assert(!tu_exists(tu_path(path, sizeof path, dir, "half.aam")));
    ck_assert(tu_exists(tu_path(path, sizeof path, dir, "run.ckpt")));

    /* The resumed half may use another thread count; it may not change a training option. */
    snprintf(more, sizeof more, "-q --patience 0 --resume %s/run.ckpt -j 1 --lr 0.004", dir);
    base_args(args, sizeof args, g_data, dir, "half.aam", more);
    ck_assert_int_eq(run_train(args, out, sizeof out, err, sizeof err), 1);
    ck_assert_msg(strstr(err, "run.ckpt: made with other training options (lr=0.0030000000000000001 in the "
                              "checkpoint, lr=0.0040000000000000001 now)") != NULL, "%s", err);
    ck_assert_int_eq(tu_count_lines(err), 1);

    snprintf(more, sizeof more, "-q --patience 0 --resume %s/run.ckpt -j 1", dir);
    base_args(args, sizeof args, g_data, dir, "half.aam", more);
    ck_assert_msg(run_train(args, out, sizeof out, err, sizeof err) == 0, "%s", err);
    size_t na, nb;
    void *a = read_model(dir, "full.aam", &na), *b = read_model(dir, "half.aam", &nb);
    ck_assert_msg(na == nb && memcmp(a, b, na) == 0, "resumed run differs from the uninterrupted one");
    free(a), free(b);
    tu_rmtree(dir);
}
END_TEST

/* ---- bad input: refused before training ------------------------------------------------------------------- */

/* Copies class folders of the shared corpus (all, or those named) into dir/data by symlinks, so that each
 * case can break its own copy. */
static void link_classes(const char *dir, const char *const *classes, int n)
{
    char path[600], target[600];
    snprintf(path, sizeof path, "%s/data", dir);
    ck_assert_int_eq(mkdir(path, 0777), 0);
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/data/%s", dir, classes[i]);
        snprintf(target, sizeof target, "%s/%s", g_data, classes[i]);
        ck_assert_int_eq(symlink(target, path), 0);
    }
}

static const char *ALL[4] = {"background_noise", "cough", "heavy_breathing", "normal_breathing"};

static void expect_refused(const char *dir, const char *extra, const char *says)
{
    char data[400], args[2048], out[65536], err[8192];
    snprintf(data, sizeof data, "%s/data", dir);
    base_args(args, sizeof args, data, dir, "m.aam", extra);
    int rc = run_train(args, out, sizeof out, err, sizeof err);
    ck_assert_msg(rc == 1, "exit %d (want 1) for '%s': %s", rc, says, err);
    ck_assert_msg(strstr(err, says) != NULL, "error does not say '%s': %s", says, err);
    ck_assert_msg(strstr(out, "epoch ") == NULL, "training started: %s", out);
    char path[400];
    ck_assert(!tu_exists(tu_path(path, sizeof path, dir, "m.aam")));
}

START_TEST(refuses_missing_folder_and_single_class)
{
    char dir[256], args[2048], out[4096], err[4096];
    tu_mkdtemp(dir, sizeof dir);
    snprintf(args, sizeof args, "%s/nowhere -o %s/m.aam", dir, dir);
    ck_assert_int_eq(run_train(args, out, sizeof out, err, sizeof err), 1);
    ck_assert_msg(strstr(err, "nowhere") != NULL && tu_count_lines(err) == 1, "%s", err);

    /* An output that cannot be written is found before the data is even read. */
    snprintf(args, sizeof args, "%s -o %s/no/such/dir/m.aam", g_data, dir);
    ck_assert_int_eq(run_train(args, out, sizeof out, err, sizeof err), 1);
    ck_assert_msg(strstr(err, "no/such/dir/m.aam") != NULL && tu_count_lines(err) == 1, "%s", err);
    ck_assert_msg(strstr(out, "Features") == NULL, "%s", out);

    link_classes(dir, ALL + 1, 1);
    expect_refused(dir, "", "class");
    tu_rmtree(dir);
}
END_TEST

START_TEST(refuses_empty_class_folder)
{
    char dir[256], path[400];
    tu_mkdtemp(dir, sizeof dir);
    link_classes(dir, ALL, 3);
    snprintf(path, sizeof path, "%s/data/normal_breathing", dir);
    ck_assert_int_eq(mkdir(path, 0777), 0);
    expect_refused(dir, "", "normal_breathing");
    tu_rmtree(dir);
}
END_TEST

/* A class whose recordings all come from one person cannot be on three sides of a grouped split. */
START_TEST(refuses_class_absent_from_a_split)
{
    char dir[256], path[600], target[600];
    tu_mkdtemp(dir, sizeof dir);
    link_classes(dir, ALL, 3);
    snprintf(path, sizeof path, "%s/data/normal_breathing", dir);
    ck_assert_int_eq(mkdir(path, 0777), 0);
    for (int i = 0; i < 2; i++) { /* clips 0 and 1: person_000 */
        snprintf(path, sizeof path, "%s/data/normal_breathing/%04d.wav", dir, i);
        snprintf(target, sizeof target, "%s/normal_breathing/%04d.wav", g_data, i);
        ck_assert_int_eq(symlink(target, path), 0);
    }
    snprintf(path, sizeof path, "%s/data/manifest.tsv", dir);
    snprintf(target, sizeof target, "%s/manifest.tsv", g_data);
    ck_assert_int_eq(symlink(target, path), 0);
    expect_refused(dir, "", "normal_breathing");
    tu_rmtree(dir);
}
END_TEST

/* Files that cannot be decoded are skipped, each named, and counted; training goes on. */
START_TEST(skips_and_counts_corrupt_files)
{
    char dir[256], path[600], args[2048], out[65536], err[8192];
    tu_mkdtemp(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/data", dir);
    ck_assert_int_eq(mkdir(path, 0777), 0);
    for (int c = 0; c < 4; c++) {
        snprintf(path, sizeof path, "%s/data/%s", dir, ALL[c]);
        ck_assert_int_eq(mkdir(path, 0777), 0);
        for (int i = 0; i < per_class(); i++) {
            char target[600];
            snprintf(path, sizeof path, "%s/data/%s/%04d.wav", dir, ALL[c], i);
            snprintf(target, sizeof target, "%s/%s/%04d.wav", g_data, ALL[c], i);
            ck_assert_int_eq(symlink(target, path), 0);
        }
    }
    snprintf(path, sizeof path, "%s/data/cough/broken.wav", dir);
    tu_write_file(path, "RIFF\x10\0\0\0WAVEjunkjunk", 20);
    snprintf(path, sizeof path, "%s/data/heavy_breathing/noise.flac", dir);
    tu_write_file(path, "not audio at all", 16);
    char data[400];
    snprintf(data, sizeof data, "%s/data", dir);
    base_args(args, sizeof args, data, dir, "m.aam", "--epochs 2 --no-manifest");
    int rc = run_train(args, out, sizeof out, err, sizeof err);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    ck_assert_msg(strstr(err, "broken.wav") && strstr(err, "noise.flac"), "%s", err);
    ck_assert_msg(strstr(out, "Skipped: 2 recordings") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "2 recordings skipped") != NULL, "%s", out);
    /* Skipped files are not in the split file: it lists what was trained and judged on. */
    char *split = tu_read_file(tu_path(path, sizeof path, dir, "m.aam.split.tsv"), NULL);
    ck_assert_ptr_nonnull(split);
    ck_assert_ptr_null(strstr(split, "broken.wav"));
    ck_assert_int_eq(tu_count_lines(split), 4 * per_class() + 1);
    free(split);
    tu_rmtree(dir);
}
END_TEST

START_TEST(usage_errors_exit_2)
{
    char out[4096], err[4096], args[600];
    const char *bad[] = {"", "--epochs 0 x -o m", "x -o m --lr abc", "x -o m --bogus", "x", "x -o m --hop 0",
                         "x -o m --optimizer sgd", "x -o m --val-frac 0.6 --test-frac 0.4"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(args, sizeof args, "%s", bad[i]);
        ck_assert_msg(run_train(args, out, sizeof out, err, sizeof err) == 2, "'%s' not a usage error", bad[i]);
        ck_assert_msg(tu_count_lines(err) == 1 && strstr(err, "aa-train: ") == err, "'%s': %s", bad[i], err);
    }
    static char help[65536];
    ck_assert_int_eq(run_train("--help", help, sizeof help, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(help, "--gate-target ACC"));
}
END_TEST

Suite *train_suite(void)
{
    Suite *s = suite_create("train");
    TCase *tc = tcase_create("train");
    tcase_add_unchecked_fixture(tc, corpus_setup, corpus_teardown);
    /* Seconds each on an idle machine; the timeout leaves room for a loaded one (x8 under make asan). */
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, learns_the_demo_corpus);
    tcase_add_test(tc, validation_report_equals_infer_eval);
    tcase_add_test(tc, deterministic_model_bytes);
    tcase_add_test(tc, resume_equals_uninterrupted);
    tcase_add_test(tc, refuses_missing_folder_and_single_class);
    tcase_add_test(tc, refuses_empty_class_folder);
    tcase_add_test(tc, refuses_class_absent_from_a_split);
    tcase_add_test(tc, skips_and_counts_corrupt_files);
    tcase_add_test(tc, usage_errors_exit_2);
    suite_add_tcase(s, tc);
    return s;
}
