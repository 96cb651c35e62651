/* Building the feature cache: every file decoded once and kept as its signal with its windows' plan, in
 * parallel over files; and the windows' log-mels computed from those signals. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/cache_internal.h"

void ds_cache_opts_default(ds_cache_opts *o)
{
    *o = (ds_cache_opts){0};
    ds_window_opts_default(&o->win);
}

ds_cache_opts ds_cache_opts_resolve(const ds_cache_opts *o)
{
    ds_cache_opts r;
    ds_cache_opts_default(&r);
    if (o) {
        r.threads = o->threads;
        r.progress = o->progress;
        r.progress_user = o->progress_user;
        if (o->win.hop_seconds != 0 || o->win.max_per_file != 0)
            r.win = o->win;
    }
    return r;
}

ds_cache *ds_cache_alloc(const dsp_settings *s, const ds_window_opts *w)
{
    ds_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->dsp = *s;
    c->win = *w;
    c->n_mels = (size_t)s->n_mels;
    c->n_frames = dsp_clip_frames(s);
    return c;
}

static void free_names(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

static char **copy_names(char *const *v, size_t n)
{
    char **r = calloc(n ? n : 1, sizeof *r);
    for (size_t i = 0; r && i < n; i++)
        if (!(r[i] = strdup(v[i]))) {
            free_names(r, i);
            return NULL;
        }
    return r;
}

int ds_cache_take_names(ds_cache *c, const ds_list *l)
{
    char **cls = copy_names(l->classes, (size_t)l->n_classes);
    char **grp = copy_names(l->groups, l->n_groups);
    if (!cls || !grp) {
        free_names(cls, (size_t)l->n_classes);
        free_names(grp, l->n_groups);
        return DS_ERR_NOMEM;
    }
    free_names(c->classes, (size_t)c->n_classes);
    free_names(c->groups, c->n_groups);
    c->classes = cls;
    c->n_classes = l->n_classes;
    c->groups = grp;
    c->n_groups = l->n_groups;
    return 0;
}

void ds_cache_index(ds_cache *c)
{
    size_t w = 0;
    c->n_skipped = 0;
    for (size_t f = 0; f < c->n_files; f++) {
        c->files[f].first_window = w;
        w += c->files[f].n_windows;
        c->n_skipped += c->files[f].status != 0;
    }
}

void ds_cache_free(ds_cache *c)
{
    if (!c)
        return;
    for (size_t f = 0; f < c->n_files; f++) {
        free(c->files[f].rel);
        free(c->files[f].reason);
        if (c->feat)
            free(c->feat[f]);
        if (c->signal)
            free(c->signal[f]);
    }
    free(c->files);
    free(c->feat);
    free(c->signal);
    free(c->windows);
    free_names(c->classes, (size_t)c->n_classes);
    free_names(c->groups, c->n_groups);
    free(c);
}

const float *ds_cache_features(const ds_cache *c, size_t w)
{
    const ds_window *win = &c->windows[w];
    const ds_cache_file *f = &c->files[win->file];
    return c->feat[win->file] + (w - f->first_window) * c->n_mels * c->n_frames;
}

void ds_cache_file_weights(const ds_cache *c, double *w)
{
    for (size_t f = 0; f < c->n_files; f++)
        w[f] = c->files[f].n_windows ? (double)c->files[f].n_windows : 1e-6;
}

int ds_cache_side_windows(const ds_cache *c, const ds_split *sp, int side, size_t **out, size_t *n,
                          aa_error *err)
{
    *out = NULL;
    *n = 0;
    if (sp->n_items != c->n_files)
        return aa_error_set(err, DS_ERR_ARG, "split of %zu files does not match a cache of %zu files",
                            sp->n_items, c->n_files);
    size_t count = 0;
    for (size_t w = 0; w < c->n_windows; w++)
        count += sp->side[c->windows[w].file] == side;
    if (!count)
        return 0;
    size_t *v = malloc(count * sizeof *v);
    if (!v)
        return aa_error_set(err, DS_ERR_NOMEM, "out of memory listing %zu windows", count);
    size_t k = 0;
    for (size_t w = 0; w < c->n_windows; w++)
        if (sp->side[c->windows[w].file] == side)
            v[k++] = w;
    *out = v;
    *n = count;
    return 0;
}

void ds_cache_release_signal(ds_cache *c, size_t f)
{
    if (c->signal && f < c->n_files) {
        free(c->signal[f]);
        c->signal[f] = NULL;
    }
}

int ds_cache_compute_features(ds_cache *c, int threads, const unsigned char *release, aa_error *err)
{
    const size_t n = c->n_files, per = c->n_mels * c->n_frames;
    if (!c->feat && !(c->feat = calloc(n ? n : 1, sizeof *c->feat)))
        return aa_error_set(err, DS_ERR_NOMEM, "out of memory for the features of %zu files", n);
    for (size_t f = 0; f < n; f++)
        if (c->files[f].n_windows && !c->feat[f] && (!c->signal || !c->signal[f]))
            return aa_error_set(err, DS_ERR_ARG, "%s: no decoded signal to compute features from", c->files[f].rel);
    int nt = threads > 0 ? threads : omp_get_max_threads();
    aa_error e;
    dsp_logmel *lm = dsp_logmel_new(&c->dsp, nt, &e);
    if (!lm) {
        if (err)
            *err = e;
        return e.code;
    }
    int fatal = 0;
    aa_error fatal_err = {0};
#pragma omp parallel num_threads(nt)
    {
        const int t = omp_get_thread_num();
        size_t offsets[256];
#pragma omp for schedule(dynamic, 1)
        for (size_t f = 0; f < n; f++) {
            const ds_cache_file *cf = &c->files[f];
            int stop;
#pragma omp atomic read
            stop = fatal;
            if (stop || !cf->n_windows || c->feat[f])
                continue;
            aa_error fe = {0};
            float *x = malloc(cf->n_windows * per * sizeof *x);
            size_t *off = cf->n_windows <= 256 ? offsets : malloc(cf->n_windows * sizeof *off);
            int r = !x || !off ? aa_error_set(&fe, DS_ERR_NOMEM, "out of memory for %zu windows of %s", cf->n_windows,
                                              cf->rel)
                               : 0;
            for (size_t k = 0; !r && k < cf->n_windows; k++)
                off[k] = (size_t)c->windows[cf->first_window + k].offset;
            if (!r)
                r = dsp_windows_logmel(lm, t, c->signal[f], (size_t)cf->n_samples, off, cf->n_windows, x, &fe);
            if (off != offsets)
                free(off);
            if (!r && release && release[f])
                ds_cache_release_signal(c, f);
            if (r) {
                free(x);
#pragma omp critical(ds_cache_features)
                if (!fatal) {
                    fatal_err = fe;
                    fatal = r;
                }
                continue;
            }
            c->feat[f] = x;
        }
    }
    dsp_logmel_free(lm);
    if (fatal && err)
        *err = fatal_err;
    return fatal;
}

/* ---- the build ------------------------------------------------------------------------------------------ */

typedef struct {
    const ds_list *l;
    const dsp_settings *s;
    const ds_window_opts *w;
    ds_cache *c;
    uint64_t **offsets; /* [n_files] -> [n_windows of file], until the windows are assembled */
} build_ctx;

/* Decodes file i into c->signal[i] and plans its windows. An undecodable file is recorded as skipped and is
 * not an error; only what would make every later file fail too (memory) is. */
static int build_file(build_ctx *b, size_t i, aa_error *err)
{
    ds_cache_file *f = &b->c->files[i];
    dsp_audio a;
    aa_error e;
    int rc = dsp_load(b->l->items[i].path, b->s, 0, &a, &e);
    if (rc == DSP_ERR_NOMEM) {
        if (err)
            *err = e;
        return rc;
    }
    if (rc) {
        f->status = rc;
        if (!(f->reason = strdup(e.msg)))
            return aa_error_set(err, DS_ERR_NOMEM, "out of memory");
        return 0;
    }
    size_t nw = ds_window_plan(b->s, b->w, a.n, NULL, 0);
    size_t *offs = malloc(nw * sizeof *offs);
    b->offsets[i] = malloc(nw * sizeof *b->offsets[i]);
    if (!offs || !b->offsets[i]) {
        free(offs);
        dsp_audio_free(&a);
        return aa_error_set(err, DS_ERR_NOMEM, "out of memory for %zu windows of %s", nw, f->rel);
    }
    ds_window_plan(b->s, b->w, a.n, offs, nw);
    for (size_t k = 0; k < nw; k++)
        b->offsets[i][k] = offs[k];
    free(offs);
    f->n_samples = a.n;
    f->n_windows = nw;
    b->c->signal[i] = a.samples; /* the cache owns the samples from here on */
    return 0;
}

/* Files are started in decreasing size, so that the largest do not start last and leave one thread working
 * alone at the end. */
typedef struct {
    int64_t size;
    size_t i;
} size_key;

static int cmp_size_desc(const void *a, const void *b)
{
    const size_key *x = a, *y = b;
    if (x->size != y->size)
        return x->size > y->size ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

static int assemble_windows(ds_cache *c, uint64_t **offsets, aa_error *err)
{
    ds_cache_index(c);
    size_t total = 0;
    for (size_t f = 0; f < c->n_files; f++)
        total += c->files[f].n_windows;
    c->windows = calloc(total ? total : 1, sizeof *c->windows);
    if (!c->windows)
        return aa_error_set(err, DS_ERR_NOMEM, "out of memory for %zu windows", total);
    c->n_windows = total;
    for (size_t f = 0; f < c->n_files; f++)
        for (size_t k = 0; k < c->files[f].n_windows; k++)
            c->windows[c->files[f].first_window + k] =
                (ds_window){.cls = c->files[f].cls, .group = c->files[f].group, .file = f, .offset = offsets[f][k]};
    return 0;
}

int ds_cache_build(ds_cache **out, const ds_list *l, const dsp_settings *s, const ds_cache_opts *opts,
                   aa_error *err)
{
    *out = NULL;
    ds_cache_opts o = ds_cache_opts_resolve(opts);
    int rc = dsp_settings_validate(s, err);
    if (rc)
        return rc;
    if ((rc = ds_window_opts_validate(&o.win, s, err)))
        return rc;
    if (o.threads < 0)
        return aa_error_set(err, DS_ERR_ARG, "thread count %d is negative", o.threads);
    const size_t n = l->n_items;
    int nt = o.threads > 0 ? o.threads : omp_get_max_threads();
    ds_cache *c = ds_cache_alloc(s, &o.win);
    size_key *order = malloc((n ? n : 1) * sizeof *order);
    uint64_t **offsets = calloc(n ? n : 1, sizeof *offsets);
    if (!c || !order || !offsets || !(c->files = calloc(n ? n : 1, sizeof *c->files)) ||
        !(c->signal = calloc(n ? n : 1, sizeof *c->signal)) || ds_cache_take_names(c, l)) {
        rc = aa_error_set(err, DS_ERR_NOMEM, "out of memory for a cache of %zu files", n);
        goto done;
    }
    c->n_files = n;
    for (size_t i = 0; i < n; i++) {
        const ds_item *it = &l->items[i];
        c->files[i] = (ds_cache_file){.size = it->size, .mtime_ns = it->mtime_ns, .cls = it->cls, .group = it->group};
        if (!(c->files[i].rel = strdup(it->rel))) {
            rc = aa_error_set(err, DS_ERR_NOMEM, "out of memory");
            goto done;
        }
        order[i] = (size_key){.size = it->size, .i = i};
    }
    qsort(order, n, sizeof *order, cmp_size_desc);

    build_ctx b = {.l = l, .s = s, .w = &o.win, .c = c, .offsets = offsets};
    int fatal = 0;
    aa_error fatal_err = {0};
    size_t finished = 0, reported = 0;
    if (o.progress)
        o.progress(o.progress_user, 0, n);
#pragma omp parallel num_threads(nt)
    {
        const int t = omp_get_thread_num();
#pragma omp for schedule(dynamic, 1)
        for (size_t k = 0; k < n; k++) {
            int stop;
#pragma omp atomic read
            stop = fatal;
            if (stop)
                continue;
            aa_error fe = {0};
            int r = build_file(&b, order[k].i, &fe);
            if (r) {
#pragma omp critical(ds_cache_fatal)
                if (!fatal) {
                    fatal_err = fe;
                    fatal = r;
                }
            }
#pragma omp atomic update
            finished++;
            /* Only the calling thread (thread 0 of the team) reports, so the callback never runs
             * concurrently with itself and may touch the terminal or the caller's state freely. */
            if (t == 0 && o.progress) {
                size_t now;
#pragma omp atomic read
                now = finished;
                if (now > reported) {
                    o.progress(o.progress_user, now, n);
                    reported = now;
                }
            }
        }
    }
    if (fatal) {
        rc = fatal;
        if (err)
            *err = fatal_err;
        goto done;
    }
    if (o.progress && reported < n)
        o.progress(o.progress_user, n, n);
    if ((rc = assemble_windows(c, offsets, err)))
        goto done;
done:
    for (size_t i = 0; offsets && i < n; i++)
        free(offsets[i]);
    free(offsets);
    free(order);
    if (rc) {
        ds_cache_free(c);
        return rc;
    }
    *out = c;
    return 0;
}
