/* aa-infer --stream: raw PCM piped in, a decision per hop equal to the library's on the same window, the
 * end-of-input flush, another input rate, short and empty streams. */
#include <check.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sndfile.h>

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
    va_list ap;
    va_start(ap, fmt);
    int rc = tu_vrun_bin("aa-infer", g_out, sizeof g_out, g_err, sizeof g_err, fmt, ap);
    va_end(ap);
    return rc;
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

/* The events of a JSON output: onsets and offsets counted, offsets' times and classes into ev. */
typedef struct {
    double start, end;
    char cls[32];
} ev_line;

static int offsets_of(const char *out, ev_line *ev, int cap, int *onsets)
{
    int n = 0;
    *onsets = 0;
    for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (!strncmp(l, "{\"event\": \"onset\"", 17)) {
            ++*onsets;
            ck_assert(tu_json_num(l, "latency_ms") >= 0);
        } else if (!strncmp(l, "{\"event\": \"offset\"", 18)) {
            ck_assert_int_lt(n, cap);
            ev[n].start = tu_json_num(l, "start_s");
            ev[n].end = tu_json_num(l, "end_s");
            tu_json_str(l, "class", ev[n].cls, sizeof ev[n].cls);
            ck_assert(tu_json_num(l, "latency_ms") >= 0);
            n++;
        } else {
            ck_abort_msg("not an event line: %.200s", l);
        }
    }
    return n;
}

/* The timeline's events (one JSON object) into ev. */
static int timeline_events(const char *out, ev_line *ev, int cap)
{
    int n = 0;
    for (const char *p = tu_json_find(out, "events"); (p = strstr(p, "{\"start_s\"")) != NULL; p++) {
        ck_assert_int_lt(n, cap);
        ev[n].start = tu_json_num(p, "start_s");
        ev[n].end = tu_json_num(p, "end_s");
        tu_json_str(p, "class", ev[n].cls, sizeof ev[n].cls);
        n++;
    }
    return n;
}

/* --stream --events on WAV-headed and raw input gives the events of --timeline --smooth 1 on the same
 * audio; --refractory joins two coughs 7 s apart; raw PCM without -r is a usage error. */
START_TEST(events_equal_the_timeline)
{
    char dir[256], model[320], wav[320], fwav[320], raw[320], msg[512];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(model, sizeof model, dir, "tone.aam");
    ck_assert_msg(tu_make_tone_model(model, msg, sizeof msg) == 0, "%s", msg);
    const size_t n = 40 * RATE;
    tu_tone_event tev[4] = {{3.3, TU_TONE_BURST_S, 0}, {9.1, 5.0, 1}, {19.7, TU_TONE_BURST_S, 0}, {26.2, 6.0, 2}};
    float *x = tu_tone_recording(n, tev, 4, 9);
    tu_path(wav, sizeof wav, dir, "in.wav");
    tu_write_wav(wav, x, n, 1, RATE, SF_FORMAT_PCM_16);
    /* the same audio as float, in two equal channels */
    float *st2 = malloc(2 * n * sizeof *st2);
    for (size_t i = 0; i < n; i++)
        st2[2 * i] = st2[2 * i + 1] = (float)((int16_t)lround(x[i] * 32768.0)) / 32768.0f;
    tu_path(fwav, sizeof fwav, dir, "in_f32.wav");
    tu_write_wav(fwav, st2, n, 2, RATE, SF_FORMAT_FLOAT);
    /* and raw float, mono */
    for (size_t i = 0; i < n; i++)
        st2[i] = st2[2 * i];
    tu_path(raw, sizeof raw, dir, "in.f32");
    tu_write_file(raw, st2, n * sizeof *st2);
    free(st2);
    free(x);

    ev_line want[16], got[16];
    ck_assert_msg(run("-m '%s' --timeline --smooth 1 --json '%s'", model, wav) == 0, "%s", g_err);
    int nw = timeline_events(g_out, want, 16);
    ck_assert_int_eq(nw, 4);
    const char *inputs[3][2] = {{"- <", wav}, {"- <", fwav}, {"--sample-format f32 -r 16000", raw}};
    for (int t = 0; t < 3; t++) {
        ck_assert_msg(run("-m '%s' --stream --events --json %s '%s'", model, inputs[t][0], inputs[t][1]) == 0, "%s",
                      g_err);
        int onsets, ng = offsets_of(g_out, got, 16, &onsets);
        ck_assert_msg(ng == nw && onsets == nw, "input %d: %d events, %d onsets, want %d: %s", t, ng, onsets, nw,
                      g_out);
        for (int i = 0; i < nw; i++) {
            ck_assert_str_eq(got[i].cls, want[i].cls);
            ck_assert_msg(fabs(got[i].start - want[i].start) < 1e-3 && fabs(got[i].end - want[i].end) < 1e-3,
                          "input %d, event %d: %g-%g, timeline %g-%g", t, i, got[i].start, got[i].end, want[i].start,
                          want[i].end);
        }
    }
    /* text: an onset line and an event line per event */
    ck_assert_int_eq(run("-m '%s' --stream --events - < '%s'", model, wav), 0);
    ck_assert_int_eq(tu_count_lines(g_out), 2 + 2 * nw);
    ck_assert_ptr_nonnull(strstr(g_out, "onset   Cough"));
    ck_assert_ptr_nonnull(strstr(g_out, AM_DISCLAIMER));

    /* two coughs 7 s apart: two events, or one with a refractory period longer than the gap */
    tu_tone_event two[2] = {{3.3, TU_TONE_BURST_S, 0}, {10.3, TU_TONE_BURST_S, 0}};
    x = tu_tone_recording(16 * RATE, two, 2, 10);
    tu_write_wav(wav, x, 16 * RATE, 1, RATE, SF_FORMAT_PCM_16);
    free(x);
    ck_assert_int_eq(run("-m '%s' --stream --events --json - < '%s'", model, wav), 0);
    int onsets;
    ck_assert_int_eq(offsets_of(g_out, got, 16, &onsets), 2);
    double first_start = got[0].start, second_end = got[1].end;
    ck_assert_int_eq(run("-m '%s' --stream --events --refractory 8 --json - < '%s'", model, wav), 0);
    ck_assert_int_eq(offsets_of(g_out, got, 16, &onsets), 1);
    ck_assert_int_eq(onsets, 1);
    ck_assert(fabs(got[0].start - first_start) < 1e-9 && fabs(got[0].end - second_end) < 1e-9);

    /* raw PCM needs its rate */
    ck_assert_int_eq(run("-m '%s' --stream - < '%s'", model, raw), 2);
    ck_assert_ptr_nonnull(strstr(g_err, "-r RATE"));
    ck_assert_int_eq(run("-m '%s' --stream --sample-format f64 -r 16000 - < '%s'", model, raw), 2);
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
    tcase_add_test(tc, events_equal_the_timeline);
    suite_add_tcase(s, tc);
    return s;
}
