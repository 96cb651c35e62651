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
    double *w = malloc((size_t)k * sizeof *w); /* u_ic of the sample at hand */
    if (!p || !w) {
        free(p);
        free(w);
        return aa_error_set(err, NN_ERR_NOMEM, "out of memory");
    }
    /* PyTorch's weighted, smoothed cross-entropy, with the one-hot target replaced by t: sample i's term
     * is -sum_c u_ic log p_ic with u_ic = w_c ((1 - s) t_ic + s / k), and the sum over samples is divided
     * by sum_i sum_c w_c t_ic. Its gradient in logit j is (p_ij sum_c u_ic - u_ij) / that sum. */
    double wsum = 0, loss = 0;
    int correct = 0;
    for (int i = 0; i < batch; i++) {
        const float *t = targets + (size_t)i * k;
        for (int c = 0; c < k; c++)
            wsum += t[c] * (double)(class_weight ? class_weight[c] : 1.0f);
    }
    for (int i = 0; i < batch; i++) {
        const float *zi = z + (size_t)i * k, *t = targets + (size_t)i * k;
        int best = 0;
        for (int c = 1; c < k; c++)
            if (zi[c] > zi[best])
                best = c;
        double mx = zi[best], sum = 0, usum = 0;
        for (int c = 0; c < k; c++)
            sum += (p[c] = exp((double)zi[c] - mx));
        double lse = mx + log(sum);
        for (int c = 0; c < k; c++) {
            w[c] = (class_weight ? class_weight[c] : 1.0) * ((1 - smoothing) * t[c] + (double)smoothing / k);
            usum += w[c];
            loss -= w[c] * ((double)zi[c] - lse);
        }
        for (int c = 0; c < k; c++)
            g[(size_t)i * k + c] = (float)((p[c] / sum * usum - w[c]) / wsum);
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
