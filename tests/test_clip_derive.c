/* The clip length and front end aa-train takes from a corpus when the command line leaves them open: short
 * clips give a short clip, long recordings keep 4 s, both ends are clamped, a corpus at 8 kHz gets the
 * narrow-band front end (and a given front-end option keeps the default), and on a corpus of long
 * recordings at 16-44.1 kHz the model trained with the derived values is the one --clip-seconds 4 gives,
 * byte for byte. */
#include <check.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "train/clip.h"
#include "train/options.h"
#include "tests/util/testutil.h"

START_TEST(percentile_rounds_up_and_clamps)
{
    double d[100], p;
    for (int i = 0; i < 100; i++)
        d[i] = 0.30 + 0.004 * (99 - i); /* 0.300 .. 0.696, unsorted */
    /* nearest rank 90 of 100: the 90th smallest, 0.300 + 0.004 * 89 = 0.656, rounded up to 0.66 */
    ck_assert(fabs(tr_clip_from_durations(d, 100, &p) - 0.66) < 1e-12);
    ck_assert(fabs(p - 0.656) < 1e-12);
    /* a value already on the 10 ms grid stays (0.61 = 4880 samples at 8 kHz) */
    double g[1] = {4880.0 / 8000};
    ck_assert(fabs(tr_clip_from_durations(g, 1, NULL) - 0.61) < 1e-12);
    double shortest[3] = {0.05, 0.1, 0.12};
    ck_assert(tr_clip_from_durations(shortest, 3, &p) == TR_CLIP_MIN_S);
    ck_assert(fabs(p - 0.12) < 1e-12);
    /* mostly long recordings: 4 s, even with a tenth of them short */
    double mixed[10] = {1, 30, 9, 12, 5, 6, 170, 8, 4.5, 11};
    ck_assert(tr_clip_from_durations(mixed, 10, &p) == TR_CLIP_MAX_S);
    ck_assert(p == 30);
    ck_assert(tr_clip_from_durations(NULL, 0, &p) == TR_CLIP_MAX_S && p == 0);
}
END_TEST

START_TEST(narrow_band_needs_every_rate_at_8k_or_less)
{
    int fsdd[3] = {8000, 8000, 8000}, mixed[3] = {8000, 16000, 8000}, low[2] = {8000, 6000}, bad[2] = {8000, 0};
    ck_assert_int_eq(tr_clip_is_narrow_band(fsdd, 3), 1);
    ck_assert_int_eq(tr_clip_is_narrow_band(low, 2), 1);
    ck_assert_int_eq(tr_clip_is_narrow_band(mixed, 3), 0);
    ck_assert_int_eq(tr_clip_is_narrow_band(bad, 2), 0);
    ck_assert_int_eq(tr_clip_is_narrow_band(NULL, 0), 0);
}
END_TEST

/* DATA/{a,b}/<i>.wav: n files per class at `rate`, file i lasting base + step * i seconds, a tone in noise. */
static void write_corpus(const char *data, int n, int rate, double base, double step, int rate_of_first)
{
    mkdir(data, 0755);
    for (int c = 0; c < 2; c++) {
        char dir[512], path[600];
        snprintf(dir, sizeof dir, "%s/%c", data, 'a' + c);
        mkdir(dir, 0755);
        for (int i = 0; i < n; i++) {
            int r = i == 0 && rate_of_first ? rate_of_first : rate;
            size_t frames = (size_t)((base + step * i) * r);
            float *x = malloc(frames * sizeof *x);
            ck_assert_ptr_nonnull(x);
            unsigned s = 12345u + (unsigned)(c * 100 + i);
            for (size_t t = 0; t < frames; t++) {
                s = s * 1103515245u + 12345u;
                double noise = ((s >> 9) / 8388608.0 - 1) * 0.05;
                x[t] = (float)(0.3 * sin(2 * M_PI * (c ? 660.0 : 330.0) * (double)t / r) + noise);
            }
            snprintf(path, sizeof path, "%s/%d.wav", dir, i);
            tu_write_wav(path, x, frames, 1, r, SF_FORMAT_PCM_16);
            free(x);
        }
    }
}

/* tr_options_parse of "aa-train DATA -o m.aam" and `more` (space-separated words), then tr_clip_derive. */
static void parse_derive(tr_options *o, tr_clip_choice *c, const char *data, const char *more)
{
    static char buf[1024];
    char *argv[32] = {"aa-train", (char *)data, "-o", "m.aam"};
    int argc = 4;
    snprintf(buf, sizeof buf, "%s", more);
    for (char *save = NULL, *t = strtok_r(buf, " ", &save); t && argc < 31; t = strtok_r(NULL, " ", &save))
        argv[argc++] = t;
    tr_options_default(o);
    aa_error err;
    ck_assert_msg(tr_options_parse(o, argc, argv, &err) == TR_PARSE_OK, "%s", err.msg);
    ck_assert_msg(tr_clip_derive(o, c, &err) == 0, "%s", err.msg);
}

START_TEST(short_8k_corpus_gets_a_short_clip_and_a_narrow_band_front_end)
{
    char dir[256], data[320];
    tu_mkdtemp(dir, sizeof dir);
    snprintf(data, sizeof data, "%s/digits", dir);
    write_corpus(data, 10, 8000, 0.30, 0.04, 0); /* 0.30 .. 0.66 s: the 90th percentile is 0.62 */
    tr_options o;
    tr_clip_choice c;
    parse_derive(&o, &c, data, "");
    ck_assert_uint_eq(c.n_probed, 20);
    ck_assert_int_eq(c.clip_derived, 1);
    ck_assert(fabs(o.dsp.clip_seconds - 0.62) < 1e-12);
    ck_assert_int_eq(c.narrow_band, 1);
    ck_assert_int_eq(o.dsp.sample_rate, 8000);
    ck_assert_int_eq(o.dsp.n_mels, 40);
    ck_assert_int_eq(o.dsp.n_fft, 256);
    ck_assert_int_eq(o.dsp.win_length, 256);
    ck_assert_int_eq(o.dsp.hop_length, 80);
    ck_assert(o.dsp.fmax == 4000);
    /* what follows the clip followed it: 0.62 s at hop 80 is 63 frames */
    ck_assert(fabs(o.hop_s - 0.31) < 1e-12 && fabs(o.aug.shift_max_s - 0.0775) < 1e-12);
    ck_assert_int_eq(o.aug.time_mask_max, 6);
    ck_assert_int_eq(o.aug.freq_mask_max, 5);
    ck_assert(fabs(o.aggregate.hop_s - 0.31) < 1e-12);

    /* a front-end option given keeps the default front end, the clip still follows the corpus */
    parse_derive(&o, &c, data, "--n-mels 64");
    ck_assert_int_eq(c.narrow_band, 0);
    ck_assert_int_eq(o.dsp.sample_rate, 16000);
    ck_assert(fabs(o.dsp.clip_seconds - 0.62) < 1e-12);
    /* --clip-seconds given is kept, as are the options given that follow it */
    parse_derive(&o, &c, data, "--clip-seconds 1 --hop 0.2 --aggregate mean@0.9");
    ck_assert_int_eq(c.clip_derived, 0);
    ck_assert(o.dsp.clip_seconds == 1 && o.hop_s == 0.2 && o.aggregate.hop_s == 0.9);
    ck_assert_int_eq(o.dsp.sample_rate, 8000);
    /* an 8 kHz corpus with one 16 kHz file is not narrow-band */
    char mixed[320];
    snprintf(mixed, sizeof mixed, "%s/mixed", dir);
    write_corpus(mixed, 4, 8000, 0.5, 0, 16000);
    parse_derive(&o, &c, mixed, "");
    ck_assert_int_eq(c.narrow_band, 0);
    ck_assert_int_eq(o.dsp.sample_rate, 16000);
    ck_assert(fabs(o.dsp.clip_seconds - 0.5) < 1e-12);
    tu_rmtree(dir);
}
END_TEST

START_TEST(tiny_clips_are_clamped_and_a_missing_folder_left_to_training)
{
    char dir[256], data[320];
    tu_mkdtemp(dir, sizeof dir);
    snprintf(data, sizeof data, "%s/clicks", dir);
    write_corpus(data, 3, 16000, 0.05, 0.01, 0);
    tr_options o;
    tr_clip_choice c;
    parse_derive(&o, &c, data, "");
    ck_assert(o.dsp.clip_seconds == TR_CLIP_MIN_S);
    ck_assert(fabs(c.percentile_s - 0.07) < 1e-9);
    snprintf(data, sizeof data, "%s/none", dir);
    parse_derive(&o, &c, data, "");
    ck_assert_int_eq(c.clip_derived, 0);
    ck_assert(o.dsp.clip_seconds == 4.0);
    tu_rmtree(dir);
}
END_TEST

/* Long recordings at 16 and 44.1 kHz, as in the respiratory corpus: the derived front end is today's
 * default, and the model trained with it is the one --clip-seconds 4 gives, byte for byte. */
START_TEST(long_recordings_keep_todays_front_end_and_model)
{
    char dir[256], data[320], cmd[2048], out[16384], err[8192];
    tu_mkdtemp(dir, sizeof dir);
    snprintf(data, sizeof data, "%s/resp", dir);
    write_corpus(data, 6, 16000, 4.5, 0.25, 44100);
    tr_options o, ref;
    tr_clip_choice c;
    parse_derive(&o, &c, data, "");
    ck_assert_int_eq(c.clip_derived, 1);
    ck_assert_int_eq(c.narrow_band, 0);
    dsp_settings def = dsp_settings_default();
    ck_assert(dsp_settings_equal(&o.dsp, &def));
    parse_derive(&ref, &c, data, "--clip-seconds 4");
    char *fo = tr_options_fingerprint(&o), *fr = tr_options_fingerprint(&ref);
    ck_assert_str_eq(fo, fr);
    free(fo), free(fr);
    ck_assert(o.aggregate.hop_s == ref.aggregate.hop_s);

    const char *names[2] = {"derived.aam", "given.aam"}, *more[2] = {"", "--clip-seconds 4"};
    for (int i = 0; i < 2; i++) {
        snprintf(cmd, sizeof cmd, "%s/aa-train %s -o %s/%s --arch \"c8 bn relu p2 c16 bn relu gap fc\" --epochs 1 "
                 "--batch 4 -j 2 --no-cache %s", tu_build_dir(), data, dir, names[i], more[i]);
        int rc = tu_run(cmd, out, sizeof out, err, sizeof err);
        ck_assert_msg(rc == 0, "exit %d: %.1500s", rc, err);
        if (!i)
            ck_assert_msg(strstr(out, "Clip length 4 s: the 90th percentile of 12 recordings' durations is 5.750 s"),
                          "%.1500s", out);
        else
            ck_assert_msg(!strstr(out, "Clip length"), "%.1500s", out);
    }
    char pa[400], pb[400];
    size_t na, nb;
    void *a = tu_read_file(tu_path(pa, sizeof pa, dir, names[0]), &na);
    void *b = tu_read_file(tu_path(pb, sizeof pb, dir, names[1]), &nb);
    ck_assert(a && b);
    ck_assert_msg(na == nb && !memcmp(a, b, na), "the models differ (%zu and %zu bytes)", na, nb);
    free(a), free(b);
    tu_rmtree(dir);
}
END_TEST

Suite *clip_derive_suite(void)
{
    Suite *s = suite_create("clip_derive");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, percentile_rounds_up_and_clamps);
    tcase_add_test(tc, narrow_band_needs_every_rate_at_8k_or_less);
    tcase_add_test(tc, short_8k_corpus_gets_a_short_clip_and_a_narrow_band_front_end);
    tcase_add_test(tc, tiny_clips_are_clamped_and_a_missing_folder_left_to_training);
    tcase_add_test(tc, long_recordings_keep_todays_front_end_and_model);
    suite_add_tcase(s, tc);
    return s;
}
