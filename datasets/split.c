/* Grouped, stratified train/val/test split.
 *
 * Units (groups, whose files must stay together) are placed one by one, largest first in a seeded order, on
 * the side that lowers the cost most; then single moves and pairwise swaps of units are applied while they
 * lower it (with a penalty for empty cells added only then). The cost is the squared error of every side x class total against its target, relative to the
 * class total (so a small class counts as much as a large one), plus a large penalty for each side x class
 * cell that should hold examples and holds none. Groups may span classes (a person with a cough and two
 * breathing recordings), which is why a per-class shuffle-and-cut cannot be used. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/ds_internal.h"

/* An empty required cell must outweigh any achievable squared relative error (at most 1 per cell). */
#define EMPTY_PENALTY 1000.0
/* Cost changes below this are rounding noise, not improvements. */
#define EPS 1e-12
/* Beyond this many units the O(units^2) swap pass costs more than it gains: moves alone already balance
 * many small groups finely. */
#define SWAP_MAX_UNITS 2000
#define MAX_PASSES 100

void ds_split_opts_default(ds_split_opts *o)
{
    *o = (ds_split_opts){.frac = {0.70, 0.15, 0.15}, .seed = 1, .weights = NULL};
}

typedef struct {
    int K;
    size_t U;
    const double *w;   /* [U][K] weight of each unit per class */
    const int *c;      /* [U][K] files of each unit per class */
    double *a;         /* [S][K] weight placed on each side */
    int *n;            /* [S][K] files placed on each side */
    const double *t;   /* [S][K] targets */
    const double *inv; /* [K] 1 / (class total)^2 */
    int allowed[DS_N_SIDES];
    int *side;         /* [U] */
    double penalty;    /* cost of an empty required cell: 0 while placing, EMPTY_PENALTY while improving */
} problem;

static double cell(const problem *p, int s, int k, double a, int n)
{
    double d = a - p->t[s * p->K + k];
    return p->inv[k] * d * d + (p->t[s * p->K + k] > 0 && n <= 0 ? p->penalty : 0.0);
}

/* Cost change when unit u leaves side `from` (-1: not placed yet) for side `to`. */
static double delta_move(const problem *p, size_t u, int from, int to)
{
    double d = 0;
    for (int k = 0; k < p->K; k++) {
        double w = p->w[u * p->K + k];
        int c = p->c[u * p->K + k];
        if (!c)
            continue;
        int it = to * p->K + k;
        d += cell(p, to, k, p->a[it] + w, p->n[it] + c) - cell(p, to, k, p->a[it], p->n[it]);
        if (from >= 0) {
            int jf = from * p->K + k;
            d += cell(p, from, k, p->a[jf] - w, p->n[jf] - c) - cell(p, from, k, p->a[jf], p->n[jf]);
        }
    }
    return d;
}

static void apply_move(problem *p, size_t u, int from, int to)
{
    for (int k = 0; k < p->K; k++) {
        if (from >= 0) {
            p->a[from * p->K + k] -= p->w[u * p->K + k];
            p->n[from * p->K + k] -= p->c[u * p->K + k];
        }
        p->a[to * p->K + k] += p->w[u * p->K + k];
        p->n[to * p->K + k] += p->c[u * p->K + k];
    }
    p->side[u] = to;
}

/* Cost change when units u (on side su) and v (on side sv) trade sides. */
static double delta_swap(const problem *p, size_t u, size_t v)
{
    int su = p->side[u], sv = p->side[v];
    double d = 0;
    for (int k = 0; k < p->K; k++) {
        double dw = p->w[v * p->K + k] - p->w[u * p->K + k];
        int dc = p->c[v * p->K + k] - p->c[u * p->K + k];
        if (!dc && dw == 0)
            continue;
        int iu = su * p->K + k, iv = sv * p->K + k;
        d += cell(p, su, k, p->a[iu] + dw, p->n[iu] + dc) - cell(p, su, k, p->a[iu], p->n[iu]);
        d += cell(p, sv, k, p->a[iv] - dw, p->n[iv] - dc) - cell(p, sv, k, p->a[iv], p->n[iv]);
    }
    return d;
}

typedef struct {
    double total;
    size_t rank;
    size_t unit;
} order_key;

static int cmp_order(const void *x, const void *y)
{
    const order_key *a = x, *b = y;
    if (a->total != b->total)
        return a->total > b->total ? -1 : 1;
    return a->rank < b->rank ? -1 : a->rank > b->rank;
}

/* Places every unit of p on an allowed side. order: [U] scratch. */
static void solve(problem *p, aa_rng *rng, size_t *order)
{
    size_t U = p->U;
    order_key *key = malloc((U ? U : 1) * sizeof *key);
    for (size_t u = 0; u < U; u++)
        order[u] = u;
    aa_rng_shuffle(rng, order, U);
    if (key) {
        /* Largest units first (they are the hardest to fit), ties in the seeded order. */
        for (size_t r = 0; r < U; r++) {
            double tot = 0;
            for (int k = 0; k < p->K; k++)
                tot += p->w[order[r] * p->K + k];
            key[r] = (order_key){tot, r, order[r]};
        }
        qsort(key, U, sizeof *key, cmp_order);
        for (size_t r = 0; r < U; r++)
            order[r] = key[r].unit;
        free(key);
    }
    /* Placing without the empty-cell penalty: with it, the largest units would be sent to the small sides
     * just to fill them, and single moves could not undo that. The improvement passes then restore coverage. */
    p->penalty = 0;
    for (size_t r = 0; r < U; r++) {
        size_t u = order[r];
        int best = -1, ties = 0;
        double best_d = 0;
        for (int s = 0; s < DS_N_SIDES; s++) {
            if (!p->allowed[s])
                continue;
            double d = delta_move(p, u, -1, s);
            if (best < 0 || d < best_d - EPS) {
                best = s, best_d = d, ties = 1;
            } else if (fabs(d - best_d) <= EPS && aa_rng_below(rng, (uint64_t)++ties) == 0) {
                best = s; /* an even choice among equal sides, so that no side is favoured by its index */
            }
        }
        apply_move(p, u, -1, best);
    }
    p->penalty = EMPTY_PENALTY;
    for (int pass = 0; pass < MAX_PASSES; pass++) {
        int improved = 0;
        for (size_t r = 0; r < U; r++) {
            size_t u = order[r];
            int from = p->side[u], best = -1;
            double best_d = -EPS;
            for (int s = 0; s < DS_N_SIDES; s++) {
                if (!p->allowed[s] || s == from)
                    continue;
                double d = delta_move(p, u, from, s);
                if (d < best_d)
                    best = s, best_d = d;
            }
            if (best >= 0) {
                apply_move(p, u, from, best);
                improved = 1;
            }
        }
        if (U <= SWAP_MAX_UNITS) {
            for (size_t r1 = 0; r1 < U; r1++) {
                for (size_t r2 = r1 + 1; r2 < U; r2++) {
                    size_t u = order[r1], v = order[r2];
                    int su = p->side[u], sv = p->side[v];
                    if (su == sv || delta_swap(p, u, v) >= -EPS)
                        continue;
                    apply_move(p, u, su, sv);
                    apply_move(p, v, sv, su);
                    improved = 1;
                }
            }
        }
        if (!improved)
            break;
    }
}

void ds_split_free(ds_split *s)
{
    if (!s)
        return;
    free(s->side);
    free(s->count);
    free(s->weight);
    free(s->target);
    free(s);
}

static int check_opts(const ds_split_opts *o, const ds_list *l, aa_error *err)
{
    double sum = 0;
    for (int s = 0; s < DS_N_SIDES; s++) {
        if (!(o->frac[s] >= 0 && o->frac[s] <= 1))
            return aa_error_set(err, DS_ERR_ARG, "split: %s fraction %g is not in [0, 1]", ds_side_name(s), o->frac[s]);
        sum += o->frac[s];
    }
    if (!(o->frac[DS_TRAIN] > 0))
        return aa_error_set(err, DS_ERR_ARG, "split: the train fraction must be above 0");
    /* Fractions typed as decimals (0.7/0.15/0.15) rarely sum to exactly 1 in binary. */
    if (fabs(sum - 1.0) > 1e-6)
        return aa_error_set(err, DS_ERR_ARG, "split: fractions %g/%g/%g sum to %g, not 1", o->frac[0], o->frac[1],
                            o->frac[2], sum);
    if (o->weights)
        for (size_t i = 0; i < l->n_items; i++)
            if (!(o->weights[i] > 0) || !isfinite(o->weights[i]))
                return aa_error_set(err, DS_ERR_ARG, "split: weight of item %zu is %g; weights must be > 0", i,
                                    o->weights[i]);
    return 0;
}

/* Builds the units of the pool (items with pool[i] set) as their groups, solves, writes sides into sp. */
static int split_pool(ds_split *sp, const ds_list *l, const ds_split_opts *o, const unsigned char *pool,
                      const int allowed[DS_N_SIDES], aa_error *err)
{
    int K = l->n_classes, rc = 0;
    size_t G = l->n_groups;
    size_t *unit_of_group = malloc((G ? G : 1) * sizeof *unit_of_group);
    size_t U = 0;
    for (size_t g = 0; unit_of_group && g < G; g++)
        unit_of_group[g] = SIZE_MAX;
    for (size_t i = 0; unit_of_group && i < l->n_items; i++)
        if (pool[i] && unit_of_group[l->items[i].group] == SIZE_MAX)
            unit_of_group[l->items[i].group] = U++;
    double *w = calloc((U ? U : 1) * (size_t)K, sizeof *w);
    int *c = calloc((U ? U : 1) * (size_t)K, sizeof *c);
    double *a = calloc(DS_N_SIDES * (size_t)K, sizeof *a);
    int *n = calloc(DS_N_SIDES * (size_t)K, sizeof *n);
    double *t = calloc(DS_N_SIDES * (size_t)K, sizeof *t);
    double *inv = calloc((size_t)K, sizeof *inv);
    int *side = calloc(U ? U : 1, sizeof *side);
    size_t *order = malloc((U ? U : 1) * sizeof *order);
    int *holders = calloc((size_t)K, sizeof *holders);
    if (!unit_of_group || !w || !c || !a || !n || !t || !inv || !side || !order || !holders) {
        rc = aa_error_set(err, DS_ERR_NOMEM, "split: out of memory");
        goto done;
    }
    for (size_t i = 0; i < l->n_items; i++) {
        if (!pool[i])
            continue;
        size_t u = unit_of_group[l->items[i].group];
        int k = l->items[i].cls;
        c[u * K + k]++;
        w[u * K + k] += o->weights ? o->weights[i] : 1.0;
    }
    double fsum = 0;
    int n_sides = 0;
    for (int s = 0; s < DS_N_SIDES; s++)
        if (allowed[s])
            fsum += o->frac[s], n_sides++;
    for (int k = 0; k < K; k++) {
        double tot = 0;
        for (size_t u = 0; u < U; u++) {
            tot += w[u * K + k];
            holders[k] += c[u * K + k] > 0;
        }
        inv[k] = tot > 0 ? 1.0 / (tot * tot) : 0;
        for (int s = 0; s < DS_N_SIDES; s++)
            t[s * K + k] = allowed[s] ? tot * o->frac[s] / fsum : 0;
    }
    /* A class held by fewer groups than there are sides cannot reach every side: say so before searching. */
    for (int k = 0; !o->lenient && k < K; k++) {
        if (holders[k] && holders[k] < n_sides) {
            rc = aa_error_set(err, DS_ERR_SPLIT,
                              "split: class '%s' has files in only %d group%s, but %d sides (train/val/test) need an "
                              "example each; add recordings of other groups or lower a fraction to 0",
                              l->classes[k], holders[k], holders[k] == 1 ? "" : "s", n_sides);
            goto done;
        }
    }
    problem p = {.K = K, .U = U, .w = w, .c = c, .a = a, .n = n, .t = t, .inv = inv, .side = side};
    memcpy(p.allowed, allowed, sizeof p.allowed);
    aa_rng rng;
    aa_rng_seed(&rng, o->seed);
    solve(&p, &rng, order);
    for (size_t i = 0; i < l->n_items; i++)
        if (pool[i])
            sp->side[i] = side[unit_of_group[l->items[i].group]];
    for (int s = 0; s < DS_N_SIDES; s++)
        for (int k = 0; k < K; k++)
            if (allowed[s])
                sp->target[s * K + k] = t[s * K + k];
done:
    free(unit_of_group);
    free(w);
    free(c);
    free(a);
    free(n);
    free(t);
    free(inv);
    free(side);
    free(order);
    free(holders);
    return rc;
}

/* "a,b" into names (spaces around each trimmed, empty names skipped). */
static int parse_names(const char *spec, ds_strvec *out)
{
    for (const char *p = spec; p && *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        while (n && *p == ' ')
            p++, n--;
        while (n && p[n - 1] == ' ')
            n--;
        if (n && ds_strvec_push(out, strndup(p, n)))
            return DS_ERR_NOMEM;
        p = end ? end + 1 : p + strlen(p);
    }
    return 0;
}

/* The side each item's source (or a group it shares with such an item) holds it out on, or DS_SIDE_NONE:
 * fixed [n_items]. Counts the groups that two held-out sides claim (*crossing): each stays whole, on the
 * side of its first recording in a held-out source. */
static int hold_out_sides(const ds_list *l, const ds_split_opts *o, int *fixed, size_t *crossing, aa_error *err)
{
    int rc = 0;
    int *group_side = malloc((l->n_groups ? l->n_groups : 1) * sizeof *group_side);
    int *source_side = malloc((l->n_sources ? l->n_sources : 1) * sizeof *source_side);
    unsigned char *claims = calloc(l->n_groups ? l->n_groups : 1, 1);
    if (!group_side || !source_side || !claims)
        rc = DS_ERR_NOMEM;
    for (size_t g = 0; !rc && g < l->n_groups; g++)
        group_side[g] = DS_SIDE_NONE;
    for (size_t q = 0; !rc && q < l->n_sources; q++)
        source_side[q] = DS_SIDE_NONE;
    for (int s = DS_VAL; !rc && s < DS_N_SIDES; s++) {
        ds_strvec names = {0};
        rc = parse_names(o->hold_out[s], &names);
        for (size_t j = 0; !rc && j < names.n; j++) {
            int q = ds_list_source_index(l, names.v[j]);
            if (q >= 0 && source_side[q] != DS_SIDE_NONE && source_side[q] != s)
                rc = aa_error_set(err, DS_ERR_ARG, "split: source '%s' is held out for both validation and test",
                                  names.v[j]);
            else if (q >= 0)
                source_side[q] = s;
        }
        ds_strvec_free(&names);
    }
    /* In item order, so that a group claimed by both held-out sides goes where its first such item goes. */
    for (size_t i = 0; !rc && i < l->n_items; i++) {
        const ds_item *it = &l->items[i];
        int s = it->source < l->n_sources ? source_side[it->source] : DS_SIDE_NONE;
        if (s == DS_SIDE_NONE)
            continue;
        claims[it->group] |= (unsigned char)(1u << s);
        if (group_side[it->group] == DS_SIDE_NONE)
            group_side[it->group] = s;
    }
    for (size_t g = 0; !rc && g < l->n_groups; g++)
        *crossing += (claims[g] & (1u << DS_VAL)) && (claims[g] & (1u << DS_TEST));
    /* A group two sides claim stays whole (no person on two sides), on the side of its first claim. */
    for (size_t i = 0; !rc && i < l->n_items; i++)
        fixed[i] = group_side[l->items[i].group];
    if (rc == DS_ERR_NOMEM)
        aa_error_set(err, rc, "split: out of memory");
    free(group_side);
    free(source_side);
    free(claims);
    return rc;
}

int ds_split_make(ds_split **out, const ds_list *l, const ds_split_opts *opts, aa_error *err)
{
    ds_split_opts defaults;
    ds_split_opts_default(&defaults);
    const ds_split_opts *o = opts ? opts : &defaults;
    *out = NULL;
    int rc = check_opts(o, l, err);
    if (rc)
        return rc;
    int K = l->n_classes;
    size_t N = l->n_items;
    ds_split *sp = calloc(1, sizeof *sp);
    unsigned char *pool = calloc(N ? N : 1, 1);
    if (!sp || !pool || !(sp->side = calloc(N ? N : 1, sizeof *sp->side)) ||
        !(sp->count = calloc(DS_N_SIDES * (size_t)K, sizeof *sp->count)) ||
        !(sp->weight = calloc(DS_N_SIDES * (size_t)K, sizeof *sp->weight)) ||
        !(sp->target = calloc(DS_N_SIDES * (size_t)K, sizeof *sp->target))) {
        free(pool);
        ds_split_free(sp);
        return aa_error_set(err, DS_ERR_NOMEM, "split: out of memory");
    }
    sp->n_items = N;
    sp->n_classes = K;
    sp->weighted = o->weights != NULL;

    int allowed[DS_N_SIDES] = {0}, needed[DS_N_SIDES] = {0};
    int holding = (o->hold_out[DS_VAL] && *o->hold_out[DS_VAL]) || (o->hold_out[DS_TEST] && *o->hold_out[DS_TEST]);
    if (holding && l->explicit_sides) {
        free(pool);
        ds_split_free(sp);
        return aa_error_set(err, DS_ERR_ARG, "split: sources cannot be held out of a DATA/{train,val,test}/ layout, "
                            "whose folders fix the sides");
    }
    if (o->fixed_side && l->explicit_sides) {
        free(pool);
        ds_split_free(sp);
        return aa_error_set(err, DS_ERR_ARG, "split: a DATA/{train,val,test}/ layout fixes the sides itself; folds "
                            "need a folder of class folders");
    }
    if (!l->explicit_sides) {
        int *fixed = malloc((N ? N : 1) * sizeof *fixed);
        if (!fixed)
            rc = aa_error_set(err, DS_ERR_NOMEM, "split: out of memory");
        for (size_t i = 0; !rc && i < N; i++)
            fixed[i] = DS_SIDE_NONE;
        if (!rc && holding)
            rc = hold_out_sides(l, o, fixed, &sp->groups_crossing, err);
        int by_caller[DS_N_SIDES] = {0};
        for (size_t i = 0; !rc && i < N; i++) {
            if (o->fixed_side && o->fixed_side[i] != DS_SIDE_NONE && fixed[i] == DS_SIDE_NONE) {
                sp->side[i] = o->fixed_side[i];
                by_caller[o->fixed_side[i]] = 1;
                continue;
            }
            pool[i] = fixed[i] == DS_SIDE_NONE;
            if (!pool[i]) {
                sp->side[i] = fixed[i];
                sp->held_out[fixed[i]]++;
            }
        }
        free(fixed);
        for (int s = 0; s < DS_N_SIDES; s++) {
            int held = s != DS_TRAIN && ((o->hold_out[s] && *o->hold_out[s]) || by_caller[s]);
            allowed[s] = o->frac[s] > 0 && !held;
            needed[s] = allowed[s] && !o->lenient;
        }
        if (!rc)
            rc = split_pool(sp, l, o, pool, allowed, err);
        /* What the held-out sides hold is what their sources gave them: that is their target. */
        for (int s = 0; !rc && s < DS_N_SIDES; s++)
            if (!allowed[s] && (sp->held_out[s] || by_caller[s]))
                for (size_t i = 0; i < N; i++)
                    if (!pool[i] && sp->side[i] == s)
                        sp->target[s * K + l->items[i].cls] += o->weights ? o->weights[i] : 1.0;
    } else {
        int present[DS_N_SIDES] = {0};
        for (size_t i = 0; i < N; i++) {
            if (l->items[i].side < 0 || l->items[i].side >= DS_N_SIDES) {
                free(pool);
                ds_split_free(sp);
                return aa_error_set(err, DS_ERR_ARG, "split: item %zu of an explicit layout has no side", i);
            }
            sp->side[i] = l->items[i].side;
            present[l->items[i].side] = 1;
            pool[i] = l->items[i].side == DS_TRAIN;
        }
        int carve = 0;
        for (int s = 0; s < DS_N_SIDES; s++) {
            needed[s] = (present[s] || o->frac[s] > 0) && !o->lenient;
            allowed[s] = s == DS_TRAIN || (!present[s] && o->frac[s] > 0);
            carve |= s != DS_TRAIN && allowed[s];
        }
        if (!present[DS_TRAIN])
            rc = aa_error_set(err, DS_ERR_LAYOUT, "split: the explicit layout has no train folder with audio files");
        else if (carve)
            rc = split_pool(sp, l, o, pool, allowed, err);
    }
    if (!rc) {
        for (size_t i = 0; i < N; i++) {
            int s = sp->side[i], k = l->items[i].cls;
            sp->count[s * K + k]++;
            sp->weight[s * K + k] += o->weights ? o->weights[i] : 1.0;
        }
        /* Explicit sides that were not carved have no fraction-based target: their target is what they hold. */
        for (int s = 0; s < DS_N_SIDES; s++)
            if (l->explicit_sides && !allowed[s])
                for (int k = 0; k < K; k++)
                    sp->target[s * K + k] = sp->weight[s * K + k];
        for (int s = 0; s < DS_N_SIDES && !rc; s++) {
            for (int k = 0; k < K && !rc; k++) {
                if (needed[s] && sp->count[s * K + k] == 0)
                    rc = aa_error_set(err, DS_ERR_SPLIT,
                                      "split: the %s side has no example of class '%s'%s", ds_side_name(s),
                                      l->classes[k],
                                      l->explicit_sides && !allowed[s]
                                          ? " (its folder is missing or empty there)"
                                          : "; its groups could not be arranged to give every side one");
            }
        }
    }
    if (!rc) {
        /* Groups per side, and groups found on several sides (possible only when folders fixed the sides). */
        unsigned char *on = calloc(l->n_groups ? l->n_groups : 1, 1);
        if (!on) {
            rc = aa_error_set(err, DS_ERR_NOMEM, "split: out of memory");
        } else {
            for (size_t i = 0; i < N; i++)
                on[l->items[i].group] |= (unsigned char)(1u << sp->side[i]);
            for (size_t g = 0; g < l->n_groups; g++) {
                int sides = 0;
                for (int s = 0; s < DS_N_SIDES; s++)
                    if (on[g] & (1u << s))
                        sp->groups[s]++, sides++;
                sp->groups_crossing += sides > 1;
            }
            free(on);
        }
    }
    free(pool);
    if (rc) {
        ds_split_free(sp);
        return rc;
    }
    *out = sp;
    return 0;
}

char *ds_split_report(const ds_split *s, const ds_list *l)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    int K = s->n_classes;
    int width = 12;
    for (int k = 0; k < K; k++)
        if ((int)strlen(l->classes[k]) + 2 > width)
            width = (int)strlen(l->classes[k]) + 2;
    fprintf(f, "%-6s", "side");
    for (int k = 0; k < K; k++)
        fprintf(f, "%*s", width, l->classes[k]);
    fprintf(f, "%*s%*s\n", 8, "files", 8, "groups");
    for (int side = 0; side < DS_N_SIDES; side++) {
        size_t files = 0;
        fprintf(f, "%-6s", ds_side_name(side));
        for (int k = 0; k < K; k++) {
            char cellbuf[64];
            if (s->weighted)
                snprintf(cellbuf, sizeof cellbuf, "%.1f (%.1f)", s->weight[side * K + k], s->target[side * K + k]);
            else
                snprintf(cellbuf, sizeof cellbuf, "%zu (%.1f)", s->count[side * K + k], s->target[side * K + k]);
            fprintf(f, "%*s", width, cellbuf);
            files += s->count[side * K + k];
        }
        fprintf(f, "%8zu%8zu\n", files, s->groups[side]);
    }
    fprintf(f, "%s per side and class (target in parentheses); %zu groups", s->weighted ? "weight" : "files",
            l->n_groups);
    if (s->groups_crossing && l->explicit_sides)
        fprintf(f, "; %zu group%s on more than one side (from the split folders)", s->groups_crossing,
                s->groups_crossing == 1 ? "" : "s");
    else if (s->groups_crossing)
        fprintf(f, "; %zu group%s claimed by sources held out on both sides (each kept whole on one)",
                s->groups_crossing, s->groups_crossing == 1 ? "" : "s");
    if (s->held_out[DS_VAL] || s->held_out[DS_TEST])
        fprintf(f, "; held out by source: %zu val, %zu test files", s->held_out[DS_VAL], s->held_out[DS_TEST]);
    fprintf(f, "\n");
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}
