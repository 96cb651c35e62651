#ifndef TR_CLIPS_H
#define TR_CLIPS_H

/* Whole recordings cut as aa-infer cuts them: decode at the model rate, keep one clip by the front end's
 * crop policy (the loudest 4 s by default; shorter recordings zero-padded), log-mel. */

#include <stddef.h>

#include "dsp/dsp.h"
#include "util/util.h"

/* The log-mel (dB, [n_mels][n_frames], not normalised) of each of paths[0..n) into out[n][...], in
 * parallel over files (threads: 0 = all cores); the result does not depend on the thread count. A file
 * that cannot be decoded fails the call, naming it (these files decoded once already, for the cache). */
int tr_clip_features(const char *const *paths, size_t n, const dsp_settings *s, int threads,
                     float *out /* [n][n_mels][n_frames] */, aa_error *err);

#endif
