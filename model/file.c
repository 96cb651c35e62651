/* The model file: an nn/ model file (the container of nn/file.c: strings and float tensors by name)
 * whose metadata carries the front end, classes, normalisation, calibration, gate and self-test:
 *
 *   key / tensor             kind    since  value
 *   aa.format                string  1      "audio-audit-model 2" (name, format version; 3: an ensemble)
 *   aa.dsp                   string  1      the front-end settings (dsp_settings_format)
 *   aa.classes               string  1      the network outputs' names, one per line, in output order
 *   aa.reported_classes      string  2      the classes reported, one per line (absent: the outputs)
 *   aa.output_map            string  2      per output, the index of the reported class it counts for or
 *                                           -1 (reported as Unclear), space-separated (absent: identity)
 *   aa.temperature           number  1      softmax temperature, > 0
 *   aa.min_confidence        number  1      the global gate in [0, 1]
 *   aa.aggregate             string  1      the aggregation policy (absent: loudest)
 *   aa.task                  string  2      "respiratory" or "general", written in every file (required in
 *                                           format 3; files without it: am_task_of_classes on the classes)
 *   aa.train_json            string  1      the training summary (optional)
 *   aa.norm_mean, aa.norm_std f32 [n_mels]  the feature normalisation
 *   aa.class_threshold       f32 [reported classes], optional: per-class gates
 *   aa.drift.centre, aa.drift.scale  f32 [2 n_mels], optional: the drift statistics (model/drift.h)
 *   aa.drift.threshold       number  2      optional, with them: the drift score above which a recording is
 *                                           drifted (files without the three give no drift verdict; older
 *                                           builds ignore them)
 *   aa.selftest.mel          f32 [n_mels][n_frames]  the self-test signal's log-mel
 *   aa.selftest.logits       f32 [outputs]  its logits (an ensemble's: the mean of its networks')
 *   aa.networks              number  3      networks in the file, 2..AM_MAX_NETWORKS (absent: 1)
 *   aa.timeline.threshold    number  2      the timeline's event rule as the trainer tuned it (am_timeline):
 *   aa.timeline.smooth       number  2      -1 (the gate) or [0, 1]; odd windows 1..101; seconds 0..3600.
 *   aa.timeline.min_duration_s number 2     All three or none (absent: am_timeline_default)
 *   aa.net.<i>/<tensor>      f32     3      network i's (1..n-1) parameters and statistics, named and
 *                                           shaped as nn/ names network 0's, which is the container's own
 *
 * Format 1 files (no map) load with every output reported as itself. A file of one network is written as
 * format 2 (model_internal.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval.h"
#include "model/model_internal.h"

/* What is wrong with class name c among names[0..c] as a model file holds them, or NULL: the trainer's
 * folder names are printable UTF-8 and distinct (they are folders of one directory), and aa-infer --eval
 * and --threshold find classes by name, so a second class of the same name could never be chosen. */
static const char *class_name_problem(const char *const *names, int c)
{
    const char *s = names[c];
    if (!aa_utf8_valid(s))
        return "name is not UTF-8";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7F || (p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F))
            return "name holds a control character";
    for (int j = 0; j < c; j++)
        if (!strcmp(names[j], s))
            return "a second class of the same name";
    return NULL;
}

/* The reported classes of a spec: its outputs when it has no map. */
static int spec_reported(const am_spec *sp)
{
    return sp->output_map ? sp->n_reported : sp->n_classes;
}

static const char *spec_class(const am_spec *sp, int c)
{
    return sp->output_map ? sp->reported[c] : sp->classes[c];
}

/* The spec's task, AM_TASK_AUTO resolved by the class-name rule on the reported classes. */
static am_task spec_task(const am_spec *sp)
{
    return sp->task != AM_TASK_AUTO ? sp->task
                                    : am_task_of_classes(sp->output_map ? sp->reported : sp->classes, spec_reported(sp));
}

/* '\n'-joined names; NULL when out of memory. Caller frees. */
static char *join_lines(const char *const *names, int n)
{
    size_t len = 1;
    for (int c = 0; c < n; c++)
        len += strlen(names[c]) + 1;
    char *s = malloc(len);
    if (!s)
        return NULL;
    s[0] = 0;
    for (int c = 0; c < n; c++) {
        if (c)
            strcat(s, "\n");
        strcat(s, names[c]);
    }
    return s;
}

/* What is wrong with drift statistics, or NULL: finite centres, finite scales > 0, a finite threshold > 0. */
static const char *drift_problem(const float *centre, const float *scale, double threshold, int n)
{
    for (int i = 0; i < n; i++) {
        if (!isfinite(centre[i]))
            return "a centre is not finite";
        if (!(scale[i] > 0) || !isfinite(scale[i]))
            return "a scale is not a positive number";
    }
    return threshold > 0 && isfinite(threshold) ? NULL : "the threshold is not a positive number";
}

static int check_spec(const char *path, const nn_model *net, const am_spec *sp, aa_error *err)
{
    nn_model_info info = nn_model_get_info(net);
    if (dsp_settings_validate(&sp->dsp, err))
        return AM_ERR_ARG;
    if (sp->n_classes < 2 || sp->n_classes > AM_MAX_CLASSES || sp->n_classes != info.n_classes)
        return aa_error_set(err, AM_ERR_ARG, "%s: %d classes given for a network with %d outputs", path,
                            sp->n_classes, info.n_classes);
    if (info.in_c != 1 || info.in_h != sp->dsp.n_mels || (size_t)info.in_w != dsp_clip_frames(&sp->dsp))
        return aa_error_set(err, AM_ERR_ARG, "%s: network input %dx%dx%d does not match the front end (1x%dx%zu)",
                            path, info.in_c, info.in_h, info.in_w, sp->dsp.n_mels, dsp_clip_frames(&sp->dsp));
    for (int c = 0; c < sp->n_classes; c++) {
        if (!sp->classes[c] || !*sp->classes[c] || strchr(sp->classes[c], '\n'))
            return aa_error_set(err, AM_ERR_ARG, "%s: class %d has no usable name", path, c);
        const char *problem = class_name_problem(sp->classes, c);
        if (problem)
            return aa_error_set(err, AM_ERR_ARG, "%s: class %d: %s", path, c, problem);
    }
    if (sp->output_map) {
        if (sp->n_reported < 2 || sp->n_reported > AM_MAX_CLASSES)
            return aa_error_set(err, AM_ERR_ARG, "%s: %d reported classes (2..%d)", path, sp->n_reported,
                                AM_MAX_CLASSES);
        int used[AM_MAX_CLASSES] = {0};
        for (int o = 0; o < sp->n_classes; o++) {
            if (sp->output_map[o] < AM_MAP_UNCLEAR || sp->output_map[o] >= sp->n_reported)
                return aa_error_set(err, AM_ERR_ARG, "%s: output %s maps to class %d of %d", path, sp->classes[o],
                                    sp->output_map[o], sp->n_reported);
            if (sp->output_map[o] >= 0)
                used[sp->output_map[o]] = 1;
        }
        for (int c = 0; c < sp->n_reported; c++) {
            if (!sp->reported[c] || !*sp->reported[c] || strchr(sp->reported[c], '\n'))
                return aa_error_set(err, AM_ERR_ARG, "%s: reported class %d has no usable name", path, c);
            if (!used[c])
                return aa_error_set(err, AM_ERR_ARG, "%s: no output counts for class %s", path, sp->reported[c]);
        }
    }
    if (!sp->norm_mean || !sp->norm_std)
        return aa_error_set(err, AM_ERR_ARG, "%s: feature normalisation missing", path);
    for (int i = 0; i < sp->dsp.n_mels; i++)
        if (!isfinite(sp->norm_mean[i]) || !(sp->norm_std[i] > 0) || !isfinite(sp->norm_std[i]))
            return aa_error_set(err, AM_ERR_NUMERIC, "%s: normalisation of mel %d is not usable", path, i);
    if (!(sp->temperature >= AM_TEMPERATURE_MIN && sp->temperature <= AM_TEMPERATURE_MAX))
        return aa_error_set(err, AM_ERR_ARG, "%s: temperature %g outside [%g, %g]", path, sp->temperature,
                            AM_TEMPERATURE_MIN, AM_TEMPERATURE_MAX);
    if (!(sp->min_confidence >= 0 && sp->min_confidence <= 1))
        return aa_error_set(err, AM_ERR_ARG, "%s: gate %g outside [0, 1]", path, sp->min_confidence);
    if (sp->class_threshold)
        for (int c = 0; c < spec_reported(sp); c++)
            if (!(sp->class_threshold[c] >= 0 && sp->class_threshold[c] <= 1))
                return aa_error_set(err, AM_ERR_ARG, "%s: threshold of class %s outside [0, 1]", path,
                                    spec_class(sp, c));
    if (am_aggregate_check(&sp->aggregate, err))
        return AM_ERR_ARG;
    if (!sp->drift_centre != !sp->drift_scale)
        return aa_error_set(err, AM_ERR_ARG, "%s: drift centre without scale or scale without centre", path);
    if (sp->drift_centre && drift_problem(sp->drift_centre, sp->drift_scale, sp->drift_threshold, 2 * sp->dsp.n_mels))
        return aa_error_set(err, AM_ERR_NUMERIC, "%s: drift statistics are not usable: %s", path,
                            drift_problem(sp->drift_centre, sp->drift_scale, sp->drift_threshold, 2 * sp->dsp.n_mels));
    if (sp->task != AM_TASK_AUTO && sp->task != AM_TASK_GENERAL && sp->task != AM_TASK_RESPIRATORY)
        return aa_error_set(err, AM_ERR_ARG, "%s: task %d is neither general nor respiratory", path, (int)sp->task);
    aa_error te;
    if (sp->timeline.tuned && am_timeline_check(&sp->timeline, &te))
        return aa_error_set(err, AM_ERR_ARG, "%s: %s", path, te.msg);
    return 0;
}

static int put_meta(nn_meta *meta, const char *path, nn_model *const *nets, int n_nets, const am_spec *sp,
                    aa_error *err)
{
    char fmt[64], dsp_text[DSP_SETTINGS_TEXT_MAX], agg[AM_AGGREGATE_TEXT_MAX];
    am_aggregate_format(&sp->aggregate, agg, sizeof agg);
    snprintf(fmt, sizeof fmt, "%s %d", AM_FORMAT_NAME, n_nets > 1 ? AM_FORMAT_VERSION : AM_FORMAT_ONE_NETWORK);
    dsp_settings_format(&sp->dsp, dsp_text, sizeof dsp_text);
    char *classes = join_lines(sp->classes, sp->n_classes);
    char *reported = sp->output_map ? join_lines(sp->reported, sp->n_reported) : NULL;
    char map[AM_MAX_CLASSES * 4 + 1] = "";
    for (int o = 0; sp->output_map && o < sp->n_classes; o++)
        snprintf(map + strlen(map), sizeof map - strlen(map), "%s%d", o ? " " : "", sp->output_map[o]);
    if (!classes || (sp->output_map && !reported)) {
        free(classes);
        free(reported);
        return aa_error_set(err, AM_ERR_NOMEM, "%s: out of memory", path);
    }
    int n_mels = sp->dsp.n_mels, k = sp->n_classes, kr = spec_reported(sp);
    int rc = nn_meta_set_str(meta, AM_KEY_FORMAT, fmt, err) || nn_meta_set_str(meta, AM_KEY_DSP, dsp_text, err) ||
             nn_meta_set_str(meta, AM_KEY_CLASSES, classes, err) ||
             (reported && (nn_meta_set_str(meta, AM_KEY_REPORTED, reported, err) ||
                           nn_meta_set_str(meta, AM_KEY_OUTPUT_MAP, map, err))) ||
             nn_meta_set_num(meta, AM_KEY_TEMPERATURE, sp->temperature, err) ||
             nn_meta_set_num(meta, AM_KEY_MIN_CONF, sp->min_confidence, err) ||
             nn_meta_set_str(meta, AM_KEY_AGGREGATE, agg, err) ||
             nn_meta_set_str(meta, AM_KEY_TASK, am_task_name(spec_task(sp)), err) ||
             nn_meta_set_tensor(meta, AM_TENSOR_MEAN, sp->norm_mean, 1, &n_mels, err) ||
             nn_meta_set_tensor(meta, AM_TENSOR_STD, sp->norm_std, 1, &n_mels, err) ||
             (sp->train_json && nn_meta_set_str(meta, AM_KEY_TRAIN_JSON, sp->train_json, err)) ||
             (sp->timeline.tuned && (nn_meta_set_num(meta, AM_KEY_TL_THRESHOLD, sp->timeline.threshold, err) ||
                                     nn_meta_set_num(meta, AM_KEY_TL_SMOOTH, sp->timeline.smooth, err) ||
                                     nn_meta_set_num(meta, AM_KEY_TL_MIN_DURATION, sp->timeline.min_duration_s, err)));
    free(classes);
    free(reported);
    if (rc)
        return AM_ERR_ARG;
    int nd = 2 * n_mels;
    if (sp->drift_centre && (nn_meta_set_tensor(meta, AM_TENSOR_DRIFT_CENTRE, sp->drift_centre, 1, &nd, err) ||
                             nn_meta_set_tensor(meta, AM_TENSOR_DRIFT_SCALE, sp->drift_scale, 1, &nd, err) ||
                             nn_meta_set_num(meta, AM_KEY_DRIFT_THRESHOLD, sp->drift_threshold, err)))
        return AM_ERR_ARG;
    if (sp->class_threshold) {
        float th[AM_MAX_CLASSES];
        for (int c = 0; c < kr; c++)
            th[c] = (float)sp->class_threshold[c];
        if (nn_meta_set_tensor(meta, AM_TENSOR_THRESH, th, 1, &kr, err))
            return AM_ERR_ARG;
    }

    if (n_nets > 1) {
        if (nn_meta_set_num(meta, AM_KEY_NETWORKS, n_nets, err))
            return AM_ERR_ARG;
        for (int e = 1; e < n_nets; e++)
            for (int i = 0; i < nn_tensor_count(nets[e]); i++) {
                const nn_tensor_info *ti = nn_tensor_at(nets[e], i);
                char name[64];
                snprintf(name, sizeof name, "%s%d/%s", AM_NET_PREFIX, e, ti->name);
                if (nn_meta_set_tensor(meta, name, nn_tensor_data(nets[e], i), ti->ndim, ti->dims, err))
                    return AM_ERR_ARG;
            }
    }

    /* The self-test: this network's view of a fixed signal, for am_selftest to recompute anywhere. */
    aa_error e;
    am_model *tmp = am_borrow_ensemble(nets, n_nets, sp, &e);
    if (!tmp) {
        if (err)
            *err = e;
        return e.code;
    }
    size_t mel_n = am_mel_size(tmp);
    float *mel = malloc(mel_n * sizeof *mel);
    float logits[AM_MAX_CLASSES];
    rc = mel ? am_selftest_compute(tmp, mel, logits, err) : aa_error_set(err, AM_ERR_NOMEM, "%s: out of memory", path);
    if (!rc) {
        int dims[2] = {n_mels, (int)tmp->n_frames};
        if (nn_meta_set_tensor(meta, AM_TENSOR_ST_MEL, mel, 2, dims, err) ||
            nn_meta_set_tensor(meta, AM_TENSOR_ST_LOGITS, logits, 1, &k, err))
            rc = AM_ERR_ARG;
    }
    am_free(tmp);
    free(mel);
    return rc;
}

/* The networks of an ensemble must be interchangeable: one architecture, one input and output shape. */
static int check_nets(const char *path, nn_model *const *nets, int n, aa_error *err)
{
    if (n < 1 || n > AM_MAX_NETWORKS)
        return aa_error_set(err, AM_ERR_ARG, "%s: %d networks (1..%d)", path, n, AM_MAX_NETWORKS);
    nn_model_info a = nn_model_get_info(nets[0]);
    for (int e = 1; e < n; e++) {
        nn_model_info b = nn_model_get_info(nets[e]);
        if (strcmp(nn_model_arch(nets[e]), nn_model_arch(nets[0])) || a.in_c != b.in_c || a.in_h != b.in_h ||
            a.in_w != b.in_w || a.n_classes != b.n_classes)
            return aa_error_set(err, AM_ERR_ARG, "%s: network %d of the ensemble differs from the first in "
                                "architecture or shape", path, e + 1);
    }
    return 0;
}

int am_save(const char *path, nn_model *net, const am_spec *spec, aa_error *err)
{
    return am_save_ensemble(path, &net, 1, spec, err);
}

int am_save_ensemble(const char *path, nn_model *const *nets, int n, const am_spec *spec, aa_error *err)
{
    int rc = check_nets(path, nets, n, err);
    if (rc || (rc = check_spec(path, nets[0], spec, err)))
        return rc;
    nn_model *net = nets[0];
    nn_meta *meta = nn_meta_new();
    if (!meta)
        return aa_error_set(err, AM_ERR_NOMEM, "%s: out of memory", path);
    rc = put_meta(meta, path, nets, n, spec, err);
    if (!rc && nn_model_save(net, meta, path, err))
        rc = AM_ERR_IO;
    nn_meta_free(meta);
    return rc;
}

static float *copy_tensor(const nn_meta *meta, const char *name, int ndim_want, const int *dims_want)
{
    int ndim = 0, dims[NN_MAX_DIMS];
    const float *t = nn_meta_get_tensor(meta, name, &ndim, dims);
    if (!t || ndim != ndim_want)
        return NULL;
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (dims[i] != dims_want[i])
            return NULL;
        n *= (size_t)dims[i];
    }
    float *out = malloc(n * sizeof *out);
    if (out)
        memcpy(out, t, n * sizeof *out);
    return out;
}

/* The '\n'-separated names of text into names[] (malloc'd; at most AM_MAX_CLASSES + 1 are counted, so
 * too many is seen): the count, or -1 when out of memory. */
static int split_names(const char *text, char **names)
{
    int c = 0;
    for (const char *p = text; p && *p && c <= AM_MAX_CLASSES; c++) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (c < AM_MAX_CLASSES && !(names[c] = strndup(p, len)))
            return -1;
        p = e ? e + 1 : p + len;
    }
    return c;
}

/* The reported classes, their labels and each output's class: from the file's map, or every output as
 * itself when it has none (format 1). */
static int read_map(am_model *m, const char *path, const char *reported, const char *map, aa_error *err)
{
    char shown[128]; /* a stored string quoted in a message: escaped, so the message stays one line */
    if (!reported != !map)
        return aa_error_set(err, AM_ERR_FORMAT, "%s: %s without %s", path, reported ? AM_KEY_REPORTED : AM_KEY_OUTPUT_MAP,
                            reported ? AM_KEY_OUTPUT_MAP : AM_KEY_REPORTED);
    if (!reported) {
        m->n_classes = m->n_outputs;
        for (int o = 0; o < m->n_outputs; o++) {
            m->map[o] = o;
            if (!(m->classes[o] = strdup(m->outputs[o])))
                return aa_error_set(err, AM_ERR_NOMEM, "%s: out of memory", path);
        }
    } else {
        int n = split_names(reported, m->classes);
        if (n < 0)
            return aa_error_set(err, AM_ERR_NOMEM, "%s: out of memory", path);
        if (n < 2 || n > AM_MAX_CLASSES)
            return aa_error_set(err, AM_ERR_FORMAT, "%s: %d reported classes (2..%d)", path, n, AM_MAX_CLASSES);
        m->n_classes = n;
        int used[AM_MAX_CLASSES] = {0}, o = 0;
        const char *p = map;
        for (; o < m->n_outputs; o++) {
            char *end;
            long v = strtol(p, &end, 10);
            if (end == p || (*end && *end != ' ') || v < AM_MAP_UNCLEAR || v >= n)
                return aa_error_set(err, AM_ERR_FORMAT, "%s: output map \"%s\" is not one reported class (or "
                                    "-1) per output", path, aa_printable_into(map, shown, sizeof shown));
            m->map[o] = (int)v;
            if (v >= 0)
                used[v] = 1;
            else
                m->has_unclear = 1;
            p = end;
        }
        while (*p == ' ')
            p++;
        if (*p)
            return aa_error_set(err, AM_ERR_FORMAT, "%s: output map \"%s\" has more entries than the %d outputs",
                                path, aa_printable_into(map, shown, sizeof shown), m->n_outputs);
        for (int c = 0; c < n; c++)
            if (!used[c] || !*m->classes[c])
                return aa_error_set(err, AM_ERR_FORMAT, "%s: reported class %d ('%s') has no output", path, c,
                                    aa_printable_into(m->classes[c], shown, sizeof shown));
    }
    for (int c = 0; c < m->n_classes; c++) {
        char label[256];
        ev_display_name(m->classes[c], label, sizeof label);
        if (!(m->labels[c] = strdup(label)))
            return aa_error_set(err, AM_ERR_NOMEM, "%s: out of memory", path);
    }
    return 0;
}

/* The drift statistics: all three keys or none (a file from before them: no drift verdict, not an error). */
static int read_drift(am_model *m, const char *path, const nn_meta *meta, aa_error *err)
{
    int nd = 2 * m->dsp.n_mels;
    int has_c = nn_meta_get_tensor(meta, AM_TENSOR_DRIFT_CENTRE, NULL, NULL) != NULL,
        has_s = nn_meta_get_tensor(meta, AM_TENSOR_DRIFT_SCALE, NULL, NULL) != NULL;
    double th = 0;
    int has_t = !nn_meta_get_num(meta, AM_KEY_DRIFT_THRESHOLD, &th, NULL);
    if (!has_c && !has_s && !has_t)
        return 0;
    if (!has_c || !has_s || !has_t)
        return aa_error_set(err, AM_ERR_FORMAT, "%s: drift statistics incomplete (%s, %s and %s come together)", path,
                            AM_TENSOR_DRIFT_CENTRE, AM_TENSOR_DRIFT_SCALE, AM_KEY_DRIFT_THRESHOLD);
    m->drift_centre = copy_tensor(meta, AM_TENSOR_DRIFT_CENTRE, 1, &nd);
    m->drift_scale = copy_tensor(meta, AM_TENSOR_DRIFT_SCALE, 1, &nd);
    m->drift_threshold = th;
    const char *problem = !m->drift_centre || !m->drift_scale
                              ? "of the wrong size"
                              : drift_problem(m->drift_centre, m->drift_scale, th, nd);
    if (problem)
        return aa_error_set(err, AM_ERR_FORMAT, "%s: drift statistics %s", path, problem);
    return 0;
}

/* The stored timeline rule: all three keys or none (files from before it was tuned: the defaults). */
static int read_timeline(am_model *m, const char *path, const nn_meta *meta, aa_error *err)
{
    double th = 0, sm = 0, md = 0;
    int has[3] = {!nn_meta_get_num(meta, AM_KEY_TL_THRESHOLD, &th, NULL),
                  !nn_meta_get_num(meta, AM_KEY_TL_SMOOTH, &sm, NULL),
                  !nn_meta_get_num(meta, AM_KEY_TL_MIN_DURATION, &md, NULL)};
    m->timeline = am_timeline_default();
    if (!has[0] && !has[1] && !has[2])
        return 0;
    if (!has[0] || !has[1] || !has[2])
        return aa_error_set(err, AM_ERR_FORMAT, "%s: timeline rule incomplete (%s, %s and %s go together)", path,
                            AM_KEY_TL_THRESHOLD, AM_KEY_TL_SMOOTH, AM_KEY_TL_MIN_DURATION);
    am_timeline t = {.tuned = 1, .threshold = th, .smooth = sm == floor(sm) && fabs(sm) < 1e6 ? (int)sm : 0,
                     .min_duration_s = md};
    aa_error e;
    if (am_timeline_check(&t, &e))
        return aa_error_set(err, AM_ERR_FORMAT, "%s: %s", path, e.msg);
    m->timeline = t;
    return 0;
}

/* Reads the Audio Audit metadata into m (everything but the networks). */
static int read_meta(am_model *m, const char *path, const nn_meta *meta, const nn_model *net, aa_error *err)
{
    char shown[128]; /* a stored string quoted in a message: escaped, so the message stays one line */
    const char *fmt = nn_meta_get_str(meta, AM_KEY_FORMAT);
    int version = 0;
    char name[64];
    if (!fmt || sscanf(fmt, "%63s %d", name, &version) != 2 || strcmp(name, AM_FORMAT_NAME))
        return aa_error_set(err, AM_ERR_FORMAT, "%s: a network file without Audio Audit settings "
                            "(not written by aa-train)", path);
    if (version > AM_FORMAT_VERSION)
        return aa_error_set(err, AM_ERR_FORMAT, "%s: written by a newer Audio Audit (model format %d, this "
                            "build reads up to %d)", path, version, AM_FORMAT_VERSION);
    const char *dsp_text = nn_meta_get_str(meta, AM_KEY_DSP);
    if (!dsp_text)
        return aa_error_set(err, AM_ERR_FORMAT, "%s: front-end settings missing", path);
    if (dsp_settings_parse(dsp_text, strlen(dsp_text), path, &m->dsp, err))
        return AM_ERR_FORMAT;
    m->clip_samples = dsp_clip_samples(&m->dsp);
    m->n_frames = dsp_clip_frames(&m->dsp);

    nn_model_info info = nn_model_get_info(net);
    m->n_outputs = info.n_classes;
    if (info.in_c != 1 || info.in_h != m->dsp.n_mels || (size_t)info.in_w != m->n_frames)
        return aa_error_set(err, AM_ERR_FORMAT, "%s: network input does not match its front-end settings", path);
    if (m->n_outputs < 2 || m->n_outputs > AM_MAX_CLASSES)
        return aa_error_set(err, AM_ERR_FORMAT, "%s: %d classes (2..%d supported)", path, m->n_outputs,
                            AM_MAX_CLASSES);

    int c = split_names(nn_meta_get_str(meta, AM_KEY_CLASSES), m->outputs);
    if (c < 0)
        return aa_error_set(err, AM_ERR_NOMEM, "%s: out of memory", path);
    if (c != m->n_outputs)
        return aa_error_set(err, AM_ERR_FORMAT, "%s: %d class names for %d network outputs", path, c,
                            m->n_outputs);
    if (read_map(m, path, nn_meta_get_str(meta, AM_KEY_REPORTED), nn_meta_get_str(meta, AM_KEY_OUTPUT_MAP), err))
        return err ? err->code : AM_ERR_FORMAT;
    for (int j = 0; j < m->n_classes; j++) {
        const char *problem = class_name_problem((const char *const *)m->classes, j);
        if (problem)
            return aa_error_set(err, AM_ERR_FORMAT, "%s: class %d \"%s\": %s", path, j + 1,
                                aa_printable_into(m->classes[j], shown, sizeof shown), problem);
    }

    if (nn_meta_get_num(meta, AM_KEY_TEMPERATURE, &m->temperature, NULL))
        return aa_error_set(err, AM_ERR_FORMAT, "%s: temperature missing", path);
    if (!(m->temperature >= AM_TEMPERATURE_MIN && m->temperature <= AM_TEMPERATURE_MAX))
        return aa_error_set(err, AM_ERR_FORMAT, "%s: temperature %g outside [%g, %g]", path, m->temperature,
                            AM_TEMPERATURE_MIN, AM_TEMPERATURE_MAX);
    if (nn_meta_get_num(meta, AM_KEY_MIN_CONF, &m->min_confidence, NULL) ||
        !(m->min_confidence >= 0 && m->min_confidence <= 1))
        return aa_error_set(err, AM_ERR_FORMAT, "%s: gate threshold (%s) missing or outside [0, 1]", path,
                            AM_KEY_MIN_CONF);

    const char *agg = nn_meta_get_str(meta, AM_KEY_AGGREGATE);
    m->aggregate = am_aggregate_loudest(); /* files from before the policy was stored were judged this way */
    if (agg && am_aggregate_parse(agg, &m->aggregate, NULL))
        return aa_error_set(err, AM_ERR_FORMAT, "%s: aggregation policy \"%s\" not understood", path,
                            aa_printable_into(agg, shown, sizeof shown));
    const char *task = nn_meta_get_str(meta, AM_KEY_TASK);
    if (!task && version >= 3)
        return aa_error_set(err, AM_ERR_FORMAT, "%s: task (%s) missing", path, AM_KEY_TASK);
    if (task && am_task_parse(task, &m->task))
        return aa_error_set(err, AM_ERR_FORMAT, "%s: task \"%s\" is neither respiratory nor general", path,
                            aa_printable_into(task, shown, sizeof shown));
    if (!task) /* files from before the task was stored: the rule aa-train applies by default */
        m->task = am_task_of_classes((const char *const *)m->classes, m->n_classes);
    if (read_timeline(m, path, meta, err))
        return AM_ERR_FORMAT;

    int n_mels = m->dsp.n_mels, k = m->n_classes, ko = m->n_outputs, mel_dims[2] = {n_mels, (int)m->n_frames};
    m->norm_mean = copy_tensor(meta, AM_TENSOR_MEAN, 1, &n_mels);
    m->norm_std = copy_tensor(meta, AM_TENSOR_STD, 1, &n_mels);
    if (!m->norm_mean || !m->norm_std)
        return aa_error_set(err, AM_ERR_FORMAT, "%s: feature normalisation missing or of the wrong size", path);
    for (int i = 0; i < n_mels; i++)
        if (!isfinite(m->norm_mean[i]) || !(m->norm_std[i] > 0) || !isfinite(m->norm_std[i]))
            return aa_error_set(err, AM_ERR_FORMAT, "%s: normalisation of mel %d is not usable", path, i);
    if (nn_meta_get_tensor(meta, AM_TENSOR_THRESH, NULL, NULL)) {
        float *th = copy_tensor(meta, AM_TENSOR_THRESH, 1, &k);
        if (!th)
            return aa_error_set(err, AM_ERR_FORMAT, "%s: per-class thresholds of the wrong size", path);
        for (int j = 0; j < k; j++)
            m->class_threshold[j] = th[j];
        free(th);
        for (int j = 0; j < k; j++)
            if (!(m->class_threshold[j] >= 0 && m->class_threshold[j] <= 1))
                return aa_error_set(err, AM_ERR_FORMAT, "%s: per-class threshold outside [0, 1]", path);
    }
    if (read_drift(m, path, meta, err))
        return AM_ERR_FORMAT;
    m->st_mel = copy_tensor(meta, AM_TENSOR_ST_MEL, 2, mel_dims);
    m->st_logits = copy_tensor(meta, AM_TENSOR_ST_LOGITS, 1, &ko);
    const char *tj = nn_meta_get_str(meta, AM_KEY_TRAIN_JSON);
    if (tj && !(m->train_json = strdup(tj)))
        return aa_error_set(err, AM_ERR_NOMEM, "%s: out of memory", path);
    if (!(m->arch = strdup(nn_model_arch(net))))
        return aa_error_set(err, AM_ERR_NOMEM, "%s: out of memory", path);
    return 0;
}

/* An empty network shaped as the model's first. */
static nn_model *like(const am_model *m, const nn_model *first, aa_error *err)
{
    return nn_model_new(nn_model_arch(first), 1, m->dsp.n_mels, (int)m->n_frames, m->n_outputs, 1, err);
}

/* The ensemble's other networks (format 3) into slot 0, each tensor found by name and checked for its
 * shape, and no tensor of a network the file does not count. */
static int read_networks(am_model *m, const char *path, const nn_meta *meta, nn_model *first, aa_error *err)
{
    m->n_nets = 1;
    m->slots[0].nets[0] = first;
    double nd = 1;
    int version = 0;
    const char *fmt = nn_meta_get_str(meta, AM_KEY_FORMAT);
    if (fmt)
        sscanf(fmt, "%*63s %d", &version);
    int has = !nn_meta_get_num(meta, AM_KEY_NETWORKS, &nd, NULL);
    if (has && version < 3)
        return aa_error_set(err, AM_ERR_FORMAT, "%s: model format %d with several networks (an ensemble is format "
                            "3)", path, version);
    if (has && !(nd >= 2 && nd <= AM_MAX_NETWORKS && nd == floor(nd)))
        return aa_error_set(err, AM_ERR_FORMAT, "%s: %g networks (2..%d)", path, nd, AM_MAX_NETWORKS);
    int n = (int)nd, tc = nn_tensor_count(first);
    size_t extra = 0, plen = strlen(AM_NET_PREFIX);
    for (int i = 0; i < nn_meta_tensor_count(meta); i++) {
        const char *name = NULL;
        nn_meta_tensor_at(meta, i, &name, NULL, NULL);
        extra += name && !strncmp(name, AM_NET_PREFIX, plen);
    }
    if (extra != (size_t)(n - 1) * (size_t)tc)
        return aa_error_set(err, AM_ERR_FORMAT, "%s: %zu tensors of other networks for an ensemble of %d networks "
                            "of %d tensors", path, extra, n, tc);
    for (int e = 1; e < n; e++) {
        nn_model *net = like(m, first, err);
        if (!net)
            return err ? err->code : AM_ERR_NOMEM;
        m->slots[0].nets[e] = net;
        m->n_nets = e + 1;
        for (int i = 0; i < tc; i++) {
            const nn_tensor_info *ti = nn_tensor_at(net, i);
            char name[64];
            snprintf(name, sizeof name, "%s%d/%s", AM_NET_PREFIX, e, ti->name);
            int ndim = 0, dims[NN_MAX_DIMS];
            const float *t = nn_meta_get_tensor(meta, name, &ndim, dims);
            int same = t && ndim == ti->ndim;
            for (int k = 0; same && k < ndim; k++)
                same = dims[k] == ti->dims[k];
            if (!same)
                return aa_error_set(err, AM_ERR_FORMAT, "%s: network %d of %d: tensor %s %s", path, e + 1, n, ti->name,
                                    t ? "of the wrong shape" : "missing");
            memcpy(nn_tensor_data(net, i), t, ti->count * sizeof *t);
        }
    }
    return 0;
}

am_model *am_load(const char *path, int n_slots, aa_error *err)
{
    if (n_slots < 1 || n_slots > 1024) {
        aa_error_set(err, AM_ERR_ARG, "%s: %d workers requested (1..1024)", path, n_slots);
        return NULL;
    }
    am_model *m = calloc(1, sizeof *m);
    if (!m || !(m->slots = calloc((size_t)n_slots, sizeof *m->slots))) {
        free(m);
        aa_error_set(err, AM_ERR_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    m->n_slots = n_slots;
    nn_meta *meta = NULL;
    nn_model *first = nn_model_load(path, 1, 0, &meta, err);
    if (!first || read_meta(m, path, meta, first, err)) {
        nn_meta_free(meta);
        nn_model_free(first);
        am_free(m);
        return NULL;
    }
    int rc = read_networks(m, path, meta, first, err); /* slot 0 owns first from here */
    nn_meta_free(meta);
    if (rc) {
        am_free(m);
        return NULL;
    }
    if (!(m->path = strdup(path))) {
        aa_error_set(err, AM_ERR_NOMEM, "%s: out of memory", path);
        am_free(m);
        return NULL;
    }
    /* Each worker gets its own copy of the networks: an nn_model serves one thread at a time. Copying the
     * parameters from the first slot's avoids re-reading and re-checking the file. */
    int ti_count = nn_tensor_count(first);
    for (int s = 1; s < n_slots; s++)
        for (int e = 0; e < m->n_nets; e++) {
            nn_model *net = like(m, first, err), *from = m->slots[0].nets[e];
            if (!net) {
                am_free(m);
                return NULL;
            }
            for (int i = 0; i < ti_count; i++)
                memcpy(nn_tensor_data(net, i), nn_tensor_data(from, i), nn_tensor_at(from, i)->count * sizeof(float));
            m->slots[s].nets[e] = net;
        }
    if (am_model_alloc_slots(m, path, err)) {
        am_free(m);
        return NULL;
    }
    return m;
}

int am_model_alloc_slots(am_model *m, const char *what, aa_error *err)
{
    /* malloc'd, not cleared: a 4 s clip touches one window of each, a long recording up to AM_BATCH */
    size_t bytes = (size_t)AM_BATCH * am_mel_size(m) * sizeof(float);
    for (int s = 0; s < m->n_slots; s++) {
        am_slot *sl = &m->slots[s];
        if (!(sl->mels = malloc(bytes)) || !(sl->norm = malloc(bytes)))
            return aa_error_set(err, AM_ERR_NOMEM, "%s: out of memory", what);
    }
    aa_error e;
    if (!(m->logmel = dsp_logmel_new(&m->dsp, m->n_slots, &e))) {
        if (err)
            *err = e;
        return e.code;
    }
    return 0;
}

am_model *am_borrow(nn_model *net, const am_spec *sp, aa_error *err)
{
    return am_borrow_ensemble(&net, 1, sp, err);
}

am_model *am_borrow_ensemble(nn_model *const *nets, int n, const am_spec *sp, aa_error *err)
{
    if (check_nets("model in memory", nets, n, err) || check_spec("model in memory", nets[0], sp, err))
        return NULL;
    nn_model *net = nets[0];
    am_model *m = calloc(1, sizeof *m);
    if (!m || !(m->slots = calloc(1, sizeof *m->slots))) {
        free(m);
        aa_error_set(err, AM_ERR_NOMEM, "out of memory");
        return NULL;
    }
    m->n_slots = 1;
    m->borrowed = 1;
    m->n_nets = n;
    for (int e = 0; e < n; e++)
        m->slots[0].nets[e] = nets[e];
    m->dsp = sp->dsp;
    m->clip_samples = dsp_clip_samples(&sp->dsp);
    m->n_frames = dsp_clip_frames(&sp->dsp);
    m->n_outputs = sp->n_classes;
    m->n_classes = spec_reported(sp);
    m->temperature = sp->temperature;
    m->min_confidence = sp->min_confidence;
    m->aggregate = sp->aggregate;
    m->task = spec_task(sp);
    m->timeline = sp->timeline.tuned ? sp->timeline : am_timeline_default();
    size_t n_mels = (size_t)sp->dsp.n_mels;
    m->norm_mean = malloc(n_mels * sizeof *m->norm_mean);
    m->norm_std = malloc(n_mels * sizeof *m->norm_std);
    m->arch = strdup(nn_model_arch(net));
    int ok = m->norm_mean && m->norm_std && m->arch;
    for (int o = 0; ok && o < m->n_outputs; o++) {
        m->map[o] = sp->output_map ? sp->output_map[o] : o;
        m->has_unclear |= m->map[o] == AM_MAP_UNCLEAR;
        ok = (m->outputs[o] = strdup(sp->classes[o])) != NULL;
    }
    for (int c = 0; ok && c < m->n_classes; c++) {
        char label[256];
        ev_display_name(spec_class(sp, c), label, sizeof label);
        ok = (m->classes[c] = strdup(spec_class(sp, c))) && (m->labels[c] = strdup(label));
        /* stored as a float tensor: the file would give back the float's value */
        m->class_threshold[c] = sp->class_threshold ? (double)(float)sp->class_threshold[c] : 0;
    }
    if (!ok) {
        aa_error_set(err, AM_ERR_NOMEM, "out of memory");
        am_free(m);
        return NULL;
    }
    memcpy(m->norm_mean, sp->norm_mean, n_mels * sizeof *m->norm_mean);
    memcpy(m->norm_std, sp->norm_std, n_mels * sizeof *m->norm_std);
    if (sp->drift_centre) {
        if (!(m->drift_centre = malloc(2 * n_mels * sizeof(float))) || !(m->drift_scale = malloc(2 * n_mels * sizeof(float)))) {
            aa_error_set(err, AM_ERR_NOMEM, "out of memory");
            am_free(m);
            return NULL;
        }
        memcpy(m->drift_centre, sp->drift_centre, 2 * n_mels * sizeof(float));
        memcpy(m->drift_scale, sp->drift_scale, 2 * n_mels * sizeof(float));
        m->drift_threshold = sp->drift_threshold;
    }
    if (am_model_alloc_slots(m, "model in memory", err)) {
        am_free(m);
        return NULL;
    }
    return m;
}

void am_free(am_model *m)
{
    if (!m)
        return;
    for (int s = 0; m->slots && s < m->n_slots; s++) {
        for (int e = 0; !m->borrowed && e < AM_MAX_NETWORKS; e++)
            nn_model_free(m->slots[s].nets[e]);
        free(m->slots[s].mels);
        free(m->slots[s].norm);
    }
    free(m->slots);
    for (int c = 0; c < AM_MAX_CLASSES; c++) {
        free(m->outputs[c]);
        free(m->classes[c]);
        free(m->labels[c]);
    }
    dsp_logmel_free(m->logmel);
    free(m->norm_mean);
    free(m->norm_std);
    free(m->drift_centre);
    free(m->drift_scale);
    free(m->st_mel);
    free(m->st_logits);
    free(m->arch);
    free(m->train_json);
    free(m->path);
    free(m);
}
