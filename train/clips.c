/* One clip per recording, computed the way model/'s am_classify_file computes it (dsp_load, dsp_clip,
 * dsp_logmel_compute with the same settings), so that validation judges the unit a user gets judged on. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "train/clips.h"

int tr_clip_features(const char *const *paths, size_t n, const dsp_settings *s, int threads, float *out,
                     aa_error *err)
{
    if (n == 0)
        return 0;
    int nt = threads > 0 ? threads : omp_get_max_threads();
    if ((size_t)nt > n)
        nt = (int)n;
    dsp_logmel *lm = dsp_logmel_new(s, nt, err);
    if (!lm)
        return 1;
    size_t clip_n = dsp_clip_samples(s), per = dsp_logmel_size(lm, clip_n);
    float *clips = malloc((size_t)nt * clip_n * sizeof *clips);
    aa_error *errs = calloc(n, sizeof *errs);
    if (!clips || !errs) {
        free(clips);
        free(errs);
        dsp_logmel_free(lm);
        return aa_error_set(err, AA_ERR_NOMEM, "out of memory cutting %zu recordings", n);
    }
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (size_t i = 0; i < n; i++) {
        int slot = omp_get_thread_num();
        float *clip = clips + (size_t)slot * clip_n;
        dsp_audio a;
        if (dsp_load(paths[i], s, 0, &a, &errs[i]))
            continue;
        dsp_clip(s, a.samples, a.n, clip, NULL);
        dsp_audio_free(&a);
        dsp_logmel_compute(lm, slot, clip, clip_n, out + i * per, &errs[i]);
    }
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++)
        if (errs[i].code)
            rc = aa_error_set(err, errs[i].code, "%s", errs[i].msg);
    free(clips);
    free(errs);
    dsp_logmel_free(lm);
    return rc;
}
