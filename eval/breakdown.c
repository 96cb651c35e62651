/* Figures per source, and what recordings of no class (negatives) were called: eval.h, "per source". */
#include <stdlib.h>
#include <string.h>

#include "eval/eval_internal.h"

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The sorted distinct names of items with want(i), pointers into names[]; *count of them. NULL when out of
 * memory. Caller frees the array (not the names). */
static const char **distinct(size_t n, const char *const *names, const int *labels, int negatives, size_t *count)
{
    const char **v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return NULL;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if ((labels[i] < 0) == negatives)
            v[m++] = names[i];
    qsort(v, m, sizeof *v, by_name);
    size_t u = 0;
    for (size_t i = 0; i < m; i++)
        if (!u || strcmp(v[u - 1], v[i]))
            v[u++] = v[i];
    *count = u;
    return v;
}

ev_eval *ev_evaluate_labelled(size_t n, int k, const int *labels, const float *probs, const ev_gate *gate,
                              aa_error *err)
{
    size_t K = (size_t)k, m = 0;
    int *lab = malloc((n ? n : 1) * sizeof *lab);
    float *pr = malloc((n ? n : 1) * K * sizeof *pr);
    ev_eval *ev = NULL;
    if (!lab || !pr) {
        aa_error_set(err, EV_ERR_NOMEM, "evaluation: out of memory (%zu items)", n);
    } else {
        for (size_t i = 0; i < n; i++) {
            if (labels[i] < 0)
                continue;
            lab[m] = labels[i];
            memcpy(pr + m * K, probs + i * K, K * sizeof *pr);
            m++;
        }
        ev = ev_evaluate(m, k, lab, pr, gate, err);
    }
    free(lab);
    free(pr);
    return ev;
}

static void row_free(ev_negatives_row *r)
{
    free(r->name);
    free(r->called);
}

void ev_breakdown_free(ev_breakdown *b)
{
    if (!b)
        return;
    for (size_t s = 0; s < b->n_sources; s++) {
        free(b->sources[s].name);
        ev_eval_free(b->sources[s].ev);
    }
    free(b->sources);
    row_free(&b->all);
    for (size_t j = 0; j < b->n_kinds; j++)
        row_free(&b->kinds[j]);
    free(b->kinds);
    free(b);
}

static int row_init(ev_negatives_row *r, const char *name, int k)
{
    r->name = strdup(name);
    r->called = calloc((size_t)k + 1, sizeof *r->called);
    return r->name && r->called ? 0 : EV_ERR_NOMEM;
}

static void row_add(ev_negatives_row *r, int k, int called, int expected)
{
    r->n++;
    r->called[called < 0 ? k : called]++;
    r->false_alarms += called >= 0 && called != expected;
}

/* The figures of one source: its recordings with a class, in order. */
static int source_figures(ev_source_figures *f, size_t n, int k, const int *labels, const float *probs,
                          const ev_gate *gate, const char *const *source, const char *name, aa_error *err)
{
    size_t K = (size_t)k, m = 0;
    int *lab = malloc((n ? n : 1) * sizeof *lab);
    float *pr = malloc((n ? n : 1) * K * sizeof *pr);
    unsigned char seen[256] = {0};
    int rc = 0;
    if (!lab || !pr || !(f->name = strdup(name))) {
        rc = aa_error_set(err, EV_ERR_NOMEM, "evaluation: out of memory");
    } else {
        for (size_t i = 0; i < n; i++) {
            if (labels[i] < 0 || strcmp(source[i], name))
                continue;
            lab[m] = labels[i];
            memcpy(pr + m * K, probs + i * K, K * sizeof *pr);
            m++;
            if (labels[i] < 256 && !seen[labels[i]]) {
                seen[labels[i]] = 1;
                f->classes++;
            }
        }
        if (!(f->ev = ev_evaluate(m, k, lab, pr, gate, err)))
            rc = err ? err->code : EV_ERR_ARG;
    }
    free(lab);
    free(pr);
    return rc;
}

ev_breakdown *ev_breakdown_make(size_t n, int k, const int *labels, const float *probs, const ev_gate *gate,
                                const char *const *source, const char *const *kind, int expected, aa_error *err)
{
    if (k < 1 || k > 255 || expected < -1 || expected >= k) {
        aa_error_set(err, EV_ERR_ARG, "breakdown: %d classes, expected class %d", k, expected);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        if (labels[i] < -1 || labels[i] >= k) {
            aa_error_set(err, EV_ERR_ARG, "breakdown: item %zu has label %d (classes are 0..%d, -1 a negative)",
                         i, labels[i], k - 1);
            return NULL;
        }
    ev_breakdown *b = calloc(1, sizeof *b);
    if (!b) {
        aa_error_set(err, EV_ERR_NOMEM, "breakdown: out of memory");
        return NULL;
    }
    b->k = k;
    b->expected = expected;
    int rc = row_init(&b->all, "all", k);
    size_t n_src = 0, n_kinds = 0;
    const char **src = source && !rc ? distinct(n, source, labels, 0, &n_src) : NULL;
    const char *one = "negatives";
    const char **kinds = NULL;
    if (!rc && kind)
        kinds = distinct(n, kind, labels, 1, &n_kinds);
    else if (!rc)
        kinds = &one, n_kinds = 1;
    if (rc || (source && !src) || !kinds || !(b->sources = calloc(n_src ? n_src : 1, sizeof *b->sources)) ||
        !(b->kinds = calloc(n_kinds ? n_kinds : 1, sizeof *b->kinds)))
        rc = aa_error_set(err, EV_ERR_NOMEM, "breakdown: out of memory");
    for (size_t s = 0; !rc && s < n_src; s++) {
        b->n_sources++;
        rc = source_figures(&b->sources[s], n, k, labels, probs, gate, source, src[s], err);
    }
    /* Kinds that occur among the negatives only; with none, no row at all. */
    size_t has_negatives = 0;
    for (size_t i = 0; i < n; i++)
        has_negatives += labels[i] < 0;
    for (size_t j = 0; !rc && has_negatives && j < n_kinds; j++) {
        b->n_kinds++;
        if (row_init(&b->kinds[j], kinds[j], k))
            rc = aa_error_set(err, EV_ERR_NOMEM, "breakdown: out of memory");
    }
    for (size_t i = 0; !rc && i < n; i++) {
        if (labels[i] >= 0)
            continue;
        const float *row = probs + i * (size_t)k;
        for (int c = 0; c < k; c++)
            if (!(row[c] >= 0 && row[c] <= 1.0001f)) {
                rc = aa_error_set(err, EV_ERR_ARG, "breakdown: item %zu has probability %g for class %d", i,
                                  (double)row[c], c);
                break;
            }
        if (rc)
            break;
        int called = ev_gate_withholds_row(gate, row, k) ? -1 : ev_argmax(row, k);
        row_add(&b->all, k, called, expected);
        const char *name = kind ? kind[i] : one;
        const char **hit = bsearch(&name, kinds, n_kinds, sizeof *kinds, by_name);
        row_add(&b->kinds[hit - kinds], k, called, expected);
    }
    if (src)
        free(src);
    if (kinds != &one)
        free(kinds);
    if (rc) {
        ev_breakdown_free(b);
        return NULL;
    }
    return b;
}
