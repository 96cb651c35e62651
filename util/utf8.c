/* The one UTF-8 decoder: names on disk are bytes, and everything that prints or quotes them asks here. */
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
