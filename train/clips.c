/* The windows of each recording, computed the way model/'s am_classify_file computes them (dsp_load,
 * am_aggregate_windows, dsp_logmel_compute with the same settings), so that validation judges the unit a
 * user gets judged on. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "train/clips.h"

void tr_rec_windows_free(tr_rec_windows *w)
{
    if (!w)
        return;
    free(w->first);
    free(w->feat);
    free(w->energy);
    memset(w, 0, sizeof *w);
}

typedef struct {
    size_t n;
    float *feat;
    double *energy;
} one_rec;

static void one_rec_load(const char *path, const dsp_settings *s, const am_aggregate *a, dsp_logmel *lm,
                         int slot, float *clip, one_rec *r, aa_error *err)
{
    size_t clip_n = dsp_clip_samples(s), per = dsp_logmel_size(lm, clip_n);
    dsp_audio au;
    if (dsp_load(path, s, 0, &au, err))
        return;
    size_t count = am_aggregate_windows(a, s, au.samples, au.n, NULL, NULL, 0);
    size_t *off = malloc(count * sizeof *off);
    r->feat = malloc(count * per * sizeof *r->feat);
    r->energy = malloc(count * sizeof *r->energy);
    if (!off || !r->feat || !r->energy) {
        aa_error_set(err, AA_ERR_NOMEM, "%s: out of memory for %zu windows", path, count);
    } else {
        am_aggregate_windows(a, s, au.samples, au.n, off, r->energy, count);
        r->n = count;
        for (size_t w = 0; w < count && !err->code; w++) {
            if (count == 1) /* the path am_classify_samples takes: the crop policy, zero-padded */
                dsp_clip(s, au.samples, au.n, clip, NULL);
            else
                memcpy(clip, au.samples + off[w], clip_n * sizeof *clip);
            dsp_logmel_compute(lm, slot, clip, clip_n, r->feat + w * per, err);
        }
    }
    free(off);
    dsp_audio_free(&au);
}

int tr_rec_windows_build(const char *const *paths, size_t n, const dsp_settings *s, const am_aggregate *a,
                         int threads, tr_rec_windows *out, aa_error *err)
{
    memset(out, 0, sizeof *out);
    out->n_rec = n;
    if (!(out->first = calloc(n + 1, sizeof *out->first)))
        return aa_error_set(err, AA_ERR_NOMEM, "out of memory cutting %zu recordings", n);
    if (n == 0)
        return 0;
    int nt = threads > 0 ? threads : omp_get_max_threads();
    if ((size_t)nt > n)
        nt = (int)n;
    dsp_logmel *lm = dsp_logmel_new(s, nt, err);
    if (!lm) {
        tr_rec_windows_free(out);
        return 1;
    }
    size_t clip_n = dsp_clip_samples(s), per = dsp_logmel_size(lm, clip_n);
    float *clips = malloc((size_t)nt * clip_n * sizeof *clips);
    aa_error *errs = calloc(n, sizeof *errs);
    one_rec *recs = calloc(n, sizeof *recs);
    int rc = 0;
    if (!clips || !errs || !recs) {
        rc = aa_error_set(err, AA_ERR_NOMEM, "out of memory cutting %zu recordings", n);
        goto done;
    }
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (size_t i = 0; i < n; i++) {
        int slot = omp_get_thread_num();
        one_rec_load(paths[i], s, a, lm, slot, clips + (size_t)slot * clip_n, &recs[i], &errs[i]);
    }
    for (size_t i = 0; i < n && !rc; i++)
        if (errs[i].code)
            rc = aa_error_set(err, errs[i].code, "%s", errs[i].msg);
    if (rc)
        goto done;
    for (size_t i = 0; i < n; i++)
        out->first[i + 1] = out->first[i] + recs[i].n;
    out->n_win = out->first[n];
    out->feat = malloc(out->n_win * per * sizeof *out->feat);
    out->energy = malloc(out->n_win * sizeof *out->energy);
    if (!out->feat || !out->energy) {
        rc = aa_error_set(err, AA_ERR_NOMEM, "out of memory for %zu windows", out->n_win);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        memcpy(out->feat + out->first[i] * per, recs[i].feat, recs[i].n * per * sizeof *out->feat);
        memcpy(out->energy + out->first[i], recs[i].energy, recs[i].n * sizeof *out->energy);
    }
done:
    for (size_t i = 0; recs && i < n; i++) {
        free(recs[i].feat);
        free(recs[i].energy);
    }
    free(recs);
    free(clips);
    free(errs);
    dsp_logmel_free(lm);
    if (rc)
        tr_rec_windows_free(out);
    return rc;
}
