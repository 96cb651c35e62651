/* A recomputed block (nn_stage_recompute) runs its convolution three times per sample: for the batch-norm
 * statistics, for the normalised, pooled output, and for the gradient at the conv output. Each time, the
 * output is made and used band by band (a few rows of every channel, about 256 KB), so that it is read back
 * from L2 while still there instead of making a round trip through memory: on aa-cnn-s's first block the
 * whole map is 1.6 MB per sample, and with its gradient plane it overflows a 2 MB L2. */
#include "nn/nn_internal.h"

/* Rows per band: even (the pool pairs rows), about m->band_floats of conv output (64K: 256 KB, well inside
 * L2; 32K and 16K measured the same on aa-cnn-s). */
static int band_rows(const nn_model *m, const nn_stage *st)
{
    int r = (int)(m->band_floats / ((size_t)st->cd.c_out * st->cd.w)) & ~1;
    if (r < 2)
        r = 2;
    return r;
}

/* The conv output of rows [y0, y1) into sc->y, [c_out][y1 - y0][w]; the padded input is in sc->pad. */
static void band_conv(const nn_model *m, const nn_stage *st, int y0, int y1, nn_scratch *sc)
{
    const float *bias = st->b_off != SIZE_MAX ? m->params + st->b_off : NULL;
    nn_convd_forward_rows(sc->y, sc->pad, st->wf, bias, &st->cd, &st->pg, y0, y1);
}

void nn_band_stats(const nn_model *m, const nn_stage *st, const float *in, double *part, nn_scratch *sc)
{
    const nn_conv_dims *d = &st->cd;
    const int c = d->c_out, rows = band_rows(m, st);
    nn_pad_planes(sc->pad, in, d->c_in, d->h, d->w, &st->pg);
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

void nn_band_forward(const nn_model *m, const nn_stage *st, int s, const float *in, nn_scratch *sc)
{
    const nn_conv_dims *d = &st->cd;
    const int rows = band_rows(m, st), ow = d->w / 2, oh = d->h / 2;
    const size_t o = (size_t)s * st->out_size, cs = (size_t)oh * ow;
    nn_pad_planes(sc->pad, in, d->c_in, d->h, d->w, &st->pg);
    for (int y0 = 0; y0 < d->h; y0 += rows) {
        const int y1 = y0 + rows < d->h ? y0 + rows : d->h, nb = (y1 - y0) * d->w;
        band_conv(m, st, y0, y1, sc);
        /* one channel per call: the band's channel stride differs from the output's */
        for (int ch = 0; ch < d->c_out; ch++) {
            const size_t at = o + ch * cs + (size_t)(y0 / 2) * ow;
            nn_block_forward_isa(st->act + at, st->arg + at, st->yarg + at, sc->y + (size_t)ch * nb, st->scale + ch,
                                 st->shift + ch, 1, y1 - y0, d->w, 1, m->isa);
        }
    }
}

void nn_band_dy(const nn_model *m, const nn_stage *st, int s, const float *in, const float *dout, nn_scratch *sc)
{
    const nn_conv_dims *d = &st->cd;
    const nn_pad_geom *pg = &st->pg;
    const int rows = band_rows(m, st), ow = d->w / 2, oh = d->h / 2, c = d->c_out;
    const size_t o = (size_t)s * st->out_size, cs = (size_t)oh * ow;
    nn_pad_planes(sc->pad, in, d->c_in, d->h, d->w, pg);
    for (int y0 = 0; y0 < d->h; y0 += rows) {
        const int y1 = y0 + rows < d->h ? y0 + rows : d->h, nb = (y1 - y0) * d->w;
        band_conv(m, st, y0, y1, sc);
        for (int ch = 0; ch < c; ch++) {
            const size_t at = (size_t)ch * cs + (size_t)(y0 / 2) * ow;
            const float coef[4] = {st->coef[ch], st->coef[c + ch], st->coef[2 * c + ch], st->coef[3 * c + ch]};
            nn_block_backward_dy_strided(sc->dpad + (size_t)ch * pg->plane + pg->org + (size_t)y0 * pg->ws, pg->ws,
                                         pg->plane, dout + at, st->act + o + at, st->arg + o + at,
                                         sc->y + (size_t)ch * nb, coef, 1, y1 - y0, d->w, 1, m->isa);
        }
    }
    nn_pad_zero_borders(sc->dpad, c, d->h, d->w, pg);
}
