#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"

/* The front end's message already names the file and reason; the code becomes ours so that callers see
 * one code space per module they call. */
static int audio_error(aa_error *err)
{
    if (err)
        err->code = AM_ERR_AUDIO;
    return AM_ERR_AUDIO;
}

void am_normalise(const am_model *m, float *mel)
{
    size_t nf = m->n_frames;
    for (int i = 0; i < m->dsp.n_mels; i++) {
        float mu = m->norm_mean[i], inv = 1.0f / m->norm_std[i];
        float *row = mel + (size_t)i * nf;
        for (size_t t = 0; t < nf; t++)
            row[t] = (row[t] - mu) * inv;
    }
}

int am_clip_logits(const am_model *m, dsp_logmel *lm, int lm_slot, nn_model *net, const float *clip,
                   float *mel_db, float *scratch, float *logits, aa_error *err)
{
    if (dsp_logmel_compute(lm, lm_slot, clip, m->clip_samples, mel_db, err))
        return audio_error(err);
    memcpy(scratch, mel_db, am_mel_size(m) * sizeof *scratch);
    am_normalise(m, scratch);
    if (nn_forward_eval(net, scratch, 1, logits, err))
        return AM_ERR_NUMERIC;
    for (int c = 0; c < m->n_classes; c++)
        if (!isfinite(logits[c]))
            return aa_error_set(err, AM_ERR_NUMERIC, "network output is not finite");
    return 0;
}

void am_decide(const am_model *m, const float *logits, am_result *out)
{
    int k = m->n_classes;
    double mx = -INFINITY, sum = 0, z[AM_MAX_CLASSES];
    for (int c = 0; c < k; c++)
        if (logits[c] > mx)
            mx = logits[c];
    /* Shifted before the division: logit / T overflows to inf for a small T (and inf - inf is NaN), while
     * (logit - max) / T is at most 0, so the top class is exp(0) = 1 and the sum is at least 1. */
    for (int c = 0; c < k; c++)
        sum += (z[c] = exp(((double)logits[c] - mx) / m->temperature));
    int best = 0;
    for (int c = 0; c < k; c++) {
        out->probs[c] = (float)(z[c] / sum);
        if (out->probs[c] > out->probs[best])
            best = c;
    }
    out->cls = best;
    out->confidence = out->probs[best];
    double th = m->class_threshold[best] > m->min_confidence ? m->class_threshold[best] : m->min_confidence;
    /* Same rule as eval/'s ev_gate_withholds (equal to the threshold is kept), so the binary's decisions and
     * the evaluation's Unclear column agree. */
    out->gated = (double)out->probs[best] < th;
}

static int check_slot(const am_model *m, int slot, aa_error *err)
{
    if (slot < 0 || slot >= m->n_slots)
        return aa_error_set(err, AM_ERR_ARG, "worker slot %d out of range (0..%d)", slot, m->n_slots - 1);
    return 0;
}

int am_classify_clip(am_model *m, int slot, const float *clip, am_result *out, float *mel, aa_error *err)
{
    if (check_slot(m, slot, err))
        return AM_ERR_ARG;
    am_slot *s = &m->slots[slot];
    float logits[AM_MAX_CLASSES];
    int rc = am_clip_logits(m, m->logmel, slot, s->net, clip, s->mel, s->scratch, logits, err);
    if (rc)
        return rc;
    am_decide(m, logits, out);
    out->offset = 0;
    out->windows = 1;
    if (mel)
        memcpy(mel, s->mel, am_mel_size(m) * sizeof *mel);
    return 0;
}

int am_classify_samples(am_model *m, int slot, const float *x, size_t n, am_result *out, float *mel,
                        aa_error *err)
{
    if (check_slot(m, slot, err))
        return AM_ERR_ARG;
    am_slot *s = &m->slots[slot];
    size_t count = am_aggregate_windows(&m->aggregate, &m->dsp, x, n, NULL, NULL, 0);
    if (count <= 1) {
        size_t offset = 0;
        dsp_clip(&m->dsp, x, n, s->clip, &offset);
        int rc = am_classify_clip(m, slot, s->clip, out, mel, err);
        out->offset = offset;
        return rc;
    }
    int k = m->n_classes;
    size_t *offsets = malloc(count * sizeof *offsets);
    double *energy = malloc(count * sizeof *energy);
    float *logits = malloc(count * (size_t)k * sizeof *logits);
    int rc = 0;
    if (!offsets || !energy || !logits) {
        rc = aa_error_set(err, AM_ERR_NOMEM, "out of memory for %zu windows", count);
        goto out;
    }
    am_aggregate_windows(&m->aggregate, &m->dsp, x, n, offsets, energy, count);
    size_t loudest = 0;
    for (size_t i = 1; i < count; i++)
        if (energy[i] > energy[loudest])
            loudest = i;
    for (size_t i = 0; i < count && !rc; i++) {
        memcpy(s->clip, x + offsets[i], m->clip_samples * sizeof *s->clip);
        rc = am_clip_logits(m, m->logmel, slot, s->net, s->clip, s->mel, s->scratch, logits + i * (size_t)k, err);
        if (!rc && i == loudest && mel)
            memcpy(mel, s->mel, am_mel_size(m) * sizeof *mel);
    }
    float score[AM_MAX_CLASSES];
    if (!rc && !(rc = am_aggregate_combine(&m->aggregate, k, count, logits, energy, score, err))) {
        am_decide(m, score, out);
        out->offset = offsets[loudest];
        out->windows = count;
    }
out:
    free(offsets);
    free(energy);
    free(logits);
    return rc;
}

void am_wipe_slot(am_model *m, int slot)
{
    if (slot < 0 || slot >= m->n_slots)
        return;
    am_slot *s = &m->slots[slot];
    explicit_bzero(s->clip, m->clip_samples * sizeof *s->clip);
    explicit_bzero(s->mel, am_mel_size(m) * sizeof *s->mel);
    explicit_bzero(s->scratch, am_mel_size(m) * sizeof *s->scratch);
}

static int classify_audio(am_model *m, int slot, dsp_audio *a, int wipe, am_file_result *out, float *mel,
                          aa_error *err)
{
    out->source = a->src;
    out->stats = a->stats;
    out->duration = a->src.duration;
    out->quality = am_quality_of(&a->stats);
    int rc = am_classify_samples(m, slot, a->samples, a->n, &out->result, mel, err);
    if (wipe && a->samples) /* decoded uploads are not left behind in freed memory */
        explicit_bzero(a->samples, a->n * sizeof *a->samples);
    dsp_audio_free(a);
    return rc;
}

int am_classify_file(am_model *m, int slot, const char *path, double max_seconds, am_file_result *out,
                     float *mel, aa_error *err)
{
    memset(out, 0, sizeof *out);
    dsp_audio a;
    if (dsp_load(path, &m->dsp, max_seconds, &a, err))
        return audio_error(err);
    return classify_audio(m, slot, &a, 0, out, mel, err);
}

int am_classify_memory(am_model *m, int slot, const void *data, size_t size, const char *name,
                       double max_seconds, am_file_result *out, float *mel, aa_error *err)
{
    memset(out, 0, sizeof *out);
    dsp_audio a;
    if (dsp_load_memory(data, size, name, &m->dsp, max_seconds, &a, err))
        return audio_error(err);
    return classify_audio(m, slot, &a, 1, out, mel, err);
}

int am_logits_batch(am_model *m, int slot, const float *mels, size_t n, float *logits, aa_error *err)
{
    if (check_slot(m, slot, err))
        return AM_ERR_ARG;
    enum { CHUNK = 32 };
    size_t per = am_mel_size(m);
    float *buf = malloc(CHUNK * per * sizeof *buf);
    if (!buf)
        return aa_error_set(err, AM_ERR_NOMEM, "out of memory");
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i += CHUNK) {
        size_t b = n - i < CHUNK ? n - i : CHUNK;
        memcpy(buf, mels + i * per, b * per * sizeof *buf);
        for (size_t j = 0; j < b; j++)
            am_normalise(m, buf + j * per);
        if (nn_forward_eval(m->slots[slot].net, buf, (int)b, logits + i * (size_t)m->n_classes, err))
            rc = AM_ERR_NUMERIC;
    }
    free(buf);
    return rc;
}
