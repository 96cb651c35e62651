#ifndef AA_TEST_HTTPC_H
#define AA_TEST_HTTPC_H

/* A tiny HTTP/1.1 client over loopback sockets, for testing the server without curl: requests are sent
 * byte for byte as the test writes them, so malformed and slow requests are as easy as good ones. */

#include <stddef.h>

typedef struct {
    int status;     /* 0 when no status line arrived */
    char *head;     /* the status line and headers, NUL-terminated (malloc'd) */
    char *body;     /* NUL-terminated (malloc'd); body_n bytes */
    size_t body_n;
} tu_http_response;

/* Connects to 127.0.0.1:port; fails the test on error. Returns the socket. */
int tu_http_connect(int port);

/* Sends all of data; returns 0, or -1 when the peer closed or reset the connection. Never raises SIGPIPE. */
int tu_http_send(int fd, const void *data, size_t n);

/* Reads one response: until Content-Length bytes of body have arrived or the peer closes, for at most
 * timeout_s. Returns 0 when a complete response was read, -1 otherwise (r then holds what arrived). */
int tu_http_read(int fd, double timeout_s, tu_http_response *r);

/* One request on a fresh connection with "Connection: close": method, path, extra header lines (each ending
 * in \r\n, or NULL), and a body sent with Content-Length (body NULL: no body and no Content-Length).
 * Returns tu_http_read's result; the connection is closed afterwards. */
int tu_http_request(int port, const char *method, const char *path, const char *headers, const void *body,
                    size_t n, tu_http_response *r);

/* Value of a response header (case-insensitive name) copied into out, or NULL when absent. */
const char *tu_http_header(const tu_http_response *r, const char *name, char *out, size_t cap);

/* Waits until the peer closes fd (read returns 0 or an error), discarding data; returns the seconds it took,
 * or -1 when it stayed open for timeout_s. */
double tu_http_wait_closed(int fd, double timeout_s);

void tu_http_response_free(tu_http_response *r);

#endif
