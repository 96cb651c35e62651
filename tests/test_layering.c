/* Who may include whom (docs/DEVELOPING.md): the rules that keep the binaries and modules apart, checked on
 * the sources themselves so that a stray #include fails here rather than in a review. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/util/testutil.h"

/* The checkout's top, from the fixtures folder (tests/fixtures). */
static void source_root(char *out, size_t cap)
{
    snprintf(out, cap, "%s/../..", tu_fixtures_dir());
}

/* Lines of dir's .c and .h files that include a header under one of the folders in banned (NULL-ended);
 * each one is reported. Returns how many. */
static int banned_includes(const char *dir, const char *const *banned)
{
    char root[1024], path[2048];
    source_root(root, sizeof root);
    snprintf(path, sizeof path, "%s/%s", root, dir);
    DIR *d = opendir(path);
    ck_assert_msg(d != NULL, "%s: cannot open", path);
    int found = 0, files = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t n = strlen(e->d_name);
        if (n < 3 || (strcmp(e->d_name + n - 2, ".c") && strcmp(e->d_name + n - 2, ".h")))
            continue;
        char file[3072];
        snprintf(file, sizeof file, "%s/%s", path, e->d_name);
        FILE *f = fopen(file, "r");
        ck_assert_msg(f != NULL, "%s: cannot open", file);
        files++;
        char line[1024];
        for (int no = 1; fgets(line, sizeof line, f); no++) {
            const char *p = line;
            while (*p == ' ' || *p == '\t')
                p++;
            if (strncmp(p, "#include \"", 10))
                continue;
            for (const char *const *b = banned; *b; b++) {
                size_t bl = strlen(*b);
                if (!strncmp(p + 10, *b, bl) && p[10 + bl] == '/') {
                    fprintf(stderr, "%s/%s:%d includes %s/: %s", dir, e->d_name, no, *b, p);
                    found++;
                }
            }
        }
        fclose(f);
    }
    closedir(d);
    ck_assert_msg(files > 0, "%s: no sources found", path);
    return found;
}

START_TEST(infer_includes_nothing_of_train)
{
    static const char *const train[] = {"train", NULL};
    ck_assert_int_eq(banned_includes("infer", train), 0);
}
END_TEST

START_TEST(dsp_and_nn_know_nothing_of_each_other)
{
    static const char *const above_dsp[] = {"nn", "datasets", "model", "eval", "train", "infer", NULL};
    static const char *const above_nn[] = {"dsp", "datasets", "model", "eval", "train", "infer", NULL};
    ck_assert_int_eq(banned_includes("dsp", above_dsp), 0);
    ck_assert_int_eq(banned_includes("nn", above_nn), 0);
}
END_TEST

START_TEST(demo_corpus_is_only_for_make_demo_tests_and_bench)
{
    /* demo/ is aa-train --make-demo's (train/demo_cmd.c), the tests' and the benchmarks': the library and
     * aa-infer do not reach it. */
    static const char *const demo[] = {"demo", NULL};
    const char *dirs[] = {"util", "dsp", "nn", "datasets", "model", "eval", "infer"};
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
        ck_assert_msg(banned_includes(dirs[i], demo) == 0, "%s/ includes demo/", dirs[i]);
    static const char *const above_demo[] = {"dsp", "nn", "datasets", "model", "eval", "train", "infer", NULL};
    ck_assert_int_eq(banned_includes("demo", above_demo), 0);
}
END_TEST

Suite *layering_suite(void)
{
    Suite *s = suite_create("layering");
    TCase *tc = tcase_create("includes");
    tcase_add_test(tc, infer_includes_nothing_of_train);
    tcase_add_test(tc, dsp_and_nn_know_nothing_of_each_other);
    tcase_add_test(tc, demo_corpus_is_only_for_make_demo_tests_and_bench);
    suite_add_tcase(s, tc);
    return s;
}
