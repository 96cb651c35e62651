#ifndef TR_STEP_H
#define TR_STEP_H

/* One training step with soft targets (mixup): nn/ has the loss for one label per sample; a mixed window
 * has two, with weights lambda and 1 - lambda. */

#include "nn/nn.h"

/* Forward (dropout seeded with seed and the optimiser's step count, as nn_train_step does), soft-target
 * cross-entropy, backward, optimiser step at rate lr. The target of sample i is
 * (1 - smoothing) targets[i] + smoothing / k; its term is weighted by sum_c targets[i][c] class_weight[c]
 * (class_weight NULL: 1), and the loss is the weighted mean, which for one-hot targets is exactly
 * nn_loss's. res->correct counts argmax == labels[i]. NN_ERR_NUMERIC, parameters untouched, when the loss
 * is not finite. */
int tr_soft_step(nn_model *m, nn_optimizer *o, const float *x /* [b][1][h][w] */, const float *targets /* [b][k] */,
                 const int *labels /* [b] */, int batch, const float *class_weight /* [k] */, float smoothing,
                 uint64_t seed, float lr, nn_step_result *res, aa_error *err);

#endif
