#ifndef TR_CLIP_H
#define TR_CLIP_H

/* The front end's defaults taken from the corpus when the command line leaves them open: the clip length
 * from the recordings' durations (when --clip-seconds is not given) and a narrow-band front end for a
 * corpus recorded at 8 kHz or less (when no front-end option is given). Read from the files' headers
 * before anything is decoded, because the feature cache is made at the front end chosen here. */

#include <stddef.h>
#include <stdio.h>

#include "train/options.h"

#define TR_CLIP_MIN_S 0.25
#define TR_CLIP_MAX_S 4.0
#define TR_CLIP_PERCENTILE 0.9
/* Every recording at this rate or below: the narrow-band front end (TR_NARROW_*). */
#define TR_NARROW_MAX_RATE 8000
#define TR_NARROW_RATE 8000
#define TR_NARROW_N_MELS 40
#define TR_NARROW_N_FFT 256
#define TR_NARROW_HOP 80

typedef struct {
    size_t n_files;      /* DATA's recordings listed */
    size_t n_probed;     /* those whose header gave a duration and rate */
    double percentile_s; /* the TR_CLIP_PERCENTILE duration of the probed, 0 when none */
    int max_rate;        /* the highest stored rate among them, 0 when none */
    int clip_derived;    /* 1: clip_seconds came from percentile_s */
    double clip_seconds; /* the clip chosen (or the one given) */
    int narrow_band;     /* 1: the TR_NARROW_* front end was chosen */
} tr_clip_choice;

/* The clip length for recordings of these durations [n] (seconds; sorted here in place): the
 * TR_CLIP_PERCENTILE one (nearest rank) rounded up to 10 ms and clamped to TR_CLIP_MIN_S..TR_CLIP_MAX_S;
 * TR_CLIP_MAX_S when n is 0. *percentile (may be NULL) receives the unrounded percentile (0 for n = 0). */
double tr_clip_from_durations(double *durations, size_t n, double *percentile);

/* 1 when there is at least one rate and every one of rates [n] is at most TR_NARROW_MAX_RATE. */
int tr_clip_is_narrow_band(const int *rates, size_t n);

/* Lists o->data_dir as training will, reads every recording's header, and fills in the defaults above for
 * the options not given, then derives again what follows the front end (tr_options_rederive). A DATA that
 * cannot be listed, or whose headers cannot be read, leaves o as it is and returns 0: training then
 * reports the problem as it always has. Returns a usage error when the derived front end does not fit
 * the options given (err says which). */
int tr_clip_derive(tr_options *o, tr_clip_choice *out, aa_error *err);

/* One line saying what was chosen and why ("Clip length 0.61 s: ..."), nothing when nothing was derived. */
void tr_clip_print(const tr_clip_choice *c, const tr_options *o, FILE *to);

#endif
