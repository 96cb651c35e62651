/* Adam and AdamW updates (PyTorch's formulas: bias-corrected moments, eps outside the square root). */
#include <math.h>

#include "nn/nn_internal.h"

void nn_adam_update(float *w, float *m1, float *m2, const float *g, const uint8_t *decay, size_t n,
                    const nn_opt_config *c, float lr, uint64_t t, float gscale)
{
    const double bc1 = 1.0 - pow(c->beta1, (double)t), bc2 = 1.0 - pow(c->beta2, (double)t);
    const float b1 = c->beta1, b2 = c->beta2, eps = c->eps, wd = c->weight_decay;
    const float step = (float)(lr / bc1), rbc2 = (float)(1.0 / sqrt(bc2));
    const int adamw = c->kind == NN_OPT_ADAMW;
    for (size_t j = 0; j < n; j++) {
        float gj = g[j] * gscale;
        if (decay[j] && wd != 0) {
            if (adamw)
                w[j] *= 1.0f - lr * wd;
            else
                gj += wd * w[j];
        }
        m1[j] = b1 * m1[j] + (1.0f - b1) * gj;
        m2[j] = b2 * m2[j] + (1.0f - b2) * gj * gj;
        w[j] -= step * m1[j] / (sqrtf(m2[j]) * rbc2 + eps);
    }
}
