/* Dense (fully connected) layer for one sample, as 1-row matrix products. */
#include "nn/nn_internal.h"

void nn_dense_forward(float *out, const float *in, const float *wt, const float *bias, int n_in, int n_out)
{
    /* out [1][n_out] = in [1][n_in] x wt^T [n_in][n_out] */
    nn_gemm(0, 1, 1, n_out, n_in, 1.0f, in, n_in, wt, n_in, 0.0f, out, n_out);
    if (bias)
        for (int o = 0; o < n_out; o++)
            out[o] += bias[o];
}

void nn_dense_backward(float *din, float *dwt, float *dbias, const float *dout, const float *in,
                       const float *wt, int n_in, int n_out)
{
    /* dwt [n_out][n_in] = dout^T [n_out][1] x in [1][n_in] */
    nn_gemm(1, 0, n_out, n_in, 1, 1.0f, dout, n_out, in, n_in, 0.0f, dwt, n_in);
    if (dbias)
        for (int o = 0; o < n_out; o++)
            dbias[o] = dout[o];
    /* din [1][n_in] = dout [1][n_out] x wt [n_out][n_in] */
    if (din)
        nn_gemm(0, 0, 1, n_in, n_out, 1.0f, dout, n_out, wt, n_in, 0.0f, din, n_in);
}
