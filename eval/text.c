/* Text for reports: a name's width in columns and XML text (JSON is util/'s aa_json_*). */
#include <stdio.h>

#include "eval/eval_internal.h"

size_t ev_utf8_width(const char *s)
{
    size_t w = 0;
    while (*s) {
        size_t n = aa_utf8_seq(s, NULL);
        s += n ? n : 1; /* a byte that is not UTF-8 is shown as U+FFFD, one column */
        w++;
    }
    return w;
}

void ev_xml_text(FILE *out, const char *s)
{
    while (*s) {
        uint32_t cp;
        size_t n = aa_utf8_seq(s, &cp);
        if (!n) {
            fputs("\xef\xbf\xbd", out); /* U+FFFD for a byte that is not UTF-8 */
            s++;
            continue;
        }
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
            fwrite(s, 1, n, out);
        }
        s += n;
    }
}
