/* 2x2 max pool, stride 2, floor (an odd last row or column is dropped), as PyTorch's MaxPool2d(2). */
#include <string.h>

#include "nn/nn_internal.h"

void nn_maxpool_forward(float *out, uint8_t *arg, const float *in, int c, int h, int w)
{
    const int ph = h / 2, pw = w / 2;
    for (int ch = 0; ch < c; ch++)
        for (int py = 0; py < ph; py++) {
            const float *r0 = in + ((size_t)ch * h + 2 * py) * w, *r1 = r0 + w;
            for (int px = 0; px < pw; px++) {
                float v[4] = {r0[2 * px], r0[2 * px + 1], r1[2 * px], r1[2 * px + 1]};
                int k = 0;
                for (int j = 1; j < 4; j++) /* first maximum in scan order wins */
                    if (v[j] > v[k])
                        k = j;
                size_t o = ((size_t)ch * ph + py) * pw + px;
                out[o] = v[k];
                if (arg)
                    arg[o] = (uint8_t)k;
            }
        }
}

void nn_maxpool_backward(float *din, const float *dout, const uint8_t *arg, int c, int h, int w)
{
    const int ph = h / 2, pw = w / 2;
    memset(din, 0, sizeof *din * (size_t)c * h * w);
    for (int ch = 0; ch < c; ch++)
        for (int py = 0; py < ph; py++)
            for (int px = 0; px < pw; px++) {
                size_t o = ((size_t)ch * ph + py) * pw + px;
                int k = arg[o];
                din[((size_t)ch * h + 2 * py + (k >> 1)) * w + 2 * px + (k & 1)] = dout[o];
            }
}
