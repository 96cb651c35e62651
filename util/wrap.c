/* Help text wrapped at word boundaries: aa-train's and aa-infer's --help share one layout rule. */
#include <stdio.h>
#include <string.h>

#include "util/util.h"

int aa_wrap(FILE *to, const char *text, int col, int indent, int width)
{
    for (const char *p = text; *p;) {
        const char *sp = strchr(p, ' ');
        int len = sp ? (int)(sp - p) : (int)strlen(p);
        if (col > indent && col + 1 + len > width) {
            fprintf(to, "\n%*s", indent, "");
            col = indent;
        } else if (col > indent) {
            fputc(' ', to);
            col++;
        }
        fwrite(p, 1, (size_t)len, to);
        col += len;
        p += len;
        while (*p == ' ')
            p++;
    }
    return col;
}
