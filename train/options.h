#ifndef TR_OPTIONS_H
#define TR_OPTIONS_H

/* aa-train's command line: every setting of a training run, its default, and its parsing. */

#include <stdint.h>
#include <stdio.h>

#include "datasets/datasets.h"
#include "model/model.h"
#include "util/util.h"

typedef enum { TR_SCHED_COSINE = 0, TR_SCHED_STEP = 1 } tr_sched_kind;
#define TR_MAX_NEGATIVES 16
typedef enum { TR_OPT_ADAM = 0, TR_OPT_ADAMW = 1 } tr_optimizer_kind;

typedef struct {
    /* what and where */
    const char *data_dir;    /* DATA */
    const char *model_path;  /* -o MODEL */
    /* data */
    const char *classes;     /* --classes a,b,c or NULL */
    const char *group_regex; /* --group-regex or NULL */
    const char *manifest;    /* --manifest FILE; NULL: DATA/manifest.tsv if present; "": --no-manifest */
    const char *cache_path;  /* --cache FILE or NULL (datasets' default location) */
    int no_cache;            /* --no-cache: extract features without reading or writing a cache file */
    uint64_t seed;
    double val_frac, test_frac;
    double hop_s;            /* seconds between windows of a long recording [half a clip] */
    int max_windows;         /* windows kept per recording */
    /* front end: the model file stores it, aa-infer hears with it. After tr_options_parse the derived
     * defaults are filled in (fmax: the Nyquist frequency; win_length: n_fft), and the whole is valid. */
    dsp_settings dsp;
    /* recordings of no class, and sources held out */
    const char *negatives[TR_MAX_NEGATIVES]; /* --negatives DIR, repeatable */
    int n_negatives;
    const char *negatives_as;  /* --negatives-as CLASS|unclear; NULL: the background class, else unclear */
    const char *val_sources;   /* --val-sources A,B or NULL */
    const char *test_sources;  /* --test-sources A,B or NULL */
    /* network and optimisation */
    const char *arch;
    int epochs, batch;
    double lr, weight_decay, clip_norm;
    tr_optimizer_kind optimizer;
    tr_sched_kind schedule;
    double warmup_epochs;    /* linear warm-up from lr / warm-up steps to lr */
    double min_lr_frac;      /* cosine: the last step's rate as a fraction of lr */
    int step_epochs;         /* step: multiply the rate by step_gamma every step_epochs epochs */
    double step_gamma;
    int class_weights;       /* 0: --no-class-weights */
    double label_smoothing;
    int patience;            /* epochs without a better validation macro-F1 before stopping; 0: never */
    double ema;              /* > 0: validate and keep an exponential moving average of the weights */
    int augment;             /* 0: --no-augment, train on the windows as they are (aug is then ignored) */
    ds_augment_opts aug;     /* on-the-fly augmentation of training windows, datasets/' own settings */
    /* calibration */
    double gate_target;
    int gate_min_covered;
    int per_class_gates;
    am_aggregate aggregate;  /* how a recording longer than one clip is judged (stored in the model) */
    am_task task;            /* --task; AM_TASK_AUTO: by the class-name rule (model/model.h) */
    const char *aggregate_report; /* --aggregate-report a,b,..: validation figures of other policies, or NULL */
    int timeline_tune;       /* 0: --no-timeline-tune (train/tune.c) */
    double timeline_fa_budget; /* false alarms per 10 min the tuned rule may make; default AM_TUNE_FA_BUDGET */
    /* outputs and running */
    const char *log_path, *report_json, *svg_dir;
    const char *checkpoint, *resume;
    int stop_after;          /* > 0: end after this epoch (checkpoint kept, no model), to resume later */
    int threads;             /* 0: all cores */
    int quiet;
    int audit;               /* --audit: describe the data, do not train */
    int json;                /* --audit --json */
    /* cross-validation (train/cv.c) */
    int cv;                  /* --cv: train each fold in turn as the test side, report per fold and pooled */
    int folds;               /* --folds K: K folds made by group and class; 0: the manifest's, else 5 */
    int cv_ensemble;         /* --cv-ensemble: -o MODEL holds the fold networks */
    /* Not an option: [DATA's files] the sides cross-validation fixes (its test fold), or NULL. */
    const int *fixed_side;
    /* Not options: which ones the command line gave, for the defaults train/clip.c derives from the corpus
     * (tr_options_parse fills it; tr_options_default leaves it all 0). */
    struct {
        unsigned char clip_seconds; /* --clip-seconds */
        unsigned char front_end;    /* any of --sample-rate, --n-fft, --win-length, --hop-length, --n-mels,
                                     * --fmin, --fmax */
        unsigned char fmax, win_length, hop, shift, time_mask, freq_mask, aggregate;
    } given;
} tr_options;
#define TR_CV_DEFAULT_FOLDS 5

/* The defaults every option's help line quotes. */
void tr_options_default(tr_options *o);

/* A usage error is the shared AA_ERR_USAGE, so the code left in err says so too. */
enum { TR_PARSE_OK = 0, TR_PARSE_HELP = 1, TR_PARSE_VERSION = 2, TR_PARSE_USAGE = AA_ERR_USAGE };
/* Parses argv (argv[0] is the program) into o, which should hold the defaults. The defaults that follow
 * the front end are derived for the options not given: fmax = sample rate / 2, win length = n_fft, hop =
 * half a clip, shift = an eighth of a clip, time mask = a tenth of a clip's frames, frequency mask = an
 * eighth of the mels (at the default front end, exactly the values tr_options_default sets). The front end
 * is checked by dsp_settings_validate, whose message is given with option names. Returns TR_PARSE_OK,
 * TR_PARSE_HELP or TR_PARSE_VERSION when asked for those, or TR_PARSE_USAGE with err->msg saying what is
 * wrong in one line. Strings in o point into argv. */
int tr_options_parse(tr_options *o, int argc, char **argv, aa_error *err);

/* After the front end (o->dsp's clip, rate, FFT, hop or mels) has been changed for options not given:
 * the defaults that follow it derived again for the options not given (o->given), and the front end
 * and the options it bounds checked as tr_options_parse checks them (a usage error in err). */
int tr_options_rederive(tr_options *o, aa_error *err);

/* --help: every option with its default and an example. */
void tr_usage(FILE *to);

/* The long names of every option (for the test that --help lists them all); NULL after the last. */
const char *tr_option_name(int i);

/* The options that shape the training (data, split, windows, network, optimisation, augmentation), as
 * stable "key=value" lines: a checkpoint records them and a resume must match them. Calibration, outputs,
 * thread count and verbosity are left out: they may change between the two halves of a resumed run.
 * NULL when out of memory; caller frees. */
char *tr_options_fingerprint(const tr_options *o);
/* What a checkpoint must match to be resumed: the fingerprint and the front end ("dsp.KEY=VALUE" lines).
 * The front end is not in the fingerprint, which the training summary quotes: the model file carries it
 * whole already. NULL when out of memory; caller frees. */
char *tr_options_checkpoint_key(const tr_options *o);

#endif
