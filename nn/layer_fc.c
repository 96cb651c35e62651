/* Dense (fully connected) layer, "fc[<N>]": N outputs from its input flattened; plain "fc" maps to the
 * classes and must be the last layer. One sample at a time, as 1-row matrix products. */
#include <stdio.h>
#include <string.h>

#include "nn/nn_model.h"

void nn_dense_forward(float *out, const float *in, const float *wt, const float *bias, int n_in, int n_out)
{
    /* out [1][n_out] = in [1][n_in] x wt^T [n_in][n_out] */
    nn_gemm(0, 1, 1, n_out, n_in, 1.0f, in, n_in, wt, n_in, 0.0f, out, n_out);
    if (bias)
        for (int o = 0; o < n_out; o++)
            out[o] += bias[o];
}

void nn_dense_backward(float *din, float *dwt, float *dbias, const float *dout, const float *in,
                       const float *wt, int n_in, int n_out)
{
    /* dwt [n_out][n_in] = dout^T [n_out][1] x in [1][n_in] */
    nn_gemm(1, 0, n_out, n_in, 1, 1.0f, dout, n_out, in, n_in, 0.0f, dwt, n_in);
    if (dbias)
        for (int o = 0; o < n_out; o++)
            dbias[o] = dout[o];
    /* din [1][n_in] = dout [1][n_out] x wt [n_out][n_in] */
    if (din)
        nn_gemm(0, 0, 1, n_in, n_out, 1.0f, dout, n_out, wt, n_in, 0.0f, din, n_in);
}

static int fc_parse(const char *tok, nn_layer_spec *l)
{
    if (strncmp(tok, "fc", 2) != 0)
        return -1;
    const char *p = tok + 2;
    if (*p == '\0')
        return 0; /* n = 0: n_classes */
    l->n = nn_arch_int(&p, 1, 1 << 20);
    return l->n > 0 && *p == '\0' ? 0 : -1;
}

static void fc_text(const nn_layer_spec *l, char *buf, size_t n)
{
    if (l->n)
        snprintf(buf, n, "fc%d", l->n);
    else
        snprintf(buf, n, "fc");
}

static int fc_layout(nn_model *m, nn_stage *st, aa_error *err)
{
    const nn_layer_spec *l = &m->layers[st->layer];
    /* c h w <= NN_MAX_SAMPLE_BYTES / 4: the previous stage (or the input) was checked */
    int n_out = l->n ? l->n : m->n_classes, index = nn_layer_index(m, st->layer);
    if (!l->n && st->layer != m->n_layers - 1)
        return aa_error_set(err, NN_ERR_ARCH, "architecture: plain \"fc\" (to the classes) must be the last layer; use "
                            "fc<N> for a hidden one");
    st->w_off = nn_add_tensor(m, "fc", index, "weight", NN_TENSOR_PARAM, NN_T_WEIGHT, 2,
                              (int[]){n_out, st->in_c * st->in_h * st->in_w});
    st->b_off = nn_add_tensor(m, "fc", index, "bias", NN_TENSOR_PARAM, NN_T_ZERO, 1, (int[]){n_out});
    st->out_c = n_out, st->out_h = st->out_w = 1;
    return 0;
}

static void fc_eval(nn_model *m, nn_stage *st, float *out, const float *in, nn_scratch *sc)
{
    (void)sc;
    nn_dense_forward(out, in, m->params + st->w_off, m->params + st->b_off, (int)st->in_size, (int)st->out_size);
}


static void fc_bwd(nn_model *m, nn_stage *st, int s, const float *in, const float *dout, float *din,
                   nn_scratch *sc)
{
    (void)sc;
    float *g = m->gsamp + (size_t)s * m->n_params;
    nn_dense_backward(din, g + st->w_off, g + st->b_off, dout, in, m->params + st->w_off, (int)st->in_size,
                      (int)st->out_size);
}

static double fc_macs(const nn_stage *st)
{
    return (double)st->in_size * st->out_size;
}

const nn_op nn_op_fc = {
    .name = "fc",
    .syntax = "fc[<N>]",
    .parse = fc_parse,
    .text = fc_text,
    .takes_vector = 1,
    .flattens = 1,
    .head = 1,
    .layout = fc_layout,
    .bwd_post = fc_bwd,
    .eval = fc_eval,
    .macs = fc_macs,
};
