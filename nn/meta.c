/* nn_meta: the key/value strings and named tensors that model files and checkpoints carry. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_file.h"

#define KEY_MAX 63
#define VALUE_MAX (1u << 24)

typedef struct {
    char key[KEY_MAX + 1];
    char *value;
} meta_str;

typedef struct {
    char name[KEY_MAX + 1];
    int ndim;
    int dims[NN_MAX_DIMS];
    size_t count;
    float *data;
} meta_tensor;

struct nn_meta {
    meta_str *s;
    int ns, cap_s;
    meta_tensor *t;
    int nt, cap_t;
};

nn_meta *nn_meta_new(void)
{
    return calloc(1, sizeof(nn_meta));
}

void nn_meta_free(nn_meta *meta)
{
    if (!meta)
        return;
    for (int i = 0; i < meta->ns; i++)
        free(meta->s[i].value);
    for (int i = 0; i < meta->nt; i++)
        free(meta->t[i].data);
    free(meta->s);
    free(meta->t);
    free(meta);
}

static int check_key(const char *key, const char *what, int allow_reserved, aa_error *err)
{
    size_t n = key ? strlen(key) : 0;
    if (n < 1 || n > KEY_MAX)
        return aa_error_set(err, NN_ERR_ARG, "metadata: %s \"%.80s\" must be 1..%d bytes", what, key ? key : "",
                            KEY_MAX);
    for (size_t i = 0; i < n; i++)
        if (key[i] < 0x20 || key[i] > 0x7e)
            return aa_error_set(err, NN_ERR_ARG, "metadata: %s \"%.80s\" has a non-printable byte", what, key);
    if (!allow_reserved && strncmp(key, "nn.", 3) == 0)
        return aa_error_set(err, NN_ERR_ARG, "metadata: %s \"%s\" is reserved (\"nn.\" prefix)", what, key);
    return 0;
}

static int find_str(const nn_meta *meta, const char *key)
{
    for (int i = 0; i < meta->ns; i++)
        if (strcmp(meta->s[i].key, key) == 0)
            return i;
    return -1;
}

static int find_tensor(const nn_meta *meta, const char *name)
{
    for (int i = 0; i < meta->nt; i++)
        if (strcmp(meta->t[i].name, name) == 0)
            return i;
    return -1;
}

static int put_str(nn_meta *meta, const char *key, const char *value, int reserved_ok, aa_error *err)
{
    int rc = check_key(key, "key", reserved_ok, err);
    if (rc)
        return rc;
    if (!value || strlen(value) > VALUE_MAX)
        return aa_error_set(err, NN_ERR_ARG, "metadata: value of \"%s\" missing or longer than %u bytes", key,
                            VALUE_MAX);
    char *v = strdup(value);
    if (!v)
        return aa_error_set(err, NN_ERR_NOMEM, "metadata: out of memory");
    int i = find_str(meta, key);
    if (i >= 0) {
        free(meta->s[i].value);
        meta->s[i].value = v;
        return 0;
    }
    if (meta->ns == meta->cap_s) {
        int cap = meta->cap_s ? 2 * meta->cap_s : 16;
        meta_str *s = realloc(meta->s, sizeof *s * (size_t)cap);
        if (!s) {
            free(v);
            return aa_error_set(err, NN_ERR_NOMEM, "metadata: out of memory");
        }
        meta->s = s, meta->cap_s = cap;
    }
    meta_str *e = &meta->s[meta->ns++];
    snprintf(e->key, sizeof e->key, "%s", key);
    e->value = v;
    return 0;
}

static int put_tensor(nn_meta *meta, const char *name, const float *data, int ndim, const int *dims,
                      int reserved_ok, aa_error *err)
{
    int rc = check_key(name, "tensor name", reserved_ok, err);
    if (rc)
        return rc;
    if (ndim < 1 || ndim > NN_MAX_DIMS || !dims || !data)
        return aa_error_set(err, NN_ERR_ARG, "metadata: tensor \"%s\" needs 1..%d dimensions and data", name,
                            NN_MAX_DIMS);
    size_t count = 1;
    for (int d = 0; d < ndim; d++) {
        if (dims[d] < 1 || count > ((size_t)1 << 40) / (size_t)dims[d])
            return aa_error_set(err, NN_ERR_ARG, "metadata: tensor \"%s\" dimension %d is %d", name, d, dims[d]);
        count *= (size_t)dims[d];
    }
    float *copy = malloc(sizeof *copy * count);
    if (!copy)
        return aa_error_set(err, NN_ERR_NOMEM, "metadata: out of memory (tensor \"%s\")", name);
    memcpy(copy, data, sizeof *copy * count);
    int i = find_tensor(meta, name);
    if (i < 0) {
        if (meta->nt == meta->cap_t) {
            int cap = meta->cap_t ? 2 * meta->cap_t : 16;
            meta_tensor *t = realloc(meta->t, sizeof *t * (size_t)cap);
            if (!t) {
                free(copy);
                return aa_error_set(err, NN_ERR_NOMEM, "metadata: out of memory");
            }
            meta->t = t, meta->cap_t = cap;
        }
        i = meta->nt++;
        snprintf(meta->t[i].name, sizeof meta->t[i].name, "%s", name);
    } else {
        free(meta->t[i].data);
    }
    meta_tensor *e = &meta->t[i];
    e->ndim = ndim;
    for (int d = 0; d < NN_MAX_DIMS; d++)
        e->dims[d] = d < ndim ? dims[d] : 0;
    e->count = count;
    e->data = copy;
    return 0;
}

int nn_meta_set_str(nn_meta *meta, const char *key, const char *value, aa_error *err)
{
    return put_str(meta, key, value, 0, err);
}

int nn_meta_put_str(nn_meta *meta, const char *key, const char *value, aa_error *err)
{
    return put_str(meta, key, value, 1, err);
}

const char *nn_meta_get_str(const nn_meta *meta, const char *key)
{
    int i = meta && key ? find_str(meta, key) : -1;
    return i >= 0 ? meta->s[i].value : NULL;
}

int nn_meta_set_num(nn_meta *meta, const char *key, double value, aa_error *err)
{
    char buf[40];
    snprintf(buf, sizeof buf, "%.17g", value);
    return put_str(meta, key, buf, 0, err);
}

int nn_meta_get_num(const nn_meta *meta, const char *key, double *value, aa_error *err)
{
    const char *s = nn_meta_get_str(meta, key);
    if (!s)
        return aa_error_set(err, NN_ERR_ARG, "metadata: no \"%s\"", key);
    char *end, shown[48];
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno == ERANGE) /* the value is quoted escaped: the message stays one line */
        return aa_error_set(err, NN_ERR_ARG, "metadata: \"%s\" is not a number (\"%s\")", key,
                            aa_printable_into(s, shown, sizeof shown));
    *value = v;
    return 0;
}

int nn_meta_set_tensor(nn_meta *meta, const char *name, const float *data, int ndim, const int *dims,
                       aa_error *err)
{
    return put_tensor(meta, name, data, ndim, dims, 0, err);
}

int nn_meta_put_tensor(nn_meta *meta, const char *name, const float *data, int ndim, const int *dims,
                       aa_error *err)
{
    return put_tensor(meta, name, data, ndim, dims, 1, err);
}

static const float *tensor_out(const meta_tensor *e, int *ndim, int *dims)
{
    if (ndim)
        *ndim = e->ndim;
    if (dims)
        for (int d = 0; d < NN_MAX_DIMS; d++)
            dims[d] = e->dims[d];
    return e->data;
}

const float *nn_meta_get_tensor(const nn_meta *meta, const char *name, int *ndim, int *dims)
{
    int i = meta && name ? find_tensor(meta, name) : -1;
    return i >= 0 ? tensor_out(&meta->t[i], ndim, dims) : NULL;
}

int nn_meta_str_count(const nn_meta *meta)
{
    return meta ? meta->ns : 0;
}

void nn_meta_str_at(const nn_meta *meta, int i, const char **key, const char **value)
{
    *key = meta->s[i].key;
    *value = meta->s[i].value;
}

int nn_meta_tensor_count(const nn_meta *meta)
{
    return meta ? meta->nt : 0;
}

const float *nn_meta_tensor_at(const nn_meta *meta, int i, const char **name, int *ndim, int *dims)
{
    if (name)
        *name = meta->t[i].name;
    return tensor_out(&meta->t[i], ndim, dims);
}

int nn_meta_copy_user(nn_meta *dst, const nn_meta *src, aa_error *err)
{
    if (!src)
        return 0;
    for (int i = 0; i < src->ns; i++)
        if (strncmp(src->s[i].key, "nn.", 3) != 0) {
            int rc = put_str(dst, src->s[i].key, src->s[i].value, 0, err);
            if (rc)
                return rc;
        }
    for (int i = 0; i < src->nt; i++)
        if (strncmp(src->t[i].name, "nn.", 3) != 0) {
            const meta_tensor *e = &src->t[i];
            int rc = put_tensor(dst, e->name, e->data, e->ndim, e->dims, 0, err);
            if (rc)
                return rc;
        }
    return 0;
}
