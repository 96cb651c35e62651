/* aa-train's front-end options end to end: a model trained at 8 kHz / 1 s / 40 mels carries those settings
 * and aa-infer classifies with them; the feature cache never serves features made with other settings; a
 * checkpoint is not resumed under another front end; and each impossible combination is a usage error,
 * found before any work, in one line naming the options. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo/demo.h"
#include "model/model.h"
#include "tests/util/testutil.h"

/* One small corpus for the suite: 24 clips per class (12 simulated people), enough for a grouped split
 * with every class on every side, and a few seconds of features. */
static char g_dir[256], g_data[320];

#define ARCH "\"c8 bn relu p2 c16 bn relu gap fc\""
#define FRONT_8K "--sample-rate 8000 --clip-seconds 1 --n-mels 40"

static const char *const CLASSES[4] = {"background_noise", "cough", "heavy_breathing", "normal_breathing"};
static const char *const LABELS[4] = {"Background Noise", "Cough", "Heavy Breathing", "Normal Breathing"};

static void corpus_setup(void)
{
    tu_mkdtemp(g_dir, sizeof g_dir);
    snprintf(g_data, sizeof g_data, "%s/demo", g_dir);
    demo_corpus_opts o;
    demo_corpus_opts_default(&o);
    o.per_class = 24;
    o.seed = 5;
    aa_error err;
    if (demo_corpus_write(g_data, &o, &err)) {
        fprintf(stderr, "corpus: %s\n", err.msg);
        abort();
    }
}

static void corpus_teardown(void)
{
    tu_rmtree(g_dir);
}

/* aa-train DATA -o DIR/MODEL with a small network and `more`; the exit status. */
static int train(const char *dir, const char *model, const char *more, char *out, size_t on, char *err, size_t en)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "XDG_CACHE_HOME='%s/xdg' %s/aa-train %s -o %s/%s --arch " ARCH
             " --batch 16 --lr 0.003 -j 2 %s", dir, tu_build_dir(), g_data, dir, model, more);
    return tu_run(cmd, out, on, err, en);
}

static void *read_model(const char *dir, const char *name, size_t *n)
{
    char path[400];
    void *b = tu_read_file(tu_path(path, sizeof path, dir, name), n);
    ck_assert_msg(b != NULL, "%s missing", name);
    return b;
}

START_TEST(trains_and_classifies_at_8k_1s_40_mels)
{
    char dir[256], path[400], cmd[2048], more[1024], err[8192];
    static char out[65536];
    tu_mkdtemp(dir, sizeof dir);
    snprintf(more, sizeof more, FRONT_8K " --epochs 3 --cache %s/c.aacache", dir);
    int rc = train(dir, "m8.aam", more, out, sizeof out, err, sizeof err);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    /* fmax follows the rate (4000), the window the FFT (512); 1 s at hop 160 is 51 frames */
    ck_assert_msg(strstr(out, "Front end: 8000 Hz, 1 s clips, 40 mels from 0 to 4000 Hz, n_fft 512, window 512, "
                              "hop 160: 40 x 51 features per clip"), "%s", out);
    ck_assert_msg(strstr(out, "windows of 1 s (hop 0.5 s,"), "%s", out);
    ck_assert_msg(strstr(out, "Test split, per 1 s window"), "%s", out);

    /* The model file carries the settings, and its network takes 40 x 51. */
    aa_error e;
    am_model *m = am_load(tu_path(path, sizeof path, dir, "m8.aam"), 1, &e);
    ck_assert_msg(m != NULL, "%s", e.msg);
    const dsp_settings *s = am_dsp(m);
    ck_assert_int_eq(s->sample_rate, 8000);
    ck_assert(s->clip_seconds == 1.0);
    ck_assert_int_eq(s->n_mels, 40);
    ck_assert(s->fmax == 4000.0 && s->fmin == 0.0);
    ck_assert_int_eq(s->win_length, 512);
    ck_assert_uint_eq(am_mel_size(m), 40 * 51);
    am_selftest_report st;
    ck_assert_int_eq(am_selftest(m, &st, &e), 0);
    ck_assert_msg(st.pass, "self-test: mel %g, logits %g", st.mel_max_abs_diff, st.logit_max_abs_diff);
    /* The masks and shift followed the clip: a tenth of 51 frames, an eighth of 40 mels and of 1 s. */
    const char *tj = am_train_json(m);
    ck_assert_ptr_nonnull(tj);
    ck_assert_msg(strstr(tj, "\"specaug\": \"0.5:2x5,2x5\"") && strstr(tj, "\"shift\": \"0.125@0.5\"") &&
                      strstr(tj, "\"hop\": \"0.5\""), "%s", tj);
    am_free(m);

    /* aa-infer classifies a 4 s, 16 kHz demo clip with it: resampled to 8 kHz, four 1 s windows. */
    static char inf[65536];
    snprintf(cmd, sizeof cmd, "%s/aa-infer -m %s/m8.aam --json %s/cough/0000.wav", tu_build_dir(), dir, g_data);
    ck_assert_msg(tu_run(cmd, inf, sizeof inf, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(strstr(inf, "\"windows\": 4,"), "%s", inf);
    int named = 0;
    for (int c = 0; c < 4; c++) {
        char key[64];
        snprintf(key, sizeof key, "\"%s\": ", LABELS[c]);
        ck_assert_msg(strstr(strstr(inf, "\"probabilities\""), key), "no %s in %s", LABELS[c], inf);
        snprintf(key, sizeof key, "\"class\": \"%s\"", CLASSES[c]);
        named += strstr(inf, key) != NULL;
    }
    ck_assert_msg(named == 1, "the decision is not one of the classes: %s", inf);
    snprintf(cmd, sizeof cmd, "%s/aa-infer -m %s/m8.aam %s/heavy_breathing/0000.wav", tu_build_dir(), dir, g_data);
    ck_assert_msg(tu_run(cmd, inf, sizeof inf, err, sizeof err) == 0, "%s", err);
    for (int c = 0; c < 4; c++)
        ck_assert_msg(strstr(inf, LABELS[c]), "no %s in %s", LABELS[c], inf);

    /* --mel -m shows what it hears. */
    snprintf(cmd, sizeof cmd, "%s/aa-infer --mel %s/cough/0000.wav -m %s/m8.aam -o %s/mel.f32", tu_build_dir(),
             g_data, dir, dir);
    ck_assert_msg(tu_run(cmd, inf, sizeof inf, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(strstr(inf, ": 40 x 51 (n_mels x n_frames)"), "%s", inf);
    size_t n;
    free(read_model(dir, "mel.f32", &n));
    ck_assert_uint_eq(n, 4 * 40 * 51);
    tu_rmtree(dir);
}
END_TEST

/* One cache file, three front ends in turn: reused only under the settings it was built with, otherwise
 * rebuilt with the reason said, and the model after a rebuild is the one a fresh cache gives, bit for bit:
 * no feature of one setting reaches a model of another. The default cache location keeps one file per
 * setting. */
START_TEST(cache_never_mixes_settings)
{
    char dir[256], path[400], more[1024], err[8192];
    static char out[65536];
    tu_mkdtemp(dir, sizeof dir);
    const char *const runs[][3] = {
        {"a.aam", FRONT_8K, "built"},
        {"b.aam", FRONT_8K, "reused"},
        {"c.aam", FRONT_8K " --fmin 100", "rebuilt: "},
        {"d.aam", FRONT_8K, "rebuilt: "},
    };
    for (int i = 0; i < 4; i++) {
        snprintf(more, sizeof more, "%s --epochs 1 --cache %s/c.aacache", runs[i][1], dir);
        int rc = train(dir, runs[i][0], more, out, sizeof out, err, sizeof err);
        ck_assert_msg(rc == 0, "run %d: exit %d: %s", i, rc, err);
        ck_assert_msg(strstr(out, runs[i][2]), "run %d does not say '%s': %s", i, runs[i][2], out);
    }
    ck_assert_msg(strstr(out, "cache rebuilt: ") &&
                      strstr(out, "DSP settings differ: fmin=100 in the cache, fmin=0 now"), "%s", out);
    size_t na, nb, nc, nd;
    void *a = read_model(dir, "a.aam", &na), *b = read_model(dir, "b.aam", &nb), *c = read_model(dir, "c.aam", &nc),
         *d = read_model(dir, "d.aam", &nd);
    ck_assert_msg(na == nb && !memcmp(a, b, na), "the reused cache gave another model");
    ck_assert_msg(na == nd && !memcmp(a, d, na), "the rebuilt cache gave another model");
    ck_assert(na != nc || memcmp(a, c, na));
    free(a), free(b), free(c), free(d);
    aa_error e;
    am_model *m = am_load(tu_path(path, sizeof path, dir, "c.aam"), 1, &e);
    ck_assert_msg(m != NULL, "%s", e.msg);
    ck_assert(am_dsp(m)->fmin == 100.0);
    am_free(m);

    /* Without --cache: one file per setting under $XDG_CACHE_HOME/audio-audit, each reused by its own. */
    const char *const fronts[] = {FRONT_8K, FRONT_8K " --n-mels 32"};
    for (int i = 0; i < 2; i++) {
        snprintf(more, sizeof more, "%s --epochs 1", fronts[i]);
        ck_assert_msg(train(dir, "x.aam", more, out, sizeof out, err, sizeof err) == 0, "%s", err);
        ck_assert_msg(strstr(out, "(built,"), "%s", out);
    }
    for (int i = 0; i < 2; i++) {
        snprintf(more, sizeof more, "%s --epochs 1", fronts[i]);
        ck_assert_msg(train(dir, "x.aam", more, out, sizeof out, err, sizeof err) == 0, "%s", err);
        ck_assert_msg(strstr(out, "(reused,"), "%s", out);
    }
    snprintf(path, sizeof path, "%s/xdg/audio-audit", dir);
    ck_assert_int_eq(tu_count_entries(path, ".aacache"), 2);
    tu_rmtree(dir);
}
END_TEST

/* A run stopped with a checkpoint is not resumed under another front end, even one that keeps the
 * network's input shape. */
START_TEST(resume_refuses_another_front_end)
{
    char dir[256], more[1024], err[8192];
    static char out[65536];
    tu_mkdtemp(dir, sizeof dir);
    snprintf(more, sizeof more, FRONT_8K " -q --epochs 3 --patience 0 --checkpoint %s/run.ckpt --stop-after 1 "
             "--cache %s/c.aacache", dir, dir);
    ck_assert_msg(train(dir, "m.aam", more, out, sizeof out, err, sizeof err) == 0, "%s", err);
    snprintf(more, sizeof more, FRONT_8K " -q --epochs 3 --patience 0 --resume %s/run.ckpt --fmin 100 "
             "--cache %s/c.aacache", dir, dir);
    ck_assert_int_eq(train(dir, "m.aam", more, out, sizeof out, err, sizeof err), 1);
    ck_assert_msg(strstr(err, "run.ckpt: made with other training options (dsp.fmin=0 in the checkpoint, "
                              "dsp.fmin=100 now)") && tu_count_lines(err) == 1, "%s", err);
    snprintf(more, sizeof more, FRONT_8K " -q --epochs 3 --patience 0 --resume %s/run.ckpt --cache %s/c.aacache",
             dir, dir);
    ck_assert_msg(train(dir, "m.aam", more, out, sizeof out, err, sizeof err) == 0, "%s", err);
    tu_rmtree(dir);
}
END_TEST

/* Each impossible combination: exit 2 before the data is read, one line naming the options. */
START_TEST(impossible_front_ends_are_usage_errors)
{
    static const struct {
        const char *args;
        const char *says[3];
    } cases[] = {
        {"--fmax 9000", {"--fmax 9000", "Nyquist", "--sample-rate 16000"}},
        {"--sample-rate 8000 --fmax 5000", {"--fmax 5000", "--sample-rate 8000"}},
        {"--fmin 8000", {"--fmin 8000", "--fmax 8000"}},
        {"--fmin 3000 --fmax 2000", {"--fmin 3000", "--fmax 2000"}},
        {"--fmin -1", {"--fmin -1"}},
        {"--win-length 1024", {"--win-length 1024", "--n-fft 512"}},
        {"--n-fft 256 --win-length 400", {"--win-length 400", "--n-fft 256"}},
        {"--hop-length 0", {"--hop-length 0"}},
        {"--clip-seconds 0.02", {"--clip-seconds 0.02", "shorter than one frame", "--n-fft 512"}},
        {"--clip-seconds 0", {"--clip-seconds 0"}},
        {"--n-mels 0", {"--n-mels 0"}},
        {"--n-mels 2000", {"--n-mels 2000"}},
        {"--n-mels 200 --n-fft 256", {"--n-mels 200", "--n-fft 256", "no FFT bin"}},
        {"--sample-rate 4000", {"--sample-rate 4000", "8000..192000"}},
        {"--sample-rate 384000", {"--sample-rate 384000"}},
        {"--n-fft 8", {"--n-fft 8"}},
        {"--n-mels 16 --freq-mask 20", {"--freq-mask 20", "--n-mels 16"}},
        {"--clip-seconds 0.5 --time-mask 60", {"--time-mask 60", "51 frames", "--clip-seconds 0.5"}},
        {"--clip-seconds 1 --shift 1", {"--shift 1", "--clip-seconds 1"}},
        {"--n-mels 4.5", {"--n-mels", "whole number"}},
        {"--sample-rate 99999999999", {"--sample-rate", "whole number"}},
        {"--fmax nan", {"--fmax", "number"}},
        {"--crop middle", {"--crop", "start|center|loudest"}},
        {"--resampler sinc_best", {"--resampler", "soxr_hq"}},
    };
    char dir[256], path[400], err[4096];
    static char out[65536];
    tu_mkdtemp(dir, sizeof dir);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int rc = train(dir, "m.aam", cases[i].args, out, sizeof out, err, sizeof err);
        ck_assert_msg(rc == 2, "'%s': exit %d (want 2): %s", cases[i].args, rc, err);
        ck_assert_msg(tu_count_lines(err) == 1 && strstr(err, "aa-train: ") == err, "'%s': %s", cases[i].args, err);
        for (int w = 0; w < 3 && cases[i].says[w]; w++)
            ck_assert_msg(strstr(err, cases[i].says[w]), "'%s': '%s' does not say '%s'", cases[i].args, err,
                          cases[i].says[w]);
        ck_assert_msg(out[0] == 0, "'%s': work started: %s", cases[i].args, out);
    }
    ck_assert(!tu_exists(tu_path(path, sizeof path, dir, "m.aam")));
    ck_assert(!tu_exists(tu_path(path, sizeof path, dir, "xdg")));
    tu_rmtree(dir);
}
END_TEST

/* --help lists the front end with its defaults, those that follow others said in words. */
START_TEST(help_lists_the_front_end)
{
    static char help[65536];
    char err[4096], cmd[512];
    snprintf(cmd, sizeof cmd, "%s/aa-train --help", tu_build_dir());
    ck_assert_int_eq(tu_run(cmd, help, sizeof help, err, sizeof err), 0);
    const char *want[] = {"--sample-rate HZ", "(default 16000)", "--clip-seconds SEC", "--n-mels N", "(default 64)",
                          "--fmax HZ", "--sample-rate / 2, 8000", "--win-length N", "(default: --n-fft, 512)",
                          "--hop-length N", "(default 160)", "--n-fft N", "(default 512)", "--crop NAME",
                          "(default loudest)", "--resampler NAME", "(default soxr_hq)", "--fmin HZ"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        ck_assert_msg(strstr(help, want[i]), "--help does not say '%s'", want[i]);
}
END_TEST

Suite *train_frontend_suite(void)
{
    Suite *s = suite_create("train_frontend");
    TCase *tc = tcase_create("train_frontend");
    tcase_add_unchecked_fixture(tc, corpus_setup, corpus_teardown);
    /* A few seconds each on an idle machine; room for a loaded one (x8 under make asan). */
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, trains_and_classifies_at_8k_1s_40_mels);
    tcase_add_test(tc, cache_never_mixes_settings);
    tcase_add_test(tc, resume_refuses_another_front_end);
    tcase_add_test(tc, impossible_front_ends_are_usage_errors);
    tcase_add_test(tc, help_lists_the_front_end);
    suite_add_tcase(s, tc);
    return s;
}
