/* Groups: which files must stay on one side of a split (a person, a source recording). From the manifest's
 * `group` column, else a regex on the file name, else one group per file. Sources (where a recording comes
 * from: a corpus, a game's voice pack) from the manifest's optional `source` column, else the default. */
#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "datasets/ds_internal.h"

/* Manifests are small text tables; a cap keeps a wrong --manifest (a large binary) from eating memory. */
#define MANIFEST_MAX_BYTES (256u << 20)

static char *read_text(const char *path, aa_error *err, const char *shown)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        aa_error_set(err, DS_ERR_IO, "%s: cannot open (%s)", shown, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    for (size_t got; buf && (got = fread(buf + len, 1, cap - len, f)) > 0;) {
        len += got;
        if (len > MANIFEST_MAX_BYTES) {
            free(buf);
            fclose(f);
            aa_error_set(err, DS_ERR_MANIFEST, "%s: larger than %u MiB; not a manifest", shown, MANIFEST_MAX_BYTES >> 20);
            return NULL;
        }
        if (len == cap) {
            char *nb = realloc(buf, 2 * cap + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf) {
        aa_error_set(err, DS_ERR_NOMEM, "%s: out of memory", shown);
        return NULL;
    }
    if (bad) {
        free(buf);
        aa_error_set(err, DS_ERR_IO, "%s: read error", shown);
        return NULL;
    }
    buf[len] = 0;
    return buf;
}

/* Splits line (modified in place) at tabs into at most max fields; returns the count. */
static int split_tabs(char *line, char **field, int max)
{
    int n = 0;
    for (char *p = line;; p++) {
        if (n < max)
            field[n] = p;
        n++;
        p = strchr(p, '\t');
        if (!p)
            break;
        *p = 0;
    }
    return n;
}

static void trim(char **s)
{
    while (**s == ' ')
        (*s)++;
    for (size_t n = strlen(*s); n && ((*s)[n - 1] == ' '); n--)
        (*s)[n - 1] = 0;
}

static ds_item *find_item(ds_list *l, const char *rel)
{
    size_t lo = 0, hi = l->n_items;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(l->items[mid].rel, rel);
        if (!c)
            return &l->items[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

#define MAX_COLS 256

/* Reads the manifest and gives each listed file its row's group and source (item_group[i], item_source[i],
 * malloc'd; a source only where the manifest has the column and the cell is not empty). */
/* Whether rel lies in a class folder the caller excluded ("a,b" of ds_list_opts.exclude): its row names a
 * file skipped on purpose, which the folder's own warning already says. */
static int in_excluded(const char *rel, const char *exclude)
{
    const char *slash = strchr(rel, '/');
    size_t n = slash ? (size_t)(slash - rel) : 0;
    for (const char *p = exclude; n && p && *p;) {
        while (*p == ' ')
            p++;
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len && p[len - 1] == ' ')
            len--;
        if (len == n && !strncmp(p, rel, n))
            return 1;
        p = end ? end + 1 : NULL;
    }
    return 0;
}

static int apply_manifest(ds_list *l, const char *path, char **item_group, char **item_source, const char *exclude,
                          aa_error *err)
{
    char *shown = ds_printable(path);
    if (!shown)
        return aa_error_set(err, DS_ERR_NOMEM, "out of memory");
    char *text = read_text(path, err, shown);
    if (!text) {
        free(shown);
        return err ? err->code : DS_ERR_IO;
    }
    int rc = 0, col_path = -1, col_group = -1, col_source = -1, col_fold = -1, header_seen = 0;
    size_t line_no = 0;
    char *p = text;
    if (!strncmp(p, "\xEF\xBB\xBF", 3)) /* a spreadsheet's UTF-8 byte-order mark */
        p += 3;
    while (!rc && p && *p) {
        char *line = p;
        p = strchr(p, '\n');
        if (p)
            *p++ = 0;
        line_no++;
        size_t n = strlen(line);
        if (n && line[n - 1] == '\r')
            line[--n] = 0;
        if (!n)
            continue;
        char *field[MAX_COLS];
        int nf = split_tabs(line, field, MAX_COLS);
        if (nf > MAX_COLS)
            nf = MAX_COLS;
        if (!header_seen) {
            header_seen = 1;
            for (int c = 0; c < nf; c++) {
                trim(&field[c]);
                if (!strcasecmp(field[c], "path") && col_path < 0)
                    col_path = c;
                if (!strcasecmp(field[c], "group") && col_group < 0)
                    col_group = c;
                if (!strcasecmp(field[c], "source") && col_source < 0)
                    col_source = c;
                if (!strcasecmp(field[c], "fold") && col_fold < 0)
                    col_fold = c;
            }
            if (col_path < 0 || col_group < 0)
                rc = aa_error_set(err, DS_ERR_MANIFEST,
                                  "%s: the header row (line %zu) needs tab-separated 'path' and 'group' columns%s%s",
                                  shown, line_no, col_path < 0 ? "; no 'path'" : "", col_group < 0 ? "; no 'group'" : "");
            continue;
        }
        l->stats.manifest_rows++;
        if (nf <= col_path || nf <= col_group) {
            rc = ds_warn(l, DS_WARN_MANIFEST_ROW, path, "line %zu: %d field(s), too few for path and group; ignored",
                         line_no, nf);
            l->stats.manifest_unmatched++;
            continue;
        }
        char *rel = field[col_path], *group = field[col_group];
        trim(&rel);
        trim(&group);
        while (rel[0] == '.' && rel[1] == '/')
            rel += 2;
        ds_item *it = find_item(l, rel);
        if (!it && exclude && in_excluded(rel, exclude)) {
            l->stats.manifest_unmatched++;
            continue;
        }
        if (!it) {
            char *s = ds_printable(rel);
            rc = ds_warn(l, DS_WARN_MANIFEST_ROW, path, "line %zu: '%s' is not a listed audio file; row ignored",
                         line_no, s ? s : "?");
            free(s);
            l->stats.manifest_unmatched++;
            continue;
        }
        size_t i = (size_t)(it - l->items);
        char *source = col_source >= 0 && nf > col_source ? field[col_source] : NULL;
        if (source)
            trim(&source);
        if (source && *source && !item_source[i] && !(item_source[i] = strdup(source))) {
            rc = DS_ERR_NOMEM;
            continue;
        }
        char *fold = col_fold >= 0 && nf > col_fold ? field[col_fold] : NULL;
        if (fold)
            trim(&fold);
        if (fold && *fold) {
            char *end;
            long v = strtol(fold, &end, 10);
            if (*end || v < 0 || v > DS_MAX_FOLD_LABEL) {
                char *fs = ds_printable(fold);
                rc = aa_error_set(err, DS_ERR_MANIFEST, "%s: line %zu: fold '%s' is not a whole number from 0 to %d",
                                  shown, line_no, fs ? fs : "?", DS_MAX_FOLD_LABEL);
                free(fs);
                continue;
            }
            it->fold = (int)v;
        }
        if (!*group)
            continue; /* an empty cell means "no group known": the fallback rules apply */
        if (item_group[i]) {
            char *s = ds_printable(rel);
            rc = ds_warn(l, DS_WARN_MANIFEST_DUP, path, "line %zu: second row for '%s'; ignored", line_no, s ? s : "?");
            free(s);
            continue;
        }
        if (!(item_group[i] = strdup(group)))
            rc = DS_ERR_NOMEM;
    }
    if (!rc && !header_seen)
        rc = aa_error_set(err, DS_ERR_MANIFEST, "%s: empty (a header row with 'path' and 'group' is needed)", shown);
    if (rc == DS_ERR_NOMEM && !ds_err_is_set(err))
        aa_error_set(err, rc, "%s: out of memory", shown);
    free(text);
    free(shown);
    return rc;
}

int ds_group_regex_check(const char *pattern, aa_error *err)
{
    regex_t re;
    int e = regcomp(&re, pattern, REG_EXTENDED);
    if (e) {
        char why[256];
        regerror(e, &re, why, sizeof why);
        return aa_error_set(err, DS_ERR_ARG, "group regex '%s': %s", pattern, why);
    }
    regfree(&re);
    return 0;
}

static int apply_regex(ds_list *l, const char *pattern, char **item_group, int *source, aa_error *err)
{
    regex_t re;
    int e = regcomp(&re, pattern, REG_EXTENDED);
    if (e) {
        char why[256];
        regerror(e, &re, why, sizeof why);
        return aa_error_set(err, DS_ERR_ARG, "group regex '%s': %s", pattern, why);
    }
    int rc = 0;
    for (size_t i = 0; !rc && i < l->n_items; i++) {
        if (item_group[i])
            continue;
        const char *slash = strrchr(l->items[i].rel, '/');
        const char *name = slash ? slash + 1 : l->items[i].rel;
        regmatch_t m[2];
        size_t nm = re.re_nsub >= 1 ? 2 : 1;
        regmatch_t *use = NULL;
        if (regexec(&re, name, nm, m, 0) == 0)
            use = nm == 2 && m[1].rm_so >= 0 ? &m[1] : &m[0];
        if (!use || use->rm_eo <= use->rm_so) {
            l->stats.regex_no_match++;
            continue;
        }
        if (!(item_group[i] = strndup(name + use->rm_so, (size_t)(use->rm_eo - use->rm_so))))
            rc = aa_error_set(err, DS_ERR_NOMEM, "out of memory");
        source[i] = DS_GROUP_REGEX;
    }
    regfree(&re);
    return rc;
}

/* Sorted unique names of item_name[] into *names (*count of them), and each item's index into them into
 * the size_t at byte `offset` of its ds_item (its group or its source). */
static int index_names(ds_list *l, char **item_name, char ***names, size_t *count, size_t offset)
{
    char **sorted = malloc((l->n_items ? l->n_items : 1) * sizeof *sorted);
    if (!sorted)
        return DS_ERR_NOMEM;
    memcpy(sorted, item_name, l->n_items * sizeof *sorted);
    qsort(sorted, l->n_items, sizeof *sorted, ds_cmp_str);
    size_t n = 0;
    for (size_t i = 0; i < l->n_items; i++)
        if (!n || strcmp(sorted[n - 1], sorted[i]))
            sorted[n++] = sorted[i];
    *names = calloc(n ? n : 1, sizeof **names);
    if (!*names) {
        free(sorted);
        return DS_ERR_NOMEM;
    }
    int rc = 0;
    for (size_t g = 0; g < n && !rc; g++)
        rc = ((*names)[g] = strdup(sorted[g])) ? 0 : DS_ERR_NOMEM;
    *count = n;
    for (size_t i = 0; i < l->n_items && !rc; i++) {
        char **hit = bsearch(&item_name[i], *names, n, sizeof **names, ds_cmp_str);
        size_t at = (size_t)(hit - *names);
        memcpy((char *)&l->items[i] + offset, &at, sizeof at);
    }
    free(sorted);
    return rc;
}

/* The name of DATA's folder: the last part of the path as given, or of its real path for ".", "..", or
 * "-" when there is none ("/"). Caller frees; NULL when out of memory. */
static char *folder_source(const char *root)
{
    const char *slash = strrchr(root, '/');
    const char *name = slash ? slash + 1 : root;
    if (*name && strcmp(name, ".") && strcmp(name, ".."))
        return strdup(name);
    char *real = realpath(root, NULL);
    const char *rs = real ? strrchr(real, '/') : NULL;
    char *out = strdup(rs && rs[1] ? rs + 1 : "-");
    free(real);
    return out;
}

int ds_groups_assign(ds_list *l, const ds_list_opts *o, aa_error *err)
{
    int rc = 0;
    for (size_t i = 0; i < l->n_items; i++)
        l->items[i].fold = -1;
    char *manifest = NULL;
    if (!o->manifest) {
        char *def = aa_path_join(l->root, "manifest.tsv");
        struct stat st;
        if (def && stat(def, &st) == 0 && S_ISREG(st.st_mode))
            manifest = def;
        else
            free(def);
        if (!def)
            return aa_error_set(err, DS_ERR_NOMEM, "out of memory");
    } else if (*o->manifest && !(manifest = strdup(o->manifest))) {
        return aa_error_set(err, DS_ERR_NOMEM, "out of memory");
    }
    char **item_group = calloc(l->n_items ? l->n_items : 1, sizeof *item_group);
    char **item_source = calloc(l->n_items ? l->n_items : 1, sizeof *item_source);
    int *source = calloc(l->n_items ? l->n_items : 1, sizeof *source);
    char *fallback = o->default_source ? strdup(o->default_source) : folder_source(l->root);
    if (!item_group || !item_source || !source || !fallback)
        rc = aa_error_set(err, DS_ERR_NOMEM, "out of memory");
    if (!rc && manifest) {
        rc = apply_manifest(l, manifest, item_group, item_source, o->exclude, err);
        if (rc && rc != DS_ERR_NOMEM && o->manifest_soft) {
            /* What was read of it is dropped too: a manifest is used whole or not at all. */
            rc = ds_warn(l, DS_WARN_MANIFEST_UNUSABLE, manifest, "manifest not used (%s)",
                         err ? err->msg : "unusable");
            aa_error_clear(err);
            for (size_t i = 0; i < l->n_items; i++) {
                free(item_group[i]), item_group[i] = NULL;
                free(item_source[i]), item_source[i] = NULL;
            }
            free(manifest);
            manifest = NULL;
        }
        for (size_t i = 0; i < l->n_items; i++)
            if (item_group[i])
                source[i] = DS_GROUP_MANIFEST;
    }
    if (!rc && o->group_regex)
        rc = apply_regex(l, o->group_regex, item_group, source, err);
    for (size_t i = 0; !rc && i < l->n_items; i++) {
        /* A file's own relative path is unique, so a per-file group never merges two files. */
        if (!item_group[i] && !(item_group[i] = strdup(l->items[i].rel)))
            rc = aa_error_set(err, DS_ERR_NOMEM, "out of memory");
        if (!rc)
            l->items[i].group_source = source[i];
    }
    for (size_t i = 0; !rc && i < l->n_items; i++) {
        l->stats.source_manifest += item_source[i] != NULL;
        if (!item_source[i] && !(item_source[i] = strdup(fallback)))
            rc = aa_error_set(err, DS_ERR_NOMEM, "out of memory");
    }
    if (!rc && ((rc = index_names(l, item_group, &l->groups, &l->n_groups, offsetof(ds_item, group))) ||
                (rc = index_names(l, item_source, &l->sources, &l->n_sources, offsetof(ds_item, source)))))
        aa_error_set(err, rc, "out of memory");
    for (size_t i = 0; !rc && i < l->n_items; i++) {
        l->stats.group_manifest += source[i] == DS_GROUP_MANIFEST;
        l->stats.group_regex += source[i] == DS_GROUP_REGEX;
        l->stats.group_per_file += source[i] == DS_GROUP_PER_FILE;
    }
    for (size_t i = 0; i < l->n_items; i++) {
        if (item_group)
            free(item_group[i]);
        if (item_source)
            free(item_source[i]);
    }
    free(item_group);
    free(item_source);
    free(fallback);
    free(source);
    if (!rc)
        l->manifest_path = manifest;
    else
        free(manifest);
    return rc;
}
