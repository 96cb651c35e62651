/* The HTTP server: libmicrohttpd underneath, routes, Host and Origin checks, upload limits, classify workers.
 *
 * Every request is first checked for an ambiguous length, a Host that is not this server's and a foreign
 * Origin (infer/http_policy.c). A request to POST /api/classify or /api/timeline then goes through the access handler
 * several times: once with its headers (refused right there when Content-Length is over the limit or the
 * form has no boundary), once per chunk of body (appended to the request's own buffer; past the limit the
 * buffer is dropped and the rest discarded), once when the body is complete (queued for a worker, the
 * connection suspended), and once more when the worker has resumed it (answered). The request's buffer is
 * wiped and freed in the completion callback, which libmicrohttpd calls whether the response was sent or
 * the client went away, so nothing received outlives its request and nothing of it reaches the disk.
 *
 * Malformed HTTP itself (a bad request line, broken chunk framing, headers over 32 KB) is answered by
 * libmicrohttpd before any of this runs, with its own short HTML error page. */
#include "infer/serve.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dsp/dsp.h"
#include "infer/assets.h"
#include "infer/http_internal.h"
#include "infer/mhd.h"

/* Every libmicrohttpd call goes through the table aa_serve_start loaded (infer/mhd.h); none can run
 * before it, since they all act on its daemon. */
#define MHD_start_daemon(...) inf_mhd()->start_daemon(__VA_ARGS__)
#define MHD_stop_daemon(d) inf_mhd()->stop_daemon(d)
#define MHD_create_response_from_buffer(n, d, m) inf_mhd()->create_response_from_buffer(n, d, m)
#define MHD_add_response_header(r, k, v) inf_mhd()->add_response_header(r, k, v)
#define MHD_queue_response(c, st, r) inf_mhd()->queue_response(c, st, r)
#define MHD_destroy_response(r) inf_mhd()->destroy_response(r)
#define MHD_lookup_connection_value(c, k, key) inf_mhd()->lookup_connection_value(c, k, key)
#define MHD_get_connection_values(c, k, it, cls) inf_mhd()->get_connection_values(c, k, it, cls)
#define MHD_suspend_connection(c) inf_mhd()->suspend_connection(c)
#define MHD_resume_connection(c) inf_mhd()->resume_connection(c)

#define WORKERS_MAX 64
/* spelled out: libmicrohttpd renamed these constants between releases */
#define HTTP_TOO_LARGE 413
#define HTTP_UNPROCESSABLE 422
#define HTTP_UNAVAILABLE 503
#define HTTP_MISDIRECTED 421

typedef struct request request;

typedef struct {
    struct aa_serve *s;
    int slot; /* the classify slot this worker owns */
} worker;

struct aa_serve {
    struct MHD_Daemon *daemon;
    aa_serve_handler h;
    aa_serve_config cfg; /* its pointers are not kept: the lists below are the server's own copies */
    int port;
    int loopback;        /* the listening address is a loopback one */
    char *bound_host;    /* cfg.host: a name Host may carry */
    char *allow_hosts;   /* cfg.allow_hosts joined with commas; NULL when none */
    char *allow_origins; /* cfg.allow_origins likewise */

    pthread_mutex_t mu;
    pthread_cond_t work;   /* a job was queued, or the server is stopping */
    request *head, *tail;  /* uploads waiting for a worker, oldest first; under mu */
    int stopping;          /* under mu: no more jobs are queued */
    int n_threads;         /* workers started */
    pthread_t threads[WORKERS_MAX];
    worker workers[WORKERS_MAX];
    size_t buffered; /* bytes reserved by upload buffers, at most cfg.max_buffered; under mu */
    int timelines;   /* timeline requests queued or running, at most cfg.max_timelines; under mu */
};

/* Where an upload is: its body arriving, queued for a worker (its connection suspended), answered by the
 * worker (the connection resumed, the answer about to be sent). */
enum { Q_RECEIVING, Q_QUEUED, Q_ANSWERED };

struct request {
    unsigned char *body; /* the upload: [n] bytes, capacity cap; wiped before free */
    size_t n, cap;
    double t0;           /* when the headers arrived, for request_timeout_s */
    int multipart;
    int too_large;       /* the body passed the limit; the rest is being discarded */
    int no_room;         /* the uploads in progress hold max_buffered; the rest is being discarded -> 503 */
    unsigned long long seen; /* bytes of body received once too_large or no_room */
    char boundary[72];
    char filename[AA_HTTP_FILENAME_MAX];
    int route;                 /* ROUTE_CLASSIFY or ROUTE_TIMELINE */
    int holds_timeline;        /* counted in s->timelines until its work is done or it is freed */
    aa_serve_query query;      /* a timeline's parameters */
    /* the classify job, once the body is in */
    int state;                 /* Q_*; Q_ANSWERED is written by the worker before it resumes the connection */
    struct MHD_Connection *conn;
    const void *audio;         /* the file: the body itself, or a part of a form in it */
    size_t audio_n;
    request *next;             /* in the queue */
    unsigned status;           /* the answer, once Q_ANSWERED: status and a malloc'd body (NULL: no memory) */
    char *answer;
};

enum { ROUTE_NONE, ROUTE_ASSET, ROUTE_CLASSIFY, ROUTE_TIMELINE, ROUTE_MODEL, ROUTE_HEALTH };

/* ---- configuration -------------------------------------------------------------------------------------- */

void aa_serve_config_default(aa_serve_config *c)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    memset(c, 0, sizeof *c);
    c->host = "127.0.0.1";
    c->port = 8501;
    c->n_workers = cpus < 1 ? 1 : cpus > 8 ? 8 : (int)cpus;
    c->max_upload = (size_t)20 * 1024 * 1024;
    c->timeout_s = 15;
    /* 512 sockets fit the usual 1024-descriptor limit; one host alone may hold 32 of them */
    c->max_connections = 512;
    c->max_per_ip = 32;
    c->request_timeout_s = 120;
    c->max_buffered = 0; /* 8 x max_upload, resolved at start */
}

int aa_serve_http_status(int code)
{
    /* the front end's verdicts on the bytes themselves, whichever module relays them */
    if (dsp_status_is_input(code))
        return HTTP_UNPROCESSABLE;
    switch (code) {
    case AA_SERVE_ERR_AUDIO:
    case AM_ERR_AUDIO: return HTTP_UNPROCESSABLE;
    case AA_SERVE_ERR_REQUEST: return MHD_HTTP_BAD_REQUEST;
    case AA_SERVE_ERR_BUSY: return HTTP_UNAVAILABLE;
    default: return MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
}

/* ---- responses ------------------------------------------------------------------------------------------ */

/* How a response is sent (send_buffer's flags). */
enum {
    R_CACHEABLE = 1, /* a file of the page: revalidated rather than never stored */
    R_CLOSE = 2,     /* the connection is closed after it: what follows on it cannot be trusted */
};

/* Every response: no MIME sniffing, no referrer, not framed. The page's CSP allows only this origin, so no
 * script, style, font or connection can reach anywhere else; recordings never leave except to /api. */
static void add_common_headers(struct MHD_Response *r, int cacheable)
{
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                            "connect-src 'self'; media-src 'self' blob:; worker-src 'self'; "
                            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
    MHD_add_response_header(r, "Permissions-Policy", "microphone=(self), camera=(), geolocation=()");
    /* results and errors are never cached; the page's files are revalidated so an upgrade shows at once */
    MHD_add_response_header(r, "Cache-Control", cacheable ? "no-cache" : "no-store");
}

/* Queues a response of n bytes at data: owned (malloc'd, libmicrohttpd frees it) or static (outlives the
 * server). allow: the Allow header of a 405, else NULL. flags: R_*. */
/* Cross-origin answers: only an origin of --allow-origin is told it may read them. The answers depend on
 * Origin only when such origins are set, and caches are told so then. */
static void add_cors_headers(const aa_serve *s, struct MHD_Connection *c, struct MHD_Response *r)
{
    if (!s->allow_origins)
        return;
    MHD_add_response_header(r, "Vary", "Origin");
    const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    if (aa_http_origin_listed(origin, s->allow_origins))
        MHD_add_response_header(r, "Access-Control-Allow-Origin", origin);
}

static enum MHD_Result send_buffer(const aa_serve *s, struct MHD_Connection *c, unsigned status, void *data,
                                   size_t n, int owned, const char *type, const char *allow, unsigned flags)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(n, data, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        if (owned)
            free(data);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (allow)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    if (status == HTTP_UNAVAILABLE)
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    if (flags & R_CLOSE)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    add_common_headers(r, (flags & R_CACHEABLE) != 0);
    add_cors_headers(s, c, r);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

#define JSON_TYPE "application/json"

/* json: malloc'd, or NULL when it could not be made (then the connection is dropped: out of memory). */
static enum MHD_Result send_json(const aa_serve *s, struct MHD_Connection *c, unsigned status, char *json,
                                 const char *allow, unsigned flags)
{
    if (!json)
        return MHD_NO;
    return send_buffer(s, c, status, json, strlen(json), 1, JSON_TYPE, allow, flags);
}

static enum MHD_Result send_error(const aa_serve *s, struct MHD_Connection *c, unsigned status, const char *allow,
                                  const char *msg)
{
    return send_json(s, c, status, aa_http_json_error(msg), allow, 0);
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* ---- routing -------------------------------------------------------------------------------------------- */

static const aa_asset *find_asset(const char *url)
{
    if (!strcmp(url, "/"))
        url = "/index.html";
    for (const aa_asset *a = aa_assets; a->path; a++)
        if (!strcmp(a->path, url))
            return a;
    return NULL;
}

static int route_of(const aa_serve *s, const char *url, const aa_asset **asset)
{
    *asset = NULL;
    if (!strcmp(url, "/api/classify"))
        return ROUTE_CLASSIFY;
    if (!strcmp(url, "/api/timeline"))
        return s->h.timeline ? ROUTE_TIMELINE : ROUTE_NONE;
    if (!strcmp(url, "/api/model"))
        return ROUTE_MODEL;
    if (!strcmp(url, "/healthz"))
        return ROUTE_HEALTH;
    if ((*asset = find_asset(url)) != NULL)
        return ROUTE_ASSET;
    return ROUTE_NONE;
}

static int is_get(const char *method)
{
    return !strcmp(method, MHD_HTTP_METHOD_GET) || !strcmp(method, MHD_HTTP_METHOD_HEAD);
}

static enum MHD_Result method_not_allowed(const aa_serve *s, struct MHD_Connection *c, const char *method,
                                          const char *allow)
{
    char msg[128];
    snprintf(msg, sizeof msg, "method %.32s not allowed here (allowed: %s)", method, allow);
    return send_error(s, c, MHD_HTTP_METHOD_NOT_ALLOWED, allow, msg);
}

/* The GET routes, answered from their headers alone. */
static enum MHD_Result answer_get(const aa_serve *s, struct MHD_Connection *c, int route, const aa_asset *asset,
                                  const char *method)
{
    if (!is_get(method))
        return method_not_allowed(s, c, method, "GET, HEAD");
    switch (route) {
    case ROUTE_ASSET:
        return send_buffer(s, c, MHD_HTTP_OK, (void *)asset->data, asset->size, 0, asset->content_type, NULL,
                           R_CACHEABLE);
    case ROUTE_HEALTH:
        return send_json(s, c, MHD_HTTP_OK, dup_str("{\"status\":\"ok\"}\n"), NULL, 0);
    default:
        if (!s->h.model_json)
            return send_error(s, c, MHD_HTTP_NOT_FOUND, NULL, "no model information available");
        return send_buffer(s, c, MHD_HTTP_OK, (void *)s->h.model_json, strlen(s->h.model_json), 0, JSON_TYPE, NULL,
                           0);
    }
}

/* ---- classify workers ----------------------------------------------------------------------------------- */

/* Uploads are classified by n_workers threads of our own, not by libmicrohttpd's event threads: a
 * connection whose upload is complete is suspended and queued, a worker classifies it with its own slot
 * and resumes it, and the event thread sends the answer. An event thread that classified itself stopped
 * every other connection it multiplexed for as long as the call took, /healthz and the page's files
 * included: four uploads that each took seconds to refuse left /healthz unanswered for as long. */

static void answer_job(request *q, unsigned status, char *json)
{
    q->status = status;
    q->answer = json;
    q->state = Q_ANSWERED;
}

/* The classify call of one job and the answer it makes (status and JSON body). */
static void run_job(aa_serve *s, int slot, request *q)
{
    aa_error err = {0};
    char *json = NULL;
    const void *audio = q->audio ? q->audio : "";
    int rc = q->route == ROUTE_TIMELINE
                 ? s->h.timeline(s->h.timeline_ctx, slot, audio, q->audio_n, q->filename, &q->query, &json, &err)
                 : s->h.classify(s->h.ctx, slot, audio, q->audio_n, q->filename, &json, &err);
    if (rc != 0) {
        free(json);
        if (!err.msg[0])
            snprintf(err.msg, sizeof err.msg, "%s: classification failed", q->filename);
        answer_job(q, (unsigned)aa_serve_http_status(err.code ? err.code : rc), aa_http_json_error(err.msg));
    } else if (!json) {
        answer_job(q, MHD_HTTP_INTERNAL_SERVER_ERROR, aa_http_json_error("classifier returned no result"));
    } else {
        answer_job(q, MHD_HTTP_OK, json);
    }
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    aa_serve *s = w->s;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->head && !s->stopping)
            pthread_cond_wait(&s->work, &s->mu);
        request *q = s->head;
        if (!q)
            break; /* stopping, and aa_serve_stop has answered what was still queued */
        s->head = q->next;
        if (!s->head)
            s->tail = NULL;
        pthread_mutex_unlock(&s->mu);
        struct MHD_Connection *c = q->conn;
        run_job(s, w->slot, q);
        /* A timeline's share of the workers ends with its work, not when libmicrohttpd has sent the answer
         * and freed the request: a client that posts its next timeline as soon as it reads the answer
         * would otherwise find the room still taken and be told 503. */
        pthread_mutex_lock(&s->mu);
        if (q->holds_timeline) {
            s->timelines--;
            q->holds_timeline = 0;
        }
        pthread_mutex_unlock(&s->mu);
        /* q belongs to the connection again from here: it is freed once the answer is sent */
        MHD_resume_connection(c);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* Queues a complete upload for the workers and suspends its connection; 0, or -1 when the server is
 * stopping (nothing queued, the caller answers). Called from the access handler, the only place
 * libmicrohttpd lets a connection be suspended. */
static int job_queue(aa_serve *s, struct MHD_Connection *c, request *q)
{
    pthread_mutex_lock(&s->mu);
    if (s->stopping) {
        pthread_mutex_unlock(&s->mu);
        return -1;
    }
    q->conn = c;
    q->state = Q_QUEUED;
    q->next = NULL;
    /* suspended before a worker can see it, so that its resume never comes first */
    MHD_suspend_connection(c);
    if (s->tail)
        s->tail->next = q;
    else
        s->head = q;
    s->tail = q;
    pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

/* Stops the workers: uploads still queued are answered 503 and resumed, the calls in progress finish.
 * libmicrohttpd must not be stopped with a connection still suspended. */
static void workers_stop(aa_serve *s)
{
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    request *q = s->head;
    s->head = s->tail = NULL;
    pthread_cond_broadcast(&s->work);
    pthread_mutex_unlock(&s->mu);
    while (q) {
        request *next = q->next;
        struct MHD_Connection *c = q->conn;
        answer_job(q, HTTP_UNAVAILABLE, aa_http_json_error("server stopping: try again later"));
        MHD_resume_connection(c);
        q = next;
    }
    for (int i = 0; i < s->n_threads; i++)
        pthread_join(s->threads[i], NULL);
    s->n_threads = 0;
}

/* ---- upload memory -------------------------------------------------------------------------------------- */

/* Upload buffers are reserved against max_buffered before they are allocated, so that many connections
 * each promising or sending a large body cannot together take more memory than that. Returns 0, or -1
 * when n more bytes would pass the budget (nothing reserved then). */
static int budget_take(aa_serve *s, size_t n)
{
    pthread_mutex_lock(&s->mu);
    int ok = n <= s->cfg.max_buffered - s->buffered;
    if (ok)
        s->buffered += n;
    pthread_mutex_unlock(&s->mu);
    return ok ? 0 : -1;
}

static void budget_give(aa_serve *s, size_t n)
{
    pthread_mutex_lock(&s->mu);
    s->buffered -= n;
    pthread_mutex_unlock(&s->mu);
}

/* ---- POST /api/classify --------------------------------------------------------------------------------- */

/* Wipes and frees the request's buffer and gives its reservation back; the request itself stays. */
static void request_drop_body(aa_serve *s, request *q)
{
    if (q->body) {
        /* the recording is gone once answered; only the first n bytes were ever written (the rest of a
         * buffer sized from Content-Length may be untouched pages, better left unmapped) */
        explicit_bzero(q->body, q->n);
        free(q->body);
    }
    if (q->cap)
        budget_give(s, q->cap);
    q->body = NULL;
    q->n = q->cap = 0;
}

static void request_free(aa_serve *s, request *q)
{
    if (!q)
        return;
    request_drop_body(s, q);
    if (q->holds_timeline) {
        pthread_mutex_lock(&s->mu);
        s->timelines--;
        pthread_mutex_unlock(&s->mu);
    }
    free(q->answer); /* sent answers were handed to libmicrohttpd; this one never was */
    explicit_bzero(q, sizeof *q);
    free(q);
}

static enum MHD_Result no_room(const aa_serve *s, struct MHD_Connection *c)
{
    return send_error(s, c, HTTP_UNAVAILABLE, NULL,
                      "server busy: the uploads in progress use all the memory set aside for them; try again");
}

static enum MHD_Result too_large(const aa_serve *s, struct MHD_Connection *c, unsigned long long got)
{
    char msg[160];
    snprintf(msg, sizeof msg, "upload too large: %llu bytes, over the limit of %zu bytes", got, s->cfg.max_upload);
    return send_error(s, c, HTTP_TOO_LARGE, NULL, msg);
}

typedef struct {
    aa_serve_query *q;
    const char *fault; /* the first reason the query cannot be passed on, or NULL */
} query_collect;

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    query_collect *qc = cls;
    aa_serve_query *q = qc->q;
    if (qc->fault)
        return MHD_NO;
    if (q->n == AA_SERVE_QUERY_MAX)
        qc->fault = "too many query parameters";
    else if (!key || strlen(key) >= sizeof q->key[0])
        qc->fault = "a query parameter's name is too long";
    else if (value && strlen(value) >= sizeof q->value[0])
        qc->fault = "a query parameter's value is too long";
    if (qc->fault)
        return MHD_NO;
    snprintf(q->key[q->n], sizeof q->key[0], "%s", key);
    snprintf(q->value[q->n], sizeof q->value[0], "%s", value ? value : "");
    q->n++;
    return MHD_YES;
}

/* First call of an upload (classify or timeline): check what the headers promise, set up the buffer. */
static enum MHD_Result classify_begin(aa_serve *s, struct MHD_Connection *c, int route, void **con_cls)
{
    aa_error err = {0};
    aa_serve_query query = {0};
    if (route == ROUTE_TIMELINE) {
        query_collect qc = {&query, NULL};
        MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_query, &qc);
        if (qc.fault)
            return send_error(s, c, MHD_HTTP_BAD_REQUEST, NULL, qc.fault);
        if (s->h.timeline_query && s->h.timeline_query(s->h.timeline_ctx, &query, &err) != 0)
            return send_error(s, c, MHD_HTTP_BAD_REQUEST, NULL, err.msg[0] ? err.msg : "bad query parameters");
    }
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    unsigned long long declared = 0;
    if (cl) {
        char *end;
        errno = 0;
        declared = strtoull(cl, &end, 10);
        if (errno || end == cl || declared > s->cfg.max_upload)
            return too_large(s, c, errno ? ULLONG_MAX : declared);
    }
    request *q = calloc(1, sizeof *q);
    if (!q)
        return MHD_NO;
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    int mp = aa_http_multipart_boundary(ct, q->boundary, sizeof q->boundary, &err);
    if (mp < 0) {
        free(q);
        return send_error(s, c, MHD_HTTP_BAD_REQUEST, NULL, err.msg);
    }
    q->multipart = mp;
    q->route = route;
    q->query = query;
    const char *fn = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Filename");
    aa_http_sanitize_filename(fn ? fn : "", fn ? strlen(fn) : 0, q->filename);
    if (declared > 0) {
        if (budget_take(s, (size_t)declared) != 0) {
            free(q);
            return no_room(s, c);
        }
        q->body = malloc((size_t)declared);
        if (!q->body) {
            budget_give(s, (size_t)declared);
            free(q);
            return MHD_NO;
        }
        q->cap = (size_t)declared;
    }
    q->t0 = aa_now();
    *con_cls = q;
    return MHD_YES;
}

/* A chunk of body: keep it, unless it takes the upload past the limit. libmicrohttpd cannot queue a response
 * in the middle of a body, so an upload found too large while streaming (no Content-Length, e.g. chunked)
 * is dropped from memory at once and the rest of it read and discarded, up to as much again, so that the
 * client gets its 413; a body still going past that is cut off by closing the connection. */
static enum MHD_Result classify_chunk(aa_serve *s, request *q, const char *data, size_t n)
{
    if (aa_now() - q->t0 > s->cfg.request_timeout_s)
        return MHD_NO; /* a body dribbled in for too long: drop the connection */
    if (q->too_large || q->no_room) {
        q->seen += n;
        return q->seen > 2 * (unsigned long long)s->cfg.max_upload ? MHD_NO : MHD_YES;
    }
    if (n > s->cfg.max_upload - q->n) {
        q->too_large = 1;
        q->seen = (unsigned long long)q->n + n;
        request_drop_body(s, q);
        return MHD_YES;
    }
    if (q->n + n > q->cap) {
        /* never more than the upload limit: a small limit may leave a budget (8 x the limit) under 64 KB */
        size_t nc = q->cap ? q->cap : 64 * 1024 < s->cfg.max_upload ? 64 * 1024 : s->cfg.max_upload;
        while (nc < q->n + n)
            nc = nc > s->cfg.max_upload / 2 ? s->cfg.max_upload : nc * 2;
        if (budget_take(s, nc - q->cap) != 0) {
            q->no_room = 1;
            q->seen = (unsigned long long)q->n + n;
            request_drop_body(s, q);
            return MHD_YES;
        }
        unsigned char *nb = malloc(nc);
        if (!nb) {
            budget_give(s, nc - q->cap);
            return MHD_NO;
        }
        /* copy rather than realloc, so that no stale copy of the upload is left in freed memory */
        if (q->body) {
            memcpy(nb, q->body, q->n);
            explicit_bzero(q->body, q->n);
            free(q->body);
        }
        q->body = nb;
        q->cap = nc;
    }
    memcpy(q->body + q->n, data, n);
    q->n += n;
    return MHD_YES;
}

/* The whole body is in: find the audio and queue it for a worker; called again once the worker has
 * answered, to send that answer. */
static enum MHD_Result classify_end(aa_serve *s, struct MHD_Connection *c, request *q)
{
    if (q->state == Q_ANSWERED) {
        char *json = q->answer;
        q->answer = NULL;
        request_drop_body(s, q); /* the recording is not needed to send the answer */
        return send_json(s, c, q->status, json, NULL, 0);
    }
    if (q->too_large)
        return too_large(s, c, q->seen);
    if (q->no_room)
        return no_room(s, c);
    const void *audio = q->body;
    size_t n = q->n;
    aa_error err = {0};
    if (q->multipart &&
        aa_http_multipart_file(q->body, q->n, q->boundary, &audio, &n, q->filename, &err) != 0)
        return send_error(s, c, MHD_HTTP_BAD_REQUEST, NULL, err.msg);
    if (n == 0)
        return send_error(s, c, MHD_HTTP_BAD_REQUEST, NULL,
                          q->multipart ? "the uploaded file is empty" : "empty request body: send the audio file's bytes");
    q->audio = audio;
    q->audio_n = n;
    if (q->route == ROUTE_TIMELINE) {
        /* the memory budget bounds what uploads hold; this bounds how long the workers are held */
        pthread_mutex_lock(&s->mu);
        int room = s->timelines < s->cfg.max_timelines;
        s->timelines += room;
        pthread_mutex_unlock(&s->mu);
        if (!room) {
            char msg[160];
            snprintf(msg, sizeof msg, "server busy: %d timeline%s already in progress; try again later",
                     s->cfg.max_timelines, s->cfg.max_timelines == 1 ? "" : "s");
            return send_error(s, c, HTTP_UNAVAILABLE, NULL, msg);
        }
        q->holds_timeline = 1;
    }
    if (job_queue(s, c, q) != 0)
        return send_error(s, c, HTTP_UNAVAILABLE, NULL, "server stopping: try again later");
    return MHD_YES;
}

/* ---- Host and Origin (infer/http_policy.c has the rules) ----------------------------------------------- */

static const char *header(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* 421: this server is not the one the browser was sent to (DNS rebinding). */
static enum MHD_Result refuse_host(const aa_serve *s, struct MHD_Connection *c, const char *host)
{
    /* the bound host is named when it is not one of the three already */
    const char *b = s->bound_host;
    int own = !strcasecmp(b, "localhost") || !strcmp(b, "127.0.0.1") || !strcmp(b, "::1");
    char msg[400];
    snprintf(msg, sizeof msg, "host '%.100s' is not served here: only localhost, 127.0.0.1, [::1]%s%s%.60s%s%s%.100s "
             "(add names with --allow-host)", host ? host : "(none)", own ? "" : ", ",
             own || !strchr(b, ':') ? "" : "[", own ? "" : b, own || !strchr(b, ':') ? "" : "]",
             s->allow_hosts ? ", " : "", s->allow_hosts ? s->allow_hosts : "");
    return send_json(s, c, HTTP_MISDIRECTED, aa_http_json_error(msg), NULL, 0);
}

static enum MHD_Result refuse_origin(const aa_serve *s, struct MHD_Connection *c, const char *origin)
{
    char msg[300];
    snprintf(msg, sizeof msg, "cross-origin request refused: origin '%.100s' is not allowed (see --allow-origin)",
             origin);
    return send_error(s, c, MHD_HTTP_FORBIDDEN, NULL, msg);
}

/* A CORS preflight (OPTIONS with Origin): answered yes, with what may follow, only for an origin of
 * allow_origins; any other is told no explicitly, with no Access-Control-Allow-Origin, so the browser does
 * not send the request it asked about. */
static enum MHD_Result preflight(const aa_serve *s, struct MHD_Connection *c, const char *origin)
{
    if (!aa_http_origin_listed(origin, s->allow_origins))
        return refuse_origin(s, c, origin);
    struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Access-Control-Allow-Methods", "GET, HEAD, POST");
    MHD_add_response_header(r, "Access-Control-Allow-Headers", "Content-Type, X-Filename");
    MHD_add_response_header(r, "Access-Control-Max-Age", "600");
    add_common_headers(r, 0);
    add_cors_headers(s, c, r);
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_NO_CONTENT, r);
    MHD_destroy_response(r);
    return ret;
}

/* ---- request framing ------------------------------------------------------------------------------------ */

typedef struct {
    int content_length, transfer_encoding; /* how many of each header the request has */
} framing;

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind; (void)value;
    framing *f = cls;
    if (!strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH))
        f->content_length++;
    else if (!strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING))
        f->transfer_encoding++;
    return MHD_YES;
}

/* Request smuggling: when a request's length can be read two ways, a proxy in front and this server may
 * disagree on where it ends, and the rest becomes a request nobody checked. libmicrohttpd takes the first
 * Content-Length and ignores the others, so two that disagree were accepted. Refused here, before any
 * route: several Content-Length headers, even identical ones (RFC 9110 lets a recipient merge those; no
 * client needs to send them, and refusing leaves nothing to interpret), and Content-Length beside
 * Transfer-Encoding (RFC 9112 6.1 allows refusing it; a proxy that honours the other one is the attack).
 * NULL when the framing is unambiguous, else the reason. */
static const char *framing_fault(struct MHD_Connection *c)
{
    framing f = {0};
    MHD_get_connection_values(c, MHD_HEADER_KIND, count_framing, &f);
    if (f.content_length > 1)
        return "ambiguous request: more than one Content-Length header";
    if (f.content_length && f.transfer_encoding)
        return "ambiguous request: both Content-Length and Transfer-Encoding";
    if (f.transfer_encoding > 1)
        return "ambiguous request: more than one Transfer-Encoding header";
    return NULL;
}

/* ---- libmicrohttpd callbacks ---------------------------------------------------------------------------- */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    aa_serve *s = cls;
    request *q = *con_cls;
    if (q) {
        if (*upload_data_size) {
            size_t n = *upload_data_size;
            *upload_data_size = 0;
            return classify_chunk(s, q, upload_data, n);
        }
        return classify_end(s, c, q);
    }
    const char *fault = framing_fault(c);
    if (fault) /* and the connection closed: where the next request would start is the question */
        return send_json(s, c, MHD_HTTP_BAD_REQUEST, aa_http_json_error(fault), NULL, R_CLOSE);
    const aa_asset *asset;
    int route = route_of(s, url, &asset);
    /* /healthz says nothing a rebinding page could use, and health probes name the server as they like */
    const char *host = header(c, MHD_HTTP_HEADER_HOST), *origin = header(c, "Origin");
    if (route != ROUTE_HEALTH && !aa_http_host_allowed(host, s->bound_host, s->port, s->allow_hosts))
        return refuse_host(s, c, host);
    if (origin && !strcmp(method, MHD_HTTP_METHOD_OPTIONS))
        return preflight(s, c, origin);
    if (!is_get(method) && !aa_http_origin_allowed(origin, host, s->allow_origins))
        return refuse_origin(s, c, origin);
    if (route == ROUTE_NONE) {
        char msg[160];
        snprintf(msg, sizeof msg, "no such path: %.100s", url);
        return send_error(s, c, MHD_HTTP_NOT_FOUND, NULL, msg);
    }
    if (route != ROUTE_CLASSIFY && route != ROUTE_TIMELINE)
        return answer_get(s, c, route, asset, method);
    if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
        return method_not_allowed(s, c, method, "POST");
    return classify_begin(s, c, route, con_cls);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode t)
{
    (void)c; (void)t;
    request_free(cls, *con_cls);
    *con_cls = NULL;
}

/* ---- start / stop --------------------------------------------------------------------------------------- */

static int check_config(const aa_serve_config *c, aa_error *err)
{
    if (!c->host || !*c->host)
        return aa_error_set(err, AA_SERVE_ERR_CONFIG, "serve: no host to bind");
    if (c->port < 0 || c->port > 65535)
        return aa_error_set(err, AA_SERVE_ERR_CONFIG, "serve: port %d out of range (0..65535)", c->port);
    if (c->n_workers < 1 || c->n_workers > WORKERS_MAX)
        return aa_error_set(err, AA_SERVE_ERR_CONFIG, "serve: %d workers out of range (1..%d)", c->n_workers,
                            WORKERS_MAX);
    if (c->max_upload < 1 || c->max_upload > (size_t)1 << 32)
        return aa_error_set(err, AA_SERVE_ERR_CONFIG, "serve: upload limit %zu out of range (1 B..4 GB)",
                            c->max_upload);
    if (c->timeout_s < 1 || c->request_timeout_s < 1)
        return aa_error_set(err, AA_SERVE_ERR_CONFIG, "serve: timeouts must be at least 1 s");
    if (c->max_per_ip < 0)
        return aa_error_set(err, AA_SERVE_ERR_CONFIG, "serve: max_per_ip %d is negative", c->max_per_ip);
    if (c->max_timelines < 0)
        return aa_error_set(err, AA_SERVE_ERR_CONFIG, "serve: max_timelines %d is negative", c->max_timelines);
    if (c->max_buffered && c->max_buffered < c->max_upload)
        return aa_error_set(err, AA_SERVE_ERR_CONFIG, "serve: upload memory %zu is below the upload limit %zu",
                            c->max_buffered, c->max_upload);
    if (c->max_connections < c->n_workers)
        return aa_error_set(err, AA_SERVE_ERR_CONFIG, "serve: max_connections %d is below the %d workers",
                            c->max_connections, c->n_workers);
    return 0;
}

/* Our own listening socket, so a bind failure can say why (libmicrohttpd only says that it failed). */
static int open_listener(const aa_serve_config *c, int *fd_out, aa_error *err)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *ai = NULL;
    char port[8];
    snprintf(port, sizeof port, "%d", c->port);
    int g = getaddrinfo(c->host, port, &hints, &ai);
    if (g != 0)
        return aa_error_set(err, AA_SERVE_ERR_ADDRESS, "serve: cannot resolve host '%s': %s", c->host,
                            gai_strerror(g));
    int fd = -1, e = 0;
    for (struct addrinfo *a = ai; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
        if (fd < 0) {
            e = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (a->ai_family == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0)
            break;
        e = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    if (fd < 0)
        return aa_error_set(err, AA_SERVE_ERR_ADDRESS, "serve: cannot listen on %s:%d: %s", c->host, c->port,
                            strerror(e));
    *fd_out = fd;
    return 0;
}

static int bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -1;
}

/* 1 when the listening socket's address is a loopback one (127.0.0.0/8, ::1, or 127/8 mapped into IPv6). */
static int is_loopback(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return 0;
    if (ss.ss_family == AF_INET)
        return (ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) >> 24) == 127;
    if (ss.ss_family == AF_INET6) {
        const struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return 0;
}

/* The entries of a configured list joined with commas into *out (NULL when there are none): the server
 * keeps its own copy, so the caller's strings need not outlive the start. 0, or -1 out of memory. */
static int join_list(const char *const *items, int n, char **out)
{
    *out = NULL;
    aa_buf b = {0};
    for (int i = 0; i < n; i++)
        if (items[i] && *items[i])
            aa_buf_printf(&b, "%s%s", b.len ? "," : "", items[i]);
    if (b.oom) {
        aa_buf_free(&b);
        return -1;
    }
    if (b.len)
        *out = aa_buf_take(&b);
    return 0;
}

int aa_serve_start(const aa_serve_config *cfg, const aa_serve_handler *handler, aa_serve **out, aa_error *err)
{
    *out = NULL;
    if (!handler || !handler->classify)
        return aa_error_set(err, AA_SERVE_ERR_CONFIG, "serve: no classify callback");
    int rc = check_config(cfg, err);
    if (rc)
        return rc;
    if (!inf_mhd_load(err))
        return AA_SERVE_ERR_START;
    aa_serve *s = calloc(1, sizeof *s);
    if (!s)
        return aa_error_set(err, AA_SERVE_ERR_NOMEM, "serve: out of memory");
    s->h = *handler;
    s->cfg = *cfg;
    s->cfg.host = NULL;
    s->cfg.allow_hosts = s->cfg.allow_origins = NULL;
    s->cfg.n_allow_hosts = s->cfg.n_allow_origins = 0;
    s->bound_host = dup_str(cfg->host);
    if (!s->bound_host || join_list(cfg->allow_hosts, cfg->n_allow_hosts, &s->allow_hosts) != 0 ||
        join_list(cfg->allow_origins, cfg->n_allow_origins, &s->allow_origins) != 0) {
        free(s->bound_host);
        free(s->allow_hosts);
        free(s);
        return aa_error_set(err, AA_SERVE_ERR_NOMEM, "serve: out of memory");
    }
    if (!s->cfg.max_buffered)
        s->cfg.max_buffered = cfg->max_upload > SIZE_MAX / 8 ? SIZE_MAX : 8 * cfg->max_upload;
    if (!s->cfg.max_timelines)
        s->cfg.max_timelines = cfg->n_workers > 1 ? cfg->n_workers / 2 : 1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->work, NULL);

    int fd = -1;
    if ((rc = open_listener(cfg, &fd, err)) != 0) {
        aa_serve_stop(s);
        return rc;
    }
    s->port = bound_port(fd);
    s->loopback = is_loopback(fd);

    /* poll(), not the epoll that MHD_USE_AUTO picks on Linux: with libmicrohttpd 0.9.75's edge-triggered
     * epoll, a client that sends part of a request and closes at once is not seen to have gone, and its
     * socket sits in CLOSE_WAIT, counted against the connection limits, until the idle timeout (found by
     * scripts/abuse.sh: 40 truncated requests held 31 sockets for 15 s). poll() sees the end at once. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_ALLOW_SUSPEND_RESUME;
    s->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)(cfg->n_workers > 1 ? cfg->n_workers : 0), MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)cfg->max_connections, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->timeout_s,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned)cfg->max_per_ip, MHD_OPTION_END);
    if (!s->daemon) {
        /* libmicrohttpd closes the socket itself on some failure paths; close it only if it is still open */
        if (fcntl(fd, F_GETFD) != -1)
            close(fd);
        aa_serve_stop(s);
        return aa_error_set(err, AA_SERVE_ERR_START, "serve: the HTTP server did not start on %s:%d",
                            cfg->host, cfg->port);
    }
    for (int i = 0; i < cfg->n_workers; i++) {
        s->workers[i] = (worker){.s = s, .slot = i};
        if (pthread_create(&s->threads[i], NULL, worker_main, &s->workers[i]) != 0) {
            aa_serve_stop(s);
            return aa_error_set(err, AA_SERVE_ERR_START, "serve: cannot start worker thread %d of %d", i + 1,
                                cfg->n_workers);
        }
        s->n_threads++;
    }
    *out = s;
    return 0;
}

int aa_serve_port(const aa_serve *s)
{
    return s ? s->port : -1;
}

int aa_serve_is_loopback(const aa_serve *s)
{
    return s && s->loopback;
}

void aa_serve_stop(aa_serve *s)
{
    if (!s)
        return;
    workers_stop(s);
    if (s->daemon)
        MHD_stop_daemon(s->daemon);
    pthread_cond_destroy(&s->work);
    pthread_mutex_destroy(&s->mu);
    free(s->bound_host);
    free(s->allow_hosts);
    free(s->allow_origins);
    free(s);
}
