/* nn/ training checkpoints: save mid-run, resume, and continue bit for bit like the run that never stopped
 * (for each optimizer, and at another thread count); the RNG state and the caller's metadata come back;
 * a model file is not a checkpoint. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_model.h"
#include "tests/util/testutil.h"

#define ARCH "c4 bn relu p2 c8 bn relu gap drop0.3 fc"
#define B 4
#define H 12
#define W 20

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

/* One "epoch" step: the batch is drawn from the data with the run's RNG, as a trainer's shuffle would. */
static void step(nn_model *m, nn_optimizer *o, aa_rng *rng, const float *data, const int *labels)
{
    float x[B * H * W];
    int y[B];
    for (int s = 0; s < B; s++) {
        size_t k = aa_rng_below(rng, 16);
        memcpy(x + s * H * W, data + k * H * W, sizeof(float) * H * W);
        y[s] = labels[k];
    }
    aa_error err;
    /* a learning-rate schedule: the rate depends on the step */
    float lr = 1e-2f / (1.0f + (float)nn_opt_steps(o));
    ck_assert_msg(nn_train_step(m, o, x, y, B, NULL, 1234, lr, NULL, NULL, &err) == 0, "%s", err.msg);
}

static void resume_matches(nn_opt_kind kind, int resume_threads)
{
    char dir[256], path[512];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(path, sizeof path, dir, "run.aack");
    float *data = rnd(16 * H * W, 1);
    int labels[16];
    for (int i = 0; i < 16; i++)
        labels[i] = i % 3;
    aa_error err;
    nn_model *m = nn_model_new(ARCH, 1, H, W, 3, B, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    nn_init_he(m, 2);
    nn_opt_config c = nn_opt_defaults(kind);
    c.clip_norm = 5;
    c.weight_decay = 1e-3f;
    nn_optimizer *o = nn_opt_new(m, &c, &err);
    aa_rng rng;
    aa_rng_seed(&rng, 99);
    for (int i = 0; i < 3; i++)
        step(m, o, &rng, data, labels);
    nn_meta *meta = nn_meta_new();
    ck_assert_int_eq(nn_meta_set_num(meta, "epoch", 3, &err), 0);
    ck_assert_int_eq(nn_meta_set_num(meta, "best_f1", 0.8125, &err), 0);
    ck_assert_msg(nn_checkpoint_save(path, m, o, &rng, meta, &err) == 0, "%s", err.msg);
    /* the uninterrupted run */
    for (int i = 0; i < 4; i++)
        step(m, o, &rng, data, labels);

    nn_model *m2;
    nn_optimizer *o2;
    nn_meta *meta2;
    aa_rng rng2;
    ck_assert_msg(nn_checkpoint_load(path, B, &m2, &o2, &rng2, &meta2, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(nn_opt_steps(o2), 3);
    ck_assert(memcmp(nn_opt_get_config(o2), &c, sizeof c) == 0);
    double epoch, best;
    ck_assert_int_eq(nn_meta_get_num(meta2, "epoch", &epoch, &err), 0);
    ck_assert_int_eq(nn_meta_get_num(meta2, "best_f1", &best, &err), 0);
    ck_assert(epoch == 3 && best == 0.8125);
    nn_set_threads(m2, resume_threads);
    for (int i = 0; i < 4; i++)
        step(m2, o2, &rng2, data, labels);
    /* bit for bit: parameters, running statistics, optimizer moments, the RNG stream */
    ck_assert(memcmp(m->params, m2->params, sizeof(float) * m->n_params) == 0);
    ck_assert(memcmp(m->stats, m2->stats, sizeof(float) * m->n_stats) == 0);
    ck_assert(memcmp(o->m1, o2->m1, sizeof(float) * o->n) == 0);
    if (o->m2)
        ck_assert(memcmp(o->m2, o2->m2, sizeof(float) * o->n) == 0);
    ck_assert(memcmp(&rng, &rng2, sizeof rng) == 0);
    ck_assert_uint_eq(nn_opt_steps(o2), 7);

    nn_meta_free(meta), nn_meta_free(meta2);
    nn_opt_free(o), nn_opt_free(o2);
    nn_model_free(m), nn_model_free(m2);
    free(data);
    tu_rmtree(dir);
}

START_TEST(resume_adam)
{
    resume_matches(NN_OPT_ADAM, 1);
}
END_TEST

START_TEST(resume_adamw_on_two_threads)
{
    resume_matches(NN_OPT_ADAMW, 2);
}
END_TEST

START_TEST(resume_sgd)
{
    resume_matches(NN_OPT_SGD, 1);
}
END_TEST

START_TEST(checkpoint_errors)
{
    char dir[256], model[512], ckpt[512];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(model, sizeof model, dir, "m.aam");
    tu_path(ckpt, sizeof ckpt, dir, "c.aack");
    aa_error err;
    nn_model *m = nn_model_new(ARCH, 1, H, W, 3, B, &err);
    nn_opt_config c = nn_opt_defaults(NN_OPT_SGD);
    nn_optimizer *o = nn_opt_new(m, &c, &err);
    ck_assert_int_eq(nn_model_save(m, NULL, model, &err), 0);
    nn_model *m2 = (nn_model *)1;
    nn_optimizer *o2 = (nn_optimizer *)1;
    ck_assert_int_eq(nn_checkpoint_load(model, B, &m2, &o2, NULL, NULL, &err), NN_ERR_FORMAT);
    ck_assert(m2 == NULL && o2 == NULL);
    ck_assert_msg(strstr(err.msg, "not an Audio Audit training checkpoint (it is a model file)") != NULL, "%s", err.msg);
    /* saved without an RNG state: asking for one is an error, not asking is fine */
    ck_assert_int_eq(nn_checkpoint_save(ckpt, m, o, NULL, NULL, &err), 0);
    aa_rng r;
    ck_assert_int_eq(nn_checkpoint_load(ckpt, B, &m2, &o2, &r, NULL, &err), NN_ERR_MISMATCH);
    ck_assert(strstr(err.msg, "RNG") != NULL);
    ck_assert_int_eq(nn_checkpoint_load(ckpt, B, &m2, &o2, NULL, NULL, &err), 0);
    nn_model_free(m2), nn_opt_free(o2);
    /* a truncated checkpoint */
    size_t size;
    unsigned char *buf = tu_read_file(ckpt, &size);
    tu_write_file(ckpt, buf, size - 100);
    ck_assert_int_eq(nn_checkpoint_load(ckpt, B, &m2, &o2, NULL, NULL, &err), NN_ERR_TRUNCATED);
    /* and a checkpoint is not a model */
    tu_write_file(ckpt, buf, size);
    ck_assert(nn_model_load(ckpt, 1, 0, NULL, &err) == NULL);
    ck_assert_msg(strstr(err.msg, "(it is a training checkpoint)") != NULL, "%s", err.msg);
    free(buf);
    nn_opt_free(o);
    nn_model_free(m);
    tu_rmtree(dir);
}
END_TEST

Suite *nn_checkpoint_suite(void)
{
    Suite *s = suite_create("nn_checkpoint");
    TCase *tc = tcase_create("checkpoint");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, resume_adam);
    tcase_add_test(tc, resume_adamw_on_two_threads);
    tcase_add_test(tc, resume_sgd);
    tcase_add_test(tc, checkpoint_errors);
    suite_add_tcase(s, tc);
    return s;
}
