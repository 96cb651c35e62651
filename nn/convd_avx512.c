/* AVX-512 kernels of the direct convolution (layout: nn/convd.c).
 *
 * Forward: 8 output channels x 48 positions in 24 registers; per input channel and tap, three input vectors
 * (the plane shifted by the tap) and eight broadcast weights feed 24 FMAs, so the FMA units, not the loads,
 * set the pace. Weight gradient: 3 output channels x 9 taps in 27 registers; per 16 positions three gradient
 * vectors and nine shifted input vectors feed 27 FMAs; the 16 lanes are summed at the end. When the input
 * channels come in sixteens, the weight gradient runs on a channels-last copy of the padded input instead:
 * the lanes are 16 input channels, so every load is a whole aligned vector (nine taps, no cache-line
 * splits), three broadcast gradient values feed the 27 FMAs, and no lanes need summing. */
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#include "nn/nn_kernels.h"

#define AVX512 __attribute__((target("avx512f,avx2,fma")))

/* Keeps a loaded vector in a register: without this GCC folds the load into each of the FMAs that use it,
 * reading the same (cache-line-splitting) address three times. */
#define IN_REG(v) __asm__("" : "+v"(v))

/* Blocks of output positions and the float chunk of the weight gradient's lane sums (vectors). */
#define RV 3
#define CHUNK 32

AVX512 void nn_convd_fwd_avx512(float *out, const float *pad, const float *wb, const float *bias,
                                const nn_conv_dims *d, const nn_pad_geom *g, int y0, int y1)
{
    const int k = d->k, kk = k * k, c_in = d->c_in, c_out = d->c_out, n = y1 * g->ws, w = d->w, ws = g->ws;
    /* out holds rows [y0, y1): channel stride (y1 - y0) w, and the store masks' dense places shifted by y0 w */
    const size_t hw = (size_t)(y1 - y0) * w, plane = g->plane, shift = (size_t)y0 * w;
    int off[NN_MAX_TAPS];
    for (int t = 0; t < kk; t++)
        off[t] = (t / k) * ws + t % k;
    /* Position blocks outside, channel blocks inside: the block's input window stays in L1 for every
     * channel block, and the store masks are worked out once per position block. */
    for (int q = y0 * ws, y = y0, x = 0; q < n; q += 16 * RV) {
        size_t start[RV];
        __mmask16 mk[RV];
        for (int r = 0, yr = y, xr = x; r < RV; r++) {
            mk[r] = (__mmask16)nn_convd_store_mask(yr, xr, 16, w, ws, n - q - 16 * r, &start[r]);
            start[r] -= shift;
            for (xr += 16; xr >= ws; xr -= ws)
                yr++;
        }
        for (x += 16 * RV; x >= ws; x -= ws)
            y++;
        for (int c0 = 0; c0 < c_out; c0 += 8) {
            const int nc = c_out - c0 < 8 ? c_out - c0 : 8;
            __m512 acc[8][RV];
#pragma GCC unroll 8
            for (int j = 0; j < 8; j++)
#pragma GCC unroll 3
                for (int r = 0; r < RV; r++)
                    acc[j][r] = _mm512_setzero_ps();
            const float *wp = wb + (size_t)c0 * c_in * kk; /* [c_in][kk][8] */
            for (int ci = 0; ci < c_in; ci++) {
                const float *pin = pad + (size_t)ci * plane + g->base + q;
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
                    else if (mk[r]) /* compress in a register; the memory form is slow on Intel cores */
                        _mm512_mask_storeu_ps(o + start[r], (__mmask16)((1u << __builtin_popcount(mk[r])) - 1),
                                              _mm512_maskz_compress_ps(mk[r], v));
                }
            }
        }
    }
}

/* Sums of the 16 lanes of each of v[0..15], in order (a pairwise tree: 30 shuffles, 15 adds and a permute
 * for 16 sums, instead of about 8 operations per sum). */
static inline __attribute__((always_inline, target("avx512f"))) __m512 lane_sums16(const __m512 *v)
{
    __m512 s1[8], s2[4], s3[2];
    for (int i = 0; i < 8; i++) /* 128-bit lanes: [v2i 0+2, v2i 1+3, v2i+1 0+2, v2i+1 1+3] */
        s1[i] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], 0x44),
                              _mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], 0xee));
    for (int i = 0; i < 4; i++) /* 128-bit lane L: four partial sums of v[4i + L] */
        s2[i] = _mm512_add_ps(_mm512_shuffle_f32x4(s1[2 * i], s1[2 * i + 1], 0x88),
                              _mm512_shuffle_f32x4(s1[2 * i], s1[2 * i + 1], 0xdd));
    for (int i = 0; i < 2; i++)
        s3[i] = _mm512_add_ps(_mm512_unpacklo_ps(s2[2 * i], s2[2 * i + 1]), _mm512_unpackhi_ps(s2[2 * i], s2[2 * i + 1]));
    __m512d a = _mm512_castps_pd(s3[0]), b = _mm512_castps_pd(s3[1]);
    /* element 4 L + e now holds the sum of v[4 e + L] */
    __m512 t = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(a, b)), _mm512_castpd_ps(_mm512_unpackhi_pd(a, b)));
    const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    return _mm512_permutexvar_ps(order, t);
}

/* out[0..27) = the lane sums of v[0..27). */
static inline __attribute__((always_inline, target("avx512f"))) void lane_sums27(float *out, const __m512 *v)
{
    __m512 hi[16];
    for (int i = 0; i < 16; i++)
        hi[i] = i < 11 ? v[16 + i] : _mm512_setzero_ps();
    _mm512_storeu_ps(out, lane_sums16(v));
    _mm512_storeu_ps(out + 16, lane_sums16(hi));
}

AVX512 void nn_convd_bwdw_avx512(float *dwt, const float *dpad, const float *pad, const nn_conv_dims *d,
                                 const nn_pad_geom *g)
{
    const int k = d->k, kk = k * k, c_in = d->c_in, c_out = d->c_out, nv = (g->n + 15) / 16;
    const size_t plane = g->plane;
    /* The output gradient in the flat output layout: zero at the positions past each row's end. */
    const float *dy = dpad + g->org;
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
                const float *x = pad + (size_t)ci * plane + g->base;
                __m512 acc[27], tot[27];
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
                        tot[i] = v0 == 0 ? acc[i] : _mm512_add_ps(tot[i], acc[i]);
                }
                float s[32];
                lane_sums27(s, tot);
                for (int j = 0; j < nc; j++)
                    for (int t = 0; t < nt; t++)
                        dwt[((size_t)(c0 + j) * c_in + ci) * kk + t0 + t] = s[9 * j + t];
            }
        }
    }
}
#endif

/* ---- weight gradient over channels-last input ------------------------------------------------------------ */

/* r[k] <- column k of the 16 x 16 block whose row i is r[i]. */
static inline __attribute__((always_inline, target("avx512f"))) void transpose16(__m512 *r)
{
    __m512 t[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 2]);
        __m512d c = _mm512_castps_pd(t[4 * i + 1]), e = _mm512_castps_pd(t[4 * i + 3]);
        r[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
        r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
        r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(c, e));
        r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(c, e));
    }
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_f32x4(r[i], r[4 + i], 0x88);
        t[4 + i] = _mm512_shuffle_f32x4(r[i], r[4 + i], 0xdd);
        t[8 + i] = _mm512_shuffle_f32x4(r[8 + i], r[12 + i], 0x88);
        t[12 + i] = _mm512_shuffle_f32x4(r[8 + i], r[12 + i], 0xdd);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0x88);
        r[8 + i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0xdd);
        r[4 + i] = _mm512_shuffle_f32x4(t[4 + i], t[12 + i], 0x88);
        r[12 + i] = _mm512_shuffle_f32x4(t[4 + i], t[12 + i], 0xdd);
    }
}

AVX512 void nn_pad_cl_avx512(float *xc, const float *in, int c, int h, int w, const nn_pad_geom *g)
{
    const int p = g->p, ws = g->ws;
    const size_t cs = (size_t)c, npos = g->plane - g->base, hw = (size_t)h * w;
    /* top padding and the left padding of the first row */
    memset(xc, 0, sizeof *xc * cs * ((size_t)p * ws + p));
    for (int y = 0; y < h; y++) {
        const size_t row = (size_t)(y + p) * ws + p; /* position of (y, 0) */
        for (int x0 = 0; x0 < w; x0 += 16) {
            const int nx = w - x0 < 16 ? w - x0 : 16;
            const __mmask16 m = (__mmask16)(nx == 16 ? 0xffff : (1u << nx) - 1);
            for (int cb = 0; cb < c; cb += 16) {
                __m512 r[16];
                for (int i = 0; i < 16; i++)
                    r[i] = _mm512_maskz_loadu_ps(m, in + (size_t)(cb + i) * hw + (size_t)y * w + x0);
                transpose16(r);
                for (int j = 0; j < nx; j++)
                    _mm512_storeu_ps(xc + (row + x0 + j) * cs + cb, r[j]);
            }
        }
        /* right padding of this row and left padding of the next */
        memset(xc + (row + w) * cs, 0, sizeof *xc * cs * (size_t)(2 * p));
    }
    const size_t end = ((size_t)(h - 1 + p) * ws + p + w + 2 * p) * cs;
    memset(xc + end, 0, sizeof *xc * (npos * cs - end));
}

AVX512 void nn_convd_bwdw_cl_avx512(float *dwt, const float *dpad, const float *xc, const nn_conv_dims *d,
                                    const nn_pad_geom *g)
{
    const int k = d->k, kk = k * k, c_in = d->c_in, c_out = d->c_out, n = g->n;
    const size_t plane = g->plane, cs = (size_t)c_in;
    const float *dy = dpad + g->org;
    /* Positions per float chunk: each lane sums one input channel's products along the positions, so the
     * chunks bound the rounding as in the planar kernel. */
    const int qchunk = 16 * CHUNK;
    for (int t0 = 0; t0 < kk; t0 += 9) {
        const int nt = kk - t0 < 9 ? kk - t0 : 9;
        size_t off[9];
        for (int t = 0; t < 9; t++) {
            int tt = t0 + (t < nt ? t : 0);
            off[t] = ((size_t)(tt / k) * g->ws + tt % k) * cs;
        }
        for (int c0 = 0; c0 < c_out; c0 += 3) {
            const int nc = c_out - c0 < 3 ? c_out - c0 : 3;
            const float *gp[3];
            for (int j = 0; j < 3; j++)
                gp[j] = dy + (size_t)(c0 + (j < nc ? j : 0)) * plane;
            for (int cb = 0; cb < c_in; cb += 16) {
                __m512 acc[27], tot[27];
                for (int q0 = 0; q0 < n; q0 += qchunk) {
                    const int q1 = q0 + qchunk < n ? q0 + qchunk : n;
#pragma GCC unroll 27
                    for (int i = 0; i < 27; i++)
                        acc[i] = _mm512_setzero_ps();
                    const float *xp = xc + (size_t)q0 * cs + cb;
                    for (int q = q0; q < q1; q++, xp += cs) {
                        const __m512 g0 = _mm512_set1_ps(gp[0][q]), g1 = _mm512_set1_ps(gp[1][q]),
                                     g2 = _mm512_set1_ps(gp[2][q]);
#pragma GCC unroll 9
                        for (int t = 0; t < 9; t++) {
                            __m512 xv = _mm512_loadu_ps(xp + off[t]);
                            IN_REG(xv);
                            acc[t] = _mm512_fmadd_ps(g0, xv, acc[t]);
                            acc[9 + t] = _mm512_fmadd_ps(g1, xv, acc[9 + t]);
                            acc[18 + t] = _mm512_fmadd_ps(g2, xv, acc[18 + t]);
                        }
                    }
#pragma GCC unroll 27
                    for (int i = 0; i < 27; i++)
                        tot[i] = q0 == 0 ? acc[i] : _mm512_add_ps(tot[i], acc[i]);
                }
                /* tot[9 j + t] holds dW[c0 + j][cb .. cb + 16][t0 + t]: 16 input channels a tap apart */
                float s[27][16];
                for (int i = 0; i < 27; i++)
                    _mm512_storeu_ps(s[i], tot[i]);
                for (int j = 0; j < nc; j++)
                    for (int i = 0; i < 16; i++) {
                        float *dst = dwt + ((size_t)(c0 + j) * c_in + cb + i) * kk + t0;
                        for (int t = 0; t < nt; t++)
                            dst[t] = s[9 * j + t][i];
                    }
            }
        }
    }
}
