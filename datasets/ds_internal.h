#ifndef AA_DS_INTERNAL_H
#define AA_DS_INTERNAL_H

/* Shared by the files of datasets/ only. */

#include <stdarg.h>
#include <stddef.h>

#include "datasets/datasets.h"

/* Appends a warning to l (message printf-style). Returns 0 or DS_ERR_NOMEM. */
int ds_warn(ds_list *l, int kind, const char *path, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Fills each item's group from the manifest / regex / per-file rule and builds l->groups. */
int ds_groups_assign(ds_list *l, const ds_list_opts *o, aa_error *err);

/* A growable array of malloc'd strings. */
typedef struct {
    char **v;
    size_t n, cap;
} ds_strvec;
int ds_strvec_push(ds_strvec *s, char *owned); /* takes ownership; frees it on failure */
void ds_strvec_free(ds_strvec *s);

int ds_cmp_str(const void *a, const void *b); /* qsort comparator for char* elements, bytewise */

/* Whether a message is already in err (so a generic one should not overwrite it). */
static inline int ds_err_is_set(const aa_error *err)
{
    return err && err->code;
}

#endif
