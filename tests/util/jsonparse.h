#ifndef AA_TESTS_JSONPARSE_H
#define AA_TESTS_JSONPARSE_H

/* A strict JSON parser (RFC 8259): a document is accepted only if it is exactly one valid value (no
 * trailing commas, NaN, leading zeros, raw control characters or duplicate keys), so that a test can show
 * a writer's output is JSON any reader takes. Values are a tree the caller frees with j_free. */

#include <stddef.h>

typedef enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } jtype;
typedef struct jv {
    jtype type;
    double num;
    char *str;       /* J_STR: decoded UTF-8 */
    size_t n;        /* J_ARR / J_OBJ: members */
    struct jv *kids; /* [n] */
    char **keys;     /* J_OBJ: [n] */
} jv;

/* Parses a whole document: 1 if it is exactly one valid JSON value (*v filled, caller frees), else 0 with
 * *where the byte it stopped at (*v may be partly filled: free it too). */
int j_try(const char *s, jv *v, size_t *where);
/* The same, failing the test (with where it stopped) unless s is valid. */
jv j_parse(const char *s);
void j_free(jv *v);
/* The member key of object o; fails the test when o is not an object or has no such member. */
const jv *j_get(const jv *o, const char *key);
int j_has(const jv *o, const char *key);
/* The number at key; fails the test unless it is one. */
double j_num(const jv *o, const char *key);

#endif
