/* The event scores for programs: one JSON object on one line, with every figure and the counts behind it
 * (keys in eval.h). */
#include <stdio.h>

#include "eval/events_internal.h"

#define NAME_BUF 64

static void key(FILE *out, const char *k)
{
    fprintf(out, "\"%s\":", k);
}

static void kv_num(FILE *out, const char *k, double v, int comma)
{
    key(out, k);
    aa_json_fnum(out, v);
    if (comma)
        fputc(',', out);
}

static void kv_count(FILE *out, const char *k, size_t v, int comma)
{
    fprintf(out, "\"%s\":%zu%s", k, v, comma ? "," : "");
}

static void class_string(FILE *out, const ev_report_info *info, int c)
{
    char nb[NAME_BUF];
    aa_json_fstr(out, ev_class_name(info, c, nb, sizeof nb));
}

static void time_error(FILE *out, const char *k, const ev_time_error *t, int comma)
{
    key(out, k);
    fputc('{', out);
    kv_count(out, "n", t->n, 1);
    kv_num(out, "mean", t->mean, 1);
    kv_num(out, "mean_abs", t->mean_abs, 1);
    kv_num(out, "median_abs", t->median_abs, 0);
    fputs(comma ? "}," : "}", out);
}

static void counts(FILE *out, const ev_event_counts *c)
{
    kv_count(out, "reference", c->reference, 1);
    kv_count(out, "estimated", c->estimated, 1);
    kv_count(out, "hits", c->hits, 1);
    kv_count(out, "substitutions", c->substitutions, 1);
    kv_count(out, "deletions", c->deletions, 1);
    kv_count(out, "insertions", c->insertions, 1);
    kv_count(out, "false_alarms", c->false_alarms, 1);
    kv_num(out, "precision", c->precision, 1);
    kv_num(out, "recall", c->recall, 1);
    kv_num(out, "f1", c->f1, 1);
    kv_num(out, "error_rate", c->error_rate, 1);
    kv_num(out, "false_alarms_per_hour", c->false_alarms_per_hour, 1);
    time_error(out, "onset_error", &c->onset, 1);
    time_error(out, "offset_error", &c->offset, 0);
}

static void put_reference(FILE *out, const ev_event_eval *s)
{
    key(out, "reference");
    if (!s->reference_name) {
        fputs("null,", out);
        return;
    }
    fputc('{', out);
    key(out, "file");
    aa_json_fstr(out, s->reference_name);
    fputc(',', out);
    kv_count(out, "rows", s->reference_rows, 1);
    kv_count(out, "merged", s->reference_merged, 1);
    key(out, "unscored_files");
    fputc('[', out);
    for (size_t i = 0; i < s->n_unscored; i++) {
        if (i)
            fputc(',', out);
        aa_json_fstr(out, s->unscored[i]);
    }
    fputs("],", out);
    kv_count(out, "unscored_events", s->unscored_events, 0);
    fputs("},", out);
}

int ev_events_report_json(FILE *out, const ev_event_eval *s, const ev_report_info *info, aa_error *err)
{
    const ev_event_opts *o = &s->opts;
    fputs("{\"format\":\"audio-audit-events\",\"version\":1,\"title\":", out);
    aa_json_fstr(out, info ? info->title : NULL);
    fputs(",\"matching\":{", out);
    kv_num(out, "collar_s", o->collar, 1);
    fprintf(out, "\"offset\":%s,", o->offset ? "true" : "false");
    kv_num(out, "offset_length", o->offset_length, 1);
    fputs("\"method\":\"optimal\",", out);
    kv_num(out, "time_allowance_s", EV_EVENT_TIME_EPS, 0);
    fputs("},", out);

    key(out, "classes");
    fputc('[', out);
    for (int c = 0; c < s->k; c++) {
        if (c)
            fputc(',', out);
        class_string(out, info, c);
    }
    fputs("],", out);
    key(out, "ignored_class");
    if (o->ignore_class >= 0)
        class_string(out, info, o->ignore_class);
    else
        fputs("null", out);
    fputs(",\"ignored\":{", out);
    kv_count(out, "reference", s->ignored_reference, 1);
    kv_count(out, "estimated", s->ignored_estimated, 0);
    fputs("},", out);
    put_reference(out, s);
    kv_num(out, "duration_s", s->duration_s, 1);
    kv_count(out, "recordings", s->n_files, 1);

    fputs("\"overall\":{", out);
    counts(out, &s->overall);
    fputs("},\"macro\":{", out);
    kv_count(out, "classes", (size_t)s->macro_classes, 1);
    kv_num(out, "precision", s->macro_precision, 1);
    kv_num(out, "recall", s->macro_recall, 1);
    kv_num(out, "f1", s->macro_f1, 1);
    kv_num(out, "error_rate", s->macro_error_rate, 0);
    fputs("},", out);

    key(out, "per_class");
    fputc('[', out);
    int first = 1;
    for (int c = 0; c < s->k; c++) {
        if (c == o->ignore_class)
            continue;
        fputs(first ? "{" : ",{", out);
        first = 0;
        key(out, "class");
        class_string(out, info, c);
        fputc(',', out);
        counts(out, &s->per_class[c]);
        fputc('}', out);
    }
    fputs("],", out);

    key(out, "files");
    fputc('[', out);
    for (size_t i = 0; i < s->n_files; i++) {
        const ev_event_file *f = &s->files[i];
        fputs(i ? ",{" : "{", out);
        key(out, "file");
        aa_json_fstr(out, f->name);
        fputc(',', out);
        kv_num(out, "duration_s", f->duration_s, 1);
        kv_count(out, "reference", f->reference, 1);
        kv_count(out, "estimated", f->estimated, 1);
        kv_count(out, "hits", f->hits, 1);
        kv_count(out, "substitutions", f->substitutions, 0);
        fputc('}', out);
    }
    fputs("]}\n", out);
    return ev_stream_status(out, "event report JSON", err);
}
