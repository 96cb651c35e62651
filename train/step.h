#ifndef TR_STEP_H
#define TR_STEP_H

/* One training step with soft targets (mixup): nn/ has the loss for one label per sample; a mixed window
 * has two, with weights lambda and 1 - lambda. */

#include "nn/nn.h"

/* Forward (dropout seeded with seed and the optimiser's step count, as nn_train_step does), soft-target
 * cross-entropy, backward, optimiser step at rate lr. The loss is PyTorch's CrossEntropyLoss(weight,
 * label_smoothing) with probability targets: sample i contributes -sum_c w_c ((1 - s) t_ic + s / k) log p_ic,
 * and the total is divided by sum_i sum_c w_c t_ic (class_weight NULL: w = 1). For one-hot targets this is
 * nn_loss's loss. res->correct counts argmax == labels[i]. NN_ERR_NUMERIC, parameters untouched, when the
 * loss is not finite. */
int tr_soft_step(nn_model *m, nn_optimizer *o, const float *x /* [b][1][h][w] */, const float *targets /* [b][k] */,
                 const int *labels /* [b] */, int batch, const float *class_weight /* [k] */, float smoothing,
                 uint64_t seed, float lr, nn_step_result *res, aa_error *err);

#endif
