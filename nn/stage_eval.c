/* Evaluation forward of one sample through one stage: batch-norm as the affine map of its running
 * statistics, dropout as the identity. */
#include <string.h>

#include "nn/nn_internal.h"

void nn_stage_eval(nn_model *m, int i, float *out, const float *in, nn_scratch *sc)
{
    nn_stage *st = &m->stages[i];
    const float *P = m->params;
    const float *bias = st->b_off != SIZE_MAX ? P + st->b_off : NULL;
    const int hw = st->in_h * st->in_w;
    switch (st->kind) {
    case NN_S_BLOCK:
        nn_stage_conv_forward(m, st, sc->y, in, sc);
        nn_block_forward_isa(out, NULL, NULL, sc->y, st->scale, st->shift, st->cd.c_out, st->cd.h, st->cd.w, st->pool,
                             m->isa);
        break;
    case NN_S_CONV:
        if (m->reference)
            nn_conv2d_forward_ref(out, in, P + st->w_off, bias, &st->cd);
        else
            nn_stage_conv_forward(m, st, out, in, sc);
        break;
    case NN_S_BN:
        nn_bn_apply(out, in, st->scale, st->shift, st->in_c, hw);
        break;
    case NN_S_RELU:
        nn_relu_forward(out, in, st->out_size);
        break;
    case NN_S_POOL:
        nn_maxpool_forward(out, NULL, in, st->in_c, st->in_h, st->in_w);
        break;
    case NN_S_GAP:
        nn_gap_forward(out, in, st->in_c, hw);
        break;
    case NN_S_DROP:
        memcpy(out, in, sizeof *out * st->out_size);
        break;
    case NN_S_FC:
        nn_dense_forward(out, in, P + st->w_off, bias, (int)st->in_size, (int)st->out_size);
        break;
    }
}
