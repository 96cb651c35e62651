#include "tests/util/dsfake.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

ds_cache *fk_cache(size_t n, int n_classes, const char *const *class_names, const int *cls)
{
    ds_cache *c = calloc(1, sizeof *c);
    ck_assert_ptr_nonnull(c);
    c->dsp = dsp_settings_default();
    ds_window_opts_default(&c->win);
    c->n_mels = (size_t)c->dsp.n_mels;
    c->n_frames = dsp_clip_frames(&c->dsp);
    c->n_classes = n_classes;
    c->classes = calloc((size_t)n_classes, sizeof *c->classes);
    for (int k = 0; k < n_classes; k++)
        c->classes[k] = strdup(class_names[k]);
    c->n_groups = 1;
    c->groups = calloc(1, sizeof *c->groups);
    c->groups[0] = strdup("g");
    c->n_files = c->n_windows = n;
    c->files = calloc(n, sizeof *c->files);
    c->windows = calloc(n, sizeof *c->windows);
    c->feat = calloc(n, sizeof *c->feat);
    for (size_t w = 0; w < n; w++) {
        char rel[32];
        snprintf(rel, sizeof rel, "f%05zu.wav", w);
        int k = cls ? cls[w] : 0;
        c->files[w] = (ds_cache_file){.rel = strdup(rel), .cls = k, .n_samples = 64000, .first_window = w,
                                      .n_windows = 1};
        c->windows[w] = (ds_window){.cls = k, .file = w};
        c->feat[w] = calloc(c->n_mels * c->n_frames, sizeof(float));
        ck_assert_ptr_nonnull(c->feat[w]);
    }
    return c;
}

float *fk_features(ds_cache *c, size_t w)
{
    return c->feat[w];
}
