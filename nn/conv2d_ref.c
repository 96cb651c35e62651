/* Plain reference convolution: the definition, loop by loop, in double. The fast kernels are tested
 * against it. */
#include "nn/nn_kernels.h"

void nn_conv2d_forward_ref(float *out, const float *in, const float *wt, const float *bias,
                           const nn_conv_dims *d)
{
    const int k = d->k, h = d->h, w = d->w;
    for (int co = 0; co < d->c_out; co++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                double s = bias ? bias[co] : 0.0;
                for (int ci = 0; ci < d->c_in; ci++)
                    for (int ky = 0; ky < k; ky++)
                        for (int kx = 0; kx < k; kx++) {
                            int iy = y + ky - d->pad, ix = x + kx - d->pad;
                            if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                                continue;
                            s += (double)wt[(((size_t)co * d->c_in + ci) * k + ky) * k + kx] *
                                 in[((size_t)ci * h + iy) * w + ix];
                        }
                out[((size_t)co * h + y) * w + x] = (float)s;
            }
}

void nn_conv2d_backward_ref(float *din, float *dwt, float *dbias, const float *dout, const float *in,
                            const float *wt, const nn_conv_dims *d)
{
    const int k = d->k, h = d->h, w = d->w;
    for (int co = 0; co < d->c_out; co++) {
        if (dbias) {
            double s = 0;
            for (int i = 0; i < h * w; i++)
                s += dout[(size_t)co * h * w + i];
            dbias[co] += (float)s;
        }
        for (int ci = 0; ci < d->c_in; ci++)
            for (int ky = 0; ky < k; ky++)
                for (int kx = 0; kx < k; kx++) {
                    double s = 0;
                    for (int y = 0; y < h; y++)
                        for (int x = 0; x < w; x++) {
                            int iy = y + ky - d->pad, ix = x + kx - d->pad;
                            if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                                continue;
                            s += (double)dout[((size_t)co * h + y) * w + x] * in[((size_t)ci * h + iy) * w + ix];
                        }
                    dwt[(((size_t)co * d->c_in + ci) * k + ky) * k + kx] += (float)s;
                }
    }
    if (!din)
        return;
    for (int ci = 0; ci < d->c_in; ci++)
        for (int iy = 0; iy < h; iy++)
            for (int ix = 0; ix < w; ix++) {
                double s = 0;
                for (int co = 0; co < d->c_out; co++)
                    for (int ky = 0; ky < k; ky++)
                        for (int kx = 0; kx < k; kx++) {
                            int y = iy - ky + d->pad, x = ix - kx + d->pad;
                            if (y < 0 || y >= h || x < 0 || x >= w)
                                continue;
                            s += (double)dout[((size_t)co * h + y) * w + x] *
                                 wt[(((size_t)co * d->c_in + ci) * k + ky) * k + kx];
                        }
                din[((size_t)ci * h + iy) * w + ix] += (float)s;
            }
}
