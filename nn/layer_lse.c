/* Time pooling by log-sum-exp, "lse<R>" (R in (0, 100]): [C][H][W] (H mels, W frames) -> the vector [C].
 * Each channel is averaged over frequency, m_t = mean_f x[f][t], and then pooled over time by
 *     out = (1/R) log( mean_t exp(R m_t) ),
 * which runs from the mean over time (R -> 0, what gap gives) to the maximum (R -> inf). A global average
 * spreads a 0.5 s cough over every frame of a 4 s window, so a short event in a quiet window is outvoted by
 * the quiet around it; the maximum keeps it but trains only one frame per step. In between, every frame
 * learns in proportion to its softmax weight w_t = exp(R m_t) / sum exp(R m). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_model.h"

/* m [w] = the mean over the h rows of x [h][w]; returns max_t m_t. */
static double freq_mean(double *m, const float *x, int h, int w)
{
    for (int t = 0; t < w; t++)
        m[t] = 0;
    for (int f = 0; f < h; f++)
        for (int t = 0; t < w; t++)
            m[t] += x[(size_t)f * w + t];
    double top = -HUGE_VAL;
    for (int t = 0; t < w; t++) {
        m[t] /= h;
        if (m[t] > top)
            top = m[t];
    }
    return top;
}

/* out[c] for in [c][h][w]; m: [w] scratch. With wt non-NULL, also the weights w_t of each channel,
 * wt [c][w]. */
static void lse_pool(float *out, float *wt, const float *in, int c, int h, int w, double r, double *m)
{
    for (int ch = 0; ch < c; ch++) {
        const double top = freq_mean(m, in + (size_t)ch * h * w, h, w);
        double s = 0;
        for (int t = 0; t < w; t++) {
            m[t] = exp(r * (m[t] - top));
            s += m[t];
        }
        out[ch] = (float)(top + log(s / w) / r);
        if (wt)
            for (int t = 0; t < w; t++)
                wt[(size_t)ch * w + t] = (float)(m[t] / s);
    }
}

void nn_lse_forward(float *out, const float *in, int c, int h, int w, float r, double *scratch)
{
    lse_pool(out, NULL, in, c, h, w, r, scratch);
}

/* din [c][h][w] = dout[c] * w_t / h, with w_t recomputed from in; scratch: [w] doubles, wt: [c][w] floats. */
void nn_lse_backward(float *din, const float *dout, const float *in, int c, int h, int w, float r, double *scratch,
                     float *wt)
{
    float tmp[1];
    for (int ch = 0; ch < c; ch++) {
        lse_pool(tmp, wt, in + (size_t)ch * h * w, 1, h, w, r, scratch);
        for (int f = 0; f < h; f++)
            for (int t = 0; t < w; t++)
                din[((size_t)ch * h + f) * w + t] = dout[ch] * wt[t] / (float)h;
    }
}

static int lse_parse(const char *tok, nn_layer_spec *l)
{
    if (strncmp(tok, "lse", 3) != 0 || tok[3] == '\0')
        return -1;
    char *end;
    errno = 0;
    double v = strtod(tok + 3, &end);
    if (*end || errno || !(v > 0 && v <= 100))
        return -1;
    l->p = (float)v;
    return 0;
}

static void lse_text(const nn_layer_spec *l, char *buf, size_t n)
{
    snprintf(buf, n, "lse%g", (double)l->p);
}

static int lse_layout(nn_model *m, nn_stage *st, aa_error *err)
{
    (void)err;
    st->p = m->layers[st->layer].p;
    st->out_h = st->out_w = 1;
    return 0;
}

/* Both passes run one sample per thread with w doubles and w floats of room: the convolution scratch, idle
 * while this stage runs (its slots are aligned for doubles). */
static void lse_buffers(nn_model *m, nn_stage *st, nn_mem *mm)
{
    (void)m;
    nn_mem_scratch(mm, NN_SC_CONV, (size_t)st->in_w * 3);
}

static void lse_eval(nn_model *m, nn_stage *st, float *out, const float *in, nn_scratch *sc)
{
    (void)m;
    nn_lse_forward(out, in, st->in_c, st->in_h, st->in_w, st->p, (double *)(void *)sc->conv);
}

static void lse_bwd(nn_model *m, nn_stage *st, int s, const float *in, const float *dout, float *din, nn_scratch *sc)
{
    (void)m, (void)s;
    if (din)
        nn_lse_backward(din, dout, in, st->in_c, st->in_h, st->in_w, st->p, (double *)(void *)sc->conv,
                        sc->conv + 2 * (size_t)st->in_w);
}

const nn_op nn_op_lse = {
    .name = "lse",
    .syntax = "lse<R>",
    .parse = lse_parse,
    .text = lse_text,
    .flattens = 1,
    .layout = lse_layout,
    .buffers = lse_buffers,
    .bwd_post = lse_bwd,
    .eval = lse_eval,
};
