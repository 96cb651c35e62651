/* nn/ convolution and matrix products: the fast kernels (im2col + OpenBLAS, the direct single-channel
 * kernels) against the plain reference, the reference against central finite differences, im2col against
 * its adjoint, and the gemm wrapper against the triple loop. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn.h"
#include "nn/nn_kernels.h"
#include "tests/util/testutil.h"

static float *rnd(size_t n, aa_rng *r)
{
    float *p = malloc(sizeof *p * (n ? n : 1));
    ck_assert(p != NULL);
    for (size_t i = 0; i < n; i++)
        p[i] = (float)aa_rng_normal(r);
    return p;
}

/* max |a - b| / max |b| */
static double rel_err(const float *a, const float *b, size_t n)
{
    double e = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        e = fmax(e, fabs((double)a[i] - b[i]));
        s = fmax(s, fabs(b[i]));
    }
    return e / (s > 0 ? s : 1);
}

static const nn_conv_dims SHAPES[] = {
    {.c_in = 1, .c_out = 16, .h = 9, .w = 21, .k = 3, .pad = 1},   /* direct kernel, 8-channel groups, tail */
    {.c_in = 1, .c_out = 5, .h = 8, .w = 8, .k = 5, .pad = 2},     /* direct, ragged group, 5x5 */
    {.c_in = 3, .c_out = 5, .h = 10, .w = 11, .k = 3, .pad = 1},
    {.c_in = 4, .c_out = 8, .h = 9, .w = 13, .k = 5, .pad = 2},
    {.c_in = 6, .c_out = 4, .h = 8, .w = 9, .k = 1, .pad = 0},
    {.c_in = 2, .c_out = 3, .h = 8, .w = 3, .k = 7, .pad = 3},     /* kernel wider than the map */
    {.c_in = 16, .c_out = 8, .h = 20, .w = 200, .k = 3, .pad = 1}, /* several im2col bands */
};
#define N_SHAPES (int)(sizeof SHAPES / sizeof SHAPES[0])

/* Fast vs reference: float sums of up to 144 (forward) or 4000 (weight gradient) products against double
 * sums. Measured worst over these shapes: 3.5e-7 of the output's largest value (forward, dW, dX alike);
 * 1e-5 leaves ~30x for other CPUs' summation orders, while a wrong index or a dropped tap gives O(1). */
#define CONV_TOL 1e-5

START_TEST(conv_fast_matches_reference)
{
    aa_rng r;
    aa_rng_seed(&r, 11);
    for (int si = 0; si < N_SHAPES; si++) {
        const nn_conv_dims *d = &SHAPES[si];
        const size_t in_n = (size_t)d->c_in * d->h * d->w, out_n = (size_t)d->c_out * d->h * d->w;
        const size_t w_n = (size_t)d->c_out * d->c_in * d->k * d->k;
        float *x = rnd(in_n, &r), *wt = rnd(w_n, &r), *b = rnd((size_t)d->c_out, &r), *g = rnd(out_n, &r);
        float *y = rnd(out_n, &r), *y_ref = calloc(out_n, sizeof *y_ref);
        float *dx = rnd(in_n, &r), *dx_ref = calloc(in_n, sizeof *dx_ref);
        float *dw = rnd(w_n, &r), *dw_ref = calloc(w_n, sizeof *dw_ref);
        float *db = rnd((size_t)d->c_out, &r), *db_ref = calloc((size_t)d->c_out, sizeof *db_ref);
        float *scratch = malloc(sizeof *scratch * nn_conv2d_scratch(d));
        for (int with_bias = 0; with_bias < 2; with_bias++) {
            nn_conv2d_forward(y, x, wt, with_bias ? b : NULL, d, scratch);
            nn_conv2d_forward_ref(y_ref, x, wt, with_bias ? b : NULL, d);
            double e = rel_err(y, y_ref, out_n);
            ck_assert_msg(e < CONV_TOL, "shape %d forward: %.3g", si, e);
        }
        /* With an input gradient (im2col path), and without (the direct path for one input channel). */
        for (int want_dx = 0; want_dx < 2; want_dx++) {
            memset(dx_ref, 0, sizeof *dx_ref * in_n);
            memset(dw_ref, 0, sizeof *dw_ref * w_n);
            memset(db_ref, 0, sizeof *db_ref * (size_t)d->c_out);
            nn_conv2d_backward(want_dx ? dx : NULL, dw, db, g, x, wt, d, scratch);
            nn_conv2d_backward_ref(dx_ref, dw_ref, db_ref, g, x, wt, d);
            double ew = rel_err(dw, dw_ref, w_n), eb = rel_err(db, db_ref, (size_t)d->c_out);
            ck_assert_msg(ew < CONV_TOL && eb < CONV_TOL, "shape %d dW %.3g db %.3g", si, ew, eb);
            if (want_dx) {
                double ex = rel_err(dx, dx_ref, in_n);
                ck_assert_msg(ex < CONV_TOL, "shape %d dX %.3g", si, ex);
            }
        }
        free(x), free(wt), free(b), free(g), free(y), free(y_ref), free(dx), free(dx_ref);
        free(dw), free(dw_ref), free(db), free(db_ref), free(scratch);
    }
}
END_TEST

/* L = sum r * conv(x; w, b) in double. */
static double conv_loss(const float *x, const float *wt, const float *b, const float *r, const nn_conv_dims *d,
                        float *y)
{
    nn_conv2d_forward_ref(y, x, wt, b, d);
    double s = 0;
    for (size_t i = 0; i < (size_t)d->c_out * d->h * d->w; i++)
        s += (double)r[i] * y[i];
    return s;
}

START_TEST(conv_reference_backward_is_the_gradient)
{
    /* The loss is linear in each of x, w, b, so a central difference is exact but for rounding: with step 0.5
     * on O(1) values the float forward's rounding (~1e-7 relative per output, ~100 outputs) stays below 1e-5
     * of the gradient, and 1e-4 relative + 1e-4 absolute catches any wrong index or missing term. */
    const nn_conv_dims d = {.c_in = 2, .c_out = 3, .h = 5, .w = 6, .k = 3, .pad = 1};
    const size_t in_n = 2 * 30, out_n = 3 * 30, w_n = 3 * 2 * 9;
    aa_rng rg;
    aa_rng_seed(&rg, 5);
    float *x = rnd(in_n, &rg), *wt = rnd(w_n, &rg), *b = rnd(3, &rg), *r = rnd(out_n, &rg), *y = rnd(out_n, &rg);
    float *dx = calloc(in_n, sizeof *dx), *dw = calloc(w_n, sizeof *dw), *db = calloc(3, sizeof *db);
    nn_conv2d_backward_ref(dx, dw, db, r, x, wt, &d);
    struct {
        float *v, *g;
        size_t n;
    } sets[3] = {{x, dx, in_n}, {wt, dw, w_n}, {b, db, 3}};
    for (int k = 0; k < 3; k++)
        for (size_t i = 0; i < sets[k].n; i++) {
            float keep = sets[k].v[i];
            sets[k].v[i] = keep + 0.5f;
            double up = conv_loss(x, wt, b, r, &d, y);
            sets[k].v[i] = keep - 0.5f;
            double down = conv_loss(x, wt, b, r, &d, y);
            sets[k].v[i] = keep;
            double fd = (up - down) / 1.0;
            ck_assert_msg(fabs(fd - sets[k].g[i]) <= 1e-4 * fabs(fd) + 1e-4, "set %d index %zu: %g vs %g", k, i, fd,
                          (double)sets[k].g[i]);
        }
    free(x), free(wt), free(b), free(r), free(y), free(dx), free(dw), free(db);
}
END_TEST

/* Small integers: every product and sum below is exact in float, so both sides must agree exactly. */
static float *rnd_int(size_t n, aa_rng *r)
{
    float *p = malloc(sizeof *p * n);
    ck_assert(p != NULL);
    for (size_t i = 0; i < n; i++)
        p[i] = (float)((int)aa_rng_below(r, 9) - 4);
    return p;
}

START_TEST(im2col_adjoint)
{
    /* col2im must be the exact transpose of im2col: <im2col(X), C> = <X, col2im(C)> for random X, C, over a
     * band in the middle of the map (rows 2..5). */
    const nn_conv_dims d = {.c_in = 3, .c_out = 1, .h = 7, .w = 6, .k = 3, .pad = 1};
    const int y0 = 2, y1 = 5, n = (y1 - y0) * d.w, kk = d.c_in * 9;
    aa_rng r;
    aa_rng_seed(&r, 3);
    float *x = rnd_int((size_t)d.c_in * d.h * d.w, &r), *c = rnd_int((size_t)kk * n, &r);
    float *col = calloc((size_t)kk * n, sizeof *col), *back = calloc((size_t)d.c_in * d.h * d.w, sizeof *back);
    nn_im2col(col, x, &d, y0, y1);
    nn_col2im_add(back, c, &d, y0, y1);
    double lhs = 0, rhs = 0;
    for (int i = 0; i < kk * n; i++)
        lhs += (double)col[i] * c[i];
    for (int i = 0; i < d.c_in * d.h * d.w; i++)
        rhs += (double)x[i] * back[i];
    ck_assert_msg(lhs == rhs, "%.12g vs %.12g", lhs, rhs);
    /* and im2col really is the shifted copy with zero padding */
    for (int ci = 0; ci < d.c_in; ci++)
        for (int t = 0; t < 9; t++)
            for (int y = y0; y < y1; y++)
                for (int xx = 0; xx < d.w; xx++) {
                    int iy = y + t / 3 - 1, ix = xx + t % 3 - 1;
                    float want = iy < 0 || iy >= d.h || ix < 0 || ix >= d.w ? 0.0f : x[(ci * d.h + iy) * d.w + ix];
                    ck_assert(col[(size_t)(ci * 9 + t) * n + (y - y0) * d.w + xx] == want);
                }
    free(x), free(c), free(col), free(back);
}
END_TEST

START_TEST(gemm_matches_triple_loop)
{
    /* OpenBLAS against double sums of at most 37 products: 1e-5 of the scale is ~20x its float rounding. */
    aa_rng r;
    aa_rng_seed(&r, 9);
    const int m = 7, n = 5, k = 37;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (int bi = 0; bi < 2; bi++) {
                const float beta = bi ? 0.5f : 0.0f;
                float *a = rnd((size_t)m * k, &r), *b = rnd((size_t)k * n, &r), *c = rnd((size_t)m * n, &r);
                float *c2 = malloc(sizeof *c2 * m * n);
                memcpy(c2, c, sizeof *c2 * m * n);
                nn_gemm(ta, tb, m, n, k, 1.5f, a, ta ? m : k, b, tb ? k : n, beta, c, n);
                nn_gemm_ref(ta, tb, m, n, k, 1.5f, a, ta ? m : k, b, tb ? k : n, beta, c2, n);
                double e = rel_err(c, c2, (size_t)m * n);
                ck_assert_msg(e < 1e-5, "ta %d tb %d beta %g: %.3g", ta, tb, (double)beta, e);
                free(a), free(b), free(c), free(c2);
            }
}
END_TEST

START_TEST(blas_runs_fast_kernels)
{
    nn_blas_setup();
    const char *core = nn_blas_core();
    ck_assert(core && *core);
#if defined(__x86_64__)
    /* On a CPU with AVX2, OpenBLAS must not be left on its SSE3 fallback (a 4-5x slowdown), unless the user
     * chose a core explicitly. */
    __builtin_cpu_init();
    if (!getenv("OPENBLAS_CORETYPE") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        ck_assert_msg(strcmp(core, "Prescott") != 0 && strcmp(core, "Nehalem") != 0 && strcmp(core, "Core2") != 0,
                      "OpenBLAS core %s", core);
#endif
}
END_TEST

Suite *nn_conv2d_suite(void)
{
    Suite *s = suite_create("nn_conv2d");
    TCase *tc = tcase_create("conv");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, conv_fast_matches_reference);
    tcase_add_test(tc, conv_reference_backward_is_the_gradient);
    tcase_add_test(tc, im2col_adjoint);
    tcase_add_test(tc, gemm_matches_triple_loop);
    tcase_add_test(tc, blas_runs_fast_kernels);
    suite_add_tcase(s, tc);
    return s;
}
