#include "tests/util/jsonscan.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *tu_json_find(const char *s, const char *key)
{
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(s, pat);
    if (!p)
        return NULL;
    for (p += strlen(pat); *p == ' '; p++)
        ;
    return p;
}

double tu_json_num(const char *s, const char *key)
{
    const char *p = tu_json_find(s, key);
    ck_assert_msg(p != NULL, "no \"%s\" in %.200s", key, s);
    char *end;
    double v = strtod(p, &end);
    ck_assert_msg(end != p, "\"%s\" is not a number: %.40s", key, p);
    return v;
}

char *tu_json_str(const char *s, const char *key, char *out, size_t cap)
{
    const char *p = tu_json_find(s, key);
    ck_assert_msg(p != NULL, "no \"%s\" in %.200s", key, s);
    if (!strncmp(p, "null", 4))
        return NULL;
    ck_assert_msg(*p == '"', "\"%s\" is not a string: %.40s", key, p);
    size_t n = 0;
    for (p++; *p && *p != '"' && n + 1 < cap; p++) {
        if (*p == '\\' && p[1])
            p++;
        out[n++] = *p;
    }
    out[n] = '\0';
    return out;
}

/* End of the JSON value starting at p (one past it): strings, objects and arrays nest; others run to the
 * next ',' or '}'. */
static const char *value_end(const char *p)
{
    if (*p == '"') {
        for (p++; *p && *p != '"'; p++)
            if (*p == '\\' && p[1])
                p++;
        return *p ? p + 1 : p;
    }
    if (*p == '{' || *p == '[') {
        int depth = 0;
        for (; *p; p++) {
            if (*p == '"') {
                p = value_end(p) - 1;
                continue;
            }
            if (*p == '{' || *p == '[')
                depth++;
            else if ((*p == '}' || *p == ']') && --depth == 0)
                return p + 1;
        }
        return p;
    }
    while (*p && *p != ',' && *p != '}')
        p++;
    return p;
}

char *tu_json_drop(const char *s, const char *key)
{
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *k = strstr(s, pat);
    ck_assert_msg(k != NULL, "no \"%s\" in %.200s", key, s);
    const char *e = value_end(tu_json_find(k, key));
    if (*e == ',')
        e++;
    if (*e == ' ')
        e++;
    size_t n = strlen(s) - (size_t)(e - k);
    char *out = malloc(n + 1);
    ck_assert_ptr_nonnull(out);
    memcpy(out, s, (size_t)(k - s));
    strcpy(out + (k - s), e);
    return out;
}
