/* The public error codes: a few conditions a caller can act on (its own mistake, memory, a missing or
 * unreadable file, a bad model file, an unusable recording), translated from the project's finer codes
 * (util/util.h), whose message is passed on as it is. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dsp/dsp.h"
#include "lib/lib_internal.h"

const char *audioaudit_strerror(int code)
{
    switch (code) {
    case AUDIOAUDIT_OK: return "no error";
    case AUDIOAUDIT_ERR_ARG: return "invalid argument";
    case AUDIOAUDIT_ERR_NOMEM: return "out of memory";
    case AUDIOAUDIT_ERR_NOT_FOUND: return "no such file";
    case AUDIOAUDIT_ERR_IO: return "cannot open or read the file";
    case AUDIOAUDIT_ERR_MODEL: return "not a usable model file";
    case AUDIOAUDIT_ERR_AUDIO: return "recording not usable";
    case AUDIOAUDIT_ERR_INTERNAL: return "internal failure";
    default: return "unknown error";
    }
}

static int translate(int code, aul_context ctx)
{
    switch (code) {
    case AA_OK: return AUDIOAUDIT_OK;
    case AA_ERR_NOMEM: return AUDIOAUDIT_ERR_NOMEM;
    case AA_ERR_ARG:
    case AA_ERR_USAGE: return ctx == AUL_LOAD ? AUDIOAUDIT_ERR_MODEL : AUDIOAUDIT_ERR_ARG;
    case AA_ERR_IO:
    case DSP_ERR_IO: return AUDIOAUDIT_ERR_IO;
    case DSP_ERR_MISSING: return AUDIOAUDIT_ERR_NOT_FOUND;
    case AM_ERR_AUDIO: return AUDIOAUDIT_ERR_AUDIO;
    default: break;
    }
    if (ctx == AUL_LOAD)
        return AUDIOAUDIT_ERR_MODEL; /* a front end, network or metadata the file holds that is not usable */
    if (code >= 200 && code <= 205) /* nn/'s file and architecture codes */
        return AUDIOAUDIT_ERR_MODEL;
    if (code == AM_ERR_FORMAT || code == DSP_ERR_SETTINGS)
        return AUDIOAUDIT_ERR_MODEL;
    if (dsp_status_is_input(code))
        return AUDIOAUDIT_ERR_AUDIO;
    return AUDIOAUDIT_ERR_INTERNAL;
}

int aul_error_from(audioaudit_error *out, const aa_error *e, aul_context ctx)
{
    int code = translate(e->code, ctx);
    if (code == AUDIOAUDIT_OK) /* a failure reported without a code is still a failure */
        code = AUDIOAUDIT_ERR_INTERNAL;
    if (out) {
        out->code = code;
        snprintf(out->message, sizeof out->message, "%s", e->msg[0] ? e->msg : audioaudit_strerror(code));
    }
    return code;
}

int aul_error_set(audioaudit_error *out, int code, const char *fmt, ...)
{
    if (out) {
        va_list ap;
        va_start(ap, fmt);
        out->code = code;
        vsnprintf(out->message, sizeof out->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

void aul_error_clear(audioaudit_error *out)
{
    if (out) {
        out->code = AUDIOAUDIT_OK;
        out->message[0] = 0;
    }
}
