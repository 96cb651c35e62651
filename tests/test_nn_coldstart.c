/* What the fast model load leaves out, checked against the path that does everything: a loaded model is
 * not He-initialised before its tensors are copied in and its buffers are zero pages never written, so it
 * must classify and train exactly like the model it was saved from; a new model is still He-initialised. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_model.h"
#include "tests/util/testutil.h"

/* Maps of 8 x 40 x 64 floats (80 KB per sample): the activations, padded inputs and training buffers are
 * over the size nn maps straight from the kernel (64 KB), so both kinds of allocation are exercised. */
#define ARCH "c8 bn relu p2 c16 bn relu gap drop0.2 fc"
#define B 4
#define H 40
#define W 64
#define K 3

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

static int all_zero(const float *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0.0f)
            return 0;
    return 1;
}

START_TEST(new_model_is_he_initialised)
{
    aa_error err;
    nn_model *m = nn_model_new(ARCH, 1, H, W, K, B, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    float *p = malloc(sizeof *p * m->n_params), *s = malloc(sizeof *s * m->n_stats);
    ck_assert(p && s);
    memcpy(p, m->params, sizeof *p * m->n_params);
    memcpy(s, m->stats, sizeof *s * m->n_stats);
    ck_assert(!all_zero(p, m->n_params));
    nn_init_he(m, 0);
    ck_assert(memcmp(p, m->params, sizeof *p * m->n_params) == 0);
    ck_assert(memcmp(s, m->stats, sizeof *s * m->n_stats) == 0);
    /* the gradient blocks start at zero, as the accumulating backward pass needs */
    ck_assert(all_zero(m->grads, m->n_params));
    ck_assert(all_zero(m->gsamp, (size_t)B * m->n_params));
    free(p);
    free(s);
    nn_model_free(m);
}
END_TEST

/* Saved mid-training, loaded, then both trained three more steps on the same batches: parameters and
 * running statistics equal bit for bit (no tolerance: the same operations on the same values). */
START_TEST(loaded_model_trains_like_its_source)
{
    char dir[256], path[512];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(path, sizeof path, dir, "m.aam");
    aa_error err;
    nn_model *m = nn_model_new(ARCH, 1, H, W, K, B, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    nn_init_he(m, 5);
    float *x = rnd((size_t)B * H * W, 6);
    int y[B] = {0, 1, 2, 1};
    nn_opt_config c = nn_opt_defaults(NN_OPT_ADAM);
    nn_optimizer *om = nn_opt_new(m, &c, &err);
    ck_assert(om != NULL);
    ck_assert_msg(nn_train_step(m, om, x, y, B, NULL, 9, 1e-2f, NULL, NULL, &err) == 0, "%s", err.msg);
    ck_assert_msg(nn_model_save(m, NULL, path, &err) == 0, "%s", err.msg);
    nn_model *l = nn_model_load(path, B, 0, NULL, &err);
    ck_assert_msg(l != NULL, "%s", err.msg);
    ck_assert(memcmp(m->params, l->params, sizeof(float) * m->n_params) == 0);

    float la[B * K], lb[B * K];
    ck_assert_int_eq(nn_forward_eval(m, x, B, la, &err), 0);
    ck_assert_int_eq(nn_forward_eval(l, x, B, lb, &err), 0);
    ck_assert(memcmp(la, lb, sizeof la) == 0);

    /* fresh optimizers on both, so only the models' own state can differ */
    nn_opt_free(om);
    om = nn_opt_new(m, &c, &err);
    nn_optimizer *ol = nn_opt_new(l, &c, &err);
    ck_assert(om && ol);
    for (int step = 0; step < 3; step++) {
        float *xs = rnd((size_t)B * H * W, 100 + (uint64_t)step);
        ck_assert_msg(nn_train_step(m, om, xs, y, B, NULL, 11, 1e-2f, NULL, NULL, &err) == 0, "%s", err.msg);
        ck_assert_msg(nn_train_step(l, ol, xs, y, B, NULL, 11, 1e-2f, NULL, NULL, &err) == 0, "%s", err.msg);
        free(xs);
    }
    ck_assert(memcmp(m->params, l->params, sizeof(float) * m->n_params) == 0);
    ck_assert(memcmp(m->stats, l->stats, sizeof(float) * m->n_stats) == 0);
    ck_assert(memcmp(m->grads, l->grads, sizeof(float) * m->n_params) == 0);
    nn_opt_free(om);
    nn_opt_free(ol);
    nn_model_free(m);
    nn_model_free(l);
    free(x);
    tu_rmtree(dir);
}
END_TEST

Suite *nn_coldstart_suite(void)
{
    Suite *s = suite_create("nn_coldstart");
    TCase *tc = tcase_create("nn_coldstart");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, new_model_is_he_initialised);
    tcase_add_test(tc, loaded_model_trains_like_its_source);
    suite_add_tcase(s, tc);
    return s;
}
