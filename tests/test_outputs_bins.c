/* Where the binaries' outputs go, by what the path names (util's aa_afile): a regular file is replaced
 * atomically, a symbolic link's target is replaced and the link kept, /dev/null stays a device, /dev/full
 * fails with its reason and exit 1, a FIFO is written through to its reader, '-' is standard output; and
 * the places are checked before any work. aa-infer --mel and aa-train (-o, --report-json, --svg). */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "demo/demo.h"
#include "tests/util/testutil.h"

#define OUT_CAP (1 << 17)
#define TRAIN_ARGS "--arch \"p2 p2 c4 relu gap fc\" --epochs 2 -j 1 --seed 5"
#define TRAIN_OPTS "--no-cache " TRAIN_ARGS

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

static mode_t lmode(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 ? st.st_mode : 0;
}

static int same_file_contents(const char *a, const char *b)
{
    size_t na = 0, nb = 0;
    char *x = tu_read_file(a, &na), *y = tu_read_file(b, &nb);
    int same = x && y && na == nb && !memcmp(x, y, na);
    free(x);
    free(y);
    return same;
}

static void make_corpus(const char *data)
{
    demo_corpus_opts o;
    demo_corpus_opts_default(&o);
    o.per_class = 8;
    o.seed = 3;
    aa_error err;
    ck_assert_msg(demo_corpus_write(data, &o, &err) == 0, "%s", err.msg);
}

START_TEST(mel_outputs_by_kind)
{
    char dir[256], clip[320], ref[320], p[400], q[400];
    tu_mkdtemp(dir, sizeof dir);
    const char *bin = tu_build_dir();
    snprintf(clip, sizeof clip, "%s/mix_1s.wav", tu_fixtures_dir());
    tu_path(ref, sizeof ref, dir, "ref.f32");
    ck_assert_int_eq(sh("%s/aa-infer --mel '%s' -o '%s'", bin, clip, ref), 0);
    ck_assert(S_ISREG(lmode(ref)));

    /* /dev/null: exit 0, still a character device (it was renamed over: a regular file in /dev as root) */
    ck_assert_int_eq(sh("%s/aa-infer --mel '%s' -o /dev/null", bin, clip), 0);
    ck_assert(S_ISCHR(lmode("/dev/null")));
    /* /dev/full: one line with the reason, exit 1, still a device */
    int rc = sh("%s/aa-infer --mel '%s' -o /dev/full", bin, clip);
    ck_assert_int_eq(rc, 1);
    ck_assert_str_eq(g_err, "aa-infer: /dev/full: write failed (No space left on device)\n");
    ck_assert_str_eq(g_out, "");
    ck_assert(S_ISCHR(lmode("/dev/full")));
    /* '-' to a full standard output: the same */
    ck_assert_int_eq(sh("%s/aa-infer --mel '%s' -o - >/dev/full", bin, clip), 1);
    ck_assert_msg(strstr(g_err, "-: write failed (No space left on device)"), "%s", g_err);

    /* a symlink: its target replaced, the link kept */
    tu_write_file(tu_path(p, sizeof p, dir, "target.f32"), "old", 3);
    ck_assert_int_eq(symlink("target.f32", tu_path(q, sizeof q, dir, "link.f32")), 0);
    ck_assert_int_eq(sh("%s/aa-infer --mel '%s' -o '%s'", bin, clip, q), 0);
    ck_assert(S_ISLNK(lmode(q)) && S_ISREG(lmode(p)));
    ck_assert(same_file_contents(p, ref));

    /* a FIFO, read by a child: the whole log-mel goes through, the FIFO stays */
    ck_assert_int_eq(mkfifo(tu_path(p, sizeof p, dir, "fifo"), 0600), 0);
    tu_path(q, sizeof q, dir, "from_fifo");
    ck_assert_int_eq(sh("cat '%s' >'%s' & %s/aa-infer --mel '%s' -o '%s'; rc=$?; wait; exit $rc", p, q, bin, clip,
                        p), 0);
    ck_assert(S_ISFIFO(lmode(p)));
    ck_assert(same_file_contents(q, ref));

    /* '-': standard output, the shape on standard error */
    ck_assert_int_eq(sh("%s/aa-infer --mel '%s' -o - >'%s'", bin, clip, q), 0);
    ck_assert(same_file_contents(q, ref));
    ck_assert_int_eq(tu_count_entries(dir, ".tmp."), 0);
    tu_rmtree(dir);
}
END_TEST

START_TEST(train_outputs_by_kind)
{
    char dir[256], data[320], ref[320], p[400], q[400];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(data, sizeof data, dir, "data");
    make_corpus(data);
    const char *bin = tu_build_dir();
    tu_path(ref, sizeof ref, dir, "ref.aam");
    ck_assert_int_eq(sh("%s/aa-train '%s' -o '%s' " TRAIN_OPTS " -q", bin, data, ref), 0);

    /* /dev/null: trained, judged on the test split, the device kept and no split table in /dev */
    int rc = sh("%s/aa-train '%s' -o /dev/null " TRAIN_OPTS, bin, data);
    ck_assert_msg(rc == 0, "%s", g_err);
    ck_assert(S_ISCHR(lmode("/dev/null")));
    ck_assert(!tu_exists("/dev/null.split.tsv"));
    ck_assert_msg(strstr(g_out, "Test split"), "the test split was not judged: %s", g_out);
    /* /dev/full: exit 1, the reason, and what was written */
    rc = sh("%s/aa-train '%s' -o /dev/full " TRAIN_OPTS " -q", bin, data);
    ck_assert_int_eq(rc, 1);
    ck_assert_msg(tu_count_lines(g_err) == 1 &&
                      strstr(g_err, "aa-train: /dev/full: write failed (No space left on device); nothing was written"),
                  "%s", g_err);
    ck_assert(S_ISCHR(lmode("/dev/full")));

    /* a symlink: the target is the model, the link stays, the split table is named after the link */
    tu_write_file(tu_path(p, sizeof p, dir, "target.aam"), "old", 3);
    ck_assert_int_eq(symlink("target.aam", tu_path(q, sizeof q, dir, "link.aam")), 0);
    ck_assert_int_eq(sh("%s/aa-train '%s' -o '%s' " TRAIN_OPTS " -q", bin, data, q), 0);
    ck_assert(S_ISLNK(lmode(q)) && S_ISREG(lmode(p)));
    ck_assert(same_file_contents(p, ref));

    /* a FIFO with a reader: one whole model goes through (written once, not twice) */
    ck_assert_int_eq(mkfifo(tu_path(p, sizeof p, dir, "fifo.aam"), 0600), 0);
    tu_path(q, sizeof q, dir, "from_fifo.aam");
    rc = sh("cat '%s' >'%s' & %s/aa-train '%s' -o '%s' " TRAIN_OPTS " -q; rc=$?; wait; exit $rc", p, q, bin, data, p);
    ck_assert_msg(rc == 0, "%s", g_err);
    ck_assert(S_ISFIFO(lmode(p)));
    ck_assert(same_file_contents(q, ref));

    /* '-': the model on standard output, the people's text on standard error */
    rc = sh("%s/aa-train '%s' -o - " TRAIN_OPTS " >'%s'", bin, data, q);
    ck_assert_msg(rc == 0, "%s", g_err);
    ck_assert(same_file_contents(q, ref));
    ck_assert_msg(strstr(g_err, "Wrote the model to standard output"), "%s", g_err);
    /* --report-json -: the report is standard output, alone */
    rc = sh("%s/aa-train '%s' -o '%s/m.aam' --report-json - " TRAIN_OPTS, bin, data, dir);
    ck_assert_msg(rc == 0, "%s", g_err);
    ck_assert_msg(strncmp(g_out, "{\"format\": \"audio-audit-train-report\"", 37) == 0, "%.300s", g_out);
    ck_assert_int_eq(tu_count_entries(dir, ".tmp."), 0);
    tu_rmtree(dir);
}
END_TEST

/* Every output place is checked before the data is read, --svg and --log included; a failure after the
 * training says what had been written. */
START_TEST(train_checks_every_place_first)
{
    char dir[256], data[320], ro[320];
    tu_mkdtemp(dir, sizeof dir);
    ck_assert_int_eq(chmod(dir, 0777), 0);
    tu_path(data, sizeof data, dir, "data");
    make_corpus(data);
    tu_path(ro, sizeof ro, dir, "ro");
    ck_assert_int_eq(mkdir(ro, 0555), 0);
    const char *bin = tu_build_dir();
    /* root writes in a mode-555 folder: as root, run as nobody */
    const char *nobody = geteuid() == 0 ? "setpriv --reuid=65534 --regid=65534 --clear-groups " : "";
    int can_ro = geteuid() != 0 || access("/usr/bin/setpriv", X_OK) == 0;
    struct { const char *opts; const char *says; int needs_ro; } cases[] = {
        {"--svg /proc/aa-test-plots", "/proc/aa-test-plots: cannot create", 0},
        {"--svg '%s/ro/plots'", "ro/plots: cannot create (Permission denied)", 1},
        {"--svg '%s/ro'", "ro/confusion.svg: cannot create (Permission denied)", 1},
        {"--log '%s/ro/train.jsonl'", "train.jsonl: cannot create (Permission denied)", 1},
        {"--report-json '%s/ro/r.json'", "r.json: cannot create (Permission denied)", 1},
        {"--checkpoint /proc/aa-test.ckpt", "aa-test.ckpt: cannot create", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        if (cases[i].needs_ro && !can_ro)
            continue;
        char opts[1024];
        snprintf(opts, sizeof opts, cases[i].opts, dir);
        int rc = sh("%s%s/aa-train '%s' -o '%s/m.aam' %s " TRAIN_OPTS, cases[i].needs_ro ? nobody : "", bin, data,
                    dir, opts);
        ck_assert_msg(rc == 1, "'%s': exit %d: %s", opts, rc, g_err);
        ck_assert_msg(tu_count_lines(g_err) == 1 && strstr(g_err, cases[i].says), "'%s': %s", opts, g_err);
        ck_assert_msg(!strstr(g_out, "Features") && !strstr(g_out, "epoch"), "'%s': work began: %s", opts, g_out);
        ck_assert_int_eq(tu_count_entries(dir, "m.aam"), 0);
        ck_assert_int_eq(tu_count_entries(ro, NULL), 0);
    }
    /* a report that fails after the training: the line says the model and split table were written */
    int rc = sh("%s/aa-train '%s' -o '%s/m.aam' --report-json /dev/full " TRAIN_OPTS " -q", bin, data, dir);
    ck_assert_int_eq(rc, 1);
    ck_assert_msg(tu_count_lines(g_err) == 1 && strstr(g_err, "aa-train: /dev/full: ") &&
                      strstr(g_err, "(No space left on device); already written: ") &&
                      strstr(g_err, "m.aam, ") && strstr(g_err, "m.aam.split.tsv"),
                  "%s", g_err);
    ck_assert_int_eq(tu_count_entries(dir, "m.aam"), 2);
    ck_assert_int_eq(chmod(ro, 0755), 0);
    tu_rmtree(dir);
}
END_TEST

/* --cache FILE writes only over a cache (or nothing, or an empty file): a recording given there by mistake
 * is refused in one line and kept. */
START_TEST(train_cache_only_over_a_cache)
{
    char dir[256], data[320], wav[400], cache[400];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(data, sizeof data, dir, "data");
    make_corpus(data);
    const char *bin = tu_build_dir();
    snprintf(wav, sizeof wav, "%s/mix_1s.wav", tu_fixtures_dir());
    tu_path(cache, sizeof cache, dir, "notes.wav");
    size_t n = 0;
    char *orig = tu_read_file(wav, &n);
    ck_assert(orig);
    tu_write_file(cache, orig, n);
    int rc = sh("%s/aa-train '%s' -o '%s/m.aam' --cache '%s' --arch \"p2 p2 c4 relu gap fc\" --epochs 2 -j 1", bin,
                data, dir, cache);
    ck_assert_int_eq(rc, 1);
    ck_assert_msg(tu_count_lines(g_err) == 1 && strstr(g_err, "notes.wav: not a feature cache (wrong magic), so it "
                                                                "is not overwritten"),
                  "%s", g_err);
    size_t m = 0;
    char *now = tu_read_file(cache, &m);
    ck_assert(now && m == n && !memcmp(now, orig, n));
    free(now);
    free(orig);
    /* a cache made by a first run is reused, then rewritten by a run with other windows */
    tu_path(cache, sizeof cache, dir, "c.aacache");
    rc = sh("%s/aa-train '%s' -o '%s/m.aam' --cache '%s' " "--arch \"p2 p2 c4 relu gap fc\" --epochs 2 -j 1 -q",
            bin, data, dir, cache);
    ck_assert_msg(rc == 0, "%s", g_err);
    rc = sh("%s/aa-train '%s' -o '%s/m.aam' --cache '%s' --hop 1 --arch \"p2 p2 c4 relu gap fc\" --epochs 2 -j 1 -q",
            bin, data, dir, cache);
    ck_assert_msg(rc == 0, "%s", g_err);
    tu_rmtree(dir);
}
END_TEST

/* An output that is another output or one of the inputs is refused before any work: exit 2, one line
 * naming both, nothing written or changed. */
START_TEST(train_refuses_colliding_outputs)
{
    char dir[256], data[320], rec[400], link[400];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(data, sizeof data, dir, "data");
    make_corpus(data);
    const char *bin = tu_build_dir();
    tu_path(rec, sizeof rec, data, "cough/0001.wav");
    size_t n = 0, m = 0;
    char *orig = tu_read_file(rec, &n);
    ck_assert(orig);
    char manifest[400];
    tu_path(manifest, sizeof manifest, data, "manifest.tsv");
    ck_assert(tu_exists(manifest));
    /* a link to a recording: the same file under another name */
    ck_assert_int_eq(symlink(rec, tu_path(link, sizeof link, dir, "link.wav")), 0);
    struct { const char *opts; const char *a, *b; } cases[] = {
        {"-o '%1$s/m.aam' --report-json '%1$s/m.aam'", "--report-json", "-o"},
        {"-o '%1$s/m.aam' --log '%1$s/m.aam'", "--log", "-o"},
        {"-o '%1$s/m.aam' --log '%1$s/m.aam.split.tsv'", "--log", "the split table"},
        {"-o '%1$s/m.aam' --checkpoint '%1$s/sub/../m.aam'", "--checkpoint", "-o"},
        {"-o '%1$s/m.aam' --svg '%1$s/p' --report-json '%1$s/p/confusion.svg'", "the plot", "--report-json"},
        {"-o - --report-json -", "--report-json -", "-o -"},
        {"-o '%1$s/m.aam' --cache '%1$s/c' --report-json '%1$s/c'", "--report-json", "--cache"},
        {"-o '%2$s/manifest.tsv'", "-o", "the manifest"},
        {"-o '%1$s/m.aam' --resume '%1$s/m.aam' --checkpoint '%1$s/ck'", "-o", "--resume"},
        {"-o '%2$s/cough/0001.wav'", "-o", "the recording cough/0001.wav"},
        {"-o '%1$s/m.aam' --log '%2$s/cough/0001.wav'", "--log", "the recording cough/0001.wav"},
        {"-o '%1$s/link.wav'", "-o", "the recording cough/0001.wav"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char opts[2048];
        snprintf(opts, sizeof opts, cases[i].opts, dir, data);
        /* with a cache where a case names one */
        int rc = strstr(opts, "--cache") ? sh("%s/aa-train '%s' %s " TRAIN_ARGS, bin, data, opts)
                                         : sh("%s/aa-train '%s' %s " TRAIN_OPTS, bin, data, opts);
        ck_assert_msg(rc == 2, "'%s': exit %d: %s", opts, rc, g_err);
        ck_assert_msg(tu_count_lines(g_err) == 1 && strstr(g_err, cases[i].a) && strstr(g_err, cases[i].b),
                      "'%s': %s", opts, g_err);
        ck_assert_msg(!strstr(g_out, "epoch") && !strstr(g_out, "Features"), "'%s': work began: %s", opts, g_out);
        ck_assert_msg(tu_count_entries(dir, "m.aam") == 0, "'%s': a model was written", opts);
        ck_assert(!tu_exists(tu_path(opts, sizeof opts, dir, "c")));
        char *now = tu_read_file(rec, &m);
        ck_assert_msg(now && m == n && !memcmp(now, orig, n), "'%s': the recording changed", opts);
        free(now);
        ck_assert(S_ISLNK(lmode(link)));
    }
    /* --resume and --checkpoint the same file is a resumed run writing on: not refused for that */
    int rc = sh("%s/aa-train '%s' -o '%s/m.aam' --checkpoint '%s/ck' --resume '%s/ck' " TRAIN_OPTS, bin, data, dir,
                dir, dir);
    ck_assert_msg(!strstr(g_err, "same file"), "%s", g_err);
    (void)rc;
    /* aa-infer --mel: the clip as its own output */
    rc = sh("%s/aa-infer --mel '%s' -o '%s'", bin, rec, link);
    ck_assert_int_eq(rc, 2);
    ck_assert_msg(tu_count_lines(g_err) == 1 && strstr(g_err, "is the same file as --mel"), "%s", g_err);
    char *now = tu_read_file(rec, &m);
    ck_assert(now && m == n && !memcmp(now, orig, n));
    free(now);
    free(orig);
    tu_rmtree(dir);
}
END_TEST

/* Values that can never work are usage errors (exit 2), found before any work. */
START_TEST(bad_values_exit_2)
{
    const char *bin = tu_build_dir();
    int rc = sh("%s/aa-train /nonexistent -o /nonexistent/m.aam --group-regex '('", bin);
    ck_assert_msg(rc == 2 && tu_count_lines(g_err) == 1 && strstr(g_err, "--group-regex"), "%d %s", rc, g_err);
    rc = sh("%s/aa-infer -m /nonexistent.aam --serve --host ''", bin);
    ck_assert_msg(rc == 2 && tu_count_lines(g_err) == 1 && strstr(g_err, "--host"), "%d %s", rc, g_err);
}
END_TEST

Suite *outputs_bins_suite(void)
{
    Suite *s = suite_create("outputs_bins");
    TCase *tc = tcase_create("outputs_bins");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, mel_outputs_by_kind);
    tcase_add_test(tc, train_outputs_by_kind);
    tcase_add_test(tc, train_checks_every_place_first);
    tcase_add_test(tc, train_cache_only_over_a_cache);
    tcase_add_test(tc, train_refuses_colliding_outputs);
    tcase_add_test(tc, bad_values_exit_2);
    suite_add_tcase(s, tc);
    return s;
}
