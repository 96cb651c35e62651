/* Direct convolution on zero-padded planes: the layout, its padding, the packed weights, and the entry points
 * of the AVX-512 kernels (nn/convd_avx512.c).
 *
 * Why: im2col + sgemm copies the input k*k times, OpenBLAS then packs that copy again, the weight gradient
 * needs a transpose and the input gradient a col2im pass; on aa-cnn-s those copies cost as much as the
 * multiplications. On a padded plane (row length ws = w + 2p) the output at flat position q = y ws + x is
 * sum over taps of w_tap * plane[q + ky ws + kx]: each tap is the same plane shifted, so a kernel reads the
 * input in place and keeps its sums in registers across all taps and channels. Positions with x >= w are
 * computed too (they wrap into the padding) and never stored; they cost 2p/ws of the work.
 *
 * AVX-512 only: 8-float AVX2 versions of these kernels ran aa-cnn-s's training at 427 ms/step against 350 for
 * im2col + OpenBLAS's Haswell sgemm (one thread, measured with OPENBLAS_CORETYPE=Haswell on an AVX-512 Xeon),
 * so AVX2 CPUs keep the im2col path (nn/conv2d.c). */
#include <string.h>

#include "nn/nn_kernels.h"

nn_pad_geom nn_pad_geom_of(const nn_conv_dims *d)
{
    nn_pad_geom g;
    g.p = d->k / 2;
    g.ws = d->w + 2 * g.p;
    g.n = d->h * g.ws;
    /* The map's first value on a 64-byte boundary: the weight-gradient kernel's loads of the output gradient
     * are then aligned (a 64-byte load across two cache lines costs about twice one within a line). */
    g.base = (16 - (g.p * g.ws + g.p) % 16) % 16;
    g.org = (size_t)g.base + (size_t)g.p * g.ws + g.p;
    /* Slack after the padded map: the kernels run whole blocks of up to 48 outputs past n and read up to
     * 2p ws + 2p beyond each output. */
    size_t need = g.base + (size_t)(d->h + 2 * g.p) * g.ws + 2 * g.p + 64;
    g.plane = (need + 15) & ~(size_t)15;
    return g;
}

void nn_pad_planes(float *pad, const float *in, int c, int h, int w, const nn_pad_geom *g)
{
    const int p = g->p, ws = g->ws;
    for (int ch = 0; ch < c; ch++) {
        float *pl = pad + (size_t)ch * g->plane;
        const float *src = in + (size_t)ch * h * w;
        /* lead, top padding and the left padding of the first row */
        memset(pl, 0, sizeof *pl * g->org);
        for (int y = 0; y < h; y++) {
            float *row = pl + g->org + (size_t)y * ws;
            memcpy(row, src + (size_t)y * w, sizeof *row * (size_t)w);
            /* right padding of this row and left padding of the next, contiguous */
            memset(row + w, 0, sizeof *row * (size_t)(2 * p));
        }
        size_t end = g->org + (size_t)(h - 1) * ws + w + 2 * p;
        memset(pl + end, 0, sizeof *pl * (g->plane - end));
    }
}

void nn_pad_zero_borders(float *pad, int c, int h, int w, const nn_pad_geom *g)
{
    const int p = g->p, ws = g->ws;
    for (int ch = 0; ch < c; ch++) {
        float *pl = pad + (size_t)ch * g->plane;
        memset(pl, 0, sizeof *pl * g->org);
        if (p > 0)
            for (int y = 0; y < h; y++)
                memset(pl + g->org + (size_t)y * ws + w, 0, sizeof *pl * (size_t)(2 * p));
        size_t end = g->org + (size_t)(h - 1) * ws + w + 2 * p;
        memset(pl + end, 0, sizeof *pl * (g->plane - end));
    }
}

size_t nn_convd_pack_size(const nn_conv_dims *d)
{
    /* The larger of the two packings: output channels rounded up to blocks of NN_CONVD_CB, for the forward
     * ([c_out][c_in]) and the transposed ([c_in][c_out]) convolution. */
    size_t kk = (size_t)d->k * d->k;
    size_t fo = (size_t)(d->c_out + NN_CONVD_CB - 1) / NN_CONVD_CB * NN_CONVD_CB * d->c_in;
    size_t tr = (size_t)(d->c_in + NN_CONVD_CB - 1) / NN_CONVD_CB * NN_CONVD_CB * d->c_out;
    return kk * (fo > tr ? fo : tr);
}

void nn_convd_pack(float *wb, const float *wt, const nn_conv_dims *d)
{
    const int kk = d->k * d->k, CB = NN_CONVD_CB;
    for (int c0 = 0; c0 < d->c_out; c0 += CB)
        for (int ci = 0; ci < d->c_in; ci++)
            for (int t = 0; t < kk; t++) {
                float *dst = wb + (((size_t)c0 * d->c_in + (size_t)ci * CB) * kk) + (size_t)t * CB;
                for (int j = 0; j < CB; j++)
                    dst[j] = c0 + j < d->c_out ? wt[(((size_t)(c0 + j)) * d->c_in + ci) * kk + t] : 0.0f;
            }
}

void nn_convd_pack_t(float *wb, const float *wt, const nn_conv_dims *d)
{
    /* The input gradient is the convolution of the padded output gradient with the kernel turned by 180
     * degrees and its channel axes swapped: din[ci] = sum_co w[co][ci][k-1-ky][k-1-kx] (*) dout[co]. */
    const int kk = d->k * d->k, CB = NN_CONVD_CB;
    for (int c0 = 0; c0 < d->c_in; c0 += CB)
        for (int co = 0; co < d->c_out; co++)
            for (int t = 0; t < kk; t++) {
                float *dst = wb + (((size_t)c0 * d->c_out + (size_t)co * CB) * kk) + (size_t)t * CB;
                for (int j = 0; j < CB; j++)
                    dst[j] = c0 + j < d->c_in ? wt[((size_t)co * d->c_in + c0 + j) * kk + (kk - 1 - t)] : 0.0f;
            }
}

/* The transposed convolution's shape: channels swapped, the same map and padding. */
static nn_conv_dims transposed(const nn_conv_dims *d)
{
    nn_conv_dims t = *d;
    t.c_in = d->c_out;
    t.c_out = d->c_in;
    return t;
}

void nn_convd_forward_rows(float *out, const float *pad, const float *wb, const float *bias, const nn_conv_dims *d,
                           const nn_pad_geom *g, int y0, int y1)
{
#if defined(__x86_64__)
    nn_convd_fwd_avx512(out, pad, wb, bias, d, g, y0, y1);
#else
    (void)out, (void)pad, (void)wb, (void)bias, (void)d, (void)g, (void)y0, (void)y1;
#endif
}

void nn_convd_forward(float *out, const float *pad, const float *wb, const float *bias, const nn_conv_dims *d,
                      const nn_pad_geom *g)
{
    nn_convd_forward_rows(out, pad, wb, bias, d, g, 0, d->h);
}

void nn_convd_backward_data(float *din, const float *dpad, const float *wbt, const nn_conv_dims *d,
                            const nn_pad_geom *g)
{
    nn_conv_dims t = transposed(d);
    nn_convd_forward(din, dpad, wbt, NULL, &t, g);
}

int nn_convd_wgrad_cl(const nn_conv_dims *d)
{
    return d->c_in % 16 == 0;
}

void nn_convd_pad_wgrad_input(float *pad, const float *in, const nn_conv_dims *d, const nn_pad_geom *g)
{
#if defined(__x86_64__)
    if (nn_convd_wgrad_cl(d)) {
        nn_pad_cl_avx512(pad, in, d->c_in, d->h, d->w, g);
        return;
    }
#endif
    nn_pad_planes(pad, in, d->c_in, d->h, d->w, g);
}

void nn_convd_backward_w(float *dwt, const float *dpad, const float *pad, const nn_conv_dims *d,
                         const nn_pad_geom *g)
{
#if defined(__x86_64__)
    if (nn_convd_wgrad_cl(d))
        nn_convd_bwdw_cl_avx512(dwt, dpad, pad, d, g);
    else
        nn_convd_bwdw_avx512(dwt, dpad, pad, d, g);
#else
    (void)dwt, (void)dpad, (void)pad, (void)d, (void)g;
#endif
}
