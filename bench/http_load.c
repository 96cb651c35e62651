/* http_load: a load client for POST /api/classify on loopback, bounded in count and time.
 *
 *   http_load --port P [--host 127.0.0.1] [--concurrency 8] [--requests 2000] [--seconds 10]
 *             [--clip-seconds 4] [--wait 10]
 *
 * Each of `concurrency` threads sends a WAV (16-bit mono 16 kHz, clip-seconds long, made in memory) as the
 * raw body, one request per connection, until `requests` have been sent in all or `seconds` have passed.
 * --wait polls /healthz for up to that many seconds first. Prints a human line and one JSON line:
 *   {"bench": "serve_classify", "concurrency": 8, "requests": N, "ok": N, "rps": X, "p50_ms": X, "p99_ms": X}
 * Exit status 1 when any request failed. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    struct sockaddr_in addr;
    const unsigned char *req; /* the whole request: head + body */
    size_t req_n;
    int max_requests;
    double deadline;
    atomic_int next;   /* requests handed out */
    atomic_int ok, failed;
    double *lat_ms;    /* [max_requests], by request index */
} load;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* One request on a fresh connection; returns the HTTP status, or -1. */
static int one_request(const struct sockaddr_in *a, const unsigned char *req, size_t n)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1, status = -1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval tv = {30, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (const struct sockaddr *)a, sizeof *a) == 0) {
        size_t off = 0;
        while (off < n) {
            ssize_t w = send(fd, req + off, n - off, MSG_NOSIGNAL);
            if (w <= 0 && errno != EINTR)
                break;
            if (w > 0)
                off += (size_t)w;
        }
        char first[64], sink[8192]; /* the status line, then the rest of the answer, discarded */
        size_t got = 0;
        for (;;) { /* read to the end: the server closes after its answer (Connection: close) */
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
        if (sscanf(first, "HTTP/1.%*d %d", &status) != 1)
            status = -1;
    }
    close(fd);
    return status;
}

static void *worker(void *p)
{
    load *L = p;
    for (;;) {
        int i = atomic_fetch_add(&L->next, 1);
        if (i >= L->max_requests || now_s() > L->deadline)
            break;
        double t0 = now_s();
        int st = one_request(&L->addr, L->req, L->req_n);
        L->lat_ms[i] = (now_s() - t0) * 1e3;
        if (st == 200)
            atomic_fetch_add(&L->ok, 1);
        else
            atomic_fetch_add(&L->failed, 1);
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* A 16-bit mono WAV: a decaying noise burst every second over a low hum (deterministic). */
static unsigned char *make_wav(double seconds, int rate, size_t *n_out)
{
    size_t n = (size_t)(seconds * rate);
    unsigned char *w = malloc(44 + 2 * n);
    if (!w)
        return NULL;
    uint32_t data = (uint32_t)(2 * n), seed = 12345;
    memcpy(w, "RIFF", 4);
    uint32_t riff_len = 36 + data;
    memcpy(w + 4, &riff_len, 4);
    memcpy(w + 8, "WAVEfmt ", 8);
    uint32_t fmt_len = 16, r32 = (uint32_t)rate, br = (uint32_t)rate * 2;
    uint16_t pcm = 1, ch = 1, align = 2, bits = 16;
    memcpy(w + 16, &fmt_len, 4);
    memcpy(w + 20, &pcm, 2);
    memcpy(w + 22, &ch, 2);
    memcpy(w + 24, &r32, 4);
    memcpy(w + 28, &br, 4);
    memcpy(w + 32, &align, 2);
    memcpy(w + 34, &bits, 2);
    memcpy(w + 36, "data", 4);
    memcpy(w + 40, &data, 4);
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / rate, ph = fmod(t, 1.0);
        seed = seed * 1103515245u + 12345u;
        double noise = (double)seed / 4294967296.0 * 2 - 1;
        double v = (ph < 0.25 ? 0.6 * exp(-ph * 14) * noise : 0) + 0.05 * sin(2 * M_PI * 150 * t);
        int16_t s = (int16_t)lrint(v * 32767);
        memcpy(w + 44 + 2 * i, &s, 2);
    }
    *n_out = 44 + 2 * n;
    return w;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    int port = 0, conc = 8, requests = 2000;
    double seconds = 10, clip_s = 4, wait_s = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--host")) host = v;
        else if (!strcmp(k, "--port")) port = atoi(v);
        else if (!strcmp(k, "--concurrency")) conc = atoi(v);
        else if (!strcmp(k, "--requests")) requests = atoi(v);
        else if (!strcmp(k, "--seconds")) seconds = atof(v);
        else if (!strcmp(k, "--clip-seconds")) clip_s = atof(v);
        else if (!strcmp(k, "--wait")) wait_s = atof(v);
        else {
            fprintf(stderr, "http_load: unknown option '%s'\n", k);
            return 2;
        }
    }
    if (port <= 0 || conc < 1 || conc > 1024 || requests < 1) {
        fprintf(stderr, "usage: http_load --port P [--concurrency C] [--requests N] [--seconds S]\n");
        return 2;
    }
    load L = {0};
    L.addr.sin_family = AF_INET;
    L.addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &L.addr.sin_addr) != 1) {
        fprintf(stderr, "http_load: '%s' is not an IPv4 address\n", host);
        return 2;
    }
    if (wait_s > 0) {
        const char *hz = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        double until = now_s() + wait_s;
        while (one_request(&L.addr, (const unsigned char *)hz, strlen(hz)) != 200) {
            if (now_s() > until) {
                fprintf(stderr, "http_load: no answer from %s:%d/healthz within %.0f s\n", host, port, wait_s);
                return 1;
            }
            usleep(100000);
        }
    }
    size_t wav_n = 0;
    unsigned char *wav = make_wav(clip_s, 16000, &wav_n);
    char head[256];
    int hl = snprintf(head, sizeof head,
                      "POST /api/classify HTTP/1.1\r\nHost: %s\r\nConnection: close\r\nContent-Type: audio/wav\r\n"
                      "Content-Length: %zu\r\n\r\n", host, wav_n);
    unsigned char *req = malloc((size_t)hl + wav_n);
    L.lat_ms = calloc((size_t)requests, sizeof *L.lat_ms);
    if (!wav || !req || !L.lat_ms) {
        fprintf(stderr, "http_load: out of memory\n");
        return 1;
    }
    memcpy(req, head, (size_t)hl);
    memcpy(req + hl, wav, wav_n);
    L.req = req;
    L.req_n = (size_t)hl + wav_n;
    L.max_requests = requests;

    pthread_t *th = calloc((size_t)conc, sizeof *th);
    double t0 = now_s();
    L.deadline = t0 + seconds;
    for (int i = 0; i < conc; i++)
        pthread_create(&th[i], NULL, worker, &L);
    for (int i = 0; i < conc; i++)
        pthread_join(th[i], NULL);
    double wall = now_s() - t0;

    int done = atomic_load(&L.ok) + atomic_load(&L.failed);
    qsort(L.lat_ms, (size_t)done, sizeof *L.lat_ms, cmp_double);
    double p50 = done ? L.lat_ms[(size_t)(0.50 * (done - 1))] : 0;
    double p99 = done ? L.lat_ms[(size_t)(0.99 * (done - 1))] : 0;
    double rps = atomic_load(&L.ok) / wall;
    printf("concurrency %3d: %5d requests (%d failed) in %.2f s: %7.1f clips/s, p50 %.2f ms, p99 %.2f ms\n", conc,
           done, atomic_load(&L.failed), wall, rps, p50, p99);
    printf("{\"bench\": \"serve_classify\", \"clip_seconds\": %.1f, \"concurrency\": %d, \"requests\": %d, "
           "\"ok\": %d, \"rps\": %.1f, \"p50_ms\": %.3f, \"p99_ms\": %.3f}\n",
           clip_s, conc, done, atomic_load(&L.ok), rps, p50, p99);
    free(th);
    free(req);
    free(wav);
    free(L.lat_ms);
    return atomic_load(&L.failed) ? 1 : 0;
}
