/* The timeline's event rule and its tuning: the threshold and minimum duration of am_events_find, the sweep
 * on a constructed probability sequence whose best setting is known, aa-infer's --tune options, and the
 * model keys (a round trip, values refused, an old model's defaults). */
#include <check.h>
#include <math.h>
#include <sndfile.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer/infer.h"
#include "model/model_internal.h"
#include "model/timeline.h"
#include "tests/util/demomodel.h"
#include "tests/util/jsonscan.h"
#include "tests/util/testutil.h"

#define K 4 /* the tone model's classes: cough, heavy, normal, background */
#define BG 3
#define NW 121 /* windows of a constructed recording: 64 s at hop 0.5 s, window 4 s */

static am_model *tone_model(char *dir, size_t cap)
{
    char model[512], msg[512];
    tu_mkdtemp(dir, cap);
    tu_path(model, sizeof model, dir, "tone.aam");
    ck_assert_msg(tu_make_tone_model(model, msg, sizeof msg) == 0, "%s", msg);
    aa_error err;
    am_model *m = am_load(model, 1, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    return m;
}

static void set_row(float *row, float cough)
{
    row[0] = cough;
    row[1] = row[2] = 0.02f;
    row[BG] = 1 - cough - 0.04f;
}

START_TEST(threshold_and_minimum_duration)
{
    char dir[256];
    am_model *m = tone_model(dir, sizeof dir);
    /* Cough 0.3 under a 0.66 background in windows 4-9 (6 windows, 3 s), and 0.5 in window 20 alone. */
    float rows[30][K];
    for (int i = 0; i < 30; i++)
        set_row(rows[i], i >= 4 && i <= 9 ? 0.3f : i == 20 ? 0.5f : 0.05f);
    am_event ev[4];
    /* The gate's rule: background is the most probable class everywhere but window 20, withheld (0.5 < 0.5
     * is not, so the gate lets it through: the tone model's gate is 0.5). */
    size_t n = am_events_find(m, &rows[0][0], 30, 0.5, 4.0, BG, AM_TIMELINE_GATE, 0, ev, 4);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(ev[0].cls, 0);
    ck_assert_uint_eq(ev[0].windows, 1);
    /* A threshold: windows the gate leaves out are coughs where Cough reaches it. */
    n = am_events_find(m, &rows[0][0], 30, 0.5, 4.0, BG, 0.25, 0, ev, 4);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(ev[0].windows, 6);
    ck_assert(fabs(ev[0].peak - 0.3) < 1e-6);
    /* the same timing rule as the gate's: windows 4-9 share [4.5, 6.0), each edge half a hop inwards */
    ck_assert(fabs(ev[0].start - 4.75) < 1e-9 && fabs(ev[0].end - 5.75) < 1e-9);
    ck_assert_uint_eq(am_events_find(m, &rows[0][0], 30, 0.5, 4.0, BG, 0.31, 0, NULL, 0), 1);
    /* a threshold only adds coughs: what the gate lets through (window 20) stays an event */
    ck_assert_uint_eq(am_events_find(m, &rows[0][0], 30, 0.5, 4.0, BG, 0.51, 0, ev, 4), 1);
    ck_assert_uint_eq(ev[0].windows, 1);
    /* Minimum duration: a run of r windows lasts r hops; 1 window (0.5 s) goes at 1 s, 6 (3 s) stay to 3 s. */
    ck_assert_uint_eq(am_events_find(m, &rows[0][0], 30, 0.5, 4.0, BG, 0.25, 0.5, NULL, 0), 2);
    ck_assert_uint_eq(am_events_find(m, &rows[0][0], 30, 0.5, 4.0, BG, 0.25, 1.0, NULL, 0), 1);
    ck_assert_uint_eq(am_events_find(m, &rows[0][0], 30, 0.5, 4.0, BG, 0.25, 3.0, NULL, 0), 1);
    ck_assert_uint_eq(am_events_find(m, &rows[0][0], 30, 0.5, 4.0, BG, 0.25, 3.01, NULL, 0), 0);
    /* inf_events_from is the gate's rule without a minimum duration, whatever the model stores */
    am_timeline t = {.tuned = 1, .threshold = 0.25, .smooth = 5, .min_duration_s = 2};
    ck_assert_int_eq(am_set_timeline(m, &t, NULL), 0);
    ck_assert_uint_eq(inf_events_from(m, &rows[0][0], 30, 0.5, 4.0, BG, NULL, 0), 1);
    am_free(m);
    tu_rmtree(dir);
}
END_TEST

/* Three recordings, each with three coughs (cough 0.35 over the 7 windows wholly holding each) and one
 * false blip of two windows (cough 0.5), over a floor where cough is 0.12. */
static void construct(float (*rows)[NW][K], ev_event *ref, size_t *n_ref, am_tune_recording *recs)
{
    static const double cough_at[3] = {10.2, 25.2, 45.2};
    *n_ref = 0;
    for (int r = 0; r < 3; r++) {
        for (int i = 0; i < NW; i++)
            set_row(rows[r][i], 0.12f);
        for (int c = 0; c < 3; c++) {
            double t = cough_at[c] + r; /* [t, t + 0.5) */
            for (int i = 0; i < NW; i++)
                if (0.5 * i <= t && 0.5 * i + 4 >= t + 0.5)
                    set_row(rows[r][i], 0.35f);
            ref[(*n_ref)++] = (ev_event){.onset = t, .offset = t + 0.5, .cls = 0, .file = (size_t)r};
        }
        set_row(rows[r][110], 0.5f);
        set_row(rows[r][111], 0.5f);
        recs[r] = (am_tune_recording){.probs = &rows[r][0][0], .n_windows = NW, .hop_s = 0.5, .window_s = 4,
                                      .duration_s = 64};
    }
}

START_TEST(sweep_finds_the_known_best_setting)
{
    char dir[256];
    am_model *m = tone_model(dir, sizeof dir);
    static float rows[3][NW][K];
    ev_event ref[9];
    size_t n_ref;
    am_tune_recording recs[3];
    construct(rows, ref, &n_ref, recs);
    ev_event_opts o = ev_event_opts_default();
    o.overlap = 1;
    am_tune_sweep *s = malloc(sizeof *s);
    aa_error err;
    ck_assert_int_eq(am_timeline_target(m), 0);
    ck_assert_msg(am_tune_run(m, recs, 3, ref, n_ref, BG, 0, AM_TUNE_FA_BUDGET, &o, s, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(s->n_recordings, 3);
    ck_assert(fabs(s->duration_s - 192) < 1e-9);
    /* the grid: the gate's rule first, thresholds outermost, then smoothing, then minimum duration */
    ck_assert(s->rows[0].setting.threshold == AM_TIMELINE_GATE && s->rows[0].setting.smooth == 1 &&
              s->rows[0].setting.min_duration_s == 0);
    ck_assert(fabs(s->rows[AM_TUNE_ROWS - 1].setting.threshold - 0.95) < 1e-9);
    ck_assert_int_eq(s->rows[AM_TUNE_ROWS - 1].setting.smooth, 7);
    ck_assert(s->rows[AM_TUNE_ROWS - 1].setting.min_duration_s == 2);
    /* The default rule (the gate at 0.5, 3 windows, no minimum): background is always the most probable
     * class after smoothing, so nothing is found and nothing is false. */
    const am_tune_row *b = &s->rows[s->baseline];
    ck_assert(b->setting.threshold == AM_TIMELINE_GATE && b->setting.smooth == 3 && b->setting.min_duration_s == 0);
    ck_assert_uint_eq(b->reference, 9);
    ck_assert_uint_eq(b->hits, 0);
    /* Unsmoothed, a threshold between the floor (0.12) and the coughs (0.35) finds every cough (0.10 and
     * under make one event of each recording); the
     * two-window blips (1 s) are false unless the minimum duration is over 1 s. The first such row of the
     * grid: 0.15, 1 window, 1.5 s. (Smoothed over 3, the blips' neighbours rise to 0.25, so a threshold
     * of 0.25-0.35 with 1.5 s is as good, but later in the grid.) */
    ck_assert_int_eq(s->within_budget, 1);
    const am_tune_row *c = &s->rows[s->chosen];
    ck_assert_msg(fabs(c->setting.threshold - 0.15) < 1e-9 && c->setting.smooth == 1 &&
                      c->setting.min_duration_s == 1.5,
                  "chosen %g/%d/%g", c->setting.threshold, c->setting.smooth, c->setting.min_duration_s);
    ck_assert_uint_eq(c->hits, 9);
    ck_assert_uint_eq(c->false_alarms, 0);
    ck_assert(c->recall == 1 && c->f1 == 1);
    /* The same threshold with 1 s: each blip is one false alarm, 3 in 3.2 minutes. */
    size_t at_1s = c - s->rows - 1;
    ck_assert(s->rows[at_1s].setting.min_duration_s == 1);
    ck_assert_uint_eq(s->rows[at_1s].false_alarms, 3);
    ck_assert(fabs(s->rows[at_1s].fa_per_10min - 3 / (192.0 / 600)) < 1e-9);
    /* A threshold under the floor: one event per recording, matched to one cough at most. */
    const am_tune_row *low = &s->rows[5 * AM_TUNE_SMOOTHS * AM_TUNE_DURATIONS]; /* 0.05, smooth 1, 0 s */
    ck_assert(fabs(low->setting.threshold - 0.05) < 1e-9);
    ck_assert_uint_eq(low->estimated, 3);
    ck_assert_uint_eq(low->hits, 3);

    /* A budget of 0 is met by the chosen row too; every class but the background scores the same here. */
    ck_assert_int_eq(am_tune_run(m, recs, 3, ref, n_ref, BG, -1, 0, &o, s, &err), 0);
    ck_assert_uint_eq(s->rows[s->chosen].hits, 9);
    ck_assert_uint_eq(s->rows[s->chosen].false_alarms, 0);
    ck_assert_int_eq(am_tune_run(m, recs, 3, ref, n_ref, BG, 4, 6, &o, s, &err), AM_ERR_ARG);
    free(s);
    am_free(m);
    tu_rmtree(dir);
}
END_TEST

static int parse(inf_options *o, aa_error *err, const char *line)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", line);
    char *argv[32];
    int argc = 0;
    for (char *t = strtok(buf, " "); t && argc < 32; t = strtok(NULL, " "))
        argv[argc++] = t;
    int rc = inf_parse(argc, argv, o, err);
    free(o->inputs);
    o->inputs = NULL;
    return rc;
}

START_TEST(tune_options)
{
    inf_options o;
    aa_error err;
    ck_assert_int_eq(parse(&o, &err, "-m M --timeline --tune ref.tsv x.wav"), 0);
    ck_assert_str_eq(o.tune, "ref.tsv");
    ck_assert(o.fa_budget == AM_TUNE_FA_BUDGET);
    ck_assert_int_eq(o.smooth, 0); /* the model's */
    ck_assert(o.event_threshold < 0 && o.min_duration < 0);
    ck_assert_int_eq(parse(&o, &err, "-m M --timeline --tune ref.tsv --fa-budget 1.5 --collar 2 x.wav"), 0);
    ck_assert(o.fa_budget == 1.5 && o.collar == 2);
    ck_assert_int_eq(parse(&o, &err, "-m M --timeline --event-threshold 0.3 --min-duration 1 --smooth 5 x.wav"), 0);
    ck_assert(o.event_threshold == 0.3 && o.min_duration == 1 && o.smooth == 5);
    static const struct { const char *line, *msg; } bad[] = {
        {"-m M --tune ref.tsv x.wav", "--tune only applies with --timeline"},
        {"-m M --stream --tune ref.tsv -", "--tune only applies with --timeline"},
        {"-m M --timeline --fa-budget 2 x.wav", "--fa-budget only applies with --tune"},
        {"-m M --timeline --tune r.tsv --reference r.tsv x.wav", "--tune and --reference"},
        {"-m M --timeline --tune r.tsv --smooth 5 x.wav", "--smooth: --tune sweeps it"},
        {"-m M --timeline --tune r.tsv --event-threshold 0.5 x.wav", "--event-threshold: --tune sweeps it"},
        {"-m M --timeline --tune r.tsv --min-duration 1 x.wav", "--min-duration: --tune sweeps it"},
        {"-m M --timeline --tune r.tsv --overlap x.wav", "--overlap only applies with --reference"},
        {"-m M --timeline --event-threshold 1.5 x.wav", "--event-threshold: '1.5' is not a number in [0, 1]"},
        {"-m M --timeline --min-duration -1 x.wav", "--min-duration: '-1' is not a number"},
        {"-m M --timeline --tune r.tsv --fa-budget -1 x.wav", "--fa-budget: '-1' is not a number"},
        {"-m M --timeline --collar 2 x.wav", "--collar only applies with --reference or --tune"},
        {"-m M --eval d --event-threshold 0.5", "--event-threshold only applies with --timeline"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_msg(parse(&o, &err, bad[i].line) == INF_ERR_USAGE, "%s: accepted", bad[i].line);
        ck_assert_msg(strstr(err.msg, bad[i].msg) != NULL, "%s: '%s'", bad[i].line, err.msg);
    }
}
END_TEST

/* A network of the default front end: the tiny architecture, random weights. */
static int save_with(const char *path, const am_timeline *t, aa_error *err)
{
    dsp_settings s = dsp_settings_default();
    nn_model *net = nn_model_new(TU_TINY_ARCH, 1, s.n_mels, (int)dsp_clip_frames(&s), 4, 1, err);
    ck_assert_ptr_nonnull(net);
    nn_init_he(net, 3);
    float mean[256], std[256];
    for (int i = 0; i < s.n_mels; i++)
        mean[i] = -40, std[i] = 10;
    am_spec sp = {.dsp = s, .n_classes = 4, .norm_mean = mean, .norm_std = std, .temperature = 1,
                  .min_confidence = 0.5};
    for (int c = 0; c < 4; c++)
        sp.classes[c] = TU_DEMO_CLASSES[c];
    if (t)
        sp.timeline = *t;
    int rc = am_save(path, net, &sp, err);
    nn_model_free(net);
    return rc;
}

/* Sets one key of a saved model file to v, as an older or damaged writer might have left it. */
static void set_key(const char *path, const char *key, double v)
{
    aa_error err;
    nn_meta *meta = NULL;
    nn_model *net = nn_model_load(path, 1, 0, &meta, &err);
    ck_assert_msg(net != NULL, "%s", err.msg);
    ck_assert_int_eq(nn_meta_set_num(meta, key, v, &err), 0);
    ck_assert_int_eq(nn_model_save(net, meta, path, &err), 0);
    nn_meta_free(meta);
    nn_model_free(net);
}

START_TEST(model_keys_round_trip)
{
    char dir[256], path[512];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(path, sizeof path, dir, "m.aam");
    aa_error err;
    /* A model with nothing stored (every model before tuning): the defaults, and no key written. */
    ck_assert_int_eq(save_with(path, NULL, &err), 0);
    am_model *m = am_load(path, 1, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    am_timeline t = am_get_timeline(m);
    ck_assert(!t.tuned && t.threshold == AM_TIMELINE_GATE && t.smooth == 3 && t.min_duration_s == 0);
    am_free(m);
    size_t size;
    char *bytes = tu_read_file(path, &size);
    int found = 0;
    for (size_t i = 0; i + 11 <= size; i++)
        found |= !memcmp(bytes + i, "aa.timeline", 11);
    ck_assert_int_eq(found, 0);
    free(bytes);

    am_timeline want = {.tuned = 1, .threshold = 0.35, .smooth = 5, .min_duration_s = 1.5};
    ck_assert_int_eq(save_with(path, &want, &err), 0);
    ck_assert_ptr_nonnull(m = am_load(path, 1, &err));
    t = am_get_timeline(m);
    ck_assert(t.tuned && t.threshold == 0.35 && t.smooth == 5 && t.min_duration_s == 1.5);
    am_free(m);
    want.threshold = AM_TIMELINE_GATE;
    ck_assert_int_eq(save_with(path, &want, &err), 0);
    ck_assert_ptr_nonnull(m = am_load(path, 1, &err));
    ck_assert(am_get_timeline(m).threshold == AM_TIMELINE_GATE);
    am_free(m);

    /* refused when saved ... */
    am_timeline bad[] = {{1, 1.5, 3, 0}, {1, -0.5, 3, 0}, {1, 0.3, 4, 0}, {1, 0.3, 0, 0}, {1, 0.3, 3, -1}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_int_eq(save_with(path, &bad[i], &err), AM_ERR_ARG);
        ck_assert_ptr_nonnull(strstr(err.msg, "timeline"));
    }
    /* ... and when loaded: out of range, or not all three keys */
    ck_assert_int_eq(save_with(path, &want, &err), 0);
    set_key(path, AM_KEY_TL_SMOOTH, 4);
    ck_assert_ptr_null(am_load(path, 1, &err));
    ck_assert_msg(strstr(err.msg, "timeline smoothing 4") && strstr(err.msg, "m.aam"), "%s", err.msg);
    ck_assert_int_eq(save_with(path, &want, &err), 0);
    set_key(path, AM_KEY_TL_SMOOTH, 2.5);
    ck_assert_ptr_null(am_load(path, 1, &err));
    ck_assert_int_eq(save_with(path, NULL, &err), 0);
    set_key(path, AM_KEY_TL_THRESHOLD, 0.4);
    ck_assert_ptr_null(am_load(path, 1, &err));
    ck_assert_msg(strstr(err.msg, "incomplete"), "%s", err.msg);
    tu_rmtree(dir);
}
END_TEST

static char g_out[1 << 17], g_err[1 << 14];

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = tu_vrun_bin("aa-infer", g_out, sizeof g_out, g_err, sizeof g_err, fmt, ap);
    va_end(ap);
    return rc;
}

static int count(const char *s, const char *what)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, what)); p += strlen(what))
        n++;
    return n;
}

/* aa-infer --timeline --tune on a tone recording with three coughs the tone model hears exactly. */
START_TEST(tune_command_end_to_end)
{
    char dir[256], model[512], wav[512], ref[512], msg[512];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(model, sizeof model, dir, "tone.aam");
    ck_assert_msg(tu_make_tone_model(model, msg, sizeof msg) == 0, "%s", msg);
    tu_tone_event ev[3] = {{5, TU_TONE_BURST_S, 0}, {15, TU_TONE_BURST_S, 0}, {25, TU_TONE_BURST_S, 0}};
    float *x = tu_tone_recording(32 * 16000, ev, 3, 7);
    tu_write_wav(tu_path(wav, sizeof wav, dir, "rec.wav"), x, 32 * 16000, 1, 16000, SF_FORMAT_PCM_16);
    free(x);
    const char *tsv = "file\tlabel\tstart_s\tend_s\nrec.wav\tcough\t5\t5.5\nrec.wav\tcough\t15\t15.5\n"
                      "rec.wav\tcough\t25\t25.5\n";
    tu_write_file(tu_path(ref, sizeof ref, dir, "ref.tsv"), tsv, strlen(tsv));

    ck_assert_msg(run("-m '%s' --timeline --tune '%s' '%s'", model, ref, wav) == 0, "%s", g_err);
    ck_assert_msg(strstr(g_out, "Event rule sweep: 1 recordings, 0.5 min, 3 reference events of Cough (overlap "
                                "rule, collar 1 s)") != NULL, "%s", g_out);
    /* every row of the grid, the default marked, the choice stated as options */
    ck_assert_int_eq(count(g_out, "/3 "), AM_TUNE_ROWS);
    const char *def = strstr(g_out, "(default)");
    ck_assert_ptr_nonnull(def);
    while (def > g_out && def[-1] != '\n')
        def--;
    ck_assert_msg(strncmp(def, "       gate      3    0.0         3/3", 37) == 0, "%.80s", def);
    ck_assert_ptr_nonnull(strstr(g_out, "<- chosen"));
    ck_assert_ptr_nonnull(strstr(g_out, "Chosen for --fa-budget 1 (at most 1 false alarms per 10 min): "));
    ck_assert_ptr_nonnull(strstr(g_out, "found 3 of 3 (recall 1.000)"));

    ck_assert_msg(run("-m '%s' --timeline --tune '%s' --json --fa-budget 0 '%s'", model, ref, wav) == 0, "%s",
                  g_err);
    ck_assert_int_eq(tu_count_lines(g_out), 1);
    ck_assert_int_eq(count(g_out, "\"threshold\": "), AM_TUNE_ROWS + 2);
    ck_assert(tu_json_num(g_out, "fa_budget_per_10min") == 0);
    const char *chosen = strstr(g_out, "\"chosen\": ");
    ck_assert_ptr_nonnull(chosen);
    ck_assert(tu_json_num(chosen, "found") == 3 && tu_json_num(chosen, "false_alarms") == 0);

    /* the overrides change what --timeline finds; without them the untuned model's rule */
    ck_assert_int_eq(run("-m '%s' --timeline '%s'", model, wav), 0);
    ck_assert_int_eq(count(g_out, "Cough"), 3);
    ck_assert_ptr_nonnull(strstr(g_out, "averaged over 3 windows"));
    static char plain[sizeof g_out];
    memcpy(plain, g_out, sizeof plain);
    ck_assert_int_eq(run("-m '%s' --timeline --event-threshold 0.999 '%s'", model, wav), 0);
    ck_assert_str_eq(g_out, plain); /* a threshold only adds coughs the gate leaves out: none here */
    ck_assert_int_eq(run("-m '%s' --timeline --min-duration 30 '%s'", model, wav), 0);
    ck_assert_ptr_nonnull(strstr(g_out, "no events"));
    /* a reference that cannot be used: one line naming it, nothing followed */
    ck_assert_int_eq(run("-m '%s' --timeline --tune '%s/none.tsv' '%s'", model, dir, wav), 1);
    ck_assert_ptr_nonnull(strstr(g_err, "none.tsv"));
    tu_rmtree(dir);
}
END_TEST

Suite *timeline_tune_suite(void)
{
    Suite *s = suite_create("timeline_tune");
    TCase *tc = tcase_create("units");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, threshold_and_minimum_duration);
    tcase_add_test(tc, sweep_finds_the_known_best_setting);
    tcase_add_test(tc, tune_options);
    tcase_add_test(tc, model_keys_round_trip);
    suite_add_tcase(s, tc);
    TCase *tb = tcase_create("aa-infer");
    tcase_set_timeout(tb, 120);
    tcase_add_test(tb, tune_command_end_to_end);
    suite_add_tcase(s, tb);
    return s;
}
