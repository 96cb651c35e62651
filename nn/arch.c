/* Architecture strings: "c16 bn relu p2 ... gap drop0.3 fc" <-> layer specs, and the canonical text that a
 * model file stores. Tokens are the table's (nn/layers.c): each entry parses and prints its own. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "nn/nn_model.h"

static const char *const PRESETS[][2] = {{"aa-cnn-s", NN_ARCH_DEFAULT}, {"aa-cnn-speech", NN_ARCH_SPEECH}};

int nn_arch_int(const char **p, int lo, int hi)
{
    if (!isdigit((unsigned char)**p))
        return -1;
    long v = 0;
    while (isdigit((unsigned char)**p)) {
        v = v * 10 + (**p - '0');
        if (v > hi)
            return -1;
        (*p)++;
    }
    return v < lo ? -1 : (int)v;
}

/* The entry whose token tok is, with its spec; -1 if none. */
static int parse_token(const char *tok, nn_layer_spec *l)
{
    for (const nn_op *const *op = nn_ops; *op; op++) {
        if ((*op)->fuse)
            continue;
        memset(l, 0, sizeof *l);
        l->op = *op;
        if ((*op)->parse ? (*op)->parse(tok, l) == 0 : strcmp(tok, (*op)->name) == 0)
            return 0;
    }
    return -1;
}

static void token_text(const nn_layer_spec *l, char *buf, size_t n)
{
    if (l->op->text)
        l->op->text(l, buf, n);
    else
        snprintf(buf, n, "%s", l->op->name);
}

/* "c<N>[b][k<K>], bn, relu, ..." for messages. */
static void syntax_list(char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (const nn_op *const *op = nn_ops; *op && len < n; op++)
        if (!(*op)->fuse)
            len += (size_t)snprintf(buf + len, n - len, "%s%s", len ? ", " : "",
                                    (*op)->syntax ? (*op)->syntax : (*op)->name);
}

int nn_arch_parse(const char *arch, nn_layer_spec *layers, int *n_layers, char *canon, size_t canon_size,
                  aa_error *err)
{
    if (!arch)
        return aa_error_set(err, NN_ERR_ARCH, "architecture: empty");
    for (size_t i = 0; i < sizeof PRESETS / sizeof PRESETS[0]; i++)
        if (strcmp(arch, PRESETS[i][0]) == 0)
            arch = PRESETS[i][1];
    /* The string may come from a damaged file and is quoted in messages, which are one printable line. */
    for (const unsigned char *q = (const unsigned char *)arch; *q; q++)
        if ((*q < 0x20 && *q != '\t') || *q > 0x7e)
            return aa_error_set(err, NN_ERR_ARCH, "architecture: byte 0x%02x at offset %zu is not printable ASCII",
                                *q, (size_t)(q - (const unsigned char *)arch));
    int n = 0;
    size_t len = 0;
    canon[0] = '\0';
    const char *p = arch;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        char tok[64];
        size_t t = 0;
        while (*p && *p != ' ' && *p != '\t') {
            if (t + 1 >= sizeof tok)
                return aa_error_set(err, NN_ERR_ARCH, "architecture: token too long near \"%.20s\"", p - t);
            tok[t++] = *p++;
        }
        tok[t] = '\0';
        if (n >= NN_MAX_LAYERS)
            return aa_error_set(err, NN_ERR_ARCH, "architecture: more than %d layers", NN_MAX_LAYERS);
        if (parse_token(tok, &layers[n]) != 0) {
            char expected[256];
            syntax_list(expected, sizeof expected);
            return aa_error_set(err, NN_ERR_ARCH, "architecture: unknown layer \"%s\" (expected %s)", tok, expected);
        }
        char txt[64];
        token_text(&layers[n], txt, sizeof txt);
        size_t tl = strlen(txt) + (n ? 1 : 0);
        if (len + tl + 1 > canon_size)
            return aa_error_set(err, NN_ERR_ARCH, "architecture: longer than %zu characters", canon_size - 1);
        snprintf(canon + len, canon_size - len, "%s%s", n ? " " : "", txt);
        len += tl;
        n++;
    }
    if (n == 0)
        return aa_error_set(err, NN_ERR_ARCH, "architecture: empty");
    *n_layers = n;
    return 0;
}
