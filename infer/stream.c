/* aa-infer --stream: live audio from standard input (or a file), a decision every hop as the audio arrives,
 * or with --events the events those decisions make.
 *
 * Input: a WAV header (16-bit or 32-bit float PCM, any channel count, mixed to mono as files are; the data
 * chunk's length is not trusted, as a live recorder cannot know it) or raw little-endian mono PCM at -r RATE,
 * 16-bit or 32-bit float (--sample-format).
 *
 * Events: a run of consecutive decisions of one class, not withheld by the gate and not the background
 * class, is one event, timed by the rules --timeline states (inf_events_from on the run and its two
 * neighbours), so --events gives the events of --timeline --smooth 1 on the same audio and hop. The onset
 * line is printed with the decision that starts the run; the offset line when the run ends, or with
 * --refractory S once S seconds have passed without the class starting again (a run that does continues
 * the event). The decision at the end of input that is off the hop grid is left out of the events, as the
 * timeline leaves out a last partial window.
 *
 * Latency: from the moment the read that delivered a window's last sample returned to the moment its
 * decision (or event line) is written; resampling holds back a few milliseconds of samples more.
 *
 * The last clip's worth of audio (at the model's rate) sits in a ring buffer; once it is full, every hop of
 * new audio triggers a decision on it. At the end of input: a stream shorter than one clip is classified
 * once, zero-padded like a short clip; otherwise a last decision covers the final clip if audio arrived
 * since the previous one. Each decision stands alone (no smoothing), so it is printed as soon as it is
 * made. Input at another rate is converted by dsp_converter with the recipe the model's front end names
 * (the same conversion dsp_load applies to files). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "infer/infer.h"

#define READ_BYTES 8192
#define WAV_HEADER_MAX 65536

/* The event being followed, or waiting for its refractory period to pass. */
typedef struct {
    int cls;            /* -1: none */
    uint64_t first;     /* window index of the run's first decision */
    float *rows;        /* [cap][k] the window before the run (when there is one), then the run's */
    size_t n_rows, cap;
    int has_prev;
    inf_event pending;  /* an ended event whose offset line waits for the refractory period */
    int has_pending;
    int merging;        /* the run continues the pending event (it started within the refractory period) */
} tracker;

typedef struct {
    am_model *m;
    const inf_options *o;
    float *ring;  /* [len] the latest samples; ring[pos] is the oldest once full */
    float *clip;  /* [len] the ring in time order */
    size_t len, hop, pos;
    uint64_t total, since; /* samples received; samples since the last decision */
    uint64_t windows;      /* decisions on the hop grid so far */
    int rate, k, background;
    double arrived;        /* when the read that delivered the samples being pushed returned */
    float *last_row;       /* [k] the previous grid decision's probabilities */
    int have_last;
    tracker ev;
} streamer;

static double latency_ms(const streamer *st)
{
    return 1000 * (aa_now() - st->arrived);
}

static void print_decision(const streamer *st, const am_result *r, double start, double end, const dsp_stats *stats)
{
    const am_model *m = st->m;
    am_quality q = am_quality_of(stats);
    if (st->o->format == INF_JSON) {
        aa_buf b = {0};
        aa_buf_printf(&b, "{\"start_s\": %.3f, \"end_s\": %.3f, \"label\": ", start, end);
        aa_json_str(&b, inf_label(m, r));
        aa_buf_printf(&b, ", \"class\": ");
        aa_json_str(&b, r->gated ? NULL : am_class_name(m, r->cls));
        aa_buf_printf(&b, ", \"confidence\": %.6g, \"gated\": %s, \"probabilities\": ", r->confidence,
                       r->gated ? "true" : "false");
        inf_json_probabilities(&b, m, r->probs);
        aa_buf_printf(&b, ", \"quality\": \"%s\", \"rms_dbfs\": %.2f, \"latency_ms\": %.3f", q.name, stats->rms_dbfs,
                      latency_ms(st));
        inf_json_disclaimer(&b, m);
        aa_buf_printf(&b, "}");
        char *s = aa_buf_take(&b);
        if (s)
            printf("%s\n", s);
        free(s);
    } else {
        char lb[256];
        const char *label = aa_printable_into(am_class_label(m, r->cls), lb, sizeof lb);
        printf("%8.2f - %8.2f s  ", start, end);
        if (r->gated)
            printf("%s (best guess %s, %.1f%%)", AM_UNCLEAR_LABEL, label, 100 * r->confidence);
        else
            printf("%s (%.1f%%)", label, 100 * r->confidence);
        printf(q.verdict == AM_QUALITY_OK ? "\n" : "  [%s]\n", q.name);
    }
    fflush(stdout);
}


/* ---- events ------------------------------------------------------------------------------------------------ */

static double hop_s(const streamer *st)
{
    return (double)st->hop / st->rate;
}

static double window_s(const streamer *st)
{
    return (double)st->len / st->rate;
}

static void print_onset(const streamer *st, int cls, double start, double end, double conf)
{
    const am_model *m = st->m;
    if (st->o->format == INF_JSON) {
        aa_buf b = {0};
        aa_buf_printf(&b, "{\"event\": \"onset\", \"label\": ");
        aa_json_str(&b, am_class_label(m, cls));
        aa_buf_printf(&b, ", \"class\": ");
        aa_json_str(&b, am_class_name(m, cls));
        aa_buf_printf(&b, ", \"window_start_s\": %.3f, \"window_end_s\": %.3f, \"confidence\": %.6g, "
                          "\"latency_ms\": %.3f", start, end, conf, latency_ms(st));
        inf_json_disclaimer(&b, m);
        aa_buf_printf(&b, "}");
        char *s = aa_buf_take(&b);
        if (s)
            printf("%s\n", s);
        free(s);
    } else {
        printf("onset   %-20s in the window %8.2f - %8.2f s (%.1f%%)\n", am_class_label(m, cls), start, end,
               100 * conf);
    }
    fflush(stdout);
}

static void print_event(const streamer *st, const inf_event *e)
{
    const am_model *m = st->m;
    if (st->o->format == INF_JSON) {
        aa_buf b = {0};
        aa_buf_printf(&b, "{\"event\": \"offset\", \"start_s\": %.3f, \"end_s\": %.3f, \"label\": ", e->start, e->end);
        aa_json_str(&b, am_class_label(m, e->cls));
        aa_buf_printf(&b, ", \"class\": ");
        aa_json_str(&b, am_class_name(m, e->cls));
        aa_buf_printf(&b, ", \"peak_confidence\": %.6g, \"windows\": %zu, \"latency_ms\": %.3f", e->peak, e->windows,
                      latency_ms(st));
        inf_json_disclaimer(&b, m);
        aa_buf_printf(&b, "}");
        char *s = aa_buf_take(&b);
        if (s)
            printf("%s\n", s);
        free(s);
    } else {
        printf("event   %-20s %8.2f - %8.2f s, peak %.1f%%\n", am_class_label(m, e->cls), e->start, e->end,
               100 * e->peak);
    }
    fflush(stdout);
}

static int add_row(streamer *st, const float *row, aa_error *err)
{
    tracker *t = &st->ev;
    if (t->n_rows + 2 > t->cap) { /* room for the row that may end the run, too */
        size_t cap = t->cap ? 2 * t->cap : 64;
        float *r = realloc(t->rows, cap * (size_t)st->k * sizeof *r);
        if (!r)
            return aa_error_set(err, AA_ERR_NOMEM, "stream: out of memory");
        t->rows = r;
        t->cap = cap;
    }
    memcpy(t->rows + t->n_rows++ * (size_t)st->k, row, (size_t)st->k * sizeof *row);
    return 0;
}

static void flush_pending(streamer *st)
{
    if (st->ev.has_pending)
        print_event(st, &st->ev.pending);
    st->ev.has_pending = 0;
}

/* The run of class t->cls has ended (next: the decision that ended it, or NULL at the end of input): its
 * event, timed as the timeline times it from the run and its neighbours. */
static void close_run(streamer *st, const float *next, int merge)
{
    tracker *t = &st->ev;
    size_t n = t->n_rows;
    if (next)
        memcpy(t->rows + n++ * (size_t)st->k, next, (size_t)st->k * sizeof *next);
    inf_event evs[3];
    size_t got = inf_events_from(st->m, t->rows, n, hop_s(st), window_s(st), st->background, evs, 3);
    size_t run = t->n_rows - (size_t)t->has_prev;
    double base = (double)(t->first - (uint64_t)t->has_prev) * hop_s(st);
    /* the timeline's rules find the run among its neighbours; were they ever not to, the run's windows */
    inf_event e = {(double)t->first * hop_s(st), (double)(t->first + run - 1) * hop_s(st) + window_s(st), t->cls, 0,
                   run};
    for (size_t i = 0; i < got && i < 3; i++)
        if (evs[i].cls == t->cls && evs[i].windows == run) {
            e = evs[i];
            e.start += base;
            e.end += base;
            break;
        }
    if (merge && t->has_pending) {
        e.start = t->pending.start;
        e.peak = e.peak > t->pending.peak ? e.peak : t->pending.peak;
        e.windows += t->pending.windows;
        t->has_pending = 0;
    }
    t->cls = -1;
    t->n_rows = 0;
    if (st->o->refractory > 0) {
        flush_pending(st);
        t->pending = e;
        t->has_pending = 1;
    } else {
        print_event(st, &e);
    }
}

/* One decision on the hop grid (window st->windows). */
static int track(streamer *st, const float *row, aa_error *err)
{
    tracker *t = &st->ev;
    double conf, ws = (double)st->windows * hop_s(st);
    int c = inf_row_class(st->m, row, st->background, &conf);
    if (t->has_pending && t->cls < 0 && ws > t->pending.end + st->o->refractory && c != t->pending.cls)
        flush_pending(st);
    if (t->cls >= 0 && c != t->cls)
        close_run(st, row, t->merging);
    if (c >= 0 && t->cls < 0) {
        t->merging = t->has_pending && t->pending.cls == c && ws <= t->pending.end + st->o->refractory;
        if (!t->merging)
            print_onset(st, c, ws, ws + window_s(st), conf);
        t->cls = c;
        t->first = st->windows;
        t->n_rows = 0;
        t->has_prev = st->have_last;
        if (st->have_last && add_row(st, st->last_row, err))
            return err->code;
    }
    if (c >= 0 && add_row(st, row, err))
        return err->code;
    memcpy(st->last_row, row, (size_t)st->k * sizeof *row);
    st->have_last = 1;
    st->windows++;
    return 0;
}

/* The end of input: the run in progress ends, and what waits is printed. */
static void track_end(streamer *st)
{
    if (st->ev.cls >= 0)
        close_run(st, NULL, st->ev.merging);
    flush_pending(st);
}

/* Classifies the clip ending now (n valid samples: fewer than len only at the end of a short stream, which
 * the model's route then zero-pads as it pads any short recording). */
static int decide(streamer *st, size_t n, int on_grid, aa_error *err)
{
    if (n < st->len) {
        memcpy(st->clip, st->ring, n * sizeof *st->clip);
    } else {
        size_t tail = st->len - st->pos;
        memcpy(st->clip, st->ring + st->pos, tail * sizeof *st->clip);
        memcpy(st->clip + tail, st->ring, st->pos * sizeof *st->clip);
    }
    size_t used = n < st->len ? n : st->len;
    am_result r;
    if (am_classify_samples(st->m, 0, st->clip, used, &r, NULL, err))
        return err->code;
    st->since = 0;
    if (st->o->events)
        return on_grid ? track(st, r.probs, err) : 0;
    dsp_stats stats;
    dsp_stats_compute(st->clip, used, st->rate, &stats);
    double end = (double)st->total / st->rate, start = end - (double)used / st->rate;
    print_decision(st, &r, start, end, &stats);
    return 0;
}

static int push(streamer *st, const float *x, size_t n, aa_error *err)
{
    for (size_t i = 0; i < n; i++) {
        st->ring[st->pos] = x[i];
        st->pos = st->pos + 1 == st->len ? 0 : st->pos + 1;
        st->total++;
        st->since++;
        if (st->total >= st->len && st->since >= st->hop && decide(st, st->len, 1, err))
            return err->code;
    }
    return 0;
}

/* Converts in[0..n) at the input rate and pushes the result; eof flushes the converter. */
static int convert(streamer *st, dsp_converter *cv, const float *in, size_t n, int eof, float *out, size_t cap,
                   aa_error *err)
{
    if (!cv)
        return push(st, in, n, err);
    size_t got;
    aa_error sub;
    do {
        int e = eof ? dsp_converter_flush(cv, out, cap, &got, &sub)
                    : dsp_converter_process(cv, in, n, out, cap, &got, &sub);
        if (e)
            return aa_error_set(err, AM_ERR_AUDIO, "stdin: %s", sub.msg);
        if (push(st, out, got, err))
            return err->code;
        n = 0;
    } while (eof ? got > 0 : got == cap);
    return 0;
}

/* What the input holds, from its WAV header or from the options. */
typedef struct {
    int rate, channels, is_float; /* is_float: 32-bit float, else 16-bit integers */
    int wav;
} pcm_format;

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static unsigned le16(const unsigned char *p)
{
    return (unsigned)p[0] | (unsigned)p[1] << 8;
}

/* Reads until `want` bytes are in buf (fewer only at the end of input). */
static int fill(int fd, unsigned char *buf, size_t *have, size_t want, const char *name, aa_error *err)
{
    while (*have < want) {
        ssize_t got = read(fd, buf + *have, want - *have);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return aa_error_set(err, AA_ERR_IO, "%s: read error (%s)", name, strerror(errno));
        if (got == 0)
            break;
        *have += (size_t)got;
    }
    return 0;
}

/* The input's format: a WAV header read up to its data chunk (buf then holds the audio bytes that came with
 * it, *have of them), or raw PCM with the options' rate and sample format (buf holds what was read). */
static int read_format(int fd, const inf_options *o, const char *name, unsigned char *buf, size_t *have,
                       pcm_format *f, aa_error *err)
{
    *have = 0;
    memset(f, 0, sizeof *f);
    if (fill(fd, buf, have, 12, name, err))
        return err->code;
    if (*have < 12 || memcmp(buf, "RIFF", 4) || memcmp(buf + 8, "WAVE", 4)) {
        if (!o->rate)
            return aa_error_set(err, INF_ERR_USAGE,
                                "%s: raw PCM needs its sample rate (-r RATE); a stream with a WAV header says its own",
                                name);
        *f = (pcm_format){o->rate, 1, o->float_pcm, 0};
        return 0;
    }
    size_t at = 12;
    int have_fmt = 0;
    for (;;) {
        if (fill(fd, buf, have, at + 8, name, err))
            return err->code;
        if (*have < at + 8)
            return aa_error_set(err, AM_ERR_AUDIO, "%s: the WAV header ends before its data chunk", name);
        uint32_t size = le32(buf + at + 4);
        if (!memcmp(buf + at, "data", 4)) {
            if (!have_fmt)
                return aa_error_set(err, AM_ERR_AUDIO, "%s: WAV data chunk before its fmt chunk", name);
            at += 8;
            memmove(buf, buf + at, *have - at);
            *have -= at;
            break;
        }
        size_t body = (size_t)size + (size & 1);
        if (at + 8 + body > WAV_HEADER_MAX)
            return aa_error_set(err, AM_ERR_AUDIO, "%s: WAV header longer than %d bytes before its data", name,
                                WAV_HEADER_MAX);
        if (fill(fd, buf, have, at + 8 + body, name, err))
            return err->code;
        if (*have < at + 8 + body)
            return aa_error_set(err, AM_ERR_AUDIO, "%s: the WAV header ends before its data chunk", name);
        if (!memcmp(buf + at, "fmt ", 4)) {
            const unsigned char *p = buf + at + 8;
            if (size < 16)
                return aa_error_set(err, AM_ERR_AUDIO, "%s: WAV fmt chunk of %u bytes (16 at least)", name, size);
            unsigned tag = le16(p), bits = le16(p + 14);
            if (tag == 0xFFFE && size >= 26)
                tag = le16(p + 24);
            f->channels = (int)le16(p + 2);
            uint32_t rate = le32(p + 4);
            f->is_float = tag == 3 && bits == 32;
            if (!(tag == 1 && bits == 16) && !f->is_float)
                return aa_error_set(err, AM_ERR_AUDIO,
                                    "%s: WAV stream of format %u with %u-bit samples (16-bit PCM and 32-bit float "
                                    "are read)", name, tag, bits);
            if (f->channels < 1 || f->channels > DSP_MAX_CHANNELS)
                return aa_error_set(err, AM_ERR_AUDIO, "%s: WAV stream of %d channels (1 to %d are read)", name,
                                    f->channels, DSP_MAX_CHANNELS);
            if (rate < DSP_MIN_RATE || rate > DSP_MAX_RATE)
                return aa_error_set(err, AM_ERR_AUDIO, "%s: WAV stream at %u Hz (%d to %d Hz are read)", name, rate,
                                    DSP_MIN_RATE, DSP_MAX_RATE);
            f->rate = (int)rate;
            have_fmt = 1;
        }
        at += 8 + body;
    }
    if (o->rate && o->rate != f->rate)
        return aa_error_set(err, INF_ERR_USAGE, "%s: the WAV header says %d Hz, -r says %d", name, f->rate, o->rate);
    f->wav = 1;
    return 0;
}

/* Mono samples from whole frames of bytes (channels averaged, as files are mixed). */
static size_t decode_frames(const pcm_format *f, const unsigned char *b, size_t frames, float *out)
{
    size_t bps = f->is_float ? 4 : 2;
    for (size_t i = 0; i < frames; i++) {
        double sum = 0;
        for (int c = 0; c < f->channels; c++) {
            const unsigned char *p = b + (i * (size_t)f->channels + (size_t)c) * bps;
            if (f->is_float) {
                uint32_t u = le32(p);
                float v;
                memcpy(&v, &u, sizeof v);
                sum += v;
            } else {
                sum += (float)(int16_t)(uint16_t)le16(p) / 32768.0f;
            }
        }
        out[i] = f->channels == 1 ? (float)sum : (float)(sum / f->channels);
    }
    return frames;
}

static int check_finite(const float *x, size_t n, uint64_t at, const char *name, aa_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return aa_error_set(err, AM_ERR_AUDIO, "%s: %s sample at frame %llu", name, isnan(x[i]) ? "NaN" : "infinite",
                                (unsigned long long)(at + i));
    return 0;
}

int inf_cmd_stream(const inf_options *o)
{
    aa_error err = {0};
    am_model *m = inf_open_model(o, 1, &err);
    if (!m) {
        inf_print_error(err.msg);
        return inf_exit_status(&err);
    }
    const dsp_settings *s = am_dsp(m);
    const char *name = strcmp(o->inputs[0], "-") ? o->inputs[0] : "stdin";
    int background = inf_background_class(m, o->background);
    if (background < 0 && o->background) {
        fprintf(stderr, "aa-infer: --background: no class called '%s' in %s\n", o->background, o->model);
        am_free(m);
        return 2;
    }
    int fd = strcmp(o->inputs[0], "-") ? open(o->inputs[0], O_RDONLY) : 0;
    if (fd < 0) {
        inf_errorf("%s: cannot open (%s)", name, strerror(errno));
        am_free(m);
        return 1;
    }
    int k = am_n_classes(m);
    streamer st = {.m = m, .o = o, .len = dsp_clip_samples(s), .rate = s->sample_rate, .k = k,
                   .background = background, .ev = {.cls = -1}, .arrived = aa_now()};
    st.hop = (size_t)lround(o->hop * s->sample_rate);
    st.hop = st.hop ? st.hop : 1;
    st.ring = calloc(st.len, sizeof *st.ring);
    st.clip = malloc(st.len * sizeof *st.clip);
    st.last_row = calloc((size_t)k, sizeof *st.last_row);
    unsigned char *bytes = malloc(WAV_HEADER_MAX + READ_BYTES);
    pcm_format pf = {0};
    size_t have = 0;
    int rc = !st.ring || !st.clip || !st.last_row || !bytes
                 ? aa_error_set(&err, AA_ERR_NOMEM, "%s: cannot set up the stream (out of memory)", name)
                 : read_format(fd, o, name, bytes, &have, &pf, &err);
    st.arrived = aa_now();
    aa_error cv_err = {0};
    dsp_converter *cv = !rc && pf.rate != s->sample_rate
                            ? dsp_converter_new(pf.rate, s->sample_rate, s->resampler, NULL, &cv_err)
                            : NULL;
    size_t frame_bytes = (size_t)(pf.channels ? pf.channels : 1) * (pf.is_float ? 4 : 2);
    size_t max_frames = (WAV_HEADER_MAX + READ_BYTES) / frame_bytes;
    size_t out_cap = cv ? dsp_converter_capacity(cv, max_frames) : 0;
    float *in = malloc(max_frames * sizeof *in), *out = malloc((out_cap ? out_cap : 1) * sizeof *out);
    if (!rc && (!in || !out || (pf.rate != s->sample_rate && !cv)))
        rc = aa_error_set(&err, AA_ERR_NOMEM, "%s: cannot set up the stream (%s)", name,
                          cv_err.code ? cv_err.msg : "out of memory");
    if (!rc && o->format == INF_TEXT) {
        char nb[1024];
        printf("%s: %d Hz %s %s%s, %s on the last %.2f s every %.2f s\n", aa_printable_into(name, nb, sizeof nb),
               pf.rate, pf.is_float ? "32-bit float" : "16-bit", pf.channels == 1 ? "mono" : "multichannel",
               pf.wav ? " WAV" : " PCM", o->events ? "events from a decision" : "a decision",
               (double)st.len / st.rate, (double)st.hop / st.rate);
        inf_text_disclaimer(stdout, m);
        fflush(stdout);
    }
    uint64_t frames_in = 0;
    int eof = 0;
    while (!rc) {
        /* bytes[0..have) holds what has arrived and not been used: less than a frame, or what came with the
         * header */
        if (!eof && have < frame_bytes) {
            ssize_t got = read(fd, bytes + have, READ_BYTES);
            if (got < 0 && errno == EINTR)
                continue;
            if (got < 0) {
                rc = aa_error_set(&err, AA_ERR_IO, "%s: read error (%s)", name, strerror(errno));
                break;
            }
            st.arrived = aa_now();
            eof = got == 0;
            have += (size_t)got;
        }
        size_t frames = have / frame_bytes;
        decode_frames(&pf, bytes, frames, in);
        if ((rc = pf.is_float ? check_finite(in, frames, frames_in, name, &err) : 0))
            break;
        frames_in += frames;
        memmove(bytes, bytes + frames * frame_bytes, have - frames * frame_bytes);
        have -= frames * frame_bytes;
        rc = convert(&st, cv, in, frames, eof, out, out_cap, &err);
        if (eof)
            break;
    }
    if (!rc) {
        if (st.total == 0)
            rc = aa_error_set(&err, AM_ERR_AUDIO, "%s: no audio arrived", name);
        else if (st.total < st.len)
            rc = decide(&st, (size_t)st.total, 1, &err);
        else if (st.since > 0)
            rc = decide(&st, st.len, 0, &err);
        if (!rc && o->events)
            track_end(&st);
    }
    if (rc) {
        fflush(stdout);
        inf_print_error(err.msg);
    }
    if (fd > 0)
        close(fd);
    dsp_converter_free(cv);
    free(in);
    free(out);
    free(bytes);
    free(st.ring);
    free(st.clip);
    free(st.last_row);
    free(st.ev.rows);
    am_free(m);
    return rc ? inf_exit_status(&err) : 0;
}
