/* aa-train's timeline tuning end to end: a tiny training run on generated audio stores a tuned event rule
 * (and says so in one line), --no-timeline-tune stores none, a respiratory model without a cough class
 * says why it is not tuned, and a general model is tuned on every class's events. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo/demo.h"
#include "model/model.h"
#include "tests/util/testutil.h"

static char g_dir[256], g_data[320];

static void corpus_setup(void)
{
    tu_mkdtemp(g_dir, sizeof g_dir);
    snprintf(g_data, sizeof g_data, "%s/demo", g_dir);
    demo_corpus_opts o;
    demo_corpus_opts_default(&o);
    o.per_class = 24; /* 12 people; with --val-frac 0.3, several coughs on the validation side */
    o.seed = 5;
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

/* Trains into g_dir/name with `more` options; returns the model's stored rule. */
static am_timeline train(const char *name, const char *more, char *out, size_t on)
{
    char cmd[2048], err[8192], model[512];
    tu_path(model, sizeof model, g_dir, name);
    snprintf(cmd, sizeof cmd,
             "%s/aa-train %s -o %s --cache %s/cache.aacache --arch \"p2 c8 bn relu p2 c16 bn relu gap fc\" "
             "--epochs 2 --batch 16 --val-frac 0.3 --test-frac 0 -j 2 %s",
             tu_build_dir(), g_data, model, g_dir, more);
    int rc = tu_run(cmd, out, on, err, sizeof err);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    aa_error e;
    am_model *m = am_load(model, 1, &e);
    ck_assert_msg(m != NULL, "%s", e.msg);
    am_timeline t = am_get_timeline(m);
    am_free(m);
    return t;
}

START_TEST(training_stores_a_tuned_rule)
{
    static char out[1 << 16];
    am_timeline t = train("m.aam", "", out, sizeof out);
    const char *line = strstr(out, "Timeline tuned on 30 validation mixtures (120 Cough events, 30 min;");
    ck_assert_msg(line != NULL, "%s", out);
    ck_assert_int_eq(t.tuned, 1);
    ck_assert(t.smooth == 1 || t.smooth == 3 || t.smooth == 5 || t.smooth == 7);
    ck_assert(t.min_duration_s == 0 || t.min_duration_s == 1 || t.min_duration_s == 1.5 || t.min_duration_s == 2);
    ck_assert(t.threshold == -1 || (t.threshold >= 0.01 && t.threshold <= 0.95));
    /* the line states the rule the file stores */
    char want[64];
    if (t.threshold < 0)
        snprintf(want, sizeof want, "the gate's rule, smooth %d, min duration %g s", t.smooth, t.min_duration_s);
    else
        snprintf(want, sizeof want, "threshold %.2f, smooth %d, min duration %g s", t.threshold, t.smooth,
                 t.min_duration_s);
    ck_assert_msg(strstr(line, want) != NULL, "'%s' not in %s", want, line);
    ck_assert_ptr_nonnull(strstr(line, "false alarms per 10 min (budget 1"));

    /* the same run again: the same rule (the mixtures and the sweep are seeded like the training) */
    static char out2[1 << 16];
    am_timeline t2 = train("m2.aam", "", out2, sizeof out2);
    ck_assert(t2.threshold == t.threshold && t2.smooth == t.smooth && t2.min_duration_s == t.min_duration_s);
}
END_TEST

START_TEST(turned_off_or_without_a_cough_class)
{
    static char out[1 << 16];
    am_timeline t = train("off.aam", "--no-timeline-tune", out, sizeof out);
    ck_assert_ptr_null(strstr(out, "Timeline"));
    ck_assert_int_eq(t.tuned, 0);
    ck_assert(t.threshold == -1 && t.smooth == 3 && t.min_duration_s == 0);

    t = train("nocough.aam", "--classes heavy_breathing,normal_breathing,background_noise", out, sizeof out);
    ck_assert_msg(strstr(out, "Timeline not tuned: the model has no cough class") != NULL, "%s", out);
    ck_assert_int_eq(t.tuned, 0);

    /* a general model: every class but the background; the budget as asked */
    t = train("general.aam", "--classes heavy_breathing,normal_breathing,background_noise --task general "
              "--timeline-fa-budget 0.5", out, sizeof out);
    ck_assert_msg(strstr(out, "Timeline tuned on 30 validation mixtures (120 event events") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "(budget 0.5") != NULL, "%s", out);
    ck_assert_int_eq(t.tuned, 1);
}
END_TEST

Suite *train_tune_suite(void)
{
    Suite *s = suite_create("train_tune");
    TCase *tc = tcase_create("runs");
    tcase_add_unchecked_fixture(tc, corpus_setup, corpus_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, training_stores_a_tuned_rule);
    tcase_add_test(tc, turned_off_or_without_a_cough_class);
    suite_add_tcase(s, tc);
    return s;
}
