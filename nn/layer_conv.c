/* The convolution layer, "c<N>[b][k<K>]": N output channels, a K x K kernel (odd, 1..7, default 3), stride 1,
 * zero padding K/2, `b` for a bias. As a stage of its own when no bn and relu follow (or in a reference
 * model); the convolution part defined here is shared with the fused block (nn/layer_block.c). The kernels
 * are nn/conv2d.c (im2col + sgemm, and the dispatch) and nn/convd.c (direct, on AVX-512). */
#include <stdio.h>
#include <string.h>

#include "nn/nn_model.h"

static int conv_parse(const char *tok, nn_layer_spec *l)
{
    if (tok[0] != 'c')
        return -1;
    const char *p = tok + 1;
    l->k = 3;
    if ((l->n = nn_arch_int(&p, 1, 1 << 16)) < 0)
        return -1;
    int seen_b = 0, seen_k = 0;
    while (*p) {
        if (*p == 'b' && !seen_b) {
            l->bias = seen_b = 1;
            p++;
        } else if (*p == 'k' && !seen_k) {
            p++;
            l->k = nn_arch_int(&p, 1, 7);
            if (l->k < 0 || l->k % 2 == 0)
                return -1;
            seen_k = 1;
        } else {
            return -1;
        }
    }
    return 0;
}

static void conv_text(const nn_layer_spec *l, char *buf, size_t n)
{
    snprintf(buf, n, "c%d%s", l->n, l->bias ? "b" : "");
    if (l->k != 3)
        snprintf(buf + strlen(buf), n - strlen(buf), "k%d", l->k);
}

/* ---- the convolution part ---------------------------------------------------------------------------------- */

void nn_conv_part_layout(nn_model *m, nn_stage *st, const nn_layer_spec *l, int index)
{
    nn_conv_part *cp = &st->conv;
    const int c = st->in_c;
    cp->cd = (nn_conv_dims){.c_in = c, .c_out = l->n, .h = st->in_h, .w = st->in_w, .k = l->k, .pad = l->k / 2};
    cp->pg = nn_pad_geom_of(&cp->cd);
    cp->direct = m->isa >= NN_ISA_AVX512 && l->k <= 7;
    st->w_off = nn_add_tensor(m, "conv", index, "weight", NN_TENSOR_PARAM, NN_T_WEIGHT, 4, (int[]){l->n, c, l->k, l->k});
    if (l->bias)
        st->b_off = nn_add_tensor(m, "conv", index, "bias", NN_TENSOR_PARAM, NN_T_ZERO, 1, (int[]){l->n});
    st->out_c = l->n;
}

void nn_conv_part_buffers(nn_stage *st, nn_mem *mm)
{
    nn_conv_part *cp = &st->conv;
    nn_mem_scratch(mm, NN_SC_CONV, nn_conv2d_scratch(&cp->cd));
    if (!cp->direct)
        return;
    nn_mem_scratch(mm, NN_SC_PAD, cp->pg.plane * (size_t)cp->cd.c_in);
    nn_mem_scratch(mm, NN_SC_DPAD, cp->pg.plane * (size_t)cp->cd.c_out);
    const size_t pk = nn_convd_pack_size(&cp->cd);
    cp->wf = nn_mem_once(mm, sizeof(float) * pk);
    cp->wt = nn_mem_once(mm, sizeof(float) * pk);
}

int nn_stage_direct(const nn_model *m, const nn_stage *st)
{
    /* The packed buffers exist only for the kernel set the model was built with; a test may lower m->isa
     * afterwards (to the im2col path), never raise it. */
    return st->conv.direct && m->isa >= NN_ISA_AVX512;
}

static const float *bias_of(const nn_model *m, const nn_stage *st)
{
    return st->b_off != SIZE_MAX ? m->params + st->b_off : NULL;
}

void nn_stage_conv_forward(const nn_model *m, const nn_stage *st, float *out, const float *in, nn_scratch *sc)
{
    const float *bias = bias_of(m, st);
    if (nn_stage_direct(m, st)) {
        nn_pad_planes(sc->pad, in, st->conv.cd.c_in, st->conv.cd.h, st->conv.cd.w, &st->conv.pg);
        nn_convd_forward(out, sc->pad, st->conv.wf, bias, &st->conv.cd, &st->conv.pg);
    } else {
        nn_conv2d_forward_isa(out, in, m->params + st->w_off, bias, &st->conv.cd, sc->conv, m->isa);
    }
}

void nn_conv_part_backward_direct(const nn_stage *st, float *din, float *dwt, float *dbias, const float *in,
                                  nn_scratch *sc)
{
    const nn_conv_dims *d = &st->conv.cd;
    const nn_pad_geom *pg = &st->conv.pg;
    if (dbias)
        nn_conv_bias_grad(dbias, sc->dpad + pg->org, d->c_out, d->h, d->w, pg->ws, pg->plane);
    if (!st->recompute) /* a recomputed conv output left its padded input in sc->pad */
        nn_convd_pad_wgrad_input(sc->pad, in, d, pg);
    nn_convd_backward_w(dwt, sc->dpad, sc->pad, d, pg);
    if (din)
        nn_convd_backward_data(din, sc->dpad, st->conv.wt, d, pg);
}

void nn_conv_part_pack(nn_model *m, nn_stage *st, int transposed)
{
    if (!nn_stage_direct(m, st))
        return;
    if (transposed)
        nn_convd_pack_t(st->conv.wt, m->params + st->w_off, &st->conv.cd);
    else
        nn_convd_pack(st->conv.wf, m->params + st->w_off, &st->conv.cd);
}

double nn_conv_part_macs(const nn_stage *st)
{
    const nn_conv_dims *d = &st->conv.cd;
    return (double)d->c_out * d->c_in * d->k * d->k * d->h * d->w;
}

/* ---- the conv stage -------------------------------------------------------------------------------------------- */

static int conv_layout(nn_model *m, nn_stage *st, aa_error *err)
{
    (void)err;
    nn_conv_part_layout(m, st, &m->layers[st->layer], nn_layer_index(m, st->layer));
    return 0;
}

static void conv_buffers(nn_model *m, nn_stage *st, nn_mem *mm)
{
    (void)m;
    nn_conv_part_buffers(st, mm);
}

static void conv_eval(nn_model *m, nn_stage *st, float *out, const float *in, nn_scratch *sc)
{
    if (m->reference)
        nn_conv2d_forward_ref(out, in, m->params + st->w_off, bias_of(m, st), &st->conv.cd);
    else
        nn_stage_conv_forward(m, st, out, in, sc);
}


static void conv_bwd_post(nn_model *m, nn_stage *st, int s, const float *in, const float *dout, float *din,
                          nn_scratch *sc)
{
    const nn_conv_dims *d = &st->conv.cd;
    const float *wt = m->params + st->w_off;
    float *g = m->gsamp + (size_t)s * m->n_params, *dwt = g + st->w_off;
    float *dbias = st->b_off != SIZE_MAX ? g + st->b_off : NULL;
    if (m->reference) {
        /* the reference accumulates */
        memset(dwt, 0, sizeof *g * (size_t)d->c_out * d->c_in * d->k * d->k);
        if (dbias)
            memset(dbias, 0, sizeof *dbias * (size_t)d->c_out);
        if (din)
            memset(din, 0, sizeof *din * st->in_size);
        nn_conv2d_backward_ref(din, dwt, dbias, dout, in, wt, d);
    } else if (nn_stage_direct(m, st)) {
        nn_pad_planes(sc->dpad, dout, d->c_out, d->h, d->w, &st->conv.pg);
        nn_conv_part_backward_direct(st, din, dwt, dbias, in, sc);
    } else {
        nn_conv2d_backward_isa(din, dwt, dbias, dout, in, wt, d, sc->conv, m->isa);
    }
}

const nn_op nn_op_conv = {
    .name = "conv",
    .syntax = "c<N>[b][k<K>]",
    .parse = conv_parse,
    .text = conv_text,
    .layout = conv_layout,
    .buffers = conv_buffers,
    .bwd_post = conv_bwd_post,
    .eval = conv_eval,
    .pack = nn_conv_part_pack,
    .macs = nn_conv_part_macs,
};
