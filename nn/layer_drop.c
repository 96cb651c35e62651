/* Inverted dropout, "drop<P>" (P in [0, 1)): kept values are scaled by 1/(1-P) during training, so evaluation
 * is the identity. Sample s's mask in a training forward comes from aa_rng_seed3(seed + the layer's index
 * among dropout layers, step, s): the same whatever the thread count. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_model.h"

void nn_dropout_mask(float *mask, size_t n, float p, aa_rng *rng)
{
    const float keep = 1.0f / (1.0f - p);
    for (size_t i = 0; i < n; i++)
        mask[i] = aa_rng_uniform(rng) < p ? 0.0f : keep;
}

void nn_mul(float *out, const float *a, const float *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] * b[i];
}

static int drop_parse(const char *tok, nn_layer_spec *l)
{
    if (strncmp(tok, "drop", 4) != 0 || tok[4] == '\0')
        return -1;
    char *end;
    errno = 0;
    double v = strtod(tok + 4, &end);
    if (*end || errno || !(v >= 0 && v < 1))
        return -1;
    l->p = (float)v;
    return 0;
}

static void drop_text(const nn_layer_spec *l, char *buf, size_t n)
{
    snprintf(buf, n, "drop%g", (double)l->p);
}

static int drop_layout(nn_model *m, nn_stage *st, aa_error *err)
{
    (void)err;
    st->p = m->layers[st->layer].p;
    st->drop_index = nn_layer_index(m, st->layer) - 1;
    return 0;
}

static void drop_buffers(nn_model *m, nn_stage *st, nn_mem *mm)
{
    (void)m;
    st->mask = nn_mem_batch(mm, sizeof(float) * st->out_size);
}

static void drop_fwd(nn_model *m, nn_stage *st, int s, const float *in, nn_scratch *sc)
{
    (void)sc;
    float *mask = st->mask + (size_t)s * st->out_size;
    aa_rng r;
    aa_rng_seed3(&r, m->seed + (uint64_t)st->drop_index, m->step, (uint64_t)(m->shard_first + s));
    nn_dropout_mask(mask, st->out_size, st->p, &r);
    nn_mul(nn_stage_act(st, s), in, mask, st->out_size);
}

static void drop_bwd(nn_model *m, nn_stage *st, int s, const float *in, const float *dout, float *din,
                     nn_scratch *sc)
{
    (void)m, (void)in, (void)sc;
    if (din)
        nn_mul(din, dout, st->mask + (size_t)s * st->out_size, st->out_size);
}

static void drop_eval(nn_model *m, nn_stage *st, float *out, const float *in, nn_scratch *sc)
{
    (void)m, (void)sc;
    memcpy(out, in, sizeof *out * st->out_size);
}

const nn_op nn_op_drop = {
    .name = "drop",
    .syntax = "drop<P>",
    .parse = drop_parse,
    .text = drop_text,
    .takes_vector = 1,
    .layout = drop_layout,
    .buffers = drop_buffers,
    .fwd_pre = drop_fwd,
    .bwd_post = drop_bwd,
    .eval = drop_eval,
};
