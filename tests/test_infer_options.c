/* aa-infer's option table: --help shows every option with the default the table gives, and a bad value is a
 * usage error that names its option. The parser itself is exercised through the binary in test_infer_cli.c. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer/infer.h"

static char *help_text(void)
{
    char *s = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&s, &n);
    ck_assert_ptr_nonnull(f);
    inf_usage(f);
    fclose(f);
    return s;
}

/* The line of the help that introduces --name ("  -m, --model FILE ..." or "      --json ..."). */
static const char *option_line(const char *help, const char *name)
{
    char want[64];
    snprintf(want, sizeof want, "--%s", name);
    for (const char *line = help; *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        /* an option line has the option in its head, which starts at column 2 or 6 */
        const char *at = strstr(line, want);
        if (at && at < line + len && at == line + 6 &&
            (at[strlen(want)] == ' ' || at[strlen(want)] == '\n'))
            return line;
        if (!nl)
            break;
        line = nl + 1;
    }
    return NULL;
}

START_TEST(help_shows_every_option_with_its_default)
{
    char *help = help_text();
    int n = 0;
    inf_option_info info;
    char def[64];
    for (int i = 0; inf_option(i, &info, def, sizeof def); i++, n++) {
        const char *line = option_line(help, info.name);
        ck_assert_msg(line != NULL, "--help has no line for --%s", info.name);
        if (info.arg) {
            char head[64];
            snprintf(head, sizeof head, "--%s %s", info.name, info.arg);
            ck_assert_msg(!strncmp(line + 6, head, strlen(head)), "--%s: the value is not shown as %s", info.name,
                          info.arg);
        }
        /* The option's entry runs to the next option line, section or blank line; its default is in it. */
        const char *end = line + 1;
        while ((end = strchr(end, '\n')) && end[1] == ' ' && strncmp(end + 1, "  -", 3) &&
               strncmp(end + 1, "      --", 8))
            end++;
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char entry[1024];
        ck_assert_uint_lt(len, sizeof entry);
        memcpy(entry, line, len);
        entry[len] = 0;
        if (def[0]) {
            char bracket[80];
            snprintf(bracket, sizeof bracket, "[%s]", def);
            ck_assert_msg(strstr(entry, bracket) != NULL, "--%s: the help does not show its default %s:\n%s",
                          info.name, bracket, entry);
        } else {
            ck_assert_msg(strchr(entry, '[') == NULL, "--%s: a default shown that the table does not give:\n%s",
                          info.name, entry);
        }
    }
    ck_assert_int_ge(n, 28);
    /* The defaults are the values the options start from. */
    inf_options o;
    inf_options_default(&o);
    char hop[32], port[32];
    snprintf(hop, sizeof hop, "[%g]", o.hop);
    snprintf(port, sizeof port, "[%d]", o.port);
    ck_assert_ptr_nonnull(strstr(help, hop));
    ck_assert_ptr_nonnull(strstr(help, port));
    /* No line passes column 100. */
    for (const char *line = help; *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        ck_assert_msg(len <= 100, "help line too long: %.*s", (int)len, line);
        if (!nl)
            break;
        line = nl + 1;
    }
    free(help);
}
END_TEST

static int parse(const char *a, const char *b, const char *c, aa_error *err, inf_options *o)
{
    char *argv[8];
    int n = 0;
    char buf[3][128];
    const char *in[3] = {a, b, c};
    for (int i = 0; i < 3; i++)
        if (in[i]) {
            snprintf(buf[n], sizeof buf[n], "%s", in[i]);
            argv[n] = buf[n];
            n++;
        }
    char m[] = "-m", model[] = "M", clip[] = "x.wav";
    argv[n++] = m, argv[n++] = model, argv[n++] = clip;
    aa_error_clear(err);
    int rc = inf_parse(n, argv, o, err);
    free(o->inputs);
    return rc;
}

START_TEST(bad_value_names_the_option)
{
    inf_option_info info;
    char def[64];
    int checked = 0;
    for (int i = 0; inf_option(i, &info, def, sizeof def); i++) {
        if (!info.arg || !info.checked)
            continue;
        checked++;
        char opt[64], inline_form[96];
        snprintf(opt, sizeof opt, "--%s", info.name);
        snprintf(inline_form, sizeof inline_form, "--%s=abc", info.name);
        aa_error err;
        inf_options o;
        ck_assert_msg(parse(opt, "abc", NULL, &err, &o) == INF_ERR_USAGE, "%s abc: not a usage error", opt);
        ck_assert_msg(strstr(err.msg, opt) != NULL, "%s abc: '%s' does not name the option", opt, err.msg);
        ck_assert_msg(strchr(err.msg, '\n') == NULL, "%s: more than one line", opt);
        ck_assert_msg(parse(inline_form, NULL, NULL, &err, &o) == INF_ERR_USAGE, "%s: not a usage error", inline_form);
        ck_assert_msg(strstr(err.msg, opt) != NULL, "%s: '%s' does not name the option", inline_form, err.msg);
        /* A value missing at the end of the line names the option too. */
        char *argv[] = {opt};
        ck_assert_int_eq(inf_parse(1, argv, &o, &err), INF_ERR_USAGE);
        free(o.inputs);
        ck_assert_msg(strstr(err.msg, opt) != NULL, "%s at the end: '%s'", opt, err.msg);
    }
    ck_assert_int_ge(checked, 15);
    /* Values in range parse, and land where the defaults were. */
    aa_error err;
    inf_options o;
    ck_assert_int_eq(parse("--threads", "3", "--min-confidence=0.25", &err, &o), 0);
    ck_assert_int_eq(o.threads, 3);
    ck_assert(o.min_confidence == 0.25);
    ck_assert_int_eq(parse("--timeline", "--smooth", "5", &err, &o), 0);
    ck_assert_int_eq(o.smooth, 5);
    ck_assert_int_eq(parse("--timeline", "--smooth", "4", &err, &o), INF_ERR_USAGE);
    ck_assert_ptr_nonnull(strstr(err.msg, "--smooth"));
    ck_assert_int_eq(parse("--port", "80", NULL, &err, &o), INF_ERR_USAGE); /* --port without --serve */
    ck_assert_str_eq(err.msg, "--port only applies with --serve");
    ck_assert_int_eq(parse("--hop", "1", NULL, &err, &o), INF_ERR_USAGE);
    ck_assert_str_eq(err.msg, "--hop only applies with --timeline or --stream");
    /* an empty address is the command line's mistake, found before any model is read */
    ck_assert_int_eq(parse("--serve", "--host", "", &err, &o), INF_ERR_USAGE);
    ck_assert_str_eq(err.msg, "--host needs an address, not ''");
}
END_TEST

Suite *infer_options_suite(void)
{
    Suite *s = suite_create("infer_options");
    TCase *tc = tcase_create("table");
    tcase_add_test(tc, help_shows_every_option_with_its_default);
    tcase_add_test(tc, bad_value_names_the_option);
    suite_add_tcase(s, tc);
    return s;
}
