#ifndef TR_DATA_H
#define TR_DATA_H

/* The trainer's data: listing, feature cache (decoded signals, and the training windows' log-mels computed
 * from them), grouped split, windows per side, normalisation, class weights, and the validation and test
 * recordings cut as aa-infer cuts a file (model/'s am_recording_windows on the cached signal: no second
 * decode). Everything a training run reads comes from here, and every problem that would spoil a run is
 * found here, before training starts. */

#include <stddef.h>
#include <stdio.h>

#include "datasets/datasets.h"
#include "model/model.h"
#include "train/audit.h"
#include "train/options.h"
#include "train/progress.h"

typedef struct {
    ds_list *list;             /* DATA's listing */
    ds_cache *cache;           /* DATA's files, then each --negatives folder's (one cache in memory) */
    ds_cache_info cache_info;
    double features_seconds;   /* computing the windows' log-mels from the cached signals */
    int cache_used;            /* 0 with --no-cache */
    ds_split *split;           /* of cache's files, DATA's and the negatives' each split by their groups; NULL
                                  only with --audit, when the corpus cannot be split (split_error says why) */
    char split_error[AA_ERROR_MSG_MAX];
    tr_audit *audit;           /* the dataset audit, made before any signal is released */
    dsp_settings dsp;
    int k;                     /* the network's outputs: DATA's classes, then "other" with negatives */
    /* Recordings of no class (--negatives): their listings, in the order given; their files follow DATA's
     * in cache as files of the output `other`, which the model reports as class negatives_as (or Unclear). */
    int n_neg;
    ds_list *neg_list[TR_MAX_NEGATIVES];
    ds_cache_info neg_cache_info[TR_MAX_NEGATIVES];
    int k_reported;            /* DATA's classes: what the model reports */
    int other;                 /* the output of the negatives, or -1 */
    int negatives_as;          /* the reported class "other" counts for, or AM_MAP_UNCLEAR */
    am_task task;              /* --task, or the class-name rule on DATA's classes: what the model file says */
    int output_map[AM_MAX_CLASSES]; /* [k] each output's reported class */
    size_t *file_part;         /* [cache->n_files] 0 for DATA, 1 + j for the j-th negatives folder */
    const char **file_source;  /* [cache->n_files] each file's source (names owned by the listings) */
    const char **file_kind;    /* [cache->n_files] a negative's folder name; NULL for DATA's files */
    size_t n_mels, n_frames;   /* one window's feature */
    size_t *win[DS_N_SIDES];   /* window indices (into cache->windows) of each side, in window order */
    size_t n_win[DS_N_SIDES];
    size_t *win_count;         /* [DS_N_SIDES][k] windows per side and class */
    size_t *file_count;        /* [DS_N_SIDES][k] decodable files per side and class */
    size_t *group_count;       /* [DS_N_SIDES][k] groups with a decodable file of the class on the side */
    size_t *rec[DS_N_SIDES];   /* decodable files (cache file indices) of each side, in listing order */
    size_t n_rec[DS_N_SIDES];
    size_t skipped;            /* files that could not be decoded (named in cache->files[].reason) */
    size_t *silent;            /* [n_silent] cache file indices of recordings the quality verdict calls silent */
    size_t n_silent;
    float *mean, *std;         /* [n_mels] per-mel normalisation from the training windows */
    float *class_weight;       /* [k] loss weights (all 1 with --no-class-weights) */
    /* The validation and test recordings as aa-infer sees them: the windows the aggregation policy judges
     * each by and their log-mels (model/'s first half), cut once from the cached signals. NULL for train. */
    am_aggregate aggregate;
    am_windows *rec_windows[DS_N_SIDES]; /* [n_rec[s]] in the order of rec[s] */
    int *rec_label[DS_N_SIDES];          /* [n_rec[s]] each recording's output (other for a negative) */
} tr_data;

/* Lists DATA, opens or builds the cache (progress reported through p), splits, and checks that every
 * class has training and validation windows (and test windows when there is a test side). Listing
 * warnings and skipped files are the caller's to print (tr_data_print_warnings). On failure (err names
 * the file or class and the reason) *d holds nothing to free. */
int tr_data_load(tr_data *d, const tr_options *o, tr_progress *p, aa_error *err);
void tr_data_free(tr_data *d);
/* What the run is trained on, as "key=value" lines a checkpoint records beside the options
 * (tr_options_fingerprint) so that a resume on other data is refused: the classes, the files (how many,
 * and a hash of each one's path, size, decoded length, class and group), the split (files per side and a
 * hash of each file's side) and the front-end settings. Modification times are left out: a copied folder
 * is the same data. NULL when out of memory; caller frees. */
char *tr_data_fingerprint(const tr_data *d);

/* The windows aa-infer would judge each recording of `side` by under policy a, from the cached signals, in
 * parallel over recordings (threads: 0 = all cores; the same bits whatever the count): *out [n_rec[side]],
 * freed with tr_data_windows_free. The signals must still be there: tr_data_load keeps those of the
 * validation recordings when --aggregate-report asks for other policies, and releases the rest. */
int tr_data_recording_windows(const tr_data *d, int side, const am_aggregate *a, int threads, am_windows **out,
                              aa_error *err);
void tr_data_windows_free(am_windows *w, size_t n);

/* What a model file made from this data stores beside the network: front-end settings, class names (and
 * with negatives the output map: "other" reported as negatives_as), normalisation, the aggregation policy;
 * temperature 1 and no gate (the caller sets those it has chosen). The pointers are into d. */
void tr_data_spec(const tr_data *d, am_spec *sp);
/* The network being trained as an inference model (am_borrow with tr_data_spec): validation and
 * calibration judge recordings and windows through it exactly as aa-infer would. am_free it before net. */
am_model *tr_data_judge(const tr_data *d, nn_model *net, aa_error *err);

/* Entries of DATA the listing skipped (broken or looping links, empty files, FIFOs, overlong paths, ...),
 * each named by a listing warning; names that are kept with a warning (not UTF-8) do not count. */
size_t tr_data_unlisted(const tr_data *d);

/* Each listing warning and each skipped file, one line each, "aa-train: warning: ...". */
void tr_data_print_warnings(const tr_data *d, FILE *to);
/* The data summary: files, windows and groups per class and split, where the groups came from, the cache,
 * the skipped files' count, the class weights. */
void tr_data_print_summary(const tr_data *d, const tr_options *o, FILE *to);

/* The training windows per class over all training windows: the weights' denominator, for the summary. */
size_t tr_data_train_windows(const tr_data *d, int cls);

/* The reported class of recording i of side s, or -1 for a negative. */
int tr_data_rec_class(const tr_data *d, int side, size_t i);

/* Writes path (atomically): a header "path\tclass\tgroup\tside\tsource\tnegative", then one row per
 * decodable file, DATA's in listing order and then each negatives folder's, side "train", "val" or "test";
 * a negative's class is its folder ("confuser_speech") and its negative column 1 (else 0); paths absolute
 * so the file can be used from anywhere. Tabs, newlines and backslashes inside a field are written as \t,
 * \n and \\. */
int tr_data_write_split(const tr_data *d, const char *path, aa_error *err);

#endif
