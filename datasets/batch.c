/* Batches of normalised, augmented windows: [B][1][n_mels][n_frames] and labels, in parallel over items,
 * each item seeded on its own so the batch does not depend on the thread count. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/augment_internal.h"

struct ds_batcher {
    const ds_cache *c;
    float *mean, *std;  /* [n_mels] each, or NULL: no normalisation */
    ds_augment_opts aug;
    int shift_max;      /* frames */
    size_t *pool;       /* [n_pool] mixup partners */
    size_t n_pool;
    size_t *noise;      /* [n_noise] the pool's background windows */
    size_t n_noise;
    int threads;
    int n_scratch;      /* threads ds_batch_fill runs */
    float *scratch;     /* [n_scratch][n_mels][n_frames] a mixup partner, normalised; NULL without mixup */
    /* Waveform augmentation (all zero when off). */
    int wave;           /* 1 when a waveform step may be drawn */
    int bg_class;       /* index of the background class, -1 when absent */
    ds_wave_pools pools;
    ds_wave_tools tools;
    float *remade;      /* [n_scratch][n_mels][n_frames] an item's log-mel remade from its waveform */
    float *warped;      /* [n_scratch][n_mels][n_frames] an item warped, before its shift; NULL without warp */
};

/* Salt of the waveform steps' stream, so that their draws leave the feature-domain ones where they were. */
#define WAVE_SALT 0x776176656d6978ULL
#define WARP_SALT 0x77617270737472ULL


int ds_batcher_new(ds_batcher **out, const ds_cache *c, const float *mean, const float *std,
                   const ds_augment_opts *aug, const size_t *pool, size_t n_pool, int threads, aa_error *err)
{
    *out = NULL;
    ds_augment_opts a;
    if (aug)
        a = *aug;
    else
        ds_augment_opts_off(&a);
    int rc = ds_aug_validate(&a, c->n_mels, c->n_frames, err);
    if (rc)
        return rc;
    if ((mean == NULL) != (std == NULL))
        return aa_error_set(err, DS_ERR_ARG, "batches: give both mean and std, or neither");
    if (threads < 0)
        return aa_error_set(err, DS_ERR_ARG, "batches: thread count %d is negative", threads);
    for (size_t i = 0; i < n_pool; i++)
        if (pool[i] >= c->n_windows)
            return aa_error_set(err, DS_ERR_ARG, "batches: pool window %zu out of range (%zu windows)", pool[i],
                                c->n_windows);
    if (a.mixup_p > 0 && n_pool == 0)
        return aa_error_set(err, DS_ERR_ARG, "batches: mixup needs a pool of windows to mix with");
    ds_batcher *b = calloc(1, sizeof *b);
    if (!b)
        return aa_error_set(err, DS_ERR_NOMEM, "batches: out of memory");
    b->c = c;
    b->aug = a;
    b->threads = threads;
    b->shift_max = (int)floor(a.shift_max_s * c->dsp.sample_rate / c->dsp.hop_length + 0.5);
    if ((size_t)b->shift_max > c->n_frames)
        b->shift_max = (int)c->n_frames;
    int bg = a.background_class ? -1 : -2;
    for (int k = 0; a.background_class && k < c->n_classes; k++)
        if (!strcmp(c->classes[k], a.background_class))
            bg = k;
    if (mean) {
        b->mean = malloc(c->n_mels * sizeof *b->mean);
        b->std = malloc(c->n_mels * sizeof *b->std);
    }
    b->pool = malloc((n_pool ? n_pool : 1) * sizeof *b->pool);
    b->noise = malloc((n_pool ? n_pool : 1) * sizeof *b->noise);
    b->n_scratch = threads > 0 ? threads : omp_get_max_threads();
    if (a.mixup_p > 0)
        b->scratch = malloc((size_t)b->n_scratch * c->n_mels * c->n_frames * sizeof *b->scratch);
    if (a.warp_p > 0)
        b->warped = malloc((size_t)b->n_scratch * c->n_mels * c->n_frames * sizeof *b->warped);
    if ((mean && (!b->mean || !b->std)) || !b->pool || !b->noise || (a.mixup_p > 0 && !b->scratch) ||
        (a.warp_p > 0 && !b->warped)) {
        ds_batcher_free(b);
        return aa_error_set(err, DS_ERR_NOMEM, "batches: out of memory");
    }
    b->bg_class = bg >= 0 ? bg : -1;
    if (ds_augment_needs_signals(&a)) {
        b->wave = 1;
        if ((a.mix_p > 0 && (rc = ds_wave_pools_make(&b->pools, c, pool, n_pool, b->bg_class, a.mix_classes,
                                                         &a.events, err))) ||
            (rc = ds_wave_tools_make(&b->tools, &c->dsp, &a, b->n_scratch, err))) {
            ds_batcher_free(b);
            return rc;
        }
        if (!(b->remade = malloc((size_t)b->n_scratch * c->n_mels * c->n_frames * sizeof *b->remade))) {
            ds_batcher_free(b);
            return aa_error_set(err, DS_ERR_NOMEM, "batches: out of memory");
        }
    }
    if (mean) {
        memcpy(b->mean, mean, c->n_mels * sizeof *b->mean);
        memcpy(b->std, std, c->n_mels * sizeof *b->std);
    }
    if (n_pool)
        memcpy(b->pool, pool, n_pool * sizeof *pool);
    b->n_pool = n_pool;
    for (size_t i = 0; i < n_pool; i++)
        if (bg >= 0 && c->windows[pool[i]].cls == bg)
            b->noise[b->n_noise++] = pool[i];
    *out = b;
    return 0;
}

void ds_batcher_free(ds_batcher *b)
{
    if (!b)
        return;
    free(b->mean);
    free(b->std);
    free(b->scratch);
    free(b->pool);
    free(b->noise);
    ds_wave_pools_free(&b->pools);
    ds_wave_tools_free(&b->tools);
    free(b->remade);
    free(b->warped);
    free(b);
}

int ds_batcher_has_noise(const ds_batcher *b)
{
    return b->n_noise > 0;
}

static size_t pick(aa_rng *r, size_t n)
{
    /* One draw whatever n is (n may be 0: nothing to pick), so later draws keep their place in the stream. */
    size_t i = (size_t)(aa_rng_uniform_d(r) * (double)n);
    return n && i >= n ? n - 1 : i;
}

void ds_batcher_draw(const ds_batcher *b, size_t w, uint64_t seed, uint64_t epoch, uint64_t index,
                     ds_augment_params *p)
{
    /* The draws depend on the item's place only; w's class says whether a mixture can be made of it. */
    const ds_augment_opts *o = &b->aug;
    const int F = (int)b->c->n_frames, M = (int)b->c->n_mels;
    aa_rng r;
    aa_rng_seed3(&r, seed, epoch, index);
    memset(p, 0, sizeof *p);
    p->lambda = 1;

    double u = aa_rng_uniform_d(&r);
    int s = (int)aa_rng_below(&r, 2 * (uint64_t)b->shift_max + 1) - b->shift_max;
    p->shift = u < o->shift_p ? s : 0;

    u = aa_rng_uniform_d(&r);
    float g = (float)((2 * aa_rng_uniform_d(&r) - 1) * o->gain_db);
    p->gain_db = u < o->gain_p ? g : 0;

    u = aa_rng_uniform_d(&r);
    size_t nw = pick(&r, b->n_noise);
    float snr = (float)(o->snr_min_db + aa_rng_uniform_d(&r) * (o->snr_max_db - o->snr_min_db));
    if (u < o->noise_p && b->n_noise) {
        p->noise = 1;
        p->noise_window = b->noise[nw];
        p->snr_db = snr;
    }

    u = aa_rng_uniform_d(&r);
    int on = u < o->specaug_p;
    for (int k = 0; k < o->time_masks; k++) {
        int width = (int)aa_rng_below(&r, (uint64_t)o->time_mask_max + 1);
        int start = (int)aa_rng_below(&r, (uint64_t)(F - width + 1));
        if (on) {
            p->time_start[k] = start;
            p->time_width[k] = width;
        }
    }
    for (int k = 0; k < o->freq_masks; k++) {
        int width = (int)aa_rng_below(&r, (uint64_t)o->freq_mask_max + 1);
        int start = (int)aa_rng_below(&r, (uint64_t)(M - width + 1));
        if (on) {
            p->freq_start[k] = start;
            p->freq_width[k] = width;
        }
    }
    if (on) {
        p->n_time_masks = o->time_masks;
        p->n_freq_masks = o->freq_masks;
    }

    /* Last: the Beta draw takes a variable number of values. */
    u = aa_rng_uniform_d(&r);
    if (u < o->mixup_p && b->n_pool) {
        size_t mw = pick(&r, b->n_pool);
        double lam = ds_aug_beta(&r, o->mixup_alpha);
        p->mixup = 1;
        p->mix_window = b->pool[mw];
        p->lambda = (float)(lam >= 0.5 ? lam : 1 - lam);
    }

    if (b->wave) {
        /* A window out of range (the fill refuses it) draws as one of no class that can be mixed. */
        int cls = w < b->c->n_windows ? b->c->windows[w].cls : -1;
        aa_rng_seed3(&r, seed ^ WAVE_SALT, epoch, index);
        ds_wave_draw(o, o->mix_p > 0 && cls >= 0 ? &b->pools : NULL, cls, b->bg_class, b->c->dsp.sample_rate, &r,
                     p);
    }

    if (o->warp_p > 0) {
        aa_rng_seed3(&r, seed ^ WARP_SALT, epoch, index);
        u = aa_rng_uniform_d(&r);
        double a = exp((2 * aa_rng_uniform_d(&r) - 1) * log1p(o->warp_freq));
        double t = exp((2 * aa_rng_uniform_d(&r) - 1) * log1p(o->warp_time));
        if (u < o->warp_p) {
            p->warp = 1;
            p->freq_warp = (float)a;
            p->time_stretch = (float)t;
        }
    }
}

/* Item w with parameters p into x: [n_mels][n_frames]; scratch: [n_mels][n_frames] for a mixup partner,
 * warped for the warp; src: the item's feature (the cached one, or the one remade from its waveform). */
static void make_item(const ds_batcher *b, const float *src, const ds_augment_params *p, float *x, float *scratch,
                      float *warped)
{
    const ds_cache *c = b->c;
    const size_t M = c->n_mels, F = c->n_frames, count = M * F;
    if (p->warp) {
        ds_aug_warp(src, warped, &c->dsp, F, p->freq_warp, p->time_stretch);
        src = warped;
    }
    ds_aug_shift(src, x, M, F, p->shift, c->dsp.top_db);
    if (p->gain_db != 0)
        ds_aug_gain(x, count, p->gain_db);
    if (p->noise)
        ds_aug_mix_noise(x, ds_cache_features(c, p->noise_window), count, p->snr_db, c->dsp.top_db);
    if (b->mean)
        dsp_normalise(b->mean, b->std, M, F, x);
    if (p->mixup) {
        const float *y = ds_cache_features(c, p->mix_window);
        if (b->mean) {
            memcpy(scratch, y, count * sizeof *scratch);
            dsp_normalise(b->mean, b->std, M, F, scratch);
            y = scratch;
        }
        const float lam = p->lambda, rest = 1 - p->lambda;
        for (size_t i = 0; i < count; i++)
            x[i] = lam * x[i] + rest * y[i];
    }
    ds_aug_masks(x, M, F, p);
}

int ds_batch_fill(ds_batcher *b, const size_t *idx, size_t n, uint64_t seed, uint64_t epoch, uint64_t first,
                  float *x, int *labels, float *targets, aa_error *err)
{
    const ds_cache *c = b->c;
    for (size_t i = 0; i < n; i++)
        if (idx[i] >= c->n_windows)
            return aa_error_set(err, DS_ERR_ARG, "batches: window %zu out of range (%zu windows)", idx[i],
                                c->n_windows);
    if (b->aug.mixup_p > 0 && !targets)
        return aa_error_set(err, DS_ERR_ARG, "batches: mixup is on, so soft targets are needed");
    const size_t per = c->n_mels * c->n_frames, K = (size_t)c->n_classes;
    const int nt = b->n_scratch;
    /* The first failure in item order is the one reported, whatever the threads met first. */
    size_t failed = n;
    aa_error first_err = {0};
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (size_t i = 0; i < n; i++) {
        ds_augment_params p;
        ds_batcher_draw(b, idx[i], seed, epoch, first + i, &p);
        int t = omp_get_thread_num();
        float *scratch = b->scratch ? b->scratch + (size_t)t * per : NULL;
        const float *src = ds_cache_features(c, idx[i]);
        if (b->wave && ds_wave_any(&p)) {
            aa_error e = {0};
            float *remade = b->remade + (size_t)t * per;
            if (ds_wave_render(c, &b->pools, &b->aug, b->bg_class, &b->tools, t, idx[i], &p, remade, &e)) {
#pragma omp critical(ds_batch_error)
                if (i < failed) {
                    failed = i;
                    first_err = e;
                }
                continue;
            }
            src = remade;
        }
        make_item(b, src, &p, x + i * per, scratch, b->warped ? b->warped + (size_t)t * per : NULL);
        int cls = c->windows[idx[i]].cls;
        if (labels)
            labels[i] = cls;
        if (targets) {
            float *tg = targets + i * K;
            memset(tg, 0, K * sizeof *tg);
            tg[cls] += p.lambda;
            if (p.mixup)
                tg[c->windows[p.mix_window].cls] += 1 - p.lambda;
        }
    }
    if (failed < n)
        return aa_error_set(err, first_err.code ? first_err.code : DS_ERR_ARG, "%s", first_err.msg);
    return 0;
}
