/* Where the feature cache lives by default, and the trainer's one call: reuse the cache when it matches the
 * listing and settings, else rebuild and rewrite it. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "datasets/cache_internal.h"


/* mkdir -p for the cache folder (a missing ~/.cache on a fresh account, say). */
static int make_dirs(const char *dir, aa_error *err)
{
    char *p = strdup(dir);
    if (!p)
        return aa_error_set(err, DS_ERR_NOMEM, "out of memory");
    for (char *q = p + 1;; q++) {
        if (*q != '/' && *q != '\0')
            continue;
        char c = *q;
        *q = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            int en = errno;
            int rc = aa_error_set(err, DS_ERR_IO, "%s: cannot create cache folder (%s)", p, strerror(en));
            free(p);
            return rc;
        }
        *q = c;
        if (!c)
            break;
    }
    free(p);
    return 0;
}

/* The cache folder: $XDG_CACHE_HOME/audio-audit, else $HOME/.cache/audio-audit (XDG base directories). */
static int cache_dir(char *out, size_t cap, aa_error *err)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    int n;
    /* The specification says a relative XDG_CACHE_HOME is to be ignored. */
    if (xdg && xdg[0] == '/')
        n = snprintf(out, cap, "%s/audio-audit", xdg);
    else if (home && home[0])
        n = snprintf(out, cap, "%s/.cache/audio-audit", home);
    else
        return aa_error_set(err, DS_ERR_IO,
                            "no folder for the feature cache: set XDG_CACHE_HOME or HOME, or give a cache path");
    if (n < 0 || (size_t)n >= cap)
        return aa_error_set(err, DS_ERR_IO, "cache folder path too long");
    return 0;
}

int ds_cache_default_path(char **out, const char *data_dir, const dsp_settings *s, const ds_window_opts *w,
                          aa_error *err)
{
    *out = NULL;
    char dir[PATH_MAX];
    int rc = cache_dir(dir, sizeof dir, err);
    if (rc)
        return rc;
    char *abs = realpath(data_dir, NULL);
    if (!abs)
        return aa_error_set(err, DS_ERR_IO, "%s: cannot resolve (%s)", data_dir, strerror(errno));
    char text[DSP_SETTINGS_TEXT_MAX];
    size_t tn = dsp_settings_format(s, text, sizeof text);
    unsigned char wb[12];
    uint64_t hop_bits;
    memcpy(&hop_bits, &w->hop_seconds, sizeof hop_bits);
    aa_put_u64(wb, hop_bits);
    aa_put_u32(wb + 8, (uint32_t)w->max_per_file);
    uint64_t h = AA_FNV1A_INIT;
    h = aa_fnv1a(h, abs, strlen(abs) + 1);
    h = aa_fnv1a(h, text, tn < sizeof text ? tn : sizeof text - 1);
    h = aa_fnv1a(h, wb, sizeof wb);
    /* The folder's own name first, so a person looking in the cache folder can tell the files apart; only
     * portable file-name characters are kept. */
    const char *base = strrchr(abs, '/');
    base = base && base[1] ? base + 1 : "root";
    char name[65];
    size_t k = 0;
    for (; base[k] && k < sizeof name - 1; k++) {
        char c = base[k];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
                 c == '_';
        name[k] = ok ? c : '_';
    }
    name[k] = '\0';
    free(abs);
    size_t need = strlen(dir) + 1 + strlen(name) + 1 + 16 + sizeof ".aacache";
    char *p = malloc(need);
    if (!p)
        return aa_error_set(err, DS_ERR_NOMEM, "out of memory");
    snprintf(p, need, "%s/%s-%016llx.aacache", dir, name, (unsigned long long)h);
    *out = p;
    return 0;
}

/* Class and group indices from the listing: the cache file only has to agree on the files themselves. */
static int take_labels(ds_cache *c, const ds_list *l, aa_error *err)
{
    if (ds_cache_take_names(c, l))
        return aa_error_set(err, DS_ERR_NOMEM, "out of memory");
    for (size_t f = 0; f < c->n_files; f++) {
        c->files[f].cls = l->items[f].cls;
        c->files[f].group = l->items[f].group;
    }
    for (size_t w = 0; w < c->n_windows; w++) {
        c->windows[w].cls = c->files[c->windows[w].file].cls;
        c->windows[w].group = c->files[c->windows[w].file].group;
    }
    return 0;
}

int ds_cache_open(ds_cache **out, const ds_list *l, const dsp_settings *s, const ds_cache_opts *opts,
                  const char *path, ds_cache_info *info, aa_error *err)
{
    *out = NULL;
    double t0 = aa_now();
    ds_cache_info local;
    if (!info)
        info = &local;
    memset(info, 0, sizeof *info);
    ds_cache_opts o = ds_cache_opts_resolve(opts);
    aa_error e;
    int rc = dsp_settings_validate(s, err);
    if (rc)
        return rc;
    rc = ds_window_opts_validate(&o.win, s, err);
    if (rc)
        return rc;
    char *owned = NULL;
    if (!path) {
        if ((rc = ds_cache_default_path(&owned, l->root, s, &o.win, err)))
            return rc;
        char *slash = strrchr(owned, '/');
        *slash = '\0';
        rc = make_dirs(owned, err);
        *slash = '/';
        if (rc) {
            free(owned);
            return rc;
        }
        path = owned;
    }
    snprintf(info->path, sizeof info->path, "%s", path);

    ds_cache *c = NULL;
    struct stat st;
    if (stat(path, &st) != 0 && errno == ENOENT) {
        snprintf(info->reason, sizeof info->reason, "no cache file yet");
    } else if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        /* Never opened: a FIFO would block the read, and a device or folder is nothing to replace. */
        free(owned);
        return aa_error_set(err, DS_ERR_CACHE_FORMAT, "%s: not a feature cache (%s), so it is not overwritten",
                            path, S_ISDIR(st.st_mode) ? "a directory" : "not a regular file");
    } else {
        rc = ds_cache_read_checked(&c, path, l, s, &o.win, &e);
        /* A cache that is stale, damaged or from another version is rebuilt over; a file that does not start
         * as one is someone's data (a recording or a model given by mistake) and is left as it is. An empty
         * file holds nothing to lose. */
        if (rc == DS_ERR_CACHE_FORMAT) {
            free(owned);
            return aa_error_set(err, rc, "%s: not a feature cache (wrong magic), so it is not overwritten", path);
        }
        if (rc == DS_ERR_NOMEM) {
            free(owned);
            return aa_error_set(err, rc, "%s", e.msg);
        }
        if (!rc && (rc = take_labels(c, l, err))) {
            ds_cache_free(c);
            free(owned);
            return rc;
        }
        if (!rc) {
            info->loaded = 1;
            info->seconds = aa_now() - t0;
            free(owned);
            *out = c;
            return 0;
        }
        snprintf(info->reason, sizeof info->reason, "%s", e.msg);
        info->replaced = 1;
    }
    if ((rc = ds_cache_build(&c, l, s, &o, err))) {
        free(owned);
        return rc;
    }
    if (ds_cache_write(c, path, &e)) {
        info->write_failed = 1;
        snprintf(info->write_error, sizeof info->write_error, "%s", e.msg);
    }
    free(owned);
    info->seconds = aa_now() - t0;
    *out = c;
    return 0;
}
