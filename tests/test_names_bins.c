/* Names with control characters (a file, a class folder, hence a model's class names and labels) through the
 * binaries: text output and error lines show them escaped (\x1B, util's aa_printable), JSON escapes them
 * as JSON (\u001b); no raw control byte reaches a terminal. (Class folders with control characters are
 * refused by the listing, and such class names in a model file by the loader: test_model.c.) */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/util/demomodel.h"
#include "tests/util/testutil.h"

#define OUT_CAP (1 << 17)

static char g_out[OUT_CAP], g_err[OUT_CAP];

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    ck_assert(n > 0 && (size_t)n < sizeof cmd);
    return tu_run(cmd, g_out, sizeof g_out, g_err, sizeof g_err);
}

/* No C0 control but newline (and the tab of CSV? none is written) in s, and no C1 control (U+0080..9F). */
static int clean(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p < 0x20 && *p != '\n') || *p == 0x7F)
            return 0;
        if (p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F)
            return 0;
    }
    return 1;
}

START_TEST(names_escaped_in_text)
{
    char dir[256], clip[400], data[320];
    tu_mkdtemp(dir, sizeof dir);
    const char *bin = tu_build_dir();
    /* a clip whose name holds ESC [ 31 m (red) and a C1 CSI */
    snprintf(clip, sizeof clip, "%s/e\x1b[31mx\xc2\x9b.wav", dir);
    size_t n = 0;
    char src[320];
    snprintf(src, sizeof src, "%s/mix_1s.wav", tu_fixtures_dir());
    char *bytes = tu_read_file(src, &n);
    ck_assert(bytes);
    tu_write_file(clip, bytes, n);
    free(bytes);

    char msg[256];
    snprintf(data, sizeof data, "%s/m.aam", dir);
    ck_assert_msg(tu_make_random_model(data, NULL, 1, 1.0, 0.0, msg, sizeof msg) == 0, "%s", msg);
    int rc;

    /* classifying: text, CSV, timeline text escape; JSON escapes as JSON */
    const char *modes[] = {"", "--csv", "--timeline"};
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++) {
        rc = sh("%s/aa-infer -m '%s/m.aam' %s '%s'", bin, dir, modes[i], clip);
        ck_assert_msg(rc == 0, "'%s': %s", modes[i], g_err);
        ck_assert_msg(clean(g_out) && clean(g_err), "'%s': a control character: %s", modes[i], g_out);
        ck_assert_msg(strstr(g_out, "e\\x1B[31mx\\u009B.wav"), "'%s': %s", modes[i], g_out);
    }
    rc = sh("%s/aa-infer -m '%s/m.aam' --json '%s'", bin, dir, clip);
    ck_assert_msg(rc == 0 && clean(g_out) && strstr(g_out, "\\u001b[31m"), "%s", g_out);
    /* an error line naming the file */
    rc = sh("%s/aa-infer -m '%s/m.aam' '%s/gone\x1b[2J.wav'", bin, dir, dir);
    ck_assert_int_eq(rc, 1);
    ck_assert_msg(clean(g_err) && strstr(g_err, "gone\\x1B[2J.wav"), "%s", g_err);
    /* --eval on a split table naming it and a missing file: the report runs, the error line is escaped */
    char tsv[320];
    tu_path(tsv, sizeof tsv, dir, "s.split.tsv");
    char text[1400];
    snprintf(text, sizeof text, "path\tclass\n%s\tcough\n%s/lost\x1b]0;title\x07.wav\tcough\n", clip, dir);
    tu_write_file(tsv, text, strlen(text));
    rc = sh("%s/aa-infer -m '%s/m.aam' --eval '%s'", bin, dir, tsv);
    ck_assert_msg(clean(g_out) && clean(g_err) && strstr(g_err, "lost\\x1B]0;title\\x07.wav"), "%s", g_err);
    tu_rmtree(dir);
}
END_TEST

Suite *names_bins_suite(void)
{
    Suite *s = suite_create("names_bins");
    TCase *tc = tcase_create("names_bins");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, names_escaped_in_text);
    suite_add_tcase(s, tc);
    return s;
}
