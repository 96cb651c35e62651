/* Backward of one stage, in per-sample phases: pre (batch-norm partial sums from the output gradient), mid
 * (serial: batch sums in sample order -> coefficients), post (input gradient and this sample's parameter
 * gradients, into gsamp[s]). */
#include <string.h>

#include "nn/nn_internal.h"

/* Batch-norm parameter gradients of sample s: sum dout x^ (scale) and sum dout (shift). */
static void put_bn_grads(nn_model *m, const nn_stage *st, int s, const double *sdz, const double *sdzx, int c)
{
    float *g = m->gsamp + (size_t)s * m->n_params;
    for (int ch = 0; ch < c; ch++) {
        g[st->g_off + ch] = (float)sdzx[ch];
        g[st->be_off + ch] = (float)sdz[ch];
    }
}

/* Weight, bias and input gradients of a direct-convolution stage from the padded output gradient in
 * sc->dpad. */
static void conv_backward_direct(const nn_stage *st, float *din, float *dwt, float *dbias, const float *in,
                                 nn_scratch *sc)
{
    const nn_conv_dims *d = &st->cd;
    const nn_pad_geom *pg = &st->pg;
    if (dbias)
        nn_conv_bias_grad(dbias, sc->dpad + pg->org, d->c_out, d->h, d->w, pg->ws, pg->plane);
    if (!st->recompute) /* a recomputed conv output left its padded input in sc->pad */
        nn_convd_pad_wgrad_input(sc->pad, in, d, pg);
    nn_convd_backward_w(dwt, sc->dpad, sc->pad, d, pg);
    if (din)
        nn_convd_backward_data(din, sc->dpad, st->wt, d, pg);
}

void nn_stage_bwd_pre(nn_model *m, int i, int s, const float *dout)
{
    nn_stage *st = &m->stages[i];
    const int hw = st->in_h * st->in_w;
    if (st->kind == NN_S_BLOCK) {
        const int c = st->cd.c_out;
        double *part = st->part + (size_t)s * 2 * c;
        /* (a recomputed block always pools: nn_stage_recompute) */
        const float *yv = st->pool ? st->yarg + (size_t)s * st->out_size
                                   : st->y + (size_t)s * st->cd.c_out * st->cd.h * st->cd.w;
        nn_block_backward_partial_isa(part, part + c, dout, st->act + (size_t)s * st->out_size, yv, st->mean,
                                      st->invstd, c, (int)(st->out_size / (size_t)c), m->isa);
        put_bn_grads(m, st, s, part, part + c, c);
    } else if (st->kind == NN_S_BN && !m->reference) {
        const int c = st->in_c;
        double *part = st->part + (size_t)s * 2 * c;
        nn_bn_backward_partial(part, part + c, dout, nn_stage_input(m, i) + (size_t)s * st->in_size, st->mean,
                               st->invstd, c, hw);
        put_bn_grads(m, st, s, part, part + c, c);
    }
}

void nn_stage_bwd_mid(nn_model *m, int i, int batch, const float *dout, float *din)
{
    nn_stage *st = &m->stages[i];
    if (!nn_stage_has_mid(st))
        return;
    const int c = st->kind == NN_S_BLOCK ? st->cd.c_out : st->in_c, hw = st->in_h * st->in_w;
    if (st->kind == NN_S_BN && m->reference) {
        /* The batch-level reference: its parameter gradients go to sample 0's slot, zeros elsewhere, so the
         * sum over samples is the batch gradient. */
        float *g0 = m->gsamp;
        for (int s = 0; s < batch; s++)
            for (int ch = 0; ch < c; ch++)
                m->gsamp[(size_t)s * m->n_params + st->g_off + ch] =
                    m->gsamp[(size_t)s * m->n_params + st->be_off + ch] = 0;
        nn_bn_backward_ref(din, g0 + st->g_off, g0 + st->be_off, dout, nn_stage_input(m, i), m->params + st->g_off,
                           batch, c, hw);
        return;
    }
    double *sdz = st->work, *sdzx = st->work + c;
    for (int ch = 0; ch < c; ch++)
        sdz[ch] = sdzx[ch] = 0;
    for (int s = 0; s < batch; s++) { /* sample order: the result does not depend on the thread split */
        const double *part = st->part + (size_t)s * 2 * c;
        for (int ch = 0; ch < c; ch++) {
            sdz[ch] += part[ch];
            sdzx[ch] += part[c + ch];
        }
    }
    nn_bn_backward_coef(st->coef, sdz, sdzx, st->mean, st->invstd, m->params + st->g_off, c, (double)batch * hw);
}

void nn_stage_bwd_post(nn_model *m, int i, int s, const float *in, const float *dout, float *din,
                       nn_scratch *sc)
{
    nn_stage *st = &m->stages[i];
    const float *P = m->params;
    float *g = m->gsamp + (size_t)s * m->n_params;
    const float *out = st->act + (size_t)s * st->out_size;
    float *dbias = st->b_off != SIZE_MAX ? g + st->b_off : NULL;
    const int hw = st->in_h * st->in_w;
    switch (st->kind) {
    case NN_S_BLOCK: {
        const uint8_t *arg = st->arg ? st->arg + (size_t)s * st->out_size : NULL;
        const nn_conv_dims *d = &st->cd;
        if (!din && nn_stage_gram(m, st)) {
            /* sc->y: the cell sums' accumulators (480 c floats), then the sums themselves */
            double *cell = (double *)(sc->y + 480 * (size_t)d->c_out);
            nn_pad_planes(sc->pad, in, 1, d->h, d->w, &st->pg);
            nn_gram_cells_avx512(cell, sc->pad, dout, out, arg, d->c_out, d->h, d->w, &st->pg, sc->y);
            nn_gram_wgrad(g + st->w_off, dbias, st->gram + (size_t)s * NN_GRAM_SIZE, cell, P + st->w_off,
                          st->b_off != SIZE_MAX ? P + st->b_off : NULL, st, P + st->g_off, (double)m->batch * hw,
                          (double)hw);
            break;
        }
        if (st->recompute && nn_stage_direct(m, st)) {
            nn_band_dy(m, st, s, in, dout, sc);
            conv_backward_direct(st, din, g + st->w_off, dbias, in, sc);
            break;
        }
        const float *y = nn_stage_block_y(m, i, s, sc);
        if (nn_stage_direct(m, st)) {
            /* the gradient at the conv output goes straight into the interior of its padded plane */
            const nn_pad_geom *pg = &st->pg;
            float *dint = sc->dpad + pg->org;
            nn_block_backward_dy_strided(dint, pg->ws, pg->plane, dout, out, arg, y, st->coef, d->c_out, d->h, d->w,
                                         st->pool, m->isa);
            nn_pad_zero_borders(sc->dpad, d->c_out, d->h, d->w, pg);
            conv_backward_direct(st, din, g + st->w_off, dbias, in, sc);
        } else {
            nn_block_backward_dy_strided(sc->dy, d->w, (size_t)d->h * d->w, dout, out, arg, y, st->coef, d->c_out, d->h,
                                         d->w, st->pool, m->isa);
            nn_conv2d_backward_isa(din, g + st->w_off, dbias, sc->dy, in, P + st->w_off, d, sc->conv, m->isa);
        }
        break;
    }
    case NN_S_CONV:
        if (m->reference) {
            const nn_conv_dims *d = &st->cd;
            memset(g + st->w_off, 0, sizeof *g * (size_t)d->c_out * d->c_in * d->k * d->k);
            if (dbias)
                memset(dbias, 0, sizeof *dbias * (size_t)st->cd.c_out);
            if (din)
                memset(din, 0, sizeof *din * st->in_size);
            nn_conv2d_backward_ref(din, g + st->w_off, dbias, dout, in, P + st->w_off, &st->cd);
        } else if (nn_stage_direct(m, st)) {
            nn_pad_planes(sc->dpad, dout, st->cd.c_out, st->cd.h, st->cd.w, &st->pg);
            conv_backward_direct(st, din, g + st->w_off, dbias, in, sc);
        } else {
            nn_conv2d_backward_isa(din, g + st->w_off, dbias, dout, in, P + st->w_off, &st->cd, sc->conv, m->isa);
        }
        break;
    case NN_S_BN:
        if (din && !m->reference)
            nn_bn_backward_apply(din, dout, in, st->coef, st->in_c, hw);
        break;
    case NN_S_RELU:
        if (din)
            nn_relu_backward(din, dout, out, st->out_size);
        break;
    case NN_S_POOL:
        if (din)
            nn_maxpool_backward(din, dout, st->arg + (size_t)s * st->out_size, st->in_c, st->in_h, st->in_w);
        break;
    case NN_S_GAP:
        if (din)
            nn_gap_backward(din, dout, st->in_c, hw);
        break;
    case NN_S_DROP:
        if (din)
            nn_mul(din, dout, st->mask + (size_t)s * st->out_size, st->out_size);
        break;
    case NN_S_FC:
        nn_dense_backward(din, g + st->w_off, dbias, dout, in, P + st->w_off, (int)st->in_size, (int)st->out_size);
        break;
    }
}
