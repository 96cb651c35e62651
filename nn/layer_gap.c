/* Global average pool, "gap": [C][H][W] -> the vector [C]. */
#include "nn/nn_model.h"

/* Float partial sums over chunks of this many values in 16 independent lanes (which the compiler keeps in
 * vector registers: no reassociation needed), each chunk added in double. */
#define CHUNK 512

void nn_gap_forward(float *out, const float *in, int c, int hw)
{
    for (int ch = 0; ch < c; ch++) {
        const float *x = in + (size_t)ch * hw;
        double s = 0;
        for (int i0 = 0; i0 < hw; i0 += CHUNK) {
            const int i1 = i0 + CHUNK < hw ? i0 + CHUNK : hw;
            float lane[16] = {0}, tail = 0;
            int i = i0;
            for (; i + 16 <= i1; i += 16)
                for (int j = 0; j < 16; j++)
                    lane[j] += x[i + j];
            for (; i < i1; i++)
                tail += x[i];
            for (int j = 0; j < 16; j++)
                s += lane[j];
            s += tail;
        }
        out[ch] = (float)(s / hw);
    }
}

void nn_gap_backward(float *din, const float *dout, int c, int hw)
{
    for (int ch = 0; ch < c; ch++) {
        const float g = dout[ch] / (float)hw;
        float *d = din + (size_t)ch * hw;
        for (int i = 0; i < hw; i++)
            d[i] = g;
    }
}

static int gap_layout(nn_model *m, nn_stage *st, aa_error *err)
{
    (void)m, (void)err;
    st->out_h = st->out_w = 1;
    return 0;
}

static void gap_eval(nn_model *m, nn_stage *st, float *out, const float *in, nn_scratch *sc)
{
    (void)m, (void)sc;
    nn_gap_forward(out, in, st->in_c, st->in_h * st->in_w);
}


static void gap_bwd(nn_model *m, nn_stage *st, int s, const float *in, const float *dout, float *din,
                    nn_scratch *sc)
{
    (void)m, (void)s, (void)in, (void)sc;
    if (din)
        nn_gap_backward(din, dout, st->in_c, st->in_h * st->in_w);
}

const nn_op nn_op_gap = {
    .name = "gap",
    .flattens = 1,
    .layout = gap_layout,
    .bwd_post = gap_bwd,
    .eval = gap_eval,
};
