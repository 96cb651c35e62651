/* aa-train's options: one table drives the parser, the --help text and its defaults, so that the help can
 * neither forget an option nor quote a stale default. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/dsp.h"
#include "nn/nn.h"
#include "model/timeline.h"
#include "train/demo_cmd.h"
#include "train/options.h"

void tr_options_default(tr_options *o)
{
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->val_frac = 0.15;
    o->test_frac = 0.15;
    o->dsp = dsp_settings_default();
    o->hop_s = 2.0;
    o->max_windows = 12;
    o->arch = "aa-cnn-s";
    o->epochs = 30;
    o->batch = 32;
    o->lr = 1e-3;
    o->weight_decay = 0;
    o->clip_norm = 5;
    o->optimizer = TR_OPT_ADAM;
    o->schedule = TR_SCHED_COSINE;
    o->warmup_epochs = 1;
    o->min_lr_frac = 0.01;
    o->step_epochs = 10;
    o->step_gamma = 0.1;
    o->class_weights = 1;
    o->timeline_tune = 1;
    o->timeline_fa_budget = AM_TUNE_FA_BUDGET;
    o->label_smoothing = 0.05;
    o->patience = 10;
    o->ema = 0.99;
    o->augment = 1;
    ds_augment_opts_default(&o->aug);
    o->gate_target = 0.95;
    o->aggregate = am_aggregate_default();
    o->gate_min_covered = 20;
    o->threads = 0;
}

/* ---- the table ------------------------------------------------------------------------------------------ */

typedef enum {
    K_FLAG,   /* no value */
    K_STR,    /* any non-empty string */
    K_INT,    /* whole number in [lo, hi]; lo = hi = 0: any int, the front end's rules judge it */
    K_U64,    /* non-negative whole number */
    K_NUM,    /* finite number in [lo, hi]; lo = hi = 0: any, the front end's rules judge it */
    K_CHOICE, /* one of the words in `choices` */
    K_RANGE,  /* "LO,HI": two finite numbers in [lo, hi], LO <= HI */
} kind;

typedef enum {
    O_HELP, O_VERSION, O_OUTPUT, O_CLASSES, O_GROUP_REGEX, O_MANIFEST, O_NO_MANIFEST, O_CACHE, O_NO_CACHE,
    O_SAMPLE_RATE, O_CLIP_SECONDS, O_CROP, O_RESAMPLER, O_N_FFT, O_WIN_LENGTH, O_HOP_LENGTH, O_N_MELS, O_FMIN,
    O_FMAX, O_SEED, O_VAL_FRAC, O_TEST_FRAC, O_HOP, O_MAX_WINDOWS, O_ARCH, O_EPOCHS, O_BATCH, O_LR, O_OPTIMIZER,
    O_WEIGHT_DECAY, O_CLIP_NORM, O_SCHEDULE, O_WARMUP, O_MIN_LR, O_STEP_EPOCHS, O_STEP_GAMMA,
    O_NO_CLASS_WEIGHTS, O_LABEL_SMOOTHING, O_PATIENCE, O_EMA, O_NO_AUGMENT, O_SHIFT, O_SHIFT_P, O_GAIN, O_GAIN_P,
    O_NOISE_P, O_SNR_MIN, O_SNR_MAX, O_NOISE_CLASS, O_SPECAUG_P, O_TIME_MASKS, O_TIME_MASK, O_FREQ_MASKS,
    O_FREQ_MASK, O_MIXUP_P, O_MIXUP_ALPHA, O_MIX_P, O_MIX_CLASSES, O_MIX_EVENTS, O_MIX_SNR, O_MIX_LEVEL, O_COLOUR_P, O_REVERB_P,
    O_REVERB_RT60, O_CLIP_P, O_WARP_P, O_WARP_FREQ, O_WARP_TIME, O_GATE_TARGET, O_GATE_MIN_COVERED, O_PER_CLASS_GATES, O_AGGREGATE, O_AGGREGATE_REPORT, O_NO_TIMELINE_TUNE, O_TIMELINE_FA_BUDGET, O_LOG,
    O_REPORT_JSON, O_SVG, O_CHECKPOINT, O_RESUME, O_STOP_AFTER, O_THREADS, O_QUIET, O_AUDIT, O_JSON,
    O_NEGATIVES, O_NEGATIVES_AS, O_VAL_SOURCES, O_TEST_SOURCES, O_CV, O_FOLDS, O_CV_ENSEMBLE, O_TASK, N_OPT_IDS
} opt_id;

typedef struct {
    opt_id id;
    const char *name;    /* long name without the dashes */
    char short_name;     /* 0: none */
    kind k;
    const char *arg;     /* placeholder in the help */
    double lo, hi;       /* K_INT, K_NUM */
    const char *choices; /* K_CHOICE: "a|b" */
    const char *section; /* starts a new section of the help when set */
    const char *help;
    const char *example; /* "" when the help needs none */
    const char *key;     /* front end: the dsp_settings key it sets, which the validator's messages name */
} opt_def;

static const opt_def OPTS[] = {
    {O_OUTPUT, "output", 'o', K_STR, "MODEL", 0, 0, NULL, "Output",
     "the model file to write (required); the split goes beside it as MODEL.split.tsv", "-o model.aam", NULL},
    {O_TASK, "task", 0, K_CHOICE, "NAME", 0, 0, "respiratory|general", NULL,
     "what the model is, stored in it: respiratory (every result aa-infer, its page and API give carries the "
     "medical disclaimer) or general (a sound classifier, neutral wording). Default: respiratory when every "
     "class is one of cough, heavy_breathing, normal_breathing, background_noise (in any case, with any "
     "separator), else general", "--task general", NULL},
    {O_LOG, "log", 0, K_STR, "FILE", 0, 0, NULL, NULL,
     "JSON lines: one per epoch and a summary at the end", "--log train.jsonl", NULL},
    {O_REPORT_JSON, "report-json", 0, K_STR, "FILE", 0, 0, NULL, NULL,
     "the test report (per recording and per window) as JSON", "--report-json test.json", NULL},
    {O_SVG, "svg", 0, K_STR, "DIR", 0, 0, NULL, NULL,
     "plots: confusion matrix, reliability, coverage, learning curves (DIR is created)", "--svg plots", NULL},
    {O_QUIET, "quiet", 'q', K_FLAG, NULL, 0, 0, NULL, NULL, "print only warnings and errors", "", NULL},
    {O_AUDIT, "audit", 0, K_FLAG, NULL, 0, 0, NULL, NULL,
     "no training: describe DATA (files, groups, durations, rates, channels, quality per class) and what would "
     "spoil a run on it (the same audio on two sides of the split or in two classes, groups across classes, "
     "classes too small to split); -o is not needed. Training prints the same findings as warnings",
     "--audit", NULL},
    {O_JSON, "json", 0, K_FLAG, NULL, 0, 0, NULL, NULL, "with --audit: one JSON object instead of text", "", NULL},

    {O_CLASSES, "classes", 0, K_STR, "A,B,..", 0, 0, NULL, "Data",
     "class folders to use, in this order (default: every folder, sorted)", "--classes cough,normal_breathing", NULL},
    {O_MANIFEST, "manifest", 0, K_STR, "FILE", 0, 0, NULL, NULL,
     "TSV with path and group columns (default: DATA/manifest.tsv when present)", "--manifest groups.tsv", NULL},
    {O_NO_MANIFEST, "no-manifest", 0, K_FLAG, NULL, 0, 0, NULL, NULL, "ignore DATA/manifest.tsv", "", NULL},
    {O_GROUP_REGEX, "group-regex", 0, K_STR, "RE", 0, 0, NULL, NULL,
     "files without a manifest row: group = first capture of RE in the file name (default: one group per file)",
     "--group-regex '^([a-z0-9]+)_'", NULL},
    {O_CACHE, "cache", 0, K_STR, "FILE", 0, 0, NULL, NULL,
     "feature cache file (default: ~/.cache/audio-audit/<DATA>-<hash>.aacache)", "--cache feats.aacache", NULL},
    {O_NO_CACHE, "no-cache", 0, K_FLAG, NULL, 0, 0, NULL, NULL, "extract features without a cache file", "", NULL},
    {O_SEED, "seed", 0, K_U64, "N", 0, 0, NULL, NULL,
     "seed of the split, initialisation, shuffling, dropout and augmentation", "--seed 7", NULL},
    {O_VAL_FRAC, "val-frac", 0, K_NUM, "F", 0, 0.9, NULL, NULL,
     "share of each class's windows for validation, whole groups at a time", "--val-frac 0.2", NULL},
    {O_TEST_FRAC, "test-frac", 0, K_NUM, "F", 0, 0.9, NULL, NULL,
     "share for the test split; 0: no test report", "--test-frac 0.2", NULL},
    {O_HOP, "hop", 0, K_NUM, "SEC", 0.01, 3600, NULL, NULL,
     "seconds between the windows (clips) of a long recording (default: half a clip, 2)", "--hop 1", NULL},
    {O_MAX_WINDOWS, "max-windows", 0, K_INT, "N", 1, 100000, NULL, NULL,
     "windows kept per recording, evenly spaced", "--max-windows 20", NULL},

    {O_NEGATIVES, "negatives", 0, K_STR, "DIR", 0, 0, NULL, NULL,
     "recordings of no class (speech, laughter, clicks) in DIR's folders train an internal output 'other', "
     "split by group like the rest and reported per folder; a folder named like a class of DATA is skipped. "
     "Repeatable", "--negatives confusers --negatives clicks", NULL},
    {O_NEGATIVES_AS, "negatives-as", 0, K_STR, "CLASS", 0, 0, NULL, NULL,
     "what the model reports 'other' as: a class of DATA, or unclear (default: DATA's background class, the "
     "one named background_noise or background in any case and with any separator, when there is one; else "
     "unclear)", "--negatives-as unclear", NULL},
    {O_VAL_SOURCES, "val-sources", 0, K_STR, "A,B,..", 0, 0, NULL, NULL,
     "hold these sources out whole as the validation split (the manifest's source column; default: none)",
     "--val-sources studio", NULL},
    {O_TEST_SOURCES, "test-sources", 0, K_STR, "A,B,..", 0, 0, NULL, NULL,
     "hold these sources out whole as the test split: figures on recordings from elsewhere",
     "--test-sources hernanmd", NULL},
    {O_SAMPLE_RATE, "sample-rate", 0, K_INT, "HZ", 0, 0, NULL,
     "Front end (stored in the model: aa-infer hears every recording as the model was trained to)",
     "rate every recording is resampled to, 8000 to 192000. When every recording of DATA is at 8 kHz or "
     "less and no front-end option is given: 8000, with --n-fft 256, --hop-length 80, --n-mels 40",
     "--sample-rate 8000", "sample_rate"},
    {O_CLIP_SECONDS, "clip-seconds", 0, K_NUM, "SEC", 0, 0, NULL, NULL,
     "length of the window the network hears; longer recordings give several, shorter ones are zero-padded "
     "(default: the 90th percentile of DATA's recordings' durations, rounded up to 10 ms, within 0.25-4 s: "
     "4 for recordings mostly longer than that)", "--clip-seconds 2", "clip_seconds"},
    /* The choices are in the order of dsp_crop and dsp_resampler: the word's index is the value. */
    {O_CROP, "crop", 0, K_CHOICE, "NAME", 0, 0, "start|center|loudest", NULL,
     "the one clip a longer recording is judged by under --aggregate loudest (and aa-infer --mel shows): "
     "start, center or loudest", "--crop center", "crop"},
    {O_RESAMPLER, "resampler", 0, K_CHOICE, "NAME", 0, 0, "soxr_hq|soxr_vhq|soxr_mq|soxr_lq|soxr_qq", NULL,
     "libsoxr recipe for recordings at other rates: soxr_hq (librosa's default), soxr_vhq, soxr_mq, soxr_lq, "
     "soxr_qq", "--resampler soxr_vhq", "resampler"},
    {O_N_FFT, "n-fft", 0, K_INT, "N", 0, 0, NULL, NULL, "FFT size in samples, 16 to 65536", "--n-fft 1024",
     "n_fft"},
    {O_WIN_LENGTH, "win-length", 0, K_INT, "N", 0, 0, NULL, NULL,
     "Hann window length in samples, at most --n-fft (default: --n-fft, 512)", "--win-length 400",
     "win_length"},
    {O_HOP_LENGTH, "hop-length", 0, K_INT, "N", 0, 0, NULL, NULL, "samples between spectrogram frames",
     "--hop-length 256", "hop_length"},
    {O_N_MELS, "n-mels", 0, K_INT, "N", 0, 0, NULL, NULL,
     "mel bands, 1 to 1024, and no more than leave every band an FFT bin", "--n-mels 40", "n_mels"},
    {O_FMIN, "fmin", 0, K_NUM, "HZ", 0, 0, NULL, NULL, "lowest frequency of the mel bands", "--fmin 50",
     "fmin"},
    {O_FMAX, "fmax", 0, K_NUM, "HZ", 0, 0, NULL, NULL,
     "highest frequency of the mel bands, at most the Nyquist frequency (default: --sample-rate / 2, 8000)",
     "--fmax 4000", "fmax"},

    {O_ARCH, "arch", 0, K_STR, "SPEC", 0, 0, NULL, "Network and optimisation",
     "architecture: aa-cnn-s, aa-cnn-speech (cmn first, twice the widths: for words and short events) or layers "
     "such as \"c8 bn relu p2 c16 bn relu gap fc\"",
     "--arch \"c8 bn relu p2 c16 bn relu gap fc\"", NULL},
    {O_EPOCHS, "epochs", 0, K_INT, "N", 1, 100000, NULL, NULL, "most epochs to train", "--epochs 50", NULL},
    {O_BATCH, "batch", 0, K_INT, "N", 2, 4096, NULL, NULL, "windows per step", "--batch 64", NULL},
    {O_LR, "lr", 0, K_NUM, "RATE", 1e-7, 10, NULL, NULL, "peak learning rate", "--lr 0.002", NULL},
    {O_OPTIMIZER, "optimizer", 0, K_CHOICE, "NAME", 0, 0, "adam|adamw", NULL, "adam or adamw",
     "--optimizer adamw", NULL},
    {O_WEIGHT_DECAY, "weight-decay", 0, K_NUM, "W", 0, 1, NULL, NULL,
     "weight decay of conv and dense weights: L2 for adam, decoupled for adamw",
     "--weight-decay 0.01", NULL},
    {O_CLIP_NORM, "clip-norm", 0, K_NUM, "N", 0, 1e6, NULL, NULL,
     "scale gradients down to this global L2 norm; 0: never", "--clip-norm 1", NULL},
    {O_SCHEDULE, "schedule", 0, K_CHOICE, "NAME", 0, 0, "cosine|step", NULL,
     "learning-rate schedule after the warm-up: cosine or step", "--schedule step", NULL},
    {O_WARMUP, "warmup", 0, K_NUM, "EPOCHS", 0, 100000, NULL, NULL,
     "epochs of linear warm-up to the peak rate", "--warmup 2", NULL},
    {O_MIN_LR, "min-lr", 0, K_NUM, "F", 0, 1, NULL, NULL,
     "cosine: the final rate as a fraction of the peak", "--min-lr 0", NULL},
    {O_STEP_EPOCHS, "step-epochs", 0, K_INT, "N", 1, 100000, NULL, NULL,
     "step: epochs between rate drops", "--step-epochs 5", NULL},
    {O_STEP_GAMMA, "step-gamma", 0, K_NUM, "F", 1e-6, 1, NULL, NULL,
     "step: factor of each drop", "--step-gamma 0.5", NULL},
    {O_NO_CLASS_WEIGHTS, "no-class-weights", 0, K_FLAG, NULL, 0, 0, NULL, NULL,
     "plain loss (default: each class weighted inversely to its training windows)", "", NULL},
    {O_LABEL_SMOOTHING, "label-smoothing", 0, K_NUM, "S", 0, 0.5, NULL, NULL,
     "target = (1 - S) one-hot + S / classes", "--label-smoothing 0", NULL},
    {O_PATIENCE, "patience", 0, K_INT, "N", 0, 100000, NULL, NULL,
     "stop after N epochs without a better validation macro-F1; 0: never", "--patience 5", NULL},
    {O_EMA, "ema", 0, K_NUM, "DECAY", 0, 0.99999, NULL, NULL,
     "validate and keep a moving average of the weights, updated every step with this decay; 0: the weights "
     "themselves", "--ema 0.995", NULL},
    {O_THREADS, "threads", 'j', K_INT, "N", 0, 1024, NULL, NULL,
     "threads for features and training; 0: all cores. The model depends only on data, options "
     "and seed", "--threads 2", NULL},

    {O_NO_AUGMENT, "no-augment", 0, K_FLAG, NULL, 0, 0, NULL, "Augmentation of training windows",
     "train on the windows as they are", "", NULL},
    {O_SHIFT_P, "shift-p", 0, K_NUM, "P", 0, 1, NULL, NULL, "probability of a time shift",
     "--shift-p 0.8", NULL},
    {O_SHIFT, "shift", 0, K_NUM, "SEC", 0, 60, NULL, NULL,
     "largest time shift, shorter than a clip (default: an eighth of a clip, 0.5)", "--shift 1", NULL},
    {O_GAIN_P, "gain-p", 0, K_NUM, "P", 0, 1, NULL, NULL, "probability of a gain change",
     "--gain-p 0.8", NULL},
    {O_GAIN, "gain", 0, K_NUM, "DB", 0, 60, NULL, NULL, "largest gain change, +-dB", "--gain 10", NULL},
    {O_NOISE_P, "noise-p", 0, K_NUM, "P", 0, 1, NULL, NULL,
     "probability of mixing in a background window", "--noise-p 0.5", NULL},
    {O_SNR_MIN, "snr-min", 0, K_NUM, "DB", -30, 100, NULL, NULL, "lowest mixing SNR", "--snr-min 0", NULL},
    {O_SNR_MAX, "snr-max", 0, K_NUM, "DB", -30, 100, NULL, NULL, "highest mixing SNR",
     "--snr-max 20", NULL},
    {O_NOISE_CLASS, "noise-class", 0, K_STR, "NAME", 0, 0, NULL, NULL,
     "class whose windows are the noise (default: DATA's background class, named background_noise or "
     "background in any case and with any separator); no such class: no mixing", "--noise-class noise", NULL},
    {O_SPECAUG_P, "specaug-p", 0, K_NUM, "P", 0, 1, NULL, NULL,
     "probability of SpecAugment time and frequency masks", "--specaug-p 0.8", NULL},
    {O_TIME_MASKS, "time-masks", 0, K_INT, "N", 0, 8, NULL, NULL, "time masks", "--time-masks 1", NULL},
    {O_TIME_MASK, "time-mask", 0, K_INT, "FRAMES", 0, 10000, NULL, NULL,
     "widest time mask, at most a clip's frames (default: a tenth of them, 40)", "--time-mask 20", NULL},
    {O_FREQ_MASKS, "freq-masks", 0, K_INT, "N", 0, 8, NULL, NULL, "frequency masks",
     "--freq-masks 1", NULL},
    {O_FREQ_MASK, "freq-mask", 0, K_INT, "MELS", 0, 1024, NULL, NULL,
     "widest frequency mask, at most --n-mels (default: an eighth of them, 8)", "--freq-mask 12", NULL},
    {O_MIXUP_P, "mixup-p", 0, K_NUM, "P", 0, 1, NULL, NULL, "probability of mixup with another window",
     "--mixup-p 0.3", NULL},
    {O_MIXUP_ALPHA, "mixup-alpha", 0, K_NUM, "A", 0.001, 100, NULL, NULL,
     "mixup weight ~ Beta(A, A)", "--mixup-alpha 0.4", NULL},
    {O_MIX_P, "mix-p", 0, K_NUM, "P", 0, 1, NULL, NULL,
     "probability that a window is remade from audio as a mixture: events of its class (cough bursts, breath "
     "cycles found in the training recordings) placed in a background (background-class recordings, quiet "
     "stretches of the others); a background-class window becomes a background at a random level",
     "--mix-p 0.3", NULL},
    {O_MIX_CLASSES, "mix-classes", 0, K_STR, "A,B,..", 0, 0, NULL, NULL,
     "the classes whose events are mixed (default: every class but the background)", "--mix-classes cough", NULL},
    {O_MIX_EVENTS, "mix-events", 0, K_RANGE, "LO,HI", 0, DS_MIX_MAX_EVENTS, NULL, NULL,
     "events per mixture, uniform", "--mix-events 1,2", NULL},
    {O_MIX_SNR, "mix-snr", 0, K_RANGE, "LO,HI", -30, 100, NULL, NULL,
     "each event's RMS over the background's RMS, dB, uniform", "--mix-snr 5,25", NULL},
    {O_MIX_LEVEL, "mix-level", 0, K_RANGE, "LO,HI", -100, 0, NULL, NULL,
     "the mixture's peak, dBFS, uniform", "--mix-level -50,-20", NULL},
    {O_COLOUR_P, "colour-p", 0, K_NUM, "P", 0, 1, NULL, NULL,
     "probability of a microphone colour: EQ tilt, high-pass, telephone band or low-pass", "--colour-p 0.5", NULL},
    {O_REVERB_P, "reverb-p", 0, K_NUM, "P", 0, 1, NULL, NULL,
     "probability of a synthetic room (exponentially decaying noise, convolved)", "--reverb-p 0.5", NULL},
    {O_REVERB_RT60, "reverb-rt60", 0, K_RANGE, "LO,HI", 0.05, 2, NULL, NULL,
     "the room's RT60, seconds, uniform", "--reverb-rt60 0.2,0.6", NULL},
    {O_CLIP_P, "clip-p", 0, K_NUM, "P", 0, 1, NULL, NULL,
     "probability of hard clipping 1-12 dB below the peak", "--clip-p 0.2", NULL},
    {O_WARP_P, "warp-p", 0, K_NUM, "P", 0, 1, NULL, NULL,
     "probability of a warp of the log-mel: frequencies scaled (on the mel scale) and time stretched, each by a "
     "factor log-uniform within --warp-freq and --warp-time", "--warp-p 0.5", NULL},
    {O_WARP_FREQ, "warp-freq", 0, K_NUM, "W", 0, 0.5, NULL, NULL,
     "largest frequency scaling of a warp: a factor within [1/(1+W), 1+W]", "--warp-freq 0.15", NULL},
    {O_WARP_TIME, "warp-time", 0, K_NUM, "W", 0, 0.5, NULL, NULL,
     "largest time stretch of a warp: a factor within [1/(1+W), 1+W]", "--warp-time 0.2", NULL},

    {O_GATE_TARGET, "gate-target", 0, K_NUM, "ACC", 0.001, 1, NULL, "Calibration (on the validation split)",
     "the Unclear gate: highest coverage whose selective accuracy is at least ACC",
     "--gate-target 0.9", NULL},
    {O_GATE_MIN_COVERED, "gate-min-covered", 0, K_INT, "N", 1, 1000000, NULL, NULL,
     "a gate must leave at least N validation items covered", "--gate-min-covered 10", NULL},
    {O_PER_CLASS_GATES, "per-class-gates", 0, K_FLAG, NULL, 0, 0, NULL, NULL,
     "one threshold per class, each aiming at the target precision", "", NULL},
    {O_AGGREGATE, "aggregate", 0, K_STR, "POLICY", 0, 0, NULL, NULL,
     "how a recording longer than a clip is judged, stored in the model: loudest (one clip, --crop), mean@HOP "
     "(mean probability of windows HOP s apart), topK@HOP (that mean over the K loudest windows), rms@HOP and "
     "energy@HOP (that mean weighted by each window's RMS or energy)",
     "--aggregate mean@2", NULL},
    {O_AGGREGATE_REPORT, "aggregate-report", 0, K_STR, "P,P,..", 0, 0, NULL, NULL,
     "also print the validation recordings' accuracy and macro-F1 under each of these policies",
     "--aggregate-report loudest,mean@1,top3@1", NULL},
    {O_NO_TIMELINE_TUNE, "no-timeline-tune", 0, K_FLAG, NULL, 0, 0, NULL, NULL,
     "do not fit the timeline's event threshold, smoothing and minimum duration on 30 mixtures of validation "
     "recordings (coughs, else every class's events, placed into validation backgrounds); the model keeps "
     "aa-infer's default rule", "", NULL},
    {O_TIMELINE_FA_BUDGET, "timeline-fa-budget", 0, K_NUM, "N", 0, 1e6, NULL, NULL,
     "the tuned rule finds the most events with at most N false alarms per 10 minutes of the mixtures",
     "--timeline-fa-budget 6", NULL},

    {O_CV, "cv", 0, K_FLAG, NULL, 0, 0, NULL, "Cross-validation",
     "train each fold in turn as the test side (validation from the other folds, groups whole) and report per "
     "fold, mean and sd, the confusion matrix summed over folds, and temperature and gate fitted on the pooled "
     "validation predictions; -o is not needed. Folds: the manifest's fold column, else --folds",
     "--cv --folds 5", NULL},
    {O_FOLDS, "folds", 0, K_INT, "K", 2, 100, NULL, NULL,
     "with --cv: K folds of whole groups, stratified by class, seeded (default: the manifest's fold column, "
     "else 5)", "--folds 10", NULL},
    {O_CV_ENSEMBLE, "cv-ensemble", 0, K_FLAG, NULL, 0, 0, NULL, NULL,
     "with --cv: write -o MODEL holding every fold's network (inference averages their logits), with the "
     "pooled temperature and gate", "--cv --cv-ensemble -o ens.aam", NULL},

    {O_CHECKPOINT, "checkpoint", 0, K_STR, "FILE", 0, 0, NULL, "Checkpoints",
     "write the whole training state to FILE after every epoch", "--checkpoint run.ckpt", NULL},
    {O_RESUME, "resume", 0, K_STR, "FILE", 0, 0, NULL, NULL,
     "continue the run a checkpoint saved; the result is the same bits as an uninterrupted run",
     "--resume run.ckpt", NULL},
    {O_STOP_AFTER, "stop-after", 0, K_INT, "EPOCH", 1, 100000, NULL, NULL,
     "end after this epoch with the checkpoint written and no model (resume it later)",
     "--stop-after 10 --checkpoint run.ckpt", NULL},

    {O_HELP, "help", 'h', K_FLAG, NULL, 0, 0, NULL, "Other", "show this help and exit", "", NULL},
    {O_VERSION, "version", 0, K_FLAG, NULL, 0, 0, NULL, NULL, "print the version and exit", "", NULL},
};
#define N_OPTS (sizeof OPTS / sizeof *OPTS)

const char *tr_option_name(int i)
{
    return i >= 0 && (size_t)i < N_OPTS ? OPTS[i].name : NULL;
}

/* The default of an option as the help shows it, from tr_options_default itself; 0 when the help text says
 * it in words. */
static int default_text(opt_id id, char *buf, size_t n)
{
    tr_options d;
    tr_options_default(&d);
    const ds_augment_opts *a = &d.aug;
    double v;
    switch (id) {
    case O_SEED: snprintf(buf, n, "%llu", (unsigned long long)d.seed); return 1;
    case O_ARCH: snprintf(buf, n, "%s", d.arch); return 1;
    case O_OPTIMIZER: snprintf(buf, n, "%s", d.optimizer == TR_OPT_ADAMW ? "adamw" : "adam"); return 1;
    case O_SCHEDULE: snprintf(buf, n, "%s", d.schedule == TR_SCHED_STEP ? "step" : "cosine"); return 1;
    case O_AGGREGATE: am_aggregate_format(&d.aggregate, buf, n); return 1;
    case O_CROP:
    case O_RESAMPLER: {
        /* the text form names the enums; its line "crop=..." or "resampler=..." holds the default */
        char text[DSP_SETTINGS_TEXT_MAX], key[32];
        dsp_settings_format(&d.dsp, text, sizeof text);
        snprintf(key, sizeof key, "\n%s=", id == O_CROP ? "crop" : "resampler");
        const char *at = strstr(text, key);
        if (!at)
            return 0;
        at += strlen(key);
        snprintf(buf, n, "%.*s", (int)strcspn(at, "\n"), at);
        return 1;
    }
    case O_SAMPLE_RATE: v = d.dsp.sample_rate; break;
    case O_CLIP_SECONDS: return 0; /* from the corpus: the help says how */
    case O_N_FFT: v = d.dsp.n_fft; break;
    case O_HOP_LENGTH: v = d.dsp.hop_length; break;
    case O_N_MELS: v = d.dsp.n_mels; break;
    case O_FMIN: v = d.dsp.fmin; break;
    case O_MIX_EVENTS: snprintf(buf, n, "%d,%d", a->mix.events_min, a->mix.events_max); return 1;
    case O_MIX_SNR: snprintf(buf, n, "%g,%g", a->mix.snr_min_db, a->mix.snr_max_db); return 1;
    case O_MIX_LEVEL: snprintf(buf, n, "%g,%g", a->mix.level_min_db, a->mix.level_max_db); return 1;
    case O_REVERB_RT60: snprintf(buf, n, "%g,%g", a->rt60_min_s, a->rt60_max_s); return 1;
    case O_VAL_FRAC: v = d.val_frac; break;
    case O_TEST_FRAC: v = d.test_frac; break;
    case O_MAX_WINDOWS: v = d.max_windows; break;
    case O_EPOCHS: v = d.epochs; break;
    case O_BATCH: v = d.batch; break;
    case O_LR: v = d.lr; break;
    case O_WEIGHT_DECAY: v = d.weight_decay; break;
    case O_CLIP_NORM: v = d.clip_norm; break;
    case O_WARMUP: v = d.warmup_epochs; break;
    case O_MIN_LR: v = d.min_lr_frac; break;
    case O_STEP_EPOCHS: v = d.step_epochs; break;
    case O_STEP_GAMMA: v = d.step_gamma; break;
    case O_LABEL_SMOOTHING: v = d.label_smoothing; break;
    case O_PATIENCE: v = d.patience; break;
    case O_EMA: v = d.ema; break;
    case O_THREADS: v = d.threads; break;
    case O_SHIFT_P: v = a->shift_p; break;
    case O_GAIN: v = a->gain_db; break;
    case O_GAIN_P: v = a->gain_p; break;
    case O_NOISE_P: v = a->noise_p; break;
    case O_SNR_MIN: v = a->snr_min_db; break;
    case O_SNR_MAX: v = a->snr_max_db; break;
    case O_SPECAUG_P: v = a->specaug_p; break;
    case O_TIME_MASKS: v = a->time_masks; break;
    case O_FREQ_MASKS: v = a->freq_masks; break;
    case O_MIXUP_P: v = a->mixup_p; break;
    case O_MIXUP_ALPHA: v = a->mixup_alpha; break;
    case O_MIX_P: v = a->mix_p; break;
    case O_COLOUR_P: v = a->colour_p; break;
    case O_REVERB_P: v = a->reverb_p; break;
    case O_CLIP_P: v = a->clip_p; break;
    case O_WARP_P: v = a->warp_p; break;
    case O_WARP_FREQ: v = a->warp_freq; break;
    case O_WARP_TIME: v = a->warp_time; break;
    case O_GATE_TARGET: v = d.gate_target; break;
    case O_GATE_MIN_COVERED: v = d.gate_min_covered; break;
    case O_TIMELINE_FA_BUDGET: v = d.timeline_fa_budget; break;
    default: return 0;
    }
    snprintf(buf, n, "%g", v);
    return 1;
}

void tr_usage(FILE *to)
{
    /* What a newcomer needs first (usage, exit status, the demo corpus) comes before the long option list. */
    fprintf(to,
            "Usage: aa-train DATA -o MODEL [options]\n"
            "Train a sound classifier on DATA/<class>/ folders of recordings, one folder per class (coughs and\n"
            "breathing, dog barks, machine faults, spoken words: any labelled corpus; any format the front\n"
            "end reads; DATA/{train,val,test}/<class>/ fixes the split). Recordings are cut into clips (their\n"
            "length from DATA's durations unless --clip-seconds); the split keeps each group (manifest,\n"
            "--group-regex, else each file) on one side.\n"
            "The model is calibrated on the validation split and judged on the test split, recording by\n"
            "recording, exactly as aa-infer classifies a file.\n"
            "  Example: aa-train demo-data -o model.aam --svg plots --log train.jsonl\n"
            "\n"
            "Writes MODEL (network, front-end settings, classes, task, normalisation, temperature, gate, a\n"
            "training summary) and MODEL.split.tsv (path, class, group, side, source, negative), so that\n"
            "  aa-infer -m MODEL --eval MODEL.split.tsv --side test\n"
            "reproduces the test report. Same data, options and seed give a bit-identical model file.\n"
            "\n"
            "Exit status: 0 success, 1 runtime error, 2 usage error.\n"
            "A respiratory model (--task) carries in every result, in every output:\n"
            "\"" AM_DISCLAIMER "\"\n"
            "\n");
    aa_cmd_make_demo_usage(to);
    for (size_t i = 0; i < N_OPTS; i++) {
        const opt_def *d = &OPTS[i];
        if (d->section)
            fprintf(to, "\n%s:\n", d->section);
        char head[64];
        if (d->short_name)
            snprintf(head, sizeof head, "-%c, --%s%s%s", d->short_name, d->name, d->arg ? " " : "",
                     d->arg ? d->arg : "");
        else
            snprintf(head, sizeof head, "    --%s%s%s", d->name, d->arg ? " " : "", d->arg ? d->arg : "");
        int col = fprintf(to, "  %-26s ", head);
        char def[64], text[512];
        if (default_text(d->id, def, sizeof def))
            snprintf(text, sizeof text, "%s (default %s)", d->help, def);
        else
            snprintf(text, sizeof text, "%s", d->help);
        aa_wrap(to, text, col, 29, 100);
        fputc('\n', to);
        if (d->example[0])
            fprintf(to, "%31se.g. %s\n", "", d->example);
    }
}

/* ---- parsing -------------------------------------------------------------------------------------------- */

static int parse_num(const char *s, double *v)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return errno || *end || !isfinite(*v) ? -1 : 0;
}

static int parse_int(const char *s, long long *v)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    *v = strtoll(s, &end, 10);
    return errno || *end ? -1 : 0;
}

static int parse_u64(const char *s, uint64_t *v)
{
    if (!s || !*s || *s == '-' || *s == '+')
        return -1;
    char *end;
    errno = 0;
    unsigned long long u = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *v = u;
    return 0;
}

/* "LO,HI" into v[0], v[1]. */
static int parse_range(const char *s, double *v)
{
    const char *comma = s ? strchr(s, ',') : NULL;
    if (!comma || comma == s)
        return -1;
    char lo[64];
    size_t len = (size_t)(comma - s);
    if (len >= sizeof lo)
        return -1;
    memcpy(lo, s, len);
    lo[len] = '\0';
    return parse_num(lo, &v[0]) || parse_num(comma + 1, &v[1]) || v[0] > v[1] ? -1 : 0;
}

/* Which word of "a|b|c" s is, or -1. */
static int choice_index(const char *choices, const char *s)
{
    size_t n = strlen(s);
    int i = 0;
    for (const char *p = choices;; i++) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && !strncmp(p, s, n))
            return i;
        if (!bar)
            return -1;
        p = bar + 1;
    }
}

static const opt_def *find_long(const char *name, size_t len)
{
    for (size_t i = 0; i < N_OPTS; i++)
        if (strlen(OPTS[i].name) == len && !strncmp(OPTS[i].name, name, len))
            return &OPTS[i];
    return NULL;
}

static const opt_def *find_short(char c)
{
    for (size_t i = 0; i < N_OPTS; i++)
        if (OPTS[i].short_name == c)
            return &OPTS[i];
    return NULL;
}

static int bad_value(const opt_def *d, const char *v, aa_error *err)
{
    const char *what = "a value";
    char range[128] = "";
    switch (d->k) {
    case K_INT:
        what = "a whole number";
        if (d->lo != d->hi)
            snprintf(range, sizeof range, " from %.0f to %.0f", d->lo, d->hi);
        break;
    case K_U64: what = "a non-negative whole number"; break;
    case K_NUM:
        what = "a number";
        if (d->lo != d->hi)
            snprintf(range, sizeof range, " from %g to %g", d->lo, d->hi);
        break;
    case K_CHOICE: snprintf(range, sizeof range, " (%s)", d->choices); break;
    case K_RANGE:
        what = "LO,HI";
        snprintf(range, sizeof range, " with %g <= LO <= HI <= %g", d->lo, d->hi);
        break;
    default: what = "a non-empty value"; break;
    }
    return aa_error_set(err, TR_PARSE_USAGE, "--%s needs %s%s, not '%s'", d->name, what, range, v ? v : "");
}

/* Stores value v of option d; TR_PARSE_USAGE with a message when it does not parse. */
static int apply(tr_options *o, const opt_def *d, const char *v, aa_error *err)
{
    double x = 0, rg[2] = {0, 0};
    long long n = 0;
    uint64_t u = 0;
    int ch = 0;
    switch (d->k) {
    case K_FLAG: break;
    case K_STR:
        if (!v || !*v)
            return bad_value(d, v, err);
        break;
    case K_INT:
        if (parse_int(v, &n) || (d->lo != d->hi ? n < (long long)d->lo || n > (long long)d->hi
                                                 : n < INT_MIN || n > INT_MAX))
            return bad_value(d, v, err);
        break;
    case K_U64:
        if (parse_u64(v, &u))
            return bad_value(d, v, err);
        break;
    case K_NUM:
        if (parse_num(v, &x) || (d->lo != d->hi && (x < d->lo || x > d->hi)))
            return bad_value(d, v, err);
        break;
    case K_CHOICE:
        if (!v || (ch = choice_index(d->choices, v)) < 0)
            return bad_value(d, v, err);
        break;
    case K_RANGE:
        if (parse_range(v, rg) || rg[0] < d->lo || rg[1] > d->hi ||
            (d->id == O_MIX_EVENTS && (rg[0] != floor(rg[0]) || rg[1] != floor(rg[1]))))
            return bad_value(d, v, err);
        break;
    }
    ds_augment_opts *a = &o->aug;
    switch (d->id) {
    case O_HELP: case O_VERSION: break;
    case O_OUTPUT: o->model_path = v; break;
    case O_CLASSES: o->classes = v; break;
    case O_GROUP_REGEX: o->group_regex = v; break;
    case O_MANIFEST: o->manifest = v; break;
    case O_NO_MANIFEST: o->manifest = ""; break;
    case O_CACHE: o->cache_path = v; break;
    case O_NO_CACHE: o->no_cache = 1; break;
    case O_SAMPLE_RATE: o->dsp.sample_rate = (int)n; break;
    case O_CLIP_SECONDS: o->dsp.clip_seconds = x; break;
    case O_CROP: o->dsp.crop = (dsp_crop)ch; break;
    case O_RESAMPLER: o->dsp.resampler = (dsp_resampler)ch; break;
    case O_N_FFT: o->dsp.n_fft = (int)n; break;
    case O_WIN_LENGTH: o->dsp.win_length = (int)n; break;
    case O_HOP_LENGTH: o->dsp.hop_length = (int)n; break;
    case O_N_MELS: o->dsp.n_mels = (int)n; break;
    case O_FMIN: o->dsp.fmin = x; break;
    case O_FMAX: o->dsp.fmax = x; break;
    case O_SEED: o->seed = u; break;
    case O_VAL_FRAC: o->val_frac = x; break;
    case O_TEST_FRAC: o->test_frac = x; break;
    case O_CV: o->cv = 1; break;
    case O_FOLDS: o->folds = (int)n; break;
    case O_CV_ENSEMBLE: o->cv_ensemble = 1; break;
    case O_HOP: o->hop_s = x; break;
    case O_MAX_WINDOWS: o->max_windows = (int)n; break;
    case O_ARCH: o->arch = v; break;
    case O_EPOCHS: o->epochs = (int)n; break;
    case O_BATCH: o->batch = (int)n; break;
    case O_LR: o->lr = x; break;
    case O_OPTIMIZER: o->optimizer = ch ? TR_OPT_ADAMW : TR_OPT_ADAM; break;
    case O_WEIGHT_DECAY: o->weight_decay = x; break;
    case O_CLIP_NORM: o->clip_norm = x; break;
    case O_SCHEDULE: o->schedule = ch ? TR_SCHED_STEP : TR_SCHED_COSINE; break;
    case O_WARMUP: o->warmup_epochs = x; break;
    case O_MIN_LR: o->min_lr_frac = x; break;
    case O_STEP_EPOCHS: o->step_epochs = (int)n; break;
    case O_STEP_GAMMA: o->step_gamma = x; break;
    case O_NO_CLASS_WEIGHTS: o->class_weights = 0; break;
    case O_LABEL_SMOOTHING: o->label_smoothing = x; break;
    case O_PATIENCE: o->patience = (int)n; break;
    case O_EMA: o->ema = x; break;
    case O_NO_AUGMENT: o->augment = 0; break;
    case O_SHIFT: a->shift_max_s = x; break;
    case O_SHIFT_P: a->shift_p = x; break;
    case O_GAIN: a->gain_db = x; break;
    case O_GAIN_P: a->gain_p = x; break;
    case O_NOISE_P: a->noise_p = x; break;
    case O_SNR_MIN: a->snr_min_db = x; break;
    case O_SNR_MAX: a->snr_max_db = x; break;
    case O_NOISE_CLASS: a->background_class = v; break;
    case O_SPECAUG_P: a->specaug_p = x; break;
    case O_TIME_MASKS: a->time_masks = (int)n; break;
    case O_TIME_MASK: a->time_mask_max = (int)n; break;
    case O_FREQ_MASKS: a->freq_masks = (int)n; break;
    case O_FREQ_MASK: a->freq_mask_max = (int)n; break;
    case O_MIXUP_P: a->mixup_p = x; break;
    case O_MIXUP_ALPHA: a->mixup_alpha = x; break;
    case O_MIX_P: a->mix_p = x; break;
    case O_MIX_CLASSES: a->mix_classes = v; break;
    case O_MIX_EVENTS: a->mix.events_min = (int)rg[0], a->mix.events_max = (int)rg[1]; break;
    case O_MIX_SNR: a->mix.snr_min_db = rg[0], a->mix.snr_max_db = rg[1]; break;
    case O_MIX_LEVEL: a->mix.level_min_db = rg[0], a->mix.level_max_db = rg[1]; break;
    case O_COLOUR_P: a->colour_p = x; break;
    case O_REVERB_P: a->reverb_p = x; break;
    case O_REVERB_RT60: a->rt60_min_s = rg[0], a->rt60_max_s = rg[1]; break;
    case O_CLIP_P: a->clip_p = x; break;
    case O_WARP_P: a->warp_p = x; break;
    case O_WARP_FREQ: a->warp_freq = x; break;
    case O_WARP_TIME: a->warp_time = x; break;
    case O_GATE_TARGET: o->gate_target = x; break;
    case O_GATE_MIN_COVERED: o->gate_min_covered = (int)n; break;
    case O_PER_CLASS_GATES: o->per_class_gates = 1; break;
    case O_AGGREGATE: {
        aa_error e = {0};
        if (am_aggregate_parse(v, &o->aggregate, &e))
            return aa_error_set(err, TR_PARSE_USAGE, "--aggregate: %s", e.msg);
        break;
    }
    case O_AGGREGATE_REPORT: o->aggregate_report = v; break;
    case O_NO_TIMELINE_TUNE: o->timeline_tune = 0; break;
    case O_TIMELINE_FA_BUDGET: o->timeline_fa_budget = x; break;
    case O_TASK: o->task = ch ? AM_TASK_GENERAL : AM_TASK_RESPIRATORY; break;
    case O_LOG: o->log_path = v; break;
    case O_REPORT_JSON: o->report_json = v; break;
    case O_SVG: o->svg_dir = v; break;
    case O_CHECKPOINT: o->checkpoint = v; break;
    case O_RESUME: o->resume = v; break;
    case O_STOP_AFTER: o->stop_after = (int)n; break;
    case O_THREADS: o->threads = (int)n; break;
    case O_QUIET: o->quiet = 1; break;
    case O_NEGATIVES:
        if (o->n_negatives == TR_MAX_NEGATIVES)
            return aa_error_set(err, TR_PARSE_USAGE, "--negatives: at most %d folders", TR_MAX_NEGATIVES);
        o->negatives[o->n_negatives++] = v;
        break;
    case O_NEGATIVES_AS: o->negatives_as = v; break;
    case O_VAL_SOURCES: o->val_sources = v; break;
    case O_TEST_SOURCES: o->test_sources = v; break;
    case O_AUDIT: o->audit = 1; break;
    case O_JSON: o->json = 1; break;
    case N_OPT_IDS: break;
    }
    return 0;
}

/* ---- the front end ------------------------------------------------------------------------------------------ */

/* The defaults that follow the front end, for the options not given: first those of the front end itself,
 * then, once it is valid, those that depend on its clip and mels. At the default front end each gives the
 * value tr_options_default holds (8000, 512, 2, 0.5, 40, 8), so a default run is what it always was. */
static void derive_front_end(tr_options *o, const unsigned char *given)
{
    if (!given[O_FMAX])
        o->dsp.fmax = o->dsp.sample_rate / 2.0;
    if (!given[O_WIN_LENGTH])
        o->dsp.win_length = o->dsp.n_fft;
}

static void derive_from_front_end(tr_options *o, const unsigned char *given)
{
    const dsp_settings *s = &o->dsp;
    if (!given[O_HOP])
        o->hop_s = s->clip_seconds / 2;
    if (!given[O_SHIFT])
        o->aug.shift_max_s = s->clip_seconds / 8;
    /* Absolute widths: a 40-frame mask is a tenth of a 4 s clip but most of a short one. */
    if (!given[O_TIME_MASK])
        o->aug.time_mask_max = (int)(dsp_clip_frames(s) / 10);
    if (!given[O_FREQ_MASK])
        o->aug.freq_mask_max = s->n_mels / 8;
}

/* The validator's message with each dsp_settings key it names replaced by its option ("fmax" -> "--fmax"),
 * so that a refusal names what the user typed. */
static void name_options(const char *msg, char *out, size_t cap)
{
    static const char prefix[] = "settings: ";
    if (!strncmp(msg, prefix, sizeof prefix - 1))
        msg += sizeof prefix - 1;
    size_t len = 0;
    for (const char *p = msg; *p && len + 1 < cap;) {
        size_t w = 0;
        while ((p[w] >= 'a' && p[w] <= 'z') || (p[w] >= '0' && p[w] <= '9') || p[w] == '_')
            w++;
        const opt_def *d = NULL;
        for (size_t i = 0; w && i < N_OPTS && !d; i++)
            if (OPTS[i].key && strlen(OPTS[i].key) == w && !strncmp(OPTS[i].key, p, w))
                d = &OPTS[i];
        int n = d ? snprintf(out + len, cap - len, "--%s", d->name)
                  : snprintf(out + len, cap - len, "%.*s", (int)(w ? w : 1), p);
        len += n > 0 ? (size_t)n : 0;
        p += w ? w : 1;
    }
    out[len < cap ? len : cap - 1] = '\0';
}

/* The front end (its rules are dsp_settings_validate's) and the options whose limits it sets, each with
 * its derived default. */
static int front_end(tr_options *o, const unsigned char *given, aa_error *err)
{
    derive_front_end(o, given);
    const dsp_settings *s = &o->dsp;
    aa_error e;
    if (dsp_settings_validate(s, &e)) {
        char msg[AA_ERROR_MSG_MAX];
        name_options(e.msg, msg, sizeof msg);
        return aa_error_set(err, TR_PARSE_USAGE, "%s", msg);
    }
    derive_from_front_end(o, given);
    size_t frames = dsp_clip_frames(s);
    if (o->aug.shift_max_s >= s->clip_seconds)
        return aa_error_set(err, TR_PARSE_USAGE, "--shift %g is not shorter than a clip (--clip-seconds %g)",
                            o->aug.shift_max_s, s->clip_seconds);
    if ((size_t)o->aug.time_mask_max > frames)
        return aa_error_set(err, TR_PARSE_USAGE,
                            "--time-mask %d is wider than a clip's %zu frames (--clip-seconds %g, --sample-rate %d, "
                            "--hop-length %d)", o->aug.time_mask_max, frames, s->clip_seconds, s->sample_rate,
                            s->hop_length);
    if (o->aug.freq_mask_max > s->n_mels)
        return aa_error_set(err, TR_PARSE_USAGE, "--freq-mask %d is wider than --n-mels %d", o->aug.freq_mask_max,
                            s->n_mels);
    return 0;
}

/* Checks that concern several options at once. */
static int check_together(const tr_options *o, aa_error *err)
{
    if (!o->data_dir)
        return aa_error_set(err, TR_PARSE_USAGE, "missing DATA, the folder of class folders");
    if (o->json && !o->audit)
        return aa_error_set(err, TR_PARSE_USAGE, "--json only applies with --audit");
    if ((o->folds || o->cv_ensemble) && !o->cv)
        return aa_error_set(err, TR_PARSE_USAGE, "%s needs --cv", o->folds ? "--folds" : "--cv-ensemble");
    if (o->cv && (o->checkpoint || o->resume || o->stop_after || o->n_negatives || o->val_sources ||
                  o->test_sources || o->aggregate_report || o->svg_dir || o->audit))
        return aa_error_set(err, TR_PARSE_USAGE, "--cv does not combine with --checkpoint, --resume, --stop-after, "
                            "--negatives, --val-sources, --test-sources, --aggregate-report, --svg or --audit");
    if (o->cv && o->model_path && !o->cv_ensemble)
        return aa_error_set(err, TR_PARSE_USAGE, "--cv writes no model but with --cv-ensemble (-o MODEL)");
    if (!o->model_path && !o->stop_after && !o->audit && !(o->cv && !o->cv_ensemble))
        return aa_error_set(err, TR_PARSE_USAGE, "missing -o MODEL, the model file to write");
    if (o->val_frac <= 0)
        return aa_error_set(err, TR_PARSE_USAGE,
                            "--val-frac must be above 0: early stopping and calibration need a validation split");
    if (o->val_frac + o->test_frac > 0.9 + 1e-12)
        return aa_error_set(err, TR_PARSE_USAGE,
                            "--val-frac %g plus --test-frac %g leave less than 10 %% of the data to train on",
                            o->val_frac, o->test_frac);
    if (o->aug.snr_min_db > o->aug.snr_max_db)
        return aa_error_set(err, TR_PARSE_USAGE, "--snr-min %g is above --snr-max %g", o->aug.snr_min_db,
                            o->aug.snr_max_db);
    if (o->negatives_as && !o->n_negatives)
        return aa_error_set(err, TR_PARSE_USAGE, "--negatives-as needs --negatives DIR");
    if (o->stop_after && !o->checkpoint)
        return aa_error_set(err, TR_PARSE_USAGE, "--stop-after needs --checkpoint FILE to keep the state in");
    if (o->stop_after && o->stop_after >= o->epochs)
        return aa_error_set(err, TR_PARSE_USAGE, "--stop-after %d is not before the last epoch (--epochs %d)",
                            o->stop_after, o->epochs);
    /* A mistyped architecture is a usage error, found before the data is read: built once for one sample of
     * the front end's input (the class count is not known yet; 2 stands in for it). */
    aa_error e;
    nn_model *probe = nn_model_new(o->arch, 1, o->dsp.n_mels, (int)dsp_clip_frames(&o->dsp), 2, 1, &e);
    if (!probe)
        return aa_error_set(err, TR_PARSE_USAGE, "--arch: %s (for an input of %d mels x %zu frames)", e.msg,
                            o->dsp.n_mels, dsp_clip_frames(&o->dsp));
    nn_model_free(probe);
    if (o->group_regex && ds_group_regex_check(o->group_regex, &e))
        return aa_error_set(err, TR_PARSE_USAGE, "--group-regex: %s", e.msg);
    return 0;
}

int tr_options_parse(tr_options *o, int argc, char **argv, aa_error *err)
{
    aa_error_clear(err);
    unsigned char given[N_OPT_IDS] = {0};
    int positional_only = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (positional_only || a[0] != '-' || !a[1]) {
            if (o->data_dir)
                return aa_error_set(err, TR_PARSE_USAGE, "one DATA folder only ('%s' and '%s')", o->data_dir, a);
            o->data_dir = a;
            continue;
        }
        if (!strcmp(a, "--")) {
            positional_only = 1;
            continue;
        }
        const opt_def *d;
        const char *v = NULL;
        int inline_value = 0;
        if (a[1] == '-') {
            const char *eq = strchr(a + 2, '=');
            d = find_long(a + 2, eq ? (size_t)(eq - a - 2) : strlen(a + 2));
            if (eq)
                v = eq + 1, inline_value = 1;
        } else {
            d = a[2] ? NULL : find_short(a[1]);
        }
        if (!d)
            return aa_error_set(err, TR_PARSE_USAGE, "unknown option '%s'", a);
        if (d->k == K_FLAG) {
            if (inline_value)
                return aa_error_set(err, TR_PARSE_USAGE, "--%s takes no value", d->name);
        } else if (!inline_value) {
            if (i + 1 >= argc)
                return aa_error_set(err, TR_PARSE_USAGE, "--%s needs a value (%s)", d->name, d->arg);
            v = argv[++i];
        }
        if (d->id == O_HELP)
            return TR_PARSE_HELP;
        if (d->id == O_VERSION)
            return TR_PARSE_VERSION;
        if (apply(o, d, v, err))
            return TR_PARSE_USAGE;
        given[d->id] = 1;
    }
    o->given.clip_seconds = given[O_CLIP_SECONDS];
    o->given.front_end = given[O_SAMPLE_RATE] || given[O_N_FFT] || given[O_WIN_LENGTH] || given[O_HOP_LENGTH] ||
                         given[O_N_MELS] || given[O_FMIN] || given[O_FMAX];
    o->given.fmax = given[O_FMAX];
    o->given.win_length = given[O_WIN_LENGTH];
    o->given.hop = given[O_HOP];
    o->given.shift = given[O_SHIFT];
    o->given.time_mask = given[O_TIME_MASK];
    o->given.freq_mask = given[O_FREQ_MASK];
    o->given.aggregate = given[O_AGGREGATE];
    return front_end(o, given, err) || check_together(o, err) ? TR_PARSE_USAGE : TR_PARSE_OK;
}

int tr_options_rederive(tr_options *o, aa_error *err)
{
    aa_error_clear(err);
    unsigned char given[N_OPT_IDS] = {0};
    given[O_FMAX] = o->given.fmax;
    given[O_WIN_LENGTH] = o->given.win_length;
    given[O_HOP] = o->given.hop;
    given[O_SHIFT] = o->given.shift;
    given[O_TIME_MASK] = o->given.time_mask;
    given[O_FREQ_MASK] = o->given.freq_mask;
    return front_end(o, given, err) || check_together(o, err) ? TR_PARSE_USAGE : 0;
}

char *tr_options_fingerprint(const tr_options *o)
{
    const ds_augment_opts *a = &o->aug;
    char *s = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&s, &n);
    if (!f)
        return NULL;
    /* %.17g: doubles read back to the same bits, so equal settings give equal text. */
    fprintf(f, "classes=%s\nmanifest=%s\ngroup_regex=%s\nseed=%llu\nval_frac=%.17g\ntest_frac=%.17g\n",
            o->classes ? o->classes : "(all)", o->manifest ? o->manifest : "(default)",
            o->group_regex ? o->group_regex : "(none)", (unsigned long long)o->seed, o->val_frac, o->test_frac);
    fprintf(f, "hop=%.17g\nmax_windows=%d\narch=%s\nepochs=%d\nbatch=%d\nlr=%.17g\noptimizer=%s\n", o->hop_s,
            o->max_windows, o->arch, o->epochs, o->batch, o->lr, o->optimizer == TR_OPT_ADAMW ? "adamw" : "adam");
    fprintf(f, "weight_decay=%.17g\nclip_norm=%.17g\nschedule=%s\nwarmup=%.17g\nmin_lr=%.17g\nstep_epochs=%d\n",
            o->weight_decay, o->clip_norm, o->schedule == TR_SCHED_STEP ? "step" : "cosine", o->warmup_epochs,
            o->min_lr_frac, o->step_epochs);
    fprintf(f, "step_gamma=%.17g\nclass_weights=%d\nlabel_smoothing=%.17g\npatience=%d\nema=%.17g\n",
            o->step_gamma, o->class_weights, o->label_smoothing, o->patience, o->ema);
    /* Only when used, so that a run without them keeps the fingerprint (and checkpoints) it had. */
    for (int i = 0; i < o->n_negatives; i++)
        fprintf(f, "negatives%d=%s\n", i, o->negatives[i]);
    if (o->n_negatives)
        fprintf(f, "negatives_as=%s\n", o->negatives_as ? o->negatives_as : "(default)");
    if (o->val_sources)
        fprintf(f, "val_sources=%s\n", o->val_sources);
    if (o->test_sources)
        fprintf(f, "test_sources=%s\n", o->test_sources);
    fprintf(f, "augment=%d\n", o->augment);
    if (o->augment) {
        fprintf(f, "shift=%.17g@%.17g\ngain=%.17g@%.17g\nnoise=%.17g@%.17g..%.17g:%s\n", a->shift_max_s,
                a->shift_p, a->gain_db, a->gain_p, a->noise_p, a->snr_min_db, a->snr_max_db,
                a->background_class ? a->background_class : "(none)");
        fprintf(f, "specaug=%.17g:%dx%d,%dx%d\nmixup=%.17g@%.17g\n", a->specaug_p, a->time_masks,
                a->time_mask_max, a->freq_masks, a->freq_mask_max, a->mixup_p, a->mixup_alpha);
        const ds_mix_opts *m = &a->mix;
        fprintf(f, "mix=%.17g:%d..%d,snr=%.17g..%.17g,peak=%.17g..%.17g\nmix_classes=%s\n", a->mix_p,
                m->events_min, m->events_max, m->snr_min_db, m->snr_max_db, m->level_min_db, m->level_max_db,
                a->mix_classes ? a->mix_classes : "(all but the background)");
        fprintf(f, "colour=%.17g\nreverb=%.17g:%.17g..%.17g\nclip=%.17g\n", a->colour_p, a->reverb_p, a->rt60_min_s,
                a->rt60_max_s, a->clip_p);
        if (a->warp_p > 0) /* only when used: runs without it keep their fingerprint */
            fprintf(f, "warp=%.17g:%.17g,%.17g\n", a->warp_p, a->warp_freq, a->warp_time);
    }
    if (fclose(f)) {
        free(s);
        return NULL;
    }
    return s;
}

char *tr_options_checkpoint_key(const tr_options *o)
{
    char *fp = tr_options_fingerprint(o), text[DSP_SETTINGS_TEXT_MAX];
    size_t tn = dsp_settings_format(&o->dsp, text, sizeof text);
    size_t n = fp ? strlen(fp) + 2 * tn + 1 : 0; /* each of tn bytes at most one line of its own */
    char *key = fp && tn < sizeof text ? malloc(n) : NULL;
    if (key) {
        size_t len = (size_t)snprintf(key, n, "%s", fp);
        for (const char *line = text; *line; line += strcspn(line, "\n") + 1)
            len += (size_t)snprintf(key + len, n - len, "dsp.%.*s\n", (int)strcspn(line, "\n"), line);
    }
    free(fp);
    return key;
}
