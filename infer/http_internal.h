#ifndef AA_INFER_HTTP_INTERNAL_H
#define AA_INFER_HTTP_INTERNAL_H

/* Pieces of the HTTP server that are pure functions of their input, kept apart from libmicrohttpd so the
 * tests can drive them directly. Only infer/serve*.c, infer/http_*.c, infer/multipart.c and the tests
 * include this. */

#include <stddef.h>

#include "util/util.h"

#define AA_HTTP_FILENAME_MAX 256 /* 255 bytes + NUL */

/* Extracts the boundary of a "multipart/form-data; boundary=..." Content-Type (quoted or not) into out
 * (cap bytes). Returns 1 when content_type is multipart/form-data with a usable boundary (1..70 bytes, as
 * RFC 2046 allows), 0 when it is some other type, -1 when it is multipart/form-data with a missing or bad
 * boundary (err says which). */
int aa_http_multipart_boundary(const char *content_type, char *out, size_t cap, aa_error *err);

/* Finds the uploaded file in a multipart/form-data body: the first part that has a filename, else the first
 * part named "file" or "audio". On success *data / *n point into body (no copy) and filename receives the
 * part's sanitized filename ("upload" when it had none). Returns 0, or AA_SERVE_ERR_REQUEST with err
 * saying what is malformed (no opening boundary, unterminated headers, no closing boundary, no file field). */
int aa_http_multipart_file(const void *body, size_t body_n, const char *boundary, const void **data, size_t *n,
                           char filename[AA_HTTP_FILENAME_MAX], aa_error *err);

/* Reduces a client-supplied file name to something safe to echo: the part after the last '/' or '\',
 * printable ASCII only (others become '_'), at most 255 bytes, never empty, never "." or ".." (those
 * become "upload"). */
void aa_http_sanitize_filename(const char *in, size_t in_n, char out[AA_HTTP_FILENAME_MAX]);

/* 1 when data begins like an Ogg file ("OggS"), else 0. */
int aa_http_is_ogg(const void *data, size_t n);

/* Checks the Ogg container of an upload that begins with "OggS" without decoding it: every page whole, its
 * CRC correct, the first page beginning a stream, the last one ending it. Returns 0 (also for data that is not Ogg at all), or
 * AA_SERVE_ERR_AUDIO with err naming filename and the first fault and its byte offset. Uploads it refuses
 * never reach libsndfile, which leaks memory on each malformed Ogg Vorbis file it refuses. */
int aa_http_ogg_check(const void *data, size_t n, const char *filename, aa_error *err);

/* ---- Host and Origin (infer/http_policy.c) ------------------------------------------------------------ */

/* Lists are comma-separated (spaces around entries ignored, names compared case-insensitively); NULL or ""
 * is an empty list. */

/* 1 when a Host header value names this server: localhost, 127.0.0.1, [::1] or the bound address (an IPv6
 * one in brackets), without a port or with the bound port; or a name of extra: "name" with any port or
 * none, "name:port" with that port. 0 for anything else, a missing or malformed value included. */
int aa_http_host_allowed(const char *host, const char *bound, int port, const char *extra);

/* 1 when an Origin header value may send requests that change something (POST): no Origin at all (not a
 * browser's cross-site request), the origin Host names (http:// or https:// followed by the Host value),
 * or one listed in extra ("scheme://host[:port]", a trailing '/' ignored). "null" never is. */
int aa_http_origin_allowed(const char *origin, const char *host, const char *extra);

/* 1 when origin is listed in extra (as above): the origins that get CORS headers and preflight answers. */
int aa_http_origin_listed(const char *origin, const char *extra);

#endif
