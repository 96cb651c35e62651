/* The binaries' command-line contract: --help, --version, exit codes for usage errors. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "tests/util/testutil.h"

static int run_bin(const char *bin, const char *args, char *out, size_t on, char *err, size_t en)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s/%s %s", tu_build_dir(), bin, args);
    return tu_run(cmd, out, on, err, en);
}

START_TEST(help_exits_zero_and_disclaims)
{
    const char *bins[] = {"aa-train", "aa-infer"};
    char out[1 << 15], err[4096]; /* aa-infer --help is over 8 KB */
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(run_bin(bins[i], "--help", out, sizeof out, err, sizeof err), 0);
        ck_assert_msg(strstr(out, "Usage:") != NULL, "%s --help: no usage line", bins[i]);
        /* the help reads well for any corpus: it speaks of a sound classifier, and quotes the disclaimer only
         * as what a respiratory model adds to its results */
        ck_assert_msg(strstr(out, "sound classifier") != NULL, "%s --help: not neutral", bins[i]);
        ck_assert_msg(strstr(out, "A respiratory model") && strstr(out, "Not a medical device"),
                      "%s --help: does not say when the disclaimer is shown", bins[i]);
        ck_assert_msg(!strstr(out, "respiratory-sound") && !strstr(out, "Classify respiratory"),
                      "%s --help: speaks as if every model were respiratory", bins[i]);
        ck_assert_msg(strstr(out, "Exit status") != NULL, "%s --help: exit codes undocumented", bins[i]);
    }
}
END_TEST

START_TEST(unknown_option_is_usage_error)
{
    const char *bins[] = {"aa-train", "aa-infer"};
    char out[4096], err[4096];
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(run_bin(bins[i], "--no-such-option", out, sizeof out, err, sizeof err), 2);
        ck_assert_msg(strstr(err, "--no-such-option") != NULL, "%s: error does not name the option", bins[i]);
        ck_assert_int_eq(tu_count_lines(err), 1);
    }
}
END_TEST

START_TEST(bad_value_names_the_option)
{
    const char *cases[][3] = {
        {"aa-train", "data -o m.aam --epochs abc", "--epochs"},
        {"aa-train", "data -o m.aam --hop=-1", "--hop"},
        {"aa-infer", "-m m.aam --threads abc x.wav", "--threads"},
        {"aa-infer", "-m m.aam --serve --port=99999", "--port"},
        {"aa-infer", "-m m.aam --side nowhere --eval d", "--side"},
    };
    char out[4096], err[4096];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_msg(run_bin(cases[i][0], cases[i][1], out, sizeof out, err, sizeof err) == 2, "%s %s: not 2",
                      cases[i][0], cases[i][1]);
        ck_assert_msg(strstr(err, cases[i][2]) != NULL, "%s %s: '%s' does not name %s", cases[i][0], cases[i][1],
                      err, cases[i][2]);
        ck_assert_int_eq(tu_count_lines(err), 1);
        ck_assert_str_eq(out, "");
    }
}
END_TEST

START_TEST(version_prints)
{
    char out[256];
    ck_assert_int_eq(run_bin("aa-infer", "--version", out, sizeof out, NULL, 0), 0);
    ck_assert_msg(strncmp(out, "aa-infer ", 9) == 0, "got '%s'", out);
}
END_TEST

Suite *cli_suite(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("contract");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, help_exits_zero_and_disclaims);
    tcase_add_test(tc, unknown_option_is_usage_error);
    tcase_add_test(tc, bad_value_names_the_option);
    tcase_add_test(tc, version_prints);
    suite_add_tcase(s, tc);
    return s;
}
