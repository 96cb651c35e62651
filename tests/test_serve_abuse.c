/* Defences of the HTTP server against hostile clients, each found by scripts/abuse.sh: the Ogg container
 * check in front of libsndfile, the per-address connection limit, truncated requests giving their socket
 * back at once, and the memory budget of uploads in progress (503). */
#include <check.h>
#include <poll.h>
#include <sndfile.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dsp/dsp.h"
#include "infer/http_internal.h"
#include "infer/serve.h"
#include "tests/util/badaudio.h"
#include "tests/util/httpc.h"
#include "tests/util/testutil.h"

/* 1 s of a 440 Hz tone at 16 kHz as Ogg Vorbis, written by the corpus's tone writer and read back; caller
 * frees. */
static unsigned char *make_ogg(size_t *n_out)
{
    char dir[256], path[320];
    tu_mkdtemp(dir, sizeof dir);
    tu_bad_tone(tu_path(path, sizeof path, dir, "tone.ogg"), SF_FORMAT_OGG | SF_FORMAT_VORBIS, 16000, 1, 16000);
    unsigned char *ogg = tu_read_file(path, n_out);
    ck_assert_ptr_nonnull(ogg);
    tu_rmtree(dir);
    return ogg;
}

/* Offsets where a page starts ("OggS" at a byte that the previous page's lengths lead to). */
static int is_page_start(const unsigned char *p, size_t n, size_t at)
{
    size_t off = 0;
    while (off < at && n - off >= 27) {
        size_t nseg = p[off + 26], len = 27 + nseg;
        for (size_t i = 0; i < nseg; i++)
            len += p[off + 27 + i];
        off += len;
    }
    return off == at;
}

START_TEST(ogg_whole_file_passes_and_decodes)
{
    size_t n;
    unsigned char *ogg = make_ogg(&n);
    aa_error err = {0};
    ck_assert_int_eq(aa_http_is_ogg(ogg, n), 1);
    ck_assert_msg(aa_http_ogg_check(ogg, n, "a.ogg", &err) == 0, "%s", err.msg);
    /* what the check lets through is what libsndfile reads: the whole second comes back */
    dsp_settings s = dsp_settings_default();
    dsp_audio a;
    ck_assert_msg(dsp_load_memory(ogg, n, "a.ogg", &s, 0, &a, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(a.n, 16000);
    dsp_audio_free(&a);
    free(ogg);
}
END_TEST

START_TEST(ogg_every_cut_refused)
{
    size_t n;
    unsigned char *ogg = make_ogg(&n);
    int refused = 0, boundaries = 0;
    for (size_t k = 4; k < n; k++) { /* under 4 bytes there is no "OggS": not Ogg, left to libsndfile */
        aa_error err = {0};
        int rc = aa_http_ogg_check(ogg, k, "cut.ogg", &err);
        if (is_page_start(ogg, n, k))
            boundaries++; /* whole pages, but the end-of-stream page is missing */
        else
            refused++;
        ck_assert_msg(rc == AA_SERVE_ERR_AUDIO, "cut at %zu of %zu passed", k, n);
        ck_assert_ptr_nonnull(strstr(err.msg, "cut.ogg: malformed Ogg file"));
        if (is_page_start(ogg, n, k))
            ck_assert_ptr_nonnull(strstr(err.msg, "no end-of-stream page"));
    }
    ck_assert_int_ge(boundaries, 1); /* the identification page, the other headers, audio; cut after each */
    ck_assert_int_eq(refused + boundaries, (int)n - 4);
    free(ogg);
}
END_TEST

/* CRC-32 finds every error burst of up to 32 bits, so every changed byte is refused, wherever it is. */
START_TEST(ogg_any_changed_byte_refused)
{
    size_t n;
    unsigned char *ogg = make_ogg(&n);
    unsigned char *bad = malloc(n);
    ck_assert_ptr_nonnull(bad);
    for (size_t at = 4; at < n; at++) { /* bytes 0..3 are "OggS": changed, it is not an Ogg upload at all */
        memcpy(bad, ogg, n);
        bad[at] ^= (unsigned char)(1u + at % 255);
        aa_error err = {0};
        ck_assert_msg(aa_http_ogg_check(bad, n, "x.ogg", &err) == AA_SERVE_ERR_AUDIO, "byte %zu changed: passed",
                      at);
    }
    free(bad);
    free(ogg);
}
END_TEST

START_TEST(ogg_check_leaves_other_data_alone)
{
    aa_error err = {0};
    ck_assert_int_eq(aa_http_ogg_check("RIFF....WAVE", 12, "a.wav", &err), 0);
    ck_assert_int_eq(aa_http_ogg_check("", 0, "empty", &err), 0);
    ck_assert_int_eq(aa_http_ogg_check("Ogg", 3, "short", &err), 0);
    ck_assert_int_eq(aa_http_ogg_check("OggS", 4, "x.ogg", &err), AA_SERVE_ERR_AUDIO);
    ck_assert_ptr_nonnull(strstr(err.msg, "x.ogg: malformed Ogg file (no page at byte 0)"));
}
END_TEST

/* ---- the server's limits ----------------------------------------------------------------------------------- */

static int ok_classify(void *ctx, int slot, const void *audio, size_t n, const char *filename, char **json_out,
                       aa_error *err)
{
    (void)ctx; (void)slot; (void)audio; (void)n; (void)filename; (void)err;
    *json_out = strdup("{\"ok\": true}\n");
    return *json_out ? 0 : AA_SERVE_ERR_INTERNAL;
}

static aa_serve *start(aa_serve_config *cfg)
{
    aa_serve_handler h = {.classify = ok_classify};
    aa_serve *s = NULL;
    aa_error err = {0};
    cfg->port = 0;
    cfg->n_workers = 2;
    ck_assert_msg(aa_serve_start(cfg, &h, &s, &err) == 0, "%s", err.msg);
    return s;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int health(int port)
{
    tu_http_response r = {0};
    tu_http_request(port, "GET", "/healthz", NULL, NULL, 0, &r);
    int st = r.status;
    tu_http_response_free(&r);
    return st;
}

START_TEST(per_address_limit)
{
    aa_serve_config cfg;
    aa_serve_config_default(&cfg);
    ck_assert_int_eq(cfg.max_per_ip, 32);
    ck_assert_int_eq(cfg.max_connections, 512);
    cfg.max_per_ip = 2;
    aa_serve *s = start(&cfg);
    int port = aa_serve_port(s);
    int a = tu_http_connect(port), b = tu_http_connect(port);
    tu_http_send(a, "GET", 3); /* both begun, neither finished: each holds its socket */
    tu_http_send(b, "GET", 3);
    /* the third from the same address is closed at accept, long before the 15 s idle timeout; tried a few
     * times in case the server had not yet accepted the first two (a loaded machine, sanitizers) */
    double t = -1;
    for (int tries = 0; tries < 5 && t < 0; tries++) {
        int c = tu_http_connect(port);
        t = tu_http_wait_closed(c, 1);
        close(c);
    }
    ck_assert_msg(t >= 0 && t < 1, "a third connection stayed open");
    close(a);
    /* one given back, one more allowed (the server sees the close within its next poll) */
    int st = 0;
    for (double t0 = now_s(); now_s() - t0 < 2 && st != 200;)
        if ((st = health(port)) != 200)
            usleep(20000);
    ck_assert_int_eq(st, 200);
    close(b);
    aa_serve_stop(s);
}
END_TEST

/* A client that sends half a request line and closes must give its socket back at once, not at the idle
 * timeout: libmicrohttpd's epoll loop left such sockets in CLOSE_WAIT for the whole timeout. */
START_TEST(truncated_requests_give_back_their_socket)
{
    aa_serve_config cfg;
    aa_serve_config_default(&cfg);
    cfg.max_per_ip = 2;
    cfg.timeout_s = 30;
    aa_serve *s = start(&cfg);
    int port = aa_serve_port(s);
    for (int i = 0; i < 10; i++) {
        int fd = tu_http_connect(port);
        tu_http_send(fd, i % 2 ? "POST /api/cla" : "GET / HTTP/1.1\r\nHost: localhost\r\nX-Half: a", i % 2 ? 13 : 34);
        close(fd);
    }
    /* 2 s: a poll round takes milliseconds; the idle timeout is 30 s */
    double t0 = now_s();
    int st = 0;
    while (now_s() - t0 < 2 && (st = health(port)) != 200)
        usleep(20000);
    ck_assert_msg(st == 200, "no answer within 2 s after 10 truncated requests (status %d)", st);
    aa_serve_stop(s);
}
END_TEST

/* A chunked upload (no Content-Length) grows its buffer in steps; the first step must not ask for more than
 * the upload limit, or a server with a small limit (budget 8 x the limit, under 64 KB) refuses every such
 * upload with 503. */
START_TEST(chunked_upload_fits_a_small_budget)
{
    aa_serve_config cfg;
    aa_serve_config_default(&cfg);
    cfg.max_upload = 4096;
    aa_serve *s = start(&cfg);
    int port = aa_serve_port(s);
    int fd = tu_http_connect(port);
    const char *req = "POST /api/classify HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n400\r\n";
    static char body[1024];
    memset(body, 'w', sizeof body);
    tu_http_send(fd, req, strlen(req));
    tu_http_send(fd, body, sizeof body);
    tu_http_send(fd, "\r\n0\r\n\r\n", 7);
    tu_http_response r = {0};
    ck_assert_int_eq(tu_http_read(fd, 10, &r), 0);
    ck_assert_msg(r.status == 200, "status %d: %s", r.status, r.body ? r.body : "");
    tu_http_response_free(&r);
    close(fd);
    aa_serve_stop(s);
}
END_TEST

/* Reads an interim "HTTP/1.1 100 Continue" response from fd, for at most timeout_s; 1 when it came. */
static int read_continue(int fd, double timeout_s)
{
    char buf[256];
    size_t n = 0;
    for (double t0 = now_s(); n < sizeof buf - 1 && now_s() - t0 < timeout_s;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t got = recv(fd, buf + n, 1, 0); /* byte by byte: nothing after the interim answer is taken */
        if (got <= 0)
            return 0;
        n++;
        buf[n] = 0;
        if (n >= 4 && !memcmp(buf + n - 4, "\r\n\r\n", 4))
            return !strncmp(buf, "HTTP/1.1 100", 12);
    }
    return 0;
}

START_TEST(upload_budget_answers_503)
{
    aa_serve_config cfg;
    aa_serve_config_default(&cfg);
    cfg.max_upload = 1000;
    cfg.max_buffered = 999;
    aa_serve_handler h = {.classify = ok_classify};
    aa_serve *s = NULL;
    aa_error err = {0};
    ck_assert_int_eq(aa_serve_start(&cfg, &h, &s, &err), AA_SERVE_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "upload memory"));

    cfg.max_buffered = 1000;
    s = start(&cfg);
    int port = aa_serve_port(s);
    /* a holds the whole budget: it promised 1000 bytes and sent 10. It waits for its 100 Continue first,
     * which libmicrohttpd sends only after the handler has seen a's headers and reserved the 1000 bytes.
     * Without that wait, b's first request could be read first on the other event thread (a's preempted
     * between accept and read, on a loaded machine): b took 500 bytes, a's 1000 no longer fitted and a was
     * answered 503, and every later b fitted, so no b ever got 503 and the test failed with status 0. */
    int a = tu_http_connect(port);
    const char *head = "POST /api/classify HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                       "Expect: 100-continue\r\nContent-Length: 1000\r\n\r\n";
    static char body[1000];
    memset(body, 'w', sizeof body);
    tu_http_send(a, head, strlen(head));
    ck_assert_msg(read_continue(a, 10), "no 100 Continue for a");
    tu_http_send(a, body, 10);
    /* so b, sent now, cannot fit: refused at once, and no retry needed */
    tu_http_response r = {0};
    tu_http_request(port, "POST", "/api/classify", NULL, body, 500, &r);
    ck_assert_int_eq(r.status, 503);
    char v[16];
    ck_assert_ptr_nonnull(tu_http_header(&r, "Retry-After", v, sizeof v));
    ck_assert_ptr_nonnull(strstr(r.body, "server busy"));
    tu_http_response_free(&r);
    /* a finishes and is answered; its reservation comes back */
    tu_http_send(a, body + 10, 990);
    ck_assert_int_eq(tu_http_read(a, 10, &r), 0);
    ck_assert_int_eq(r.status, 200);
    tu_http_response_free(&r);
    close(a);
    /* the reservation is returned when libmicrohttpd reports a's request complete, which may be a moment
     * after a has read its answer: allow up to 5 s for it to come back */
    for (double t0 = now_s();; usleep(20000)) {
        tu_http_request(port, "POST", "/api/classify", NULL, body, 500, &r);
        if (r.status == 200 || now_s() - t0 >= 5)
            break;
        tu_http_response_free(&r);
    }
    ck_assert_int_eq(r.status, 200);
    tu_http_response_free(&r);
    aa_serve_stop(s);
}
END_TEST

Suite *serve_abuse_suite(void)
{
    Suite *s = suite_create("serve_abuse");
    TCase *t = tcase_create("ogg");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, ogg_whole_file_passes_and_decodes);
    tcase_add_test(t, ogg_every_cut_refused);
    tcase_add_test(t, ogg_any_changed_byte_refused);
    tcase_add_test(t, ogg_check_leaves_other_data_alone);
    suite_add_tcase(s, t);
    t = tcase_create("limits");
    tcase_set_timeout(t, 30);
    tcase_add_test(t, per_address_limit);
    tcase_add_test(t, truncated_requests_give_back_their_socket);
    tcase_add_test(t, upload_budget_answers_503);
    tcase_add_test(t, chunked_upload_fits_a_small_budget);
    suite_add_tcase(s, t);
    return s;
}
