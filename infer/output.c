/* Results for people (text), for scripts (JSON lines, CSV) and for the web page (JSON with the log-mel). */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "infer/infer.h"

/* ---- JSON ----------------------------------------------------------------------------------------------- */

/* Probabilities are floats: 6 significant digits say all a person or a plot needs, and the same digits
 * come out of the CLI and the server, which share this code. */
#define PFMT "%.6g"

void inf_json_disclaimer(aa_buf *b, const am_model *m)
{
    const char *d = am_disclaimer(m);
    if (d) {
        aa_buf_printf(b, ", \"disclaimer\": ");
        aa_json_str(b, d);
    }
}

void inf_text_disclaimer(FILE *out, const am_model *m)
{
    const char *d = am_disclaimer(m);
    if (d)
        fprintf(out, "%s\n", d);
}

const char *inf_label(const am_model *m, const am_result *r)
{
    return r->gated ? AM_UNCLEAR_LABEL : am_class_label(m, r->cls);
}

void inf_json_probabilities(aa_buf *b, const am_model *m, const float *probs)
{
    aa_buf_printf(b, "{");
    for (int c = 0; c < am_n_classes(m); c++) {
        aa_buf_printf(b, c ? ", " : "");
        aa_json_str(b, am_class_label(m, c));
        aa_buf_printf(b, ": " PFMT, (double)probs[c]);
    }
    aa_buf_printf(b, "}");
}

static double peak_dbfs(double peak)
{
    return peak > 1e-6 ? 20 * log10(peak) : -120.0; /* the same floor as the RMS figure */
}

void inf_json_mel(aa_buf *b, const am_model *m, const float *mel)
{
    const dsp_settings *s = am_dsp(m);
    size_t n = am_mel_size(m), n_mels = (size_t)s->n_mels, n_frames = n / n_mels;
    float hi = -INFINITY, lo = INFINITY;
    for (size_t i = 0; i < n; i++) {
        hi = mel[i] > hi ? mel[i] : hi;
        lo = mel[i] < lo ? mel[i] : lo;
    }
    /* The front end floors each clip at its max - top_db, so that is the natural bottom of the scale; a
     * clip with no dynamic range (digital silence) keeps the same span so it draws as flat dark, not noise. */
    double top = hi, bottom = s->top_db > 0 ? hi - s->top_db : lo;
    if (!(top > bottom))
        bottom = top - 80;
    unsigned char *px = malloc(n ? n : 1);
    if (!px) {
        b->oom = 1;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        double v = (mel[i] - bottom) / (top - bottom) * 255.0;
        px[i] = (unsigned char)(v <= 0 ? 0 : v >= 255 ? 255 : lround(v));
    }
    char *b64 = aa_http_base64(px, n);
    free(px);
    if (!b64) {
        b->oom = 1;
        return;
    }
    aa_buf_printf(b, "{\"n_mels\": %zu, \"n_frames\": %zu, \"min_db\": %.2f, \"max_db\": %.2f, \"data\": \"%s\"}",
                   n_mels, n_frames, bottom, top, b64);
    free(b64);
}

void inf_json_drift(aa_buf *b, const am_drift *d)
{
    if (d->judged)
        aa_buf_printf(b, ", \"drift_score\": " PFMT ", \"drifted\": %s", d->score, d->drifted ? "true" : "false");
    else
        aa_buf_printf(b, ", \"drift_score\": null, \"drifted\": null");
}

char *inf_result_json(const am_model *m, const char *file, const am_file_result *fr, const float *mel)
{
    const am_result *r = &fr->result;
    aa_buf b = {0};
    aa_buf_printf(&b, "{\"file\": ");
    aa_json_str(&b, file);
    aa_buf_printf(&b, ", \"label\": ");
    aa_json_str(&b, inf_label(m, r));
    aa_buf_printf(&b, ", \"class\": ");
    aa_json_str(&b, r->gated ? NULL : am_class_name(m, r->cls));
    aa_buf_printf(&b, ", \"confidence\": " PFMT ", \"gated\": %s, \"probabilities\": ", r->confidence,
                   r->gated ? "true" : "false");
    inf_json_probabilities(&b, m, r->probs);
    aa_buf_printf(&b,
                   ", \"quality\": {\"verdict\": \"%s\", \"ok\": %s, \"duration_s\": %.3f, \"rms_dbfs\": %.2f, "
                   "\"peak_dbfs\": %.2f, \"clipped_fraction\": " PFMT ", \"message\": ",
                   fr->quality.name, fr->quality.verdict == AM_QUALITY_OK ? "true" : "false", fr->stats.duration,
                   fr->stats.rms_dbfs, peak_dbfs(fr->stats.peak), fr->stats.clip_fraction);
    aa_json_str(&b, fr->quality.message);
    aa_buf_printf(&b, "}");
    inf_json_drift(&b, &fr->drift);
    aa_buf_printf(&b, ", \"duration_s\": %.3f, \"windows\": %zu, \"clip_start_s\": %.3f", fr->duration,
                   r->windows, (double)r->offset / am_dsp(m)->sample_rate);
    if (mel) {
        aa_buf_printf(&b, ", \"mel\": ");
        inf_json_mel(&b, m, mel);
    }
    inf_json_disclaimer(&b, m);
    aa_buf_printf(&b, "}");
    return aa_buf_take(&b);
}

/* ---- text ------------------------------------------------------------------------------------------------ */

void inf_print_error(const char *msg)
{
    fputs("aa-infer: ", stderr);
    aa_fputs_printable(msg, stderr);
    fputc('\n', stderr);
}

void inf_errorf(const char *fmt, ...)
{
    char buf[AA_ERROR_MSG_MAX * 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    inf_print_error(buf);
}

/* A name as text shows it (aa_printable); "?" when out of memory. Caller frees. */
static char *shown(const char *s)
{
    char *p = aa_printable(s);
    return p ? p : strdup("?");
}

void inf_result_text(FILE *out, const am_model *m, const char *file, const am_file_result *fr)
{
    const am_result *r = &fr->result;
    if (!strcmp(file, "-"))
        file = "stdin";
    int k = am_n_classes(m);
    char *name = shown(file), *labels[AM_MAX_CLASSES];
    for (int c = 0; c < k; c++)
        labels[c] = shown(am_class_label(m, c));
    if (r->gated) {
        double need = am_class_threshold(m, r->cls) > am_min_confidence(m) ? am_class_threshold(m, r->cls)
                                                                           : am_min_confidence(m);
        fprintf(out, "%s: %s (best guess %s at %.1f%%, below the %.1f%% the model needs)\n", name,
                AM_UNCLEAR_LABEL, labels[r->cls] ? labels[r->cls] : "?", 100 * r->confidence, 100 * need);
    } else {
        fprintf(out, "%s: %s (%.1f%% confidence)\n", name, labels[r->cls] ? labels[r->cls] : "?", 100 * r->confidence);
    }
    int width = 0;
    for (int c = 0; c < k; c++) {
        int w = labels[c] ? (int)strlen(labels[c]) : 1;
        width = w > width ? w : width;
    }
    for (int c = 0; c < k; c++) {
        double p = r->probs[c];
        int bar = (int)lround(p * 20);
        fprintf(out, "    %-*s %5.1f%%%s%.*s\n", width, labels[c] ? labels[c] : "?", 100 * p, bar ? "  " : "", bar,
                "####################");
    }
    if (fr->quality.verdict == AM_QUALITY_OK)
        fprintf(out, "    quality: ok (%.2f s, %.1f dBFS)\n", fr->duration, fr->stats.rms_dbfs);
    else
        fprintf(out, "    quality: %s! %s\n", fr->quality.name, fr->quality.message);
    /* a model without drift statistics (files from before them) gives no verdict, and no line */
    if (fr->drift.judged && fr->drift.drifted)
        fprintf(out, "    drift: unlike the training recordings! score %.2f, above the model's %.2f: the decision "
                "may be less reliable than the model's figures say\n", fr->drift.score, fr->drift.threshold);
    else if (fr->drift.judged)
        fprintf(out, "    drift: like the training recordings (score %.2f, threshold %.2f)\n", fr->drift.score,
                fr->drift.threshold);
    free(name);
    for (int c = 0; c < k; c++)
        free(labels[c]);
}

/* ---- CSV ------------------------------------------------------------------------------------------------- */

/* A field, its control characters escaped as text shows them (a file name holding ESC would act on a
 * terminal showing the table), then quoted as RFC 4180 asks. */
static void csv_field(FILE *out, const char *raw)
{
    if (!raw)
        return;
    char buf[1024];
    const char *s = aa_printable_into(raw, buf, sizeof buf);
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

void inf_csv_header(FILE *out, const am_model *m)
{
    fputs("file,label,class,confidence,gated", out);
    for (int c = 0; c < am_n_classes(m); c++) {
        fputs(",", out);
        char name[256];
        snprintf(name, sizeof name, "p_%s", am_class_name(m, c));
        csv_field(out, name);
    }
    fputs(am_disclaimer(m) ? ",quality,duration_s,drift_score,drifted,disclaimer\n"
                           : ",quality,duration_s,drift_score,drifted\n", out);
}

void inf_result_csv(FILE *out, const am_model *m, const char *file, const am_file_result *fr)
{
    const am_result *r = &fr->result;
    csv_field(out, file);
    fputc(',', out);
    csv_field(out, inf_label(m, r));
    fputc(',', out);
    csv_field(out, r->gated ? "" : am_class_name(m, r->cls));
    fprintf(out, "," PFMT ",%d", r->confidence, r->gated);
    for (int c = 0; c < am_n_classes(m); c++)
        fprintf(out, "," PFMT, (double)r->probs[c]);
    fprintf(out, ",%s,%.3f", fr->quality.name, fr->duration);
    if (fr->drift.judged) /* no verdict: two empty cells, so the columns stay the same for every model */
        fprintf(out, "," PFMT ",%d", fr->drift.score, fr->drift.drifted);
    else
        fputs(",,", out);
    if (am_disclaimer(m)) {
        fputc(',', out);
        csv_field(out, am_disclaimer(m));
    }
    fputc('\n', out);
}
