/* A pooled block whose 3x3 convolution has a single input channel (a network's first layer on a log-mel map)
 * needs neither its conv output nor the gradient there for its batch-norm statistics and weight gradient.
 * The conv output y is linear in the input x: y(q) = bias + sum_t w_t x(q + t) over the nine taps t, so
 *   sum_q y(q)     = N bias + w . S,                         S_t     = sum_q x(q + t)
 *   sum_q y(q)^2   = w' G w + 2 bias (w . S) + N bias^2,       G_{tu}  = sum_q x(q + t) x(q + u)
 * over the N output positions q of one sample; and the gradient at the conv output, a + b (y - mu) everywhere
 * plus k g at each live pooled cell's argmax (nn_block_backward_dy), gives the weight gradient
 *   dW_t = (a - b mu + b bias) S_t + b (w' G)_t + k sum_cells g x(argmax + t).
 * S and G (nine and 81 doubles per sample) come from one pass over the input; the last sum is a pass over the
 * pooled cells. Both replace passes over the 16-channel conv output, 16 times larger than the input. S and G
 * are summed in double, so the variance (a difference of two such sums) keeps its digits even when the
 * outputs' mean is far larger than their spread. */
#include "nn/nn_kernels.h"

void nn_gram_stats(double *mean, double *m2, const double *gram, const float *wt, const float *bias, int c,
                   double n)
{
    const double *S = gram, *G = gram + 9;
    for (int co = 0; co < c; co++) {
        const float *w = wt + (size_t)co * 9;
        const double b = bias ? bias[co] : 0.0;
        double ws = 0, wgw = 0;
        for (int t = 0; t < 9; t++) {
            double gw = 0;
            for (int u = 0; u < 9; u++)
                gw += G[t * 9 + u] * w[u];
            ws += w[t] * S[t];
            wgw += w[t] * gw;
        }
        double mu = b + ws / n, sq = wgw + 2 * b * ws + n * b * b;
        mean[co] = mu;
        m2[co] = sq - n * mu * mu;
        if (m2[co] < 0)
            m2[co] = 0;
    }
}

void nn_gram_wgrad(float *dwt, float *dbias, const double *gram, const double *cell, const float *wt,
                   const float *bias, const double *mean, const double *invstd, const double *sdz,
                   const double *sdzx, const float *gamma, int c, double n_batch, double n)
{
    const double *S = gram, *G = gram + 9;
    for (int co = 0; co < c; co++) {
        /* the batch-norm backward coefficients of nn_bn_backward_coef, kept in double */
        const double kc = gamma[co] * invstd[co], mu = mean[co];
        const double a = -kc * sdz[co] / n_batch, b = -kc * sdzx[co] / n_batch * invstd[co];
        const float *w = wt + (size_t)co * 9;
        const double bi = bias ? bias[co] : 0.0;
        const double *T = cell + (size_t)co * 10; /* nine window sums, then the sum of g */
        double ws = 0;
        for (int t = 0; t < 9; t++) {
            double gw = 0;
            for (int u = 0; u < 9; u++)
                gw += w[u] * G[u * 9 + t];
            ws += w[t] * S[t];
            dwt[(size_t)co * 9 + t] = (float)((a - b * mu + b * bi) * S[t] + b * gw + kc * T[t]);
        }
        if (dbias) /* the gradient summed over the sample: n a + b (sum y - n mu) + k sum g */
            dbias[co] = (float)(n * a + b * (n * bi + ws - n * mu) + kc * T[9]);
    }
}
