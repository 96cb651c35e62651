/* AVX-512 sums for nn/gram.c: the input's shifted sums S and Gram matrix G in double, and the pooled cells'
 * window sums. */
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#include "nn/nn_kernels.h"

#define AVX512 __attribute__((target("avx512f,avx2,fma")))

/* Taps t_lo..t_hi-1 of G's upper triangle (and S when with_s) over the valid positions, eight at a time in
 * double; one call per group of taps keeps the accumulators (at most 19) and the nine input vectors in
 * registers. xd: the padded plane in double, from its map's first row. */
static inline __attribute__((always_inline, target("avx512f,avx2,fma"))) void
gram_pass(double *S, double *G, const double *xd, const nn_conv_dims *d, const nn_pad_geom *g, const int t_lo,
          const int t_hi, const int with_s)
{
    int off[9];
    for (int t = 0; t < 9; t++)
        off[t] = (t / 3) * g->ws + t % 3;
    __m512d acc[19];
#pragma GCC unroll 19
    for (int i = 0; i < 19; i++)
        acc[i] = _mm512_setzero_pd();
    for (int y = 0; y < d->h; y++) {
        const double *row = xd + (size_t)y * g->ws;
        for (int x = 0; x < d->w; x += 8) {
            const __mmask8 m = (__mmask8)(d->w - x >= 8 ? 0xff : (1u << (d->w - x)) - 1);
            __m512d v[9];
#pragma GCC unroll 9
            for (int t = 0; t < 9; t++)
                v[t] = _mm512_maskz_loadu_pd(m, row + x + off[t]);
            int i = 0;
#pragma GCC unroll 9
            for (int t = t_lo; t < t_hi; t++)
#pragma GCC unroll 9
                for (int u = t; u < 9; u++, i++)
                    acc[i] = _mm512_fmadd_pd(v[t], v[u], acc[i]);
            if (with_s)
#pragma GCC unroll 9
                for (int t = 0; t < 9; t++, i++)
                    acc[i] = _mm512_add_pd(acc[i], v[t]);
        }
    }
    /* (unrolled like the loops above, so that acc is indexed by constants and stays in registers) */
    int i = 0;
#pragma GCC unroll 9
    for (int t = t_lo; t < t_hi; t++)
#pragma GCC unroll 9
        for (int u = t; u < 9; u++, i++)
            G[t * 9 + u] = G[u * 9 + t] = _mm512_reduce_add_pd(acc[i]);
    if (with_s)
#pragma GCC unroll 9
        for (int t = 0; t < 9; t++, i++)
            S[t] = _mm512_reduce_add_pd(acc[i]);
}

AVX512 void nn_gram_sums_avx512(double *gram, const float *pad, const nn_conv_dims *d, const nn_pad_geom *g,
                                double *xd)
{
    /* the padded map in double once: each of the three passes reads every input value nine times */
    const size_t n = (size_t)(d->h + 2) * g->ws;
    const float *src = pad + g->base;
    for (size_t i = 0; i < n; i += 8) {
        const __mmask16 m = (__mmask16)(n - i >= 8 ? 0xff : (1u << (n - i)) - 1);
        _mm512_storeu_pd(xd + i, _mm512_cvtps_pd(_mm512_castps512_ps256(_mm512_maskz_loadu_ps(m, src + i))));
    }
    double *S = gram, *G = gram + 9;
    gram_pass(S, G, xd, d, g, 0, 2, 0); /* 17 accumulators */
    gram_pass(S, G, xd, d, g, 2, 5, 0); /* 18 */
    gram_pass(S, G, xd, d, g, 5, 9, 1); /* 10 + 9 */
}

AVX512 void nn_gram_cells_avx512(double *cell, const float *pad, const float *dout, const float *out,
                                 const uint8_t *arg, int c, int h, int w, const nn_pad_geom *g, float *scratch)
{
    const int oh = h / 2, ow = w / 2;
    const size_t cs = (size_t)oh * ow;
    /* per channel, ten float lane accumulators (nine taps, the sum of g), added into double lanes every few
     * pooled rows so that the float sums stay short */
    float *acc = scratch;                                /* [c][10][16] */
    double *dacc = (double *)(scratch + (size_t)c * 160); /* [c][10][16] */
    memset(acc, 0, sizeof *acc * (size_t)c * 160);
    memset(dacc, 0, sizeof *dacc * (size_t)c * 160);
    const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i od = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    for (int py = 0; py < oh; py++) {
        for (int px0 = 0; px0 < ow; px0 += 16) {
            const int cells = ow - px0;
            const __mmask16 mc = (__mmask16)(cells >= 16 ? 0xffff : (1u << cells) - 1);
            /* the 4 x 4 window of padded input around each of 16 cells: rows 2py..2py+3, columns 2px..2px+3 */
            __m512 win[4][4];
            for (int r = 0; r < 4; r++) {
                const float *row = pad + g->base + (size_t)(2 * py + r) * g->ws + 2 * px0;
                __m512 a = _mm512_loadu_ps(row), b = _mm512_loadu_ps(row + 16);
                __m512 e = _mm512_loadu_ps(row + 2), f = _mm512_loadu_ps(row + 18);
                win[r][0] = _mm512_permutex2var_ps(a, ev, b);
                win[r][1] = _mm512_permutex2var_ps(a, od, b);
                win[r][2] = _mm512_permutex2var_ps(e, ev, f);
                win[r][3] = _mm512_permutex2var_ps(e, od, f);
            }
            for (int co = 0; co < c; co++) {
                const size_t at = (size_t)co * cs + (size_t)py * ow + px0;
                __m128i codes;
                if (cells >= 16) {
                    codes = _mm_loadu_si128((const __m128i *)(arg + at));
                } else {
                    uint8_t tmp[16] = {0};
                    memcpy(tmp, arg + at, (size_t)cells);
                    codes = _mm_loadu_si128((const __m128i *)tmp);
                }
                const __m512i k = _mm512_cvtepu8_epi32(codes);
                const __mmask16 live =
                    _mm512_mask_cmp_ps_mask(mc, _mm512_maskz_loadu_ps(mc, out + at), _mm512_setzero_ps(), _CMP_GT_OQ);
                const __m512 gv = _mm512_maskz_loadu_ps(live, dout + at);
                const __mmask16 m1 = _mm512_cmpeq_epi32_mask(k, _mm512_set1_epi32(1));
                const __mmask16 m2 = _mm512_cmpeq_epi32_mask(k, _mm512_set1_epi32(2));
                const __mmask16 m3 = _mm512_cmpeq_epi32_mask(k, _mm512_set1_epi32(3));
                float *A = acc + (size_t)co * 160;
#pragma GCC unroll 9
                for (int t = 0; t < 9; t++) {
                    const int ky = t / 3, kx = t % 3;
                    /* tap t of the cell's argmax (dy, dx) = code: window (dy + ky, dx + kx) */
                    __m512 v = win[ky][kx];
                    v = _mm512_mask_mov_ps(v, m1, win[ky][kx + 1]);
                    v = _mm512_mask_mov_ps(v, m2, win[ky + 1][kx]);
                    v = _mm512_mask_mov_ps(v, m3, win[ky + 1][kx + 1]);
                    _mm512_storeu_ps(A + 16 * t, _mm512_fmadd_ps(gv, v, _mm512_loadu_ps(A + 16 * t)));
                }
                _mm512_storeu_ps(A + 144, _mm512_add_ps(gv, _mm512_loadu_ps(A + 144)));
            }
        }
        if (py % 4 == 3 || py == oh - 1)
            for (size_t i = 0; i < (size_t)c * 160; i += 16) {
                __m512 v = _mm512_loadu_ps(acc + i);
                _mm512_storeu_pd(dacc + i, _mm512_add_pd(_mm512_loadu_pd(dacc + i),
                                                         _mm512_cvtps_pd(_mm512_castps512_ps256(v))));
                _mm512_storeu_pd(dacc + i + 8, _mm512_add_pd(_mm512_loadu_pd(dacc + i + 8),
                                                             _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)))));
                _mm512_storeu_ps(acc + i, _mm512_setzero_ps());
            }
    }
    for (int i = 0; i < c * 10; i++)
        cell[i] = _mm512_reduce_add_pd(_mm512_add_pd(_mm512_loadu_pd(dacc + 16 * i), _mm512_loadu_pd(dacc + 16 * i + 8)));
}
#endif
