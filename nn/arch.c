/* Architecture strings: "c16 bn relu p2 ... gap drop0.3 fc" <-> layer specs, and the canonical text that a
 * model file stores. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_internal.h"

static const char *const PRESETS[][2] = {{"aa-cnn-s", NN_ARCH_DEFAULT}};

/* Parses a decimal integer at *p (advancing it); -1 if none or out of range [lo, hi]. */
static int parse_int(const char **p, int lo, int hi)
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

static int parse_token(const char *tok, nn_layer_spec *l)
{
    memset(l, 0, sizeof *l);
    const char *p = tok;
    if (strcmp(tok, "bn") == 0) {
        l->kind = NN_L_BN;
        return 0;
    }
    if (strcmp(tok, "relu") == 0) {
        l->kind = NN_L_RELU;
        return 0;
    }
    if (strcmp(tok, "p2") == 0) {
        l->kind = NN_L_POOL;
        return 0;
    }
    if (strcmp(tok, "gap") == 0) {
        l->kind = NN_L_GAP;
        return 0;
    }
    if (strncmp(tok, "drop", 4) == 0) {
        char *end;
        errno = 0;
        double v = strtod(tok + 4, &end);
        if (tok[4] == '\0' || *end || errno || !(v >= 0 && v < 1))
            return -1;
        l->kind = NN_L_DROP;
        l->p = (float)v;
        return 0;
    }
    if (strncmp(tok, "fc", 2) == 0) {
        p = tok + 2;
        l->kind = NN_L_FC;
        if (*p == '\0')
            return 0; /* n = 0: n_classes */
        l->n = parse_int(&p, 1, 1 << 20);
        return l->n > 0 && *p == '\0' ? 0 : -1;
    }
    if (tok[0] == 'c') {
        p = tok + 1;
        l->kind = NN_L_CONV;
        l->k = 3;
        if ((l->n = parse_int(&p, 1, 1 << 16)) < 0)
            return -1;
        int seen_b = 0, seen_k = 0;
        while (*p) {
            if (*p == 'b' && !seen_b) {
                l->bias = seen_b = 1;
                p++;
            } else if (*p == 'k' && !seen_k) {
                p++;
                l->k = parse_int(&p, 1, 7);
                if (l->k < 0 || l->k % 2 == 0)
                    return -1;
                seen_k = 1;
            } else {
                return -1;
            }
        }
        return 0;
    }
    return -1;
}

static void token_text(const nn_layer_spec *l, char *buf, size_t n)
{
    switch (l->kind) {
    case NN_L_CONV:
        snprintf(buf, n, "c%d%s", l->n, l->bias ? "b" : "");
        if (l->k != 3)
            snprintf(buf + strlen(buf), n - strlen(buf), "k%d", l->k);
        break;
    case NN_L_BN: snprintf(buf, n, "bn"); break;
    case NN_L_RELU: snprintf(buf, n, "relu"); break;
    case NN_L_POOL: snprintf(buf, n, "p2"); break;
    case NN_L_GAP: snprintf(buf, n, "gap"); break;
    case NN_L_DROP: snprintf(buf, n, "drop%g", (double)l->p); break;
    case NN_L_FC:
        if (l->n)
            snprintf(buf, n, "fc%d", l->n);
        else
            snprintf(buf, n, "fc");
        break;
    }
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
        if (parse_token(tok, &layers[n]) != 0)
            return aa_error_set(err, NN_ERR_ARCH,
                                "architecture: unknown layer \"%s\" (expected c<N>[b][k<K>], bn, relu, p2, gap, "
                                "drop<P>, fc[<N>])", tok);
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
