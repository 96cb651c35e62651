/* Rectified linear unit, "relu": on a map or a vector. */
#include "nn/nn_model.h"

void nn_relu_forward(float *out, const float *in, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = in[i] > 0 ? in[i] : 0.0f;
}

void nn_relu_backward(float *din, const float *dout, const float *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        din[i] = out[i] > 0 ? dout[i] : 0.0f;
}

static void relu_eval(nn_model *m, nn_stage *st, float *out, const float *in, nn_scratch *sc)
{
    (void)m, (void)sc;
    nn_relu_forward(out, in, st->out_size);
}


static void relu_bwd(nn_model *m, nn_stage *st, int s, const float *in, const float *dout, float *din,
                     nn_scratch *sc)
{
    (void)m, (void)in, (void)sc;
    if (din)
        nn_relu_backward(din, dout, nn_stage_act(st, s), st->out_size);
}

const nn_op nn_op_relu = {
    .name = "relu",
    .takes_vector = 1,
    .bwd_post = relu_bwd,
    .eval = relu_eval,
};
