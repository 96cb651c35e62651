/* Model <-> file: the architecture, input shape and class count as strings, every parameter and running
 * statistic as a tensor "nn.param.<name>", and the caller's metadata beside them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_file.h"
#include "nn/nn_model.h"

int nn_model_to_meta(const nn_model *m, nn_meta *meta, aa_error *err)
{
    char buf[64];
    int rc = nn_meta_put_str(meta, "nn.arch", m->arch, err);
    snprintf(buf, sizeof buf, "%d %d %d", m->in_c, m->in_h, m->in_w);
    if (!rc)
        rc = nn_meta_put_str(meta, "nn.input", buf, err);
    snprintf(buf, sizeof buf, "%d", m->n_classes);
    if (!rc)
        rc = nn_meta_put_str(meta, "nn.classes", buf, err);
    for (int i = 0; i < m->n_tensors && !rc; i++) {
        const nn_tensor_info *t = &m->tensors[i];
        snprintf(buf, sizeof buf, "nn.param.%s", t->name);
        const float *d = (t->kind == NN_TENSOR_PARAM ? m->params : m->stats) + t->offset;
        rc = nn_meta_put_tensor(meta, buf, d, t->ndim, t->dims, err);
    }
    return rc;
}

static int get_ints(const nn_meta *meta, const char *key, int *v, int n)
{
    const char *s = nn_meta_get_str(meta, key);
    if (!s)
        return -1;
    for (int i = 0; i < n; i++) {
        char *end;
        long x = strtol(s, &end, 10);
        if (end == s || x < 1 || x > (1 << 24))
            return -1;
        v[i] = (int)x;
        s = end;
    }
    return *s == '\0' ? 0 : -1;
}

/* "nn.param.<name>" of tensor i, into buf. */
static const char *name_of(const nn_model *m, int i, char *buf, size_t n)
{
    snprintf(buf, n, "nn.param.%s", m->tensors[i].name);
    return buf;
}

static void shape_text(char *buf, size_t n, int ndim, const int *dims)
{
    size_t len = (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < ndim && len < n; d++)
        len += (size_t)snprintf(buf + len, n - len, "%s%d", d ? "," : "", dims[d]);
    if (len < n)
        snprintf(buf + len, n - len, "]");
}

/* A file whose checksum is right can still hold numbers no network can run on (written by a broken
 * program, or by hand): every parameter and statistic must be finite and every batch-norm variance at
 * least 0 (its square root divides the activations). One line naming the tensor and the first bad entry. */
static int check_values(const nn_model *m, const char *path, aa_error *err)
{
    for (int i = 0; i < m->n_tensors; i++) {
        const nn_tensor_info *t = &m->tensors[i];
        const float *d = nn_tensor_data((nn_model *)m, i);
        size_t len = strlen(t->name);
        int variance = len >= 11 && !strcmp(t->name + len - 11, "running_var");
        for (size_t j = 0; j < t->count; j++) {
            if (!isfinite(d[j]))
                return aa_error_set(err, NN_ERR_FORMAT, "%s: tensor \"%s\" holds %s at entry %zu of %zu", path,
                                    t->name, isnan(d[j]) ? "NaN" : "an infinite value", j, t->count);
            if (variance && d[j] < 0)
                return aa_error_set(err, NN_ERR_FORMAT,
                                    "%s: tensor \"%s\" holds a negative batch-norm variance (%g) at entry %zu", path,
                                    t->name, (double)d[j], j);
        }
    }
    return 0;
}

nn_model *nn_model_from_meta(const nn_meta *meta, const char *path, int max_batch, int in_w, aa_error *err)
{
    const char *arch = nn_meta_get_str(meta, "nn.arch");
    int in[3], classes;
    if (!arch || get_ints(meta, "nn.input", in, 3) || get_ints(meta, "nn.classes", &classes, 1)) {
        aa_error_set(err, NN_ERR_FORMAT, "%s: missing or bad nn.arch / nn.input / nn.classes", path);
        return NULL;
    }
    aa_error e;
    /* The plan names and shapes every tensor; they are checked against the file before any buffer is
     * allocated, so a few bytes of architecture cannot make the loader commit memory the file does not
     * back (the parameters must all be there; the activations are bounded by NN_MAX_SAMPLE_BYTES). */
    nn_model *m = nn_model_plan(arch, in[0], in[1], in_w > 0 ? in_w : in[2], classes, max_batch, 0, &e);
    if (!m) {
        aa_error_set(err, e.code == NN_ERR_NOMEM ? NN_ERR_NOMEM : NN_ERR_MISMATCH, "%s: %s", path, e.msg);
        return NULL;
    }
    char name[80], want[64], got[64];
    int n_file = 0;
    for (int i = 0; i < nn_meta_tensor_count(meta); i++) {
        const char *tn;
        nn_meta_tensor_at(meta, i, &tn, NULL, NULL);
        n_file += strncmp(tn, "nn.param.", 9) == 0;
    }
    for (int i = 0; i < m->n_tensors; i++) {
        const nn_tensor_info *t = &m->tensors[i];
        int ndim, dims[NN_MAX_DIMS];
        const float *d = nn_meta_get_tensor(meta, name_of(m, i, name, sizeof name), &ndim, dims);
        if (!d) {
            aa_error_set(err, NN_ERR_MISMATCH, "%s: missing tensor \"%s\" of architecture \"%s\"", path, t->name, arch);
            nn_model_free(m);
            return NULL;
        }
        int same = ndim == t->ndim;
        for (int k = 0; same && k < ndim; k++)
            same = dims[k] == t->dims[k];
        if (!same) {
            shape_text(got, sizeof got, ndim, dims);
            shape_text(want, sizeof want, t->ndim, t->dims);
            aa_error_set(err, NN_ERR_MISMATCH, "%s: tensor \"%s\" has shape %s, the architecture needs %s", path,
                         t->name, got, want);
            nn_model_free(m);
            return NULL;
        }
    }
    if (n_file != m->n_tensors) {
        aa_error_set(err, NN_ERR_MISMATCH, "%s: %d parameter tensors, the architecture has %d", path, n_file,
                     m->n_tensors);
        nn_model_free(m);
        return NULL;
    }
    /* every tensor is copied from the file below (their count was checked above) */
    if (nn_model_alloc_zero(m, &e) != 0) {
        aa_error_set(err, NN_ERR_NOMEM, "%s: %s", path, e.msg);
        nn_model_free(m);
        return NULL;
    }
    for (int i = 0; i < m->n_tensors; i++)
        memcpy(nn_tensor_data(m, i), nn_meta_get_tensor(meta, name_of(m, i, name, sizeof name), NULL, NULL),
               sizeof(float) * m->tensors[i].count);
    if (check_values(m, path, err)) {
        nn_model_free(m);
        return NULL;
    }
    return m;
}

int nn_model_save(const nn_model *m, const nn_meta *meta, const char *path, aa_error *err)
{
    nn_meta *all = nn_meta_new();
    if (!all)
        return aa_error_set(err, NN_ERR_NOMEM, "%s: out of memory", path);
    int rc = nn_model_to_meta(m, all, err);
    if (!rc)
        rc = nn_meta_copy_user(all, meta, err);
    if (!rc)
        rc = nn_file_write(path, nn_magic_model, all, err);
    nn_meta_free(all);
    return rc;
}

nn_model *nn_model_load(const char *path, int max_batch, int in_w, nn_meta **meta, aa_error *err)
{
    if (meta)
        *meta = NULL;
    nn_meta *all;
    if (nn_file_read(path, nn_magic_model, "model file", &all, err) != 0)
        return NULL;
    nn_model *m = nn_model_from_meta(all, path, max_batch, in_w, err);
    if (m && meta) {
        *meta = nn_meta_new();
        if (!*meta || nn_meta_copy_user(*meta, all, err) != 0) {
            if (!*meta)
                aa_error_set(err, NN_ERR_NOMEM, "%s: out of memory", path);
            nn_meta_free(*meta);
            *meta = NULL;
            nn_model_free(m);
            m = NULL;
        }
    }
    nn_meta_free(all);
    return m;
}
