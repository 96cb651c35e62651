/* Convolution of one sample. With AVX-512: the direct kernels on padded planes (nn/convd.c). Otherwise:
 * im2col over bands of output rows + one sgemm per band, and a direct kernel for a single input channel
 * (the first layer of aa-cnn-s), where the im2col GEMM has K = k*k, a poor shape. */
#include <string.h>

#include "nn/nn_kernels.h"

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

/* im2col path: two bands (the backward pass keeps the im2col band while forming the input-gradient band) and
 * the transposed weight gradient, or the padded single-channel input. */
static size_t gemm_scratch(const nn_conv_dims *d)
{
    size_t kk = (size_t)d->c_in * d->k * d->k, band = kk * (size_t)band_rows(d) * d->w;
    size_t padded = (size_t)(d->h + 2 * d->pad) * (d->w + 2 * d->pad);
    size_t need = 2 * band + kk * (size_t)d->c_out;
    return need > padded ? need : padded;
}

/* Direct path: padded input, padded output gradient, packed weights (one packing at a time). */
static size_t direct_scratch(const nn_conv_dims *d)
{
    nn_pad_geom g = nn_pad_geom_of(d);
    return g.plane * (size_t)(d->c_in + d->c_out) + nn_convd_pack_size(d);
}

size_t nn_conv2d_scratch(const nn_conv_dims *d)
{
    size_t a = gemm_scratch(d), b = direct_scratch(d);
    return a > b ? a : b;
}

/* The direct kernels take this padding: k/2, as the model builds them. */
static int direct_ok(const nn_conv_dims *d, int isa)
{
    return isa >= NN_ISA_AVX512 && d->pad == d->k / 2 && d->k <= 7;
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

void nn_conv2d_forward_isa(float *out, const float *in, const float *wt, const float *bias, const nn_conv_dims *d,
                           float *scratch, int isa)
{
    const int hw = d->h * d->w, kk = d->c_in * d->k * d->k;
    if (direct_ok(d, isa)) {
        nn_pad_geom g = nn_pad_geom_of(d);
        float *pad = scratch, *wb = pad + g.plane * (size_t)(d->c_in + d->c_out);
        nn_pad_planes(pad, in, d->c_in, d->h, d->w, &g);
        nn_convd_pack(wb, wt, d);
        nn_convd_forward(out, pad, wb, bias, d, &g);
        return;
    }
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

void nn_conv2d_forward(float *out, const float *in, const float *wt, const float *bias, const nn_conv_dims *d,
                       float *scratch)
{
    nn_conv2d_forward_isa(out, in, wt, bias, d, scratch, nn_cpu_isa());
}

void nn_conv_bias_grad(float *dbias, const float *dout, int c, int h, int w, int rs, size_t cs)
{
    for (int co = 0; co < c; co++) {
        double s = 0;
        for (int y = 0; y < h; y++) {
            const float *g = dout + (size_t)co * cs + (size_t)y * rs;
            for (int x = 0; x < w; x++)
                s += g[x];
        }
        dbias[co] = (float)s;
    }
}

void nn_conv2d_backward_isa(float *din, float *dwt, float *dbias, const float *dout, const float *in,
                            const float *wt, const nn_conv_dims *d, float *scratch, int isa)
{
    const int hw = d->h * d->w, kk = d->c_in * d->k * d->k;
    if (dbias)
        nn_conv_bias_grad(dbias, dout, d->c_out, d->h, d->w, d->w, (size_t)hw);
    if (direct_ok(d, isa)) {
        nn_pad_geom g = nn_pad_geom_of(d);
        float *pad = scratch, *dpad = pad + g.plane * (size_t)d->c_in, *wb = dpad + g.plane * (size_t)d->c_out;
        nn_convd_pad_wgrad_input(pad, in, d, &g);
        nn_pad_planes(dpad, dout, d->c_out, d->h, d->w, &g);
        nn_convd_backward_w(dwt, dpad, pad, d, &g);
        if (din) {
            nn_convd_pack_t(wb, wt, d);
            nn_convd_backward_data(din, dpad, wb, d, &g);
        }
        return;
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

void nn_conv2d_backward(float *din, float *dwt, float *dbias, const float *dout, const float *in,
                        const float *wt, const nn_conv_dims *d, float *scratch)
{
    nn_conv2d_backward_isa(din, dwt, dbias, dout, in, wt, d, scratch, nn_cpu_isa());
}
