#ifndef AA_MODEL_INTERNAL_H
#define AA_MODEL_INTERNAL_H

#include "model/model.h"

/* Metadata keys of the model file (nn_meta; the table in model/file.c). Bump AM_FORMAT_VERSION when
 * their meaning changes. Version 2 added the output map; a version 1 file has none (identity). The task
 * (aa.task) is written in every file; a file without it (older builds) is judged by the class-name rule, and
 * a version 3 file must have it. */
#define AM_FORMAT_NAME "audio-audit-model"
#define AM_FORMAT_VERSION 3
/* Version 3 added ensembles (several networks); a file of one network is still written as version 2, which
 * every build since the output map reads, and an ensemble as 3, which older builds refuse instead of
 * silently judging with its first network alone. */
#define AM_FORMAT_ONE_NETWORK 2
#define AM_KEY_FORMAT "aa.format"
#define AM_KEY_DSP "aa.dsp"
#define AM_KEY_CLASSES "aa.classes" /* the network outputs' names separated by '\n' */
#define AM_KEY_REPORTED "aa.reported_classes" /* the classes a user sees, '\n'-separated; absent: the outputs */
#define AM_KEY_OUTPUT_MAP "aa.output_map" /* per output, the index of its reported class or -1 (Unclear) */
#define AM_KEY_TEMPERATURE "aa.temperature"
#define AM_KEY_MIN_CONF "aa.min_confidence"
#define AM_KEY_TRAIN_JSON "aa.train_json"
#define AM_KEY_TASK "aa.task" /* "respiratory" or "general" (am_task_name); absent (format < 3): the rule */
#define AM_KEY_AGGREGATE "aa.aggregate" /* am_aggregate_format text; absent in older files = loudest */
#define AM_KEY_NETWORKS "aa.networks" /* networks in the file (format 3; absent: 1) */
#define AM_KEY_TL_THRESHOLD "aa.timeline.threshold" /* am_timeline: the three are written together, */
#define AM_KEY_TL_SMOOTH "aa.timeline.smooth"       /* when the trainer tuned the timeline; absent: the */
#define AM_KEY_TL_MIN_DURATION "aa.timeline.min_duration_s" /* defaults (am_timeline_default) */
#define AM_NET_PREFIX "aa.net." /* network i >= 1's tensors: "aa.net.<i>/<tensor name>" (the first is nn/'s own) */
#define AM_TENSOR_MEAN "aa.norm_mean"
#define AM_TENSOR_STD "aa.norm_std"
#define AM_TENSOR_THRESH "aa.class_threshold"
#define AM_TENSOR_DRIFT_CENTRE "aa.drift.centre" /* f32 [2 n_mels]; the three drift keys come together or not */
#define AM_TENSOR_DRIFT_SCALE "aa.drift.scale"   /* f32 [2 n_mels] */
#define AM_KEY_DRIFT_THRESHOLD "aa.drift.threshold"
#define AM_TENSOR_ST_MEL "aa.selftest.mel"
#define AM_TENSOR_ST_LOGITS "aa.selftest.logits"

typedef struct {
    nn_model *nets[AM_MAX_NETWORKS]; /* [am_model.n_nets] one copy of each network for this worker */
    float *mels;    /* [AM_BATCH][n_mels][n_frames] dB: the part of a recording am_recording_scores judges */
    float *norm;    /* [AM_BATCH][n_mels][n_frames] what am_logits_batch gives the network */
    size_t touched; /* windows of mels and norm written since the last am_wipe_slot */
} am_slot;

struct am_model {
    dsp_settings dsp;
    size_t clip_samples, n_frames;
    int n_outputs;                 /* the network's outputs */
    char *outputs[AM_MAX_CLASSES]; /* their names */
    int map[AM_MAX_CLASSES];       /* [n_outputs] the reported class each counts for, or AM_MAP_UNCLEAR */
    int has_unclear;               /* some output maps to AM_MAP_UNCLEAR */
    int n_classes;                 /* the classes reported (all of them when there is no map) */
    char *classes[AM_MAX_CLASSES];
    char *labels[AM_MAX_CLASSES];
    float *norm_mean, *norm_std; /* [n_mels] */
    double temperature;
    double min_confidence;
    double class_threshold[AM_MAX_CLASSES];
    char *arch;
    char *train_json;
    char *path;         /* the file it was loaded from, for messages; NULL: am_borrow's model in memory */
    am_aggregate aggregate;
    am_task task;       /* AM_TASK_GENERAL or AM_TASK_RESPIRATORY */
    float *drift_centre, *drift_scale; /* [2 n_mels] drift statistics, NULL (both) when the file has none */
    double drift_threshold;
    am_timeline timeline; /* the stored event rule; smooth 0: none (am_get_timeline gives the defaults) */
    float *st_mel;    /* [n_mels][n_frames] stored self-test log-mel, NULL if absent */
    float *st_logits; /* [n_outputs] */
    dsp_logmel *logmel; /* one thread slot per am slot */
    int n_slots;
    am_slot *slots;
    int borrowed;       /* slots[0].nets are the caller's (am_borrow) */
    int n_nets;         /* networks averaged (1, or an ensemble's) */
};

/* The slots' work buffers and the front end, once the fields above them are filled: 0 or AM_ERR_NOMEM (or
 * the front end's code). */
int am_model_alloc_slots(am_model *m, const char *what, aa_error *err);

/* The self-test signal through the route (the crop of one clip at offset 0, its log-mel, its logits) with
 * slot 0: mel [n_mels][n_frames] dB, logits [n_classes]. */
int am_selftest_compute(am_model *m, float *mel, float *logits, aa_error *err);

#endif
