#ifndef AA_NN_H
#define AA_NN_H

/* nn/: the convolutional network core shared by the trainer and the inference binary.
 *
 * A model is a sequence of layers described by an architecture string (see nn_model_new). Its trainable
 * parameters live in one flat block, their gradients in a block of the same layout, batch-norm running
 * statistics in a separate block that the optimizer never touches. All scratch memory is sized once, when
 * the model is built; forward and backward passes allocate nothing.
 *
 * Tensors are float32, row-major: activations [B][C][H][W], conv weights [C_out][C_in][k][k], dense weights
 * [out][in], logits [B][n_classes].
 *
 * Threading: OpenMP across the samples of a batch, with the thread count of nn_set_threads (default 1).
 * OpenBLAS itself always runs single-threaded (nn_blas_setup): every matrix product belongs to one sample
 * and runs inside one OpenMP thread. Every reduction over the batch (batch-norm statistics, weight
 * gradients) is formed from per-sample partial results summed in sample order, so results are
 * bit-identical run to run and do not depend on the thread count.
 *
 * Kernels: convolutions run as im2col + OpenBLAS sgemm; on CPUs with AVX-512 the fused blocks use direct
 * convolution kernels instead (faster there, same results within the parity tolerances). The environment
 * variable AA_NN_KERNELS=gemm keeps im2col + sgemm everywhere, =plain also avoids the AVX2 element-wise
 * kernels; it is read when a model is built. Bits are reproducible for a given kernel set and thread count.
 *
 * A model (and an optimizer) may be used by one thread at a time; two threads need two models.
 * Every function that can fail returns 0 or an nn_status code and fills an aa_error (NULL allowed). */

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

/* Error codes: NN_ERR_* in util/util.h, described by aa_strerror. */

#define NN_MAX_DIMS 4

/* ---- OpenBLAS ------------------------------------------------------------------------------------------ */

/* Runs once per process (nn_model_new calls it; call it at the start of main() if the program starts threads
 * before building a model, since it may change the environment). It sets OpenBLAS to one thread, our
 * threading policy. And it repairs a known trap: Debian's OpenBLAS picks its kernels from the CPU model when
 * it loads, and on a CPU newer than the library (0.3.21 on an Emerald Rapids Xeon, say) it falls back to
 * the SSE3 "Prescott" kernels, 4-5x slower than the AVX-512 or AVX2 kernels the CPU can run. When
 * OPENBLAS_CORETYPE is unset and such a fallback core was chosen on a CPU with AVX-512 (AVX2+FMA), this sets
 * OPENBLAS_CORETYPE=SkylakeX (Haswell) and makes OpenBLAS choose again. A user's OPENBLAS_CORETYPE always
 * wins. Thread-safe (pthread_once). */
void nn_blas_setup(void);
/* OpenBLAS's current kernel set, e.g. "SkylakeX" (runs nn_blas_setup). OpenBLAS is loaded there (dlopen,
 * see nn/gemm.c); when it cannot be (missing, or an address-space cap with no room for its buffer) the plain
 * kernels (nn_gemm_ref) stand in: the same results, much slower, and this says "none (...)". */
const char *nn_blas_core(void);
/* Why OpenBLAS is not used, or "" when it is. */
const char *nn_blas_why(void);

/* ---- architecture ----------------------------------------------------------------------------------------- */

/* The default classifier, aa-cnn-s. The name "aa-cnn-s" is accepted wherever an architecture string is. */
#define NN_ARCH_DEFAULT "c16 bn relu p2 c32 bn relu p2 c64 bn relu p2 c128 bn relu gap drop0.3 fc"
/* aa-cnn-speech: mean removal along time first, then aa-cnn-s at twice its widths; for words and short events
 * by many voices or microphones (README, "spoken digits and words": FSDD leave-one-speaker-out 0.856 against
 * aa-cnn-s's 0.704), not for steady sounds, whose spectrum cmn removes. */
#define NN_ARCH_SPEECH "cmn c32 bn relu p2 c64 bn relu p2 c128 bn relu p2 c256 bn relu gap drop0.3 fc"

/* ---- model ------------------------------------------------------------------------------------------------ */

typedef struct nn_model nn_model;

/* Limits on what one model may ask for, checked before anything is allocated, since a model file's few
 * bytes of input shape and architecture decide every buffer: the buffers for one sample (activations,
 * parameters and their gradients, one thread's scratch; training on a batch of B needs roughly B times the
 * per-sample part) and the parameter count. aa-cnn-s on a 64 x 401 log-mel takes 15 MB for one sample
 * (measured RSS; 296 MB built for training batches of 64). */
#define NN_MAX_SAMPLE_BYTES ((size_t)512 << 20)
#define NN_MAX_PARAMS (1u << 26)

/* Builds a model with the given input [in_c][in_h][in_w] (in_h, in_w >= 8) and n_classes outputs, able to
 * train on batches of up to max_batch samples (evaluation takes any number). Parameters start as
 * nn_init_he(m, 0) leaves them. A model over NN_MAX_SAMPLE_BYTES or NN_MAX_PARAMS is refused (NN_ERR_ARCH).
 *
 * Architecture: space-separated layers, e.g. NN_ARCH_DEFAULT.
 *   c<N>[b][k<K>]  convolution to N channels, K x K kernel (odd, 1..7, default 3), stride 1, zero padding
 *                  K/2 (output the size of the input); `b` adds a bias (omit it when batch-norm follows)
 *   bn             batch normalisation (eps 1e-5, running-average momentum 0.1, as PyTorch's BatchNorm2d)
 *   relu           rectified linear unit
 *   p2             2x2 max pool, stride 2 (floor: an odd last row or column is dropped)
 *   gap            global average pool: [C][H][W] -> [C]
 *   drop<P>        dropout with probability P in [0, 1) (training only; inverted scaling)
 *   fc[<N>]        dense layer to N outputs (flattening its input); plain `fc` means n_classes and must be
 *                  the last layer
 * Returns NULL on failure (err says why). Free with nn_model_free. */
nn_model *nn_model_new(const char *arch, int in_c, int in_h, int in_w, int n_classes, int max_batch,
                       aa_error *err);
void nn_model_free(nn_model *m);

/* OpenMP threads used by every call on this model (n >= 1; 0 means all available cores). Default 1. */
void nn_set_threads(nn_model *m, int n);
int nn_threads(const nn_model *m);

/* The architecture in canonical form (names expanded, e.g. "c16 bn relu p2 ... fc"). Owned by the model. */
const char *nn_model_arch(const nn_model *m);
typedef struct {
    int in_c, in_h, in_w, n_classes, max_batch;
    size_t n_params; /* trainable floats */
    size_t n_stats;  /* batch-norm running statistics, floats */
    double forward_flop; /* per sample: 2 x the multiply-adds of the convolution and dense layers */
    double train_flop;   /* per sample, forward + backward (weight and input gradients, none into the input) */
} nn_model_info;
nn_model_info nn_model_get_info(const nn_model *m);

/* He (Kaiming) normal initialisation of conv and dense weights (std = sqrt(2 / fan_in)); biases zero;
 * batch-norm scale 1, shift 0, running mean 0 and variance 1. Same seed, same weights on every machine. */
void nn_init_he(nn_model *m, uint64_t seed);

/* ---- tensors: named views of the flat blocks ----------------------------------------------------------- */

enum nn_tensor_kind { NN_TENSOR_PARAM = 0, NN_TENSOR_STAT = 1 };
typedef struct {
    char name[32];       /* "conv1.weight", "bn2.bias", "bn2.running_var", "fc1.weight", ... */
    int kind;            /* nn_tensor_kind */
    int ndim;
    int dims[NN_MAX_DIMS];
    size_t offset;       /* into nn_params / nn_grads (PARAM) or nn_stats (STAT) */
    size_t count;
} nn_tensor_info;

int nn_tensor_count(const nn_model *m);
const nn_tensor_info *nn_tensor_at(const nn_model *m, int i);
/* Index of the tensor called name, or -1. */
int nn_tensor_find(const nn_model *m, const char *name);
/* Data of tensor i (in nn_params or nn_stats); its gradient (NULL for running statistics). */
float *nn_tensor_data(nn_model *m, int i);
float *nn_tensor_grad(nn_model *m, int i);

float *nn_params(nn_model *m); /* [n_params] */
float *nn_grads(nn_model *m);  /* [n_params], written by nn_backward */
float *nn_stats(nn_model *m);  /* [n_stats] */

/* ---- training: forward, loss, backward ----------------------------------------------------------------- */

/* Training-mode forward of batch samples (1..max_batch): batch-norm uses batch statistics and updates its
 * running averages, dropout is active with masks drawn from aa_rng_seed3(seed + layer, step, sample index in
 * the batch), so they do not depend on the thread count. x: [batch][in_c][in_h][in_w], copied. */
int nn_forward_train(nn_model *m, const float *x, int batch, uint64_t seed, uint64_t step, aa_error *err);
/* Logits of the last training forward: [batch][n_classes]; valid until the next nn_forward_train. */
const float *nn_logits(const nn_model *m);

typedef struct {
    const float *class_weights; /* [n_classes], NULL: all 1 */
    float label_smoothing;      /* in [0, 1); 0: none */
} nn_loss_opts;

/* Softmax cross-entropy of the last training forward, as PyTorch's CrossEntropyLoss(weight,
 * label_smoothing, reduction="mean"): the target distribution is (1 - s) one-hot + s / n_classes, each
 * sample's term is weighted by the class weights, and the sum is divided by the sum of the weights of the
 * samples' labels. Stores the gradient of the logits for nn_backward. loss: the mean loss; probs
 * ([batch][n_classes], may be NULL): softmax probabilities. labels: [batch] in [0, n_classes). */
int nn_loss(nn_model *m, const int *labels, const nn_loss_opts *opts, float *loss, float *probs,
            aa_error *err);
/* The gradient of the loss w.r.t. the logits, [batch][n_classes]: nn_loss fills it; a caller with its own
 * loss may fill it instead (after nn_forward_train) and call nn_backward. */
float *nn_logits_grad(nn_model *m);

/* Backward pass of the last training forward: overwrites nn_grads with the gradient of the loss. */
int nn_backward(nn_model *m, aa_error *err);

/* Data-parallel training over the processes of util/dist.h. With nn_set_shard(m, total), each training batch
 * of `total` samples is shared among the processes, this one holding samples [first, first + n) of
 * nn_shard_range; nn_forward_train and nn_backward are then given those n samples only. Batch-norm
 * statistics, the loss, its logit gradient and the parameter gradient are those of the whole batch, every
 * partial sum reduced in the same order as one process reduces it, so the step gives the same bits as
 * one process training on the whole batch at any thread count. Dropout masks follow each sample's place
 * in the whole batch. total 0: one process (the default). The model's max_batch must be at least total.
 * Not for a reference model. */
int nn_set_shard(nn_model *m, int total, aa_error *err);
/* Process `rank` of `size`: its samples [*first, *first + *n) of a batch of total (n >= 1 when total >= size). */
void nn_shard_range(int total, int rank, int size, int *first, int *n);
/* Rows [n][per] of this process into all [total][per] on every process, in sample order (targets, logits). */
int nn_shard_gather_rows(nn_model *m, const float *mine, size_t per, float *all, aa_error *err);
int nn_shard_first(const nn_model *m);
int nn_shard_total(const nn_model *m); /* 0: not shared */
/* Since the model was made: wall seconds in the processes' exchanges (waiting for the others included) and
 * the bytes this process handed to them (a gather of c bytes to p processes counts c (p - 1)). */
void nn_shard_comm(const nn_model *m, double *seconds, double *bytes);

/* ---- inference ---------------------------------------------------------------------------------------------- */

/* Evaluation-mode forward (running statistics, no dropout) of any number of samples, each independent of the
 * others; batch 1 runs without any thread start-up. x: [batch][in_c][in_h][in_w]; logits:
 * [batch][n_classes]. Does not disturb the training state (a following nn_backward still works). */
int nn_forward_eval(nn_model *m, const float *x, int batch, float *logits, aa_error *err);

/* ---- optimizers ---------------------------------------------------------------------------------------------- */

typedef enum { NN_OPT_ADAM = 0, NN_OPT_ADAMW = 1, NN_OPT_SGD = 2 } nn_opt_kind;
typedef struct {
    nn_opt_kind kind;
    float lr;           /* used when nn_opt_step gets lr <= 0 */
    float beta1, beta2; /* Adam/AdamW moments: 0.9, 0.999 */
    float eps;          /* Adam/AdamW: 1e-8 */
    float momentum;     /* SGD: 0.9 (0: plain SGD) */
    int nesterov;       /* SGD: Nesterov momentum */
    /* Adam and SGD add weight_decay * w to the gradient (L2); AdamW decays w by lr * weight_decay
     * (decoupled). Applied to conv and dense weights only, never to biases or batch-norm parameters. */
    float weight_decay;
    float clip_norm;    /* > 0: gradients are scaled so that their global L2 norm is at most this */
} nn_opt_config;

/* Defaults of that kind (PyTorch's, lr 1e-3 for Adam/AdamW and 1e-2 for SGD; AdamW weight decay 1e-2). */
nn_opt_config nn_opt_defaults(nn_opt_kind kind);

typedef struct nn_optimizer nn_optimizer;
/* Optimizer state (moments) for the parameters of m; NULL on failure. Free with nn_opt_free. */
nn_optimizer *nn_opt_new(const nn_model *m, const nn_opt_config *cfg, aa_error *err);
void nn_opt_free(nn_optimizer *o);
const nn_opt_config *nn_opt_get_config(const nn_optimizer *o);
/* Steps taken so far (restored by a checkpoint). */
uint64_t nn_opt_steps(const nn_optimizer *o);

/* One update of m's parameters from nn_grads, with learning rate lr (<= 0: the configured one), so a
 * schedule can change it every step. grad_norm (may be NULL): the global gradient norm before clipping.
 * Returns NN_ERR_NUMERIC, leaving the parameters untouched, if the gradient is not finite. */
int nn_opt_step(nn_optimizer *o, nn_model *m, float lr, float *grad_norm, aa_error *err);

typedef struct {
    float loss;      /* mean loss of the batch */
    float grad_norm; /* global gradient norm before clipping */
    int correct;     /* samples whose largest logit is their label */
} nn_step_result;

/* A whole training step: nn_forward_train (dropout step = nn_opt_steps(o)), nn_loss, nn_backward,
 * nn_opt_step. probs ([batch][n_classes]) and res may be NULL. A non-finite loss returns NN_ERR_NUMERIC
 * before any parameter changes. */
int nn_train_step(nn_model *m, nn_optimizer *o, const float *x, const int *labels, int batch,
                  const nn_loss_opts *loss_opts, uint64_t seed, float lr, float *probs, nn_step_result *res,
                  aa_error *err);

/* ---- caller metadata ------------------------------------------------------------------------------------- */

/* A bag of key/value strings and named float tensors that the model file and the checkpoint carry for their
 * callers: DSP settings, class names, calibration temperature, gate thresholds, feature normalisation, a
 * self-test input and its logits, the epoch and best score of a run. Keys and names are 1..63 bytes of
 * printable ASCII; those starting with "nn." are reserved for this module. Setting an existing key
 * replaces it; entries keep the order of their first setting. */
typedef struct nn_meta nn_meta;

nn_meta *nn_meta_new(void); /* NULL when out of memory; free with nn_meta_free */
void nn_meta_free(nn_meta *meta);

int nn_meta_set_str(nn_meta *meta, const char *key, const char *value, aa_error *err);
/* The value of key, or NULL; owned by the bag, valid until that key is set again or the bag is freed. */
const char *nn_meta_get_str(const nn_meta *meta, const char *key);
/* Numbers are stored as text with enough digits to round-trip a double ("%.17g"). */
int nn_meta_set_num(nn_meta *meta, const char *key, double value, aa_error *err);
/* 0 and *value on success; NN_ERR_ARG if key is missing or not a number. */
int nn_meta_get_num(const nn_meta *meta, const char *key, double *value, aa_error *err);

/* Copies data ([dims[0]]...[dims[ndim-1]], 1 <= ndim <= NN_MAX_DIMS, every dim >= 1). */
int nn_meta_set_tensor(nn_meta *meta, const char *name, const float *data, int ndim, const int *dims,
                       aa_error *err);
/* The tensor called name, or NULL; fills *ndim and dims[NN_MAX_DIMS] (either may be NULL). */
const float *nn_meta_get_tensor(const nn_meta *meta, const char *name, int *ndim, int *dims);

/* Enumeration, in insertion order. */
int nn_meta_str_count(const nn_meta *meta);
void nn_meta_str_at(const nn_meta *meta, int i, const char **key, const char **value);
int nn_meta_tensor_count(const nn_meta *meta);
const float *nn_meta_tensor_at(const nn_meta *meta, int i, const char **name, int *ndim, int *dims);

/* ---- files -------------------------------------------------------------------------------------------------- */

/* Model file (".aam" by convention): magic, format version, size, key/value strings, named and shaped float32
 * tensors (architecture, input shape, class count, every parameter and running statistic, plus the caller's
 * metadata), CRC32. Written as util's aa_afile writes (a file atomically, a device or FIFO through, "-" to
 * standard output). meta may be NULL. */
int nn_model_save(const nn_model *m, const nn_meta *meta, const char *path, aa_error *err);
/* Builds the model stored in path, for batches up to max_batch. in_w > 0 builds it for another input width
 * (the network has no width-dependent parameters unless a dense layer flattens a map), 0 keeps the stored
 * one. *meta (when meta is not NULL) receives the caller's metadata; free it with nn_meta_free. Every read,
 * the size, magic, version, checksum, each tensor's name and shape are checked; errors name the file and
 * reason, e.g. "m.aam: truncated (expected 392560 bytes, got 1000)". NULL on failure. */
nn_model *nn_model_load(const char *path, int max_batch, int in_w, nn_meta **meta, aa_error *err);

/* Training checkpoint (its own magic): everything in the model file, plus the optimizer's configuration,
 * step count and moments, an RNG state of the caller's (the shuffling stream, say; may be NULL) and the
 * caller's metadata (epoch, best score, ...), for an exact resume. */
int nn_checkpoint_save(const char *path, const nn_model *m, const nn_optimizer *o, const aa_rng *rng,
                       const nn_meta *meta, aa_error *err);
/* Restores a checkpoint: builds *m (for max_batch) and *o, fills *rng (may be NULL) and *meta (may be NULL).
 * The caller frees all of them. Continuing from here (same data, same seed) gives the same bits as the run
 * that saved it, at any thread count. */
int nn_checkpoint_load(const char *path, int max_batch, nn_model **m, nn_optimizer **o, aa_rng *rng,
                       nn_meta **meta, aa_error *err);

#endif
