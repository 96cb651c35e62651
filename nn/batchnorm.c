/* Batch normalisation pieces. Training statistics are built from per-sample partials (mean, sum of squared
 * deviations) combined in sample order, so the batch result does not depend on how samples were split
 * across threads; a batch-level double-precision reference sits beside them. */
#include <math.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "nn/nn_kernels.h"

/* Float partial sums over chunks this long, each chunk's sum added in double: the float error stays at a
 * chunk's worth of terms (about 1e-6 relative) whatever hw is. */
#define CHUNK 512

static void sums_plain(const float *x, int n, float mu, double *s1, double *s2)
{
    double a = 0, b = 0;
    for (int i0 = 0; i0 < n; i0 += CHUNK) {
        int i1 = i0 + CHUNK < n ? i0 + CHUNK : n;
        float fa = 0, fb = 0;
        for (int i = i0; i < i1; i++) {
            float dv = x[i] - mu;
            fa += x[i];
            fb += dv * dv;
        }
        a += fa;
        b += fb;
    }
    if (s1)
        *s1 = a;
    if (s2)
        *s2 = b;
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) static double hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* s1 = sum x, s2 = sum (x - mu)^2. */
__attribute__((target("avx2,fma"))) static void sums_avx2(const float *x, int n, float mu, double *s1, double *s2)
{
    double a = 0, b = 0;
    const __m256 m = _mm256_set1_ps(mu);
    for (int i0 = 0; i0 < n; i0 += CHUNK) {
        int i1 = i0 + CHUNK < n ? i0 + CHUNK : n, i = i0;
        __m256 va = _mm256_setzero_ps(), vb = _mm256_setzero_ps();
        for (; i + 8 <= i1; i += 8) {
            __m256 v = _mm256_loadu_ps(x + i), dv = _mm256_sub_ps(v, m);
            va = _mm256_add_ps(va, v);
            vb = _mm256_fmadd_ps(dv, dv, vb);
        }
        float fa = 0, fb = 0;
        for (; i < i1; i++) {
            float dv = x[i] - mu;
            fa += x[i];
            fb += dv * dv;
        }
        a += hsum(va) + fa;
        b += hsum(vb) + fb;
    }
    if (s1)
        *s1 = a;
    if (s2)
        *s2 = b;
}
#endif

static void sums(const float *x, int n, float mu, double *s1, double *s2, int isa)
{
#if defined(__x86_64__)
    if (isa >= NN_ISA_AVX512) {
        nn_bn_sums_avx512(x, n, mu, s1, s2);
        return;
    }
    if (isa >= NN_ISA_AVX2) {
        sums_avx2(x, n, mu, s1, s2);
        return;
    }
#endif
    (void)isa;
    sums_plain(x, n, mu, s1, s2);
}

void nn_bn_sample_stats(double *mean, double *m2, const float *x, int c, int hw)
{
    nn_bn_sample_stats_isa(mean, m2, x, c, hw, nn_cpu_isa());
}

void nn_bn_sample_stats_isa(double *mean, double *m2, const float *x, int c, int hw, int isa)
{
    for (int ch = 0; ch < c; ch++) {
        const float *xc = x + (size_t)ch * hw;
        double s1;
        sums(xc, hw, 0.0f, &s1, NULL, isa);
        mean[ch] = s1 / hw;
        /* Deviations from the float mean; the difference to the double mean is corrected exactly below
         * (sum (x - f)^2 = M2 + n (mean - f)^2). */
        float mf = (float)mean[ch];
        double s2;
        sums(xc, hw, mf, NULL, &s2, isa);
        double dm = mean[ch] - mf;
        m2[ch] = s2 - hw * dm * dm;
        if (m2[ch] < 0)
            m2[ch] = 0;
    }
}

void nn_bn_combine_stats(double *mean, double *var, const double *part, int batch, int c, int hw)
{
    for (int ch = 0; ch < c; ch++) {
        double n = 0, mu = 0, m2 = 0;
        for (int s = 0; s < batch; s++) {
            const double pm = part[(size_t)s * 2 * c + ch], pm2 = part[(size_t)s * 2 * c + c + ch];
            double nb = hw, nt = n + nb, delta = pm - mu;
            mu += delta * nb / nt;
            m2 += pm2 + delta * delta * n * nb / nt;
            n = nt;
        }
        mean[ch] = mu;
        var[ch] = m2 / n;
    }
}

void nn_bn_forward_ref(float *out, double *mean, double *var, const float *x, const float *gamma,
                       const float *beta, int batch, int c, int hw)
{
    const double n = (double)batch * hw;
    for (int ch = 0; ch < c; ch++) {
        double s = 0, q = 0;
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < hw; i++)
                s += x[((size_t)b * c + ch) * hw + i];
        double mu = s / n;
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < hw; i++) {
                double dv = x[((size_t)b * c + ch) * hw + i] - mu;
                q += dv * dv;
            }
        double v = q / n, is = 1.0 / sqrt(v + NN_BN_EPS);
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < hw; i++) {
                size_t j = ((size_t)b * c + ch) * hw + i;
                out[j] = (float)(gamma[ch] * (x[j] - mu) * is + beta[ch]);
            }
        mean[ch] = mu;
        var[ch] = v;
    }
}

void nn_bn_backward_ref(float *dx, float *dgamma, float *dbeta, const float *dout, const float *x,
                        const float *gamma, int batch, int c, int hw)
{
    const double n = (double)batch * hw;
    for (int ch = 0; ch < c; ch++) {
        double s = 0, q = 0;
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < hw; i++)
                s += x[((size_t)b * c + ch) * hw + i];
        double mu = s / n;
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < hw; i++) {
                double dv = x[((size_t)b * c + ch) * hw + i] - mu;
                q += dv * dv;
            }
        double is = 1.0 / sqrt(q / n + NN_BN_EPS), sdz = 0, sdzx = 0;
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < hw; i++) {
                size_t j = ((size_t)b * c + ch) * hw + i;
                sdz += dout[j];
                sdzx += dout[j] * (x[j] - mu) * is;
            }
        dgamma[ch] += (float)sdzx;
        dbeta[ch] += (float)sdz;
        if (!dx)
            continue;
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < hw; i++) {
                size_t j = ((size_t)b * c + ch) * hw + i;
                double xh = (x[j] - mu) * is;
                dx[j] = (float)(gamma[ch] * is * (dout[j] - sdz / n - xh * sdzx / n));
            }
    }
}

void nn_bn_apply(float *y, const float *x, const float *scale, const float *shift, int c, int hw)
{
    for (int ch = 0; ch < c; ch++) {
        const float a = scale[ch], b = shift[ch];
        const float *xc = x + (size_t)ch * hw;
        float *yc = y + (size_t)ch * hw;
        for (int i = 0; i < hw; i++)
            yc[i] = a * xc[i] + b;
    }
}

void nn_bn_backward_partial(double *sdz, double *sdzx, const float *dout, const float *x, const double *mean,
                            const double *invstd, int c, int hw)
{
    for (int ch = 0; ch < c; ch++) {
        const float *g = dout + (size_t)ch * hw, *xc = x + (size_t)ch * hw;
        const float mu = (float)mean[ch];
        double a = 0, b = 0;
        for (int i = 0; i < hw; i++) {
            a += g[i];
            b += (double)g[i] * (xc[i] - mu);
        }
        sdz[ch] = a;
        sdzx[ch] = b * invstd[ch];
    }
}

void nn_bn_backward_coef(float *coef, const double *sdz, const double *sdzx, const double *mean,
                         const double *invstd, const float *gamma, int c, double n)
{
    for (int ch = 0; ch < c; ch++) {
        double k = gamma[ch] * invstd[ch];
        coef[ch] = (float)(-k * sdz[ch] / n);                         /* a */
        coef[c + ch] = (float)(-k * sdzx[ch] / n * invstd[ch]);       /* b */
        coef[2 * c + ch] = (float)k;                                  /* k */
        coef[3 * c + ch] = (float)mean[ch];                           /* mu */
    }
}

void nn_bn_backward_apply(float *dx, const float *dout, const float *x, const float *coef, int c, int hw)
{
    for (int ch = 0; ch < c; ch++) {
        const float a = coef[ch], b = coef[c + ch], k = coef[2 * c + ch], mu = coef[3 * c + ch];
        const float *g = dout + (size_t)ch * hw, *xc = x + (size_t)ch * hw;
        float *o = dx + (size_t)ch * hw;
        for (int i = 0; i < hw; i++)
            o[i] = a + b * (xc[i] - mu) + k * g[i];
    }
}
