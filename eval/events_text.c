/* The event scores for people: the matching rule, per-class and overall figures with their counts, the
 * error rate, timing errors and one line per recording. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/events_internal.h"

#define NAME_BUF 256
#define CELL 48     /* bytes of one table cell */
#define MAX_COLS 10

/* A table is rendered into cells first, so that every column is as wide as its widest cell. */
typedef struct {
    size_t rows, cols, cap;
    char (*cell)[MAX_COLS][CELL]; /* [cap][MAX_COLS] */
    size_t width[MAX_COLS];
    int oom;
} table;

static char *cell(table *t, size_t r, size_t c)
{
    return t->cell[r][c];
}

static size_t add_row(table *t)
{
    if (t->rows == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        void *v = realloc(t->cell, cap * sizeof *t->cell);
        if (!v) {
            t->oom = 1;
            return t->rows ? t->rows - 1 : 0; /* overwrite the last row: the report then fails */
        }
        t->cell = v;
        t->cap = cap;
    }
    memset(t->cell[t->rows], 0, sizeof *t->cell);
    return t->rows++;
}

static void set(table *t, size_t r, size_t c, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void set(table *t, size_t r, size_t c, const char *fmt, ...)
{
    if (!t->cell)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cell(t, r, c), CELL, fmt, ap);
    va_end(ap);
}

/* The first column left-aligned (names; UTF-8 aware), the others right-aligned, two spaces apart. */
static void print_table(FILE *out, table *t)
{
    if (!t->cell)
        return;
    for (size_t c = 0; c < t->cols; c++) {
        t->width[c] = 0;
        for (size_t r = 0; r < t->rows; r++) {
            size_t w = ev_utf8_width(cell(t, r, c));
            t->width[c] = w > t->width[c] ? w : t->width[c];
        }
    }
    for (size_t r = 0; r < t->rows; r++) {
        size_t last = t->cols; /* no trailing spaces: stop after the last cell with text */
        while (last > 1 && !cell(t, r, last - 1)[0])
            last--;
        for (size_t c = 0; c < last; c++) {
            const char *s = cell(t, r, c);
            size_t pad = t->width[c] - ev_utf8_width(s);
            if (c)
                fprintf(out, "  %*s%s", (int)pad, "", s);
            else
                fprintf(out, "%s%*s", s, (int)pad, "");
        }
        fputc('\n', out);
    }
}

/* ---- the sections ---------------------------------------------------------------------------------------- */

static void put_header(FILE *out, const ev_event_eval *s, const ev_report_info *info)
{
    if (info && info->title)
        fprintf(out, "%s\n", info->title);
    fprintf(out, "Event-based scores: %zu recording%s, %.1f s of audio (%.3f h)\n", s->n_files,
            s->n_files == 1 ? "" : "s", s->duration_s, s->duration_s / 3600);
    const ev_event_opts *o = &s->opts;
    if (o->overlap)
        fprintf(out, "a hit: an estimate of a reference event's class in its recording that overlaps the event\n"
                     "       widened by %.3f s on each side;\n", o->collar);
    else {
        fprintf(out, "a hit: an estimate of a reference event's class in its recording, the onsets at most %.3f s "
                     "apart", o->collar);
        if (o->offset)
            fprintf(out, ",\n       the offsets at most max(%.3f s, %g %% of the reference event's length) apart;\n",
                    o->collar, 100 * o->offset_length);
        else
            fputs(";\n       offsets not compared (their errors are below);\n", out);
    }
    fputs("       each event in at most one hit (maximum bipartite matching, as sed_eval's 'optimal')\n", out);
    if (s->reference_name) {
        fprintf(out, "reference: %s, %zu event%s from %zu row%s", s->reference_name, s->overall.reference +
                s->ignored_reference, s->overall.reference + s->ignored_reference == 1 ? "" : "s",
                s->reference_rows, s->reference_rows == 1 ? "" : "s");
        if (s->reference_merged)
            fprintf(out, " (%zu overlapping row%s of one class merged)", s->reference_merged,
                    s->reference_merged == 1 ? "" : "s");
        fputc('\n', out);
        if (s->n_unscored) {
            fprintf(out, "reference files that are none of the recordings scored (their %zu event%s not counted):",
                    s->unscored_events, s->unscored_events == 1 ? " is" : "s are");
            for (size_t i = 0; i < s->n_unscored; i++) {
                char q[EV_QUOTE_BUF];
                if (i == 8) {
                    fprintf(out, " and %zu more", s->n_unscored - 8);
                    break;
                }
                fprintf(out, "%s %s", i ? "," : "", ev_events_printable(s->unscored[i], q, sizeof q));
            }
            fputc('\n', out);
        }
    }
    if (o->ignore_class >= 0) {
        char nb[NAME_BUF];
        fprintf(out, "left out: %s (%zu reference, %zu estimated event%s)\n",
                ev_class_name_text(info, o->ignore_class, nb, sizeof nb), s->ignored_reference, s->ignored_estimated,
                s->ignored_estimated == 1 ? "" : "s");
    }
    fputc('\n', out);
}

static void count_row(table *t, const char *name, const ev_event_counts *c)
{
    size_t r = add_row(t);
    set(t, r, 0, "%s", name);
    set(t, r, 1, "%zu", c->reference);
    set(t, r, 2, "%zu", c->estimated);
    set(t, r, 3, "%zu", c->hits);
    set(t, r, 4, "%.3f (%zu/%zu)", c->precision, c->hits, c->estimated);
    set(t, r, 5, "%.3f (%zu/%zu)", c->recall, c->hits, c->reference);
    set(t, r, 6, "%.3f", c->f1);
    set(t, r, 7, "%.3f (%zu/%zu)", c->error_rate, c->substitutions + c->deletions + c->insertions, c->reference);
    set(t, r, 8, "%zu (%.1f/h)", c->false_alarms, c->false_alarms_per_hour);
}

static int put_counts(FILE *out, const ev_event_eval *s, const ev_report_info *info)
{
    table t = {.cols = 9};
    size_t r = add_row(&t);
    static const char *const head[9] = {"class", "reference", "estimated", "hits", "precision", "recall", "F1",
                                        "error rate", "false alarms"};
    for (size_t c = 0; c < 9; c++)
        set(&t, r, c, "%s", head[c]);
    for (int c = 0; c < s->k; c++) {
        if (c == s->opts.ignore_class)
            continue;
        char nb[NAME_BUF];
        count_row(&t, ev_class_name_text(info, c, nb, sizeof nb), &s->per_class[c]);
    }
    count_row(&t, "overall (micro)", &s->overall);
    r = add_row(&t);
    set(&t, r, 0, "macro (%d class%s)", s->macro_classes, s->macro_classes == 1 ? "" : "es");
    set(&t, r, 4, "%.3f", s->macro_precision);
    set(&t, r, 5, "%.3f", s->macro_recall);
    set(&t, r, 6, "%.3f", s->macro_f1);
    set(&t, r, 7, "%.3f", s->macro_error_rate);
    print_table(out, &t);
    int oom = t.oom || !t.cell;
    free(t.cell);
    fputs("(per class: error rate = (deletions + insertions) / reference; macro: the mean over the classes with "
          "events)\n",
          out);

    const ev_event_counts *o = &s->overall;
    fprintf(out, "\nerror rate %.3f = (%zu substitution%s + %zu deletion%s + %zu insertion%s) / %zu reference "
                 "event%s\n  substitution rate %.3f, deletion rate %.3f, insertion rate %.3f\n",
            o->error_rate, o->substitutions, o->substitutions == 1 ? "" : "s", o->deletions,
            o->deletions == 1 ? "" : "s", o->insertions, o->insertions == 1 ? "" : "s", o->reference,
            o->reference == 1 ? "" : "s", ev_ratio(o->substitutions, o->reference),
            ev_ratio(o->deletions, o->reference), ev_ratio(o->insertions, o->reference));
    fprintf(out, "false alarms %zu in %.1f s of audio: %.1f per hour (%zu of them substitution%s)\n\n",
            o->false_alarms, s->duration_s, o->false_alarms_per_hour, o->substitutions,
            o->substitutions == 1 ? "" : "s");
    return oom;
}

static void time_cells(table *t, size_t r, size_t c0, const ev_time_error *e)
{
    if (!e->n) {
        for (size_t c = 0; c < 3; c++)
            set(t, r, c0 + c, "-");
        return;
    }
    set(t, r, c0, "%.3f", e->median_abs);
    set(t, r, c0 + 1, "%.3f", e->mean_abs);
    set(t, r, c0 + 2, "%+.3f", e->mean);
}

static int put_timing(FILE *out, const ev_event_eval *s, const ev_report_info *info)
{
    fputs("timing of the hits in seconds (e = estimate - reference; e > 0: the estimate is late)\n", out);
    table t = {.cols = 8};
    size_t r = add_row(&t);
    static const char *const head[8] = {"class", "hits", "onset median |e|", "mean |e|", "mean e",
                                        "offset median |e|", "mean |e|", "mean e"};
    for (size_t c = 0; c < 8; c++)
        set(&t, r, c, "%s", head[c]);
    for (int c = -1; c < s->k; c++) {
        if (c >= 0 && c == s->opts.ignore_class)
            continue;
        const ev_event_counts *m = c < 0 ? &s->overall : &s->per_class[c];
        char nb[NAME_BUF];
        r = add_row(&t);
        set(&t, r, 0, "%s", c < 0 ? "overall" : ev_class_name_text(info, c, nb, sizeof nb));
        set(&t, r, 1, "%zu", m->hits);
        time_cells(&t, r, 2, &m->onset);
        time_cells(&t, r, 5, &m->offset);
    }
    /* the overall row first in the loop, last in the table */
    if (t.cell && t.rows > 2) {
        char keep[MAX_COLS][CELL];
        memcpy(keep, t.cell[1], sizeof keep);
        memmove(t.cell[1], t.cell[2], (t.rows - 2) * sizeof *t.cell);
        memcpy(t.cell[t.rows - 1], keep, sizeof keep);
    }
    print_table(out, &t);
    int oom = t.oom || !t.cell;
    free(t.cell);
    fputc('\n', out);
    return oom;
}

static int put_files(FILE *out, const ev_event_eval *s)
{
    table t = {.cols = 6};
    size_t r = add_row(&t);
    static const char *const head[6] = {"recording", "duration (s)", "reference", "estimated", "hits",
                                        "substitutions"};
    for (size_t c = 0; c < 6; c++)
        set(&t, r, c, "%s", head[c]);
    for (size_t i = 0; i < s->n_files; i++) {
        const ev_event_file *f = &s->files[i];
        char q[EV_QUOTE_BUF];
        r = add_row(&t);
        if (f->name)
            set(&t, r, 0, "%s", ev_events_printable(f->name, q, sizeof q));
        else
            set(&t, r, 0, "recording %zu", i + 1);
        set(&t, r, 1, "%.1f", f->duration_s);
        set(&t, r, 2, "%zu", f->reference);
        set(&t, r, 3, "%zu", f->estimated);
        set(&t, r, 4, "%zu", f->hits);
        set(&t, r, 5, "%zu", f->substitutions);
    }
    print_table(out, &t);
    int oom = t.oom || !t.cell;
    free(t.cell);
    return oom;
}

int ev_events_report_text(FILE *out, const ev_event_eval *s, const ev_report_info *info, aa_error *err)
{
    put_header(out, s, info);
    int oom = put_counts(out, s, info);
    oom |= put_timing(out, s, info);
    oom |= put_files(out, s);
    if (info && info->notice)
        fprintf(out, "%s\n", info->notice);
    int rc = ev_stream_status(out, "event report", err);
    if (!rc && oom)
        rc = aa_error_set(err, EV_ERR_NOMEM, "event report: out of memory (%zu recordings)", s->n_files);
    return rc;
}
