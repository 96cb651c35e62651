/* Text encoding for reports: UTF-8 decoding, JSON strings and numbers, XML text. */
#include <math.h>
#include <stdio.h>

#include "eval/eval_internal.h"

size_t ev_utf8_next(const char *str, uint32_t *cp)
{
    const unsigned char *s = (const unsigned char *)str;
    unsigned char c = s[0];
    size_t len;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xE0) == 0xC0) {
        len = 2, v = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3, v = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        *cp = 0xFFFD;
        return 1;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) { /* also stops at the terminating NUL */
            *cp = 0xFFFD;
            return i;
        }
        v = (v << 6) | (s[i] & 0x3F);
    }
    /* Overlong forms, surrogates and values past U+10FFFF are not valid UTF-8. */
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        v = 0xFFFD;
    *cp = v;
    return len;
}

size_t ev_utf8_width(const char *s)
{
    size_t w = 0;
    uint32_t cp;
    while (*s) {
        s += ev_utf8_next(s, &cp);
        w++;
    }
    return w;
}

void ev_put_utf8(FILE *out, uint32_t cp)
{
    if (cp < 0x80) {
        fputc((int)cp, out);
    } else if (cp < 0x800) {
        fputc((int)(0xC0 | (cp >> 6)), out);
        fputc((int)(0x80 | (cp & 0x3F)), out);
    } else if (cp < 0x10000) {
        fputc((int)(0xE0 | (cp >> 12)), out);
        fputc((int)(0x80 | ((cp >> 6) & 0x3F)), out);
        fputc((int)(0x80 | (cp & 0x3F)), out);
    } else {
        fputc((int)(0xF0 | (cp >> 18)), out);
        fputc((int)(0x80 | ((cp >> 12) & 0x3F)), out);
        fputc((int)(0x80 | ((cp >> 6) & 0x3F)), out);
        fputc((int)(0x80 | (cp & 0x3F)), out);
    }
}

void ev_json_string(FILE *out, const char *s)
{
    if (!s) {
        fputs("null", out);
        return;
    }
    fputc('"', out);
    uint32_t cp;
    while (*s) {
        s += ev_utf8_next(s, &cp);
        switch (cp) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        default:
            if (cp < 0x20 || cp == 0x7F)
                fprintf(out, "\\u%04x", (unsigned)cp);
            else
                ev_put_utf8(out, cp);
        }
    }
    fputc('"', out);
}

void ev_xml_text(FILE *out, const char *s)
{
    uint32_t cp;
    while (*s) {
        s += ev_utf8_next(s, &cp);
        switch (cp) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&apos;", out); break;
        default:
            /* XML 1.0 has no way to write other C0 controls, even as references. */
            if (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r')
                break;
            ev_put_utf8(out, cp);
        }
    }
}

void ev_json_num(FILE *out, double v)
{
    if (!isfinite(v))
        fputs("null", out);
    else if (v == 0)
        fputs("0", out); /* not "-0" */
    else
        fprintf(out, "%.12g", v);
}
