/* HTTP request handling end to end: the real server (infer/serve.c on libmicrohttpd) on a loopback port,
 * fed requests whose method, path, headers and body come from the input. The request framing is made
 * well formed here (Host, Connection: close, a true Content-Length or chunked encoding), so every input
 * reaches the project's handler rather than stopping in libmicrohttpd's own parser; what the handler
 * sees (routes, Content-Type and boundary, X-Filename, bodies under and over the upload limit, multipart
 * forms) is the input's.
 *
 * Input:  byte 0 flags (bit 0 chunked, bits 1-2 method POST/GET/PUT/HEAD)
 *         a path line ("" means /api/classify), header lines "Name: value", an empty line, the body.
 * The classify callback decodes the upload (dsp_load_memory, at most 2 s) and answers with JSON naming the
 * file. Properties: every request is answered within 10 s (else a hang: abort) with a status line, a
 * status the server documents, and a JSON body for the API routes; only an upload cut off past twice the
 * limit may be closed without an answer. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dsp/dsp.h"
#include "infer/serve.h"

#define REQUIRE(cond)                                                                                         \
    do {                                                                                                      \
        if (!(cond)) {                                                                                        \
            fprintf(stderr, "fuzz_serve: property failed: %s (line %d)\n", #cond, __LINE__);                  \
            abort();                                                                                          \
        }                                                                                                     \
    } while (0)

#define MAX_UPLOAD 4096
#define ANSWER_TIMEOUT_MS 10000

static int classify(void *ctx, int slot, const void *audio, size_t n, const char *filename, char **json_out,
                    aa_error *err)
{
    (void)ctx, (void)slot;
    dsp_settings s = dsp_settings_default();
    dsp_audio a;
    if (dsp_load_memory(audio, n, filename, &s, 2.0, &a, err)) {
        err->code = AA_SERVE_ERR_AUDIO;
        return AA_SERVE_ERR_AUDIO;
    }
    aa_buf b = {0};
    aa_buf_printf(&b, "{\"file\": ");
    aa_json_str(&b, filename);
    aa_buf_printf(&b, ", \"samples\": %zu}", a.n);
    dsp_audio_free(&a);
    char *out = aa_buf_take(&b);
    if (!out)
        return aa_error_set(err, AA_SERVE_ERR_INTERNAL, "out of memory");
    *json_out = out;
    return 0;
}

static int server_port(void)
{
    static aa_serve *srv; /* one server for the whole run */
    if (!srv) {
        aa_serve_config c;
        aa_serve_config_default(&c);
        c.port = 0;
        c.n_workers = 2;
        c.max_upload = MAX_UPLOAD;
        c.timeout_s = 5;
        c.request_timeout_s = 5;
        c.max_connections = 8;
        static const aa_serve_handler h = {.classify = classify, .model_json = "{\"model\": \"fuzz\"}\n"};
        aa_error err;
        REQUIRE(aa_serve_start(&c, &h, &srv, &err) == 0);
    }
    return aa_serve_port(srv);
}

/* Growable request text. */
typedef struct {
    char *p;
    size_t n, cap;
} sbuf;

static void add(sbuf *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        size_t c = b->cap ? b->cap : 1024;
        while (c < b->n + n)
            c *= 2;
        b->p = realloc(b->p, c);
        REQUIRE(b->p != NULL);
        b->cap = c;
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}

static void adds(sbuf *b, const char *s)
{
    add(b, s, strlen(s));
}

/* Bytes of a header line or path that would break the framing become '_'. */
static void add_clean(sbuf *b, const uint8_t *s, size_t n, int is_path)
{
    for (size_t i = 0; i < n; i++) {
        char c = (char)s[i];
        if ((s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f || (is_path && (c == ' ' || c == '\t' || c == '#')))
            c = '_';
        add(b, &c, 1);
    }
}

static int skip_header(const uint8_t *h, size_t n)
{
    static const char *const own[] = {"content-length", "transfer-encoding", "connection", "host", "expect",
                                      "upgrade", "te", "trailer"};
    const uint8_t *colon = memchr(h, ':', n);
    if (!colon || colon == h)
        return 1;
    size_t kn = (size_t)(colon - h);
    for (size_t i = 0; i < sizeof own / sizeof *own; i++)
        if (kn == strlen(own[i]) && strncasecmp((const char *)h, own[i], kn) == 0)
            return 1;
    for (size_t i = 0; i < kn; i++)
        if (h[i] <= 0x20 || h[i] >= 0x7f || strchr("()<>@,;:\\\"/[]?={}", h[i]))
            return 1; /* not a token: libmicrohttpd would refuse the request itself */
    return 0;
}

/* Sends everything it can; 0 if the server closed its end first. */
static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return 0;
        p += w, n -= (size_t)w;
    }
    return 1;
}

/* Reads until the server closes; aborts after ANSWER_TIMEOUT_MS of silence. */
static char *read_all(int fd, size_t *n, int *reset)
{
    sbuf b = {0};
    char tmp[8192];
    *reset = 0;
    for (;;) {
        struct pollfd pf = {fd, POLLIN, 0};
        int pr = poll(&pf, 1, ANSWER_TIMEOUT_MS);
        if (pr < 0 && errno == EINTR)
            continue;
        REQUIRE(pr == 1); /* no answer and no close in 10 s: the server hangs */
        ssize_t r = recv(fd, tmp, sizeof tmp, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            *reset = 1;
            break;
        }
        if (r == 0)
            break;
        add(&b, tmp, (size_t)r);
    }
    add(&b, "", 1);
    *n = b.n - 1;
    return b.p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const char *const methods[] = {"POST", "GET", "PUT", "HEAD"};
    const int chunked = data[0] & 1;
    const char *method = methods[(data[0] >> 1) & 3];
    const uint8_t *p = data + 1, *end = data + size;

    const uint8_t *eol = memchr(p, '\n', (size_t)(end - p));
    const uint8_t *path = p;
    size_t path_n = eol ? (size_t)(eol - p) : (size_t)(end - p);
    p = eol ? eol + 1 : end;

    sbuf req = {0};
    adds(&req, method);
    adds(&req, " ");
    if (path_n == 0) {
        adds(&req, "/api/classify");
    } else {
        if (path[0] != '/')
            adds(&req, "/");
        add_clean(&req, path, path_n, 1);
    }
    adds(&req, " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    while (p < end) {
        eol = memchr(p, '\n', (size_t)(end - p));
        size_t n = eol ? (size_t)(eol - p) : (size_t)(end - p);
        const uint8_t *line = p;
        p = eol ? eol + 1 : end;
        if (n == 0)
            break;
        if (skip_header(line, n))
            continue;
        add_clean(&req, line, n, 0);
        adds(&req, "\r\n");
    }
    const uint8_t *body = p;
    size_t body_n = (size_t)(end - p);
    char num[64];
    if (chunked) {
        adds(&req, "Transfer-Encoding: chunked\r\n\r\n");
        /* uneven chunks, so the handler sees bodies in pieces of several sizes */
        for (size_t off = 0, k = 1; off < body_n; k++) {
            size_t c = (k * 97) % 600 + 1;
            if (c > body_n - off)
                c = body_n - off;
            snprintf(num, sizeof num, "%zx\r\n", c);
            adds(&req, num);
            add(&req, body + off, c);
            adds(&req, "\r\n");
            off += c;
        }
        adds(&req, "0\r\n\r\n");
    } else {
        snprintf(num, sizeof num, "Content-Length: %zu\r\n\r\n", body_n);
        adds(&req, num);
        add(&req, body, body_n);
    }

    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    /* The server closes first, so each connection leaves a TIME_WAIT entry for 60 s on its side; at
     * thousands of requests a second one source address runs out of ports. All of 127/8 is loopback:
     * each connection comes from the next address of 127.1.0.0/16. */
    static uint32_t next_src;
    struct sockaddr_in src = {.sin_family = AF_INET};
    src.sin_addr.s_addr = htonl(0x7f010000u | (1 + next_src++ % 65000));
    REQUIRE(bind(fd, (struct sockaddr *)&src, sizeof src) == 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)server_port())};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        /* a signal (libFuzzer's own timers) may interrupt connect, which then completes on its own */
        int e = errno;
        if (e == EINTR) {
            struct pollfd pf = {fd, POLLOUT, 0};
            socklen_t len = sizeof e;
            while (poll(&pf, 1, ANSWER_TIMEOUT_MS) < 0 && errno == EINTR)
                ;
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0)
                e = errno;
        }
        if (e != 0) {
            fprintf(stderr, "fuzz_serve: connect: %s\n", strerror(e));
            abort();
        }
    }
    int sent = send_all(fd, req.p, req.n);
    size_t n;
    int reset;
    char *resp = read_all(fd, &n, &reset);
    close(fd);

    if (n == 0) {
        /* Silence is allowed only where the server cuts a client off: an upload past twice the limit, or a
         * connection it had to reset while we were still sending. */
        REQUIRE(body_n > 2 * MAX_UPLOAD || !sent || reset);
    } else {
        int status = 0;
        REQUIRE(sscanf(resp, "HTTP/1.%*1[01] %3d ", &status) == 1);
        /* 500 only comes from an internal failure, which this callback never reports */
        REQUIRE(status == 200 || status == 400 || status == 404 || status == 405 || status == 413 ||
                status == 422);
        if (status != 200 || strstr(resp, "\r\n\r\n{") == NULL) {
            /* errors are JSON, apart from HEAD (no body) and the page's own files */
            const char *b = strstr(resp, "\r\n\r\n");
            REQUIRE(b != NULL);
            if (status != 200 && strcmp(method, "HEAD") != 0)
                REQUIRE(strncmp(b + 4, "{\"error\": \"", 11) == 0);
        }
    }
    free(resp);
    free(req.p);
    return 0;
}
