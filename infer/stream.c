/* aa-infer --stream -r RATE -: live raw PCM (16-bit little-endian mono) from standard input, a decision
 * every hop as the audio arrives.
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

typedef struct {
    am_model *m;
    const inf_options *o;
    float *ring;  /* [len] the latest samples; ring[pos] is the oldest once full */
    float *clip;  /* [len] the ring in time order */
    size_t len, hop, pos;
    uint64_t total, since; /* samples received; samples since the last decision */
    int rate;
} streamer;

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
        aa_buf_printf(&b, ", \"quality\": \"%s\", \"rms_dbfs\": %.2f}", q.name, stats->rms_dbfs);
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

/* Classifies the clip ending now (n valid samples: fewer than len only at the end of a short stream, which
 * the model's route then zero-pads as it pads any short recording). */
static int decide(streamer *st, size_t n, aa_error *err)
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
    dsp_stats stats;
    dsp_stats_compute(st->clip, used, st->rate, &stats);
    double end = (double)st->total / st->rate, start = end - (double)used / st->rate;
    print_decision(st, &r, start, end, &stats);
    st->since = 0;
    return 0;
}

static int push(streamer *st, const float *x, size_t n, aa_error *err)
{
    for (size_t i = 0; i < n; i++) {
        st->ring[st->pos] = x[i];
        st->pos = st->pos + 1 == st->len ? 0 : st->pos + 1;
        st->total++;
        st->since++;
        if (st->total >= st->len && st->since >= st->hop && decide(st, st->len, err))
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
    int fd = strcmp(o->inputs[0], "-") ? open(o->inputs[0], O_RDONLY) : 0;
    if (fd < 0) {
        inf_errorf("%s: cannot open (%s)", name, strerror(errno));
        am_free(m);
        return 1;
    }
    streamer st = {.m = m, .o = o, .len = dsp_clip_samples(s), .rate = s->sample_rate};
    st.hop = (size_t)lround(o->hop * s->sample_rate);
    st.hop = st.hop ? st.hop : 1;
    st.ring = calloc(st.len, sizeof *st.ring);
    st.clip = malloc(st.len * sizeof *st.clip);
    aa_error cv_err = {0};
    dsp_converter *cv = o->rate != s->sample_rate ? dsp_converter_new(o->rate, s->sample_rate, s->resampler, NULL,
                                                                      &cv_err)
                                                  : NULL;
    size_t out_cap = cv ? dsp_converter_capacity(cv, READ_BYTES / 2) : 0;
    float *in = malloc(READ_BYTES / 2 * sizeof *in), *out = malloc((out_cap ? out_cap : 1) * sizeof *out);
    int rc = 0;
    if (!st.ring || !st.clip || !in || !out || (o->rate != s->sample_rate && !cv))
        rc = aa_error_set(&err, AA_ERR_NOMEM, "%s: cannot set up the stream (%s)", name,
                          cv_err.code ? cv_err.msg : "out of memory");
    if (!rc && o->format == INF_TEXT) {
        char nb[1024];
        printf("%s: %d Hz 16-bit mono PCM, a decision on the last %.2f s every %.2f s\n%s\n",
               aa_printable_into(name, nb, sizeof nb), o->rate,
               (double)st.len / st.rate, (double)st.hop / st.rate, AM_DISCLAIMER);
        fflush(stdout);
    }
    unsigned char bytes[READ_BYTES + 1];
    size_t carry = 0; /* an odd byte left from the previous read: half a sample */
    while (!rc) {
        ssize_t got = read(fd, bytes + carry, READ_BYTES);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = aa_error_set(&err, AA_ERR_IO, "%s: read error (%s)", name, strerror(errno));
            break;
        }
        size_t nb = carry + (size_t)got, ns = nb / 2;
        for (size_t i = 0; i < ns; i++)
            in[i] = (float)(int16_t)(uint16_t)(bytes[2 * i] | bytes[2 * i + 1] << 8) / 32768.0f;
        carry = nb % 2;
        if (carry)
            bytes[0] = bytes[nb - 1];
        rc = convert(&st, cv, in, ns, got == 0, out, out_cap, &err);
        if (got == 0)
            break;
    }
    if (!rc) {
        if (st.total == 0)
            rc = aa_error_set(&err, AM_ERR_AUDIO, "%s: no audio arrived", name);
        else if (st.total < st.len)
            rc = decide(&st, (size_t)st.total, &err);
        else if (st.since > 0)
            rc = decide(&st, st.len, &err);
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
    free(st.ring);
    free(st.clip);
    am_free(m);
    return rc ? 1 : 0;
}
