/* The training pass: forward over stages with batch-norm reductions between per-sample phases, the loss,
 * the backward pass in the mirror order, and the sum of per-sample gradients in sample order.
 *
 * Each stage's per-sample phase runs in one parallel loop together with the previous stage's
 * post-reduction phase for the same sample, so a sample's data is touched while it is still in cache and
 * every stage costs one fork/join. */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "nn/nn_model.h"

int nn_forward_train(nn_model *m, const float *x, int batch, uint64_t seed, uint64_t step, aa_error *err)
{
    m->batch = 0, m->have_grad = 0; /* a failed forward leaves nothing to take a loss or gradient of */
    if (batch < 1 || batch > m->max_batch || !x)
        return aa_error_set(err, NN_ERR_ARG, "forward: batch of %d samples (this model takes 1..%d)", batch,
                            m->max_batch);
    const size_t in_size = (size_t)m->in_c * m->in_h * m->in_w;
    memcpy(m->input, x, sizeof *x * in_size * batch);
    m->seed = seed, m->step = step;
    nn_model_pack_weights(m, 0);
    const int threads = nn_model_threads_eff(m);
    nn_stage *pending = NULL; /* stage whose post phase is still to run */
    for (int i = 0; i < m->n_stages; i++) {
        nn_stage *st = &m->stages[i], *post = pending;
        const size_t isz = st->in_size;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1) if (threads > 1 && batch > 1)
        for (int s = 0; s < batch; s++) {
            nn_scratch *sc = &m->scratch[omp_get_thread_num()];
            if (post)
                post->op->fwd_post(m, post, s, sc);
            if (st->op->fwd_pre)
                st->op->fwd_pre(m, st, s, st->in + s * isz, sc);
            else
                st->op->eval(m, st, nn_stage_act(st, s), st->in + s * isz, sc);
        }
        pending = NULL;
        if (st->op->fwd_mid) {
            /* a shared batch: every process's partial sums (the stages that reduce are batch norm's) */
            if (m->shard_total && nn_shard_gather_parts(m, st->bn.part, 2 * (size_t)st->bn.c, batch, err))
                return err ? err->code : NN_ERR_IO;
            st->op->fwd_mid(m, st, nn_shard_batch_of(m, batch));
            pending = st->op->fwd_post ? st : NULL;
        }
    }
    if (pending) {
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1) if (threads > 1 && batch > 1)
        for (int s = 0; s < batch; s++)
            pending->op->fwd_post(m, pending, s, &m->scratch[omp_get_thread_num()]);
    }
    m->batch = batch;
    return 0;
}

const float *nn_logits(const nn_model *m)
{
    return m->stages[m->n_stages - 1].act;
}

float *nn_logits_grad(nn_model *m)
{
    m->have_grad = m->batch > 0;
    return m->dlogits;
}

int nn_loss(nn_model *m, const int *labels, const nn_loss_opts *opts, float *loss, float *probs,
            aa_error *err)
{
    if (m->batch == 0)
        return aa_error_set(err, NN_ERR_STATE, "loss: no training forward to take it of");
    const float *cw = opts ? opts->class_weights : NULL;
    const float smoothing = opts ? opts->label_smoothing : 0.0f;
    if (!(smoothing >= 0 && smoothing < 1))
        return aa_error_set(err, NN_ERR_ARG, "loss: label smoothing %g outside [0, 1)", (double)smoothing);
    for (int s = 0; s < m->batch; s++)
        if (labels[s] < 0 || labels[s] >= m->n_classes)
            return aa_error_set(err, NN_ERR_ARG, "loss: label %d of sample %d outside [0, %d)", labels[s], s,
                                m->n_classes);
    if (cw)
        for (int j = 0; j < m->n_classes; j++)
            if (!(cw[j] >= 0) || !isfinite(cw[j]))
                return aa_error_set(err, NN_ERR_ARG, "loss: class weight %d is %g (need finite, >= 0)", j,
                                    (double)cw[j]);
    const float *z = nn_logits(m);
    int n = m->batch, first = 0;
    if (m->shard_total) { /* the loss of the whole batch, of every process's logits and labels */
        const size_t k = (size_t)m->n_classes;
        float *lab = m->probs; /* free until the loss is taken */
        for (int s = 0; s < m->batch; s++)
            lab[s] = (float)labels[s];
        if (nn_shard_gather_rows(m, z, k, m->shard_rows, err) || nn_shard_gather_rows(m, lab, 1, lab, err))
            return err ? err->code : NN_ERR_IO;
        for (int s = 0; s < m->shard_total; s++)
            m->shard_labels[s] = (int)lab[s];
        z = m->shard_rows, labels = m->shard_labels, n = m->shard_total, first = m->shard_first;
    }
    double l = nn_softmax_xent(m->probs, m->dlogits, z, labels, n, m->n_classes, cw, smoothing);
    if (first) { /* this process's rows first, where nn_backward and the caller look */
        const size_t k = (size_t)m->n_classes, rows = (size_t)m->batch * k;
        memmove(m->probs, m->probs + (size_t)first * k, rows * sizeof *m->probs);
        memmove(m->dlogits, m->dlogits + (size_t)first * k, rows * sizeof *m->dlogits);
    }
    if (probs)
        memcpy(probs, m->probs, sizeof *probs * (size_t)m->batch * m->n_classes);
    if (loss)
        *loss = (float)l;
    if (!isfinite(l)) {
        m->have_grad = 0;
        return aa_error_set(err, NN_ERR_NUMERIC, "loss: not finite (%g)", l);
    }
    m->have_grad = 1;
    return 0;
}

/* grads[j] = sum over samples of gsamp[s][j], in sample order, in blocks of j for locality. */
static void reduce_grads(nn_model *m, int batch, int threads)
{
    const size_t n = m->n_params, blk = 1024;
    const long nblk = (long)((n + blk - 1) / blk);
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
    for (long b = 0; b < nblk; b++) {
        size_t j0 = (size_t)b * blk, j1 = j0 + blk < n ? j0 + blk : n;
        float *g = m->grads;
        memcpy(g + j0, m->gsamp + j0, sizeof *g * (j1 - j0));
        for (int s = 1; s < batch; s++) {
            const float *gs = m->gsamp + (size_t)s * n;
            for (size_t j = j0; j < j1; j++)
                g[j] += gs[j];
        }
    }
}

int nn_backward(nn_model *m, aa_error *err)
{
    if (m->batch == 0 || !m->have_grad)
        return aa_error_set(err, NN_ERR_STATE, "backward: needs a training forward and a loss first");
    const int batch = m->batch, threads = nn_model_threads_eff(m);
    const float *dout = m->dlogits;
    nn_model_pack_weights(m, 1);
    nn_stage *pending = NULL; /* stage whose post phase is still to run, with its gradients */
    int flip = 0;
    const float *p_dout = NULL;
    float *p_din = NULL;
    for (int i = m->n_stages - 1; i >= 0; i--) {
        float *din = i > 0 ? m->dbuf[flip] : NULL;
        nn_stage *st = &m->stages[i], *post = pending;
        const size_t osz = st->out_size;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1) if (threads > 1 && batch > 1)
        for (int s = 0; s < batch; s++) {
            if (post)
                post->op->bwd_post(m, post, s, post->in + s * post->in_size, p_dout + s * post->out_size,
                                   p_din + s * post->in_size, &m->scratch[omp_get_thread_num()]);
            if (st->op->bwd_pre)
                st->op->bwd_pre(m, st, s, dout + s * osz);
        }
        if (st->op->bwd_mid) {
            if (m->shard_total && nn_shard_gather_parts(m, st->bn.part, 2 * (size_t)st->bn.c, batch, err))
                return err ? err->code : NN_ERR_IO;
            st->op->bwd_mid(m, st, nn_shard_batch_of(m, batch), dout, din);
        }
        pending = st, p_dout = dout, p_din = din;
        dout = din;
        flip ^= 1;
    }
    /* Stage 0 needs no input gradient. */
    nn_stage *s0 = &m->stages[0];
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1) if (threads > 1 && batch > 1)
    for (int s = 0; s < batch; s++)
        s0->op->bwd_post(m, s0, s, m->input + s * s0->in_size, p_dout + s * s0->out_size, NULL,
                         &m->scratch[omp_get_thread_num()]);
    if (m->shard_total)
        return nn_shard_reduce_grads(m, err);
    reduce_grads(m, batch, threads);
    return 0;
}

int nn_train_step(nn_model *m, nn_optimizer *o, const float *x, const int *labels, int batch,
                  const nn_loss_opts *loss_opts, uint64_t seed, float lr, float *probs, nn_step_result *res,
                  aa_error *err)
{
    int rc;
    float loss = 0, gn = 0;
    if ((rc = nn_forward_train(m, x, batch, seed, nn_opt_steps(o), err)) != 0 ||
        (rc = nn_loss(m, labels, loss_opts, &loss, probs, err)) != 0 || (rc = nn_backward(m, err)) != 0 ||
        (rc = nn_opt_step(o, m, lr, &gn, err)) != 0)
        return rc;
    if (res) {
        const float *z = nn_logits(m);
        int correct = 0;
        if (m->shard_total) /* the whole batch's, as the loss is */
            z = m->shard_rows, labels = m->shard_labels, batch = m->shard_total;
        for (int s = 0; s < batch; s++) {
            const float *zs = z + (size_t)s * m->n_classes;
            int best = 0;
            for (int j = 1; j < m->n_classes; j++)
                if (zs[j] > zs[best])
                    best = j;
            correct += best == labels[s];
        }
        *res = (nn_step_result){.loss = loss, .grad_norm = gn, .correct = correct};
    }
    return 0;
}
