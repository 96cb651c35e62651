/* A strict JSON parser (RFC 8259) for tests that check what a program or report writes. */
#include "tests/util/jsonparse.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *s;
    size_t pos;
    int bad;
} jp;

static void j_ws(jp *p)
{
    while (strchr(" \t\r\n", p->s[p->pos]) && p->s[p->pos])
        p->pos++;
}

static void j_put(char **buf, size_t *len, size_t *cap, unsigned c)
{
    if (*len + 1 >= *cap) {
        *cap = *cap * 2 + 16;
        *buf = realloc(*buf, *cap);
    }
    (*buf)[(*len)++] = (char)c;
    (*buf)[*len] = 0;
}

static char *j_string(jp *p)
{
    if (p->s[p->pos] != '"') {
        p->bad = 1;
        return NULL;
    }
    p->pos++;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    j_put(&buf, &len, &cap, 0);
    len = 0;
    for (;;) {
        unsigned char c = (unsigned char)p->s[p->pos++];
        if (c == '"')
            return buf;
        if (c < 0x20) { /* includes the end of the text: raw control characters are not allowed */
            p->bad = 1;
            return buf;
        }
        if (c != '\\') {
            j_put(&buf, &len, &cap, c);
            continue;
        }
        c = (unsigned char)p->s[p->pos++];
        const char *esc = strchr("\"\\/bfnrt", c);
        if (esc && c) {
            j_put(&buf, &len, &cap, (unsigned)"\"\\/\b\f\n\r\t"[esc - "\"\\/bfnrt"]);
        } else if (c == 'u') {
            unsigned v = 0;
            for (int i = 0; i < 4; i++) {
                char h = p->s[p->pos++];
                if (!strchr("0123456789abcdefABCDEF", h) || !h) {
                    p->bad = 1;
                    return buf;
                }
                v = v * 16 + (unsigned)(h <= '9' ? h - '0' : (h | 32) - 'a' + 10);
            }
            if (v < 0x80) {
                j_put(&buf, &len, &cap, v);
            } else if (v < 0x800) {
                j_put(&buf, &len, &cap, 0xC0 | (v >> 6));
                j_put(&buf, &len, &cap, 0x80 | (v & 0x3F));
            } else {
                j_put(&buf, &len, &cap, 0xE0 | (v >> 12));
                j_put(&buf, &len, &cap, 0x80 | ((v >> 6) & 0x3F));
                j_put(&buf, &len, &cap, 0x80 | (v & 0x3F));
            }
        } else {
            p->bad = 1;
            return buf;
        }
    }
}

static void j_value(jp *p, jv *v);

static void j_members(jp *p, jv *v, int object)
{
    char close = object ? '}' : ']';
    p->pos++;
    j_ws(p);
    if (p->s[p->pos] == close) {
        p->pos++;
        return;
    }
    for (;;) {
        v->kids = realloc(v->kids, (v->n + 1) * sizeof *v->kids);
        if (object) {
            v->keys = realloc(v->keys, (v->n + 1) * sizeof *v->keys);
            j_ws(p);
            v->keys[v->n] = j_string(p);
            for (size_t i = 0; i < v->n && !p->bad; i++)
                if (v->keys[v->n] && !strcmp(v->keys[i], v->keys[v->n]))
                    p->bad = 1; /* duplicate key: stable keys must be unique */
            j_ws(p);
            if (p->s[p->pos++] != ':')
                p->bad = 1;
        }
        memset(&v->kids[v->n], 0, sizeof *v->kids);
        j_value(p, &v->kids[v->n++]);
        if (p->bad)
            return;
        j_ws(p);
        char c = p->s[p->pos++];
        if (c == close)
            return;
        if (c != ',') {
            p->bad = 1;
            return;
        }
    }
}

static void j_value(jp *p, jv *v)
{
    j_ws(p);
    const char *s = p->s + p->pos;
    if (*s == '{') {
        v->type = J_OBJ;
        j_members(p, v, 1);
    } else if (*s == '[') {
        v->type = J_ARR;
        j_members(p, v, 0);
    } else if (*s == '"') {
        v->type = J_STR;
        v->str = j_string(p);
    } else if (!strncmp(s, "null", 4)) {
        v->type = J_NULL, p->pos += 4;
    } else if (!strncmp(s, "true", 4)) {
        v->type = J_BOOL, v->num = 1, p->pos += 4;
    } else if (!strncmp(s, "false", 5)) {
        v->type = J_BOOL, p->pos += 5;
    } else {
        /* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
        size_t i = 0;
        if (s[i] == '-')
            i++;
        if (s[i] == '0')
            i++;
        else if (s[i] >= '1' && s[i] <= '9')
            while (s[i] >= '0' && s[i] <= '9')
                i++;
        else
            p->bad = 1;
        if (s[i] == '.') {
            if (!(s[++i] >= '0' && s[i] <= '9'))
                p->bad = 1;
            while (s[i] >= '0' && s[i] <= '9')
                i++;
        }
        if (s[i] == 'e' || s[i] == 'E') {
            if (s[++i] == '+' || s[i] == '-')
                i++;
            if (!(s[i] >= '0' && s[i] <= '9'))
                p->bad = 1;
            while (s[i] >= '0' && s[i] <= '9')
                i++;
        }
        v->type = J_NUM;
        v->num = strtod(s, NULL);
        p->pos += i;
    }
}

void j_free(jv *v)
{
    for (size_t i = 0; i < v->n; i++) {
        j_free(&v->kids[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->kids);
    free(v->keys);
    free(v->str);
}

/* Parses a whole document: 1 if it is exactly one valid JSON value (*v filled, caller frees), else 0. */
int j_try(const char *s, jv *v, size_t *where)
{
    jp p = {s, 0, 0};
    memset(v, 0, sizeof *v);
    j_value(&p, v);
    j_ws(&p);
    *where = p.pos;
    return !p.bad && s[p.pos] == 0;
}

jv j_parse(const char *s)
{
    jv v;
    size_t at;
    int ok = j_try(s, &v, &at);
    ck_assert_msg(ok, "invalid JSON near byte %zu: %.40s", at, s + at);
    return v;
}

const jv *j_get(const jv *o, const char *key)
{
    ck_assert_int_eq(o->type, J_OBJ);
    for (size_t i = 0; i < o->n; i++)
        if (!strcmp(o->keys[i], key))
            return &o->kids[i];
    ck_abort_msg("JSON key \"%s\" missing", key);
    return NULL;
}

int j_has(const jv *o, const char *key)
{
    for (size_t i = 0; i < o->n; i++)
        if (!strcmp(o->keys[i], key))
            return 1;
    return 0;
}

double j_num(const jv *o, const char *key)
{
    const jv *v = j_get(o, key);
    ck_assert_int_eq(v->type, J_NUM);
    return v->num;
}
