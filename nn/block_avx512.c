/* AVX-512 twins of the fused block tail (nn/block.c) and of batch-norm's per-sample sums (nn/batchnorm.c).
 * Sixteen pooled cells (32 columns of a row pair) per step: even and odd columns are separated with one
 * two-source permute each instead of AVX2's shuffle + lane permute pairs, the argmax codes are built under
 * masks, ragged row ends are masked loads and stores instead of scalar loops, and every sum runs in several
 * independent chains so that the add latency does not set the pace. */
#if defined(__x86_64__)
#include <immintrin.h>

#include "nn/nn_kernels.h"

#define AVX512 __attribute__((target("avx512f,avx2,fma")))

/* Float partial sums over chunks of this many values, each chunk's sum added in double (as batchnorm.c). */
#define CHUNK 512

AVX512 static inline __mmask16 first(int n)
{
    return (__mmask16)(n >= 16 ? 0xffff : (1u << (n > 0 ? n : 0)) - 1);
}

AVX512 static inline __m512i idx_even(void)
{
    return _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
}

AVX512 static inline __m512i idx_odd(void)
{
    return _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
}

AVX512 void nn_block_forward_avx512(float *out, uint8_t *arg, float *yarg, const float *y, const float *scale,
                                    const float *shift, int c, int h, int w, int pool)
{
    const __m512 zero = _mm512_setzero_ps();
    if (!pool) {
        const int n = h * w;
        for (int ch = 0; ch < c; ch++) {
            const __m512 a = _mm512_set1_ps(scale[ch]), b = _mm512_set1_ps(shift[ch]);
            const float *yc = y + (size_t)ch * n;
            float *o = out + (size_t)ch * n;
            for (int i = 0; i < n; i += 16) {
                __mmask16 m = first(n - i);
                __m512 v = _mm512_fmadd_ps(a, _mm512_maskz_loadu_ps(m, yc + i), b);
                _mm512_mask_storeu_ps(o + i, m, _mm512_max_ps(v, zero));
            }
        }
        return;
    }
    const int ph = h / 2, pw = w / 2;
    const __m512i ev = idx_even(), od = idx_odd();
    const __m512i one = _mm512_set1_epi32(1), two = _mm512_set1_epi32(2), three = _mm512_set1_epi32(3);
    for (int ch = 0; ch < c; ch++) {
        const __m512 a = _mm512_set1_ps(scale[ch]), b = _mm512_set1_ps(shift[ch]);
        for (int py = 0; py < ph; py++) {
            const float *r0 = y + ((size_t)ch * h + 2 * py) * w, *r1 = r0 + w;
            const size_t ro = ((size_t)ch * ph + py) * pw;
            for (int px = 0; px < pw; px += 16) {
                const int cells = pw - px;
                const __mmask16 mc = first(cells), m0 = first(2 * cells), m1 = first(2 * cells - 16);
                __m512 p0 = _mm512_maskz_loadu_ps(m0, r0 + 2 * px), p1 = _mm512_maskz_loadu_ps(m1, r0 + 2 * px + 16);
                __m512 q0 = _mm512_maskz_loadu_ps(m0, r1 + 2 * px), q1 = _mm512_maskz_loadu_ps(m1, r1 + 2 * px + 16);
                __m512 y0 = _mm512_permutex2var_ps(p0, ev, p1), y1 = _mm512_permutex2var_ps(p0, od, p1);
                __m512 y2 = _mm512_permutex2var_ps(q0, ev, q1), y3 = _mm512_permutex2var_ps(q0, od, q1);
                __m512 v0 = _mm512_fmadd_ps(a, y0, b), v1 = _mm512_fmadd_ps(a, y1, b);
                __m512 v2 = _mm512_fmadd_ps(a, y2, b), v3 = _mm512_fmadd_ps(a, y3, b);
                /* scan order (0,0) (0,1) (1,0) (1,1); the first maximum wins: replace only on strictly greater */
                __m512 m = v0, ym = y0;
                __m512i k = _mm512_setzero_si512();
                __mmask16 gt = _mm512_cmp_ps_mask(v1, m, _CMP_GT_OQ);
                m = _mm512_mask_mov_ps(m, gt, v1), ym = _mm512_mask_mov_ps(ym, gt, y1);
                k = _mm512_mask_mov_epi32(k, gt, one);
                gt = _mm512_cmp_ps_mask(v2, m, _CMP_GT_OQ);
                m = _mm512_mask_mov_ps(m, gt, v2), ym = _mm512_mask_mov_ps(ym, gt, y2);
                k = _mm512_mask_mov_epi32(k, gt, two);
                gt = _mm512_cmp_ps_mask(v3, m, _CMP_GT_OQ);
                m = _mm512_mask_mov_ps(m, gt, v3), ym = _mm512_mask_mov_ps(ym, gt, y3);
                k = _mm512_mask_mov_epi32(k, gt, three);
                _mm512_mask_storeu_ps(out + ro + px, mc, _mm512_max_ps(m, zero));
                if (yarg)
                    _mm512_mask_storeu_ps(yarg + ro + px, mc, ym);
                if (arg)
                    _mm512_mask_cvtepi32_storeu_epi8(arg + ro + px, mc, k);
            }
        }
    }
}

/* One step of the partial sums over the 16 values from i under mask m. */
AVX512 static inline void partial_step(__m512 *sa, __m512 *sb, const float *g, const float *o, const float *yc, int i,
                                       __mmask16 m, __m512 mu)
{
    /* ReLU passes gradient only where its output is positive */
    const __mmask16 live = _mm512_mask_cmp_ps_mask(m, _mm512_maskz_loadu_ps(m, o + i), _mm512_setzero_ps(), _CMP_GT_OQ);
    const __m512 gv = _mm512_maskz_loadu_ps(live, g + i);
    *sa = _mm512_add_ps(*sa, gv);
    *sb = _mm512_fmadd_ps(gv, _mm512_sub_ps(_mm512_maskz_loadu_ps(live, yc + i), mu), *sb);
}

AVX512 void nn_block_partial_avx512(double *sdz, double *sdzx, const float *dout, const float *out,
                                    const float *yv, const double *mean, int c, int n)
{
    const __m512 zero = _mm512_setzero_ps();
    for (int ch = 0; ch < c; ch++) {
        const __m512 mu = _mm512_set1_ps((float)mean[ch]);
        const float *g = dout + (size_t)ch * n, *o = out + (size_t)ch * n, *yc = yv + (size_t)ch * n;
        double da = 0, db = 0;
        for (int i0 = 0; i0 < n; i0 += CHUNK) {
            const int i1 = i0 + CHUNK < n ? i0 + CHUNK : n;
            __m512 sa[4] = {zero, zero, zero, zero}, sb[4] = {zero, zero, zero, zero};
            int i = i0;
            for (; i + 64 <= i1; i += 64)
#pragma GCC unroll 4
                for (int r = 0; r < 4; r++)
                    partial_step(&sa[r], &sb[r], g, o, yc, i + 16 * r, 0xffff, mu);
            for (; i < i1; i += 16)
                partial_step(&sa[0], &sb[0], g, o, yc, i, first(i1 - i), mu);
            da += _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(sa[0], sa[1]), _mm512_add_ps(sa[2], sa[3])));
            db += _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(sb[0], sb[1]), _mm512_add_ps(sb[2], sb[3])));
        }
        sdz[ch] = da;
        sdzx[ch] = db;
    }
}

AVX512 void nn_block_dy_avx512(float *dy, int rs, size_t cs, const float *dout, const float *out,
                               const uint8_t *arg, const float *y, const float *coef, int c, int h, int w, int pool)
{
    const int oh = pool ? h / 2 : h, ow = pool ? w / 2 : w;
    const __m512 zero = _mm512_setzero_ps();
    /* interleave: lanes 0..15 of (even, odd) -> columns 0..15 and 16..31 */
    const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    for (int ch = 0; ch < c; ch++) {
        const __m512 va = _mm512_set1_ps(coef[ch]), vb = _mm512_set1_ps(coef[c + ch]);
        const __m512 vk = _mm512_set1_ps(coef[2 * c + ch]), vmu = _mm512_set1_ps(coef[3 * c + ch]);
        const float *yc = y + (size_t)ch * h * w;
        const float *g = dout + (size_t)ch * oh * ow, *o = out + (size_t)ch * oh * ow;
        float *d = dy + (size_t)ch * cs;
        if (!pool) {
            for (int yy = 0; yy < h; yy++) {
                const size_t r = (size_t)yy * w;
                float *dr = d + (size_t)yy * rs;
                for (int x = 0; x < w; x += 16) {
                    const __mmask16 m = first(w - x);
                    const __mmask16 live =
                        _mm512_mask_cmp_ps_mask(m, _mm512_maskz_loadu_ps(m, o + r + x), zero, _CMP_GT_OQ);
                    __m512 base = _mm512_fmadd_ps(vb, _mm512_sub_ps(_mm512_maskz_loadu_ps(m, yc + r + x), vmu), va);
                    __m512 v = _mm512_mask_fmadd_ps(_mm512_maskz_loadu_ps(live, g + r + x), live, vk, base);
                    /* lanes where the ReLU was off: base alone */
                    _mm512_mask_storeu_ps(dr + x, m, _mm512_mask_mov_ps(base, live, v));
                }
            }
            continue;
        }
        const uint8_t *ac = arg + (size_t)ch * oh * ow;
        for (int py = 0; py < oh; py++) {
            const float *r0 = yc + (size_t)2 * py * w, *r1 = r0 + w;
            float *d0 = d + (size_t)2 * py * rs, *d1 = d0 + rs;
            const size_t row = (size_t)py * ow;
            for (int px = 0; px < ow; px += 16) {
                const int cells = ow - px;
                const __mmask16 mc = first(cells), m0 = first(2 * cells), m1 = first(2 * cells - 16);
                __m128i codes;
                if (cells >= 16) {
                    codes = _mm_loadu_si128((const __m128i *)(ac + row + px));
                } else { /* byte-masked loads need AVX512BW; a short copy will do for a row's end */
                    uint8_t tmp[16] = {0};
                    for (int i = 0; i < cells; i++)
                        tmp[i] = ac[row + px + i];
                    codes = _mm_loadu_si128((const __m128i *)tmp);
                }
                const __m512i kc = _mm512_cvtepu8_epi32(codes);
                const __mmask16 live =
                    _mm512_mask_cmp_ps_mask(mc, _mm512_maskz_loadu_ps(mc, o + row + px), zero, _CMP_GT_OQ);
                const __m512 kg = _mm512_maskz_mul_ps(live, vk, _mm512_maskz_loadu_ps(mc, g + row + px));
                __m512 e0 = _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(kc, _mm512_setzero_si512()), kg);
                __m512 e1 = _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(kc, _mm512_set1_epi32(1)), kg);
                __m512 e2 = _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(kc, _mm512_set1_epi32(2)), kg);
                __m512 e3 = _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(kc, _mm512_set1_epi32(3)), kg);
                const float *src[4] = {r0 + 2 * px, r0 + 2 * px + 16, r1 + 2 * px, r1 + 2 * px + 16};
                float *dst[4] = {d0 + 2 * px, d0 + 2 * px + 16, d1 + 2 * px, d1 + 2 * px + 16};
                const __m512 add[4] = {_mm512_permutex2var_ps(e0, lo, e1), _mm512_permutex2var_ps(e0, hi, e1),
                                       _mm512_permutex2var_ps(e2, lo, e3), _mm512_permutex2var_ps(e2, hi, e3)};
                const __mmask16 mm[4] = {m0, m1, m0, m1};
                for (int j = 0; j < 4; j++) {
                    __m512 base = _mm512_fmadd_ps(vb, _mm512_sub_ps(_mm512_maskz_loadu_ps(mm[j], src[j]), vmu), va);
                    _mm512_mask_storeu_ps(dst[j], mm[j], _mm512_add_ps(base, add[j]));
                }
            }
            for (int x = 2 * ow; x < w; x++) { /* an odd last column */
                d0[x] = coef[ch] + coef[c + ch] * (r0[x] - coef[3 * c + ch]);
                d1[x] = coef[ch] + coef[c + ch] * (r1[x] - coef[3 * c + ch]);
            }
        }
        if (h & 1) { /* an odd last row */
            const float *rl = yc + (size_t)(h - 1) * w;
            float *dl = d + (size_t)(h - 1) * rs;
            for (int x = 0; x < w; x += 16) {
                const __mmask16 m = first(w - x);
                _mm512_mask_storeu_ps(dl + x, m,
                                      _mm512_fmadd_ps(vb, _mm512_sub_ps(_mm512_maskz_loadu_ps(m, rl + x), vmu), va));
            }
        }
    }
}

AVX512 void nn_bn_sums_avx512(const float *x, int n, float mu, double *s1, double *s2)
{
    const __m512 m = _mm512_set1_ps(mu), zero = _mm512_setzero_ps();
    double a = 0, b = 0;
    for (int i0 = 0; i0 < n; i0 += CHUNK) {
        const int i1 = i0 + CHUNK < n ? i0 + CHUNK : n;
        __m512 va[4] = {zero, zero, zero, zero}, vb[4] = {zero, zero, zero, zero};
        int i = i0;
        for (; i + 64 <= i1; i += 64)
#pragma GCC unroll 4
            for (int r = 0; r < 4; r++) {
                __m512 v = _mm512_loadu_ps(x + i + 16 * r), dv = _mm512_sub_ps(v, m);
                va[r] = _mm512_add_ps(va[r], v);
                vb[r] = _mm512_fmadd_ps(dv, dv, vb[r]);
            }
        for (; i < i1; i += 16) {
            const __mmask16 k = first(i1 - i);
            __m512 v = _mm512_maskz_loadu_ps(k, x + i), dv = _mm512_maskz_sub_ps(k, v, m);
            va[0] = _mm512_add_ps(va[0], v);
            vb[0] = _mm512_fmadd_ps(dv, dv, vb[0]);
        }
        a += _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(va[0], va[1]), _mm512_add_ps(va[2], va[3])));
        b += _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(vb[0], vb[1]), _mm512_add_ps(vb[2], vb[3])));
    }
    if (s1)
        *s1 = a;
    if (s2)
        *s2 = b;
}
#endif
