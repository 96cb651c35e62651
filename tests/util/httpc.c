#include "tests/util/httpc.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/util.h"

int tu_http_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_msg(fd >= 0, "socket: %s", strerror(errno));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ck_assert_msg(connect(fd, (struct sockaddr *)&a, sizeof a) == 0, "connect 127.0.0.1:%d: %s", port,
                  strerror(errno));
    return fd;
}

int tu_http_send(int fd, const void *data, size_t n)
{
    const char *p = data;
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Complete when the head has ended and Content-Length bytes of body are there (or, without one, at EOF). */
static int parse(const char *buf, size_t n, int eof, tu_http_response *r)
{
    const char *end = NULL;
    for (size_t i = 0; i + 4 <= n; i++)
        if (!memcmp(buf + i, "\r\n\r\n", 4)) {
            end = buf + i;
            break;
        }
    if (!end)
        return -1;
    size_t hn = (size_t)(end - buf);
    free(r->head);
    r->head = malloc(hn + 1);
    ck_assert_ptr_nonnull(r->head);
    memcpy(r->head, buf, hn);
    r->head[hn] = 0;
    r->status = 0;
    sscanf(r->head, "HTTP/1.%*d %d", &r->status);
    char cl[32];
    const char *b = end + 4;
    size_t avail = n - hn - 4, want = avail;
    if (tu_http_header(r, "Content-Length", cl, sizeof cl))
        want = (size_t)strtoull(cl, NULL, 10);
    else if (!eof)
        return -1;
    if (avail < want)
        return -1;
    free(r->body);
    r->body = malloc(want + 1);
    ck_assert_ptr_nonnull(r->body);
    memcpy(r->body, b, want);
    r->body[want] = 0;
    r->body_n = want;
    return 0;
}

int tu_http_read(int fd, double timeout_s, tu_http_response *r)
{
    memset(r, 0, sizeof *r);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    double deadline = aa_now() + timeout_s;
    int done = -1, eof = 0;
    while (done != 0 && !eof) {
        double left = deadline - aa_now();
        if (left <= 0)
            break;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int pr = poll(&p, 1, (int)(left * 1000) + 1);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            break;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            ck_assert_ptr_nonnull(buf);
        }
        ssize_t got = recv(fd, buf + n, cap - n, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            eof = 1;
        else
            n += (size_t)got;
        /* a 100 Continue is not the response: skip it */
        if (n >= 25 && !memcmp(buf, "HTTP/1.1 100", 12)) {
            char *e = memchr(buf, '\n', n);
            if (e && (size_t)(e - buf) + 3 <= n && !memcmp(e + 1, "\r\n", 2)) {
                size_t skip = (size_t)(e - buf) + 3;
                memmove(buf, buf + skip, n - skip);
                n -= skip;
            }
        }
        done = parse(buf, n, eof, r);
    }
    free(buf);
    return done;
}

int tu_http_request(int port, const char *method, const char *path, const char *headers, const void *body,
                    size_t n, tu_http_response *r)
{
    int fd = tu_http_connect(port);
    char head[4096];
    int hl;
    if (body)
        hl = snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%sContent-Length: %zu\r\n\r\n",
                      method, path, headers ? headers : "", n);
    else
        hl = snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s\r\n", method,
                      path, headers ? headers : "");
    ck_assert_int_lt(hl, (int)sizeof head);
    int rc = tu_http_send(fd, head, (size_t)hl);
    if (rc == 0 && body && n)
        tu_http_send(fd, body, n); /* the server may refuse early and close: read what it said anyway */
    rc = tu_http_read(fd, 30.0, r);
    close(fd);
    return rc;
}

const char *tu_http_header(const tu_http_response *r, const char *name, char *out, size_t cap)
{
    if (!r->head)
        return NULL;
    size_t nl = strlen(name);
    const char *line = strchr(r->head, '\n');
    while (line) {
        line++;
        if (!strncasecmp(line, name, nl) && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ')
                v++;
            size_t i = 0;
            while (v[i] && v[i] != '\r' && v[i] != '\n' && i + 1 < cap) {
                out[i] = v[i];
                i++;
            }
            out[i] = 0;
            return out;
        }
        line = strchr(line, '\n');
    }
    return NULL;
}

double tu_http_wait_closed(int fd, double timeout_s)
{
    double t0 = aa_now();
    char buf[4096];
    for (;;) {
        double left = t0 + timeout_s - aa_now();
        if (left <= 0)
            return -1;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int pr = poll(&p, 1, (int)(left * 1000) + 1);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr == 0)
            return -1;
        ssize_t got = recv(fd, buf, sizeof buf, 0);
        if (got <= 0 && !(got < 0 && errno == EINTR))
            return aa_now() - t0;
    }
}

void tu_http_response_free(tu_http_response *r)
{
    free(r->head);
    free(r->body);
    memset(r, 0, sizeof *r);
}
