/* aa-infer --eval DATA: labelled recordings classified exactly as `aa-infer CLIP` classifies them
 * (am_classify_file, the model's gate), then eval/'s figures — the route (model.h) and the metrics the
 * trainer's validation and test report use, so they agree on the same files to the last digit. */
#include <errno.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "datasets/datasets.h"
#include "eval/eval.h"
#include "infer/infer.h"
#include "model/drift.h"
#include "util/dist.h"

/* The model's class matching a name from the data (folder name, or the display label). */
static int model_class(const am_model *m, const char *name)
{
    for (int c = 0; c < am_n_classes(m); c++)
        if (!strcmp(am_class_name(m, c), name) || !strcmp(am_class_label(m, c), name))
            return c;
    return -1;
}

static int unknown_class(const am_model *m, const char *where, const char *name, aa_error *err)
{
    char known[1024] = "";
    size_t len = 0;
    for (int c = 0; c < am_n_classes(m) && len < sizeof known; c++)
        len += (size_t)snprintf(known + len, sizeof known - len, "%s%s", c ? ", " : "", am_class_name(m, c));
    return aa_error_set(err, DS_ERR_ARG, "%s: class '%s' is not one the model knows (%s)", where, name, known);
}

void inf_eval_items_free(inf_labelled *it, size_t n)
{
    for (size_t i = 0; it && i < n; i++) {
        free(it[i].path);
        free(it[i].source);
        free(it[i].kind);
    }
    free(it);
}

/* ---- a labelled folder ------------------------------------------------------------------------------------- */

static int side_index(const char *side)
{
    return !side ? DS_SIDE_NONE : !strcmp(side, "train") ? DS_TRAIN : !strcmp(side, "val") ? DS_VAL : DS_TEST;
}

static int warnings_of(const ds_list *l, char **warn)
{
    if (!warn || !l->n_warnings)
        return 0;
    aa_buf b = {0};
    for (size_t i = 0; i < l->n_warnings; i++)
        aa_buf_printf(&b, "aa-infer: warning: %s\n", l->warnings[i].msg);
    *warn = aa_buf_take(&b);
    return 0;
}

/* The recordings of folder data, with their classes mapped to the model's (negatives: every folder is a
 * kind, cls -1). The manifest is read for the sources only: one that cannot be used is a warning, so that
 * a stale one cannot stop an evaluation. */
static int from_folder(const char *data, const char *side, const am_model *m, int negatives, inf_labelled **out,
                       size_t *n_out, char **warn, aa_error *err)
{
    ds_list *l = NULL;
    aa_buf ex = {0};
    for (int c = 0; negatives && c < am_n_classes(m); c++)
        aa_buf_printf(&ex, "%s%s", c ? "," : "", am_class_name(m, c));
    char *exclude = negatives ? aa_buf_take(&ex) : NULL;
    if (negatives && !exclude)
        return aa_error_set(err, AA_ERR_NOMEM, "out of memory");
    ds_list_opts lo = {.manifest_soft = 1, .min_classes = negatives ? 1 : 0, .exclude = exclude,
                       .exclude_why = "named like a class of the model: its recordings are that class, not negatives"};
    int rc = ds_list_load(&l, data, &lo, err);
    free(exclude);
    if (rc)
        return err->code;
    int *map = malloc((size_t)l->n_classes * sizeof *map); /* data class -> model class */
    rc = map ? 0 : aa_error_set(err, AA_ERR_NOMEM, "out of memory");
    for (int c = 0; !rc && c < l->n_classes; c++)
        if ((map[c] = negatives ? -1 : model_class(m, l->classes[c])) < 0 && !negatives)
            rc = unknown_class(m, data, l->classes[c], err);
    if (!rc && side && !l->explicit_sides)
        rc = aa_error_set(err, DS_ERR_ARG, "%s: --side %s, but DATA has no train/val/test folders", data, side);
    inf_labelled *it = rc ? NULL : calloc(l->n_items ? l->n_items : 1, sizeof *it);
    if (!rc && !it)
        rc = aa_error_set(err, AA_ERR_NOMEM, "out of memory");
    size_t n = 0;
    for (size_t i = 0; !rc && i < l->n_items; i++) {
        const ds_item *item = &l->items[i];
        if (side && item->side != side_index(side))
            continue;
        inf_labelled *e = &it[n++];
        e->cls = map[item->cls];
        if (!(e->path = strdup(item->path)) || !(e->source = strdup(l->sources[item->source])) ||
            (negatives && !(e->kind = strdup(l->classes[item->cls]))))
            rc = aa_error_set(err, AA_ERR_NOMEM, "out of memory");
    }
    if (!rc)
        warnings_of(l, warn);
    ds_list_free(l);
    free(map);
    if (rc) {
        inf_eval_items_free(it, n);
        return rc;
    }
    *out = it;
    *n_out = n;
    return 0;
}

int inf_eval_negatives(const char *dir, const char *side, const am_model *m, inf_labelled **items, size_t *n,
                       char **warn, aa_error *err)
{
    if (warn)
        *warn = NULL;
    inf_labelled *neg = NULL;
    size_t nn = 0;
    int rc = from_folder(dir, side, m, 1, &neg, &nn, warn, err);
    if (rc)
        return rc;
    inf_labelled *v = realloc(*items, (*n + nn + 1) * sizeof *v);
    if (!v) {
        inf_eval_items_free(neg, nn);
        return aa_error_set(err, AA_ERR_NOMEM, "out of memory");
    }
    memcpy(v + *n, neg, nn * sizeof *v);
    free(neg);
    *items = v;
    *n += nn;
    return 0;
}

/* ---- a split TSV ---------------------------------------------------------------------------------------- */

/* Splits a line in place at tabs into at most cap fields; returns the count. */
static int split_tabs(char *line, char **f, int cap)
{
    int n = 0;
    for (char *p = line;;) {
        if (n < cap)
            f[n] = p;
        n++;
        char *tab = strchr(p, '\t');
        if (!tab)
            break;
        *tab = '\0';
        p = tab + 1;
    }
    return n < cap ? n : cap;
}

/* aa-train writes tabs, newlines and backslashes inside a field as \t, \n and \\; undone in place. */
static void unescape(char *s)
{
    char *o = s;
    for (; *s; s++) {
        if (*s == '\\' && (s[1] == 't' || s[1] == 'n' || s[1] == '\\')) {
            s++;
            *o++ = *s == 't' ? '\t' : *s == 'n' ? '\n' : '\\';
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
}

/* A path from the TSV: absolute, or relative to the working directory (aa-train writes the paths it was
 * given), or failing that to the TSV's own folder (the TSV moved with its data). */
static char *resolve(const char *tsv, const char *p)
{
    if (p[0] == '/' || access(p, F_OK) == 0)
        return strdup(p);
    const char *slash = strrchr(tsv, '/');
    if (!slash)
        return strdup(p);
    size_t dl = (size_t)(slash - tsv), n = dl + strlen(p) + 2;
    char *q = malloc(n);
    if (!q)
        return NULL;
    snprintf(q, n, "%.*s/%s", (int)dl, tsv, p);
    if (access(q, F_OK) != 0) {
        free(q);
        return strdup(p);
    }
    return q;
}

static int from_tsv(const char *tsv, const char *side, const am_model *m, inf_labelled **out, size_t *n_out,
                    aa_error *err)
{
    FILE *f = fopen(tsv, "rb");
    if (!f)
        return aa_error_set(err, AA_ERR_IO, "%s: cannot open (%s)", tsv, strerror(errno));
    size_t size = 0;
    char *text = (char *)inf_read_all(f, tsv, (size_t)1 << 30, &size, err);
    fclose(f);
    if (!text)
        return err->code;
    char *t = realloc(text, size + 1);
    if (!t) {
        free(text);
        return aa_error_set(err, AA_ERR_NOMEM, "out of memory");
    }
    text = t;
    text[size] = '\0';

    enum { MAXF = 32 };
    int col_path = -1, col_class = -1, col_side = -1, col_source = -1, col_negative = -1, line_no = 0, rc = 0;
    inf_labelled *it = NULL;
    size_t n = 0, cap = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line && !rc; line = strtok_r(NULL, "\n", &save)) {
        line_no++;
        size_t len = strlen(line);
        if (len && line[len - 1] == '\r')
            line[--len] = '\0';
        if (!len)
            continue;
        char *fld[MAXF];
        int nf = split_tabs(line, fld, MAXF);
        for (int i = 0; i < nf; i++)
            unescape(fld[i]);
        if (col_path < 0) { /* the header */
            for (int i = 0; i < nf; i++) {
                if (!strcmp(fld[i], "path")) col_path = i;
                else if (!strcmp(fld[i], "class")) col_class = i;
                else if (!strcmp(fld[i], "side")) col_side = i;
                else if (!strcmp(fld[i], "source")) col_source = i;
                else if (!strcmp(fld[i], "negative")) col_negative = i;
            }
            if (col_path < 0 || col_class < 0)
                rc = aa_error_set(err, DS_ERR_MANIFEST, "%s: line 1: header has no 'path' and 'class' columns", tsv);
            else if (side && col_side < 0)
                rc = aa_error_set(err, DS_ERR_MANIFEST, "%s: --side %s, but the header has no 'side' column", tsv,
                                  side);
            continue;
        }
        int need = col_path > col_class ? col_path : col_class;
        need = col_side > need ? col_side : need;
        need = col_source > need ? col_source : need;
        need = col_negative > need ? col_negative : need;
        if (nf <= need) {
            rc = aa_error_set(err, DS_ERR_MANIFEST, "%s: line %d: %d columns, the header has more", tsv, line_no, nf);
            break;
        }
        if (side && strcmp(fld[col_side], side))
            continue;
        int negative = col_negative >= 0 && !strcmp(fld[col_negative], "1");
        int c = negative ? -1 : model_class(m, fld[col_class]);
        if (c < 0 && !negative) {
            char where[1100];
            snprintf(where, sizeof where, "%s: line %d", tsv, line_no);
            rc = unknown_class(m, where, fld[col_class], err);
            break;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            inf_labelled *v = realloc(it, cap * sizeof *v);
            if (!v) {
                rc = aa_error_set(err, AA_ERR_NOMEM, "out of memory");
                break;
            }
            it = v;
        }
        inf_labelled *e = &it[n++];
        *e = (inf_labelled){.cls = c};
        if (!(e->path = resolve(tsv, fld[col_path])) ||
            !(e->source = strdup(col_source >= 0 ? fld[col_source] : "-")) ||
            (negative && !(e->kind = strdup(fld[col_class])))) {
            rc = aa_error_set(err, AA_ERR_NOMEM, "out of memory");
            break;
        }
    }
    if (!rc && col_path < 0)
        rc = aa_error_set(err, DS_ERR_MANIFEST, "%s: empty (no header line)", tsv);
    free(text);
    if (rc) {
        inf_eval_items_free(it, n);
        return rc;
    }
    *out = it ? it : calloc(1, sizeof *it);
    *n_out = n;
    return *out ? 0 : aa_error_set(err, AA_ERR_NOMEM, "out of memory");
}

int inf_eval_items(const char *data, const char *side, const am_model *m, inf_labelled **out, size_t *n,
                   char **warn, aa_error *err)
{
    *out = NULL;
    *n = 0;
    if (warn)
        *warn = NULL;
    struct stat st;
    if (stat(data, &st) != 0)
        return aa_error_set(err, AA_ERR_IO, "%s: cannot open (%s)", data, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return from_folder(data, side, m, 0, out, n, warn, err);
    return from_tsv(data, side, m, out, n, err);
}

/* ---- under mpirun ------------------------------------------------------------------------------------------ */

/* Rank r classifies recordings r, r + size, ... (interleaved, so that a listing ordered by class or length
 * is shared out evenly); the others' places stay zero. Summing over the ranks is then exact, a value plus
 * zeros, and every rank has every recording's probabilities in listing order, as one process would. */
static int mine(size_t i)
{
    return (int)(i % (size_t)dist_size()) == dist_rank();
}

static int gather_results(float *probs, int *ok, int *drift_code, size_t n, int k, int *failed, aa_error *err)
{
    if (!dist_active())
        return 0;
    if (dist_sum_floats(probs, n * (size_t)k, err) || dist_sum_ints(ok, n, err) ||
        dist_sum_ints(drift_code, n, err))
        return 1;
    *failed = dist_max_int(*failed);
    return 0;
}

/* ---- the command ----------------------------------------------------------------------------------------- */

static int write_reports(const inf_options *o, const ev_eval *ev, const ev_report_info *info, aa_error *err)
{
    if (o->format == INF_JSON) {
        if (ev_report_json(stdout, ev, info, err))
            return 1;
    } else {
        if (ev_report_text(stdout, ev, info, err))
            return 1;
    }
    if (o->svg_dir) {
        if (mkdir(o->svg_dir, 0777) != 0 && errno != EEXIST)
            return aa_error_set(err, AA_ERR_IO, "%s: cannot create the folder (%s)", o->svg_dir, strerror(errno));
        if (ev_svg_save_all(o->svg_dir, ev, info, err))
            return 1;
    }
    return 0;
}

int inf_cmd_eval(const inf_options *o)
{
    aa_error err = {0};
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int slots = o->threads > 0 ? o->threads : cpus > 0 ? (int)cpus : 1;
    am_model *m = inf_open_model(o, slots, &err);
    if (!m) {
        inf_print_error(err.msg);
        return inf_exit_status(&err);
    }
    inf_labelled *items = NULL;
    size_t n = 0;
    char *warn = NULL;
    if (inf_eval_items(o->eval_data, o->side, m, &items, &n, &warn, &err)) {
        inf_print_error(err.msg);
        am_free(m);
        return 1;
    }
    if (warn)
        fprintf(stderr, "%s", warn);
    free(warn);
    for (int j = 0; j < o->n_negatives; j++) {
        if (inf_eval_negatives(o->negatives[j], o->side, m, &items, &n, &warn, &err)) {
            fprintf(stderr, "aa-infer: %s\n", err.msg);
            inf_eval_items_free(items, n);
            am_free(m);
            return 1;
        }
        if (warn)
            fprintf(stderr, "%s", warn);
        free(warn);
    }

    int k = am_n_classes(m), threads = inf_threads_for(o, n), failed = 0;
    if (threads > slots)
        threads = slots;
    int *labels = malloc((n ? n : 1) * sizeof *labels);
    float *probs = calloc((n ? n : 1) * (size_t)k, sizeof *probs); /* [n][k]; zeros: see gather_results */
    int *ok = calloc(n ? n : 1, sizeof *ok);
    /* [n] 2 + the verdict (1 drifted, 0 not, -1 none), 0 until classified: zeros as probs' */
    int *drifted = calloc(n ? n : 1, sizeof *drifted);
    const char **sources = malloc((n ? n : 1) * sizeof *sources), **kinds = malloc((n ? n : 1) * sizeof *kinds);
    ev_eval *ev = NULL;
    ev_breakdown *by = NULL;
    ev_drift_table *drift = NULL;
    int rc = 0;
    if (!labels || !probs || !ok || !sources || !kinds || !drifted) {
        fprintf(stderr, "aa-infer: out of memory\n");
        rc = 1;
        goto done;
    }
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1) ordered reduction(| : failed)
    for (size_t i = 0; i < n; i++) {
        if (!mine(i))
            continue;
        am_file_result r;
        aa_error e = {0};
        int bad = am_classify_file(m, omp_get_thread_num(), items[i].path, o->max_seconds, &r, NULL, &e);
        if (!bad) {
            memcpy(probs + i * (size_t)k, r.result.probs, (size_t)k * sizeof *probs);
            ok[i] = 1;
            drifted[i] = 2 + (r.drift.judged ? r.drift.drifted : -1);
        }
#pragma omp ordered
        if (bad) {
            inf_print_error(e.msg);
            failed = 1;
        }
    }
    if (gather_results(probs, ok, drifted, n, k, &failed, &err))
        dist_abort("aa-infer", err.msg);
    /* Only rank 0 reports; the others have done their share. */
    if (dist_rank() != 0)
        goto done;
    /* Keep the recordings that could be classified, in listing order. */
    size_t used = 0;
    for (size_t i = 0; i < n; i++)
        if (ok[i]) {
            memmove(probs + used * (size_t)k, probs + i * (size_t)k, (size_t)k * sizeof *probs);
            sources[used] = items[i].source;
            kinds[used] = items[i].kind ? items[i].kind : "";
            drifted[used] = drifted[i] - 2;
            labels[used++] = items[i].cls;
        }
    if (used == 0) {
        inf_errorf("%s: no recording could be classified", o->eval_data);
        rc = 1;
        goto done;
    }
    /* Per-class thresholds only when the model (or --threshold) has one, as the trainer's report does, so
     * that the two reports agree to the byte on "gate" too. */
    double th[AM_MAX_CLASSES];
    int per_class = 0;
    for (int c = 0; c < k; c++)
        per_class |= (th[c] = am_class_threshold(m, c)) > 0;
    ev_gate gate = {am_min_confidence(m), per_class ? th : NULL, am_has_unclear(m)};
    /* The classes' figures on the recordings of a class; the negatives have a table of their own. */
    if (!(ev = ev_evaluate_labelled(used, k, labels, probs, &gate, &err)) ||
        !(by = ev_breakdown_make(used, k, labels, probs, &gate, sources, kinds, am_negatives_class(m), &err)) ||
        (am_has_drift(m) && !(drift = ev_drift_table_make(used, sources, drifted, am_drift_threshold(m), &err)))) {
        inf_errorf("%s: %s", o->eval_data, err.msg);
        rc = 1;
        goto done;
    }
    const char *names[AM_MAX_CLASSES];
    for (int c = 0; c < k; c++)
        names[c] = am_class_label(m, c);
    char title[1024];
    snprintf(title, sizeof title, "%s on %s%s%s", o->model, o->eval_data, o->side ? ", side " : "",
             o->side ? o->side : "");
    ev_report_info info = {.title = title, .class_names = names, .unit = "recordings",
                           .temperature = am_temperature(m), .breakdown = by, .drift = drift,
                           .notice = am_disclaimer(m)};
    if (write_reports(o, ev, &info, &err)) {
        fflush(stdout);
        inf_print_error(err.msg);
        rc = 1;
    }
done:
    if (fflush(stdout) != 0) {
        fprintf(stderr, "aa-infer: stdout: write error\n");
        rc = 1;
    }
    ev_eval_free(ev);
    ev_breakdown_free(by);
    ev_drift_table_free(drift);
    free(drifted);
    free(labels);
    free(probs);
    free(ok);
    free(sources);
    free(kinds);
    inf_eval_items_free(items, n);
    am_free(m);
    return rc || failed ? 1 : 0;
}
