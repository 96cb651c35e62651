#ifndef TR_AUDIT_H
#define TR_AUDIT_H

/* The dataset audit: what a corpus holds and what would spoil a training run on it, without training.
 *
 *   tr_audit *a;
 *   if (tr_audit_run(list, cache, split, settings, threads, &a, &err)) ...   // split may be NULL
 *   tr_audit_text(stdout, a, &err);                                          // or tr_audit_json
 *   tr_audit_free(a);
 *
 * Per class: files, groups, durations, the sample rates and channel counts of the files as stored,
 * quality verdicts (model/'s am_quality_of on the decoded signal) and files that could not be decoded.
 * Across the corpus: recordings that hold the same audio — identical decoded samples, the same audio
 * re-encoded, or one cut from the other — and on which sides of the split each falls; groups whose files
 * are in more than one class; classes with too few groups to give every side one. Nothing on disk is
 * changed. Errors: out of memory (AA_ERR_NOMEM), FFT set-up (the front end's codes).
 *
 * Same audio is found by a spectral fingerprint (train/audit.c says how and what it misses): two files
 * are reported when a stretch of at least 1 s of one (or all of the shorter, when shorter) is found in the
 * other with at most a quarter of the fingerprint bits differing; random pairs differ in about half. */

#include <stdint.h>
#include <stdio.h>

#include "datasets/datasets.h"
#include "dsp/dsp.h"
#include "util/util.h"

typedef enum {
    TR_SAME_EXACT = 0, /* identical decoded samples */
    TR_SAME_WHOLE,     /* the same audio (>= 90 % of each found in the other), e.g. re-encoded */
    TR_SAME_CUT,       /* the shorter (>= 90 % of it) is a stretch of the longer */
    TR_SAME_PART,      /* a shared stretch of at least 1 s, less than 90 % of either */
} tr_same_kind;

typedef struct {
    size_t a, b;        /* cache file indices, a < b */
    tr_same_kind kind;
    double seconds;     /* length of the stretch in common */
    double offset_s;    /* where it starts in b minus where it starts in a */
    double bit_errors;  /* share of fingerprint bits that differ over it (0 for exact copies) */
} tr_same;

typedef struct {
    size_t files, decoded, groups;
    double seconds, min_s, median_s, max_s; /* of the decoded files */
    size_t verdicts[4];                     /* am_quality_verdict: ok, too short, silent, clipped */
    int rates[8];                           /* distinct sample rates as stored, most frequent first */
    size_t rate_files[8];
    int n_rates;                            /* up to 8; rate_other counts the files at further rates */
    size_t rate_other;
    size_t mono, stereo, more_channels;
    size_t sides[DS_N_SIDES];               /* files per side of the split (all 0 without one) */
} tr_audit_class;

typedef struct {
    const ds_list *list;   /* borrowed: what the indices below name */
    const ds_cache *cache;
    const ds_split *split; /* may be NULL */
    int k;
    tr_audit_class *per_class; /* [k] */
    size_t n_files;
    int *rate, *channels;      /* [n_files] as stored; 0 when the header could not be read */
    int *verdict;              /* [n_files] am_quality_verdict of the decoded signal; -1 when skipped */
    tr_same *same;             /* [n_same] by a, then b */
    size_t n_same;
    size_t *spanning;          /* [n_spanning] groups with files in more than one class */
    size_t n_spanning;
    int *small;                /* [n_small] classes with fewer groups than the split has sides */
    size_t n_small;
    int sides_needed;          /* sides the split fills: train and val, and test when it has one */
    double seconds;            /* fingerprinting and the rest, wall time */
} tr_audit;

/* Audits the listing l through its cache c (every decoded signal still held; the trainer runs it before
 * releasing any) and, when sp is not NULL, its split. s: the front end the cache was made with. The
 * result borrows l, c and sp: free it first. */
int tr_audit_run(const ds_list *l, const ds_cache *c, const ds_split *sp, const dsp_settings *s,
                 int sides_needed, int threads, tr_audit **out, aa_error *err);
void tr_audit_free(tr_audit *a);

/* The side of cache file f in the split (DS_SIDE_NONE without one). */
int tr_audit_side(const tr_audit *a, size_t f);

/* For people: the per-class table, the same-audio pairs (each with its sides; those across sides and
 * across classes marked), the groups spanning classes and the small classes. Returns 0 or AA_ERR_IO. */
int tr_audit_text(FILE *out, const tr_audit *a, aa_error *err);
/* One JSON object on one line: "format": "audio-audit-audit", "version": 1, "data", "classes" [{...}],
 * "same_audio" [{"a", "b", "class_a", "class_b", "side_a", "side_b", "kind", "seconds", "offset_s",
 * "bit_errors"}], "groups_spanning_classes" [{"group", "classes"}], "small_classes" [names]. */
int tr_audit_json(FILE *out, const tr_audit *a, aa_error *err);
/* The findings that would spoil training, one line each without a prefix, at most `cap` of them written
 * (lines[i] malloc'd; the caller frees): the same audio on two sides of the split or in two classes,
 * classes too small to split (silent recordings the trainer names itself, one by one). Returns how many there are in all. */
size_t tr_audit_warnings(const tr_audit *a, char **lines, size_t cap);

#endif
