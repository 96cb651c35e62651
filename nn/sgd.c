/* SGD with momentum (PyTorch's form: the buffer starts as the first gradient; Nesterov optional). */
#include "nn/nn_internal.h"

void nn_sgd_update(float *w, float *buf, const float *g, const uint8_t *decay, size_t n, const nn_opt_config *c,
                   float lr, uint64_t t, float gscale)
{
    const float mu = c->momentum, wd = c->weight_decay;
    for (size_t j = 0; j < n; j++) {
        float gj = g[j] * gscale;
        if (decay[j] && wd != 0)
            gj += wd * w[j];
        if (mu != 0) {
            buf[j] = t == 1 ? gj : mu * buf[j] + gj;
            gj = c->nesterov ? gj + mu * buf[j] : buf[j];
        }
        w[j] -= lr * gj;
    }
}
