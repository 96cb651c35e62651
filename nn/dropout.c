/* Inverted dropout: kept values are scaled by 1/(1-p) during training, so evaluation is the identity. */
#include "nn/nn_internal.h"

void nn_dropout_mask(float *mask, size_t n, float p, aa_rng *rng)
{
    const float keep = 1.0f / (1.0f - p);
    for (size_t i = 0; i < n; i++)
        mask[i] = aa_rng_uniform(rng) < p ? 0.0f : keep;
}

void nn_mul(float *out, const float *a, const float *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] * b[i];
}
