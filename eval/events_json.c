/* The event scores for programs: one JSON object on one line, with every figure and the counts behind it
 * (keys in eval.h). */
#include <stdio.h>

#include "eval/events_internal.h"

static void time_error(FILE *out, const char *k, const ev_time_error *t, int comma)
{
    ev_json_key(out, k);
    fputc('{', out);
    ev_json_count(out, "n", t->n, 1);
    ev_json_num(out, "mean", t->mean, 1);
    ev_json_num(out, "mean_abs", t->mean_abs, 1);
    ev_json_num(out, "median_abs", t->median_abs, 0);
    fputs(comma ? "}," : "}", out);
}

static void counts(FILE *out, const ev_event_counts *c)
{
    ev_json_count(out, "reference", c->reference, 1);
    ev_json_count(out, "estimated", c->estimated, 1);
    ev_json_count(out, "hits", c->hits, 1);
    ev_json_count(out, "substitutions", c->substitutions, 1);
    ev_json_count(out, "deletions", c->deletions, 1);
    ev_json_count(out, "insertions", c->insertions, 1);
    ev_json_count(out, "false_alarms", c->false_alarms, 1);
    ev_json_num(out, "precision", c->precision, 1);
    ev_json_num(out, "recall", c->recall, 1);
    ev_json_num(out, "f1", c->f1, 1);
    ev_json_num(out, "error_rate", c->error_rate, 1);
    ev_json_num(out, "false_alarms_per_hour", c->false_alarms_per_hour, 1);
    time_error(out, "onset_error", &c->onset, 1);
    time_error(out, "offset_error", &c->offset, 0);
}

static void put_reference(FILE *out, const ev_event_eval *s)
{
    ev_json_key(out, "reference");
    if (!s->reference_name) {
        fputs("null,", out);
        return;
    }
    fputc('{', out);
    ev_json_key(out, "file");
    aa_json_fstr(out, s->reference_name);
    fputc(',', out);
    ev_json_count(out, "rows", s->reference_rows, 1);
    ev_json_count(out, "merged", s->reference_merged, 1);
    ev_json_key(out, "unscored_files");
    fputc('[', out);
    for (size_t i = 0; i < s->n_unscored; i++) {
        if (i)
            fputc(',', out);
        aa_json_fstr(out, s->unscored[i]);
    }
    fputs("],", out);
    ev_json_count(out, "unscored_events", s->unscored_events, 0);
    fputs("},", out);
}

int ev_events_report_json(FILE *out, const ev_event_eval *s, const ev_report_info *info, aa_error *err)
{
    const ev_event_opts *o = &s->opts;
    fputs("{\"format\":\"audio-audit-events\",\"version\":1,\"title\":", out);
    aa_json_fstr(out, info ? info->title : NULL);
    fputs(",\"matching\":{", out);
    ev_json_num(out, "collar_s", o->collar, 1);
    fprintf(out, "\"offset\":%s,", o->offset ? "true" : "false");
    ev_json_num(out, "offset_length", o->offset_length, 1);
    fprintf(out, "\"overlap\":%s,", o->overlap ? "true" : "false");
    fputs("\"method\":\"optimal\",", out);
    ev_json_num(out, "time_allowance_s", EV_EVENT_TIME_EPS, 0);
    fputs("},", out);

    ev_json_key(out, "classes");
    fputc('[', out);
    for (int c = 0; c < s->k; c++) {
        if (c)
            fputc(',', out);
        ev_json_class(out, info, c);
    }
    fputs("],", out);
    ev_json_key(out, "ignored_class");
    if (o->ignore_class >= 0)
        ev_json_class(out, info, o->ignore_class);
    else
        fputs("null", out);
    fputs(",\"ignored\":{", out);
    ev_json_count(out, "reference", s->ignored_reference, 1);
    ev_json_count(out, "estimated", s->ignored_estimated, 0);
    fputs("},", out);
    put_reference(out, s);
    ev_json_num(out, "duration_s", s->duration_s, 1);
    ev_json_count(out, "recordings", s->n_files, 1);

    fputs("\"overall\":{", out);
    counts(out, &s->overall);
    fputs("},\"macro\":{", out);
    ev_json_count(out, "classes", (size_t)s->macro_classes, 1);
    ev_json_num(out, "precision", s->macro_precision, 1);
    ev_json_num(out, "recall", s->macro_recall, 1);
    ev_json_num(out, "f1", s->macro_f1, 1);
    ev_json_num(out, "error_rate", s->macro_error_rate, 0);
    fputs("},", out);

    ev_json_key(out, "per_class");
    fputc('[', out);
    int first = 1;
    for (int c = 0; c < s->k; c++) {
        if (c == o->ignore_class)
            continue;
        fputs(first ? "{" : ",{", out);
        first = 0;
        ev_json_key(out, "class");
        ev_json_class(out, info, c);
        fputc(',', out);
        counts(out, &s->per_class[c]);
        fputc('}', out);
    }
    fputs("],", out);

    ev_json_key(out, "files");
    fputc('[', out);
    for (size_t i = 0; i < s->n_files; i++) {
        const ev_event_file *f = &s->files[i];
        fputs(i ? ",{" : "{", out);
        ev_json_key(out, "file");
        aa_json_fstr(out, f->name);
        fputc(',', out);
        ev_json_num(out, "duration_s", f->duration_s, 1);
        ev_json_count(out, "reference", f->reference, 1);
        ev_json_count(out, "estimated", f->estimated, 1);
        ev_json_count(out, "hits", f->hits, 1);
        ev_json_count(out, "substitutions", f->substitutions, 0);
        fputc('}', out);
    }
    fputc(']', out);
    if (info && info->notice) {
        fputc(',', out);
        ev_json_key(out, "disclaimer");
        aa_json_fstr(out, info->notice);
    }
    fputs("}\n", out);
    return ev_stream_status(out, "event report JSON", err);
}
