#ifndef AA_DATASETS_H
#define AA_DATASETS_H

/* datasets/: labelled folders of recordings -> a file list with classes and groups -> a grouped, stratified
 * train/val/test split. (The synthetic demo corpus is demo/demo.h.)
 *
 * Every function returns 0 (DS_OK) or an error code (DS_ERR_* and the shared ones, util/util.h) and fills an aa_error with a printable message. Nothing
 * here prints, exits, or keeps global state; warnings about skipped files are handed back to the caller. */

#include <stddef.h>
#include <stdint.h>

#include "dsp/dsp.h"
#include "util/util.h"

/* Error codes: DS_ERR_* in util/util.h, described by aa_strerror. */

/* ---- text helpers --------------------------------------------------------------------------------------- */

/* File names are bytes: the listing keeps names that are not UTF-8 (they open fine; aa_utf8_valid tells
 * them) and this makes them printable: aa_printable (invalid UTF-8 bytes and C0 controls as \xNN, C1
 * controls as \uNNNN). NULL if out of memory. Caller frees. */
char *ds_printable(const char *s);

/* ---- listing: DATA/<class>/... ------------------------------------------------------------------------------
 *
 * Layouts:
 *   DATA/<class>/...                       classes from folder names; items carry no side
 *   DATA/{train,val,test}/<class>/...      explicit split: items carry their side (any of the three may be absent)
 * A layout that mixes split folders with other folders is an error.
 *
 * Audio files are regular files (or symlinks to them) whose name ends, case-insensitively, in .wav .flac .ogg
 * .oga .opus or .mp3. Skipped silently but counted in ds_list_stats: names starting with '.' (files and
 * folders), and regular files with any other extension (.aiff, .m4a, .txt, manifest.tsv, ...). Skipped with a
 * warning: unreadable files and folders, broken symlinks, folders reached a second time (symlink loops or two
 * links to one folder; device+inode are tracked), a file reached a second time, audio-named FIFOs, sockets and
 * devices, empty (0-byte) files, paths of PATH_MAX bytes or more, audio files outside any class folder, and
 * class folders left out of a caller-given class list. Kept with a warning: names that are not valid UTF-8.
 * A folder named like an audio file ("x.wav/") is a folder and is walked. Symlinks are followed.
 *
 * Items are sorted by their path relative to DATA (bytewise), so the order does not depend on the file
 * system. */

enum ds_side { DS_SIDE_NONE = -1, DS_TRAIN = 0, DS_VAL = 1, DS_TEST = 2 };
#define DS_N_SIDES 3
/* "train", "val", "test"; "none" for DS_SIDE_NONE. */
const char *ds_side_name(int side);

enum ds_group_source {
    DS_GROUP_PER_FILE = 0, /* the item is its own group (group name = its relative path) */
    DS_GROUP_MANIFEST = 1, /* from the `group` column of the manifest */
    DS_GROUP_REGEX = 2,    /* from the group regex on the file name */
};

typedef struct {
    char *path;       /* DATA joined with rel: what to open */
    char *rel;        /* path relative to DATA, '/'-separated, raw bytes (ds_printable to show it) */
    int cls;          /* index into ds_list.classes */
    int side;         /* DS_TRAIN/DS_VAL/DS_TEST from an explicit layout, else DS_SIDE_NONE */
    size_t group;     /* index into ds_list.groups */
    int group_source; /* enum ds_group_source */
    size_t source;    /* index into ds_list.sources: where the recording comes from (the manifest's `source`
                       * column, else the name of DATA's folder) */
    int fold;         /* the manifest's `fold` cell (a whole number, 0..DS_MAX_FOLD_LABEL), or -1 */
    int64_t size;     /* bytes */
    int64_t mtime_ns; /* modification time, nanoseconds since the epoch */
} ds_item;

enum ds_warn_kind {
    DS_WARN_UNREADABLE = 1, /* file or folder cannot be opened or stat'ed (incl. broken symlinks); skipped */
    DS_WARN_LOOP,           /* folder already visited (symlink loop or second link); skipped */
    DS_WARN_DUPLICATE,      /* file already listed through another link; skipped */
    DS_WARN_NOT_REGULAR,    /* audio-named FIFO, socket or device; skipped */
    DS_WARN_EMPTY_FILE,     /* 0 bytes; skipped */
    DS_WARN_TOO_LONG,       /* path of PATH_MAX bytes or more; skipped */
    DS_WARN_NOT_UTF8,       /* name is not valid UTF-8; kept */
    DS_WARN_OUTSIDE_CLASS,  /* audio file not inside a class folder; skipped */
    DS_WARN_UNLISTED_CLASS, /* class folder not in the caller's class list; skipped */
    DS_WARN_MANIFEST_ROW,   /* manifest row naming no listed file (or a malformed row); ignored */
    DS_WARN_MANIFEST_DUP,   /* a second manifest row for the same path; ignored */
    DS_WARN_EXCLUDED_CLASS, /* class folder named in ds_list_opts.exclude; skipped */
    DS_WARN_MANIFEST_UNUSABLE, /* ds_list_opts.manifest_soft: the manifest could not be used; ignored */
};

typedef struct {
    int kind;  /* enum ds_warn_kind */
    char *path; /* the entry concerned, raw bytes */
    char *msg;  /* ready to print, non-UTF-8 bytes escaped: "DATA/cough/a.wav: unreadable (Permission denied)" */
} ds_warning;

typedef struct {
    size_t hidden;             /* entries whose name starts with '.' */
    size_t not_audio;          /* regular files without an audio extension */
    size_t group_manifest;     /* items whose group came from the manifest */
    size_t group_regex;        /* ... from the group regex */
    size_t group_per_file;     /* ... fell back to one group per file */
    size_t regex_no_match;     /* items the regex was tried on without a match (they are per-file) */
    size_t manifest_rows;      /* data rows read from the manifest */
    size_t manifest_unmatched; /* rows naming no listed file */
    size_t source_manifest;    /* items whose source came from the manifest's `source` column */
} ds_list_stats;

typedef struct {
    char *root;            /* DATA as given */
    char **classes;        /* [n_classes] class names, in class-index order */
    int n_classes;
    ds_item *items;        /* [n_items] sorted by rel */
    size_t n_items;
    char **groups;         /* [n_groups] group names, sorted bytewise; ds_item.group indexes this */
    size_t n_groups;
    char **sources;        /* [n_sources] source names, sorted bytewise; ds_item.source indexes this */
    size_t n_sources;
    int explicit_sides;    /* 1 for the DATA/{train,val,test}/ layout */
    char *manifest_path;   /* the manifest used, or NULL */
    ds_warning *warnings;  /* [n_warnings] in the order met */
    size_t n_warnings;
    ds_list_stats stats;
} ds_list;

/* All-zero is the default. */
typedef struct {
    /* "a,b,c": class order (index 0 = a). Each must have a folder (DS_ERR_LAYOUT otherwise); folders not
     * named are skipped with a warning. NULL: every class folder, sorted bytewise. */
    const char *classes;
    /* POSIX extended regex searched in each file name (not the folders): the group is the first capture
     * group, or the whole match when the regex has none. No match (or an empty one): one group per file. */
    const char *group_regex;
    /* NULL: DATA/manifest.tsv when it exists; "": use no manifest; else this file, which must exist. Its
     * header names the columns; `path` (relative to DATA) and `group` are required, others are ignored.
     * Files with a row get that group; files without one fall back to the regex, then to one per file.
     * An optional `source` column names each file's source (an empty cell, or no column: the default
     * source below). An optional `fold` column gives each file's cross-validation fold (a whole number;
     * an empty cell: none), which ds_folds_make honours. */
    const char *manifest;
    /* 1: a manifest that cannot be used (unreadable, no path or group column) is a warning
     * (DS_WARN_MANIFEST_UNUSABLE) and ignored, for an evaluation that only wants its sources. */
    int manifest_soft;
    /* The source of files the manifest says nothing of. NULL: the name of DATA's folder ("-" when it has
     * none, as for "/"). */
    const char *default_source;
    /* Fewest class folders DATA must have: 0 means 2 (a classifier needs two); 1 for a folder of negatives,
     * whose folders are kinds of sound rather than classes. */
    int min_classes;
    /* "a,b": class folders skipped with a warning (DS_WARN_EXCLUDED_CLASS) ending "skipped (why)", e.g. the
     * classes of the data being trained met in a folder of negatives. NULL: none. */
    const char *exclude;
    const char *exclude_why;
} ds_list_opts;

/* Lists DATA. Errors (nothing returned): DATA unreadable, no class folders, a class folder without a single
 * usable audio file (all such folders are named), fewer than two classes, a --classes name without a folder,
 * a bad regex, an unusable manifest. On success *out is owned by the caller: ds_list_free. */
int ds_list_load(ds_list **out, const char *data_dir, const ds_list_opts *opts, aa_error *err);
/* Whether pattern compiles as ds_list_opts.group_regex (so a caller can refuse it before any work): 0, or
 * DS_ERR_ARG with regcomp's reason. */
int ds_group_regex_check(const char *pattern, aa_error *err);
void ds_list_free(ds_list *l);
/* Index of a class by name, or -1. */
int ds_list_class_index(const ds_list *l, const char *name);
/* Index of a source by name, or -1. */
int ds_list_source_index(const ds_list *l, const char *name);

/* ---- grouped, stratified split --------------------------------------------------------------------------- */

typedef struct {
    double frac[DS_N_SIDES]; /* train, val, test; each >= 0, train > 0, summing to 1. Default 0.70/0.15/0.15 */
    uint64_t seed;           /* default 1 */
    /* [n_items] weight of each item in the per-class targets (e.g. its number of 4 s windows), > 0; NULL: 1
     * per file. Weights never split a file: all of a group is on one side whatever its weight. */
    const double *weights;
    /* Sources held out whole, by side: "a,b" names of ds_list.sources (hold_out[DS_TRAIN] is ignored).
     * Every recording of a named source goes to that side, and so does the rest of each group one of them
     * holds (a person recorded by two sources stays on one side); the other recordings are split over train
     * and the sides no list names, with the fractions of those sides renormalised. A side filled this way
     * need not hold every class. A group that sources held out on both sides claim stays whole, on the side
     * of its first such recording (counted in groups_crossing). A name the list has no source of is passed
     * over (it may name a source of
     * another list; the caller checks the names). Not with an explicit layout (DS_ERR_ARG). NULL: none. */
    const char *hold_out[DS_N_SIDES];
    /* 1: a class need not reach every side (folders of negatives: kinds of sound, some held by one or two
     * groups); the split still spreads each class over the sides as the fractions ask where its groups
     * allow. */
    int lenient;
    /* [n_items] a side the caller has fixed for an item (cross-validation's test fold), or DS_SIDE_NONE;
     * the rest is split over the allowed sides as above, groups kept whole among them. NULL: none. Not
     * with an explicit layout. */
    const int *fixed_side;
} ds_split_opts;

void ds_split_opts_default(ds_split_opts *o);

typedef struct {
    size_t n_items;
    int n_classes;
    int *side;              /* [n_items] DS_TRAIN/DS_VAL/DS_TEST for each item of the list */
    size_t *count;          /* [DS_N_SIDES][n_classes] files per side and class */
    double *weight;         /* [DS_N_SIDES][n_classes] achieved weight (= count when weights are NULL) */
    double *target;         /* [DS_N_SIDES][n_classes] the weight the fractions asked for */
    size_t groups[DS_N_SIDES];  /* groups with files on each side */
    size_t groups_crossing; /* groups with files on more than one side (explicit layouts only), or claimed
                             * by sources held out on both sides (kept whole on one); else 0 */
    size_t held_out[DS_N_SIDES]; /* files placed on each side by ds_split_opts.hold_out */
    int weighted;           /* 1 when the split was made with item weights */
} ds_split;

/* Assigns every item to a side. All files of a group go to one side; per-class totals follow the fractions as
 * closely as the groups allow (greedy placement of groups, largest first in a seeded order, then moves and
 * swaps of groups while they reduce the squared per-class error). The same list, options and seed give the
 * same split on every machine.
 *
 * With an explicit layout the items keep their sides; a side whose folder is absent but whose fraction is
 * non-zero is carved out of the train groups the same way (fractions renormalised over the train pool).
 *
 * With hold_out, the named sources' recordings (and their groups) are placed first and the rest is split
 * over the remaining sides the same way.
 *
 * DS_ERR_SPLIT names the side and class when a side with a non-zero fraction gets no example of a class
 * (not with lenient, nor for a side filled by hold_out). On success *out is owned by the caller:
 * ds_split_free. */
int ds_split_make(ds_split **out, const ds_list *l, const ds_split_opts *opts, aa_error *err);
void ds_split_free(ds_split *s);
/* A text table of files per side x class (target in parentheses) and groups per side, for the trainer to
 * print. Caller frees; NULL if out of memory. */
char *ds_split_report(const ds_split *s, const ds_list *l);

/* ---- cross-validation folds -------------------------------------------------------------------------------
 * Every item gets one of n folds: a manifest's `fold` column (every item must have a cell) as given — the
 * folds are the column's distinct values in ascending order (groups that cross them are counted, not
 * refused) — or n folds made like the split: whole groups, largest first in a seeded order, each placed on
 * the fold that brings every class's count closest to an n-th of its total (squared error relative to the
 * class total, so small classes count as much as large ones), then single moves while they help; the same
 * list, n and seed give the same folds everywhere. */
#define DS_MAX_FOLDS 100
#define DS_MAX_FOLD_LABEL 1000000
typedef struct {
    int n;                 /* folds */
    int *fold;             /* [n_items] 0..n-1 */
    int *label;            /* [n] the manifest's value of each fold, or 1..n for made folds */
    int from_manifest;     /* 1: the manifest's column */
    size_t groups_crossing; /* groups with items in more than one fold (only a manifest's folds can have them) */
} ds_folds;
/* n_folds: folds to make (2..DS_MAX_FOLDS), or 0 for the manifest's (DS_ERR_ARG when it has none).
 * DS_ERR_SPLIT when there are fewer groups than folds or a made fold gets no item, or the manifest's folds
 * are fewer than two; DS_ERR_MANIFEST when only some items have a fold. *out is the
 * caller's (ds_folds_free). */
int ds_folds_make(ds_folds **out, const ds_list *l, int n_folds, uint64_t seed, aa_error *err);
/* 1 when some item of l has a fold from the manifest. */
int ds_list_has_folds(const ds_list *l);
void ds_folds_free(ds_folds *f);


/* ---- windows: every file -> one or more clip windows ------------------------------------------------------
 *
 * A file of n samples (at the model rate) no longer than a clip gives one window at offset 0, zero-padded at
 * the end as dsp_clip pads. A longer file gives windows hop apart from 0 plus one ending at the file's end
 * (dsp_window_offsets with cover_end), so every sample is in some window. When that is more than
 * max_per_file windows, max_per_file of them are kept, evenly spaced over the file and always including the
 * first and the last: window round(i (count - 1) / (max - 1)) for i = 0..max-1 (the middle one when max is
 * 1), so that long background loops do not drown the other classes. */

typedef struct {
    double hop_seconds; /* [2.0] seconds between window starts in a long file, > 0 */
    int max_per_file;   /* [12] windows kept per file, >= 1 */
} ds_window_opts;

void ds_window_opts_default(ds_window_opts *o);
/* DS_ERR_ARG with the first problem found (hop not positive or below one sample, cap out of 1..100000). */
int ds_window_opts_validate(const ds_window_opts *o, const dsp_settings *s, aa_error *err);
/* The window hop in samples at s's rate: round(hop_seconds * sample_rate), at least 1. */
size_t ds_window_hop(const ds_window_opts *o, const dsp_settings *s);
/* Offsets (samples) of the windows kept for a file of n samples, in increasing order. Writes at most cap
 * (offsets may be NULL with cap 0) and returns how many there are (1..max_per_file). */
size_t ds_window_plan(const dsp_settings *s, const ds_window_opts *o, size_t n, size_t *offsets, size_t cap);

/* ---- feature cache ----------------------------------------------------------------------------------------
 *
 * Every listed file decoded once (dsp_load: mono float32 at the model rate) and kept as that signal, with the
 * plan of its training windows (ds_window_plan). The cache file holds the decoded signals, not log-mels:
 * the work that follows starts from the waveform — validation and the test report judge each recording on
 * the windows aa-infer would cut from it (model/'s am_recording_windows), and augmentation in the waveform
 * domain (events cut out of recordings and placed into backgrounds, EQ, reverberation, clipping) needs the
 * samples — and none of it should decode a file twice. In memory, ds_cache_compute_features adds each
 * window's log-mel ([n_mels][n_frames] dB through dsp_windows_logmel, exactly what inference computes for
 * that clip), which is what the batcher reads (ds_cache_features). Files that cannot be decoded are kept in
 * the file list as skipped, with the reason, and contribute no window; they never stop a build.
 *
 * On disk (little-endian; see datasets/cache_io.c): magic "AACACHE\0", format version (2), size of the whole
 * file, the DSP settings text (dsp_settings_format), window hop and cap, class and group names, every file
 * (relative path, size, mtime in ns, class, group, decoded length, window count, skip status and reason),
 * every window (class, group, file index, offset in samples), a CRC32 of all that; then the decoded signal
 * of every file that was not skipped, in file order (n_samples float32 each), and a CRC32 of the whole file.
 * Written through aa_afile. Version 1 held the windows' log-mels instead and is rebuilt. */

typedef struct {
    char *rel;          /* path relative to DATA, as in the listing */
    int64_t size;       /* bytes, as listed when the cache was made */
    int64_t mtime_ns;
    int cls;            /* class index (ds_cache.classes) */
    size_t group;       /* group index (ds_cache.groups) */
    uint64_t n_samples; /* decoded length at the model rate; 0 when skipped */
    size_t first_window;/* its windows are first_window .. first_window + n_windows - 1 */
    size_t n_windows;   /* 0 when skipped */
    int status;         /* 0, or the dsp_status that made the file skipped */
    char *reason;       /* NULL, or why it was skipped: dsp's message naming the file ("x.wav: ...") */
} ds_cache_file;

typedef struct {
    int cls;            /* class index */
    size_t group;       /* group index */
    size_t file;        /* index into ds_cache.files */
    uint64_t offset;    /* start of the window in the decoded file, samples at the model rate */
} ds_window;

typedef struct {
    dsp_settings dsp;        /* the settings the features were made with */
    ds_window_opts win;
    size_t n_mels, n_frames; /* shape of one window's feature */
    char **classes;          /* [n_classes] */
    int n_classes;
    char **groups;           /* [n_groups] */
    size_t n_groups;
    ds_cache_file *files;    /* [n_files], in the listing's order */
    size_t n_files;
    size_t n_skipped;        /* files with status != 0 */
    ds_window *windows;      /* [n_windows], grouped by file in file order, offsets increasing */
    size_t n_windows;
    float **signal;          /* [n_files] -> [files[f].n_samples] the decoded file at the model rate; NULL when
                              * skipped or released (ds_cache_release_signal) */
    float **feat;            /* [n_files] -> [files[f].n_windows][n_mels][n_frames] (ds_cache_compute_features),
                              * NULL for no windows or not computed */
} ds_cache;

/* Progress of a cache build: done of total files decoded (computing features from the signals is not
 * reported). Called from the thread that called the build only (never concurrently), at least once with
 * done = 0 and once with done = total. */
typedef void (*ds_progress_fn)(void *user, size_t done, size_t total);

/* All-zero is the default; a win with both fields 0 means the default windows. */
typedef struct {
    ds_window_opts win;
    int threads;             /* [0] OpenMP threads decoding files: 0 = omp_get_max_threads() */
    ds_progress_fn progress; /* may be NULL */
    void *progress_user;
} ds_cache_opts;

void ds_cache_opts_default(ds_cache_opts *o);

/* The feature of window w: [n_mels][n_frames], owned by c; ds_cache_compute_features must have run. */
const float *ds_cache_features(const ds_cache *c, size_t w);
/* The log-mel of every window of every decoded file (dsp_windows_logmel at the windows' offsets), in
 * parallel over files (threads: 0 = omp_get_max_threads()); the same bits whatever the thread count. Files
 * whose features are there already are left as they are. Needs the signals. release [n_files] (may be
 * NULL): a file with release[f] set gives up its signal as soon as its features are computed, so that
 * the signals and the features of a large corpus are not all held at once. Errors: out of memory (and
 * the front end's codes). */
int ds_cache_compute_features(ds_cache *c, int threads, const unsigned char *release, aa_error *err);
/* Frees the decoded signal of file f (once its features and whatever else needs it have been computed). */
void ds_cache_release_signal(ds_cache *c, size_t f);

/* Builds the cache of l's items in parallel (OpenMP over files, largest first), decoding each file into
 * signal[i] and planning its windows; features are not computed (ds_cache_compute_features). The result
 * does not depend on the thread count. Undecodable files are skipped (files[i].status, .reason). Errors:
 * bad settings or options, out of memory (codes of the module that found them).
 * On success *out is owned by the caller: ds_cache_free. */
int ds_cache_build(ds_cache **out, const ds_list *l, const dsp_settings *s, const ds_cache_opts *o,
                   aa_error *err);
void ds_cache_free(ds_cache *c);

/* Writes c to path atomically. */
int ds_cache_write(const ds_cache *c, const char *path, aa_error *err);
/* Reads a cache file as it is (signals, no features), trusting nothing: magic (DS_ERR_CACHE_FORMAT), version
 * (DS_ERR_CACHE_VERSION when newer, or older than the decoded-signal layout of version 2), the recorded
 * size against the file's (truncated or trailing bytes), every count against the bytes there are, each
 * file's windows against its window plan, the checksums (DS_ERR_CACHE_CORRUPT for all of these); DS_ERR_IO
 * if it cannot be opened or read. Messages name the file. On success *out is the caller's: ds_cache_free. */
int ds_cache_read(ds_cache **out, const char *path, aa_error *err);
/* 0 if c was made with settings s, windows w and exactly l's files (same relative paths, sizes and mtimes);
 * else DS_ERR_CACHE_STALE saying the first difference ("DSP settings differ: n_mels=64 in the cache,
 * n_mels=128 now", "file list differs: cough/a.wav added"). */
int ds_cache_check(const ds_cache *c, const ds_list *l, const dsp_settings *s, const ds_window_opts *w,
                   aa_error *err);

/* The default cache file for DATA: $XDG_CACHE_HOME/audio-audit/ (else $HOME/.cache/audio-audit/) +
 * "<name of DATA>-<16 hex digits>.aacache", the digits a hash of DATA's absolute path, the DSP settings and the
 * window options: never inside DATA, which may be read-only, and one file per settings so that switching back
 * and forth reuses both. DS_ERR_IO when neither variable is set or DATA cannot be resolved. Caller frees. */
int ds_cache_default_path(char **out, const char *data_dir, const dsp_settings *s, const ds_window_opts *w,
                          aa_error *err);

typedef struct {
    int loaded;                      /* 1: read from the cache file; 0: built (and written unless write_failed) */
    char path[4096];                 /* the cache file used */
    char reason[AA_ERROR_MSG_MAX];   /* when built: why ("no cache file yet", or the reader's/check's message) */
    int replaced;                    /* built although a cache file was there (reason: the reader's/check's) */
    int write_failed;                /* 1: built but could not be written (the cache is still returned) */
    char write_error[AA_ERROR_MSG_MAX];
    double seconds;                  /* wall time of the whole call */
} ds_cache_info;

/* The trainer's entry point: the cache at path (NULL: ds_cache_default_path(l->root, ...), its folder made
 * if missing) if it reads cleanly and ds_cache_check passes; otherwise builds it (progress reported), writes
 * it atomically and returns it; either way with every signal and no features (the caller computes them,
 * ds_cache_compute_features, once it knows which signals it will still need). A cache that cannot be
 * written is not an error (info->write_failed). Only a cache file (any version, stale or damaged), an
 * empty file or nothing is written over: a path naming a file without the cache's magic, or anything but a
 * regular file (never opened), is refused with DS_ERR_CACHE_FORMAT and left as it is.
 * The result's classes and groups are always the listing's (a manifest or --classes change needs no
 * rebuild). info may be NULL. On success *out is owned by the caller: ds_cache_free. */
int ds_cache_open(ds_cache **out, const ds_list *l, const dsp_settings *s, const ds_cache_opts *o,
                  const char *path, ds_cache_info *info, aa_error *err);

/* Weights for ds_split_opts.weights: each file's window count, and 1e-6 for a skipped file (the split needs
 * every weight > 0; a skipped file brings no window). w: [n_files]. */
void ds_cache_file_weights(const ds_cache *c, double *w);
/* Indices of the windows whose file is on `side` of split sp (made from the same listing), in window order.
 * *out malloc'd (NULL when *n is 0); caller frees. */
int ds_cache_side_windows(const ds_cache *c, const ds_split *sp, int side, size_t **out, size_t *n,
                          aa_error *err);

/* ---- normalisation ------------------------------------------------------------------------------------------
 *
 * Per-mel statistics over a set of windows (the training windows): mean[m] and the population standard
 * deviation std[m] of every value of mel row m, accumulated in double in a fixed order (two passes), so the
 * same windows give the same bits on every run. A std below DS_NORM_MIN_STD (a mel row constant over the
 * training set) is stored as 1: such a row carries no information and dividing by ~0 would only amplify
 * rounding. Applied by dsp_normalise, (x - mean[m]) / std[m] in float, in training and inference alike. */
#define DS_NORM_MIN_STD 1e-3
int ds_norm_compute(const ds_cache *c, const size_t *idx /* [n] */, size_t n, float *mean /* [n_mels] */,
                    float *std /* [n_mels] */, aa_error *err);

/* ---- events: the stretches of a recording that stand out by short-time energy -----------------------------
 *
 * Waveform augmentation places single events (a cough burst, a breath cycle) into other backgrounds, so it
 * needs them cut out of the corpus's recordings, which often hold seconds of repeated coughing. The finder
 * works on the decoded signal (the cache's): energies of frames frame_s long, hop_s apart (mean square, in
 * dB, digital silence at -120); the recording's peak is its loudest frame and its floor the 10th percentile
 * of its frames. A frame is active when its energy is within peak_drop_db of the peak and at least
 * floor_rise_db above the floor, so a recording without dynamics (a steady background) has no events.
 * Runs of active frames less than gap_s apart are merged; an event spans its first frame's start to its
 * last frame's end, widened by margin_s each side (within the recording). Events shorter than min_s
 * (before the margin) are dropped; those longer than max_s are cut to their loudest max_s (the greatest sum
 * of squares, dsp_crop_offset) plus the margins. Nothing random: the same signal gives the same events. */

typedef struct {
    double frame_s;       /* [0.02] frame length, seconds */
    double hop_s;         /* [0.01] */
    double peak_drop_db;  /* [25] */
    double floor_rise_db; /* [10] */
    double gap_s;         /* [0.15] */
    double min_s;         /* [0.08] */
    double max_s;         /* [1.5] */
    double margin_s;      /* [0.03] */
} ds_event_opts;

void ds_event_opts_default(ds_event_opts *o);
/* DS_ERR_ARG naming the first value out of range (frames of 1 ms .. 1 s, hop <= frame, min <= max, ...). */
int ds_event_opts_validate(const ds_event_opts *o, aa_error *err);

typedef struct {
    size_t start, end;    /* samples [start, end) of the recording, margins included */
    double peak_db;       /* its loudest frame, dB re full scale (mean square) */
    double rms_db;        /* 20 log10 RMS over [start, end), dBFS */
} ds_event;

/* The events of x[0..n) at `rate` Hz, in time order, into *out (malloc'd, NULL when *n_out is 0; caller
 * frees). o NULL: the defaults. Errors: bad options or rate (DS_ERR_ARG), out of memory. */
int ds_events_find(const float *x /* [n] */, size_t n, int rate, const ds_event_opts *o, ds_event **out,
                   size_t *n_out, aa_error *err);

/* The quiet stretches of x[0..n): runs of frames (as above) whose energy stays below the floor +
 * floor_rise_db, shrunk by margin_s each side, at least min_s long (after shrinking), as ds_event spans in
 * time order (peak_db, rms_db of the stretch). A recording with no event (ds_events_find finds none: no
 * dynamics, so no floor to speak of) has no quiet stretch either. *out malloc'd (NULL when *n_out is 0);
 * caller frees. Errors as ds_events_find, and DS_ERR_ARG for min_s out of [0.01, 3600]. */
int ds_quiet_find(const float *x /* [n] */, size_t n, int rate, const ds_event_opts *o, double min_s,
                  ds_event **out, size_t *n_out, aa_error *err);

/* ---- mixtures: events placed into a background ---------------------------------------------------------------
 *
 * A mixture of n samples: a background piece (a random stretch of it; a piece shorter than n is read back
 * and forth, which keeps it continuous) with k events, k uniform in [events_min, events_max], each drawn
 * uniformly from the pieces given (with replacement) and placed at a uniform onset where it fits wholly,
 * apart from the events already placed by at least min_gap_s (an event that finds no such place in 64
 * tries is left out; an event longer than n is cut to n). Each event's SNR is uniform in [snr_min_db,
 * snr_max_db]: the event's RMS over its own piece against the background's RMS over the whole mixture.
 * Events fade in and out over fade_s (raised cosine), so that a cut never clicks. The level L, uniform in
 * [level_min_db, level_max_db] dBFS, sets either the mixture's peak (DS_LEVEL_PEAK: the whole mixture is
 * scaled so that max |x| = 10^(L/20), which never clips for L <= 0) or the background's RMS
 * (DS_LEVEL_BACKGROUND_RMS: the background at L dBFS RMS, each event at L + SNR). A silent background
 * stays silent; the SNR is then taken against a 0 dBFS reference. Every draw comes from r, so the same
 * stream gives the same bytes. */

#define DS_MIX_MAX_EVENTS 16
enum { DS_LEVEL_PEAK = 0, DS_LEVEL_BACKGROUND_RMS = 1 };

typedef struct {
    int events_min, events_max;         /* [1, 3], 0 <= min <= max <= DS_MIX_MAX_EVENTS */
    double snr_min_db, snr_max_db;      /* [0, 30] */
    double level_min_db, level_max_db;  /* [-60, -10] dBFS */
    int level_ref;                      /* [DS_LEVEL_PEAK] */
    double fade_s;                      /* [0.005] */
    double min_gap_s;                   /* [0.1] */
} ds_mix_opts;

void ds_mix_opts_default(ds_mix_opts *o);
/* DS_ERR_ARG naming the first value out of range. */
int ds_mix_opts_validate(const ds_mix_opts *o, aa_error *err);

/* A stretch of a signal (not owned). */
typedef struct {
    const float *x;
    size_t n;
} ds_piece;

typedef struct {
    size_t onset, offset;  /* samples [onset, offset) of the mixture */
    size_t source;         /* index into the event pieces */
    double snr_db;
} ds_mix_event;

typedef struct {
    size_t n_events;                        /* placed */
    ds_mix_event events[DS_MIX_MAX_EVENTS]; /* in onset order */
    size_t bg_offset;                       /* where in the background piece the mixture starts */
    double level_db;                        /* L */
    double bg_rms_db;                       /* the background's RMS in the mixture, dBFS (-120 when silent) */
} ds_mixture;

/* out [n]: the mixture of background bg and k of the n_events pieces of events (events may be NULL when
 * n_events is 0: the background alone, at the level drawn); rate for the durations of o. info (may be
 * NULL) gets the reference times. o NULL: the defaults. Errors (DS_ERR_ARG): bad options, an empty
 * background or event piece, n of 0; nothing is drawn then. */
int ds_mixture_make(const ds_piece *bg, const ds_piece *events, size_t n_events, int rate, const ds_mix_opts *o,
                    aa_rng *r, float *out /* [n] */, size_t n, ds_mixture *info, aa_error *err);

/* ---- batches with on-the-fly augmentation -----------------------------------------------------------------
 *
 * Item b of a batch is window idx[b], transformed in this order, each step with its own probability:
 *   1. time shift: the content moves by s frames, |s| <= round(shift_max_s * rate / hop_length) (50 frames
 *      for 0.5 s by default), the frames uncovered filled with the window's floor (max - top_db), which is
 *      what zero-padded audio gives. Applied to every window, long files included: neighbouring cached
 *      windows are hop (2 s) apart, so a finer crop inside a long file would mean recomputing the log-mel
 *      from audio at training time, which the features computed once at load exist to avoid.
 *   1b. warp (warp_p; off by default), before the shift: the mel axis stretched by a factor a and time by
 *      a factor r, each log-uniform in [1/(1+w), 1+w] (w = warp_freq, warp_time). Output band m takes the
 *      content at frequency centre(m) / a (a > 1 raises every frequency, as a shorter vocal tract or a
 *      faster machine would), read on the mel scale between band centres and held at the edge bands beyond
 *      them; output frame t takes the content at c + (t - c) / r, c the window's middle frame, the window's
 *      floor beyond its ends. Bilinear in dB. Speakers, animals and machines differ in pitch and pace more
 *      than a recording corpus of a few of them shows.
 *   2. gain: g dB uniform in [-gain_db, gain_db] added to every value (a waveform gain in the dB domain; the
 *      floor moves with it as top_db is relative).
 *   3. background noise: a random window of the background class (from the pool given to the batcher) mixed
 *      at an SNR uniform in [snr_min_db, snr_max_db], in the power domain: P = 10^(x/10) + k 10^(n/10) with
 *      k = sum 10^(x/10) / (sum 10^(n/10) 10^(snr/10)) (the SNR over the whole window), back to dB and
 *      re-floored at max - top_db. A waveform mix would add cross terms 2 Re(X N*) per bin; their phase is
 *      random, so they average out over the many bins and frames a mel value sums, and adding powers is the
 *      expectation of the mix. Off when the background class is absent.
 *   4. normalisation (dsp_normalise; none when mean/std are NULL).
 *   5. mixup (off by default): x = lambda x + (1 - lambda) x', x' another pool window after step 4 only,
 *      lambda ~ Beta(alpha, alpha) folded to >= 0.5; targets get lambda and 1 - lambda.
 *   6. SpecAugment: time_masks masks of width uniform in [0, time_mask_max] frames and freq_masks masks of
 *      width uniform in [0, freq_mask_max] mels at uniform positions, set to 0 (the per-mel mean).
 * Item b draws from aa_rng_seed3(seed, epoch, first + b), first being the position of idx[0] in the epoch,
 * and always draws every parameter in a fixed order whatever is switched on: the batch is the same whatever
 * the thread count, and switching one augmentation off does not change what the others draw.
 *
 * Waveform augmentation, before all of the above: the corpus's recordings are mostly seconds of loud sound
 * close to a phone, so an item may be remade from audio, then its log-mel computed (dsp_windows_logmel, as
 * inference does) and steps 1-6 applied to that:
 *   a. mixture (mix_p): the batcher finds, once, the events of every pool file (ds_events_find with
 *      `events`) and the backgrounds: the files of the background class whole, and the quiet stretches of
 *      at least 1 s of the others (ds_quiet_find). An item of a class that has events becomes a mixture
 *      (ds_mixture_make with `mix`: 1-3 events of its class, from any pool file of it, in a random
 *      background, at a random SNR and peak level); an item of the background class becomes a random
 *      background at a random level (no event); an item of a class without events, or not among
 *      mix_classes, stays as it is.
 *   b. reverberation (reverb_p): convolution with a synthetic room (dsp_room_response: RT60 uniform in
 *      [rt60_min_s, rt60_max_s], direct-to-reverberant ratio uniform in [0, 12] dB; unit energy).
 *   c. microphone colour (colour_p): a tilt of t dB, t uniform in [-10, 10] (a low shelf at 400 Hz of -t/2
 *      and a high shelf at 2.5 kHz of +t/2); with probability 1/2 a second-order high-pass at 60-400 Hz
 *      (log-uniform); then with probability 1/4 the telephone band (fourth-order high-pass at 300 Hz and
 *      low-pass at 3.4 kHz), with 1/4 a fourth-order low-pass at 3.5-8 kHz (log-uniform, at most 0.45 of
 *      the rate: what an 8 kHz-sampled recording or a cheap microphone keeps), else no band limit.
 *   d. clipping (clip_p): hard clipping 1-12 dB (uniform) below the item's peak.
 * These draw from a stream of their own (aa_rng_seed3(seed ^ salt, epoch, index)), in a fixed order, so
 * the feature-domain draws above are the same with or without them; the warp has another such stream. */

#define DS_AUG_MAX_MASKS 8

typedef struct {
    double shift_p;         /* [0.5] probability of a time shift */
    double shift_max_s;     /* [0.5] seconds */
    double gain_p;          /* [0.5] */
    double gain_db;         /* [6] */
    double noise_p;         /* [0.3] */
    double snr_min_db;      /* [5] */
    double snr_max_db;      /* [30] */
    double specaug_p;       /* [0.5] probability of applying the masks */
    int time_masks;         /* [2] 0..DS_AUG_MAX_MASKS */
    int time_mask_max;      /* [40] frames */
    int freq_masks;         /* [2] 0..DS_AUG_MAX_MASKS */
    int freq_mask_max;      /* [8] mels */
    double mixup_p;         /* [0] off */
    double mixup_alpha;     /* [0.2] */
    const char *background_class; /* ["background_noise"] class whose windows are mixed in; NULL: none */
    /* In the waveform domain (see "waveform augmentation" above; all need the pool's decoded signals). */
    double mix_p;           /* [0] probability that an item is remade as a mixture */
    ds_mix_opts mix;        /* [events 1-3, SNR 0-30 dB, level -60..-10 dBFS peak] */
    const char *mix_classes; /* [NULL: every class but the background] "a,b": the classes mixed */
    ds_event_opts events;   /* [ds_event_opts_default] how events and quiet stretches are found */
    double colour_p;        /* [0] microphone colour: tilt, high-pass, telephone band or low-pass */
    double reverb_p;        /* [0] */
    double rt60_min_s, rt60_max_s; /* [0.1, 0.8] */
    double clip_p;          /* [0] */
    /* In the feature domain, from a stream of its own (see "warp" above). */
    double warp_p;          /* [0] */
    double warp_freq;       /* [0.1] largest frequency stretch: a in [1/(1 + w), 1 + w] */
    double warp_time;       /* [0.1] largest time stretch */
} ds_augment_opts;

/* The training defaults above. */
void ds_augment_opts_default(ds_augment_opts *o);
/* Everything off (validation, test): batches are the normalised features, bit for bit. */
void ds_augment_opts_off(ds_augment_opts *o);

/* What one item drew (for the trainer's log and the tests). */
typedef struct {
    int shift;              /* frames, > 0 moves content later; 0 when not applied */
    float gain_db;          /* 0 when not applied */
    int noise;              /* 1 when background noise is mixed in */
    size_t noise_window;
    float snr_db;
    int n_time_masks, n_freq_masks; /* 0 when SpecAugment is not applied */
    int time_start[DS_AUG_MAX_MASKS], time_width[DS_AUG_MAX_MASKS];
    int freq_start[DS_AUG_MAX_MASKS], freq_width[DS_AUG_MAX_MASKS];
    int mixup;              /* 1 when mixed */
    size_t mix_window;
    float lambda;           /* weight of the item's own window (1 when not mixed) */
    /* The waveform steps (each 0 when not applied); an item with none of them reads its cached feature. */
    int mixture;            /* 1: remade as a mixture (its own draws from mix_seed) */
    uint64_t mix_seed;
    int colour;             /* 1: tilt_db always, then highpass_hz (0: none) and band */
    float tilt_db;
    float highpass_hz;
    int band;               /* DS_BAND_NONE, DS_BAND_TELEPHONE, DS_BAND_LOWPASS at lowpass_hz */
    float lowpass_hz;
    int reverb;             /* 1: a room of rt60_s with drr_db, its noise from reverb_seed */
    float rt60_s, drr_db;
    uint64_t reverb_seed;
    int clip;               /* 1: clipped clip_db below the peak */
    float clip_db;
    int warp;               /* 1: frequencies scaled by freq_warp, time by time_stretch */
    float freq_warp, time_stretch;
} ds_augment_params;

enum { DS_BAND_NONE = 0, DS_BAND_TELEPHONE = 1, DS_BAND_LOWPASS = 2 };

/* 1 when o asks for a waveform step, so the batcher needs the training files' decoded signals. */
int ds_augment_needs_signals(const ds_augment_opts *o);

typedef struct ds_batcher ds_batcher;

/* A batch maker over cache c (which must outlive it). mean/std: [n_mels] normalisation (copied), or both
 * NULL for none. aug NULL means all off. pool [n_pool]: the windows noise and mixup partners come from (the
 * training windows; its background-class windows are the noise). threads: OpenMP threads over a batch's
 * items (0 = omp_get_max_threads()). Errors: bad options (DS_ERR_ARG), out of memory. Caller frees with
 * ds_batcher_free. */
int ds_batcher_new(ds_batcher **out, const ds_cache *c, const float *mean, const float *std,
                   const ds_augment_opts *aug, const size_t *pool, size_t n_pool, int threads, aa_error *err);
void ds_batcher_free(ds_batcher *b);
/* 1 when background noise can be mixed in (the class exists and the pool holds windows of it). */
int ds_batcher_has_noise(const ds_batcher *b);
/* The parameters item `index` of `epoch` would draw for window w. */
void ds_batcher_draw(const ds_batcher *b, size_t w, uint64_t seed, uint64_t epoch, uint64_t index,
                     ds_augment_params *p);
/* Fills x and labels (and targets, which may be NULL unless mixup is on) for windows idx[0..n), item b
 * seeded with (seed, epoch, first + b). labels[b] is the window's class; targets are one-hot, or the mixup
 * weights. DS_ERR_ARG for a window index out of range or targets missing with mixup on. */
int ds_batch_fill(ds_batcher *b, const size_t *idx /* [n] */, size_t n, uint64_t seed, uint64_t epoch,
                  uint64_t first, float *x /* [n][1][n_mels][n_frames] */, int *labels /* [n] */,
                  float *targets /* [n][n_classes] or NULL */, aa_error *err);

#endif
