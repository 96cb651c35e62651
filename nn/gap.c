/* Global average pool over each channel's map. */
#include "nn/nn_internal.h"

void nn_gap_forward(float *out, const float *in, int c, int hw)
{
    for (int ch = 0; ch < c; ch++) {
        const float *x = in + (size_t)ch * hw;
        double s = 0;
        for (int i = 0; i < hw; i++)
            s += x[i];
        out[ch] = (float)(s / hw);
    }
}

void nn_gap_backward(float *din, const float *dout, int c, int hw)
{
    for (int ch = 0; ch < c; ch++) {
        const float g = dout[ch] / (float)hw;
        float *d = din + (size_t)ch * hw;
        for (int i = 0; i < hw; i++)
            d[i] = g;
    }
}
