/* Training checkpoints: the model as in a model file, the optimizer (configuration, step count, moments), a
 * caller's RNG state and metadata, under their own magic. Floats are stored bit-exact (tensors, and
 * settings as "%.9g" text, which round-trips a float), so a resumed run continues bit for bit. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_file.h"
#include "nn/nn_model.h"

static int put_f(nn_meta *meta, const char *key, float v, aa_error *err)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%.9g", (double)v);
    return nn_meta_put_str(meta, key, buf, err);
}

static int get_f(const nn_meta *meta, const char *key, float *v)
{
    const char *s = nn_meta_get_str(meta, key);
    char *end;
    if (!s)
        return -1;
    *v = strtof(s, &end);
    return end == s || *end ? -1 : 0;
}

static int get_u64(const nn_meta *meta, const char *key, uint64_t *v, int base)
{
    const char *s = nn_meta_get_str(meta, key);
    char *end;
    if (!s || !*s)
        return -1;
    *v = strtoull(s, &end, base);
    return *end ? -1 : 0;
}

int nn_checkpoint_save(const char *path, const nn_model *m, const nn_optimizer *o, const aa_rng *rng,
                       const nn_meta *meta, aa_error *err)
{
    if (o->n != m->n_params)
        return aa_error_set(err, NN_ERR_ARG, "%s: optimizer does not belong to this model", path);
    nn_meta *all = nn_meta_new();
    if (!all)
        return aa_error_set(err, NN_ERR_NOMEM, "%s: out of memory", path);
    const nn_opt_config *c = &o->cfg;
    char buf[96];
    int rc = nn_model_to_meta(m, all, err);
    snprintf(buf, sizeof buf, "%d", (int)c->kind);
    if (!rc) rc = nn_meta_put_str(all, "nn.opt.kind", buf, err);
    if (!rc) rc = put_f(all, "nn.opt.lr", c->lr, err);
    if (!rc) rc = put_f(all, "nn.opt.beta1", c->beta1, err);
    if (!rc) rc = put_f(all, "nn.opt.beta2", c->beta2, err);
    if (!rc) rc = put_f(all, "nn.opt.eps", c->eps, err);
    if (!rc) rc = put_f(all, "nn.opt.momentum", c->momentum, err);
    if (!rc) rc = put_f(all, "nn.opt.weight_decay", c->weight_decay, err);
    if (!rc) rc = put_f(all, "nn.opt.clip_norm", c->clip_norm, err);
    snprintf(buf, sizeof buf, "%d", c->nesterov);
    if (!rc) rc = nn_meta_put_str(all, "nn.opt.nesterov", buf, err);
    snprintf(buf, sizeof buf, "%" PRIu64, o->t);
    if (!rc) rc = nn_meta_put_str(all, "nn.opt.steps", buf, err);
    int n = (int)(o->n ? o->n : 1);
    float zero = 0;
    if (!rc) rc = nn_meta_put_tensor(all, "nn.opt.m1", o->n ? o->m1 : &zero, 1, &n, err);
    if (!rc && o->m2) rc = nn_meta_put_tensor(all, "nn.opt.m2", o->n ? o->m2 : &zero, 1, &n, err);
    if (!rc && rng) {
        snprintf(buf, sizeof buf, "%016" PRIx64 " %016" PRIx64 " %016" PRIx64 " %016" PRIx64, rng->s[0], rng->s[1],
                 rng->s[2], rng->s[3]);
        rc = nn_meta_put_str(all, "nn.rng", buf, err);
    }
    if (!rc) rc = nn_meta_copy_user(all, meta, err);
    if (!rc) rc = nn_file_write(path, nn_magic_checkpoint, all, err);
    nn_meta_free(all);
    return rc;
}

static int load_opt(const nn_meta *all, const char *path, const nn_model *m, nn_optimizer **o, aa_error *err)
{
    nn_opt_config c = {0};
    uint64_t kind, nesterov, steps;
    if (get_u64(all, "nn.opt.kind", &kind, 10) || kind > NN_OPT_SGD || get_f(all, "nn.opt.lr", &c.lr) ||
        get_f(all, "nn.opt.beta1", &c.beta1) || get_f(all, "nn.opt.beta2", &c.beta2) ||
        get_f(all, "nn.opt.eps", &c.eps) || get_f(all, "nn.opt.momentum", &c.momentum) ||
        get_f(all, "nn.opt.weight_decay", &c.weight_decay) || get_f(all, "nn.opt.clip_norm", &c.clip_norm) ||
        get_u64(all, "nn.opt.nesterov", &nesterov, 10) || get_u64(all, "nn.opt.steps", &steps, 10))
        return aa_error_set(err, NN_ERR_FORMAT, "%s: missing or bad optimizer settings", path);
    c.kind = (nn_opt_kind)kind;
    c.nesterov = (int)nesterov;
    aa_error e;
    if (!(*o = nn_opt_new(m, &c, &e)))
        return aa_error_set(err, e.code == NN_ERR_NOMEM ? NN_ERR_NOMEM : NN_ERR_FORMAT, "%s: %s", path, e.msg);
    (*o)->t = steps;
    const char *names[2] = {"nn.opt.m1", "nn.opt.m2"};
    float *dst[2] = {(*o)->m1, (*o)->m2};
    for (int k = 0; k < 2; k++) {
        if (!dst[k])
            continue;
        int ndim, dims[NN_MAX_DIMS];
        const float *d = nn_meta_get_tensor(all, names[k], &ndim, dims);
        if (!d || ndim != 1 || (size_t)dims[0] != (m->n_params ? m->n_params : 1))
            return aa_error_set(err, NN_ERR_MISMATCH, "%s: optimizer state \"%s\" missing or not [%zu]", path,
                                names[k] + 3, m->n_params);
        memcpy(dst[k], d, sizeof *d * m->n_params);
    }
    return 0;
}

int nn_checkpoint_load(const char *path, int max_batch, nn_model **m, nn_optimizer **o, aa_rng *rng,
                       nn_meta **meta, aa_error *err)
{
    *m = NULL, *o = NULL;
    if (meta)
        *meta = NULL;
    nn_meta *all;
    int rc = nn_file_read(path, nn_magic_checkpoint, "training checkpoint", &all, err);
    if (rc)
        return rc;
    aa_error e = {0};
    if (!(*m = nn_model_from_meta(all, path, max_batch, 0, &e))) {
        rc = e.code;
        if (err)
            *err = e;
    }
    if (!rc)
        rc = load_opt(all, path, *m, o, err);
    if (!rc && rng) {
        const char *s = nn_meta_get_str(all, "nn.rng");
        aa_rng r;
        if (!s || sscanf(s, "%" SCNx64 " %" SCNx64 " %" SCNx64 " %" SCNx64, &r.s[0], &r.s[1], &r.s[2], &r.s[3]) != 4)
            rc = aa_error_set(err, NN_ERR_MISMATCH, "%s: no RNG state saved (or a malformed one)", path);
        else
            *rng = r;
    }
    if (!rc && meta) {
        if (!(*meta = nn_meta_new()))
            rc = aa_error_set(err, NN_ERR_NOMEM, "%s: out of memory", path);
        else
            rc = nn_meta_copy_user(*meta, all, err);
    }
    nn_meta_free(all);
    if (rc) {
        nn_model_free(*m), nn_opt_free(*o);
        *m = NULL, *o = NULL;
        if (meta) {
            nn_meta_free(*meta);
            *meta = NULL;
        }
    }
    return rc;
}
