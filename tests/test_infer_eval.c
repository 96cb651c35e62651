/* aa-infer --eval: the report equals eval/'s on the same files classified in-process (the trainer's path),
 * labelled folders and split TSVs, --side, unknown classes, bad files, SVG plots. */
#include <check.h>
#include <math.h>
#include <sndfile.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "eval/eval.h"
#include "infer/infer.h"
#include "model/model.h"
#include "tests/util/demomodel.h"
#include "tests/util/jsonscan.h"
#include "tests/util/testutil.h"

#define OUT_CAP (1 << 18)
#define RATE 16000

static char g_out[OUT_CAP], g_err[OUT_CAP];

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = tu_vrun_bin("aa-infer", g_out, sizeof g_out, g_err, sizeof g_err, fmt, ap);
    va_end(ap);
    return rc;
}

/* A clip for the tone model: class cls's tone at `level` (1 = TU_TONE_AMP) filling `fill` of 4 s, so weak
 * or partial tones give unsure answers and some clips land in the wrong class. */
static void write_clip(const char *path, int cls, double fill, uint64_t seed)
{
    size_t n = 4 * RATE;
    tu_tone_event ev = {0.2, cls == 0 ? TU_TONE_BURST_S * fill : 4.0 * fill, cls};
    float *x = tu_tone_recording(n, &ev, cls < 3 ? 1 : 0, seed);
    tu_write_wav(path, x, n, 1, RATE, SF_FORMAT_PCM_16);
    free(x);
}

static const char *CLASSES[4] = {"cough", "heavy_breathing", "normal_breathing", "background_noise"};

/* DATA/<class>/NN.wav: per class, clips of the class with fills from full to well below its threshold
 * (those become background or unsure), and one clip of the next class (a labelling mistake). */
static void make_data(const char *root, const char *side)
{
    char p[600];
    mkdir(root, 0755);
    char base[400];
    if (side) {
        snprintf(base, sizeof base, "%s/%s", root, side);
        mkdir(base, 0755);
    } else {
        snprintf(base, sizeof base, "%s", root);
    }
    static const double fills[] = {1.0, 0.9, 0.8, 0.6, 0.5, 0.3};
    for (int c = 0; c < 4; c++) {
        snprintf(p, sizeof p, "%s/%s", base, CLASSES[c]);
        mkdir(p, 0755);
        for (int i = 0; i < 6; i++) {
            snprintf(p, sizeof p, "%s/%s/%02d.wav", base, CLASSES[c], i);
            write_clip(p, c, fills[i], (uint64_t)(c * 10 + i));
        }
        snprintf(p, sizeof p, "%s/%s/zz_other.wav", base, CLASSES[c]);
        write_clip(p, (c + 1) % 4, 1.0, (uint64_t)(c + 100));
    }
}

/* What the trainer's test report does: am_classify_file on each listed file, ev_evaluate with the model's
 * gate, ev_report_json. */
static char *library_report(const char *model, const char *data, const char *side, size_t *n_items)
{
    aa_error err;
    am_model *m = am_load(model, 1, &err);
    ck_assert_ptr_nonnull(m);
    inf_labelled *it = NULL;
    size_t n = 0;
    ck_assert_msg(inf_eval_items(data, side, m, &it, &n, NULL, &err) == 0, "%s", err.msg);
    int *labels = malloc(n * sizeof *labels);
    float *probs = malloc(n * 4 * sizeof *probs);
    for (size_t i = 0; i < n; i++) {
        am_file_result r;
        ck_assert_msg(am_classify_file(m, 0, it[i].path, 0, &r, NULL, &err) == 0, "%s", err.msg);
        memcpy(probs + 4 * i, r.result.probs, 4 * sizeof *probs);
        labels[i] = it[i].cls;
    }
    double th[4];
    int per_class = 0;
    for (int c = 0; c < 4; c++)
        per_class |= (th[c] = am_class_threshold(m, c)) > 0;
    ev_gate gate = {am_min_confidence(m), per_class ? th : NULL, am_has_unclear(m)};
    ev_eval *ev = ev_evaluate(n, 4, labels, probs, &gate, &err);
    ck_assert_ptr_nonnull(ev);
    const char *names[4];
    for (int c = 0; c < 4; c++)
        names[c] = am_class_label(m, c);
    char title[1024];
    snprintf(title, sizeof title, "%s on %s%s%s", model, data, side ? ", side " : "", side ? side : "");
    ev_report_info info = {.title = title, .class_names = names, .unit = "recordings",
                           .temperature = am_temperature(m)};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_int_eq(ev_report_json(f, ev, &info, &err), 0);
    fclose(f);
    ev_eval_free(ev);
    free(labels);
    free(probs);
    inf_eval_items_free(it, n);
    am_free(m);
    *n_items = n;
    return buf;
}

/* aa-infer --eval's report without the members that follow the trainer's (the table per source and the
 * negatives, which the library path above does not compute): the two must then be equal byte for byte. */
static char *without_breakdown(const char *report)
{
    const char *at = strstr(report, ",\n\"sources\":");
    ck_assert_msg(at != NULL && strstr(at, "\"negatives\":"), "no sources and negatives in %.200s", report);
    size_t n = (size_t)(at - report);
    char *s = malloc(n + 3);
    ck_assert_ptr_nonnull(s);
    memcpy(s, report, n);
    memcpy(s + n, "}\n", 3);
    return s;
}

START_TEST(report_equals_the_library_path)
{
    char dir[256], model[320], data[320], msg[512];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(model, sizeof model, dir, "tone.aam");
    ck_assert_msg(tu_make_tone_model(model, msg, sizeof msg) == 0, "%s", msg);
    tu_path(data, sizeof data, dir, "data");
    make_data(data, NULL);

    size_t n = 0;
    char *want = library_report(model, data, NULL, &n);
    ck_assert_uint_eq(n, 28);
    ck_assert_msg(run("-m '%s' --eval '%s' --json --threads 2", model, data) == 0, "%s", g_err);
    /* byte for byte: the same probabilities, the same gate, the same code */
    char *same = without_breakdown(g_out);
    ck_assert_str_eq(same, want);
    free(same);
    /* and the data is not trivial: mistakes, withheld clips and a gate in play */
    double acc = tu_json_num(g_out, "accuracy"), cov = tu_json_num(g_out, "coverage");
    ck_assert_msg(acc > 0.4 && acc < 0.95, "accuracy %g", acc);
    ck_assert_msg(cov < 1.0, "coverage %g", cov);
    ck_assert(tu_json_num(g_out, "withheld") >= 1);

    /* the text report: confusion with the Unclear column, per-class table, the disclaimer */
    ck_assert_msg(run("-m '%s' --eval '%s'", model, data) == 0, "%s", g_err);
    ck_assert_ptr_nonnull(strstr(g_out, "Unclear"));
    ck_assert_ptr_nonnull(strstr(g_out, "Heavy Breathing"));
    ck_assert_ptr_nonnull(strstr(g_out, "macro-F1"));
    ck_assert_ptr_nonnull(strstr(g_out, AM_DISCLAIMER));

    /* a per-class threshold on the command line is in the report's gate */
    ck_assert_int_eq(run("-m '%s' --eval '%s' --json --threshold heavy_breathing=0.9", model, data), 0);
    ck_assert_msg(strstr(g_out, "\"class_thresholds\":[0,0.9,0,0]") != NULL, "%.300s", tu_json_find(g_out, "gate"));
    ck_assert_ptr_nonnull(strstr(want, "\"class_thresholds\":null"));

    /* a stricter gate given on the command line is the gate evaluated */
    ck_assert_int_eq(run("-m '%s' --eval '%s' --json --min-confidence 0.99", model, data), 0);
    ck_assert(tu_json_num(g_out, "min_confidence") == 0.99);
    ck_assert(tu_json_num(g_out, "coverage") < cov);
    free(want);
    tu_rmtree(dir);
}
END_TEST

START_TEST(split_tsv_and_sides)
{
    char dir[256], model[320], data[320], tsv[320], msg[512];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(model, sizeof model, dir, "tone.aam");
    ck_assert_msg(tu_make_tone_model(model, msg, sizeof msg) == 0, "%s", msg);
    tu_path(data, sizeof data, dir, "data");
    make_data(data, NULL);

    /* The split aa-train writes: rows relative to the TSV's folder (found from any working directory),
     * and absolute ones; the test side is 2 clips per class. */
    tu_path(tsv, sizeof tsv, dir, "model.aam.split.tsv");
    FILE *f = fopen(tsv, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "path\tclass\tgroup\tside\r\n");
    for (int c = 0; c < 4; c++)
        for (int i = 0; i < 6; i++) {
            const char *side = i < 3 ? "train" : i < 4 ? "val" : "test";
            if (i % 2)
                fprintf(f, "data/%s/%02d.wav\t%s\tg%d\t%s\r\n", CLASSES[c], i, CLASSES[c], i, side);
            else
                fprintf(f, "%s/%s/%02d.wav\t%s\tg%d\t%s\r\n", data, CLASSES[c], i, CLASSES[c], i, side);
        }
    /* a name with a backslash, written escaped as aa-train writes it */
    char odd[400];
    snprintf(odd, sizeof odd, "%s/cough/back\\slash.wav", data);
    write_clip(odd, 0, 1.0, 77);
    fprintf(f, "%s/cough/back\\\\slash.wav\tcough\tg9\ttest\r\n", data);
    fclose(f);
    size_t n = 0;
    char *want = library_report(model, tsv, "test", &n);
    ck_assert_uint_eq(n, 9);
    ck_assert_msg(run("-m '%s' --eval '%s' --side test --json", model, tsv) == 0, "%s", g_err);
    char *same = without_breakdown(g_out);
    ck_assert_str_eq(same, want);
    free(same);
    ck_assert(tu_json_num(g_out, "n") == 9);
    free(want);
    ck_assert_msg(run("-m '%s' --eval '%s' --json", model, tsv) == 0, "%s", g_err);
    ck_assert(tu_json_num(g_out, "n") == 25);

    /* DATA/{train,val,test}/<class>/: --side picks a folder */
    char split[320];
    tu_path(split, sizeof split, dir, "split");
    make_data(split, "test");
    ck_assert_msg(run("-m '%s' --eval '%s' --side test --json", model, split) == 0, "%s", g_err);
    ck_assert(tu_json_num(g_out, "n") == 28);
    ck_assert_int_eq(run("-m '%s' --eval '%s' --side val --json", model, split), 1);
    ck_assert_ptr_nonnull(strstr(g_err, "no recording"));
    /* --side on a folder without sides */
    ck_assert_int_eq(run("-m '%s' --eval '%s' --side test", model, data), 1);
    ck_assert_ptr_nonnull(strstr(g_err, "no train/val/test folders"));
    tu_rmtree(dir);
}
END_TEST

START_TEST(unknown_classes_and_bad_files)
{
    char dir[256], model[320], data[320], p[600], msg[512];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(model, sizeof model, dir, "tone.aam");
    ck_assert_msg(tu_make_tone_model(model, msg, sizeof msg) == 0, "%s", msg);
    tu_path(data, sizeof data, dir, "data");
    make_data(data, NULL);

    /* a corrupt recording: named on stderr, the rest evaluated, exit 1 */
    snprintf(p, sizeof p, "%s/cough/bad.wav", data);
    tu_write_file(p, "RIFF\x10\0\0\0WAVEjunk", 16);
    ck_assert_int_eq(run("-m '%s' --eval '%s' --json", model, data), 1);
    ck_assert_msg(strstr(g_err, "bad.wav: ") != NULL, "%s", g_err);
    ck_assert_msg(tu_count_lines(g_err) == 1, "%s", g_err);
    ck_assert(tu_json_num(g_out, "n") == 28);
    remove(p);

    /* a class folder the model does not know */
    snprintf(p, sizeof p, "%s/wheeze", data);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/wheeze/a.wav", data);
    write_clip(p, 1, 1.0, 5);
    ck_assert_int_eq(run("-m '%s' --eval '%s'", model, data), 1);
    ck_assert_msg(strstr(g_err, "'wheeze'") != NULL && strstr(g_err, "cough") != NULL, "%s", g_err);
    ck_assert_int_eq(tu_count_lines(g_err), 1);
    ck_assert_str_eq(g_out, "");

    /* a TSV naming an unknown class, or without the columns */
    char tsv[320];
    tu_path(tsv, sizeof tsv, dir, "x.split.tsv");
    tu_write_file(tsv, "path\tclass\na.wav\twheeze\n", 23);
    ck_assert_int_eq(run("-m '%s' --eval '%s'", model, tsv), 1);
    ck_assert_msg(strstr(g_err, "line 2") != NULL && strstr(g_err, "wheeze") != NULL, "%s", g_err);
    tu_write_file(tsv, "file\tlabel\na.wav\tcough\n", 22);
    ck_assert_int_eq(run("-m '%s' --eval '%s'", model, tsv), 1);
    ck_assert_ptr_nonnull(strstr(g_err, "no 'path' and 'class' columns"));
    ck_assert_int_eq(run("-m '%s' --eval '%s/nothing'", model, dir), 1);
    ck_assert_ptr_nonnull(strstr(g_err, "nothing: cannot open"));
    tu_rmtree(dir);
}
END_TEST

START_TEST(svg_plots)
{
    char dir[256], model[320], data[320], svg[320], msg[512];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(model, sizeof model, dir, "tone.aam");
    ck_assert_msg(tu_make_tone_model(model, msg, sizeof msg) == 0, "%s", msg);
    tu_path(data, sizeof data, dir, "data");
    make_data(data, NULL);
    tu_path(svg, sizeof svg, dir, "plots");
    ck_assert_msg(run("-m '%s' --eval '%s' --svg '%s'", model, data, svg) == 0, "%s", g_err);
    const char *names[] = {"confusion.svg", "reliability.svg", "coverage.svg"};
    for (int i = 0; i < 3; i++) {
        char p[400];
        snprintf(p, sizeof p, "%s/%s", svg, names[i]);
        size_t size;
        char *s = tu_read_file(p, &size);
        ck_assert_msg(s != NULL, "%s not written", p);
        ck_assert_msg(strstr(s, "<svg") != NULL && strstr(s, "</svg>") != NULL, "%s is not an SVG", p);
        free(s);
    }
    tu_rmtree(dir);
}
END_TEST

Suite *infer_eval_suite(void)
{
    Suite *s = suite_create("infer_eval");
    TCase *tc = tcase_create("eval");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, report_equals_the_library_path);
    tcase_add_test(tc, split_tsv_and_sides);
    tcase_add_test(tc, unknown_classes_and_bad_files);
    tcase_add_test(tc, svg_plots);
    suite_add_tcase(s, tc);
    return s;
}
