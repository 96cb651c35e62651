/* aa-infer --timeline: smoothing and event extraction on known rows, events of a recording assembled from
 * clips at known positions found within 0.5 s, short recordings, standard input, memory that does not
 * grow with the recording. */
#include <check.h>
#include <math.h>
#include <sndfile.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "infer/infer.h"
#include "tests/util/demomodel.h"
#include "tests/util/jsonscan.h"
#include "tests/util/testutil.h"

#define OUT_CAP (1 << 16)
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

static void make_model(char *dir, size_t dcap, char *model, size_t mcap)
{
    tu_mkdtemp(dir, dcap);
    tu_path(model, mcap, dir, "tone.aam");
    char msg[512];
    ck_assert_msg(tu_make_tone_model(model, msg, sizeof msg) == 0, "%s", msg);
}

START_TEST(smoothing_is_a_centred_mean)
{
    /* 5 rows of 2 classes; width 3: interior rows average three, the ends the two that exist */
    float in[10] = {1, 0, 0, 1, 1, 0, 1, 0, 0, 1}, out[10];
    inf_smooth(in, 5, 2, 3, out);
    const float want[10] = {0.5f, 0.5f, 2 / 3.0f, 1 / 3.0f, 2 / 3.0f, 1 / 3.0f, 2 / 3.0f, 1 / 3.0f, 0.5f, 0.5f};
    for (int i = 0; i < 10; i++)
        ck_assert_msg(fabsf(out[i] - want[i]) < 1e-6f, "row %d: %g vs %g", i / 2, out[i], want[i]);
    /* width 1 is a copy */
    inf_smooth(in, 5, 2, 1, out);
    ck_assert_mem_eq(in, out, sizeof in);
    /* width larger than the rows: every row is the mean of all */
    inf_smooth(in, 5, 2, 11, out);
    for (int i = 0; i < 5; i++)
        ck_assert(fabsf(out[2 * i] - 0.6f) < 1e-6f);
}
END_TEST

START_TEST(events_from_rows)
{
    char dir[256], model[320];
    make_model(dir, sizeof dir, model, sizeof model);
    aa_error err;
    am_model *m = am_load(model, 1, &err);
    ck_assert_ptr_nonnull(m);
    /* Rows (classes cough, heavy, normal, background; gate 0.5), hop 0.5 s, window 4 s:
     *   0-1 background, 2-4 cough (short: its windows overlap), 5 withheld (0.4), 6 background,
     *   7-19 heavy (long: 13 windows, spanning more than two windows), 20 background */
    float rows[21][4];
    for (int i = 0; i < 21; i++) {
        float p[4] = {0.02f, 0.02f, 0.02f, 0.94f};
        if (i >= 2 && i <= 4) p[0] = 0.94f, p[3] = 0.02f;
        if (i == 5) p[0] = 0.4f, p[1] = 0.3f, p[3] = 0.28f;
        if (i >= 7 && i <= 19) p[1] = i == 12 ? 0.8f : 0.9f, p[3] = i == 12 ? 0.16f : 0.06f;
        memcpy(rows[i], p, sizeof p);
    }
    inf_event ev[4];
    size_t n = inf_events_from(m, &rows[0][0], 21, 0.5, 4.0, 3, ev, 4);
    ck_assert_uint_eq(n, 2);
    /* the cough: windows starting 1.0..2.0 s share [2.0, 5.0); each edge moves half a hop inwards */
    ck_assert_int_eq(ev[0].cls, 0);
    ck_assert(fabs(ev[0].start - 2.25) < 1e-9 && fabs(ev[0].end - 4.75) < 1e-9);
    ck_assert(fabs(ev[0].peak - 0.94) < 1e-6);
    ck_assert_uint_eq(ev[0].windows, 3);
    /* the heavy breathing: centres 5.5 .. 11.5 s, widened by half a hop */
    ck_assert_int_eq(ev[1].cls, 1);
    ck_assert(fabs(ev[1].start - 5.25) < 1e-9 && fabs(ev[1].end - 11.75) < 1e-9);
    ck_assert(fabs(ev[1].peak - 0.9) < 1e-6);

    /* background is not an event unless another class is named as the background */
    n = inf_events_from(m, &rows[0][0], 21, 0.5, 4.0, -1, ev, 4);
    ck_assert_uint_eq(n, 5);
    ck_assert_int_eq(ev[0].cls, 3);
    /* windows 0-1 share [0.5, 4.0); no window before the first, so that edge stays where it is */
    ck_assert(fabs(ev[0].start - 0.75) < 1e-9 && ev[0].end == 4.0);
    /* a count without room: how many there are */
    ck_assert_uint_eq(inf_events_from(m, &rows[0][0], 21, 0.5, 4.0, 3, NULL, 0), 2);
    am_free(m);
    tu_rmtree(dir);
}
END_TEST

/* Events at known positions, off the hop grid, with gaps of at least 4 s so no window holds two. */
static const tu_tone_event EVENTS[] = {
    {5.31, TU_TONE_BURST_S, 0}, {10.07, 6.2, 1},  {21.13, TU_TONE_BURST_S, 0}, {26.41, 5.5, 2},
    {36.77, TU_TONE_BURST_S, 0}, {42.2, 4.8, 2},  {51.04, 7.3, 1},            {62.66, TU_TONE_BURST_S, 0},
};
#define N_EVENTS (sizeof EVENTS / sizeof EVENTS[0])
#define SECONDS 70

START_TEST(events_found_within_half_a_second)
{
    char dir[256], model[320], wav[320];
    make_model(dir, sizeof dir, model, sizeof model);
    tu_path(wav, sizeof wav, dir, "long.wav");
    float *x = tu_tone_recording(SECONDS * RATE, EVENTS, N_EVENTS, 21);
    tu_write_wav(wav, x, SECONDS * RATE, 1, RATE, SF_FORMAT_PCM_16);
    free(x);

    ck_assert_msg(run("-m '%s' --timeline --json '%s'", model, wav) == 0, "%s", g_err);
    ck_assert_int_eq(tu_count_lines(g_out), 1);
    ck_assert(fabs(tu_json_num(g_out, "duration_s") - SECONDS) < 1e-3);
    ck_assert(tu_json_num(g_out, "hop_s") == 0.5 && tu_json_num(g_out, "window_s") == 4);
    /* whole windows only: starts 0, 0.5, ... while the window fits */
    ck_assert(tu_json_num(g_out, "windows") == (SECONDS - 4) / 0.5 + 1);
    static const char *const CLS[3] = {"cough", "heavy_breathing", "normal_breathing"};
    /* every detected event matches a true one, in order, each edge within 0.5 s (the brief's bound; by
     * construction of the model the error is at most 0.35 s: half a hop plus the burst's 0.1 s slack) */
    const char *p = tu_json_find(g_out, "events");
    size_t found = 0;
    double worst = 0;
    while ((p = strstr(p, "\"start_s\"")) != NULL) {
        ck_assert_msg(found < N_EVENTS, "more events than in the recording: %s", g_out);
        char cls[64];
        double s = tu_json_num(p, "start_s"), e = tu_json_num(p, "end_s");
        tu_json_str(p, "class", cls, sizeof cls);
        const tu_tone_event *t = &EVENTS[found];
        ck_assert_msg(!strcmp(cls, CLS[t->cls]), "event %zu: %s, want %s", found, cls, CLS[t->cls]);
        double err = fmax(fabs(s - t->start), fabs(e - (t->start + t->len)));
        ck_assert_msg(err <= 0.5, "event %zu (%s at %.2f-%.2f): found %.2f-%.2f", found, cls, t->start,
                      t->start + t->len, s, e);
        worst = fmax(worst, err);
        ck_assert(tu_json_num(p, "peak_confidence") >= 0.5);
        found++;
        p++;
    }
    ck_assert_uint_eq(found, N_EVENTS);
    ck_assert_msg(worst <= 0.35 + 1e-9, "worst edge %.3f s", worst);

    /* the human table: one row per event, the disclaimer last */
    ck_assert_msg(run("-m '%s' --timeline '%s'", model, wav) == 0, "%s", g_err);
    ck_assert_int_eq(tu_count_lines(g_out), 1 + 1 + N_EVENTS + 1);
    ck_assert_ptr_nonnull(strstr(g_out, "Heavy Breathing"));
    ck_assert_ptr_nonnull(strstr(g_out, AM_DISCLAIMER));

    /* --background names the class that is not an event: with "cough" the background becomes events */
    ck_assert_int_eq(run("-m '%s' --timeline --json --background cough '%s'", model, wav), 0);
    ck_assert_ptr_null(strstr(g_out, "\"class\": \"cough\""));
    ck_assert_ptr_nonnull(strstr(g_out, "\"class\": \"background_noise\""));
    ck_assert_int_eq(run("-m '%s' --timeline --background wheeze '%s'", model, wav), 2);
    ck_assert_ptr_nonnull(strstr(g_err, "wheeze"));

    /* standard input: the same events */
    char from_file[OUT_CAP];
    ck_assert_int_eq(run("-m '%s' --timeline --json '%s'", model, wav), 0);
    snprintf(from_file, sizeof from_file, "%s", strstr(g_out, "\"duration_s\""));
    ck_assert_int_eq(run("-m '%s' --timeline --json - < '%s'", model, wav), 0);
    ck_assert_str_eq(strstr(g_out, "\"duration_s\""), from_file);

    /* smoothing off and a finer hop still find every event */
    ck_assert_int_eq(run("-m '%s' --timeline --json --smooth 1 --hop 0.25 '%s'", model, wav), 0);
    size_t n = 0;
    for (p = g_out; (p = strstr(p, "\"start_s\"")) != NULL; p++)
        n++;
    ck_assert_uint_eq(n, N_EVENTS);
    tu_rmtree(dir);
}
END_TEST

/* The last line of s (a JSON report after the timelines' lines). */
static const char *last_line(const char *s)
{
    const char *end = s + strlen(s);
    while (end > s && end[-1] == '\n')
        end--;
    const char *p = end;
    while (p > s && p[-1] != '\n')
        p--;
    return p;
}

/* --timeline --reference: two recordings scored at once against one file naming three. The recording holds
 * EVENTS, all found within 0.35 s; the quiet one holds nothing, so its reference cough is a miss; the third
 * file is not among those followed, so its event is counted as unscored, not as a miss. */
START_TEST(scored_against_a_reference)
{
    char dir[256], model[320], wav[320], quiet[320], ref[320], bad[320];
    make_model(dir, sizeof dir, model, sizeof model);
    tu_path(wav, sizeof wav, dir, "long.wav");
    float *x = tu_tone_recording(SECONDS * RATE, EVENTS, N_EVENTS, 21);
    tu_write_wav(wav, x, SECONDS * RATE, 1, RATE, SF_FORMAT_PCM_16);
    free(x);
    tu_path(quiet, sizeof quiet, dir, "quiet.wav");
    x = tu_tone_recording(10 * RATE, NULL, 0, 22);
    tu_write_wav(quiet, x, 10 * RATE, 1, RATE, SF_FORMAT_PCM_16);
    free(x);

    static const char *const CLS[3] = {"cough", "Heavy Breathing", "NORMAL_BREATHING"};
    char tsv[4096];
    size_t len = (size_t)snprintf(tsv, sizeof tsv, "file\tlabel\tstart_s\tend_s\n");
    for (size_t i = 0; i < N_EVENTS; i++)
        len += (size_t)snprintf(tsv + len, sizeof tsv - len, "long.wav\t%s\t%.2f\t%.2f\n", CLS[EVENTS[i].cls],
                                EVENTS[i].start, EVENTS[i].start + EVENTS[i].len);
    len += (size_t)snprintf(tsv + len, sizeof tsv - len, "quiet.wav\tcough\t3\t3.5\nother.wav\tcough\t1\t2\n");
    tu_path(ref, sizeof ref, dir, "ref.tsv");
    tu_write_file(ref, tsv, len);

    ck_assert_msg(run("-m '%s' --timeline --json --reference '%s' '%s' '%s'", model, ref, wav, quiet) == 0, "%s",
                  g_err);
    ck_assert_int_eq(tu_count_lines(g_out), 3); /* two timelines, then the scores */
    const char *j = last_line(g_out);
    ck_assert_ptr_nonnull(strstr(j, "\"format\":\"audio-audit-events\""));
    ck_assert(tu_json_num(j, "recordings") == 2);
    ck_assert(fabs(tu_json_num(j, "duration_s") - (SECONDS + 10)) < 1e-3);
    ck_assert(tu_json_num(j, "collar_s") == 1);
    ck_assert(tu_json_num(j, "unscored_events") == 1);
    ck_assert_ptr_nonnull(strstr(j, "\"unscored_files\":[\"other.wav\"]"));
    const char *all = tu_json_find(j, "overall");
    ck_assert_ptr_nonnull(all);
    ck_assert(tu_json_num(all, "reference") == N_EVENTS + 1);
    ck_assert(tu_json_num(all, "estimated") == N_EVENTS);
    ck_assert(tu_json_num(all, "hits") == N_EVENTS);
    ck_assert(tu_json_num(all, "false_alarms") == 0);
    ck_assert(fabs(tu_json_num(all, "recall") - (double)N_EVENTS / (N_EVENTS + 1)) < 1e-9);
    ck_assert(tu_json_num(all, "precision") == 1);

    /* estimates sit on the quarter-second grid of the windows and no event starts within 0.01 s of it:
     * with that collar every estimate is a false alarm and every reference event a miss */
    ck_assert_int_eq(run("-m '%s' --timeline --json --collar 0.01 --offsets --reference '%s' '%s' '%s'", model,
                         ref, wav, quiet), 0);
    j = last_line(g_out);
    ck_assert_ptr_nonnull(strstr(j, "\"offset\":true"));
    all = tu_json_find(j, "overall");
    ck_assert(tu_json_num(all, "hits") == 0 && tu_json_num(all, "false_alarms") == N_EVENTS);

    /* text: the timelines, then the report, the disclaimer last */
    ck_assert_int_eq(run("-m '%s' --timeline --reference '%s' '%s' '%s'", model, ref, wav, quiet), 0);
    const char *rep = strstr(g_out, "Event-based scores: 2 recordings");
    ck_assert_ptr_nonnull(rep);
    ck_assert_ptr_nonnull(strstr(g_out, "long.wav: 70.0 s"));
    ck_assert(strstr(g_out, "long.wav: 70.0 s") < rep);
    ck_assert_ptr_nonnull(strstr(rep, AM_DISCLAIMER));

    /* a malformed reference is refused before any recording is followed: one line naming file and line */
    tu_path(bad, sizeof bad, dir, "bad.tsv");
    tu_write_file(bad, "file\tlabel\tstart_s\tend_s\nlong.wav\twheeze\t1\t2\n", 45);
    ck_assert_int_eq(run("-m '%s' --timeline --reference '%s' '%s'", model, bad, wav), 1);
    ck_assert_str_eq(g_out, "");
    ck_assert_int_eq(tu_count_lines(g_err), 1);
    ck_assert_msg(strstr(g_err, "bad.tsv: line 2: ") && strstr(g_err, "wheeze"), "%s", g_err);
    /* the scoring options need a reference */
    ck_assert_int_eq(run("-m '%s' --timeline --collar 2 '%s'", model, wav), 2);
    ck_assert_ptr_nonnull(strstr(g_err, "--collar only applies with --reference"));
    ck_assert_int_eq(run("-m '%s' --reference '%s' '%s'", model, ref, wav), 2);
    tu_rmtree(dir);
}
END_TEST

START_TEST(short_and_bad_recordings)
{
    char dir[256], model[320], wav[320], bad[320];
    make_model(dir, sizeof dir, model, sizeof model);
    /* 3.6 s holding a long tone: one window, zero-padded; the tone fills 3.5 of its 4 s, an event (the
     * padding sits at the clip's floor, max - 80 dB, below the noise, so a tone filling less than about
     * 3 s of a padded window would not reach the rule's threshold) */
    tu_path(wav, sizeof wav, dir, "short.wav");
    tu_tone_event ev = {0.05, 3.5, 2};
    float *x = tu_tone_recording(36 * RATE / 10, &ev, 1, 4);
    tu_write_wav(wav, x, 36 * RATE / 10, 1, RATE, SF_FORMAT_PCM_16);
    free(x);
    ck_assert_msg(run("-m '%s' --timeline --json '%s'", model, wav) == 0, "%s", g_err);
    ck_assert(tu_json_num(g_out, "windows") == 1);
    ck_assert_ptr_nonnull(strstr(g_out, "\"class\": \"normal_breathing\""));
    /* one good file and one bad: the bad one named on stderr, exit 1, the good one reported */
    tu_path(bad, sizeof bad, dir, "bad.wav");
    tu_write_file(bad, "not audio at all", 16);
    ck_assert_int_eq(run("-m '%s' --timeline --json '%s' '%s'", model, bad, wav), 1);
    ck_assert_int_eq(tu_count_lines(g_out), 1);
    ck_assert_int_eq(tu_count_lines(g_err), 1);
    ck_assert_ptr_nonnull(strstr(g_err, "bad.wav: "));
    tu_rmtree(dir);
}
END_TEST

/* Peak resident memory of the children run so far, in KB. */
static long children_maxrss(void)
{
    struct rusage ru;
    ck_assert_int_eq(getrusage(RUSAGE_CHILDREN, &ru), 0);
    return ru.ru_maxrss;
}

START_TEST(memory_does_not_grow_with_the_recording)
{
    char dir[256], model[320], small[320], big[320];
    make_model(dir, sizeof dir, model, sizeof model);
    /* 1 and 20 minutes (5 under the sanitizers, which slow the front end down): decoded whole, 20 minutes
     * would be 77 MB of float samples (19 MB for 5); streamed, the two runs need the same memory */
    size_t minutes = tu_sanitized() ? 5 : 20;
    tu_path(small, sizeof small, dir, "small.wav");
    tu_path(big, sizeof big, dir, "big.wav");
    float *x = tu_tone_recording(minutes * 60 * RATE, NULL, 0, 8);
    tu_write_wav(small, x, 60 * RATE, 1, RATE, SF_FORMAT_PCM_16);
    tu_write_wav(big, x, minutes * 60 * RATE, 1, RATE, SF_FORMAT_PCM_16);
    free(x);
    ck_assert_msg(run("-m '%s' --timeline --threads 2 '%s'", model, small) == 0, "%s", g_err);
    long rss_small = children_maxrss();
    ck_assert_msg(run("-m '%s' --timeline --threads 2 --json '%s'", model, big) == 0, "%s", g_err);
    long rss_big = children_maxrss();
    ck_assert(fabs(tu_json_num(g_out, "duration_s") - (double)minutes * 60) < 1e-3);
    ck_assert_ptr_nonnull(strstr(g_out, "\"events\": []"));
    /* The growth allowed: the per-window probabilities (16 bytes a window) and allocator noise; 4 MB is a
     * fifth of the smallest whole-recording buffer (19 MB). */
    ck_assert_msg(rss_big - rss_small < 4096, "peak RSS %ld KB for %zu min vs %ld KB for 1 min", rss_big, minutes,
                  rss_small);
    tu_rmtree(dir);
}
END_TEST

Suite *timeline_suite(void)
{
    Suite *s = suite_create("timeline");
    TCase *tu = tcase_create("units");
    tcase_add_test(tu, smoothing_is_a_centred_mean);
    tcase_add_test(tu, events_from_rows);
    suite_add_tcase(s, tu);
    TCase *tc = tcase_create("recordings");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, events_found_within_half_a_second);
    tcase_add_test(tc, scored_against_a_reference);
    tcase_add_test(tc, short_and_bad_recordings);
    tcase_add_test(tc, memory_does_not_grow_with_the_recording);
    suite_add_tcase(s, tc);
    return s;
}
