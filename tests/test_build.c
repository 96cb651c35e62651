/* The build's promise to a packager or a user without root: `make` builds or says in one line what is
 * missing; it never runs a package manager (make deps does). Checked with `make -n` on a fresh build folder
 * and stand-ins for the package tools on PATH that leave a mark if anything runs them. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/util/testutil.h"

/* dir/bin holds apt-get, apt, aptitude, dpkg, dpkg-query and sudo, each of which appends its name to
 * dir/ran and fails; with hide != NULL also a pkg-config that claims not to know module `hide`. */
static void fake_tools(const char *dir, const char *hide)
{
    char bin[1024], path[1200], script[1600];
    snprintf(bin, sizeof bin, "%s/bin", dir);
    ck_assert_int_eq(mkdir(bin, 0755), 0);
    const char *tools[] = {"apt-get", "apt", "aptitude", "dpkg", "dpkg-query", "sudo"};
    for (size_t i = 0; i < sizeof tools / sizeof *tools; i++) {
        snprintf(path, sizeof path, "%s/%s", bin, tools[i]);
        snprintf(script, sizeof script, "#!/bin/sh\necho %s \"$@\" >> '%s/ran'\nexit 1\n", tools[i], dir);
        tu_write_file(path, script, strlen(script));
        ck_assert_int_eq(chmod(path, 0755), 0);
    }
    if (hide) {
        char real[1024] = "";
        ck_assert_int_eq(tu_run("command -v pkg-config", real, sizeof real, NULL, 0), 0);
        real[strcspn(real, "\n")] = 0;
        snprintf(path, sizeof path, "%s/pkg-config", bin);
        snprintf(script, sizeof script,
                 "#!/bin/sh\nfor a in \"$@\"; do [ \"$a\" = '%s' ] && exit 1; done\nexec '%s' \"$@\"\n", hide, real);
        tu_write_file(path, script, strlen(script));
        ck_assert_int_eq(chmod(path, 0755), 0);
    }
}

/* Runs make -n GOAL in the checkout with dir/bin first on PATH and BUILD=dir/build (a build folder nothing
 * was built in); stdout to dir/out, stderr to dir/err. The variables a make running the tests exports
 * (jobserver, command-line overrides) are dropped, so this make reads the Makefile afresh. */
static int make_n(const char *dir, const char *goal)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "cd '%s/../..' && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u BUILD PATH='%s/bin':\"$PATH\" "
             "make -n %s BUILD='%s/build' >'%s/out' 2>'%s/err'",
             tu_fixtures_dir(), dir, goal, dir, dir, dir);
    return tu_run(cmd, NULL, 0, NULL, 0);
}

static char *slurp(const char *dir, const char *name)
{
    char path[1024];
    char *s = tu_read_file(tu_path(path, sizeof path, dir, name), NULL);
    ck_assert_msg(s != NULL, "%s/%s: cannot read", dir, name);
    return s;
}

START_TEST(make_n_runs_no_package_manager)
{
    char dir[512];
    tu_mkdtemp(dir, sizeof dir);
    fake_tools(dir, NULL);
    const char *goals[] = {"", "all", "check", "install"};
    for (size_t i = 0; i < sizeof goals / sizeof *goals; i++) {
        int rc = make_n(dir, goals[i]);
        char *out = slurp(dir, "out"), *err = slurp(dir, "err");
        ck_assert_msg(rc == 0, "make -n %s: status %d: %s", goals[i], rc, err);
        /* it would build: the compiler runs, the package tools and the installer do not */
        ck_assert_msg(strstr(out, " -c dsp/logmel.c ") != NULL, "make -n %s: no compile lines", goals[i]);
        ck_assert_msg(!strstr(out, "apt-get") && !strstr(out, "dpkg") && !strstr(out, "install-deps.sh build"),
                      "make -n %s would run a package manager", goals[i]);
        char ran[1024];
        ck_assert_msg(!tu_exists(tu_path(ran, sizeof ran, dir, "ran")), "make -n %s ran a package tool: %s",
                      goals[i], slurp(dir, "ran"));
        free(out);
        free(err);
    }
    char b[1024];
    ck_assert_msg(!tu_exists(tu_path(b, sizeof b, dir, "build")), "make -n created the build folder");
    tu_rmtree(dir);
}
END_TEST

START_TEST(missing_package_is_one_line)
{
    char dir[512];
    tu_mkdtemp(dir, sizeof dir);
    fake_tools(dir, "fftw3f");
    ck_assert_int_ne(make_n(dir, ""), 0);
    char *out = slurp(dir, "out"), *err = slurp(dir, "err");
    ck_assert_msg(tu_count_lines(err) == 1, "not one line: %s", err);
    ck_assert_msg(strstr(err, "libfftw3-dev") && strstr(err, "make deps") && strstr(err, "apt-get install -y"),
                  "the line does not name the package and how to install it: %s", err);
    ck_assert_str_eq(out, ""); /* stopped before anything */
    char ran[1024];
    ck_assert(!tu_exists(tu_path(ran, sizeof ran, dir, "ran")));
    free(out);
    free(err);
    /* make check also needs Check: both are named */
    tu_rmtree(dir);
    tu_mkdtemp(dir, sizeof dir);
    fake_tools(dir, "check");
    ck_assert_int_eq(make_n(dir, "all"), 0);
    ck_assert_int_ne(make_n(dir, "check"), 0);
    err = slurp(dir, "err");
    ck_assert_msg(tu_count_lines(err) == 1 && strstr(err, " check"), "make check: %s", err);
    free(err);
    tu_rmtree(dir);
}
END_TEST

Suite *build_suite(void)
{
    Suite *s = suite_create("build");
    TCase *tc = tcase_create("make");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, make_n_runs_no_package_manager);
    tcase_add_test(tc, missing_package_is_one_line);
    suite_add_tcase(s, tc);
    return s;
}
