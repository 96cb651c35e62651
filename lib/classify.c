/* Classifying one recording (a file, its bytes, or samples) and the result's accessors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/lib_internal.h"

_Static_assert(AUDIOAUDIT_QUALITY_OK == (int)AM_QUALITY_OK && AUDIOAUDIT_QUALITY_TOO_SHORT == (int)AM_QUALITY_TOO_SHORT &&
                   AUDIOAUDIT_QUALITY_SILENT == (int)AM_QUALITY_SILENT &&
                   AUDIOAUDIT_QUALITY_CLIPPED == (int)AM_QUALITY_CLIPPED,
               "the public quality verdicts are model/'s");

/* One recording through model/ on a worker of the pool: a file when path is set, else bytes. */
static audioaudit_result *classify(audioaudit_model *m, const char *path, const void *data, size_t size,
                                   const char *name, audioaudit_error *err)
{
    audioaudit_result *r = calloc(1, sizeof *r);
    if (!r)
        return aul_error_set(err, AUDIOAUDIT_ERR_NOMEM, "out of memory"), NULL;
    aa_error e = {0};
    int slot = aul_take_slot(m);
    /* max_seconds 0: dsp/'s limit of an hour, aa-infer's default */
    int rc = path ? am_classify_file(m->am, slot, path, 0, &r->fr, NULL, &e)
                  : am_classify_memory(m->am, slot, data, size, name, 0, &r->fr, NULL, &e);
    if (!path) /* nothing of a caller's buffer outlives the call in the worker's memory */
        am_wipe_slot(m->am, slot);
    aul_give_slot(m, slot);
    if (rc) {
        free(r);
        aul_error_from(err, &e, AUL_AUDIO);
        return NULL;
    }
    r->n_classes = am_n_classes(m->am);
    r->label = r->fr.result.gated ? AM_UNCLEAR_LABEL : am_class_label(m->am, r->fr.result.cls);
    r->rate = am_dsp(m->am)->sample_rate;
    aul_error_clear(err);
    return r;
}

audioaudit_result *audioaudit_classify_file(audioaudit_model *m, const char *path, audioaudit_error *err)
{
    if (!m || !path)
        return aul_error_set(err, AUDIOAUDIT_ERR_ARG, "%s is NULL", m ? "path" : "model"), NULL;
    return classify(m, path, NULL, 0, NULL, err);
}

audioaudit_result *audioaudit_classify_memory(audioaudit_model *m, const void *data, size_t size,
                                              const char *name, audioaudit_error *err)
{
    if (!m || (!data && size))
        return aul_error_set(err, AUDIOAUDIT_ERR_ARG, "%s is NULL", m ? "data" : "model"), NULL;
    return classify(m, NULL, data ? data : "", size, name ? name : "recording in memory", err);
}

audioaudit_result *audioaudit_classify_pcm(audioaudit_model *m, const float *pcm, size_t frames, int rate,
                                           int channels, audioaudit_error *err)
{
    if (!m)
        return aul_error_set(err, AUDIOAUDIT_ERR_ARG, "model is NULL"), NULL;
    size_t size = 0;
    unsigned char *wav = aul_pcm_wav(pcm, frames, rate, channels, &size, err);
    if (!wav)
        return NULL;
    audioaudit_result *r = classify(m, NULL, wav, size, "samples", err);
    explicit_bzero(wav, size);
    free(wav);
    return r;
}

void audioaudit_result_free(audioaudit_result *r)
{
    free(r);
}

/* ---- accessors ------------------------------------------------------------------------------------------ */

const char *audioaudit_result_label(const audioaudit_result *r) { return r ? r->label : NULL; }
int audioaudit_result_class(const audioaudit_result *r) { return r ? r->fr.result.cls : -1; }
int audioaudit_result_gated(const audioaudit_result *r) { return r ? r->fr.result.gated : -1; }
double audioaudit_result_confidence(const audioaudit_result *r) { return r ? r->fr.result.confidence : -1; }
int audioaudit_result_n_classes(const audioaudit_result *r) { return r ? r->n_classes : -1; }
double audioaudit_result_duration(const audioaudit_result *r) { return r ? r->fr.duration : -1; }
size_t audioaudit_result_windows(const audioaudit_result *r) { return r ? r->fr.result.windows : 0; }
int audioaudit_result_quality(const audioaudit_result *r) { return r ? (int)r->fr.quality.verdict : -1; }
const char *audioaudit_result_quality_name(const audioaudit_result *r) { return r ? r->fr.quality.name : NULL; }
const char *audioaudit_result_quality_message(const audioaudit_result *r) { return r ? r->fr.quality.message : NULL; }
double audioaudit_result_rms_dbfs(const audioaudit_result *r) { return r ? r->fr.stats.rms_dbfs : NAN; }
double audioaudit_result_clipped_fraction(const audioaudit_result *r) { return r ? r->fr.stats.clip_fraction : NAN; }
double audioaudit_result_drift_score(const audioaudit_result *r)
{
    return r && r->fr.drift.judged ? r->fr.drift.score : NAN;
}
int audioaudit_result_drifted(const audioaudit_result *r) { return r && r->fr.drift.judged ? r->fr.drift.drifted : -1; }

double audioaudit_result_probability(const audioaudit_result *r, int c)
{
    return r && c >= 0 && c < r->n_classes ? r->fr.result.probs[c] : -1;
}

double audioaudit_result_clip_start(const audioaudit_result *r)
{
    return r ? (double)r->fr.result.offset / r->rate : -1;
}

double audioaudit_result_peak_dbfs(const audioaudit_result *r)
{
    if (!r)
        return NAN;
    /* aa-infer's figure: the same floor as the RMS level's */
    return r->fr.stats.peak > 1e-6 ? 20 * log10(r->fr.stats.peak) : -120.0;
}
