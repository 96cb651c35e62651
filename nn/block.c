/* The tail of a fused conv block, batch-norm affine -> ReLU -> optional 2x2 max pool, in one pass over the
 * conv output, and its backward pass, in two: per-sample partial sums for the batch-norm gradient (over the
 * pooled positions only, from the conv output at each argmax that the forward pass kept), then the gradient
 * at the conv output. Plain C, and AVX2 twins that work on 8
 * pooled cells (16 columns of a row pair) at a time, splitting even and odd columns in registers; AVX-512
 * twins in nn/block_avx512.c. */
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "nn/nn_kernels.h"

/* Offset of argmax k of pooled cell (py, px) in a [h][w] map. */
static inline size_t cell(int py, int px, int w, uint8_t k)
{
    return (size_t)(2 * py + (k >> 1)) * w + 2 * px + (k & 1);
}

/* ---- plain C ---- */

static void forward_plain(float *out, uint8_t *arg, float *yarg, const float *y, const float *scale,
                          const float *shift, int c, int h, int w, int pool)
{
    if (!pool) {
        for (int ch = 0; ch < c; ch++) {
            const float a = scale[ch], b = shift[ch];
            const float *yc = y + (size_t)ch * h * w;
            float *o = out + (size_t)ch * h * w;
            for (int i = 0; i < h * w; i++) {
                float v = a * yc[i] + b;
                o[i] = v > 0 ? v : 0;
            }
        }
        return;
    }
    const int ph = h / 2, pw = w / 2;
    for (int ch = 0; ch < c; ch++) {
        const float a = scale[ch], b = shift[ch];
        for (int py = 0; py < ph; py++) {
            const float *r0 = y + ((size_t)ch * h + 2 * py) * w, *r1 = r0 + w;
            float *o = out + ((size_t)ch * ph + py) * pw;
            uint8_t *g = arg ? arg + ((size_t)ch * ph + py) * pw : NULL;
            float *ya = yarg ? yarg + ((size_t)ch * ph + py) * pw : NULL;
            for (int px = 0; px < pw; px++) {
                /* Scan order (0,0) (0,1) (1,0) (1,1); the first maximum wins, as in PyTorch. */
                float v0 = a * r0[2 * px] + b, v1 = a * r0[2 * px + 1] + b;
                float v2 = a * r1[2 * px] + b, v3 = a * r1[2 * px + 1] + b;
                float m = v0;
                uint8_t k = 0;
                if (v1 > m) m = v1, k = 1;
                if (v2 > m) m = v2, k = 2;
                if (v3 > m) m = v3, k = 3;
                o[px] = m > 0 ? m : 0;
                if (g)
                    g[px] = k;
                if (ya)
                    ya[px] = (k >> 1 ? r1 : r0)[2 * px + (k & 1)];
            }
        }
    }
}

static void partial_plain(double *sdz, double *sdzx, const float *dout, const float *out, const float *yv,
                          const double *mean, int c, int n)
{
    for (int ch = 0; ch < c; ch++) {
        const float mu = (float)mean[ch];
        const float *g = dout + (size_t)ch * n, *o = out + (size_t)ch * n, *yc = yv + (size_t)ch * n;
        double a = 0, b = 0;
        for (int i = 0; i < n; i++)
            if (o[i] > 0) { /* ReLU passes gradient only where its output is positive */
                a += g[i];
                b += (double)g[i] * (yc[i] - mu);
            }
        sdz[ch] = a;
        sdzx[ch] = b;
    }
}

static void dy_plain(float *dy, int rs, size_t cs, const float *dout, const float *out, const uint8_t *arg,
                     const float *y, const float *coef, int c, int h, int w, int pool)
{
    const int oh = pool ? h / 2 : h, ow = pool ? w / 2 : w;
    for (int ch = 0; ch < c; ch++) {
        const float a = coef[ch], b = coef[c + ch], k = coef[2 * c + ch], mu = coef[3 * c + ch];
        const float *yc = y + (size_t)ch * h * w;
        const float *g = dout + (size_t)ch * oh * ow, *o = out + (size_t)ch * oh * ow;
        float *d = dy + (size_t)ch * cs;
        if (!pool) {
            for (int yy = 0; yy < h; yy++)
                for (int x = 0; x < w; x++) {
                    size_t i = (size_t)yy * w + x;
                    d[(size_t)yy * rs + x] = a + b * (yc[i] - mu) + (o[i] > 0 ? k * g[i] : 0.0f);
                }
            continue;
        }
        for (int yy = 0; yy < h; yy++)
            for (int x = 0; x < w; x++)
                d[(size_t)yy * rs + x] = a + b * (yc[(size_t)yy * w + x] - mu);
        const uint8_t *ac = arg + (size_t)ch * oh * ow;
        for (int py = 0; py < oh; py++)
            for (int px = 0; px < ow; px++) {
                size_t i = (size_t)py * ow + px;
                if (o[i] > 0)
                    d[cell(py, px, rs, ac[i])] += k * g[i];
            }
    }
}

/* ---- AVX2 ---- */

#if defined(__x86_64__)
#define AVX2 __attribute__((target("avx2,fma")))

/* 16 floats at p -> even-indexed and odd-indexed 8, each in order. */
AVX2 static inline void split(const float *p, __m256 *ev, __m256 *od)
{
    __m256 a = _mm256_loadu_ps(p), b = _mm256_loadu_ps(p + 8);
    __m256 e = _mm256_shuffle_ps(a, b, 0x88), o = _mm256_shuffle_ps(a, b, 0xdd);
    *ev = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), 0xd8));
    *od = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(o), 0xd8));
}

/* The inverse of split: interleave ev and od into 16 floats at p. */
AVX2 static inline void merge(float *p, __m256 ev, __m256 od)
{
    __m256 e = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(ev), 0xd8));
    __m256 o = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(od), 0xd8));
    _mm256_storeu_ps(p, _mm256_unpacklo_ps(e, o));
    _mm256_storeu_ps(p + 8, _mm256_unpackhi_ps(e, o));
}

/* 8 argmax codes (0..3) as bytes. */
AVX2 static inline __m256i load_codes(const uint8_t *p)
{
    return _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p));
}

AVX2 static double hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

AVX2 static void forward_avx2(float *out, uint8_t *arg, float *yarg, const float *y, const float *scale,
                              const float *shift, int c, int h, int w, int pool)
{
    const __m256 zero = _mm256_setzero_ps();
    if (!pool) {
        const int n = h * w, nv = n & ~7;
        for (int ch = 0; ch < c; ch++) {
            const __m256 a = _mm256_set1_ps(scale[ch]), b = _mm256_set1_ps(shift[ch]);
            const float *yc = y + (size_t)ch * n;
            float *o = out + (size_t)ch * n;
            for (int i = 0; i < nv; i += 8)
                _mm256_storeu_ps(o + i, _mm256_max_ps(_mm256_fmadd_ps(a, _mm256_loadu_ps(yc + i), b), zero));
            for (int i = nv; i < n; i++) {
                float v = scale[ch] * yc[i] + shift[ch];
                o[i] = v > 0 ? v : 0;
            }
        }
        return;
    }
    const int ph = h / 2, pw = w / 2, pv = pw & ~7;
    const __m256i one = _mm256_set1_epi32(1), two = _mm256_set1_epi32(2), three = _mm256_set1_epi32(3);
    for (int ch = 0; ch < c; ch++) {
        const __m256 a = _mm256_set1_ps(scale[ch]), b = _mm256_set1_ps(shift[ch]);
        for (int py = 0; py < ph; py++) {
            const float *r0 = y + ((size_t)ch * h + 2 * py) * w, *r1 = r0 + w;
            float *o = out + ((size_t)ch * ph + py) * pw;
            uint8_t *g = arg ? arg + ((size_t)ch * ph + py) * pw : NULL;
            float *ya = yarg ? yarg + ((size_t)ch * ph + py) * pw : NULL;
            for (int px = 0; px < pv; px += 8) {
                __m256 y0, y1, y2, y3, v0, v1, v2, v3;
                split(r0 + 2 * px, &y0, &y1);
                split(r1 + 2 * px, &y2, &y3);
                v0 = _mm256_fmadd_ps(a, y0, b), v1 = _mm256_fmadd_ps(a, y1, b);
                v2 = _mm256_fmadd_ps(a, y2, b), v3 = _mm256_fmadd_ps(a, y3, b);
                /* first maximum in scan order: replace only on strictly greater */
                __m256 m = v0, ym = y0, gt;
                __m256i k = _mm256_setzero_si256();
                gt = _mm256_cmp_ps(v1, m, _CMP_GT_OQ), m = _mm256_blendv_ps(m, v1, gt), ym = _mm256_blendv_ps(ym, y1, gt);
                k = _mm256_blendv_epi8(k, one, _mm256_castps_si256(gt));
                gt = _mm256_cmp_ps(v2, m, _CMP_GT_OQ), m = _mm256_blendv_ps(m, v2, gt), ym = _mm256_blendv_ps(ym, y2, gt);
                k = _mm256_blendv_epi8(k, two, _mm256_castps_si256(gt));
                gt = _mm256_cmp_ps(v3, m, _CMP_GT_OQ), m = _mm256_blendv_ps(m, v3, gt), ym = _mm256_blendv_ps(ym, y3, gt);
                k = _mm256_blendv_epi8(k, three, _mm256_castps_si256(gt));
                _mm256_storeu_ps(o + px, _mm256_max_ps(m, zero));
                if (ya)
                    _mm256_storeu_ps(ya + px, ym);
                if (g) {
                    __m128i k16 = _mm_packs_epi32(_mm256_castsi256_si128(k), _mm256_extracti128_si256(k, 1));
                    _mm_storel_epi64((__m128i *)(g + px), _mm_packus_epi16(k16, k16));
                }
            }
            for (int px = pv; px < pw; px++) {
                float v0 = scale[ch] * r0[2 * px] + shift[ch], v1 = scale[ch] * r0[2 * px + 1] + shift[ch];
                float v2 = scale[ch] * r1[2 * px] + shift[ch], v3 = scale[ch] * r1[2 * px + 1] + shift[ch];
                float m = v0;
                uint8_t k = 0;
                if (v1 > m) m = v1, k = 1;
                if (v2 > m) m = v2, k = 2;
                if (v3 > m) m = v3, k = 3;
                o[px] = m > 0 ? m : 0;
                if (g)
                    g[px] = k;
                if (ya)
                    ya[px] = (k >> 1 ? r1 : r0)[2 * px + (k & 1)];
            }
        }
    }
}

AVX2 static void partial_avx2(double *sdz, double *sdzx, const float *dout, const float *out, const float *yv,
                              const double *mean, int c, int n)
{
    const __m256 zero = _mm256_setzero_ps();
    for (int ch = 0; ch < c; ch++) {
        const float mu = (float)mean[ch];
        const __m256 vmu = _mm256_set1_ps(mu);
        const float *g = dout + (size_t)ch * n, *o = out + (size_t)ch * n, *yc = yv + (size_t)ch * n;
        double a = 0, b = 0;
        for (int i0 = 0; i0 < n; i0 += 512) { /* float lanes over 512 values, then double */
            int i1 = i0 + 512 < n ? i0 + 512 : n, i = i0;
            __m256 sa = zero, sb = zero;
            for (; i + 8 <= i1; i += 8) {
                __m256 live = _mm256_cmp_ps(_mm256_loadu_ps(o + i), zero, _CMP_GT_OQ);
                __m256 gv = _mm256_and_ps(_mm256_loadu_ps(g + i), live);
                sa = _mm256_add_ps(sa, gv);
                sb = _mm256_fmadd_ps(gv, _mm256_sub_ps(_mm256_loadu_ps(yc + i), vmu), sb);
            }
            a += hsum(sa), b += hsum(sb);
            for (; i < i1; i++)
                if (o[i] > 0) {
                    a += g[i];
                    b += (double)g[i] * (yc[i] - mu);
                }
        }
        sdz[ch] = a;
        sdzx[ch] = b;
    }
}

AVX2 static void dy_avx2(float *dy, int rs, size_t cs, const float *dout, const float *out, const uint8_t *arg,
                         const float *y, const float *coef, int c, int h, int w, int pool)
{
    const int oh = pool ? h / 2 : h, ow = pool ? w / 2 : w;
    const __m256 zero = _mm256_setzero_ps();
    for (int ch = 0; ch < c; ch++) {
        const float a = coef[ch], b = coef[c + ch], k = coef[2 * c + ch], mu = coef[3 * c + ch];
        const __m256 va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b), vk = _mm256_set1_ps(k), vmu = _mm256_set1_ps(mu);
        const float *yc = y + (size_t)ch * h * w;
        const float *g = dout + (size_t)ch * oh * ow, *o = out + (size_t)ch * oh * ow;
        float *d = dy + (size_t)ch * cs;
        if (!pool) {
            const int wv = w & ~7;
            for (int yy = 0; yy < h; yy++) {
                const size_t r = (size_t)yy * w;
                float *dr = d + (size_t)yy * rs;
                for (int x = 0; x < wv; x += 8) {
                    __m256 live = _mm256_cmp_ps(_mm256_loadu_ps(o + r + x), zero, _CMP_GT_OQ);
                    __m256 kg = _mm256_and_ps(_mm256_mul_ps(vk, _mm256_loadu_ps(g + r + x)), live);
                    __m256 base = _mm256_fmadd_ps(vb, _mm256_sub_ps(_mm256_loadu_ps(yc + r + x), vmu), va);
                    _mm256_storeu_ps(dr + x, _mm256_add_ps(base, kg));
                }
                for (int x = wv; x < w; x++)
                    dr[x] = a + b * (yc[r + x] - mu) + (o[r + x] > 0 ? k * g[r + x] : 0.0f);
            }
            continue;
        }
        const int pv = ow & ~7;
        const uint8_t *ac = arg + (size_t)ch * oh * ow;
        for (int py = 0; py < oh; py++) {
            const float *r0 = yc + (size_t)2 * py * w, *r1 = r0 + w;
            float *d0 = d + (size_t)2 * py * rs, *d1 = d0 + rs;
            const size_t row = (size_t)py * ow;
            for (int px = 0; px < pv; px += 8) {
                __m256 v0, v1, v2, v3;
                split(r0 + 2 * px, &v0, &v1);
                split(r1 + 2 * px, &v2, &v3);
                __m256i kc = load_codes(ac + row + px);
                __m256 live = _mm256_cmp_ps(_mm256_loadu_ps(o + row + px), zero, _CMP_GT_OQ);
                __m256 kg = _mm256_and_ps(_mm256_mul_ps(vk, _mm256_loadu_ps(g + row + px)), live);
                __m256 e[4] = {v0, v1, v2, v3};
                for (int j = 0; j < 4; j++) {
                    __m256 sel = _mm256_castsi256_ps(_mm256_cmpeq_epi32(kc, _mm256_set1_epi32(j)));
                    e[j] = _mm256_add_ps(_mm256_fmadd_ps(vb, _mm256_sub_ps(e[j], vmu), va), _mm256_and_ps(kg, sel));
                }
                merge(d0 + 2 * px, e[0], e[1]);
                merge(d1 + 2 * px, e[2], e[3]);
            }
            /* the remaining columns of the row pair (cells past the last 8, and an odd last column) */
            for (int x = 2 * pv; x < w; x++) {
                d0[x] = a + b * (r0[x] - mu);
                d1[x] = a + b * (r1[x] - mu);
            }
            for (int px = pv; px < ow; px++) {
                size_t i = row + px;
                if (o[i] > 0)
                    d[cell(py, px, rs, ac[i])] += k * g[i];
            }
        }
        if (h & 1) { /* an odd last row */
            const float *rl = yc + (size_t)(h - 1) * w;
            float *dl = d + (size_t)(h - 1) * rs;
            for (int x = 0; x < w; x++)
                dl[x] = a + b * (rl[x] - mu);
        }
    }
}
#endif

void nn_block_forward_isa(float *out, uint8_t *arg, float *yarg, const float *y, const float *scale,
                          const float *shift, int c, int h, int w, int pool, int isa)
{
#if defined(__x86_64__)
    if (isa >= NN_ISA_AVX512) {
        nn_block_forward_avx512(out, arg, yarg, y, scale, shift, c, h, w, pool);
        return;
    }
    if (isa >= NN_ISA_AVX2) {
        forward_avx2(out, arg, yarg, y, scale, shift, c, h, w, pool);
        return;
    }
#endif
    (void)isa;
    forward_plain(out, arg, yarg, y, scale, shift, c, h, w, pool);
}

void nn_block_forward(float *out, uint8_t *arg, float *yarg, const float *y, const float *scale,
                      const float *shift, int c, int h, int w, int pool)
{
    nn_block_forward_isa(out, arg, yarg, y, scale, shift, c, h, w, pool, nn_cpu_isa());
}

void nn_block_backward_partial_isa(double *sdz, double *sdzx, const float *dout, const float *out, const float *yv,
                                   const double *mean, const double *invstd, int c, int n, int isa)
{
#if defined(__x86_64__)
    if (isa >= NN_ISA_AVX512)
        nn_block_partial_avx512(sdz, sdzx, dout, out, yv, mean, c, n);
    else if (isa >= NN_ISA_AVX2)
        partial_avx2(sdz, sdzx, dout, out, yv, mean, c, n);
    else
#endif
        partial_plain(sdz, sdzx, dout, out, yv, mean, c, n);
    (void)isa;
    for (int ch = 0; ch < c; ch++)
        sdzx[ch] *= invstd[ch];
}

void nn_block_backward_partial(double *sdz, double *sdzx, const float *dout, const float *out, const float *yv,
                               const double *mean, const double *invstd, int c, int n)
{
    nn_block_backward_partial_isa(sdz, sdzx, dout, out, yv, mean, invstd, c, n, nn_cpu_isa());
}

void nn_block_backward_dy_strided(float *dy, int rs, size_t cs, const float *dout, const float *out,
                                  const uint8_t *arg, const float *y, const float *coef, int c, int h, int w, int pool,
                                  int isa)
{
#if defined(__x86_64__)
    if (isa >= NN_ISA_AVX512) {
        nn_block_dy_avx512(dy, rs, cs, dout, out, arg, y, coef, c, h, w, pool);
        return;
    }
    if (isa >= NN_ISA_AVX2) {
        dy_avx2(dy, rs, cs, dout, out, arg, y, coef, c, h, w, pool);
        return;
    }
#endif
    (void)isa;
    dy_plain(dy, rs, cs, dout, out, arg, y, coef, c, h, w, pool);
}

void nn_block_backward_dy(float *dy, const float *dout, const float *out, const uint8_t *arg, const float *y,
                          const float *coef, int c, int h, int w, int pool)
{
    nn_block_backward_dy_strided(dy, w, (size_t)h * w, dout, out, arg, y, coef, c, h, w, pool, nn_cpu_isa());
}
