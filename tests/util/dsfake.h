#ifndef AA_TESTS_DSFAKE_H
#define AA_TESTS_DSFAKE_H

/* A feature cache made in memory, for tests of what consumes one (normalisation, batches): one file per
 * window, default DSP settings (64 x 401 features), classes named by the caller. */

#include "datasets/datasets.h"

/* n windows; window w has class cls[w] (cls may be NULL: all 0) and all-zero features for the caller to
 * fill through fk_features. Freed with ds_cache_free. */
ds_cache *fk_cache(size_t n, int n_classes, const char *const *class_names, const int *cls);
float *fk_features(ds_cache *c, size_t w); /* [n_mels][n_frames] writable */

#endif
