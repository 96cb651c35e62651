#ifndef AA_INFER_SERVE_H
#define AA_INFER_SERVE_H

/* The HTTP server behind `aa-infer --serve`: the embedded web page and a small JSON API.
 *
 *   GET  /                the page (infer/web/index.html); GET /<asset> the other files of infer/web/
 *   POST /api/classify    body: the audio file's bytes (any Content-Type), or a multipart/form-data form
 *                         with a file field -> the classify callback's JSON object
 *   POST /api/timeline    the same bodies -> the timeline callback's JSON object; query parameters (at most
 *                         AA_SERVE_QUERY_MAX, keys under 32 bytes, values under 64) go to the callback
 *   GET  /api/model       the handler's model_json
 *   GET  /healthz         {"status":"ok"}
 *
 * Errors are one line of JSON, {"error": "..."}, with a 4xx/5xx status: 400 malformed body or form, or a
 * length stated twice (two Content-Length headers, or one with Transfer-Encoding: request smuggling), 403
 * a POST or CORS preflight from an origin not allowed, 404 unknown path, 405 wrong method (with Allow), 413
 * upload over the limit, 421 a Host header naming another server (DNS rebinding), 422 audio the callback
 * could not use, 500 internal failure, 503 (with Retry-After) when the uploads in progress already hold
 * max_buffered, when max_timelines timelines are already queued or running, or the server is stopping.
 *
 * Host and Origin: only requests whose Host names this server are answered (localhost, 127.0.0.1, [::1],
 * the bound host, each without a port or with the bound one, and allow_hosts); /healthz answers any.
 * A POST whose Origin is neither the page's own (http:// or https:// and the Host value) nor one of
 * allow_origins is refused; a CORS preflight is answered only for allow_origins, which also get
 * Access-Control-Allow-Origin on their answers. Requests without Origin (curl, scripts) are not affected.
 *
 * Hostile clients: a slow or idle connection costs one socket and at most libmicrohttpd's 32 KB pool; one
 * address can hold at most max_per_ip of them and all together max_connections, so a slowloris or a
 * connection flood from one host cannot take the server from others; the memory held by uploads in
 * progress is capped by max_buffered.
 *
 * Privacy: uploads live only in memory, in a buffer owned by the request; the buffer is wiped and freed
 * when the response has been sent (or the connection dropped), and nothing received is written to disk.
 *
 * Threads: libmicrohttpd runs n_workers event threads (a thread pool sharing the listening socket); each
 * one multiplexes its connections, so a slow client costs a socket, not a thread. They answer everything
 * but the classification itself: an upload whose body is complete is queued (first come, first served)
 * for n_workers classify threads of the server's own, worker i always calling with slot i, and its
 * connection waits, suspended, until the answer is ready. So /healthz, the page and /api/model are
 * answered at once however long the uploads ahead take. */

#include <stddef.h>

#include "util/util.h"

/* Error codes: AA_SERVE_ERR_* in util/util.h. The classify callback also picks the HTTP status of its
 * failure with its code (aa_serve_http_status): 422 when the upload is not usable audio (AA_SERVE_ERR_AUDIO,
 * AM_ERR_AUDIO, or a front-end verdict on the bytes: DSP_ERR_EMPTY, _FORMAT, _TOO_SHORT, _NONFINITE, _RATE,
 * _CHANNELS, _DECODE, _TOO_LONG), 400 AA_SERVE_ERR_REQUEST, 503 AA_SERVE_ERR_BUSY, anything else 500. */

/* The query parameters of a request ("?hop=0.5&smooth=3"), decoded, in the order given. */
#define AA_SERVE_QUERY_MAX 8
typedef struct {
    int n;
    char key[AA_SERVE_QUERY_MAX][32];
    char value[AA_SERVE_QUERY_MAX][64]; /* "" for a key without '=' */
} aa_serve_query;

typedef struct {
    /* Body bytes of an uploaded file -> *json_out, a malloc'd JSON object (the server frees it after
     * sending), and 0; or non-zero with err filled (err->code picks the status, err->msg is the reason
     * shown to the client). filename is the uploaded file's base name, or "upload" when none was given;
     * it is printable ASCII, at most 255 bytes. Called concurrently for different slot values, never twice
     * at once with the same one; 0 <= slot < n_workers, so ctx may keep per-slot scratch memory. audio is
     * only valid during the call. */
    int (*classify)(void *ctx, int slot, const void *audio, size_t n, const char *filename, char **json_out,
                    aa_error *err);
    void *ctx;
    const char *model_json; /* body of GET /api/model; NULL -> 404. Must outlive the server. */
    /* POST /api/timeline (NULL: 404): as classify, with the request's query parameters and its own ctx. */
    int (*timeline)(void *ctx, int slot, const void *audio, size_t n, const char *filename,
                    const aa_serve_query *query, char **json_out, aa_error *err);
    /* Called with the headers of a timeline request, before any of its body is read (may be NULL): non-zero
     * with err->msg answers 400 at once, so a bad parameter costs no upload. */
    int (*timeline_query)(void *ctx, const aa_serve_query *query, aa_error *err);
    void *timeline_ctx;
} aa_serve_handler;

typedef struct {
    const char *host;      /* address to bind: "127.0.0.1" (default), "::1", "0.0.0.0", "localhost", ... */
    int port;              /* 8501; 0 picks a free port (see aa_serve_port) */
    int n_workers;         /* classify threads = slots, and as many event threads; default: online CPUs,
                            * at most 8 */
    size_t max_upload;     /* body limit in bytes; default 20 MB (20 * 1024 * 1024) -> 413 above */
    int timeout_s;         /* a connection idle this long is closed; default 15 */
    int max_connections;   /* concurrent connections; more wait in the listen queue; default 512 */
    int max_per_ip;        /* concurrent connections from one address; more are closed at accept; default
                            * 32 (a browser opens at most 6); 0: no per-address limit */
    int request_timeout_s; /* a body still arriving after this long is cut off; default 120 */
    size_t max_buffered;   /* bytes of uploads held in memory at once, over all connections; an upload that
                            * would pass it is answered 503; default 8 x max_upload (0: that default) */
    int max_timelines;     /* timelines queued or running at once (each may hold a worker for long); one
                            * more is answered 503, so clips are not stuck behind them; default (0): half
                            * the workers, at least 1 */
    /* Host names answered besides localhost, 127.0.0.1, [::1] and host: each entry "name" (any port) or
     * "name:port", or several of them separated by commas. Default none. */
    const char *const *allow_hosts;
    int n_allow_hosts;
    /* Origins ("scheme://host[:port]", or comma lists of them) allowed to send requests from their pages
     * and to read the answers (CORS). Default none: only the page's own origin. */
    const char *const *allow_origins;
    int n_allow_origins;
} aa_serve_config;

typedef struct aa_serve aa_serve;

/* Fills c with the defaults above. */
void aa_serve_config_default(aa_serve_config *c);

/* Binds, listens and starts serving in background threads. cfg and handler are copied (handler->ctx and
 * handler->model_json must stay valid until aa_serve_stop). On success *out owns the server (free it with
 * aa_serve_stop); on failure returns an AA_SERVE_ERR_* code with err naming the address and the reason. */
int aa_serve_start(const aa_serve_config *cfg, const aa_serve_handler *handler, aa_serve **out, aa_error *err);

/* The bound TCP port (the one picked when cfg->port was 0). */
int aa_serve_port(const aa_serve *s);

/* 1 when the server listens on a loopback address only (127.0.0.0/8, ::1); 0 when other machines may reach
 * it (0.0.0.0, ::, a network interface's address), which the caller should say. */
int aa_serve_is_loopback(const aa_serve *s);

/* Closes every connection, waits for callbacks in progress, joins the threads and frees s. NULL is allowed. */
void aa_serve_stop(aa_serve *s);

/* The HTTP status a classify error code maps to (422, 400, 503 or 500; see above). */
int aa_serve_http_status(int code);

/* ---- JSON and base64 for handlers ------------------------------------------------------------------------- */

/* {"error": "<msg>"} followed by a newline, malloc'd (caller frees); NULL only when out of memory. */
char *aa_http_json_error(const char *msg);

/* Standard base64 (RFC 4648, with padding) of n bytes, NUL-terminated and malloc'd (caller frees); NULL
 * when out of memory. The handler uses it for the log-mel image in its JSON. */
char *aa_http_base64(const void *data, size_t n);

#endif
