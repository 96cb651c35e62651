/* PyTorch parity: aa-cnn-s (with conv bias) on the reference batch of tests/fixtures/cnn_reference.*, a dump
 * from PyTorch 1.13 of the inputs, every parameter, each block's output, the logits, the loss, every
 * gradient and the batch-norm running statistics after one training-mode forward. The fast model and the
 * plain reference model must both reproduce all of it. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_model.h"
#include "tests/util/testutil.h"

#define ARCH "c16b bn relu p2 c32b bn relu p2 c64b bn relu p2 c128b bn relu gap fc"

typedef struct {
    char *json;
    float *data;
    size_t n;
} fixture;

static void fx_load(fixture *f)
{
    char path[512];
    size_t size;
    f->json = tu_read_file(tu_path(path, sizeof path, tu_fixtures_dir(), "cnn_reference.json"), &size);
    ck_assert_msg(f->json != NULL, "cannot read %s", path);
    f->data = tu_read_file(tu_path(path, sizeof path, tu_fixtures_dir(), "cnn_reference.f32"), &size);
    ck_assert_msg(f->data != NULL, "cannot read %s", path);
    f->n = size / 4;
}

static void fx_free(fixture *f)
{
    free(f->json);
    free(f->data);
}

/* The tensor called name: its data and element count (from the JSON's shape and offset_floats). */
static const float *fx_get(const fixture *f, const char *name, size_t *count)
{
    char key[128];
    snprintf(key, sizeof key, "\"name\": \"%s\"", name);
    const char *p = strstr(f->json, key);
    ck_assert_msg(p != NULL, "fixture has no tensor %s", name);
    const char *shape = strstr(p, "\"shape\": [");
    const char *off = strstr(p, "\"offset_floats\": ");
    ck_assert(shape && off);
    size_t n = 1;
    for (const char *q = shape + 10; *q != ']';) {
        char *end;
        long d = strtol(q, &end, 10);
        if (end == q) {
            q++;
            continue;
        }
        n *= (size_t)d;
        q = end;
    }
    size_t o = (size_t)strtoull(off + 17, NULL, 10);
    ck_assert_msg(o + n <= f->n, "fixture tensor %s out of range", name);
    *count = n;
    return f->data + o;
}

/* Worst ratio of |ours - ref| to the tolerance rtol |ref| + atol max|ref| over a tensor (<= 1 passes);
 * also the largest relative error against the tensor's scale, for the message. */
static double worst(const float *ours, const float *ref, size_t n, double rtol, double atol, double *rel_scale)
{
    double scale = 0, w = 0, e = 0;
    for (size_t i = 0; i < n; i++)
        scale = fmax(scale, fabs(ref[i]));
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)ours[i] - ref[i]);
        w = fmax(w, d / (rtol * fabs(ref[i]) + atol * scale + 1e-30));
        e = fmax(e, d / (scale + 1e-30));
    }
    *rel_scale = e;
    return w;
}

/* PyTorch's parameter names -> ours. */
static void our_name(const char *torch, char *out, size_t n)
{
    int i;
    char field[32];
    if (sscanf(torch, "convs.%d.%31s", &i, field) == 2)
        snprintf(out, n, "conv%d.%s", i + 1, field);
    else if (sscanf(torch, "bns.%d.%31s", &i, field) == 2)
        snprintf(out, n, "bn%d.%s", i + 1, field);
    else if (sscanf(torch, "fc.%31s", field) == 1)
        snprintf(out, n, "fc1.%s", field);
    else
        ck_abort_msg("unexpected fixture name %s", torch);
}

static nn_model *fixture_model(const fixture *f, int reference, int *labels)
{
    aa_error err;
    nn_model *m = nn_model_new_ex(ARCH, 1, 64, 101, 4, 4, reference, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    for (int i = 0; i < nn_tensor_count(m); i++) {
        const nn_tensor_info *t = nn_tensor_at(m, i);
        char torch[64];
        size_t n;
        int li;
        char field[32];
        if (sscanf(t->name, "conv%d.%31s", &li, field) == 2)
            snprintf(torch, sizeof torch, "%s.convs.%d.%s", "param", li - 1, field);
        else if (sscanf(t->name, "bn%d.%31s", &li, field) == 2)
            snprintf(torch, sizeof torch, "%s.bns.%d.%s",
                     strncmp(field, "running", 7) == 0 ? "running" : "param", li - 1, field);
        else
            snprintf(torch, sizeof torch, "param.fc.%s", strchr(t->name, '.') + 1);
        if (strncmp(torch, "running", 7) == 0)
            continue; /* running statistics start at 0 / 1, as in PyTorch: they are outputs here */
        const float *d = fx_get(f, torch, &n);
        ck_assert_uint_eq(n, t->count);
        memcpy(nn_tensor_data(m, i), d, sizeof *d * n);
    }
    size_t n;
    const float *lab = fx_get(f, "labels", &n);
    for (size_t i = 0; i < n; i++)
        labels[i] = (int)lab[i];
    return m;
}

/* Tolerances. Ours and PyTorch's float32 results differ by summation order: conv sums of up to 576
 * products, batch-norm reductions over up to 25856 values. Measured (both models): activations, logits and
 * running statistics within 2e-6 of their tensor's largest value, gradients within 2.2e-5 (the worst is
 * conv1's weight gradient, each entry a sum of 25856 products of the batch-norm backward output, which
 * itself subtracts nearly equal sums), the loss within 1e-7 relative. The test allows rtol 1e-4 of each
 * value plus 1e-4 of the tensor's largest value: >= 5x margin everywhere, while a real mistake (an index,
 * a factor, a missing term) gives errors of order 1. The conv biases' gradients are pure rounding noise
 * (batch-norm cancels any bias; measured <= 3e-7), so they are held to 1e-4 of their weight gradient's
 * scale instead. */
#define RTOL 1e-4
#define ATOL 1e-4

static void check_parity(int reference)
{
    fixture f;
    fx_load(&f);
    int labels[4];
    nn_model *m = fixture_model(&f, reference, labels);
    aa_error err;
    size_t n, nx;
    const float *x = fx_get(&f, "input", &nx);
    ck_assert_uint_eq(nx, 4 * 64 * 101);
    ck_assert_int_eq(nn_forward_train(m, x, 4, 1, 0, &err), 0);

    double rel, w;
    /* Activations: the fast model fuses conv+bn+relu+pool into stages 0..3; the reference model keeps every
     * layer (5 per pooled block, 3 for the last). */
    const int stage_of_block[2][4] = {{0, 1, 2, 3}, {3, 7, 11, 14}};
    for (int b = 0; b < 4; b++) {
        char name[32];
        snprintf(name, sizeof name, "act.block%d.out", b + 1);
        const float *ref = fx_get(&f, name, &n);
        const nn_stage *st = &m->stages[stage_of_block[reference][b]];
        ck_assert_uint_eq(st->out_size * 4, n);
        w = worst(st->act, ref, n, RTOL, ATOL, &rel);
        ck_assert_msg(w <= 1, "%s: error %.3g of scale (tolerance ratio %.3g)", name, rel, w);
    }
    const float *gap = fx_get(&f, "act.gap.out", &n);
    w = worst(m->stages[m->n_stages - 2].act, gap, n, RTOL, ATOL, &rel);
    ck_assert_msg(w <= 1, "gap: error %.3g of scale", rel);
    const float *logits = fx_get(&f, "logits", &n);
    w = worst(nn_logits(m), logits, n, RTOL, ATOL, &rel);
    ck_assert_msg(w <= 1, "logits: error %.3g of scale", rel);

    float loss;
    ck_assert_int_eq(nn_loss(m, labels, NULL, &loss, NULL, &err), 0);
    const float *ref_loss = fx_get(&f, "loss", &n);
    ck_assert_msg(fabs(loss - ref_loss[0]) <= RTOL * fabs(ref_loss[0]), "loss %.8g vs %.8g", (double)loss,
                  (double)ref_loss[0]);

    ck_assert_int_eq(nn_backward(m, &err), 0);
    for (int i = 0; i < nn_tensor_count(m); i++) {
        const nn_tensor_info *t = nn_tensor_at(m, i);
        char torch[64], ours[64];
        int li;
        char field[32];
        if (sscanf(t->name, "conv%d.%31s", &li, field) == 2)
            snprintf(torch, sizeof torch, "convs.%d.%s", li - 1, field);
        else if (sscanf(t->name, "bn%d.%31s", &li, field) == 2)
            snprintf(torch, sizeof torch, "bns.%d.%s", li - 1, field);
        else
            snprintf(torch, sizeof torch, "fc.%s", strchr(t->name, '.') + 1);
        our_name(torch, ours, sizeof ours);
        ck_assert_str_eq(ours, t->name);
        char key[80];
        if (t->kind == NN_TENSOR_STAT) {
            snprintf(key, sizeof key, "running.%s", torch);
            const float *ref = fx_get(&f, key, &n);
            w = worst(nn_tensor_data(m, i), ref, n, RTOL, ATOL, &rel);
            ck_assert_msg(w <= 1, "%s: error %.3g of scale", t->name, rel);
            continue;
        }
        snprintf(key, sizeof key, "grad.%s", torch);
        const float *ref = fx_get(&f, key, &n);
        ck_assert_uint_eq(n, t->count);
        if (strstr(t->name, "conv") && strstr(t->name, "bias")) {
            char wkey[80];
            snprintf(wkey, sizeof wkey, "grad.convs.%d.weight", li - 1);
            size_t wn;
            const float *wref = fx_get(&f, wkey, &wn);
            double scale = 0, d = 0;
            for (size_t j = 0; j < wn; j++)
                scale = fmax(scale, fabs(wref[j]));
            for (size_t j = 0; j < n; j++)
                d = fmax(d, fabs((double)nn_tensor_grad(m, i)[j] - ref[j]));
            ck_assert_msg(d <= ATOL * scale, "%s: error %.3g, weight-gradient scale %.3g", t->name, d, scale);
            continue;
        }
        w = worst(nn_tensor_grad(m, i), ref, n, RTOL, ATOL, &rel);
        ck_assert_msg(w <= 1, "%s: error %.3g of scale (tolerance ratio %.3g)", t->name, rel, w);
    }
    nn_model_free(m);
    fx_free(&f);
}

START_TEST(parity_fast)
{
    check_parity(0);
}
END_TEST

START_TEST(parity_reference)
{
    check_parity(1);
}
END_TEST

Suite *nn_parity_suite(void)
{
    Suite *s = suite_create("nn_parity");
    TCase *tc = tcase_create("pytorch");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, parity_fast);
    tcase_add_test(tc, parity_reference);
    suite_add_tcase(s, tc);
    return s;
}
