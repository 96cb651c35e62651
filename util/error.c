#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/util.h"

/* Messages read "PATH: reason". A path too long for the buffer would push the reason out, so an overlong
 * message keeps its start and its end with "..." between them. */
#define LONG_MSG 16384

int aa_error_set(aa_error *err, int code, const char *fmt, ...)
{
    if (err) {
        err->code = code;
        va_list ap, again;
        va_start(ap, fmt);
        va_copy(again, ap);
        int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        if (n >= (int)sizeof err->msg) {
            char full[LONG_MSG];
            int m = vsnprintf(full, sizeof full, fmt, again);
            size_t len = m < (int)sizeof full ? (size_t)m : sizeof full - 1;
            const size_t head = sizeof err->msg / 4, tail = sizeof err->msg - head - 4;
            memcpy(err->msg, full, head);
            memcpy(err->msg + head, "...", 3);
            memcpy(err->msg + head + 3, full + len - tail, tail);
            err->msg[sizeof err->msg - 1] = 0;
        }
        va_end(again);
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

const char *aa_strerror(int code)
{
    /* A switch rather than a table: two codes with one value would not compile. */
    switch (code) {
    case AA_OK: return "ok";
#define AA_ERROR_CASE_(name, value, text) case name: return text;
        AA_ERRORS_ALL(AA_ERROR_CASE_)
#undef AA_ERROR_CASE_
    default: return "unknown error";
    }
}
