/* aa-infer --timeline: the model's clip window slid over a long recording, decoded as it goes.
 *
 * Windows: window i covers [i hop, i hop + W) (W the model's clip length); only whole windows are
 * classified, so up to one hop at the end is not looked at; a recording shorter than W is one window,
 * zero-padded as a short clip is. Windows are cut and their log-mels computed by dsp_windows_logmel, in
 * parallel, and batched through am_logits_batch and am_decide: the route every judgement takes. The samples
 * kept are those of one batch, so memory does not grow with the recording (apart from k floats of
 * probabilities per window).
 *
 * Smoothing and events: model/timeline.c (am_smooth, am_events_find), the rule the trainer tunes too; a
 * model's stored rule (am_get_timeline) gives the threshold and minimum duration, and --smooth's default.
 */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval.h"
#include "infer/infer.h"

#define BATCH 32
/* Standard input is held whole (a pipe cannot be re-read): at most this, or what --max-seconds allows. */
#define TIMELINE_STDIN_MAX ((size_t)4 << 30)
/* Samples held for a batch at most (16 MB of float): a very long hop takes fewer windows per batch. */
#define SPAN_MAX ((size_t)4 << 20)
#define CHUNK 16384

void inf_smooth(const float *in, size_t n, int k, int w, float *out)
{
    am_smooth(in, n, k, w, out);
}

int inf_row_class(const am_model *m, const float *row, int background, double *conf)
{
    return am_row_event_class(m, row, background, AM_TIMELINE_GATE, conf);
}

size_t inf_events_from(const am_model *m, const float *probs, size_t n, double hop_s, double window_s,
                       int background, inf_event *events, size_t cap)
{
    return am_events_find(m, probs, n, hop_s, window_s, background, AM_TIMELINE_GATE, 0, events, cap);
}

/* ---- running the windows --------------------------------------------------------------------------------- */

typedef struct {
    am_model *m;
    int slot;           /* the model slot whose network runs the batches */
    const char *name;   /* the recording, for messages */
    size_t max_samples; /* decoded samples (model rate) allowed; 0: no limit */
    dsp_logmel *lm;
    int threads, k;
    size_t per;         /* floats per log-mel */
    float *mels;        /* [BATCH][n_mels][n_frames] */
    float *logits;      /* [BATCH][am_n_outputs] the network's outputs */
    float *raw;         /* [cap_windows][k] decided probabilities, before smoothing */
    size_t n_windows, cap_windows;
} runner;

/* Log-mels of the windows starting at starts[0..nb) (offsets into x[0..n)), their logits and decisions. */
static int run_batch(runner *r, const float *x, size_t n, const size_t *starts, size_t nb, aa_error *err)
{
    int bad = 0;
    aa_error e = {0};
    const float *mels[BATCH];
#pragma omp parallel for num_threads(r->threads) schedule(static) reduction(| : bad)
    for (size_t j = 0; j < nb; j++) {
        aa_error ej;
        mels[j] = r->mels + j * r->per;
        if (dsp_windows_logmel(r->lm, omp_get_thread_num(), x, n, &starts[j], 1, r->mels + j * r->per, &ej)) {
            bad = 1;
#pragma omp critical
            e = ej;
        }
    }
    if (bad)
        return aa_error_set(err, e.code, "%s", e.msg);
    if (am_logits_batch(r->m, r->slot, mels, nb, r->logits, err))
        return err->code;
    if (r->n_windows + nb > r->cap_windows) {
        size_t cap = r->cap_windows ? 2 * r->cap_windows : 1024;
        while (cap < r->n_windows + nb)
            cap *= 2;
        float *v = realloc(r->raw, cap * (size_t)r->k * sizeof *v);
        if (!v)
            return aa_error_set(err, AA_ERR_NOMEM, "out of memory");
        r->raw = v;
        r->cap_windows = cap;
    }
    for (size_t j = 0; j < nb; j++) {
        am_result res;
        am_decide(r->m, r->logits + j * (size_t)am_n_outputs(r->m), &res);
        memcpy(r->raw + (r->n_windows + j) * (size_t)r->k, res.probs, (size_t)r->k * sizeof(float));
    }
    r->n_windows += nb;
    return 0;
}

static int slide(runner *r, dsp_reader *rd, const dsp_settings *s, size_t hop, aa_error *err)
{
    size_t len = dsp_clip_samples(s);
    size_t batch = hop >= SPAN_MAX ? 1 : 1 + (SPAN_MAX > len ? (SPAN_MAX - len) / hop : 0);
    batch = batch > BATCH ? BATCH : batch < 1 ? 1 : batch;
    size_t cap = len + (batch - 1) * hop + CHUNK;
    float *buf = malloc(cap * sizeof *buf);
    size_t starts[BATCH]; /* offsets into buf of the pending windows */
    if (!buf)
        return aa_error_set(err, AA_ERR_NOMEM, "out of memory");
    /* buf holds samples [base, base + have) of the recording; window w starts at sample w * hop. */
    size_t base = 0, have = 0, next = 0, pending = 0, first_pending = 0;
    int eof = 0, rc = 0;
    while (!rc) {
        /* keep only what a pending or future window needs */
        size_t need = pending ? first_pending * hop : next * hop;
        size_t drop = need > base + have ? have : need - base;
        if (drop) {
            memmove(buf, buf + drop, (have - drop) * sizeof *buf);
            base += drop;
            have -= drop;
        }
        if (!eof) {
            size_t got = 0;
            if ((rc = dsp_reader_read(rd, buf + have, cap - have, &got, err)))
                break;
            eof = got == 0;
            have += got;
            if (r->max_samples && base + have > r->max_samples) {
                rc = aa_error_set(err, DSP_ERR_TOO_LONG, "%s: longer than %.1f s", r->name,
                                  (double)r->max_samples / s->sample_rate);
                break;
            }
        }
        /* every window now whole joins the batch; a full batch (or the end) runs */
        while (!rc) {
            while (pending < batch && next * hop + len <= base + have) {
                if (!pending)
                    first_pending = next;
                pending++;
                next++;
            }
            if (pending == batch || (eof && pending)) {
                for (size_t j = 0; j < pending; j++)
                    starts[j] = (first_pending + j) * hop - base;
                rc = run_batch(r, buf, have, starts, pending, err);
                pending = 0;
                continue;
            }
            break;
        }
        if (eof)
            break;
    }
    if (!rc && r->n_windows == 0 && have > 0) {
        /* shorter than one window: the whole recording, zero-padded like a short clip */
        size_t zero = 0;
        rc = run_batch(r, buf, have, &zero, 1, err);
    }
    explicit_bzero(buf, cap * sizeof *buf); /* the recording itself: an upload leaves no copy behind */
    free(buf);
    return rc;
}

/* The common part of inf_timeline_run and inf_timeline_run_slot: set_threads says whether the model's
 * network threads may be set (only when nothing else uses the model at the same time). */
static int timeline_run(am_model *m, int slot, int set_threads, double max_seconds, const char *path,
                        const void *data, size_t size, double hop_s, int smooth, int background, int threads,
                        inf_timeline *out, aa_error *err)
{
    memset(out, 0, sizeof *out);
    const dsp_settings *s = am_dsp(m);
    size_t hop = (size_t)lround(hop_s * s->sample_rate);
    if (hop < 1)
        return aa_error_set(err, AM_ERR_ARG, "%s: hop of %g s is less than one sample", path, hop_s);
    dsp_reader *rd = data ? dsp_reader_open_memory(data, size, path, s, err) : dsp_reader_open(path, s, err);
    if (!rd)
        return err->code;
    runner r = {.m = m, .slot = slot, .name = path, .threads = threads > 0 ? threads : 1, .k = am_n_classes(m),
                .per = am_mel_size(m)};
    if (max_seconds > 0)
        r.max_samples = (size_t)(max_seconds * s->sample_rate);
    if (set_threads)
        am_set_threads(m, r.threads);
    r.lm = dsp_logmel_new(s, r.threads, err);
    r.mels = malloc(BATCH * r.per * sizeof *r.mels);
    r.logits = malloc(BATCH * (size_t)am_n_outputs(m) * sizeof *r.logits);
    int rc = 0;
    if (!r.lm)
        rc = err->code;
    else if (!r.mels || !r.logits)
        rc = aa_error_set(err, AA_ERR_NOMEM, "out of memory");
    if (!rc)
        rc = slide(&r, rd, s, hop, err);
    if (!rc) {
        out->source = *dsp_reader_source(rd);
        dsp_reader_stats(rd, &out->stats);
        out->n_windows = r.n_windows;
        out->k = r.k;
        out->hop_s = (double)hop / s->sample_rate;
        out->window_s = (double)dsp_clip_samples(s) / s->sample_rate;
        out->duration_s = out->source.duration;
        out->probs = malloc((r.n_windows ? r.n_windows : 1) * (size_t)r.k * sizeof *out->probs);
        if (!out->probs) {
            rc = aa_error_set(err, AA_ERR_NOMEM, "out of memory");
        } else {
            am_smooth(r.raw, r.n_windows, r.k, smooth, out->probs);
            am_timeline tl = am_get_timeline(m);
            size_t ne = am_events_find(m, out->probs, r.n_windows, out->hop_s, out->window_s, background,
                                       tl.threshold, tl.min_duration_s, NULL, 0);
            out->events = malloc((ne ? ne : 1) * sizeof *out->events);
            if (!out->events)
                rc = aa_error_set(err, AA_ERR_NOMEM, "out of memory");
            else
                out->n_events = am_events_find(m, out->probs, r.n_windows, out->hop_s, out->window_s, background,
                                               tl.threshold, tl.min_duration_s, out->events, ne);
        }
    }
    dsp_logmel_free(r.lm);
    if (r.mels)
        explicit_bzero(r.mels, BATCH * r.per * sizeof *r.mels);
    free(r.mels);
    free(r.logits);
    free(r.raw);
    dsp_reader_close(rd);
    if (rc)
        inf_timeline_free(out);
    return rc;
}

int inf_timeline_run(am_model *m, const char *path, const void *data, size_t size, double hop_s, int smooth,
                     int background, int threads, inf_timeline *out, aa_error *err)
{
    return timeline_run(m, 0, 1, 0, path, data, size, hop_s, smooth, background, threads, out, err);
}

int inf_timeline_run_slot(am_model *m, int slot, double max_seconds, const char *name, const void *data,
                          size_t size, double hop_s, int smooth, int background, inf_timeline *out, aa_error *err)
{
    return timeline_run(m, slot, 0, max_seconds, name, data, size, hop_s, smooth, background, 1, out, err);
}

void inf_timeline_free(inf_timeline *t)
{
    free(t->probs);
    free(t->events);
    memset(t, 0, sizeof *t);
}

/* ---- the command ----------------------------------------------------------------------------------------- */

static void print_text(const am_model *m, const char *file, const inf_timeline *t, int smooth)
{
    char nb[1024], lb[256];
    printf("%s: %.1f s, %zu windows of %.2f s every %.2f s, probabilities averaged over %d window%s\n",
           aa_printable_into(file, nb, sizeof nb), t->duration_s, t->n_windows, t->window_s, t->hop_s, smooth,
           smooth == 1 ? "" : "s");
    am_quality q = am_quality_of(&t->stats);
    if (q.verdict != AM_QUALITY_OK)
        printf("  quality: %s! %s\n", q.name, q.message);
    if (!t->n_events) {
        printf("  no events\n");
        return;
    }
    printf("  %10s %10s  %-20s %s\n", "start (s)", "end (s)", "event", "peak confidence");
    for (size_t i = 0; i < t->n_events; i++) {
        const inf_event *e = &t->events[i];
        printf("  %10.2f %10.2f  %-20s %5.1f%%\n", e->start, e->end,
               aa_printable_into(am_class_label(m, e->cls), lb, sizeof lb), 100 * e->peak);
    }
}

char *inf_timeline_json(const am_model *m, const char *file, const inf_timeline *t, int smooth, int background)
{
    aa_buf b = {0};
    aa_buf_printf(&b, "{\"file\": ");
    aa_json_str(&b, file);
    am_quality q = am_quality_of(&t->stats);
    aa_buf_printf(&b, ", \"duration_s\": %.3f, \"window_s\": %g, \"hop_s\": %g, \"smooth\": %d, \"windows\": %zu, "
                   "\"background\": ", t->duration_s, t->window_s, t->hop_s, smooth, t->n_windows);
    aa_json_str(&b, background >= 0 ? am_class_name(m, background) : NULL);
    aa_buf_printf(&b, ", \"quality\": \"%s\", \"events\": [", q.name);
    for (size_t i = 0; i < t->n_events; i++) {
        const inf_event *e = &t->events[i];
        aa_buf_printf(&b, "%s{\"start_s\": %.3f, \"end_s\": %.3f, \"label\": ", i ? ", " : "", e->start, e->end);
        aa_json_str(&b, am_class_label(m, e->cls));
        aa_buf_printf(&b, ", \"class\": ");
        aa_json_str(&b, am_class_name(m, e->cls));
        aa_buf_printf(&b, ", \"peak_confidence\": %.6g, \"windows\": %zu}", e->peak, e->windows);
    }
    aa_buf_printf(&b, "]");
    inf_json_disclaimer(&b, m);
    aa_buf_printf(&b, "}");
    return aa_buf_take(&b);
}

int inf_background_class(const am_model *m, const char *name)
{
    if (!name)
        return am_background_class(m);
    for (int c = 0; c < am_n_classes(m); c++)
        if (!strcmp(am_class_name(m, c), name) || !strcmp(am_class_label(m, c), name))
            return c;
    return -1;
}

int inf_cmd_timeline(const inf_options *o)
{
    aa_error err = {0};
    am_model *m = inf_open_model(o, 1, &err);
    if (!m) {
        inf_print_error(err.msg);
        return inf_exit_status(&err);
    }
    int background = inf_background_class(m, o->background);
    if (background < 0 && o->background) {
        inf_errorf("--background: no class called '%s' in %s", o->background, o->model);
        am_free(m);
        return 2;
    }
    inf_timeline_score score = {0};
    if (o->reference && inf_score_open(&score, m, o, background, &err)) {
        fprintf(stderr, "aa-infer: %s\n", err.msg);
        inf_score_free(&score);
        am_free(m);
        return 1;
    }
    size_t n = 0;
    inf_input *in = inf_inputs_expand(o->inputs, o->n_inputs, &n, &err);
    if (!in) {
        inf_print_error(err.msg);
        inf_score_free(&score);
        am_free(m);
        return 1;
    }
    int threads = inf_threads_for(o, (size_t)1 << 20), failed = 0;
    if (o->tune) {
        failed = inf_cmd_tune(o, m, background, in, n, threads);
        inf_inputs_free(in, n);
        am_free(m);
        return failed;
    }
    int smooth = o->smooth ? o->smooth : am_get_timeline(m).smooth;
    for (size_t i = 0; i < n; i++) {
        inf_timeline t;
        unsigned char *data = NULL;
        size_t size = 0;
        int rc = 0;
        if (in[i].error) {
            rc = aa_error_set(&err, AA_ERR_IO, "%s", in[i].error);
        } else if (!strcmp(in[i].path, "-")) {
            /* a pipe cannot be re-read, so standard input is held whole (compressed, as it came) */
            if (!(data = inf_read_all(stdin, "stdin", inf_stdin_limit(o->max_seconds, TIMELINE_STDIN_MAX), &size,
                                      &err)))
                rc = err.code;
        }
        if (!rc)
            rc = inf_timeline_run(m, data ? "stdin" : in[i].path, data, size, o->hop, smooth, background,
                                  threads, &t, &err);
        free(data);
        if (rc) {
            fflush(stdout);
            if (rc == AM_ERR_NUMERIC) /* the model's message names the model; this says which recording */
                inf_errorf("%s: %s", data ? "stdin" : in[i].path, err.msg);
            else
                inf_print_error(err.msg);
            failed = 1;
            continue;
        }
        if (o->format == INF_JSON) {
            char *j = inf_timeline_json(m, in[i].path, &t, smooth, background);
            if (j)
                printf("%s\n", j);
            else
                inf_errorf("%s: out of memory", in[i].path), failed = 1;
            free(j);
        } else {
            print_text(m, in[i].path, &t, smooth);
        }
        fflush(stdout);
        if (o->reference && inf_score_add(&score, data ? "stdin" : in[i].path, &t, &err)) {
            fprintf(stderr, "aa-infer: %s\n", err.msg);
            failed = 1;
        }
        inf_timeline_free(&t);
    }
    if (o->reference) {
        if (o->format == INF_TEXT)
            printf("\n");
        if (inf_score_report(&score, m, o, &err)) {
            fflush(stdout);
            fprintf(stderr, "aa-infer: %s: %s\n", o->reference, err.msg);
            failed = 1;
        }
        inf_score_free(&score);
    }
    if (o->format == INF_TEXT)
        inf_text_disclaimer(stdout, m);
    if (fflush(stdout) != 0)
        failed = 1;
    inf_inputs_free(in, n);
    am_free(m);
    return failed ? 1 : 0;
}
