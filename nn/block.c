/* The tail of a fused conv block, batch-norm affine -> ReLU -> optional 2x2 max pool, in one pass over the
 * conv output, and its backward pass, in two: per-sample partial sums for the batch-norm gradient (over the
 * pooled positions only), then the gradient at the conv output. */
#include "nn/nn_internal.h"

void nn_block_forward(float *out, uint8_t *arg, const float *y, const float *scale, const float *shift, int c,
                      int h, int w, int pool)
{
    if (!pool) {
        for (int ch = 0; ch < c; ch++) {
            const float a = scale[ch], b = shift[ch];
            const float *yc = y + (size_t)ch * h * w;
            float *o = out + (size_t)ch * h * w;
            for (int i = 0; i < h * w; i++) {
                float v = a * yc[i] + b;
                o[i] = v > 0 ? v : 0;
            }
        }
        return;
    }
    const int ph = h / 2, pw = w / 2;
    for (int ch = 0; ch < c; ch++) {
        const float a = scale[ch], b = shift[ch];
        for (int py = 0; py < ph; py++) {
            const float *r0 = y + ((size_t)ch * h + 2 * py) * w, *r1 = r0 + w;
            float *o = out + ((size_t)ch * ph + py) * pw;
            uint8_t *g = arg ? arg + ((size_t)ch * ph + py) * pw : NULL;
            for (int px = 0; px < pw; px++) {
                /* Scan order (0,0) (0,1) (1,0) (1,1); the first maximum wins, as in PyTorch. */
                float v0 = a * r0[2 * px] + b, v1 = a * r0[2 * px + 1] + b;
                float v2 = a * r1[2 * px] + b, v3 = a * r1[2 * px + 1] + b;
                float m = v0;
                uint8_t k = 0;
                if (v1 > m) m = v1, k = 1;
                if (v2 > m) m = v2, k = 2;
                if (v3 > m) m = v3, k = 3;
                o[px] = m > 0 ? m : 0;
                if (g)
                    g[px] = k;
            }
        }
    }
}

/* Offset of argmax k of pooled cell (py, px) in a [h][w] map. */
static inline size_t cell(int py, int px, int w, uint8_t k)
{
    return (size_t)(2 * py + (k >> 1)) * w + 2 * px + (k & 1);
}

void nn_block_backward_partial(double *sdz, double *sdzx, const float *dout, const float *out,
                               const uint8_t *arg, const float *y, const double *mean, const double *invstd,
                               int c, int h, int w, int pool)
{
    const int oh = pool ? h / 2 : h, ow = pool ? w / 2 : w;
    for (int ch = 0; ch < c; ch++) {
        const float mu = (float)mean[ch];
        const float *yc = y + (size_t)ch * h * w;
        const float *g = dout + (size_t)ch * oh * ow, *o = out + (size_t)ch * oh * ow;
        const uint8_t *ac = pool ? arg + (size_t)ch * oh * ow : NULL;
        double a = 0, b = 0;
        for (int py = 0; py < oh; py++)
            for (int px = 0; px < ow; px++) {
                size_t i = (size_t)py * ow + px;
                /* ReLU passes gradient only where its output is positive. */
                if (!(o[i] > 0))
                    continue;
                float yv = pool ? yc[cell(py, px, w, ac[i])] : yc[i];
                a += g[i];
                b += (double)g[i] * (yv - mu);
            }
        sdz[ch] = a;
        sdzx[ch] = b * invstd[ch];
    }
}

void nn_block_backward_dy(float *dy, const float *dout, const float *out, const uint8_t *arg, const float *y,
                          const float *coef, int c, int h, int w, int pool)
{
    const int oh = pool ? h / 2 : h, ow = pool ? w / 2 : w;
    for (int ch = 0; ch < c; ch++) {
        const float a = coef[ch], b = coef[c + ch], k = coef[2 * c + ch], mu = coef[3 * c + ch];
        const float *yc = y + (size_t)ch * h * w;
        const float *g = dout + (size_t)ch * oh * ow, *o = out + (size_t)ch * oh * ow;
        float *d = dy + (size_t)ch * h * w;
        if (!pool) {
            for (int i = 0; i < h * w; i++)
                d[i] = a + b * (yc[i] - mu) + (o[i] > 0 ? k * g[i] : 0.0f);
            continue;
        }
        for (int i = 0; i < h * w; i++)
            d[i] = a + b * (yc[i] - mu);
        const uint8_t *ac = arg + (size_t)ch * oh * ow;
        for (int py = 0; py < oh; py++)
            for (int px = 0; px < ow; px++) {
                size_t i = (size_t)py * ow + px;
                if (o[i] > 0)
                    d[cell(py, px, w, ac[i])] += k * g[i];
            }
    }
}
