/* aa-infer --stream: raw PCM piped in, a decision per hop equal to the library's on the same window, the
 * end-of-input flush, another input rate, short and empty streams. */
#include <check.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "tests/util/demomodel.h"
#include "tests/util/jsonscan.h"
#include "tests/util/testutil.h"

#define OUT_CAP (1 << 18)
#define RATE 16000

static char g_out[OUT_CAP], g_err[OUT_CAP];

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
    char args[4096], cmd[4600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "%s/aa-infer %s", tu_build_dir(), args);
    return tu_run(cmd, g_out, sizeof g_out, g_err, sizeof g_err);
}

/* x as 16-bit little-endian PCM into path; x is replaced by what the PCM decodes back to (s / 32768). */
static void write_pcm(const char *path, float *x, size_t n)
{
    unsigned char *b = malloc(2 * n + 1);
    for (size_t i = 0; i < n; i++) {
        double v = lround(x[i] * 32768.0);
        int16_t s = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
        b[2 * i] = (unsigned char)((uint16_t)s & 0xff);
        b[2 * i + 1] = (unsigned char)((uint16_t)s >> 8);
        x[i] = (float)s / 32768.0f;
    }
    tu_write_file(path, b, 2 * n);
    free(b);
}

/* The n-th line of s (0-based). */
static const char *line_at(const char *s, int n)
{
    for (int i = 0; i < n && s; i++)
        if ((s = strchr(s, '\n')))
            s++;
    ck_assert_msg(s && *s, "no line %d", n);
    return s;
}

static const char *LABELS[4] = {"Cough", "Heavy Breathing", "Normal Breathing", "Background Noise"};

START_TEST(decisions_equal_the_library)
{
    char dir[256], model[320], pcm[320], msg[512];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(model, sizeof model, dir, "tone.aam");
    ck_assert_msg(tu_make_tone_model(model, msg, sizeof msg) == 0, "%s", msg);
    /* 12.3 s: a heavy tone 1.0-7.0 s and a burst at 9.3 s */
    const size_t n = 123 * RATE / 10;
    tu_tone_event ev[2] = {{1.0, 6.0, 1}, {9.3, TU_TONE_BURST_S, 0}};
    float *x = tu_tone_recording(n, ev, 2, 6);
    tu_path(pcm, sizeof pcm, dir, "in.raw");
    write_pcm(pcm, x, n);

    ck_assert_msg(run("-m '%s' --stream -r 16000 --json - < '%s'", model, pcm) == 0, "%s", g_err);
    /* one decision when the first 4 s are in, one per 0.5 s after, one more for the last 0.3 s */
    const int want = (int)((n - 4 * RATE) / (RATE / 2)) + 1 + 1;
    ck_assert_int_eq(tu_count_lines(g_out), want);
    aa_error err;
    am_model *m = am_load(model, 1, &err);
    ck_assert_ptr_nonnull(m);
    int saw_heavy = 0, saw_cough = 0;
    for (int i = 0; i < want; i++) {
        const char *l = line_at(g_out, i);
        double end = i < want - 1 ? 4.0 + 0.5 * i : (double)n / RATE;
        ck_assert_msg(fabs(tu_json_num(l, "end_s") - end) < 1e-9, "decision %d ends at %g, not %g", i,
                      tu_json_num(l, "end_s"), end);
        ck_assert(fabs(tu_json_num(l, "start_s") - (end - 4.0)) < 1e-9);
        am_result r;
        size_t e = (size_t)lround(end * RATE);
        ck_assert_int_eq(am_classify_clip(m, 0, x + e - 4 * RATE, &r, NULL, &err), 0);
        /* 6 significant digits printed: 5e-6 relative, 1e-12 for zeros */
        const char *probs = tu_json_find(l, "probabilities");
        for (int c = 0; c < 4; c++)
            ck_assert_msg(fabs(tu_json_num(probs, LABELS[c]) - r.probs[c]) <= 5e-6 * r.probs[c] + 1e-12,
                          "decision %d, %s", i, LABELS[c]);
        char s[64];
        ck_assert_str_eq(tu_json_str(l, "label", s, sizeof s), r.gated ? AM_UNCLEAR_LABEL : LABELS[r.cls]);
        saw_heavy += !strcmp(s, "Heavy Breathing");
        saw_cough += !strcmp(s, "Cough");
    }
    /* the rule of the tone model: windows at least half filled by the tone (ends 4.0-9.0) and those
     * holding the whole burst (ends 9.9-13.2, of which 10.0-12.3 are here) */
    ck_assert_int_eq(saw_heavy, 11);
    ck_assert_int_eq(saw_cough, 6);

    /* the human form: a header naming the rate, the disclaimer, one line per decision */
    ck_assert_msg(run("-m '%s' --stream -r 16000 '%s'", model, pcm) == 0, "%s", g_err);
    ck_assert_int_eq(tu_count_lines(g_out), 2 + want);
    ck_assert_ptr_nonnull(strstr(g_out, "16000 Hz"));
    ck_assert_ptr_nonnull(strstr(g_out, AM_DISCLAIMER));
    ck_assert_ptr_nonnull(strstr(g_out, "Heavy Breathing ("));
    am_free(m);
    free(x);
    tu_rmtree(dir);
}
END_TEST

START_TEST(other_rates_short_and_empty_streams)
{
    char dir[256], model[320], pcm[320], msg[512];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(model, sizeof model, dir, "tone.aam");
    ck_assert_msg(tu_make_tone_model(model, msg, sizeof msg) == 0, "%s", msg);

    /* 8 s at 44.1 kHz: the 2500 Hz tone from 0 to 8 s over noise; resampled to 16 kHz as it arrives */
    const int r44 = 44100;
    size_t n = 8 * (size_t)r44;
    float *x = malloc(n * sizeof *x);
    aa_rng rng;
    aa_rng_seed(&rng, 3);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(TU_TONE_AMP * sin(2 * M_PI * tu_tone_freq(1) * (double)i / r44) +
                       TU_TONE_NOISE * aa_rng_normal(&rng));
    tu_path(pcm, sizeof pcm, dir, "in44.raw");
    write_pcm(pcm, x, n);
    free(x);
    ck_assert_msg(run("-m '%s' --stream --rate 44100 --json - < '%s'", model, pcm) == 0, "%s", g_err);
    /* 128000 samples at 16 kHz: decisions at 4.0, 4.5, ... 8.0 s */
    ck_assert_int_eq(tu_count_lines(g_out), 9);
    for (int i = 0; i < 9; i++) {
        char s[64];
        ck_assert_str_eq(tu_json_str(line_at(g_out, i), "label", s, sizeof s), "Heavy Breathing");
    }
    /* the resampler's flush delivers every sample: the last decision ends at 8 s */
    ck_assert(fabs(tu_json_num(line_at(g_out, 8), "end_s") - 8.0) < 1e-3);
    /* a longer hop: fewer decisions */
    ck_assert_int_eq(run("-m '%s' --stream -r 44100 --hop 2 --json '%s'", model, pcm), 0);
    ck_assert_int_eq(tu_count_lines(g_out), 3);

    /* 1 s (and an odd byte): one decision at the end, on the zero-padded clip */
    float *y = tu_tone_recording(RATE, NULL, 0, 1);
    tu_path(pcm, sizeof pcm, dir, "short.raw");
    write_pcm(pcm, y, RATE);
    free(y);
    FILE *f = fopen(pcm, "ab");
    fputc(0x7f, f);
    fclose(f);
    ck_assert_msg(run("-m '%s' --stream -r 16000 --json - < '%s'", model, pcm) == 0, "%s", g_err);
    ck_assert_int_eq(tu_count_lines(g_out), 1);
    ck_assert(tu_json_num(g_out, "start_s") == 0 && fabs(tu_json_num(g_out, "end_s") - 1.0) < 1e-9);

    /* nothing at all: an error */
    ck_assert_int_eq(run("-m '%s' --stream -r 16000 - < /dev/null", model), 1);
    ck_assert_ptr_nonnull(strstr(g_err, "no audio arrived"));
    ck_assert_int_eq(tu_count_lines(g_err), 1);
    tu_rmtree(dir);
}
END_TEST

Suite *stream_suite(void)
{
    Suite *s = suite_create("stream");
    TCase *tc = tcase_create("stream");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, decisions_equal_the_library);
    tcase_add_test(tc, other_rates_short_and_empty_streams);
    suite_add_tcase(s, tc);
    return s;
}
