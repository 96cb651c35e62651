/* Walks DATA into a sorted, classed list of audio files (rules in datasets.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "datasets/ds_internal.h"

/* ---- a set of (device, inode) pairs: folders and files already met ------------------------------------- */

typedef struct {
    dev_t dev;
    ino_t ino;
    int used;
} fid_slot;

typedef struct {
    fid_slot *v;
    size_t n, cap; /* cap is a power of two, kept at most half full */
} fid_set;

static size_t fid_hash(dev_t dev, ino_t ino)
{
    uint64_t h = (uint64_t)dev * 0x9E3779B97F4A7C15ULL ^ (uint64_t)ino * 0xC2B2AE3D27D4EB4FULL;
    return (size_t)(h ^ (h >> 29));
}

static void fid_put(fid_slot *v, size_t cap, dev_t dev, ino_t ino)
{
    size_t i = fid_hash(dev, ino) & (cap - 1);
    while (v[i].used)
        i = (i + 1) & (cap - 1);
    v[i] = (fid_slot){dev, ino, 1};
}

/* 1: added; 0: already there; -1: out of memory. */
static int fid_add(fid_set *s, const struct stat *st)
{
    if (s->cap) {
        for (size_t i = fid_hash(st->st_dev, st->st_ino) & (s->cap - 1); s->v[i].used; i = (i + 1) & (s->cap - 1))
            if (s->v[i].dev == st->st_dev && s->v[i].ino == st->st_ino)
                return 0;
    }
    if (2 * (s->n + 1) > s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        fid_slot *v = calloc(cap, sizeof *v);
        if (!v)
            return -1;
        for (size_t i = 0; i < s->cap; i++)
            if (s->v[i].used)
                fid_put(v, cap, s->v[i].dev, s->v[i].ino);
        free(s->v);
        s->v = v;
        s->cap = cap;
    }
    fid_put(s->v, s->cap, st->st_dev, st->st_ino);
    s->n++;
    return 1;
}

/* ---- the walk ------------------------------------------------------------------------------------------- */

typedef struct {
    ds_list *l;
    size_t cap_items;
    fid_set dirs, files;
} walker;

static int is_audio_name(const char *name)
{
    static const char *const ext[] = {".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3"};
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
        size_t e = strlen(ext[i]);
        if (n > e && strcasecmp(name + n - e, ext[i]) == 0)
            return 1;
    }
    return 0;
}

int ds_warn(ds_list *l, int kind, const char *path, const char *fmt, ...)
{
    char body[AA_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    ds_warning *w = realloc(l->warnings, (l->n_warnings + 1) * sizeof *w);
    if (!w)
        return DS_ERR_NOMEM;
    l->warnings = w;
    char *shown = ds_printable(path);
    char *p = strdup(path);
    size_t n = (shown ? strlen(shown) : 0) + strlen(body) + 3;
    char *msg = malloc(n);
    if (!shown || !p || !msg) {
        free(shown);
        free(p);
        free(msg);
        return DS_ERR_NOMEM;
    }
    snprintf(msg, n, "%s: %s", shown, body);
    free(shown);
    w[l->n_warnings++] = (ds_warning){kind, p, msg};
    return 0;
}

/* Sorted names of the visible entries of a folder into *names. A folder that cannot be read is a warning
 * (fatal only for DATA itself, which the caller checks first). */
static int read_names(ds_list *l, const char *path, ds_strvec *names)
{
    DIR *d = opendir(path);
    if (!d)
        return ds_warn(l, DS_WARN_UNREADABLE, path, "folder unreadable (%s); skipped", strerror(errno));
    int rc = 0;
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (!e) {
            if (errno)
                rc = ds_warn(l, DS_WARN_UNREADABLE, path, "folder only partly readable (%s)", strerror(errno));
            break;
        }
        if (e->d_name[0] == '.') {
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                l->stats.hidden++;
            continue;
        }
        if ((rc = ds_strvec_push(names, strdup(e->d_name))))
            break;
    }
    closedir(d);
    if (names->n)
        qsort(names->v, names->n, sizeof *names->v, ds_cmp_str);
    return rc;
}

/* stat() following symlinks; on failure a warning that says whether a symlink is to blame. 1 ok, 0 skipped,
 * negative: out of memory. */
static int stat_or_warn(ds_list *l, const char *path, struct stat *st)
{
    if (strlen(path) >= PATH_MAX)
        return ds_warn(l, DS_WARN_TOO_LONG, path, "path too long (%zu bytes, limit %d); skipped", strlen(path),
                       PATH_MAX) ? -1 : 0;
    if (stat(path, st) == 0)
        return 1;
    int e = errno;
    struct stat lst;
    const char *what = lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode) ? "broken or looping symlink" : "cannot stat";
    return ds_warn(l, DS_WARN_UNREADABLE, path, "%s (%s); skipped", what, strerror(e)) ? -1 : 0;
}

static int add_item(walker *w, const char *path, const char *rel, const struct stat *st, int cls, int side)
{
    ds_list *l = w->l;
    if (l->n_items == w->cap_items) {
        size_t cap = w->cap_items ? 2 * w->cap_items : 256;
        ds_item *v = realloc(l->items, cap * sizeof *v);
        if (!v)
            return DS_ERR_NOMEM;
        l->items = v;
        w->cap_items = cap;
    }
    ds_item it = {
        .path = strdup(path),
        .rel = strdup(rel),
        .cls = cls,
        .side = side,
        .size = (int64_t)st->st_size,
        .mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec,
    };
    if (!it.path || !it.rel) {
        free(it.path);
        free(it.rel);
        return DS_ERR_NOMEM;
    }
    l->items[l->n_items++] = it;
    return 0;
}

static int walk_dir(walker *w, const char *path, const char *rel, int cls, int side);

static int visit(walker *w, const char *path, const char *rel, const char *name, int cls, int side)
{
    ds_list *l = w->l;
    struct stat st;
    int ok = stat_or_warn(l, path, &st);
    if (ok <= 0)
        return ok < 0 ? DS_ERR_NOMEM : 0;
    if (S_ISDIR(st.st_mode)) {
        int added = fid_add(&w->dirs, &st);
        if (added < 0)
            return DS_ERR_NOMEM;
        if (!added)
            return ds_warn(l, DS_WARN_LOOP, path, "folder already visited (symlink loop or a second link to it); "
                                                  "skipped");
        return walk_dir(w, path, rel, cls, side);
    }
    if (!is_audio_name(name)) {
        l->stats.not_audio += S_ISREG(st.st_mode) != 0;
        return 0;
    }
    if (!S_ISREG(st.st_mode))
        return ds_warn(l, DS_WARN_NOT_REGULAR, path, "not a regular file (FIFO, socket or device); skipped");
    if (cls < 0)
        return ds_warn(l, DS_WARN_OUTSIDE_CLASS, path, "audio file outside any class folder; skipped");
    int added = fid_add(&w->files, &st);
    if (added < 0)
        return DS_ERR_NOMEM;
    if (!added)
        return ds_warn(l, DS_WARN_DUPLICATE, path, "same file as one already listed (another link to it); skipped");
    if (st.st_size == 0)
        return ds_warn(l, DS_WARN_EMPTY_FILE, path, "empty file (0 bytes); skipped");
    /* Opening now (not only stat) catches permission problems before a long feature extraction starts. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return ds_warn(l, DS_WARN_UNREADABLE, path, "unreadable (%s); skipped", strerror(errno));
    close(fd);
    if (!aa_utf8_valid(rel)) {
        int rc = ds_warn(l, DS_WARN_NOT_UTF8, path, "name is not valid UTF-8 (kept; shown escaped)");
        if (rc)
            return rc;
    }
    return add_item(w, path, rel, &st, cls, side);
}

static int walk_dir(walker *w, const char *path, const char *rel, int cls, int side)
{
    ds_strvec names = {0};
    int rc = read_names(w->l, path, &names);
    for (size_t i = 0; !rc && i < names.n; i++) {
        char *cpath = aa_path_join(path, names.v[i]);
        char *crel = *rel ? aa_path_join(rel, names.v[i]) : strdup(names.v[i]);
        rc = cpath && crel ? visit(w, cpath, crel, names.v[i], cls, side) : DS_ERR_NOMEM;
        free(cpath);
        free(crel);
    }
    ds_strvec_free(&names);
    return rc;
}

/* ---- layout: which folders are classes ---------------------------------------------------------------- */

typedef struct {
    int side;  /* DS_SIDE_NONE or the split folder it sits in */
    char *name;
    char *path;
    char *rel;
} class_dir;

typedef struct {
    class_dir *v;
    size_t n;
} class_dirs;

static void class_dirs_free(class_dirs *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i].name);
        free(c->v[i].path);
        free(c->v[i].rel);
    }
    free(c->v);
}

static int side_of_name(const char *name)
{
    for (int s = 0; s < DS_N_SIDES; s++)
        if (!strcmp(name, ds_side_name(s)))
            return s;
    return DS_SIDE_NONE;
}

/* Reads the folders of `path` (DATA or DATA/<side>) as class folders; audio files there are misplaced. */
static int collect_class_dirs(walker *w, const char *path, const char *rel, int side, class_dirs *out)
{
    ds_strvec names = {0};
    int rc = read_names(w->l, path, &names);
    for (size_t i = 0; !rc && i < names.n; i++) {
        const char *name = names.v[i];
        char *cpath = aa_path_join(path, name);
        if (!cpath) {
            rc = DS_ERR_NOMEM;
            break;
        }
        struct stat st;
        int ok = stat_or_warn(w->l, cpath, &st);
        if (ok < 0)
            rc = DS_ERR_NOMEM;
        else if (ok && S_ISDIR(st.st_mode)) {
            class_dir *v = realloc(out->v, (out->n + 1) * sizeof *v);
            if (!v) {
                free(cpath);
                rc = DS_ERR_NOMEM;
                break;
            }
            out->v = v;
            class_dir *c = &v[out->n++];
            *c = (class_dir){side, strdup(name), cpath, *rel ? aa_path_join(rel, name) : strdup(name)};
            cpath = NULL;
            if (!c->name || !c->rel)
                rc = DS_ERR_NOMEM;
        } else if (ok && is_audio_name(name)) {
            rc = ds_warn(w->l, DS_WARN_OUTSIDE_CLASS, cpath, "audio file outside any class folder; skipped");
        } else if (ok && S_ISREG(st.st_mode) && !(side == DS_SIDE_NONE && !strcmp(name, "manifest.tsv"))) {
            w->l->stats.not_audio++;
        }
        free(cpath);
    }
    ds_strvec_free(&names);
    return rc;
}

static int valid_class_name(const char *s)
{
    if (!*s || !aa_utf8_valid(s))
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7F)
            return 0;
    return 1;
}

/* Class order from "a,b,c" (spaces around names ignored) into *out. */
static int parse_class_list(const char *spec, ds_strvec *out, aa_error *err)
{
    const char *p = spec;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        while (n && (*p == ' ' || *p == '\t'))
            p++, n--;
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (!n)
            return aa_error_set(err, DS_ERR_ARG, "class list '%s': empty class name", spec);
        char *name = strndup(p, n);
        if (ds_strvec_push(out, name))
            return aa_error_set(err, DS_ERR_NOMEM, "class list: out of memory");
        for (size_t i = 0; i + 1 < out->n; i++)
            if (!strcmp(out->v[i], name))
                return aa_error_set(err, DS_ERR_ARG, "class list '%s': '%s' appears twice", spec, name);
        if (!end)
            return 0;
        p = end + 1;
    }
}

static int in_list(const ds_strvec *v, const char *name)
{
    for (size_t i = 0; i < v->n; i++)
        if (!strcmp(v->v[i], name))
            return 1;
    return 0;
}

/* Decides the classes (l->classes) from the folders found, the caller's list and the folders it excludes. */
static int choose_classes(ds_list *l, const class_dirs *cd, const char *spec, const ds_strvec *excluded,
                          const char *shown_root, aa_error *err)
{
    ds_strvec found = {0}, order = {0};
    int rc = 0;
    for (size_t i = 0; i < cd->n && !rc; i++) {
        if (!valid_class_name(cd->v[i].name)) {
            char *s = ds_printable(cd->v[i].path);
            rc = aa_error_set(err, DS_ERR_LAYOUT, "%s: class folder name is not printable UTF-8; rename it",
                              s ? s : "?");
            free(s);
            break;
        }
        if (!in_list(&found, cd->v[i].name) && !in_list(excluded, cd->v[i].name) &&
            ds_strvec_push(&found, strdup(cd->v[i].name)))
            rc = aa_error_set(err, DS_ERR_NOMEM, "out of memory");
    }
    if (!rc && spec) {
        rc = parse_class_list(spec, &order, err);
        for (size_t i = 0; !rc && i < order.n; i++) {
            if (!in_list(&found, order.v[i]))
                rc = aa_error_set(err, DS_ERR_LAYOUT, "%s: no folder for class '%s' (from the class list)", shown_root,
                                  order.v[i]);
        }
    } else if (!rc) {
        if (found.n)
            qsort(found.v, found.n, sizeof *found.v, ds_cmp_str);
        order = found;
        found = (ds_strvec){0};
    }
    if (!rc) {
        l->classes = order.v;
        l->n_classes = (int)order.n;
        order = (ds_strvec){0};
    }
    ds_strvec_free(&found);
    ds_strvec_free(&order);
    return rc;
}

int ds_list_class_index(const ds_list *l, const char *name)
{
    for (int k = 0; k < l->n_classes; k++)
        if (!strcmp(l->classes[k], name))
            return k;
    return -1;
}

int ds_list_source_index(const ds_list *l, const char *name)
{
    char *const *hit = l->n_sources ? bsearch(&name, l->sources, l->n_sources, sizeof *l->sources, ds_cmp_str) : NULL;
    return hit ? (int)(hit - l->sources) : -1;
}

static int cmp_item(const void *a, const void *b)
{
    return strcmp(((const ds_item *)a)->rel, ((const ds_item *)b)->rel);
}

/* Top level: decides the layout, then walks each class folder; errors for empty folders and too few classes. */
static int list_all(walker *w, const char *shown_root, const ds_list_opts *o, aa_error *err)
{
    ds_list *l = w->l;
    class_dirs top = {0}, cd = {0};
    ds_strvec excluded = {0};
    int rc = o->exclude ? parse_class_list(o->exclude, &excluded, err) : 0;
    if (!rc)
        rc = collect_class_dirs(w, l->root, "", DS_SIDE_NONE, &top);
    for (size_t i = 0; !rc && i < top.n; i++)
        l->explicit_sides |= side_of_name(top.v[i].name) != DS_SIDE_NONE;
    if (!rc && l->explicit_sides) {
        for (size_t i = 0; !rc && i < top.n; i++)
            if (side_of_name(top.v[i].name) == DS_SIDE_NONE)
                rc = aa_error_set(err, DS_ERR_LAYOUT,
                                  "%s: split folders (train/val/test) beside other folders ('%s'); use either "
                                  "DATA/<class>/ or DATA/{train,val,test}/<class>/",
                                  shown_root, top.v[i].name);
        for (size_t i = 0; !rc && i < top.n; i++)
            rc = collect_class_dirs(w, top.v[i].path, top.v[i].rel, side_of_name(top.v[i].name), &cd);
    } else if (!rc) {
        cd = top;
        top = (class_dirs){0};
    }
    if (rc == DS_ERR_NOMEM && !ds_err_is_set(err))
        aa_error_set(err, rc, "%s: out of memory", shown_root);
    if (!rc)
        rc = choose_classes(l, &cd, o->classes, &excluded, shown_root, err);
    if (!rc && l->n_classes == 0)
        rc = aa_error_set(err, DS_ERR_LAYOUT, "%s: no class folders (expected %s/<class>/ holding audio files)",
                          shown_root, shown_root);

    /* Every class folder is marked visited before any is walked, so that a link from one class folder into
     * another is skipped as a second visit instead of filing the other class's recordings under this one. */
    int *cls_of = calloc(cd.n ? cd.n : 1, sizeof *cls_of);
    if (!rc && !cls_of)
        rc = DS_ERR_NOMEM;
    for (size_t i = 0; !rc && i < top.n; i++) {
        struct stat st;
        if (stat(top.v[i].path, &st) == 0 && fid_add(&w->dirs, &st) < 0)
            rc = DS_ERR_NOMEM;
    }
    for (size_t i = 0; !rc && i < cd.n; i++) {
        class_dir *c = &cd.v[i];
        cls_of[i] = ds_list_class_index(l, c->name);
        struct stat st;
        int added;
        if (cls_of[i] < 0 && in_list(&excluded, c->name))
            rc = ds_warn(l, DS_WARN_EXCLUDED_CLASS, c->path, "class folder skipped (%s)",
                         o->exclude_why ? o->exclude_why : "excluded");
        else if (cls_of[i] < 0)
            rc = ds_warn(l, DS_WARN_UNLISTED_CLASS, c->path, "class folder not in the class list; skipped");
        else if (stat(c->path, &st) != 0)
            cls_of[i] = -1; /* vanished since it was listed; its class may still turn out empty below */
        else if ((added = fid_add(&w->dirs, &st)) <= 0) {
            cls_of[i] = -1;
            rc = added < 0 ? DS_ERR_NOMEM
                           : ds_warn(l, DS_WARN_LOOP, c->path, "folder already visited (a second link to it); skipped");
        }
    }
    char empty[AA_ERROR_MSG_MAX] = "";
    size_t n_empty = 0;
    for (size_t i = 0; !rc && i < cd.n; i++) {
        class_dir *c = &cd.v[i];
        if (cls_of[i] < 0)
            continue;
        size_t before = l->n_items, warned = l->n_warnings;
        rc = walk_dir(w, c->path, c->rel, cls_of[i], c->side);
        if (!rc && l->n_items == before) {
            char *s = ds_printable(c->path);
            char one[600];
            snprintf(one, sizeof one, "%s%s (%s)", n_empty ? "; " : "", s ? s : "?",
                     l->n_warnings > warned ? "every file skipped, see the warnings" : "no audio files");
            if (strlen(empty) + strlen(one) < sizeof empty - 64)
                strcat(empty, one);
            free(s);
            n_empty++;
        }
    }
    free(cls_of);
    if (rc == DS_ERR_NOMEM && !ds_err_is_set(err))
        aa_error_set(err, rc, "%s: out of memory", shown_root);
    if (!rc && n_empty)
        rc = aa_error_set(err, DS_ERR_LAYOUT, "empty class folder%s: %s", n_empty > 1 ? "s" : "", empty);
    for (int k = 0; !rc && k < l->n_classes; k++) {
        size_t n = 0;
        for (size_t i = 0; i < l->n_items; i++)
            n += l->items[i].cls == k;
        if (!n) /* its folders were all skipped, e.g. as second links to another class's folder */
            rc = aa_error_set(err, DS_ERR_LAYOUT, "%s: class '%s' has no usable audio files (see the warnings)",
                              shown_root, l->classes[k]);
    }
    if (!rc && l->n_classes < (o->min_classes > 0 ? o->min_classes : 2))
        rc = aa_error_set(err, DS_ERR_LAYOUT, "%s: only one class ('%s'); at least two class folders are needed",
                          shown_root, l->classes[0]);
    /* Class folders named in the list can still all be absent from one side; the split reports that. */
    class_dirs_free(&top);
    class_dirs_free(&cd);
    ds_strvec_free(&excluded);
    return rc;
}

int ds_list_load(ds_list **out, const char *data_dir, const ds_list_opts *opts, aa_error *err)
{
    static const ds_list_opts defaults = {0};
    const ds_list_opts *o = opts ? opts : &defaults;
    *out = NULL;
    aa_error_clear(err);
    char *shown_root = ds_printable(data_dir);
    ds_list *l = calloc(1, sizeof *l);
    walker w = {.l = l};
    int rc = 0;
    if (!shown_root || !l || !(l->root = strdup(data_dir))) {
        rc = aa_error_set(err, DS_ERR_NOMEM, "out of memory");
        goto done;
    }
    /* "data/" and "data" name the same items. */
    for (size_t n = strlen(l->root); n > 1 && l->root[n - 1] == '/'; n--)
        l->root[n - 1] = 0;
    struct stat st;
    if (stat(l->root, &st) != 0) {
        rc = aa_error_set(err, DS_ERR_IO, "%s: cannot open (%s)", shown_root, strerror(errno));
        goto done;
    }
    if (!S_ISDIR(st.st_mode)) {
        rc = aa_error_set(err, DS_ERR_IO, "%s: not a folder", shown_root);
        goto done;
    }
    DIR *d = opendir(l->root);
    if (!d) {
        rc = aa_error_set(err, DS_ERR_IO, "%s: cannot read (%s)", shown_root, strerror(errno));
        goto done;
    }
    closedir(d);
    if (fid_add(&w.dirs, &st) < 0) {
        rc = aa_error_set(err, DS_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((rc = list_all(&w, shown_root, o, err)))
        goto done;
    if (l->n_items > 1)
        qsort(l->items, l->n_items, sizeof *l->items, cmp_item);
    rc = ds_groups_assign(l, o, err);
done:
    free(w.dirs.v);
    free(w.files.v);
    free(shown_root);
    if (rc) {
        if (!ds_err_is_set(err))
            aa_error_set(err, rc, "%s", aa_strerror(rc));
        ds_list_free(l);
        return rc;
    }
    *out = l;
    return 0;
}

void ds_list_free(ds_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n_items; i++) {
        free(l->items[i].path);
        free(l->items[i].rel);
    }
    free(l->items);
    for (int k = 0; k < l->n_classes; k++)
        free(l->classes[k]);
    free(l->classes);
    for (size_t g = 0; g < l->n_groups; g++)
        free(l->groups[g]);
    free(l->groups);
    for (size_t g = 0; g < l->n_sources; g++)
        free(l->sources[g]);
    free(l->sources);
    for (size_t i = 0; i < l->n_warnings; i++) {
        free(l->warnings[i].path);
        free(l->warnings[i].msg);
    }
    free(l->warnings);
    free(l->manifest_path);
    free(l->root);
    free(l);
}
