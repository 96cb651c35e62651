#include <stdarg.h>
#include <stdio.h>

#include "util/util.h"

int aa_error_set(aa_error *err, int code, const char *fmt, ...)
{
    if (err) {
        err->code = code;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

void aa_error_clear(aa_error *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = 0;
    }
}
