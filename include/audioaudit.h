#ifndef AUDIOAUDIT_H
#define AUDIOAUDIT_H

/* Audio Audit's C library: load a model file written by aa-train and classify recordings with it, exactly
 * as aa-infer does (the same code: the decisions, probabilities and quality verdicts are the same bits).
 *
 *   audioaudit_error err;
 *   audioaudit_model *m = audioaudit_model_load("model.aam", 1, &err);
 *   if (!m) { fprintf(stderr, "%s\n", err.message); return 1; }
 *   audioaudit_result *r = audioaudit_classify_file(m, "clip.wav", &err);
 *   if (r) printf("%s %.3f\n", audioaudit_result_label(r), audioaudit_result_confidence(r));
 *   audioaudit_result_free(r);
 *   audioaudit_model_free(m);
 *
 * Build with `pkg-config --cflags --libs audioaudit` (the shared library, libaudioaudit.so.0) or
 * `pkg-config --static --cflags --libs audioaudit` (libaudioaudit.a and what it needs).
 *
 * Conventions:
 *   - Every name this library defines starts with audioaudit_ or AUDIOAUDIT_; nothing else is exported.
 *   - Functions that can fail take an audioaudit_error * last, which may be NULL. On failure they return
 *     NULL or a non-zero AUDIOAUDIT_ERR_* code and fill it with that code and one line naming the file and
 *     the reason ("clip.wav: not a readable audio file ..."). The library never prints and never exits.
 *   - Handles are opaque. A result or timeline refers to its model's class names: free them before the
 *     model. Strings returned are owned by the handle they came from.
 *   - Threads: an audioaudit_model is shared by any number of threads. It has `workers` independent
 *     workers (each its own network copy and buffers), chosen at load: up to that many classify calls run
 *     at once, further ones wait for a free worker. A timeline or a self-test uses all workers (it waits for
 *     the others to finish, and they wait for it). Each function below says what it may run beside.
 *
 * A model file says whether it is a respiratory model (audioaudit_model_is_respiratory); the results of
 * one must be shown with its disclaimer (audioaudit_model_disclaimer: "Not a medical device: ..."). */

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && __GNUC__ >= 4
#define AUDIOAUDIT_API __attribute__((visibility("default")))
#else
#define AUDIOAUDIT_API
#endif

/* ---- version ---------------------------------------------------------------------------------------------
 * The release (aa-train --version and aa-infer --version say the same). The shared library's SONAME
 * changes with the major number. */
#define AUDIOAUDIT_VERSION "0.1.0"
#define AUDIOAUDIT_VERSION_MAJOR 0
#define AUDIOAUDIT_VERSION_MINOR 1
#define AUDIOAUDIT_VERSION_PATCH 0
/* 10000 major + 100 minor + patch, for #if comparisons. */
#define AUDIOAUDIT_VERSION_NUMBER \
    (AUDIOAUDIT_VERSION_MAJOR * 10000 + AUDIOAUDIT_VERSION_MINOR * 100 + AUDIOAUDIT_VERSION_PATCH)

/* The version of the library actually loaded (may be newer than the header compiled against).
 * Thread-safe. */
AUDIOAUDIT_API const char *audioaudit_version(void);
AUDIOAUDIT_API int audioaudit_version_number(void);

/* ---- errors --------------------------------------------------------------------------------------------- */

enum {
    AUDIOAUDIT_OK = 0,
    AUDIOAUDIT_ERR_ARG = 1,       /* a caller's mistake: NULL handle, bad rate or channel count, bad option */
    AUDIOAUDIT_ERR_NOMEM = 2,     /* out of memory */
    AUDIOAUDIT_ERR_NOT_FOUND = 3, /* no such file (model or recording) */
    AUDIOAUDIT_ERR_IO = 4,        /* the file exists but cannot be opened or read */
    AUDIOAUDIT_ERR_MODEL = 5,     /* not a usable model file: not one, truncated, newer format, checksum */
    AUDIOAUDIT_ERR_AUDIO = 6,     /* the recording cannot be used: not audio, empty, damaged, NaN, too long,
                                   * rate or channel count out of range */
    AUDIOAUDIT_ERR_INTERNAL = 7   /* anything else (a numeric failure, the resampler); the message says */
};

#define AUDIOAUDIT_MESSAGE_MAX 512
typedef struct audioaudit_error {
    int code;                             /* AUDIOAUDIT_OK or one of AUDIOAUDIT_ERR_* */
    char message[AUDIOAUDIT_MESSAGE_MAX]; /* one line, no newline; "" when code is AUDIOAUDIT_OK */
} audioaudit_error;

/* A short fixed description of a code ("no such file"); "unknown error" for any other value; never NULL.
 * Thread-safe. */
AUDIOAUDIT_API const char *audioaudit_strerror(int code);

/* ---- models --------------------------------------------------------------------------------------------- */

typedef struct audioaudit_model audioaudit_model;

/* Loads a model file (aa-train's .aam) for `workers` concurrent classifications (1..64; 0 means 1).
 * Checks the file's checksum and metadata; does not run the self-test (audioaudit_model_selftest).
 * NULL on failure. Thread-safe. */
AUDIOAUDIT_API audioaudit_model *audioaudit_model_load(const char *path, int workers, audioaudit_error *err);
/* The same from the file's bytes in memory (copied; data may be freed on return). */
AUDIOAUDIT_API audioaudit_model *audioaudit_model_load_memory(const void *data, size_t size, int workers,
                                                              audioaudit_error *err);
/* Frees the model (NULL is allowed). No call on it may be running. */
AUDIOAUDIT_API void audioaudit_model_free(audioaudit_model *m);

/* What the model knows. All of these may run beside anything but audioaudit_model_free and
 * audioaudit_model_set_gate. Index c in 0..n_classes-1, in the network's output order; out of range gives
 * NULL or -1. */
AUDIOAUDIT_API int audioaudit_model_n_classes(const audioaudit_model *m);
AUDIOAUDIT_API const char *audioaudit_model_class_name(const audioaudit_model *m, int c);  /* "heavy_breathing" */
AUDIOAUDIT_API const char *audioaudit_model_class_label(const audioaudit_model *m, int c); /* "Heavy Breathing" */
/* The gate: a decision is withheld (reported as AUDIOAUDIT_UNCLEAR_LABEL) when its confidence is below
 * max(min_confidence, class_threshold[top class]). */
AUDIOAUDIT_API double audioaudit_model_min_confidence(const audioaudit_model *m);
AUDIOAUDIT_API double audioaudit_model_class_threshold(const audioaudit_model *m, int c); /* 0: none */
AUDIOAUDIT_API double audioaudit_model_temperature(const audioaudit_model *m);           /* calibration */
AUDIOAUDIT_API int audioaudit_model_sample_rate(const audioaudit_model *m);              /* Hz */
AUDIOAUDIT_API double audioaudit_model_clip_seconds(const audioaudit_model *m);          /* one window */
AUDIOAUDIT_API int audioaudit_model_workers(const audioaudit_model *m);
/* The network ("c8 bn relu p2 ... fc"), the recording-level policy ("energy@1", see the README) and the
 * whole front end as `key=value` lines ("sample_rate=16000\nclip_seconds=4\n..."), as the file stores them. */
AUDIOAUDIT_API const char *audioaudit_model_arch(const audioaudit_model *m);
AUDIOAUDIT_API const char *audioaudit_model_aggregate(const audioaudit_model *m);
AUDIOAUDIT_API const char *audioaudit_model_settings(const audioaudit_model *m);
/* What the model is for, as its file says (aa-train --task): 1 for a respiratory model (coughs,
 * breathing), 0 for a general sound classifier (and for NULL). A respiratory model's results are to be
 * shown with audioaudit_model_disclaimer's text, wherever they appear. */
AUDIOAUDIT_API int audioaudit_model_is_respiratory(const audioaudit_model *m);
AUDIOAUDIT_API const char *audioaudit_model_task(const audioaudit_model *m);       /* "respiratory", "general" */
/* "Not a medical device: this is not a diagnosis or health advice." for a respiratory model; NULL for a
 * general one. The string is static. */
AUDIOAUDIT_API const char *audioaudit_model_disclaimer(const audioaudit_model *m);

/* Replaces the stored global gate (aa-infer --min-confidence); p in [0, 1], 0 never withholds. Waits for
 * running calls on m to finish; calls made after it returns use the new gate. */
AUDIOAUDIT_API int audioaudit_model_set_gate(audioaudit_model *m, double p, audioaudit_error *err);

/* Recomputes the log-mel and logits of the file's fixed test signal and compares them with the ones stored
 * when the model was saved (aa-infer --selftest): AUDIOAUDIT_OK, or AUDIOAUDIT_ERR_MODEL naming the
 * difference. Uses all workers (waits for running calls). */
AUDIOAUDIT_API int audioaudit_model_selftest(audioaudit_model *m, audioaudit_error *err);

/* ---- classifying one recording -------------------------------------------------------------------------
 * A recording no longer than the model's clip is one window; a longer one is judged by the model's
 * aggregation policy (audioaudit_model_aggregate). Any rate from 8000 to 192000 Hz and 1 to 8 channels:
 * the channels are averaged and the mix resampled to the model's rate, as for a file. Recordings longer
 * than an hour are refused (AUDIOAUDIT_ERR_AUDIO). Each call takes one free worker (waiting for one), so
 * it may run beside any other call on the same model except audioaudit_model_free. NULL on failure. */

typedef struct audioaudit_result audioaudit_result;

/* A file in any format libsndfile reads (WAV, FLAC, Ogg Vorbis/Opus, MP3, AIFF, ...). */
AUDIOAUDIT_API audioaudit_result *audioaudit_classify_file(audioaudit_model *m, const char *path,
                                                           audioaudit_error *err);
/* The same file's bytes in memory; name (may be NULL) appears in messages. */
AUDIOAUDIT_API audioaudit_result *audioaudit_classify_memory(audioaudit_model *m, const void *data, size_t size,
                                                             const char *name, audioaudit_error *err);
/* Samples: `frames` frames of `channels` interleaved floats (full scale +-1) at `rate` Hz. The samples are
 * judged as a 32-bit float WAV file of them would be (quality: clipping counted at 16-bit full scale). */
AUDIOAUDIT_API audioaudit_result *audioaudit_classify_pcm(audioaudit_model *m, const float *pcm, size_t frames,
                                                          int rate, int channels, audioaudit_error *err);
AUDIOAUDIT_API void audioaudit_result_free(audioaudit_result *r); /* NULL is allowed */

#define AUDIOAUDIT_UNCLEAR_LABEL "Unclear/Unknown"

/* The decision. Accessors of a result may run beside anything but its own audioaudit_result_free. */
/* The top class's label, or AUDIOAUDIT_UNCLEAR_LABEL when the gate withheld it. */
AUDIOAUDIT_API const char *audioaudit_result_label(const audioaudit_result *r);
AUDIOAUDIT_API int audioaudit_result_class(const audioaudit_result *r); /* the top class, gated or not */
AUDIOAUDIT_API int audioaudit_result_gated(const audioaudit_result *r); /* 1: withheld by the gate */
/* The top class's calibrated probability. */
AUDIOAUDIT_API double audioaudit_result_confidence(const audioaudit_result *r);
AUDIOAUDIT_API int audioaudit_result_n_classes(const audioaudit_result *r);
/* Probability of class c (in the model's order; they sum to 1); -1 for c out of range. */
AUDIOAUDIT_API double audioaudit_result_probability(const audioaudit_result *r, int c);
/* Seconds of audio; windows the decision rests on; start of the loudest of them (s from the start). */
AUDIOAUDIT_API double audioaudit_result_duration(const audioaudit_result *r);
AUDIOAUDIT_API size_t audioaudit_result_windows(const audioaudit_result *r);
AUDIOAUDIT_API double audioaudit_result_clip_start(const audioaudit_result *r);

/* The recording's quality, judged apart from the decision: a poor recording is still classified. */
enum {
    AUDIOAUDIT_QUALITY_OK = 0,
    AUDIOAUDIT_QUALITY_TOO_SHORT = 1, /* under half a second */
    AUDIOAUDIT_QUALITY_SILENT = 2,    /* RMS below -60 dBFS */
    AUDIOAUDIT_QUALITY_CLIPPED = 3    /* more than 1 % of the samples at full scale */
};
AUDIOAUDIT_API int audioaudit_result_quality(const audioaudit_result *r);
AUDIOAUDIT_API const char *audioaudit_result_quality_name(const audioaudit_result *r);    /* "ok", "silent" */
AUDIOAUDIT_API const char *audioaudit_result_quality_message(const audioaudit_result *r); /* "" when ok */
/* The levels behind it: RMS of the mix and peak in dBFS, fraction of samples at full scale. */
AUDIOAUDIT_API double audioaudit_result_rms_dbfs(const audioaudit_result *r);
AUDIOAUDIT_API double audioaudit_result_peak_dbfs(const audioaudit_result *r);
AUDIOAUDIT_API double audioaudit_result_clipped_fraction(const audioaudit_result *r);

/* Drift, judged apart from quality and the gate: whether the recording is unlike the model's training
 * recordings (its per-mel level and spread far from theirs; the score is the mean clipped squared robust
 * z-score, about 1 for a recording like them; the threshold was set on the validation recordings so that
 * about 1 in 100 of them is above it). A model file without drift statistics gives no verdict: drifted -1
 * and score NAN. */
AUDIOAUDIT_API double audioaudit_result_drift_score(const audioaudit_result *r);
AUDIOAUDIT_API int audioaudit_result_drifted(const audioaudit_result *r); /* 1, 0, or -1: no verdict */

/* ---- timelines of long recordings ----------------------------------------------------------------------
 * aa-infer --timeline: the model's window slid over the recording every hop_s seconds (<= 0: 0.5), each
 * window's probabilities averaged with its neighbours over `smooth` windows (odd; <= 0: the number the
 * model stores, else 3), and events: runs of windows with the same class, not withheld by the gate (or, in a
 * model whose trainer tuned its timeline, reaching the stored threshold) and not the background class. background
 * names that class (NULL: "background_noise" when the model has it, else none; "" none). The file is
 * decoded as it goes, so memory does not grow with its length. Uses all workers (waits for running calls,
 * and classify calls wait for it). NULL on failure. */

typedef struct audioaudit_timeline audioaudit_timeline;

AUDIOAUDIT_API audioaudit_timeline *audioaudit_timeline_file(audioaudit_model *m, const char *path, double hop_s,
                                                             int smooth, const char *background,
                                                             audioaudit_error *err);
/* Samples as audioaudit_classify_pcm takes them. */
AUDIOAUDIT_API audioaudit_timeline *audioaudit_timeline_pcm(audioaudit_model *m, const float *pcm, size_t frames,
                                                            int rate, int channels, double hop_s, int smooth,
                                                            const char *background, audioaudit_error *err);
AUDIOAUDIT_API void audioaudit_timeline_free(audioaudit_timeline *t); /* NULL is allowed */

/* Accessors may run beside anything but the timeline's own audioaudit_timeline_free. */
AUDIOAUDIT_API size_t audioaudit_timeline_windows(const audioaudit_timeline *t);
AUDIOAUDIT_API int audioaudit_timeline_n_classes(const audioaudit_timeline *t);
AUDIOAUDIT_API double audioaudit_timeline_hop(const audioaudit_timeline *t);            /* s between windows */
AUDIOAUDIT_API double audioaudit_timeline_window_seconds(const audioaudit_timeline *t); /* one window */
AUDIOAUDIT_API double audioaudit_timeline_duration(const audioaudit_timeline *t);       /* s of audio */
/* Smoothed probabilities [windows][n_classes]; window i covers [i hop, i hop + window). */
AUDIOAUDIT_API const float *audioaudit_timeline_probabilities(const audioaudit_timeline *t);
AUDIOAUDIT_API size_t audioaudit_timeline_n_events(const audioaudit_timeline *t);
/* Event i (in time order): its start and end (s), class and highest smoothed confidence; any out pointer
 * may be NULL. AUDIOAUDIT_ERR_ARG for i out of range. */
AUDIOAUDIT_API int audioaudit_timeline_event(const audioaudit_timeline *t, size_t i, double *start, double *end,
                                             int *cls, double *confidence);

#ifdef __cplusplus
}
#endif

#endif
