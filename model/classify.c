/* The route from a recording to a decision (model.h, "the route"): windows by the policy, their log-mels,
 * normalisation and the network, the policy's combination, temperature and gate. Everything that judges a
 * recording, in aa-infer and in the trainer, comes through here. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval.h"
#include "model/drift.h"
#include "model/model_internal.h"

void am_decide(const am_model *m, const float *logits, am_result *out)
{
    int ko = m->n_outputs, k = m->n_classes;
    double mx = -INFINITY, sum = 0, z[AM_MAX_CLASSES], zc[AM_MAX_CLASSES] = {0};
    for (int o = 0; o < ko; o++)
        if (logits[o] > mx)
            mx = logits[o];
    /* Shifted before the division: logit / T overflows to inf for a small T (and inf - inf is NaN), while
     * (logit - max) / T is at most 0, so the top class is exp(0) = 1 and the sum is at least 1. */
    for (int o = 0; o < ko; o++)
        sum += (z[o] = exp(((double)logits[o] - mx) / m->temperature));
    /* Merged before the division and in output order: a class with one output gets exactly the bits the
     * plain softmax gives it (ev_softmax's), so a model without internal outputs decides as before. */
    for (int o = 0; o < ko; o++)
        if (m->map[o] >= 0)
            zc[m->map[o]] += z[o];
    int best = 0;
    for (int c = 0; c < k; c++) {
        out->probs[c] = (float)(zc[c] / sum);
        if (out->probs[c] > out->probs[best])
            best = c;
    }
    out->cls = best;
    out->confidence = out->probs[best];
    /* eval/'s rule itself (equal to the threshold is kept; the Unclear outputs' rest), so the binary's
     * decisions and the evaluation's Unclear column agree. */
    ev_gate g = {.min_confidence = m->min_confidence, .class_threshold = m->class_threshold,
                 .rest_unclear = m->has_unclear};
    out->gated = ev_gate_withholds_row(&g, out->probs, k);
}

static int check_slot(const am_model *m, int slot, aa_error *err)
{
    if (slot < 0 || slot >= m->n_slots)
        return aa_error_set(err, AM_ERR_ARG, "worker slot %d out of range (0..%d)", slot, m->n_slots - 1);
    return 0;
}

static void touch(am_slot *s, size_t windows)
{
    if (windows > s->touched)
        s->touched = windows;
}

int am_logits_batch(am_model *m, int slot, const float *const *mels, size_t n, float *logits, aa_error *err)
{
    if (check_slot(m, slot, err))
        return AM_ERR_ARG;
    am_slot *s = &m->slots[slot];
    const size_t per = am_mel_size(m), K = (size_t)m->n_outputs;
    for (size_t i = 0; i < n; i += AM_BATCH) {
        size_t b = n - i < AM_BATCH ? n - i : AM_BATCH;
        for (size_t j = 0; j < b; j++) {
            float *x = s->norm + j * per;
            memcpy(x, mels[i + j], per * sizeof *x);
            dsp_normalise(m->norm_mean, m->norm_std, (size_t)m->dsp.n_mels, m->n_frames, x);
        }
        touch(s, b);
        int rc = nn_forward_eval(s->nets[0], s->norm, (int)b, logits + i * K, err);
        if (rc)
            return rc;
        if (m->n_nets > 1) {
            /* An ensemble: the mean of its networks' logits (model.h, "ensembles"), summed in network order. */
            float part[AM_BATCH * AM_MAX_CLASSES];
            for (int e = 1; e < m->n_nets; e++) {
                if ((rc = nn_forward_eval(s->nets[e], s->norm, (int)b, part, err)))
                    return rc;
                for (size_t j = 0; j < b * K; j++)
                    logits[i * K + j] += part[j];
            }
            for (size_t j = 0; j < b * K; j++)
                logits[i * K + j] /= (float)m->n_nets;
        }
    }
    for (size_t i = 0; i < n * K; i++)
        if (!isfinite(logits[i]))
            return aa_error_set(err, AM_ERR_NUMERIC, "network output of %s is not finite",
                                m->path ? m->path : "the model in memory");
    return 0;
}

void am_windows_free(am_windows *w)
{
    if (!w)
        return;
    free(w->offset);
    free(w->energy);
    free(w->mel);
    memset(w, 0, sizeof *w);
}

int am_recording_windows(dsp_logmel *lm, int slot, const am_aggregate *a, const float *x, size_t n,
                         am_windows *out, aa_error *err)
{
    memset(out, 0, sizeof *out);
    if (am_aggregate_check(a, err))
        return AM_ERR_ARG;
    const dsp_settings *s = dsp_logmel_settings(lm);
    const size_t per = dsp_logmel_size(lm, dsp_clip_samples(s));
    size_t count = am_aggregate_windows(a, s, x, n, NULL, NULL, 0);
    out->aggregate = *a;
    out->offset = malloc(count * sizeof *out->offset);
    out->energy = malloc(count * sizeof *out->energy);
    out->mel = malloc(count * per * sizeof *out->mel);
    if (!out->offset || !out->energy || !out->mel) {
        am_windows_free(out);
        return aa_error_set(err, AM_ERR_NOMEM, "out of memory for the log-mels of %zu windows", count);
    }
    out->n = am_aggregate_windows(a, s, x, n, out->offset, out->energy, count);
    int rc = dsp_windows_logmel(lm, slot, x, n, out->offset, count, out->mel, err);
    if (rc)
        am_windows_free(out);
    return rc;
}

int am_windows_scores(am_model *m, int slot, const am_windows *w, size_t n_rec, float *scores, aa_error *err)
{
    if (check_slot(m, slot, err))
        return AM_ERR_ARG;
    const size_t K = (size_t)m->n_outputs, per = am_mel_size(m);
    size_t total = 0;
    for (size_t r = 0; r < n_rec; r++)
        total += w[r].n;
    const float **mels = calloc(total ? total : 1, sizeof *mels);
    float *logits = malloc((total ? total : 1) * K * sizeof *logits);
    int rc = 0;
    if (!mels || !logits) {
        rc = aa_error_set(err, AM_ERR_NOMEM, "out of memory for the logits of %zu windows", total);
        goto out;
    }
    /* All recordings' windows in one run of batches: a recording of one window does not leave the other
     * threads of a batch idle. */
    for (size_t r = 0, at = 0; r < n_rec; r++)
        for (size_t j = 0; j < w[r].n; j++)
            mels[at++] = w[r].mel + j * per;
    if ((rc = am_logits_batch(m, slot, mels, total, logits, err)))
        goto out;
    for (size_t r = 0, at = 0; r < n_rec && !rc; at += w[r].n, r++)
        rc = am_aggregate_combine(&w[r].aggregate, m->n_outputs, w[r].n, logits + at * K, w[r].energy,
                                  scores + r * K, err);
out:
    free(mels);
    free(logits);
    return rc;
}

/* am_recording_scores, the windows' frames added to drift (may be NULL) as their log-mels are made: the
 * drift verdict rests on the windows the decision rests on, at no second front-end pass. */
static int recording_scores(am_model *m, int slot, const float *x, size_t n, float *scores, size_t *n_windows,
                            size_t *offset, float *mel, am_drift_acc *drift, aa_error *err)
{
    if (check_slot(m, slot, err))
        return AM_ERR_ARG;
    am_slot *s = &m->slots[slot];
    const size_t per = am_mel_size(m), K = (size_t)m->n_outputs;
    size_t count = am_aggregate_windows(&m->aggregate, &m->dsp, x, n, NULL, NULL, 0);
    size_t *offsets = malloc(count * sizeof *offsets);
    double *energy = malloc(count * sizeof *energy);
    float *logits = malloc(count * K * sizeof *logits);
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
    /* The two halves of am_recording_windows and am_windows_scores, a part at a time. */
    for (size_t i = 0; i < count && !rc; i += AM_BATCH) {
        size_t b = count - i < AM_BATCH ? count - i : AM_BATCH;
        const float *part[AM_BATCH];
        for (size_t j = 0; j < b; j++)
            part[j] = s->mels + j * per;
        touch(s, b);
        if ((rc = dsp_windows_logmel(m->logmel, slot, x, n, offsets + i, b, s->mels, err)) ||
            (rc = am_logits_batch(m, slot, part, b, logits + i * K, err)))
            break;
        if (mel && loudest >= i && loudest < i + b)
            memcpy(mel, s->mels + (loudest - i) * per, per * sizeof *mel);
        for (size_t j = 0; drift && j < b; j++)
            am_drift_acc_add(drift, s->mels + j * per, m->n_frames,
                             am_drift_frames_used(&m->dsp, offsets[i + j], n, m->n_frames));
    }
    if (!rc && !(rc = am_aggregate_combine(&m->aggregate, m->n_outputs, count, logits, energy, scores, err))) {
        *n_windows = count;
        *offset = offsets[loudest];
    }
out:
    free(offsets);
    free(energy);
    free(logits);
    return rc;
}

int am_recording_scores(am_model *m, int slot, const float *x, size_t n, float *scores, size_t *n_windows,
                        size_t *offset, float *mel, aa_error *err)
{
    return recording_scores(m, slot, x, n, scores, n_windows, offset, mel, NULL, err);
}

static int classify_samples(am_model *m, int slot, const float *x, size_t n, am_result *out, float *mel,
                            am_drift_acc *drift, aa_error *err)
{
    float scores[AM_MAX_CLASSES];
    size_t windows = 0, offset = 0;
    int rc = recording_scores(m, slot, x, n, scores, &windows, &offset, mel, drift, err);
    if (rc)
        return rc;
    am_decide(m, scores, out);
    out->offset = offset;
    out->windows = windows;
    return 0;
}

int am_classify_samples(am_model *m, int slot, const float *x, size_t n, am_result *out, float *mel,
                        aa_error *err)
{
    return classify_samples(m, slot, x, n, out, mel, NULL, err);
}

int am_classify_clip(am_model *m, int slot, const float *clip, am_result *out, float *mel, aa_error *err)
{
    /* A recording of exactly one clip is one window at offset 0 under every policy. */
    return am_classify_samples(m, slot, clip, m->clip_samples, out, mel, err);
}

void am_wipe_slot(am_model *m, int slot)
{
    if (slot < 0 || slot >= m->n_slots)
        return;
    am_slot *s = &m->slots[slot];
    explicit_bzero(s->mels, s->touched * am_mel_size(m) * sizeof *s->mels);
    explicit_bzero(s->norm, s->touched * am_mel_size(m) * sizeof *s->norm);
    s->touched = 0;
    dsp_logmel_wipe(m->logmel, slot);
}

static int classify_audio(am_model *m, int slot, const char *name, dsp_audio *a, int wipe, am_file_result *out,
                          float *mel, aa_error *err)
{
    out->source = a->src;
    out->stats = a->stats;
    out->duration = a->src.duration;
    out->quality = am_quality_of(&a->stats);
    am_drift_acc *drift = am_has_drift(m) ? am_drift_acc_new(m->dsp.n_mels) : NULL;
    int rc = am_has_drift(m) && !drift ? aa_error_set(err, AM_ERR_NOMEM, "%s: out of memory", name)
                                       : classify_samples(m, slot, a->samples, a->n, &out->result, mel, drift, err);
    if (!rc)
        out->drift = am_drift_judge(m, drift);
    am_drift_acc_free(drift);
    if (rc == AM_ERR_NUMERIC && err) { /* which recording, as every other message about one says */
        char what[AA_ERROR_MSG_MAX];
        snprintf(what, sizeof what, "%s", err->msg);
        aa_error_set(err, rc, "%s: %s", name, what);
    }
    if (wipe && a->samples) /* decoded uploads are not left behind in freed memory */
        explicit_bzero(a->samples, a->n * sizeof *a->samples);
    dsp_audio_free(a);
    return rc;
}

/* A recording that cannot be decoded returns the front end's own code and message (which name the file and
 * the reason): the caller tells the recording's faults from others with dsp_status_is_input. */
int am_classify_file(am_model *m, int slot, const char *path, double max_seconds, am_file_result *out,
                     float *mel, aa_error *err)
{
    memset(out, 0, sizeof *out);
    dsp_audio a;
    int rc = dsp_load(path, &m->dsp, max_seconds, &a, err);
    return rc ? rc : classify_audio(m, slot, path, &a, 0, out, mel, err);
}

int am_classify_memory(am_model *m, int slot, const void *data, size_t size, const char *name,
                       double max_seconds, am_file_result *out, float *mel, aa_error *err)
{
    memset(out, 0, sizeof *out);
    dsp_audio a;
    int rc = dsp_load_memory(data, size, name, &m->dsp, max_seconds, &a, err);
    return rc ? rc : classify_audio(m, slot, name, &a, 1, out, mel, err);
}
