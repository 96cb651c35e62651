/* Log-mel spectrogram, equal to librosa 0.10.1's
 *   power_to_db(melspectrogram(y, sr, n_fft, hop_length, win_length, window='hann', center=True,
 *               pad_mode='constant', power, n_mels, fmin, fmax), ref, amin, top_db)
 * with FFTW's single-precision real-to-complex transform. One object serves many threads: the plan and the
 * filterbank are shared and read-only, each thread slot has its own aligned frame and spectrum buffers
 * (fftwf_execute_dft_r2c on other arrays of the same alignment is FFTW's thread-safe way to reuse a plan). */
#include <fftw3.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/dsp.h"

/* FFTW's planner keeps process-wide tables (wisdom, twiddles) and must not run in two threads at once;
 * this lock serialises every plan creation and destruction dsp_ makes. */
static pthread_mutex_t planner_lock = PTHREAD_MUTEX_INITIALIZER;

/* Frames go through the mel stage BLOCK at a time: with the power spectra of a block stored bin-major, the
 * filterbank is applied to BLOCK frames per weight with contiguous vector loads, and each frame's sum keeps
 * its sequential order (the result does not depend on the vector width). */
#define BLOCK 16

typedef struct {
    float *frame;          /* [n_fft] windowed frame, fftwf_malloc'd */
    fftwf_complex *spec;   /* [n_bins] */
    float *pow;            /* [n_bins][BLOCK] |X|^power of a block of frames, bin-major */
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
            fftwf_free(m->slots[t].frame);
            fftwf_free(m->slots[t].spec);
            free(m->slots[t].pow);
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
        sl->frame = fftwf_malloc(sizeof(float) * (size_t)m->n_fft);
        sl->spec = fftwf_malloc(sizeof(fftwf_complex) * (size_t)m->n_bins);
        sl->pow = calloc((size_t)m->n_bins * BLOCK, sizeof(float));
        if (!sl->frame || !sl->spec || !sl->pow)
            goto nomem;
    }
    pthread_mutex_lock(&planner_lock);
    m->plan = fftwf_plan_dft_r2c_1d(m->n_fft, m->slots[0].frame, m->slots[0].spec, FFTW_ESTIMATE);
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

/* pow[k][j] = |X[k]|^power for frame j of the block. */
static void frame_power(const fftwf_complex *X, int nb, double p, float *pw, int j)
{
    if (p == 2.0) {
        for (int k = 0; k < nb; k++)
            pw[(size_t)k * BLOCK + j] = X[k][0] * X[k][0] + X[k][1] * X[k][1];
    } else if (p == 1.0) {
        for (int k = 0; k < nb; k++)
            pw[(size_t)k * BLOCK + j] = sqrtf(X[k][0] * X[k][0] + X[k][1] * X[k][1]);
    } else {
        for (int k = 0; k < nb; k++)
            pw[(size_t)k * BLOCK + j] = (float)pow(hypot(X[k][0], X[k][1]), p);
    }
}

/* out[mel][t0 + j] for the nj frames of a block. */
static void block_mel(const dsp_logmel *m, const float *pow, float *out, size_t nf, size_t t0, int nj)
{
    for (int k = 0; k < m->n_mels; k++) {
        const float *w = m->run_w + m->run_off[k];
        const float *v = pow + (size_t)m->run_lo[k] * BLOCK;
        float acc[BLOCK] = {0};
        for (int i = 0, len = m->run_len[k]; i < len; i++, v += BLOCK) {
            const float wi = w[i];
#pragma omp simd
            for (int j = 0; j < BLOCK; j++)
                acc[j] += wi * v[j];
        }
        float *o = out + (size_t)k * nf + t0;
        for (int j = 0; j < nj; j++)
            o[j] = acc[j];
    }
}

int dsp_logmel_power(dsp_logmel *m, int slot_i, const float *x, size_t n, float *out, aa_error *err)
{
    if (slot_i < 0 || slot_i >= m->n_threads)
        return aa_error_set(err, DSP_ERR_ARG, "log-mel: thread slot %d out of range (0-%d)", slot_i,
                            m->n_threads - 1);
    size_t nf = dsp_n_frames(&m->s, n);
    if (n == 0 || !x || nf == 0)
        return aa_error_set(err, DSP_ERR_ARG, "log-mel: %zu samples give no frame (n_fft %d)", n, m->n_fft);
    slot *sl = &m->slots[slot_i];
    /* Outside the window the frame stays zero. */
    memset(sl->frame, 0, sizeof(float) * (size_t)m->n_fft);
    long long pad = m->s.center ? m->n_fft / 2 : 0;
    for (size_t t0 = 0; t0 < nf; t0 += BLOCK) {
        int nj = nf - t0 < BLOCK ? (int)(nf - t0) : BLOCK;
        for (int j = 0; j < nj; j++) {
            fill_frame(m, sl->frame, x, n, (long long)(t0 + (size_t)j) * m->hop - pad);
            fftwf_execute_dft_r2c(m->plan, sl->frame, sl->spec);
            frame_power(sl->spec, m->n_bins, m->s.power, sl->pow, j);
        }
        /* Lanes past the last frame hold an earlier block's values: finite, computed, never stored. */
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
