/* Batch normalisation, "bn" (eps 1e-5, running-average momentum 0.1, as PyTorch's BatchNorm2d): training
 * statistics from per-sample partial sums reduced in sample order, evaluation as the affine map of the running
 * statistics. As a stage of its own when it does not follow a conv (or in a reference model, on the
 * batch-level double-precision reference); the batch-norm part defined here is shared with the fused block
 * (nn/layer_block.c). The arithmetic is nn/batchnorm.c. */
#include <math.h>

#include "nn/nn_model.h"

/* ---- the batch-norm part ------------------------------------------------------------------------------------ */

void nn_bn_part_layout(nn_model *m, nn_stage *st, int c, int index)
{
    nn_bn_part *b = &st->bn;
    b->c = c;
    b->g_off = nn_add_tensor(m, "bn", index, "weight", NN_TENSOR_PARAM, NN_T_ONE, 1, &c);
    b->be_off = nn_add_tensor(m, "bn", index, "bias", NN_TENSOR_PARAM, NN_T_ZERO, 1, &c);
    b->rm_off = nn_add_tensor(m, "bn", index, "running_mean", NN_TENSOR_STAT, NN_T_ZERO, 1, &c);
    b->rv_off = nn_add_tensor(m, "bn", index, "running_var", NN_TENSOR_STAT, NN_T_ONE, 1, &c);
}

void nn_bn_part_buffers(nn_stage *st, nn_mem *mm)
{
    nn_bn_part *b = &st->bn;
    const size_t c = (size_t)b->c;
    b->part = nn_mem_batch(mm, sizeof(double) * 2 * c);
    b->mean = nn_mem_once(mm, sizeof(double) * c);
    b->invstd = nn_mem_once(mm, sizeof(double) * c);
    b->work = nn_mem_once(mm, sizeof(double) * 2 * c);
    b->scale = nn_mem_once(mm, sizeof(float) * c);
    b->shift = nn_mem_once(mm, sizeof(float) * c);
    b->coef = nn_mem_once(mm, sizeof(float) * 4 * c);
}

/* Running averages take PyTorch's unbiased variance. */
void nn_bn_part_finish(nn_model *m, nn_stage *st, const double *var, double n)
{
    nn_bn_part *b = &st->bn;
    float *rm = m->stats + b->rm_off, *rv = m->stats + b->rv_off;
    const float *gamma = m->params + b->g_off, *beta = m->params + b->be_off;
    for (int ch = 0; ch < b->c; ch++) {
        double unbiased = n > 1 ? var[ch] * n / (n - 1) : var[ch];
        rm[ch] = (float)((1 - NN_BN_MOMENTUM) * rm[ch] + NN_BN_MOMENTUM * b->mean[ch]);
        rv[ch] = (float)((1 - NN_BN_MOMENTUM) * rv[ch] + NN_BN_MOMENTUM * unbiased);
        b->invstd[ch] = 1.0 / sqrt(var[ch] + NN_BN_EPS);
        double sc = gamma[ch] * b->invstd[ch];
        b->scale[ch] = (float)sc;
        b->shift[ch] = (float)(beta[ch] - b->mean[ch] * sc);
    }
}

/* The scale's gradient is sum dout x^, the shift's sum dout. */
void nn_bn_part_grads(nn_model *m, const nn_stage *st, int s, const double *sdz, const double *sdzx)
{
    float *g = m->gsamp + (size_t)s * m->n_params;
    for (int ch = 0; ch < st->bn.c; ch++) {
        g[st->bn.g_off + ch] = (float)sdzx[ch];
        g[st->bn.be_off + ch] = (float)sdz[ch];
    }
}

void nn_bn_part_coef(nn_model *m, nn_stage *st, int batch, int hw)
{
    nn_bn_part *b = &st->bn;
    const int c = b->c;
    double *sdz = b->work, *sdzx = b->work + c;
    for (int ch = 0; ch < c; ch++)
        sdz[ch] = sdzx[ch] = 0;
    for (int s = 0; s < batch; s++) { /* sample order: the result does not depend on the thread split */
        const double *part = b->part + (size_t)s * 2 * c;
        for (int ch = 0; ch < c; ch++) {
            sdz[ch] += part[ch];
            sdzx[ch] += part[c + ch];
        }
    }
    nn_bn_backward_coef(b->coef, sdz, sdzx, b->mean, b->invstd, m->params + b->g_off, c, (double)batch * hw);
}

void nn_bn_part_eval_prepare(nn_model *m, nn_stage *st)
{
    nn_bn_part *b = &st->bn;
    const float *gamma = m->params + b->g_off, *beta = m->params + b->be_off;
    const float *rm = m->stats + b->rm_off, *rv = m->stats + b->rv_off;
    for (int ch = 0; ch < b->c; ch++) {
        double sc = gamma[ch] / sqrt((double)rv[ch] + NN_BN_EPS);
        b->scale[ch] = (float)sc;
        b->shift[ch] = (float)(beta[ch] - rm[ch] * sc);
    }
}

/* ---- the bn stage ------------------------------------------------------------------------------------------- */

static int bn_layout(nn_model *m, nn_stage *st, aa_error *err)
{
    (void)err;
    nn_bn_part_layout(m, st, st->in_c, nn_layer_index(m, st->layer));
    return 0;
}

static void bn_buffers(nn_model *m, nn_stage *st, nn_mem *mm)
{
    (void)m;
    nn_bn_part_buffers(st, mm);
}

static void bn_fwd_pre(nn_model *m, nn_stage *st, int s, const float *in, nn_scratch *sc)
{
    (void)sc;
    if (m->reference)
        return; /* the reference runs over the whole batch, in bn_fwd_mid */
    double *part = st->bn.part + (size_t)s * 2 * st->in_c;
    nn_bn_sample_stats_isa(part, part + st->in_c, in, st->in_c, st->in_h * st->in_w, m->isa);
}

static void bn_fwd_mid(nn_model *m, nn_stage *st, int batch)
{
    nn_bn_part *b = &st->bn;
    const int hw = st->in_h * st->in_w;
    double *var = b->work;
    if (m->reference)
        nn_bn_forward_ref(st->act, b->mean, var, st->in, m->params + b->g_off, m->params + b->be_off, batch, b->c,
                          hw);
    else
        nn_bn_combine_stats(b->mean, var, b->part, batch, b->c, hw);
    nn_bn_part_finish(m, st, var, (double)batch * hw);
}

static void bn_fwd_post(nn_model *m, nn_stage *st, int s, nn_scratch *sc)
{
    (void)sc;
    if (!m->reference)
        nn_bn_apply(nn_stage_act(st, s), st->in + (size_t)s * st->in_size, st->bn.scale, st->bn.shift, st->in_c,
                    st->in_h * st->in_w);
}

static void bn_bwd_pre(nn_model *m, nn_stage *st, int s, const float *dout)
{
    if (m->reference)
        return;
    const int c = st->in_c;
    double *part = st->bn.part + (size_t)s * 2 * c;
    nn_bn_backward_partial(part, part + c, dout, st->in + (size_t)s * st->in_size, st->bn.mean, st->bn.invstd, c,
                           st->in_h * st->in_w);
    nn_bn_part_grads(m, st, s, part, part + c);
}

static void bn_bwd_mid(nn_model *m, nn_stage *st, int batch, const float *dout, float *din)
{
    const nn_bn_part *b = &st->bn;
    const int c = b->c, hw = st->in_h * st->in_w;
    if (!m->reference) {
        nn_bn_part_coef(m, st, batch, hw);
        return;
    }
    /* The batch-level reference: its parameter gradients go to sample 0's slot, zeros elsewhere, so the sum
     * over samples is the batch gradient. */
    float *g0 = m->gsamp;
    for (int s = 0; s < batch; s++)
        for (int ch = 0; ch < c; ch++)
            m->gsamp[(size_t)s * m->n_params + b->g_off + ch] = m->gsamp[(size_t)s * m->n_params + b->be_off + ch] = 0;
    nn_bn_backward_ref(din, g0 + b->g_off, g0 + b->be_off, dout, st->in, m->params + b->g_off, batch, c, hw);
}

static void bn_bwd_post(nn_model *m, nn_stage *st, int s, const float *in, const float *dout, float *din,
                        nn_scratch *sc)
{
    (void)s, (void)sc;
    if (din && !m->reference)
        nn_bn_backward_apply(din, dout, in, st->bn.coef, st->in_c, st->in_h * st->in_w);
}

static void bn_eval(nn_model *m, nn_stage *st, float *out, const float *in, nn_scratch *sc)
{
    (void)m, (void)sc;
    nn_bn_apply(out, in, st->bn.scale, st->bn.shift, st->in_c, st->in_h * st->in_w);
}

const nn_op nn_op_bn = {
    .name = "bn",
    .layout = bn_layout,
    .buffers = bn_buffers,
    .fwd_pre = bn_fwd_pre,
    .fwd_mid = bn_fwd_mid,
    .fwd_post = bn_fwd_post,
    .bwd_pre = bn_bwd_pre,
    .bwd_mid = bn_bwd_mid,
    .bwd_post = bn_bwd_post,
    .eval_prepare = nn_bn_part_eval_prepare,
    .eval = bn_eval,
};
