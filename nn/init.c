/* He (Kaiming) initialisation from our own seeded RNG, so a seed gives the same weights everywhere. */
#include <math.h>
#include <string.h>

#include "nn/nn_internal.h"

void nn_init_he(nn_model *m, uint64_t seed)
{
    aa_rng r;
    aa_rng_seed(&r, seed);
    for (int i = 0; i < m->n_tensors; i++) {
        const nn_tensor_info *t = &m->tensors[i];
        float *d = nn_tensor_data(m, i);
        const char *field = strrchr(t->name, '.') + 1;
        if (strcmp(field, "weight") == 0 && t->ndim > 1) {
            /* conv [out][in][k][k] or dense [out][in]: fan_in is everything but the first dimension */
            size_t fan_in = t->count / (size_t)t->dims[0];
            double sd = sqrt(2.0 / (double)fan_in);
            for (size_t j = 0; j < t->count; j++)
                d[j] = (float)(sd * aa_rng_normal(&r));
        } else {
            /* batch-norm scale and running variance 1; biases, shifts, running means 0 */
            float v = strcmp(field, "weight") == 0 || strcmp(field, "running_var") == 0 ? 1.0f : 0.0f;
            for (size_t j = 0; j < t->count; j++)
                d[j] = v;
        }
    }
}
