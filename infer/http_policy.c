/* Which Host and Origin headers the server answers: the DNS-rebinding guard and the cross-origin policy.
 *
 * DNS rebinding: a page on evil.example can have its name resolve to 127.0.0.1 after it has loaded, and
 * its scripts then reach this server as "their own" origin, reading answers and posting uploads. The Host
 * header still says evil.example, so a server that answers only the names it is served under is out of
 * their reach. Cross-origin requests: a page elsewhere can post a form here without reading the answer,
 * which still costs a classification and could feed a recording in; browsers send Origin with every POST,
 * so one that names another site is refused. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "infer/http_internal.h"

/* The name of a Host value (an IPv6 literal keeps its brackets) into name, its port into *port (-1 when
 * none). 0, or -1 when the value is not a host[:port] at all (empty, a bare IPv6 address, a port that is
 * not a number of 1-5 digits up to 65535, a name too long for cap). */
static int split_host(const char *v, size_t len, char *name, size_t cap, int *port)
{
    size_t end;
    if (len && v[0] == '[') {
        const char *rb = memchr(v, ']', len);
        if (!rb)
            return -1;
        end = (size_t)(rb - v) + 1;
    } else {
        const char *colon = memchr(v, ':', len);
        end = colon ? (size_t)(colon - v) : len;
        if (colon && memchr(colon + 1, ':', len - end - 1))
            return -1; /* IPv6 without brackets */
    }
    if (end == 0 || end >= cap)
        return -1;
    memcpy(name, v, end);
    name[end] = 0;
    *port = -1;
    if (end == len)
        return 0;
    if (v[end] != ':' || len - end - 1 < 1 || len - end - 1 > 5)
        return -1;
    int p = 0;
    for (size_t i = end + 1; i < len; i++) {
        if (!isdigit((unsigned char)v[i]))
            return -1;
        p = p * 10 + (v[i] - '0');
    }
    if (p > 65535)
        return -1;
    *port = p;
    return 0;
}

/* Whether an entry of a comma list (len bytes, spaces around it ignored) equals s, case-insensitively. */
static int item_is(const char *item, size_t len, const char *s)
{
    return strlen(s) == len && !strncasecmp(item, s, len);
}

/* Calls fn on each entry of a comma-separated list (empty entries skipped) until it returns 1. */
static int any_item(const char *list, int (*fn)(const char *item, size_t len, const void *arg), const void *arg)
{
    for (const char *p = list; p && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        while (len && p[len - 1] == ' ')
            len--;
        if (len && fn(p, len, arg))
            return 1;
        p += len;
    }
    return 0;
}

typedef struct {
    const char *name;
    int port;
} host_port;

/* An extra name: "name" allows it on any port (a proxy in front may have its own), "name:port" on that one. */
static int extra_host_matches(const char *item, size_t len, const void *arg)
{
    const host_port *h = arg;
    char name[256];
    int port;
    if (split_host(item, len, name, sizeof name, &port) != 0)
        return 0;
    return !strcasecmp(name, h->name) && (port < 0 || port == h->port);
}

int aa_http_host_allowed(const char *host, const char *bound, int port, const char *extra)
{
    if (!host)
        return 0;
    char name[256];
    int p;
    if (split_host(host, strlen(host), name, sizeof name, &p) != 0)
        return 0;
    host_port h = {name, p};
    if (any_item(extra, extra_host_matches, &h))
        return 1;
    if (p >= 0 && p != port)
        return 0;
    char b[270] = "";
    if (bound)
        snprintf(b, sizeof b, strchr(bound, ':') ? "[%s]" : "%s", bound);
    return !strcasecmp(name, "localhost") || !strcmp(name, "127.0.0.1") || !strcmp(name, "[::1]") ||
           (b[0] && !strcasecmp(name, b));
}

static int origin_is(const char *item, size_t len, const void *arg)
{
    const char *origin = arg;
    while (len && item[len - 1] == '/') /* "http://a.example/" as written in a config means the origin */
        len--;
    return item_is(item, len, origin);
}

int aa_http_origin_listed(const char *origin, const char *extra)
{
    return origin && strcmp(origin, "null") != 0 && any_item(extra, origin_is, origin);
}

int aa_http_origin_allowed(const char *origin, const char *host, const char *extra)
{
    if (!origin)
        return 1; /* not from a browser's cross-site request: curl, scripts, the page's own GETs */
    if (aa_http_origin_listed(origin, extra))
        return 1;
    if (!host || !strcmp(origin, "null"))
        return 0;
    /* the page's own requests: the origin the browser addressed, which is what Host says (https:// when a
     * proxy in front holds the certificate) */
    static const char *const schemes[] = {"http://", "https://"};
    for (int i = 0; i < 2; i++) {
        size_t n = strlen(schemes[i]);
        if (!strncasecmp(origin, schemes[i], n) && !strcasecmp(origin + n, host))
            return 1;
    }
    return 0;
}
