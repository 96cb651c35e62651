/* The table of operations: every kind of stage nn builds a network from, each defined in its own file
 * (nn/layer_<name>.c: its kernels when they are small, and its `const nn_op nn_op_<name>`; struct nn_op in
 * nn/nn_model.h says what an entry provides).
 *
 * Adding a layer: write nn/layer_<name>.c and add its line X(<name>) to NN_OPS below. Nothing else changes:
 * the architecture parser (token, syntax in messages, canonical text), the shapes, the tensors (named, shaped,
 * initialised and stored in model files as the entry says), the buffer sizes and the limit check, the training
 * and evaluation passes and the FLOP count all iterate this table. The least an entry has is a name,
 * eval and bwd_post; fwd_pre when training keeps something for the backward pass; layout when it changes the shape or has parameters; buffers when it keeps
 * anything between passes; fwd_mid/bwd_mid when it reduces over the batch. Fusing entries come first: at each
 * layer they are tried before the layer's own entry. */
#include <stddef.h>

#include "nn/nn_model.h"

#define NN_OPS(X) \
    X(block)      \
    X(conv)       \
    X(bn)         \
    X(relu)       \
    X(cmn)        \
    X(pool)       \
    X(gap)        \
    X(lse)        \
    X(drop)       \
    X(fc)         \
    /* (one line per entry, each ending in a backslash) */

#define DECLARE(name) extern const nn_op nn_op_##name;
#define ENTRY(name) &nn_op_##name,
NN_OPS(DECLARE)
const nn_op *const nn_ops[] = {NN_OPS(ENTRY) NULL};
