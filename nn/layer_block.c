/* The fused conv block: "c<N>... bn relu [p2]" run as one stage (in a model that is not a reference). Its
 * conv output is kept for the backward pass (or computed again, see below), batch-norm statistics come from
 * per-sample partials, and the affine map, ReLU and pool are one pass over memory (nn/block.c). Tensors,
 * names and file contents are those of the separate layers: conv<i>.*, then bn<j>.*.
 *
 * Recomputed blocks. When a block's conv output is cheaper to compute again than to keep (the batch's outputs
 * do not fit in cache, so the pass after the batch statistics and the backward pass would read them back from
 * memory, while the convolution is a few multiply-adds per output), the convolution runs three times per
 * sample: for the batch-norm statistics, for the normalised, pooled output, and for the gradient at the conv
 * output. On the direct kernels each time the output is made and used band by band (a few rows of every
 * channel, about 256 KB), so that it is read back from L2 while still there: on aa-cnn-s's first block the
 * whole map is 1.6 MB per sample, and with its gradient plane it overflows a 2 MB L2. A one-channel 3x3
 * recomputed block needs no conv output at all for its statistics and weight gradient: nn/gram.c. */
#include "nn/nn_model.h"

static size_t y_size(const nn_stage *st)
{
    return (size_t)st->conv.cd.c_out * st->conv.cd.h * st->conv.cd.w;
}

static const float *bias_of(const nn_model *m, const nn_stage *st)
{
    return st->b_off != SIZE_MAX ? m->params + st->b_off : NULL;
}

static int block_fuse(const nn_model *m, int i)
{
    const nn_layer_spec *l = m->layers;
    if (m->reference || l[i].op != &nn_op_conv || i + 2 >= m->n_layers || l[i + 1].op != &nn_op_bn ||
        l[i + 2].op != &nn_op_relu)
        return 0;
    return i + 3 < m->n_layers && l[i + 3].op == &nn_op_pool ? 4 : 3;
}

/* Measured on aa-cnn-s's first block (1 input channel, 3x3, 16 x 64 x 401 outputs): computing the
 * convolution twice more costs less than half of reading its 52 MB batch buffer back twice. The break-even
 * is near 40 multiply-adds per output; 27 (three 3x3 input channels) stays clear of it. Only a pooled
 * block: its backward partial sums read the conv output at each argmax (yarg), which it keeps anyway. And
 * one whose weight gradient reads the padded planes that the recomputation leaves in the scratch. */
static int recompute(const nn_model *m, const nn_stage *st)
{
    const nn_conv_dims *d = &st->conv.cd;
    return st->pool && nn_stage_direct(m, st) && d->c_in * d->k * d->k <= 27 && !nn_convd_wgrad_cl(d);
}

static int block_layout(nn_model *m, nn_stage *st, aa_error *err)
{
    const int i = st->layer;
    nn_conv_part_layout(m, st, &m->layers[i], nn_layer_index(m, i));
    nn_bn_part_layout(m, st, st->out_c, nn_layer_index(m, i + 1));
    if (st->n_layers == 4) {
        if (st->in_h < 2 || st->in_w < 2)
            return aa_error_set(err, NN_ERR_ARCH, "architecture: layer %d (p2) on a %dx%d map", i + 4, st->in_h,
                                st->in_w);
        st->pool = 1;
        st->out_h /= 2, st->out_w /= 2;
    }
    st->recompute = recompute(m, st);
    return 0;
}

static void block_buffers(nn_model *m, nn_stage *st, nn_mem *mm)
{
    const nn_conv_dims *d = &st->conv.cd;
    nn_conv_part_buffers(st, mm);
    nn_mem_scratch(mm, NN_SC_Y, y_size(st));
    nn_mem_scratch(mm, NN_SC_DY, y_size(st));
    if (!st->recompute)
        st->y = nn_mem_batch(mm, sizeof(float) * y_size(st));
    if (st->recompute && d->c_in == 1 && d->k == 3 && m->isa >= NN_ISA_AVX512) {
        st->gram = nn_mem_batch(mm, sizeof(double) * NN_GRAM_SIZE);
        /* the scratch's y holds the cell sums and their accumulators (block_bwd_post) and the padded input in
         * double (block_fwd_pre) */
        size_t need = 2 * ((size_t)(d->h + 2) * st->conv.pg.ws + 8);
        nn_mem_scratch(mm, NN_SC_Y, need > 500 * (size_t)d->c_out ? need : 500 * (size_t)d->c_out);
    }
    if (st->pool) {
        st->arg = nn_mem_batch(mm, st->out_size);
        st->yarg = nn_mem_batch(mm, sizeof(float) * st->out_size);
    }
    nn_bn_part_buffers(st, mm);
}

int nn_stage_gram(const nn_model *m, const nn_stage *st)
{
    return st->gram != NULL && st->recompute && m->isa >= NN_ISA_AVX512 && nn_stage_direct(m, st);
}

/* ---- band by band, for a recomputed block on the direct kernels ----------------------------------------------- */

/* Rows per band: even (the pool pairs rows), about m->band_floats of conv output (64K: 256 KB, well inside
 * L2; 32K and 16K measured the same on aa-cnn-s). */
static int band_rows(const nn_model *m, const nn_stage *st)
{
    int r = (int)(m->band_floats / ((size_t)st->conv.cd.c_out * st->conv.cd.w)) & ~1;
    if (r < 2)
        r = 2;
    return r;
}

/* The conv output of rows [y0, y1) into sc->y, [c_out][y1 - y0][w]; the padded input is in sc->pad. */
static void band_conv(const nn_model *m, const nn_stage *st, int y0, int y1, nn_scratch *sc)
{
    nn_convd_forward_rows(sc->y, sc->pad, st->conv.wf, bias_of(m, st), &st->conv.cd, &st->conv.pg, y0, y1);
}

/* Sample's batch-norm partials (part: [2][c], as nn_bn_sample_stats) from in, its stage input. */
static void band_stats(const nn_model *m, const nn_stage *st, const float *in, double *part, nn_scratch *sc)
{
    const nn_conv_dims *d = &st->conv.cd;
    const int c = d->c_out, rows = band_rows(m, st);
    nn_pad_planes(sc->pad, in, d->c_in, d->h, d->w, &st->conv.pg);
    for (int y0 = 0; y0 < d->h; y0 += rows) {
        const int y1 = y0 + rows < d->h ? y0 + rows : d->h, nb = (y1 - y0) * d->w;
        band_conv(m, st, y0, y1, sc);
        for (int ch = 0; ch < c; ch++) {
            double bm, bm2;
            nn_bn_sample_stats_isa(&bm, &bm2, sc->y + (size_t)ch * nb, 1, nb, m->isa);
            if (y0 == 0) {
                part[ch] = bm, part[c + ch] = bm2;
                continue;
            }
            /* bands combined as nn_bn_combine_stats combines samples (Chan et al.); the rows above hold n */
            double n = (double)y0 * d->w, nt = n + nb, delta = bm - part[ch];
            part[ch] += delta * nb / nt;
            part[c + ch] += bm2 + delta * delta * n * nb / nt;
        }
    }
}

/* Sample s's forward output (act, arg, yarg). */
static void band_forward(const nn_model *m, const nn_stage *st, int s, const float *in, nn_scratch *sc)
{
    const nn_conv_dims *d = &st->conv.cd;
    const int rows = band_rows(m, st), ow = d->w / 2, oh = d->h / 2;
    const size_t o = (size_t)s * st->out_size, cs = (size_t)oh * ow;
    nn_pad_planes(sc->pad, in, d->c_in, d->h, d->w, &st->conv.pg);
    for (int y0 = 0; y0 < d->h; y0 += rows) {
        const int y1 = y0 + rows < d->h ? y0 + rows : d->h, nb = (y1 - y0) * d->w;
        band_conv(m, st, y0, y1, sc);
        /* one channel per call: the band's channel stride differs from the output's */
        for (int ch = 0; ch < d->c_out; ch++) {
            const size_t at = o + ch * cs + (size_t)(y0 / 2) * ow;
            nn_block_forward_isa(st->act + at, st->arg + at, st->yarg + at, sc->y + (size_t)ch * nb,
                                 st->bn.scale + ch, st->bn.shift + ch, 1, y1 - y0, d->w, 1, m->isa);
        }
    }
}

/* The gradient at the conv output of sample s from dout (the gradient of its act) into sc->dpad, borders
 * zeroed; the padded input stays in sc->pad. */
static void band_dy(const nn_model *m, const nn_stage *st, int s, const float *in, const float *dout,
                    nn_scratch *sc)
{
    const nn_conv_dims *d = &st->conv.cd;
    const nn_pad_geom *pg = &st->conv.pg;
    const float *cf = st->bn.coef;
    const int rows = band_rows(m, st), ow = d->w / 2, oh = d->h / 2, c = d->c_out;
    const size_t o = (size_t)s * st->out_size, cs = (size_t)oh * ow;
    nn_pad_planes(sc->pad, in, d->c_in, d->h, d->w, pg);
    for (int y0 = 0; y0 < d->h; y0 += rows) {
        const int y1 = y0 + rows < d->h ? y0 + rows : d->h, nb = (y1 - y0) * d->w;
        band_conv(m, st, y0, y1, sc);
        for (int ch = 0; ch < c; ch++) {
            const size_t at = (size_t)ch * cs + (size_t)(y0 / 2) * ow;
            const float coef[4] = {cf[ch], cf[c + ch], cf[2 * c + ch], cf[3 * c + ch]};
            nn_block_backward_dy_strided(sc->dpad + (size_t)ch * pg->plane + pg->org + (size_t)y0 * pg->ws, pg->ws,
                                         pg->plane, dout + at, st->act + o + at, st->arg + o + at,
                                         sc->y + (size_t)ch * nb, coef, 1, y1 - y0, d->w, 1, m->isa);
        }
    }
    nn_pad_zero_borders(sc->dpad, c, d->h, d->w, pg);
}

/* ---- the passes ------------------------------------------------------------------------------------------------ */

/* The conv output of sample s: kept in st->y, or computed again into sc->y (the stage input, padded, then
 * also stays in sc->pad). */
static const float *block_y(nn_model *m, nn_stage *st, int s, nn_scratch *sc)
{
    if (!st->recompute)
        return st->y + (size_t)s * y_size(st);
    nn_stage_conv_forward(m, st, sc->y, st->in + (size_t)s * st->in_size, sc);
    return sc->y;
}

static void block_fwd_pre(nn_model *m, nn_stage *st, int s, const float *in, nn_scratch *sc)
{
    const nn_conv_dims *d = &st->conv.cd;
    const int hw = st->in_h * st->in_w;
    double *part = st->bn.part + (size_t)s * 2 * d->c_out;
    if (nn_stage_gram(m, st)) {
        double *gram = st->gram + (size_t)s * NN_GRAM_SIZE;
        nn_pad_planes(sc->pad, in, 1, d->h, d->w, &st->conv.pg);
        nn_gram_sums_avx512(gram, sc->pad, d, &st->conv.pg, (double *)sc->y);
        nn_gram_stats(part, part + d->c_out, gram, m->params + st->w_off, bias_of(m, st), d->c_out, (double)hw);
        return;
    }
    if (st->recompute && nn_stage_direct(m, st)) {
        band_stats(m, st, in, part, sc);
        return;
    }
    float *y = st->recompute ? sc->y : st->y + (size_t)s * y_size(st);
    nn_stage_conv_forward(m, st, y, in, sc);
    nn_bn_sample_stats_isa(part, part + d->c_out, y, d->c_out, hw, m->isa);
}

static void block_fwd_mid(nn_model *m, nn_stage *st, int batch)
{
    const int hw = st->in_h * st->in_w;
    nn_bn_combine_stats(st->bn.mean, st->bn.work, st->bn.part, batch, st->bn.c, hw);
    nn_bn_part_finish(m, st, st->bn.work, (double)batch * hw);
}

static void block_fwd_post(nn_model *m, nn_stage *st, int s, nn_scratch *sc)
{
    if (st->recompute && nn_stage_direct(m, st)) {
        band_forward(m, st, s, st->in + (size_t)s * st->in_size, sc);
        return;
    }
    const nn_conv_dims *d = &st->conv.cd;
    const size_t o = (size_t)s * st->out_size;
    nn_block_forward_isa(nn_stage_act(st, s), st->arg ? st->arg + o : NULL, st->yarg ? st->yarg + o : NULL,
                         block_y(m, st, s, sc), st->bn.scale, st->bn.shift, d->c_out, d->h, d->w, st->pool, m->isa);
}

static void block_bwd_pre(nn_model *m, nn_stage *st, int s, const float *dout)
{
    const int c = st->conv.cd.c_out;
    double *part = st->bn.part + (size_t)s * 2 * c;
    /* (a recomputed block always pools: recompute()) */
    const float *yv = st->pool ? st->yarg + (size_t)s * st->out_size : st->y + (size_t)s * y_size(st);
    nn_block_backward_partial_isa(part, part + c, dout, nn_stage_act(st, s), yv, st->bn.mean, st->bn.invstd, c,
                                  (int)(st->out_size / (size_t)c), m->isa);
    nn_bn_part_grads(m, st, s, part, part + c);
}

static void block_bwd_mid(nn_model *m, nn_stage *st, int batch, const float *dout, float *din)
{
    (void)dout, (void)din;
    nn_bn_part_coef(m, st, batch, st->in_h * st->in_w);
}

static void block_bwd_post(nn_model *m, nn_stage *st, int s, const float *in, const float *dout, float *din,
                           nn_scratch *sc)
{
    const float *P = m->params;
    float *g = m->gsamp + (size_t)s * m->n_params;
    const float *out = nn_stage_act(st, s);
    float *dbias = st->b_off != SIZE_MAX ? g + st->b_off : NULL;
    const uint8_t *arg = st->arg ? st->arg + (size_t)s * st->out_size : NULL;
    const nn_conv_dims *d = &st->conv.cd;
    const nn_pad_geom *pg = &st->conv.pg;
    if (!din && nn_stage_gram(m, st)) {
        const int hw = st->in_h * st->in_w;
        /* sc->y: the cell sums' accumulators (480 c floats), then the sums themselves */
        double *cell = (double *)(sc->y + 480 * (size_t)d->c_out);
        nn_pad_planes(sc->pad, in, 1, d->h, d->w, pg);
        nn_gram_cells_avx512(cell, sc->pad, dout, out, arg, d->c_out, d->h, d->w, pg, sc->y);
        nn_gram_wgrad(g + st->w_off, dbias, st->gram + (size_t)s * NN_GRAM_SIZE, cell, P + st->w_off, bias_of(m, st),
                      st->bn.mean, st->bn.invstd, st->bn.work, st->bn.work + d->c_out, P + st->bn.g_off, d->c_out,
                      (double)nn_shard_batch(m) * hw, (double)hw);
        return;
    }
    if (st->recompute && nn_stage_direct(m, st)) {
        band_dy(m, st, s, in, dout, sc);
        nn_conv_part_backward_direct(st, din, g + st->w_off, dbias, in, sc);
        return;
    }
    const float *y = block_y(m, st, s, sc);
    if (nn_stage_direct(m, st)) {
        /* the gradient at the conv output goes straight into the interior of its padded plane */
        nn_block_backward_dy_strided(sc->dpad + pg->org, pg->ws, pg->plane, dout, out, arg, y, st->bn.coef, d->c_out,
                                     d->h, d->w, st->pool, m->isa);
        nn_pad_zero_borders(sc->dpad, d->c_out, d->h, d->w, pg);
        nn_conv_part_backward_direct(st, din, g + st->w_off, dbias, in, sc);
    } else {
        nn_block_backward_dy_strided(sc->dy, d->w, (size_t)d->h * d->w, dout, out, arg, y, st->bn.coef, d->c_out, d->h,
                                     d->w, st->pool, m->isa);
        nn_conv2d_backward_isa(din, g + st->w_off, dbias, sc->dy, in, P + st->w_off, d, sc->conv, m->isa);
    }
}

static void block_eval(nn_model *m, nn_stage *st, float *out, const float *in, nn_scratch *sc)
{
    const nn_conv_dims *d = &st->conv.cd;
    nn_stage_conv_forward(m, st, sc->y, in, sc);
    nn_block_forward_isa(out, NULL, NULL, sc->y, st->bn.scale, st->bn.shift, d->c_out, d->h, d->w, st->pool, m->isa);
}

const nn_op nn_op_block = {
    .name = "block",
    .fuse = block_fuse,
    .layout = block_layout,
    .buffers = block_buffers,
    .fwd_pre = block_fwd_pre,
    .fwd_mid = block_fwd_mid,
    .fwd_post = block_fwd_post,
    .bwd_pre = block_bwd_pre,
    .bwd_mid = block_bwd_mid,
    .bwd_post = block_bwd_post,
    .eval_prepare = nn_bn_part_eval_prepare,
    .eval = block_eval,
    .pack = nn_conv_part_pack,
    .macs = nn_conv_part_macs,
};
