#ifndef AA_DS_AUGMENT_INTERNAL_H
#define AA_DS_AUGMENT_INTERNAL_H

/* The augmentation steps on one window, shared by datasets/augment.c and datasets/batch.c only. All work on
 * x: [n_mels][n_frames] in place (or from src), in the order documented in datasets.h. */

#include "datasets/datasets.h"

/* out = src moved by shift frames (> 0: later), uncovered frames set to src's floor (max - top_db). */
void ds_aug_shift(const float *src, float *out, size_t n_mels, size_t n_frames, int shift, double top_db);
/* out = src warped (datasets.h, step 1b): band m from the content at centre(m) / freq_warp on the mel scale
 * of s, frame t from mid + (t - mid) / time_stretch; the window's floor beyond its ends. out != src. */
#define DS_AUG_WARP_MAX 0.5
void ds_aug_warp(const float *src, float *out, const dsp_settings *s, size_t n_frames, float freq_warp,
                 float time_stretch);
/* x += gain_db. */
void ds_aug_gain(float *x, size_t count, float gain_db);
/* x = dB(10^(x/10) + k 10^(noise/10)) at the given SNR, re-floored at max - top_db. */
void ds_aug_mix_noise(float *x, const float *noise, size_t count, double snr_db, double top_db);
/* The masks of p set to 0. */
void ds_aug_masks(float *x, size_t n_mels, size_t n_frames, const ds_augment_params *p);
/* Beta(alpha, alpha) from r. */
double ds_aug_beta(aa_rng *r, double alpha);
/* DS_ERR_ARG naming the first option out of range for features of the given shape. */
int ds_aug_validate(const ds_augment_opts *o, size_t n_mels, size_t n_frames, aa_error *err);

/* ---- the waveform steps (datasets/augment_wave.c) ---- */

#define DS_AUG_RT60_MIN 0.05
#define DS_AUG_RT60_MAX 2.0

/* What the mixtures are made of: pieces of the pool files' signals (not owned). */
typedef struct {
    ds_piece *bg;              /* [n_bg] backgrounds: background-class files whole, others' quiet stretches */
    size_t n_bg;
    ds_piece *ev;              /* [n_ev] events, grouped by class */
    size_t n_ev;
    size_t *ev_first, *ev_count; /* [n_classes] each class's run of ev */
} ds_wave_pools;

/* Finds the events and backgrounds of the files of the pool's windows (in file order: no randomness). Every
 * such file must still hold its signal (DS_ERR_ARG naming it otherwise). bg_class -1: none. mix_classes:
 * "a,b", the classes whose events are cut out (NULL: every class but the background; a name that is no
 * other class is DS_ERR_ARG). */
int ds_wave_pools_make(ds_wave_pools *p, const ds_cache *c, const size_t *pool, size_t n_pool, int bg_class,
                       const char *mix_classes, const ds_event_opts *eo, aa_error *err);
void ds_wave_pools_free(ds_wave_pools *p);

/* The waveform parameters of one item of class cls into p (the other fields untouched), from their own
 * stream r, a fixed number of draws whatever is switched on. */
void ds_wave_draw(const ds_augment_opts *o, const ds_wave_pools *pools, int cls, int bg_class, int rate,
                  aa_rng *r, ds_augment_params *p);
/* 1 when p asks for a waveform step. */
int ds_wave_any(const ds_augment_params *p);

/* Per-thread tools of the waveform steps. */
typedef struct {
    dsp_logmel *lm;            /* n_threads slots */
    dsp_convolver *cv;         /* NULL without reverberation */
    float *wave;               /* [n_threads][clip samples] */
    float *ir;                 /* [n_threads][room length at rt60_max] or NULL */
    size_t clip_n, ir_n;
    int n_threads;
} ds_wave_tools;

int ds_wave_tools_make(ds_wave_tools *t, const dsp_settings *s, const ds_augment_opts *o, int n_threads,
                       aa_error *err);
void ds_wave_tools_free(ds_wave_tools *t);
/* Window w of c remade as p says, into feat [n_mels][n_frames] (its log-mel), with the tools of slot. */
int ds_wave_render(const ds_cache *c, const ds_wave_pools *pools, const ds_augment_opts *o, int bg_class,
                   ds_wave_tools *t, int slot, size_t w, const ds_augment_params *p, float *feat, aa_error *err);

#endif
