/* aa-train --make-demo: the command writes the corpus and a long recording, and refuses bad input with the
 * documented exit codes. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/util/testutil.h"
#include "train/demo_cmd.h"

static int run_train(const char *args, char *out, size_t on, char *err, size_t en)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s/aa-train %s", tu_build_dir(), args);
    return tu_run(cmd, out, on, err, en);
}

START_TEST(make_demo_writes_corpus_and_long)
{
    char d[256], args[800], path[600], out[4096], err[4096];
    tu_mkdtemp(d, sizeof d);
    snprintf(args, sizeof args, "--make-demo %s/demo --per-class 6 --seed 3 --long %s/long.wav --long-seconds 20", d, d);
    ck_assert_int_eq(run_train(args, out, sizeof out, err, sizeof err), 0);
    ck_assert_msg(strstr(out, "24 clips") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "not a substitute for real recordings") != NULL, "%s", out);
    const char *files[] = {"demo/manifest.tsv", "demo/cough/0000.wav", "demo/heavy_breathing/0005.wav",
                           "demo/normal_breathing/0003.wav", "demo/background_noise/0005.wav", "long.wav",
                           "long.events.tsv"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        ck_assert_msg(tu_exists(tu_path(path, sizeof path, d, files[i])), "%s missing", files[i]);
    ck_assert(!tu_exists(tu_path(path, sizeof path, d, "demo/cough/0006.wav")));

    /* The same seed gives the same bytes. */
    snprintf(args, sizeof args, "--make-demo=%s/again --per-class 6 --seed 3", d);
    ck_assert_int_eq(run_train(args, out, sizeof out, err, sizeof err), 0);
    size_t na, nb;
    char pa[600], pb[600];
    void *a = tu_read_file(tu_path(pa, sizeof pa, d, "demo/cough/0004.wav"), &na);
    void *b = tu_read_file(tu_path(pb, sizeof pb, d, "again/cough/0004.wav"), &nb);
    ck_assert(a && b && na == nb && memcmp(a, b, na) == 0);
    free(a), free(b);

    /* An existing, non-empty folder is a runtime error that names it. */
    snprintf(args, sizeof args, "--make-demo %s/demo --per-class 6", d);
    ck_assert_int_eq(run_train(args, out, sizeof out, err, sizeof err), 1);
    ck_assert_msg(strstr(err, "not empty") != NULL, "%s", err);
    tu_rmtree(d);
}
END_TEST

START_TEST(make_demo_usage_errors)
{
    char out[4096], err[4096];
    const char *bad[] = {"--make-demo", "--make-demo x --per-class 2", "--make-demo x --per-class 7x",
                         "--make-demo x --seed -1", "--make-demo x --long-seconds 2", "--make-demo x --bogus",
                         "--make-demo x --long", "--make-demo --seed 3"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_msg(run_train(bad[i], out, sizeof out, err, sizeof err) == 2, "'%s' not a usage error", bad[i]);
        ck_assert_msg(tu_count_lines(err) == 1 && strstr(err, "aa-train: ") == err, "'%s': %s", bad[i], err);
        ck_assert(!tu_exists("x"));
    }
    ck_assert_int_eq(run_train("--make-demo x --help", out, sizeof out, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(out, "--per-class N"));
    /* --help right after --make-demo is help, not a folder to write */
    ck_assert_int_eq(run_train("--make-demo --help", out, sizeof out, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(out, "--per-class N"));
    ck_assert(!tu_exists("--help"));
    /* The trainer's own --help lists the command too. */
    ck_assert_int_eq(run_train("--help", out, sizeof out, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(out, "--make-demo DIR"));
    ck_assert_ptr_nonnull(strstr(out, "(default 100)"));

    char *argv[] = {"aa-train", "--seed", "1", NULL};
    ck_assert_int_eq(aa_cmd_is_make_demo(3, argv), 0);
    char *argv2[] = {"aa-train", "--make-demo=d", NULL};
    ck_assert_int_eq(aa_cmd_is_make_demo(2, argv2), 1);
}
END_TEST

Suite *demo_cmd_suite(void)
{
    Suite *s = suite_create("demo_cmd");
    TCase *tc = tcase_create("demo_cmd");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, make_demo_writes_corpus_and_long);
    tcase_add_test(tc, make_demo_usage_errors);
    suite_add_tcase(s, tc);
    return s;
}
