/* eval/: confusion matrices, P/R/F1, macro-F1, coverage, ECE, NLL and per-recording aggregation on small
 * cases computed by hand (the arithmetic is in the comments). */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval.h"

/* Every expected value is a ratio of small integers computed in double; the code computes the same
 * ratios, so they agree to rounding. 1e-12 leaves room for a different order of operations. */
#define EXACT 1e-12
/* Confidences pass through float (relative error <= 6e-8), so figures built from them agree to ~1e-7. */
#define VIA_FLOAT 1e-6

/* Row with probability conf on class pred and the rest shared equally: pred is then the argmax when
 * conf > 1/K. */
static void row(float *p, int k, int pred, double conf)
{
    for (int c = 0; c < k; c++)
        p[c] = (float)(c == pred ? conf : (1 - conf) / (k - 1));
}

/* Case A: 3 classes, 10 items (true label, argmax prediction, confidence):
 *   0:(0,0,.90) 1:(0,0,.80) 2:(0,1,.60) 3:(0,2,.50) 4:(1,1,.70)
 *   5:(1,1,.40) 6:(1,0,.60) 7:(2,2,.95) 8:(2,1,.50) 9:(2,2,.45) */
enum { NA = 10, KA = 3 };
static const int a_label[NA] = {0, 0, 0, 0, 1, 1, 1, 2, 2, 2};
static const int a_pred[NA] = {0, 0, 1, 2, 1, 1, 0, 2, 1, 2};
static const double a_conf[NA] = {0.90, 0.80, 0.60, 0.50, 0.70, 0.40, 0.60, 0.95, 0.50, 0.45};

static void case_a(float probs[NA * KA])
{
    for (int i = 0; i < NA; i++)
        row(probs + i * KA, KA, a_pred[i], a_conf[i]);
}

START_TEST(argmax_metrics_by_hand)
{
    float probs[NA * KA];
    case_a(probs);
    aa_error err;
    ev_eval *ev = ev_evaluate(NA, KA, a_label, probs, NULL, &err);
    ck_assert_ptr_nonnull(ev);
    /* Argmax confusion: true 0 -> [2,1,1], true 1 -> [1,2,0], true 2 -> [0,1,2]. */
    static const size_t want[KA * KA] = {2, 1, 1, 1, 2, 0, 0, 1, 2};
    for (int i = 0; i < KA * KA; i++)
        ck_assert_uint_eq(ev->confusion_argmax[i], want[i]);
    /* No gate: the Unclear column is empty and the gated matrix is the argmax one. */
    for (int r = 0; r < KA; r++) {
        ck_assert_uint_eq(ev->confusion[r * (KA + 1) + KA], 0);
        for (int c = 0; c < KA; c++)
            ck_assert_uint_eq(ev->confusion[r * (KA + 1) + c], want[r * KA + c]);
    }
    /* Class 0: tp 2, predicted 3, support 4 -> P 2/3, R 1/2, F1 (2*1/3)/(7/6) = 4/7.
     * Class 1: tp 2, predicted 4, support 3 -> P 1/2, R 2/3, F1 4/7. Class 2: 2, 3, 3 -> 2/3, 2/3, 2/3. */
    const double P[KA] = {2.0 / 3, 0.5, 2.0 / 3}, R[KA] = {0.5, 2.0 / 3, 2.0 / 3}, F[KA] = {4.0 / 7, 4.0 / 7, 2.0 / 3};
    const size_t sup[KA] = {4, 3, 3}, pred[KA] = {3, 4, 3};
    for (int c = 0; c < KA; c++) {
        ck_assert_uint_eq(ev->per_class[c].support, sup[c]);
        ck_assert_uint_eq(ev->per_class[c].predicted, pred[c]);
        ck_assert_uint_eq(ev->per_class[c].tp, 2);
        ck_assert_uint_eq(ev->per_class[c].withheld, 0);
        ck_assert_double_eq_tol(ev->per_class[c].precision, P[c], EXACT);
        ck_assert_double_eq_tol(ev->per_class[c].recall, R[c], EXACT);
        ck_assert_double_eq_tol(ev->per_class[c].f1, F[c], EXACT);
    }
    ck_assert_uint_eq(ev->correct, 6);
    ck_assert_double_eq_tol(ev->accuracy, 0.6, EXACT);
    /* (4/7 + 4/7 + 2/3) / 3 = 38/63 */
    ck_assert_double_eq_tol(ev->macro_f1, 38.0 / 63, EXACT);
    ck_assert_int_eq(ev->macro_f1_classes, 3);
    ck_assert_uint_eq(ev->covered, NA);
    ck_assert_double_eq_tol(ev->coverage, 1.0, EXACT);
    ck_assert_double_eq_tol(ev->selective_accuracy, 0.6, EXACT);
    ck_assert_double_eq_tol(ev->gated_macro_f1, ev->macro_f1, EXACT);
    ev_eval_free(ev);
}
END_TEST

START_TEST(global_gate_by_hand)
{
    float probs[NA * KA];
    case_a(probs);
    /* 0.55 withholds the items with confidence 0.50, 0.40, 0.50, 0.45: items 3, 5, 8, 9. */
    ev_gate gate = {.min_confidence = 0.55};
    ev_eval *ev = ev_evaluate(NA, KA, a_label, probs, &gate, NULL);
    ck_assert_ptr_nonnull(ev);
    static const size_t want[KA * (KA + 1)] = {2, 1, 0, 1, /* true 0: 3 withheld */
                                               1, 1, 0, 1, /* true 1: 5 withheld */
                                               0, 0, 1, 2}; /* true 2: 8, 9 withheld */
    for (int i = 0; i < KA * (KA + 1); i++)
        ck_assert_uint_eq(ev->confusion[i], want[i]);
    ck_assert_uint_eq(ev->withheld, 4);
    ck_assert_uint_eq(ev->covered, 6);
    ck_assert_uint_eq(ev->covered_correct, 4);
    ck_assert_double_eq_tol(ev->coverage, 0.6, EXACT);
    ck_assert_double_eq_tol(ev->selective_accuracy, 4.0 / 6, EXACT);
    /* Gated class 0: tp 2 of 3 made, support 4 (1 withheld) -> P 2/3, R 1/2, F1 4/7.
     * Class 1: tp 1 of 2 made, support 3 -> P 1/2, R 1/3, F1 (1/3)/(5/6) = 2/5.
     * Class 2: tp 1 of 1 made, support 3 -> P 1, R 1/3, F1 (2/3)/(4/3) = 1/2. */
    const double P[KA] = {2.0 / 3, 0.5, 1}, R[KA] = {0.5, 1.0 / 3, 1.0 / 3}, F[KA] = {4.0 / 7, 0.4, 0.5};
    const size_t made[KA] = {3, 2, 1}, withheld[KA] = {1, 1, 2};
    for (int c = 0; c < KA; c++) {
        ck_assert_uint_eq(ev->gated[c].predicted, made[c]);
        ck_assert_uint_eq(ev->gated[c].withheld, withheld[c]);
        ck_assert_uint_eq(ev->gated[c].support, ev->per_class[c].support);
        ck_assert_double_eq_tol(ev->gated[c].precision, P[c], EXACT);
        ck_assert_double_eq_tol(ev->gated[c].recall, R[c], EXACT);
        ck_assert_double_eq_tol(ev->gated[c].f1, F[c], EXACT);
    }
    ck_assert_double_eq_tol(ev->gated_macro_f1, (4.0 / 7 + 0.4 + 0.5) / 3, EXACT);
    /* The plain argmax figures do not move with the gate. */
    ck_assert_double_eq_tol(ev->accuracy, 0.6, EXACT);
    ck_assert_double_eq_tol(ev->macro_f1, 38.0 / 63, EXACT);
    ck_assert_double_eq(ev->min_confidence, 0.55);
    ck_assert_ptr_null(ev->class_threshold);
    ev_eval_free(ev);

    /* A probability equal to the threshold is kept: 0.5 is exact in float, items 3 and 8 stay. */
    gate.min_confidence = 0.5;
    ev = ev_evaluate(NA, KA, a_label, probs, &gate, NULL);
    ck_assert_uint_eq(ev->withheld, 2);
    ev_eval_free(ev);
}
END_TEST

START_TEST(per_class_gate_takes_the_max)
{
    ev_gate g = {.min_confidence = 0.55, .class_threshold = (const double[]){0.85, 0.0, 0.9}};
    ck_assert(ev_gate_withholds(&g, 0, 0.84));  /* max(0.55, 0.85) = 0.85 */
    ck_assert(!ev_gate_withholds(&g, 0, 0.85));
    ck_assert(ev_gate_withholds(&g, 1, 0.54));  /* max(0.55, 0) = 0.55 */
    ck_assert(!ev_gate_withholds(&g, 1, 0.56));
    ck_assert(ev_gate_withholds(&g, 2, 0.89));
    ck_assert(!ev_gate_withholds(NULL, 2, 0.0));

    float probs[NA * KA];
    case_a(probs);
    /* Class-0 predictions below 0.85: items 1 (.80), 6 (.60). Class-1 below .55: 5 (.40), 8 (.50).
     * Class-2 below .9: 3 (.50), 9 (.45). Kept: 0, 2, 4, 7, of which 0, 4, 7 are right. */
    ev_eval *ev = ev_evaluate(NA, KA, a_label, probs, &g, NULL);
    ck_assert_uint_eq(ev->withheld, 6);
    ck_assert_uint_eq(ev->covered_correct, 3);
    ck_assert_ptr_nonnull(ev->class_threshold);
    ck_assert_double_eq(ev->class_threshold[2], 0.9);
    /* Row of true class 0: item 0 -> 0, item 1 withheld, item 2 -> 1, item 3 withheld. */
    ck_assert_uint_eq(ev->confusion[0], 1);
    ck_assert_uint_eq(ev->confusion[1], 1);
    ck_assert_uint_eq(ev->confusion[3], 2);
    ev_eval_free(ev);
}
END_TEST

START_TEST(zero_support_and_zero_predictions)
{
    /* 4 classes. Truth uses classes 0 and 1 only; class 2 is predicted once (a false positive); class 3
     * appears nowhere. Items (label, prediction): (0,0) (0,2) (1,1) (1,1). */
    enum { N = 4, K = 4 };
    const int label[N] = {0, 0, 1, 1}, pred[N] = {0, 2, 1, 1};
    float probs[N * K];
    for (int i = 0; i < N; i++)
        row(probs + i * K, K, pred[i], 0.7);
    ev_eval *ev = ev_evaluate(N, K, label, probs, NULL, NULL);
    ck_assert_ptr_nonnull(ev);
    /* Class 2: support 0, predicted 1 -> P 0/1 = 0, R defined as 0, F1 0. Class 3: all 0 by definition. */
    ck_assert_uint_eq(ev->per_class[2].support, 0);
    ck_assert_uint_eq(ev->per_class[2].predicted, 1);
    ck_assert_uint_eq(ev->per_class[3].predicted, 0);
    for (int c = 2; c < 4; c++) {
        ck_assert_double_eq(ev->per_class[c].precision, 0);
        ck_assert_double_eq(ev->per_class[c].recall, 0);
        ck_assert_double_eq(ev->per_class[c].f1, 0);
    }
    /* Class 0: P 1/1, R 1/2, F1 2/3. Class 1: P 1, R 1, F1 1. Macro over classes 0, 1, 2 (3 is in neither
     * truth nor predictions): (2/3 + 1 + 0) / 3 = 5/9. */
    ck_assert_int_eq(ev->macro_f1_classes, 3);
    ck_assert_double_eq_tol(ev->macro_f1, 5.0 / 9, EXACT);

    /* A gate that withholds everything: nothing covered, every ratio 0 and finite. */
    ev_gate all = {.min_confidence = 0.99};
    ev_eval *g = ev_evaluate(N, K, label, probs, &all, NULL);
    ck_assert_uint_eq(g->covered, 0);
    ck_assert_double_eq(g->coverage, 0);
    ck_assert_double_eq(g->selective_accuracy, 0);
    for (int c = 0; c < K; c++) {
        ck_assert_uint_eq(g->gated[c].withheld, g->gated[c].support);
        ck_assert_double_eq(g->gated[c].precision, 0);
        ck_assert(isfinite(g->gated[c].f1));
    }
    /* Classes 0 and 1 still have support, so they are averaged (as zeros). */
    ck_assert_int_eq(g->gated_macro_f1_classes, 2);
    ck_assert_double_eq(g->gated_macro_f1, 0);
    ev_eval_free(g);
    ev_eval_free(ev);
}
END_TEST

START_TEST(empty_evaluation_has_no_nan)
{
    ev_eval *ev = ev_evaluate(0, 3, NULL, NULL, NULL, NULL);
    ck_assert_ptr_nonnull(ev);
    ck_assert_uint_eq(ev->n, 0);
    double figures[] = {ev->accuracy, ev->macro_f1, ev->coverage, ev->selective_accuracy, ev->gated_macro_f1,
                        ev->ece, ev->nll};
    for (size_t i = 0; i < sizeof figures / sizeof figures[0]; i++)
        ck_assert_double_eq(figures[i], 0);
    ck_assert_int_eq(ev->macro_f1_classes, 0);
    ck_assert_uint_eq(ev->n_curve, 0);
    for (int r = 0; r < EV_TABLE_ROWS; r++)
        ck_assert(ev->table[r].coverage == 0 && ev->table[r].selective_accuracy == 0);
    ev_eval_free(ev);
}
END_TEST

START_TEST(bad_inputs_are_refused)
{
    float probs[2 * 2] = {0.5f, 0.5f, 0.2f, 0.8f};
    int label[2] = {0, 2};
    aa_error err;
    ck_assert_ptr_null(ev_evaluate(2, 2, label, probs, NULL, &err));
    ck_assert_int_eq(err.code, EV_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "item 1"));
    label[1] = 1;
    probs[3] = NAN;
    ck_assert_ptr_null(ev_evaluate(2, 2, label, probs, NULL, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "item 1"));
    probs[3] = 1.5f;
    ck_assert_ptr_null(ev_evaluate(2, 2, label, probs, NULL, &err));
    probs[3] = 1.00001f; /* float rounding above 1 is tolerated */
    ev_eval *ev = ev_evaluate(2, 2, label, probs, NULL, &err);
    ck_assert_ptr_nonnull(ev);
    ev_eval_free(ev);
    ck_assert_ptr_null(ev_evaluate(2, 0, label, probs, NULL, &err));
    ev_gate nan_gate = {.min_confidence = NAN};
    ck_assert_ptr_null(ev_evaluate(2, 2, label, probs, &nan_gate, &err));
    ck_assert_int_eq(err.code, EV_ERR_ARG);
    ck_assert_str_eq(aa_strerror(EV_ERR_ARG), "invalid argument");
}
END_TEST

START_TEST(argmax_ties_go_to_lowest_index)
{
    const float r[4] = {0.1f, 0.4f, 0.4f, 0.1f};
    ck_assert_int_eq(ev_argmax(r, 4), 1);
}
END_TEST

START_TEST(coverage_table_and_curve_by_hand)
{
    float probs[NA * KA];
    case_a(probs);
    ev_eval *ev = ev_evaluate(NA, KA, a_label, probs, NULL, NULL);
    /* Distinct confidences: .40 .45 .50 .60 .70 .80 .90 .95 -> 8 points, ascending threshold. */
    ck_assert_uint_eq(ev->n_curve, 8);
    ck_assert_double_eq_tol(ev->curve[0].threshold, 0.40, VIA_FLOAT);
    ck_assert_uint_eq(ev->curve[0].covered, 10);
    ck_assert_uint_eq(ev->curve[0].correct, 6);
    /* At .50: all but .40 and .45 (items 5, 9, both right) -> 8 covered, 4 right. */
    ck_assert_double_eq_tol(ev->curve[2].threshold, 0.50, VIA_FLOAT);
    ck_assert_uint_eq(ev->curve[2].covered, 8);
    ck_assert_uint_eq(ev->curve[2].correct, 4);
    ck_assert_double_eq_tol(ev->curve[2].selective_accuracy, 0.5, EXACT);
    ck_assert_double_eq_tol(ev->curve[2].coverage, 0.8, EXACT);
    ck_assert_uint_eq(ev->curve[7].covered, 1);
    ck_assert_uint_eq(ev->curve[7].correct, 1);
    for (size_t i = 1; i < ev->n_curve; i++) {
        ck_assert(ev->curve[i].threshold > ev->curve[i - 1].threshold);
        ck_assert_uint_lt(ev->curve[i].covered, ev->curve[i - 1].covered);
    }
    /* Table rows: 0.00 covers everything; 0.50 (row 10) = the .50 point; 0.99 (row 20) covers nothing. */
    ck_assert_double_eq(ev->table[0].threshold, 0.0);
    ck_assert_uint_eq(ev->table[0].covered, 10);
    ck_assert_double_eq_tol(ev->table[10].threshold, 0.50, EXACT);
    ck_assert_uint_eq(ev->table[10].covered, 8);
    ck_assert_uint_eq(ev->table[10].correct, 4);
    ck_assert_double_eq_tol(ev->table[20].threshold, 0.99, EXACT);
    ck_assert_uint_eq(ev->table[20].covered, 0);
    ck_assert_double_eq(ev->table[20].selective_accuracy, 0);
    /* .65 -> items .70 .80 .90 .95, all right */
    ev_cov_point p = ev_coverage_at(NA, KA, a_label, probs, 0.65);
    ck_assert_uint_eq(p.covered, 4);
    ck_assert_uint_eq(p.correct, 4);
    ck_assert_double_eq_tol(p.coverage, 0.4, EXACT);
    ev_eval_free(ev);
}
END_TEST

START_TEST(ece_constructed_example)
{
    /* Two classes, 8 items, confidence on the predicted class 0:
     *   4 at .95 (3 right): bin (14/15, 1], accuracy .75, gap .20
     *   2 at .62 (1 right): bin (9/15, 10/15], accuracy .50, gap .12
     *   2 at .52 (0 right): bin (7/15, 8/15], accuracy 0, gap .52
     * ECE = (4 * .20 + 2 * .12 + 2 * .52) / 8 = 2.08 / 8 = 0.26 */
    enum { N = 8, K = 2 };
    const double conf[N] = {0.95, 0.95, 0.95, 0.95, 0.62, 0.62, 0.52, 0.52};
    const int label[N] = {0, 0, 0, 1, 0, 1, 1, 1};
    float probs[N * K];
    for (int i = 0; i < N; i++)
        row(probs + i * K, K, 0, conf[i]);
    ev_bin bins[EV_ECE_BINS];
    ck_assert_double_eq_tol(ev_ece(N, K, label, probs, bins), 0.26, VIA_FLOAT);
    ck_assert_uint_eq(bins[14].count, 4);
    ck_assert_uint_eq(bins[14].correct, 3);
    ck_assert_double_eq_tol(bins[14].accuracy, 0.75, EXACT);
    ck_assert_double_eq_tol(bins[14].mean_confidence, 0.95, VIA_FLOAT);
    ck_assert_uint_eq(bins[9].count, 2);
    ck_assert_uint_eq(bins[7].count, 2);
    ck_assert_uint_eq(bins[7].correct, 0);
    size_t total = 0;
    for (int m = 0; m < EV_ECE_BINS; m++) {
        total += bins[m].count;
        ck_assert_double_eq_tol(bins[m].lo, m / 15.0, EXACT);
        ck_assert_double_eq_tol(bins[m].hi, (m + 1) / 15.0, EXACT);
    }
    ck_assert_uint_eq(total, N);
    /* Perfect calibration is 0: two items at 0.5 with one right (bin (7/15, 8/15]). */
    float half[4] = {0.5f, 0.5f, 0.5f, 0.5f};
    const int lab2[2] = {0, 1};
    ck_assert_double_eq_tol(ev_ece(2, 2, lab2, half, NULL), 0.0, EXACT);
    /* Edges: confidence 1 goes to the last bin, 0 (a degenerate row) to the first. */
    float edge[4] = {1.0f, 0.0f, 0.0f, 0.0f};
    ev_ece(2, 2, lab2, edge, bins);
    ck_assert_uint_eq(bins[14].count, 1);
    ck_assert_uint_eq(bins[0].count, 1);
}
END_TEST

START_TEST(nll_by_hand)
{
    /* p[label] = 0.5 and 0.25: NLL = (ln 2 + ln 4) / 2 = 1.5 ln 2. */
    float probs[4] = {0.5f, 0.5f, 0.75f, 0.25f};
    const int label[2] = {0, 1};
    ck_assert_double_eq_tol(ev_nll(2, 2, label, probs), 1.5 * log(2.0), EXACT);
    /* A probability of exactly 0 is clamped at 1e-12: -ln 1e-12 = 27.631..., finite. */
    float zero[2] = {1.0f, 0.0f};
    const int one[1] = {1};
    ck_assert_double_eq_tol(ev_nll(1, 2, one, zero), -log(1e-12), EXACT);
}
END_TEST

START_TEST(recordings_mean_of_windows)
{
    /* Six windows of three recordings (ids 7, 3, 9, not dense), K = 2. Recording 7 has windows 0, 1, 3 with
     * class-0 probability .9, .2, .4 -> mean .5; the windows disagree, the mean decides. */
    enum { N = 6, K = 2 };
    const size_t id[N] = {7, 7, 3, 7, 3, 9};
    const int label[N] = {1, 1, 0, 1, 0, 1};
    const double p0[N] = {0.9, 0.2, 0.8, 0.4, 0.6, 0.3};
    float probs[N * K];
    for (int i = 0; i < N; i++) {
        probs[i * K] = (float)p0[i];
        probs[i * K + 1] = (float)(1 - p0[i]);
    }
    aa_error err;
    ev_recordings *r = ev_recordings_aggregate(N, K, label, probs, id, &err);
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(r->n, 3);
    /* In order of first window: 7 (window 0), 3 (window 2), 9 (window 5). */
    const size_t want_id[3] = {7, 3, 9}, want_win[3] = {3, 2, 1}, want_first[3] = {0, 2, 5};
    const int want_label[3] = {1, 0, 1};
    const double want_p0[3] = {0.5, 0.7, 0.3};
    for (int g = 0; g < 3; g++) {
        ck_assert_uint_eq(r->ids[g], want_id[g]);
        ck_assert_uint_eq(r->windows[g], want_win[g]);
        ck_assert_uint_eq(r->first[g], want_first[g]);
        ck_assert_int_eq(r->labels[g], want_label[g]);
        ck_assert_double_eq_tol(r->probs[g * K], want_p0[g], VIA_FLOAT);
        ck_assert_double_eq_tol(r->probs[g * K] + r->probs[g * K + 1], 1.0, VIA_FLOAT);
    }
    /* Per recording: 7 -> tie .5/.5 -> class 0 (lowest index), wrong; 3 -> 0 right; 9 -> 1 right. */
    ev_eval *ev = ev_evaluate(r->n, r->k, r->labels, r->probs, NULL, NULL);
    ck_assert_uint_eq(ev->n, 3);
    ck_assert_uint_eq(ev->correct, 2);
    ev_eval_free(ev);
    ev_recordings_free(r);

    /* Windows of one recording with different labels: refused, naming the recording. */
    int bad[N] = {1, 0, 0, 1, 0, 1};
    ck_assert_ptr_null(ev_recordings_aggregate(N, K, bad, probs, id, &err));
    ck_assert_int_eq(err.code, EV_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "recording 7"));
}
END_TEST

START_TEST(display_names)
{
    char out[64];
    ck_assert_uint_eq(ev_display_name("heavy_breathing", out, sizeof out), 15);
    ck_assert_str_eq(out, "Heavy Breathing");
    ev_display_name("background_noise", out, sizeof out);
    ck_assert_str_eq(out, "Background Noise");
    ev_display_name("cough", out, sizeof out);
    ck_assert_str_eq(out, "Cough");
    ev_display_name("__COVID--cough  x_", out, sizeof out);
    ck_assert_str_eq(out, "COVID Cough X");
    ev_display_name("", out, sizeof out);
    ck_assert_str_eq(out, "");
    /* Truncation like snprintf: the full length comes back, the buffer stays terminated. */
    char small[6];
    ck_assert_uint_eq(ev_display_name("normal_breathing", small, sizeof small), 16);
    ck_assert_str_eq(small, "Norma");
    ck_assert_str_eq(EV_UNCLEAR_LABEL, "Unclear/Unknown");
}
END_TEST

Suite *metrics_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, argmax_metrics_by_hand);
    tcase_add_test(tc, global_gate_by_hand);
    tcase_add_test(tc, per_class_gate_takes_the_max);
    tcase_add_test(tc, zero_support_and_zero_predictions);
    tcase_add_test(tc, empty_evaluation_has_no_nan);
    tcase_add_test(tc, bad_inputs_are_refused);
    tcase_add_test(tc, argmax_ties_go_to_lowest_index);
    tcase_add_test(tc, coverage_table_and_curve_by_hand);
    tcase_add_test(tc, ece_constructed_example);
    tcase_add_test(tc, nll_by_hand);
    tcase_add_test(tc, recordings_mean_of_windows);
    tcase_add_test(tc, display_names);
    suite_add_tcase(s, tc);
    return s;
}
