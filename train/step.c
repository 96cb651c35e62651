/* Soft-target cross-entropy for mixup batches, in double, filling nn/'s logit gradient. */
#include <math.h>
#include <stdlib.h>

#include "train/step.h"

int tr_soft_step(nn_model *m, nn_optimizer *o, const float *x, const float *targets, const int *labels, int batch,
                 const float *class_weight, float smoothing, uint64_t seed, float lr, nn_step_result *res,
                 aa_error *err)
{
    int rc = nn_forward_train(m, x, batch, seed, nn_opt_steps(o), err);
    if (rc)
        return rc;
    int k = nn_model_get_info(m).n_classes;
    const float *z = nn_logits(m);
    float *g = nn_logits_grad(m);
    double *p = malloc((size_t)k * sizeof *p);
    double *w = malloc((size_t)batch * sizeof *w);
    if (!p || !w) {
        free(p);
        free(w);
        return aa_error_set(err, NN_ERR_NOMEM, "out of memory");
    }
    double wsum = 0, loss = 0;
    int correct = 0;
    for (int i = 0; i < batch; i++) {
        const float *t = targets + (size_t)i * k;
        w[i] = 0;
        for (int c = 0; c < k; c++)
            w[i] += t[c] * (class_weight ? class_weight[c] : 1.0f);
        wsum += w[i];
    }
    for (int i = 0; i < batch; i++) {
        const float *zi = z + (size_t)i * k, *t = targets + (size_t)i * k;
        double mx = zi[0], sum = 0;
        int best = 0;
        for (int c = 1; c < k; c++)
            if (zi[c] > zi[best])
                best = c;
        mx = zi[best];
        for (int c = 0; c < k; c++)
            sum += (p[c] = exp((double)zi[c] - mx));
        double lse = mx + log(sum), li = 0;
        for (int c = 0; c < k; c++) {
            double tc = (1 - smoothing) * t[c] + smoothing / k;
            p[c] /= sum;
            li -= tc * ((double)zi[c] - lse);
            g[(size_t)i * k + c] = (float)(w[i] / wsum * (p[c] - tc));
        }
        loss += w[i] * li;
        correct += best == labels[i];
    }
    loss /= wsum;
    free(p);
    free(w);
    if (!isfinite(loss))
        return aa_error_set(err, NN_ERR_NUMERIC, "training loss is not finite");
    if ((rc = nn_backward(m, err)))
        return rc;
    float gn = 0;
    if ((rc = nn_opt_step(o, m, lr, &gn, err)))
        return rc;
    if (res)
        *res = (nn_step_result){.loss = (float)loss, .grad_norm = gn, .correct = correct};
    return 0;
}
