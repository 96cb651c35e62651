/* Byte-string helpers: names on disk are bytes, messages and reports must be printable. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/ds_internal.h"

char *ds_printable(const char *s)
{
    return aa_printable(s); /* one rule for every program's text (util) */
}

int ds_strvec_push(ds_strvec *s, char *owned)
{
    if (!owned)
        return DS_ERR_NOMEM;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        char **v = realloc(s->v, cap * sizeof *v);
        if (!v) {
            free(owned);
            return DS_ERR_NOMEM;
        }
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = owned;
    return 0;
}

void ds_strvec_free(ds_strvec *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

int ds_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

const char *ds_side_name(int side)
{
    static const char *const names[DS_N_SIDES] = {"train", "val", "test"};
    return side >= 0 && side < DS_N_SIDES ? names[side] : "none";
}
