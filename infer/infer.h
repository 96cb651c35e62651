#ifndef AA_INFER_INFER_H
#define AA_INFER_INFER_H

/* The parts of aa-infer, one file each, shared by infer/main.c and the tests (infer/ objects are linked
 * into the test runner, hence the inf_ prefix on everything here). Each inf_cmd_* runs one mode from
 * parsed options, prints, and returns the exit status: 0 ok, 1 runtime error, 2 usage error. */

#include <stddef.h>
#include <stdio.h>

#include "eval/eval.h"
#include "infer/serve.h"
#include "model/model.h"
#include "model/timeline.h"
#include "util/util.h"

/* aa_error code of a command-line mistake, also one found after parsing (an unknown class in --threshold):
 * the shared AA_ERR_USAGE, the only code that makes aa-infer exit 2. */
enum { INF_ERR_USAGE = AA_ERR_USAGE };
/* The exit status for an error: 2 for a usage error, else 1 (out of memory included). */
int inf_exit_status(const aa_error *err);

/* ---- options.c: the command line ------------------------------------------------------------------------ */

typedef enum { INF_CLASSIFY, INF_EVAL, INF_TIMELINE, INF_STREAM, INF_SELFTEST, INF_SERVE } inf_mode;
typedef enum { INF_TEXT, INF_JSON, INF_CSV } inf_format;

#define INF_MAX_NEGATIVES 16

typedef struct {
    const char *cls; /* class folder name or display label */
    double p;
} inf_threshold;

typedef struct {
    inf_mode mode;
    inf_format format;
    int help, version;
    const char *model;
    char **inputs; /* [n_inputs] into argv: clips, folders, '-' */
    int n_inputs;
    double min_confidence; /* < 0: the model's own gate */
    const char *aggregate; /* --aggregate POLICY or NULL: the model's own */
    inf_threshold thresholds[AM_MAX_CLASSES];
    int n_thresholds;
    int threads;        /* 0: automatic (see --help) */
    double max_seconds; /* longest recording decoded whole; 0: the front end's limit (one hour) */
    /* --eval */
    const char *eval_data;
    const char *side; /* NULL: every row / item */
    const char *svg_dir;
    const char *negatives[INF_MAX_NEGATIVES]; /* --negatives DIR, repeatable */
    int n_negatives;
    /* --timeline, --stream */
    double hop;             /* s; default 0.5 */
    int smooth;             /* windows in the centred moving average (1 = none); 0 (default): the model's */
    const char *background; /* class that is never an event; NULL (default): the model's background class */
    const char *reference;  /* --timeline --reference REF.tsv: score the events; NULL: do not */
    double collar;          /* s, onset collar of the scoring; default 1 */
    int offsets;            /* 1: offsets must match too (sed_eval's rule) */
    int overlap;            /* 1: a hit overlaps the reference event widened by the collar */
    const char *tune;       /* --timeline --tune REF.tsv: print the sweep of the event rule; NULL: do not */
    double fa_budget;       /* --tune: false alarms per 10 min the chosen row may make; default 1 */
    double event_threshold; /* --event-threshold P; < 0: the model's */
    double min_duration;    /* --min-duration S; < 0: the model's */
    int rate;               /* --stream: Hz of the raw PCM; 0: from a WAV header, which the stream must have */
    int float_pcm;          /* --stream --sample-format f32 */
    int events;             /* --stream --events */
    double refractory;      /* --stream --events: s; default 0 */
    /* --serve */
    const char *host;
    int port;
    int workers; /* 0: the server's default */
    double max_upload_mb;
    double timeline_seconds; /* POST /api/timeline: longest upload followed (see --help) */
    int max_connections; /* 0: the server's default */
    int max_per_ip;      /* -1: the server's default; 0: no per-address limit */
    int idle_timeout_s;  /* 0: the server's default */
    const char *allow_hosts[16];   /* --allow-host values as given (each may be a comma list) */
    int n_allow_hosts;
    const char *allow_origins[16]; /* --allow-origin likewise */
    int n_allow_origins;
} inf_options;
#define INF_SERVE_ALLOW_MAX 16 /* the arrays above */

/* Uploads decoded whole are limited to this much audio unless --max-seconds says otherwise: ten minutes
 * of float samples is 38 MB per worker at 16 kHz, while the page sends at most ten seconds. */
#define INF_SERVE_MAX_SECONDS 600.0
/* A timeline keeps only a batch of samples, so an upload to POST /api/timeline may be longer: an hour, about
 * 7200 windows at the default hop (about 8 s of one core with the default network). */
#define INF_SERVE_TIMELINE_SECONDS 3600.0
/* The hop the timeline budget's windows are counted at: a finer hop allows proportionally fewer seconds. */
#define INF_SERVE_TIMELINE_HOP 0.5

void inf_options_default(inf_options *o);
/* Parses argv (not argv[0]). Returns 0, or INF_ERR_USAGE with err->msg saying what is wrong (one line). */
int inf_parse(int argc, char **argv, inf_options *o, aa_error *err);
/* The --help text: every option with its default, examples, exit status, disclaimer. */
void inf_usage(FILE *to);
/* Option i of the one table behind the parser and --help, for the tests; 0 past the last. */
typedef struct {
    const char *name; /* long name, without the dashes */
    const char *arg;  /* the value's placeholder in --help; NULL: a flag */
    int checked;      /* the value is checked (number, choice, CLASS=P, policy): a bad one is a usage error */
} inf_option_info;
/* Fills *info and def with the default as --help shows it in brackets ("" when it has none). */
int inf_option(int i, inf_option_info *info, char *def, size_t n);
/* Sets one option that takes a value (name without the dashes) as the command line would, with its checks:
 * 0, or INF_ERR_USAGE with the command line's message ("--hop: 'x' is not a number in [0.01, 3600]"). */
int inf_option_set(inf_options *o, const char *name, const char *value, aa_error *err);
/* Loads o->model for n_slots workers and applies --min-confidence / --threshold. NULL on failure. */
am_model *inf_open_model(const inf_options *o, int n_slots, aa_error *err);
/* Threads to use for n independent items: o->threads, or (0) the online CPUs but no more than n. */
int inf_threads_for(const inf_options *o, size_t n);

/* ---- inputs.c: what to classify -------------------------------------------------------------------------- */

typedef struct {
    char *path;  /* as given, or found under a folder; "-" is standard input */
    char *error; /* non-NULL: this input cannot be used (a folder that cannot be read, ...); the message */
} inf_input;

/* Expands the arguments: files are kept as given (a missing one fails later, with the decoder's message),
 * folders are walked recursively for audio files (.wav .flac .ogg .oga .opus .mp3, any case; hidden entries
 * skipped; symlinks followed, each folder once), in bytewise order of their paths; a folder holding none is
 * one input with an error saying so. NULL on out of memory;
 * free with inf_inputs_free. */
inf_input *inf_inputs_expand(char *const *args, int n, size_t *n_out, aa_error *err);
void inf_inputs_free(inf_input *in, size_t n);
int inf_is_audio_name(const char *name);
/* Standard input read whole (at most limit bytes: one more is refused, DSP_ERR_TOO_LONG, so memory never
 * holds more); malloc'd, caller frees. NULL with err on failure. */
unsigned char *inf_read_all(FILE *f, const char *name, size_t limit, size_t *size, aa_error *err);
/* How much of standard input to hold for a recording of at most max_seconds (0: no limit but cap): the
 * largest file that much audio can be (8 channels of 64-bit samples at DSP_MAX_RATE, 12.3 MB a second,
 * plus 1 MiB for headers), at most cap. */
size_t inf_stdin_limit(double max_seconds, size_t cap);

/* ---- output.c: results for people and for programs -------------------------------------------------------- */

/* Results are built in an aa_buf (util/util.h) and written with aa_json_str / aa_json_num. */
/* {"Cough": 0.93, ...}: every class's probability by display label, in the model's class order. */
void inf_json_probabilities(aa_buf *b, const am_model *m, const float *probs);
/* `, "disclaimer": "..."` when m is a respiratory model (am_disclaimer), nothing for a general one: the
 * member every JSON object that carries a result ends with. */
void inf_json_disclaimer(aa_buf *b, const am_model *m);
/* The disclaimer's line of a text output (nothing for a general model). */
void inf_text_disclaimer(FILE *out, const am_model *m);
/* The label shown for a decision: the class's display label, or AM_UNCLEAR_LABEL when gated. */
const char *inf_label(const am_model *m, const am_result *r);

/* One classified recording as one line of JSON without the newline, the schema --json prints and the
 * server answers with (the server adds "mel" from the clip's log-mel; mel NULL leaves it out):
 *   {"file", "label", "class" (null when gated), "confidence", "gated", "probabilities": {label: p},
 *    "quality": {"verdict", "ok", "duration_s", "rms_dbfs", "peak_dbfs", "clipped_fraction", "message"},
 *    "drift_score", "drifted" (both null when the model has no drift statistics), "duration_s", ["mel": {"n_mels", "n_frames", "min_db", "max_db", "data"},] ["disclaimer" (a
 *    respiratory model only)]}
 * mel: [n_mels][n_frames] dB. Malloc'd (caller frees); NULL when out of memory. */
char *inf_result_json(const am_model *m, const char *file, const am_file_result *r, const float *mel);
/* `, "drift_score": S, "drifted": B` (both null without a verdict): the drift members of every result. */
void inf_json_drift(aa_buf *b, const am_drift *d);
/* The log-mel as the page draws it: uint8 [n_mels][n_frames], 0 = min_db (the clip's floor, max - top_db),
 * 255 = max_db (the clip's loudest cell). Appends the "mel" object's value. */
void inf_json_mel(aa_buf *b, const am_model *m, const float *mel);
/* One error line on standard error, "aa-infer: MESSAGE", with the control characters a file or class name
 * may carry escaped (aa_printable): a name never moves the cursor or recolours the terminal. */
void inf_print_error(const char *msg);
void inf_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Human lines for one recording (label or Unclear, confidence, every probability, quality, and drift when
 * the model judges it). */
void inf_result_text(FILE *out, const am_model *m, const char *file, const am_file_result *r);
/* CSV: a header, then one row per recording (RFC 4180 quoting); the drift columns are empty without a
 * verdict. A respiratory model's table ends with a
 * "disclaimer" column holding the disclaimer in every row: a column, not a comment line, so that every
 * CSV reader keeps it and a row copied elsewhere still says it. */
void inf_csv_header(FILE *out, const am_model *m);
void inf_result_csv(FILE *out, const am_model *m, const char *file, const am_file_result *r);

/* ---- the modes --------------------------------------------------------------------------------------------- */

int inf_cmd_classify(const inf_options *o);
int inf_cmd_eval(const inf_options *o);
int inf_cmd_timeline(const inf_options *o);
int inf_cmd_stream(const inf_options *o);
int inf_cmd_selftest(const inf_options *o);
int inf_cmd_serve(const inf_options *o);

/* ---- eval_cmd.c: labelled recordings ----------------------------------------------------------------------- */

typedef struct {
    char *path;
    int cls;      /* the model's class index; -1 for a negative (a recording of no class) */
    char *source; /* where it comes from: the manifest's or split file's source column, else the folder's name
                   * ("-" in a split file without one) */
    char *kind;   /* a negative's kind (its folder, or the split file's class column); NULL otherwise */
} inf_labelled;

/* The recordings of DATA with their classes mapped to m's by folder name or label: DATA a folder of
 * class folders (datasets' listing; DATA/{train,val,test}/<class>/ too, where side picks one), or a
 * *.split.tsv written by aa-train (header naming at least path and class; side filters on a side column;
 * fields escape tab, newline and backslash as \t, \n, \\; relative paths are taken from the working
 * directory, else from the TSV's folder). A class the model
 * does not know is an error. warn (may be NULL) receives the listing's warnings, one per line, malloc'd. */
int inf_eval_items(const char *data, const char *side, const am_model *m, inf_labelled **out, size_t *n,
                   char **warn, aa_error *err);
/* Appends the recordings under the folder of negatives dir (any folder names, each a kind; a folder named
 * like one of m's classes is skipped with a warning; side as above) to *items [*n], as negatives. A split
 * file marks its negatives itself (a `negative` column of 1). warn (may be NULL) receives the listing's
 * warnings, malloc'd. On failure *items and *n are as they were. */
int inf_eval_negatives(const char *dir, const char *side, const am_model *m, inf_labelled **items, size_t *n,
                       char **warn, aa_error *err);
void inf_eval_items_free(inf_labelled *it, size_t n);

/* ---- timeline.c: long recordings --------------------------------------------------------------------------- */

typedef am_event inf_event; /* model/timeline.h: the event rule is the model's, shared with the trainer */

typedef struct {
    size_t n_windows;
    int k;
    float *probs;    /* [n_windows][k] smoothed probabilities */
    double hop_s, window_s, duration_s;
    inf_event *events;
    size_t n_events;
    dsp_source source;
    dsp_stats stats;
} inf_timeline;

/* am_smooth. */
void inf_smooth(const float *in, size_t n, int k, int w, float *out);
/* The class a row of probabilities speaks for as an event by the gate's rule, or -1 (withheld by m's gate,
 * or `background`); *conf gets its probability (am_row_event_class with AM_TIMELINE_GATE). */
int inf_row_class(const am_model *m, const float *row, int background, double *conf);
/* Index of the class called `name` (its folder name or label), -1 when the model has none. */
int inf_background_class(const am_model *m, const char *name);
/* Events from smoothed rows (window i covers [i hop, i hop + window)) by the gate's rule and no minimum
 * duration: runs of consecutive windows with the same class, not withheld by m's gate and not `background`
 * (-1: none), merged (am_events_find; timing: model/timeline.c). --stream --events uses it; --timeline
 * follows the model's rule (am_get_timeline). Writes at most cap events and returns how many there are. */
size_t inf_events_from(const am_model *m, const float *probs, size_t n, double hop_s, double window_s,
                       int background, inf_event *events, size_t cap);
/* Decodes path ("-": data/size in memory) with the streaming reader, classifies every window hop_s apart
 * (batches of am_logits_batch on slot 0), smooths over `smooth` windows and extracts events by the model's
 * threshold and minimum duration (am_get_timeline: stored, or set by --event-threshold, --min-duration). Memory is
 * bounded by the batch, whatever the length (plus k floats per window). Free with inf_timeline_free. */
int inf_timeline_run(am_model *m, const char *path, const void *data, size_t size, double hop_s, int smooth,
                     int background, int threads, inf_timeline *out, aa_error *err);
/* As inf_timeline_run, for the web server's workers, which call it at once on different slots: the network
 * of `slot` at the model's own thread count (am_set_threads is not called), the log-mels on the calling
 * thread, data in memory (name in messages), and at most max_seconds decoded (0: no limit; past it
 * DSP_ERR_TOO_LONG, with the decoding stopped there). */
int inf_timeline_run_slot(am_model *m, int slot, double max_seconds, const char *name, const void *data,
                          size_t size, double hop_s, int smooth, int background, inf_timeline *out, aa_error *err);
void inf_timeline_free(inf_timeline *t);
/* One recording's timeline as the one line of JSON `--timeline --json` prints, without the newline:
 *   {"file", "duration_s", "window_s", "hop_s", "smooth", "windows", "background", "quality",
 *    "events": [{"start_s", "end_s", "label", "class", "peak_confidence", "windows"}], "disclaimer"}
 * Malloc'd (caller frees); NULL when out of memory. */
char *inf_timeline_json(const am_model *m, const char *file, const inf_timeline *t, int smooth, int background);

/* ---- timeline_score.c: --timeline --reference ------------------------------------------------------------- */

typedef struct {
    ev_reference *ref;
    int k;
    ev_event_opts opts;
    ev_event *est; /* [n_est] every recording's events; file indexes recs */
    size_t n_est, cap_est;
    ev_recording *recs; /* [n_rec] the recordings followed, names owned */
    size_t n_rec, cap_rec;
} inf_timeline_score;

/* Reads o->reference with m's class names (errors name the file and line) and sets the matching rule from
 * o (--collar, --offsets) with `background` (-1: none) left out. Free with inf_score_free, also on failure. */
int inf_score_open(inf_timeline_score *s, const am_model *m, const inf_options *o, int background,
                   aa_error *err);
/* Adds one recording's timeline under `name` (what the reference's file column is matched against). */
int inf_score_add(inf_timeline_score *s, const char *name, const inf_timeline *t, aa_error *err);
/* Scores what was added and prints the report on stdout: text, or one JSON line with o->format JSON. */
int inf_score_report(const inf_timeline_score *s, const am_model *m, const inf_options *o, aa_error *err);
void inf_score_free(inf_timeline_score *s);

/* ---- timeline_tune.c: --timeline --tune ------------------------------------------------------------------- */

/* The sweep of the event rule (am_tune_run) on the inputs in [n] against o->tune's events, for the model's
 * cough class (am_timeline_target), printed as text or one JSON line; returns the exit status. */
int inf_cmd_tune(const inf_options *o, am_model *m, int background, const inf_input *in, size_t n, int threads);
/* The sweep as that JSON line (without the newline): {"recordings", "duration_s", "target", "rule", "collar_s",
 * "unscored_reference_events", "fa_budget_per_10min", "within_budget", "rows": [{"threshold" ("gate" or a
 * number), "smooth", "min_duration_s", "reference", "found", "estimated", "false_alarms", "recall",
 * "precision", "f1", "false_alarms_per_10min"}], "chosen": row, "default": row, ["disclaimer"]}. Malloc'd. */
char *inf_tune_json(const am_tune_sweep *s, const am_model *m, const ev_event_opts *opts, size_t unscored);

/* ---- serve_cmd.c: the web server's classifier ------------------------------------------------------------- */

typedef struct inf_server inf_server;
/* A classify callback for aa_serve over m (loaded with n_slots >= the server's workers): uploads are decoded
 * in memory (at most max_seconds of audio; 0: the front end's limit), classified on the worker's slot, and
 * answered with inf_result_json plus "mel". NULL when out of memory. */
inf_server *inf_server_new(am_model *m, double max_seconds);
void inf_server_free(inf_server *s);
aa_serve_handler inf_server_handler(inf_server *s);
/* The seconds of an upload that may be decoded, from its header (read, then closed): max_seconds of 48 kHz
 * stereo in samples, fewer for a source with more samples a second. *src gets the header's description.
 * 0, or the decoder's code with err (a file it refuses is refused here). */
int inf_upload_seconds(const am_model *m, double max_seconds, const void *audio, size_t n, const char *filename,
                       double *max_s, dsp_source *src, aa_error *err);
/* The timeline handler of POST /api/timeline (infer/serve_timeline.c) over m (the server's model, n_slots
 * slots): at most max_seconds (inf_upload_seconds' budget, and INF_SERVE_TIMELINE_HOP's windows), events
 * as `--timeline --json`. Query: hop (s) and smooth (windows), checked as --hop and --smooth are; background
 * names the class that is never an event (NULL: the model's, as --timeline's default). NULL when out of memory; free with inf_timeline_server_free. */
typedef struct inf_timeline_server inf_timeline_server;
inf_timeline_server *inf_timeline_server_new(am_model *m, double max_seconds, const char *background);
void inf_timeline_server_free(inf_timeline_server *t);
/* Sets h's timeline callbacks to t's. */
void inf_timeline_server_attach(inf_timeline_server *t, aa_serve_handler *h);
/* The body of GET /api/model: classes, labels, front-end settings, temperature, gate. Malloc'd. */
char *inf_model_json(const am_model *m);

#endif
