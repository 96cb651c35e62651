/* From DATA to windows ready to train on, with every check that can fail a run made before training. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "train/data.h"

void tr_data_free(tr_data *d)
{
    if (!d)
        return;
    ds_list_free(d->list);
    ds_cache_free(d->cache);
    ds_split_free(d->split);
    for (int s = 0; s < DS_N_SIDES; s++) {
        free(d->win[s]);
        free(d->rec[s]);
    }
    free(d->win_count);
    free(d->file_count);
    free(d->group_count);
    free(d->mean);
    free(d->std);
    free(d->class_weight);
    for (int s = 0; s < DS_N_SIDES; s++) {
        tr_data_windows_free(d->rec_windows[s], d->n_rec[s]);
        free(d->rec_label[s]);
    }
    memset(d, 0, sizeof *d);
}

static int nomem(aa_error *err)
{
    return aa_error_set(err, AA_ERR_NOMEM, "out of memory");
}

static int open_cache(tr_data *d, const tr_options *o, tr_progress *p, aa_error *err)
{
    ds_cache_opts co;
    ds_cache_opts_default(&co);
    co.win.hop_seconds = o->hop_s;
    co.win.max_per_file = o->max_windows;
    co.threads = o->threads;
    co.progress = tr_progress_extract;
    co.progress_user = p;
    if (o->no_cache) {
        double t0 = aa_now();
        int rc = ds_cache_build(&d->cache, d->list, &d->dsp, &co, err);
        d->cache_info.seconds = aa_now() - t0;
        return rc;
    }
    d->cache_used = 1;
    return ds_cache_open(&d->cache, d->list, &d->dsp, &co, o->cache_path, &d->cache_info, err);
}

/* The windows' log-mels from the cached signals. A training file's signal is released as soon as its
 * features are there, so that the corpus's signals and features are not all held at once; those of the
 * validation and test recordings stay until judged_recordings has cut them. */
static int features(tr_data *d, const tr_options *o, aa_error *err)
{
    size_t n = d->cache->n_files;
    unsigned char *release = malloc(n ? n : 1);
    if (!release)
        return nomem(err);
    /* Waveform augmentation remakes training items from their signals: those stay. */
    int keep = o->augment && ds_augment_needs_signals(&o->aug);
    for (size_t f = 0; f < n; f++)
        release[f] = d->split->side[f] == DS_TRAIN && !keep;
    double t0 = aa_now();
    int rc = ds_cache_compute_features(d->cache, o->threads, release, err);
    d->features_seconds = aa_now() - t0;
    free(release);
    return rc;
}

/* Counts per side and class, and the checks: a class or a side without windows cannot be trained,
 * calibrated or judged, and is better said now than after an hour of training. */
static int count_and_check(tr_data *d, aa_error *err)
{
    const ds_cache *c = d->cache;
    size_t K = (size_t)d->k;
    d->win_count = calloc(DS_N_SIDES * K, sizeof *d->win_count);
    d->file_count = calloc(DS_N_SIDES * K, sizeof *d->file_count);
    d->group_count = calloc(DS_N_SIDES * K, sizeof *d->group_count);
    unsigned char *seen = calloc(c->n_groups ? c->n_groups : 1, DS_N_SIDES * K);
    if (!d->win_count || !d->file_count || !d->group_count || !seen) {
        free(seen);
        return nomem(err);
    }
    for (size_t f = 0; f < c->n_files; f++) {
        const ds_cache_file *cf = &c->files[f];
        if (!cf->n_windows)
            continue;
        size_t at = (size_t)d->split->side[f] * K + (size_t)cf->cls;
        d->file_count[at]++;
        d->win_count[at] += cf->n_windows;
        if (!seen[cf->group * DS_N_SIDES * K + at]) {
            seen[cf->group * DS_N_SIDES * K + at] = 1;
            d->group_count[at]++;
        }
    }
    free(seen);

    for (int cls = 0; cls < d->k; cls++) {
        size_t all = 0;
        for (int s = 0; s < DS_N_SIDES; s++)
            all += d->win_count[(size_t)s * K + (size_t)cls];
        if (!all)
            return aa_error_set(err, DS_ERR_LAYOUT,
                                "%s/%s: no file of this class could be decoded (see the warnings above)",
                                d->list->root, c->classes[cls]);
    }
    for (int s = 0; s < DS_N_SIDES; s++) {
        if (s == DS_TEST && d->n_win[s] == 0)
            continue; /* no test side (--test-frac 0): no test report, nothing missing */
        for (int cls = 0; cls < d->k; cls++)
            if (!d->win_count[(size_t)s * K + (size_t)cls])
                return aa_error_set(err, DS_ERR_SPLIT,
                                    "%s: the %s split has no usable recording of class %s (%zu files of it in "
                                    "all; add recordings from more groups, or change --seed or the fractions)",
                                    d->list->root, ds_side_name(s), c->classes[cls],
                                    d->file_count[cls] + d->file_count[K + (size_t)cls] +
                                        d->file_count[2 * K + (size_t)cls]);
    }
    return 0;
}

static int side_lists(tr_data *d, aa_error *err)
{
    const ds_cache *c = d->cache;
    for (int s = 0; s < DS_N_SIDES; s++) {
        int rc = ds_cache_side_windows(c, d->split, s, &d->win[s], &d->n_win[s], err);
        if (rc)
            return rc;
        d->rec[s] = malloc((c->n_files ? c->n_files : 1) * sizeof *d->rec[s]);
        if (!d->rec[s])
            return nomem(err);
        for (size_t f = 0; f < c->n_files; f++)
            if (c->files[f].n_windows && d->split->side[f] == s)
                d->rec[s][d->n_rec[s]++] = f;
    }
    return 0;
}

/* Inversely proportional to each class's training windows, scaled so that the mean weight over the
 * training windows is 1 (scikit-learn's "balanced"): the loss keeps its usual size. */
static int class_weights(tr_data *d, const tr_options *o, aa_error *err)
{
    d->class_weight = malloc((size_t)d->k * sizeof *d->class_weight);
    if (!d->class_weight)
        return nomem(err);
    double n = (double)d->n_win[DS_TRAIN];
    for (int c = 0; c < d->k; c++)
        d->class_weight[c] = o->class_weights ? (float)(n / ((double)d->k * (double)d->win_count[c])) : 1.0f;
    return 0;
}

void tr_data_windows_free(am_windows *w, size_t n)
{
    for (size_t i = 0; w && i < n; i++)
        am_windows_free(&w[i]);
    free(w);
}

int tr_data_recording_windows(const tr_data *d, int side, const am_aggregate *a, int threads, am_windows **out,
                              aa_error *err)
{
    *out = NULL;
    size_t n = d->n_rec[side];
    am_windows *w = calloc(n ? n : 1, sizeof *w);
    aa_error *errs = calloc(n ? n : 1, sizeof *errs);
    if (!w || !errs) {
        free(w);
        free(errs);
        return nomem(err);
    }
    for (size_t i = 0; i < n; i++)
        if (!d->cache->signal[d->rec[side][i]]) {
            free(w);
            free(errs);
            return aa_error_set(err, DS_ERR_ARG, "%s: its decoded signal is no longer held",
                                d->cache->files[d->rec[side][i]].rel);
        }
    int nt = threads > 0 ? threads : omp_get_max_threads();
    if ((size_t)nt > n)
        nt = n ? (int)n : 1;
    dsp_logmel *lm = dsp_logmel_new(&d->dsp, nt, err);
    if (!lm) {
        free(w);
        free(errs);
        return err ? err->code : 1;
    }
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (size_t i = 0; i < n; i++) {
        size_t f = d->rec[side][i];
        am_recording_windows(lm, omp_get_thread_num(), a, d->cache->signal[f], (size_t)d->cache->files[f].n_samples,
                             &w[i], &errs[i]);
    }
    dsp_logmel_free(lm);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++)
        if (errs[i].code)
            rc = aa_error_set(err, errs[i].code, "%s", errs[i].msg);
    free(errs);
    if (rc) {
        tr_data_windows_free(w, n);
        return rc;
    }
    *out = w;
    return 0;
}

/* The validation and test recordings cut once, as aa-infer cuts a file; then their signals are released
 * too (those of the training files went with their features, unless waveform augmentation keeps them):
 * after this, training reads the windows' features (or remakes them from the signals), validation and the
 * test report these windows. */
static int judged_recordings(tr_data *d, const tr_options *o, aa_error *err)
{
    d->aggregate = o->aggregate;
    for (int s = DS_VAL; s <= DS_TEST; s++) {
        size_t n = d->n_rec[s];
        if (!(d->rec_label[s] = malloc((n ? n : 1) * sizeof *d->rec_label[s])))
            return nomem(err);
        for (size_t i = 0; i < n; i++)
            d->rec_label[s][i] = d->cache->files[d->rec[s][i]].cls;
        int rc = tr_data_recording_windows(d, s, &d->aggregate, o->threads, &d->rec_windows[s], err);
        if (rc)
            return rc;
    }
    int keep_train = o->augment && ds_augment_needs_signals(&o->aug);
    for (size_t f = 0; f < d->cache->n_files; f++)
        if (!(o->aggregate_report && d->split->side[f] == DS_VAL) && !(keep_train && d->split->side[f] == DS_TRAIN))
            ds_cache_release_signal(d->cache, f);
    return 0;
}

void tr_data_spec(const tr_data *d, am_spec *sp)
{
    memset(sp, 0, sizeof *sp);
    sp->dsp = d->dsp;
    sp->n_classes = d->k;
    for (int c = 0; c < d->k && c < AM_MAX_CLASSES; c++)
        sp->classes[c] = d->cache->classes[c];
    sp->norm_mean = d->mean;
    sp->norm_std = d->std;
    sp->temperature = 1;
    sp->min_confidence = 0;
    sp->aggregate = d->aggregate;
}

am_model *tr_data_judge(const tr_data *d, nn_model *net, aa_error *err)
{
    am_spec sp;
    tr_data_spec(d, &sp);
    return am_borrow(net, &sp, err);
}

int tr_data_load(tr_data *d, const tr_options *o, tr_progress *p, aa_error *err)
{
    memset(d, 0, sizeof *d);
    d->dsp = dsp_settings_default();
    ds_list_opts lo = {.classes = o->classes, .group_regex = o->group_regex, .manifest = o->manifest};
    int rc = ds_list_load(&d->list, o->data_dir, &lo, err);
    if (rc)
        return rc;
    d->k = d->list->n_classes;
    if ((rc = open_cache(d, o, p, err)))
        goto fail;
    d->n_mels = d->cache->n_mels;
    d->n_frames = d->cache->n_frames;
    d->skipped = d->cache->n_skipped;

    ds_split_opts so;
    ds_split_opts_default(&so);
    so.frac[DS_TRAIN] = 1 - o->val_frac - o->test_frac;
    so.frac[DS_VAL] = o->val_frac;
    so.frac[DS_TEST] = o->test_frac;
    so.seed = o->seed;
    double *w = malloc((d->cache->n_files ? d->cache->n_files : 1) * sizeof *w);
    if (!w) {
        rc = nomem(err);
        goto fail;
    }
    ds_cache_file_weights(d->cache, w);
    so.weights = w;
    rc = ds_split_make(&d->split, d->list, &so, err);
    free(w);
    if (rc || (rc = side_lists(d, err)) || (rc = count_and_check(d, err)) || (rc = class_weights(d, o, err)) ||
        (rc = features(d, o, err)))
        goto fail;

    d->mean = malloc(d->n_mels * sizeof *d->mean);
    d->std = malloc(d->n_mels * sizeof *d->std);
    if (!d->mean || !d->std) {
        rc = nomem(err);
        goto fail;
    }
    if ((rc = ds_norm_compute(d->cache, d->win[DS_TRAIN], d->n_win[DS_TRAIN], d->mean, d->std, err)) ||
        (rc = judged_recordings(d, o, err)))
        goto fail;
    return 0;
fail:
    tr_data_free(d);
    return rc ? rc : 1;
}

size_t tr_data_train_windows(const tr_data *d, int cls)
{
    return d->win_count[cls];
}

/* ---- printing ----------------------------------------------------------------------------------------------- */

size_t tr_data_unlisted(const tr_data *d)
{
    size_t n = 0;
    for (size_t i = 0; i < d->list->n_warnings; i++) {
        int kind = d->list->warnings[i].kind;
        n += kind != DS_WARN_NOT_UTF8 && kind != DS_WARN_MANIFEST_ROW && kind != DS_WARN_MANIFEST_DUP;
    }
    return n;
}

void tr_data_print_warnings(const tr_data *d, FILE *to)
{
    for (size_t i = 0; i < d->list->n_warnings; i++)
        fprintf(to, "aa-train: warning: %s\n", d->list->warnings[i].msg);
    for (size_t f = 0; f < d->cache->n_files; f++)
        if (d->cache->files[f].status) {
            char *shown = ds_printable(d->cache->files[f].reason ? d->cache->files[f].reason
                                                                 : d->cache->files[f].rel);
            fprintf(to, "aa-train: warning: skipped %s\n", shown ? shown : "(out of memory)");
            free(shown);
        }
}

void tr_data_print_summary(const tr_data *d, const tr_options *o, FILE *to)
{
    const ds_list *l = d->list;
    const ds_cache *c = d->cache;
    size_t K = (size_t)d->k;
    fprintf(to, "Data: %s: %zu recordings in %d classes, %zu groups", l->root, l->n_items, d->k, l->n_groups);
    fprintf(to, " (groups from %s: %zu files; --group-regex: %zu; one per file: %zu)\n",
            l->manifest_path ? l->manifest_path : "no manifest", l->stats.group_manifest, l->stats.group_regex,
            l->stats.group_per_file);
    if (d->cache_used)
        fprintf(to, "Features: %zu windows of %.0f s (hop %g s, at most %d per recording), cache %s (%s, %.1f s; "
                "log-mels %.1f s)\n",
                c->n_windows, d->dsp.clip_seconds, o->hop_s, o->max_windows, d->cache_info.path,
                d->cache_info.loaded ? "reused" : d->cache_info.write_failed ? "built, not written" : "built",
                d->cache_info.seconds, d->features_seconds);
    else
        fprintf(to, "Features: %zu windows of %.0f s (hop %g s, at most %d per recording), no cache file (%.1f s; "
                "log-mels %.1f s)\n",
                c->n_windows, d->dsp.clip_seconds, o->hop_s, o->max_windows, d->cache_info.seconds,
                d->features_seconds);
    if (d->cache_used && !d->cache_info.loaded && d->cache_info.write_failed)
        fprintf(to, "  cache not written: %s\n", d->cache_info.write_error);
    if (d->skipped)
        fprintf(to, "Skipped: %zu recordings that could not be decoded (named above)\n", d->skipped);
    size_t unlisted = tr_data_unlisted(d);
    if (unlisted)
        fprintf(to, "Skipped: %zu entr%s while listing the folders (named above)\n", unlisted,
                unlisted == 1 ? "y" : "ies");

    size_t w = 5;
    for (int k = 0; k < d->k; k++)
        if (strlen(c->classes[k]) > w)
            w = strlen(c->classes[k]);
    if (w > 40)
        w = 40;
    fprintf(to, "%-*s", (int)w + 2, "");
    for (int s = 0; s < DS_N_SIDES; s++)
        fprintf(to, " | %-22s", ds_side_name(s));
    fprintf(to, "\n%-*s", (int)w + 2, "class");
    for (int s = 0; s < DS_N_SIDES; s++)
        fprintf(to, " | %6s %7s %7s", "files", "windows", "groups");
    fputc('\n', to);
    size_t tot[DS_N_SIDES][3] = {{0}};
    for (int k = 0; k < d->k; k++) {
        fprintf(to, "%-*.*s", (int)w + 2, (int)w, c->classes[k]);
        for (int s = 0; s < DS_N_SIDES; s++) {
            size_t at = (size_t)s * K + (size_t)k;
            fprintf(to, " | %6zu %7zu %7zu", d->file_count[at], d->win_count[at], d->group_count[at]);
            tot[s][0] += d->file_count[at];
            tot[s][1] += d->win_count[at];
        }
        fputc('\n', to);
    }
    fprintf(to, "%-*s", (int)w + 2, "total");
    for (int s = 0; s < DS_N_SIDES; s++)
        fprintf(to, " | %6zu %7zu %7zu", tot[s][0], tot[s][1], d->split->groups[s]);
    fputc('\n', to);
    fprintf(to, "Loss weights per class:");
    for (int k = 0; k < d->k; k++)
        fprintf(to, " %s %.3f", c->classes[k], d->class_weight[k]);
    fprintf(to, "%s\n", o->class_weights ? "" : " (--no-class-weights)");
}

/* ---- the split file ------------------------------------------------------------------------------------------- */

static void tsv_field(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '\t')
            fputs("\\t", f);
        else if (*s == '\n')
            fputs("\\n", f);
        else if (*s == '\\')
            fputs("\\\\", f);
        else
            fputc(*s, f);
    }
}

int tr_data_write_split(const tr_data *d, const char *path, aa_error *err)
{
    char *root = realpath(d->list->root, NULL);
    if (!root)
        return aa_error_set(err, AA_ERR_IO, "%s: cannot resolve the data folder", d->list->root);
    aa_afile *af = aa_afile_open(path, err);
    if (!af) {
        free(root);
        return AA_ERR_IO;
    }
    FILE *f = aa_afile_stream(af);
    fputs("path\tclass\tgroup\tside\n", f);
    for (size_t i = 0; i < d->cache->n_files; i++) {
        const ds_cache_file *cf = &d->cache->files[i];
        if (!cf->n_windows)
            continue;
        tsv_field(f, root);
        fputc('/', f);
        tsv_field(f, cf->rel);
        fputc('\t', f);
        tsv_field(f, d->cache->classes[cf->cls]);
        fputc('\t', f);
        tsv_field(f, d->cache->groups[cf->group]);
        fprintf(f, "\t%s\n", ds_side_name(d->split->side[i]));
    }
    free(root);
    return aa_afile_commit(af, err);
}
