/* Building a model: layers from the architecture string, shapes, stages (fused conv blocks), the flat
 * parameter / gradient / statistics blocks with their named tensors, and every buffer the passes use. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "nn/nn_internal.h"

/* Buffers this large are mapped straight from the kernel. */
#define MAP_MIN ((size_t)64 << 10)

/* Under AddressSanitizer every buffer comes from calloc, so that the sanitizer sees their bounds. */
#if defined(__SANITIZE_ADDRESS__)
#define USE_MAP 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define USE_MAP 0
#endif
#endif
#ifndef USE_MAP
#define USE_MAP 1
#endif

/* 64-byte aligned, zeroed; NULL on failure. Freed with free_zero().
 * Zero pages rather than posix_memalign + memset: a fresh anonymous mapping reads as zeros without being
 * written, so a buffer the run never touches (the training buffers, when a model is loaded only to
 * classify) costs no page faults; memset wrote every page of them, about a third of a one-clip run.
 * calloc alone would not do: glibc clears a recycled heap chunk by hand, and its mmap threshold rises after
 * the first large free. The 16 bytes below the returned block say how to give it back: the mapping's
 * length (0 for calloc) and the start of the allocation. */
static void *alloc_zero(size_t bytes)
{
    if (bytes == 0)
        bytes = 64;
    if (bytes > SIZE_MAX / 2)
        return NULL;
    unsigned char *base;
    size_t map_len = 0;
    if (USE_MAP && bytes >= MAP_MIN) {
        map_len = (bytes + 64 + 4095) & ~(size_t)4095;
        base = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (base == MAP_FAILED)
            return NULL;
    } else if (!(base = calloc(1, bytes + 128))) {
        return NULL;
    }
    /* at least 65 bytes above base: room for the header at any calloc alignment */
    unsigned char *p = map_len ? base + 64 : (unsigned char *)(((uintptr_t)base + 128) & ~(uintptr_t)63);
    memcpy(p - 16, &map_len, sizeof map_len);
    memcpy(p - 8, &base, sizeof base);
    return p;
}

static void free_zero(void *p)
{
    if (!p)
        return;
    size_t map_len;
    unsigned char *base;
    memcpy(&map_len, (unsigned char *)p - 16, sizeof map_len);
    memcpy(&base, (unsigned char *)p - 8, sizeof base);
    if (map_len)
        munmap(base, map_len);
    else
        free(base);
}

static int add_tensor(nn_model *m, const char *name, int kind, int ndim, const int *dims, size_t *off)
{
    nn_tensor_info *t = &m->tensors[m->n_tensors++];
    snprintf(t->name, sizeof t->name, "%s", name);
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
    *off = t->offset;
    return m->n_tensors - 1;
}

static void add_bn(nn_model *m, nn_stage *st, int c, int n)
{
    char name[32];
    snprintf(name, sizeof name, "bn%d.weight", n);
    add_tensor(m, name, NN_TENSOR_PARAM, 1, (int[]){c}, &st->g_off);
    snprintf(name, sizeof name, "bn%d.bias", n);
    add_tensor(m, name, NN_TENSOR_PARAM, 1, (int[]){c}, &st->be_off);
    snprintf(name, sizeof name, "bn%d.running_mean", n);
    add_tensor(m, name, NN_TENSOR_STAT, 1, (int[]){c}, &st->rm_off);
    snprintf(name, sizeof name, "bn%d.running_var", n);
    add_tensor(m, name, NN_TENSOR_STAT, 1, (int[]){c}, &st->rv_off);
}

static const char *const KIND_NAME[] = {"conv", "bn", "relu", "p2", "gap", "drop", "fc"};

/* Shapes, stages and tensors; no allocation. */
static int layout(nn_model *m, aa_error *err)
{
    int c = m->in_c, h = m->in_h, w = m->in_w, flat = 0;
    int n_conv = 0, n_bn = 0, n_fc = 0, n_drop = 0;
    char name[32];
    for (int i = 0; i < m->n_layers; i++) {
        const nn_layer_spec *l = &m->layers[i];
        const int first = i; /* a fused block moves i past its bn, relu and pool */
        nn_stage *st = &m->stages[m->n_stages++];
        memset(st, 0, sizeof *st);
        st->w_off = st->b_off = st->g_off = st->be_off = st->rm_off = st->rv_off = SIZE_MAX;
        st->in_c = c, st->in_h = h, st->in_w = w;
        if (l->kind != NN_L_FC && l->kind != NN_L_RELU && l->kind != NN_L_DROP && flat)
            return aa_error_set(err, NN_ERR_ARCH, "architecture: layer %d (%s) needs a feature map, but its "
                                "input is a vector (after gap or fc)", i + 1, KIND_NAME[l->kind]);
        switch (l->kind) {
        case NN_L_CONV: {
            int fused = !m->reference && i + 2 < m->n_layers && m->layers[i + 1].kind == NN_L_BN &&
                        m->layers[i + 2].kind == NN_L_RELU;
            st->kind = fused ? NN_S_BLOCK : NN_S_CONV;
            st->cd = (nn_conv_dims){.c_in = c, .c_out = l->n, .h = h, .w = w, .k = l->k, .pad = l->k / 2};
            n_conv++;
            snprintf(name, sizeof name, "conv%d.weight", n_conv);
            add_tensor(m, name, NN_TENSOR_PARAM, 4, (int[]){l->n, c, l->k, l->k}, &st->w_off);
            if (l->bias) {
                snprintf(name, sizeof name, "conv%d.bias", n_conv);
                add_tensor(m, name, NN_TENSOR_PARAM, 1, (int[]){l->n}, &st->b_off);
            }
            c = l->n;
            if (!fused)
                break;
            i += 2; /* bn, relu */
            add_bn(m, st, c, ++n_bn);
            if (i + 1 < m->n_layers && m->layers[i + 1].kind == NN_L_POOL) {
                if (h < 2 || w < 2)
                    return aa_error_set(err, NN_ERR_ARCH, "architecture: layer %d (p2) on a %dx%d map", i + 2,
                                        h, w);
                st->pool = 1;
                i++;
                h /= 2, w /= 2;
            }
            break;
        }
        case NN_L_BN:
            st->kind = NN_S_BN;
            add_bn(m, st, c, ++n_bn);
            break;
        case NN_L_RELU:
            st->kind = NN_S_RELU;
            break;
        case NN_L_POOL:
            if (h < 2 || w < 2)
                return aa_error_set(err, NN_ERR_ARCH, "architecture: layer %d (p2) on a %dx%d map", i + 1, h, w);
            st->kind = NN_S_POOL;
            h /= 2, w /= 2;
            break;
        case NN_L_GAP:
            st->kind = NN_S_GAP;
            h = w = 1;
            flat = 1;
            break;
        case NN_L_DROP:
            st->kind = NN_S_DROP;
            st->p = l->p;
            st->drop_index = n_drop++;
            break;
        case NN_L_FC: {
            /* c h w <= NN_MAX_SAMPLE_BYTES / 4: the previous stage (or the input) was checked */
            int n_out = l->n ? l->n : m->n_classes;
            if (!l->n && i != m->n_layers - 1)
                return aa_error_set(err, NN_ERR_ARCH, "architecture: plain \"fc\" (to the classes) must be the "
                                    "last layer; use fc<N> for a hidden one");
            st->kind = NN_S_FC;
            n_fc++;
            snprintf(name, sizeof name, "fc%d.weight", n_fc);
            add_tensor(m, name, NN_TENSOR_PARAM, 2, (int[]){n_out, c * h * w}, &st->w_off);
            snprintf(name, sizeof name, "fc%d.bias", n_fc);
            add_tensor(m, name, NN_TENSOR_PARAM, 1, (int[]){n_out}, &st->b_off);
            c = n_out, h = w = 1, flat = 1;
            break;
        }
        }
        st->out_c = c, st->out_h = h, st->out_w = w;
        st->in_size = (size_t)st->in_c * st->in_h * st->in_w;
        st->out_size = (size_t)c * h * w;
        /* c <= 2^20 and h w <= the input's 2^27 floats: the product cannot wrap */
        if (st->out_size > NN_MAX_SAMPLE_BYTES / sizeof(float))
            return aa_error_set(err, NN_ERR_ARCH, "architecture: layer %d (%s) outputs %zu values per sample, over "
                                "the limit of %zu", first + 1, KIND_NAME[l->kind], st->out_size,
                                NN_MAX_SAMPLE_BYTES / sizeof(float));
    }
    if (m->n_params > NN_MAX_PARAMS)
        return aa_error_set(err, NN_ERR_ARCH, "architecture: %zu parameters, over the limit of %zu", m->n_params,
                            (size_t)NN_MAX_PARAMS);
    const nn_stage *last = &m->stages[m->n_stages - 1];
    if (last->kind != NN_S_FC || last->out_c != m->n_classes)
        return aa_error_set(err, NN_ERR_ARCH, "architecture: must end with a dense layer to the %d classes (\"fc\")",
                            m->n_classes);
    return 0;
}

/* What allocate() and one thread's scratch take for a batch of one sample, in bytes: the numbers of a
 * file (input shape, architecture) decide it, so it is checked before anything is allocated. Mirrors
 * allocate(); an estimate on the high side is fine. */
static size_t bytes_for_one_sample(const nn_model *m)
{
    size_t f = (size_t)m->in_c * m->in_h * m->in_w, max_io = f, conv = 0, max_y = 0, bytes = 0;
    for (int i = 0; i < m->n_stages; i++) {
        const nn_stage *st = &m->stages[i];
        size_t ysz = (size_t)st->cd.c_out * st->cd.h * st->cd.w, c = (size_t)st->out_c;
        max_io = st->out_size > max_io ? st->out_size : max_io;
        f += st->out_size;                                                /* act */
        if (st->kind == NN_S_BLOCK)
            f += ysz, max_y = ysz > max_y ? ysz : max_y;                    /* y */
        if ((st->kind == NN_S_BLOCK && st->pool) || st->kind == NN_S_POOL)
            f += st->out_size, bytes += st->out_size;                     /* yarg, arg */
        if (st->kind == NN_S_DROP)
            f += st->out_size;                                            /* mask */
        if (st->kind == NN_S_BLOCK || st->kind == NN_S_BN)
            bytes += 7 * sizeof(double) * c, f += 6 * c;                  /* statistics, coefficients */
        if (st->kind == NN_S_BLOCK || st->kind == NN_S_CONV) {
            size_t need = nn_conv2d_scratch(&st->cd);
            conv = need > conv ? need : conv;
        }
    }
    f += 3 * m->n_params + m->n_stats + 2 * max_io + 2 * (size_t)m->n_classes; /* params, grads, gsamp, dbuf */
    f += conv + 2 * max_y + 2 * max_io;                                          /* one thread's scratch */
    return bytes + sizeof(float) * f;
}

static int alloc_scratch(nn_model *m, int n)
{
    if (n <= m->n_scratch)
        return 0;
    nn_scratch *sc = realloc(m->scratch, sizeof *sc * (size_t)n);
    if (!sc)
        return NN_ERR_NOMEM;
    m->scratch = sc;
    for (int t = m->n_scratch; t < n; t++) {
        nn_scratch *s = &sc[t];
        s->conv = alloc_zero(sizeof(float) * m->conv_scratch);
        s->dy = alloc_zero(sizeof(float) * m->max_y);
        s->ping = alloc_zero(sizeof(float) * m->max_out);
        s->pong = alloc_zero(sizeof(float) * m->max_out);
        s->y = alloc_zero(sizeof(float) * m->max_y);
        s->pad = alloc_zero(sizeof(float) * m->max_pad);
        s->dpad = alloc_zero(sizeof(float) * m->max_dpad);
        m->n_scratch = t + 1;
        if (!s->conv || !s->dy || !s->ping || !s->pong || !s->y || !s->pad || !s->dpad)
            return NN_ERR_NOMEM;
    }
    return 0;
}

static int allocate(nn_model *m)
{
    const size_t B = (size_t)m->max_batch;
    size_t max_io = (size_t)m->in_c * m->in_h * m->in_w;
    m->max_out = max_io;
    for (int i = 0; i < m->n_stages; i++) {
        nn_stage *st = &m->stages[i];
        size_t c = (size_t)st->out_c, ysz = (size_t)st->cd.c_out * st->cd.h * st->cd.w;
        if (st->out_size > max_io)
            max_io = st->out_size;
        if (st->out_size > m->max_out)
            m->max_out = st->out_size;
        if (!(st->act = alloc_zero(sizeof(float) * B * st->out_size)))
            return NN_ERR_NOMEM;
        if (st->kind == NN_S_BLOCK || st->kind == NN_S_CONV) {
            size_t need = nn_conv2d_scratch(&st->cd);
            if (need > m->conv_scratch)
                m->conv_scratch = need;
            st->pg = nn_pad_geom_of(&st->cd);
            if (nn_stage_direct(m, st)) {
                size_t pin = st->pg.plane * (size_t)st->cd.c_in, pout = st->pg.plane * (size_t)st->cd.c_out;
                m->max_pad = pin > m->max_pad ? pin : m->max_pad;
                m->max_dpad = pout > m->max_dpad ? pout : m->max_dpad;
                size_t pk = nn_convd_pack_size(&st->cd);
                if (!(st->wf = alloc_zero(sizeof(float) * pk)) || !(st->wt = alloc_zero(sizeof(float) * pk)))
                    return NN_ERR_NOMEM;
            }
        }
        if (st->kind == NN_S_BLOCK) {
            if (ysz > m->max_y)
                m->max_y = ysz;
            st->recompute = nn_stage_recompute(m, st);
            if (!st->recompute && !(st->y = alloc_zero(sizeof(float) * B * ysz)))
                return NN_ERR_NOMEM;
            if (st->recompute && st->cd.c_in == 1 && st->cd.k == 3 && m->isa >= NN_ISA_AVX512) {
                if (!(st->gram = alloc_zero(sizeof(double) * B * NN_GRAM_SIZE)))
                    return NN_ERR_NOMEM;
                /* the scratch's y holds the cell sums and their accumulators (nn_stage_bwd_post) and the padded
                 * input in double (nn_stage_fwd_pre) */
                size_t need = 2 * ((size_t)(st->cd.h + 2) * st->pg.ws + 8);
                if (need < 500 * (size_t)st->cd.c_out)
                    need = 500 * (size_t)st->cd.c_out;
                if (need > m->max_y)
                    m->max_y = need;
            }
        }
        if ((st->kind == NN_S_BLOCK && st->pool) || st->kind == NN_S_POOL)
            if (!(st->arg = alloc_zero(B * st->out_size)))
                return NN_ERR_NOMEM;
        if (st->kind == NN_S_BLOCK && st->pool && !(st->yarg = alloc_zero(sizeof(float) * B * st->out_size)))
            return NN_ERR_NOMEM;
        if (st->kind == NN_S_DROP && !(st->mask = alloc_zero(sizeof(float) * B * st->out_size)))
            return NN_ERR_NOMEM;
        if (st->kind == NN_S_BLOCK || st->kind == NN_S_BN) {
            st->part = alloc_zero(sizeof(double) * B * 2 * c);
            st->mean = alloc_zero(sizeof(double) * c);
            st->invstd = alloc_zero(sizeof(double) * c);
            st->work = alloc_zero(sizeof(double) * 2 * c);
            st->scale = alloc_zero(sizeof(float) * c);
            st->shift = alloc_zero(sizeof(float) * c);
            st->coef = alloc_zero(sizeof(float) * 4 * c);
            if (!st->part || !st->mean || !st->invstd || !st->work || !st->scale || !st->shift || !st->coef)
                return NN_ERR_NOMEM;
        }
    }
    m->params = alloc_zero(sizeof(float) * m->n_params);
    m->grads = alloc_zero(sizeof(float) * m->n_params);
    m->stats = alloc_zero(sizeof(float) * m->n_stats);
    m->gsamp = alloc_zero(sizeof(float) * B * m->n_params);
    m->input = alloc_zero(sizeof(float) * B * m->in_c * m->in_h * m->in_w);
    m->dbuf[0] = alloc_zero(sizeof(float) * B * max_io);
    m->dbuf[1] = alloc_zero(sizeof(float) * B * max_io);
    m->dlogits = alloc_zero(sizeof(float) * B * m->n_classes);
    m->probs = alloc_zero(sizeof(float) * B * m->n_classes);
    if (!m->params || !m->grads || !m->stats || !m->gsamp || !m->input || !m->dbuf[0] || !m->dbuf[1] ||
        !m->dlogits || !m->probs)
        return NN_ERR_NOMEM;
    if (m->max_y == 0)
        m->max_y = 1;
    return alloc_scratch(m, 1);
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
    size_t need = bytes_for_one_sample(m);
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
    if (allocate(m) != 0)
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
    for (int i = 0; i < m->n_stages; i++) {
        nn_stage *st = &m->stages[i];
        free_zero(st->act), free_zero(st->y), free_zero(st->arg), free_zero(st->yarg), free_zero(st->mask);
        free_zero(st->part), free_zero(st->mean), free_zero(st->invstd), free_zero(st->work);
        free_zero(st->scale), free_zero(st->shift), free_zero(st->coef);
        free_zero(st->wf), free_zero(st->wt), free_zero(st->gram);
    }
    for (int t = 0; t < m->n_scratch; t++) {
        nn_scratch *s = &m->scratch[t];
        free_zero(s->conv), free_zero(s->dy), free_zero(s->ping), free_zero(s->pong), free_zero(s->y);
        free_zero(s->pad), free_zero(s->dpad);
    }
    free(m->scratch);
    free_zero(m->params), free_zero(m->grads), free_zero(m->stats), free_zero(m->gsamp), free_zero(m->input);
    free_zero(m->dbuf[0]), free_zero(m->dbuf[1]), free_zero(m->dlogits), free_zero(m->probs);
    free(m);
}

void nn_set_threads(nn_model *m, int n)
{
    if (n <= 0)
        n = omp_get_num_procs();
    if (n > 256)
        n = 256;
    /* On allocation failure the model keeps running on the threads it has scratch for. */
    alloc_scratch(m, n);
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

int nn_stage_direct(const nn_model *m, const nn_stage *st)
{
    /* The packed buffers exist only for the kernel set the model was built with; a test may lower m->isa
     * afterwards (to the im2col path), never raise it. */
    return (st->kind == NN_S_BLOCK || st->kind == NN_S_CONV) && m->isa >= NN_ISA_AVX512 && st->cd.k <= 7;
}

int nn_stage_recompute(const nn_model *m, const nn_stage *st)
{
    /* Measured on aa-cnn-s's first block (1 input channel, 3x3, 16 x 64 x 401 outputs): computing the
     * convolution twice more costs less than half of reading its 52 MB batch buffer back twice. The break-even
     * is near 40 multiply-adds per output; 27 (three 3x3 input channels) stays clear of it. Only a pooled
     * block: its backward partial sums read the conv output at each argmax (yarg), which it keeps anyway. And
     * one whose weight gradient reads the padded planes that the recomputation leaves in the scratch. */
    return st->kind == NN_S_BLOCK && st->pool && nn_stage_direct(m, st) && st->cd.c_in * st->cd.k * st->cd.k <= 27 &&
           !nn_convd_wgrad_cl(&st->cd);
}

void nn_model_pack_weights(nn_model *m, int transposed)
{
    for (int i = 0; i < m->n_stages; i++) {
        nn_stage *st = &m->stages[i];
        if (!nn_stage_direct(m, st))
            continue;
        if (transposed)
            nn_convd_pack_t(st->wt, m->params + st->w_off, &st->cd);
        else
            nn_convd_pack(st->wf, m->params + st->w_off, &st->cd);
    }
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
        double macs = 0;
        if (st->kind == NN_S_BLOCK || st->kind == NN_S_CONV)
            macs = (double)st->cd.c_out * st->cd.c_in * st->cd.k * st->cd.k * st->cd.h * st->cd.w;
        else if (st->kind == NN_S_FC)
            macs = (double)st->in_size * st->out_size;
        else
            continue;
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
