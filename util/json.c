/* The one JSON writer: strings and numbers, into a buffer (the server, aa-infer's lines) or a stream (the
 * reports, aa-train's log and summary). One escaper serves both through a sink. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

typedef void (*sink)(void *to, const char *p, size_t n);

static void to_buf(void *to, const char *p, size_t n)
{
    aa_buf_add(to, p, n);
}

static void to_file(void *to, const char *p, size_t n)
{
    fwrite(p, 1, n, to);
}

static void put_str(sink put, void *to, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    if (!s) {
        put(to, "null", 4);
        return;
    }
    put(to, "\"", 1);
    /* Bytes that need no escaping go out in runs, not one call each. */
    const char *run = s;
    while (*s) {
        unsigned char c = (unsigned char)*s;
        uint32_t cp = 0;
        size_t n = aa_utf8_seq(s, &cp);
        char esc[6];
        size_t elen = 0;
        if (n == 0) {
            memcpy(esc, "\xef\xbf\xbd", 3); /* U+FFFD for a byte that is not UTF-8 */
            elen = 3;
            n = 1;
        } else if (c == '"' || c == '\\') {
            esc[0] = '\\', esc[1] = (char)c, elen = 2;
        } else if (c == '\n' || c == '\r' || c == '\t') {
            esc[0] = '\\', esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't', elen = 2;
        } else if (c < 0x20 || c == 0x7F || (cp >= 0x80 && cp <= 0x9F)) {
            /* C1 controls too: U+009B acts as ESC [ on some terminals showing the JSON */
            unsigned v = c < 0x80 ? c : (unsigned)cp;
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[v >> 4];
            esc[5] = hex[v & 15];
            elen = 6;
        }
        if (elen) {
            if (s > run)
                put(to, run, (size_t)(s - run));
            put(to, esc, elen);
            run = s + n;
        }
        s += n;
    }
    if (s > run)
        put(to, run, (size_t)(s - run));
    put(to, "\"", 1);
}

static void put_num(sink put, void *to, double v)
{
    if (!isfinite(v)) {
        put(to, "null", 4);
        return;
    }
    if (v == 0) {
        put(to, "0", 1); /* not "-0" */
        return;
    }
    char text[32];
    int n = 0;
    for (int digits = 15; digits <= 17; digits++) {
        n = snprintf(text, sizeof text, "%.*g", digits, v);
        if (strtod(text, NULL) == v)
            break; /* 17 digits always read back, so the loop ends here at the latest */
    }
    put(to, text, (size_t)n);
}

void aa_json_str(aa_buf *b, const char *s)
{
    put_str(to_buf, b, s);
}

void aa_json_num(aa_buf *b, double v)
{
    put_num(to_buf, b, v);
}

void aa_json_fstr(FILE *f, const char *s)
{
    put_str(to_file, f, s);
}

void aa_json_fnum(FILE *f, double v)
{
    put_num(to_file, f, v);
}
