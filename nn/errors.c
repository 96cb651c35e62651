/* Descriptions of nn's status codes. */
#include "nn/nn.h"

const char *nn_strerror(int code)
{
    switch (code) {
    case NN_OK: return "ok";
    case NN_ERR_IO: return "input/output error";
    case NN_ERR_NOMEM: return "out of memory";
    case NN_ERR_ARG: return "invalid argument";
    case NN_ERR_ARCH: return "invalid architecture";
    case NN_ERR_FORMAT: return "not a file of the expected kind";
    case NN_ERR_VERSION: return "file format version too new";
    case NN_ERR_TRUNCATED: return "file truncated";
    case NN_ERR_CHECKSUM: return "checksum mismatch";
    case NN_ERR_MISMATCH: return "file does not match the architecture";
    case NN_ERR_NUMERIC: return "non-finite loss or gradient";
    case NN_ERR_STATE: return "call out of order";
    default: return "unknown error";
    }
}
