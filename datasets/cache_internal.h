#ifndef AA_DS_CACHE_INTERNAL_H
#define AA_DS_CACHE_INTERNAL_H

/* Shared by datasets/cache*.c only. */

#include "datasets/datasets.h"

/* An empty cache (calloc'd) for settings s and windows w: shape fields filled, nothing else. NULL if out of
 * memory. */
ds_cache *ds_cache_alloc(const dsp_settings *s, const ds_window_opts *w);
/* Replaces c's class and group names by copies of l's. 0 or DS_ERR_NOMEM (c unchanged then). */
int ds_cache_take_names(ds_cache *c, const ds_list *l);
/* Fills first_window of each file and n_skipped from the files' window counts. */
void ds_cache_index(ds_cache *c);
/* Resolves a caller's options (NULL, or all-zero windows) to the defaults. */
ds_cache_opts ds_cache_opts_resolve(const ds_cache_opts *o);

/* ds_cache_read, and when l is non-NULL, ds_cache_check(l, s, w) between the header and the features, so a
 * stale cache is refused before its features are read. */
int ds_cache_read_checked(ds_cache **out, const char *path, const ds_list *l, const dsp_settings *s,
                          const ds_window_opts *w, aa_error *err);

#endif
