/* Synthetic room responses, their RT60 measured back, and linear convolution through FFTW: the simple
 * reverberation of the waveform augmentation. */
#include <fftw3.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/dsp_internal.h"

size_t dsp_room_length(double rt60_s, int rate)
{
    double n = ceil(rt60_s * rate);
    return n > 2 ? (size_t)n : 2;
}

int dsp_room_response(double rt60_s, double drr_db, int rate, aa_rng *r, float *h, size_t n, aa_error *err)
{
    if (!(rt60_s >= 0.01 && rt60_s <= 10) || !(drr_db >= -30 && drr_db <= 60) || n < 2 || rate <= 0)
        return aa_error_set(err, DSP_ERR_ARG, "room response: RT60 %g s (0.01..10), DRR %g dB (-30..60) or %zu "
                            "samples (>= 2) out of range", rt60_s, drr_db, n);
    /* 60 dB of amplitude in rt60 seconds: exp(-k t) with k = 3 ln 10 / rt60. */
    const double k = 3 * M_LN10 / (rt60_s * rate);
    double tail = 0;
    double *t = malloc(n * sizeof *t);
    if (!t)
        return aa_error_set(err, DSP_ERR_NOMEM, "room response: out of memory");
    t[0] = 0;
    for (size_t i = 1; i < n; i++) {
        t[i] = aa_rng_normal(r) * exp(-k * (double)i);
        tail += t[i] * t[i];
    }
    double g = tail > 0 ? sqrt(pow(10, -drr_db / 10) / tail) : 0, direct = 1;
    double total = direct * direct + g * g * tail, s = 1 / sqrt(total);
    h[0] = (float)(direct * s);
    for (size_t i = 1; i < n; i++)
        h[i] = (float)(t[i] * g * s);
    free(t);
    return 0;
}

double dsp_rt60_measure(const float *h, size_t n, int rate)
{
    double *edc = malloc((n ? n : 1) * sizeof *edc), acc = 0;
    if (!edc || !n) {
        free(edc);
        return NAN;
    }
    for (size_t i = n; i-- > 0;) {
        acc += (double)h[i] * h[i];
        edc[i] = acc;
    }
    /* Least squares of dB against seconds over the points between -5 and -25 dB. */
    double sx = 0, sy = 0, sxx = 0, sxy = 0, cnt = 0;
    int reached = 0;
    for (size_t i = 0; i < n; i++) {
        double d = 10 * log10(edc[i] / edc[0]);
        if (d < -25) {
            reached = 1;
            break;
        }
        if (d <= -5) {
            double x = (double)i / rate;
            sx += x;
            sy += d;
            sxx += x * x;
            sxy += x * d;
            cnt++;
        }
    }
    free(edc);
    if (!reached || cnt < 2)
        return NAN;
    double slope = (cnt * sxy - sx * sy) / (cnt * sxx - sx * sx); /* dB per second, < 0 */
    return slope < 0 ? -60 / slope : NAN;
}

typedef struct {
    float *a, *b;                /* [N] */
    fftwf_complex *fa, *fb;      /* [N/2 + 1] */
} conv_slot;

struct dsp_convolver {
    size_t n_signal, n_response, N;
    fftwf_plan fwd, inv;
    int n_threads;
    conv_slot *slots;
};

void dsp_convolver_free(dsp_convolver *c)
{
    if (!c)
        return;
    for (int t = 0; c->slots && t < c->n_threads; t++) {
        fftwf_free(c->slots[t].a);
        fftwf_free(c->slots[t].b);
        fftwf_free(c->slots[t].fa);
        fftwf_free(c->slots[t].fb);
    }
    dsp_planner_lock();
    if (c->fwd)
        fftwf_destroy_plan(c->fwd);
    if (c->inv)
        fftwf_destroy_plan(c->inv);
    dsp_planner_unlock();
    free(c->slots);
    free(c);
}

dsp_convolver *dsp_convolver_new(size_t n_signal, size_t n_response, int n_threads, aa_error *err)
{
    if (!n_signal || !n_response || n_signal > ((size_t)1 << 28) || n_response > ((size_t)1 << 28) ||
        n_threads < 1 || n_threads > 1024) {
        aa_error_set(err, DSP_ERR_ARG, "convolver: %zu signal and %zu response samples, %d threads out of range",
                     n_signal, n_response, n_threads);
        return NULL;
    }
    dsp_convolver *c = calloc(1, sizeof *c);
    if (!c || !(c->slots = calloc((size_t)n_threads, sizeof *c->slots))) {
        free(c);
        aa_error_set(err, DSP_ERR_NOMEM, "convolver: out of memory");
        return NULL;
    }
    c->n_signal = n_signal;
    c->n_response = n_response;
    c->n_threads = n_threads;
    size_t N = 1;
    while (N < n_signal + n_response - 1)
        N *= 2;
    c->N = N;
    for (int t = 0; t < n_threads; t++) {
        conv_slot *s = &c->slots[t];
        s->a = fftwf_malloc(N * sizeof *s->a);
        s->b = fftwf_malloc(N * sizeof *s->b);
        s->fa = fftwf_malloc((N / 2 + 1) * sizeof *s->fa);
        s->fb = fftwf_malloc((N / 2 + 1) * sizeof *s->fb);
        if (!s->a || !s->b || !s->fa || !s->fb) {
            dsp_convolver_free(c);
            aa_error_set(err, DSP_ERR_NOMEM, "convolver: out of memory");
            return NULL;
        }
    }
    dsp_planner_lock();
    c->fwd = fftwf_plan_dft_r2c_1d((int)N, c->slots[0].a, c->slots[0].fa, FFTW_ESTIMATE);
    c->inv = fftwf_plan_dft_c2r_1d((int)N, c->slots[0].fa, c->slots[0].a, FFTW_ESTIMATE);
    dsp_planner_unlock();
    if (!c->fwd || !c->inv) {
        dsp_convolver_free(c);
        aa_error_set(err, DSP_ERR_NOMEM, "convolver: FFTW could not make a plan of %zu points", N);
        return NULL;
    }
    return c;
}

int dsp_convolve(dsp_convolver *c, int slot, const float *x, size_t n, const float *h, size_t m, float *out,
                 aa_error *err)
{
    if (slot < 0 || slot >= c->n_threads || n > c->n_signal || m > c->n_response || !m)
        return aa_error_set(err, DSP_ERR_ARG, "convolver: slot %d, %zu signal or %zu response samples out of range",
                            slot, n, m);
    conv_slot *s = &c->slots[slot];
    const size_t N = c->N;
    memcpy(s->a, x, n * sizeof *x);
    memset(s->a + n, 0, (N - n) * sizeof *s->a);
    memcpy(s->b, h, m * sizeof *h);
    memset(s->b + m, 0, (N - m) * sizeof *s->b);
    fftwf_execute_dft_r2c(c->fwd, s->a, s->fa);
    fftwf_execute_dft_r2c(c->fwd, s->b, s->fb);
    for (size_t k = 0; k <= N / 2; k++) {
        float re = s->fa[k][0] * s->fb[k][0] - s->fa[k][1] * s->fb[k][1];
        float im = s->fa[k][0] * s->fb[k][1] + s->fa[k][1] * s->fb[k][0];
        s->fa[k][0] = re;
        s->fa[k][1] = im;
    }
    fftwf_execute_dft_c2r(c->inv, s->fa, s->a); /* unnormalised: N times the convolution */
    const float scale = 1.0f / (float)N;
    for (size_t i = 0; i < n; i++)
        out[i] = s->a[i] * scale;
    return 0;
}
