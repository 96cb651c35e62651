/* Soft-target cross-entropy for mixup batches, in double, filling nn/'s logit gradient. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

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
    /* A batch shared among processes (nn_set_shard): the loss is the whole batch's, from every process's
     * logits and targets; g is large enough for the whole batch's rows, this process's are moved first. */
    const int total = nn_shard_total(m), first = total ? nn_shard_first(m) : 0, mine = batch;
    float *all = total ? malloc((size_t)total * (2 * (size_t)k + 1) * sizeof *all) : NULL;
    int *all_labels = total ? malloc((size_t)total * sizeof *all_labels) : NULL;
    if (!p || !w || (total && (!all || !all_labels))) {
        free(p);
        free(w);
        free(all);
        free(all_labels);
        return aa_error_set(err, NN_ERR_NOMEM, "out of memory");
    }
    if (total) {
        float *lab = all + 2 * (size_t)total * k, *mine_lab = g; /* g is written below */
        for (int i = 0; i < mine; i++)
            mine_lab[i] = (float)labels[i];
        if ((rc = nn_shard_gather_rows(m, z, (size_t)k, all, err)) ||
            (rc = nn_shard_gather_rows(m, targets, (size_t)k, all + (size_t)total * k, err)) ||
            (rc = nn_shard_gather_rows(m, mine_lab, 1, lab, err))) {
            free(p);
            free(w);
            free(all);
            free(all_labels);
            return rc;
        }
        for (int i = 0; i < total; i++)
            all_labels[i] = (int)lab[i];
        z = all, targets = all + (size_t)total * k, labels = all_labels, batch = total;
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
    if (first)
        memmove(g, g + (size_t)first * k, (size_t)mine * k * sizeof *g);
    free(p);
    free(w);
    free(all);
    free(all_labels);
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
