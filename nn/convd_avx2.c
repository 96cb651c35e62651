/* AVX2 kernels of the direct convolution (layout: nn/convd.c), for CPUs without AVX-512: the same loops as
 * nn/convd_avx512.c on 8-float vectors and 16 registers. Forward: 4 output channels x 24 positions in 12
 * registers (each packed block of 8 channels in two halves). Weight gradient: 3 output channels x 3 taps (one
 * kernel row at a time) in 9 registers. */
#if defined(__x86_64__)
#include <immintrin.h>

#include "nn/nn_internal.h"

#define AVX2 __attribute__((target("avx2,fma")))
#define IN_REG(v) __asm__("" : "+x"(v))
#define RV 3
#define CHUNK 64

/* Writes the lanes of mask m of v to o[0..popcount(m)), in order. */
AVX2 static void store_lanes(float *o, __m256 v, int m)
{
    if (m == 0xff) {
        _mm256_storeu_ps(o, v);
        return;
    }
    float tmp[8];
    _mm256_storeu_ps(tmp, v);
    for (int i = 0; i < 8; i++)
        if (m >> i & 1)
            *o++ = tmp[i];
}

AVX2 void nn_convd_fwd_avx2(float *out, const float *pad, const float *wb, const float *bias,
                            const nn_conv_dims *d, const nn_pad_geom *g, int y0, int y1)
{
    const int k = d->k, kk = k * k, c_in = d->c_in, c_out = d->c_out, n = y1 * g->ws, w = d->w, ws = g->ws;
    /* out holds rows [y0, y1): channel stride (y1 - y0) w, and the store masks' dense places shifted by y0 w */
    const size_t hw = (size_t)(y1 - y0) * w, plane = g->plane, shift = (size_t)y0 * w;
    int off[NN_MAX_TAPS];
    for (int t = 0; t < kk; t++)
        off[t] = (t / k) * ws + t % k;
    for (int q = y0 * ws, y = y0, x = 0; q < n; q += 8 * RV) {
        size_t start[RV];
        unsigned mk[RV];
        for (int r = 0, yr = y, xr = x; r < RV; r++) {
            mk[r] = nn_convd_store_mask(yr, xr, 8, w, ws, n - q - 8 * r, &start[r]);
            start[r] -= shift;
            for (xr += 8; xr >= ws; xr -= ws)
                yr++;
        }
        for (x += 8 * RV; x >= ws; x -= ws)
            y++;
        for (int c0 = 0; c0 < c_out; c0 += 4) {
            const int nc = c_out - c0 < 4 ? c_out - c0 : 4;
            /* packed blocks hold 8 channels: this half starts at j0 within its block */
            const int j0 = c0 % 8;
            const float *wp = wb + (size_t)(c0 - j0) * c_in * kk + j0;
            __m256 acc[4][RV];
#pragma GCC unroll 4
            for (int j = 0; j < 4; j++)
#pragma GCC unroll 3
                for (int r = 0; r < RV; r++)
                    acc[j][r] = _mm256_setzero_ps();
            for (int ci = 0; ci < c_in; ci++) {
                const float *pin = pad + (size_t)ci * plane + g->base + q;
                for (int t = 0; t < kk; t++, wp += 8) {
                    const float *pi = pin + off[t];
                    __m256 v0 = _mm256_loadu_ps(pi), v1 = _mm256_loadu_ps(pi + 8), v2 = _mm256_loadu_ps(pi + 16);
#pragma GCC unroll 4
                    for (int j = 0; j < 4; j++) {
                        const __m256 b = _mm256_broadcast_ss(wp + j);
                        acc[j][0] = _mm256_fmadd_ps(b, v0, acc[j][0]);
                        acc[j][1] = _mm256_fmadd_ps(b, v1, acc[j][1]);
                        acc[j][2] = _mm256_fmadd_ps(b, v2, acc[j][2]);
                    }
                }
            }
            for (int j = 0; j < nc; j++) {
                float *o = out + (size_t)(c0 + j) * hw;
                const __m256 b = _mm256_set1_ps(bias ? bias[c0 + j] : 0.0f);
                for (int r = 0; r < RV; r++)
                    if (mk[r])
                        store_lanes(o + start[r], bias ? _mm256_add_ps(acc[j][r], b) : acc[j][r], (int)mk[r]);
            }
        }
    }
}

AVX2 static float lane_sum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

AVX2 void nn_convd_bwdw_avx2(float *dwt, const float *dpad, const float *pad, const nn_conv_dims *d,
                             const nn_pad_geom *g)
{
    const int k = d->k, kk = k * k, c_in = d->c_in, c_out = d->c_out, nv = (g->n + 7) / 8;
    const size_t plane = g->plane;
    const float *dy = dpad + g->org;
    for (int t0 = 0; t0 < kk; t0 += 3) {
        const int nt = kk - t0 < 3 ? kk - t0 : 3;
        int off[3];
        for (int t = 0; t < 3; t++) {
            int tt = t0 + (t < nt ? t : 0);
            off[t] = (tt / k) * g->ws + tt % k;
        }
        for (int c0 = 0; c0 < c_out; c0 += 3) {
            const int nc = c_out - c0 < 3 ? c_out - c0 : 3;
            const float *gp[3];
            for (int j = 0; j < 3; j++)
                gp[j] = dy + (size_t)(c0 + (j < nc ? j : 0)) * plane;
            for (int ci = 0; ci < c_in; ci++) {
                const float *x = pad + (size_t)ci * plane + g->base;
                __m256 acc[9], tot[9];
                for (int i = 0; i < 9; i++)
                    tot[i] = _mm256_setzero_ps();
                for (int v0 = 0; v0 < nv; v0 += CHUNK) {
                    const int v1 = v0 + CHUNK < nv ? v0 + CHUNK : nv;
#pragma GCC unroll 9
                    for (int i = 0; i < 9; i++)
                        acc[i] = _mm256_setzero_ps();
                    for (int v = v0; v < v1; v++) {
                        const size_t q = (size_t)v * 8;
                        __m256 g0 = _mm256_loadu_ps(gp[0] + q), g1 = _mm256_loadu_ps(gp[1] + q),
                               g2 = _mm256_loadu_ps(gp[2] + q);
#pragma GCC unroll 3
                        for (int t = 0; t < 3; t++) {
                            __m256 xv = _mm256_loadu_ps(x + q + off[t]);
                            IN_REG(xv);
                            acc[t] = _mm256_fmadd_ps(g0, xv, acc[t]);
                            acc[3 + t] = _mm256_fmadd_ps(g1, xv, acc[3 + t]);
                            acc[6 + t] = _mm256_fmadd_ps(g2, xv, acc[6 + t]);
                        }
                    }
#pragma GCC unroll 9
                    for (int i = 0; i < 9; i++)
                        tot[i] = _mm256_add_ps(tot[i], acc[i]);
                }
                for (int j = 0; j < nc; j++)
                    for (int t = 0; t < nt; t++)
                        dwt[((size_t)(c0 + j) * c_in + ci) * kk + t0 + t] = lane_sum(tot[3 * j + t]);
            }
        }
    }
}
#endif
