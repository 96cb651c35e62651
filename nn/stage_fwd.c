/* Training forward of one stage, in per-sample phases around the batch reduction of batch-norm:
 * pre (conv and statistics partials, or the whole of a simple layer), mid (serial, in sample order),
 * post (normalise, ReLU, pool). */
#include <math.h>
#include <string.h>

#include "nn/nn_internal.h"

const float *nn_stage_input(const nn_model *m, int i)
{
    return i == 0 ? m->input : m->stages[i - 1].act;
}

int nn_stage_has_mid(const nn_stage *st)
{
    return st->kind == NN_S_BLOCK || st->kind == NN_S_BN;
}

static size_t y_size(const nn_stage *st)
{
    return (size_t)st->cd.c_out * st->cd.h * st->cd.w;
}

void nn_stage_conv_forward(const nn_model *m, const nn_stage *st, float *out, const float *in, nn_scratch *sc)
{
    const float *bias = st->b_off != SIZE_MAX ? m->params + st->b_off : NULL;
    if (nn_stage_direct(m, st)) {
        nn_pad_planes(sc->pad, in, st->cd.c_in, st->cd.h, st->cd.w, &st->pg);
        nn_convd_forward(out, sc->pad, st->wf, bias, &st->cd, &st->pg);
    } else {
        nn_conv2d_forward_isa(out, in, m->params + st->w_off, bias, &st->cd, sc->conv, m->isa);
    }
}

void nn_stage_fwd_pre(nn_model *m, int i, int s, const float *in, nn_scratch *sc)
{
    nn_stage *st = &m->stages[i];
    float *out = st->act + (size_t)s * st->out_size;
    const float *P = m->params;
    const float *bias = st->b_off != SIZE_MAX ? P + st->b_off : NULL;
    const int hw = st->in_h * st->in_w;
    switch (st->kind) {
    case NN_S_BLOCK: {
        float *y = st->recompute ? sc->y : st->y + (size_t)s * y_size(st);
        double *part = st->part + (size_t)s * 2 * st->cd.c_out;
        if (nn_stage_gram(m, st)) {
            double *gram = st->gram + (size_t)s * NN_GRAM_SIZE;
            nn_pad_planes(sc->pad, in, 1, st->cd.h, st->cd.w, &st->pg);
            nn_gram_sums_avx512(gram, sc->pad, &st->cd, &st->pg, (double *)sc->y);
            nn_gram_stats(part, part + st->cd.c_out, gram, P + st->w_off, bias, st->cd.c_out, (double)hw);
            break;
        }
        if (st->recompute && nn_stage_direct(m, st)) {
            nn_band_stats(m, st, in, part, sc);
            break;
        }
        nn_stage_conv_forward(m, st, y, in, sc);
        nn_bn_sample_stats_isa(part, part + st->cd.c_out, y, st->cd.c_out, hw, m->isa);
        break;
    }
    case NN_S_CONV:
        if (m->reference)
            nn_conv2d_forward_ref(out, in, P + st->w_off, bias, &st->cd);
        else
            nn_stage_conv_forward(m, st, out, in, sc);
        break;
    case NN_S_BN:
        if (!m->reference) {
            double *part = st->part + (size_t)s * 2 * st->in_c;
            nn_bn_sample_stats_isa(part, part + st->in_c, in, st->in_c, hw, m->isa);
        }
        break;
    case NN_S_RELU:
        nn_relu_forward(out, in, st->out_size);
        break;
    case NN_S_POOL:
        nn_maxpool_forward(out, st->arg + (size_t)s * st->out_size, in, st->in_c, st->in_h, st->in_w);
        break;
    case NN_S_GAP:
        nn_gap_forward(out, in, st->in_c, hw);
        break;
    case NN_S_DROP: {
        float *mask = st->mask + (size_t)s * st->out_size;
        aa_rng r;
        aa_rng_seed3(&r, m->seed + (uint64_t)st->drop_index, m->step, (uint64_t)s);
        nn_dropout_mask(mask, st->out_size, st->p, &r);
        nn_mul(out, in, mask, st->out_size);
        break;
    }
    case NN_S_FC:
        nn_dense_forward(out, in, P + st->w_off, bias, (int)st->in_size, (int)st->out_size);
        break;
    }
}

/* Batch statistics -> running averages (PyTorch: unbiased variance) and the affine map of this forward. */
static void finish_stats(nn_model *m, nn_stage *st, int c, const double *var, double n)
{
    float *rm = m->stats + st->rm_off, *rv = m->stats + st->rv_off;
    const float *gamma = m->params + st->g_off, *beta = m->params + st->be_off;
    for (int ch = 0; ch < c; ch++) {
        double unbiased = n > 1 ? var[ch] * n / (n - 1) : var[ch];
        rm[ch] = (float)((1 - NN_BN_MOMENTUM) * rm[ch] + NN_BN_MOMENTUM * st->mean[ch]);
        rv[ch] = (float)((1 - NN_BN_MOMENTUM) * rv[ch] + NN_BN_MOMENTUM * unbiased);
        st->invstd[ch] = 1.0 / sqrt(var[ch] + NN_BN_EPS);
        double sc = gamma[ch] * st->invstd[ch];
        st->scale[ch] = (float)sc;
        st->shift[ch] = (float)(beta[ch] - st->mean[ch] * sc);
    }
}

void nn_stage_fwd_mid(nn_model *m, int i, int batch)
{
    nn_stage *st = &m->stages[i];
    if (!nn_stage_has_mid(st))
        return;
    const int c = st->kind == NN_S_BLOCK ? st->cd.c_out : st->in_c, hw = st->in_h * st->in_w;
    double *var = st->work;
    if (st->kind == NN_S_BN && m->reference) {
        nn_bn_forward_ref(st->act, st->mean, var, nn_stage_input(m, i), m->params + st->g_off,
                          m->params + st->be_off, batch, c, hw);
    } else {
        nn_bn_combine_stats(st->mean, var, st->part, batch, c, hw);
    }
    finish_stats(m, st, c, var, (double)batch * hw);
}

const float *nn_stage_block_y(nn_model *m, int i, int s, nn_scratch *sc)
{
    nn_stage *st = &m->stages[i];
    if (!st->recompute)
        return st->y + (size_t)s * y_size(st);
    nn_stage_conv_forward(m, st, sc->y, nn_stage_input(m, i) + (size_t)s * st->in_size, sc);
    return sc->y;
}

void nn_stage_fwd_post(nn_model *m, int i, int s, nn_scratch *sc)
{
    nn_stage *st = &m->stages[i];
    float *out = st->act + (size_t)s * st->out_size;
    if (st->kind == NN_S_BLOCK && st->recompute && nn_stage_direct(m, st)) {
        nn_band_forward(m, st, s, nn_stage_input(m, i) + (size_t)s * st->in_size, sc);
    } else if (st->kind == NN_S_BLOCK) {
        const size_t o = (size_t)s * st->out_size;
        nn_block_forward_isa(out, st->arg ? st->arg + o : NULL, st->yarg ? st->yarg + o : NULL,
                             nn_stage_block_y(m, i, s, sc), st->scale, st->shift, st->cd.c_out, st->cd.h, st->cd.w,
                             st->pool, m->isa);
    } else if (st->kind == NN_S_BN && !m->reference) {
        nn_bn_apply(out, nn_stage_input(m, i) + (size_t)s * st->in_size, st->scale, st->shift, st->in_c,
                    st->in_h * st->in_w);
    }
}
