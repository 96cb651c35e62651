/* eval/: choosing the Unclear gate on validation items, on constructed cases whose answer is known. */
#include <check.h>
#include <math.h>
#include <string.h>

#include "eval/eval.h"

enum { K = 2 };

/* Item i: class-0 probability conf[i] (so the argmax is 0 when conf > 0.5); right when wrong[i] is 0. */
static void items(size_t n, const double *conf, const int *wrong, int *label, float *probs)
{
    for (size_t i = 0; i < n; i++) {
        probs[i * K] = (float)conf[i];
        probs[i * K + 1] = (float)(1 - conf[i]);
        label[i] = wrong[i] ? 1 : 0;
    }
}

/* 40 items with confidences 0.99, 0.98, ..., 0.60 (item i at 0.99 - 0.01 i), wrong at
 * i = 5, 25, 30, 31, 35..39. Covering the m most confident: m = 20 -> 19/20 = .95, m = 25 -> 24/25 = .96,
 * m = 26 -> 24/26 = .923, m = 30 -> 28/30 = .933, beyond that lower still. */
enum { N40 = 40 };
static double conf40[N40];
static int wrong40[N40];
static void make40(int *label, float *probs)
{
    memset(wrong40, 0, sizeof wrong40);
    const int w[] = {5, 25, 30, 31, 35, 36, 37, 38, 39};
    for (size_t j = 0; j < sizeof w / sizeof w[0]; j++)
        wrong40[w[j]] = 1;
    for (int i = 0; i < N40; i++)
        conf40[i] = 0.99 - 0.01 * i;
    items(N40, conf40, wrong40, label, probs);
}

/* The midpoint the rule promises, computed as the code's contract says: in float, between floats. */
static double mid(double hi, double lo)
{
    return (float)(((double)(float)hi + (double)(float)lo) / 2);
}

START_TEST(highest_coverage_meeting_target)
{
    int label[N40];
    float probs[N40 * K];
    make40(label, probs);
    ev_gate_opts o = ev_gate_opts_default();
    ck_assert_double_eq(o.target, 0.95);
    ck_assert_uint_eq(o.min_covered, 20);
    aa_error err;
    ev_gate_choice *g = ev_choose_gate(N40, K, label, probs, &o, &err);
    ck_assert_ptr_nonnull(g);
    /* m = 25 is the largest cover reaching .95: the threshold lies midway between item 24 (.75) and
     * item 25 (.74). */
    ck_assert_int_eq(g->global.status, EV_GATE_MET);
    ck_assert_uint_eq(g->global.covered, 25);
    ck_assert_uint_eq(g->global.correct, 24);
    ck_assert_uint_eq(g->global.items, N40);
    ck_assert_double_eq(g->global.threshold, mid(0.75, 0.74));
    ck_assert_double_eq(g->gate.min_confidence, g->global.threshold);
    ck_assert_ptr_null(g->gate.class_threshold);
    ck_assert_double_eq_tol(g->coverage, 25.0 / 40, 1e-12);
    ck_assert_double_eq_tol(g->selective_accuracy, 24.0 / 25, 1e-12);
    /* The threshold is a float: stored as float in a model, it withholds exactly the same items. */
    ck_assert_double_eq(g->global.threshold, (double)(float)g->global.threshold);

    /* Evaluating with the chosen gate reproduces the choice's figures. */
    ev_eval *ev = ev_evaluate(N40, K, label, probs, &g->gate, NULL);
    ck_assert_uint_eq(ev->covered, 25);
    ck_assert_uint_eq(ev->covered_correct, 24);
    ev_eval_free(ev);
    ev_gate_choice_free(g);

    /* A stricter target: .96 is met only by m = 25 (24/25) or m <= 5 (all right, but under 20 items). */
    o.target = 0.96;
    g = ev_choose_gate(N40, K, label, probs, &o, NULL);
    ck_assert_uint_eq(g->global.covered, 25);
    ev_gate_choice_free(g);
    /* .97: no cover of >= 20 items reaches it (m = 20..25 have one error: at best 24/25 = .96). */
    o.target = 0.97;
    g = ev_choose_gate(N40, K, label, probs, &o, NULL);
    ck_assert_int_eq(g->global.status, EV_GATE_BEST);
    /* Best selective accuracy with >= 20 covered is .96 at m = 25 (ties would go to more coverage). */
    ck_assert_uint_eq(g->global.covered, 25);
    ev_gate_choice_free(g);
}
END_TEST

START_TEST(target_unreachable_takes_best_flagged)
{
    int label[N40];
    float probs[N40 * K];
    make40(label, probs);
    /* Needing 30 covered: m = 30 -> 28/30 = .933 is the best of m >= 30 (m = 31 -> 28/31, ...). */
    ev_gate_opts o = {.target = 0.95, .min_covered = 30};
    ev_gate_choice *g = ev_choose_gate(N40, K, label, probs, &o, NULL);
    ck_assert_int_eq(g->global.status, EV_GATE_BEST);
    ck_assert_uint_eq(g->global.covered, 30);
    ck_assert_uint_eq(g->global.correct, 28);
    ck_assert_double_eq(g->global.threshold, mid(0.70, 0.69));
    ck_assert_str_eq(ev_gate_status_name(g->global.status), "best-effort");
    ev_gate_choice_free(g);
}
END_TEST

START_TEST(everything_right_leaves_the_gate_open)
{
    double conf[30];
    int wrong[30] = {0}, label[30];
    float probs[30 * K];
    for (int i = 0; i < 30; i++)
        conf[i] = 0.6 + 0.01 * i;
    items(30, conf, wrong, label, probs);
    ev_gate_choice *g = ev_choose_gate(30, K, label, probs, NULL, NULL);
    ck_assert_int_eq(g->global.status, EV_GATE_MET);
    ck_assert_double_eq(g->global.threshold, 0.0); /* covering everything: threshold 0 */
    ck_assert_double_eq(g->coverage, 1.0);
    ev_gate_choice_free(g);
}
END_TEST

START_TEST(too_few_items_leaves_the_gate_open)
{
    double conf[10];
    int wrong[10] = {1, 0, 1, 0, 1, 0, 0, 0, 0, 1}, label[10];
    float probs[10 * K];
    for (int i = 0; i < 10; i++)
        conf[i] = 0.9 - 0.03 * i;
    items(10, conf, wrong, label, probs);
    ev_gate_choice *g = ev_choose_gate(10, K, label, probs, NULL, NULL);
    ck_assert_int_eq(g->global.status, EV_GATE_TOO_FEW);
    ck_assert_double_eq(g->global.threshold, 0.0);
    ck_assert_uint_eq(g->global.covered, 10);
    ck_assert_uint_eq(g->global.correct, 6);
    ck_assert_str_eq(ev_gate_status_name(EV_GATE_TOO_FEW), "too-few");
    ev_gate_choice_free(g);
    /* No items at all: too few as well, never NaN. */
    g = ev_choose_gate(0, K, NULL, NULL, NULL, NULL);
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(g->global.status, EV_GATE_TOO_FEW);
    ck_assert_double_eq(g->selective_accuracy, 0);
    ev_gate_choice_free(g);
}
END_TEST

START_TEST(tied_confidences_are_covered_together)
{
    /* 25 items: 20 at .9 (one wrong), then 5 at .8 (all right). Covering 20 (19/20 = .95) or 25 (24/25)
     * both meet .95; 25 covers more, so the gate is open (threshold 0). With the 5 at .8 all wrong,
     * covering 25 gives 19/25, so the gate sits midway between .8 and .9 and the tied .9 items are all
     * kept — never a threshold that splits equal confidences. */
    double conf[25];
    int wrong[25] = {0}, label[25];
    float probs[25 * K];
    for (int i = 0; i < 25; i++)
        conf[i] = i < 20 ? 0.9 : 0.8;
    wrong[3] = 1;
    items(25, conf, wrong, label, probs);
    ev_gate_choice *g = ev_choose_gate(25, K, label, probs, NULL, NULL);
    ck_assert_double_eq(g->global.threshold, 0.0);
    ev_gate_choice_free(g);
    for (int i = 20; i < 25; i++)
        wrong[i] = 1;
    items(25, conf, wrong, label, probs);
    g = ev_choose_gate(25, K, label, probs, NULL, NULL);
    ck_assert_int_eq(g->global.status, EV_GATE_MET);
    ck_assert_uint_eq(g->global.covered, 20);
    ck_assert_double_eq(g->global.threshold, mid(0.9, 0.8));
    ev_gate_choice_free(g);
}
END_TEST

START_TEST(adjacent_floats_keep_the_threshold_exact)
{
    /* When the two neighbouring confidences are adjacent floats there is no float between them: the
     * threshold is then the lowest covered confidence itself, which still keeps exactly the same items. */
    double conf[21];
    int wrong[21] = {0}, label[21];
    float probs[21 * K];
    float hi = 0.75f, lo = nextafterf(hi, 0.0f);
    for (int i = 0; i < 21; i++)
        conf[i] = i < 20 ? hi : lo;
    wrong[20] = 1;
    wrong[0] = 1; /* 19/20 at hi meets .95; 19/21 with the lo item does not */
    items(21, conf, wrong, label, probs);
    ev_gate_choice *g = ev_choose_gate(21, K, label, probs, NULL, NULL);
    ck_assert_uint_eq(g->global.covered, 20);
    ck_assert_double_eq(g->global.threshold, (double)hi);
    ck_assert_uint_eq(g->covered, 20);
    ev_gate_choice_free(g);
}
END_TEST

START_TEST(per_class_thresholds)
{
    /* Class 0 predicted on 30 items at .99, .98, ..., .70, wrong at i = 25..29 (bottom five): precision
     * 26 -> 25/26 = .96 meets .95, 27 -> 25/27 = .926 does not: threshold midway between .74 and .73.
     * Class 1 predicted on 10 items only (< 20): it takes the global threshold. */
    enum { N0 = 30, N1 = 10, N = N0 + N1 };
    int label[N];
    float probs[N * K];
    for (int i = 0; i < N0; i++) {
        double c = 0.99 - 0.01 * i;
        probs[i * K] = (float)c;
        probs[i * K + 1] = (float)(1 - c);
        label[i] = i >= 25 ? 1 : 0;
    }
    for (int j = 0; j < N1; j++) {
        int i = N0 + j;
        double c = 0.95 - 0.02 * j; /* class-1 probability */
        probs[i * K] = (float)(1 - c);
        probs[i * K + 1] = (float)c;
        label[i] = 1;
    }
    ev_gate_opts o = ev_gate_opts_default();
    o.per_class = 1;
    ev_gate_choice *g = ev_choose_gate(N, K, label, probs, &o, NULL);
    ck_assert_ptr_nonnull(g->per_class);
    ck_assert_int_eq(g->per_class[0].status, EV_GATE_MET);
    ck_assert_uint_eq(g->per_class[0].items, 30);
    ck_assert_uint_eq(g->per_class[0].covered, 26);
    ck_assert_double_eq(g->class_threshold[0], mid(0.74, 0.73));
    ck_assert_int_eq(g->per_class[1].status, EV_GATE_TOO_FEW);
    ck_assert_double_eq(g->class_threshold[1], g->global.threshold);
    /* Globally, the ten class-1 items (.95 .. .77) and 25 class-0 items down to .75 are right, then the
     * wrong ones at .74 .. .70: 36 -> 35/36 = .972 meets .95, 37 -> 35/37 = .946 does not, so the global
     * rule stops at the same place, midway between .74 and .73. */
    ck_assert_int_eq(g->global.status, EV_GATE_MET);
    ck_assert_uint_eq(g->global.covered, 36);
    ck_assert_double_eq(g->global.threshold, mid(0.74, 0.73));
    ck_assert_double_eq(g->gate.min_confidence, 0.0);
    ck_assert_ptr_eq(g->gate.class_threshold, g->class_threshold);
    /* Applying the gate: every item the choice says is covered is covered by ev_evaluate too. */
    ev_eval *ev = ev_evaluate(N, K, label, probs, &g->gate, NULL);
    ck_assert_uint_eq(ev->covered, g->covered);
    ck_assert_uint_eq(ev->covered_correct, g->correct);
    ck_assert(ev->gated[0].precision >= 0.95);
    ev_eval_free(ev);
    ev_gate_choice_free(g);
}
END_TEST

START_TEST(bad_options_are_refused)
{
    int label[1] = {0};
    float probs[2] = {0.9f, 0.1f};
    ev_gate_opts o = {.target = 1.5, .min_covered = 1};
    aa_error err;
    ck_assert_ptr_null(ev_choose_gate(1, K, label, probs, &o, &err));
    ck_assert_int_eq(err.code, EV_ERR_ARG);
    o.target = NAN;
    ck_assert_ptr_null(ev_choose_gate(1, K, label, probs, &o, &err));
}
END_TEST

Suite *gate_suite(void)
{
    Suite *s = suite_create("gate");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, highest_coverage_meeting_target);
    tcase_add_test(tc, target_unreachable_takes_best_flagged);
    tcase_add_test(tc, everything_right_leaves_the_gate_open);
    tcase_add_test(tc, too_few_items_leaves_the_gate_open);
    tcase_add_test(tc, tied_confidences_are_covered_together);
    tcase_add_test(tc, adjacent_floats_keep_the_threshold_exact);
    tcase_add_test(tc, per_class_thresholds);
    tcase_add_test(tc, bad_options_are_refused);
    suite_add_tcase(s, tc);
    return s;
}
