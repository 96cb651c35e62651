/* The model carries its task: a respiratory model's results carry the disclaimer in every output of
 * aa-infer (text, --json, --csv, --stream text and --json with --events, --eval text, --json and the SVG
 * plots, --timeline text and JSON and its --reference report) and of the web API; a general sound
 * classifier's carry none, and its background class (named "Background") is found by the background rule.
 * Both models are the tone model of tests/util/demomodel.h, so they hear the same. */
#include <check.h>
#include <math.h>
#include <sndfile.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "infer/infer.h"
#include "model/model.h"
#include "tests/util/demomodel.h"
#include "tests/util/httpc.h"
#include "tests/util/jsonscan.h"
#include "tests/util/testutil.h"

#define OUT_CAP (1 << 18)
#define RATE 16000
#define LONG_S 30.0

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

static void write_clip(const char *path, int cls, double seconds, uint64_t seed)
{
    size_t n = (size_t)lround(seconds * RATE);
    tu_tone_event ev = {cls == 0 ? seconds / 2 - TU_TONE_BURST_S / 2 : 0, cls == 0 ? TU_TONE_BURST_S : seconds, cls};
    float *x = tu_tone_recording(n, &ev, cls < 3 ? 1 : 0, seed);
    ck_assert_ptr_nonnull(x);
    tu_write_wav(path, x, n, 1, RATE, SF_FORMAT_PCM_16);
    free(x);
}

static const tu_tone_event LONG_EVENTS[3] = {{4.0, TU_TONE_BURST_S, 0}, {10.0, 7.0, 1}, {21.0, 6.0, 2}};

typedef struct {
    char dir[256], model[320], clip[320], data[320], longf[320], ref[320], svg[320];
    const char *const *names;
    int respiratory;
} setup;

/* A model under the given class names (NULL: the respiratory demo classes), two clips per class in
 * DATA/<class>/, a 30 s recording with three events and their reference table. */
static void make(setup *s, const char *const *names)
{
    s->names = names ? names : TU_DEMO_CLASSES;
    s->respiratory = names == NULL;
    tu_mkdtemp(s->dir, sizeof s->dir);
    tu_path(s->model, sizeof s->model, s->dir, "m.aam");
    char msg[512];
    ck_assert_msg(tu_make_tone_model_named(s->model, names, msg, sizeof msg) == 0, "%s", msg);
    tu_path(s->clip, sizeof s->clip, s->dir, "clip.wav");
    write_clip(s->clip, 1, 4.0, 3);
    tu_path(s->data, sizeof s->data, s->dir, "data");
    ck_assert_int_eq(mkdir(s->data, 0777), 0);
    for (int c = 0; c < 4; c++) {
        char sub[640], f[700];
        snprintf(sub, sizeof sub, "%s/%s", s->data, s->names[c]);
        ck_assert_int_eq(mkdir(sub, 0777), 0);
        for (int i = 0; i < 2; i++) {
            snprintf(f, sizeof f, "%s/%d.wav", sub, i);
            write_clip(f, c, 4.0, 20 + (uint64_t)(c * 2 + i));
        }
    }
    tu_path(s->longf, sizeof s->longf, s->dir, "long.wav");
    size_t n = (size_t)(LONG_S * RATE);
    float *x = tu_tone_recording(n, LONG_EVENTS, 3, 5);
    tu_write_wav(s->longf, x, n, 1, RATE, SF_FORMAT_PCM_16);
    free(x);
    tu_path(s->ref, sizeof s->ref, s->dir, "ref.tsv");
    FILE *f = fopen(s->ref, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "file\tlabel\tstart_s\tend_s\n");
    for (int i = 0; i < 3; i++)
        fprintf(f, "long.wav\t%s\t%.3f\t%.3f\n", s->names[LONG_EVENTS[i].cls], LONG_EVENTS[i].start,
                LONG_EVENTS[i].start + LONG_EVENTS[i].len);
    fclose(f);
    tu_path(s->svg, sizeof s->svg, s->dir, "svg");
}

/* out shows the disclaimer when the model is respiratory and says nothing of medicine otherwise. */
static void check_text(const setup *s, const char *out, const char *what)
{
    if (s->respiratory)
        ck_assert_msg(strstr(out, AM_DISCLAIMER) != NULL, "%s: no disclaimer:\n%s", what, out);
    else
        ck_assert_msg(!strstr(out, "medical") && !strstr(out, "disclaimer") && !strstr(out, "diagnosis"),
                      "%s: a general model's output speaks of medicine:\n%s", what, out);
}

/* Every line of out (a JSON object each) carries the disclaimer member, or (general) none does. */
static int check_lines(const setup *s, const char *out, const char *what)
{
    int lines = 0;
    for (const char *p = out; *p; lines++) {
        size_t len = strcspn(p, "\n");
        char *line = strndup(p, len);
        ck_assert_msg(line[0] == '{', "%s: line %d is not an object: %s", what, lines + 1, line);
        if (s->respiratory)
            ck_assert_msg(strstr(line, "\"disclaimer\": \"" AM_DISCLAIMER "\"") ||
                              strstr(line, "\"disclaimer\":\"" AM_DISCLAIMER "\""),
                          "%s: line %d without the disclaimer: %s", what, lines + 1, line);
        else
            check_text(s, line, what);
        free(line);
        p += len + (p[len] == '\n');
    }
    return lines;
}

static void every_output(const setup *s)
{
    /* clips: text, JSON, CSV */
    ck_assert_msg(run("-m '%s' '%s'", s->model, s->clip) == 0, "%s", g_err);
    check_text(s, g_out, "text");
    ck_assert_msg(strstr(g_out, s->respiratory ? "Heavy Breathing (" : "High Whistle ("), "%s", g_out);
    ck_assert_msg(run("-m '%s' --json '%s' '%s'", s->model, s->clip, s->clip) == 0, "%s", g_err);
    ck_assert_int_eq(check_lines(s, g_out, "--json"), 2);
    ck_assert_msg(run("-m '%s' --csv '%s'", s->model, s->clip) == 0, "%s", g_err);
    check_text(s, g_out, "--csv");
    const char *nl = strchr(g_out, '\n');
    ck_assert_ptr_nonnull(nl);
    const char *last = s->respiratory ? ",drift_score,drifted,disclaimer" : ",drift_score,drifted";
    ck_assert_msg(!strncmp(nl - strlen(last), last, strlen(last)), "CSV header: %.*s", (int)(nl - g_out), g_out);

    /* --stream, text and JSON with events: the disclaimer in every object */
    ck_assert_msg(run("-m '%s' --stream '%s'", s->model, s->longf) == 0, "%s", g_err);
    check_text(s, g_out, "--stream");
    ck_assert_msg(run("-m '%s' --stream --events --json '%s'", s->model, s->longf) == 0, "%s", g_err);
    int n = check_lines(s, g_out, "--stream --json --events");
    ck_assert_msg(n >= 6 && strstr(g_out, "\"event\": \"onset\"") && strstr(g_out, "\"event\": \"offset\""), "%s",
                  g_out);

    /* --eval: text, JSON, the plots */
    ck_assert_msg(run("-m '%s' --eval '%s' --svg '%s'", s->model, s->data, s->svg) == 0, "%s", g_err);
    check_text(s, g_out, "--eval");
    ck_assert_msg(strstr(g_out, "Evaluation of 8 recordings"), "%s", g_out);
    const char *plots[] = {"confusion.svg", "reliability.svg", "coverage.svg"};
    for (int i = 0; i < 3; i++) {
        char p[700];
        snprintf(p, sizeof p, "%s/%s", s->svg, plots[i]);
        char *svg = tu_read_file(p, NULL);
        ck_assert_ptr_nonnull(svg);
        check_text(s, svg, plots[i]);
        ck_assert_ptr_nonnull(strstr(svg, "</svg>\n"));
        free(svg);
    }
    ck_assert_msg(run("-m '%s' --eval '%s' --json", s->model, s->data) == 0, "%s", g_err);
    ck_assert_msg(g_out[0] == '{', "%s", g_out);
    if (s->respiratory) /* the report's last member */
        ck_assert_msg(strstr(g_out, "\"disclaimer\":\"" AM_DISCLAIMER "\"}\n"), "%s", g_out);
    else
        check_text(s, g_out, "--eval --json");

    /* --timeline: text, JSON, the reference's report; the background (by its name) is never an event */
    ck_assert_msg(run("-m '%s' --timeline '%s'", s->model, s->longf) == 0, "%s", g_err);
    check_text(s, g_out, "--timeline");
    ck_assert_msg(run("-m '%s' --timeline --json '%s'", s->model, s->longf) == 0, "%s", g_err);
    ck_assert_int_eq(check_lines(s, g_out, "--timeline --json"), 1);
    char bg[64];
    ck_assert_str_eq(tu_json_str(g_out, "background", bg, sizeof bg), s->names[3]);
    ck_assert_msg(run("-m '%s' --timeline --json --reference '%s' '%s'", s->model, s->ref, s->longf) == 0, "%s",
                  g_err);
    ck_assert_int_eq(check_lines(s, g_out, "--timeline --json --reference"), 2);
    ck_assert_msg(run("-m '%s' --timeline --reference '%s' '%s'", s->model, s->ref, s->longf) == 0, "%s", g_err);
    check_text(s, g_out, "--timeline --reference");
    if (s->respiratory) { /* once, last */
        const char *d = strstr(g_out, AM_DISCLAIMER);
        ck_assert(d && !strstr(d + 1, AM_DISCLAIMER) && !strcmp(d + strlen(AM_DISCLAIMER), "\n"));
    }
}

/* The API: /api/model says the task (and the disclaimer or null), /api/classify's answer carries the
 * disclaimer of a respiratory model only; the page holds its disclaimers hidden until the model says. */
static void api(const setup *s)
{
    aa_error err;
    am_model *m = am_load(s->model, 1, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    ck_assert_int_eq(am_is_respiratory(m), s->respiratory);
    inf_server *srv = inf_server_new(m, 0);
    ck_assert_ptr_nonnull(srv);
    aa_serve_config cfg;
    aa_serve_config_default(&cfg);
    cfg.port = 0;
    cfg.n_workers = 1;
    aa_serve_handler h = inf_server_handler(srv);
    aa_serve *sv = NULL;
    ck_assert_msg(aa_serve_start(&cfg, &h, &sv, &err) == 0, "%s", err.msg);
    int port = aa_serve_port(sv);
    tu_http_response r;
    ck_assert_int_eq(tu_http_request(port, "GET", "/api/model", NULL, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    char task[32];
    ck_assert_str_eq(tu_json_str(r.body, "task", task, sizeof task), s->respiratory ? "respiratory" : "general");
    if (s->respiratory)
        ck_assert_ptr_nonnull(strstr(r.body, "\"disclaimer\": \"" AM_DISCLAIMER "\""));
    else
        ck_assert_msg(strstr(r.body, "\"disclaimer\": null") && !strstr(r.body, "medical"), "%s", r.body);
    tu_http_response_free(&r);
    size_t n = 0;
    void *wav = tu_read_file(s->clip, &n);
    ck_assert_int_eq(tu_http_request(port, "POST", "/api/classify", "Content-Type: audio/wav\r\n", wav, n, &r), 0);
    ck_assert_int_eq(r.status, 200);
    check_lines(s, r.body, "/api/classify");
    tu_http_response_free(&r);
    free(wav);
    ck_assert_int_eq(tu_http_request(port, "GET", "/", NULL, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "<title>Audio Audit — sound classifier</title>"));
    ck_assert_ptr_nonnull(strstr(r.body, "id=\"disclaimer-top\" data-respiratory hidden"));
    ck_assert_ptr_nonnull(strstr(r.body, "id=\"disclaimer-result\" hidden"));
    tu_http_response_free(&r);
    aa_serve_stop(sv);
    inf_server_free(srv);
    am_free(m);
}

START_TEST(respiratory_model_disclaims_everywhere)
{
    setup s;
    make(&s, NULL);
    every_output(&s);
    api(&s);
    tu_rmtree(s.dir);
}
END_TEST

START_TEST(general_model_disclaims_nowhere)
{
    setup s;
    make(&s, TU_GENERAL_CLASSES);
    every_output(&s);
    api(&s);
    tu_rmtree(s.dir);
}
END_TEST

Suite *task_suite(void)
{
    Suite *s = suite_create("task");
    TCase *tc = tcase_create("outputs");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, respiratory_model_disclaims_everywhere);
    tcase_add_test(tc, general_model_disclaims_nowhere);
    suite_add_tcase(s, tc);
    return s;
}
