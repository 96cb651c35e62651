/* The HTTP server over real sockets on loopback, with stub classify callbacks: routes, the page and its
 * headers, uploads (raw, multipart, chunked), limits, errors, concurrency, slow clients, clean stops. */
#include <check.h>
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "infer/assets.h"
#include "infer/http_internal.h"
#include "infer/serve.h"
#include "tests/util/httpc.h"
#include "tests/util/testutil.h"

#define MAX_SLOTS 8

/* What the stub classifier saw, checked by the tests. */
typedef struct {
    atomic_int calls;
    atomic_int in_slot[MAX_SLOTS]; /* calls running with each slot right now */
    atomic_int slot_clash;         /* a slot used by two calls at once */
    atomic_int bad_slot;           /* a slot outside [0, n_workers) */
    atomic_int running, max_running;
    int n_workers;
    int fail_code;                 /* non-zero: fail every call with this code */
    const char *fail_msg;
    int sleep_ms;                  /* per call, to make calls overlap */
} stub_ctx;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Answers {"n": bytes, "crc": CRC-32 of them, "file": name, "slot": slot}, so the test can check that the
 * callback saw exactly the bytes it sent. */
static int stub_classify(void *ctx, int slot, const void *audio, size_t n, const char *filename, char **json_out,
                         aa_error *err)
{
    stub_ctx *c = ctx;
    atomic_fetch_add(&c->calls, 1);
    if (slot < 0 || slot >= c->n_workers || slot >= MAX_SLOTS) {
        atomic_fetch_add(&c->bad_slot, 1);
        return aa_error_set(err, AA_SERVE_ERR_INTERNAL, "bad slot %d", slot);
    }
    if (atomic_fetch_add(&c->in_slot[slot], 1) != 0)
        atomic_fetch_add(&c->slot_clash, 1);
    int now = atomic_fetch_add(&c->running, 1) + 1;
    for (int m = atomic_load(&c->max_running); now > m && !atomic_compare_exchange_weak(&c->max_running, &m, now);)
        ;
    if (c->sleep_ms)
        sleep_ms(c->sleep_ms);
    int rc = 0;
    if (c->fail_code) {
        rc = aa_error_set(err, c->fail_code, "%s", c->fail_msg);
    } else {
        aa_buf b = {0};
        aa_buf_printf(&b, "{\"n\": %zu, \"crc\": %u, \"file\": ", n, (unsigned)aa_crc32(0, audio, n));
        aa_json_str(&b, filename);
        aa_buf_printf(&b, ", \"slot\": %d}\n", slot);
        *json_out = aa_buf_take(&b);
        ck_assert_ptr_nonnull(*json_out);
    }
    atomic_fetch_sub(&c->running, 1);
    atomic_fetch_sub(&c->in_slot[slot], 1);
    return rc;
}

static const char MODEL_JSON[] = "{\"classes\": [\"cough\"], \"labels\": [\"Cough\"], \"sample_rate\": 16000}\n";

static aa_serve *start(stub_ctx *ctx, aa_serve_config *cfg)
{
    aa_serve_handler h = {.classify = stub_classify, .ctx = ctx, .model_json = MODEL_JSON};
    ctx->n_workers = cfg->n_workers;
    aa_serve *s = NULL;
    aa_error err = {0};
    int rc = aa_serve_start(cfg, &h, &s, &err);
    ck_assert_msg(rc == 0, "aa_serve_start: %s", err.msg);
    ck_assert_int_gt(aa_serve_port(s), 0);
    return s;
}

/* A small server for the functional tests: 2 workers, 64 KB uploads, 2 s idle timeout. */
static void test_config(aa_serve_config *cfg)
{
    aa_serve_config_default(cfg);
    cfg->port = 0;
    cfg->n_workers = 2;
    cfg->max_upload = 64 * 1024;
    cfg->timeout_s = 2;
}

static void fill_random(unsigned char *p, size_t n, uint64_t seed)
{
    aa_rng r;
    aa_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)aa_rng_u64(&r);
}

/* The response is one line of JSON {"error": "..."} (the reason is non-empty). */
static void assert_json_error(const tu_http_response *r, int status)
{
    char ct[128];
    ck_assert_int_eq(r->status, status);
    ck_assert_ptr_nonnull(tu_http_header(r, "Content-Type", ct, sizeof ct));
    ck_assert_str_eq(ct, "application/json");
    ck_assert_msg(!strncmp(r->body, "{\"error\": \"", 11), "not a JSON error: %s", r->body);
    ck_assert_msg(r->body[11] != '"', "empty reason: %s", r->body);
    ck_assert_int_eq(tu_count_lines(r->body), 1);
    ck_assert_msg(r->body[r->body_n - 1] == '\n' && r->body[r->body_n - 2] == '}', "%s", r->body);
}

/* Checks the stub's {"n", "crc", "file"} against what was sent. */
static void assert_echo(const tu_http_response *r, const void *data, size_t n, const char *file)
{
    ck_assert_msg(r->status == 200, "status %d: %s", r->status, r->body ? r->body : "");
    size_t got_n = 0;
    unsigned got_crc = 0;
    char got_file[300] = "";
    ck_assert_int_eq(sscanf(r->body, "{\"n\": %zu, \"crc\": %u, \"file\": \"%299[^\"]\"", &got_n, &got_crc, got_file),
                     3);
    ck_assert_uint_eq(got_n, n);
    ck_assert_uint_eq(got_crc, aa_crc32(0, data, n));
    ck_assert_str_eq(got_file, file);
}

/* ---- routes and the page ----------------------------------------------------------------------------- */

START_TEST(page_and_assets_served_with_headers)
{
    stub_ctx ctx = {0};
    aa_serve_config cfg;
    test_config(&cfg);
    aa_serve *s = start(&ctx, &cfg);
    int port = aa_serve_port(s);
    tu_http_response r;
    char v[1024];

    ck_assert_int_eq(tu_http_request(port, "GET", "/", NULL, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(tu_http_header(&r, "Content-Type", v, sizeof v), "text/html; charset=utf-8");
    ck_assert_str_eq(tu_http_header(&r, "X-Content-Type-Options", v, sizeof v), "nosniff");
    ck_assert_ptr_nonnull(tu_http_header(&r, "Content-Security-Policy", v, sizeof v));
    /* nothing from another origin: every source list is 'none' or 'self' (data:/blob: are local) */
    ck_assert_ptr_nonnull(strstr(v, "default-src 'none'"));
    ck_assert_ptr_null(strstr(v, "http"));
    ck_assert_ptr_null(strstr(v, "*"));
    ck_assert_ptr_null(strstr(v, "unsafe"));
    ck_assert_ptr_nonnull(strstr(r.body, "<!doctype html>"));
    ck_assert_ptr_nonnull(strstr(r.body, "not a medical device"));
    /* the page names no other origin */
    ck_assert_ptr_null(strstr(r.body, "http://"));
    ck_assert_ptr_null(strstr(r.body, "https://"));
    tu_http_response_free(&r);

    /* every embedded file, byte for byte, with its type */
    int n_assets = 0;
    for (const aa_asset *a = aa_assets; a->path; a++, n_assets++) {
        ck_assert_int_eq(tu_http_request(port, "GET", a->path, NULL, NULL, 0, &r), 0);
        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(tu_http_header(&r, "Content-Type", v, sizeof v), a->content_type);
        ck_assert_uint_eq(r.body_n, a->size);
        ck_assert(memcmp(r.body, a->data, a->size) == 0);
        ck_assert_str_eq(tu_http_header(&r, "X-Content-Type-Options", v, sizeof v), "nosniff");
        tu_http_response_free(&r);
    }
    ck_assert_int_ge(n_assets, 3); /* index.html, app.js, style.css at least */

    /* HEAD: the headers without the body */
    ck_assert_int_eq(tu_http_request(port, "HEAD", "/healthz", NULL, NULL, 0, &r), -1); /* no body arrives */
    ck_assert_int_eq(r.status, 200);
    tu_http_response_free(&r);
    aa_serve_stop(s);
}
END_TEST

START_TEST(api_routes_and_errors)
{
    stub_ctx ctx = {0};
    aa_serve_config cfg;
    test_config(&cfg);
    aa_serve *s = start(&ctx, &cfg);
    int port = aa_serve_port(s);
    tu_http_response r;
    char v[256];

    ck_assert_int_eq(tu_http_request(port, "GET", "/healthz", NULL, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "{\"status\":\"ok\"}\n");
    ck_assert_str_eq(tu_http_header(&r, "Cache-Control", v, sizeof v), "no-store");
    tu_http_response_free(&r);

    ck_assert_int_eq(tu_http_request(port, "GET", "/api/model", NULL, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, MODEL_JSON);
    ck_assert_str_eq(tu_http_header(&r, "Content-Type", v, sizeof v), "application/json");
    tu_http_response_free(&r);

    /* unknown paths, including ones that try to climb out */
    const char *missing[] = {"/nope", "/api", "/api/classify/x", "/../Makefile", "/index.htm", "/%2e%2e/x"};
    for (size_t i = 0; i < sizeof missing / sizeof *missing; i++) {
        ck_assert_int_eq(tu_http_request(port, "GET", missing[i], NULL, NULL, 0, &r), 0);
        ck_assert_msg(r.status == 404 || r.status == 400, "%s: %d", missing[i], r.status);
        if (r.status == 404)
            assert_json_error(&r, 404);
        tu_http_response_free(&r);
    }

    /* wrong methods say which are allowed */
    ck_assert_int_eq(tu_http_request(port, "POST", "/healthz", NULL, "x", 1, &r), 0);
    assert_json_error(&r, 405);
    ck_assert_str_eq(tu_http_header(&r, "Allow", v, sizeof v), "GET, HEAD");
    tu_http_response_free(&r);
    ck_assert_int_eq(tu_http_request(port, "GET", "/api/classify", NULL, NULL, 0, &r), 0);
    assert_json_error(&r, 405);
    ck_assert_str_eq(tu_http_header(&r, "Allow", v, sizeof v), "POST");
    tu_http_response_free(&r);
    ck_assert_int_eq(tu_http_request(port, "DELETE", "/", NULL, NULL, 0, &r), 0);
    assert_json_error(&r, 405);
    tu_http_response_free(&r);
    ck_assert_int_eq(atomic_load(&ctx.calls), 0);
    aa_serve_stop(s);

    /* without model information, /api/model is a 404 rather than an empty object */
    aa_serve_handler h = {.classify = stub_classify, .ctx = &ctx, .model_json = NULL};
    aa_error err = {0};
    ck_assert_int_eq(aa_serve_start(&cfg, &h, &s, &err), 0);
    ck_assert_int_eq(tu_http_request(aa_serve_port(s), "GET", "/api/model", NULL, NULL, 0, &r), 0);
    assert_json_error(&r, 404);
    tu_http_response_free(&r);
    aa_serve_stop(s);
}
END_TEST

/* ---- uploads ------------------------------------------------------------------------------------------ */

START_TEST(raw_upload_reaches_callback)
{
    stub_ctx ctx = {0};
    aa_serve_config cfg;
    test_config(&cfg);
    aa_serve *s = start(&ctx, &cfg);
    int port = aa_serve_port(s);
    tu_http_response r;
    char v[256];

    /* sizes around the buffer's growth steps and the limit itself */
    size_t sizes[] = {1, 1000, 64 * 1024 - 1, 64 * 1024};
    unsigned char *data = malloc(64 * 1024);
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        fill_random(data, sizes[i], 100 + i);
        ck_assert_int_eq(tu_http_request(port, "POST", "/api/classify", "Content-Type: audio/wav\r\n", data,
                                         sizes[i], &r), 0);
        assert_echo(&r, data, sizes[i], "upload");
        ck_assert_str_eq(tu_http_header(&r, "Cache-Control", v, sizeof v), "no-store");
        tu_http_response_free(&r);
    }
    /* a name given in X-Filename is reduced to a safe base name */
    ck_assert_int_eq(tu_http_request(port, "POST", "/api/classify?x=1", "X-Filename: ../../etc/clip \"1\".wav\r\n",
                                     data, 500, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"file\": \"clip \\\"1\\\".wav\""));
    tu_http_response_free(&r);

    /* an empty body is a client error, not a call */
    int calls = atomic_load(&ctx.calls);
    ck_assert_int_eq(tu_http_request(port, "POST", "/api/classify", NULL, "", 0, &r), 0);
    assert_json_error(&r, 400);
    tu_http_response_free(&r);
    ck_assert_int_eq(atomic_load(&ctx.calls), calls);
    free(data);
    aa_serve_stop(s);
}
END_TEST

/* A multipart body: an ordinary field, then the file part, the file's bytes containing near-boundaries. */
static size_t make_form(char *out, size_t cap, const char *boundary, const char *disposition, const void *file,
                        size_t n)
{
    int h = snprintf(out, cap,
                     "preamble to ignore\r\n--%s\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n"
                     "--%s\r\nContent-Disposition: %s\r\nContent-Type: audio/wav\r\n\r\n",
                     boundary, boundary, disposition);
    ck_assert(h > 0 && (size_t)h + n + 200 < cap);
    memcpy(out + h, file, n);
    int t = snprintf(out + h + n, cap - h - n, "\r\n--%s--\r\nepilogue", boundary);
    return (size_t)h + n + (size_t)t;
}

START_TEST(multipart_upload_reaches_callback)
{
    stub_ctx ctx = {0};
    aa_serve_config cfg;
    test_config(&cfg);
    aa_serve *s = start(&ctx, &cfg);
    int port = aa_serve_port(s);
    tu_http_response r;

    size_t n = 20000;
    unsigned char *file = malloc(n);
    fill_random(file, n, 7);
    /* bytes that look like the start of a delimiter but are not one */
    memcpy(file + 100, "\r\n--XyZ", 7);
    memcpy(file + 5000, "\r\n--XyZb0undar", 14);
    memcpy(file + n - 4, "\r\n--", 4);
    char *body = malloc(n + 1024);
    const char *boundary = "XyZb0undary";
    size_t bn = make_form(body, n + 1024, boundary,
                          "form-data; name=\"file\"; filename=\"C:\\\\rec\\\\cough 1.wav\"", file, n);
    ck_assert_int_eq(tu_http_request(port, "POST", "/api/classify",
                                     "Content-Type: multipart/form-data; boundary=XyZb0undary\r\n", body, bn, &r), 0);
    assert_echo(&r, file, n, "cough 1.wav");
    tu_http_response_free(&r);

    /* a quoted boundary, and a file field without a filename */
    bn = make_form(body, n + 1024, "a b", "form-data; name=\"file\"", file, 3000);
    ck_assert_int_eq(tu_http_request(port, "POST", "/api/classify",
                                     "Content-Type: multipart/form-data; boundary=\"a b\"\r\n", body, bn, &r), 0);
    assert_echo(&r, file, 3000, "upload");
    tu_http_response_free(&r);
    ck_assert_int_eq(atomic_load(&ctx.calls), 2);
    free(body);
    free(file);
    aa_serve_stop(s);
}
END_TEST

START_TEST(malformed_multipart_is_400)
{
    stub_ctx ctx = {0};
    aa_serve_config cfg;
    test_config(&cfg);
    aa_serve *s = start(&ctx, &cfg);
    int port = aa_serve_port(s);
    tu_http_response r;

    struct {
        const char *type, *body, *reason;
    } cases[] = {
        {"multipart/form-data", "--x\r\n\r\nabc\r\n--x--", "boundary"},
        {"multipart/form-data; boundary=", "--\r\n\r\nabc\r\n----", "boundary"},
        {"multipart/form-data; boundary=x", "no delimiter anywhere", "no opening boundary"},
        {"multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nabc",
         "no closing boundary"},
        {"multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"file\"", "unterminated"},
        {"multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n--x--",
         "no file field"},
        {"multipart/form-data; boundary=x", "--xgarbage", "bad boundary line"},
        {"multipart/form-data; boundary=x",
         "--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n\r\n\r\n--x--", "empty"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char hdr[256];
        snprintf(hdr, sizeof hdr, "Content-Type: %s\r\n", cases[i].type);
        ck_assert_int_eq(
            tu_http_request(port, "POST", "/api/classify", hdr, cases[i].body, strlen(cases[i].body), &r), 0);
        assert_json_error(&r, 400);
        ck_assert_msg(strstr(r.body, cases[i].reason) != NULL, "case %zu: '%s' lacks '%s'", i, r.body,
                      cases[i].reason);
        tu_http_response_free(&r);
    }
    ck_assert_int_eq(atomic_load(&ctx.calls), 0);
    aa_serve_stop(s);
}
END_TEST

/* ---- limits ------------------------------------------------------------------------------------------- */

/* Sends body as HTTP/1.1 chunks of `chunk` bytes (no Content-Length). */
static int send_chunked(int fd, const unsigned char *body, size_t n, size_t chunk)
{
    char head[] = "POST /api/classify HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n";
    if (tu_http_send(fd, head, sizeof head - 1))
        return -1;
    for (size_t off = 0; off < n; off += chunk) {
        size_t k = n - off < chunk ? n - off : chunk;
        char sz[32];
        int l = snprintf(sz, sizeof sz, "%zx\r\n", k);
        if (tu_http_send(fd, sz, (size_t)l) || tu_http_send(fd, body + off, k) || tu_http_send(fd, "\r\n", 2))
            return -1;
    }
    return tu_http_send(fd, "0\r\n\r\n", 5);
}

START_TEST(oversized_upload_is_413)
{
    stub_ctx ctx = {0};
    aa_serve_config cfg;
    test_config(&cfg);
    aa_serve *s = start(&ctx, &cfg);
    int port = aa_serve_port(s);
    tu_http_response r;
    size_t over = cfg.max_upload + 1;
    unsigned char *data = malloc(3 * cfg.max_upload);
    fill_random(data, 3 * cfg.max_upload, 3);

    /* with Content-Length: refused from the headers, before the body is read */
    ck_assert_int_eq(tu_http_request(port, "POST", "/api/classify", NULL, data, over, &r), 0);
    assert_json_error(&r, 413);
    ck_assert_ptr_nonnull(strstr(r.body, "65536"));
    tu_http_response_free(&r);
    int fd = tu_http_connect(port);
    const char *huge = "POST /api/classify HTTP/1.1\r\nHost: localhost\r\nContent-Length: 99999999999999\r\n\r\n";
    ck_assert_int_eq(tu_http_send(fd, huge, strlen(huge)), 0);
    ck_assert_int_eq(tu_http_read(fd, 5.0, &r), 0);
    assert_json_error(&r, 413);
    tu_http_response_free(&r);
    close(fd);

    /* chunked, under the limit: reassembled exactly */
    fd = tu_http_connect(port);
    ck_assert_int_eq(send_chunked(fd, data, 50000, 7000), 0);
    ck_assert_int_eq(tu_http_read(fd, 10.0, &r), 0);
    assert_echo(&r, data, 50000, "upload");
    tu_http_response_free(&r);
    close(fd);

    /* chunked, over the limit: found out while streaming, still answered with a 413 */
    fd = tu_http_connect(port);
    ck_assert_int_eq(send_chunked(fd, data, over + 1000, 8192), 0);
    ck_assert_int_eq(tu_http_read(fd, 10.0, &r), 0);
    assert_json_error(&r, 413);
    tu_http_response_free(&r);
    close(fd);

    /* far over the limit: cut off (connection closed) rather than read without end */
    fd = tu_http_connect(port);
    send_chunked(fd, data, 3 * cfg.max_upload, 8192); /* may fail half-way: the server hangs up */
    ck_assert_int_eq(tu_http_read(fd, 10.0, &r), -1);
    ck_assert_int_ne(r.status, 200);
    tu_http_response_free(&r);
    close(fd);

    ck_assert_int_eq(atomic_load(&ctx.calls), 1); /* only the upload within the limit was classified */
    free(data);
    aa_serve_stop(s);
}
END_TEST

/* ---- callback errors ---------------------------------------------------------------------------------- */

START_TEST(callback_errors_map_to_status)
{
    stub_ctx ctx = {0};
    aa_serve_config cfg;
    test_config(&cfg);
    aa_serve *s = start(&ctx, &cfg);
    int port = aa_serve_port(s);
    tu_http_response r;
    struct {
        int code, status;
        const char *msg;
    } cases[] = {
        {AA_SERVE_ERR_AUDIO, 422, "clip.wav: not a readable audio file (unknown format)"},
        {AA_SERVE_ERR_REQUEST, 400, "clip.wav: bad request"},
        {AA_SERVE_ERR_INTERNAL, 500, "model: out of memory"},
        {12345, 500, "an unknown code is a server error"},
        /* a reason with quotes, a newline and a stray byte still makes one line of valid JSON */
        {AA_SERVE_ERR_AUDIO, 422, "bad \"header\"\nline two \x01 \xff end"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ctx.fail_code = cases[i].code;
        ctx.fail_msg = cases[i].msg;
        ck_assert_int_eq(tu_http_request(port, "POST", "/api/classify", NULL, "RIFF....", 8, &r), 0);
        assert_json_error(&r, cases[i].status);
        tu_http_response_free(&r);
    }
    ck_assert_int_eq(tu_http_request(port, "POST", "/api/classify", NULL, "RIFF....", 8, &r), 0);
    ck_assert_str_eq(r.body, "{\"error\": \"bad \\\"header\\\"\\nline two \\u0001 \xef\xbf\xbd end\"}\n");
    tu_http_response_free(&r);
    ck_assert_int_eq(aa_serve_http_status(AA_SERVE_ERR_AUDIO), 422);
    aa_serve_stop(s);
}
END_TEST

/* ---- load, slow clients, limits on connections -------------------------------------------------------- */

typedef struct {
    int port, id, n_req, ok;
} client_arg;

static void *client_main(void *p)
{
    client_arg *a = p;
    unsigned char buf[4096];
    for (int k = 0; k < a->n_req; k++) {
        size_t n = 1000 + (size_t)(a->id * 131 + k * 17) % 3000;
        fill_random(buf, n, (uint64_t)(a->id * 1000 + k));
        tu_http_response r;
        if (tu_http_request(a->port, "POST", "/api/classify", NULL, buf, n, &r) == 0 && r.status == 200) {
            size_t got_n = 0;
            unsigned crc = 0;
            if (sscanf(r.body, "{\"n\": %zu, \"crc\": %u", &got_n, &crc) == 2 && got_n == n &&
                crc == aa_crc32(0, buf, n))
                a->ok++;
        }
        tu_http_response_free(&r);
    }
    return NULL;
}

START_TEST(concurrent_clients_all_answered)
{
    stub_ctx ctx = {.sleep_ms = 2};
    aa_serve_config cfg;
    test_config(&cfg);
    cfg.n_workers = 3;
    aa_serve *s = start(&ctx, &cfg);
    enum { N_THREADS = 16 };
    int n_req = tu_sanitized() ? 4 : 10;
    pthread_t th[N_THREADS];
    client_arg args[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        args[i] = (client_arg){.port = aa_serve_port(s), .id = i, .n_req = n_req};
        ck_assert_int_eq(pthread_create(&th[i], NULL, client_main, &args[i]), 0);
    }
    for (int i = 0; i < N_THREADS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(args[i].ok, n_req);
    }
    ck_assert_int_eq(atomic_load(&ctx.calls), N_THREADS * n_req);
    ck_assert_int_eq(atomic_load(&ctx.slot_clash), 0);
    ck_assert_int_eq(atomic_load(&ctx.bad_slot), 0);
    /* the pool is bounded: never more calls at once than workers */
    ck_assert_int_le(atomic_load(&ctx.max_running), cfg.n_workers);
    aa_serve_stop(s);
}
END_TEST

START_TEST(slow_client_does_not_block_and_times_out)
{
    stub_ctx ctx = {0};
    aa_serve_config cfg;
    test_config(&cfg);
    cfg.timeout_s = 1;
    aa_serve *s = start(&ctx, &cfg);
    int port = aa_serve_port(s);

    /* one client stalls in its headers, one in its body; more of them than there are worker threads */
    int slow[4];
    const char *partial[] = {"GET /healthz HTTP/1.1\r\nHost: 12",
                             "POST /api/classify HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\nRIFF"};
    for (int i = 0; i < 4; i++) {
        slow[i] = tu_http_connect(port);
        ck_assert_int_eq(tu_http_send(slow[i], partial[i % 2], strlen(partial[i % 2])), 0);
    }
    /* meanwhile everyone else is served at once; 0.5 s is half the idle timeout, far above a loopback
     * round trip, so passing means the stalled clients held no worker */
    for (int k = 0; k < 5; k++) {
        tu_http_response r;
        double t0 = aa_now();
        ck_assert_int_eq(tu_http_request(port, "POST", "/api/classify", NULL, "abcd", 4, &r), 0);
        ck_assert_int_eq(r.status, 200);
        ck_assert_double_lt(aa_now() - t0, 0.5);
        tu_http_response_free(&r);
    }
    /* and the stalled ones are closed after the 1 s idle timeout: by 4 s at the latest (the library checks
     * timeouts on its own schedule, and the sanitizers slow everything) */
    for (int i = 0; i < 4; i++) {
        double t = tu_http_wait_closed(slow[i], 4.0);
        ck_assert_msg(t >= 0, "slow client %d still connected after 4 s", i);
        close(slow[i]);
    }
    ck_assert_int_eq(atomic_load(&ctx.calls), 5);
    aa_serve_stop(s);
}
END_TEST

START_TEST(connection_cap_holds_extra_clients)
{
    stub_ctx ctx = {0};
    aa_serve_config cfg;
    test_config(&cfg);
    cfg.max_connections = 4;
    cfg.timeout_s = 30; /* so that only the cap, not the idle timeout, decides here */
    aa_serve *s = start(&ctx, &cfg);
    int port = aa_serve_port(s);
    int idle[4];
    for (int i = 0; i < 4; i++) {
        idle[i] = tu_http_connect(port);
        ck_assert_int_eq(tu_http_send(idle[i], "GET /healthz HTTP/1.1\r\n", 23), 0);
    }
    sleep_ms(200); /* let the server take them all in */
    /* at the cap the server stops accepting: a fifth client waits in the kernel's queue, unserved */
    int fd = tu_http_connect(port);
    const char *req = "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    ck_assert_int_eq(tu_http_send(fd, req, strlen(req)), 0);
    tu_http_response r;
    ck_assert_int_eq(tu_http_read(fd, 0.5, &r), -1);
    tu_http_response_free(&r);
    /* places free up: it is served */
    close(idle[0]);
    close(idle[1]);
    ck_assert_int_eq(tu_http_read(fd, 5.0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    tu_http_response_free(&r);
    close(fd);
    close(idle[2]);
    close(idle[3]);
    aa_serve_stop(s);
}
END_TEST

START_TEST(garbage_requests_do_not_stop_the_server)
{
    stub_ctx ctx = {0};
    aa_serve_config cfg;
    test_config(&cfg);
    aa_serve *s = start(&ctx, &cfg);
    int port = aa_serve_port(s);
    static char big_header[40000];
    memset(big_header, 'a', sizeof big_header - 1);
    memcpy(big_header, "GET / HTTP/1.1\r\nX: ", 19);
    const char *bad[] = {
        "\r\n\r\n",
        "NONSENSE\r\n\r\n",
        "GET\r\n\r\n",
        "GET / HTTP/9.9\r\n\r\n",
        "POST /api/classify HTTP/1.1\r\nHost: localhost\r\nContent-Length: -5\r\n\r\n",
        "POST /api/classify HTTP/1.1\r\nHost: localhost\r\nContent-Length: 12abc\r\n\r\n",
        "POST /api/classify HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n",
        "POST /api/classify HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nab",
        "POST /api/classify HTTP/1.1\r\nHost: localhost\r\n"
        "Content-Type: multipart/form-data; boundary=\"unterminated\r\n"
        "Content-Length: 3\r\n\r\nabc",
        "GET /\x01\x02\xff HTTP/1.1\r\nHost: localhost\r\n\r\n",
        big_header,
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int fd = tu_http_connect(port);
        tu_http_send(fd, bad[i], strlen(bad[i]));
        shutdown(fd, SHUT_WR);
        tu_http_response r;
        tu_http_read(fd, 5.0, &r);
        ck_assert_msg(r.status != 200, "garbage %zu got 200", i);
        tu_http_response_free(&r);
        close(fd);
        /* the server is still there and well */
        ck_assert_int_eq(tu_http_request(port, "GET", "/healthz", NULL, NULL, 0, &r), 0);
        ck_assert_int_eq(r.status, 200);
        tu_http_response_free(&r);
    }
    ck_assert_int_eq(atomic_load(&ctx.calls), 0);
    aa_serve_stop(s);
}
END_TEST

/* Two readings of where a request ends are how requests are smuggled past a proxy: every request whose
 * length is stated twice (two Content-Length headers, agreeing or not, or one beside Transfer-Encoding) is
 * refused with 400 before any route, and the connection is closed, so the bytes after it are never read as
 * a request. libmicrohttpd alone took the first Content-Length: the first case was answered 200. */
START_TEST(ambiguous_length_is_400_and_closes)
{
    stub_ctx ctx = {0};
    aa_serve_config cfg;
    test_config(&cfg);
    aa_serve *s = start(&ctx, &cfg);
    int port = aa_serve_port(s);
    /* each would be a second request, GET /api/model, to whoever read the shorter length */
    const char *smuggled = "GET /api/model HTTP/1.1\r\nHost: localhost\r\n\r\n";
    char req[4][512];
    snprintf(req[0], sizeof req[0], "POST /api/classify HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\n"
             "Content-Length: %zu\r\n\r\nRIFF%s", 4 + strlen(smuggled), smuggled);
    snprintf(req[1], sizeof req[1], "POST /api/classify HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\n"
             "Content-Length: 4\r\n\r\nRIFF%s", smuggled);
    snprintf(req[2], sizeof req[2], "POST /api/classify HTTP/1.1\r\nHost: localhost\r\nContent-Length: 9\r\n"
             "Transfer-Encoding: chunked\r\n\r\n4\r\nRIFF\r\n0\r\n\r\n%s", smuggled);
    snprintf(req[3], sizeof req[3], "GET /healthz HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n"
             "Content-Length: %zu\r\n\r\n%s", strlen(smuggled), smuggled);
    for (int i = 0; i < 4; i++) {
        int fd = tu_http_connect(port);
        ck_assert_int_eq(tu_http_send(fd, req[i], strlen(req[i])), 0);
        tu_http_response r;
        ck_assert_msg(tu_http_read(fd, 5.0, &r) == 0, "case %d: no answer", i);
        assert_json_error(&r, 400);
        ck_assert_msg(strstr(r.body, "ambiguous request") != NULL, "case %d: %s", i, r.body);
        tu_http_response_free(&r);
        /* nothing more: no answer to the smuggled request, and the server closes */
        ck_assert_msg(tu_http_read(fd, 2.0, &r) != 0 && r.status == 0, "case %d: a second answer (%d)", i, r.status);
        tu_http_response_free(&r);
        close(fd);
    }
    ck_assert_int_eq(atomic_load(&ctx.calls), 0);
    aa_serve_stop(s);
}
END_TEST

/* The workers classify; libmicrohttpd's threads only move bytes. When the event threads classified
 * themselves, two uploads that each took long held both of them, and /healthz, the page and /api/model
 * waited for as long (four uploads of a FLAC file that took seconds to refuse: /healthz waited as long). */
typedef struct {
    int port;
    int status;
} upload_arg;

static void *upload_main(void *p)
{
    upload_arg *a = p;
    tu_http_response r;
    tu_http_request(a->port, "POST", "/api/classify", NULL, "abcd", 4, &r);
    a->status = r.status;
    tu_http_response_free(&r);
    return NULL;
}

START_TEST(health_and_page_answered_while_workers_busy)
{
    stub_ctx ctx = {.sleep_ms = 3000};
    aa_serve_config cfg;
    test_config(&cfg);
    cfg.timeout_s = 15; /* the uploads queued behind the first two wait 3 s without a byte */
    aa_serve *s = start(&ctx, &cfg);
    int port = aa_serve_port(s);
    upload_arg a[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (upload_arg){.port = port};
        ck_assert_int_eq(pthread_create(&th[i], NULL, upload_main, &a[i]), 0);
    }
    for (double t0 = aa_now(); atomic_load(&ctx.running) < 2 && aa_now() - t0 < 10;)
        sleep_ms(5);
    ck_assert_int_eq(atomic_load(&ctx.running), 2); /* both workers are in a 3 s call */
    const char *paths[] = {"/healthz", "/api/model", "/"};
    for (int i = 0; i < 3; i++) {
        tu_http_response r;
        double t0 = aa_now();
        ck_assert_int_eq(tu_http_request(port, "GET", paths[i], NULL, NULL, 0, &r), 0);
        double took = aa_now() - t0;
        ck_assert_int_eq(r.status, 200);
        tu_http_response_free(&r);
        ck_assert_msg(took < 1.0, "GET %s took %.2f s while the workers were busy", paths[i], took);
    }
    ck_assert_int_eq(atomic_load(&ctx.running), 2); /* still busy: the answers did not wait for them */
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(a[i].status, 200);
    }
    ck_assert_int_eq(atomic_load(&ctx.calls), 4);
    ck_assert_int_le(atomic_load(&ctx.max_running), 2);
    ck_assert_int_eq(atomic_load(&ctx.slot_clash), 0);
    ck_assert_int_eq(atomic_load(&ctx.bad_slot), 0);
    aa_serve_stop(s);
}
END_TEST

/* Stopping with uploads queued behind busy workers: the calls in progress finish, the queued ones are
 * answered 503 at once rather than classified, and the stop returns. */
START_TEST(stop_answers_queued_uploads)
{
    stub_ctx ctx = {.sleep_ms = 1000};
    aa_serve_config cfg;
    test_config(&cfg);
    cfg.n_workers = 1;
    aa_serve *s = start(&ctx, &cfg);
    int port = aa_serve_port(s);
    upload_arg a[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        a[i] = (upload_arg){.port = port};
        ck_assert_int_eq(pthread_create(&th[i], NULL, upload_main, &a[i]), 0);
    }
    while (atomic_load(&ctx.running) == 0)
        sleep_ms(5);
    sleep_ms(100); /* the other two reach the queue */
    double t0 = aa_now();
    aa_serve_stop(s);
    ck_assert_double_lt(aa_now() - t0, 2.5); /* one call of 1 s, not three */
    int unavailable = 0;
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        unavailable += a[i].status == 503;
    }
    ck_assert_int_eq(atomic_load(&ctx.calls), 1);
    ck_assert_int_eq(unavailable, 2);
}
END_TEST

/* ---- Host and Origin ------------------------------------------------------------------------------------ */

START_TEST(host_and_origin_rules)
{
    /* the loopback names and the bound host, without a port or with the bound one */
    ck_assert(aa_http_host_allowed("localhost:8501", "127.0.0.1", 8501, NULL));
    ck_assert(aa_http_host_allowed("LocalHost", "127.0.0.1", 8501, NULL));
    ck_assert(aa_http_host_allowed("127.0.0.1:8501", "127.0.0.1", 8501, NULL));
    ck_assert(aa_http_host_allowed("[::1]:8501", "127.0.0.1", 8501, NULL));
    ck_assert(aa_http_host_allowed("0.0.0.0:8501", "0.0.0.0", 8501, NULL));
    ck_assert(aa_http_host_allowed("[fe80::1]:8501", "fe80::1", 8501, NULL));
    ck_assert(!aa_http_host_allowed("localhost:8502", "127.0.0.1", 8501, NULL));
    ck_assert(!aa_http_host_allowed("0.0.0.0:8501", "127.0.0.1", 8501, NULL));
    /* rebinding names, look-alikes and malformed values */
    const char *bad[] = {"evil.example", "evil.example:8501", "localhost.", "localhost.evil.example", "127.0.0.2",
                         "::1", "[::1", "localhost:", "localhost:x", "localhost:123456", "localhost:99999", "",
                         "localhost:8501:8501", "[::1]x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(!aa_http_host_allowed(bad[i], "127.0.0.1", 8501, NULL), "'%s' allowed", bad[i]);
    ck_assert(!aa_http_host_allowed(NULL, "127.0.0.1", 8501, NULL));
    /* extra names: any port, or the one given */
    const char *extra = "audit.example.org, lab.local:9000,[2001:db8::5]";
    ck_assert(aa_http_host_allowed("audit.example.org", "127.0.0.1", 8501, extra));
    ck_assert(aa_http_host_allowed("AUDIT.example.org:443", "127.0.0.1", 8501, extra));
    ck_assert(aa_http_host_allowed("lab.local:9000", "127.0.0.1", 8501, extra));
    ck_assert(!aa_http_host_allowed("lab.local:8501", "127.0.0.1", 8501, extra));
    ck_assert(aa_http_host_allowed("[2001:db8::5]:8501", "127.0.0.1", 8501, extra));
    ck_assert(!aa_http_host_allowed("example.org", "127.0.0.1", 8501, extra));

    /* Origin: none, the page's own (the Host it was loaded from), or listed */
    ck_assert(aa_http_origin_allowed(NULL, "localhost:8501", NULL));
    ck_assert(aa_http_origin_allowed("http://localhost:8501", "localhost:8501", NULL));
    ck_assert(aa_http_origin_allowed("https://audit.example.org", "audit.example.org", NULL));
    ck_assert(!aa_http_origin_allowed("http://localhost:8502", "localhost:8501", NULL));
    ck_assert(!aa_http_origin_allowed("http://evil.example", "localhost:8501", NULL));
    ck_assert(!aa_http_origin_allowed("null", "localhost:8501", "null"));
    ck_assert(!aa_http_origin_allowed("http://localhost:8501", NULL, NULL));
    const char *origins = "https://app.example/,http://lab.local:9000";
    ck_assert(aa_http_origin_allowed("https://app.example", "localhost:8501", origins));
    ck_assert(aa_http_origin_listed("http://lab.local:9000", origins));
    ck_assert(!aa_http_origin_listed("http://lab.local", origins));
    ck_assert(!aa_http_origin_listed("https://app.example.evil", origins));
    ck_assert(!aa_http_origin_listed("http://localhost:8501", NULL));
}
END_TEST

/* One raw request (head given whole, body appended) on a fresh connection; the answer into r. */
static void raw(int port, const char *head, const char *body, tu_http_response *r)
{
    int fd = tu_http_connect(port);
    char req[2048];
    snprintf(req, sizeof req, "%s%s", head, body ? body : "");
    ck_assert_int_eq(tu_http_send(fd, req, strlen(req)), 0);
    ck_assert_msg(tu_http_read(fd, 5.0, r) == 0, "no answer to: %s", head);
    close(fd);
}

/* DNS rebinding: a page of evil.example whose name now resolves to 127.0.0.1 reaches the server with
 * "Host: evil.example:PORT". Only the names it is served under are answered (421 for others), /healthz
 * excepted; --allow-host adds names. */
START_TEST(host_header_is_checked)
{
    stub_ctx ctx = {0};
    aa_serve_config cfg;
    test_config(&cfg);
    const char *extra[] = {"audit.example.org", "lab.local:9000"};
    cfg.allow_hosts = extra;
    cfg.n_allow_hosts = 2;
    aa_serve *s = start(&ctx, &cfg);
    int port = aa_serve_port(s);
    char head[512];
    tu_http_response r;
    struct {
        const char *host, *path, *method;
        int status;
    } cases[] = {
        {"localhost:%d", "/api/model", "GET", 200},
        {"127.0.0.1:%d", "/", "GET", 200},
        {"[::1]:%d", "/api/model", "GET", 200},
        {"localhost", "/api/model", "GET", 200},
        {"audit.example.org", "/api/model", "GET", 200},
        {"lab.local:9000", "/api/model", "GET", 200},
        {"evil.example:%d", "/api/model", "GET", 421},
        {"evil.example:%d", "/", "GET", 421},
        {"evil.example:%d", "/api/classify", "POST", 421},
        {"evil.example:%d", "/no/such/path", "GET", 421},
        {"localhost:1", "/api/model", "GET", 421},
        {"lab.local:9001", "/api/model", "GET", 421},
        {"evil.example:%d", "/healthz", "GET", 200}, /* says nothing; probes name the server as they like */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char host[128];
        snprintf(host, sizeof host, cases[i].host, port);
        int post = !strcmp(cases[i].method, "POST");
        snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n%s\r\n", cases[i].method,
                 cases[i].path, host, post ? "Content-Length: 4\r\n" : "");
        raw(port, head, post ? "RIFF" : NULL, &r);
        ck_assert_msg(r.status == cases[i].status, "%s %s Host %s: %d", cases[i].method, cases[i].path, host,
                      r.status);
        if (r.status == 421) {
            assert_json_error(&r, 421);
            ck_assert_msg(strstr(r.body, "--allow-host"), "%s", r.body);
        }
        tu_http_response_free(&r);
    }
    /* no Host at all (HTTP/1.0 lets it out): refused too */
    raw(port, "GET /api/model HTTP/1.0\r\n\r\n", NULL, &r);
    assert_json_error(&r, 421);
    tu_http_response_free(&r);
    ck_assert_int_eq(atomic_load(&ctx.calls), 0);
    aa_serve_stop(s);
}
END_TEST

/* A page elsewhere can post a form here (the browser sends it, only the answer is hidden): a POST whose
 * Origin is not the page's own is refused, and a CORS preflight is refused explicitly, unless the origin
 * was allowed, which then also gets Access-Control-Allow-Origin. */
START_TEST(cross_origin_requests_refused_unless_allowed)
{
    stub_ctx ctx = {0};
    aa_serve_config cfg;
    test_config(&cfg);
    aa_serve *s = start(&ctx, &cfg);
    int port = aa_serve_port(s);
    char head[512], v[128];
    tu_http_response r;
    /* a form posted from another site */
    snprintf(head, sizeof head, "POST /api/classify HTTP/1.1\r\nHost: localhost:%d\r\nConnection: close\r\n"
             "Origin: http://evil.example\r\nContent-Length: 4\r\n\r\n", port);
    raw(port, head, "RIFF", &r);
    assert_json_error(&r, 403);
    ck_assert_ptr_nonnull(strstr(r.body, "cross-origin request refused"));
    ck_assert_ptr_null(tu_http_header(&r, "Access-Control-Allow-Origin", v, sizeof v));
    tu_http_response_free(&r);
    snprintf(head, sizeof head, "POST /api/classify HTTP/1.1\r\nHost: localhost:%d\r\nConnection: close\r\n"
             "Origin: null\r\nContent-Length: 4\r\n\r\n", port); /* a sandboxed frame, a file:// page */
    raw(port, head, "RIFF", &r);
    assert_json_error(&r, 403);
    tu_http_response_free(&r);
    ck_assert_int_eq(atomic_load(&ctx.calls), 0);
    /* the page's own origin */
    snprintf(head, sizeof head, "POST /api/classify HTTP/1.1\r\nHost: localhost:%d\r\nConnection: close\r\n"
             "Origin: http://localhost:%d\r\nContent-Length: 4\r\n\r\n", port, port);
    raw(port, head, "RIFF", &r);
    assert_echo(&r, "RIFF", 4, "upload");
    ck_assert_ptr_null(tu_http_header(&r, "Access-Control-Allow-Origin", v, sizeof v));
    tu_http_response_free(&r);
    /* a preflight from another site: refused in so many words, nothing that would let the browser go on */
    snprintf(head, sizeof head, "OPTIONS /api/classify HTTP/1.1\r\nHost: localhost:%d\r\nConnection: close\r\n"
             "Origin: http://evil.example\r\nAccess-Control-Request-Method: POST\r\n\r\n", port);
    raw(port, head, NULL, &r);
    assert_json_error(&r, 403);
    ck_assert_ptr_null(tu_http_header(&r, "Access-Control-Allow-Origin", v, sizeof v));
    ck_assert_ptr_null(tu_http_header(&r, "Access-Control-Allow-Methods", v, sizeof v));
    tu_http_response_free(&r);
    /* a cross-origin GET is answered (it changes nothing) but not made readable */
    snprintf(head, sizeof head, "GET /api/model HTTP/1.1\r\nHost: localhost:%d\r\nConnection: close\r\n"
             "Origin: http://evil.example\r\n\r\n", port);
    raw(port, head, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_null(tu_http_header(&r, "Access-Control-Allow-Origin", v, sizeof v));
    tu_http_response_free(&r);
    aa_serve_stop(s);

    /* --allow-origin: preflight answered, POST allowed and readable; others still refused */
    const char *origins[] = {"https://app.example/"};
    cfg.allow_origins = origins;
    cfg.n_allow_origins = 1;
    s = start(&ctx, &cfg);
    port = aa_serve_port(s);
    snprintf(head, sizeof head, "OPTIONS /api/classify HTTP/1.1\r\nHost: localhost:%d\r\nConnection: close\r\n"
             "Origin: https://app.example\r\nAccess-Control-Request-Method: POST\r\n\r\n", port);
    raw(port, head, NULL, &r);
    ck_assert_int_eq(r.status, 204);
    ck_assert_str_eq(tu_http_header(&r, "Access-Control-Allow-Origin", v, sizeof v), "https://app.example");
    ck_assert_ptr_nonnull(strstr(tu_http_header(&r, "Access-Control-Allow-Methods", v, sizeof v), "POST"));
    ck_assert_ptr_nonnull(strstr(tu_http_header(&r, "Access-Control-Allow-Headers", v, sizeof v), "X-Filename"));
    ck_assert_str_eq(tu_http_header(&r, "Vary", v, sizeof v), "Origin");
    tu_http_response_free(&r);
    snprintf(head, sizeof head, "POST /api/classify HTTP/1.1\r\nHost: localhost:%d\r\nConnection: close\r\n"
             "Origin: https://app.example\r\nContent-Length: 4\r\n\r\n", port);
    raw(port, head, "RIFF", &r);
    assert_echo(&r, "RIFF", 4, "upload");
    ck_assert_str_eq(tu_http_header(&r, "Access-Control-Allow-Origin", v, sizeof v), "https://app.example");
    tu_http_response_free(&r);
    snprintf(head, sizeof head, "OPTIONS /api/classify HTTP/1.1\r\nHost: localhost:%d\r\nConnection: close\r\n"
             "Origin: https://app.example.evil\r\nAccess-Control-Request-Method: POST\r\n\r\n", port);
    raw(port, head, NULL, &r);
    assert_json_error(&r, 403);
    ck_assert_ptr_null(tu_http_header(&r, "Access-Control-Allow-Origin", v, sizeof v));
    tu_http_response_free(&r);
    ck_assert_int_eq(atomic_load(&ctx.calls), 2);
    aa_serve_stop(s);
}
END_TEST

/* ---- start and stop ----------------------------------------------------------------------------------- */

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    ck_assert_ptr_nonnull(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

typedef struct {
    int port;
    int status;
} pending_arg;

static void *pending_main(void *p)
{
    pending_arg *a = p;
    tu_http_response r;
    tu_http_request(a->port, "POST", "/api/classify", NULL, "abcd", 4, &r);
    a->status = r.status;
    tu_http_response_free(&r);
    return NULL;
}

START_TEST(stop_is_clean)
{
    stub_ctx ctx = {0};
    aa_serve_config cfg;
    test_config(&cfg);
    int fds0 = count_fds();
    for (int i = 0; i < 3; i++) {
        aa_serve *s = start(&ctx, &cfg);
        tu_http_response r;
        ck_assert_int_eq(tu_http_request(aa_serve_port(s), "GET", "/", NULL, NULL, 0, &r), 0);
        tu_http_response_free(&r);
        aa_serve_stop(s);
    }
    ck_assert_int_eq(count_fds(), fds0); /* sockets, epoll and pipe descriptors all released */

    /* stopping with a stalled client and a call in progress: the call finishes, the stop returns */
    ctx.sleep_ms = 300;
    aa_serve *s = start(&ctx, &cfg);
    int port = aa_serve_port(s);
    int idle = tu_http_connect(port);
    tu_http_send(idle, "GET / HTTP/1.1\r\n", 16);
    pending_arg pa = {.port = port};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, pending_main, &pa), 0);
    while (atomic_load(&ctx.running) == 0)
        sleep_ms(5);
    double t0 = aa_now();
    aa_serve_stop(s);
    /* bounded by the call in progress (0.3 s), not by the idle client's timeout */
    ck_assert_double_lt(aa_now() - t0, 1.5);
    pthread_join(th, NULL);
    ck_assert_int_eq(atomic_load(&ctx.running), 0);
    ck_assert_double_ge(tu_http_wait_closed(idle, 2.0), 0);
    close(idle);
    aa_serve_stop(NULL);
}
END_TEST

START_TEST(bad_settings_are_refused)
{
    stub_ctx ctx = {0};
    aa_serve_handler h = {.classify = stub_classify, .ctx = &ctx};
    aa_serve_config cfg;
    aa_serve *s = (aa_serve *)&ctx;
    aa_error err = {0};

    aa_serve_config_default(&cfg);
    ck_assert_str_eq(cfg.host, "127.0.0.1"); /* loopback unless told otherwise */
    ck_assert_int_eq(cfg.port, 8501);
    ck_assert_uint_eq(cfg.max_upload, 20u * 1024 * 1024);
    ck_assert_int_ge(cfg.n_workers, 1);

    test_config(&cfg);
    cfg.port = 70000;
    ck_assert_int_eq(aa_serve_start(&cfg, &h, &s, &err), AA_SERVE_ERR_CONFIG);
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(strstr(err.msg, "70000"));
    test_config(&cfg);
    cfg.n_workers = 0;
    ck_assert_int_eq(aa_serve_start(&cfg, &h, &s, &err), AA_SERVE_ERR_CONFIG);
    test_config(&cfg);
    cfg.max_upload = 0;
    ck_assert_int_eq(aa_serve_start(&cfg, &h, &s, &err), AA_SERVE_ERR_CONFIG);
    test_config(&cfg);
    cfg.host = "no-such-host.invalid";
    ck_assert_int_eq(aa_serve_start(&cfg, &h, &s, &err), AA_SERVE_ERR_ADDRESS);
    ck_assert_ptr_nonnull(strstr(err.msg, "no-such-host.invalid"));
    test_config(&cfg);
    aa_serve_handler none = {0};
    ck_assert_int_eq(aa_serve_start(&cfg, &none, &s, &err), AA_SERVE_ERR_CONFIG);

    /* a port already taken: the message says so */
    test_config(&cfg);
    aa_serve *first = start(&ctx, &cfg);
    cfg.port = aa_serve_port(first);
    ck_assert_int_eq(aa_serve_start(&cfg, &h, &s, &err), AA_SERVE_ERR_ADDRESS);
    ck_assert_msg(strstr(err.msg, "in use") != NULL, "%s", err.msg);
    aa_serve_stop(first);

    /* IPv6 loopback, when the machine has it */
    test_config(&cfg);
    cfg.host = "::1";
    if (aa_serve_start(&cfg, &h, &s, &err) == 0) {
        ck_assert_int_gt(aa_serve_port(s), 0);
        aa_serve_stop(s);
    }
}
END_TEST

Suite *serve_suite(void)
{
    Suite *s = suite_create("serve");
    TCase *t = tcase_create("serve");
    /* the slowest cases wait out 1-2 s timeouts on purpose; 30 s leaves room under the sanitizers' x8 */
    tcase_set_timeout(t, 30);
    tcase_add_test(t, page_and_assets_served_with_headers);
    tcase_add_test(t, api_routes_and_errors);
    tcase_add_test(t, raw_upload_reaches_callback);
    tcase_add_test(t, multipart_upload_reaches_callback);
    tcase_add_test(t, malformed_multipart_is_400);
    tcase_add_test(t, oversized_upload_is_413);
    tcase_add_test(t, callback_errors_map_to_status);
    tcase_add_test(t, concurrent_clients_all_answered);
    tcase_add_test(t, slow_client_does_not_block_and_times_out);
    tcase_add_test(t, connection_cap_holds_extra_clients);
    tcase_add_test(t, garbage_requests_do_not_stop_the_server);
    tcase_add_test(t, ambiguous_length_is_400_and_closes);
    tcase_add_test(t, health_and_page_answered_while_workers_busy);
    tcase_add_test(t, stop_answers_queued_uploads);
    tcase_add_test(t, host_and_origin_rules);
    tcase_add_test(t, host_header_is_checked);
    tcase_add_test(t, cross_origin_requests_refused_unless_allowed);
    tcase_add_test(t, stop_is_clean);
    tcase_add_test(t, bad_settings_are_refused);
    suite_add_tcase(s, t);
    return s;
}
