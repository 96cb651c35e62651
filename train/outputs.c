/* What a training run writes, and where it must not write. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "train/outputs.h"

char *tr_split_path(const char *model)
{
    size_t n = strlen(model) + sizeof ".split.tsv";
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s.split.tsv", model);
    return p;
}

/* The plots --svg DIR writes (tr_test_save_svg, tr_save_learning_curves). */
static const char *const SVG_FILES[] = {"confusion.svg", "reliability.svg", "coverage.svg",
                                        "confusion_windows.svg", "learning_curves.svg"};
#define N_SVG (sizeof SVG_FILES / sizeof SVG_FILES[0])

typedef struct {
    const char *what; /* the option, as the user wrote it */
    char *path;       /* malloc'd */
} place;

enum { MAX_PLACES = 16 };

typedef struct {
    place p[MAX_PLACES];
    int n;
    int oom;
} places;

static void add(places *ps, const char *what, const char *path)
{
    if (!path || ps->n >= MAX_PLACES)
        return;
    char *copy = strdup(path);
    if (!copy) {
        ps->oom = 1;
        return;
    }
    ps->p[ps->n++] = (place){what, copy};
}

static void add_joined(places *ps, const char *what, const char *dir, const char *name)
{
    char *p = aa_path_join(dir, name);
    if (!p) {
        ps->oom = 1;
        return;
    }
    add(ps, what, p);
    free(p);
}

static void places_free(places *ps)
{
    for (int i = 0; i < ps->n; i++)
        free(ps->p[i].path);
}

/* Every file the run may write. */
static void outputs_of(const tr_options *o, places *ps)
{
    add(ps, "-o", o->model_path);
    if (o->model_path && aa_output_is_file(o->model_path)) {
        char *split = tr_split_path(o->model_path);
        if (!split)
            ps->oom = 1;
        add(ps, "the split table", split);
        free(split);
    }
    add(ps, "--report-json", o->report_json);
    add(ps, "--checkpoint", o->checkpoint);
    add(ps, "--log", o->log_path);
    if (o->svg_dir) {
        add(ps, "--svg", o->svg_dir);
        for (size_t i = 0; i < N_SVG; i++)
            add_joined(ps, "the plot", o->svg_dir, SVG_FILES[i]);
    }
}

static int collision(aa_error *err, const place *a, const place *b)
{
    return aa_error_set(err, AA_ERR_USAGE, "%s %s is the same file as %s %s", b->what, b->path, a->what, a->path);
}

int tr_outputs_collide(const tr_options *o, aa_error *err)
{
    places out = {0}, in = {0};
    outputs_of(o, &out);
    /* What the run reads. --cache is read and written: no other output may be it. */
    add(&in, "--cache", o->no_cache ? NULL : o->cache_path);
    if (o->manifest && o->manifest[0]) {
        add(&in, "--manifest", o->manifest);
    } else if (!o->manifest && o->data_dir) {
        char *m = aa_path_join(o->data_dir, "manifest.tsv");
        struct stat st;
        if (!m)
            in.oom = 1;
        else if (stat(m, &st) == 0)
            add(&in, "the manifest", m);
        free(m);
    }
    add(&in, "--resume", o->resume);
    int rc = 0;
    if (out.oom || in.oom)
        rc = aa_error_set(err, AA_ERR_NOMEM, "out of memory");
    for (int i = 0; !rc && i < out.n; i++)
        for (int j = i + 1; !rc && j < out.n; j++)
            if (aa_path_same(out.p[i].path, out.p[j].path))
                rc = collision(err, &out.p[i], &out.p[j]);
    for (int i = 0; !rc && i < in.n; i++)
        for (int j = 0; !rc && j < out.n; j++) {
            /* a resumed run writes its checkpoint on */
            int resume_over_checkpoint = !strcmp(in.p[i].what, "--resume") && !strcmp(out.p[j].what, "--checkpoint");
            if (!resume_over_checkpoint && aa_path_same(in.p[i].path, out.p[j].path))
                rc = collision(err, &in.p[i], &out.p[j]);
        }
    places_free(&out);
    places_free(&in);
    return rc;
}

int tr_outputs_vs_recordings(const tr_options *o, const ds_list *l, aa_error *err)
{
    places out = {0};
    outputs_of(o, &out);
    if (out.oom) {
        places_free(&out);
        return aa_error_set(err, AA_ERR_NOMEM, "out of memory");
    }
    struct stat os[MAX_PLACES];
    int exists[MAX_PLACES], any = 0;
    for (int j = 0; j < out.n; j++)
        any |= exists[j] = strcmp(out.p[j].path, "-") && stat(out.p[j].path, &os[j]) == 0 && S_ISREG(os[j].st_mode);
    int rc = 0;
    for (size_t i = 0; any && !rc && i < l->n_items; i++) {
        struct stat st;
        if (stat(l->items[i].path, &st) != 0)
            continue;
        for (int j = 0; !rc && j < out.n; j++)
            if (exists[j] && st.st_dev == os[j].st_dev && st.st_ino == os[j].st_ino) {
                char *shown = ds_printable(l->items[i].rel);
                rc = aa_error_set(err, AA_ERR_USAGE, "%s %s is the recording %s of %s", out.p[j].what, out.p[j].path,
                                  shown ? shown : l->items[i].rel, l->root);
                free(shown);
            }
    }
    places_free(&out);
    return rc;
}
