/* eval/breakdown.c: figures per source and what negatives were called, by hand-counted examples; and their
 * place at the end of the text and JSON reports. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval.h"

/* Three classes (0 background, 1 cough, 2 breath). Items 0-5 have a class, 6-10 are negatives. */
static const int LABELS[11] = {1, 1, 2, 0, 2, 1, -1, -1, -1, -1, -1};
static const char *const SOURCE[11] = {"phone", "phone", "phone", "pack", "studio", "studio",
                                       "x", "x", "y", "y", "y"};
static const char *const KIND[11] = {"", "", "", "", "", "", "speech", "speech", "laugh", "speech", "laugh"};
static const float PROBS[11][3] = {
    {0.1f, 0.8f, 0.1f}, /* cough, right */
    {0.5f, 0.3f, 0.2f}, /* cough called background */
    {0.1f, 0.2f, 0.7f}, /* breath, right */
    {0.9f, 0.05f, 0.05f},
    {0.3f, 0.3f, 0.4f}, /* breath, right but withheld below 0.5 */
    {0.2f, 0.7f, 0.1f},
    {0.1f, 0.85f, 0.05f}, /* speech called cough: a false alarm */
    {0.8f, 0.1f, 0.1f},   /* speech called background: as expected */
    {0.2f, 0.2f, 0.6f},   /* laugh called breath */
    {0.4f, 0.35f, 0.25f}, /* speech withheld */
    {0.9f, 0.05f, 0.05f},
};

static ev_breakdown *make(const ev_gate *g, int expected)
{
    aa_error err;
    ev_breakdown *b = ev_breakdown_make(11, 3, LABELS, &PROBS[0][0], g, SOURCE, KIND, expected, &err);
    ck_assert_msg(b != NULL, "%s", err.msg);
    return b;
}

START_TEST(breakdown_counts_by_hand)
{
    ev_gate g = {.min_confidence = 0.5};
    ev_breakdown *b = make(&g, 0);
    /* Sources of the recordings with a class only, sorted: pack, phone, studio. */
    ck_assert_uint_eq(b->n_sources, 3);
    ck_assert_str_eq(b->sources[0].name, "pack");
    ck_assert_str_eq(b->sources[1].name, "phone");
    ck_assert_str_eq(b->sources[2].name, "studio");
    const ev_source_figures *phone = &b->sources[1], *studio = &b->sources[2];
    ck_assert_uint_eq(phone->ev->n, 3);
    ck_assert_int_eq(phone->classes, 2);
    ck_assert_uint_eq(phone->ev->correct, 2);
    ck_assert_uint_eq(studio->ev->n, 2);
    ck_assert_uint_eq(studio->ev->covered, 1); /* item 4 withheld */
    ck_assert_int_eq(b->sources[0].classes, 1);
    /* Negatives: 5; called background 2 (items 7, 10), cough 1, breath 1, withheld 1. */
    ck_assert_uint_eq(b->all.n, 5);
    ck_assert_uint_eq(b->all.called[0], 2);
    ck_assert_uint_eq(b->all.called[1], 1);
    ck_assert_uint_eq(b->all.called[2], 1);
    ck_assert_uint_eq(b->all.called[3], 1);
    ck_assert_uint_eq(b->all.false_alarms, 2);
    ck_assert_uint_eq(b->n_kinds, 2);
    ck_assert_str_eq(b->kinds[0].name, "laugh");
    ck_assert_uint_eq(b->kinds[0].n, 2);
    ck_assert_uint_eq(b->kinds[0].called[2], 1);
    ck_assert_uint_eq(b->kinds[1].n, 3);
    ck_assert_uint_eq(b->kinds[1].false_alarms, 1);
    ev_breakdown_free(b);

    /* Expected as Unclear: every class called is a false alarm. */
    b = make(&g, -1);
    ck_assert_uint_eq(b->all.false_alarms, 4);
    ev_breakdown_free(b);

    /* The classes' figures leave the negatives out. */
    aa_error err;
    ev_eval *ev = ev_evaluate_labelled(11, 3, LABELS, &PROBS[0][0], &g, &err);
    ck_assert_ptr_nonnull(ev);
    ck_assert_uint_eq(ev->n, 6);
    ck_assert_uint_eq(ev->correct, 5);
    ev_eval_free(ev);
    /* A label below -1, or an expected class out of range, is an error. */
    int bad[11];
    memcpy(bad, LABELS, sizeof bad);
    bad[3] = -2;
    ck_assert_ptr_null(ev_breakdown_make(11, 3, bad, &PROBS[0][0], &g, SOURCE, KIND, 0, &err));
    ck_assert_int_eq(err.code, EV_ERR_ARG);
    ck_assert_ptr_null(ev_breakdown_make(11, 3, LABELS, &PROBS[0][0], &g, SOURCE, KIND, 3, &err));
}
END_TEST

/* The rest of a row is Unclear's share when the gate says so: a row with 0.2 + 0.1 + 0.1 has a rest of 0.6. */
START_TEST(breakdown_rest_unclear)
{
    static const int labels[2] = {-1, 1};
    static const float probs[2][3] = {{0.2f, 0.1f, 0.1f}, {0.1f, 0.7f, 0.1f}};
    const char *source[2] = {"a", "a"}, *kind[2] = {"speech", ""};
    ev_gate g = {.rest_unclear = 1};
    aa_error err;
    ev_breakdown *b = ev_breakdown_make(2, 3, labels, &probs[0][0], &g, source, kind, -1, &err);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(b->all.called[3], 1);
    ck_assert_uint_eq(b->all.false_alarms, 0);
    ck_assert_uint_eq(b->sources[0].ev->covered, 1); /* 0.7 against a rest of 0.1: kept */
    ev_breakdown_free(b);
}
END_TEST

START_TEST(breakdown_in_reports)
{
    ev_gate g = {.min_confidence = 0.5};
    ev_breakdown *b = make(&g, 0);
    aa_error err;
    ev_eval *ev = ev_evaluate_labelled(11, 3, LABELS, &PROBS[0][0], &g, &err);
    const char *names[3] = {"Background Noise", "Cough", "Breath"};
    ev_report_info info = {.class_names = names, .unit = "recordings", .breakdown = b};
    char *text = NULL, *json = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&text, &n);
    ck_assert_int_eq(ev_report_text(f, ev, &info, &err), 0);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(text, "Per source"));
    ck_assert_ptr_nonnull(strstr(text, "Negatives: 5 recordings of no class (expected: Background Noise)"));
    ck_assert_msg(strstr(text, "studio       2       2     1.000     1.000     0.500               1.000") != NULL,
                  "%s", text);
    ck_assert_msg(strstr(text, "pack         1       1     1.000         -") != NULL, "%s", text);
    ck_assert_msg(strstr(text, "  40.0%") && strstr(text, "40.0%\n"), "%s", text); /* 2 of 5; false alarms 2 of 5 */
    f = open_memstream(&json, &n);
    ck_assert_int_eq(ev_report_json(f, ev, &info, &err), 0);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(json, "{\"source\":\"pack\",\"n\":1,\"classes\":1,\"accuracy\":1,\"correct\":1,"
                                       "\"macro_f1\":null,"));
    ck_assert_ptr_nonnull(strstr(json, "\"all\":{\"n\":5,\"called\":[2,1,1,1],\"shares\":[0.4,0.2,0.2,0.2],"
                                       "\"false_alarms\":2,\"false_alarm_share\":0.4}"));
    ck_assert_ptr_nonnull(strstr(json, "\"columns\":[\"Background Noise\",\"Cough\",\"Breath\",\"Unclear/Unknown\"]"));
    /* Without a breakdown neither key appears. */
    free(json);
    info.breakdown = NULL;
    f = open_memstream(&json, &n);
    ck_assert_int_eq(ev_report_json(f, ev, &info, &err), 0);
    fclose(f);
    ck_assert_ptr_null(strstr(json, "\"sources\""));
    ck_assert_ptr_null(strstr(json, "\"negatives\""));
    free(text);
    free(json);
    ev_eval_free(ev);
    ev_breakdown_free(b);
}
END_TEST

Suite *breakdown_suite(void)
{
    Suite *s = suite_create("breakdown");
    TCase *tc = tcase_create("breakdown");
    tcase_add_test(tc, breakdown_counts_by_hand);
    tcase_add_test(tc, breakdown_rest_unclear);
    tcase_add_test(tc, breakdown_in_reports);
    suite_add_tcase(s, tc);
    return s;
}
