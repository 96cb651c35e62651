/* Direct convolution for one input channel: the first layer, where im2col would build a K = k*k matrix
 * (9 rows for 3x3) and spend more time copying than multiplying. No input gradient: nothing precedes it. */
#include <math.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "nn/nn_kernels.h"

void nn_conv_pad_input(float *pad, const float *in, const nn_conv_dims *d)
{
    const int p = d->pad, pw = d->w + 2 * p;
    memset(pad, 0, sizeof *pad * (size_t)p * pw);
    for (int y = 0; y < d->h; y++) {
        float *r = pad + (size_t)(y + p) * pw;
        memset(r, 0, sizeof *r * (size_t)p);
        memcpy(r + p, in + (size_t)y * d->w, sizeof *r * (size_t)d->w);
        memset(r + p + d->w, 0, sizeof *r * (size_t)p);
    }
    memset(pad + (size_t)(d->h + p) * pw, 0, sizeof *pad * (size_t)p * pw);
}

static void conv1_forward_plain(float *out, const float *pad, const float *wt, const float *bias,
                                const nn_conv_dims *d)
{
    const int k = d->k, pw = d->w + 2 * d->pad, w = d->w;
    for (int co = 0; co < d->c_out; co++)
        for (int y = 0; y < d->h; y++) {
            float *o = out + ((size_t)co * d->h + y) * w;
            const float b = bias ? bias[co] : 0.0f;
            for (int x = 0; x < w; x++)
                o[x] = b;
            for (int ky = 0; ky < k; ky++)
                for (int kx = 0; kx < k; kx++) {
                    const float wv = wt[((size_t)co * k + ky) * k + kx];
                    const float *r = pad + (size_t)(y + ky) * pw + kx;
                    for (int x = 0; x < w; x++)
                        o[x] += wv * r[x];
                }
        }
}

static void conv1_backward_w_plain(float *dwt, const float *dout, const float *pad, const nn_conv_dims *d)
{
    const int k = d->k, pw = d->w + 2 * d->pad, w = d->w;
    for (int co = 0; co < d->c_out; co++)
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) {
                double s = 0;
                for (int y = 0; y < d->h; y++) {
                    const float *g = dout + ((size_t)co * d->h + y) * w;
                    const float *r = pad + (size_t)(y + ky) * pw + kx;
                    float row = 0;
                    for (int x = 0; x < w; x++)
                        row += g[x] * r[x];
                    s += row;
                }
                dwt[((size_t)co * k + ky) * k + kx] = (float)s;
            }
}

#if defined(__x86_64__)
/* Eight output channels at a time: for each 8-pixel chunk, each tap's input vector is loaded once and
 * multiplied into eight accumulators (one per channel). */
__attribute__((target("avx2,fma"))) static void conv1_forward_avx2(float *out, const float *pad, const float *wt,
                                                                   const float *bias, const nn_conv_dims *d)
{
    const int k = d->k, kk = k * k, pw = d->w + 2 * d->pad, w = d->w, h = d->h;
    const int wv = w & ~7;
    for (int c0 = 0; c0 < d->c_out; c0 += 8) {
        const int nc = d->c_out - c0 < 8 ? d->c_out - c0 : 8;
        if (nc < 8) { /* a ragged channel group: the plain loop is fine for it */
            nn_conv_dims dd = *d;
            dd.c_out = nc;
            conv1_forward_plain(out + (size_t)c0 * h * w, pad, wt + (size_t)c0 * kk, bias ? bias + c0 : NULL, &dd);
            continue;
        }
        float b[8];
        for (int c = 0; c < 8; c++)
            b[c] = bias ? bias[c0 + c] : 0.0f;
        const float *wg = wt + (size_t)c0 * kk; /* [8][kk] */
        for (int y = 0; y < h; y++) {
            float *o = out + ((size_t)c0 * h + y) * w;
            const size_t cs = (size_t)h * w; /* channel stride */
            for (int x = 0; x < wv; x += 8) {
                __m256 a0 = _mm256_set1_ps(b[0]), a1 = _mm256_set1_ps(b[1]), a2 = _mm256_set1_ps(b[2]),
                       a3 = _mm256_set1_ps(b[3]), a4 = _mm256_set1_ps(b[4]), a5 = _mm256_set1_ps(b[5]),
                       a6 = _mm256_set1_ps(b[6]), a7 = _mm256_set1_ps(b[7]);
                for (int ky = 0; ky < k; ky++) {
                    const float *r = pad + (size_t)(y + ky) * pw + x;
                    for (int kx = 0; kx < k; kx++) {
                        const __m256 v = _mm256_loadu_ps(r + kx);
                        const float *wk = wg + ky * k + kx;
                        a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(wk + 0 * kk), v, a0);
                        a1 = _mm256_fmadd_ps(_mm256_broadcast_ss(wk + 1 * kk), v, a1);
                        a2 = _mm256_fmadd_ps(_mm256_broadcast_ss(wk + 2 * kk), v, a2);
                        a3 = _mm256_fmadd_ps(_mm256_broadcast_ss(wk + 3 * kk), v, a3);
                        a4 = _mm256_fmadd_ps(_mm256_broadcast_ss(wk + 4 * kk), v, a4);
                        a5 = _mm256_fmadd_ps(_mm256_broadcast_ss(wk + 5 * kk), v, a5);
                        a6 = _mm256_fmadd_ps(_mm256_broadcast_ss(wk + 6 * kk), v, a6);
                        a7 = _mm256_fmadd_ps(_mm256_broadcast_ss(wk + 7 * kk), v, a7);
                    }
                }
                _mm256_storeu_ps(o + 0 * cs + x, a0);
                _mm256_storeu_ps(o + 1 * cs + x, a1);
                _mm256_storeu_ps(o + 2 * cs + x, a2);
                _mm256_storeu_ps(o + 3 * cs + x, a3);
                _mm256_storeu_ps(o + 4 * cs + x, a4);
                _mm256_storeu_ps(o + 5 * cs + x, a5);
                _mm256_storeu_ps(o + 6 * cs + x, a6);
                _mm256_storeu_ps(o + 7 * cs + x, a7);
            }
            for (int c = 0; c < 8; c++) /* the last w % 8 pixels */
                for (int x = wv; x < w; x++) {
                    float s = b[c];
                    for (int ky = 0; ky < k; ky++)
                        for (int kx = 0; kx < k; kx++)
                            s = fmaf(wg[(size_t)c * kk + ky * k + kx], pad[(size_t)(y + ky) * pw + x + kx], s);
                    o[c * cs + x] = s;
                }
        }
    }
}

__attribute__((target("avx2,fma"))) static double hsum256(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* 3x3 kernels (the default): per channel and output row, each gradient vector is loaded once and multiplied
 * with the nine shifted input vectors, nine independent accumulators (fewer leave the FMA latency
 * exposed). Row sums go into doubles. */
__attribute__((target("avx2,fma"))) static void conv1_backward_w3_avx2(float *dwt, const float *dout,
                                                                       const float *pad, const nn_conv_dims *d)
{
    const int pw = d->w + 2 * d->pad, w = d->w, h = d->h, wv = w & ~7;
    for (int co = 0; co < d->c_out; co++) {
        double s[9] = {0};
        for (int y = 0; y < h; y++) {
            const float *g = dout + ((size_t)co * h + y) * w;
            const float *r0 = pad + (size_t)y * pw, *r1 = r0 + pw, *r2 = r1 + pw;
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0;
            for (int x = 0; x < wv; x += 8) {
                const __m256 gv = _mm256_loadu_ps(g + x);
                a0 = _mm256_fmadd_ps(gv, _mm256_loadu_ps(r0 + x), a0);
                a1 = _mm256_fmadd_ps(gv, _mm256_loadu_ps(r0 + x + 1), a1);
                a2 = _mm256_fmadd_ps(gv, _mm256_loadu_ps(r0 + x + 2), a2);
                a3 = _mm256_fmadd_ps(gv, _mm256_loadu_ps(r1 + x), a3);
                a4 = _mm256_fmadd_ps(gv, _mm256_loadu_ps(r1 + x + 1), a4);
                a5 = _mm256_fmadd_ps(gv, _mm256_loadu_ps(r1 + x + 2), a5);
                a6 = _mm256_fmadd_ps(gv, _mm256_loadu_ps(r2 + x), a6);
                a7 = _mm256_fmadd_ps(gv, _mm256_loadu_ps(r2 + x + 1), a7);
                a8 = _mm256_fmadd_ps(gv, _mm256_loadu_ps(r2 + x + 2), a8);
            }
            const __m256 acc[9] = {a0, a1, a2, a3, a4, a5, a6, a7, a8};
            const float *rows[3] = {r0, r1, r2};
            for (int t = 0; t < 9; t++) {
                float tail = 0;
                for (int x = wv; x < w; x++)
                    tail = fmaf(g[x], rows[t / 3][x + t % 3], tail);
                s[t] += hsum256(acc[t]) + tail;
            }
        }
        for (int t = 0; t < 9; t++)
            dwt[(size_t)co * 9 + t] = (float)s[t];
    }
}
#endif

void nn_conv1_forward(float *out, const float *pad, const float *wt, const float *bias, const nn_conv_dims *d)
{
#if defined(__x86_64__)
    if (nn_cpu_avx2()) {
        conv1_forward_avx2(out, pad, wt, bias, d);
        return;
    }
#endif
    conv1_forward_plain(out, pad, wt, bias, d);
}

void nn_conv1_backward_w(float *dwt, const float *dout, const float *pad, const nn_conv_dims *d)
{
#if defined(__x86_64__)
    if (nn_cpu_avx2() && d->k == 3) {
        conv1_backward_w3_avx2(dwt, dout, pad, d);
        return;
    }
#endif
    conv1_backward_w_plain(dwt, dout, pad, d);
}
