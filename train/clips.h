#ifndef TR_CLIPS_H
#define TR_CLIPS_H

/* Whole recordings cut as aa-infer cuts them: decode at the model rate, take the windows model/'s
 * aggregation policy judges (am_aggregate_windows: one clip for a short recording or the loudest policy),
 * log-mel each. Their logits become one recording's scores through am_aggregate_combine. */

#include <stddef.h>

#include "dsp/dsp.h"
#include "model/model.h"
#include "util/util.h"

typedef struct {
    size_t n_rec, n_win;
    size_t *first;  /* [n_rec + 1]: recording i has windows first[i] .. first[i+1]-1 */
    float *feat;    /* [n_win][n_mels][n_frames] log-mel dB, not normalised */
    double *energy; /* [n_win] */
} tr_rec_windows;

/* The windows of each of paths[0..n) under policy a, in parallel over files (threads: 0 = all cores); the
 * result does not depend on the thread count. A file that cannot be decoded fails the call, naming it
 * (these files decoded once already, for the cache). On failure *out holds nothing to free. */
int tr_rec_windows_build(const char *const *paths, size_t n, const dsp_settings *s, const am_aggregate *a,
                         int threads, tr_rec_windows *out, aa_error *err);
void tr_rec_windows_free(tr_rec_windows *w);

#endif
