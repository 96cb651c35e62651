/* Convolution of one sample: im2col over bands of output rows + one sgemm per band; a direct kernel for a
 * single input channel (the first layer of aa-cnn-s), where the im2col GEMM has K = k*k, a poor shape. */
#include <string.h>

#include "nn/nn_internal.h"

/* Floats of one im2col band (1 MB). Measured on aa-cnn-s's layers: 128K-1M floats are within this
 * machine's noise of each other, 64K and below lose 10-25% to short GEMMs. */
#define NN_TILE_FLOATS 262144

static int band_rows(const nn_conv_dims *d)
{
    size_t kk = (size_t)d->c_in * d->k * d->k * d->w;
    int r = (int)(NN_TILE_FLOATS / (kk ? kk : 1));
    if (r < 1)
        r = 1;
    return r > d->h ? d->h : r;
}

static int use_direct(const nn_conv_dims *d)
{
    return d->c_in == 1;
}

size_t nn_conv2d_scratch(const nn_conv_dims *d)
{
    size_t kk = (size_t)d->c_in * d->k * d->k, band = kk * (size_t)band_rows(d) * d->w;
    size_t padded = (size_t)(d->h + 2 * d->pad) * (d->w + 2 * d->pad);
    /* Two bands (the backward pass keeps the im2col band while forming the input-gradient band) and the
     * transposed weight gradient. */
    size_t need = 2 * band + kk * (size_t)d->c_out;
    return need > padded ? need : padded;
}

static void add_bias(float *out, const float *bias, int c, int hw_stride, int y0, int y1, int w)
{
    for (int co = 0; co < c; co++) {
        float *o = out + (size_t)co * hw_stride + (size_t)y0 * w;
        const float b = bias[co];
        for (int i = 0; i < (y1 - y0) * w; i++)
            o[i] += b;
    }
}

void nn_conv2d_forward(float *out, const float *in, const float *wt, const float *bias, const nn_conv_dims *d,
                       float *scratch)
{
    const int hw = d->h * d->w, kk = d->c_in * d->k * d->k;
    if (use_direct(d)) {
        nn_conv_pad_input(scratch, in, d);
        nn_conv1_forward(out, scratch, wt, bias, d);
        return;
    }
    const int rows = band_rows(d);
    for (int y0 = 0; y0 < d->h; y0 += rows) {
        int y1 = y0 + rows < d->h ? y0 + rows : d->h, n = (y1 - y0) * d->w;
        nn_im2col(scratch, in, d, y0, y1);
        /* out[:, band] [c_out][n] = wt [c_out][kk] x col [kk][n] */
        nn_gemm(0, 0, d->c_out, n, kk, 1.0f, wt, kk, scratch, n, 0.0f, out + (size_t)y0 * d->w, hw);
        if (bias)
            add_bias(out, bias, d->c_out, hw, y0, y1, d->w);
    }
}

void nn_conv2d_backward(float *din, float *dwt, float *dbias, const float *dout, const float *in,
                        const float *wt, const nn_conv_dims *d, float *scratch)
{
    const int hw = d->h * d->w, kk = d->c_in * d->k * d->k;
    if (dbias)
        for (int co = 0; co < d->c_out; co++) {
            const float *g = dout + (size_t)co * hw;
            double s = 0;
            for (int i = 0; i < hw; i++)
                s += g[i];
            dbias[co] = (float)s;
        }
    if (!din && use_direct(d)) {
        nn_conv_pad_input(scratch, in, d);
        nn_conv1_backward_w(dwt, dout, scratch, d);
        return;
    }
    if (din)
        memset(din, 0, sizeof *din * (size_t)d->c_in * hw);
    const int rows = band_rows(d);
    float *col = scratch, *dcol = col + (size_t)kk * rows * d->w, *dwt_t = dcol + (size_t)kk * rows * d->w;
    for (int y0 = 0; y0 < d->h; y0 += rows) {
        int y1 = y0 + rows < d->h ? y0 + rows : d->h, n = (y1 - y0) * d->w;
        const float *g = dout + (size_t)y0 * d->w; /* [c_out][n], row stride hw */
        nn_im2col(col, in, d, y0, y1);
        /* dwt^T [kk][c_out] (+)= col [kk][n] x g^T [n][c_out]: this orientation runs 5-15% faster in
         * OpenBLAS than dwt = g x col^T on aa-cnn-s's shapes. */
        nn_gemm(0, 1, kk, d->c_out, n, 1.0f, col, n, g, hw, y0 == 0 ? 0.0f : 1.0f, dwt_t, d->c_out);
        if (din) {
            /* dcol [kk][n] = wt^T [kk][c_out] x g [c_out][n] */
            nn_gemm(1, 0, kk, n, d->c_out, 1.0f, wt, kk, g, hw, 0.0f, dcol, n);
            nn_col2im_add(din, dcol, d, y0, y1);
        }
    }
    for (int co = 0; co < d->c_out; co++)
        for (int j = 0; j < kk; j++)
            dwt[(size_t)co * kk + j] = dwt_t[(size_t)j * d->c_out + co];
}
