/* aa-train on data that trains badly: silent recordings (named; a class of nothing but silence refused), a
 * gate that could not be fitted (said at the end and recorded in the model), and --resume with a checkpoint
 * made on other data or options (refused, naming what differs). */
#include <math.h>
#include <check.h>
#include <sndfile.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "demo/demo.h"
#include "model/model.h"
#include "tests/util/testutil.h"

#define OUT_CAP (1 << 17)
#define ARGS "--no-cache --arch \"p2 p2 c4 relu gap fc\" --epochs 2 -j 1 --seed 5"

static char g_out[OUT_CAP], g_err[OUT_CAP];

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    ck_assert(n > 0 && (size_t)n < sizeof cmd);
    return tu_run(cmd, g_out, sizeof g_out, g_err, sizeof g_err);
}

static void make_corpus(const char *data, uint64_t seed)
{
    demo_corpus_opts o;
    demo_corpus_opts_default(&o);
    o.per_class = 8;
    o.seed = seed;
    aa_error err;
    ck_assert_msg(demo_corpus_write(data, &o, &err) == 0, "%s", err.msg);
}

/* n 2-second recordings of digital silence in dir/name%02d.wav */
static void silent_files(const char *dir, const char *name, int n)
{
    static float zeros[32000];
    mkdir(dir, 0755);
    for (int i = 0; i < n; i++) {
        char p[600];
        snprintf(p, sizeof p, "%s/%s%02d.wav", dir, name, i);
        tu_write_wav(p, zeros, 32000, 1, 16000, SF_FORMAT_PCM_16);
    }
}

START_TEST(silent_recordings)
{
    char dir[256], data[320], cls[400];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(data, sizeof data, dir, "data");
    make_corpus(data, 3);
    const char *bin = tu_build_dir();
    /* three silent recordings among the coughs: each named, counted, trained on */
    tu_path(cls, sizeof cls, data, "cough");
    silent_files(cls, "quiet", 3);
    int rc = sh("%s/aa-train '%s' -o '%s/m.aam' " ARGS, bin, data, dir);
    ck_assert_msg(rc == 0, "%s", g_err);
    for (int i = 0; i < 3; i++) {
        char want[128];
        snprintf(want, sizeof want, "cough/quiet%02d.wav is nearly silent (RMS below -60 dBFS)", i);
        ck_assert_msg(strstr(g_err, want), "no '%s' in %s", want, g_err);
    }
    ck_assert_msg(strstr(g_out, "Nearly silent: 3 recordings, trained on"), "%s", g_out);
    /* a silent negative is named under its own folder, not under DATA */
    char neg[320], hum[400];
    tu_path(neg, sizeof neg, dir, "neg");
    mkdir(neg, 0755);
    tu_path(hum, sizeof hum, neg, "hum");
    silent_files(hum, "n", 2);
    static float tone[32000];
    for (int i = 0; i < 32000; i++)
        tone[i] = 0.3f * sinf(6.2831853f * 120.0f * (float)i / 16000.0f);
    for (int i = 0; i < 4; i++) {
        char p[600];
        snprintf(p, sizeof p, "%s/tone%02d.wav", hum, i);
        tu_write_wav(p, tone, 32000, 1, 16000, SF_FORMAT_PCM_16);
    }
    rc = sh("%s/aa-train '%s' -o '%s/m1.aam' --negatives '%s' " ARGS, bin, data, dir, neg);
    ck_assert_msg(rc == 0, "%s", g_err);
    char want[600];
    snprintf(want, sizeof want, "warning: %s/hum/n00.wav is nearly silent", neg);
    ck_assert_msg(strstr(g_err, want), "no '%s' in %s", want, g_err);
    /* a class of nothing but silence: refused before training, one line */
    tu_path(cls, sizeof cls, data, "wheeze");
    silent_files(cls, "s", 8);
    rc = sh("%s/aa-train '%s' -o '%s/m2.aam' --no-manifest " ARGS, bin, data, dir);
    ck_assert_int_eq(rc, 1);
    ck_assert_msg(tu_count_lines(g_err) == 1 &&
                      strstr(g_err, "class wheeze: all 8 recordings are nearly silent (RMS below -60 dBFS), nothing "
                                    "to learn the class from"),
                  "%s", g_err);
    ck_assert_msg(!strstr(g_out, "epoch"), "training began: %s", g_out);
    ck_assert(!tu_exists(tu_path(cls, sizeof cls, dir, "m2.aam")));
    tu_rmtree(dir);
}
END_TEST

/* Too few validation recordings for the gate: said last on stderr, and recorded in the model's summary. */
START_TEST(gate_not_fitted_is_said_and_recorded)
{
    char dir[256], data[320], model[400];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(data, sizeof data, dir, "data");
    make_corpus(data, 3);
    const char *bin = tu_build_dir();
    tu_path(model, sizeof model, dir, "m.aam");
    int rc = sh("%s/aa-train '%s' -o '%s' " ARGS " -q", bin, data, model);
    ck_assert_msg(rc == 0, "%s", g_err);
    const char *last = strrchr(g_err, '\n');
    ck_assert(last);
    while (last > g_err && last[-1] != '\n')
        last--;
    ck_assert_msg(strncmp(last, "aa-train: warning: the gate could not be fitted: ", 49) == 0, "%s", g_err);
    aa_error err;
    am_model *m = am_load(model, 1, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    const char *tj = am_train_json(m);
    ck_assert_msg(tj && strstr(tj, "\"gate_status\": \"too-few\", \"gate_fitted\": false, \"gate_note\": \"the gate "
                                   "could not be fitted: "),
                  "%s", tj ? tj : "(no summary)");
    am_free(m);
    /* a gate that can be fitted: nothing said, recorded as fitted */
    rc = sh("%s/aa-train '%s' -o '%s' " ARGS " -q --gate-min-covered 1 --gate-target 0.01", bin, data, model);
    ck_assert_msg(rc == 0 && !strstr(g_err, "gate"), "%s", g_err);
    m = am_load(model, 1, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    tj = am_train_json(m);
    ck_assert_msg(tj && strstr(tj, "\"gate_fitted\": true, \"gate_note\": null"), "%s", tj ? tj : "(no summary)");
    am_free(m);
    tu_rmtree(dir);
}
END_TEST

/* A checkpoint records what it was trained on; a resume on other data is refused, naming what differs;
 * the same data copied elsewhere (new modification times) resumes. */
START_TEST(resume_refuses_other_data)
{
    char dir[256], data[320], other[320], copy[320], ck[400], p[600];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(data, sizeof data, dir, "data");
    tu_path(other, sizeof other, dir, "other");
    tu_path(copy, sizeof copy, dir, "copy");
    make_corpus(data, 3);
    make_corpus(other, 4);
    const char *bin = tu_build_dir();
    tu_path(ck, sizeof ck, dir, "run.ckpt");
    const char *a = "--no-cache --arch \"p2 p2 c4 relu gap fc\" --epochs 3 -j 1 --seed 5 -q";
    int rc = sh("%s/aa-train '%s' -o '%s/m.aam' %s --checkpoint '%s' --stop-after 1", bin, data, dir, a, ck);
    ck_assert_msg(rc == 0, "%s", g_err);
    /* other recordings under the same names */
    rc = sh("%s/aa-train '%s' -o '%s/m.aam' %s --resume '%s'", bin, other, dir, a, ck);
    ck_assert_int_eq(rc, 1);
    ck_assert_msg(tu_count_lines(g_err) == 1 && strstr(g_err, "run.ckpt: made on other data (data_files=32 "
                                                                "recordings, hash "),
                  "%s", g_err);
    /* one recording fewer */
    ck_assert_int_eq(sh("cp -r '%s' '%s'", data, copy), 0);
    snprintf(p, sizeof p, "%s/cough/0003.wav", copy);
    ck_assert_int_eq(unlink(p), 0);
    rc = sh("%s/aa-train '%s' -o '%s/m.aam' %s --resume '%s'", bin, copy, dir, a, ck);
    ck_assert_int_eq(rc, 1);
    ck_assert_msg(strstr(g_err, "made on other data (data_files=32 recordings") && strstr(g_err, "data_files=31 "),
                  "%s", g_err);
    /* an option of the listing: named as an option */
    rc = sh("%s/aa-train '%s' -o '%s/m.aam' %s --resume '%s' --no-manifest", bin, data, dir, a, ck);
    ck_assert_msg(rc == 1 && strstr(g_err, "other training options (manifest="), "%s", g_err);
    /* the same data, copied (cp without -p: new modification times): resumes */
    tu_rmtree(copy);
    ck_assert_int_eq(sh("sleep 0.01; cp -r '%s' '%s'", data, copy), 0);
    rc = sh("%s/aa-train '%s' -o '%s/m.aam' %s --resume '%s'", bin, copy, dir, a, ck);
    ck_assert_msg(rc == 0, "%s", g_err);
    tu_rmtree(dir);
}
END_TEST

Suite *data_bins_suite(void)
{
    Suite *s = suite_create("data_bins");
    TCase *tc = tcase_create("data_bins");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, silent_recordings);
    tcase_add_test(tc, gate_not_fitted_is_said_and_recorded);
    tcase_add_test(tc, resume_refuses_other_data);
    suite_add_tcase(s, tc);
    return s;
}
