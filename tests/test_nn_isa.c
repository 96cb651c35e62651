/* nn/ kernel sets: the block tail (batch-norm affine, ReLU, 2x2 max pool and their backward) and batch-norm
 * statistics on AVX2 and AVX-512 against their plain C twins, and a whole model run on each kernel set the CPU
 * has (plain = im2col + sgemm): the same numbers within rounding, and on each set bit-identical run to run and
 * at any thread count. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_model.h"
#include "tests/util/testutil.h"

static float *rnd(size_t n, aa_rng *r)
{
    float *p = malloc(sizeof *p * (n ? n : 1));
    ck_assert(p != NULL);
    for (size_t i = 0; i < n; i++)
        p[i] = (float)aa_rng_normal(r);
    return p;
}

/* Shapes of the block tail: even and odd rows and columns, rows shorter and longer than a vector, with and
 * without pooling. */
static const struct {
    int c, h, w, pool;
} TAILS[] = {{3, 8, 37, 1}, {2, 9, 40, 1}, {4, 6, 33, 0}, {5, 7, 9, 0}, {16, 10, 401, 1}, {2, 4, 3, 1}};
#define N_TAILS (int)(sizeof TAILS / sizeof TAILS[0])

START_TEST(block_tail_every_kernel_set)
{
    /* Each vector kernel against the plain one on the same data. The affine map is one fused multiply-add in
     * the vector kernels and a rounded product plus a sum in plain C: a difference of one rounding, 1e-6 of
     * the scale. A cell's argmax may then differ only between two values that close. Partial sums: float
     * chunks of up to 512 values against float chunks summed in another order, 1e-5 of the sum of |terms|. */
    aa_rng r;
    aa_rng_seed(&r, 31);
    for (int ti = 0; ti < N_TAILS; ti++) {
        const int c = TAILS[ti].c, h = TAILS[ti].h, w = TAILS[ti].w, pool = TAILS[ti].pool;
        const int oh = pool ? h / 2 : h, ow = pool ? w / 2 : w;
        const size_t n = (size_t)c * h * w, on = (size_t)c * oh * ow;
        float *y = rnd(n, &r), *scale = rnd((size_t)c, &r), *shift = rnd((size_t)c, &r), *g = rnd(on, &r);
        float *coef = rnd(4 * (size_t)c, &r);
        double mean[16], invstd[16];
        for (int ch = 0; ch < c; ch++)
            mean[ch] = 0.1 * ch, invstd[ch] = 1.0 + 0.01 * ch;
        float *out0 = malloc(sizeof *out0 * on), *yarg0 = malloc(sizeof *yarg0 * on);
        uint8_t *arg0 = malloc(on);
        nn_block_forward_isa(out0, arg0, yarg0, y, scale, shift, c, h, w, pool, NN_ISA_PLAIN);
        double sdz0[16], sdzx0[16];
        nn_block_backward_partial_isa(sdz0, sdzx0, g, out0, pool ? yarg0 : y, mean, invstd, c, oh * ow,
                                      NN_ISA_PLAIN);
        /* dy into a strided map with gaps (row stride w + 3, channel stride + 5): the gaps stay untouched */
        const int rs = w + 3;
        const size_t cs = (size_t)h * rs + 5, dn = (size_t)c * cs;
        float *dy0 = malloc(sizeof *dy0 * dn);
        for (size_t i = 0; i < dn; i++)
            dy0[i] = 99.0f;
        nn_block_backward_dy_strided(dy0, rs, cs, g, out0, arg0, y, coef, c, h, w, pool, NN_ISA_PLAIN);
        for (int isa = NN_ISA_AVX2; isa <= nn_cpu_isa(); isa++) {
            float *out = malloc(sizeof *out * on), *yarg = malloc(sizeof *yarg * on), *dy = malloc(sizeof *dy * dn);
            uint8_t *arg = malloc(on);
            nn_block_forward_isa(out, arg, yarg, y, scale, shift, c, h, w, pool, isa);
            double scl = 0;
            for (size_t i = 0; i < on; i++)
                scl = fmax(scl, fabs(out0[i]));
            for (size_t i = 0; i < on; i++) {
                ck_assert_msg(fabs(out[i] - out0[i]) <= 1e-6 * scl, "isa %d tail %d out[%zu] %g vs %g", isa, ti, i,
                              (double)out[i], (double)out0[i]);
                if (!pool)
                    continue;
                /* the conv output kept at the argmax is the value at the cell the code names */
                size_t ch = i / ((size_t)oh * ow), cell = i % ((size_t)oh * ow);
                int py = (int)(cell / ow), px = (int)(cell % ow);
                ck_assert(arg[i] < 4);
                size_t at = ((size_t)ch * h + 2 * py + (arg[i] >> 1)) * w + 2 * px + (arg[i] & 1);
                ck_assert(yarg[i] == y[at]);
                if (arg[i] != arg0[i]) {
                    size_t at0 = ((size_t)ch * h + 2 * py + (arg0[i] >> 1)) * w + 2 * px + (arg0[i] & 1);
                    double v = scale[ch] * (double)y[at] + shift[ch], v0 = scale[ch] * (double)y[at0] + shift[ch];
                    ck_assert_msg(fabs(v - v0) <= 1e-6 * scl, "isa %d tail %d cell %zu: argmax %d vs %d", isa, ti,
                                  i, arg[i], arg0[i]);
                }
            }
            double sdz[16], sdzx[16];
            nn_block_backward_partial_isa(sdz, sdzx, g, out0, pool ? yarg0 : y, mean, invstd, c, oh * ow, isa);
            for (int ch = 0; ch < c; ch++) {
                double mag = 0;
                for (int i = 0; i < oh * ow; i++)
                    mag += fabs(g[(size_t)ch * oh * ow + i]) * (1 + fabs((pool ? yarg0 : y)[(size_t)ch * oh * ow + i]));
                ck_assert(fabs(sdz[ch] - sdz0[ch]) <= 1e-5 * mag + 1e-12);
                ck_assert(fabs(sdzx[ch] - sdzx0[ch]) <= 1e-5 * mag * invstd[ch] + 1e-12);
            }
            for (size_t i = 0; i < dn; i++)
                dy[i] = 99.0f;
            nn_block_backward_dy_strided(dy, rs, cs, g, out0, arg0, y, coef, c, h, w, pool, isa);
            double dscl = 0;
            for (size_t i = 0; i < dn; i++)
                dscl = fmax(dscl, fabs(dy0[i]));
            for (size_t i = 0; i < dn; i++) {
                size_t within = i % cs;
                int in_map = within < (size_t)h * rs && (int)(within % rs) < w;
                if (!in_map)
                    ck_assert_msg(dy[i] == 99.0f, "isa %d tail %d: gap %zu written", isa, ti, i);
                else
                    ck_assert_msg(fabs(dy[i] - dy0[i]) <= 1e-6 * dscl, "isa %d tail %d dy[%zu] %g vs %g", isa, ti, i,
                                  (double)dy[i], (double)dy0[i]);
            }
            free(out), free(yarg), free(arg), free(dy);
        }
        free(y), free(scale), free(shift), free(g), free(coef), free(out0), free(yarg0), free(arg0), free(dy0);
    }
}
END_TEST

START_TEST(batchnorm_stats_every_kernel_set)
{
    /* Per-sample mean and sum of squared deviations against double sums, on a map with a large offset (mean
     * 50 x the spread, where a one-pass formula would lose most digits): float chunks of 512 values give
     * ~1e-7 relative error; 1e-6 of the mean and 1e-5 of M2. */
    const int c = 3, hw = 25 * 401;
    aa_rng r;
    aa_rng_seed(&r, 32);
    float *x = rnd((size_t)c * hw, &r);
    for (size_t i = 0; i < (size_t)c * hw; i++)
        x[i] = 50.0f + x[i];
    double want_m[3], want_m2[3];
    for (int ch = 0; ch < c; ch++) {
        double s = 0, q = 0;
        for (int i = 0; i < hw; i++)
            s += x[(size_t)ch * hw + i];
        want_m[ch] = s / hw;
        for (int i = 0; i < hw; i++) {
            double d = x[(size_t)ch * hw + i] - want_m[ch];
            q += d * d;
        }
        want_m2[ch] = q;
    }
    for (int isa = NN_ISA_PLAIN; isa <= nn_cpu_isa(); isa++) {
        double mean[3], m2[3];
        nn_bn_sample_stats_isa(mean, m2, x, c, hw, isa);
        for (int ch = 0; ch < c; ch++) {
            ck_assert_msg(fabs(mean[ch] - want_m[ch]) <= 1e-6 * fabs(want_m[ch]), "isa %d mean %d", isa, ch);
            ck_assert_msg(fabs(m2[ch] - want_m2[ch]) <= 1e-5 * want_m2[ch], "isa %d m2 %d: %.9g vs %.9g", isa, ch,
                          m2[ch], want_m2[ch]);
        }
    }
    free(x);
}
END_TEST

/* Models that together take every fast path: a one-channel 3x3 first block (statistics and weight gradient
 * from the input's moments), a 5x5 one-channel and a 3-channel first block (conv output recomputed band by
 * band; the second also needs its input gradient, being after a 3-channel block), 16-channel inputs
 * (channels-last weight gradient), ragged widths, an unpooled block, dropout. */
static const struct {
    const char *arch;
    int in_c, first_recomputed; /* stage recomputed on AVX-512 */
} MODELS[] = {{"c16 bn relu p2 c16 bn relu p2 c32 bn relu gap drop0.2 fc", 1, 0},
              {"c8k5 bn relu p2 c16 bn relu p2 c16 bn relu gap fc", 1, 0},
              {"c3 bn relu p2 c8 bn relu p2 c16 bn relu gap fc", 3, 1}};
#define B 4
#define H 15 /* odd: the last row belongs to no pooled cell, and is a band of its own below */
#define W 45

typedef struct {
    float logits[B * 3], eval[B * 3], *grads;
    size_t n;
} outcome;

static outcome run(int mi, int isa, int threads, const float *x)
{
    aa_error err;
    nn_model *m = nn_model_new(MODELS[mi].arch, MODELS[mi].in_c, H, W, 3, B, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    ck_assert(isa <= m->isa);
    /* the paths the model is meant to take, decided when it was built */
    const int r = MODELS[mi].first_recomputed, top = m->isa >= NN_ISA_AVX512;
    ck_assert(m->stages[r].recompute == top);
    ck_assert(nn_stage_gram(m, &m->stages[r]) == (top && mi == 0));
    ck_assert(nn_stage_direct(m, &m->stages[r + 1]) == top);
    m->isa = isa;
    m->band_floats = 1; /* two rows per band: every band boundary case on a small map */
    nn_init_he(m, 5);
    nn_set_threads(m, threads);
    const int labels[B] = {0, 1, 2, 1};
    outcome o = {.n = m->n_params};
    ck_assert_int_eq(nn_forward_train(m, x, B, 7, 0, &err), 0);
    ck_assert_int_eq(nn_loss(m, labels, NULL, NULL, NULL, &err), 0);
    ck_assert_int_eq(nn_backward(m, &err), 0);
    memcpy(o.logits, nn_logits(m), sizeof o.logits);
    o.grads = malloc(sizeof *o.grads * o.n);
    memcpy(o.grads, nn_grads(m), sizeof *o.grads * o.n);
    ck_assert_int_eq(nn_forward_eval(m, x, B, o.eval, &err), 0);
    nn_model_free(m);
    return o;
}

static int same_bits(const outcome *a, const outcome *b)
{
    return memcmp(a->logits, b->logits, sizeof a->logits) == 0 && memcmp(a->eval, b->eval, sizeof a->eval) == 0 &&
           memcmp(a->grads, b->grads, sizeof *a->grads * a->n) == 0;
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

START_TEST(model_on_every_kernel_set)
{
    /* The kernel sets sum in different orders, so they agree to rounding: logits and gradients within 1e-4
     * of their largest value (the parity test's tolerance against PyTorch; measured differences are ~1e-6),
     * while a wrong layout or a missed term gives O(1). Within one set every reduction has a fixed order:
     * a second run, and runs on 2 and 3 threads, must give the same bits. */
    aa_rng r;
    aa_rng_seed(&r, 33);
    for (int mi = 0; mi < (int)(sizeof MODELS / sizeof MODELS[0]); mi++) {
        float *x = rnd((size_t)B * MODELS[mi].in_c * H * W, &r);
        outcome plain = run(mi, NN_ISA_PLAIN, 1, x);
        for (int isa = NN_ISA_PLAIN; isa <= nn_cpu_isa(); isa++) {
            outcome a = run(mi, isa, 1, x);
            double el = rel_err(a.logits, plain.logits, B * 3), ee = rel_err(a.eval, plain.eval, B * 3);
            double eg = rel_err(a.grads, plain.grads, a.n);
            ck_assert_msg(el < 1e-4 && ee < 1e-4 && eg < 1e-4, "model %d isa %d vs plain: logits %.3g eval %.3g "
                          "grads %.3g", mi, isa, el, ee, eg);
            for (int t = 1; t <= 3; t++) {
                outcome b = run(mi, isa, t, x);
                ck_assert_msg(same_bits(&a, &b), "model %d isa %d: %d thread(s) differ from the first run", mi, isa,
                              t);
                free(b.grads);
            }
            free(a.grads);
        }
        free(plain.grads);
        free(x);
    }
}
END_TEST

START_TEST(first_block_from_input_moments)
{
    /* A first block with one input channel takes its batch-norm statistics and weight gradient from the
     * input's shifted sums and Gram matrix (nn/gram.c) on AVX-512. Against the plain reference model (every
     * layer apart, double sums), beside the same fast model on the regular path (AVX2: im2col + sgemm, the
     * conv output recomputed): inputs far off zero (mean 30 x their spread, where the variance is a small
     * difference of large second moments) and a conv bias. Measured, moment path / regular path: conv1's
     * weight gradient 1.1e-5 / 1.1e-5 of its scale (a sum of zero-mean gradients times inputs near 30: 30x the
     * usual rounding), batch-norm gradients 1.2e-6 / 2.9e-6, running statistics 1.6e-8 / 6.3e-8, logits
     * 1.5e-7 / 1.9e-7. Bounds: 1e-4 for conv1's weight gradient (the parity test's), 1e-5 for the rest, and
     * never more than twice the regular path's error (+1e-6); a wrong term or tap gives O(1). The conv bias
     * gradient is rounding noise (batch-norm removes any bias): held to the noise's scale. */
    if (nn_cpu_isa() < NN_ISA_AVX512)
        return;
    aa_error err;
    const char *arch = "c8b bn relu p2 c8 bn relu gap fc";
    const int b = 3, h = 12, w = 37;
    nn_model *ms[3];
    for (int k = 0; k < 3; k++) {
        ms[k] = nn_model_new_ex(arch, 1, h, w, 3, b, k == 2, &err);
        ck_assert_msg(ms[k] != NULL, "%s", err.msg);
        nn_init_he(ms[k], 9);
        float *bias = nn_tensor_data(ms[k], nn_tensor_find(ms[k], "conv1.bias"));
        for (int c = 0; c < 8; c++) /* He initialisation leaves biases at 0: give the bias terms work */
            bias[c] = 2.0f * (c % 3) - 1.5f;
    }
    nn_model *f = ms[0], *a2 = ms[1], *r = ms[2];
    a2->isa = NN_ISA_AVX2;
    ck_assert(nn_stage_gram(f, &f->stages[0]) && !nn_stage_gram(a2, &a2->stages[0]));
    aa_rng g;
    aa_rng_seed(&g, 34);
    float *x = rnd((size_t)b * h * w, &g);
    for (int i = 0; i < b * h * w; i++)
        x[i] = 30.0f + x[i];
    const int labels[3] = {2, 0, 1};
    for (int k = 0; k < 3; k++) {
        ck_assert_int_eq(nn_forward_train(ms[k], x, b, 1, 0, &err), 0);
        ck_assert_int_eq(nn_loss(ms[k], labels, NULL, NULL, NULL, &err), 0);
        ck_assert_int_eq(nn_backward(ms[k], &err), 0);
    }
    const char *names[] = {"conv1.weight", "bn1.weight", "bn1.bias", "conv2.weight", "bn1.running_mean",
                           "bn1.running_var"};
    for (int k = 0; k < 6; k++) {
        const int i = nn_tensor_find(f, names[k]);
        const nn_tensor_info *t = nn_tensor_at(f, i);
        const float *vf = t->kind == NN_TENSOR_PARAM ? nn_tensor_grad(f, i) : nn_tensor_data(f, i);
        const float *va = t->kind == NN_TENSOR_PARAM ? nn_tensor_grad(a2, i) : nn_tensor_data(a2, i);
        const float *vr = t->kind == NN_TENSOR_PARAM ? nn_tensor_grad(r, i) : nn_tensor_data(r, i);
        double ef = rel_err(vf, vr, t->count), ea = rel_err(va, vr, t->count);
        ck_assert_msg(ef < (k == 0 ? 1e-4 : 1e-5) && ef <= 2 * ea + 1e-6, "%s: moment path %.3g, regular %.3g",
                      names[k], ef, ea);
    }
    ck_assert_msg(rel_err(nn_logits(f), nn_logits(r), 9) < 1e-5, "logits");
    const float *db = nn_tensor_grad(f, nn_tensor_find(f, "conv1.bias"));
    const float *dw = nn_tensor_grad(r, nn_tensor_find(r, "conv1.weight"));
    double noise = 0, scale = 0;
    for (int i = 0; i < 8; i++)
        noise = fmax(noise, fabs(db[i]));
    for (int i = 0; i < 72; i++)
        scale = fmax(scale, fabs(dw[i]));
    ck_assert_msg(noise <= 1e-5 * scale * h * w, "conv1.bias gradient %.3g", noise);
    free(x);
    for (int k = 0; k < 3; k++)
        nn_model_free(ms[k]);
}
END_TEST

Suite *nn_isa_suite(void)
{
    Suite *s = suite_create("nn_isa");
    TCase *tc = tcase_create("isa");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, block_tail_every_kernel_set);
    tcase_add_test(tc, batchnorm_stats_every_kernel_set);
    tcase_add_test(tc, model_on_every_kernel_set);
    tcase_add_test(tc, first_block_from_input_moments);
    suite_add_tcase(s, tc);
    return s;
}
