#ifndef AA_DATASETS_H
#define AA_DATASETS_H

/* datasets/: labelled folders of recordings -> a file list with classes and groups -> a grouped, stratified
 * train/val/test split; and a synthetic demo corpus of the four respiratory-sound classes.
 *
 * Every function returns 0 (DS_OK) or a ds_status and fills an aa_error with a printable message. Nothing
 * here prints, exits, or keeps global state; warnings about skipped files are handed back to the caller. */

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

enum ds_status {
    DS_OK = 0,
    DS_ERR_IO = AA_ERR_IO,         /* DATA, a manifest or an output file cannot be read or written */
    DS_ERR_NOMEM = AA_ERR_NOMEM,
    DS_ERR_ARG = 3,                /* a bad option: class list, regex, fractions, sizes */
    DS_ERR_LAYOUT = 4,             /* folder layout unusable: empty class folder, < 2 classes, mixed layouts */
    DS_ERR_MANIFEST = 5,           /* manifest.tsv unusable: no header, no path/group column */
    DS_ERR_SPLIT = 6,              /* a split side would have no example of some class */
};
const char *ds_strerror(int code);

/* ---- text helpers --------------------------------------------------------------------------------------- */

/* File names are bytes: the listing keeps non-UTF-8 names (they open fine) and these make them printable. */
int ds_utf8_valid(const char *s);
/* A copy of s with invalid UTF-8 bytes and control characters written as \xNN. NULL if out of memory.
 * Caller frees. */
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
} ds_list_stats;

typedef struct {
    char *root;            /* DATA as given */
    char **classes;        /* [n_classes] class names, in class-index order */
    int n_classes;
    ds_item *items;        /* [n_items] sorted by rel */
    size_t n_items;
    char **groups;         /* [n_groups] group names, sorted bytewise; ds_item.group indexes this */
    size_t n_groups;
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
     * Files with a row get that group; files without one fall back to the regex, then to one per file. */
    const char *manifest;
} ds_list_opts;

/* Lists DATA. Errors (nothing returned): DATA unreadable, no class folders, a class folder without a single
 * usable audio file (all such folders are named), fewer than two classes, a --classes name without a folder,
 * a bad regex, an unusable manifest. On success *out is owned by the caller: ds_list_free. */
int ds_list_load(ds_list **out, const char *data_dir, const ds_list_opts *opts, aa_error *err);
void ds_list_free(ds_list *l);
/* Index of a class by name, or -1. */
int ds_list_class_index(const ds_list *l, const char *name);

/* ---- grouped, stratified split --------------------------------------------------------------------------- */

typedef struct {
    double frac[DS_N_SIDES]; /* train, val, test; each >= 0, train > 0, summing to 1. Default 0.70/0.15/0.15 */
    uint64_t seed;           /* default 1 */
    /* [n_items] weight of each item in the per-class targets (e.g. its number of 4 s windows), > 0; NULL: 1
     * per file. Weights never split a file: all of a group is on one side whatever its weight. */
    const double *weights;
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
    size_t groups_crossing; /* groups with files on more than one side (explicit layouts only; else 0) */
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
 * DS_ERR_SPLIT names the side and class when a side with a non-zero fraction gets no example of a class.
 * On success *out is owned by the caller: ds_split_free. */
int ds_split_make(ds_split **out, const ds_list *l, const ds_split_opts *opts, aa_error *err);
void ds_split_free(ds_split *s);
/* A text table of files per side x class (target in parentheses) and groups per side, for the trainer to
 * print. Caller frees; NULL if out of memory. */
char *ds_split_report(const ds_split *s, const ds_list *l);

/* ---- synthetic demo corpus ------------------------------------------------------------------------------- */

/* The demo classes, in the order their indices name them. */
enum ds_synth_class { DS_SYN_COUGH = 0, DS_SYN_HEAVY = 1, DS_SYN_NORMAL = 2, DS_SYN_BACKGROUND = 3 };
#define DS_SYN_N_CLASSES 4
#define DS_SYN_RATE 16000
/* "cough", "heavy_breathing", "normal_breathing", "background_noise"; NULL out of range. */
const char *ds_synth_class_name(int cls);

/* Clip `index` of class `cls` spoken by `speaker` (a simulated person for the three breathing/cough classes,
 * a simulated place for background): mono float at 16 kHz in (-1, 1), mostly 4 s long (about a sixth are
 * 1.5-4 s, a sixth 4-8 s). Clips of one speaker share its vocal-tract, breathing and microphone traits, so
 * a split that separates speakers is harder than one that does not, as with real recordings. Deterministic
 * from (seed, cls, index, speaker) alone: clip i does not depend on any other clip.
 * On success *out (malloc'd, caller frees) holds *n samples. */
int ds_synth_clip(float **out, size_t *n, int cls, uint64_t index, uint64_t speaker, uint64_t seed,
                  aa_error *err);

/* A foreground event in a long recording; time between events is background. */
typedef struct {
    double start, end; /* seconds */
    int cls;           /* DS_SYN_COUGH, DS_SYN_HEAVY or DS_SYN_NORMAL */
} ds_synth_event;

/* A long recording: continuous background with cough bouts and breathing bouts at known, non-overlapping
 * times (at least 1.5 s of background between them). Recordings of 20 s or more hold at least one event of
 * each of the three foreground classes. *out (n samples) and *events (n_events) are malloc'd; caller frees.
 * seconds must be in [5, 600]. */
int ds_synth_long(float **out, size_t *n, ds_synth_event **events, size_t *n_events, double seconds,
                  uint64_t seed, aa_error *err);

/* The class a window [t0, t1) of a long recording should be given: cough if a cough event lies wholly inside
 * it (a cough is short, and a 4 s training clip with one cough in it is a cough clip); else the breathing
 * class covering at least half of it; else background. */
int ds_synth_label_at(const ds_synth_event *events, size_t n_events, double t0, double t1);

typedef struct {
    int per_class;  /* clips per class, >= 6 (three people, so that a grouped split has one per side); default 100 */
    uint64_t seed;  /* default 1 */
} ds_corpus_opts;

void ds_corpus_opts_default(ds_corpus_opts *o);

/* Writes DIR/<class>/NNNN.wav (16-bit PCM, 16 kHz mono) for the four classes and DIR/manifest.tsv
 * (path, class, group, duration_s). Clips 2j and 2j+1 of the cough and breathing classes come from the same
 * simulated person, group "person_jjj", who so has files in three classes; background clips 2j and 2j+1 share
 * a place, group "place_jjj". Clip i of a class is ds_synth_clip(cls, i, i / 2, seed). Everything is written into a temporary sibling folder that is renamed to DIR at the end, so
 * DIR appears complete or not at all. DIR must not exist, or be an empty folder. */
int ds_corpus_write(const char *dir, const ds_corpus_opts *opts, aa_error *err);

/* Writes a long recording (16-bit PCM WAV) to wav_path and its events to events_path as TSV with a header
 * (start_s, end_s, class), both atomically. */
int ds_long_write(const char *wav_path, const char *events_path, double seconds, uint64_t seed, aa_error *err);

#endif
