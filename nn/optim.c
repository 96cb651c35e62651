/* The optimizers: configuration, step count, moments; gradient clipping by global norm; the Adam/AdamW and
 * SGD updates. Updates are element-wise, so splitting them across threads cannot change a bit. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_model.h"

/* Adam and AdamW (PyTorch's formulas: bias-corrected moments, eps outside the square root). */
static void adam_update(float *w, float *m1, float *m2, const float *g, const uint8_t *decay, size_t n,
                        const nn_opt_config *c, float lr, uint64_t t, float gscale)
{
    const double bc1 = 1.0 - pow(c->beta1, (double)t), bc2 = 1.0 - pow(c->beta2, (double)t);
    const float b1 = c->beta1, b2 = c->beta2, eps = c->eps, wd = c->weight_decay;
    const float step = (float)(lr / bc1), rbc2 = (float)(1.0 / sqrt(bc2));
    const int adamw = c->kind == NN_OPT_ADAMW;
    for (size_t j = 0; j < n; j++) {
        float gj = g[j] * gscale;
        if (decay[j] && wd != 0) {
            if (adamw)
                w[j] *= 1.0f - lr * wd;
            else
                gj += wd * w[j];
        }
        m1[j] = b1 * m1[j] + (1.0f - b1) * gj;
        m2[j] = b2 * m2[j] + (1.0f - b2) * gj * gj;
        w[j] -= step * m1[j] / (sqrtf(m2[j]) * rbc2 + eps);
    }
}

/* SGD with momentum (PyTorch's form: the buffer starts as the first gradient; Nesterov optional). */
static void sgd_update(float *w, float *buf, const float *g, const uint8_t *decay, size_t n, const nn_opt_config *c,
                       float lr, uint64_t t, float gscale)
{
    const float mu = c->momentum, wd = c->weight_decay;
    for (size_t j = 0; j < n; j++) {
        float gj = g[j] * gscale;
        if (decay[j] && wd != 0)
            gj += wd * w[j];
        if (mu != 0) {
            buf[j] = t == 1 ? gj : mu * buf[j] + gj;
            gj = c->nesterov ? gj + mu * buf[j] : buf[j];
        }
        w[j] -= lr * gj;
    }
}

nn_opt_config nn_opt_defaults(nn_opt_kind kind)
{
    nn_opt_config c = {.kind = kind, .lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
    if (kind == NN_OPT_ADAMW)
        c.weight_decay = 1e-2f;
    if (kind == NN_OPT_SGD)
        c.lr = 1e-2f, c.momentum = 0.9f;
    return c;
}

static int check_config(const nn_opt_config *c, aa_error *err)
{
    if (c->kind != NN_OPT_ADAM && c->kind != NN_OPT_ADAMW && c->kind != NN_OPT_SGD)
        return aa_error_set(err, NN_ERR_ARG, "optimizer: unknown kind %d", (int)c->kind);
    if (!(c->lr >= 0) || !(c->weight_decay >= 0) || !(c->clip_norm >= 0) || !(c->momentum >= 0 && c->momentum < 1) ||
        !(c->beta1 >= 0 && c->beta1 < 1) || !(c->beta2 >= 0 && c->beta2 < 1) || !(c->eps >= 0))
        return aa_error_set(err, NN_ERR_ARG, "optimizer: setting out of range (lr %g, betas %g %g, eps %g, "
                            "momentum %g, weight decay %g, clip %g)", (double)c->lr, (double)c->beta1,
                            (double)c->beta2, (double)c->eps, (double)c->momentum, (double)c->weight_decay,
                            (double)c->clip_norm);
    return 0;
}

nn_optimizer *nn_opt_new(const nn_model *m, const nn_opt_config *cfg, aa_error *err)
{
    if (check_config(cfg, err) != 0)
        return NULL;
    nn_optimizer *o = calloc(1, sizeof *o);
    if (!o) {
        aa_error_set(err, NN_ERR_NOMEM, "optimizer: out of memory");
        return NULL;
    }
    o->cfg = *cfg;
    o->n = m->n_params;
    o->m1 = calloc(o->n ? o->n : 1, sizeof *o->m1);
    o->m2 = cfg->kind == NN_OPT_SGD ? NULL : calloc(o->n ? o->n : 1, sizeof *o->m2);
    o->decay = calloc(o->n ? o->n : 1, 1);
    if (!o->m1 || (cfg->kind != NN_OPT_SGD && !o->m2) || !o->decay) {
        nn_opt_free(o);
        aa_error_set(err, NN_ERR_NOMEM, "optimizer: out of memory (%zu parameters)", m->n_params);
        return NULL;
    }
    /* Weight decay on conv and dense weights only: decaying biases and batch-norm parameters only
     * fights the normalisation. */
    for (int i = 0; i < m->n_tensors; i++)
        if (m->tensor_role[i] == NN_T_WEIGHT)
            memset(o->decay + m->tensors[i].offset, 1, m->tensors[i].count);
    return o;
}

void nn_opt_free(nn_optimizer *o)
{
    if (!o)
        return;
    free(o->m1), free(o->m2), free(o->decay);
    free(o);
}

const nn_opt_config *nn_opt_get_config(const nn_optimizer *o)
{
    return &o->cfg;
}

uint64_t nn_opt_steps(const nn_optimizer *o)
{
    return o->t;
}

int nn_opt_step(nn_optimizer *o, nn_model *m, float lr, float *grad_norm, aa_error *err)
{
    if (o->n != m->n_params)
        return aa_error_set(err, NN_ERR_ARG, "optimizer: made for %zu parameters, model has %zu", o->n,
                            m->n_params);
    if (lr <= 0)
        lr = o->cfg.lr;
    /* Sequential double sum: the norm (and so the clipping) is the same for any thread count. */
    double ss = 0;
    for (size_t j = 0; j < o->n; j++)
        ss += (double)m->grads[j] * m->grads[j];
    const double norm = sqrt(ss);
    if (grad_norm)
        *grad_norm = (float)norm;
    if (!isfinite(norm))
        return aa_error_set(err, NN_ERR_NUMERIC, "optimizer: gradient not finite (norm %g); step skipped", norm);
    const float gscale = o->cfg.clip_norm > 0 && norm > o->cfg.clip_norm ? (float)(o->cfg.clip_norm / norm) : 1.0f;
    o->t++;
    const int threads = nn_model_threads_eff(m);
    const size_t blk = 4096;
    const long nblk = (long)((o->n + blk - 1) / blk);
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
    for (long b = 0; b < nblk; b++) {
        size_t j0 = (size_t)b * blk, n = j0 + blk < o->n ? blk : o->n - j0;
        if (o->cfg.kind == NN_OPT_SGD)
            sgd_update(m->params + j0, o->m1 + j0, m->grads + j0, o->decay + j0, n, &o->cfg, lr, o->t, gscale);
        else
            adam_update(m->params + j0, o->m1 + j0, o->m2 + j0, m->grads + j0, o->decay + j0, n, &o->cfg, lr, o->t,
                        gscale);
    }
    return 0;
}
