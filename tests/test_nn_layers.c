/* nn/ layers other than convolution: batch-norm (per-sample partials against the batch-level reference,
 * the reference against finite differences), the fused block tail against the separate layers it fuses,
 * max pool, ReLU, dropout, global average pool, dense, and softmax cross-entropy (finite differences and
 * values from PyTorch 1.13). */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_kernels.h"
#include "tests/util/testutil.h"

static float *rnd(size_t n, aa_rng *r, double mean, double sd)
{
    float *p = malloc(sizeof *p * (n ? n : 1));
    ck_assert(p != NULL);
    for (size_t i = 0; i < n; i++)
        p[i] = (float)(mean + sd * aa_rng_normal(r));
    return p;
}

static double rel_err(const float *a, const float *b, size_t n)
{
    double e = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        e = fmax(e, fabs((double)a[i] - b[i]));
        s = fmax(s, fabs(b[i]));
    }
    return e / (s > 0 ? s : 1);
}

static double dot(const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)a[i] * b[i];
    return s;
}

/* ---- batch-norm ---- */

START_TEST(bn_partials_match_batch_statistics)
{
    /* A mean of 100 with unit spread: sum-of-squares formulas lose every digit here; per-sample (mean, M2)
     * combined by Chan's formula must not. Measured: mean 3e-8, variance 1.6e-7 relative; held to 1e-6 and
     * 1e-5 (the float partial sums could carry ~1e-6 on another summation order). */
    const int B = 5, C = 3, HW = 777;
    aa_rng r;
    aa_rng_seed(&r, 1);
    float *x = rnd((size_t)B * C * HW, &r, 100, 1), *out = malloc(sizeof *out * B * C * HW);
    float gamma[3] = {1, 1, 1}, beta[3] = {0, 0, 0};
    double part[5 * 2 * 3], mean[3], var[3], mref[3], vref[3];
    for (int s = 0; s < B; s++)
        nn_bn_sample_stats(part + s * 2 * C, part + s * 2 * C + C, x + (size_t)s * C * HW, C, HW);
    nn_bn_combine_stats(mean, var, part, B, C, HW);
    nn_bn_forward_ref(out, mref, vref, x, gamma, beta, B, C, HW);
    for (int c = 0; c < C; c++) {
        ck_assert_msg(fabs(mean[c] - mref[c]) <= 1e-6 * fabs(mref[c]), "mean %d: %.9g vs %.9g", c, mean[c], mref[c]);
        ck_assert_msg(fabs(var[c] - vref[c]) <= 1e-5 * vref[c], "var %d: %.9g vs %.9g", c, var[c], vref[c]);
        ck_assert(fabs(vref[c] - 1.0) < 0.2); /* the data really has unit variance */
    }
    free(x), free(out);
}
END_TEST

/* L = sum r * bn(x) in double, through the batch-level reference. */
static double bn_loss(const float *x, const float *gamma, const float *beta, const float *r, int B, int C, int HW,
                      float *out)
{
    double mean[8], var[8];
    nn_bn_forward_ref(out, mean, var, x, gamma, beta, B, C, HW);
    return dot(r, out, (size_t)B * C * HW);
}

START_TEST(bn_reference_backward_is_the_gradient)
{
    /* Central differences with step 1e-2 on unit-scale inputs: truncation error ~h^2 = 1e-4 relative, float
     * rounding of the ~60-term loss ~1e-6 / 2h = 5e-5 absolute (measured worst: 3.8e-5). Allowed: 2e-3
     * relative + 2e-4 absolute (gradients here are O(0.1..1)); a wrong term in the formula is off by O(1). */
    const int B = 3, C = 2, HW = 10;
    const size_t n = (size_t)B * C * HW;
    aa_rng rg;
    aa_rng_seed(&rg, 2);
    float *x = rnd(n, &rg, 0.5, 1.5), *r = rnd(n, &rg, 0, 1), *out = malloc(sizeof *out * n);
    float gamma[2] = {1.3f, -0.7f}, beta[2] = {0.2f, 0.1f};
    float *dx = malloc(sizeof *dx * n), dg[2] = {0}, db[2] = {0};
    nn_bn_backward_ref(dx, dg, db, r, x, gamma, B, C, HW);
    const float h = 1e-2f;
    for (size_t i = 0; i < n; i++) {
        const float keep = x[i], xu = keep + h, xd = keep - h;
        x[i] = xu;
        double up = bn_loss(x, gamma, beta, r, B, C, HW, out);
        x[i] = xd;
        double down = bn_loss(x, gamma, beta, r, B, C, HW, out);
        x[i] = keep;
        double fd = (up - down) / ((double)xu - xd);
        ck_assert_msg(fabs(fd - dx[i]) <= 2e-3 * fabs(fd) + 2e-4, "dx[%zu]: fd %g vs %g", i, fd, (double)dx[i]);
    }
    float *params[2] = {gamma, beta}, *grads[2] = {dg, db};
    for (int k = 0; k < 2; k++)
        for (int c = 0; c < C; c++) {
            const float keep = params[k][c], pu = keep + h, pd = keep - h;
            params[k][c] = pu;
            double up = bn_loss(x, gamma, beta, r, B, C, HW, out);
            params[k][c] = pd;
            double down = bn_loss(x, gamma, beta, r, B, C, HW, out);
            params[k][c] = keep;
            double fd = (up - down) / ((double)pu - pd);
            ck_assert_msg(fabs(fd - grads[k][c]) <= 2e-3 * fabs(fd) + 2e-4, "param %d[%d]: fd %g vs %g", k, c, fd,
                          (double)grads[k][c]);
        }
    free(x), free(r), free(out), free(dx);
}
END_TEST

/* Batch statistics through the per-sample path: mean and 1/sqrt(var + eps) per channel. */
static void fast_stats(const float *x, int B, int C, int HW, double *mean, double *invstd)
{
    double *part = malloc(sizeof *part * B * 2 * C), var[64];
    for (int s = 0; s < B; s++)
        nn_bn_sample_stats(part + s * 2 * C, part + s * 2 * C + C, x + (size_t)s * C * HW, C, HW);
    nn_bn_combine_stats(mean, var, part, B, C, HW);
    for (int c = 0; c < C; c++)
        invstd[c] = 1.0 / sqrt(var[c] + NN_BN_EPS);
    free(part);
}

/* The batch-level backward coefficients from per-sample partial sums of (dout, x). */
static void fast_coef(float *coef, const float *dout, const float *x, const float *gamma, const double *mean,
                      const double *invstd, int B, int C, int HW, float *dg, float *db)
{
    double sdz[64] = {0}, sdzx[64] = {0}, a[64], b[64];
    for (int s = 0; s < B; s++) {
        nn_bn_backward_partial(a, b, dout + (size_t)s * C * HW, x + (size_t)s * C * HW, mean, invstd, C, HW);
        for (int c = 0; c < C; c++)
            sdz[c] += a[c], sdzx[c] += b[c];
    }
    for (int c = 0; c < C; c++)
        dg[c] = (float)sdzx[c], db[c] = (float)sdz[c];
    nn_bn_backward_coef(coef, sdz, sdzx, mean, invstd, gamma, C, (double)B * HW);
}

START_TEST(bn_fast_backward_matches_reference)
{
    /* Per-sample partials + coefficients + apply against the double reference, on data with a large mean
     * (the case the x - mu form exists for). Measured: 9e-7 of the scale (dgamma), 1e-7 (dx); held to
     * 1e-5. */
    const int B = 4, C = 3, HW = 50;
    const size_t n = (size_t)B * C * HW;
    aa_rng r;
    aa_rng_seed(&r, 4);
    float *x = rnd(n, &r, 20, 0.5), *g = rnd(n, &r, 0, 1), *dx = malloc(sizeof *dx * n), *dx_ref = malloc(sizeof *dx_ref * n);
    float gamma[3] = {0.8f, 1.2f, -0.5f}, dg[3], db[3], dg_ref[3] = {0}, db_ref[3] = {0}, coef[12];
    double mean[3], invstd[3];
    fast_stats(x, B, C, HW, mean, invstd);
    fast_coef(coef, g, x, gamma, mean, invstd, B, C, HW, dg, db);
    for (int s = 0; s < B; s++)
        nn_bn_backward_apply(dx + (size_t)s * C * HW, g + (size_t)s * C * HW, x + (size_t)s * C * HW, coef, C, HW);
    nn_bn_backward_ref(dx_ref, dg_ref, db_ref, g, x, gamma, B, C, HW);
    ck_assert_msg(rel_err(dx, dx_ref, n) < 1e-5, "dx %.3g", rel_err(dx, dx_ref, n));
    ck_assert_msg(rel_err(dg, dg_ref, 3) < 1e-5, "dgamma %.3g", rel_err(dg, dg_ref, 3));
    ck_assert_msg(rel_err(db, db_ref, 3) < 1e-5, "dbeta %.3g", rel_err(db, db_ref, 3));
    free(x), free(g), free(dx), free(dx_ref);
}
END_TEST

/* ---- the fused block tail ---- */

/* Block tail vs bn_apply -> relu -> maxpool and back, over shapes that exercise the vector paths' tails
 * (widths not a multiple of 16, odd heights and widths) and ties (quantised inputs: many equal values in a
 * pool window, many exact zeros after ReLU). */
static void check_block(int C, int H, int W, int pool, int quantise)
{
    const int B = 3, HW = H * W, oh = pool ? H / 2 : H, ow = pool ? W / 2 : W, on = C * oh * ow;
    aa_rng r;
    aa_rng_seed(&r, (uint64_t)(C * 1000 + H * 10 + W));
    float *y = rnd((size_t)B * C * HW, &r, 0.3, 1);
    if (quantise)
        for (int i = 0; i < B * C * HW; i++)
            y[i] = roundf(y[i] * 2) / 2;
    float gamma[8], beta[8], scale[8], shift[8];
    for (int c = 0; c < C; c++)
        gamma[c] = (float)(c % 3 == 2 ? -0.8 : 1.0 + 0.1 * c), beta[c] = (float)(0.1 * c - 0.2);
    double mean[8], invstd[8];
    fast_stats(y, B, C, HW, mean, invstd);
    for (int c = 0; c < C; c++)
        scale[c] = (float)(gamma[c] * invstd[c]), shift[c] = (float)(beta[c] - mean[c] * scale[c]);

    float *out = malloc(sizeof *out * B * on), *yarg = malloc(sizeof *yarg * B * on), *t1 = malloc(sizeof *t1 * HW * C);
    float *t2 = malloc(sizeof *t2 * HW * C), *out2 = malloc(sizeof *out2 * on);
    uint8_t *arg = malloc((size_t)B * on), *arg2 = malloc((size_t)on);
    for (int s = 0; s < B; s++) {
        const float *ys = y + (size_t)s * C * HW;
        nn_block_forward(out + s * on, arg + s * on, yarg + s * on, ys, scale, shift, C, H, W, pool);
        nn_bn_apply(t1, ys, scale, shift, C, HW);
        nn_relu_forward(t2, t1, (size_t)C * HW);
        if (pool) {
            nn_maxpool_forward(out2, arg2, t2, C, H, W);
            for (int i = 0; i < on; i++) {
                /* where ReLU zeroed a whole window the argmax is immaterial (no gradient passes) */
                ck_assert_msg(out2[i] == 0 || arg[s * on + i] == arg2[i], "argmax %d: %d vs %d", i, arg[s * on + i],
                              arg2[i]);
                int py = (i % (oh * ow)) / ow, px = i % ow, c = i / (oh * ow), k = arg[s * on + i];
                ck_assert(yarg[s * on + i] == ys[(size_t)c * HW + (2 * py + (k >> 1)) * W + 2 * px + (k & 1)]);
            }
        } else {
            memcpy(out2, t2, sizeof *out2 * on);
        }
        /* The same float operations in the same order, FMA aside: measured 1e-7 of the scale; 1e-6. */
        ck_assert_msg(rel_err(out + s * on, out2, (size_t)on) < 1e-6, "forward %.3g", rel_err(out + s * on, out2, (size_t)on));
    }

    /* Backward: the fused path against maxpool_backward -> relu_backward -> batch-norm backward. */
    float *dout = rnd((size_t)B * on, &r, 0, 1), *dy = malloc(sizeof *dy * C * HW), *dz = malloc(sizeof *dz * B * C * HW);
    float *dy2 = malloc(sizeof *dy2 * C * HW), coef[32], coef2[32], dg[8], db[8], dg2[8], db2[8];
    double sdz[8] = {0}, sdzx[8] = {0}, a[8], b[8];
    for (int s = 0; s < B; s++) {
        const float *ys = y + (size_t)s * C * HW;
        nn_block_backward_partial(a, b, dout + s * on, out + s * on, pool ? yarg + s * on : ys, mean, invstd, C, on / C);
        for (int c = 0; c < C; c++)
            sdz[c] += a[c], sdzx[c] += b[c];
        /* dz: the gradient at the batch-norm output, through the pool and the ReLU */
        float *dzs = dz + (size_t)s * C * HW;
        nn_bn_apply(t1, ys, scale, shift, C, HW);
        nn_relu_forward(t2, t1, (size_t)C * HW);
        if (pool) {
            nn_maxpool_backward(t1, dout + s * on, arg + s * on, C, H, W);
            nn_relu_backward(dzs, t1, t2, (size_t)C * HW);
        } else {
            nn_relu_backward(dzs, dout + s * on, t2, (size_t)C * HW);
        }
    }
    for (int c = 0; c < C; c++)
        dg[c] = (float)sdzx[c], db[c] = (float)sdz[c];
    nn_bn_backward_coef(coef, sdz, sdzx, mean, invstd, gamma, C, (double)B * HW);
    fast_coef(coef2, dz, y, gamma, mean, invstd, B, C, HW, dg2, db2);
    /* Same sums in a different order and grouping: measured 2.2e-7 of the scale (dy 7e-8); 2e-6. */
    ck_assert_msg(rel_err(dg, dg2, (size_t)C) < 2e-6 && rel_err(db, db2, (size_t)C) < 2e-6, "dgamma %.3g dbeta %.3g",
                  rel_err(dg, dg2, (size_t)C), rel_err(db, db2, (size_t)C));
    for (int s = 0; s < B; s++) {
        nn_block_backward_dy(dy, dout + s * on, out + s * on, arg + s * on, y + (size_t)s * C * HW, coef, C, H, W, pool);
        nn_bn_backward_apply(dy2, dz + (size_t)s * C * HW, y + (size_t)s * C * HW, coef2, C, HW);
        ck_assert_msg(rel_err(dy, dy2, (size_t)C * HW) < 2e-6, "dy %.3g", rel_err(dy, dy2, (size_t)C * HW));
    }
    free(y), free(out), free(yarg), free(t1), free(t2), free(out2), free(arg), free(arg2), free(dout), free(dy);
    free(dz), free(dy2);
}

START_TEST(block_matches_separate_layers)
{
    for (int q = 0; q < 2; q++) {
        check_block(3, 8, 40, 1, q);  /* vector path only */
        check_block(5, 9, 37, 1, q);  /* odd height and width, vector + tail */
        check_block(2, 6, 7, 1, q);   /* tail only */
        check_block(4, 5, 13, 0, q);  /* no pool */
        check_block(8, 4, 16, 0, q);
    }
}
END_TEST

/* ---- max pool, ReLU, dropout, global average pool, dense ---- */

START_TEST(maxpool_first_maximum_and_floor)
{
    /* 1 channel, 3x5 -> 1x2: the last row and column are dropped; ties go to the first in scan order. */
    const float in[15] = {1, 3, 2, 2, 9, 3, 0, 2, 1, 9, 7, 7, 7, 7, 7};
    float out[2], din[15], dout[2] = {10, 20};
    uint8_t arg[2];
    nn_maxpool_forward(out, arg, in, 1, 3, 5);
    ck_assert(out[0] == 3 && arg[0] == 1); /* 3 at (0,1) and again at (1,0): the first wins */
    ck_assert(out[1] == 2 && arg[1] == 0); /* window {2,2,2,1}: (0,0) */
    nn_maxpool_backward(din, dout, arg, 1, 3, 5);
    for (int i = 0; i < 15; i++)
        ck_assert(din[i] == (i == 1 ? 10 : i == 2 ? 20 : 0));
}
END_TEST

START_TEST(relu_has_no_gradient_at_zero)
{
    const float in[5] = {-1, 0, 2, -0.0f, 1e-30f};
    float out[5], din[5], dout[5] = {1, 1, 1, 1, 1};
    nn_relu_forward(out, in, 5);
    nn_relu_backward(din, dout, out, 5);
    const float want[5] = {0, 0, 2, 0, 1e-30f}, wantd[5] = {0, 0, 1, 0, 1};
    for (int i = 0; i < 5; i++)
        ck_assert(out[i] == want[i] && din[i] == wantd[i]);
}
END_TEST

START_TEST(dropout_masks)
{
    /* n = 100000 draws at p = 0.3: the dropped fraction's sd is 0.0014; 0.01 is 7 sd. */
    const size_t n = 100000;
    float *m1 = malloc(sizeof *m1 * n), *m2 = malloc(sizeof *m2 * n);
    aa_rng a, b;
    aa_rng_seed3(&a, 42, 7, 3);
    aa_rng_seed3(&b, 42, 7, 3);
    nn_dropout_mask(m1, n, 0.3f, &a);
    nn_dropout_mask(m2, n, 0.3f, &b);
    size_t dropped = 0;
    for (size_t i = 0; i < n; i++) {
        ck_assert(m1[i] == m2[i]);
        ck_assert(m1[i] == 0.0f || m1[i] == 1.0f / 0.7f);
        dropped += m1[i] == 0.0f;
    }
    ck_assert(fabs((double)dropped / n - 0.3) < 0.01);
    nn_dropout_mask(m1, n, 0.0f, &a);
    for (size_t i = 0; i < n; i++)
        ck_assert(m1[i] == 1.0f);
    free(m1), free(m2);
}
END_TEST

START_TEST(gap_and_dense_gradients)
{
    /* Both are linear: central differences with step 0.5 are exact up to float rounding of ~30-term sums
     * (~1e-6); 1e-4 relative + 1e-5 absolute. */
    aa_rng r;
    aa_rng_seed(&r, 8);
    const int C = 3, HW = 6, NI = 5, NO = 4;
    float *x = rnd((size_t)C * HW, &r, 0, 1), *g = rnd((size_t)C, &r, 0, 1), out[3], dx[18];
    nn_gap_forward(out, x, C, HW);
    for (int c = 0; c < C; c++) {
        double s = 0;
        for (int i = 0; i < HW; i++)
            s += x[c * HW + i];
        ck_assert(fabs(out[c] - s / HW) < 1e-6);
    }
    nn_gap_backward(dx, g, C, HW);
    for (int i = 0; i < C * HW; i++)
        ck_assert(fabs(dx[i] - g[i / HW] / HW) < 1e-7);

    float *in = rnd((size_t)NI, &r, 0, 1), *wt = rnd((size_t)NO * NI, &r, 0, 1), *b = rnd((size_t)NO, &r, 0, 1);
    float *rr = rnd((size_t)NO, &r, 0, 1), y[4], din[5], dw[20], db[4];
    nn_dense_backward(din, dw, db, rr, in, wt, NI, NO);
    struct {
        float *v, *g;
        int n;
    } sets[3] = {{in, din, NI}, {wt, dw, NO * NI}, {b, db, NO}};
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < sets[k].n; i++) {
            float keep = sets[k].v[i];
            sets[k].v[i] = keep + 0.5f;
            nn_dense_forward(y, in, wt, b, NI, NO);
            double up = dot(rr, y, NO);
            sets[k].v[i] = keep - 0.5f;
            nn_dense_forward(y, in, wt, b, NI, NO);
            double down = dot(rr, y, NO);
            sets[k].v[i] = keep;
            double fd = up - down;
            ck_assert_msg(fabs(fd - sets[k].g[i]) <= 1e-4 * fabs(fd) + 1e-5, "dense set %d [%d]: %g vs %g", k, i, fd,
                          (double)sets[k].g[i]);
        }
    free(x), free(g), free(in), free(wt), free(b), free(rr);
}
END_TEST

/* Loss sum r * f(x) through max pool, ReLU and dropout (its mask fixed): piecewise linear, so with inputs
 * kept at least 0.1 from every kink (ReLU's zero, ties in a pool window) a central difference with step
 * 0.01 is exact but for float rounding (~1e-7 x 12 terms of O(10) / 0.02 ~ 1e-5); 1e-4 relative + 1e-4
 * absolute, against gradients of O(1) that a wrong route would make 0 or O(1) off. */
static double pw_loss(const float *x, const float *r, const float *mask, int C, int H, int W, float *t1, float *t2,
                      float *t3)
{
    uint8_t arg[64];
    nn_maxpool_forward(t1, arg, x, C, H, W);
    nn_relu_forward(t2, t1, (size_t)C * (H / 2) * (W / 2));
    nn_mul(t3, t2, mask, (size_t)C * (H / 2) * (W / 2));
    return dot(r, t3, (size_t)C * (H / 2) * (W / 2));
}

START_TEST(cmn_removes_row_means_and_its_gradient)
{
    /* Rows of zero mean, unchanged by a constant added to a row (a band's gain or a microphone's colour on a
     * log-mel), and the backward against central differences of the linear loss sum r * cmn(x): step 0.5,
     * exact but for float rounding of 7-term sums; 1e-4 relative + 1e-5 absolute. */
    aa_rng r;
    aa_rng_seed(&r, 21);
    const int ROWS = 5, W = 7, N = ROWS * W;
    float *x = rnd((size_t)N, &r, 0, 1), *rr = rnd((size_t)N, &r, 0, 1), y[35], y2[35], dx[35], sh[35];
    nn_rows_less_mean(y, x, ROWS, W);
    for (int row = 0; row < ROWS; row++) {
        double s = 0, sx = 0;
        for (int i = 0; i < W; i++)
            s += y[row * W + i], sx += x[row * W + i];
        ck_assert_msg(fabs(s) < 1e-5, "row %d sums to %g", row, s);
        ck_assert(fabs(y[row * W] - (x[row * W] - sx / W)) < 1e-6);
    }
    for (int i = 0; i < N; i++)
        sh[i] = x[i] + 3.0f * (float)(i / W) - 7.0f;
    nn_rows_less_mean(y2, sh, ROWS, W);
    for (int i = 0; i < N; i++)
        ck_assert_msg(fabs(y2[i] - y[i]) < 1e-5, "[%d]: %g vs %g after a per-row offset", i, (double)y2[i],
                      (double)y[i]);
    nn_rows_less_mean(dx, rr, ROWS, W);
    for (int i = 0; i < N; i++) {
        float keep = x[i];
        x[i] = keep + 0.5f;
        nn_rows_less_mean(y, x, ROWS, W);
        double up = dot(rr, y, (size_t)N);
        x[i] = keep - 0.5f;
        nn_rows_less_mean(y, x, ROWS, W);
        double down = dot(rr, y, (size_t)N);
        x[i] = keep;
        double fd = up - down;
        ck_assert_msg(fabs(fd - dx[i]) <= 1e-4 * fabs(fd) + 1e-5, "cmn [%d]: %g vs %g", i, fd, (double)dx[i]);
    }
    /* in place gives the same as out of place */
    memcpy(y2, x, sizeof y2);
    nn_rows_less_mean(y, x, ROWS, W);
    nn_rows_less_mean(y2, y2, ROWS, W);
    ck_assert(memcmp(y, y2, sizeof y) == 0);
    free(x), free(rr);
}
END_TEST

START_TEST(lse_pool_between_mean_and_max_and_its_gradient)
{
    /* Forward against the formula in double; small R gives the mean over time of the frequency means (gap's
     * value), large R their maximum; the backward against central differences (step 1e-3 on values of
     * order 1: the pool is smooth, so the error is ~1e-6 of curvature plus float rounding of ~1e-4
     * relative; 2e-3 absolute + 1e-2 relative). */
    aa_rng r;
    aa_rng_seed(&r, 9);
    enum { C = 3, H = 4, W = 7 };
    float *x = rnd((size_t)C * H * W, &r, 0, 1), *g = rnd(C, &r, 0, 1), out[C], dx[C * H * W], wt[W];
    double sc[W];
    const float rs[] = {0.5f, 5.0f};
    for (int k = 0; k < 2; k++) {
        nn_lse_forward(out, x, C, H, W, rs[k], sc);
        for (int c = 0; c < C; c++) {
            double m[W], s = 0;
            for (int t = 0; t < W; t++) {
                m[t] = 0;
                for (int f = 0; f < H; f++)
                    m[t] += x[(c * H + f) * W + t] / H;
                s += exp(rs[k] * m[t]) / W;
            }
            ck_assert_msg(fabs(out[c] - log(s) / rs[k]) < 1e-5, "R %g channel %d: %g against %g", (double)rs[k], c,
                          (double)out[c], log(s) / rs[k]);
        }
        nn_lse_backward(dx, g, x, C, H, W, rs[k], sc, wt);
        for (int i = 0; i < C * H * W; i++) {
            const float keep = x[i];
            float up[C], down[C];
            x[i] = keep + 1e-3f;
            nn_lse_forward(up, x, C, H, W, rs[k], sc);
            x[i] = keep - 1e-3f;
            nn_lse_forward(down, x, C, H, W, rs[k], sc);
            x[i] = keep;
            const double fd = (dot(g, up, C) - dot(g, down, C)) / 2e-3;
            ck_assert_msg(fabs(dx[i] - fd) < 2e-3 + 1e-2 * fabs(fd), "R %g value %d: %g against %g", (double)rs[k],
                          i, (double)dx[i], fd);
        }
    }
    float mean[C], lo[C], hi[C];
    nn_gap_forward(mean, x, C, H * W);
    nn_lse_forward(lo, x, C, H, W, 1e-3f, sc);
    nn_lse_forward(hi, x, C, H, W, 100.0f, sc);
    for (int c = 0; c < C; c++) {
        double top = -1e30;
        for (int t = 0; t < W; t++) {
            double m = 0;
            for (int f = 0; f < H; f++)
                m += x[(c * H + f) * W + t] / H;
            top = m > top ? m : top;
        }
        ck_assert(fabs(lo[c] - mean[c]) < 1e-3);
        ck_assert(fabs(hi[c] - top) < log((double)W) / 100 + 1e-5);
        ck_assert(hi[c] > lo[c] + 0.1); /* random data: the maximum is well above the mean */
    }
    free(x), free(g);
}
END_TEST

START_TEST(pool_relu_dropout_gradients)
{
    const int C = 2, H = 5, W = 7, n = C * H * W, on = C * (H / 2) * (W / 2);
    aa_rng rg;
    aa_rng_seed(&rg, 13);
    float x[70], r[12], mask[12], t1[12], t2[12], t3[12], d1[12], d2[12], dx[70];
    uint8_t arg[12];
    /* distinct values on a 0.1 grid (a permutation), none within 0.1 of zero: no ties, no kinks within the
     * step; |x| <= 7 keeps the float rounding of the loss near 1e-6 */
    size_t perm[70];
    for (int i = 0; i < n; i++)
        perm[i] = (size_t)i;
    aa_rng_shuffle(&rg, perm, (size_t)n);
    for (int i = 0; i < n; i++)
        x[i] = (float)((perm[i] % 2 ? -0.1 : 0.1) * (1 + perm[i] / 2));
    for (int i = 0; i < on; i++)
        r[i] = (float)aa_rng_normal(&rg);
    nn_dropout_mask(mask, (size_t)on, 0.4f, &rg);
    nn_maxpool_forward(t1, arg, x, C, H, W);
    nn_relu_forward(t2, t1, (size_t)on);
    nn_mul(d1, r, mask, (size_t)on);       /* dropout backward */
    nn_relu_backward(d2, d1, t2, (size_t)on);
    nn_maxpool_backward(dx, d2, arg, C, H, W);
    for (int i = 0; i < n; i++) {
        const float keep = x[i], xu = keep + 0.01f, xd = keep - 0.01f;
        x[i] = xu;
        double up = pw_loss(x, r, mask, C, H, W, t1, t2, t3);
        x[i] = xd;
        double down = pw_loss(x, r, mask, C, H, W, t1, t2, t3);
        x[i] = keep;
        double fd = (up - down) / ((double)xu - xd);
        ck_assert_msg(fabs(fd - dx[i]) <= 1e-4 * fabs(fd) + 1e-4, "x[%d]: fd %g vs %g", i, fd, (double)dx[i]);
    }
    int nonzero = 0;
    for (int i = 0; i < n; i++)
        nonzero += dx[i] != 0;
    ck_assert(nonzero >= 2); /* the check exercised live paths, not only zeros */
}
END_TEST

/* ---- softmax cross-entropy ---- */

static const float XL[12] = {1.5f, -0.25f, 0.5f, 2.0f, 0.0f, 0.75f, -1.0f, 0.25f, -2.0f, 1.0f, 3.0f, 0.5f};
static const int XY[3] = {3, 1, 0};
static const float XW[4] = {1.0f, 2.0f, 0.5f, 1.5f};

START_TEST(xent_matches_pytorch)
{
    /* F.cross_entropy(z, y, weight, label_smoothing) and its gradient from PyTorch 1.13 in float64, for the
     * four combinations of class weights and smoothing 0.1. Ours runs in double and stores float gradients:
     * 1e-6 absolute (float rounding of O(0.1) values is 1e-8). */
    static const double want[4][13] = {
        {2.224836165621971, 0.104480936989, 0.018156064436, 0.038436388713, -0.161073390137, 0.069897249391,
         -0.185360855211, 0.025713761045, 0.089749844775, -0.331498617624, 0.036851250121, 0.272295954457,
         0.022351413047},
        {1.7370431928216803, 0.104480936989, 0.018156064436, 0.038436388713, -0.161073390137, 0.093196332521,
         -0.247147806948, 0.034285014727, 0.1196664597, -0.220999078416, 0.02456750008, 0.181530636304,
         0.014900942031},
        {2.197752832288638, 0.096147603655, 0.009822731103, 0.030103055379, -0.136073390137, 0.061563916058,
         -0.160360855211, 0.017380427712, 0.081416511441, -0.306498617624, 0.028517916787, 0.263962621123,
         0.014018079714},
        {1.7258252206746767, 0.097184032483, 0.006742352251, 0.035018004456, -0.138944389191, 0.084145914496,
         -0.221213097521, 0.030221548897, 0.106845634128, -0.204301833154, 0.014070576471, 0.183291124434,
         0.006940132249}};
    for (int c = 0; c < 4; c++) {
        float p[12], g[12];
        double loss = nn_softmax_xent(p, g, XL, XY, 3, 4, c & 1 ? XW : NULL, c & 2 ? 0.1f : 0.0f);
        ck_assert_msg(fabs(loss - want[c][0]) < 1e-6, "case %d loss %.9g vs %.9g", c, loss, want[c][0]);
        for (int i = 0; i < 12; i++)
            ck_assert_msg(fabs(g[i] - want[c][1 + i]) < 1e-6, "case %d grad %d: %.9g vs %.9g", c, i, (double)g[i],
                          want[c][1 + i]);
        for (int s = 0; s < 3; s++) {
            double sum = 0;
            for (int j = 0; j < 4; j++)
                sum += p[s * 4 + j];
            ck_assert(fabs(sum - 1) < 1e-6);
        }
    }
}
END_TEST

START_TEST(xent_gradient_and_extremes)
{
    /* Central differences (step 1e-3, smooth function, truncation ~1e-6) against the analytic gradient. */
    float z[12], p[12], g[12], gd[12];
    memcpy(z, XL, sizeof z);
    nn_softmax_xent(p, g, z, XY, 3, 4, XW, 0.2f);
    for (int i = 0; i < 12; i++) {
        /* the step actually taken in float, not the nominal 2e-3 */
        const float keep = z[i], zu = keep + 1e-3f, zd = keep - 1e-3f;
        z[i] = zu;
        double up = nn_softmax_xent(p, gd, z, XY, 3, 4, XW, 0.2f);
        z[i] = zd;
        double down = nn_softmax_xent(p, gd, z, XY, 3, 4, XW, 0.2f);
        z[i] = keep;
        double fd = (up - down) / ((double)zu - zd);
        ck_assert_msg(fabs(fd - g[i]) < 1e-5, "logit %d: %g vs %g", i, fd, (double)g[i]);
    }
    /* Huge logits must not overflow (max subtraction). */
    const float big[4] = {1000, -1000, 999, 0};
    const int lab = 2;
    double l = nn_softmax_xent(p, g, big, &lab, 1, 4, NULL, 0);
    ck_assert(isfinite(l) && fabs(l - (1 + log1p(exp(-1.0)))) < 1e-6);
}
END_TEST

Suite *nn_layers_suite(void)
{
    Suite *s = suite_create("nn_layers");
    TCase *tc = tcase_create("layers");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, bn_partials_match_batch_statistics);
    tcase_add_test(tc, bn_reference_backward_is_the_gradient);
    tcase_add_test(tc, bn_fast_backward_matches_reference);
    tcase_add_test(tc, block_matches_separate_layers);
    tcase_add_test(tc, maxpool_first_maximum_and_floor);
    tcase_add_test(tc, relu_has_no_gradient_at_zero);
    tcase_add_test(tc, dropout_masks);
    tcase_add_test(tc, gap_and_dense_gradients);
    tcase_add_test(tc, cmn_removes_row_means_and_its_gradient);
    tcase_add_test(tc, lse_pool_between_mean_and_max_and_its_gradient);
    tcase_add_test(tc, pool_relu_dropout_gradients);
    tcase_add_test(tc, xent_matches_pytorch);
    tcase_add_test(tc, xent_gradient_and_extremes);
    suite_add_tcase(s, tc);
    return s;
}
