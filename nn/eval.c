/* Evaluation forward: every sample independent, each thread carrying its own samples through all stages
 * in its own scratch, so no barrier and no batch-sized buffer; batch 1 runs on the calling thread. */
#include <omp.h>
#include <string.h>

#include "nn/nn_model.h"

static void eval_sample(nn_model *m, const float *x, float *logits, nn_scratch *sc)
{
    const float *cur = x;
    for (int i = 0; i < m->n_stages; i++) {
        float *out = i == m->n_stages - 1 ? logits : (i % 2 ? sc->pong : sc->ping);
        m->stages[i].op->eval(m, &m->stages[i], out, cur, sc);
        cur = out;
    }
}

int nn_forward_eval(nn_model *m, const float *x, int batch, float *logits, aa_error *err)
{
    if (batch < 1 || !x || !logits)
        return aa_error_set(err, NN_ERR_ARG, "forward: invalid batch (%d samples)", batch);
    for (int i = 0; i < m->n_stages; i++)
        if (m->stages[i].op->eval_prepare)
            m->stages[i].op->eval_prepare(m, &m->stages[i]);
    nn_model_pack_weights(m, 0);
    const size_t in_size = (size_t)m->in_c * m->in_h * m->in_w;
    const int k = m->n_classes, threads = nn_model_threads_eff(m);
    if (batch == 1 || threads == 1) {
        for (int s = 0; s < batch; s++)
            eval_sample(m, x + s * in_size, logits + (size_t)s * k, &m->scratch[0]);
        return 0;
    }
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (int s = 0; s < batch; s++)
        eval_sample(m, x + s * in_size, logits + (size_t)s * k, &m->scratch[omp_get_thread_num()]);
    return 0;
}
