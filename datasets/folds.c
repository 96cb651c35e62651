/* Cross-validation folds: a manifest's `fold` column as given, or n grouped, stratified folds made the way
 * the split is made (datasets.h, "cross-validation folds"). */
#include <stdlib.h>
#include <string.h>

#include "datasets/ds_internal.h"

/* Moves stop when the cost falls by less than this: rounding noise, not balance. */
#define EPS 1e-12
#define MAX_PASSES 100

void ds_folds_free(ds_folds *f)
{
    if (!f)
        return;
    free(f->fold);
    free(f->label);
    free(f);
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int from_manifest(ds_folds *f, const ds_list *l, aa_error *err)
{
    int *vals = malloc((l->n_items ? l->n_items : 1) * sizeof *vals);
    if (!vals)
        return aa_error_set(err, DS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < l->n_items; i++) {
        if (l->items[i].fold < 0) {
            free(vals);
            char *s = ds_printable(l->items[i].rel);
            int rc = aa_error_set(err, DS_ERR_MANIFEST, "%s: %s has no fold in the manifest's fold column, which "
                                  "other files have (every file needs one)", l->manifest_path ? l->manifest_path : l->root,
                                  s ? s : "?");
            free(s);
            return rc;
        }
        vals[i] = l->items[i].fold;
    }
    qsort(vals, l->n_items, sizeof *vals, cmp_int);
    int n = 0;
    for (size_t i = 0; i < l->n_items; i++)
        if (!i || vals[i] != vals[i - 1])
            vals[n++] = vals[i];
    if (n < 2 || n > DS_MAX_FOLDS) {
        free(vals);
        return aa_error_set(err, DS_ERR_SPLIT, "%s: the manifest's fold column names %d fold%s (2..%d needed)",
                            l->manifest_path ? l->manifest_path : l->root, n, n == 1 ? "" : "s", DS_MAX_FOLDS);
    }
    f->n = n;
    f->from_manifest = 1;
    f->label = vals;
    for (size_t i = 0; i < l->n_items; i++)
        f->fold[i] = (int)((int *)bsearch(&l->items[i].fold, vals, (size_t)n, sizeof *vals, cmp_int) - vals);
    return 0;
}

typedef struct {
    double total;
    size_t rank, unit;
} unit_key;

static int cmp_key(const void *x, const void *y)
{
    const unit_key *a = x, *b = y;
    if (a->total != b->total)
        return a->total > b->total ? -1 : 1;
    return a->rank < b->rank ? -1 : a->rank > b->rank;
}

/* The cost change of unit u's counts c[K] leaving fold `from` (-1: unplaced) for fold `to`: the squared
 * error of each fold x class count against its target, relative to the class total. */
static double delta(const double *cnt, const int *c, const double *t, const double *inv, int K, int from, int to)
{
    double d = 0;
    for (int k = 0; k < K; k++) {
        if (!c[k])
            continue;
        double at = cnt[to * K + k] - t[k];
        d += inv[k] * ((at + c[k]) * (at + c[k]) - at * at);
        if (from >= 0) {
            double af = cnt[from * K + k] - t[k];
            d += inv[k] * ((af - c[k]) * (af - c[k]) - af * af);
        }
    }
    return d;
}

static int make(ds_folds *f, const ds_list *l, int n, uint64_t seed, aa_error *err)
{
    int K = l->n_classes, rc = 0;
    size_t G = l->n_groups;
    if ((size_t)n > G)
        return aa_error_set(err, DS_ERR_SPLIT, "%s: %d folds asked for, but only %zu group%s to share out",
                            l->root, n, G, G == 1 ? "" : "s");
    int *c = calloc((G ? G : 1) * (size_t)K, sizeof *c);
    double *cnt = calloc((size_t)n * (size_t)K, sizeof *cnt), *t = calloc((size_t)K, sizeof *t);
    double *inv = calloc((size_t)K, sizeof *inv);
    int *fold_of = malloc((G ? G : 1) * sizeof *fold_of);
    size_t *order = malloc((G ? G : 1) * sizeof *order);
    unit_key *key = malloc((G ? G : 1) * sizeof *key);
    if (!c || !cnt || !t || !inv || !fold_of || !order || !key || !(f->label = malloc((size_t)n * sizeof *f->label))) {
        rc = aa_error_set(err, DS_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < l->n_items; i++)
        c[l->items[i].group * (size_t)K + (size_t)l->items[i].cls]++;
    for (int k = 0; k < K; k++) {
        double tot = 0;
        for (size_t g = 0; g < G; g++)
            tot += c[g * (size_t)K + (size_t)k];
        t[k] = tot / n;
        inv[k] = tot > 0 ? 1.0 / (tot * tot) : 0;
    }
    aa_rng rng;
    aa_rng_seed(&rng, seed);
    for (size_t g = 0; g < G; g++)
        order[g] = g;
    aa_rng_shuffle(&rng, order, G);
    /* Largest groups first (the hardest to fit), ties in the seeded order. */
    for (size_t r = 0; r < G; r++) {
        double tot = 0;
        for (int k = 0; k < K; k++)
            tot += c[order[r] * (size_t)K + (size_t)k];
        key[r] = (unit_key){tot, r, order[r]};
    }
    qsort(key, G, sizeof *key, cmp_key);
    for (size_t r = 0; r < G; r++)
        order[r] = key[r].unit;
    for (size_t r = 0; r < G; r++) {
        size_t g = order[r];
        const int *cg = c + g * (size_t)K;
        int best = 0, ties = 0;
        double best_d = 0;
        for (int j = 0; j < n; j++) {
            double d = delta(cnt, cg, t, inv, K, -1, j);
            if (!j || d < best_d - EPS)
                best = j, best_d = d, ties = 1;
            else if (d <= best_d + EPS && aa_rng_below(&rng, (uint64_t)++ties) == 0)
                best = j; /* an even choice among equal folds, so that no fold is favoured by its index */
        }
        fold_of[g] = best;
        for (int k = 0; k < K; k++)
            cnt[best * K + k] += cg[k];
    }
    for (int pass = 0; pass < MAX_PASSES; pass++) {
        int improved = 0;
        for (size_t r = 0; r < G; r++) {
            size_t g = order[r];
            const int *cg = c + g * (size_t)K;
            int from = fold_of[g], best = -1;
            double best_d = -EPS;
            for (int j = 0; j < n; j++) {
                if (j == from)
                    continue;
                double d = delta(cnt, cg, t, inv, K, from, j);
                if (d < best_d)
                    best = j, best_d = d;
            }
            if (best < 0)
                continue;
            for (int k = 0; k < K; k++) {
                cnt[from * K + k] -= cg[k];
                cnt[best * K + k] += cg[k];
            }
            fold_of[g] = best;
            improved = 1;
        }
        if (!improved)
            break;
    }
    for (int j = 0; j < n; j++) {
        double tot = 0;
        for (int k = 0; k < K; k++)
            tot += cnt[j * K + k];
        if (tot <= 0) {
            rc = aa_error_set(err, DS_ERR_SPLIT, "%s: fold %d of %d holds no recording (groups too uneven)", l->root,
                              j + 1, n);
            goto out;
        }
        f->label[j] = j + 1;
    }
    f->n = n;
    for (size_t i = 0; i < l->n_items; i++)
        f->fold[i] = fold_of[l->items[i].group];
out:
    free(c);
    free(cnt);
    free(t);
    free(inv);
    free(fold_of);
    free(order);
    free(key);
    return rc;
}

int ds_list_has_folds(const ds_list *l)
{
    for (size_t i = 0; i < l->n_items; i++)
        if (l->items[i].fold >= 0)
            return 1;
    return 0;
}

int ds_folds_make(ds_folds **out, const ds_list *l, int n_folds, uint64_t seed, aa_error *err)
{
    *out = NULL;
    int manifest = n_folds == 0;
    if (manifest && !ds_list_has_folds(l))
        return aa_error_set(err, DS_ERR_ARG, "%s: no fold column in a manifest, and no number of folds given",
                            l->root);
    if (!manifest && (n_folds < 2 || n_folds > DS_MAX_FOLDS))
        return aa_error_set(err, DS_ERR_ARG, "%d folds asked for (2..%d)", n_folds, DS_MAX_FOLDS);
    ds_folds *f = calloc(1, sizeof *f);
    if (!f || !(f->fold = calloc(l->n_items ? l->n_items : 1, sizeof *f->fold))) {
        free(f);
        return aa_error_set(err, DS_ERR_NOMEM, "out of memory");
    }
    int rc = manifest ? from_manifest(f, l, err) : make(f, l, n_folds, seed, err);
    if (rc) {
        ds_folds_free(f);
        return rc;
    }
    int *first = malloc((l->n_groups ? l->n_groups : 1) * sizeof *first);
    unsigned char *crossed = calloc(l->n_groups ? l->n_groups : 1, 1);
    if (!first || !crossed) {
        free(first);
        free(crossed);
        ds_folds_free(f);
        return aa_error_set(err, DS_ERR_NOMEM, "out of memory");
    }
    for (size_t g = 0; g < l->n_groups; g++)
        first[g] = -1;
    for (size_t i = 0; i < l->n_items; i++) {
        size_t g = l->items[i].group;
        if (first[g] < 0)
            first[g] = f->fold[i];
        else if (first[g] != f->fold[i] && !crossed[g]) {
            crossed[g] = 1;
            f->groups_crossing++;
        }
    }
    free(first);
    free(crossed);
    *out = f;
    return 0;
}
