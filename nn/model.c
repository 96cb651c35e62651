/* Building a model: layers from the architecture string, their stages (an entry of the table in
 * nn/layers.c each, the fused conv blocks among them) with shapes and named tensors in the flat parameter and
 * statistics blocks, the limits checked before anything large is allocated, and the model's accessors. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_model.h"

size_t nn_add_tensor(nn_model *m, const char *layer, int index, const char *field, int kind, nn_tensor_role role,
                     int ndim, const int *dims)
{
    nn_tensor_info *t = &m->tensors[m->n_tensors];
    m->tensor_role[m->n_tensors++] = (uint8_t)role;
    snprintf(t->name, sizeof t->name, "%s%d.%s", layer, index, field);
    t->kind = kind;
    t->ndim = ndim;
    t->count = 1;
    for (int i = 0; i < ndim; i++) {
        t->dims[i] = dims[i];
        t->count *= (size_t)dims[i];
    }
    size_t *total = kind == NN_TENSOR_PARAM ? &m->n_params : &m->n_stats;
    t->offset = *total;
    *total += t->count;
    return t->offset;
}

int nn_layer_index(const nn_model *m, int i)
{
    int n = 1;
    for (int j = 0; j < i; j++)
        n += m->layers[j].op == m->layers[i].op;
    return n;
}

/* The entry that runs layer i and how many layers it takes: a fusing entry that applies there, else the
 * layer's own. */
static const nn_op *stage_op(const nn_model *m, int i, int *n_layers)
{
    for (const nn_op *const *op = nn_ops; *op; op++)
        if ((*op)->fuse && (*n_layers = (*op)->fuse(m, i)) > 0)
            return *op;
    *n_layers = 1;
    return m->layers[i].op;
}

/* Shapes, stages and tensors; no allocation. */
static int layout(nn_model *m, aa_error *err)
{
    int c = m->in_c, h = m->in_h, w = m->in_w, flat = 0;
    for (int i = 0; i < m->n_layers;) {
        const nn_op *first = m->layers[i].op; /* a fused stage is named by its first layer in messages */
        nn_stage *st = &m->stages[m->n_stages++];
        memset(st, 0, sizeof *st);
        st->op = stage_op(m, i, &st->n_layers);
        st->layer = i;
        st->w_off = st->b_off = st->bn.g_off = st->bn.be_off = st->bn.rm_off = st->bn.rv_off = SIZE_MAX;
        st->in_c = st->out_c = c, st->in_h = st->out_h = h, st->in_w = st->out_w = w;
        if (flat && !st->op->takes_vector)
            return aa_error_set(err, NN_ERR_ARCH, "architecture: layer %d (%s) needs a feature map, but its "
                                "input is a vector (after gap or fc)", i + 1, first->name);
        int rc = st->op->layout ? st->op->layout(m, st, err) : 0;
        if (rc)
            return rc;
        flat |= st->op->flattens;
        c = st->out_c, h = st->out_h, w = st->out_w;
        st->in_size = (size_t)st->in_c * st->in_h * st->in_w;
        st->out_size = (size_t)c * h * w;
        /* c <= 2^20 and h w <= the input's 2^27 floats: the product cannot wrap */
        if (st->out_size > NN_MAX_SAMPLE_BYTES / sizeof(float))
            return aa_error_set(err, NN_ERR_ARCH, "architecture: layer %d (%s) outputs %zu values per sample, over "
                                "the limit of %zu", i + 1, first->name, st->out_size,
                                NN_MAX_SAMPLE_BYTES / sizeof(float));
        i += st->n_layers;
    }
    if (m->n_params > NN_MAX_PARAMS)
        return aa_error_set(err, NN_ERR_ARCH, "architecture: %zu parameters, over the limit of %zu", m->n_params,
                            (size_t)NN_MAX_PARAMS);
    const nn_stage *last = &m->stages[m->n_stages - 1];
    if (!last->op->head || last->out_c != m->n_classes)
        return aa_error_set(err, NN_ERR_ARCH, "architecture: must end with a dense layer to the %d classes (\"fc\")",
                            m->n_classes);
    return 0;
}

nn_model *nn_model_plan(const char *arch, int in_c, int in_h, int in_w, int n_classes, int max_batch,
                        int reference, aa_error *err)
{
    if (in_c < 1 || in_h < 8 || in_w < 8 || n_classes < 1 || max_batch < 1) {
        aa_error_set(err, NN_ERR_ARG, "model: invalid shape (input %dx%dx%d, %d classes, batch %d; need "
                     "channels >= 1, height and width >= 8, classes >= 1, batch >= 1)", in_c, in_h, in_w,
                     n_classes, max_batch);
        return NULL;
    }
    /* in two steps, so that the product of three ints cannot wrap a size_t */
    const size_t max_floats = NN_MAX_SAMPLE_BYTES / sizeof(float);
    if ((size_t)in_c * (size_t)in_h > max_floats || (size_t)in_c * (size_t)in_h * (size_t)in_w > max_floats ||
        n_classes > (1 << 20)) {
        aa_error_set(err, NN_ERR_ARG, "model: input %dx%dx%d or %d classes over the limits (%zu values, 2^20 "
                     "classes)", in_c, in_h, in_w, n_classes, max_floats);
        return NULL;
    }
    nn_model *m = calloc(1, sizeof *m);
    if (!m) {
        aa_error_set(err, NN_ERR_NOMEM, "model: out of memory");
        return NULL;
    }
    m->in_c = in_c, m->in_h = in_h, m->in_w = in_w, m->n_classes = n_classes, m->max_batch = max_batch;
    m->threads = 1;
    m->reference = reference;
    m->isa = reference ? NN_ISA_PLAIN : nn_cpu_isa();
    m->band_floats = 65536;
    if (nn_arch_parse(arch, m->layers, &m->n_layers, m->arch, sizeof m->arch, err) != 0 || layout(m, err) != 0) {
        nn_model_free(m);
        return NULL;
    }
    size_t need = nn_buffers_one_sample(m);
    if (need > NN_MAX_SAMPLE_BYTES) {
        aa_error_set(err, NN_ERR_ARCH, "architecture: %zu MiB of buffers for one sample of %dx%dx%d, over the "
                     "limit of %zu MiB", (need + (1u << 20) - 1) >> 20, in_c, in_h, in_w, NN_MAX_SAMPLE_BYTES >> 20);
        nn_model_free(m);
        return NULL;
    }
    return m;
}

int nn_model_alloc_zero(nn_model *m, aa_error *err)
{
    nn_blas_setup();
    if (nn_buffers_alloc(m) != 0)
        return aa_error_set(err, NN_ERR_NOMEM, "model: out of memory (%zu parameters, batch %d)", m->n_params,
                            m->max_batch);
    return 0;
}

int nn_model_alloc(nn_model *m, aa_error *err)
{
    int rc = nn_model_alloc_zero(m, err);
    if (rc == 0)
        nn_init_he(m, 0);
    return rc;
}

nn_model *nn_model_new_ex(const char *arch, int in_c, int in_h, int in_w, int n_classes, int max_batch,
                          int reference, aa_error *err)
{
    nn_model *m = nn_model_plan(arch, in_c, in_h, in_w, n_classes, max_batch, reference, err);
    if (m && nn_model_alloc(m, err) != 0) {
        nn_model_free(m);
        return NULL;
    }
    return m;
}

nn_model *nn_model_new(const char *arch, int in_c, int in_h, int in_w, int n_classes, int max_batch,
                       aa_error *err)
{
    return nn_model_new_ex(arch, in_c, in_h, in_w, n_classes, max_batch, 0, err);
}

void nn_model_free(nn_model *m)
{
    if (!m)
        return;
    nn_buffers_free(m);
    free(m->shard_rows);
    free(m->shard_labels);
    free(m);
}

void nn_set_threads(nn_model *m, int n)
{
    if (n <= 0)
        n = omp_get_num_procs();
    if (n > 256)
        n = 256;
    /* On allocation failure the model keeps running on the threads it has scratch for. */
    nn_buffers_scratch(m, n);
    m->threads = n;
}

int nn_threads(const nn_model *m)
{
    return m->threads;
}

int nn_model_threads_eff(const nn_model *m)
{
    return m->threads < m->n_scratch ? m->threads : m->n_scratch;
}

void nn_model_pack_weights(nn_model *m, int transposed)
{
    for (int i = 0; i < m->n_stages; i++)
        if (m->stages[i].op->pack)
            m->stages[i].op->pack(m, &m->stages[i], transposed);
}

const char *nn_model_arch(const nn_model *m)
{
    return m->arch;
}

nn_model_info nn_model_get_info(const nn_model *m)
{
    nn_model_info in = {.in_c = m->in_c, .in_h = m->in_h, .in_w = m->in_w, .n_classes = m->n_classes,
                        .max_batch = m->max_batch, .n_params = m->n_params, .n_stats = m->n_stats};
    double total = 0, first = -1;
    for (int i = 0; i < m->n_stages; i++) {
        const nn_stage *st = &m->stages[i];
        if (!st->op->macs)
            continue;
        const double macs = st->op->macs(st);
        if (first < 0)
            first = macs;
        total += macs;
    }
    in.forward_flop = 2 * total;
    /* Forward, weight gradient for every layer, input gradient for all but the first (PyTorch's count). */
    in.train_flop = 2 * (3 * total - (first > 0 ? first : 0));
    return in;
}

int nn_tensor_count(const nn_model *m)
{
    return m->n_tensors;
}

const nn_tensor_info *nn_tensor_at(const nn_model *m, int i)
{
    return i >= 0 && i < m->n_tensors ? &m->tensors[i] : NULL;
}

int nn_tensor_find(const nn_model *m, const char *name)
{
    for (int i = 0; i < m->n_tensors; i++)
        if (strcmp(m->tensors[i].name, name) == 0)
            return i;
    return -1;
}

float *nn_tensor_data(nn_model *m, int i)
{
    const nn_tensor_info *t = nn_tensor_at(m, i);
    if (!t)
        return NULL;
    return (t->kind == NN_TENSOR_PARAM ? m->params : m->stats) + t->offset;
}

float *nn_tensor_grad(nn_model *m, int i)
{
    const nn_tensor_info *t = nn_tensor_at(m, i);
    return t && t->kind == NN_TENSOR_PARAM ? m->grads + t->offset : NULL;
}

/* He's draws come from our own seeded RNG, in tensor order, so a seed gives the same weights everywhere. */
void nn_init_he(nn_model *m, uint64_t seed)
{
    aa_rng r;
    aa_rng_seed(&r, seed);
    for (int i = 0; i < m->n_tensors; i++) {
        const nn_tensor_info *t = &m->tensors[i];
        float *d = nn_tensor_data(m, i);
        if (m->tensor_role[i] == NN_T_WEIGHT) {
            size_t fan_in = t->count / (size_t)t->dims[0];
            double sd = sqrt(2.0 / (double)fan_in);
            for (size_t j = 0; j < t->count; j++)
                d[j] = (float)(sd * aa_rng_normal(&r));
        } else {
            const float v = m->tensor_role[i] == NN_T_ONE ? 1.0f : 0.0f;
            for (size_t j = 0; j < t->count; j++)
                d[j] = v;
        }
    }
}

float *nn_params(nn_model *m)
{
    return m->params;
}

float *nn_grads(nn_model *m)
{
    return m->grads;
}

float *nn_stats(nn_model *m)
{
    return m->stats;
}
