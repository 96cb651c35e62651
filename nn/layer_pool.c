/* 2x2 max pool, "p2": stride 2, floor (an odd last row or column is dropped), as PyTorch's MaxPool2d(2). */
#include <string.h>

#include "nn/nn_model.h"

void nn_maxpool_forward(float *out, uint8_t *arg, const float *in, int c, int h, int w)
{
    const int ph = h / 2, pw = w / 2;
    for (int ch = 0; ch < c; ch++)
        for (int py = 0; py < ph; py++) {
            const float *r0 = in + ((size_t)ch * h + 2 * py) * w, *r1 = r0 + w;
            for (int px = 0; px < pw; px++) {
                float v[4] = {r0[2 * px], r0[2 * px + 1], r1[2 * px], r1[2 * px + 1]};
                int k = 0;
                for (int j = 1; j < 4; j++) /* first maximum in scan order wins */
                    if (v[j] > v[k])
                        k = j;
                size_t o = ((size_t)ch * ph + py) * pw + px;
                out[o] = v[k];
                if (arg)
                    arg[o] = (uint8_t)k;
            }
        }
}

void nn_maxpool_backward(float *din, const float *dout, const uint8_t *arg, int c, int h, int w)
{
    const int ph = h / 2, pw = w / 2;
    memset(din, 0, sizeof *din * (size_t)c * h * w);
    for (int ch = 0; ch < c; ch++)
        for (int py = 0; py < ph; py++)
            for (int px = 0; px < pw; px++) {
                size_t o = ((size_t)ch * ph + py) * pw + px;
                int k = arg[o];
                din[((size_t)ch * h + 2 * py + (k >> 1)) * w + 2 * px + (k & 1)] = dout[o];
            }
}

static int pool_layout(nn_model *m, nn_stage *st, aa_error *err)
{
    (void)m;
    if (st->in_h < 2 || st->in_w < 2)
        return aa_error_set(err, NN_ERR_ARCH, "architecture: layer %d (p2) on a %dx%d map", st->layer + 1, st->in_h,
                            st->in_w);
    st->out_h /= 2, st->out_w /= 2;
    return 0;
}

static void pool_buffers(nn_model *m, nn_stage *st, nn_mem *mm)
{
    (void)m;
    st->arg = nn_mem_batch(mm, st->out_size);
}

static void pool_fwd(nn_model *m, nn_stage *st, int s, const float *in, nn_scratch *sc)
{
    (void)m, (void)sc;
    nn_maxpool_forward(nn_stage_act(st, s), st->arg + (size_t)s * st->out_size, in, st->in_c, st->in_h, st->in_w);
}

static void pool_bwd(nn_model *m, nn_stage *st, int s, const float *in, const float *dout, float *din,
                     nn_scratch *sc)
{
    (void)m, (void)in, (void)sc;
    if (din)
        nn_maxpool_backward(din, dout, st->arg + (size_t)s * st->out_size, st->in_c, st->in_h, st->in_w);
}

static void pool_eval(nn_model *m, nn_stage *st, float *out, const float *in, nn_scratch *sc)
{
    (void)m, (void)sc;
    nn_maxpool_forward(out, NULL, in, st->in_c, st->in_h, st->in_w);
}

const nn_op nn_op_pool = {
    .name = "p2",
    .layout = pool_layout,
    .buffers = pool_buffers,
    .fwd_pre = pool_fwd,
    .bwd_post = pool_bwd,
    .eval = pool_eval,
};
