#ifndef AA_NN_KERNELS_H
#define AA_NN_KERNELS_H

/* Private to nn/ (and its tests): the arithmetic of the layers on plain arrays, one sample at a time unless
 * said otherwise, knowing nothing of models or stages. Each fast kernel has a plain twin beside it and is
 * chosen at run time from a kernel set (NN_ISA_*); the model and its stages are in nn/nn_model.h. */

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

/* ---- CPU features ------------------------------------------------------------------------------------------- */

/* Non-zero when the CPU runs AVX2 + FMA: the hand-vectorised kernels are used, else their plain C twins. */
int nn_cpu_avx2(void);
/* The widest kernel set this CPU runs (AVX-512 needs AVX-512F, AVX2 needs AVX2 + FMA). A model records it when
 * built (nn_model.isa); tests lower that to run every path on one machine. */
enum { NN_ISA_PLAIN = 0, NN_ISA_AVX2 = 1, NN_ISA_AVX512 = 2 };
int nn_cpu_isa(void);

/* ---- matrix products: every one goes through here, so the BLAS choice lives in one place -------------------- */

/* Row-major C[m][n] = alpha op(A) op(B) + beta C, op(A) [m][k] (A stored [k][m] when ta), op(B) [k][n]
 * (B stored [n][k] when tb). nn_gemm calls OpenBLAS; nn_gemm_ref is the plain triple loop (double sums). */
void nn_gemm(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
             int ldb, float beta, float *c, int ldc);
void nn_gemm_ref(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                 int ldb, float beta, float *c, int ldc);

/* ---- convolution: stride 1, zero padding k/2 (output the size of the input), one sample at a time --------- */

typedef struct {
    int c_in, c_out, h, w, k, pad;
} nn_conv_dims;

/* Scratch floats nn_conv2d_forward / _backward need (im2col tiles, padded input). */
size_t nn_conv2d_scratch(const nn_conv_dims *d);
/* out: [c_out][h][w]; in: [c_in][h][w]; wt: [c_out][c_in][k][k]; bias: [c_out] or NULL. */
void nn_conv2d_forward(float *out, const float *in, const float *wt, const float *bias, const nn_conv_dims *d,
                       float *scratch);
/* Overwrites dwt [c_out][c_in][k][k] and dbias [c_out] (may be NULL) with this sample's gradients and din
 * [c_in][h][w] (may be NULL: the first layer needs no input gradient) with the input gradient.
 * dout: [c_out][h][w]. */
void nn_conv2d_backward(float *din, float *dwt, float *dbias, const float *dout, const float *in,
                        const float *wt, const nn_conv_dims *d, float *scratch);
/* The same on a chosen kernel set (NN_ISA_*; at most nn_cpu_isa()): the direct kernels on AVX-512, else
 * im2col + sgemm. The two above use nn_cpu_isa(). */
void nn_conv2d_forward_isa(float *out, const float *in, const float *wt, const float *bias, const nn_conv_dims *d,
                           float *scratch, int isa);
void nn_conv2d_backward_isa(float *din, float *dwt, float *dbias, const float *dout, const float *in,
                            const float *wt, const nn_conv_dims *d, float *scratch, int isa);
/* dbias [c] (overwritten) = per-channel sums of dout, row y of channel ch at dout + ch cs + y rs. */
void nn_conv_bias_grad(float *dbias, const float *dout, int c, int h, int w, int rs, size_t cs);

/* Direct kernels for a single input channel (the first layer: K = k*k is a poor GEMM shape). pad: the
 * input copied into a zero border, [h + 2p][w + 2p], by nn_conv_pad_input. */
void nn_conv_pad_input(float *pad, const float *in, const nn_conv_dims *d);
void nn_conv1_forward(float *out, const float *pad, const float *wt, const float *bias, const nn_conv_dims *d);
void nn_conv1_backward_w(float *dwt, const float *dout, const float *pad, const nn_conv_dims *d);

/* ---- direct convolution on zero-padded planes (nn/convd.c; AVX-512 kernels in nn/convd_avx512.c) -------- */

/* A padded plane: `base` zeros, the map inside a border of p = k/2 zeros (rows of ws = w + 2p floats; value
 * (y, x) at org + y ws + x, org a multiple of 16), then zeros up to `plane` floats (the kernels read past the
 * map). The output of a direct kernel at flat position q = y ws + x, q < n = h ws, is the convolution at
 * (y, x) when x < w; the others are never stored. */
typedef struct {
    int p, ws, n, base;
    size_t org, plane;
} nn_pad_geom;
#define NN_CONVD_CB 8  /* output channels per packed weight block */
#define NN_MAX_TAPS 49 /* k <= 7 */

nn_pad_geom nn_pad_geom_of(const nn_conv_dims *d);
/* pad [c][plane] <- in [c][h][w], with every float outside the map zero. */
void nn_pad_planes(float *pad, const float *in, int c, int h, int w, const nn_pad_geom *g);
/* Zeroes everything outside the map of c planes whose interior a kernel wrote in place. */
void nn_pad_zero_borders(float *pad, int c, int h, int w, const nn_pad_geom *g);
/* Floats of a packed weight buffer (either packing) for these dims. */
size_t nn_convd_pack_size(const nn_conv_dims *d);
/* Forward packing, [ceil(c_out/8)][c_in][k*k][8], and the transposed one for the input gradient,
 * [ceil(c_in/8)][c_out][k*k][8] (kernel turned by 180 degrees); missing channels of a last block are 0.
 * wt: [c_out][c_in][k][k]. */
void nn_convd_pack(float *wb, const float *wt, const nn_conv_dims *d);
void nn_convd_pack_t(float *wb, const float *wt, const nn_conv_dims *d);
/* The kernels below need AVX-512 (nn_cpu_isa() == NN_ISA_AVX512). */
/* out [c_out][h][w] (dense) = the convolution of pad [c_in][plane] with packed weights wb, + bias (may be
 * NULL); _rows: output rows [y0, y1) only, out [c_out][y1 - y0][w]. */
void nn_convd_forward(float *out, const float *pad, const float *wb, const float *bias, const nn_conv_dims *d,
                      const nn_pad_geom *g);
void nn_convd_forward_rows(float *out, const float *pad, const float *wb, const float *bias, const nn_conv_dims *d,
                           const nn_pad_geom *g, int y0, int y1);
/* din [c_in][h][w] (dense, overwritten) from the padded output gradient dpad [c_out][plane] and the
 * transposed packing wbt. */
void nn_convd_backward_data(float *din, const float *dpad, const float *wbt, const nn_conv_dims *d,
                            const nn_pad_geom *g);
/* dwt [c_out][c_in][k][k] (overwritten) from dpad [c_out][plane] and the padded input as
 * nn_convd_pad_wgrad_input leaves it. */
void nn_convd_backward_w(float *dwt, const float *dpad, const float *pad, const nn_conv_dims *d,
                         const nn_pad_geom *g);
/* The weight gradient's input (c_in * plane floats): padded planes, or, when nn_convd_wgrad_cl (input
 * channels in sixteens), the padded map channels-last ([plane - base][c_in]: position (y + p) ws + x + p holds
 * in[.][y][x]). */
int nn_convd_wgrad_cl(const nn_conv_dims *d);
void nn_convd_pad_wgrad_input(float *pad, const float *in, const nn_conv_dims *d, const nn_pad_geom *g);
/* For the kernels: which of `lanes` (at most 16) outputs from flat position q = y ws + x are stored (bit i:
 * q + i), and where the first goes in the dense [h][w] map (*start); the stored ones are consecutive there.
 * left = n - q. */
static inline unsigned nn_convd_store_mask(int y, int x, int lanes, int w, int ws, int left, size_t *start)
{
    *start = x < w ? (size_t)y * w + x : (size_t)(y + 1) * w;
    unsigned m = 0;
    /* lane i holds position q + i; a new row starts wherever the column wraps to 0 */
    for (int i = 0, xx = x; i < lanes; i += ws - xx, xx = 0)
        if (xx < w) {
            int v = w - xx < lanes - i ? w - xx : lanes - i;
            m |= ((1u << v) - 1) << i;
        }
    if (left < lanes)
        m &= left > 0 ? (1u << left) - 1 : 0;
    return m;
}
void nn_convd_fwd_avx512(float *out, const float *pad, const float *wb, const float *bias, const nn_conv_dims *d,
                         const nn_pad_geom *g, int y0, int y1);
void nn_convd_bwdw_avx512(float *dwt, const float *dpad, const float *pad, const nn_conv_dims *d,
                          const nn_pad_geom *g);
void nn_pad_cl_avx512(float *xc, const float *in, int c, int h, int w, const nn_pad_geom *g);
void nn_convd_bwdw_cl_avx512(float *dwt, const float *dpad, const float *xc, const nn_conv_dims *d,
                             const nn_pad_geom *g);

/* im2col over output rows [y0, y1): col [c_in*k*k][(y1-y0)*w]; col2im adds such a tile back into din. */
void nn_im2col(float *col, const float *in, const nn_conv_dims *d, int y0, int y1);
void nn_col2im_add(float *din, const float *col, const nn_conv_dims *d, int y0, int y1);

/* Plain reference convolution (direct loops, double sums); backward accumulates (+=) into din, dwt, dbias. */
void nn_conv2d_forward_ref(float *out, const float *in, const float *wt, const float *bias,
                           const nn_conv_dims *d);
void nn_conv2d_backward_ref(float *din, float *dwt, float *dbias, const float *dout, const float *in,
                            const float *wt, const nn_conv_dims *d);

/* ---- batch normalisation ------------------------------------------------------------------------------------ */

#define NN_BN_EPS 1e-5
#define NN_BN_MOMENTUM 0.1

/* One sample's per-channel mean and sum of squared deviations: x [c][hw]; mean, m2: [c]. */
void nn_bn_sample_stats(double *mean, double *m2, const float *x, int c, int hw);
/* The same on a chosen kernel set (NN_ISA_*); the one above uses nn_cpu_isa(). */
void nn_bn_sample_stats_isa(double *mean, double *m2, const float *x, int c, int hw, int isa);
/* Combines per-sample statistics part[s] = {mean[c], m2[c]} (each [2][c], s in order, hw values per sample)
 * into the batch mean and biased variance (Chan et al.'s pairwise formula, in sample order). */
void nn_bn_combine_stats(double *mean, double *var, const double *part, int batch, int c, int hw);
/* Batch-level reference forward (training mode) over x [batch][c][hw], in double: out = gamma x^ + beta;
 * mean, var (biased) [c] are returned for the caller's running-average update. */
void nn_bn_forward_ref(float *out, double *mean, double *var, const float *x, const float *gamma,
                       const float *beta, int batch, int c, int hw);
/* Batch-level reference backward: dx [batch][c][hw] (overwritten; may be NULL), dgamma, dbeta [c]
 * accumulated. */
void nn_bn_backward_ref(float *dx, float *dgamma, float *dbeta, const float *dout, const float *x,
                        const float *gamma, int batch, int c, int hw);
/* y = scale[c] x + shift[c] over one sample [c][hw]. */
void nn_bn_apply(float *y, const float *x, const float *scale, const float *shift, int c, int hw);
/* One sample's partial sums for the backward pass: sdz[c] = sum dout, sdzx[c] = sum dout x^ with
 * x^ = (x - mean) invstd. */
void nn_bn_backward_partial(double *sdz, double *sdzx, const float *dout, const float *x, const double *mean,
                            const double *invstd, int c, int hw);
/* dx = k (dout - sdz/N - x^ sdzx/N) with k = gamma invstd, N = batch hw values per channel: written here as
 * dx = a[c] + b[c] (x - mu[c]) + k[c] dout. coef: [4][c] = {a, b, k, mu}; x - mu keeps a large mean from
 * cancelling digits away. */
void nn_bn_backward_apply(float *dx, const float *dout, const float *x, const float *coef, int c, int hw);
/* The coefficients above from the batch sums. */
void nn_bn_backward_coef(float *coef, const double *sdz, const double *sdzx, const double *mean,
                         const double *invstd, const float *gamma, int c, double n);

/* ---- fused conv block tail: batch-norm affine -> ReLU -> optional 2x2 max pool ----------------------------- */

/* Forward over one sample: y [c][h][w] conv output; scale, shift [c] (batch-norm as an affine map);
 * out [c][h/2][w/2] when pool, else [c][h][w]. With pool, arg and yarg (each may be NULL, shaped as out) get
 * each cell's argmax (0..3, first maximum in scan order) and the conv output there. */
void nn_block_forward(float *out, uint8_t *arg, float *yarg, const float *y, const float *scale,
                      const float *shift, int c, int h, int w, int pool);
/* Backward, first half: one sample's batch-norm partial sums (see nn_bn_backward_partial) from the gradient
 * of the block output dout [c][n]; yv [c][n] is the conv output behind each output value (yarg with pool,
 * y itself without); out [c][n] masks the ReLU. */
void nn_block_backward_partial(double *sdz, double *sdzx, const float *dout, const float *out, const float *yv,
                               const double *mean, const double *invstd, int c, int n);
/* Backward, second half: dy [c][h][w] = the gradient at the conv output (coef from nn_bn_backward_coef). */
void nn_block_backward_dy(float *dy, const float *dout, const float *out, const uint8_t *arg, const float *y,
                          const float *coef, int c, int h, int w, int pool);
/* The three above on a chosen kernel set (NN_ISA_*, at most nn_cpu_isa(); they use nn_cpu_isa()); dy into a
 * strided map: row y of channel ch at dy + ch cs + y rs (a padded plane's interior). */
void nn_block_forward_isa(float *out, uint8_t *arg, float *yarg, const float *y, const float *scale,
                          const float *shift, int c, int h, int w, int pool, int isa);
void nn_block_backward_partial_isa(double *sdz, double *sdzx, const float *dout, const float *out, const float *yv,
                                   const double *mean, const double *invstd, int c, int n, int isa);
void nn_block_backward_dy_strided(float *dy, int rs, size_t cs, const float *dout, const float *out,
                                  const uint8_t *arg, const float *y, const float *coef, int c, int h, int w, int pool,
                                  int isa);
/* AVX-512 kernels (nn/block_avx512.c): the block tail (partial: before the invstd scaling) and batch-norm's
 * sums s1 = sum x, s2 = sum (x - mu)^2 (either may be NULL). */
void nn_block_forward_avx512(float *out, uint8_t *arg, float *yarg, const float *y, const float *scale,
                             const float *shift, int c, int h, int w, int pool);
void nn_block_partial_avx512(double *sdz, double *sdzx, const float *dout, const float *out, const float *yv,
                             const double *mean, int c, int n);
void nn_block_dy_avx512(float *dy, int rs, size_t cs, const float *dout, const float *out, const uint8_t *arg,
                        const float *y, const float *coef, int c, int h, int w, int pool);
void nn_bn_sums_avx512(const float *x, int n, float mu, double *s1, double *s2);

/* ---- the Gram shortcut of a one-channel 3x3 pooled block (nn/gram.c, nn/gram_avx512.c) ---------------------- */

#define NN_GRAM_SIZE 90 /* doubles per sample: S [9], G [9][9] */
/* mean, m2 [c] of the conv output (as nn_bn_sample_stats) from gram; wt [c][9], bias [c] or NULL. */
void nn_gram_stats(double *mean, double *m2, const double *gram, const float *wt, const float *bias, int c,
                   double n);
/* dwt [c][9] and dbias [c] (may be NULL) of one sample, overwritten, from its gram and cell sums ([c][10]: the
 * nine window sums of g over live pooled cells, then the sum of g), with the batch statistics (mean, invstd [c])
 * and backward sums (sdz, sdzx [c], as the batch-norm backward forms them); n_batch, n: conv outputs per
 * channel in the batch, in the sample. */
void nn_gram_wgrad(float *dwt, float *dbias, const double *gram, const double *cell, const float *wt,
                   const float *bias, const double *mean, const double *invstd, const double *sdz,
                   const double *sdzx, const float *gamma, int c, double n_batch, double n);
/* gram of one padded input plane (xd: (h + 2p) ws + 8 doubles of scratch); cell sums from the gradient of the
 * block output (dout), the block output (out: ReLU mask) and the argmax codes of one sample ([c][h/2][w/2]
 * each). scratch: 480 c floats. */
void nn_gram_sums_avx512(double *gram, const float *pad, const nn_conv_dims *d, const nn_pad_geom *g,
                         double *xd);
void nn_gram_cells_avx512(double *cell, const float *pad, const float *dout, const float *out,
                          const uint8_t *arg, int c, int h, int w, const nn_pad_geom *g, float *scratch);

/* ---- the other layers (each defined in its layer file, nn/layer_*.c; backward: din and parameter gradients
 * overwritten) ---------------------------------------------------------------------------------------------------- */

/* 2x2 max pool, floor; arg (may be NULL) gets the argmax (0..3, first maximum in scan order). in [c][h][w] -> out
 * [c][h/2][w/2]. Backward overwrites din [c][h][w]. */
void nn_maxpool_forward(float *out, uint8_t *arg, const float *in, int c, int h, int w);
void nn_maxpool_backward(float *din, const float *dout, const uint8_t *arg, int c, int h, int w);

void nn_relu_forward(float *out, const float *in, size_t n);
/* din = dout where out > 0, else 0 (PyTorch's rule: no gradient at 0). */
void nn_relu_backward(float *din, const float *dout, const float *out, size_t n);

/* mask[i] = 0 with probability p, else 1/(1-p), drawn from rng; out = in * mask. */
void nn_dropout_mask(float *mask, size_t n, float p, aa_rng *rng);
void nn_mul(float *out, const float *a, const float *b, size_t n);

/* in [c][hw] -> out [c] (mean); backward spreads dout[c] / hw. */
void nn_gap_forward(float *out, const float *in, int c, int hw);
void nn_gap_backward(float *din, const float *dout, int c, int hw);
/* Mean removal along rows (cmn): out [rows][w] = in less each row's mean (summed in double; out may be in).
 * Linear and its own adjoint, so the backward is the same call on the gradient. */
void nn_rows_less_mean(float *out, const float *in, size_t rows, int w);
/* Log-sum-exp time pooling of [c][h][w] with sharpness r (nn/layer_lse.c); scratch: w doubles, wt: w floats. */
void nn_lse_forward(float *out, const float *in, int c, int h, int w, float r, double *scratch);
void nn_lse_backward(float *din, const float *dout, const float *in, int c, int h, int w, float r, double *scratch,
                     float *wt);

/* out [n_out] = wt [n_out][n_in] in + bias. Backward overwrites dwt, dbias with this sample's gradients and
 * din (may be NULL). */
void nn_dense_forward(float *out, const float *in, const float *wt, const float *bias, int n_in, int n_out);
void nn_dense_backward(float *din, float *dwt, float *dbias, const float *dout, const float *in,
                       const float *wt, int n_in, int n_out);

/* Softmax cross-entropy over a batch (see nn_loss): logits [batch][k]; writes probs and dlogits [batch][k]
 * (the gradient of the mean loss) and returns the mean loss. Labels are assumed valid. */
double nn_softmax_xent(float *probs, float *dlogits, const float *logits, const int *labels, int batch, int k,
                       const float *class_weights, float smoothing);

#endif
