/* im2col and its adjoint over a band of output rows, so a tile of the column matrix stays in cache. */
#include <string.h>

#include "nn/nn_internal.h"

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
    const int w = d->w, h = d->h, k = d->k, n = (y1 - y0) * w;
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
                    float *dst = din + ((size_t)ci * h + iy) * w;
                    for (int x = x0; x < x1; x++)
                        dst[x + off] += r[x];
                }
            }
}
