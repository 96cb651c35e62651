/* Fixed descriptions of the dsp_ status codes, and which of them blame the recording. */
#include "dsp/dsp.h"

const char *dsp_strerror(int code)
{
    switch (code) {
    case DSP_OK: return "no error";
    case DSP_ERR_MISSING: return "no such file";
    case DSP_ERR_IO: return "cannot open or read the file";
    case DSP_ERR_EMPTY: return "empty file";
    case DSP_ERR_FORMAT: return "not a readable audio file";
    case DSP_ERR_TOO_SHORT: return "too short (fewer than 2 samples)";
    case DSP_ERR_NONFINITE: return "NaN, infinite or out-of-range samples";
    case DSP_ERR_RATE: return "sample rate out of range";
    case DSP_ERR_CHANNELS: return "channel count out of range";
    case DSP_ERR_DECODE: return "decode error";
    case DSP_ERR_TOO_LONG: return "recording too long";
    case DSP_ERR_NOMEM: return "out of memory";
    case DSP_ERR_SETTINGS: return "invalid front-end settings";
    case DSP_ERR_RESAMPLE: return "resampling failed";
    case DSP_ERR_ARG: return "invalid argument";
    default: return "unknown dsp error";
    }
}

int dsp_status_is_input(int code)
{
    switch (code) {
    case DSP_ERR_MISSING:
    case DSP_ERR_IO:
    case DSP_ERR_EMPTY:
    case DSP_ERR_FORMAT:
    case DSP_ERR_TOO_SHORT:
    case DSP_ERR_NONFINITE:
    case DSP_ERR_RATE:
    case DSP_ERR_CHANNELS:
    case DSP_ERR_DECODE:
    case DSP_ERR_TOO_LONG:
    case DSP_ERR_RESAMPLE: return 1;
    default: return 0;
    }
}
