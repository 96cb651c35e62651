/* The one UTF-8 decoder: names on disk are bytes, and everything that prints or quotes them asks here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

size_t aa_utf8_seq(const char *str, uint32_t *cp)
{
    const unsigned char *s = (const unsigned char *)str;
    unsigned c = s[0];
    size_t n;
    uint32_t v, min;
    if (c < 0x80) {
        if (cp)
            *cp = c;
        return 1;
    }
    if ((c & 0xE0) == 0xC0)
        n = 2, min = 0x80, v = c & 0x1F;
    else if ((c & 0xF0) == 0xE0)
        n = 3, min = 0x800, v = c & 0x0F;
    else if ((c & 0xF8) == 0xF0)
        n = 4, min = 0x10000, v = c & 0x07;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) /* also stops at the terminating NUL */
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    if (cp)
        *cp = v;
    return n;
}

int aa_utf8_valid(const char *s)
{
    while (*s) {
        size_t n = aa_utf8_seq(s, NULL);
        if (!n)
            return 0;
        s += n;
    }
    return 1;
}

/* The bytes that stand for the sequence at s (n of them, code point cp) in printable text: the sequence
 * itself, or its escape. n == 0: a byte that is not UTF-8. Returns the escape's length written to esc
 * (at most 7 bytes and a NUL), or 0 when the sequence is printed as it is. */
static size_t escape_of(const unsigned char *s, size_t n, uint32_t cp, char esc[8])
{
    if (n == 0 || (n == 1 && (cp < 0x20 || cp == 0x7F)))
        return (size_t)snprintf(esc, 8, "\\x%02X", *s);
    /* C1 controls: a terminal may act on U+009B (CSI) as on ESC [ */
    if (cp >= 0x80 && cp <= 0x9F)
        return (size_t)snprintf(esc, 8, "\\u%04X", (unsigned)cp);
    return 0;
}

/* Escaped length of s, or 0 when nothing in it needs escaping. */
static size_t printable_len(const char *s, int *needs)
{
    size_t len = 0;
    *needs = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        uint32_t cp = 0;
        size_t n = aa_utf8_seq((const char *)p, &cp);
        char esc[8];
        size_t e = escape_of(p, n, cp, esc);
        *needs |= e != 0;
        len += e ? e : n;
        p += n ? n : 1;
    }
    return len;
}

static void printable_copy(const char *s, char *out)
{
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        uint32_t cp = 0;
        size_t n = aa_utf8_seq((const char *)p, &cp);
        char esc[8];
        size_t e = escape_of(p, n, cp, esc);
        if (e)
            memcpy(out, esc, e), out += e;
        else
            memcpy(out, p, n), out += n;
        p += n ? n : 1;
    }
    *out = 0;
}

char *aa_printable(const char *s)
{
    int needs;
    size_t len = printable_len(s, &needs);
    char *out = malloc(len + 1);
    if (out)
        printable_copy(s, out);
    return out;
}

const char *aa_printable_into(const char *s, char *buf, size_t cap)
{
    int needs;
    size_t len = printable_len(s, &needs);
    if (!needs || cap == 0)
        return s;
    if (len < cap) {
        printable_copy(s, buf);
        return buf;
    }
    char *full = aa_printable(s);
    if (!full) {
        snprintf(buf, cap, "(name not printable)");
        return buf;
    }
    /* cut where a sequence or an escape ends, and say so */
    size_t keep = cap > 4 ? cap - 4 : 0, at = 0;
    while (at < keep) {
        size_t n = full[at] != '\\'      ? aa_utf8_seq(full + at, NULL)
                   : full[at + 1] == 'x' ? 4
                   : full[at + 1] == 'u' ? 6
                                         : 1;
        if (!n || at + n > keep)
            break;
        at += n;
    }
    memcpy(buf, full, at);
    snprintf(buf + at, cap - at, "...");
    free(full);
    return buf;
}

void aa_fputs_printable(const char *s, FILE *f)
{
    int needs;
    printable_len(s, &needs);
    if (!needs) {
        fputs(s, f);
        return;
    }
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        uint32_t cp = 0;
        size_t n = aa_utf8_seq((const char *)p, &cp);
        char esc[8];
        size_t e = escape_of(p, n, cp, esc);
        if (e)
            fwrite(esc, 1, e, f);
        else
            fwrite(p, 1, n, f);
        p += n ? n : 1;
    }
}
