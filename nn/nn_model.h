#ifndef AA_NN_MODEL_H
#define AA_NN_MODEL_H

/* Private to nn/ (and its tests): the model's structures. A network is a list of layers (parsed from the
 * architecture string) run as stages; what a kind of stage is and does lives in one table entry, an nn_op,
 * defined in that stage's own file (nn/layer_*.c) and listed in nn/layers.c. The generic code (the parser in
 * nn/arch.c, the layout in nn/model.c, the buffers in nn/buffers.c, the passes in nn/train.c and nn/eval.c)
 * iterates the stages and calls their entries; it never asks which kind a stage is. */

#include <stdint.h>

#include "nn/nn.h"
#include "nn/nn_kernels.h"

typedef struct nn_op nn_op;
typedef struct nn_stage nn_stage;
typedef struct nn_mem nn_mem;

/* ---- architecture (nn/arch.c) ---------------------------------------------------------------------------- */

typedef struct {
    const nn_op *op;
    int n;    /* conv: output channels; fc: outputs (0: n_classes) */
    int k;    /* conv kernel size */
    int bias; /* conv: has a bias */
    float p;  /* dropout probability; lse: sharpness */
} nn_layer_spec;

#define NN_MAX_LAYERS 64
#define NN_ARCH_MAX 1024

/* Parses an architecture string (or "aa-cnn-s") into layers and its canonical text. NN_ERR_ARCH on a bad
 * token. Shapes are checked later, by nn_model_new. */
int nn_arch_parse(const char *arch, nn_layer_spec *layers, int *n_layers, char *canon, size_t canon_size,
                  aa_error *err);
/* For an entry's parse: the decimal integer at *p (advancing it); -1 if none or outside [lo, hi]. */
int nn_arch_int(const char **p, int lo, int hi);

/* ---- per-thread scratch ------------------------------------------------------------------------------------ */

/* Each slot is as large as the largest stage asks (nn_mem_scratch). */
typedef enum {
    NN_SC_CONV, /* the convolution kernels' scratch (nn_conv2d_scratch) */
    NN_SC_DY,   /* block backward on im2col: the gradient at the conv output, [c][h][w] */
    NN_SC_Y,    /* block: one sample's conv output (evaluation, recomputed blocks); the Gram path's sums */
    NN_SC_PAD,  /* direct convolution: padded input planes */
    NN_SC_DPAD, /* direct convolution: padded output-gradient planes */
    NN_SC_PING, /* evaluation: one sample's activations, alternately in ping and pong */
    NN_SC_PONG,
    NN_SC_COUNT
} nn_scratch_slot;

typedef union {
    struct {
        float *conv, *dy, *y, *pad, *dpad, *ping, *pong; /* in nn_scratch_slot order */
    };
    float *slot[NN_SC_COUNT];
} nn_scratch;

/* ---- the table of operations --------------------------------------------------------------------------------- */

/* One kind of stage, from its architecture token to its gradient. Methods get the model and the stage; a
 * NULL method is skipped. Per-sample methods run in parallel over the samples of a batch (one thread per
 * sample, each with its own scratch); fwd_mid and bwd_mid run once, serially, between them: every reduction
 * over the batch is formed there, in sample order, so results do not depend on the thread count. */
struct nn_op {
    const char *name;   /* in messages ("conv"), and the token itself when parse is NULL ("relu") */
    const char *syntax; /* the token's form in messages, e.g. "c<N>[b][k<K>]" (NULL: name; and no token
                         * at all for a fused stage, which has fuse instead) */
    /* token -> spec (spec zeroed, op set; 0 or -1), and back to canonical text (NULL: name) */
    int (*parse)(const char *tok, nn_layer_spec *l);
    void (*text)(const nn_layer_spec *l, char *buf, size_t n);
    /* A fused stage: how many layers from layer i it runs as one stage (0: it does not apply there). Fusing
     * entries come first in the table and are tried at each layer before the layer's own entry. */
    int (*fuse)(const nn_model *m, int i);
    int takes_vector; /* also runs on a vector (after gap or fc), not only on a feature map */
    int flattens;     /* its output is a vector */
    int head;         /* may end the network: a dense map to the classes */
    /* Shape inference: st has its layers, input shape and the input shape as output shape; this sets the
     * output shape and whatever the stage keeps of its spec, and adds its tensors (nn_add_tensor). NN_ERR_ARCH
     * on a shape it cannot take. */
    int (*layout)(nn_model *m, nn_stage *st, aa_error *err);
    /* Declares every buffer the stage uses besides act (nn_mem_*); the same calls size and allocate them. */
    void (*buffers)(nn_model *m, nn_stage *st, nn_mem *mm);
    /* Training forward of sample s: pre (in: the stage input of the sample) writes act, or, with a batch
     * reduction, what the reduction needs (NULL: eval into act, for a stage that keeps nothing for its
     * backward); mid (given: the stage has one) reduces; post finishes act. */
    void (*fwd_pre)(nn_model *m, nn_stage *st, int s, const float *in, nn_scratch *sc);
    void (*fwd_mid)(nn_model *m, nn_stage *st, int batch);
    void (*fwd_post)(nn_model *m, nn_stage *st, int s, nn_scratch *sc);
    /* Backward, in the mirror order: pre forms sample s's partials from dout (the gradient of its output),
     * mid combines them (dout, din: the whole batch's, [batch][size], for a batch-level reference), post
     * writes din (NULL for the first stage) and the sample's parameter gradients into gsamp[s]. */
    void (*bwd_pre)(nn_model *m, nn_stage *st, int s, const float *dout);
    void (*bwd_mid)(nn_model *m, nn_stage *st, int batch, const float *dout, float *din);
    void (*bwd_post)(nn_model *m, nn_stage *st, int s, const float *in, const float *dout, float *din,
                     nn_scratch *sc);
    /* Evaluation: prepare once per call (batch-norm's affine map from the running statistics), then one
     * sample: out from in. */
    void (*eval_prepare)(nn_model *m, nn_stage *st);
    void (*eval)(nn_model *m, nn_stage *st, float *out, const float *in, nn_scratch *sc);
    /* Before a pass: weights packed for the kernels (transposed: for the backward). */
    void (*pack)(nn_model *m, nn_stage *st, int transposed);
    /* Multiply-adds per sample (nn_model_get_info); NULL: none counted. */
    double (*macs)(const nn_stage *st);
};

/* The table (nn/layers.c), NULL-terminated. */
extern const nn_op *const nn_ops[];
/* Entries other code names: the fused block and the layers it fuses. */
extern const nn_op nn_op_block, nn_op_conv, nn_op_bn, nn_op_relu, nn_op_pool;

/* ---- stages -------------------------------------------------------------------------------------------------- */

/* The convolution of a conv or block stage (nn/layer_conv.c). */
typedef struct {
    nn_conv_dims cd;
    int direct;     /* built for the direct kernels (see nn_stage_direct) */
    nn_pad_geom pg; /* the padded planes of its input and output gradient */
    float *wf, *wt; /* direct: packed weights (nn_convd_pack, nn_convd_pack_t) of the last pass */
} nn_conv_part;

/* The batch normalisation of a bn or block stage (nn/layer_bn.c). */
typedef struct {
    int c;                         /* channels */
    size_t g_off, be_off;          /* params: scale and shift */
    size_t rm_off, rv_off;         /* stats: running mean and variance */
    double *part;                  /* [max_batch][2][c] per-sample partial sums */
    double *mean, *invstd;         /* [c] batch statistics of the last training forward */
    double *work;                  /* [2][c] batch sums */
    float *scale, *shift;          /* [c] the affine map of the last forward (training or eval) */
    float *coef;                   /* [4][c] backward coefficients */
} nn_bn_part;

/* A stage runs layers [layer, layer + n_layers) of the architecture. Shapes are per sample; a vector is
 * [n][1][1]. Fields past the parts belong to one kind each. */
struct nn_stage {
    const nn_op *op;
    int layer, n_layers;
    int in_c, in_h, in_w, out_c, out_h, out_w;
    size_t in_size, out_size;  /* floats per sample */
    const float *in;           /* [max_batch][in_size]: the previous stage's act, or the model's input copy */
    float *act;                /* [max_batch][out_size] output of the training forward */
    size_t w_off, b_off;       /* params: weights, bias (SIZE_MAX: none); conv, block, fc */
    nn_conv_part conv;         /* conv, block */
    nn_bn_part bn;             /* bn, block */
    int pool;                  /* block: 2x2 pool after ReLU */
    int recompute;             /* block: y is not kept but computed again when needed */
    float *y;                  /* block: [max_batch][c][h][w] conv output (before batch-norm); NULL when recomputed */
    float *yarg;               /* block with pool: [max_batch][out_size] conv output at the argmax */
    double *gram;              /* block (nn_stage_gram): [max_batch][NN_GRAM_SIZE] each sample's input sums */
    uint8_t *arg;              /* block with pool, pool: [max_batch][out_size] argmax */
    float p;                   /* dropout probability; lse: sharpness */
    int drop_index;            /* which dropout layer (seeds its stream) */
    float *mask;               /* dropout: [max_batch][out_size] */
};

/* Sample s's output of the training forward, [out_size]. */
static inline float *nn_stage_act(const nn_stage *st, int s)
{
    return st->act + (size_t)s * st->out_size;
}

/* ---- tensors --------------------------------------------------------------------------------------------------- */

/* How a tensor starts (nn_init_he) and whether weight decay applies to it. */
typedef enum {
    NN_T_WEIGHT, /* conv and dense weights: He normal (fan_in: all but the first dimension); decayed */
    NN_T_ZERO,   /* biases, batch-norm shifts, running means */
    NN_T_ONE     /* batch-norm scales, running variances */
} nn_tensor_role;

/* For an entry's layout: adds the tensor "<layer><index>.<field>" (e.g. "conv2.weight"; kind NN_TENSOR_PARAM
 * or NN_TENSOR_STAT) at the end of its block; returns its offset there. Tensors are numbered, stored and
 * initialised in the order they are added. */
size_t nn_add_tensor(nn_model *m, const char *layer, int index, const char *field, int kind, nn_tensor_role role,
                     int ndim, const int *dims);
/* 1 + the number of layers before layer i of the same kind: conv1, conv2, ..., bn1, ... */
int nn_layer_index(const nn_model *m, int i);

/* ---- buffers (nn/buffers.c) ---------------------------------------------------------------------------------- */

/* An entry's buffers method declares each buffer through these. The same declarations count the bytes (for
 * a batch of one and one thread, the plan's check against NN_MAX_SAMPLE_BYTES before anything is allocated)
 * and allocate (zeroed, 64-byte aligned; NULL while counting), so the check cannot drift from what is
 * allocated. The model frees them all. */
void *nn_mem_batch(nn_mem *mm, size_t per_sample); /* [max_batch][per_sample bytes] */
void *nn_mem_once(nn_mem *mm, size_t bytes);       /* once per model */
void nn_mem_scratch(nn_mem *mm, nn_scratch_slot slot, size_t floats); /* per thread, at least floats */

/* For the model (nn/model.c): the bytes of every buffer for one sample; every buffer and one thread's
 * scratch (NN_ERR_NOMEM); scratch for n threads (NN_ERR_NOMEM, keeping the threads it has); and freeing. */
size_t nn_buffers_one_sample(nn_model *m);
int nn_buffers_alloc(nn_model *m);
int nn_buffers_scratch(nn_model *m, int n);
void nn_buffers_free(nn_model *m);

/* ---- the model --------------------------------------------------------------------------------------------- */

struct nn_model {
    char arch[NN_ARCH_MAX];
    int in_c, in_h, in_w, n_classes, max_batch, threads;
    int reference; /* tests: every layer a stage of its own, plain reference kernels */
    int isa;       /* kernel set (NN_ISA_*): nn_cpu_isa() when built; tests may lower it */
    size_t band_floats; /* conv output per band of a recomputed block (nn/layer_block.c); tests shrink it */
    nn_layer_spec layers[NN_MAX_LAYERS];
    int n_layers;
    nn_stage stages[NN_MAX_LAYERS];
    int n_stages;
    nn_tensor_info tensors[4 * NN_MAX_LAYERS];
    uint8_t tensor_role[4 * NN_MAX_LAYERS]; /* nn_tensor_role of each */
    int n_tensors;
    size_t n_params, n_stats;
    float *params, *grads, *stats;
    float *gsamp;   /* [max_batch][n_params] per-sample gradients, summed in sample order */
    float *input;   /* [max_batch][in_size] copy of the training input */
    float *dbuf[2]; /* [max_batch][max out_size] gradient ping-pong */
    float *dlogits; /* [max_batch][n_classes] gradient of the loss w.r.t. the logits */
    float *probs;   /* [max_batch][n_classes] softmax of the last nn_loss */
    int batch;      /* of the last training forward; 0 before the first */
    int have_grad;  /* dlogits holds the gradient of a loss of that forward */
    uint64_t seed, step; /* dropout stream of the last training forward */
    /* nn_set_shard (nn/shard.c): the samples of a batch of shard_total shared among processes, this one's
     * from shard_first; 0, 0 when every sample is here */
    int shard_first, shard_total;
    float *shard_rows;   /* [max_batch][n_classes] every process's logits (or targets) of the step */
    int *shard_labels;   /* [max_batch] every process's labels */
    double shard_seconds, shard_bytes; /* nn_shard_comm */
    nn_scratch *scratch; /* [n_scratch], one per OpenMP thread */
    int n_scratch;
    size_t scratch_floats[NN_SC_COUNT]; /* each slot's size */
    void **blocks;  /* every buffer allocated, for nn_model_free */
    int n_blocks, cap_blocks;
};

/* The batch the batch statistics and the loss are over: every process's samples (shard_total) or m->batch. */
int nn_shard_batch(const nn_model *m);
/* The same during a forward, before m->batch is set: shard_total, or this process's batch. */
static inline int nn_shard_batch_of(const nn_model *m, int batch)
{
    return m->shard_total ? m->shard_total : batch;
}
/* Every process's per-sample rows [batch][per] of a stage's partial sums, gathered in place into
 * [shard_total][per] (this process's rows moved to shard_first first), so that a reduction over them runs
 * as it would in one process. */
int nn_shard_gather_parts(nn_model *m, double *part, size_t per, int batch, aa_error *err);
/* grads = the sum of every process's per-sample gradients in sample order, on every process. */
int nn_shard_reduce_grads(nn_model *m, aa_error *err);

/* Builds with options: reference != 0 gives the plain layer-by-layer model the fast one is tested against. */
nn_model *nn_model_new_ex(const char *arch, int in_c, int in_h, int in_w, int n_classes, int max_batch,
                          int reference, aa_error *err);
/* nn_model_new_ex in two steps: plan (shapes, stages, named tensors and the limits, nothing large
 * allocated), then alloc (every buffer, parameters as nn_init_he(m, 0) leaves them). A loader checks a
 * file's tensors against the plan before committing memory to it. nn_model_free takes either. */
nn_model *nn_model_plan(const char *arch, int in_c, int in_h, int in_w, int n_classes, int max_batch,
                        int reference, aa_error *err);
int nn_model_alloc(nn_model *m, aa_error *err);
/* nn_model_alloc without the initialisation: every parameter and statistic is 0, for a loader that is
 * about to overwrite them all (He's normal draws are most of a small model's load time). */
int nn_model_alloc_zero(nn_model *m, aa_error *err);
/* Thread count for parallel loops: min(m->threads, n_scratch). */
int nn_model_threads_eff(const nn_model *m);
/* Every stage's pack method (transposed: for the backward pass). */
void nn_model_pack_weights(nn_model *m, int transposed);

/* ---- parts shared by entries --------------------------------------------------------------------------------- */

/* The convolution part (nn/layer_conv.c): layout from the conv layer's spec (tensors conv<index>.*), buffers,
 * the forward of one sample (out [c_out][h][w] from in [c_in][h][w]: direct kernels with the packed weights of
 * the pass, or im2col + sgemm), the weight, bias and input gradients of one sample from the padded output
 * gradient in sc->dpad on the direct kernels, packing, multiply-adds. */
void nn_conv_part_layout(nn_model *m, nn_stage *st, const nn_layer_spec *l, int index);
void nn_conv_part_buffers(nn_stage *st, nn_mem *mm);
void nn_stage_conv_forward(const nn_model *m, const nn_stage *st, float *out, const float *in, nn_scratch *sc);
void nn_conv_part_backward_direct(const nn_stage *st, float *din, float *dwt, float *dbias, const float *in,
                                  nn_scratch *sc);
void nn_conv_part_pack(nn_model *m, nn_stage *st, int transposed);
double nn_conv_part_macs(const nn_stage *st);
/* Non-zero when stage st runs the direct convolution kernels. */
int nn_stage_direct(const nn_model *m, const nn_stage *st);

/* The batch-norm part over c channels (nn/layer_bn.c): layout (tensors bn<index>.*), buffers; after the batch
 * statistics (mean in st->bn.mean, biased variance var over n values per channel), the running averages and
 * the affine map; sample s's parameter gradients from its partial sums; the backward mid (batch sums in sample
 * order -> coefficients, hw values per channel per sample); evaluation's affine map. */
void nn_bn_part_layout(nn_model *m, nn_stage *st, int c, int index);
void nn_bn_part_buffers(nn_stage *st, nn_mem *mm);
void nn_bn_part_finish(nn_model *m, nn_stage *st, const double *var, double n);
void nn_bn_part_grads(nn_model *m, const nn_stage *st, int s, const double *sdz, const double *sdzx);
void nn_bn_part_coef(nn_model *m, nn_stage *st, int batch, int hw);
void nn_bn_part_eval_prepare(nn_model *m, nn_stage *st);

/* A recomputed pooled block with a one-channel 3x3 convolution, on AVX-512 (nn/layer_block.c): batch-norm
 * statistics and weight gradient from the input's shifted sums and Gram matrix (nn/gram.c). */
int nn_stage_gram(const nn_model *m, const nn_stage *st);

/* ---- optimizer (nn/optim.c; the checkpoint stores it) ---------------------------------------------------------- */

struct nn_optimizer {
    nn_opt_config cfg;
    uint64_t t;
    size_t n;
    float *m1;      /* Adam first moment / SGD momentum buffer: [n_params] */
    float *m2;      /* Adam second moment: [n_params] (NULL for SGD) */
    uint8_t *decay; /* [n_params] 1 where weight decay applies */
};

#endif
