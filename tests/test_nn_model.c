/* nn/ models: architecture strings, build errors, the tensor layout of aa-cnn-s, the fast (fused) model
 * against the plain layer-by-layer reference model, and the evaluation path. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_model.h"
#include "tests/util/testutil.h"

static float *rnd(size_t n, uint64_t seed)
{
    aa_rng r;
    aa_rng_seed(&r, seed);
    float *p = malloc(sizeof *p * n);
    ck_assert(p != NULL);
    for (size_t i = 0; i < n; i++)
        p[i] = (float)aa_rng_normal(&r);
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

START_TEST(arch_canonical_form)
{
    static const char *const cases[][2] = {
        {"  c16   bn relu  p2 gap fc ", "c16 bn relu p2 gap fc"},
        {"c8k3 c8k5b c8bk1 fc", "c8 c8bk5 c8bk1 fc"},
        {"c4 drop0.50 gap drop0 fc16 fc", "c4 drop0.5 gap drop0 fc16 fc"},
        {"aa-cnn-s", NN_ARCH_DEFAULT},
        {"aa-cnn-speech", NN_ARCH_SPEECH},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nn_layer_spec l[NN_MAX_LAYERS];
        int n;
        char canon[NN_ARCH_MAX];
        aa_error err;
        ck_assert_msg(nn_arch_parse(cases[i][0], l, &n, canon, sizeof canon, &err) == 0, "%s", err.msg);
        ck_assert_str_eq(canon, cases[i][1]);
        /* canonical text parses to itself */
        char again[NN_ARCH_MAX];
        ck_assert_int_eq(nn_arch_parse(canon, l, &n, again, sizeof again, &err), 0);
        ck_assert_str_eq(again, canon);
    }
}
END_TEST

START_TEST(arch_errors)
{
    static const char *const bad_tokens[] = {"c", "c0", "c16k4", "c16k9", "c16bb", "c16x", "drop", "drop1", "drop-0.1",
                                             "p3", "fc0", "bnx", "relu6", "", "   "};
    for (size_t i = 0; i < sizeof bad_tokens / sizeof bad_tokens[0]; i++) {
        char arch[64];
        snprintf(arch, sizeof arch, "c8 %s fc", bad_tokens[i]);
        aa_error err = {0};
        nn_model *m = nn_model_new(bad_tokens[i][0] && bad_tokens[i][0] != ' ' ? arch : bad_tokens[i], 1, 16, 16, 3,
                                   2, &err);
        ck_assert_msg(m == NULL, "accepted \"%s\"", arch);
        ck_assert_int_eq(err.code, NN_ERR_ARCH);
        ck_assert_msg(strstr(err.msg, "architecture") != NULL, "%s", err.msg);
        if (bad_tokens[i][0] && bad_tokens[i][0] != ' ')
            ck_assert_msg(strstr(err.msg, bad_tokens[i]) != NULL, "message does not name the token: %s", err.msg);
    }
    /* Buildable text, but not on this input or not as a classifier. */
    static const char *const bad_shapes[] = {
        "c8 p2 p2 p2 p2 fc",  /* 8x8 -> 4 -> 2 -> 1 -> cannot pool 1x1 */
        "c8 gap bn fc",       /* batch-norm on a vector */
        "c8 gap p2 fc",
        "c8 fc c8 fc",        /* conv after the map is flattened */
        "c8 fc fc",           /* plain fc (to the classes) not last */
        "c8 bn relu",         /* no classifier */
        "c8 gap fc5",         /* last layer not n_classes wide */
    };
    for (size_t i = 0; i < sizeof bad_shapes / sizeof bad_shapes[0]; i++) {
        aa_error err = {0};
        nn_model *m = nn_model_new(bad_shapes[i], 1, 8, 8, 3, 2, &err);
        ck_assert_msg(m == NULL, "accepted \"%s\"", bad_shapes[i]);
        ck_assert_int_eq(err.code, NN_ERR_ARCH);
    }
    aa_error err = {0};
    ck_assert(nn_model_new(NN_ARCH_DEFAULT, 1, 64, 7, 4, 1, &err) == NULL);
    ck_assert_int_eq(err.code, NN_ERR_ARG);
    ck_assert(nn_model_new(NN_ARCH_DEFAULT, 1, 64, 401, 4, 0, &err) == NULL);
    ck_assert_int_eq(err.code, NN_ERR_ARG);
    /* hidden dense layers and a flattening dense layer are fine */
    nn_model *m = nn_model_new("c4 p2 fc7 relu drop0.5 fc", 2, 8, 10, 3, 2, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    ck_assert_int_eq(nn_tensor_at(m, nn_tensor_find(m, "fc1.weight"))->dims[1], 4 * 4 * 5);
    nn_model_free(m);
}
END_TEST

START_TEST(default_model_layout)
{
    aa_error err;
    nn_model *m = nn_model_new("aa-cnn-s", 1, 64, 401, 4, 2, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    ck_assert_str_eq(nn_model_arch(m), NN_ARCH_DEFAULT);
    nn_model_info in = nn_model_get_info(m);
    /* conv 144 + 4608 + 18432 + 73728, batch-norm 2 x 240, dense 512 + 4 */
    ck_assert_uint_eq(in.n_params, 97908);
    ck_assert_uint_eq(in.n_stats, 480);
    /* The peers' figures (peer_common.py): 0.184 GFLOP forward, 0.5456 GFLOP forward + backward. */
    ck_assert(fabs(in.forward_flop - 184.4e6) < 0.1e6);
    ck_assert(fabs(in.train_flop - 545.6e6) < 0.1e6);
    static const char *const names[] = {"conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean",
                                        "bn1.running_var", "conv4.weight", "bn4.running_var", "fc1.weight", "fc1.bias"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        ck_assert_msg(nn_tensor_find(m, names[i]) >= 0, "no %s", names[i]);
    ck_assert_int_eq(nn_tensor_count(m), 22);
    ck_assert_int_eq(nn_tensor_find(m, "conv1.bias"), -1);
    /* He initialisation: conv4 weights have sd sqrt(2 / 576) */
    int i = nn_tensor_find(m, "conv4.weight");
    const float *w = nn_tensor_data(m, i);
    double ss = 0;
    for (size_t j = 0; j < nn_tensor_at(m, i)->count; j++)
        ss += (double)w[j] * w[j];
    double sd = sqrt(ss / nn_tensor_at(m, i)->count);
    ck_assert_msg(fabs(sd - sqrt(2.0 / 576)) < 0.01 * sqrt(2.0 / 576) * 3, "sd %g", sd); /* 73728 draws: 0.26% sd */
    ck_assert(nn_tensor_data(m, nn_tensor_find(m, "bn2.running_var"))[5] == 1.0f);
    ck_assert(nn_tensor_grad(m, nn_tensor_find(m, "bn2.running_var")) == NULL);
    nn_model_free(m);
}
END_TEST

/* Training forward + loss + backward on a model; returns the loss. */
static float train_pass(nn_model *m, const float *x, const int *labels, int batch, const nn_loss_opts *lo)
{
    aa_error err;
    float loss;
    ck_assert_msg(nn_forward_train(m, x, batch, 77, 3, &err) == 0, "%s", err.msg);
    ck_assert_msg(nn_loss(m, labels, lo, &loss, NULL, &err) == 0, "%s", err.msg);
    ck_assert_msg(nn_backward(m, &err) == 0, "%s", err.msg);
    return loss;
}

/* Fast vs reference on an architecture: logits, loss, every gradient, running statistics, evaluation.
 * The two differ by float vs double sums and by the order of the batch-norm reductions: measured at most
 * 5.3e-6 of a tensor's scale; 1e-4 as in the PyTorch parity test (~20x). */
static void check_fast_vs_reference(const char *arch, int in_c, int h, int w, int classes, int batch)
{
    aa_error err;
    nn_model *f = nn_model_new_ex(arch, in_c, h, w, classes, batch, 0, &err);
    ck_assert_msg(f != NULL, "%s", err.msg);
    nn_model *r = nn_model_new_ex(arch, in_c, h, w, classes, batch, 1, &err);
    ck_assert_msg(r != NULL, "%s", err.msg);
    ck_assert_int_lt(f->n_stages, r->n_stages); /* the fast model fused something */
    nn_init_he(f, 5);
    nn_init_he(r, 5);
    const size_t in_n = (size_t)batch * in_c * h * w;
    float *x = rnd(in_n, 6);
    int labels[16];
    for (int s = 0; s < batch; s++)
        labels[s] = s % classes;
    const float cw[4] = {1, 2, 0.5f, 1};
    const nn_loss_opts lo = {.class_weights = classes == 4 ? cw : NULL, .label_smoothing = 0.1f};
    float lf = train_pass(f, x, labels, batch, &lo), lr = train_pass(r, x, labels, batch, &lo);
    ck_assert_msg(fabs(lf - lr) <= 1e-5 * fabs(lr), "%s: loss %.8g vs %.8g", arch, (double)lf, (double)lr);
    double e = rel_err(nn_logits(f), nn_logits(r), (size_t)batch * classes);
    ck_assert_msg(e < 1e-4, "%s: logits %.3g", arch, e);
    for (int i = 0; i < nn_tensor_count(f); i++) {
        const nn_tensor_info *t = nn_tensor_at(f, i);
        ck_assert_str_eq(t->name, nn_tensor_at(r, i)->name);
        const float *a = t->kind == NN_TENSOR_PARAM ? nn_tensor_grad(f, i) : nn_tensor_data(f, i);
        const float *b = t->kind == NN_TENSOR_PARAM ? nn_tensor_grad(r, i) : nn_tensor_data(r, i);
        e = rel_err(a, b, t->count);
        /* conv biases ahead of batch-norm have pure-noise gradients; their scale is that of the noise */
        if (strstr(t->name, "conv") && strstr(t->name, "bias") && e > 1e-4) {
            double mx = 0;
            for (size_t j = 0; j < t->count; j++)
                mx = fmax(mx, fabs(b[j]));
            ck_assert_msg(mx < 1e-5, "%s %s: %.3g", arch, t->name, e);
            continue;
        }
        ck_assert_msg(e < 1e-4, "%s %s: %.3g", arch, t->name, e);
    }
    float *ef = malloc(sizeof *ef * batch * classes), *er = malloc(sizeof *er * batch * classes);
    ck_assert_int_eq(nn_forward_eval(f, x, batch, ef, &err), 0);
    ck_assert_int_eq(nn_forward_eval(r, x, batch, er, &err), 0);
    e = rel_err(ef, er, (size_t)batch * classes);
    ck_assert_msg(e < 1e-4, "%s: eval logits %.3g", arch, e);
    free(x), free(ef), free(er);
    nn_model_free(f);
    nn_model_free(r);
}

START_TEST(fast_model_matches_reference_model)
{
    /* every layer kind, fused and standalone: a first conv on one channel (direct kernel), conv with bias
     * and no batch-norm, standalone ReLU / batch-norm / pool, 5x5 kernels, dropout on maps and vectors,
     * hidden dense layers */
    check_fast_vs_reference("c8 bn relu p2 c6b relu bn p2 c5k5 bn relu gap drop0.2 fc12 relu drop0.1 fc", 1, 20, 26, 4,
                            3);
    check_fast_vs_reference("c6b bn relu c4 bn relu p2 drop0.3 c3k1 bn p2 relu fc", 2, 9, 17, 3, 4);
    /* mean removal first (the one-channel conv after it still takes the direct kernel) and between blocks */
    check_fast_vs_reference("cmn c8 bn relu p2 cmn c6 bn relu gap fc", 1, 16, 22, 4, 3);
    if (!tu_sanitized())
        check_fast_vs_reference(NN_ARCH_DEFAULT, 1, 64, 101, 4, 4);
    else
        check_fast_vs_reference(NN_ARCH_DEFAULT, 1, 32, 40, 4, 2);
}
END_TEST

START_TEST(cmn_network_ignores_band_offsets)
{
    /* A network that opens with cmn classifies a log-mel the same after any constant is added to each band
     * (a recording's level, a microphone's colour): equal logits up to float rounding. Without cmn the same
     * offsets move them, so the check can tell. */
    aa_error err;
    const int H = 12, W = 30, batch = 2;
    const char *archs[2] = {"cmn c6 bn relu p2 c8 bn relu gap fc", "c6 bn relu p2 c8 bn relu gap fc"};
    for (int k = 0; k < 2; k++) {
        nn_model *m = nn_model_new(archs[k], 1, H, W, 3, batch, &err);
        ck_assert_msg(m != NULL, "%s", err.msg);
        nn_init_he(m, 9);
        float *x = rnd((size_t)batch * H * W, 10), *xs = malloc(sizeof *xs * batch * H * W);
        for (int i = 0; i < batch * H * W; i++)
            xs[i] = x[i] + 0.4f * (float)((i / W) % H) - 2.0f;
        float a[6], b[6];
        ck_assert_int_eq(nn_forward_eval(m, x, batch, a, &err), 0);
        ck_assert_int_eq(nn_forward_eval(m, xs, batch, b, &err), 0);
        double e = rel_err(a, b, 6);
        if (k == 0)
            ck_assert_msg(e < 1e-4, "%s: logits moved by %.3g", archs[k], e);
        else
            ck_assert_msg(e > 1e-2, "%s: logits moved by only %.3g", archs[k], e);
        free(x), free(xs);
        nn_model_free(m);
    }
}
END_TEST

START_TEST(eval_uses_running_statistics)
{
    /* With each batch-norm's running statistics set to the batch statistics of a training forward (and no
     * dropout), evaluation must reproduce that forward's logits: float rounding only, 1e-5 of the scale. */
    aa_error err;
    const int B = 3;
    nn_model *m = nn_model_new("c8 bn relu p2 c8 bn relu gap fc", 1, 12, 18, 3, B, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    float *x = rnd((size_t)B * 12 * 18, 9), logits[9];
    ck_assert_int_eq(nn_forward_train(m, x, B, 1, 0, &err), 0);
    for (int i = 0; i < m->n_stages; i++) {
        nn_stage *st = &m->stages[i];
        if (st->op != &nn_op_block)
            continue;
        for (int c = 0; c < st->out_c; c++) {
            m->stats[st->bn.rm_off + c] = (float)st->bn.mean[c];
            m->stats[st->bn.rv_off + c] = (float)(1.0 / (st->bn.invstd[c] * st->bn.invstd[c]) - NN_BN_EPS);
        }
    }
    ck_assert_int_eq(nn_forward_eval(m, x, B, logits, &err), 0);
    double e = rel_err(logits, nn_logits(m), (size_t)B * 3);
    ck_assert_msg(e < 1e-5, "eval vs train %.3g", e);
    free(x);
    nn_model_free(m);
}
END_TEST

START_TEST(eval_batch_independent_and_harmless)
{
    aa_error err;
    const int B = 5, n = 16 * 24;
    nn_model *m = nn_model_new("c8 bn relu p2 c16 bn relu gap drop0.3 fc", 1, 16, 24, 4, B, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    float *x = rnd((size_t)B * n, 12), all[20], one[4], big[40];
    int labels[5] = {0, 1, 2, 3, 0};
    train_pass(m, x, labels, B, NULL);
    float *g1 = malloc(sizeof *g1 * m->n_params);
    memcpy(g1, nn_grads(m), sizeof *g1 * m->n_params);
    ck_assert_int_eq(nn_forward_eval(m, x, B, all, &err), 0);
    /* Each sample alone gives the same bits as inside a batch, on one thread or two; more samples than
     * max_batch are fine in evaluation. */
    for (int t = 1; t <= 2; t++) {
        nn_set_threads(m, t);
        for (int s = 0; s < B; s++) {
            ck_assert_int_eq(nn_forward_eval(m, x + (size_t)s * n, 1, one, &err), 0);
            ck_assert(memcmp(one, all + 4 * s, sizeof one) == 0);
        }
    }
    float *x2 = malloc(sizeof *x2 * 2 * B * n);
    memcpy(x2, x, sizeof *x * B * n);
    memcpy(x2 + (size_t)B * n, x, sizeof *x * B * n);
    ck_assert_int_eq(nn_forward_eval(m, x2, 2 * B, big, &err), 0);
    ck_assert(memcmp(big, all, sizeof all) == 0 && memcmp(big + 20, all, sizeof all) == 0);
    /* Evaluation between forward and backward leaves the gradient untouched. */
    nn_set_threads(m, 1);
    ck_assert_int_eq(nn_forward_train(m, x, B, 77, 3, &err), 0);
    ck_assert_int_eq(nn_loss(m, labels, NULL, NULL, NULL, &err), 0);
    ck_assert_int_eq(nn_forward_eval(m, x, B, all, &err), 0);
    ck_assert_int_eq(nn_backward(m, &err), 0);
    ck_assert(memcmp(g1, nn_grads(m), sizeof *g1 * m->n_params) == 0);
    /* Misuse is reported, not crashed on. */
    ck_assert_int_eq(nn_forward_train(m, x, B + 1, 0, 0, &err), NN_ERR_ARG);
    ck_assert_int_eq(nn_backward(m, &err), NN_ERR_STATE);
    ck_assert_int_eq(nn_forward_train(m, x, B, 0, 0, &err), 0);
    labels[2] = 4;
    ck_assert_int_eq(nn_loss(m, labels, NULL, NULL, NULL, &err), NN_ERR_ARG);
    ck_assert_int_eq(nn_backward(m, &err), NN_ERR_STATE);
    free(x), free(x2), free(g1);
    nn_model_free(m);
}
END_TEST

Suite *nn_model_suite(void)
{
    Suite *s = suite_create("nn_model");
    TCase *tc = tcase_create("model");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, arch_canonical_form);
    tcase_add_test(tc, arch_errors);
    tcase_add_test(tc, default_model_layout);
    tcase_add_test(tc, fast_model_matches_reference_model);
    tcase_add_test(tc, cmn_network_ignores_band_offsets);
    tcase_add_test(tc, eval_uses_running_statistics);
    tcase_add_test(tc, eval_batch_independent_and_harmless);
    suite_add_tcase(s, tc);
    return s;
}
