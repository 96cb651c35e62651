#ifndef AA_DS_AUGMENT_INTERNAL_H
#define AA_DS_AUGMENT_INTERNAL_H

/* The augmentation steps on one window, shared by datasets/augment.c and datasets/batch.c only. All work on
 * x: [n_mels][n_frames] in place (or from src), in the order documented in datasets.h. */

#include "datasets/datasets.h"

/* out = src moved by shift frames (> 0: later), uncovered frames set to src's floor (max - top_db). */
void ds_aug_shift(const float *src, float *out, size_t n_mels, size_t n_frames, int shift, double top_db);
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

#endif
