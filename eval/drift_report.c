/* How many recordings of each source an evaluation found drifted (unlike the model's training recordings,
 * model/drift.h): a table the text and JSON reports end with, beside the per-source figures. */
#include <stdlib.h>
#include <string.h>

#include "eval/eval_internal.h"

void ev_drift_table_free(ev_drift_table *t)
{
    if (!t)
        return;
    free(t->rows);
    free(t);
}

ev_drift_table *ev_drift_table_make(size_t n, const char *const *source, const int *drifted, double threshold,
                                    aa_error *err)
{
    ev_drift_table *t = calloc(1, sizeof *t);
    if (!t || !(t->rows = calloc(n ? n : 1, sizeof *t->rows))) {
        ev_drift_table_free(t);
        aa_error_set(err, EV_ERR_NOMEM, "out of memory");
        return NULL;
    }
    t->threshold = threshold;
    for (size_t i = 0; i < n; i++) {
        if (drifted[i] < 0)
            continue;
        const char *name = source && source[i] ? source[i] : "-";
        size_t r = 0; /* sources in order of first appearance; a few dozen at most, so a linear search */
        while (r < t->n_rows && strcmp(t->rows[r].source, name))
            r++;
        if (r == t->n_rows)
            t->rows[t->n_rows++].source = name;
        t->rows[r].n++;
        t->rows[r].drifted += drifted[i] > 0;
        t->n++;
        t->drifted += drifted[i] > 0;
    }
    return t;
}

void ev_drift_text(FILE *out, const ev_drift_table *t, const ev_report_info *info)
{
    size_t w = strlen("all");
    for (size_t r = 0; r < t->n_rows; r++)
        w = ev_utf8_width(t->rows[r].source) > w ? ev_utf8_width(t->rows[r].source) : w;
    w = w < strlen("source") ? strlen("source") : w;
    fprintf(out, "\nDrift (%s unlike the training recordings: drift score above the model's %.3f)\n",
            info && info->unit ? info->unit : "items", t->threshold);
    fprintf(out, "source%*s %6s %8s %7s\n", (int)(w + 2 - strlen("source")), "", "n", "drifted", "share");
    for (size_t r = 0; r <= t->n_rows; r++) {
        const char *name = r < t->n_rows ? t->rows[r].source : "all";
        size_t n = r < t->n_rows ? t->rows[r].n : t->n, d = r < t->n_rows ? t->rows[r].drifted : t->drifted;
        fputs(name, out);
        fprintf(out, "%*s %6zu %8zu %6.1f%%\n", (int)(w + 2 - ev_utf8_width(name)), "", n, d, 100 * ev_ratio(d, n));
    }
}

void ev_drift_json(FILE *out, const ev_drift_table *t)
{
    fputs("\"drift\":{", out);
    ev_json_num(out, "threshold", t->threshold, 1);
    ev_json_count(out, "n", t->n, 1);
    ev_json_count(out, "drifted", t->drifted, 1);
    ev_json_key(out, "sources");
    fputc('[', out);
    for (size_t r = 0; r < t->n_rows; r++) {
        fputs(r ? ",\n  {" : "\n  {", out);
        ev_json_key(out, "source");
        aa_json_fstr(out, t->rows[r].source);
        fputc(',', out);
        ev_json_count(out, "n", t->rows[r].n, 1);
        ev_json_count(out, "drifted", t->rows[r].drifted, 0);
        fputc('}', out);
    }
    fputs("]},\n", out);
}
