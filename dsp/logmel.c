/* Log-mel spectrogram, equal to librosa 0.10.1's
 *   power_to_db(melspectrogram(y, sr, n_fft, hop_length, win_length, window='hann', center=True,
 *               pad_mode='constant', power, n_mels, fmin, fmax), ref, amin, top_db)
 * in single precision with FFTW. One object serves many threads: the plan and the filterbank are shared and
 * read-only, each thread slot has its own aligned buffers (fftwf_execute_split_dft on other arrays of the
 * same alignment is FFTW's thread-safe way to reuse a plan).
 *
 * Two real frames go through one complex FFT (frame a as the real part, frame b as the imaginary part;
 * A[k] = (Z[k] + conj Z[n-k]) / 2, B[k] = (Z[k] - conj Z[n-k]) / 2i), in FFTW's split format so that
 * filling the frames is two straight vector loops. Measured here with FFTW_ESTIMATE plans: 405 ns per pair
 * of 512-sample frames, against 710 ns for each frame through a 512-point r2c plan (whose estimated plan is
 * a poor one; a measured r2c plan takes 470-510 ns but is chosen by timing, so not reproducible). The
 * price: a quiet frame next to a loud one shares its rounding, an absolute error of ~1e-7 of the loud
 * frame's magnitude, i.e. ~1e-14 of its power, far below the 80 dB floor; the librosa fixtures agree as
 * closely as with one r2c per frame. */
#include <fftw3.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/dsp_internal.h"

/* FFTW's planner keeps process-wide tables (wisdom, twiddles) and must not run in two threads at once;
 * this lock serialises every plan creation and destruction dsp_ makes. */
static pthread_mutex_t planner_lock = PTHREAD_MUTEX_INITIALIZER;

void dsp_planner_lock(void)
{
    pthread_mutex_lock(&planner_lock);
}

void dsp_planner_unlock(void)
{
    pthread_mutex_unlock(&planner_lock);
}

/* Frames go through the mel stage BLOCK at a time: with the power spectra of a block stored bin-major, the
 * filterbank is applied to BLOCK frames per weight with contiguous vector loads, and each frame's sum keeps
 * its sequential order (the result does not depend on the vector width). */
#define BLOCK 16

typedef struct {
    float *re, *im;        /* [n_fft] each: frame a, frame b (FFTW's split format), fftwf_malloc'd */
    float *zr, *zi;        /* [n_fft] each: their joint spectrum */
    float *pa, *pb;        /* [n_bins] each: the pair's power spectra, before they join the block */
    float *pow;            /* [n_bins][BLOCK] |X|^power of a block of frames, bin-major */
    float *window;         /* [clip_samples] a window zero-padded past the end of its recording */
    int window_used;       /* window holds samples since the last dsp_logmel_wipe */
} slot;

struct dsp_logmel {
    dsp_settings s;
    int n_fft, n_bins, n_mels, hop;
    float *window;         /* [n_fft] periodic Hann, zero outside the centred win_length */
    int win_lo, win_hi;    /* window[i] may be non-zero only for win_lo <= i < win_hi */
    float *fb;             /* [n_mels][n_bins] dense, as librosa's */
    /* The same filterbank as one run of non-zero weights per mel: a Slaney filter spans a handful of bins,
     * so applying runs costs ~2 multiply-adds per bin instead of n_mels. */
    int *run_lo, *run_len; /* [n_mels] */
    size_t *run_off;       /* [n_mels] offset into run_w */
    float *run_w;
    fftwf_plan plan;
    int n_threads;
    slot *slots;           /* [n_threads] */
};

/* scipy.signal.get_window('hann', n, fftbins=True): general_cosine over linspace(-pi, pi, n + 1), last
 * point dropped; librosa's pad_center puts it in the middle of n_fft. */
static void make_window(float *w, int n_fft, int win, int *lo, int *hi)
{
    int off = (n_fft - win) / 2;
    memset(w, 0, sizeof(float) * (size_t)n_fft);
    double step = 2 * M_PI / win;
    for (int i = 0; i < win; i++)
        w[off + i] = (float)(0.5 + 0.5 * cos(-M_PI + i * step));
    *lo = off;
    *hi = off + win;
}

static int make_runs(dsp_logmel *m)
{
    size_t total = 0;
    m->run_lo = malloc(sizeof(int) * (size_t)m->n_mels);
    m->run_len = malloc(sizeof(int) * (size_t)m->n_mels);
    m->run_off = malloc(sizeof(size_t) * (size_t)m->n_mels);
    if (!m->run_lo || !m->run_len || !m->run_off)
        return -1;
    for (int k = 0; k < m->n_mels; k++) {
        const float *row = m->fb + (size_t)k * m->n_bins;
        int lo = 0, hi = m->n_bins;
        while (lo < hi && row[lo] == 0)
            lo++;
        while (hi > lo && row[hi - 1] == 0)
            hi--;
        m->run_lo[k] = lo;
        m->run_len[k] = hi - lo;
        m->run_off[k] = total;
        total += (size_t)(hi - lo);
    }
    m->run_w = malloc(sizeof(float) * (total ? total : 1));
    if (!m->run_w)
        return -1;
    for (int k = 0; k < m->n_mels; k++)
        memcpy(m->run_w + m->run_off[k], m->fb + (size_t)k * m->n_bins + m->run_lo[k],
               sizeof(float) * (size_t)m->run_len[k]);
    return 0;
}

void dsp_logmel_free(dsp_logmel *m)
{
    if (!m)
        return;
    if (m->slots) {
        for (int t = 0; t < m->n_threads; t++) {
            fftwf_free(m->slots[t].re);
            fftwf_free(m->slots[t].im);
            fftwf_free(m->slots[t].zr);
            fftwf_free(m->slots[t].zi);
            free(m->slots[t].pa);
            free(m->slots[t].pb);
            free(m->slots[t].pow);
            free(m->slots[t].window);
        }
        free(m->slots);
    }
    if (m->plan) {
        pthread_mutex_lock(&planner_lock);
        fftwf_destroy_plan(m->plan);
        pthread_mutex_unlock(&planner_lock);
    }
    free(m->window);
    free(m->fb);
    free(m->run_lo);
    free(m->run_len);
    free(m->run_off);
    free(m->run_w);
    free(m);
}

dsp_logmel *dsp_logmel_new(const dsp_settings *s, int n_threads, aa_error *err)
{
    aa_error sub;
    if (dsp_settings_validate(s, &sub) != 0) {
        aa_error_set(err, DSP_ERR_SETTINGS, "log-mel: %s", sub.msg);
        return NULL;
    }
    if (n_threads < 1 || n_threads > 4096) {
        aa_error_set(err, DSP_ERR_ARG, "log-mel: %d thread slots out of range (1-4096)", n_threads);
        return NULL;
    }
    dsp_logmel *m = calloc(1, sizeof *m);
    if (!m)
        goto nomem;
    m->s = *s;
    m->n_fft = s->n_fft;
    m->n_bins = s->n_fft / 2 + 1;
    m->n_mels = s->n_mels;
    m->hop = s->hop_length;
    m->n_threads = n_threads;
    m->window = malloc(sizeof(float) * (size_t)m->n_fft);
    m->fb = malloc(sizeof(float) * (size_t)m->n_mels * (size_t)m->n_bins);
    m->slots = calloc((size_t)n_threads, sizeof *m->slots);
    if (!m->window || !m->fb || !m->slots)
        goto nomem;
    make_window(m->window, m->n_fft, s->win_length, &m->win_lo, &m->win_hi);
    if (dsp_mel_filterbank(s, m->fb, &sub) != 0) {
        aa_error_set(err, sub.code, "log-mel: %s", sub.msg);
        dsp_logmel_free(m);
        return NULL;
    }
    if (make_runs(m) != 0)
        goto nomem;
    for (int t = 0; t < n_threads; t++) {
        slot *sl = &m->slots[t];
        size_t bytes = sizeof(float) * (size_t)m->n_fft;
        sl->re = fftwf_malloc(bytes);
        sl->im = fftwf_malloc(bytes);
        sl->zr = fftwf_malloc(bytes);
        sl->zi = fftwf_malloc(bytes);
        sl->pa = malloc(sizeof(float) * (size_t)m->n_bins);
        sl->pb = malloc(sizeof(float) * (size_t)m->n_bins);
        sl->pow = calloc((size_t)m->n_bins * BLOCK, sizeof(float));
        /* malloc, not calloc: only a recording shorter than a clip (or a window past its end) touches it */
        sl->window = malloc(dsp_clip_samples(s) * sizeof(float));
        if (!sl->re || !sl->im || !sl->zr || !sl->zi || !sl->pa || !sl->pb || !sl->pow || !sl->window)
            goto nomem;
    }
    pthread_mutex_lock(&planner_lock);
    fftwf_iodim dim = {.n = m->n_fft, .is = 1, .os = 1};
    slot *s0 = &m->slots[0];
    m->plan = fftwf_plan_guru_split_dft(1, &dim, 0, NULL, s0->re, s0->im, s0->zr, s0->zi, FFTW_ESTIMATE);
    pthread_mutex_unlock(&planner_lock);
    if (!m->plan)
        goto nomem;
    aa_error_clear(err);
    return m;
nomem:
    aa_error_set(err, DSP_ERR_NOMEM, "log-mel: out of memory");
    dsp_logmel_free(m);
    return NULL;
}

const dsp_settings *dsp_logmel_settings(const dsp_logmel *m)
{
    return &m->s;
}

int dsp_logmel_n_threads(const dsp_logmel *m)
{
    return m->n_threads;
}

size_t dsp_logmel_size(const dsp_logmel *m, size_t n)
{
    return (size_t)m->n_mels * dsp_n_frames(&m->s, n);
}

const float *dsp_logmel_filterbank(const dsp_logmel *m)
{
    return m->fb;
}

float *dsp_logmel_slot_window(dsp_logmel *m, int slot_i)
{
    if (slot_i < 0 || slot_i >= m->n_threads)
        return NULL;
    m->slots[slot_i].window_used = 1;
    return m->slots[slot_i].window;
}

void dsp_logmel_wipe(dsp_logmel *m, int slot_i)
{
    if (!m || slot_i < 0 || slot_i >= m->n_threads)
        return;
    slot *sl = &m->slots[slot_i];
    size_t nf = (size_t)m->n_fft, nb = (size_t)m->n_bins;
    explicit_bzero(sl->re, nf * sizeof(float));
    explicit_bzero(sl->im, nf * sizeof(float));
    explicit_bzero(sl->zr, nf * sizeof(float));
    explicit_bzero(sl->zi, nf * sizeof(float));
    explicit_bzero(sl->pa, nb * sizeof(float));
    explicit_bzero(sl->pb, nb * sizeof(float));
    explicit_bzero(sl->pow, nb * BLOCK * sizeof(float));
    /* Untouched, its pages need not be made resident just to be cleared. */
    if (sl->window_used)
        explicit_bzero(sl->window, dsp_clip_samples(&m->s) * sizeof(float));
    sl->window_used = 0;
}

/* frame = window * x[start .. start + n_fft), zeros outside x (librosa's constant padding). */
static void fill_frame(const dsp_logmel *m, float *frame, const float *x, size_t n, long long start)
{
    const float *w = m->window;
    int lo = m->win_lo, hi = m->win_hi;
    if (start + lo >= 0 && start + hi <= (long long)n) {
        const float *src = x + start;
#pragma omp simd
        for (int i = lo; i < hi; i++)
            frame[i] = w[i] * src[i];
    } else {
        for (int i = lo; i < hi; i++) {
            long long j = start + i;
            frame[i] = j >= 0 && j < (long long)n ? w[i] * x[j] : 0.0f;
        }
    }
}

/* Separates the joint spectrum Z = zr + i zi of frames a (real input) and b (imaginary input) into
 * pw[k][j] and pw[k][j + 1]: |A[k]|^2 = |Z[k] + conj Z[n-k]|^2 / 4, |B[k]|^2 = |Z[k] - conj Z[n-k]|^2 / 4.
 * The arithmetic runs as a vector loop into pa/pb; the scatter into the bin-major block is a copy. */
static void pair_power(const slot *sl, int n_fft, int nb, double p, int j)
{
    const float *zr = sl->zr, *zi = sl->zi;
    float *pa = sl->pa, *pb = sl->pb;
    pa[0] = zr[0] * zr[0];
    pb[0] = zi[0] * zi[0];
#pragma omp simd
    for (int k = 1; k < nb; k++) {
        int r = n_fft - k;
        float ar = zr[k] + zr[r], ai = zi[k] - zi[r], br = zi[k] + zi[r], bi = zr[k] - zr[r];
        pa[k] = 0.25f * (ar * ar + ai * ai);
        pb[k] = 0.25f * (br * br + bi * bi);
    }
    if (p != 2.0)
        for (int k = 0; k < nb; k++) {
            pa[k] = p == 1.0 ? sqrtf(pa[k]) : (float)pow(sqrt(pa[k]), p);
            pb[k] = p == 1.0 ? sqrtf(pb[k]) : (float)pow(sqrt(pb[k]), p);
        }
    float *pw = sl->pow + j;
    for (int k = 0; k < nb; k++, pw += BLOCK) {
        pw[0] = pa[k];
        pw[1] = pb[k];
    }
}

/* Four float lanes (SSE on any x86-64, NEON on arm64): the mel accumulators stay in registers. */
typedef float v4f __attribute__((vector_size(16)));

/* out[mel][t0 + j] for the nj frames of a block: lanes are frames, so each frame's sum runs over its bins
 * in order, exactly as a scalar loop would add them. */
static void block_mel(const dsp_logmel *m, const float *pow_blk, float *out, size_t nf, size_t t0, int nj)
{
    for (int k = 0; k < m->n_mels; k++) {
        const float *w = m->run_w + m->run_off[k];
        const float *v = pow_blk + (size_t)m->run_lo[k] * BLOCK;
        v4f a0 = {0, 0, 0, 0}, a1 = a0, a2 = a0, a3 = a0;
        for (int i = 0, len = m->run_len[k]; i < len; i++, v += BLOCK) {
            v4f wi = {w[i], w[i], w[i], w[i]}, x0, x1, x2, x3;
            memcpy(&x0, v, sizeof x0);
            memcpy(&x1, v + 4, sizeof x1);
            memcpy(&x2, v + 8, sizeof x2);
            memcpy(&x3, v + 12, sizeof x3);
            a0 += wi * x0, a1 += wi * x1, a2 += wi * x2, a3 += wi * x3;
        }
        float acc[BLOCK];
        memcpy(acc, &a0, sizeof a0);
        memcpy(acc + 4, &a1, sizeof a1);
        memcpy(acc + 8, &a2, sizeof a2);
        memcpy(acc + 12, &a3, sizeof a3);
        memcpy(out + (size_t)k * nf + t0, acc, sizeof(float) * (size_t)nj);
    }
}

/* Built twice, for AVX2 and for plain x86-64, and chosen at load time (as dsp_power_to_db in dsp/db.c):
 * the vector loops here are element-wise, so both builds give the same bits. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
__attribute__((target_clones("avx2", "default")))
#endif
int dsp_logmel_power(dsp_logmel *m, int slot_i, const float *x, size_t n, float *out, aa_error *err)
{
    if (slot_i < 0 || slot_i >= m->n_threads)
        return aa_error_set(err, DSP_ERR_ARG, "log-mel: thread slot %d out of range (0-%d)", slot_i,
                            m->n_threads - 1);
    size_t nf = dsp_n_frames(&m->s, n);
    if (n == 0 || !x || nf == 0)
        return aa_error_set(err, DSP_ERR_ARG, "log-mel: %zu samples give no frame (n_fft %d)", n, m->n_fft);
    slot *sl = &m->slots[slot_i];
    /* Outside the window the frames stay zero. */
    memset(sl->re, 0, sizeof(float) * (size_t)m->n_fft);
    memset(sl->im, 0, sizeof(float) * (size_t)m->n_fft);
    long long pad = m->s.center ? m->n_fft / 2 : 0;
    for (size_t t0 = 0; t0 < nf; t0 += BLOCK) {
        int nj = nf - t0 < BLOCK ? (int)(nf - t0) : BLOCK;
        for (int j = 0; j < nj; j += 2) {
            long long start = (long long)(t0 + (size_t)j) * m->hop - pad;
            fill_frame(m, sl->re, x, n, start);
            if (j + 1 < nj)
                fill_frame(m, sl->im, x, n, start + m->hop);
            else
                memset(sl->im, 0, sizeof(float) * (size_t)m->n_fft);
            fftwf_execute_split_dft(m->plan, sl->re, sl->im, sl->zr, sl->zi);
            pair_power(sl, m->n_fft, m->n_bins, m->s.power, j);
        }
        /* Lanes past the last frame hold an earlier block's values (or the zero frame's): finite, computed,
         * never stored. */
        block_mel(m, sl->pow, out, nf, t0, nj);
    }
    aa_error_clear(err);
    return 0;
}

int dsp_logmel_compute(dsp_logmel *m, int slot_i, const float *x, size_t n, float *out, aa_error *err)
{
    int e = dsp_logmel_power(m, slot_i, x, n, out, err);
    if (e)
        return e;
    dsp_power_to_db(&m->s, out, dsp_logmel_size(m, n));
    return 0;
}
