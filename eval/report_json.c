/* The machine-readable report: one JSON object with every figure and the counts behind it (keys in eval.h). */
#include <stdio.h>

#include "eval/eval_internal.h"

#define NAME_BUF 64

void ev_json_key(FILE *out, const char *k)
{
    fprintf(out, "\"%s\":", k);
}

void ev_json_num(FILE *out, const char *k, double v, int comma)
{
    ev_json_key(out, k);
    aa_json_fnum(out, v);
    if (comma)
        fputc(',', out);
}

void ev_json_count(FILE *out, const char *k, size_t v, int comma)
{
    fprintf(out, "\"%s\":%zu%s", k, v, comma ? "," : "");
}

void ev_json_class(FILE *out, const ev_report_info *info, int c)
{
    char nb[NAME_BUF];
    aa_json_fstr(out, ev_class_name(info, c, nb, sizeof nb));
}

static void cov_point(FILE *out, const ev_cov_point *p)
{
    fputc('{', out);
    ev_json_num(out, "threshold", p->threshold, 1);
    ev_json_count(out, "covered", p->covered, 1);
    ev_json_count(out, "correct", p->correct, 1);
    ev_json_num(out, "coverage", p->coverage, 1);
    ev_json_num(out, "selective_accuracy", p->selective_accuracy, 0);
    fputc('}', out);
}

static void pick_fields(FILE *out, const ev_threshold_pick *p)
{
    fprintf(out, "\"status\":\"%s\",", ev_gate_status_name(p->status));
    ev_json_count(out, "items", p->items, 1);
    ev_json_count(out, "covered", p->covered, 1);
    ev_json_count(out, "correct", p->correct, 1);
    ev_json_num(out, "coverage", p->coverage, 1);
    ev_json_num(out, "selective_accuracy", p->selective_accuracy, 0);
}

static void put_gate(FILE *out, const ev_eval *ev)
{
    ev_json_key(out, "gate");
    fputc('{', out);
    ev_json_num(out, "min_confidence", ev->min_confidence, 1);
    ev_json_key(out, "class_thresholds");
    if (!ev->class_threshold) {
        fputs("null", out);
    } else {
        /* An array in the order of "classes": display names need not be unique, object keys must be. */
        fputc('[', out);
        for (int c = 0; c < ev->k; c++) {
            if (c)
                fputc(',', out);
            aa_json_fnum(out, ev->class_threshold[c]);
        }
        fputc(']', out);
    }
    fprintf(out, ",\"rest_unclear\":%s},\n", ev->rest_unclear ? "true" : "false");
}

static void put_calibration(FILE *out, const ev_report_info *info)
{
    ev_json_key(out, "temperature");
    if (info && info->temperature > 0)
        aa_json_fnum(out, info->temperature);
    else
        fputs("null", out);
    fputs(",\n", out);
    ev_json_key(out, "calibration");
    if (!info || !info->fit) {
        fputs("null,\n", out);
        return;
    }
    const ev_temp_fit *f = info->fit;
    fputc('{', out);
    ev_json_num(out, "t", f->t, 1);
    ev_json_num(out, "nll_before", f->nll_before, 1);
    ev_json_num(out, "nll_after", f->nll_after, 1);
    ev_json_num(out, "ece_before", f->ece_before, 1);
    ev_json_num(out, "ece_after", f->ece_after, 1);
    ev_json_count(out, "n", f->n, 1);
    fprintf(out, "\"at_bound\":%s},\n", f->at_bound ? "true" : "false");
}

static void put_gate_choice(FILE *out, const ev_report_info *info)
{
    ev_json_key(out, "gate_choice");
    if (!info || !info->gate_choice) {
        fputs("null,\n", out);
        return;
    }
    const ev_gate_choice *g = info->gate_choice;
    fputc('{', out);
    ev_json_num(out, "target", g->opts.target, 1);
    ev_json_count(out, "min_covered", g->opts.min_covered, 1);
    ev_json_num(out, "threshold", g->global.threshold, 1);
    pick_fields(out, &g->global);
    fputs(",\"per_class\":", out);
    if (!g->per_class) {
        fputs("null", out);
    } else {
        fputc('[', out);
        for (int c = 0; c < g->k; c++) {
            fputs(c ? ",\n  {" : "\n  {", out);
            ev_json_key(out, "class");
            ev_json_class(out, info, c);
            fputc(',', out);
            ev_json_num(out, "threshold", g->class_threshold[c], 1);
            pick_fields(out, &g->per_class[c]);
            fputc('}', out);
        }
        fputc(']', out);
    }
    fputs("},\n", out);
}

static void put_class_metrics(FILE *out, const ev_class_metrics *m, int gated)
{
    if (!gated)
        ev_json_count(out, "support", m->support, 1);
    ev_json_count(out, "predicted", m->predicted, 1);
    ev_json_count(out, "tp", m->tp, 1);
    if (gated)
        ev_json_count(out, "withheld", m->withheld, 1);
    ev_json_num(out, "precision", m->precision, 1);
    ev_json_num(out, "recall", m->recall, 1);
    ev_json_num(out, "f1", m->f1, 0);
}

static void put_matrix(FILE *out, const size_t *m, size_t rows, size_t cols)
{
    fputc('[', out);
    for (size_t r = 0; r < rows; r++) {
        fputs(r ? ",\n  [" : "\n  [", out);
        for (size_t c = 0; c < cols; c++)
            fprintf(out, "%s%zu", c ? "," : "", m[r * cols + c]);
        fputc(']', out);
    }
    fputc(']', out);
}

static void put_names(FILE *out, const ev_report_info *info, int k, int with_unclear)
{
    fputc('[', out);
    for (int c = 0; c < k; c++) {
        if (c)
            fputc(',', out);
        ev_json_class(out, info, c);
    }
    if (with_unclear)
        fputs(",\"" EV_UNCLEAR_LABEL "\"", out);
    fputc(']', out);
}

static void put_sources(FILE *out, const ev_breakdown *b)
{
    fputs(",\n\"sources\":[", out);
    for (size_t s = 0; s < b->n_sources; s++) {
        const ev_source_figures *f = &b->sources[s];
        fputs(s ? ",\n  {" : "\n  {", out);
        ev_json_key(out, "source");
        aa_json_fstr(out, f->name);
        fputc(',', out);
        ev_json_count(out, "n", f->ev->n, 1);
        ev_json_count(out, "classes", (size_t)f->classes, 1);
        ev_json_num(out, "accuracy", f->ev->accuracy, 1);
        ev_json_count(out, "correct", f->ev->correct, 1);
        if (f->classes >= 2)
            ev_json_num(out, "macro_f1", f->ev->macro_f1, 1);
        else
            fputs("\"macro_f1\":null,", out);
        ev_json_num(out, "coverage", f->ev->coverage, 1);
        ev_json_count(out, "covered", f->ev->covered, 1);
        ev_json_num(out, "selective_accuracy", f->ev->selective_accuracy, 1);
        ev_json_count(out, "covered_correct", f->ev->covered_correct, 0);
        fputc('}', out);
    }
    fputc(']', out);
}

static void negatives_row(FILE *out, const ev_negatives_row *r, int k)
{
    ev_json_count(out, "n", r->n, 1);
    fputs("\"called\":[", out);
    for (int c = 0; c <= k; c++)
        fprintf(out, "%s%zu", c ? "," : "", r->called[c]);
    fputs("],\"shares\":[", out);
    for (int c = 0; c <= k; c++) {
        if (c)
            fputc(',', out);
        aa_json_fnum(out, ev_ratio(r->called[c], r->n));
    }
    fputs("],", out);
    ev_json_count(out, "false_alarms", r->false_alarms, 1);
    ev_json_num(out, "false_alarm_share", ev_ratio(r->false_alarms, r->n), 0);
}

static void put_negatives(FILE *out, const ev_breakdown *b, const ev_report_info *info)
{
    fputs(",\n\"negatives\":", out);
    if (!b->all.n) {
        fputs("null", out);
        return;
    }
    fputc('{', out);
    ev_json_count(out, "n", b->all.n, 1);
    ev_json_key(out, "expected");
    if (b->expected < 0)
        aa_json_fstr(out, EV_UNCLEAR_LABEL);
    else
        ev_json_class(out, info, b->expected);
    fputs(",\"columns\":", out);
    put_names(out, info, b->k, 1);
    fputs(",\n  \"all\":{", out);
    negatives_row(out, &b->all, b->k);
    fputs("},\n  \"per_kind\":[", out);
    for (size_t j = 0; j < b->n_kinds; j++) {
        fputs(j ? ",\n   {" : "\n   {", out);
        ev_json_key(out, "kind");
        aa_json_fstr(out, b->kinds[j].name);
        fputc(',', out);
        negatives_row(out, &b->kinds[j], b->k);
        fputc('}', out);
    }
    fputs("]}", out);
}

int ev_report_json(FILE *out, const ev_eval *ev, const ev_report_info *info, aa_error *err)
{
    size_t K = (size_t)ev->k;
    fputs("{\"format\":\"audio-audit-eval\",\"version\":1,\"title\":", out);
    aa_json_fstr(out, info ? info->title : NULL);
    fputs(",\"unit\":", out);
    aa_json_fstr(out, ev_unit(info));
    fputc(',', out);
    ev_json_count(out, "n", ev->n, 1);
    ev_json_key(out, "classes");
    put_names(out, info, ev->k, 0);
    fputs(",\n", out);
    put_gate(out, ev);
    put_calibration(out, info);
    put_gate_choice(out, info);
    if (info && info->drift) /* before the figures: from "accuracy" on, a report reads as one without it */
        ev_drift_json(out, info->drift);

    ev_json_num(out, "accuracy", ev->accuracy, 1);
    ev_json_count(out, "correct", ev->correct, 1);
    ev_json_num(out, "macro_f1", ev->macro_f1, 1);
    ev_json_count(out, "macro_f1_classes", (size_t)ev->macro_f1_classes, 1);
    ev_json_num(out, "coverage", ev->coverage, 1);
    ev_json_count(out, "covered", ev->covered, 1);
    ev_json_count(out, "withheld", ev->withheld, 1);
    ev_json_num(out, "selective_accuracy", ev->selective_accuracy, 1);
    ev_json_count(out, "covered_correct", ev->covered_correct, 1);
    ev_json_num(out, "gated_macro_f1", ev->gated_macro_f1, 1);
    ev_json_count(out, "gated_macro_f1_classes", (size_t)ev->gated_macro_f1_classes, 1);
    ev_json_num(out, "ece", ev->ece, 1);
    ev_json_count(out, "ece_bins", EV_ECE_BINS, 1);
    ev_json_num(out, "nll", ev->nll, 1);
    fputc('\n', out);

    ev_json_key(out, "per_class");
    fputc('[', out);
    for (size_t c = 0; c < K; c++) {
        fputs(c ? ",\n  {" : "\n  {", out);
        ev_json_key(out, "class");
        ev_json_class(out, info, (int)c);
        fputc(',', out);
        put_class_metrics(out, &ev->per_class[c], 0);
        fputs(",\"gated\":{", out);
        put_class_metrics(out, &ev->gated[c], 1);
        fputs("}}", out);
    }
    fputs("],\n", out);

    fputs("\"confusion\":{\"rows\":", out);
    put_names(out, info, ev->k, 0);
    fputs(",\"columns\":", out);
    put_names(out, info, ev->k, 1);
    fputs(",\"counts\":", out);
    put_matrix(out, ev->confusion, K, K + 1);
    fputs("},\n\"confusion_argmax\":", out);
    put_matrix(out, ev->confusion_argmax, K, K);
    fputs(",\n", out);

    ev_json_key(out, "reliability");
    fputc('[', out);
    for (int m = 0; m < EV_ECE_BINS; m++) {
        const ev_bin *b = &ev->bins[m];
        fputs(m ? ",\n  {" : "\n  {", out);
        ev_json_num(out, "lo", b->lo, 1);
        ev_json_num(out, "hi", b->hi, 1);
        ev_json_count(out, "count", b->count, 1);
        ev_json_count(out, "correct", b->correct, 1);
        ev_json_num(out, "mean_confidence", b->mean_confidence, 1);
        ev_json_num(out, "accuracy", b->accuracy, 0);
        fputc('}', out);
    }
    fputs("],\n", out);

    ev_json_key(out, "coverage_table");
    fputc('[', out);
    for (int r = 0; r < EV_TABLE_ROWS; r++) {
        fputs(r ? ",\n  " : "\n  ", out);
        cov_point(out, &ev->table[r]);
    }
    fputc(']', out);
    if (!(info && info->omit_curve)) {
        fputs(",\n", out);
        ev_json_key(out, "coverage_curve");
        fputc('[', out);
        for (size_t i = 0; i < ev->n_curve; i++) {
            fputs(i ? ",\n  " : "\n  ", out);
            cov_point(out, &ev->curve[i]);
        }
        fputc(']', out);
    }
    if (info && info->breakdown) {
        put_sources(out, info->breakdown);
        put_negatives(out, info->breakdown, info);
    }
    if (info && info->notice) {
        fputs(",\n", out);
        ev_json_key(out, "disclaimer");
        aa_json_fstr(out, info->notice);
    }
    fputs("}\n", out);
    return ev_stream_status(out, "JSON report", err);
}

static int write_json(FILE *out, const void *ctx, aa_error *err)
{
    const void *const *a = ctx;
    return ev_report_json(out, a[0], a[1], err);
}

int ev_report_json_save(const char *path, const ev_eval *ev, const ev_report_info *info, aa_error *err)
{
    const void *ctx[2] = {ev, info};
    return ev_save_atomic(path, write_json, ctx, err);
}
