/* datasets/split.c: grouped, stratified splits on the real corpus's shape (synthetic, always run), on the real
 * manifest (when present), on explicit split folders, with weights, and its errors. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "datasets/datasets.h"
#include "tests/util/testutil.h"

/* A list made in memory (no files): item i has class cls[i] and group name grp[i]. ds_list_free frees it. */
static ds_list *mem_list(int K, size_t n, const int *cls, char **grp)
{
    ds_list *l = calloc(1, sizeof *l);
    ck_assert_ptr_nonnull(l);
    l->n_classes = K;
    l->classes = calloc((size_t)K, sizeof *l->classes);
    for (int k = 0; k < K; k++) {
        char name[32];
        snprintf(name, sizeof name, "class%d", k);
        l->classes[k] = strdup(name);
    }
    l->n_items = n;
    l->items = calloc(n, sizeof *l->items);
    /* Group indices in order of first appearance; the split does not care about their names' order. */
    l->groups = calloc(n, sizeof *l->groups);
    for (size_t i = 0; i < n; i++) {
        size_t g = 0;
        while (g < l->n_groups && strcmp(l->groups[g], grp[i]))
            g++;
        if (g == l->n_groups)
            l->groups[l->n_groups++] = strdup(grp[i]);
        char rel[64];
        snprintf(rel, sizeof rel, "item%05zu.wav", i);
        l->items[i] = (ds_item){.path = strdup(rel), .rel = strdup(rel), .cls = cls[i], .side = DS_SIDE_NONE, .group = g,
                                .size = 1};
    }
    return l;
}

typedef struct {
    size_t n;
    int cls[4096];
    char *grp[4096];
} builder;

static void add(builder *b, const char *group, int cls, int count)
{
    for (int i = 0; i < count; i++) {
        ck_assert_uint_lt(b->n, 4096);
        b->cls[b->n] = cls;
        b->grp[b->n] = strdup(group);
        b->n++;
    }
}

static void builder_free(builder *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->grp[i]);
    b->n = 0;
}

enum { BG = 0, COUGH = 1, HEAVY = 2, NORMAL = 3 };

/* The real corpus's shape (SOURCES.md, manifest.tsv): 255 files, 120 groups; 42 people with two coughs, deep
 * and shallow breathing; 3 with two coughs and deep; 1 with two coughs and shallow; 3 shallow only; 1 with
 * two coughs; 9 single coughs; 61 single background recordings. */
static void fill_real_shape(builder *b)
{
    char g[32];
    for (int p = 0; p < 42; p++) {
        snprintf(g, sizeof g, "person%02d", p);
        add(b, g, COUGH, 2), add(b, g, HEAVY, 1), add(b, g, NORMAL, 1);
    }
    for (int p = 42; p < 45; p++) {
        snprintf(g, sizeof g, "person%02d", p);
        add(b, g, COUGH, 2), add(b, g, HEAVY, 1);
    }
    add(b, "person45", COUGH, 2), add(b, "person45", NORMAL, 1);
    for (int p = 46; p < 49; p++) {
        snprintf(g, sizeof g, "person%02d", p);
        add(b, g, NORMAL, 1);
    }
    add(b, "person49", COUGH, 2);
    for (int i = 0; i < 9; i++) {
        snprintf(g, sizeof g, "cough%d", i);
        add(b, g, COUGH, 1);
    }
    for (int i = 0; i < 61; i++) {
        snprintf(g, sizeof g, "bg%02d", i);
        add(b, g, BG, 1);
    }
}

static ds_list *real_shaped(void)
{
    builder *b = calloc(1, sizeof *b);
    fill_real_shape(b);
    ds_list *l = mem_list(4, b->n, b->cls, b->grp);
    builder_free(b);
    free(b);
    return l;
}

/* The properties every split must have; returns the largest |files - target| over side x class. */
static double check_split(const ds_list *l, const ds_split *s, const double frac[DS_N_SIDES])
{
    int K = l->n_classes;
    int *side_of_group = malloc(l->n_groups * sizeof *side_of_group);
    for (size_t g = 0; g < l->n_groups; g++)
        side_of_group[g] = -1;
    size_t count[DS_N_SIDES][64] = {{0}};
    for (size_t i = 0; i < l->n_items; i++) {
        int sd = s->side[i];
        ck_assert(sd >= 0 && sd < DS_N_SIDES);
        size_t g = l->items[i].group;
        /* No group on two sides. */
        ck_assert_msg(side_of_group[g] < 0 || side_of_group[g] == sd, "group %s on two sides", l->groups[g]);
        side_of_group[g] = sd;
        count[sd][l->items[i].cls]++;
    }
    free(side_of_group);
    double worst = 0;
    for (int sd = 0; sd < DS_N_SIDES; sd++) {
        for (int k = 0; k < K; k++) {
            ck_assert_uint_eq(s->count[sd * K + k], count[sd][k]);
            if (frac[sd] > 0)
                ck_assert_msg(count[sd][k] > 0, "no class %d on side %d", k, sd);
            worst = fmax(worst, fabs((double)count[sd][k] - s->target[sd * K + k]));
        }
    }
    ck_assert_uint_eq(s->groups_crossing, 0);
    return worst;
}

static ds_split *split_ok(const ds_list *l, const ds_split_opts *o)
{
    ds_split *s = NULL;
    aa_error err;
    int rc = ds_split_make(&s, l, o, &err);
    ck_assert_msg(rc == 0, "ds_split_make: %s", err.msg);
    return s;
}

static int same_split(const ds_split *a, const ds_split *b)
{
    return a->n_items == b->n_items && !memcmp(a->side, b->side, a->n_items * sizeof *a->side);
}

START_TEST(split_real_shape_grouped_stratified_reproducible)
{
    ds_list *l = real_shaped();
    ck_assert_uint_eq(l->n_items, 255);
    ck_assert_uint_eq(l->n_groups, 120);
    ds_split_opts o;
    ds_split_opts_default(&o);
    ck_assert(o.frac[0] == 0.70 && o.frac[1] == 0.15 && o.frac[2] == 0.15);
    double worst = 0;
    ds_split *first = NULL;
    int distinct = 0;
    for (uint64_t seed = 1; seed <= 30; seed++) {
        o.seed = seed;
        ds_split *s = split_ok(l, &o);
        worst = fmax(worst, check_split(l, s, o.frac));
        ds_split *again = split_ok(l, &o);
        ck_assert_msg(same_split(s, again), "seed %llu: not reproducible", (unsigned long long)seed);
        ds_split_free(again);
        if (!first)
            first = s;
        else {
            distinct += !same_split(first, s);
            ds_split_free(s);
        }
    }
    /* Targets are fractional (6.75 files) and groups hold up to two files of a class, so even a good split
     * misses some cells by most of a file; measured worst over these 30 seeds: 0.75 files (1.5 with the
     * greedy placement alone, without the improvement passes). */
    ck_assert_msg(worst <= 1.0, "worst |files - target| = %.2f", worst);
    /* Different seeds give different splits (29 comparisons; a repeat would mean the seed is ignored). */
    ck_assert_int_ge(distinct, 25);
    ds_split_free(first);
    ds_list_free(l);
}
END_TEST

/* A split of the real manifest's rows (class and group columns), when the machine has it. */
START_TEST(split_real_manifest)
{
    const char *dir = getenv("AA_REAL_DATA");
    if (!dir)
        dir = "../shared/data/respiratory";
    char path[512];
    snprintf(path, sizeof path, "%s/manifest.tsv", dir);
    char *text = tu_read_file(path, NULL);
    if (!text)
        return;
    builder *b = calloc(1, sizeof *b);
    const char *names[4] = {"background_noise", "cough", "heavy_breathing", "normal_breathing"};
    int line = 0;
    for (char *save = NULL, *row = strtok_r(text, "\n", &save); row; row = strtok_r(NULL, "\n", &save)) {
        if (line++ == 0)
            continue; /* header: path class source group ... */
        char *f[8] = {0};
        int nf = 0;
        for (char *p = row; nf < 8; p++) {
            f[nf++] = p;
            if (!(p = strchr(p, '\t')))
                break;
            *p = 0;
        }
        ck_assert_int_ge(nf, 4);
        int k = -1;
        for (int c = 0; c < 4; c++)
            if (!strcmp(f[1], names[c]))
                k = c;
        ck_assert_int_ge(k, 0);
        add(b, f[3], k, 1);
    }
    free(text);
    ds_list *l = mem_list(4, b->n, b->cls, b->grp);
    builder_free(b);
    free(b);
    ck_assert_uint_eq(l->n_items, 255);
    ck_assert_uint_eq(l->n_groups, 120);
    ds_split_opts o;
    ds_split_opts_default(&o);
    double worst = 0;
    for (uint64_t seed = 1; seed <= 10; seed++) {
        o.seed = seed;
        ds_split *s = split_ok(l, &o);
        worst = fmax(worst, check_split(l, s, o.frac));
        ds_split_free(s);
    }
    ck_assert_msg(worst <= 1.0, "worst |files - target| = %.2f", worst); /* as above; measured 0.75 */
    ds_list_free(l);

    /* And through the listing of the folder itself. */
    ds_list *real = NULL;
    aa_error err;
    ck_assert_msg(ds_list_load(&real, dir, NULL, &err) == 0, "%s", err.msg);
    ds_split *s = split_ok(real, &o);
    check_split(real, s, o.frac);
    ds_split_free(s);
    ds_list_free(real);
}
END_TEST

/* The same shape as files on disk with a manifest.tsv: listing, groups from the manifest and the split
 * together. */
START_TEST(split_synthetic_manifest_on_disk)
{
    static const char *names[4] = {"background_noise", "cough", "heavy_breathing", "normal_breathing"};
    builder *b = calloc(1, sizeof *b);
    fill_real_shape(b);
    char d[256], path[512];
    tu_mkdtemp(d, sizeof d);
    for (int k = 0; k < 4; k++)
        ck_assert_int_eq(mkdir(tu_path(path, sizeof path, d, names[k]), 0777), 0);
    FILE *m = fopen(tu_path(path, sizeof path, d, "manifest.tsv"), "w");
    ck_assert_ptr_nonnull(m);
    fprintf(m, "path\tclass\tgroup\n");
    for (size_t i = 0; i < b->n; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "%s/%s_%03zu.flac", names[b->cls[i]], b->grp[i], i);
        tu_write_file(tu_path(path, sizeof path, d, rel), "fLaC", 4);
        fprintf(m, "%s\t%s\t%s\n", rel, names[b->cls[i]], b->grp[i]);
    }
    ck_assert_int_eq(fclose(m), 0);
    builder_free(b);
    free(b);
    ds_list *l = NULL;
    aa_error err;
    ck_assert_msg(ds_list_load(&l, d, NULL, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(l->n_items, 255);
    ck_assert_uint_eq(l->n_groups, 120);
    ck_assert_uint_eq(l->stats.group_manifest, 255);
    ds_split_opts o;
    ds_split_opts_default(&o);
    o.seed = 42;
    ds_split *s = split_ok(l, &o);
    ck_assert_msg(check_split(l, s, o.frac) <= 1.0, "not balanced"); /* as for the in-memory shape */
    ds_split_free(s);
    ds_list_free(l);
    tu_rmtree(d);
}
END_TEST

START_TEST(split_many_singletons_fast_and_exact)
{
    /* Thousands of files, one per group: the swap pass is skipped at this size and moves alone must balance. */
    size_t n = tu_sanitized() ? 2000 : 4000;
    static char *grp[8000];
    static int cls[8000];
    for (size_t i = 0; i < n; i++) {
        char g[32];
        snprintf(g, sizeof g, "f%zu", i);
        grp[i] = strdup(g);
        cls[i] = (int)(i % 7 == 0 ? 0 : i % 3 == 0 ? 1 : 2);
    }
    ds_list *l = mem_list(3, n, cls, grp);
    for (size_t i = 0; i < n; i++)
        free(grp[i]);
    ds_split_opts o;
    ds_split_opts_default(&o);
    double t0 = aa_now();
    ds_split *s = split_ok(l, &o);
    double dt = aa_now() - t0;
    /* Single-file groups can hit every target to within rounding (half a file); the three sides' shares of a
     * class must also sum to its total, which can push one cell to just under a file (measured 0.55). */
    ck_assert_msg(check_split(l, s, o.frac) <= 1.0, "singletons not balanced");
    ck_assert_msg(dt < 20.0, "split of %zu singletons took %.1f s", n, dt);
    ds_split_free(s);
    ds_list_free(l);
}
END_TEST

START_TEST(split_errors_name_the_problem)
{
    builder *b = calloc(1, sizeof *b);
    /* class1 lives in only two groups: three sides cannot each get one. */
    add(b, "g1", 1, 3);
    add(b, "g2", 1, 2);
    for (int i = 0; i < 10; i++) {
        char g[16];
        snprintf(g, sizeof g, "h%d", i);
        add(b, g, 0, 1);
    }
    ds_list *l = mem_list(2, b->n, b->cls, b->grp);
    builder_free(b);
    free(b);
    ds_split_opts o;
    ds_split_opts_default(&o);
    ds_split *s = (ds_split *)1;
    aa_error err;
    ck_assert_int_eq(ds_split_make(&s, l, &o, &err), DS_ERR_SPLIT);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(err.msg, "'class1'") && strstr(err.msg, "2 groups"), "%s", err.msg);

    /* With no test side, two groups are enough. */
    o.frac[0] = 0.8, o.frac[1] = 0.2, o.frac[2] = 0;
    s = split_ok(l, &o);
    ck_assert_uint_eq(s->count[DS_TEST * 2 + 0] + s->count[DS_TEST * 2 + 1], 0);
    ck_assert_uint_gt(s->count[DS_VAL * 2 + 1], 0);
    ds_split_free(s);

    o.frac[0] = 0.7, o.frac[1] = 0.2, o.frac[2] = 0.2;
    ck_assert_int_eq(ds_split_make(&s, l, &o, &err), DS_ERR_ARG);
    ck_assert_msg(strstr(err.msg, "sum") != NULL, "%s", err.msg);
    o.frac[0] = 0, o.frac[1] = 0.5, o.frac[2] = 0.5;
    ck_assert_int_eq(ds_split_make(&s, l, &o, &err), DS_ERR_ARG);
    o.frac[0] = 1.2, o.frac[1] = -0.2, o.frac[2] = 0;
    ck_assert_int_eq(ds_split_make(&s, l, &o, &err), DS_ERR_ARG);
    ds_split_opts_default(&o);
    double *w = calloc(l->n_items, sizeof *w);
    o.weights = w; /* zero weights */
    ck_assert_int_eq(ds_split_make(&s, l, &o, &err), DS_ERR_ARG);
    free(w);
    ds_list_free(l);
}
END_TEST

START_TEST(split_with_weights)
{
    /* Long recordings count by their windows: 20 background files, 4 of which are worth 20 windows each. */
    builder *b = calloc(1, sizeof *b);
    char g[16];
    for (int i = 0; i < 20; i++) {
        snprintf(g, sizeof g, "bg%d", i);
        add(b, g, 0, 1);
    }
    for (int i = 0; i < 40; i++) {
        snprintf(g, sizeof g, "c%d", i);
        add(b, g, 1, 1);
    }
    ds_list *l = mem_list(2, b->n, b->cls, b->grp);
    builder_free(b);
    free(b);
    double *w = malloc(l->n_items * sizeof *w);
    for (size_t i = 0; i < l->n_items; i++)
        w[i] = l->items[i].cls == 0 && i % 5 == 0 ? 20.0 : 1.0;
    ds_split_opts o;
    ds_split_opts_default(&o);
    o.weights = w;
    ds_split *s = split_ok(l, &o);
    ck_assert_int_eq(s->weighted, 1);
    double tot = 0;
    for (int sd = 0; sd < DS_N_SIDES; sd++)
        tot += s->weight[sd * 2 + 0];
    ck_assert_double_eq_tol(tot, 4 * 20 + 16, 1e-9);
    /* Background targets are 67.2/14.4/14.4 windows; with 20-window units the best is one heavy file (plus a
     * few light ones) on each of val and test: within 6 windows of the target. */
    for (int sd = 0; sd < DS_N_SIDES; sd++)
        ck_assert_msg(fabs(s->weight[sd * 2] - s->target[sd * 2]) <= 6.0, "side %d: %.1f vs %.1f", sd,
                      s->weight[sd * 2], s->target[sd * 2]);
    char *rep = ds_split_report(s, l);
    ck_assert_ptr_nonnull(strstr(rep, "weight per side"));
    free(rep);
    ds_split_free(s);
    free(w);
    ds_list_free(l);
}
END_TEST

START_TEST(split_explicit_folders_kept_and_val_carved)
{
    builder *b = calloc(1, sizeof *b);
    char g[16];
    for (int i = 0; i < 30; i++) {
        snprintf(g, sizeof g, "p%d", i);
        add(b, g, 0, 1);
        add(b, g, 1, 1);
    }
    ds_list *l = mem_list(2, b->n, b->cls, b->grp);
    builder_free(b);
    free(b);
    l->explicit_sides = 1;
    /* Folders gave train (groups p0-p19), test (p20-p29): no val folder. p5's class-1 file sits in test. */
    for (size_t i = 0; i < l->n_items; i++)
        l->items[i].side = i < 40 ? DS_TRAIN : DS_TEST;
    l->items[11].side = DS_TEST;
    ds_split_opts o;
    ds_split_opts_default(&o);
    ds_split *s = split_ok(l, &o);
    for (size_t i = 40; i < l->n_items; i++)
        ck_assert_int_eq(s->side[i], DS_TEST);
    ck_assert_int_eq(s->side[11], DS_TEST);
    /* val was carved from the train groups: 0.15 / 0.85 of them, every class present, groups whole. */
    size_t val = 0;
    for (size_t i = 0; i < 40; i++) {
        if (i == 11)
            continue;
        ck_assert(s->side[i] == DS_TRAIN || s->side[i] == DS_VAL);
        val += s->side[i] == DS_VAL;
        if (i % 2 == 0 && i + 1 != 11)
            ck_assert_int_eq(s->side[i], s->side[i + 1]);
    }
    ck_assert_uint_gt(s->count[DS_VAL * 2 + 0], 0);
    ck_assert_uint_gt(s->count[DS_VAL * 2 + 1], 0);
    /* 39 train files * 0.15/0.85 = 6.9 expected on val; groups of two make 6 or 8 likely. */
    ck_assert_msg(val >= 5 && val <= 9, "val %zu", val);
    ck_assert_uint_eq(s->groups_crossing, 1); /* p5, split by the folders themselves */
    char *rep = ds_split_report(s, l);
    ck_assert_ptr_nonnull(strstr(rep, "more than one side"));
    free(rep);
    ds_split_free(s);

    /* A side whose folder lacks a class is an error that names both. */
    for (size_t i = 40; i < l->n_items; i++)
        l->items[i].side = DS_TRAIN;
    l->items[11].side = DS_TRAIN;
    l->items[40].side = DS_TEST; /* test holds only class 0 */
    aa_error err;
    ck_assert_int_eq(ds_split_make(&s, l, &o, &err), DS_ERR_SPLIT);
    ck_assert_msg(strstr(err.msg, "test") && strstr(err.msg, "class1"), "%s", err.msg);
    ds_list_free(l);
}
END_TEST

/* Gives item i of l source src[i] (names indexed in order of first appearance, then sorted as the listing
 * sorts them). */
static void set_sources(ds_list *l, const char *const *src)
{
    for (size_t i = 0; i < l->n_items; i++) {
        size_t q = 0;
        while (q < l->n_sources && strcmp(l->sources[q], src[i]))
            q++;
        if (q == l->n_sources) {
            l->sources = realloc(l->sources, (l->n_sources + 1) * sizeof *l->sources);
            l->sources[l->n_sources++] = strdup(src[i]);
        }
        l->items[i].source = q;
    }
    /* ds_list_source_index searches sorted names: sort them and renumber. */
    for (size_t a = 0; a < l->n_sources; a++)
        for (size_t b = a + 1; b < l->n_sources; b++)
            if (strcmp(l->sources[a], l->sources[b]) > 0) {
                char *t = l->sources[a];
                l->sources[a] = l->sources[b];
                l->sources[b] = t;
                for (size_t i = 0; i < l->n_items; i++)
                    l->items[i].source = l->items[i].source == a ? b : l->items[i].source == b ? a : l->items[i].source;
            }
}

/* Whole sources held out: every recording of the named source (and of each group it holds) on its side,
 * the rest split over train and the side no list names; a held-out side need not have every class. */
START_TEST(split_holds_out_sources)
{
    builder *b = calloc(1, sizeof *b);
    const char *src[4096];
    char g[32];
    /* "phone": 30 people with a cough and a breath each; "studio": 10 coughs of 10 actors; "pack": 12
     * background files, and actor00 of the studio also recorded one background file there. */
    for (int p = 0; p < 30; p++) {
        snprintf(g, sizeof g, "person%02d", p);
        src[b->n] = "phone", add(b, g, 1, 1);
        src[b->n] = "phone", add(b, g, 2, 1);
    }
    for (int p = 0; p < 10; p++) {
        snprintf(g, sizeof g, "actor%02d", p);
        src[b->n] = "studio", add(b, g, 1, 1);
    }
    for (int i = 0; i < 12; i++) {
        snprintf(g, sizeof g, "bg%02d", i);
        src[b->n] = "pack", add(b, g, 0, 1);
    }
    src[b->n] = "pack", add(b, "actor00", 0, 1);
    for (int i = 0; i < 12; i++) {
        snprintf(g, sizeof g, "field%02d", i);
        src[b->n] = "field", add(b, g, 0, 1);
    }
    ds_list *l = mem_list(3, b->n, b->cls, b->grp);
    builder_free(b);
    free(b);
    set_sources(l, src);
    ds_split_opts o;
    ds_split_opts_default(&o);
    o.hold_out[DS_TEST] = " studio ,nowhere"; /* a name of no source here is passed over */
    ds_split *s = split_ok(l, &o);
    int studio = ds_list_source_index(l, "studio");
    for (size_t i = 0; i < l->n_items; i++) {
        int in_group = !strcmp(l->groups[l->items[i].group], "actor00");
        if ((int)l->items[i].source == studio || in_group)
            ck_assert_msg(s->side[i] == DS_TEST, "item %zu of the held-out source is on %s", i, ds_side_name(s->side[i]));
        else
            ck_assert_msg(s->side[i] != DS_TEST, "item %zu of another source is on the test side", i);
    }
    ck_assert_uint_eq(s->held_out[DS_TEST], 11); /* ten coughs and actor00's background file */
    ck_assert_uint_eq(s->count[DS_TEST * 3 + 2], 0); /* no breathing there, and that is no error */
    ck_assert_uint_gt(s->count[DS_VAL * 3 + 0], 0);  /* val still gets every class from the rest */
    ck_assert_uint_gt(s->count[DS_VAL * 3 + 1], 0);
    ck_assert_uint_gt(s->count[DS_VAL * 3 + 2], 0);
    ck_assert_uint_eq(s->groups_crossing, 0);
    /* The rest goes 70:15 over train and val (the test fraction is given to the source). */
    double val = (double)(s->count[DS_VAL * 3 + 1] + s->count[DS_VAL * 3 + 2]);
    /* 60 recordings in 30 pairs: within one pair of the target. */
    ck_assert_msg(fabs(val - 60 * 0.15 / 0.85) <= 2.0, "val holds %.0f of the 60 phone recordings", val);
    ds_split_free(s);

    /* Both sides by source; a source named for both is an error; an explicit layout cannot hold out. */
    o.hold_out[DS_VAL] = "pack";
    s = split_ok(l, &o);
    for (size_t i = 0; i < l->n_items; i++) {
        const char *name = l->sources[l->items[i].source];
        if (!strcmp(name, "phone") || !strcmp(name, "field"))
            ck_assert_int_eq(s->side[i], DS_TRAIN);
    }
    /* actor00 is claimed by both: a studio cough (test) and a pack background (val); it goes whole with its
     * first recording, and is counted. */
    for (size_t i = 0; i < l->n_items; i++)
        if (!strcmp(l->groups[l->items[i].group], "actor00"))
            ck_assert_int_eq(s->side[i], DS_TEST);
    ck_assert_uint_eq(s->held_out[DS_VAL], 12);
    ck_assert_uint_eq(s->held_out[DS_TEST], 11);
    ck_assert_uint_eq(s->groups_crossing, 1);
    ds_split_free(s);
    /* Holding out every background leaves train without one: the error names the side and class. */
    aa_error err;
    o.hold_out[DS_VAL] = "pack,field";
    ck_assert_int_eq(ds_split_make(&s, l, &o, &err), DS_ERR_SPLIT);
    ck_assert_msg(strstr(err.msg, "train side") && strstr(err.msg, "'class0'"), "%s", err.msg);
    o.hold_out[DS_VAL] = "studio";
    ck_assert_int_eq(ds_split_make(&s, l, &o, &err), DS_ERR_ARG);
    ck_assert_msg(strstr(err.msg, "'studio'") != NULL, "%s", err.msg);
    l->explicit_sides = 1;
    o.hold_out[DS_VAL] = NULL;
    ck_assert_int_eq(ds_split_make(&s, l, &o, &err), DS_ERR_ARG);
    ds_list_free(l);
}
END_TEST

/* Lenient: kinds of sound held by fewer groups than sides are still split, as well as their groups allow. */
START_TEST(split_lenient_for_negatives)
{
    builder *b = calloc(1, sizeof *b);
    char g[32];
    for (int i = 0; i < 20; i++) {
        snprintf(g, sizeof g, "speaker%02d", i);
        add(b, g, 0, 3);
    }
    add(b, "wind1", 1, 1);
    add(b, "wind2", 1, 1);
    ds_list *l = mem_list(2, b->n, b->cls, b->grp);
    builder_free(b);
    free(b);
    ds_split_opts o;
    ds_split_opts_default(&o);
    ds_split *s = (ds_split *)1;
    aa_error err;
    ck_assert_int_eq(ds_split_make(&s, l, &o, &err), DS_ERR_SPLIT);
    o.lenient = 1;
    s = split_ok(l, &o);
    for (int sd = 0; sd < DS_N_SIDES; sd++)
        ck_assert_uint_gt(s->count[sd * 2 + 0], 0);
    ck_assert_uint_eq(s->count[0 * 2 + 1] + s->count[1 * 2 + 1] + s->count[2 * 2 + 1], 2);
    ck_assert_uint_gt(s->count[0 * 2 + 1], 0); /* one wind file trains, the other is kept back */
    ck_assert_uint_lt(s->count[0 * 2 + 1], 2);
    ds_split_free(s);
    ds_list_free(l);
}
END_TEST

START_TEST(split_report_table)
{
    ds_list *l = real_shaped();
    ds_split *s = split_ok(l, NULL);
    char *r = ds_split_report(s, l);
    ck_assert_ptr_nonnull(r);
    ck_assert_ptr_nonnull(strstr(r, "class3"));
    ck_assert_ptr_nonnull(strstr(r, "train"));
    ck_assert_ptr_nonnull(strstr(r, "120 groups"));
    ck_assert_int_eq(tu_count_lines(r), 5);
    free(r);
    size_t groups = s->groups[0] + s->groups[1] + s->groups[2];
    ck_assert_uint_eq(groups, 120); /* each group on exactly one side */
    ds_split_free(s);
    ds_list_free(l);
}
END_TEST

Suite *split_suite(void)
{
    Suite *s = suite_create("split");
    TCase *tc = tcase_create("split");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, split_real_shape_grouped_stratified_reproducible);
    tcase_add_test(tc, split_real_manifest);
    tcase_add_test(tc, split_synthetic_manifest_on_disk);
    tcase_add_test(tc, split_many_singletons_fast_and_exact);
    tcase_add_test(tc, split_errors_name_the_problem);
    tcase_add_test(tc, split_with_weights);
    tcase_add_test(tc, split_explicit_folders_kept_and_val_carved);
    tcase_add_test(tc, split_holds_out_sources);
    tcase_add_test(tc, split_lenient_for_negatives);
    tcase_add_test(tc, split_report_table);
    suite_add_tcase(s, tc);
    return s;
}
