/* POST /api/timeline: a long upload answers exactly what `aa-infer --timeline --json` prints for the same
 * bytes (default and given hop/smooth), finds the known events of a generated recording, refuses bad query
 * values with 400 before reading the body, and keeps to its limits (seconds, windows at a fine hop, the
 * upload size, timelines at once -> 503); the binary's --timeline-seconds. */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <sndfile.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "infer/infer.h"
#include "tests/util/demomodel.h"
#include "tests/util/httpc.h"
#include "tests/util/jsonscan.h"
#include "tests/util/testutil.h"

#define RATE 16000
#define BOUNDARY "aaTimelineBoundary3Fq9"

typedef struct {
    char dir[256], model[320];
    am_model *m;
    inf_server *srv;
    inf_timeline_server *tl;
    aa_serve *serve;
    int port;
} server;

static void start(server *s, int workers, double timeline_seconds, size_t max_upload)
{
    tu_mkdtemp(s->dir, sizeof s->dir);
    tu_path(s->model, sizeof s->model, s->dir, "tone.aam");
    char msg[512];
    ck_assert_msg(tu_make_tone_model(s->model, msg, sizeof msg) == 0, "%s", msg);
    aa_error err;
    s->m = am_load(s->model, workers, &err);
    ck_assert_msg(s->m != NULL, "%s", err.msg);
    s->srv = inf_server_new(s->m, INF_SERVE_MAX_SECONDS);
    /* NULL as aa-infer --serve passes it: the model's own background class */
    s->tl = inf_timeline_server_new(s->m, timeline_seconds, NULL);
    ck_assert(s->srv && s->tl);
    aa_serve_config cfg;
    aa_serve_config_default(&cfg);
    cfg.port = 0;
    cfg.n_workers = workers;
    if (max_upload)
        cfg.max_upload = max_upload;
    aa_serve_handler h = inf_server_handler(s->srv);
    inf_timeline_server_attach(s->tl, &h);
    ck_assert_msg(aa_serve_start(&cfg, &h, &s->serve, &err) == 0, "%s", err.msg);
    s->port = aa_serve_port(s->serve);
}

static void stop(server *s)
{
    aa_serve_stop(s->serve);
    inf_timeline_server_free(s->tl);
    inf_server_free(s->srv);
    am_free(s->m);
    tu_rmtree(s->dir);
}

/* The known events of the long test recording (tone stand-ins of the demo classes, see demomodel.h). */
static const tu_tone_event EVENTS[] = {
    {6.0, TU_TONE_BURST_S, 0},  /* cough */
    {20.0, 9.0, 1},             /* heavy breathing */
    {31.0, TU_TONE_BURST_S, 0}, /* cough */
    {42.0, 7.0, 2},             /* normal breathing */
};
#define N_EVENTS (sizeof EVENTS / sizeof EVENTS[0])

static void write_long(const char *path, double seconds, int n_events, int rate, int channels)
{
    size_t n = (size_t)lround(seconds * RATE);
    float *x = tu_tone_recording(n, EVENTS, (size_t)n_events, 11);
    if (rate == RATE && channels == 1) {
        tu_write_wav(path, x, n, 1, RATE, SF_FORMAT_PCM_16);
    } else { /* the same sound, repeated at a higher rate (sample and hold) and in every channel */
        size_t up = (size_t)(rate / RATE), m = n * up;
        float *y = malloc(m * (size_t)channels * sizeof *y);
        for (size_t i = 0; i < m; i++)
            for (int c = 0; c < channels; c++)
                y[i * (size_t)channels + (size_t)c] = x[i / up];
        tu_write_wav(path, y, m, channels, rate, SF_FORMAT_PCM_16);
        free(y);
    }
    free(x);
}

static char *multipart(const void *data, size_t n, const char *filename, size_t *len)
{
    char head[512];
    int h = snprintf(head, sizeof head,
                     "--" BOUNDARY "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"
                     "Content-Type: audio/wav\r\n\r\n", filename);
    const char *tail = "\r\n--" BOUNDARY "--\r\n";
    char *b = malloc((size_t)h + n + strlen(tail));
    memcpy(b, head, (size_t)h);
    memcpy(b + h, data, n);
    memcpy(b + h + n, tail, strlen(tail));
    *len = (size_t)h + n + strlen(tail);
    return b;
}

static void post_timeline(int port, const char *query, const char *path, const char *filename,
                          tu_http_response *r)
{
    size_t n, len;
    void *data = tu_read_file(path, &n);
    ck_assert_ptr_nonnull(data);
    char *body = multipart(data, n, filename, &len);
    char url[256];
    snprintf(url, sizeof url, "/api/timeline%s", query);
    ck_assert_int_eq(tu_http_request(port, "POST", url, "Content-Type: multipart/form-data; boundary=" BOUNDARY
                                     "\r\n", body, len, r), 0);
    free(body);
    free(data);
}

/* The response is one line of JSON {"error": "..."} whose reason contains want. */
static void assert_error(const tu_http_response *r, int status, const char *want)
{
    ck_assert_msg(r->status == status, "status %d, not %d: %s", r->status, status, r->body ? r->body : "");
    ck_assert_msg(!strncmp(r->body, "{\"error\": \"", 11), "not a JSON error: %s", r->body);
    ck_assert_int_eq(tu_count_lines(r->body), 1);
    ck_assert_msg(strstr(r->body, want), "'%s' not in %s", want, r->body);
}

static void cli_timeline(const server *s, const char *args, const char *file, char *out, size_t cap)
{
    char build[4096], cmd[8192], err[4096];
    ck_assert_ptr_nonnull(realpath(tu_build_dir(), build));
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s/aa-infer' -m tone.aam --timeline --json %s %s", s->dir, build, args,
             file);
    ck_assert_msg(tu_run(cmd, out, cap, err, sizeof err) == 0, "%s: %s", cmd, err);
}

START_TEST(timeline_equals_the_cli)
{
    server s;
    start(&s, 2, 0, 0);
    char wav[320];
    tu_path(wav, sizeof wav, s.dir, "long.wav");
    write_long(wav, 60.0, (int)N_EVENTS, RATE, 1);
    static char cli[1 << 16];
    static const struct { const char *query, *args; } runs[] = {
        {"", ""},
        {"?hop=0.5&smooth=3", "--hop 0.5 --smooth 3"},
        {"?smooth=1&hop=0.25", "--hop 0.25 --smooth 1"},
        {"?hop=1", "--hop 1"},
    };
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        tu_http_response r;
        post_timeline(s.port, runs[i].query, wav, "long.wav", &r);
        ck_assert_msg(r.status == 200, "%s: %d %s", runs[i].query, r.status, r.body);
        char type[64];
        ck_assert_str_eq(tu_http_header(&r, "Content-Type", type, sizeof type), "application/json");
        cli_timeline(&s, runs[i].args, "long.wav", cli, sizeof cli);
        ck_assert_msg(!strcmp(r.body, cli), "%s:\nserver %s\ncli    %s", runs[i].query, r.body, cli);
        tu_http_response_free(&r);
    }

    /* the events are the recording's: in order, each class right, each onset within a hop and a half of
     * the truth (the timeline's own precision is half a hop; the tone model is exact) */
    tu_http_response r;
    post_timeline(s.port, "", wav, "long.wav", &r);
    static const char *const labels[] = {"Cough", "Heavy Breathing", "Cough", "Normal Breathing"};
    const char *ev = strstr(r.body, "\"events\": [");
    ck_assert_ptr_nonnull(ev);
    for (size_t i = 0; i < N_EVENTS; i++) {
        ev = strstr(ev, "{\"start_s\": ");
        ck_assert_msg(ev != NULL, "event %zu missing: %s", i, r.body);
        double start = tu_json_num(ev, "start_s"), end = tu_json_num(ev, "end_s");
        char label[64];
        ck_assert_str_eq(tu_json_str(ev, "label", label, sizeof label), labels[i]);
        ck_assert_msg(fabs(start - EVENTS[i].start) <= 0.75, "event %zu starts at %g, not %g", i, start,
                      EVENTS[i].start);
        ck_assert_msg(fabs(end - (EVENTS[i].start + EVENTS[i].len)) <= 0.75, "event %zu ends at %g", i, end);
        ck_assert(tu_json_num(ev, "peak_confidence") > 0.5);
        ev++;
    }
    ck_assert_ptr_null(strstr(ev, "{\"start_s\": "));
    ck_assert_ptr_nonnull(strstr(r.body, "\"disclaimer\": \""));
    tu_http_response_free(&r);

    /* a raw body: the file is "upload", the events the same */
    size_t n;
    void *bytes = tu_read_file(wav, &n);
    ck_assert_int_eq(tu_http_request(s.port, "POST", "/api/timeline", "Content-Type: audio/wav\r\n", bytes, n, &r), 0);
    ck_assert_msg(r.status == 200, "raw body: %d %s", r.status, r.body);
    char file[64];
    ck_assert_str_eq(tu_json_str(r.body, "file", file, sizeof file), "upload");
    free(bytes);
    tu_http_response_free(&r);

    /* GET is not the way in */
    ck_assert_int_eq(tu_http_request(s.port, "GET", "/api/timeline", NULL, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 405);
    tu_http_response_free(&r);
    stop(&s);
}
END_TEST

START_TEST(bad_query_values_are_400)
{
    server s;
    start(&s, 1, 0, 0);
    char wav[320];
    tu_path(wav, sizeof wav, s.dir, "short.wav");
    write_long(wav, 6.0, 1, RATE, 1);
    static const struct { const char *query, *reason; } bad[] = {
        {"?hop=0", "hop: '0' is not a number in [0.01, 3600]"},
        {"?hop=0.001", "hop: '0.001' is not a number in [0.01, 3600]"},
        {"?hop=abc", "hop: 'abc' is not a number"},
        {"?hop=", "hop: '' is not a number"},
        {"?hop=nan", "hop: 'nan' is not a number"},
        {"?hop=4000", "[0.01, 3600]"},
        {"?smooth=2", "smooth: 2 is even; a centred average needs an odd count"},
        {"?smooth=0", "smooth: '0' is not a whole number in [1, 101]"},
        {"?smooth=1.5", "smooth: '1.5' is not a whole number"},
        {"?smooth=103", "[1, 101]"},
        {"?threshold=0.5", "unknown query parameter 'threshold' (known: hop, smooth)"},
        {"?hop=0.5&hop=1", "query parameter 'hop' given twice"},
        {"?a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9", "too many query parameters"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tu_http_response r;
        post_timeline(s.port, bad[i].query, wav, "short.wav", &r);
        assert_error(&r, 400, bad[i].reason);
        tu_http_response_free(&r);
    }
    /* refused from the headers alone: a body promised but never sent is not waited for */
    int fd = tu_http_connect(s.port);
    const char *head = "POST /api/timeline?smooth=4 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: audio/wav\r\n"
                       "Content-Length: 1000000\r\nConnection: close\r\n\r\n";
    ck_assert_int_eq(tu_http_send(fd, head, strlen(head)), 0);
    tu_http_response r;
    ck_assert_int_eq(tu_http_read(fd, 5.0, &r), 0);
    close(fd);
    assert_error(&r, 400, "smooth: 4 is even");
    tu_http_response_free(&r);
    stop(&s);
}
END_TEST

START_TEST(timeline_limits)
{
    server s;
    start(&s, 1, 20.0, 6 * 1024 * 1024); /* 20 s followed, 6 MB uploads */
    char wav[320];
    tu_path(wav, sizeof wav, s.dir, "a.wav");
    tu_http_response r;

    write_long(wav, 19.0, 2, RATE, 1); /* within: answered */
    post_timeline(s.port, "", wav, "a.wav", &r);
    ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
    tu_http_response_free(&r);

    write_long(wav, 30.0, 2, RATE, 1); /* longer than 20 s */
    post_timeline(s.port, "", wav, "a.wav", &r);
    assert_error(&r, 422, "a.wav: longer than 20.0 s, the most this server follows as a timeline");
    tu_http_response_free(&r);

    /* a hop of 0.1 s: 40 windows at most, 4 s (the 0.5 s hop's windows) */
    write_long(wav, 8.0, 1, RATE, 1);
    post_timeline(s.port, "?hop=0.1", wav, "a.wav", &r);
    assert_error(&r, 422, "a.wav: longer than 4.0 s at a hop of 0.1 s (40 windows; a hop of 0.5 s allows 20 s)");
    tu_http_response_free(&r);
    post_timeline(s.port, "?hop=0.5", wav, "a.wav", &r);
    ck_assert_int_eq(r.status, 200);
    tu_http_response_free(&r);

    /* 48 kHz stereo is the budget's unit: 96 kHz stereo gets half the seconds (10 s) */
    write_long(wav, 11.0, 1, 96000, 2);
    post_timeline(s.port, "", wav, "a.wav", &r);
    assert_error(&r, 422, "a.wav: longer than 10.0 s of 2 channels at 96000 Hz (20 s of 48 kHz stereo)");
    tu_http_response_free(&r);

    /* the upload limit is the server's: 6 MB is 197 s of 16 kHz 16-bit mono */
    write_long(wav, 200.0, 0, RATE, 1);
    post_timeline(s.port, "", wav, "a.wav", &r);
    assert_error(&r, 413, "upload too large");
    tu_http_response_free(&r);

    /* not audio */
    ck_assert_int_eq(tu_http_request(s.port, "POST", "/api/timeline", NULL, "hello", 5, &r), 0);
    ck_assert_int_eq(r.status, 422);
    tu_http_response_free(&r);
    stop(&s);
}
END_TEST

/* ---- timelines at once: a stand-in timeline that waits until released --------------------------------- */

typedef struct {
    atomic_int running, calls;
    atomic_int release;
} gate_ctx;

static int stub_classify(void *ctx, int slot, const void *audio, size_t n, const char *filename, char **json_out,
                         aa_error *err)
{
    (void)ctx; (void)slot; (void)audio; (void)n; (void)filename; (void)err;
    *json_out = strdup("{\"clip\": true}\n");
    return 0;
}

static int stub_timeline(void *ctx, int slot, const void *audio, size_t n, const char *filename,
                         const aa_serve_query *q, char **json_out, aa_error *err)
{
    (void)slot; (void)audio; (void)n; (void)filename; (void)q; (void)err;
    gate_ctx *g = ctx;
    atomic_fetch_add(&g->calls, 1);
    atomic_fetch_add(&g->running, 1);
    while (!atomic_load(&g->release)) {
        struct timespec ts = {0, 5000000L};
        nanosleep(&ts, NULL);
    }
    atomic_fetch_sub(&g->running, 1);
    *json_out = strdup("{\"timeline\": true}\n");
    return 0;
}

typedef struct {
    int port;
    tu_http_response r;
} client;

static void *client_main(void *p)
{
    client *c = p;
    tu_http_request(c->port, "POST", "/api/timeline", NULL, "x", 1, &c->r);
    return NULL;
}

static void wait_running(gate_ctx *g, int n)
{
    for (int i = 0; i < 1000 && atomic_load(&g->running) < n; i++) {
        struct timespec ts = {0, 5000000L};
        nanosleep(&ts, NULL);
    }
    ck_assert_int_eq(atomic_load(&g->running), n);
}

START_TEST(timelines_at_once_are_bounded)
{
    /* 4 workers: 2 timelines at once (half); a third is 503 with Retry-After, and clips are still answered */
    gate_ctx g = {0};
    aa_serve_handler h = {.classify = stub_classify, .timeline = stub_timeline, .timeline_ctx = &g};
    aa_serve_config cfg;
    aa_serve_config_default(&cfg);
    cfg.port = 0;
    cfg.n_workers = 4;
    aa_serve *srv;
    aa_error err;
    ck_assert_msg(aa_serve_start(&cfg, &h, &srv, &err) == 0, "%s", err.msg);
    int port = aa_serve_port(srv);
    client c[2] = {{port, {0}}, {port, {0}}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, client_main, &c[i]);
    wait_running(&g, 2);
    tu_http_response r;
    ck_assert_int_eq(tu_http_request(port, "POST", "/api/timeline", NULL, "x", 1, &r), 0);
    assert_error(&r, 503, "server busy: 2 timelines already in progress");
    char retry[16];
    ck_assert_ptr_nonnull(tu_http_header(&r, "Retry-After", retry, sizeof retry));
    tu_http_response_free(&r);
    ck_assert_int_eq(tu_http_request(port, "POST", "/api/classify", NULL, "x", 1, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "{\"clip\": true}\n");
    tu_http_response_free(&r);
    atomic_store(&g.release, 1);
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        ck_assert_int_eq(c[i].r.status, 200);
        ck_assert_str_eq(c[i].r.body, "{\"timeline\": true}\n");
        tu_http_response_free(&c[i].r);
    }
    /* the places are given back: another one is answered */
    ck_assert_int_eq(tu_http_request(port, "POST", "/api/timeline", NULL, "x", 1, &r), 0);
    ck_assert_int_eq(r.status, 200);
    tu_http_response_free(&r);
    ck_assert_int_eq(atomic_load(&g.calls), 3);
    aa_serve_stop(srv);

    /* a server without a timeline callback has no such path */
    aa_serve_handler only = {.classify = stub_classify};
    ck_assert_msg(aa_serve_start(&cfg, &only, &srv, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(tu_http_request(aa_serve_port(srv), "POST", "/api/timeline", NULL, "x", 1, &r), 0);
    ck_assert_int_eq(r.status, 404);
    tu_http_response_free(&r);
    aa_serve_stop(srv);
}
END_TEST

START_TEST(binary_timeline_seconds_option)
{
    char out[1 << 16], err[4096], cmd[4600];
    snprintf(cmd, sizeof cmd, "%s/aa-infer --help", tu_build_dir());
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(out, "--timeline-seconds S"));
    ck_assert_ptr_nonnull(strstr(out, "[3600]"));
    snprintf(cmd, sizeof cmd, "%s/aa-infer -m x.aam --serve --timeline-seconds 0", tu_build_dir());
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, err, sizeof err), 2);
    ck_assert_ptr_nonnull(strstr(err, "--timeline-seconds: '0' is not a number in [1, 1e+06]"));
    snprintf(cmd, sizeof cmd, "%s/aa-infer -m x.aam --timeline --timeline-seconds 10 a.wav", tu_build_dir());
    ck_assert_int_eq(tu_run(cmd, out, sizeof out, err, sizeof err), 2);
    ck_assert_ptr_nonnull(strstr(err, "--timeline-seconds only applies with --serve"));
}
END_TEST

Suite *serve_timeline_suite(void)
{
    Suite *s = suite_create("serve_timeline");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, timeline_equals_the_cli);
    tcase_add_test(tc, bad_query_values_are_400);
    tcase_add_test(tc, timeline_limits);
    tcase_add_test(tc, timelines_at_once_are_bounded);
    tcase_add_test(tc, binary_timeline_seconds_option);
    suite_add_tcase(s, tc);
    return s;
}
