/* AVX-512 kernels of the direct convolution (layout: nn/convd.c).
 *
 * Forward: 8 output channels x 48 positions in 24 registers; per input channel and tap, three input vectors
 * (the plane shifted by the tap) and eight broadcast weights feed 24 FMAs, so the FMA units, not the loads,
 * set the pace. Weight gradient: 3 output channels x 9 taps in 27 registers; per 16 positions three gradient
 * vectors and nine shifted input vectors feed 27 FMAs; the 16 lanes are summed at the end. */
#if defined(__x86_64__)
#include <immintrin.h>

#include "nn/nn_internal.h"

#define AVX512 __attribute__((target("avx512f,avx2,fma")))

/* Keeps a loaded vector in a register: without this GCC folds the load into each of the FMAs that use it,
 * reading the same (cache-line-splitting) address three times. */
#define IN_REG(v) __asm__("" : "+v"(v))

/* Blocks of output positions and the float chunk of the weight gradient's lane sums (vectors). */
#define RV 3
#define CHUNK 32

AVX512 void nn_convd_fwd_avx512(float *out, const float *pad, const float *wb, const float *bias,
                                const nn_conv_dims *d, const nn_pad_geom *g)
{
    const int k = d->k, kk = k * k, c_in = d->c_in, c_out = d->c_out, n = g->n;
    const size_t hw = (size_t)d->h * d->w, plane = g->plane;
    int off[NN_MAX_TAPS];
    for (int t = 0; t < kk; t++)
        off[t] = (t / k) * g->ws + t % k;
    for (int c0 = 0; c0 < c_out; c0 += 8) {
        const int nc = c_out - c0 < 8 ? c_out - c0 : 8;
        const float *wblk = wb + (size_t)c0 * c_in * kk; /* [c_in][kk][8] */
        for (int q = 0; q < n; q += 16 * RV) {
            __m512 acc[8][RV];
#pragma GCC unroll 8
            for (int j = 0; j < 8; j++)
#pragma GCC unroll 3
                for (int r = 0; r < RV; r++)
                    acc[j][r] = _mm512_setzero_ps();
            const float *wp = wblk;
            for (int ci = 0; ci < c_in; ci++) {
                const float *pin = pad + (size_t)ci * plane + q;
                for (int t = 0; t < kk; t++, wp += 8) {
                    const float *pi = pin + off[t];
                    __m512 v0 = _mm512_loadu_ps(pi), v1 = _mm512_loadu_ps(pi + 16), v2 = _mm512_loadu_ps(pi + 32);
#pragma GCC unroll 8
                    for (int j = 0; j < 8; j++) {
                        const __m512 b = _mm512_set1_ps(wp[j]);
                        acc[j][0] = _mm512_fmadd_ps(b, v0, acc[j][0]);
                        acc[j][1] = _mm512_fmadd_ps(b, v1, acc[j][1]);
                        acc[j][2] = _mm512_fmadd_ps(b, v2, acc[j][2]);
                    }
                }
            }
            size_t start[RV];
            __mmask16 mk[RV];
            for (int r = 0; r < RV; r++)
                mk[r] = (__mmask16)(q + 16 * r < n ? nn_convd_store_mask(q + 16 * r, 16, d, g, &start[r]) : 0);
#pragma GCC unroll 8
            for (int j = 0; j < 8; j++) {
                if (j >= nc)
                    break;
                float *o = out + (size_t)(c0 + j) * hw;
                const __m512 b = _mm512_set1_ps(bias ? bias[c0 + j] : 0.0f);
#pragma GCC unroll 3
                for (int r = 0; r < RV; r++) {
                    __m512 v = bias ? _mm512_add_ps(acc[j][r], b) : acc[j][r];
                    if (mk[r] == 0xffff)
                        _mm512_storeu_ps(o + start[r], v);
                    else if (mk[r])
                        _mm512_mask_compressstoreu_ps(o + start[r], mk[r], v);
                }
            }
        }
    }
}

/* Sums of the 16 lanes of each of v[0..15]: result lane 4 L + e holds the sum of v[4 e + L] (a pairwise tree,
 * 30 shuffles and 15 adds for 16 sums instead of about 8 operations per sum). */
AVX512 static __m512 lane_sums16(const __m512 *v)
{
    __m512 s1[8], s2[4], s3[2];
    for (int i = 0; i < 8; i++) /* 128-bit lanes: [v2i 0+2, v2i 1+3, v2i+1 0+2, v2i+1 1+3] */
        s1[i] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], 0x44),
                              _mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], 0xee));
    for (int i = 0; i < 4; i++) /* lane L: four partial sums of v[4i + L] */
        s2[i] = _mm512_add_ps(_mm512_shuffle_f32x4(s1[2 * i], s1[2 * i + 1], 0x88),
                              _mm512_shuffle_f32x4(s1[2 * i], s1[2 * i + 1], 0xdd));
    for (int i = 0; i < 2; i++)
        s3[i] = _mm512_add_ps(_mm512_unpacklo_ps(s2[2 * i], s2[2 * i + 1]), _mm512_unpackhi_ps(s2[2 * i], s2[2 * i + 1]));
    __m512d a = _mm512_castps_pd(s3[0]), b = _mm512_castps_pd(s3[1]);
    return _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(a, b)), _mm512_castpd_ps(_mm512_unpackhi_pd(a, b)));
}

/* Lane sums of n (<= 32) vectors into out[0..n). */
AVX512 static void lane_sums(float *out, const __m512 *v, int n)
{
    for (int i0 = 0; i0 < n; i0 += 16) {
        __m512 grp[16];
        int m = n - i0 < 16 ? n - i0 : 16;
        for (int i = 0; i < 16; i++)
            grp[i] = i < m ? v[i0 + i] : _mm512_setzero_ps();
        float s[16];
        _mm512_storeu_ps(s, lane_sums16(grp));
        for (int i = 0; i < m; i++)
            out[i0 + i] = s[4 * (i % 4) + i / 4];
    }
}

AVX512 void nn_convd_bwdw_avx512(float *dwt, const float *dpad, const float *pad, const nn_conv_dims *d,
                                 const nn_pad_geom *g)
{
    const int k = d->k, kk = k * k, c_in = d->c_in, c_out = d->c_out, nv = (g->n + 15) / 16;
    const size_t plane = g->plane;
    /* The output gradient in the flat output layout: zero at the positions past each row's end. */
    const float *dy = dpad + (size_t)g->p * g->ws + g->p;
    for (int t0 = 0; t0 < kk; t0 += 9) {
        const int nt = kk - t0 < 9 ? kk - t0 : 9;
        int off[9];
        for (int t = 0; t < 9; t++) { /* a short last group repeats tap t0; those sums are dropped */
            int tt = t0 + (t < nt ? t : 0);
            off[t] = (tt / k) * g->ws + tt % k;
        }
        for (int c0 = 0; c0 < c_out; c0 += 3) {
            const int nc = c_out - c0 < 3 ? c_out - c0 : 3;
            const float *gp[3];
            for (int j = 0; j < 3; j++) /* a short last group repeats channel c0 */
                gp[j] = dy + (size_t)(c0 + (j < nc ? j : 0)) * plane;
            for (int ci = 0; ci < c_in; ci++) {
                const float *x = pad + (size_t)ci * plane;
                __m512 acc[27], tot[27];
                for (int i = 0; i < 27; i++)
                    tot[i] = _mm512_setzero_ps();
                for (int v0 = 0; v0 < nv; v0 += CHUNK) {
                    const int v1 = v0 + CHUNK < nv ? v0 + CHUNK : nv;
#pragma GCC unroll 27
                    for (int i = 0; i < 27; i++)
                        acc[i] = _mm512_setzero_ps();
                    for (int v = v0; v < v1; v++) {
                        const size_t q = (size_t)v * 16;
                        __m512 g0 = _mm512_loadu_ps(gp[0] + q), g1 = _mm512_loadu_ps(gp[1] + q),
                               g2 = _mm512_loadu_ps(gp[2] + q);
#pragma GCC unroll 9
                        for (int t = 0; t < 9; t++) {
                            __m512 xv = _mm512_loadu_ps(x + q + off[t]);
                            IN_REG(xv);
                            acc[t] = _mm512_fmadd_ps(g0, xv, acc[t]);
                            acc[9 + t] = _mm512_fmadd_ps(g1, xv, acc[9 + t]);
                            acc[18 + t] = _mm512_fmadd_ps(g2, xv, acc[18 + t]);
                        }
                    }
                    /* Chunks of CHUNK vectors summed in float, then added up: the rounding error grows with
                     * CHUNK + chunks, not with the whole plane. */
#pragma GCC unroll 27
                    for (int i = 0; i < 27; i++)
                        tot[i] = _mm512_add_ps(tot[i], acc[i]);
                }
                float s[27];
                lane_sums(s, tot, 27);
                for (int j = 0; j < nc; j++)
                    for (int t = 0; t < nt; t++)
                        dwt[((size_t)(c0 + j) * c_in + ci) * kk + t0 + t] = s[9 * j + t];
            }
        }
    }
}
#endif
