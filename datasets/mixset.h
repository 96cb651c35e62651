#ifndef AA_DATASETS_MIXSET_H
#define AA_DATASETS_MIXSET_H

/* Sets of scored mixtures made from one side's recordings (datasets/mixset.c): events placed at known times
 * into that side's backgrounds, for the trainer's timeline tuning (in memory) and bench/mixtures (written
 * out). One implementation, so that the trainer tunes on the mixtures the benchmark scores. */

#include <stddef.h>
#include <stdint.h>

#include "datasets/datasets.h"

typedef struct ds_mix_material ds_mix_material;

ds_mix_material *ds_mix_material_new(void);
void ds_mix_material_free(ds_mix_material *m);
/* Adds one recording x [n] at `rate` Hz (copied): is_background, the whole signal is a background piece;
 * otherwise its quiet stretches of at least 1 s (ds_quiet_find) are, and with event_class >= 0 its events
 * (ds_events_find) are event pieces of that class too. Default ds_event_opts. Errors: out of memory, the
 * finders' own. */
int ds_mix_material_add(ds_mix_material *m, const float *x, size_t n, int rate, int event_class, int is_background,
                        aa_error *err);
/* The class of event piece i (ds_mix_event.source), as it was added. */
int ds_mix_material_event_class(const ds_mix_material *m, size_t i);
size_t ds_mix_material_events(const ds_mix_material *m);
size_t ds_mix_material_backgrounds(const ds_mix_material *m);
/* The seconds of all event pieces, and of all background pieces. */
double ds_mix_material_seconds(const ds_mix_material *m, int rate, int events);

typedef struct {
    int count;        /* [30] mixtures */
    double seconds;   /* [60] each */
    uint64_t seed;    /* [1] mixture i draws from aa_rng_seed3(seed, stream, i) */
    uint64_t stream;  /* [0] another set from the same seed (the trainer tunes on stream 1, so that bench/
                       * mixtures' default set, stream 0, is not the one tuned on) */
    ds_mix_opts mix;  /* [4 events, 6 s apart, background at -50..-30 dBFS RMS, events 8..25 dB over it] */
} ds_mixset_opts;

/* The defaults above: the mixtures issue 14 describes (single coughs in quiet rooms). */
void ds_mixset_opts_default(ds_mixset_opts *o);
/* Mixture i of the set into out [n = seconds * rate]: a background piece drawn from m, o->mix.events of
 * m's events; info gets the events' times (samples). The same material, options and i give the same bytes.
 * Errors (DS_ERR_ARG): no event or no background piece, bad options, i out of range. */
int ds_mixset_one(const ds_mix_material *m, int rate, const ds_mixset_opts *o, int i, float *out, size_t n,
                  ds_mixture *info, aa_error *err);
/* Samples of each mixture: seconds * rate. */
size_t ds_mixset_samples(const ds_mixset_opts *o, int rate);

#endif
