/* im2col and its adjoint over a band of output rows, so a tile of the column matrix stays in cache. */
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "nn/nn_kernels.h"

#if defined(__x86_64__)
__attribute__((target("avx2"))) static void add_row_avx2(float *dst, const float *src, int n)
{
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_add_ps(_mm256_loadu_ps(dst + i), _mm256_loadu_ps(src + i)));
    for (; i < n; i++)
        dst[i] += src[i];
}
#endif

/* dst[0..n) += src[0..n) */
static void add_row(float *dst, const float *src, int n, int avx2)
{
#if defined(__x86_64__)
    if (avx2) {
        add_row_avx2(dst, src, n);
        return;
    }
#endif
    (void)avx2;
    for (int i = 0; i < n; i++)
        dst[i] += src[i];
}

/* Valid output columns [x0, x1) for kernel column kx: where x + kx - pad falls inside [0, w). */
static void col_range(const nn_conv_dims *d, int kx, int *x0, int *x1)
{
    int off = kx - d->pad;
    *x0 = off < 0 ? -off : 0;
    *x1 = off > 0 ? d->w - off : d->w;
    if (*x1 < *x0)
        *x1 = *x0;
}

void nn_im2col(float *col, const float *in, const nn_conv_dims *d, int y0, int y1)
{
    const int w = d->w, h = d->h, k = d->k, n = (y1 - y0) * w;
    for (int ci = 0; ci < d->c_in; ci++)
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) {
                float *row = col + ((size_t)(ci * k + ky) * k + kx) * n; /* [y1-y0][w] */
                int x0, x1, off = kx - d->pad;
                col_range(d, kx, &x0, &x1);
                for (int y = y0; y < y1; y++) {
                    float *r = row + (size_t)(y - y0) * w;
                    int iy = y + ky - d->pad;
                    if (iy < 0 || iy >= h) {
                        memset(r, 0, sizeof *r * (size_t)w);
                        continue;
                    }
                    const float *src = in + ((size_t)ci * h + iy) * w;
                    for (int x = 0; x < x0; x++)
                        r[x] = 0;
                    memcpy(r + x0, src + x0 + off, sizeof *r * (size_t)(x1 - x0));
                    for (int x = x1; x < w; x++)
                        r[x] = 0;
                }
            }
}

void nn_col2im_add(float *din, const float *col, const nn_conv_dims *d, int y0, int y1)
{
    const int w = d->w, h = d->h, k = d->k, n = (y1 - y0) * w, avx2 = nn_cpu_avx2();
    for (int ci = 0; ci < d->c_in; ci++)
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) {
                const float *row = col + ((size_t)(ci * k + ky) * k + kx) * n;
                int x0, x1, off = kx - d->pad;
                col_range(d, kx, &x0, &x1);
                for (int y = y0; y < y1; y++) {
                    int iy = y + ky - d->pad;
                    if (iy < 0 || iy >= h)
                        continue;
                    const float *r = row + (size_t)(y - y0) * w;
                    add_row(din + ((size_t)ci * h + iy) * w + x0 + off, r + x0, x1 - x0, avx2);
                }
            }
}
