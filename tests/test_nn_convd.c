/* nn/ direct convolution on padded planes: the plane layout and its padding, the store masks, the channels-last
 * copy, and every AVX-512 kernel (forward, input gradient, weight gradient; planar and channels-last), against
 * the plain reference convolution. Also the dense entry points on every kernel set the CPU runs, including the
 * im2col + sgemm path, which the default no longer takes on an AVX-512 CPU. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* 64-byte aligned (as the model's scratch), filled with NaN so that a read of anything not written shows. */
static float *nan_buf(size_t n)
{
    float *p = NULL;
    ck_assert(posix_memalign((void **)&p, 64, sizeof *p * (n ? n : 1)) == 0);
    for (size_t i = 0; i < n; i++)
        p[i] = NAN;
    return p;
}

/* max |a - b| / max |b| */
static double rel_err(const float *a, const float *b, size_t n)
{
    double e = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        e = d > e || d != d ? d : e; /* a NaN counts as an infinite error */
        s = fmax(s, fabs(b[i]));
    }
    return e / (s > 0 ? s : 1);
}

static const nn_conv_dims SHAPES[] = {
    {.c_in = 1, .c_out = 16, .h = 9, .w = 21, .k = 3, .pad = 1},   /* first-layer shape: one input channel */
    {.c_in = 1, .c_out = 5, .h = 8, .w = 8, .k = 5, .pad = 2},     /* ragged channel block, 5x5 */
    {.c_in = 3, .c_out = 5, .h = 10, .w = 11, .k = 3, .pad = 1},
    {.c_in = 4, .c_out = 8, .h = 9, .w = 13, .k = 5, .pad = 2},
    {.c_in = 6, .c_out = 4, .h = 8, .w = 9, .k = 1, .pad = 0},     /* no padding: rows run on unbroken */
    {.c_in = 2, .c_out = 3, .h = 8, .w = 3, .k = 7, .pad = 3},     /* kernel wider than the map, rows < 16 */
    {.c_in = 17, .c_out = 9, .h = 9, .w = 17, .k = 3, .pad = 1},   /* planar weight gradient, odd sizes */
    {.c_in = 16, .c_out = 8, .h = 20, .w = 50, .k = 3, .pad = 1},  /* channels-last weight gradient */
    {.c_in = 32, .c_out = 19, .h = 8, .w = 30, .k = 3, .pad = 1},  /* channels-last, ragged output groups */
    {.c_in = 16, .c_out = 5, .h = 9, .w = 12, .k = 5, .pad = 2},   /* channels-last, taps in groups 9+9+7 */
    {.c_in = 48, .c_out = 33, .h = 16, .w = 70, .k = 3, .pad = 1}, /* several float chunks per sum */
};
#define N_SHAPES (int)(sizeof SHAPES / sizeof SHAPES[0])

/* Float sums against the reference's double sums: up to 48*9 = 432 products per output (forward, input
 * gradient) and 16 * 72 = 1152 per weight (in chunks of 512). Measured worst over these shapes: 1.5e-6 of the
 * largest value; 1e-5 (as test_nn_conv2d.c) leaves room for other CPUs, while a wrong tap, channel or offset
 * gives errors of order 1. */
#define TOL 1e-5

START_TEST(plane_layout)
{
    for (int si = 0; si < N_SHAPES; si++) {
        const nn_conv_dims *d = &SHAPES[si];
        nn_pad_geom g = nn_pad_geom_of(d);
        ck_assert_int_eq(g.p, d->k / 2);
        ck_assert_int_eq(g.ws, d->w + 2 * g.p);
        ck_assert_int_eq(g.n, d->h * g.ws);
        /* the map's first value 64-byte aligned in every plane of a 64-byte aligned buffer */
        ck_assert_uint_eq(g.org % 16, 0);
        ck_assert_uint_eq(g.plane % 16, 0);
        ck_assert_uint_eq(g.org, (size_t)g.base + (size_t)g.p * g.ws + g.p);
        /* the kernels' reach: blocks of 48 outputs past n, each reading up to 2p rows and 2p columns on */
        size_t reach = (size_t)g.base + (size_t)(g.n + 47) + 2 * (size_t)g.p * g.ws + 2 * g.p;
        ck_assert_uint_gt(g.plane, reach);

        aa_rng r;
        aa_rng_seed(&r, (uint64_t)si);
        const size_t in_n = (size_t)d->c_in * d->h * d->w;
        float *x = rnd(in_n, &r), *pad = nan_buf(g.plane * d->c_in);
        nn_pad_planes(pad, x, d->c_in, d->h, d->w, &g);
        for (int c = 0; c < d->c_in; c++)
            for (size_t i = 0; i < g.plane; i++) {
                long rel = (long)i - (long)g.org, y = rel >= 0 ? rel / g.ws : -1, xx = rel >= 0 ? rel % g.ws : -1;
                float want = y >= 0 && y < d->h && xx < d->w ? x[((size_t)c * d->h + y) * d->w + xx] : 0.0f;
                ck_assert_msg(pad[(size_t)c * g.plane + i] == want, "shape %d plane %d float %zu", si, c, i);
            }
        /* zeroing the borders of a plane written in place keeps the map and clears the rest */
        for (size_t i = 0; i < g.plane * d->c_in; i++)
            pad[i] = 7.0f;
        nn_pad_zero_borders(pad, d->c_in, d->h, d->w, &g);
        for (int c = 0; c < d->c_in; c++)
            for (size_t i = 0; i < g.plane; i++) {
                long rel = (long)i - (long)g.org, y = rel >= 0 ? rel / g.ws : -1, xx = rel >= 0 ? rel % g.ws : -1;
                float want = y >= 0 && y < d->h && xx < d->w ? 7.0f : 0.0f;
                ck_assert_msg(pad[(size_t)c * g.plane + i] == want, "shape %d borders: plane %d float %zu", si, c, i);
            }
#if defined(__x86_64__)
        if (nn_cpu_isa() >= NN_ISA_AVX512 && nn_convd_wgrad_cl(d)) {
            /* channels-last: position i of the padded map holds every channel's value there, zeros around */
            float *cl = nan_buf(g.plane * d->c_in);
            nn_pad_planes(pad, x, d->c_in, d->h, d->w, &g);
            nn_convd_pad_wgrad_input(cl, x, d, &g);
            for (size_t i = 0; i < g.plane - g.base; i++)
                for (int c = 0; c < d->c_in; c++)
                    ck_assert_msg(cl[i * d->c_in + c] == pad[(size_t)c * g.plane + g.base + i],
                                  "shape %d channels-last position %zu channel %d", si, i, c);
            free(cl);
        }
#endif
        free(x), free(pad);
    }
}
END_TEST

START_TEST(store_masks)
{
    /* Against the definition: lane i is stored iff q + i < n and its column (q + i) mod ws is < w; the stored
     * lanes go to consecutive places of the dense map, from the first one's. Rows shorter than a vector too. */
    for (int w = 1; w <= 40; w += 3)
        for (int p = 0; p <= 3; p++)
            for (int lanes = 8; lanes <= 16; lanes += 8) {
                const int ws = w + 2 * p, h = 5, n = h * ws;
                for (int q = 0; q < n; q++) {
                    size_t start = 0;
                    unsigned m = nn_convd_store_mask(q / ws, q % ws, lanes, w, ws, n - q, &start);
                    long prev = -1;
                    for (int i = 0; i < lanes; i++) {
                        int pos = q + i, valid = pos < n && pos % ws < w;
                        ck_assert_msg(((m >> i) & 1) == (unsigned)valid, "w %d p %d q %d lane %d", w, p, q, i);
                        if (!valid)
                            continue;
                        long dense = (long)(pos / ws) * w + pos % ws;
                        ck_assert(prev < 0 ? dense == (long)start : dense == prev + 1);
                        prev = dense;
                    }
                    ck_assert(m >> lanes == 0);
                }
            }
}
END_TEST

/* The direct kernels on one shape: forward (with and without bias), input gradient, weight gradient. */
static void check_direct(const nn_conv_dims *d, int si, aa_rng *r)
{
    nn_pad_geom g = nn_pad_geom_of(d);
    const size_t in_n = (size_t)d->c_in * d->h * d->w, out_n = (size_t)d->c_out * d->h * d->w;
    const size_t w_n = (size_t)d->c_out * d->c_in * d->k * d->k;
    float *x = rnd(in_n, r), *wt = rnd(w_n, r), *b = rnd((size_t)d->c_out, r), *gy = rnd(out_n, r);
    float *pad = nan_buf(g.plane * d->c_in), *dpad = nan_buf(g.plane * d->c_out);
    float *wb = nan_buf(nn_convd_pack_size(d)), *wbt = nan_buf(nn_convd_pack_size(d));
    float *y = nan_buf(out_n + 16), *y_ref = calloc(out_n, sizeof *y_ref);
    float *dx = nan_buf(in_n + 16), *dx_ref = calloc(in_n, sizeof *dx_ref);
    float *dw = nan_buf(w_n + 16), *dw_ref = calloc(w_n, sizeof *dw_ref);
    /* guards after each output: nothing may be written past its end */
    for (int i = 0; i < 16; i++)
        y[out_n + i] = dx[in_n + i] = dw[w_n + i] = 12345.0f;
    nn_pad_planes(pad, x, d->c_in, d->h, d->w, &g);
    nn_pad_planes(dpad, gy, d->c_out, d->h, d->w, &g);
    nn_convd_pack(wb, wt, d);
    nn_convd_pack_t(wbt, wt, d);
    for (int with_bias = 0; with_bias < 2; with_bias++) {
        nn_convd_forward(y, pad, wb, with_bias ? b : NULL, d, &g);
        nn_conv2d_forward_ref(y_ref, x, wt, with_bias ? b : NULL, d);
        double e = rel_err(y, y_ref, out_n);
        ck_assert_msg(e < TOL, "shape %d forward (bias %d): %.3g", si, with_bias, e);
    }
    nn_conv2d_backward_ref(dx_ref, dw_ref, NULL, gy, x, wt, d);
    nn_convd_backward_data(dx, dpad, wbt, d, &g);
    double ex = rel_err(dx, dx_ref, in_n);
    ck_assert_msg(ex < TOL, "shape %d input gradient: %.3g", si, ex);
    nn_convd_pad_wgrad_input(pad, x, d, &g);
    nn_convd_backward_w(dw, dpad, pad, d, &g);
    double ew = rel_err(dw, dw_ref, w_n);
    ck_assert_msg(ew < TOL, "shape %d weight gradient%s: %.3g", si, nn_convd_wgrad_cl(d) ? " (channels-last)" : "",
                  ew);
    for (int i = 0; i < 16; i++)
        ck_assert(y[out_n + i] == 12345.0f && dx[in_n + i] == 12345.0f && dw[w_n + i] == 12345.0f);
    free(x), free(wt), free(b), free(gy), free(pad), free(dpad), free(wb), free(wbt);
    free(y), free(y_ref), free(dx), free(dx_ref), free(dw), free(dw_ref);
}

START_TEST(direct_kernels_match_reference)
{
    if (nn_cpu_isa() < NN_ISA_AVX512)
        return; /* no direct kernels on this CPU: the im2col path below covers it */
    aa_rng r;
    aa_rng_seed(&r, 21);
    for (int si = 0; si < N_SHAPES; si++)
        check_direct(&SHAPES[si], si, &r);
}
END_TEST

START_TEST(dense_entry_points_on_every_path)
{
    /* nn_conv2d_forward_isa / _backward_isa: im2col + sgemm below AVX-512, the direct kernels there (with
     * their own padding and packing), on the same shapes; tolerance as above. */
    aa_rng r;
    aa_rng_seed(&r, 22);
    for (int isa = NN_ISA_PLAIN; isa <= nn_cpu_isa(); isa++)
        for (int si = 0; si < N_SHAPES; si++) {
            const nn_conv_dims *d = &SHAPES[si];
            const size_t in_n = (size_t)d->c_in * d->h * d->w, out_n = (size_t)d->c_out * d->h * d->w;
            const size_t w_n = (size_t)d->c_out * d->c_in * d->k * d->k;
            float *x = rnd(in_n, &r), *wt = rnd(w_n, &r), *b = rnd((size_t)d->c_out, &r), *gy = rnd(out_n, &r);
            float *y = nan_buf(out_n), *y_ref = calloc(out_n, sizeof *y_ref), *dx = nan_buf(in_n);
            float *dx_ref = calloc(in_n, sizeof *dx_ref), *dw = nan_buf(w_n), *dw_ref = calloc(w_n, sizeof *dw_ref);
            float *db = nan_buf((size_t)d->c_out), *db_ref = calloc((size_t)d->c_out, sizeof *db_ref);
            float *scratch = malloc(sizeof *scratch * nn_conv2d_scratch(d));
            nn_conv2d_forward_isa(y, x, wt, b, d, scratch, isa);
            nn_conv2d_forward_ref(y_ref, x, wt, b, d);
            nn_conv2d_backward_isa(dx, dw, db, gy, x, wt, d, scratch, isa);
            nn_conv2d_backward_ref(dx_ref, dw_ref, db_ref, gy, x, wt, d);
            double ey = rel_err(y, y_ref, out_n), ex = rel_err(dx, dx_ref, in_n);
            double ew = rel_err(dw, dw_ref, w_n), eb = rel_err(db, db_ref, (size_t)d->c_out);
            ck_assert_msg(ey < TOL && ex < TOL && ew < TOL && eb < TOL,
                          "isa %d shape %d: y %.3g dx %.3g dw %.3g db %.3g", isa, si, ey, ex, ew, eb);
            free(x), free(wt), free(b), free(gy), free(y), free(y_ref), free(dx), free(dx_ref);
            free(dw), free(dw_ref), free(db), free(db_ref), free(scratch);
        }
}
END_TEST

Suite *nn_convd_suite(void)
{
    Suite *s = suite_create("nn_convd");
    TCase *tc = tcase_create("convd");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, plane_layout);
    tcase_add_test(tc, store_masks);
    tcase_add_test(tc, direct_kernels_match_reference);
    tcase_add_test(tc, dense_entry_points_on_every_path);
    suite_add_tcase(s, tc);
    return s;
}
