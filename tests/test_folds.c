/* datasets/folds.c: grouped, stratified cross-validation folds, the manifest's fold column, and the split
 * of the folds left over into train and validation around a fixed test fold. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "datasets/datasets.h"
#include "tests/util/testutil.h"

/* A list in memory: the real corpus's shape (4 classes, people holding several classes, many singletons),
 * item i of class cls[i] in group grp[i]. */
static ds_list *shaped_list(void)
{
    static const int K = 4;
    ds_list *l = calloc(1, sizeof *l);
    ck_assert_ptr_nonnull(l);
    l->n_classes = K;
    l->classes = calloc((size_t)K, sizeof *l->classes);
    for (int k = 0; k < K; k++) {
        char name[32];
        snprintf(name, sizeof name, "class%d", k);
        l->classes[k] = strdup(name);
    }
    l->items = calloc(400, sizeof *l->items);
    l->groups = calloc(400, sizeof *l->groups);
    char g[32];
    for (int p = 0; p < 120; p++) {
        /* people 0..44 hold classes 1, 2 and 3; 45..59 class 1 twice; 60..119 one background recording */
        snprintf(g, sizeof g, "g%03d", p);
        size_t gi = l->n_groups;
        l->groups[l->n_groups++] = strdup(g);
        int cls[3], n = 0;
        if (p < 45)
            cls[0] = 1, cls[1] = 2, cls[2] = 3, n = 3;
        else if (p < 60)
            cls[0] = 1, cls[1] = 1, n = 2;
        else
            cls[0] = 0, n = 1;
        for (int j = 0; j < n; j++) {
            char rel[64];
            snprintf(rel, sizeof rel, "item%05zu.wav", l->n_items);
            l->items[l->n_items++] = (ds_item){.path = strdup(rel), .rel = strdup(rel), .cls = cls[j],
                                               .side = DS_SIDE_NONE, .group = gi, .fold = -1, .size = 1};
        }
    }
    return l;
}

START_TEST(folds_grouped_stratified_reproducible)
{
    ds_list *l = shaped_list();
    aa_error err;
    for (int n = 2; n <= 10; n += 3) {
        ds_folds *f = NULL, *again = NULL;
        ck_assert_msg(ds_folds_make(&f, l, n, 7, &err) == 0, "%s", err.msg);
        ck_assert_msg(ds_folds_make(&again, l, n, 7, &err) == 0, "%s", err.msg);
        ck_assert_int_eq(f->n, n);
        ck_assert_int_eq(f->from_manifest, 0);
        ck_assert_uint_eq(f->groups_crossing, 0);
        ck_assert_mem_eq(f->fold, again->fold, l->n_items * sizeof *f->fold);
        /* no group in two folds */
        int *gf = malloc(l->n_groups * sizeof *gf);
        for (size_t g = 0; g < l->n_groups; g++)
            gf[g] = -1;
        for (size_t i = 0; i < l->n_items; i++) {
            ck_assert_int_ge(f->fold[i], 0);
            ck_assert_int_lt(f->fold[i], n);
            size_t g = l->items[i].group;
            ck_assert_msg(gf[g] < 0 || gf[g] == f->fold[i], "group %zu in folds %d and %d", g, gf[g], f->fold[i]);
            gf[g] = f->fold[i];
        }
        free(gf);
        /* each class within one recording of an n-th of its total in every fold: groups of one background
         * recording and of three classes can always be arranged so (the totals 60, 75, 45, 45 split evenly
         * or nearly, and 15 two-cough people fill the gaps of class 1) */
        for (int k = 0; k < l->n_classes; k++) {
            size_t tot = 0, per[10] = {0};
            for (size_t i = 0; i < l->n_items; i++)
                if (l->items[i].cls == k)
                    tot++, per[f->fold[i]]++;
            for (int j = 0; j < n; j++) {
                double want = (double)tot / n, diff = (double)per[j] - want;
                ck_assert_msg(diff <= 2.0 && diff >= -2.0, "%d folds: class %d fold %d holds %zu, wanted %.1f", n, k,
                              j, per[j], want);
            }
        }
        ds_folds_free(f);
        ds_folds_free(again);
    }
    ds_folds *f = NULL, *other = NULL;
    ck_assert_int_eq(ds_folds_make(&f, l, 5, 1, &err), 0);
    ck_assert_int_eq(ds_folds_make(&other, l, 5, 2, &err), 0);
    ck_assert_msg(memcmp(f->fold, other->fold, l->n_items * sizeof *f->fold) != 0, "the seed changes nothing");
    ds_folds_free(f);
    ds_folds_free(other);
    /* more folds than groups, and a fold count out of range */
    ck_assert_int_eq(ds_folds_make(&f, l, 1, 1, &err), DS_ERR_ARG);
    ck_assert_int_eq(ds_folds_make(&f, l, DS_MAX_FOLDS + 1, 1, &err), DS_ERR_ARG);
    ds_list_free(l);
}
END_TEST

START_TEST(folds_fixed_test_side_split_grouped)
{
    ds_list *l = shaped_list();
    aa_error err;
    ds_folds *f = NULL;
    ck_assert_int_eq(ds_folds_make(&f, l, 5, 3, &err), 0);
    int *fixed = malloc(l->n_items * sizeof *fixed);
    for (int t = 0; t < f->n; t++) {
        for (size_t i = 0; i < l->n_items; i++)
            fixed[i] = f->fold[i] == t ? DS_TEST : DS_SIDE_NONE;
        ds_split_opts o;
        ds_split_opts_default(&o);
        o.frac[DS_TRAIN] = 0.8, o.frac[DS_VAL] = 0.2, o.frac[DS_TEST] = 0;
        o.fixed_side = fixed;
        ds_split *s = NULL;
        ck_assert_msg(ds_split_make(&s, l, &o, &err) == 0, "%s", err.msg);
        int *gs = malloc(l->n_groups * sizeof *gs);
        for (size_t g = 0; g < l->n_groups; g++)
            gs[g] = -1;
        size_t val = 0, train = 0;
        for (size_t i = 0; i < l->n_items; i++) {
            /* the fold is the test side, exactly; validation comes from the other folds */
            ck_assert_int_eq(s->side[i] == DS_TEST, f->fold[i] == t);
            size_t g = l->items[i].group;
            ck_assert(gs[g] < 0 || gs[g] == s->side[i]);
            gs[g] = s->side[i];
            val += s->side[i] == DS_VAL;
            train += s->side[i] == DS_TRAIN;
        }
        ck_assert_uint_eq(s->held_out[DS_TEST], 0); /* not a source held out */
        ck_assert_msg(val > 0.12 * (val + train) && val < 0.28 * (val + train), "val %zu of %zu", val, val + train);
        free(gs);
        ds_split_free(s);
    }
    free(fixed);
    ds_folds_free(f);
    ds_list_free(l);
}
END_TEST

static void put_file(const char *d, const char *rel)
{
    char path[512];
    tu_write_file(tu_path(path, sizeof path, d, rel), "RIFF", 4);
}

START_TEST(folds_from_manifest_column)
{
    char d[256], path[512];
    tu_mkdtemp(d, sizeof d);
    ck_assert_int_eq(mkdir(tu_path(path, sizeof path, d, "a"), 0777), 0);
    ck_assert_int_eq(mkdir(tu_path(path, sizeof path, d, "b"), 0777), 0);
    const char *files[6] = {"a/1.wav", "a/2.wav", "a/3.wav", "b/1.wav", "b/2.wav", "b/3.wav"};
    for (int i = 0; i < 6; i++)
        put_file(d, files[i]);
    /* folds named 3, 7 and 12: three folds in that order; group P spans folds 3 and 7 */
    FILE *m = fopen(tu_path(path, sizeof path, d, "manifest.tsv"), "w");
    fprintf(m, "path\tgroup\tfold\na/1.wav\tP\t3\na/2.wav\tQ\t7\na/3.wav\tR\t12\nb/1.wav\tP\t7\nb/2.wav\tS\t3\n"
               "b/3.wav\tT\t12\n");
    ck_assert_int_eq(fclose(m), 0);
    ds_list *l = NULL;
    aa_error err;
    ck_assert_msg(ds_list_load(&l, d, NULL, &err) == 0, "%s", err.msg);
    ds_folds *f = NULL;
    ck_assert_msg(ds_folds_make(&f, l, 0, 1, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(f->from_manifest, 1);
    ck_assert_int_eq(f->n, 3);
    ck_assert_int_eq(f->label[0], 3);
    ck_assert_int_eq(f->label[2], 12);
    int want[6] = {0, 1, 2, 1, 0, 2};
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(f->fold[i], want[i]); /* items are sorted by path, as files[] is */
    ck_assert_uint_eq(f->groups_crossing, 1);
    ds_folds_free(f);
    /* a number of folds asked for makes its own, whole groups, whatever the column says */
    ck_assert_int_eq(ds_list_has_folds(l), 1);
    ck_assert_msg(ds_folds_make(&f, l, 2, 1, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(f->from_manifest, 0);
    ck_assert_uint_eq(f->groups_crossing, 0);
    ds_folds_free(f);
    ds_list_free(l);
    /* one file without a fold, then a fold that is not a number */
    m = fopen(tu_path(path, sizeof path, d, "manifest.tsv"), "w");
    fprintf(m, "path\tgroup\tfold\na/1.wav\tP\t1\na/2.wav\tQ\t2\na/3.wav\tR\t\nb/1.wav\tP\t1\nb/2.wav\tS\t2\n"
               "b/3.wav\tT\t1\n");
    ck_assert_int_eq(fclose(m), 0);
    ck_assert_int_eq(ds_list_load(&l, d, NULL, &err), 0);
    ck_assert_int_eq(ds_folds_make(&f, l, 0, 1, &err), DS_ERR_MANIFEST);
    ck_assert_msg(strstr(err.msg, "a/3.wav") != NULL, "%s", err.msg);
    ds_list_free(l);
    m = fopen(tu_path(path, sizeof path, d, "manifest.tsv"), "w");
    fprintf(m, "path\tgroup\tfold\na/1.wav\tP\tone\n");
    ck_assert_int_eq(fclose(m), 0);
    ck_assert_int_eq(ds_list_load(&l, d, NULL, &err), DS_ERR_MANIFEST);
    ck_assert_msg(strstr(err.msg, "fold 'one'") != NULL, "%s", err.msg);
    tu_rmtree(d);
}
END_TEST

Suite *folds_suite(void)
{
    Suite *s = suite_create("folds");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, folds_grouped_stratified_reproducible);
    tcase_add_test(tc, folds_fixed_test_side_split_grouped);
    tcase_add_test(tc, folds_from_manifest_column);
    suite_add_tcase(s, tc);
    return s;
}
