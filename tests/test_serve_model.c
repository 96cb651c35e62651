/* The web server with the real classifier: an upload over HTTP answers what `aa-infer --json` prints for
 * the same bytes, plus the log-mel the page draws; /api/model; bad and too-long uploads; concurrent
 * uploads on separate model slots; the binary's --serve started and stopped by signals. */
#include <check.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "infer/infer.h"
#include "tests/util/demomodel.h"
#include "tests/util/httpc.h"
#include "tests/util/jsonscan.h"
#include "tests/util/testutil.h"

#define RATE 16000
#define BOUNDARY "aaTestBoundary7MA4YWxkTrZu0gW"

typedef struct {
    char dir[256], model[320];
    am_model *m;
    inf_server *srv;
    aa_serve *serve;
    int port;
} server;

static void start(server *s, int workers, double max_seconds)
{
    tu_mkdtemp(s->dir, sizeof s->dir);
    tu_path(s->model, sizeof s->model, s->dir, "tone.aam");
    char msg[512];
    ck_assert_msg(tu_make_tone_model(s->model, msg, sizeof msg) == 0, "%s", msg);
    aa_error err;
    s->m = am_load(s->model, workers, &err);
    ck_assert_msg(s->m != NULL, "%s", err.msg);
    s->srv = inf_server_new(s->m, max_seconds);
    ck_assert_ptr_nonnull(s->srv);
    aa_serve_config cfg;
    aa_serve_config_default(&cfg);
    cfg.port = 0;
    cfg.n_workers = workers;
    aa_serve_handler h = inf_server_handler(s->srv);
    ck_assert_msg(aa_serve_start(&cfg, &h, &s->serve, &err) == 0, "%s", err.msg);
    s->port = aa_serve_port(s->serve);
}

static void stop(server *s)
{
    aa_serve_stop(s->serve);
    inf_server_free(s->srv);
    am_free(s->m);
    tu_rmtree(s->dir);
}

static void write_clip(const char *path, int cls, double seconds, uint64_t seed)
{
    size_t n = (size_t)lround(seconds * RATE);
    tu_tone_event ev = {cls == 0 ? 1.0 : 0.2, cls == 0 ? TU_TONE_BURST_S : seconds - 0.4, cls};
    float *x = tu_tone_recording(n, &ev, cls < 3 ? 1 : 0, seed);
    tu_write_wav(path, x, n, 1, RATE, SF_FORMAT_PCM_16);
    free(x);
}

/* A multipart/form-data body with one file field; caller frees. */
static char *multipart(const void *data, size_t n, const char *filename, size_t *len)
{
    char head[512];
    int h = snprintf(head, sizeof head,
                     "--" BOUNDARY "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"
                     "Content-Type: audio/wav\r\n\r\n", filename);
    const char *tail = "\r\n--" BOUNDARY "--\r\n";
    char *b = malloc((size_t)h + n + strlen(tail));
    memcpy(b, head, (size_t)h);
    memcpy(b + h, data, n);
    memcpy(b + h + n, tail, strlen(tail));
    *len = (size_t)h + n + strlen(tail);
    return b;
}

static int post_file(int port, const char *path, const char *filename, tu_http_response *r)
{
    size_t n, len;
    void *data = tu_read_file(path, &n);
    ck_assert_ptr_nonnull(data);
    char *body = multipart(data, n, filename, &len);
    int rc = tu_http_request(port, "POST", "/api/classify",
                             "Content-Type: multipart/form-data; boundary=" BOUNDARY "\r\n", body, len, r);
    free(body);
    free(data);
    return rc;
}

static unsigned char *base64_decode(const char *s, size_t len, size_t *n)
{
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned char *out = malloc(len / 4 * 3 + 3);
    size_t o = 0;
    unsigned v = 0;
    int bits = 0;
    for (size_t i = 0; i < len && s[i] != '='; i++) {
        const char *p = strchr(A, s[i]);
        ck_assert_msg(p && s[i], "not base64 at %zu", i);
        v = v << 6 | (unsigned)(p - A);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(v >> bits & 0xff);
        }
    }
    *n = o;
    return out;
}

START_TEST(upload_answers_what_the_cli_prints)
{
    server s;
    start(&s, 2, 600);
    char clip[320], cmd[5000], cli[1 << 16], cerr[4096];
    tu_path(clip, sizeof clip, s.dir, "clip.wav");
    write_clip(clip, 1, 4.0, 5);

    tu_http_response r;
    ck_assert_int_eq(post_file(s.port, clip, "clip.wav", &r), 0);
    ck_assert_int_eq(r.status, 200);
    char type[128];
    ck_assert_str_eq(tu_http_header(&r, "Content-Type", type, sizeof type), "application/json");
    ck_assert_msg(r.body_n > 0 && r.body[r.body_n - 1] == '\n' && !memchr(r.body, '\n', r.body_n - 1),
                  "not one line of JSON");

    /* the CLI on the same bytes, named the same: identical but for "mel" */
    char build[4096];
    ck_assert_ptr_nonnull(realpath(tu_build_dir(), build));
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s/aa-infer' -m tone.aam --json clip.wav", s.dir, build);
    ck_assert_msg(tu_run(cmd, cli, sizeof cli, cerr, sizeof cerr) == 0, "%s", cerr);
    char *without = tu_json_drop(r.body, "mel");
    ck_assert_str_eq(without, cli);
    free(without);
    char label[64];
    ck_assert_str_eq(tu_json_str(r.body, "label", label, sizeof label), "Heavy Breathing");

    /* the log-mel: the clip's own, 0 = its floor (max - 80 dB), 255 = its loudest cell */
    const char *mel = tu_json_find(r.body, "mel");
    ck_assert(tu_json_num(mel, "n_mels") == 64 && tu_json_num(mel, "n_frames") == 401);
    double lo = tu_json_num(mel, "min_db"), hi = tu_json_num(mel, "max_db");
    ck_assert(fabs(hi - lo - 80) < 0.011);
    const char *data = tu_json_find(mel, "data");
    ck_assert(data && *data == '"');
    size_t n_px;
    unsigned char *px = base64_decode(data + 1, strcspn(data + 1, "\""), &n_px);
    ck_assert_uint_eq(n_px, 64 * 401);
    am_file_result fr;
    aa_error err;
    float *want = malloc(am_mel_size(s.m) * sizeof *want);
    ck_assert_int_eq(am_classify_file(s.m, 0, clip, 0, &fr, want, &err), 0);
    float top = want[0];
    for (size_t i = 0; i < n_px; i++)
        top = want[i] > top ? want[i] : top;
    ck_assert(fabs(top - hi) < 0.006); /* printed with 2 decimals */
    for (size_t i = 0; i < n_px; i++) {
        double v = (want[i] - (top - 80.0)) / 80.0 * 255.0;
        v = v < 0 ? 0 : v > 255 ? 255 : v;
        /* one step of rounding either way */
        ck_assert_msg(fabs(px[i] - v) <= 1.0, "pixel %zu: %d vs %g", i, px[i], v);
    }
    free(px);
    free(want);
    tu_http_response_free(&r);

    /* the raw body: the file is called "upload" */
    size_t n;
    void *bytes = tu_read_file(clip, &n);
    ck_assert_int_eq(tu_http_request(s.port, "POST", "/api/classify", "Content-Type: audio/wav\r\n", bytes, n, &r), 0);
    ck_assert_int_eq(r.status, 200);
    char file[64];
    ck_assert_str_eq(tu_json_str(r.body, "file", file, sizeof file), "upload");
    free(bytes);
    tu_http_response_free(&r);
    stop(&s);
}
END_TEST

START_TEST(model_info_and_bad_uploads)
{
    server s;
    start(&s, 1, 2.0);
    tu_http_response r;
    ck_assert_int_eq(tu_http_request(s.port, "GET", "/api/model", NULL, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"classes\": [\"cough\", \"heavy_breathing\", \"normal_breathing\", "
                                         "\"background_noise\"]"));
    ck_assert_ptr_nonnull(strstr(r.body, "\"labels\": [\"Cough\", \"Heavy Breathing\""));
    ck_assert(tu_json_num(r.body, "sample_rate") == 16000 && tu_json_num(r.body, "clip_seconds") == 4);
    ck_assert(tu_json_num(tu_json_find(r.body, "gate"), "min_confidence") == 0.5);
    tu_http_response_free(&r);

    /* not audio: 422 with the reason, one line */
    ck_assert_int_eq(tu_http_request(s.port, "POST", "/api/classify", NULL, "hello there", 11, &r), 0);
    ck_assert_int_eq(r.status, 422);
    char e[512];
    ck_assert_msg(strstr(tu_json_str(r.body, "error", e, sizeof e), "upload: ") != NULL, "%s", r.body);
    tu_http_response_free(&r);

    /* longer than the server's limit on decoded audio (2 s here): 422 saying so */
    char clip[320];
    tu_path(clip, sizeof clip, s.dir, "long.wav");
    write_clip(clip, 2, 3.0, 1);
    ck_assert_int_eq(post_file(s.port, clip, "long.wav", &r), 0);
    ck_assert_int_eq(r.status, 422);
    ck_assert_msg(strstr(r.body, "long.wav") != NULL, "%s", r.body);
    tu_http_response_free(&r);
    /* and the server goes on */
    ck_assert_int_eq(tu_http_request(s.port, "GET", "/healthz", NULL, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    tu_http_response_free(&r);
    stop(&s);
}
END_TEST

typedef struct {
    int port;
    const char *path;
    char *body; /* the answer, minus nothing */
    int status;
} upload_job;

static void *upload_thread(void *arg)
{
    upload_job *j = arg;
    for (int k = 0; k < 3; k++) {
        tu_http_response r;
        size_t n, len;
        void *data = tu_read_file(j->path, &n);
        char *body = multipart(data, n, "c.wav", &len);
        int rc = tu_http_request(j->port, "POST", "/api/classify",
                                 "Content-Type: multipart/form-data; boundary=" BOUNDARY "\r\n", body, len, &r);
        free(body);
        free(data);
        j->status = rc ? -1 : r.status;
        if (rc || r.status != 200 || (j->body && strcmp(j->body, r.body))) {
            j->status = -2;
            tu_http_response_free(&r);
            break;
        }
        if (!j->body)
            j->body = strdup(r.body);
        tu_http_response_free(&r);
    }
    return NULL;
}

START_TEST(concurrent_uploads_use_their_own_slots)
{
    server s;
    start(&s, 3, 600);
    enum { T = 4 };
    char paths[T][320];
    upload_job jobs[T];
    pthread_t th[T];
    for (int i = 0; i < T; i++) {
        char name[32];
        snprintf(name, sizeof name, "c%d.wav", i);
        tu_path(paths[i], sizeof paths[i], s.dir, name);
        write_clip(paths[i], i, 4.0, (uint64_t)i);
        jobs[i] = (upload_job){s.port, paths[i], NULL, 0};
    }
    for (int i = 0; i < T; i++)
        pthread_create(&th[i], NULL, upload_thread, &jobs[i]);
    for (int i = 0; i < T; i++)
        pthread_join(th[i], NULL);
    /* every answer 200, repeated answers identical, each clip its class (slots never mixed up) */
    static const char *LABELS[4] = {"Cough", "Heavy Breathing", "Normal Breathing", "Background Noise"};
    for (int i = 0; i < T; i++) {
        ck_assert_msg(jobs[i].status == 200, "thread %d: %d", i, jobs[i].status);
        char label[64];
        ck_assert_str_eq(tu_json_str(jobs[i].body, "label", label, sizeof label), LABELS[i]);
        free(jobs[i].body);
    }
    stop(&s);
}
END_TEST

START_TEST(binary_serves_and_stops_on_signals)
{
    char dir[256], model[320], clip[320], msg[512];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(model, sizeof model, dir, "tone.aam");
    ck_assert_msg(tu_make_tone_model(model, msg, sizeof msg) == 0, "%s", msg);
    tu_path(clip, sizeof clip, dir, "c.wav");
    write_clip(clip, 2, 4.0, 9);
    int sigs[2] = {SIGTERM, SIGINT};
    for (int k = 0; k < 2; k++) {
        int port;
        FILE *out;
        pid_t pid = tu_spawn_server(model, 0, &port, &out);
        tu_http_response r;
        ck_assert_int_eq(tu_http_request(port, "GET", "/healthz", NULL, NULL, 0, &r), 0);
        ck_assert_int_eq(r.status, 200);
        tu_http_response_free(&r);
        ck_assert_int_eq(tu_http_request(port, "GET", "/", NULL, NULL, 0, &r), 0);
        ck_assert_int_eq(r.status, 200);
        ck_assert_ptr_nonnull(strstr(r.body, "<html"));
        tu_http_response_free(&r);
        ck_assert_int_eq(post_file(port, clip, "c.wav", &r), 0);
        ck_assert_int_eq(r.status, 200);
        char label[64];
        ck_assert_str_eq(tu_json_str(r.body, "label", label, sizeof label), "Normal Breathing");
        tu_http_response_free(&r);

        ck_assert_int_eq(kill(pid, sigs[k]), 0);
        int st;
        ck_assert_int_eq(waitpid(pid, &st, 0), pid);
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "signal %d: status %d", sigs[k], st);
        char rest[4096] = "";
        size_t got = fread(rest, 1, sizeof rest - 1, out);
        rest[got] = '\0';
        ck_assert_msg(strstr(rest, "stopped") != NULL, "%s", rest);
        fclose(out);
    }
    /* a port that is taken: one line, exit 1 */
    server s;
    start(&s, 1, 600);
    char cmd[1024], o[4096], e[4096];
    snprintf(cmd, sizeof cmd, "%s/aa-infer -m '%s' --serve --port %d", tu_build_dir(), model, s.port);
    ck_assert_int_eq(tu_run(cmd, o, sizeof o, e, sizeof e), 1);
    ck_assert_int_eq(tu_count_lines(e), 1);
    ck_assert_msg(strstr(e, "aa-infer: ") == e, "%s", e);
    stop(&s);
    tu_rmtree(dir);
}
END_TEST

/* ---- what an upload may cost ------------------------------------------------------------------------------- */

/* seconds of silence as 16-bit FLAC; no_length: the header's total-samples field (and MD5) zeroed, as a
 * stream encoder leaves them, so that only decoding finds the end. Returns the bytes; caller frees. */
static unsigned char *silent_flac(const char *dir, double seconds, int rate, int channels, int no_length,
                                  size_t *n)
{
    char path[320];
    tu_path(path, sizeof path, dir, "silence.flac");
    SF_INFO info = {.samplerate = rate, .channels = channels, .format = SF_FORMAT_FLAC | SF_FORMAT_PCM_16};
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    ck_assert_msg(f != NULL, "%s", sf_strerror(NULL));
    static short zeros[4096 * 8];
    for (sf_count_t left = (sf_count_t)lround(seconds * rate); left > 0; left -= 4096)
        sf_writef_short(f, zeros, left < 4096 ? left : 4096);
    ck_assert_int_eq(sf_close(f), 0);
    unsigned char *d = tu_read_file(path, n);
    ck_assert_ptr_nonnull(d);
    ck_assert(*n > 42 && !memcmp(d, "fLaC", 4));
    if (no_length) { /* STREAMINFO: the low 4 bits of byte 21 and bytes 22-25 hold the length, 26-41 the MD5 */
        d[21] &= 0xf0;
        memset(d + 22, 0, 20);
    }
    return d;
}

static int post_bytes(int port, const void *data, size_t n, tu_http_response *r)
{
    return tu_http_request(port, "POST", "/api/classify", "X-Filename: s.flac\r\n", data, n, r);
}

/* Decoding costs per sample, frames x channels: the seconds limit alone let a 394 KB FLAC holding 650 s
 * of 192 kHz silence with no length in its header be decoded for 600 s at 192 kHz before it was refused,
 * and 8 channels of it cost 8 times that (3.8 s of a core, 1 MB). An upload is now decoded up to
 * max_seconds of 48 kHz stereo in samples: with a 10 s limit, 5 s of 192 kHz mono, 0.625 s of 8 channels. */
START_TEST(upload_decoding_bounded_by_samples)
{
    server s;
    start(&s, 1, 10);
    tu_http_response r;
    size_t n;
    /* within the samples: answered */
    unsigned char *d = silent_flac(s.dir, 0.5, 192000, 8, 1, &n);
    ck_assert_int_eq(post_bytes(s.port, d, n, &r), 0);
    ck_assert_msg(r.status == 200, "%d %.300s", r.status, r.body);
    tu_http_response_free(&r);
    free(d);
    /* 2 s of 8 channels: under the 10 s, over the samples (refused from the header or while decoding) */
    for (int no_length = 0; no_length < 2; no_length++) {
        d = silent_flac(s.dir, 2, 192000, 8, no_length, &n);
        ck_assert_int_eq(post_bytes(s.port, d, n, &r), 0);
        ck_assert_msg(r.status == 422, "%d %.300s", r.status, r.body);
        ck_assert_msg(strstr(r.body, "more than 0.6 s of 8 channels at 192000 Hz, the most this server decodes "
                                     "(1.0 M samples, as 10 s of 48 kHz stereo)"), "%s", r.body);
        tu_http_response_free(&r);
        free(d);
    }
    /* the case found: far longer than the limit, no length in the header; refused once 5 s are decoded */
    d = silent_flac(s.dir, 60, 192000, 1, 1, &n);
    ck_assert_int_eq(post_bytes(s.port, d, n, &r), 0);
    ck_assert_msg(r.status == 422 && strstr(r.body, "more than 5.0 s of 1 channel at 192000 Hz"), "%d %.300s", r.status,
                  r.body);
    tu_http_response_free(&r);
    free(d);
    /* at or under 48 kHz stereo the seconds limit is the only one, as before */
    d = silent_flac(s.dir, 9, 48000, 2, 1, &n);
    ck_assert_int_eq(post_bytes(s.port, d, n, &r), 0);
    ck_assert_msg(r.status == 200, "%d %.300s", r.status, r.body);
    tu_http_response_free(&r);
    free(d);
    d = silent_flac(s.dir, 11, 16000, 1, 1, &n);
    ck_assert_int_eq(post_bytes(s.port, d, n, &r), 0);
    ck_assert_msg(r.status == 422 && strstr(r.body, "longer than the 10 s limit"), "%d %.300s", r.status, r.body);
    tu_http_response_free(&r);
    free(d);
    stop(&s);
}
END_TEST

/* ---- the binary's standard descriptors and signals ------------------------------------------------------- */

/* A port nothing listens on now: bound to 0, read back, released. Another program could take it before
 * the server does; the loopback range the kernel picks from is wide enough for that not to matter here. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* Whether something answers /healthz with 200 on port, tried for up to timeout_s (the model loads first). */
static int wait_healthy(int port, double timeout_s)
{
    for (double t0 = aa_now(); aa_now() - t0 < timeout_s; usleep(50000)) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int up = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
        close(fd);
        if (!up)
            continue;
        tu_http_response r;
        tu_http_request(port, "GET", "/healthz", NULL, NULL, 0, &r);
        int st = r.status;
        tu_http_response_free(&r);
        if (st == 200)
            return 1;
    }
    return 0;
}

enum { OUT_PIPE, OUT_CLOSED, OUT_BROKEN };

typedef struct {
    pid_t pid;
    int port;
    int out, err; /* read ends of the server's stdout (-1 unless OUT_PIPE) and stderr */
} child;

/* aa-infer --serve on a port of ours with stdout a pipe, closed, or a pipe nobody reads (its read end
 * closed before the server starts); stderr always a pipe. ignore_hup: SIGHUP ignored, as nohup leaves it.
 * host: --host, or NULL for the default. */
static child spawn_serve(const char *model, int out_mode, int ignore_hup, const char *host)
{
    child c = {.out = -1, .port = free_port()};
    int o[2] = {-1, -1}, e[2];
    ck_assert_int_eq(pipe(e), 0);
    if (out_mode != OUT_CLOSED)
        ck_assert_int_eq(pipe(o), 0);
    if (out_mode == OUT_BROKEN) {
        close(o[0]);
        o[0] = -1;
    }
    char bin[512], port[16];
    snprintf(bin, sizeof bin, "%s/aa-infer", tu_build_dir());
    snprintf(port, sizeof port, "%d", c.port);
    c.pid = fork();
    ck_assert_int_ge(c.pid, 0);
    if (c.pid == 0) {
        if (out_mode == OUT_CLOSED)
            close(1);
        else
            dup2(o[1], 1);
        dup2(e[1], 2);
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
        if (ignore_hup)
            signal(SIGHUP, SIG_IGN);
        execl(bin, bin, "-m", model, "--serve", "--port", port, "--workers", "1", "--host",
              host ? host : "127.0.0.1", (char *)NULL);
        _exit(127);
    }
    close(e[1]);
    c.err = e[0];
    if (o[1] >= 0)
        close(o[1]);
    c.out = o[0];
    return c;
}

/* Everything left to read on fd (the writer has exited), NUL-terminated into buf. */
static void read_rest(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    ssize_t got;
    while (fd >= 0 && n + 1 < cap && (got = read(fd, buf + n, cap - 1 - n)) > 0)
        n += (size_t)got;
    buf[n] = 0;
    if (fd >= 0)
        close(fd);
}

/* Signals it and waits: the exit status as waitpid gives it; out and err receive what it printed. */
static int stop_child(child *c, int sig, char *out, char *err, size_t cap)
{
    ck_assert_int_eq(kill(c->pid, sig), 0);
    int st;
    ck_assert_int_eq(waitpid(c->pid, &st, 0), c->pid);
    read_rest(c->out, out, cap);
    read_rest(c->err, err, cap);
    return st;
}

/* Started with stdout closed, the listening socket took descriptor 1 and the banner was written into it
 * (a write on a listening socket raises SIGPIPE: exit 141, no message); with stdout a pipe nobody reads,
 * the banner's write killed it the same way. Now it serves in both cases and stops cleanly. */
START_TEST(binary_survives_closed_and_broken_stdout)
{
    char dir[256], model[320], msg[512];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(model, sizeof model, dir, "tone.aam");
    ck_assert_msg(tu_make_tone_model(model, msg, sizeof msg) == 0, "%s", msg);
    static char out[8192], err[8192];
    int modes[2] = {OUT_CLOSED, OUT_BROKEN};
    for (int k = 0; k < 2; k++) {
        child c = spawn_serve(model, modes[k], 0, NULL);
        int up = wait_healthy(c.port, 30);
        int st = stop_child(&c, SIGTERM, out, err, sizeof err);
        ck_assert_msg(up, "stdout %s: no answer on /healthz (exit status %d; stderr: %s)",
                      k ? "broken" : "closed", st, err);
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "stdout %s: status %d; stderr: %s",
                      k ? "broken" : "closed", st, err);
        if (modes[k] == OUT_BROKEN) /* said once, on stderr; the stop line cannot be written either */
            ck_assert_msg(tu_count_lines(err) == 1 && strstr(err, "cannot write to standard output"), "%s", err);
        else /* /dev/null took its place: nothing to complain about */
            ck_assert_msg(err[0] == 0, "%s", err);
    }
    tu_rmtree(dir);
}
END_TEST

/* SIGHUP killed the server (exit 129, no line); now it stops as on SIGTERM, unless it was ignored when the
 * server started (nohup), in which case it stays ignored. */
START_TEST(binary_stops_on_sighup_unless_ignored)
{
    char dir[256], model[320], msg[512];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(model, sizeof model, dir, "tone.aam");
    ck_assert_msg(tu_make_tone_model(model, msg, sizeof msg) == 0, "%s", msg);
    static char out[8192], err[8192];
    child c = spawn_serve(model, OUT_PIPE, 0, NULL);
    ck_assert(wait_healthy(c.port, 30));
    int st = stop_child(&c, SIGHUP, out, err, sizeof out);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "SIGHUP: status %d; stderr: %s", st, err);
    ck_assert_msg(strstr(out, "aa-infer: stopped (SIGHUP)\n") != NULL, "%s", out);

    c = spawn_serve(model, OUT_PIPE, 1, NULL);
    ck_assert(wait_healthy(c.port, 30));
    ck_assert_int_eq(kill(c.pid, SIGHUP), 0);
    usleep(200000);
    ck_assert_msg(wait_healthy(c.port, 2), "an ignored SIGHUP stopped the server");
    st = stop_child(&c, SIGTERM, out, err, sizeof out);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d; stderr: %s", st, err);
    ck_assert_msg(strstr(out, "aa-infer: stopped (SIGTERM)\n") != NULL, "%s", out);
    tu_rmtree(dir);
}
END_TEST

/* Listening on every interface used to be as quiet as loopback; now it is one line on stderr. */
START_TEST(binary_warns_on_a_wide_bind)
{
    char dir[256], model[320], msg[512];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(model, sizeof model, dir, "tone.aam");
    ck_assert_msg(tu_make_tone_model(model, msg, sizeof msg) == 0, "%s", msg);
    static char out[8192], err[8192];
    child c = spawn_serve(model, OUT_PIPE, 0, "0.0.0.0");
    ck_assert(wait_healthy(c.port, 30));
    int st = stop_child(&c, SIGTERM, out, err, sizeof out);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d; stderr: %s", st, err);
    ck_assert_msg(tu_count_lines(err) == 1 && strstr(err, "aa-infer: warning: listening on 0.0.0.0: other machines "
                                                          "can reach the server") == err, "%s", err);
    ck_assert_msg(strstr(err, "--allow-host") != NULL, "%s", err);
    tu_rmtree(dir);
}
END_TEST

Suite *serve_model_suite(void)
{
    Suite *s = suite_create("serve_model");
    TCase *tc = tcase_create("serve_model");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, upload_answers_what_the_cli_prints);
    tcase_add_test(tc, model_info_and_bad_uploads);
    tcase_add_test(tc, concurrent_uploads_use_their_own_slots);
    tcase_add_test(tc, binary_serves_and_stops_on_signals);
    tcase_add_test(tc, binary_survives_closed_and_broken_stdout);
    tcase_add_test(tc, upload_decoding_bounded_by_samples);
    tcase_add_test(tc, binary_stops_on_sighup_unless_ignored);
    tcase_add_test(tc, binary_warns_on_a_wide_bind);
    suite_add_tcase(s, tc);
    return s;
}
