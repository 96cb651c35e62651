/* aa-train --cv and --cv-ensemble on the demo synthesiser's corpus: K folds whose pooled confusion matrix
 * counts every recording once, the manifest's fold column honoured, and the ensemble file judged by aa-infer
 * as the mean of its fold networks' logits computed here network by network. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"
#include "tests/util/jsonparse.h"
#include "tests/util/testutil.h"

static char out[1 << 20], errs[1 << 16];

static void make_demo(const char *dir, int per_class)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s/aa-train --make-demo %s/data --per-class %d --seed 4", tu_build_dir(), dir, per_class);
    ck_assert_msg(tu_run(cmd, out, sizeof out, errs, sizeof errs) == 0, "%s", errs);
}

static jv run_cv(const char *dir, const char *more)
{
    char cmd[2048], path[512];
    snprintf(cmd, sizeof cmd, "%s/aa-train %s/data --cv --epochs 2 --batch 16 --no-cache -j 2 --arch 'c4 bn relu p2 gap fc' "
             "--report-json %s/cv.json %s", tu_build_dir(), dir, dir, more);
    ck_assert_msg(tu_run(cmd, out, sizeof out, errs, sizeof errs) == 0, "%s\n%s", cmd, errs);
    char *text = tu_read_file(tu_path(path, sizeof path, dir, "cv.json"), NULL);
    ck_assert_ptr_nonnull(text);
    jv v = j_parse(text);
    free(text);
    return v;
}

static size_t confusion_total(const jv *report)
{
    const jv *counts = j_get(j_get(j_get(report, "out_of_fold"), "confusion"), "counts");
    size_t total = 0;
    for (size_t r = 0; r < counts->n; r++)
        for (size_t c = 0; c < counts->kids[r].n; c++)
            total += (size_t)counts->kids[r].kids[c].num;
    return total;
}

START_TEST(cv_folds_count_every_recording_once_and_ensemble_averages)
{
    char d[256], path[512];
    tu_mkdtemp(d, sizeof d);
    make_demo(d, 12); /* 48 recordings */
    char more[512];
    snprintf(more, sizeof more, "--folds 3 --cv-ensemble -o %s/ens.aam", d);
    jv v = run_cv(d, more);
    ck_assert_str_eq(j_get(&v, "folds_from")->str, "made");
    const jv *folds = j_get(&v, "folds");
    ck_assert_uint_eq(folds->n, 3);
    size_t tested = 0;
    for (size_t j = 0; j < folds->n; j++) {
        tested += (size_t)j_num(&folds->kids[j], "test_recordings");
        /* a few validation recordings: too few for a gate of its own, the pooled one is used and said */
        ck_assert_str_eq(j_get(&folds->kids[j], "gate")->str, "pooled");
        double acc = j_num(&folds->kids[j], "accuracy");
        ck_assert(acc >= 0 && acc <= 1);
    }
    ck_assert_uint_eq(tested, 48);
    ck_assert_uint_eq(confusion_total(&v), 48);
    ck_assert_int_eq((int)j_num(j_get(&v, "out_of_fold"), "n"), 48);
    ck_assert(j_num(j_get(&v, "sd"), "accuracy") >= 0);
    ck_assert_msg(strstr(out, "mean ± sd over folds") && strstr(out, "fewer than 100 validation recordings"), "%s", out);
    j_free(&v);

    /* The ensemble: aa-infer loads it; its probabilities are the softmax, at the file's temperature, of the
     * mean of the fold networks' logits, each network judged alone here. A clip shorter than one window is
     * one window, so the mean is taken where the file takes it. */
    char model[512];
    tu_path(model, sizeof model, d, "ens.aam");
    aa_error err;
    am_model *m = am_load(model, 1, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    ck_assert_int_eq(am_n_networks(m), 3);
    const char *clip = NULL;
    char clip_path[512];
    dsp_audio a;
    for (int i = 0; i < 12 && !clip; i++) {
        snprintf(clip_path, sizeof clip_path, "%s/data/cough/%04d.wav", d, i);
        ck_assert_int_eq(dsp_load(clip_path, am_dsp(m), 0, &a, &err), 0);
        if (a.n <= dsp_clip_samples(am_dsp(m)))
            clip = clip_path;
        else
            dsp_audio_free(&a);
    }
    ck_assert_msg(clip != NULL, "no demo cough shorter than a clip");
    am_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.dsp = m->dsp;
    sp.n_classes = m->n_outputs;
    for (int c = 0; c < m->n_outputs; c++)
        sp.classes[c] = m->outputs[c];
    sp.norm_mean = m->norm_mean;
    sp.norm_std = m->norm_std;
    sp.temperature = 1;
    sp.aggregate = m->aggregate;
    double z[AM_MAX_CLASSES] = {0};
    int K = m->n_outputs;
    for (int e = 0; e < 3; e++) {
        am_model *one = am_borrow(m->slots[0].nets[e], &sp, &err);
        ck_assert_ptr_nonnull(one);
        float s[AM_MAX_CLASSES];
        size_t w = 0, off = 0;
        ck_assert_int_eq(am_recording_scores(one, 0, a.samples, a.n, s, &w, &off, NULL, &err), 0);
        for (int c = 0; c < K; c++)
            z[c] += s[c] / 3.0;
        am_free(one);
    }
    dsp_audio_free(&a);
    double mx = z[0], sum = 0, p[AM_MAX_CLASSES];
    for (int c = 1; c < K; c++)
        mx = z[c] > mx ? z[c] : mx;
    for (int c = 0; c < K; c++)
        sum += (p[c] = exp((z[c] - mx) / am_temperature(m)));
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s/aa-infer -m %s %s --json", tu_build_dir(), model, clip);
    ck_assert_msg(tu_run(cmd, out, sizeof out, errs, sizeof errs) == 0, "%s", errs);
    jv r = j_parse(out);
    const jv *probs = j_get(&r, "probabilities");
    ck_assert_uint_eq(probs->n, (size_t)K);
    for (int c = 0; c < K; c++) {
        /* aa-infer prints 6 significant digits; the file's float mean against this double one: 1e-5 */
        double got = j_num(probs, am_class_label(m, c));
        ck_assert_msg(fabs(got - p[c] / sum) < 1e-5, "%s: aa-infer %g, by hand %g", am_class_label(m, c), got,
                      p[c] / sum);
    }
    j_free(&r);
    am_free(m);
    tu_rmtree(d);
    (void)path;
}
END_TEST

START_TEST(cv_honours_the_manifest_fold_column)
{
    char d[256], path[512];
    tu_mkdtemp(d, sizeof d);
    make_demo(d, 8);
    /* the demo's manifest with a fold column: folds 10 and 20 by group, so groups stay whole */
    char *text = tu_read_file(tu_path(path, sizeof path, d, "data/manifest.tsv"), NULL);
    ck_assert_ptr_nonnull(text);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    size_t in_fold[2] = {0};
    int line = 0;
    for (char *save = NULL, *row = strtok_r(text, "\n", &save); row; row = strtok_r(NULL, "\n", &save), line++) {
        if (!line) {
            fprintf(f, "%s\tfold\n", row);
            continue;
        }
        const char *group = strchr(strchr(row, '\t') + 1, '\t') + 1;
        unsigned h = 0;
        for (const char *q = group; *q && *q != '\t'; q++)
            h = h * 31 + (unsigned char)*q;
        in_fold[h % 2]++;
        fprintf(f, "%s\t%d\n", row, h % 2 ? 20 : 10);
    }
    ck_assert_int_eq(fclose(f), 0);
    free(text);
    ck_assert(in_fold[0] > 0 && in_fold[1] > 0);
    jv v = run_cv(d, "");
    ck_assert_str_eq(j_get(&v, "folds_from")->str, "manifest");
    const jv *folds = j_get(&v, "folds");
    ck_assert_uint_eq(folds->n, 2);
    ck_assert_int_eq((int)j_num(&folds->kids[0], "fold"), 10);
    ck_assert_int_eq((int)j_num(&folds->kids[1], "fold"), 20);
    ck_assert_uint_eq((size_t)j_num(&folds->kids[0], "test_recordings"), in_fold[0]);
    ck_assert_uint_eq((size_t)j_num(&folds->kids[1], "test_recordings"), in_fold[1]);
    ck_assert_uint_eq(confusion_total(&v), in_fold[0] + in_fold[1]);
    ck_assert_uint_eq((size_t)j_num(&v, "groups_crossing"), 0);
    j_free(&v);
    tu_rmtree(d);
}
END_TEST

Suite *cv_suite(void)
{
    Suite *s = suite_create("cv");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, cv_folds_count_every_recording_once_and_ensemble_averages);
    tcase_add_test(tc, cv_honours_the_manifest_fold_column);
    suite_add_tcase(s, tc);
    return s;
}
