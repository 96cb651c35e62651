#ifndef AA_MODEL_H
#define AA_MODEL_H

/* model/: the deployable classifier — one file that carries everything inference needs, so inference can
 * never drift from training:
 *   the network (nn/), the front-end settings (dsp/), the class names, the per-mel feature normalisation,
 *   the calibration temperature, the confidence gate (global and per class), and a self-test: the log-mel
 *   and logits of a fixed test signal computed when the model was saved.
 *
 *   am_model *m = am_load("model.aam", 1, &err);
 *   am_result r;  am_classify_file(m, 0, "clip.wav", &r, NULL, &err);
 *   printf("%s %.2f\n", r.gated ? AM_UNCLEAR_LABEL : am_class_label(m, r.cls), r.confidence);
 *   am_free(m);
 *
 * Classification of one recording: decode + resample (dsp_load) -> one clip by the crop policy (loudest
 * window by default) -> log-mel -> (x - mean[mel]) / std[mel] -> network (eval mode) -> softmax(logits / T)
 * -> gate: withheld ("Unclear/Unknown") when the top probability is below max(min_confidence,
 * class_threshold[top]).
 *
 * Threading: an am_model has n_slots independent workers (each its own network copy and buffers); calls with
 * different slots may run concurrently, calls with the same slot may not. */

#include <stddef.h>

#include "dsp/dsp.h"
#include "nn/nn.h"
#include "util/util.h"

enum am_status {
    AM_OK = 0,
    AM_ERR_IO = AA_ERR_IO,
    AM_ERR_NOMEM = AA_ERR_NOMEM,
    AM_ERR_ARG = 200,  /* bad argument (slot, sizes, names) */
    AM_ERR_FORMAT,     /* a model file whose Audio Audit metadata is missing or malformed */
    AM_ERR_AUDIO,      /* the recording could not be used (the message says why) */
    AM_ERR_NUMERIC     /* non-finite values where numbers were expected */
};

#define AM_UNCLEAR_LABEL "Unclear/Unknown"
#define AM_DISCLAIMER "Not a medical device: this is not a diagnosis or health advice."
#define AM_MAX_CLASSES 64

/* What the trainer decides and the model file stores beside the network. */
typedef struct {
    dsp_settings dsp;
    int n_classes;
    const char *classes[AM_MAX_CLASSES]; /* folder names, in the network's output order */
    const float *norm_mean;              /* [n_mels] */
    const float *norm_std;               /* [n_mels], > 0 */
    double temperature;                  /* > 0; 1 = uncalibrated */
    double min_confidence;               /* global gate in [0, 1]; 0 = never withhold */
    const double *class_threshold;       /* [n_classes] or NULL: per-class gates, 0 = use the global one */
    const char *train_json;              /* optional: a JSON summary of the training run (data, metrics) */
} am_spec;

typedef struct am_model am_model;

/* Saves net with spec into path (atomically). Computes and stores the self-test (see am_selftest) with net
 * in evaluation mode. net is not changed. */
int am_save(const char *path, nn_model *net, const am_spec *spec, aa_error *err);

/* Loads a model file for n_slots concurrent workers (>= 1). NULL on failure; err names the file and reason
 * (missing, truncated, not a model file, newer version, checksum mismatch, missing metadata). */
am_model *am_load(const char *path, int n_slots, aa_error *err);
void am_free(am_model *m);

/* ---- what the model knows ------------------------------------------------------------------------------- */
const dsp_settings *am_dsp(const am_model *m);
int am_n_classes(const am_model *m);
const char *am_class_name(const am_model *m, int c);  /* folder name, "heavy_breathing" */
const char *am_class_label(const am_model *m, int c); /* display label, "Heavy Breathing" */
double am_temperature(const am_model *m);
double am_min_confidence(const am_model *m);
double am_class_threshold(const am_model *m, int c);  /* 0 when none */
const char *am_arch(const am_model *m);
const char *am_train_json(const am_model *m);         /* may be NULL */
int am_n_slots(const am_model *m);
/* OpenMP threads each worker's network uses for batches (am_logits_batch); default 1. */
void am_set_threads(am_model *m, int n);

/* Overrides the stored gate (--min-confidence, --threshold CLASS=P). */
void am_set_min_confidence(am_model *m, double p);
int am_set_class_threshold(am_model *m, const char *class_name, double p, aa_error *err);

/* ---- classification ------------------------------------------------------------------------------------ */

typedef struct {
    int cls;               /* most probable class */
    int gated;             /* 1: withheld, report AM_UNCLEAR_LABEL */
    double confidence;     /* probability of cls after temperature scaling */
    float probs[AM_MAX_CLASSES];
    size_t offset;         /* first sample of the clip used, at the model rate */
} am_result;

/* Applies temperature and gate to logits [n_classes]. */
void am_decide(const am_model *m, const float *logits, am_result *out);

/* Classifies a whole recording already at the model rate: crop policy -> clip -> features -> decision.
 * mel (may be NULL): receives the clip's log-mel in dB, [n_mels][n_frames] (am_mel_size floats). */
int am_classify_samples(am_model *m, int slot, const float *x, size_t n, am_result *out, float *mel,
                        aa_error *err);
/* Classifies exactly one clip of dsp_clip_samples() samples (no cropping). */
int am_classify_clip(am_model *m, int slot, const float *clip, am_result *out, float *mel, aa_error *err);
size_t am_mel_size(const am_model *m);

/* Logits of many precomputed log-mel windows (dB, [n][n_mels][n_frames]), normalised here, using all the
 * model's threads (nn_set_threads); logits: [n][n_classes]. For evaluations over thousands of windows. */
int am_logits_batch(am_model *m, int slot, const float *mels, size_t n, float *logits, aa_error *err);

/* Wipes a slot's working buffers (the last clip's samples and features). The server calls it after each
 * answer so that nothing of an upload outlives its request. */
void am_wipe_slot(am_model *m, int slot);

/* Normalises one log-mel in place with the stored per-mel mean and std. */
void am_normalise(const am_model *m, float *mel);

/* ---- recording quality (kept apart from "Unclear") ----------------------------------------------------- */

typedef enum { AM_QUALITY_OK, AM_QUALITY_TOO_SHORT, AM_QUALITY_SILENT, AM_QUALITY_CLIPPED } am_quality_verdict;
#define AM_QUALITY_MIN_SECONDS 0.5   /* shorter than this: too little signal to judge */
#define AM_QUALITY_SILENT_DBFS -60.0 /* RMS below this: silence or a muted microphone */
#define AM_QUALITY_CLIP_FRACTION 0.01 /* more than 1 % of samples at full scale: clipped */
typedef struct {
    am_quality_verdict verdict;
    const char *name;     /* "ok", "too_short", "silent", "clipped" */
    const char *message;  /* one sentence for people, "" when ok */
} am_quality;
am_quality am_quality_of(const dsp_stats *stats);

/* ---- files -------------------------------------------------------------------------------------------- */

typedef struct {
    am_result result;
    dsp_source source;   /* the file as stored: rate, channels, duration, format */
    dsp_stats stats;
    am_quality quality;
    double duration;     /* seconds of audio */
} am_file_result;

/* Decodes (any format dsp_load reads, up to max_seconds; 0 = dsp's default limit), checks quality and
 * classifies. A recording too damaged to decode is an error; a poor-quality one is classified and flagged. */
int am_classify_file(am_model *m, int slot, const char *path, double max_seconds, am_file_result *out,
                     float *mel, aa_error *err);
/* The same from bytes in memory (an HTTP upload); name is used in messages. */
int am_classify_memory(am_model *m, int slot, const void *data, size_t size, const char *name,
                       double max_seconds, am_file_result *out, float *mel, aa_error *err);

/* ---- self-test ----------------------------------------------------------------------------------------- */

/* The fixed test signal (documented in model/selftest.c): n = dsp_clip_samples(s) samples at s->sample_rate.
 * Caller frees. */
float *am_selftest_signal(const dsp_settings *s, size_t *n);

typedef struct {
    double mel_max_abs_diff;    /* dB, recomputed vs stored */
    double logit_max_abs_diff;  /* recomputed vs stored */
    double mel_tolerance, logit_tolerance;
    int pass;
} am_selftest_report;
/* Recomputes the self-test signal's log-mel and logits with this build and compares with the stored ones. */
int am_selftest(am_model *m, am_selftest_report *out, aa_error *err);

#endif
