/* The human-readable report: confusion matrix, per-class table, summary lines, calibration, coverage table. */
#include <stdio.h>
#include <string.h>

#include "eval/eval_internal.h"

#define NAME_BUF 256

/* Left-aligned s in a field of w columns (UTF-8 aware). */
static void put_left(FILE *out, const char *s, size_t w)
{
    fputs(s, out);
    for (size_t i = ev_utf8_width(s); i < w; i++)
        fputc(' ', out);
}

/* "[3] Normal Breathing": numbered, so the matrix columns can carry just the number. */
static size_t row_label(const ev_report_info *info, int c, char *buf, size_t cap)
{
    char nb[NAME_BUF];
    const char *name = ev_class_name_text(info, c, nb, sizeof nb);
    int len = snprintf(buf, cap, "[%d] ", c + 1);
    size_t w = (size_t)(len > 0 ? len : 0) + ev_utf8_width(name);
    if (len > 0 && (size_t)len < cap)
        snprintf(buf + len, cap - (size_t)len, "%s", name);
    return w;
}

static void put_row_label(FILE *out, const ev_report_info *info, int c, size_t w)
{
    char nb[NAME_BUF];
    const char *name = ev_class_name_text(info, c, nb, sizeof nb);
    int len = fprintf(out, "[%d] ", c + 1);
    put_left(out, name, w > (size_t)len ? w - (size_t)len : 0);
}

static void put_gate(FILE *out, const ev_eval *ev, const ev_report_info *info)
{
    if (ev->rest_unclear)
        fprintf(out, "gate: a prediction is withheld (%s) when what the model reports as Unclear outweighs it; "
                     "and\n", EV_UNCLEAR_LABEL);
    if (!ev->class_threshold) {
        if (ev->min_confidence > 0)
            fprintf(out, "gate: a prediction is withheld (%s) below confidence %.3f\n", EV_UNCLEAR_LABEL,
                    ev->min_confidence);
        else
            fputs("gate: open (nothing withheld)\n", out);
        return;
    }
    if (ev->min_confidence > 0)
        fprintf(out, "gate: a prediction of class c is withheld (%s) below max(%.3f, threshold[c]):",
                EV_UNCLEAR_LABEL, ev->min_confidence);
    else
        fprintf(out, "gate: a prediction is withheld (%s) below its class's threshold:", EV_UNCLEAR_LABEL);
    for (int c = 0; c < ev->k; c++) {
        char nb[NAME_BUF];
        fprintf(out, "%s %s %.3f", c ? "," : "", ev_class_name_text(info, c, nb, sizeof nb), ev->class_threshold[c]);
    }
    fputc('\n', out);
}

static void put_confusion(FILE *out, const ev_eval *ev, const ev_report_info *info, size_t lw)
{
    size_t K = (size_t)ev->k;
    char num[32];
    /* Wide enough for the largest count and the "[K]" headers; "Unclear" and "total" get their own. */
    int cw = snprintf(num, sizeof num, "%zu", ev->n);
    int hw = snprintf(num, sizeof num, "[%d]", ev->k);
    cw = (cw > hw ? cw : hw) + 2;
    int uw = cw > 9 ? cw : 9, tw = cw > 7 ? cw : 7;

    fprintf(out, "Confusion matrix (rows: true class; columns: predicted class; %s: withheld by the gate)\n",
            EV_UNCLEAR_LABEL);
    put_left(out, "true \\ predicted", lw);
    for (size_t c = 0; c < K; c++) {
        snprintf(num, sizeof num, "[%zu]", c + 1);
        fprintf(out, "%*s", cw, num);
    }
    fprintf(out, "%*s%*s\n", uw, "Unclear", tw, "total");
    for (size_t r = 0; r < K; r++) {
        put_row_label(out, info, (int)r, lw);
        size_t total = 0;
        for (size_t c = 0; c <= K; c++) {
            size_t v = ev->confusion[r * (K + 1) + c];
            total += v;
            fprintf(out, "%*zu", c < K ? cw : uw, v);
        }
        fprintf(out, "%*zu\n", tw, total);
    }
    put_left(out, "total", lw);
    for (size_t c = 0; c <= K; c++) {
        size_t v = 0;
        for (size_t r = 0; r < K; r++)
            v += ev->confusion[r * (K + 1) + c];
        fprintf(out, "%*zu", c < K ? cw : uw, v);
    }
    fprintf(out, "%*zu\n\n", tw, ev->n);
}

static void put_per_class(FILE *out, const ev_eval *ev, const ev_report_info *info, size_t lw)
{
    fputs("Per class: argmax without the gate | with the gate (withheld items count as misses in recall,\n"
          "precision is over the predictions made)\n",
          out);
    put_left(out, "class", lw);
    fprintf(out, "%8s %9s %9s %7s %6s | %9s %8s %9s %7s %6s\n", "support", "predicted", "precision", "recall",
            "F1", "predicted", "withheld", "precision", "recall", "F1");
    for (int c = 0; c < ev->k; c++) {
        const ev_class_metrics *a = &ev->per_class[c], *g = &ev->gated[c];
        put_row_label(out, info, c, lw);
        fprintf(out, "%8zu %9zu %9.3f %7.3f %6.3f | %9zu %8zu %9.3f %7.3f %6.3f\n", a->support, a->predicted,
                a->precision, a->recall, a->f1, g->predicted, g->withheld, g->precision, g->recall, g->f1);
    }
    fputc('\n', out);
}

static void put_summary(FILE *out, const ev_eval *ev, const ev_report_info *info)
{
    const char *u = ev_unit(info);
    fprintf(out, "accuracy %.3f (%zu/%zu %s), argmax without the gate\n", ev->accuracy, ev->correct, ev->n, u);
    fprintf(out, "macro-F1 %.3f over %zu %s (%d classes averaged)\n", ev->macro_f1, ev->n, u,
            ev->macro_f1_classes);
    fprintf(out, "with the gate: coverage %.3f (%zu/%zu %s, %zu withheld), selective accuracy %.3f (%zu/%zu), "
                 "gated macro-F1 %.3f\n",
            ev->coverage, ev->covered, ev->n, u, ev->withheld, ev->selective_accuracy, ev->covered_correct,
            ev->covered, ev->gated_macro_f1);
    fprintf(out, "calibration: ECE %.4f (%d bins), NLL %.4f over %zu %s", ev->ece, EV_ECE_BINS, ev->nll, ev->n, u);
    if (info && info->temperature > 0)
        fprintf(out, ", temperature %.4f", info->temperature);
    fputc('\n', out);
    if (info && info->fit) {
        const ev_temp_fit *f = info->fit;
        fprintf(out, "temperature %.4f fitted on %zu validation %s: NLL %.4f -> %.4f, ECE %.4f -> %.4f%s\n", f->t,
                f->n, u, f->nll_before, f->nll_after, f->ece_before, f->ece_after,
                f->at_bound ? " (at the edge of the search range)" : "");
    }
    if (info && info->gate_choice) {
        const ev_gate_choice *g = info->gate_choice;
        fprintf(out, "gate chosen on %zu validation %s for selective accuracy >= %.3f (at least %zu covered): "
                     "%s, threshold %.4f, coverage %.3f (%zu/%zu), selective accuracy %.3f (%zu/%zu)\n",
                g->global.items, u, g->opts.target, g->opts.min_covered, ev_gate_status_name(g->global.status),
                g->global.threshold, g->global.coverage, g->global.covered, g->global.items,
                g->global.selective_accuracy, g->global.correct, g->global.covered);
        for (int c = 0; g->per_class && c < g->k; c++) {
            const ev_threshold_pick *p = &g->per_class[c];
            char nb[NAME_BUF];
            fprintf(out, "  %s: %s, threshold %.4f, %zu of %zu predictions kept, precision %.3f (%zu/%zu)\n",
                    ev_class_name_text(info, c, nb, sizeof nb), ev_gate_status_name(p->status),
                    g->class_threshold[c], p->covered, p->items, p->selective_accuracy, p->correct, p->covered);
        }
    }
    fputc('\n', out);
}

static void put_table(FILE *out, const ev_eval *ev, const ev_report_info *info)
{
    fprintf(out, "Coverage against accuracy for one global threshold (%s)\n", ev_unit(info));
    fprintf(out, "%9s %9s %15s %19s %15s\n", "threshold", "coverage", "covered", "selective accuracy",
            "correct");
    for (int r = 0; r < EV_TABLE_ROWS; r++) {
        const ev_cov_point *p = &ev->table[r];
        char a[48], b[48];
        snprintf(a, sizeof a, "%zu/%zu", p->covered, ev->n);
        snprintf(b, sizeof b, "%zu/%zu", p->correct, p->covered);
        fprintf(out, "%9.2f %9.3f %15s %19.3f %15s\n", p->threshold, p->coverage, a, p->selective_accuracy, b);
    }
}

/* Per source: the recordings with a class of each, with the gate the rest of the report states. */
static void put_sources(FILE *out, const ev_breakdown *b, const ev_report_info *info)
{
    size_t w = strlen("source");
    for (size_t s = 0; s < b->n_sources; s++)
        w = ev_utf8_width(b->sources[s].name) > w ? ev_utf8_width(b->sources[s].name) : w;
    fprintf(out, "\nPer source (%s with a class; accuracy and macro-F1 without the gate, macro-F1 where a source\n"
                 "holds two classes or more; coverage and selective accuracy with the gate)\n", ev_unit(info));
    put_left(out, "source", w + 2);
    fprintf(out, "%6s %7s %9s %9s %9s %19s\n", "n", "classes", "accuracy", "macro-F1", "coverage",
            "selective accuracy");
    for (size_t s = 0; s < b->n_sources; s++) {
        const ev_source_figures *f = &b->sources[s];
        put_left(out, f->name, w + 2);
        char f1[16] = "-", sel[16] = "-"; /* no macro-F1 of one class, no accuracy of nothing covered */
        if (f->classes >= 2)
            snprintf(f1, sizeof f1, "%.3f", f->ev->macro_f1);
        if (f->ev->covered)
            snprintf(sel, sizeof sel, "%.3f", f->ev->selective_accuracy);
        fprintf(out, "%6zu %7d %9.3f %9s %9.3f %19s\n", f->ev->n, f->classes, f->ev->accuracy, f1, f->ev->coverage,
                sel);
    }
}

static void put_negatives_row(FILE *out, const ev_negatives_row *r, int k, size_t w, const size_t *cw)
{
    put_left(out, r->name, w + 2);
    fprintf(out, "%6zu", r->n);
    for (int c = 0; c <= k; c++)
        fprintf(out, " %*.1f%%", (int)cw[c] - 1, 100 * ev_ratio(r->called[c], r->n));
    fprintf(out, " %*.1f%%\n", 11, 100 * ev_ratio(r->false_alarms, r->n));
}

/* What the negatives were called after the gate, as shares of them, overall and per kind. */
static void put_negatives(FILE *out, const ev_breakdown *b, const ev_report_info *info)
{
    if (!b->all.n)
        return;
    char nb[NAME_BUF];
    fprintf(out, "\nNegatives: %zu %s of no class (expected: %s), called after the gate\n", b->all.n, ev_unit(info),
            b->expected < 0 ? EV_UNCLEAR_LABEL : ev_class_name(info, b->expected, nb, sizeof nb));
    size_t w = strlen("kind"), cw[257]; /* a breakdown has at most 255 classes, and Unclear */
    for (size_t j = 0; j < b->n_kinds; j++)
        w = ev_utf8_width(b->kinds[j].name) > w ? ev_utf8_width(b->kinds[j].name) : w;
    put_left(out, "kind", w + 2);
    fprintf(out, "%6s", "n");
    for (int c = 0; c <= b->k; c++) {
        const char *name = c < b->k ? ev_class_name(info, c, nb, sizeof nb) : "Unclear";
        cw[c] = ev_utf8_width(name) > 7 ? ev_utf8_width(name) : 7;
        fputc(' ', out);
        for (size_t i = ev_utf8_width(name); i < cw[c]; i++)
            fputc(' ', out);
        fputs(name, out);
    }
    fprintf(out, " %12s\n", "false alarms");
    put_negatives_row(out, &b->all, b->k, w, cw);
    for (size_t j = 0; b->n_kinds > 1 && j < b->n_kinds; j++)
        put_negatives_row(out, &b->kinds[j], b->k, w, cw);
    fprintf(out, "(false alarms: called a class other than the expected one; withheld is not a false alarm)\n");
}

int ev_report_text(FILE *out, const ev_eval *ev, const ev_report_info *info, aa_error *err)
{
    size_t lw = strlen("true \\ predicted");
    for (int c = 0; c < ev->k; c++) {
        char buf[NAME_BUF + 16];
        size_t w = row_label(info, c, buf, sizeof buf);
        lw = w > lw ? w : lw;
    }
    lw += 2;
    if (info && info->title)
        fprintf(out, "%s\n", info->title);
    fprintf(out, "Evaluation of %zu %s, %d classes\n", ev->n, ev_unit(info), ev->k);
    put_gate(out, ev, info);
    fputc('\n', out);
    put_confusion(out, ev, info, lw);
    put_per_class(out, ev, info, lw);
    put_summary(out, ev, info);
    put_table(out, ev, info);
    if (info && info->breakdown) {
        put_sources(out, info->breakdown, info);
        put_negatives(out, info->breakdown, info);
    }
    if (info && info->drift)
        ev_drift_text(out, info->drift, info);
    if (info && info->notice)
        fprintf(out, "%s\n", info->notice);
    return ev_stream_status(out, "text report", err);
}

int ev_breakdown_text(FILE *out, const ev_breakdown *b, const ev_report_info *info, aa_error *err)
{
    put_sources(out, b, info);
    put_negatives(out, b, info);
    return ev_stream_status(out, "text report", err);
}

static int write_text(FILE *out, const void *ctx, aa_error *err)
{
    const void *const *a = ctx;
    return ev_report_text(out, a[0], a[1], err);
}

int ev_report_text_save(const char *path, const ev_eval *ev, const ev_report_info *info, aa_error *err)
{
    const void *ctx[2] = {ev, info};
    return ev_save_atomic(path, write_text, ctx, err);
}
