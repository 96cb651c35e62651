/* The training summary as JSON. */
#include <stdlib.h>
#include <string.h>

#include "train/summary.h"

static void counts(FILE *f, const size_t *a /* [DS_N_SIDES][k] */, int k)
{
    fputc('{', f);
    for (int s = 0; s < DS_N_SIDES; s++) {
        fprintf(f, "%s\"%s\": [", s ? ", " : "", ds_side_name(s));
        for (int c = 0; c < k; c++)
            fprintf(f, "%s%zu", c ? ", " : "", a[(size_t)s * (size_t)k + (size_t)c]);
        fputc(']', f);
    }
    fputc('}', f);
}

/* The fingerprint's key=value lines as one JSON object of strings. */
static void settings(FILE *f, const tr_options *o)
{
    char *fp = tr_options_fingerprint(o);
    fputc('{', f);
    int first = 1;
    for (char *line = fp, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        else
            next = line + strlen(line);
        char *eq = strchr(line, '=');
        if (!eq)
            continue;
        *eq = '\0';
        fputs(first ? "" : ", ", f);
        first = 0;
        aa_json_fstr(f, line);
        fputs(": ", f);
        aa_json_fstr(f, eq + 1);
    }
    fputc('}', f);
    free(fp);
}

static void figures(FILE *f, const ev_eval *ev)
{
    fprintf(f, "{\"n\": %zu, \"accuracy\": ", ev->n);
    aa_json_fnum(f, ev->accuracy);
    fputs(", \"macro_f1\": ", f);
    aa_json_fnum(f, ev->macro_f1);
    fprintf(f, ", \"covered\": %zu, \"coverage\": ", ev->covered);
    aa_json_fnum(f, ev->coverage);
    fputs(", \"selective_accuracy\": ", f);
    aa_json_fnum(f, ev->selective_accuracy);
    fputs(", \"ece\": ", f);
    aa_json_fnum(f, ev->ece);
    fputs(", \"confusion\": [", f);
    for (int r = 0; r < ev->k; r++) {
        fputs(r ? ", [" : "[", f);
        for (int c = 0; c <= ev->k; c++)
            fprintf(f, "%s%zu", c ? ", " : "", ev->confusion[(size_t)r * (size_t)(ev->k + 1) + (size_t)c]);
        fputc(']', f);
    }
    fputs("], \"confusion_argmax\": [", f);
    for (int r = 0; r < ev->k; r++) {
        fputs(r ? ", [" : "[", f);
        for (int c = 0; c < ev->k; c++)
            fprintf(f, "%s%zu", c ? ", " : "", ev->confusion_argmax[(size_t)r * (size_t)ev->k + (size_t)c]);
        fputc(']', f);
    }
    fputs("]}", f);
}

static const char *base_name(const char *path, char *buf, size_t n)
{
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        len--;
    size_t start = len;
    while (start > 0 && path[start - 1] != '/')
        start--;
    snprintf(buf, n, "%.*s", (int)(len - start), path + start);
    return buf;
}

void tr_gate_note(const tr_calibration *cal, const tr_options *o, char *buf, size_t cap)
{
    const ev_threshold_pick *g = &cal->gate->global;
    if (g->status == EV_GATE_TOO_FEW)
        snprintf(buf, cap, "the gate could not be fitted: %zu validation recordings, fewer than the %d "
                           "--gate-min-covered asks, so it withholds nothing", g->items, o->gate_min_covered);
    else if (g->status == EV_GATE_BEST)
        snprintf(buf, cap, "the gate did not reach its target: no threshold gives selective accuracy %.2f on "
                           "validation; it keeps the best one (%.3f at threshold %.3f)", o->gate_target,
                 g->selective_accuracy, g->threshold);
    else
        buf[0] = 0;
}

char *tr_summary_json(const tr_data *d, const tr_options *o, const tr_run *r, const tr_calibration *cal,
                      const char *cal_unit, const tr_test *test)
{
    char *s = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&s, &n);
    if (!f)
        return NULL;
    char name[256];
    fputs("{\"format\": \"audio-audit-training\", \"version\": 1, \"data\": {\"name\": ", f);
    aa_json_fstr(f, base_name(d->list->root, name, sizeof name));
    fputs(", \"classes\": [", f);
    for (int c = 0; c < d->k; c++) {
        fputs(c ? ", " : "", f);
        aa_json_fstr(f, d->cache->classes[c]);
    }
    fprintf(f, "], \"task\": \"%s\", \"recordings\": %zu, \"skipped\": %zu, \"groups\": %zu, \"files\": ",
            am_task_name(d->task), d->list->n_items, d->skipped, d->list->n_groups);
    counts(f, d->file_count, d->k);
    fputs(", \"windows\": ", f);
    counts(f, d->win_count, d->k);
    fputs(", \"group_counts\": ", f);
    counts(f, d->group_count, d->k);
    fputs(", \"class_weights\": [", f);
    for (int c = 0; c < d->k; c++) {
        fputs(c ? ", " : "", f);
        aa_json_fnum(f, d->class_weight[c]);
    }
    fputs("]}, \"settings\": ", f);
    settings(f, o);
    fprintf(f, ", \"training\": {\"epochs_run\": %d, \"best_epoch\": %d, \"stopped_early\": %s, \"history\": [",
            r->n_history, r->best_epoch, r->stopped_early ? "true" : "false");
    for (int i = 0; i < r->n_history; i++) {
        const tr_epoch *e = &r->history[i];
        fprintf(f, "%s{\"epoch\": %d, \"lr\": ", i ? ", " : "", e->epoch);
        aa_json_fnum(f, e->lr);
        fputs(", \"train_loss\": ", f);
        aa_json_fnum(f, e->train_loss);
        fputs(", \"train_accuracy\": ", f);
        aa_json_fnum(f, e->train_accuracy);
        fputs(", \"val_loss\": ", f);
        aa_json_fnum(f, e->val_loss);
        fputs(", \"val_accuracy\": ", f);
        aa_json_fnum(f, e->val_accuracy);
        fputs(", \"val_macro_f1\": ", f);
        aa_json_fnum(f, e->val_macro_f1);
        fputs(", \"val_recording_macro_f1\": ", f);
        aa_json_fnum(f, e->val_rec_macro_f1);
        fputc('}', f);
    }
    fputs("]}, \"calibration\": {\"unit\": ", f);
    aa_json_fstr(f, cal_unit);
    char agg[AM_AGGREGATE_TEXT_MAX];
    am_aggregate_format(&d->aggregate, agg, sizeof agg);
    fputs(", \"aggregate\": ", f);
    aa_json_fstr(f, agg);
    fprintf(f, ", \"n\": %zu, \"temperature\": ", cal->fit.n);
    aa_json_fnum(f, cal->temperature);
    fputs(", \"fitted_temperature\": ", f);
    aa_json_fnum(f, cal->fit.t);
    fputs(", \"ece_before\": ", f);
    aa_json_fnum(f, cal->fit.ece_before);
    fputs(", \"ece_after\": ", f);
    aa_json_fnum(f, cal->fit.ece_after);
    fputs(", \"gate_target\": ", f);
    aa_json_fnum(f, o->gate_target);
    fputs(", \"gate_status\": ", f);
    aa_json_fstr(f, ev_gate_status_name(cal->gate->global.status));
    /* said in words too, so that a reader of the model's summary need not know the statuses */
    fprintf(f, ", \"gate_fitted\": %s, \"gate_note\": ", cal->gate->global.status == EV_GATE_MET ? "true" : "false");
    char note[256];
    tr_gate_note(cal, o, note, sizeof note);
    aa_json_fstr(f, note[0] ? note : NULL);
    fputs(", \"min_confidence\": ", f);
    aa_json_fnum(f, cal->gate->gate.min_confidence);
    fputs(", \"class_thresholds\": ", f);
    if (cal->gate->class_threshold) {
        fputc('[', f);
        for (int c = 0; c < cal->gate->k; c++) {
            fputs(c ? ", " : "", f);
            aa_json_fnum(f, cal->gate->class_threshold[c]);
        }
        fputc(']', f);
    } else {
        fputs("null", f);
    }
    fputs(", \"validation\": ", f);
    figures(f, cal->eval);
    fputs("}, \"test\": ", f);
    if (test) {
        fputs("{\"recordings\": ", f);
        figures(f, test->rec);
        fputs(", \"windows\": ", f);
        figures(f, test->win);
        fputc('}', f);
    } else {
        fputs("null", f);
    }
    fputs("}", f);
    if (fclose(f)) {
        free(s);
        return NULL;
    }
    return s;
}
