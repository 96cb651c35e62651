/* http_abuse: hostile traffic against aa-infer --serve on loopback, bounded in count and time, while a
 * steady stream of valid uploads measures whether the server keeps answering.
 *
 *   http_abuse --port P --pid PID [--seconds 45] [--requests 10000] [--rate 0] [--abusers 3] [--slow 40]
 *              [--flood 150] [--only KIND] [--max-rss-growth-mb 16] [--max-rss-peak-mb 128] [--max-upload-mb 20]
 *
 * The valid stream runs alone for 2 s first (warm-up: the server's RSS then is the baseline), then, until
 * `requests` abusive requests were made (at `rate` per second, 0: as fast as they go) or `seconds` passed:
 *   valid    2 threads from 127.0.0.1: a 1 s WAV, raw or as a multipart form, 10 ms apart; each must get 200
 *   abuse    `abusers` threads from 127.0.0.2, cycling through the kinds below (one connection each)
 *   slow     `slow` connections from 127.0.0.3 kept open: half send a header line every 2 s and never end
 *            their headers (slowloris), half promise a 1 MB body and send 16 bytes every 2 s (slow body);
 *            each one the server closes is counted and replaced
 *   flood    every 3 s, `flood` connections at once from 127.0.0.4 that send nothing for 1 s, then close
 *   rss      VmRSS of PID every 100 ms
 * Abusers use other loopback addresses than the valid client, as a hostile host would.
 *
 * Prints a table by kind and one JSON line. Exit status 1 when a valid request failed, the server answered
 * anything with 500, died, or its RSS, against its value when the abuse began, ended more than
 * --max-rss-growth-mb higher (memory kept: leaks, caches) or was ever more than --max-rss-peak-mb higher
 * (memory held while requests run: upload buffers, which the server caps at 8 x the upload limit). */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sndfile.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- kinds of abuse ---------------------------------------------------------------------------------------- */

enum {
    K_HUGE_LENGTH,     /* Content-Length over the limit, no body sent */
    K_LYING_LENGTH,    /* Content-Length 1000, 6000 bytes of body: the rest is read as a next request */
    K_TRUNCATED_BODY,  /* Content-Length 100000, 1000 bytes, then the client closes */
    K_TRUNCATED_HEAD,  /* half a request line, then close */
    K_CHUNKED_OVER,    /* chunked upload past the limit (every 40th abusive request) that never ends */
    K_MP_NO_BOUNDARY,  /* multipart/form-data without a boundary */
    K_MP_UNCLOSED,     /* multipart body whose closing boundary never comes */
    K_MP_NO_FILE,      /* multipart with only a text field */
    K_GARBAGE,         /* random bytes instead of HTTP */
    K_BAD_METHOD,      /* DELETE /api/classify, BREW / */
    K_BAD_PATH,        /* /../etc/passwd, a 6 KB path, a 40 KB header */
    K_RANDOM_AUDIO,    /* random bytes posted as audio */
    K_BAD_OGG,         /* an Ogg Vorbis file cut in half */
    K_SLOWLORIS,
    K_SLOW_BODY,
    K_FLOOD,
    K_VALID,
    K_COUNT
};
#define K_CYCLE 13 /* the kinds the abuse threads cycle through: K_HUGE_LENGTH .. K_BAD_OGG */

static const char *const KIND_NAME[K_COUNT] = {
    "huge Content-Length", "lying Content-Length", "truncated body", "truncated request line",
    "chunked past the limit", "multipart, no boundary", "multipart, unclosed", "multipart, no file",
    "garbage bytes", "bad method", "bad path/header", "random bytes as audio", "Ogg Vorbis cut in half",
    "slowloris (held)", "slow body (held)", "flood connection", "valid upload"};

#define N_STATUS 7 /* columns: 2xx, 400, 404/405, 413/414/431, 422, 5xx, closed without an answer */

typedef struct {
    struct sockaddr_in server;
    pid_t pid;
    double deadline, t_start; /* t_abuse below is written once before the abuse threads start */
    int max_requests, only, n_slow, n_flood;
    double rate;         /* abusive requests per second over all abuse threads; 0: unpaced */
    double t_abuse;      /* when the abuse began */
    size_t max_upload;
    atomic_int next;     /* abusive requests handed out */
    atomic_int stop;
    atomic_int count[K_COUNT][N_STATUS];
    atomic_int http500;

    unsigned char *wav, *ogg_half;
    size_t wav_n, ogg_half_n;

    pthread_mutex_t mu;
    double *lat_ms;      /* valid requests' latencies, [lat_cap] */
    int lat_n, lat_cap;
    int valid_fail;
    char fail_msg[160];

    long rss_kb_min, rss_kb_max, rss_kb_warm, rss_kb_last; /* warm: the first sample after 2 s */
    int server_died;
} run;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

static int status_col(int status)
{
    if (status < 0) return 6;
    if (status < 300) return 0;
    if (status == 400) return 1;
    if (status == 404 || status == 405 || status == 501) return 2;
    if (status == 413 || status == 414 || status == 431) return 3;
    if (status == 422) return 4;
    return 5;
}

/* ---- sockets ----------------------------------------------------------------------------------------------- */

/* A connection to the server from 127.0.0.<src>; -1 when refused. */
static int dial(const run *R, int src, double timeout_s)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval tv = {(time_t)timeout_s, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in me = {.sin_family = AF_INET};
    me.sin_addr.s_addr = htonl(0x7f000000u | (uint32_t)src);
    if (bind(fd, (struct sockaddr *)&me, sizeof me) != 0 ||
        connect(fd, (const struct sockaddr *)&R->server, sizeof R->server) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads the answer to its end (or the timeout); returns the first status line's code, or -1. */
static int read_status(int fd)
{
    char first[64], sink[8192];
    size_t got = 0;
    for (;;) {
        int into_first = got < sizeof first - 1;
        ssize_t r = into_first ? recv(fd, first + got, sizeof first - 1 - got, 0) : recv(fd, sink, sizeof sink, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        if (into_first)
            got += (size_t)r;
    }
    first[got] = 0;
    int status = -1;
    if (sscanf(first, "HTTP/1.%*d %d", &status) != 1)
        status = -1;
    return status;
}

/* head then body on a fresh connection, then the answer's status (-1: refused or closed unanswered). */
static int exchange(const run *R, int src, const char *head, const void *body, size_t body_n, int close_early)
{
    int fd = dial(R, src, 20);
    if (fd < 0)
        return -1;
    int st = -1;
    if (send_all(fd, head, strlen(head)) == 0 && (!body_n || send_all(fd, body, body_n) == 0) && !close_early)
        st = read_status(fd);
    else if (close_early)
        st = -1;
    close(fd);
    return st;
}

/* ---- payloads ---------------------------------------------------------------------------------------------- */

typedef struct {
    unsigned char *p;
    size_t n, cap, off;
} membuf;

static sf_count_t mb_len(void *u) { return (sf_count_t)((membuf *)u)->n; }
static sf_count_t mb_seek(sf_count_t o, int whence, void *u)
{
    membuf *m = u;
    sf_count_t base = whence == SEEK_CUR ? (sf_count_t)m->off : whence == SEEK_END ? (sf_count_t)m->n : 0;
    m->off = (size_t)(base + o);
    return (sf_count_t)m->off;
}
static sf_count_t mb_read(void *p, sf_count_t n, void *u)
{
    membuf *m = u;
    size_t k = m->off >= m->n ? 0 : m->n - m->off < (size_t)n ? m->n - m->off : (size_t)n;
    memcpy(p, m->p + m->off, k);
    m->off += k;
    return (sf_count_t)k;
}
static sf_count_t mb_write(const void *p, sf_count_t n, void *u)
{
    membuf *m = u;
    if (m->off + (size_t)n > m->cap) {
        size_t nc = (m->off + (size_t)n) * 2;
        unsigned char *q = realloc(m->p, nc);
        if (!q)
            return 0;
        m->p = q;
        m->cap = nc;
    }
    memcpy(m->p + m->off, p, (size_t)n);
    m->off += (size_t)n;
    if (m->off > m->n)
        m->n = m->off;
    return n;
}
static sf_count_t mb_tell(void *u) { return (sf_count_t)((membuf *)u)->off; }

/* seconds of a decaying noise burst over a hum, 16 kHz mono, encoded in memory as `format`. */
static unsigned char *encode(int format, double seconds, size_t *n_out)
{
    int rate = 16000;
    size_t n = (size_t)(seconds * rate);
    float *x = malloc(n * sizeof *x);
    if (!x)
        return NULL;
    uint32_t seed = 12345;
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / rate, ph = fmod(t, 1.0);
        seed = seed * 1103515245u + 12345u;
        double noise = (double)seed / 4294967296.0 * 2 - 1;
        x[i] = (float)((ph < 0.25 ? 0.6 * exp(-ph * 14) * noise : 0) + 0.05 * sin(2 * M_PI * 150 * t));
    }
    membuf m = {0};
    SF_VIRTUAL_IO io = {mb_len, mb_seek, mb_read, mb_write, mb_tell};
    SF_INFO info = {.samplerate = rate, .channels = 1, .format = format};
    SNDFILE *f = sf_open_virtual(&io, SFM_WRITE, &info, &m);
    if (!f || sf_writef_float(f, x, (sf_count_t)n) != (sf_count_t)n) {
        if (f)
            sf_close(f);
        free(x);
        free(m.p);
        return NULL;
    }
    sf_close(f);
    free(x);
    *n_out = m.n;
    return m.p;
}

static void fill_random(unsigned char *p, size_t n, uint32_t *seed)
{
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 1103515245u + 12345u;
        p[i] = (unsigned char)(*seed >> 24);
    }
}

/* ---- one abusive request of each kind ---------------------------------------------------------------------- */

#define ABUSER 2
#define SLOWER 3
#define FLOODER 4

static int post_head(char *h, size_t cap, const char *type, unsigned long long length)
{
    return snprintf(h, cap, "POST /api/classify HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: %s\r\n"
                            "Content-Length: %llu\r\n\r\n", type, length);
}

/* The never-ending chunked body: 64 KB chunks until the server closes, or 3 x the limit were sent. */
static int chunked_forever(const run *R)
{
    int fd = dial(R, ABUSER, 20);
    if (fd < 0)
        return -1;
    const char *h = "POST /api/classify HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: audio/wav\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n";
    static const char chunk_head[] = "10000\r\n";
    unsigned char *chunk = calloc(1, 65536 + 2);
    int st = -1;
    if (chunk && send_all(fd, h, strlen(h)) == 0) {
        chunk[65536] = '\r';
        chunk[65537] = '\n';
        for (size_t sent = 0; sent < 3 * R->max_upload; sent += 65536)
            if (send_all(fd, chunk_head, sizeof chunk_head - 1) || send_all(fd, chunk, 65538))
                break;
        shutdown(fd, SHUT_WR);
        st = read_status(fd);
    }
    free(chunk);
    close(fd);
    return st;
}

static int do_kind(run *R, int kind, int i, uint32_t *seed)
{
    char h[512];
    unsigned char buf[8192];
    switch (kind) {
    case K_HUGE_LENGTH:
        post_head(h, sizeof h, "audio/wav", i % 2 ? (unsigned long long)R->max_upload + 1 : 99999999999999999ull);
        return exchange(R, ABUSER, h, NULL, 0, 0);
    case K_LYING_LENGTH:
        post_head(h, sizeof h, "audio/wav", 1000);
        fill_random(buf, 6000, seed);
        return exchange(R, ABUSER, h, buf, 6000, 0);
    case K_TRUNCATED_BODY:
        post_head(h, sizeof h, "audio/wav", 100000);
        return exchange(R, ABUSER, h, R->wav, 1000, 1);
    case K_TRUNCATED_HEAD:
        return exchange(R, ABUSER, i % 2 ? "POST /api/cla" : "GET / HTTP/1.1\r\nHost: x\r\nX-Half: ab", NULL, 0, 1);
    case K_CHUNKED_OVER:
        return chunked_forever(R);
    case K_MP_NO_BOUNDARY:
        post_head(h, sizeof h, "multipart/form-data", 64);
        memset(buf, 'a', 64);
        return exchange(R, ABUSER, h, buf, 64, 0);
    case K_MP_UNCLOSED: {
        int n = snprintf((char *)buf, sizeof buf, "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; "
                                                  "filename=\"a.wav\"\r\n\r\n");
        memcpy(buf + n, R->wav, 4000);
        post_head(h, sizeof h, "multipart/form-data; boundary=XyZ", (unsigned long long)n + 4000);
        return exchange(R, ABUSER, h, buf, (size_t)n + 4000, 0);
    }
    case K_MP_NO_FILE: {
        int n = snprintf((char *)buf, sizeof buf, "--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\n"
                                                  "hello\r\n--XyZ--\r\n");
        post_head(h, sizeof h, "multipart/form-data; boundary=XyZ", (unsigned long long)n);
        return exchange(R, ABUSER, h, buf, (size_t)n, 0);
    }
    case K_GARBAGE: {
        size_t n = 200 + *seed % 4000;
        fill_random(buf, n, seed);
        int fd = dial(R, ABUSER, 20);
        if (fd < 0)
            return -1;
        int st = send_all(fd, buf, n) == 0 ? (shutdown(fd, SHUT_WR), read_status(fd)) : -1;
        close(fd);
        return st;
    }
    case K_BAD_METHOD:
        return exchange(R, ABUSER,
                        i % 2 ? "DELETE /api/classify HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                              : "BREW / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                        NULL, 0, 0);
    case K_BAD_PATH: {
        static char big[48 * 1024];
        int v = i % 3;
        if (v == 0)
            return exchange(R, ABUSER, "GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                            NULL, 0, 0);
        int n = snprintf(big, sizeof big, v == 1 ? "GET /" : "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ");
        size_t pad = v == 1 ? 6000 : 40000;
        memset(big + n, 'a', pad);
        snprintf(big + n + pad, sizeof big - (size_t)n - pad, "%s",
                 v == 1 ? " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" : "\r\nConnection: close\r\n\r\n");
        return exchange(R, ABUSER, big, NULL, 0, 0);
    }
    case K_RANDOM_AUDIO:
        fill_random(buf, 8000, seed);
        memcpy(buf, i % 2 ? "RIFF" : "fLaC", 4);
        post_head(h, sizeof h, "audio/wav", 8000);
        return exchange(R, ABUSER, h, buf, 8000, 0);
    case K_BAD_OGG:
        post_head(h, sizeof h, "audio/ogg", R->ogg_half_n);
        return exchange(R, ABUSER, h, R->ogg_half, R->ogg_half_n, 0);
    }
    return -1;
}

static void *abuse_thread(void *p)
{
    run *R = p;
    uint32_t seed = (uint32_t)(uintptr_t)pthread_self();
    for (;;) {
        int i = atomic_fetch_add(&R->next, 1);
        if (i >= R->max_requests || now_s() > R->deadline || atomic_load(&R->stop)) {
            atomic_fetch_sub(&R->next, 1);
            break;
        }
        if (R->rate > 0) {
            double due = R->t_abuse + i / R->rate;
            if (due > now_s())
                sleep_s(due - now_s());
        }
        int kind = R->only >= 0 ? R->only : i % K_CYCLE;
        if (kind == K_CHUNKED_OVER && R->only < 0 && i % (K_CYCLE * 40) != K_CHUNKED_OVER)
            kind = K_RANDOM_AUDIO; /* 60 MB each: only one in 40 rounds */
        int st = do_kind(R, kind, i / K_CYCLE, &seed);
        atomic_fetch_add(&R->count[kind][status_col(st)], 1);
        if (st >= 500 && st != 503)
            atomic_fetch_add(&R->http500, 1);
    }
    return NULL;
}

/* ---- valid uploads ----------------------------------------------------------------------------------------- */

static void *valid_thread(void *p)
{
    run *R = p;
    char head[512];
    size_t mp_cap = R->wav_n + 512;
    unsigned char *mp = malloc(mp_cap);
    if (!mp)
        return NULL;
    int pre = snprintf((char *)mp, mp_cap, "--b0und\r\nContent-Disposition: form-data; name=\"file\"; "
                                           "filename=\"clip.wav\"\r\nContent-Type: audio/wav\r\n\r\n");
    memcpy(mp + pre, R->wav, R->wav_n);
    int post = snprintf((char *)mp + pre + R->wav_n, 64, "\r\n--b0und--\r\n");
    size_t mp_n = (size_t)pre + R->wav_n + (size_t)post;
    for (int i = 0; now_s() < R->deadline && !atomic_load(&R->stop); i++) {
        int multipart = i % 4 == 3;
        if (multipart)
            post_head(head, sizeof head, "multipart/form-data; boundary=b0und", mp_n);
        else
            post_head(head, sizeof head, "audio/wav", R->wav_n);
        double t0 = now_s();
        int st = exchange(R, 1, head, multipart ? mp : R->wav, multipart ? mp_n : R->wav_n, 0);
        double ms = (now_s() - t0) * 1e3;
        int during = R->t_abuse > 0 && t0 >= R->t_abuse; /* warm-up requests are checked, not counted */
        if (during)
            atomic_fetch_add(&R->count[K_VALID][status_col(st)], 1);
        pthread_mutex_lock(&R->mu);
        if (during && R->lat_n < R->lat_cap)
            R->lat_ms[R->lat_n++] = ms;
        if (st != 200 && R->valid_fail++ == 0)
            snprintf(R->fail_msg, sizeof R->fail_msg, "valid %s upload %d at t=%.1f s got %d",
                     multipart ? "multipart" : "raw", i, now_s() - R->t_start, st);
        pthread_mutex_unlock(&R->mu);
        sleep_s(0.010);
    }
    free(mp);
    return NULL;
}

/* ---- slow clients and floods ------------------------------------------------------------------------------- */

typedef struct {
    int fd, kind;
    double next_send;
} slow_conn;

static int slow_open(const run *R, slow_conn *c, int kind)
{
    c->fd = dial(R, SLOWER, 5);
    c->kind = kind;
    c->next_send = now_s() + 2;
    if (c->fd < 0)
        return -1;
    char h[256];
    if (kind == K_SLOWLORIS)
        snprintf(h, sizeof h, "POST /api/classify HTTP/1.1\r\nHost: x\r\n");
    else
        post_head(h, sizeof h, "audio/wav", 1000000);
    if (send_all(c->fd, h, strlen(h)) != 0) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    return 0;
}

static void *slow_thread(void *p)
{
    run *R = p;
    slow_conn *c = calloc((size_t)R->n_slow, sizeof *c);
    if (!c)
        return NULL;
    for (int i = 0; i < R->n_slow; i++)
        if (slow_open(R, &c[i], i % 2 ? K_SLOW_BODY : K_SLOWLORIS) != 0)
            atomic_fetch_add(&R->count[c[i].kind][6], 1);
    while (now_s() < R->deadline && !atomic_load(&R->stop)) {
        sleep_s(0.2);
        double t = now_s();
        for (int i = 0; i < R->n_slow; i++) {
            slow_conn *s = &c[i];
            if (s->fd < 0) {
                if (slow_open(R, s, s->kind) != 0)
                    atomic_fetch_add(&R->count[s->kind][6], 1);
                continue;
            }
            char b[512];
            ssize_t r = recv(s->fd, b, sizeof b - 1, MSG_DONTWAIT);
            int closed = r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
            if (!closed && t >= s->next_send) {
                s->next_send = t + 2;
                const char *line = s->kind == K_SLOWLORIS ? "X-Slow: 1\r\n" : "0123456789abcdef";
                closed = send_all(s->fd, line, strlen(line)) != 0;
            }
            if (r > 0 || closed) {
                int st = -1;
                if (r > 0) {
                    b[r] = 0;
                    if (sscanf(b, "HTTP/1.%*d %d", &st) != 1)
                        st = -1;
                }
                atomic_fetch_add(&R->count[s->kind][status_col(st)], 1);
                close(s->fd);
                s->fd = -1;
            }
        }
    }
    for (int i = 0; i < R->n_slow; i++)
        if (c[i].fd >= 0) {
            atomic_fetch_add(&R->count[c[i].kind][0], 1); /* still held at the end: counted as 2xx (open) */
            close(c[i].fd);
        }
    free(c);
    return NULL;
}

static void *flood_thread(void *p)
{
    run *R = p;
    int *fd = malloc((size_t)R->n_flood * sizeof *fd);
    if (!fd)
        return NULL;
    while (now_s() + 1.5 < R->deadline && !atomic_load(&R->stop)) {
        for (int i = 0; i < R->n_flood; i++)
            fd[i] = dial(R, FLOODER, 2);
        sleep_s(1.0);
        for (int i = 0; i < R->n_flood; i++) {
            /* a connection the server refused at accept reads as closed at once */
            int st = -1;
            if (fd[i] >= 0) {
                char b[64];
                ssize_t r = recv(fd[i], b, sizeof b, MSG_DONTWAIT);
                st = r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) ? -1 : 0;
                close(fd[i]);
            }
            atomic_fetch_add(&R->count[K_FLOOD][st == 0 ? 0 : 6], 1);
        }
        sleep_s(2.0);
    }
    free(fd);
    return NULL;
}

/* ---- the server's memory ----------------------------------------------------------------------------------- */

static long vm_rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

static void *rss_thread(void *p)
{
    run *R = p;
    while (!atomic_load(&R->stop)) {
        long kb = vm_rss_kb(R->pid);
        if (kb < 0 || kill(R->pid, 0) != 0) {
            R->server_died = 1;
            atomic_store(&R->stop, 1);
            break;
        }
        if (R->rss_kb_min < 0 || kb < R->rss_kb_min)
            R->rss_kb_min = kb;
        if (kb > R->rss_kb_max)
            R->rss_kb_max = kb;
        R->rss_kb_last = kb;
        sleep_s(0.1);
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* ---- main -------------------------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    int port = 0, pid = 0, abusers = 3, requests = 10000, n_slow = 40, n_flood = 150;
    double seconds = 45, max_growth_mb = 16, max_peak_mb = 128, max_upload_mb = 20, rate = 0;
    const char *only = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--port")) port = atoi(v);
        else if (!strcmp(k, "--pid")) pid = atoi(v);
        else if (!strcmp(k, "--seconds")) seconds = atof(v);
        else if (!strcmp(k, "--requests")) requests = atoi(v);
        else if (!strcmp(k, "--rate")) rate = atof(v);
        else if (!strcmp(k, "--abusers")) abusers = atoi(v);
        else if (!strcmp(k, "--slow")) n_slow = atoi(v);
        else if (!strcmp(k, "--flood")) n_flood = atoi(v);
        else if (!strcmp(k, "--only")) only = v;
        else if (!strcmp(k, "--max-rss-growth-mb")) max_growth_mb = atof(v);
        else if (!strcmp(k, "--max-rss-peak-mb")) max_peak_mb = atof(v);
        else if (!strcmp(k, "--max-upload-mb")) max_upload_mb = atof(v);
        else {
            fprintf(stderr, "http_abuse: unknown option '%s'\n", k);
            return 2;
        }
    }
    if (port <= 0 || pid <= 0 || abusers < 1 || abusers > 64 || n_slow < 0 || n_flood < 0 || requests < 1) {
        fprintf(stderr, "usage: http_abuse --port P --pid PID [--seconds S] [--requests N] [--abusers A] "
                        "[--slow N] [--flood N] [--only ogg|garbage|...]\n");
        return 2;
    }
    static run R; /* large (counters): kept off the stack */
    R.only = -1;
    if (only) {
        static const char *const short_name[K_CYCLE] = {"huge", "lying", "truncbody", "trunchead", "chunked",
                                                        "noboundary", "unclosed", "nofile", "garbage", "method",
                                                        "path", "random", "ogg"};
        for (int k = 0; k < K_CYCLE; k++)
            if (!strcmp(only, short_name[k]))
                R.only = k;
        if (R.only < 0) {
            fprintf(stderr, "http_abuse: unknown kind '%s'\n", only);
            return 2;
        }
    }
    R.server.sin_family = AF_INET;
    R.server.sin_port = htons((uint16_t)port);
    R.server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    R.pid = (pid_t)pid;
    R.max_requests = requests;
    R.rate = rate;
    R.n_slow = R.only >= 0 ? 0 : n_slow;
    R.n_flood = R.only >= 0 ? 0 : n_flood;
    R.max_upload = (size_t)(max_upload_mb * 1024 * 1024);
    R.rss_kb_min = R.rss_kb_warm = -1;
    pthread_mutex_init(&R.mu, NULL);
    R.lat_cap = 1 << 20;
    R.lat_ms = malloc((size_t)R.lat_cap * sizeof *R.lat_ms);
    size_t ogg_n = 0;
    unsigned char *ogg = encode(SF_FORMAT_OGG | SF_FORMAT_VORBIS, 1.0, &ogg_n);
    R.wav = encode(SF_FORMAT_WAV | SF_FORMAT_PCM_16, 1.0, &R.wav_n);
    if (!R.lat_ms || !ogg || !R.wav) {
        fprintf(stderr, "http_abuse: out of memory or no Ogg Vorbis encoder in libsndfile\n");
        return 1;
    }
    R.ogg_half = ogg;
    R.ogg_half_n = ogg_n / 2;

    R.t_start = now_s();
    R.deadline = R.t_start + seconds + 3;
    pthread_t rss, slow, flood, valid[2], ab[64];
    pthread_create(&rss, NULL, rss_thread, &R);
    int n_valid = R.only >= 0 ? 0 : 2;
    for (int i = 0; i < n_valid; i++)
        pthread_create(&valid[i], NULL, valid_thread, &R);
    sleep_s(n_valid ? 2.0 : 0.3);
    R.rss_kb_warm = vm_rss_kb(R.pid);
    R.t_abuse = now_s();
    R.deadline = R.t_abuse + seconds;
    pthread_create(&slow, NULL, slow_thread, &R);
    pthread_create(&flood, NULL, flood_thread, &R);
    for (int i = 0; i < abusers; i++)
        pthread_create(&ab[i], NULL, abuse_thread, &R);
    for (int i = 0; i < abusers; i++)
        pthread_join(ab[i], NULL);
    double wall = now_s() - R.t_abuse; /* the slow and flood threads may take up to 3 s more to notice */
    /* the abuse is over: the valid stream and the held connections stop with it */
    if (now_s() < R.deadline)
        R.deadline = now_s();
    for (int i = 0; i < n_valid; i++)
        pthread_join(valid[i], NULL);
    pthread_join(slow, NULL);
    pthread_join(flood, NULL);
    sleep_s(0.5); /* RSS samples after the last request: what the server keeps */
    atomic_store(&R.stop, 1);
    pthread_join(rss, NULL);

    printf("%-26s %7s %6s %6s %8s %10s %5s %5s %7s\n", "kind", "total", "2xx", "400", "404/405", "413/4/31",
           "422", "5xx", "closed");
    long total = 0, abusive = 0;
    for (int k = 0; k < K_COUNT; k++) {
        long t = 0;
        for (int c = 0; c < N_STATUS; c++)
            t += atomic_load(&R.count[k][c]);
        if (!t)
            continue;
        total += t;
        if (k != K_VALID)
            abusive += t;
        printf("%-26s %7ld %6d %6d %8d %10d %5d %5d %7d\n", KIND_NAME[k], t, R.count[k][0], R.count[k][1],
               R.count[k][2], R.count[k][3], R.count[k][4], R.count[k][5], R.count[k][6]);
    }
    qsort(R.lat_ms, (size_t)R.lat_n, sizeof *R.lat_ms, cmp_double);
    double p50 = R.lat_n ? R.lat_ms[(size_t)(0.50 * (R.lat_n - 1))] : 0;
    double p99 = R.lat_n ? R.lat_ms[(size_t)(0.99 * (R.lat_n - 1))] : 0;
    double pmax = R.lat_n ? R.lat_ms[R.lat_n - 1] : 0;
    int valid_ok = R.count[K_VALID][0];
    double growth_mb = (R.rss_kb_last - R.rss_kb_warm) / 1024.0, peak_mb = (R.rss_kb_max - R.rss_kb_warm) / 1024.0;
    printf("%ld requests in %.1f s of abuse (%ld abusive); valid uploads: %d of %d answered 200, p50 %.1f ms, "
           "p99 %.1f ms, max %.1f ms\n", total, wall, abusive, valid_ok, R.lat_n, p50, p99, pmax);
    printf("server RSS: min %.1f MB, when the abuse began %.1f MB, max %.1f MB (+%.1f, bound %.0f), at the end "
           "%.1f MB (%+.1f, bound %.0f)\n", R.rss_kb_min / 1024.0, R.rss_kb_warm / 1024.0, R.rss_kb_max / 1024.0,
           peak_mb, max_peak_mb, R.rss_kb_last / 1024.0, growth_mb, max_growth_mb);
    printf("{\"bench\": \"serve_abuse\", \"seconds\": %.1f, \"requests\": %ld, \"abusive\": %ld, \"valid\": %d, "
           "\"valid_ok\": %d, \"valid_p50_ms\": %.2f, \"valid_p99_ms\": %.2f, \"valid_max_ms\": %.2f, "
           "\"http500\": %d, \"rss_min_mb\": %.1f, \"rss_warm_mb\": %.1f, \"rss_max_mb\": %.1f, "
           "\"rss_last_mb\": %.1f, \"server_died\": %d}\n",
           wall, total, abusive, R.lat_n, valid_ok, p50, p99, pmax, atomic_load(&R.http500),
           R.rss_kb_min / 1024.0, R.rss_kb_warm / 1024.0, R.rss_kb_max / 1024.0, R.rss_kb_last / 1024.0,
           R.server_died);
    int bad = 0;
    if (R.valid_fail) {
        fprintf(stderr, "http_abuse: FAIL: %d valid uploads failed; first: %s\n", R.valid_fail, R.fail_msg);
        bad = 1;
    }
    if (atomic_load(&R.http500)) {
        fprintf(stderr, "http_abuse: FAIL: %d answers with a 5xx status other than 503\n", atomic_load(&R.http500));
        bad = 1;
    }
    if (R.server_died) {
        fprintf(stderr, "http_abuse: FAIL: the server died\n");
        bad = 1;
    }
    if (growth_mb > max_growth_mb) {
        fprintf(stderr, "http_abuse: FAIL: RSS ended %.1f MB higher, over the %.0f MB bound\n", growth_mb,
                max_growth_mb);
        bad = 1;
    }
    if (peak_mb > max_peak_mb) {
        fprintf(stderr, "http_abuse: FAIL: RSS peaked %.1f MB higher, over the %.0f MB bound\n", peak_mb,
                max_peak_mb);
        bad = 1;
    }
    free(R.lat_ms);
    free(R.wav);
    free(ogg);
    return bad;
}
