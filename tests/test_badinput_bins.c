/* The bad-input corpus through the binaries (the library-level outcomes are in test_badinput_corpus.c):
 *   aa-train on a data folder holding every bad recording: each skipped with a warning naming it, counted in
 *     the summary, training goes on; data or outputs it cannot use: one line, exit 1, no model, no split
 *     table and no temporary file left; bad options: one line, exit 2;
 *   aa-infer classifying every bad recording among good ones, and --eval on a folder holding them: one line
 *     each, the others classified, exit 1;
 *   aa-infer with model files cut at many lengths and with flipped bits: one line, exit 1, in every mode;
 *   aa-infer --serve answering POST /api/classify with each bad recording: a 4xx JSON error with a reason,
 *     and the server still answering.
 * "unreadable.wav" (mode 000) stops no read by root: when the test runs as root the binaries run as
 * "nobody" (setpriv) for it; without setpriv that case is skipped. */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sndfile.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "demo/demo.h"
#include "dsp/dsp.h"
#include "model/model.h"
#include "tests/util/badaudio.h"
#include "tests/util/demomodel.h"
#include "tests/util/httpc.h"
#include "tests/util/jsonscan.h"
#include "tests/util/testutil.h"

#define OUT_CAP (1 << 17)
#define ARCH "\"p2 p2 c4 relu gap fc\""

static char g_out[OUT_CAP], g_err[OUT_CAP];

/* Whether the mode-000 case can be tried: not root, or root with setpriv to become nobody. */
static int can_test_unreadable(void)
{
    return geteuid() != 0 || access("/usr/bin/setpriv", X_OK) == 0;
}

/* Runs a binary of the build with printf-style arguments; `as_nobody` prefixes setpriv when root. */
static int run_bin(int as_nobody, const char *bin, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int run_bin(int as_nobody, const char *bin, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    size_t cap = (size_t)n + 1024;
    char *args = malloc(cap), *cmd = malloc(cap + 512);
    ck_assert(args && cmd);
    va_start(ap, fmt);
    vsnprintf(args, cap, fmt, ap);
    va_end(ap);
    const char *nobody = as_nobody && geteuid() == 0 && can_test_unreadable()
                             ? "setpriv --reuid=65534 --regid=65534 --clear-groups "
                             : "";
    snprintf(cmd, cap + 512, "%s%s/%s %s", nobody, tu_build_dir(), bin, args);
    int rc = tu_run(cmd, g_out, sizeof g_out, g_err, sizeof g_err);
    free(args);
    free(cmd);
    return rc;
}

static int is(const tu_audio_case *c, const char *name)
{
    return !strcmp(c->file, name);
}

/* Cases that are not a file's bytes: what the file system says about a path. */
static int fs_only(const tu_audio_case *c)
{
    return is(c, "missing.wav") || is(c, "x.wav") || is(c, "broken_link.wav") || is(c, "link_loop.wav") ||
           is(c, "unreadable.wav") || is(c, "<over PATH_MAX>");
}

/* The hour-long cases: a sparse file, read whole only where the test means to. */
static int hour_long(const tu_audio_case *c)
{
    return is(c, "one_hour.wav") || is(c, "hour_and_a_second.wav");
}

/* Makes case c in dir, mode 000 by hand for "unreadable.wav" (tu_make_audio_case would make this process
 * nobody). Returns 0 when the case is not made. */
static int make_case(const char *dir, const tu_audio_case *c, char *path, size_t cap)
{
    if (is(c, "unreadable.wav")) {
        if (!can_test_unreadable())
            return 0;
        tu_path(path, cap, dir, c->file);
        tu_bad_tone(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, 16000);
        ck_assert_int_eq(chmod(path, 0), 0);
        return 1;
    }
    int made = tu_make_audio_case(dir, c, path, cap);
    if (made && is(c, "x.wav"))
        ck_assert_int_eq(chmod(path, 0755), 0); /* a folder nobody may enter, as any other */
    return made;
}

/* Folders of 200-byte names that put deep.wav past PATH_MAX (21 x 201 bytes > 4096). */
#define DEEP_LEVELS 21

/* The listing's own oddities beside the corpus's: a FIFO named like a recording (never opened, so it
 * cannot block) and a recording whose path is over PATH_MAX. Both are skipped with a warning. */
static void make_fifo_and_deep(const char *cls)
{
    char p[600];
    ck_assert_int_eq(mkfifo(tu_path(p, sizeof p, cls, "pipe.wav"), 0644), 0);
    tu_make_deep(cls, DEEP_LEVELS);
}

/* A small demo corpus at data: 8 clips per class, 4 simulated people per class. */
static void make_corpus(const char *data)
{
    demo_corpus_opts o;
    demo_corpus_opts_default(&o);
    o.per_class = 8;
    o.seed = 3;
    aa_error err;
    ck_assert_msg(demo_corpus_write(data, &o, &err) == 0, "%s", err.msg);
}

/* Lines of s that do not start with prefix. */
static int lines_without(const char *s, const char *prefix)
{
    int n = 0;
    for (const char *p = s; p && *p;) {
        n += strncmp(p, prefix, strlen(prefix)) != 0;
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    return n;
}

/* Lines of s that are ours: libmpg123 prints notes about a damaged MP3 from inside the decoder
 * ("Note: ...", "Warning: ...", docs/RELIABILITY.md), which no caller can silence. */
static int own_lines(const char *s)
{
    int n = 0;
    for (const char *p = s; p && *p;) {
        n += strncmp(p, "Note: ", 6) && strncmp(p, "Warning: ", 9);
        if ((p = strchr(p, '\n')))
            p++;
    }
    return n;
}

/* A fresh temporary folder others (nobody) may enter and write in. */
static void open_dir(char *dir, size_t cap)
{
    tu_mkdtemp(dir, cap);
    ck_assert_int_eq(chmod(dir, 0777), 0);
}

/* ---- aa-train ---------------------------------------------------------------------------------------------- */

/* Every bad recording of the corpus in one class folder among good clips: training goes on; each bad entry
 * is named in a warning and counted, by kind, in the summary and in the closing line. */
START_TEST(train_skips_every_bad_recording)
{
    char dir[256], data[320], cls[400], path[PATH_MAX + 256];
    open_dir(dir, sizeof dir);
    tu_path(data, sizeof data, dir, "data");
    make_corpus(data);
    tu_path(cls, sizeof cls, data, "cough");
    int undecodable = 0, unlisted = 0, loads = 0, made = 0, unreadable = 0;
    for (int i = 0; i < TU_N_BAD_AUDIO; i++) {
        const tu_audio_case *c = &TU_BAD_AUDIO[i];
        /* the hour is left to the classifying test (the trainer reads it whole: 230 MB); the overlong path
         * is not an entry of the folder */
        if (is(c, "one_hour.wav") || is(c, "<over PATH_MAX>") || is(c, "missing.wav"))
            continue;
        if (!make_case(cls, c, path, sizeof path))
            continue;
        made++;
        if (is(c, "empty.wav") || is(c, "empty.mp3") || is(c, "broken_link.wav") || is(c, "unreadable.wav"))
            unlisted++;
        else if (is(c, "link_loop.wav"))
            unlisted += 2; /* both links of the loop */
        else if (is(c, "x.wav"))
            ; /* a folder: walked, empty */
        else if (c->out == TU_FAILS)
            undecodable++;
        else
            loads++;
        unreadable += is(c, "unreadable.wav");
    }
    make_fifo_and_deep(cls);
    unlisted += 2;
    char cache[400];
    tu_path(cache, sizeof cache, dir, "c.aacache");
    int rc = run_bin(1, "aa-train", "'%s' -o '%s/m.aam' --cache '%s' --arch " ARCH " --epochs 2 -j 1", data, dir,
                     cache);
    ck_assert_msg(rc == 0, "exit %d: %.2000s", rc, g_err);
    /* every line of ours on stderr is a warning; every bad entry is named in one */
    int warnings = tu_count_lines(g_err) - lines_without(g_err, "aa-train: warning: ");
    ck_assert_msg(warnings == own_lines(g_err), "%.2000s", g_err);
    /* + the name that is not UTF-8, + the closing line saying that 8 validation recordings fit no gate */
    ck_assert_msg(warnings == undecodable + unlisted + 2, "%d warnings: %.3000s", warnings, g_err);
    ck_assert_msg(strstr(g_err, "aa-train: warning: the gate could not be fitted: 8 validation recordings"), "%.3000s",
                  g_err);
    for (int i = 0; i < TU_N_BAD_AUDIO; i++) {
        const tu_audio_case *c = &TU_BAD_AUDIO[i];
        if (c->out == TU_FAILS && !is(c, "x.wav") && !is(c, "<over PATH_MAX>") && !is(c, "missing.wav") &&
            (!is(c, "unreadable.wav") || unreadable))
            ck_assert_msg(strstr(g_err, c->file) != NULL, "%s is not named: %.2000s", c->file, g_err);
    }
    char want[160];
    snprintf(want, sizeof want, "Skipped: %d recordings that could not be decoded (named above)", undecodable);
    ck_assert_msg(strstr(g_out, want) != NULL, "no '%s' in: %.2000s", want, g_out);
    snprintf(want, sizeof want, "Skipped: %d entries while listing the folders (named above)", unlisted);
    ck_assert_msg(strstr(g_out, want) != NULL, "no '%s' in: %.2000s", want, g_out);
    snprintf(want, sizeof want, "%d recordings skipped (could not be decoded); %d entries skipped while listing",
             undecodable, unlisted);
    ck_assert_msg(strstr(g_out, want) != NULL, "no '%s' in: %.2000s", want, g_out);
    /* the recordings that load are trained on: the split table lists them, and nothing skipped */
    tu_path(path, sizeof path, dir, "m.aam.split.tsv");
    char *split = tu_read_file(path, NULL);
    ck_assert_ptr_nonnull(split);
    ck_assert_int_eq(tu_count_lines(split), 1 + 4 * 8 + loads);
    ck_assert_ptr_null(strstr(split, "random.wav"));
    ck_assert_ptr_nonnull(strstr(split, "ch8_192k.wav"));
    free(split);
    aa_error err;
    tu_path(path, sizeof path, dir, "m.aam");
    am_model *m = am_load(path, 1, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    am_free(m);
    ck_assert_int_eq(tu_count_entries(dir, ".tmp."), 0);
    ck_assert_int_gt(made, 45);
    ck_assert_msg(strstr(g_err, "pipe.wav") && strstr(g_err, "path too long"), "%.2000s", g_err);
    tu_remove_deep(cls, DEEP_LEVELS);
    tu_rmtree(dir);
}
END_TEST

/* Runs aa-train expecting a refusal before training: exit 1, one line saying `says`, no model, split
 * table or temporary file in dir. */
static void expect_train_refused(const char *dir, const char *args, const char *says)
{
    int rc = run_bin(0, "aa-train", "%s", args);
    ck_assert_msg(rc == 1, "exit %d (want 1) for '%s': %s", rc, args, g_err);
    ck_assert_msg(lines_without(g_err, "aa-train: warning: ") == 1, "'%s': %s", args, g_err);
    ck_assert_msg(strstr(g_err, says) != NULL, "'%s': error does not say '%s': %s", args, says, g_err);
    ck_assert_msg(strstr(g_out, "epoch ") == NULL, "'%s': training started: %s", args, g_out);
    char p[400];
    ck_assert_msg(!tu_exists(tu_path(p, sizeof p, dir, "m.aam")), "'%s': a model was written", args);
    ck_assert_msg(!tu_exists(tu_path(p, sizeof p, dir, "m.aam.split.tsv")), "'%s': a split was written", args);
    ck_assert_msg(tu_count_entries(dir, ".tmp.") == 0, "'%s': a temporary file was left", args);
}

START_TEST(train_refuses_data_it_cannot_use)
{
    char dir[256], data[320], p[600], q[600], args[2048];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(data, sizeof data, dir, "data");
    make_corpus(data);
    const char *common = "--no-cache --arch " ARCH " --epochs 2 -j 1";

    /* a class folder whose every file is bad: nothing of the class can be trained */
    snprintf(p, sizeof p, "%s/wheeze", data);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/wheeze/bad%d.wav", data, i);
        tu_write_file(p, "RIFF\x10\0\0\0WAVEjunk", 16);
    }
    snprintf(args, sizeof args, "'%s' -o '%s/m.aam' %s", data, dir, common);
    expect_train_refused(dir, args, "wheeze");
    /* the class empty */
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/wheeze/bad%d.wav", data, i);
        ck_assert_int_eq(remove(p), 0);
    }
    expect_train_refused(dir, args, "wheeze");
    snprintf(p, sizeof p, "%s/wheeze", data);
    ck_assert_int_eq(rmdir(p), 0);

    /* one class only: the other class folders moved away */
    char only[400];
    tu_path(only, sizeof only, dir, "only");
    ck_assert_int_eq(mkdir(only, 0755), 0);
    snprintf(p, sizeof p, "%s/cough", data);
    snprintf(q, sizeof q, "%s/cough", only);
    ck_assert_int_eq(symlink(p, q), 0);
    snprintf(args, sizeof args, "'%s' -o '%s/m.aam' %s", only, dir, common);
    expect_train_refused(dir, args, "class");

    /* a class absent from a split: all of normal_breathing is one person */
    snprintf(args, sizeof args, "'%s' -o '%s/m.aam' %s --group-regex '^(0)' --no-manifest --classes "
             "normal_breathing,cough", data, dir, common);
    expect_train_refused(dir, args, "normal_breathing");

    /* DATA a file, an empty folder, a folder of folders without recordings */
    snprintf(p, sizeof p, "%s/notes.txt", dir);
    tu_write_file(p, "x", 1);
    snprintf(args, sizeof args, "'%s' -o '%s/m.aam' %s", p, dir, common);
    expect_train_refused(dir, args, "notes.txt");
    snprintf(p, sizeof p, "%s/empty", dir);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    snprintf(args, sizeof args, "'%s' -o '%s/m.aam' %s", p, dir, common);
    expect_train_refused(dir, args, "empty");
    tu_rmtree(dir);
}
END_TEST

/* Outputs that cannot be written are found before the data is read: one line, exit 1, nothing left. */
START_TEST(train_refuses_unwritable_outputs)
{
    char dir[256], data[320], args[2048], p[600];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(data, sizeof data, dir, "data");
    make_corpus(data);
    snprintf(p, sizeof p, "%s/folder", dir);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/file", dir);
    tu_write_file(p, "x", 1);
    struct { const char *opts; const char *says; } cases[] = {
        {"-o '%s/folder'", "folder: cannot write (a directory)"},
        {"-o '%s/file/m.aam'", "Not a directory"},
        {"-o '%s/none/m.aam'", "No such file or directory"},
        {"-o /proc/aa-test-m.aam", "/proc/aa-test-m.aam: cannot create"},
        {"-o '%s/m.aam' --checkpoint '%s/folder'", "folder: cannot write (a directory)"},
        {"-o '%s/m.aam' --report-json '%s/none/r.json'", "r.json: cannot create"},
        {"-o '%s/m.aam' --svg '%s/file'", "file: not a folder"},
        {"-o '%s/m.aam' --log '%s/folder'", "folder: cannot write"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char opts[1024];
        snprintf(opts, sizeof opts, cases[i].opts, dir, dir);
        snprintf(args, sizeof args, "'%s' %s --no-cache --arch " ARCH " --epochs 2 -j 1", data, opts);
        expect_train_refused(dir, args, cases[i].says);
        ck_assert_msg(strstr(g_out, "Features") == NULL, "'%s': the data was read first", opts);
    }
    tu_rmtree(dir);
}
END_TEST

START_TEST(train_bad_options_exit_2)
{
    const char *bad[] = {"d -o m --epochs -1", "d -o m --threads abc", "d -o m --resume", "d -o m --batch 0",
                         "d -o m --gate-target 2", "d -o m --arch", "d -o m --arch 'c8 zz'", "d -o m --seed x",
                         "d -o m --label-smoothing 1.5", "d -o m --schedule linear", "d -o m --max-windows 0",
                         "d -o m --classes ''", "d e -o m", "--make-demo", "--make-demo x --per-class 5",
                         "--make-demo x --long-seconds 4 --long y.wav", "-o m", "d -o m --group-regex '('"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = run_bin(0, "aa-train", "%s", bad[i]);
        ck_assert_msg(rc == 2, "'%s': exit %d (want 2): %s", bad[i], rc, g_err);
        ck_assert_msg(tu_count_lines(g_err) == 1 && strstr(g_err, "aa-train: ") == g_err, "'%s': %s", bad[i],
                      g_err);
        ck_assert_str_eq(g_out, "");
    }
}
END_TEST

/* ---- aa-infer on the command line ---------------------------------------------------------------------------- */

static void tone_model(const char *dir, char *model, size_t cap)
{
    char msg[512];
    tu_path(model, cap, dir, "tone.aam");
    ck_assert_msg(tu_make_tone_model(model, msg, sizeof msg) == 0, "%s", msg);
}

/* Every case in one command line between two good clips: a JSON line for each recording that loads, in
 * order, one stderr line naming each one that does not, exit 1. Then the hour, alone. */
START_TEST(infer_classifies_around_bad_recordings)
{
    char dir[256], model[320], good[320], path[PATH_MAX + 256];
    open_dir(dir, sizeof dir);
    tone_model(dir, model, sizeof model);
    tu_path(good, sizeof good, dir, "good.wav");
    tu_bad_tone(good, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, 4 * 16000);
    size_t cap = 1 << 16, len = 0;
    char *args = malloc(cap);
    ck_assert_ptr_nonnull(args);
    len += (size_t)snprintf(args + len, cap - len, "-m '%s' --json '%s'", model, good);
    int want_ok = 2, want_bad = 0;
    char hour[PATH_MAX + 256] = "";
    for (int i = 0; i < TU_N_BAD_AUDIO; i++) {
        const tu_audio_case *c = &TU_BAD_AUDIO[i];
        if (!make_case(dir, c, path, sizeof path))
            continue;
        if (is(c, "one_hour.wav")) {
            snprintf(hour, sizeof hour, "%s", path);
            continue;
        }
        ck_assert(len + strlen(path) + 8 < cap);
        len += (size_t)snprintf(args + len, cap - len, " '%s'", path);
        if (c->out == TU_LOADS)
            want_ok++;
        else
            want_bad++;
    }
    snprintf(args + len, cap - len, " '%s'", good);
    int rc = run_bin(1, "aa-infer", "%s", args);
    ck_assert_msg(rc == 1, "exit %d: %.2000s", rc, g_err);
    ck_assert_int_eq(tu_count_lines(g_out), want_ok);
    /* one line per bad recording (and libmpg123's notes) */
    int ours = own_lines(g_err);
    ck_assert_msg(ours == want_bad, "%d error lines for %d bad recordings: %.2000s", ours, want_bad, g_err);
    for (int i = 0; i < TU_N_BAD_AUDIO; i++) {
        const tu_audio_case *c = &TU_BAD_AUDIO[i];
        /* a folder is walked for recordings, not decoded: x.wav holds none, and says so */
        const char *reason = is(c, "x.wav") ? "x.wav: no audio files" : c->reason;
        if (c->out == TU_FAILS && !is(c, "<over PATH_MAX>") && (!is(c, "unreadable.wav") || can_test_unreadable()))
            ck_assert_msg(strstr(g_err, c->file) && strstr(g_err, reason), "%s: %.2000s", c->file, g_err);
    }
    char s[512];
    ck_assert_str_eq(tu_json_str(g_out, "file", s, sizeof s), good);
    free(args);

    /* the hour loads whole under the default limit of 3600 s; a lower limit refuses it from the header */
    if (hour[0]) {
        rc = run_bin(0, "aa-infer", "-m '%s' --json --max-seconds 600 '%s'", model, hour);
        ck_assert_int_eq(rc, 1);
        ck_assert_msg(tu_count_lines(g_err) == 1 && strstr(g_err, "600 s"), "%s", g_err);
        if (!tu_sanitized()) { /* 230 MB of samples; under ASan the shadow memory makes it 4 times that */
            rc = run_bin(0, "aa-infer", "-m '%s' --json '%s'", model, hour);
            ck_assert_msg(rc == 0, "exit %d: %.2000s", rc, g_err);
            ck_assert_int_eq(tu_count_lines(g_out), 1);
        }
    }
    tu_rmtree(dir);
}
END_TEST

/* --eval on DATA/<class>/ holding the bad recordings: each named once, the rest evaluated, exit 1. */
START_TEST(infer_eval_around_bad_recordings)
{
    char dir[256], model[320], data[320], cls[400], path[PATH_MAX + 256];
    open_dir(dir, sizeof dir);
    tone_model(dir, model, sizeof model);
    tu_path(data, sizeof data, dir, "data");
    make_corpus(data);
    tu_path(cls, sizeof cls, data, "heavy_breathing");
    int loads = 0;
    for (int i = 0; i < TU_N_BAD_AUDIO; i++) {
        const tu_audio_case *c = &TU_BAD_AUDIO[i];
        if (is(c, "one_hour.wav") || is(c, "<over PATH_MAX>") || is(c, "missing.wav"))
            continue;
        if (!make_case(cls, c, path, sizeof path))
            continue;
        loads += c->out == TU_LOADS;
    }
    make_fifo_and_deep(cls);
    int rc = run_bin(1, "aa-infer", "-m '%s' --eval '%s' --json", model, data);
    ck_assert_msg(rc == 1, "exit %d: %.2000s", rc, g_err);
    /* every line of ours says who speaks: errors and the listing's warnings alike */
    ck_assert_msg(lines_without(g_err, "aa-infer: ") == tu_count_lines(g_err) - own_lines(g_err), "%.2000s", g_err);
    ck_assert_msg(strstr(g_err, "aa-infer: warning: ") && strstr(g_err, "pipe.wav") && strstr(g_err, "path too long"),
                  "%.2000s", g_err);
    /* every recording that loads is in the report: the corpus's 32 and the bad ones that load */
    /* (on a mismatch stderr names each recording that did not load, and why) */
    ck_assert_msg(tu_json_num(g_out, "n") == 4 * 8 + loads, "n = %g, want %d; stderr: %.3000s",
                  tu_json_num(g_out, "n"), 4 * 8 + loads, g_err);
    for (int i = 0; i < TU_N_BAD_AUDIO; i++) {
        const tu_audio_case *c = &TU_BAD_AUDIO[i];
        if (c->out == TU_FAILS && !is(c, "<over PATH_MAX>") && !is(c, "missing.wav") && !is(c, "x.wav") &&
            (!is(c, "unreadable.wav") || can_test_unreadable()))
            ck_assert_msg(strstr(g_err, c->file) != NULL, "%s is not named: %.2000s", c->file, g_err);
    }
    tu_remove_deep(cls, DEEP_LEVELS);
    tu_rmtree(dir);
}
END_TEST

/* A model file cut at 40 lengths from 0 to one byte short, and with 48 single bits flipped (the header's
 * first 16 bytes bit by bit would repeat the library test; here seeded positions across the file): every
 * mode of aa-infer refuses it in one line naming the file, exit 1, nothing on stdout. */
START_TEST(infer_refuses_damaged_models)
{
    char dir[256], model[320], bad[320], clip[320];
    tu_mkdtemp(dir, sizeof dir);
    tone_model(dir, model, sizeof model);
    tu_path(clip, sizeof clip, dir, "c.wav");
    tu_bad_tone(clip, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, 4 * 16000);
    size_t size;
    unsigned char *b = tu_read_file(model, &size);
    ck_assert_ptr_nonnull(b);
    tu_path(bad, sizeof bad, dir, "bad.aam");
    static const char *modes[] = {"'%s'", "--eval '%s'", "--selftest", "--timeline '%s'", "--serve --port 0"};
    int tried = 0;
    aa_rng r;
    aa_rng_seed(&r, 8);
    int n_cuts = tu_sanitized() ? 12 : 40, n_flips = tu_sanitized() ? 16 : 48;
    for (int k = 0; k < n_cuts + n_flips; k++) {
        if (k < n_cuts) {
            size_t len = k == n_cuts - 1 ? size - 1 : (size_t)((double)size * k / n_cuts);
            tu_write_file(bad, b, len);
        } else {
            size_t bit = (size_t)aa_rng_below(&r, (uint64_t)size * 8);
            b[bit / 8] ^= (unsigned char)(1u << bit % 8);
            tu_write_file(bad, b, size);
            b[bit / 8] ^= (unsigned char)(1u << bit % 8);
        }
        const char *mode = modes[k % 5];
        char opts[700];
        snprintf(opts, sizeof opts, mode, clip);
        int rc = run_bin(0, "aa-infer", "-m '%s' %s", bad, opts);
        ck_assert_msg(rc == 1, "case %d (%s): exit %d: %s", k, mode, rc, g_err);
        ck_assert_msg(tu_count_lines(g_err) == 1 && strstr(g_err, "bad.aam: "), "case %d: %s", k, g_err);
        ck_assert_msg(g_out[0] == '\0', "case %d: stdout '%s'", k, g_out);
        tried++;
    }
    ck_assert_int_eq(tried, n_cuts + n_flips);
    free(b);
    tu_rmtree(dir);
}
END_TEST

/* ---- aa-infer --serve ------------------------------------------------------------------------------------------ */

#define BOUNDARY "aaBadInputBoundary3f9Zq"

static int post(int port, const void *data, size_t n, const char *filename, tu_http_response *r)
{
    char head[1024];
    int h = snprintf(head, sizeof head,
                     "--" BOUNDARY "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"
                     "Content-Type: application/octet-stream\r\n\r\n", filename);
    const char *tail = "\r\n--" BOUNDARY "--\r\n";
    size_t len = (size_t)h + n + strlen(tail);
    char *body = malloc(len);
    ck_assert_ptr_nonnull(body);
    memcpy(body, head, (size_t)h);
    memcpy(body + h, data, n);
    memcpy(body + h + n, tail, strlen(tail));
    int rc = tu_http_request(port, "POST", "/api/classify",
                             "Content-Type: multipart/form-data; boundary=" BOUNDARY "\r\n", body, len, r);
    free(body);
    return rc;
}

/* Valid UTF-8 without raw control bytes: what a browser's JSON.parse and a terminal can take. */
static int clean_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = *p < 0x80 ? 0 : (*p & 0xE0) == 0xC0 ? 1 : (*p & 0xF0) == 0xE0 ? 2 : (*p & 0xF8) == 0xF0 ? 3 : -1;
        if (n < 0 || (*p < 0x20 && *p != '\n'))
            return 0;
        p++;
        for (int i = 0; i < n; i++, p++)
            if ((*p & 0xC0) != 0x80)
                return 0;
    }
    return 1;
}

/* Each bad recording's bytes uploaded: a 4xx JSON error with a reason naming the upload (200 for the ones
 * that load), the server answering /healthz after each; odd upload names come back as valid UTF-8. */
START_TEST(serve_answers_bad_uploads)
{
    char dir[256], model[320], path[PATH_MAX + 256];
    tu_mkdtemp(dir, sizeof dir);
    tone_model(dir, model, sizeof model);
    int port;
    FILE *out;
    pid_t pid = tu_spawn_server(model, 1, &port, &out);
    int refused = 0, answered = 0;
    for (int i = 0; i < TU_N_BAD_AUDIO; i++) {
        const tu_audio_case *c = &TU_BAD_AUDIO[i];
        /* the file system's cases have no bytes to upload; the hour is over the 20 MB upload limit, which
         * test_serve.c covers */
        if (fs_only(c) || hour_long(c) || !make_case(dir, c, path, sizeof path))
            continue;
        size_t n;
        void *data = tu_read_file(path, &n);
        ck_assert_ptr_nonnull(data);
        int is_ogg_upload = n >= 4 && !memcmp(data, "OggS", 4);
        tu_http_response r;
        const char *name = is(c, "<255 bytes>") ? strrchr(path, '/') + 1 : c->file;
        ck_assert_msg(post(port, data, n, name, &r) == 0, "%s: no complete answer", c->file);
        free(data);
        ck_assert_msg(clean_utf8(r.body), "%s: the answer is not clean UTF-8", c->file);
        if (c->out == TU_FAILS) {
            ck_assert_msg(r.status >= 400 && r.status < 500, "%s: status %d", c->file, r.status);
            char e[1024];
            ck_assert_msg(tu_json_str(r.body, "error", e, sizeof e) && strlen(e) > 10, "%s: %s", c->file, r.body);
            /* the decoder's reason, as the command line gives it; an empty upload is refused before it, and
             * so is a damaged Ogg stream (the server checks its pages first: libsndfile leaks on those) */
            const char *reason = !strncmp(c->file, "empty.", 6) ? "empty"
                                 : is_ogg_upload           ? "malformed Ogg file"
                                                           : c->reason;
            ck_assert_msg(strstr(e, reason) != NULL, "%s: '%s' lacks '%s'", c->file, e, reason);
            refused++;
        } else {
            ck_assert_msg(r.status == 200, "%s: status %d: %s", c->file, r.status, r.body);
            ck_assert_ptr_nonnull(tu_json_find(r.body, "label"));
            answered++;
        }
        tu_http_response_free(&r);
        ck_assert_int_eq(tu_http_request(port, "GET", "/healthz", NULL, NULL, 0, &r), 0);
        ck_assert_msg(r.status == 200, "after %s: /healthz %d", c->file, r.status);
        tu_http_response_free(&r);
    }
    ck_assert_int_ge(refused, 30);
    ck_assert_int_ge(answered, 8);
    ck_assert_int_eq(kill(pid, SIGTERM), 0);
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the server ended with status %d", st);
    fclose(out);
    tu_rmtree(dir);
}
END_TEST

Suite *badinput_bins_suite(void)
{
    Suite *s = suite_create("badinput_bins");
    TCase *tc = tcase_create("badinput_bins");
    /* Each case a few seconds on an idle machine (x8 under make asan). */
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, train_skips_every_bad_recording);
    tcase_add_test(tc, train_refuses_data_it_cannot_use);
    tcase_add_test(tc, train_refuses_unwritable_outputs);
    tcase_add_test(tc, train_bad_options_exit_2);
    tcase_add_test(tc, infer_classifies_around_bad_recordings);
    tcase_add_test(tc, infer_eval_around_bad_recordings);
    tcase_add_test(tc, infer_refuses_damaged_models);
    tcase_add_test(tc, serve_answers_bad_uploads);
    suite_add_tcase(s, tc);
    return s;
}
