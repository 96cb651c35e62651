/* Mean removal along time, "cmn": every row of every channel of a map less its mean over the row, [C][H][W]
 * -> [C][H][W]. On a log-mel input this takes away what is constant over the clip in each band: the
 * recording's level and the microphone's and the room's colour, which say nothing of the sound. */
#include "nn/nn_model.h"

void nn_rows_less_mean(float *out, const float *in, size_t rows, int w)
{
    for (size_t r = 0; r < rows; r++) {
        const float *x = in + r * (size_t)w;
        float *y = out + r * (size_t)w;
        double s = 0;
        for (int i = 0; i < w; i++)
            s += x[i];
        const float mean = (float)(s / w);
        for (int i = 0; i < w; i++)
            y[i] = x[i] - mean;
    }
}

static void cmn_eval(nn_model *m, nn_stage *st, float *out, const float *in, nn_scratch *sc)
{
    (void)m, (void)sc;
    nn_rows_less_mean(out, in, (size_t)st->in_c * (size_t)st->in_h, st->in_w);
}

/* The map is linear and its own adjoint: din = dout less each row's mean. */
static void cmn_bwd(nn_model *m, nn_stage *st, int s, const float *in, const float *dout, float *din,
                    nn_scratch *sc)
{
    (void)m, (void)s, (void)in, (void)sc;
    if (din)
        nn_rows_less_mean(din, dout, (size_t)st->in_c * (size_t)st->in_h, st->in_w);
}

const nn_op nn_op_cmn = {
    .name = "cmn",
    .bwd_post = cmn_bwd,
    .eval = cmn_eval,
};
