/* aa-infer --serve: the web page and JSON API (infer/serve.c) with the model as its classifier.
 *
 * Each of the server's workers owns one model slot and one log-mel buffer, so uploads are classified in
 * parallel without locks. An upload is decoded from memory (am_classify_memory), never written to disk;
 * an Ogg upload whose container is broken is refused before that (infer/serve_ogg.c);
 * the log-mel buffer is wiped after each answer. The answer is the --json object of the same bytes plus
 * "mel", the clip's log-mel for the page to draw. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

#include "infer/http_internal.h"
#include "infer/infer.h"
#include "model/drift.h"

struct inf_server {
    am_model *m;
    double max_seconds;
    int n_slots;
    size_t mel_size;
    float *mel; /* [n_slots][n_mels][n_frames] */
    char *model_json;
};

/* Decoding costs per sample decoded, frames x channels, not per second of audio: the seconds limit alone
 * let 650 s of 192 kHz silence in 394 KB of FLAC cost 600 s of decoding at 192 kHz, and eight channels of
 * it eight times that (3.8 s of a core). So an upload is decoded only up to max_seconds of 48 kHz stereo
 * in samples (600 s: 57.6 M): a source with more samples a second is allowed proportionally fewer seconds.
 * Real audio meets the 20 MB upload limit long before that (20 MB of 96 kHz 24-bit stereo FLAC is about a
 * minute); only a file that compresses like silence can reach it. */
#define UPLOAD_SAMPLES_PER_SECOND 96000.0

/* The seconds of this upload that may be decoded, from its header (libsndfile reads only that; the
 * resampler is set up and dropped). The same open is the decoder's first step, so a file it refuses is
 * refused here with the decoder's own code and message, and decoded no further. 0 or that code. */
int inf_upload_seconds(const am_model *m, double max_seconds, const void *audio, size_t n, const char *filename,
                       double *max_s, dsp_source *src, aa_error *err)
{
    dsp_reader *r = dsp_reader_open_memory(audio, n, filename, am_dsp(m), err);
    if (!r)
        return err->code;
    *src = *dsp_reader_source(r);
    dsp_reader_close(r);
    double per_s = (double)src->rate * src->channels;
    *max_s = per_s > UPLOAD_SAMPLES_PER_SECOND ? max_seconds * UPLOAD_SAMPLES_PER_SECOND / per_s : max_seconds;
    return 0;
}

static int classify_cb(void *ctx, int slot, const void *audio, size_t n, const char *filename, char **json_out,
                       aa_error *err)
{
    inf_server *s = ctx;
    if (slot < 0 || slot >= s->n_slots)
        return aa_error_set(err, AA_SERVE_ERR_INTERNAL, "worker %d has no model slot", slot);
    float *mel = s->mel + (size_t)slot * s->mel_size;
    if (aa_http_ogg_check(audio, n, filename, err) != 0)
        return err->code;
    double max_s = 0;
    dsp_source src = {0};
    int rc = inf_upload_seconds(s->m, s->max_seconds, audio, n, filename, &max_s, &src, err);
    if (rc)
        return rc;
    am_file_result r;
    rc = am_classify_memory(s->m, slot, audio, n, filename, max_s, &r, mel, err);
    if (rc == DSP_ERR_TOO_LONG && max_s < s->max_seconds) /* which limit: the seconds alone would puzzle */
        aa_error_set(err, rc, "%s: more than %.1f s of %d channel%s at %d Hz, the most this server decodes "
                     "(%.1f M samples, as %g s of 48 kHz stereo)", filename, max_s, src.channels,
                     src.channels == 1 ? "" : "s", src.rate, s->max_seconds * UPLOAD_SAMPLES_PER_SECOND / 1e6,
                     s->max_seconds);
    if (rc) {
        am_wipe_slot(s->m, slot);
        return rc; /* the code itself picks the answer's status (aa_serve_http_status) */
    }
    char *json = inf_result_json(s->m, filename, &r, mel);
    explicit_bzero(mel, s->mel_size * sizeof *mel);
    am_wipe_slot(s->m, slot);
    size_t len = json ? strlen(json) : 0;
    char *line = json ? realloc(json, len + 2) : NULL;
    if (!line) {
        free(json);
        return aa_error_set(err, AA_SERVE_ERR_INTERNAL, "out of memory");
    }
    memcpy(line + len, "\n", 2); /* every answer is one line of JSON, as the server's own errors are */
    *json_out = line;
    return 0;
}

char *inf_model_json(const am_model *m)
{
    const dsp_settings *d = am_dsp(m);
    int k = am_n_classes(m);
    aa_buf b = {0};
    aa_buf_printf(&b, "{\"classes\": [");
    for (int c = 0; c < k; c++) {
        aa_buf_printf(&b, c ? ", " : "");
        aa_json_str(&b, am_class_name(m, c));
    }
    aa_buf_printf(&b, "], \"labels\": [");
    for (int c = 0; c < k; c++) {
        aa_buf_printf(&b, c ? ", " : "");
        aa_json_str(&b, am_class_label(m, c));
    }
    aa_buf_printf(&b, "], \"sample_rate\": %d, \"clip_seconds\": %g, \"n_mels\": %d, \"n_frames\": %zu, "
                   "\"n_fft\": %d, \"hop_length\": %d, \"fmin\": %g, \"fmax\": %g, \"top_db\": %g, \"arch\": ",
                   d->sample_rate, d->clip_seconds, d->n_mels, am_mel_size(m) / (size_t)d->n_mels, d->n_fft,
                   d->hop_length, d->fmin, d->fmax, d->top_db);
    aa_json_str(&b, am_arch(m));
    aa_buf_printf(&b, ", \"temperature\": %.9g, \"gate\": {\"min_confidence\": %.9g, \"class_thresholds\": {",
                   am_temperature(m), am_min_confidence(m));
    for (int c = 0; c < k; c++) {
        aa_buf_printf(&b, c ? ", " : "");
        aa_json_str(&b, am_class_name(m, c));
        aa_buf_printf(&b, ": %.9g", am_class_threshold(m, c));
    }
    char agg[AM_AGGREGATE_TEXT_MAX];
    am_aggregate a = am_get_aggregate(m);
    am_aggregate_format(&a, agg, sizeof agg);
    aa_buf_printf(&b, "}}, \"aggregate\": ");
    aa_json_str(&b, agg);
    aa_buf_printf(&b, ", \"unclear_label\": ");
    aa_json_str(&b, AM_UNCLEAR_LABEL);
    if (am_has_drift(m)) /* null: the model gives no drift verdict */
        aa_buf_printf(&b, ", \"drift_threshold\": %.9g", am_drift_threshold(m));
    else
        aa_buf_printf(&b, ", \"drift_threshold\": null");
    aa_buf_printf(&b, ", \"quality\": {\"min_seconds\": %g, \"silent_dbfs\": %g, \"clipped_fraction\": %g}, "
                   "\"task\": \"%s\", \"disclaimer\": ", AM_QUALITY_MIN_SECONDS, AM_QUALITY_SILENT_DBFS,
                   AM_QUALITY_CLIP_FRACTION, am_task_name(am_get_task(m)));
    aa_json_str(&b, am_disclaimer(m)); /* null for a general model */
    aa_buf_printf(&b, "}\n");
    return aa_buf_take(&b);
}

inf_server *inf_server_new(am_model *m, double max_seconds)
{
    inf_server *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->m = m;
    s->max_seconds = max_seconds;
    s->n_slots = am_n_slots(m);
    s->mel_size = am_mel_size(m);
    s->mel = calloc((size_t)s->n_slots * s->mel_size, sizeof *s->mel);
    s->model_json = inf_model_json(m);
    if (!s->mel || !s->model_json) {
        inf_server_free(s);
        return NULL;
    }
    return s;
}

void inf_server_free(inf_server *s)
{
    if (!s)
        return;
    free(s->mel);
    free(s->model_json);
    free(s);
}

aa_serve_handler inf_server_handler(inf_server *s)
{
    return (aa_serve_handler){.classify = classify_cb, .ctx = s, .model_json = s->model_json};
}

/* ---- the command ----------------------------------------------------------------------------------------- */

/* The signal that asked the server to stop (SIGINT, SIGTERM or SIGHUP), 0 until then. A signal handler can
 * share only a sig_atomic_t with the program, which is why this one value lives at file scope. */
static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

/* A descriptor among 0-2 that was closed when the program started would be the next one handed out: the
 * listening socket took descriptor 1 of a server started with stdout closed, and the banner was written
 * into the socket. Each closed one is opened on /dev/null first. 0, or -1 with errno when one cannot be. */
static int open_std_fds(void)
{
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
            continue;
        int got = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
        if (got < 0)
            return -1;
        if (got != fd) { /* cannot happen while the lower ones are open, which the loop has made sure of */
            int e = dup2(got, fd) < 0 ? errno : 0;
            close(got);
            if (e) {
                errno = e;
                return -1;
            }
        }
    }
    return 0;
}

static const char *signal_name(int sig)
{
    return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : sig == SIGHUP ? "SIGHUP" : "a signal";
}

/* Standard output only carries the banner and the last line: when it cannot be written (closed by the
 * reader, a full disk) the server says so once on stderr and goes on serving. */
static void flush_stdout(int *warned, const char *then)
{
    if (fflush(stdout) == 0 && !ferror(stdout))
        return;
    int e = errno;
    clearerr(stdout);
    if (!*warned)
        fprintf(stderr, "aa-infer: warning: cannot write to standard output (%s)%s\n", strerror(e), then);
    *warned = 1;
}

int inf_cmd_serve(const inf_options *o)
{
    if (open_std_fds() != 0) {
        fprintf(stderr, "aa-infer: cannot open /dev/null for a closed standard descriptor: %s\n", strerror(errno));
        return 1;
    }
    /* A write to a closed pipe or socket must fail with EPIPE, not kill the server: stdout and stderr may be
     * pipes whose reader has gone (libmicrohttpd's own sends never raise it). */
    struct sigaction ign;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGPIPE, &ign, NULL);

    aa_serve_config cfg;
    aa_serve_config_default(&cfg);
    cfg.host = o->host;
    cfg.port = o->port;
    if (o->workers > 0)
        cfg.n_workers = o->workers;
    cfg.max_upload = (size_t)(o->max_upload_mb * 1024 * 1024);
    if (o->max_connections > 0)
        cfg.max_connections = o->max_connections;
    if (o->max_per_ip >= 0)
        cfg.max_per_ip = o->max_per_ip;
    if (o->idle_timeout_s > 0)
        cfg.timeout_s = o->idle_timeout_s;
    cfg.allow_hosts = o->allow_hosts;
    cfg.n_allow_hosts = o->n_allow_hosts;
    cfg.allow_origins = o->allow_origins;
    cfg.n_allow_origins = o->n_allow_origins;

    aa_error err = {0};
    am_model *m = inf_open_model(o, cfg.n_workers, &err);
    if (!m) {
        fprintf(stderr, "aa-infer: %s\n", err.msg);
        return inf_exit_status(&err);
    }
    inf_server *srv = inf_server_new(m, o->max_seconds > 0 ? o->max_seconds : INF_SERVE_MAX_SECONDS);
    if (!srv) {
        fprintf(stderr, "aa-infer: out of memory\n");
        am_free(m);
        return 1;
    }
    /* SIGHUP (the terminal went away) stops the server as SIGTERM does, unless it was ignored when the
     * program started (nohup, a supervisor): then it stays ignored, as the one who started it asked. */
    struct sigaction hup;
    sigaction(SIGHUP, NULL, &hup);
    int take_hup = hup.sa_handler != SIG_IGN;
    /* The signals stay blocked in every thread (the server's inherit this mask) and are taken only inside
     * sigsuspend below, so the handler runs in this thread and no wake-up can be missed. */
    sigset_t block, wait_mask;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    if (take_hup)
        sigaddset(&block, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &block, &wait_mask);
    sigdelset(&wait_mask, SIGINT);
    sigdelset(&wait_mask, SIGTERM);
    if (take_hup)
        sigdelset(&wait_mask, SIGHUP);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (take_hup)
        sigaction(SIGHUP, &sa, NULL);

    aa_serve_handler h = inf_server_handler(srv);
    inf_timeline_server *tl = inf_timeline_server_new(m, o->timeline_seconds, o->background);
    if (!tl) {
        fprintf(stderr, "aa-infer: out of memory\n");
        inf_server_free(srv);
        am_free(m);
        return 1;
    }
    inf_timeline_server_attach(tl, &h);
    aa_serve *server = NULL;
    int rc = 0, warned = 0;
    if (aa_serve_start(&cfg, &h, &server, &err) != 0) {
        fprintf(stderr, "aa-infer: %s\n", err.msg);
        rc = 1;
    } else {
        int v6 = strchr(cfg.host, ':') != NULL;
        printf("aa-infer: serving %s on http://%s%s%s:%d/ with %d worker%s (Ctrl-C stops)\n", o->model,
               v6 ? "[" : "", cfg.host, v6 ? "]" : "", aa_serve_port(server), cfg.n_workers,
               cfg.n_workers == 1 ? "" : "s");
        inf_text_disclaimer(stdout, m);
        flush_stdout(&warned, "; serving anyway");
        if (!aa_serve_is_loopback(server))
            /* one line: the address is wide, nothing stands between the network and the API */
            fprintf(stderr, "aa-infer: warning: listening on %s: other machines can reach the server, which has "
                    "no authentication; Host names answered: localhost, 127.0.0.1, [::1], %s%s\n", cfg.host,
                    cfg.host, o->n_allow_hosts ? " and --allow-host's" : " (add others with --allow-host)");
        while (!stop_signal)
            sigsuspend(&wait_mask);
        aa_serve_stop(server);
        printf("aa-infer: stopped (%s)\n", signal_name(stop_signal));
        flush_stdout(&warned, "");
    }
    inf_timeline_server_free(tl);
    inf_server_free(srv);
    am_free(m);
    return rc;
}
