/* The dataset audit's findings (train/audit.h): per-class facts, same-audio pairs, groups and classes.
 *
 * Same audio. Identical decoded signals are found by a hash of their samples (and confirmed sample for
 * sample). Everything else is found by a spectral fingerprint in the manner of Haitsma and Kalker's:
 * frames of 128 ms every 16 ms, 33 mel bands from 300 to 3000 Hz, and for each frame 32 bits, bit m set
 * when the log-energy difference of bands m and m+1 grew since the previous frame. The bits survive
 * re-encoding, resampling and a change of level (they compare bands with each other), and a cut copy
 * has the same bits from where it was cut, up to half a hop of misalignment. Frames more than 40 dB below
 * a file's loudest are left out: the bits of silence are noise. Candidate pairs are the files that share
 * exact 32-bit values at a consistent time offset (at least 5 such frames); each candidate is then
 * compared frame by frame at that offset, and the stretch where a 0.5 s moving average of the differing
 * bits stays below 0.3 is the audio they share (random pairs differ in half the bits, so the average of
 * 31 frames sits at 0.50 +- 0.02). What it does not find: audio changed in pitch or speed, heavily
 * filtered or mixed with other sounds; stretches shorter than 1 s. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "train/audit.h"

#define FP_BANDS 33
#define FP_MIN_VOTES 5
#define FP_RUN_MAX 32       /* a value shared by more frames than this says nothing about any pair */
#define FP_SMOOTH 31        /* frames in the moving average of differing bits: 0.5 s */
#define FP_MATCH 0.30       /* largest moving average inside a shared stretch */
#define FP_LIVE_DB 40.0     /* frames further below the file's loudest are not fingerprinted */
#define FP_VOTES_MAX ((size_t)1 << 26)
#define SAME_COVER 0.9

typedef struct {
    uint32_t *bits; /* [n] */
    unsigned char *live;
    size_t n, n_live;
    uint64_t hash;
} fingerprint;

typedef struct {
    uint32_t value, file, frame;
} fp_entry;

typedef struct {
    uint32_t a, b;
    int32_t dt;
} fp_vote;

static int nomem(aa_error *err)
{
    return aa_error_set(err, AA_ERR_NOMEM, "audit: out of memory");
}

static uint64_t hash_samples(const float *x, size_t n)
{
    return aa_fnv1a(AA_FNV1A_INIT, x, n * sizeof *x) ^ n;
}

/* The fingerprint's front end at the signal's rate. */
static dsp_settings fp_settings(const dsp_settings *s)
{
    dsp_settings f = *s;
    int n_fft = 256;
    while (n_fft < 0.128 * s->sample_rate)
        n_fft *= 2;
    f.n_fft = f.win_length = n_fft;
    f.hop_length = (int)lround(0.016 * s->sample_rate);
    f.center = 1;
    f.n_mels = FP_BANDS;
    f.fmin = 300;
    f.fmax = fmin(3000, 0.45 * s->sample_rate);
    f.power = 2;
    f.clip_seconds = fmax(s->clip_seconds, 2.0 * n_fft / s->sample_rate);
    return f;
}

static int fingerprint_one(dsp_logmel *lm, int slot, const float *x, size_t n, fingerprint *fp, aa_error *err)
{
    const dsp_settings *s = dsp_logmel_settings(lm);
    size_t frames = dsp_n_frames(s, n);
    float *p = malloc(dsp_logmel_size(lm, n) * sizeof *p);
    double *energy = malloc((frames ? frames : 1) * sizeof *energy);
    fp->bits = calloc(frames ? frames : 1, sizeof *fp->bits);
    fp->live = calloc(frames ? frames : 1, 1);
    int rc = 0;
    if (!p || !energy || !fp->bits || !fp->live) {
        rc = nomem(err);
        goto done;
    }
    if ((rc = dsp_logmel_power(lm, slot, x, n, p, err)))
        goto done;
    double loudest = 0;
    for (size_t t = 0; t < frames; t++) {
        double e = 0;
        for (int m = 0; m < FP_BANDS; m++) {
            e += p[(size_t)m * frames + t];
            /* log energies in place: the bits compare bands with each other */
            p[(size_t)m * frames + t] = log10f(p[(size_t)m * frames + t] + 1e-20f);
        }
        energy[t] = e;
        loudest = e > loudest ? e : loudest;
    }
    double floor_e = loudest * pow(10, -FP_LIVE_DB / 10);
    fp->n = frames;
    for (size_t t = 1; t < frames; t++) {
        if (!(energy[t] > floor_e && energy[t - 1] > floor_e && energy[t] > 1e-12))
            continue;
        uint32_t v = 0;
        for (int m = 0; m < FP_BANDS - 1; m++) {
            float now = p[(size_t)m * frames + t] - p[(size_t)(m + 1) * frames + t];
            float before = p[(size_t)m * frames + t - 1] - p[(size_t)(m + 1) * frames + t - 1];
            v |= (uint32_t)(now - before > 0) << m;
        }
        fp->bits[t] = v;
        fp->live[t] = 1;
        fp->n_live++;
    }
done:
    free(p);
    free(energy);
    return rc;
}

static int cmp_entry(const void *x, const void *y)
{
    const fp_entry *a = x, *b = y;
    if (a->value != b->value)
        return a->value < b->value ? -1 : 1;
    if (a->file != b->file)
        return a->file < b->file ? -1 : 1;
    return a->frame < b->frame ? -1 : a->frame > b->frame;
}

static int cmp_vote(const void *x, const void *y)
{
    const fp_vote *a = x, *b = y;
    if (a->a != b->a)
        return a->a < b->a ? -1 : 1;
    if (a->b != b->b)
        return a->b < b->b ? -1 : 1;
    return a->dt < b->dt ? -1 : a->dt > b->dt;
}

static int cmp_same(const void *x, const void *y)
{
    const tr_same *a = x, *b = y;
    if (a->a != b->a)
        return a->a < b->a ? -1 : 1;
    return a->b < b->b ? -1 : a->b > b->b;
}

typedef struct {
    size_t frames, matched_live, first;
    double bit_errors;
} stretch;

/* The longest stretch where files a and b (b shifted by dt frames) agree; frames live in both only. */
static stretch compare_at(const fingerprint *fa, const fingerprint *fb, long dt)
{
    stretch best = {0};
    long lo = dt < 0 ? -dt : 0, hi = (long)fa->n < (long)fb->n - dt ? (long)fa->n : (long)fb->n - dt;
    if (hi <= lo)
        return best;
    size_t cap = (size_t)(hi - lo), n = 0;
    long *at = malloc(cap * sizeof *at);
    float *err = malloc(cap * sizeof *err);
    if (!at || !err) {
        free(at), free(err);
        return best;
    }
    for (long t = lo; t < hi; t++)
        if (fa->live[t] && fb->live[t + dt]) {
            at[n] = t;
            err[n++] = (float)__builtin_popcount(fa->bits[t] ^ fb->bits[t + dt]) / 32.0f;
        }
    /* runs of frames whose centred moving average is below FP_MATCH */
    size_t half = FP_SMOOTH / 2, run_start = 0, in_run = 0;
    double sum = 0;
    for (size_t i = 0; i < n && i < half; i++)
        sum += err[i];
    size_t w_lo = 0, w_hi = 0; /* the window [w_lo, w_hi) currently summed */
    w_hi = n < half ? n : half;
    for (size_t i = 0; i <= n; i++) {
        int match = 0;
        if (i < n) {
            size_t want_hi = i + half + 1 < n ? i + half + 1 : n, want_lo = i > half ? i - half : 0;
            while (w_hi < want_hi)
                sum += err[w_hi++];
            while (w_lo < want_lo)
                sum -= err[w_lo++];
            match = sum / (double)(w_hi - w_lo) < FP_MATCH;
        }
        if (match && !in_run) {
            run_start = i;
            in_run = 1;
        } else if (!match && in_run) {
            in_run = 0;
            size_t frames = (size_t)(at[i - 1] - at[run_start] + 1);
            if (frames > best.frames) {
                double e = 0;
                for (size_t j = run_start; j < i; j++)
                    e += err[j];
                best = (stretch){frames, i - run_start, (size_t)at[run_start], e / (double)(i - run_start)};
            }
        }
    }
    free(at);
    free(err);
    return best;
}

static int add_same(tr_audit *a, size_t *cap, tr_same s, aa_error *err)
{
    if (a->n_same == *cap) {
        size_t c = *cap ? 2 * *cap : 16;
        tr_same *p = realloc(a->same, c * sizeof *p);
        if (!p)
            return nomem(err);
        a->same = p;
        *cap = c;
    }
    a->same[a->n_same++] = s;
    return 0;
}

/* Identical signals: equal hash, length and samples. */
static int find_exact(tr_audit *a, const ds_cache *c, const fingerprint *fp, size_t *cap, unsigned char *exact_of,
                      aa_error *err)
{
    for (size_t i = 0; i < c->n_files; i++) {
        if (!c->signal[i] || exact_of[i])
            continue;
        for (size_t j = i + 1; j < c->n_files; j++)
            if (c->signal[j] && fp[j].hash == fp[i].hash && c->files[j].n_samples == c->files[i].n_samples &&
                !memcmp(c->signal[i], c->signal[j], c->files[i].n_samples * sizeof(float))) {
                exact_of[j] = 1;
                double secs = (double)c->files[i].n_samples / c->dsp.sample_rate;
                int rc = add_same(a, cap, (tr_same){i, j, TR_SAME_EXACT, secs, 0, 0}, err);
                if (rc)
                    return rc;
            }
    }
    return 0;
}

/* Candidate pairs by shared values at one offset, then each compared at that offset. */
static int find_similar(tr_audit *a, const ds_cache *c, const fingerprint *fp, double hop_s, size_t *cap,
                        const unsigned char *exact_of, aa_error *err)
{
    size_t n_entries = 0;
    for (size_t f = 0; f < c->n_files; f++)
        n_entries += exact_of[f] ? 0 : fp[f].n_live;
    if (n_entries < 2)
        return 0;
    fp_entry *e = malloc(n_entries * sizeof *e);
    if (!e)
        return nomem(err);
    size_t k = 0;
    for (size_t f = 0; f < c->n_files; f++)
        for (size_t t = 0; t < fp[f].n && !exact_of[f]; t++)
            if (fp[f].live[t])
                e[k++] = (fp_entry){fp[f].bits[t], (uint32_t)f, (uint32_t)t};
    qsort(e, k, sizeof *e, cmp_entry);
    size_t n_votes = 0, cap_votes = 1024;
    fp_vote *v = malloc(cap_votes * sizeof *v);
    int rc = 0;
    if (!v) {
        free(e);
        return nomem(err);
    }
    for (size_t i = 0; i < k;) {
        size_t j = i;
        while (j < k && e[j].value == e[i].value)
            j++;
        if (j - i <= FP_RUN_MAX)
            for (size_t p = i; p < j; p++)
                for (size_t q = p + 1; q < j; q++) {
                    if (e[p].file == e[q].file)
                        continue;
                    if (n_votes == cap_votes) {
                        if (cap_votes >= FP_VOTES_MAX)
                            goto votes_done;
                        fp_vote *nv = realloc(v, 2 * cap_votes * sizeof *v);
                        if (!nv) {
                            rc = nomem(err);
                            goto done;
                        }
                        v = nv;
                        cap_votes *= 2;
                    }
                    /* entries are sorted by file within a value: p's file < q's */
                    v[n_votes++] = (fp_vote){e[p].file, e[q].file, (int32_t)e[q].frame - (int32_t)e[p].frame};
                }
        i = j;
    }
votes_done:
    qsort(v, n_votes, sizeof *v, cmp_vote);
    for (size_t i = 0; i < n_votes;) {
        size_t j = i;
        while (j < n_votes && v[j].a == v[i].a && v[j].b == v[i].b)
            j++;
        /* the offset with the most votes, counting its neighbours (half a hop of misalignment) */
        size_t best = 0;
        int32_t best_dt = 0;
        for (size_t p = i; p < j; p++) {
            size_t votes = 0;
            for (size_t q = p; q > i && v[q - 1].dt >= v[p].dt - 1; q--)
                votes++;
            for (size_t q = p; q < j && v[q].dt <= v[p].dt + 1; q++)
                votes++;
            if (votes > best)
                best = votes, best_dt = v[p].dt;
        }
        if (best >= FP_MIN_VOTES) {
            const fingerprint *fa = &fp[v[i].a], *fb = &fp[v[i].b];
            stretch s = {0};
            long at_dt = best_dt;
            for (long d = best_dt - 1; d <= best_dt + 1; d++) {
                stretch t = compare_at(fa, fb, d);
                if (t.frames > s.frames)
                    s = t, at_dt = d;
            }
            size_t shorter = fa->n_live < fb->n_live ? fa->n_live : fb->n_live;
            double secs = (double)s.frames * hop_s;
            double cover_a = fa->n_live ? (double)s.matched_live / fa->n_live : 0;
            double cover_b = fb->n_live ? (double)s.matched_live / fb->n_live : 0;
            double cover_short = shorter ? (double)s.matched_live / shorter : 0;
            if (s.frames >= 8 && (secs >= 1.0 || cover_short >= SAME_COVER)) {
                tr_same_kind kind = cover_a >= SAME_COVER && cover_b >= SAME_COVER ? TR_SAME_WHOLE
                                    : cover_short >= SAME_COVER                    ? TR_SAME_CUT
                                                                                   : TR_SAME_PART;
                if ((rc = add_same(a, cap, (tr_same){v[i].a, v[i].b, kind, secs, (double)at_dt * hop_s, s.bit_errors},
                                   err)))
                    goto done;
            }
        }
        i = j;
    }
done:
    free(v);
    free(e);
    return rc;
}

static int fingerprints(const ds_cache *c, const dsp_settings *s, int threads, fingerprint *fp, aa_error *err)
{
    dsp_settings fs = fp_settings(s);
    int rc = dsp_settings_validate(&fs, err);
    if (rc)
        return rc;
    int nt = threads > 0 ? threads : omp_get_max_threads();
    dsp_logmel *lm = dsp_logmel_new(&fs, nt, err);
    if (!lm)
        return err->code ? err->code : nomem(err);
    int failed = 0;
    aa_error first = {0};
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
    for (size_t f = 0; f < c->n_files; f++) {
        if (!c->signal[f] || failed)
            continue;
        aa_error e = {0};
        fp[f].hash = hash_samples(c->signal[f], c->files[f].n_samples);
        if (fingerprint_one(lm, omp_get_thread_num(), c->signal[f], c->files[f].n_samples, &fp[f], &e)) {
#pragma omp critical(audit_error)
            if (!failed) {
                failed = 1;
                first = e;
            }
        }
    }
    dsp_logmel_free(lm);
    if (failed) {
        *err = first;
        return first.code ? first.code : AA_ERR_NOMEM;
    }
    return 0;
}

/* ---- per class ------------------------------------------------------------------------------------------- */

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

static void count_rate(tr_audit_class *pc, int rate)
{
    for (int i = 0; i < pc->n_rates; i++)
        if (pc->rates[i] == rate) {
            pc->rate_files[i]++;
            /* most frequent first */
            for (int j = i; j > 0 && pc->rate_files[j] > pc->rate_files[j - 1]; j--) {
                int r = pc->rates[j];
                size_t n = pc->rate_files[j];
                pc->rates[j] = pc->rates[j - 1], pc->rate_files[j] = pc->rate_files[j - 1];
                pc->rates[j - 1] = r, pc->rate_files[j - 1] = n;
            }
            return;
        }
    if (pc->n_rates < 8) {
        pc->rates[pc->n_rates] = rate;
        pc->rate_files[pc->n_rates++] = 1;
    } else {
        pc->rate_other++;
    }
}

static int per_file(tr_audit *a, const ds_list *l, const ds_cache *c, const dsp_settings *s)
{
    for (size_t f = 0; f < c->n_files; f++) {
        a->verdict[f] = -1;
        if (c->signal[f]) {
            dsp_stats st;
            dsp_stats_compute(c->signal[f], c->files[f].n_samples, c->dsp.sample_rate, &st);
            a->verdict[f] = (int)am_quality_of(&st).verdict;
        }
        aa_error e = {0};
        dsp_reader *r = f < l->n_items ? dsp_reader_open(l->items[f].path, s, &e) : NULL;
        if (r) {
            a->rate[f] = dsp_reader_source(r)->rate;
            a->channels[f] = dsp_reader_source(r)->channels;
            dsp_reader_close(r);
        }
    }
    return 0;
}

static int per_class(tr_audit *a, const ds_cache *c)
{
    double *secs = malloc((c->n_files ? c->n_files : 1) * sizeof *secs);
    unsigned char *seen = calloc(c->n_groups ? c->n_groups : 1, (size_t)a->k);
    if (!secs || !seen) {
        free(secs), free(seen);
        return AA_ERR_NOMEM;
    }
    for (int k = 0; k < a->k; k++) {
        tr_audit_class *pc = &a->per_class[k];
        size_t n = 0;
        for (size_t f = 0; f < c->n_files; f++) {
            const ds_cache_file *cf = &c->files[f];
            if (cf->cls != k)
                continue;
            pc->files++;
            if (!seen[cf->group * (size_t)a->k + (size_t)k]) {
                seen[cf->group * (size_t)a->k + (size_t)k] = 1;
                pc->groups++;
            }
            int side = tr_audit_side(a, f);
            if (side >= 0 && side < DS_N_SIDES)
                pc->sides[side]++;
            if (a->rate[f]) {
                count_rate(pc, a->rate[f]);
                pc->mono += a->channels[f] == 1;
                pc->stereo += a->channels[f] == 2;
                pc->more_channels += a->channels[f] > 2;
            }
            if (cf->status || !cf->n_samples)
                continue;
            pc->decoded++;
            secs[n++] = (double)cf->n_samples / c->dsp.sample_rate;
            if (a->verdict[f] >= 0 && a->verdict[f] < 4)
                pc->verdicts[a->verdict[f]]++;
        }
        qsort(secs, n, sizeof *secs, cmp_double);
        for (size_t i = 0; i < n; i++)
            pc->seconds += secs[i];
        if (n) {
            pc->min_s = secs[0];
            pc->max_s = secs[n - 1];
            pc->median_s = n % 2 ? secs[n / 2] : 0.5 * (secs[n / 2 - 1] + secs[n / 2]);
        }
    }
    /* groups in more than one class, and classes with fewer groups than sides */
    a->spanning = malloc((c->n_groups ? c->n_groups : 1) * sizeof *a->spanning);
    a->small = malloc((size_t)(a->k ? a->k : 1) * sizeof *a->small);
    int rc = a->spanning && a->small ? 0 : AA_ERR_NOMEM;
    for (size_t g = 0; !rc && g < c->n_groups; g++) {
        int classes = 0;
        for (int k = 0; k < a->k; k++)
            classes += seen[g * (size_t)a->k + (size_t)k];
        if (classes > 1)
            a->spanning[a->n_spanning++] = g;
    }
    for (int k = 0; !rc && k < a->k; k++)
        if (a->per_class[k].groups < (size_t)a->sides_needed)
            a->small[a->n_small++] = k;
    free(secs);
    free(seen);
    return rc;
}

int tr_audit_side(const tr_audit *a, size_t f)
{
    return a->split && f < a->split->n_items ? a->split->side[f] : DS_SIDE_NONE;
}

int tr_audit_run(const ds_list *l, const ds_cache *c, const ds_split *sp, const dsp_settings *s, int sides_needed,
                 int threads, tr_audit **out, aa_error *err)
{
    *out = NULL;
    double t0 = aa_now();
    tr_audit *a = calloc(1, sizeof *a);
    if (!a)
        return nomem(err);
    a->list = l;
    a->cache = c;
    a->split = sp;
    a->k = c->n_classes;
    a->n_files = c->n_files;
    a->sides_needed = sides_needed;
    size_t nf = c->n_files ? c->n_files : 1, cap = 0;
    a->per_class = calloc((size_t)(a->k ? a->k : 1), sizeof *a->per_class);
    a->rate = calloc(nf, sizeof *a->rate);
    a->channels = calloc(nf, sizeof *a->channels);
    a->verdict = calloc(nf, sizeof *a->verdict);
    fingerprint *fp = calloc(nf, sizeof *fp);
    unsigned char *exact_of = calloc(nf, 1);
    int rc = 0;
    if (!a->per_class || !a->rate || !a->channels || !a->verdict || !fp || !exact_of)
        rc = nomem(err);
    if (!rc)
        rc = per_file(a, l, c, s);
    if (!rc && (rc = per_class(a, c)))
        nomem(err);
    if (!rc)
        rc = fingerprints(c, s, threads, fp, err);
    if (!rc)
        rc = find_exact(a, c, fp, &cap, exact_of, err);
    if (!rc)
        rc = find_similar(a, c, fp, (double)fp_settings(s).hop_length / s->sample_rate, &cap, exact_of, err);
    if (!rc && a->n_same)
        qsort(a->same, a->n_same, sizeof *a->same, cmp_same);
    for (size_t f = 0; f < c->n_files; f++) {
        free(fp[f].bits);
        free(fp[f].live);
    }
    free(fp);
    free(exact_of);
    if (rc) {
        tr_audit_free(a);
        return rc;
    }
    a->seconds = aa_now() - t0;
    *out = a;
    return 0;
}

void tr_audit_free(tr_audit *a)
{
    if (!a)
        return;
    free(a->per_class);
    free(a->rate);
    free(a->channels);
    free(a->verdict);
    free(a->same);
    free(a->spanning);
    free(a->small);
    free(a);
}
