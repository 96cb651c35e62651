/* From DATA to windows ready to train on, with every check that can fail a run made before training. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "eval/eval.h"

#include "train/data.h"
#include "train/outputs.h"

void tr_data_free(tr_data *d)
{
    if (!d)
        return;
    ds_list_free(d->list);
    for (int j = 0; j < d->n_neg; j++)
        ds_list_free(d->neg_list[j]);
    ds_cache_free(d->cache);
    tr_audit_free(d->audit);
    ds_split_free(d->split);
    free(d->file_part);
    free(d->file_source);
    free(d->file_kind);
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
    free(d->silent);
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

/* The cache of listing l (DATA's at --cache PATH; a negatives folder's at its own default place, so that
 * runs with and without it reuse both). */
static int open_cache(tr_data *d, const ds_list *l, const char *path, ds_cache **out, ds_cache_info *info,
                      const tr_options *o, tr_progress *p, aa_error *err)
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
        int rc = ds_cache_build(out, l, &d->dsp, &co, err);
        info->seconds = aa_now() - t0;
        return rc;
    }
    d->cache_used = 1;
    return ds_cache_open(out, l, &d->dsp, &co, path, info, err);
}

/* The windows' log-mels from the cached signals. A training file's signal is released as soon as its
 * features are there, so that the corpus's signals and features are not all held at once; those of the
 * validation and test recordings stay until judged_recordings has cut them. */
/* Recordings the quality verdict calls silent (RMS below AM_QUALITY_SILENT_DBFS, as aa-infer would say of
 * them), from the cached signals: each is named in a warning; a class whose every recording is silent has
 * nothing to be learnt from (the network would learn "silence is this class") and is refused. */
static int silent_check(tr_data *d, aa_error *err)
{
    const ds_cache *c = d->cache;
    size_t n = c->n_files;
    unsigned char *is_silent = calloc(n ? n : 1, 1);
    size_t *files = calloc((size_t)d->k, sizeof *files), *quiet = calloc((size_t)d->k, sizeof *quiet);
    int rc = 0;
    if (!is_silent || !files || !quiet) {
        rc = nomem(err);
        goto out;
    }
#pragma omp parallel for schedule(dynamic, 4)
    for (size_t f = 0; f < n; f++) {
        if (c->files[f].status || !c->signal[f])
            continue;
        dsp_stats st;
        dsp_stats_compute(c->signal[f], (size_t)c->files[f].n_samples, d->dsp.sample_rate, &st);
        is_silent[f] = st.rms_dbfs < AM_QUALITY_SILENT_DBFS;
    }
    for (size_t f = 0; f < n; f++) {
        if (c->files[f].status)
            continue;
        files[c->files[f].cls]++;
        quiet[c->files[f].cls] += is_silent[f];
        d->n_silent += is_silent[f];
    }
    for (int k = 0; k < d->k; k++)
        if (files[k] && quiet[k] == files[k]) {
            char nb[256];
            rc = aa_error_set(err, AA_ERR_ARG,
                              "%s: class %s: all %zu recordings are nearly silent (RMS below %.0f dBFS), nothing to "
                              "learn the class from",
                              d->list->root, aa_printable_into(c->classes[k], nb, sizeof nb), files[k],
                              AM_QUALITY_SILENT_DBFS);
            goto out;
        }
    if (d->n_silent && !(d->silent = malloc(d->n_silent * sizeof *d->silent))) {
        rc = nomem(err);
        goto out;
    }
    for (size_t f = 0, j = 0; f < n && d->silent; f++)
        if (is_silent[f])
            d->silent[j++] = f;
out:
    free(is_silent);
    free(files);
    free(quiet);
    return rc;
}

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
static int count_and_check(tr_data *d, const char *const held_out[DS_N_SIDES], aa_error *err)
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
        if (!all && cls == d->other)
            return aa_error_set(err, DS_ERR_LAYOUT, "--negatives: no file could be decoded (see the warnings above)");
        if (!all)
            return aa_error_set(err, DS_ERR_LAYOUT,
                                "%s/%s: no file of this class could be decoded (see the warnings above)",
                                d->list->root, c->classes[cls]);
    }
    if (d->other >= 0 && !d->win_count[(size_t)DS_TRAIN * K + (size_t)d->other])
        return aa_error_set(err, DS_ERR_SPLIT, "--negatives: no negative is on the train split (too few groups?)");
    for (int s = 0; s < DS_N_SIDES; s++) {
        if (s == DS_TEST && d->n_win[s] == 0)
            continue; /* no test side (--test-frac 0): no test report, nothing missing */
        if (held_out[s]) {
            /* A side made of held-out sources holds what they hold; it needs DATA's recordings to judge. */
            size_t n = 0;
            for (int cls = 0; cls < d->k_reported; cls++)
                n += d->win_count[(size_t)s * K + (size_t)cls];
            if (!n)
                return aa_error_set(err, DS_ERR_SPLIT, "%s: the %s split holds no recording of DATA: the sources "
                                    "held out for it (%s) have none there", d->list->root, ds_side_name(s),
                                    held_out[s]);
            continue;
        }
        for (int cls = 0; cls < d->k; cls++)
            if (cls != d->other && !d->win_count[(size_t)s * K + (size_t)cls])
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
        /* the timeline's tuning (train/tune.c) makes its mixtures of the validation signals too */
        if (!((o->aggregate_report || o->timeline_tune) && d->split->side[f] == DS_VAL) &&
            !(keep_train && d->split->side[f] == DS_TRAIN))
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
    if (d->other >= 0) {
        sp->output_map = d->output_map;
        sp->n_reported = d->k_reported;
        for (int c = 0; c < d->k_reported && c < AM_MAX_CLASSES; c++)
            sp->reported[c] = d->list->classes[c];
    }
    sp->norm_mean = d->mean;
    sp->norm_std = d->std;
    sp->temperature = 1;
    sp->min_confidence = 0;
    sp->aggregate = d->aggregate;
    sp->task = d->task;
}

am_model *tr_data_judge(const tr_data *d, nn_model *net, aa_error *err)
{
    am_spec sp;
    tr_data_spec(d, &sp);
    return am_borrow(net, &sp, err);
}

/* The negatives' folders, listed as kinds of sound: any folder names, one is enough, and a folder named
 * like a class of DATA is not a negative. */
static int list_negatives(tr_data *d, const tr_options *o, aa_error *err)
{
    if (ds_list_class_index(d->list, AM_OTHER_OUTPUT) >= 0)
        return aa_error_set(err, DS_ERR_LAYOUT, "%s: a class is named '%s', the name of the negatives' output; "
                            "rename its folder to use --negatives", d->list->root, AM_OTHER_OUTPUT);
    aa_buf b = {0};
    for (int c = 0; c < d->list->n_classes; c++)
        aa_buf_printf(&b, "%s%s", c ? "," : "", d->list->classes[c]);
    char *classes = aa_buf_take(&b);
    if (!classes)
        return nomem(err);
    int rc = 0;
    for (int j = 0; j < o->n_negatives && !rc; j++) {
        ds_list_opts lo = {.min_classes = 1, .exclude = classes,
                           .exclude_why = "named like a class of DATA: its recordings are that class, not negatives"};
        if (!(rc = ds_list_load(&d->neg_list[j], o->negatives[j], &lo, err)))
            d->n_neg++;
    }
    free(classes);
    return rc;
}

/* Every source named by --val-sources / --test-sources must be one some listing has (a typo would else
 * silently hold out nothing). */
static int check_sources(const tr_data *d, const char *spec, const char *opt, aa_error *err)
{
    if (!spec)
        return 0;
    char *copy = strdup(spec), *save = NULL;
    if (!copy)
        return nomem(err);
    int rc = 0;
    for (char *name = strtok_r(copy, ",", &save); name && !rc; name = strtok_r(NULL, ",", &save)) {
        while (*name == ' ')
            name++;
        for (size_t n = strlen(name); n && name[n - 1] == ' '; n--)
            name[n - 1] = 0;
        int found = !*name || ds_list_source_index(d->list, name) >= 0;
        for (int j = 0; j < d->n_neg && !found; j++)
            found = ds_list_source_index(d->neg_list[j], name) >= 0;
        if (!found) {
            aa_buf b = {0};
            for (size_t q = 0; q < d->list->n_sources; q++)
                aa_buf_printf(&b, "%s%s", q ? ", " : "", d->list->sources[q]);
            char *known = aa_buf_take(&b);
            rc = aa_error_set(err, DS_ERR_ARG, "%s: no recording comes from source '%s' (DATA's sources: %s)", opt,
                              name, known ? known : "?");
            free(known);
        }
    }
    free(copy);
    return rc;
}

/* The split of one listing, its cache giving the weights; negatives are split leniently (a kind of sound
 * held by two groups still trains on one and is judged on the other). */
static int split_one(const ds_list *l, const ds_cache *c, const tr_options *o, int lenient, ds_split **out,
                     aa_error *err)
{
    ds_split_opts so;
    ds_split_opts_default(&so);
    so.frac[DS_TRAIN] = 1 - o->val_frac - o->test_frac;
    so.frac[DS_VAL] = o->val_frac;
    so.frac[DS_TEST] = o->test_frac;
    so.seed = o->seed;
    so.hold_out[DS_VAL] = o->val_sources;
    so.hold_out[DS_TEST] = o->test_sources;
    so.lenient = lenient;
    if (o->fixed_side && !lenient) {
        /* cross-validation: the test fold is fixed; validation is carved from the other folds as the ordinary
         * split carves it from what is not test */
        so.fixed_side = o->fixed_side;
        so.frac[DS_VAL] = o->val_frac / (1 - o->test_frac);
        so.frac[DS_TRAIN] = 1 - so.frac[DS_VAL];
        so.frac[DS_TEST] = 0;
    }
    double *w = malloc((c->n_files ? c->n_files : 1) * sizeof *w);
    if (!w)
        return nomem(err);
    ds_cache_file_weights(c, w);
    so.weights = w;
    int rc = ds_split_make(out, l, &so, err);
    free(w);
    return rc;
}

/* DATA's cache and split followed by each negatives folder's, as one: a negative's class is the output
 * "other", groups keep their names (each listing's are its own), windows and signals move over. parts and
 * splits [n] are consumed (freed) whatever the outcome. */
static int merge(tr_data *d, ds_cache **parts, ds_split **splits, int n, aa_error *err)
{
    ds_cache *m = calloc(1, sizeof *m);
    ds_split *sp = calloc(1, sizeof *sp);
    int K = d->k_reported + 1, rc = 0;
    size_t files = 0, windows = 0, groups = 0;
    for (int j = 0; j < n; j++) {
        files += parts[j]->n_files;
        windows += parts[j]->n_windows;
        groups += parts[j]->n_groups;
    }
    if (!m || !sp || !(m->files = calloc(files ? files : 1, sizeof *m->files)) ||
        !(m->windows = calloc(windows ? windows : 1, sizeof *m->windows)) ||
        !(m->signal = calloc(files ? files : 1, sizeof *m->signal)) ||
        !(m->feat = calloc(files ? files : 1, sizeof *m->feat)) ||
        !(m->groups = calloc(groups ? groups : 1, sizeof *m->groups)) ||
        !(m->classes = calloc((size_t)K, sizeof *m->classes)) || !(sp->side = calloc(files ? files : 1, sizeof *sp->side)) ||
        !(sp->count = calloc(DS_N_SIDES * (size_t)K, sizeof *sp->count)) ||
        !(sp->weight = calloc(DS_N_SIDES * (size_t)K, sizeof *sp->weight)) ||
        !(sp->target = calloc(DS_N_SIDES * (size_t)K, sizeof *sp->target)) ||
        !(d->file_part = calloc(files ? files : 1, sizeof *d->file_part)))
        rc = nomem(err);
    if (!rc) {
        m->dsp = parts[0]->dsp;
        m->win = parts[0]->win;
        m->n_mels = parts[0]->n_mels;
        m->n_frames = parts[0]->n_frames;
        m->n_classes = K;
        for (int c = 0; c < K && !rc; c++)
            if (!(m->classes[c] = strdup(c < K - 1 ? parts[0]->classes[c] : AM_OTHER_OUTPUT)))
                rc = nomem(err);
        sp->n_items = files;
        sp->n_classes = K;
        sp->weighted = 1;
    }
    for (int j = 0; j < n && !rc; j++) {
        ds_cache *c = parts[j];
        const ds_split *s = splits[j];
        size_t f0 = m->n_files, w0 = m->n_windows, g0 = m->n_groups;
        for (size_t g = 0; g < c->n_groups; g++) {
            m->groups[m->n_groups++] = c->groups[g];
            c->groups[g] = NULL;
        }
        for (size_t f = 0; f < c->n_files; f++) {
            ds_cache_file *cf = &m->files[m->n_files];
            *cf = c->files[f];
            c->files[f].rel = c->files[f].reason = NULL;
            cf->cls = j ? K - 1 : cf->cls;
            cf->group += g0;
            cf->first_window += w0;
            m->signal[m->n_files] = c->signal ? c->signal[f] : NULL;
            m->feat[m->n_files] = c->feat ? c->feat[f] : NULL;
            if (c->signal)
                c->signal[f] = NULL;
            if (c->feat)
                c->feat[f] = NULL;
            sp->side[m->n_files] = s->side[f];
            d->file_part[m->n_files] = (size_t)j;
            m->n_files++;
        }
        for (size_t w = 0; w < c->n_windows; w++) {
            ds_window *win = &m->windows[m->n_windows++];
            *win = c->windows[w];
            win->cls = j ? K - 1 : win->cls;
            win->group += g0;
            win->file += f0;
        }
        m->n_skipped += c->n_skipped;
        for (int side = 0; side < DS_N_SIDES; side++) {
            for (int k = 0; k < s->n_classes; k++) {
                size_t to = (size_t)side * (size_t)K + (size_t)(j ? K - 1 : k);
                sp->count[to] += s->count[side * s->n_classes + k];
                sp->weight[to] += s->weight[side * s->n_classes + k];
                sp->target[to] += s->target[side * s->n_classes + k];
            }
            sp->groups[side] += s->groups[side];
            sp->held_out[side] += s->held_out[side];
        }
        sp->groups_crossing += s->groups_crossing;
    }
    for (int j = 0; j < n; j++) {
        ds_cache_free(parts[j]);
        ds_split_free(splits[j]);
    }
    if (rc) {
        ds_cache_free(m);
        ds_split_free(sp);
        return rc;
    }
    d->cache = m;
    d->split = sp;
    return 0;
}

/* What "other" is reported as: --negatives-as (a class of DATA by folder name or label, or "unclear"),
 * by default the background class when DATA has one, else Unclear. */
static int negatives_target(tr_data *d, const tr_options *o, aa_error *err)
{
    const char *want = o->negatives_as;
    d->negatives_as = AM_MAP_UNCLEAR;
    for (int c = 0; c < d->k_reported; c++) {
        char label[256];
        ev_display_name(d->list->classes[c], label, sizeof label);
        int match = want ? !strcmp(want, d->list->classes[c]) || !strcmp(want, label)
                         : am_is_background_name(d->list->classes[c]);
        if (match) {
            d->negatives_as = c;
            return 0;
        }
    }
    if (!want || !strcasecmp(want, "unclear"))
        return 0;
    return aa_error_set(err, DS_ERR_ARG, "--negatives-as: '%s' is neither a class of %s nor 'unclear'", want,
                        d->list->root);
}

int tr_data_load(tr_data *d, const tr_options *o, tr_progress *p, aa_error *err)
{
    memset(d, 0, sizeof *d);
    d->dsp = o->dsp;
    d->other = -1;
    ds_list_opts lo = {.classes = o->classes, .group_regex = o->group_regex, .manifest = o->manifest};
    int rc = ds_list_load(&d->list, o->data_dir, &lo, err);
    if (rc)
        return rc;
    /* before anything is decoded: an output that is one of the recordings would overwrite the data */
    if ((rc = tr_outputs_vs_recordings(o, d->list, err)))
        goto fail;
    d->k_reported = d->list->n_classes;
    d->task = o->task != AM_TASK_AUTO ? o->task
                                      : am_task_of_classes((const char *const *)d->list->classes, d->k_reported);
    if (d->k_reported + (o->n_negatives > 0) > AM_MAX_CLASSES) {
        rc = aa_error_set(err, AA_ERR_ARG, "%s: %d classes, a model holds at most %d outputs", o->data_dir,
                          d->k_reported, AM_MAX_CLASSES - (o->n_negatives > 0));
        goto fail;
    }
    if ((o->n_negatives && ((rc = list_negatives(d, o, err)) || (rc = negatives_target(d, o, err)))) ||
        (rc = check_sources(d, o->val_sources, "--val-sources", err)) ||
        (rc = check_sources(d, o->test_sources, "--test-sources", err)))
        goto fail;

    ds_cache *parts[1 + TR_MAX_NEGATIVES] = {0};
    ds_split *splits[1 + TR_MAX_NEGATIVES] = {0};
    int n_parts = 1 + d->n_neg;
    for (int j = 0; j < n_parts && !rc; j++) {
        const ds_list *l = j ? d->neg_list[j - 1] : d->list;
        if (!(rc = open_cache(d, l, j ? NULL : o->cache_path, &parts[j], j ? &d->neg_cache_info[j - 1] : &d->cache_info,
                              o, p, err)))
            rc = split_one(l, parts[j], o, j > 0, &splits[j], err);
        if (rc && o->audit && !j && !o->n_negatives && parts[0]) {
            /* the audit says why the corpus cannot be split rather than stopping at it */
            snprintf(d->split_error, sizeof d->split_error, "%s", err->msg);
            aa_error_clear(err);
            splits[0] = NULL;
            rc = 0;
        }
    }
    if (rc) {
        for (int j = 0; j < n_parts; j++) {
            ds_cache_free(parts[j]);
            ds_split_free(splits[j]);
        }
        goto fail;
    }
    if (d->n_neg) {
        if ((rc = merge(d, parts, splits, n_parts, err)))
            goto fail;
        d->other = d->k_reported;
    } else {
        d->cache = parts[0];
        d->split = splits[0];
        if (!(d->file_part = calloc(d->cache->n_files ? d->cache->n_files : 1, sizeof *d->file_part))) {
            rc = nomem(err);
            goto fail;
        }
    }
    d->k = d->cache->n_classes;
    for (int c = 0; c < d->k; c++)
        d->output_map[c] = c == d->other ? d->negatives_as : c;
    d->n_mels = d->cache->n_mels;
    d->n_frames = d->cache->n_frames;
    d->skipped = d->cache->n_skipped;
    /* before features: the audit reads every decoded signal, which training then releases */
    if ((rc = tr_audit_run(d->list, d->cache, d->split, &d->dsp, o->test_frac > 0 ? 3 : 2, o->threads, &d->audit,
                           err)))
        goto fail;
    if (o->audit)
        return 0;
    if ((rc = silent_check(d, err)))
        goto fail;

    /* Each file's source and kind, from the listing it came from (files are in listing order there). */
    size_t nf = d->cache->n_files;
    d->file_source = calloc(nf ? nf : 1, sizeof *d->file_source);
    d->file_kind = calloc(nf ? nf : 1, sizeof *d->file_kind);
    if (!d->file_source || !d->file_kind) {
        rc = nomem(err);
        goto fail;
    }
    for (size_t f = 0, at = 0; f < nf; f++, at++) {
        if (f && d->file_part[f] != d->file_part[f - 1])
            at = 0;
        const ds_list *l = d->file_part[f] ? d->neg_list[d->file_part[f] - 1] : d->list;
        const ds_item *it = &l->items[at];
        d->file_source[f] = l->sources[it->source];
        d->file_kind[f] = d->file_part[f] ? l->classes[it->cls] : NULL;
    }

    /* a test fold holds what its folds give it, as a side of held-out sources does */
    const char *held[DS_N_SIDES] = {NULL, o->val_sources, o->fixed_side ? "its fold" : o->test_sources};
    if ((rc = side_lists(d, err)) || (rc = count_and_check(d, held, err)) || (rc = class_weights(d, o, err)) ||
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

int tr_data_rec_class(const tr_data *d, int side, size_t i)
{
    int out = d->rec_label[side][i];
    return out == d->other ? -1 : out;
}

char *tr_data_fingerprint(const tr_data *d)
{
    const ds_cache *c = d->cache;
    aa_buf b = {0};
    aa_buf_printf(&b, "data_classes=");
    for (int k = 0; k < d->k; k++)
        aa_buf_printf(&b, "%s%s", k ? "," : "", c->classes[k]);
    uint64_t files = AA_FNV1A_INIT, sides = files;
    size_t used = 0, per_side[DS_N_SIDES] = {0};
    for (size_t f = 0; f < c->n_files; f++) {
        const ds_cache_file *cf = &c->files[f];
        if (cf->status)
            continue;
        unsigned char num[8 * 4];
        aa_put_u64(num, (uint64_t)cf->size);
        aa_put_u64(num + 8, cf->n_samples);
        aa_put_u64(num + 16, (uint64_t)cf->cls);
        aa_put_u64(num + 24, (uint64_t)cf->group);
        files = aa_fnv1a(aa_fnv1a(files, cf->rel, strlen(cf->rel) + 1), num, sizeof num);
        unsigned char side = (unsigned char)d->split->side[f];
        sides = aa_fnv1a(sides, &side, 1);
        per_side[d->split->side[f]]++;
        used++;
    }
    char text[DSP_SETTINGS_TEXT_MAX];
    size_t tn = dsp_settings_format(&d->dsp, text, sizeof text);
    uint64_t dsp = aa_fnv1a(AA_FNV1A_INIT, text, tn < sizeof text ? tn : sizeof text - 1);
    aa_buf_printf(&b, "\ndata_files=%zu recordings, hash %016llx\n", used, (unsigned long long)files);
    aa_buf_printf(&b, "data_split=%zu train, %zu val, %zu test, hash %016llx\n", per_side[DS_TRAIN], per_side[DS_VAL],
                  per_side[DS_TEST], (unsigned long long)sides);
    aa_buf_printf(&b, "data_front_end=hash %016llx\n", (unsigned long long)dsp);
    return aa_buf_take(&b);
}

size_t tr_data_train_windows(const tr_data *d, int cls)
{
    return d->win_count[cls];
}

/* ---- printing ----------------------------------------------------------------------------------------------- */

size_t tr_data_unlisted(const tr_data *d)
{
    size_t n = 0;
    for (int j = 0; j <= d->n_neg; j++) {
        const ds_list *l = j ? d->neg_list[j - 1] : d->list;
        for (size_t i = 0; i < l->n_warnings; i++) {
            int kind = l->warnings[i].kind;
            n += kind != DS_WARN_NOT_UTF8 && kind != DS_WARN_MANIFEST_ROW && kind != DS_WARN_MANIFEST_DUP &&
                 kind != DS_WARN_EXCLUDED_CLASS;
        }
    }
    return n;
}

void tr_data_print_warnings(const tr_data *d, FILE *to)
{
    for (int j = 0; j <= d->n_neg; j++) {
        const ds_list *l = j ? d->neg_list[j - 1] : d->list;
        for (size_t i = 0; i < l->n_warnings; i++)
            fprintf(to, "aa-train: warning: %s\n", l->warnings[i].msg);
    }
    for (size_t f = 0; f < d->cache->n_files; f++)
        if (d->cache->files[f].status) {
            char *shown = ds_printable(d->cache->files[f].reason ? d->cache->files[f].reason
                                                                 : d->cache->files[f].rel);
            fprintf(to, "aa-train: warning: skipped %s\n", shown ? shown : "(out of memory)");
            free(shown);
        }
    /* a long list of silent files says the same thing over: the first ones, then how many */
    enum { SHOW_SILENT = 20 };
    for (size_t i = 0; i < d->n_silent && i < SHOW_SILENT; i++) {
        size_t f = d->silent[i];
        const ds_list *l = d->file_part[f] ? d->neg_list[d->file_part[f] - 1] : d->list;
        char *shown = ds_printable(d->cache->files[f].rel);
        fprintf(to, "aa-train: warning: %s/%s is nearly silent (RMS below %.0f dBFS); trained on as it is\n",
                l->root, shown ? shown : "?", AM_QUALITY_SILENT_DBFS);
        free(shown);
    }
    if (d->n_silent > SHOW_SILENT)
        fprintf(to, "aa-train: warning: %zu more nearly silent recordings\n", d->n_silent - SHOW_SILENT);
    if (!d->audit)
        return;
    enum { SHOWN = 10 };
    char *lines[SHOWN];
    size_t n = tr_audit_warnings(d->audit, lines, SHOWN);
    for (size_t i = 0; i < n && i < SHOWN; i++) {
        fprintf(to, "aa-train: warning: %s\n", lines[i]);
        free(lines[i]);
    }
    if (n > SHOWN)
        fprintf(to, "aa-train: warning: ... and %zu more findings of the dataset audit (aa-train --audit DATA "
                    "lists them)\n", n - SHOWN);
}

void tr_data_print_summary(const tr_data *d, const tr_options *o, FILE *to)
{
    const ds_list *l = d->list;
    const ds_cache *c = d->cache;
    size_t K = (size_t)d->k;
    fprintf(to, "Model: a %s (--task %s%s)\n", d->task == AM_TASK_RESPIRATORY ? "respiratory sound classifier" :
            "sound classifier", am_task_name(d->task), o->task == AM_TASK_AUTO ? ", from the class names" : "");
    fprintf(to, "Data: %s: %zu recordings in %d classes, %zu groups", l->root, l->n_items, d->k_reported,
            l->n_groups);
    fprintf(to, " (groups from %s: %zu files; --group-regex: %zu; one per file: %zu)\n",
            l->manifest_path ? l->manifest_path : "no manifest", l->stats.group_manifest, l->stats.group_regex,
            l->stats.group_per_file);
    fprintf(to, "Sources: %zu (%s)", l->n_sources, l->stats.source_manifest ? "the manifest's source column"
                                                                            : "the folder's name");
    for (size_t q = 0; q < l->n_sources && q < 12; q++)
        fprintf(to, "%s%s", q ? ", " : ": ", l->sources[q]);
    fprintf(to, "%s\n", l->n_sources > 12 ? ", ..." : "");
    for (int j = 0; j < d->n_neg; j++) {
        const ds_list *n = d->neg_list[j];
        const ds_cache_info *ci = &d->neg_cache_info[j];
        fprintf(to, "Negatives: %s: %zu recordings in %d folder%s, %zu group%s, %zu source%s; cache %s (%s, %.1f s)\n",
                n->root, n->n_items, n->n_classes, n->n_classes == 1 ? "" : "s", n->n_groups,
                n->n_groups == 1 ? "" : "s", n->n_sources, n->n_sources == 1 ? "" : "s",
                d->cache_used ? ci->path : "none",
                !d->cache_used ? "not kept" : ci->loaded ? "reused" : ci->write_failed ? "built, not written" : "built",
                ci->seconds);
    }
    if (d->other >= 0) {
        char label[256] = EV_UNCLEAR_LABEL;
        if (d->negatives_as >= 0)
            ev_display_name(d->list->classes[d->negatives_as], label, sizeof label);
        fprintf(to, "  they train the output '%s', which the model reports as %s\n", AM_OTHER_OUTPUT, label);
    }
    if (d->split->held_out[DS_VAL] || d->split->held_out[DS_TEST] || o->val_sources || o->test_sources)
        fprintf(to, "Held out by source: %zu validation files (%s), %zu test files (%s)%s\n", d->split->held_out[DS_VAL],
                o->val_sources ? o->val_sources : "none", d->split->held_out[DS_TEST],
                o->test_sources ? o->test_sources : "none",
                d->split->groups_crossing ? "; some groups claimed by both were kept whole on one side" : "");
    const dsp_settings *fe = &d->dsp;
    fprintf(to, "Front end: %d Hz, %g s clips, %d mels from %g to %g Hz, n_fft %d, window %d, hop %d: %zu x %zu "
            "features per clip\n", fe->sample_rate, fe->clip_seconds, fe->n_mels, fe->fmin, fe->fmax, fe->n_fft,
            fe->win_length, fe->hop_length, d->n_mels, d->n_frames);
    if (d->cache_used)
        fprintf(to, "Features: %zu windows of %g s (hop %g s, at most %d per recording), cache %s (%s, %.1f s; "
                "log-mels %.1f s)\n",
                c->n_windows, d->dsp.clip_seconds, o->hop_s, o->max_windows, d->cache_info.path,
                d->cache_info.loaded ? "reused" : d->cache_info.write_failed ? "built, not written" : "built",
                d->cache_info.seconds, d->features_seconds);
    else
        fprintf(to, "Features: %zu windows of %g s (hop %g s, at most %d per recording), no cache file (%.1f s; "
                "log-mels %.1f s)\n",
                c->n_windows, d->dsp.clip_seconds, o->hop_s, o->max_windows, d->cache_info.seconds,
                d->features_seconds);
    /* A cache that was there but not reused says why: other settings, files changed, damage. */
    if (d->cache_used && d->cache_info.replaced)
        fprintf(to, "  cache rebuilt: %s\n", d->cache_info.reason);
    if (d->cache_used && !d->cache_info.loaded && d->cache_info.write_failed)
        fprintf(to, "  cache not written: %s\n", d->cache_info.write_error);
    if (d->skipped)
        fprintf(to, "Skipped: %zu recordings that could not be decoded (named above)\n", d->skipped);
    size_t unlisted = tr_data_unlisted(d);
    if (unlisted)
        fprintf(to, "Skipped: %zu entr%s while listing the folders (named above)\n", unlisted,
                unlisted == 1 ? "y" : "ies");
    if (d->n_silent)
        fprintf(to, "Nearly silent: %zu recording%s, trained on (named above)\n", d->n_silent,
                d->n_silent == 1 ? "" : "s");

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
        char nb[256];
        fprintf(to, "%-*.*s", (int)w + 2, (int)w, aa_printable_into(c->classes[k], nb, sizeof nb));
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
    {
        char nb[256];
        fprintf(to, " %s %.3f", aa_printable_into(c->classes[k], nb, sizeof nb), d->class_weight[k]);
    }
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
    char *roots[1 + TR_MAX_NEGATIVES] = {0};
    int rc = 0;
    for (int j = 0; j <= d->n_neg && !rc; j++) {
        const ds_list *l = j ? d->neg_list[j - 1] : d->list;
        if (!(roots[j] = realpath(l->root, NULL)))
            rc = aa_error_set(err, AA_ERR_IO, "%s: cannot resolve the data folder", l->root);
    }
    aa_afile *af = rc ? NULL : aa_afile_open(path, err);
    if (!af) {
        for (int j = 0; j <= d->n_neg; j++)
            free(roots[j]);
        return rc ? rc : AA_ERR_IO;
    }
    FILE *f = aa_afile_stream(af);
    fputs("path\tclass\tgroup\tside\tsource\tnegative\n", f);
    for (size_t i = 0; i < d->cache->n_files; i++) {
        const ds_cache_file *cf = &d->cache->files[i];
        if (!cf->n_windows)
            continue;
        tsv_field(f, roots[d->file_part[i]]);
        fputc('/', f);
        tsv_field(f, cf->rel);
        fputc('\t', f);
        tsv_field(f, d->file_kind[i] ? d->file_kind[i] : d->cache->classes[cf->cls]);
        fputc('\t', f);
        tsv_field(f, d->cache->groups[cf->group]);
        fprintf(f, "\t%s\t", ds_side_name(d->split->side[i]));
        tsv_field(f, d->file_source[i]);
        fprintf(f, "\t%d\n", d->file_kind[i] != NULL);
    }
    for (int j = 0; j <= d->n_neg; j++)
        free(roots[j]);
    return aa_afile_commit(af, err);
}
