#ifndef AA_NN_FILE_H
#define AA_NN_FILE_H

/* Private to nn/ (and its tests): the file container that model files and checkpoints share (nn/file.c:
 * magic, version, strings, tensors, CRC32), the module's own meta entries, and a model <-> its entries. */

#include "nn/nn.h"

#define NN_MAGIC_LEN 8
extern const char nn_magic_model[NN_MAGIC_LEN];
extern const char nn_magic_checkpoint[NN_MAGIC_LEN];
#define NN_FILE_VERSION 1
/* The largest files the reader takes and the writer writes. A network holds at most NN_MAX_PARAMS (2^26)
 * float parameters, 256 MiB: a model file (parameters, batch-norm statistics, self-test, metadata) stays
 * under twice that, a checkpoint (parameters, two Adam moments, the moving average, statistics) under eight
 * times. aa-cnn-s, the largest preset, makes a 0.5 MB model and a 2 MB checkpoint, so the bounds only
 * stop files that could never load (a 4 GB file, /dev/zero) before they are read. */
#define NN_MAX_MODEL_FILE ((uint64_t)512 << 20)
#define NN_MAX_CHECKPOINT_FILE ((uint64_t)2 << 30)

/* Writes every entry of meta under the given magic (aa_write_output: a file atomically). */
int nn_file_write(const char *path, const char magic[NN_MAGIC_LEN], const nn_meta *meta, aa_error *err);
/* Reads and checks a whole file; *out receives its entries. what: "model file" or "checkpoint" for messages. */
int nn_file_read(const char *path, const char magic[NN_MAGIC_LEN], const char *what, nn_meta **out,
                 aa_error *err);

/* Meta entries without the "nn." reservation check (the module's own keys). */
int nn_meta_put_str(nn_meta *meta, const char *key, const char *value, aa_error *err);
int nn_meta_put_tensor(nn_meta *meta, const char *name, const float *data, int ndim, const int *dims,
                       aa_error *err);
/* Copies every entry of src not starting with "nn." into dst. */
int nn_meta_copy_user(nn_meta *dst, const nn_meta *src, aa_error *err);

/* Model parameters and statistics <-> meta entries "nn.param.<name>" (shared by model file and checkpoint). */
int nn_model_to_meta(const nn_model *m, nn_meta *meta, aa_error *err);
nn_model *nn_model_from_meta(const nn_meta *meta, const char *path, int max_batch, int in_w, aa_error *err);

#endif
