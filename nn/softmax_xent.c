/* Softmax cross-entropy with class weights and label smoothing, PyTorch's CrossEntropyLoss semantics:
 * loss = [ (1-s) sum_i w[y_i] (-log p_i[y_i]) + (s/K) sum_i sum_k w[k] (-log p_i[k]) ] / sum_i w[y_i]. */
#include <math.h>

#include "nn/nn_kernels.h"

static double target_weight(int j, int label, int k, const float *class_weights, float smoothing)
{
    double wj = class_weights ? class_weights[j] : 1.0;
    return smoothing * wj / k + (j == label ? (1.0 - smoothing) * wj : 0.0);
}

double nn_softmax_xent(float *probs, float *dlogits, const float *logits, const int *labels, int batch, int k,
                       const float *class_weights, float smoothing)
{
    double wsum = 0, total = 0;
    for (int i = 0; i < batch; i++)
        wsum += class_weights ? class_weights[labels[i]] : 1.0;
    if (!(wsum > 0))
        wsum = 1; /* all weights zero: the loss and its gradient are zero, not NaN */
    for (int i = 0; i < batch; i++) {
        const float *z = logits + (size_t)i * k;
        float *p = probs + (size_t)i * k, *g = dlogits + (size_t)i * k;
        double mx = z[0], se = 0;
        for (int j = 1; j < k; j++)
            if (z[j] > mx)
                mx = z[j];
        for (int j = 0; j < k; j++)
            se += exp(z[j] - mx);
        const double lse = mx + log(se);
        /* c_j: the weight of -log p_j in this sample's term; the gradient is (sum_j c_j) p - c. */
        double csum = 0;
        for (int j = 0; j < k; j++) {
            double cj = target_weight(j, labels[i], k, class_weights, smoothing);
            csum += cj;
            total += cj * (lse - z[j]);
        }
        for (int j = 0; j < k; j++) {
            double pj = exp(z[j] - lse);
            p[j] = (float)pj;
            g[j] = (float)((csum * pj - target_weight(j, labels[i], k, class_weights, smoothing)) / wsum);
        }
    }
    return total / wsum;
}
