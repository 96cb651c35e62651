/* The container shared by model files and checkpoints:
 *
 *   offset  size  field
 *   0       8     magic (nn_magic_model or nn_magic_checkpoint)
 *   8       4     format version (NN_FILE_VERSION)
 *   12      4     number of strings
 *   16      4     number of tensors
 *   20      4     reserved, 0
 *   24      8     total file size in bytes, this header and the checksum included
 *   32      ...   strings: u32 key length, key, u32 value length, value (no terminators)
 *           ...   tensors: u32 name length, name, u32 ndim (1..4), u32 dims[ndim], f32 data[product]
 *   size-4  4     CRC-32 of every byte before it
 *
 * All little-endian. The whole file is read into memory (models are well under a few MB; the bounds are
 * NN_MAX_MODEL_FILE and NN_MAX_CHECKPOINT_FILE) and every field is bounds-checked before use. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nn/nn_file.h"

/* Text-mode transfers that mangle line ends or stop at ^Z break the tail of the magic. */
const char nn_magic_model[NN_MAGIC_LEN] = {'A', 'A', 'M', 'O', 'D', '\r', '\n', 0x1a};
const char nn_magic_checkpoint[NN_MAGIC_LEN] = {'A', 'A', 'C', 'K', 'P', '\r', '\n', 0x1a};

#define HEADER 32
/* A model has a few dozen entries (4 per layer at most, and the caller's metadata). */
#define MAX_ENTRIES 4096

static size_t file_size_of(const nn_meta *meta)
{
    size_t n = HEADER + 4;
    for (int i = 0; i < nn_meta_str_count(meta); i++) {
        const char *k, *v;
        nn_meta_str_at(meta, i, &k, &v);
        n += 8 + strlen(k) + strlen(v);
    }
    for (int i = 0; i < nn_meta_tensor_count(meta); i++) {
        const char *name;
        int ndim, dims[NN_MAX_DIMS];
        nn_meta_tensor_at(meta, i, &name, &ndim, dims);
        size_t count = 1;
        for (int d = 0; d < ndim; d++)
            count *= (size_t)dims[d];
        n += 8 + strlen(name) + 4 * (size_t)ndim + 4 * count;
    }
    return n;
}

int nn_file_write(const char *path, const char magic[NN_MAGIC_LEN], const nn_meta *meta, aa_error *err)
{
    if (nn_meta_str_count(meta) > MAX_ENTRIES || nn_meta_tensor_count(meta) > MAX_ENTRIES)
        return aa_error_set(err, NN_ERR_ARG, "%s: %d strings and %d tensors, over the limit of %d each", path,
                            nn_meta_str_count(meta), nn_meta_tensor_count(meta), MAX_ENTRIES);
    const size_t size = file_size_of(meta);
    /* the writer refuses what the reader would */
    const int is_model = memcmp(magic, nn_magic_model, NN_MAGIC_LEN) == 0;
    if (size > (is_model ? NN_MAX_MODEL_FILE : NN_MAX_CHECKPOINT_FILE))
        return aa_error_set(err, NN_ERR_ARG, "%s: %zu bytes, over the %llu MiB such a file can be", path, size,
                            (unsigned long long)((is_model ? NN_MAX_MODEL_FILE : NN_MAX_CHECKPOINT_FILE) >> 20));
    unsigned char *buf = malloc(size), *p = buf;
    if (!buf)
        return aa_error_set(err, NN_ERR_NOMEM, "%s: out of memory (%zu bytes)", path, size);
    memcpy(p, magic, NN_MAGIC_LEN);
    aa_put_u32(p + 8, NN_FILE_VERSION);
    aa_put_u32(p + 12, (uint32_t)nn_meta_str_count(meta));
    aa_put_u32(p + 16, (uint32_t)nn_meta_tensor_count(meta));
    aa_put_u32(p + 20, 0);
    aa_put_u64(p + 24, size);
    p += HEADER;
    for (int i = 0; i < nn_meta_str_count(meta); i++) {
        const char *k, *v;
        nn_meta_str_at(meta, i, &k, &v);
        size_t kl = strlen(k), vl = strlen(v);
        aa_put_u32(p, (uint32_t)kl), memcpy(p + 4, k, kl), p += 4 + kl;
        aa_put_u32(p, (uint32_t)vl), memcpy(p + 4, v, vl), p += 4 + vl;
    }
    for (int i = 0; i < nn_meta_tensor_count(meta); i++) {
        const char *name;
        int ndim, dims[NN_MAX_DIMS];
        const float *data = nn_meta_tensor_at(meta, i, &name, &ndim, dims);
        size_t nl = strlen(name), count = 1;
        aa_put_u32(p, (uint32_t)nl), memcpy(p + 4, name, nl), p += 4 + nl;
        aa_put_u32(p, (uint32_t)ndim), p += 4;
        for (int d = 0; d < ndim; d++)
            aa_put_u32(p, (uint32_t)dims[d]), p += 4, count *= (size_t)dims[d];
        for (size_t j = 0; j < count; j++)
            aa_put_f32(p, data[j]), p += 4;
    }
    aa_put_u32(p, aa_crc32(0, buf, size - 4));
    int rc = aa_write_output(path, buf, size, err); /* "-": standard output */
    free(buf);
    return rc;
}

/* Reads the file into *out (caller frees), at most `limit` bytes: a regular file's size is checked before
 * anything is read; anything else (a pipe, a device) is read until its header shows it is not a file of
 * this magic (/dev/zero, /dev/urandom: after 32 bytes) or until past the limit, never for ever. A folder or
 * a block device is refused at once. 0 or an error code (err set). */
static int slurp(const char *path, const char magic[NN_MAGIC_LEN], const char *what, uint64_t limit,
                 unsigned char **out, size_t *size, aa_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return aa_error_set(err, NN_ERR_IO, "%s: cannot open (%s)", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        int e = errno;
        fclose(f);
        return aa_error_set(err, NN_ERR_IO, "%s: cannot open (%s)", path, strerror(e));
    }
    if (S_ISDIR(st.st_mode) || S_ISBLK(st.st_mode)) {
        fclose(f);
        return aa_error_set(err, NN_ERR_IO, "%s: not a %s (%s)", path, what,
                            S_ISDIR(st.st_mode) ? "a directory" : "a block device");
    }
    const int regular = S_ISREG(st.st_mode);
    if (regular && (uint64_t)st.st_size > limit) {
        fclose(f);
        return aa_error_set(err, NN_ERR_FORMAT, "%s: %llu bytes, over the %llu MiB a %s can be", path,
                            (unsigned long long)st.st_size, (unsigned long long)(limit >> 20), what);
    }
    size_t cap = regular ? (size_t)st.st_size + 1 : 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    int over = 0;
    while (buf) {
        if (n == cap) {
            if (n > limit) {
                over = 1;
                break;
            }
            size_t want = cap * 2 > limit + 1 ? (size_t)limit + 1 : cap * 2;
            unsigned char *b = realloc(buf, want);
            if (!b) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = b, cap = want;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
        /* a stream that does not start as this kind of file is not read further */
        if (!regular && n >= NN_MAGIC_LEN && memcmp(buf, magic, NN_MAGIC_LEN) != 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf)
        return aa_error_set(err, NN_ERR_NOMEM, "%s: out of memory while reading", path);
    if (over || n > limit) {
        free(buf);
        return aa_error_set(err, NN_ERR_FORMAT, "%s: more than the %llu MiB a %s can be", path,
                            (unsigned long long)(limit >> 20), what);
    }
    if (bad) {
        free(buf);
        return aa_error_set(err, NN_ERR_IO, "%s: read error", path);
    }
    *out = buf;
    *size = n;
    return 0;
}

/* A cursor over the payload that refuses to read past its end. */
typedef struct {
    const unsigned char *p, *end;
} cursor;

static int take(cursor *c, size_t n, const unsigned char **out)
{
    if ((size_t)(c->end - c->p) < n)
        return -1;
    *out = c->p;
    c->p += n;
    return 0;
}

static int take_u32(cursor *c, uint32_t *v)
{
    const unsigned char *q;
    if (take(c, 4, &q))
        return -1;
    *v = aa_get_u32(q);
    return 0;
}

/* Copies a length-prefixed name into buf (NUL-terminated). Names are printable ASCII (nn_meta's rule), so
 * a message may quote one: a NUL or a control byte read from a damaged file is refused here. */
static int take_name(cursor *c, char *buf, size_t cap)
{
    uint32_t n;
    const unsigned char *q;
    if (take_u32(c, &n) || n == 0 || n >= cap || take(c, n, &q))
        return -1;
    for (uint32_t i = 0; i < n; i++)
        if (q[i] < 0x20 || q[i] > 0x7e)
            return -1;
    memcpy(buf, q, n);
    buf[n] = '\0';
    return 0;
}

static int parse(const unsigned char *buf, size_t size, nn_meta *meta, const char *path, aa_error *err)
{
    const uint32_t ns = aa_get_u32(buf + 12), nt = aa_get_u32(buf + 16);
    cursor c = {buf + HEADER, buf + size - 4};
    char key[64];
    for (uint32_t i = 0; i < ns; i++) {
        uint32_t vl;
        const unsigned char *v;
        if (take_name(&c, key, sizeof key) || take_u32(&c, &vl) || take(&c, vl, &v))
            return aa_error_set(err, NN_ERR_FORMAT, "%s: malformed string entry %u of %u", path, i + 1, ns);
        char *value = malloc((size_t)vl + 1);
        if (!value)
            return aa_error_set(err, NN_ERR_NOMEM, "%s: out of memory", path);
        memcpy(value, v, vl);
        value[vl] = '\0';
        int rc = strlen(value) != vl ? aa_error_set(err, NN_ERR_FORMAT, "%s: string \"%s\" holds a NUL byte", path, key)
                                     : nn_meta_put_str(meta, key, value, err);
        free(value);
        if (rc)
            return rc == NN_ERR_NOMEM ? rc : aa_error_set(err, NN_ERR_FORMAT, "%s: bad string entry \"%s\"", path, key);
    }
    for (uint32_t i = 0; i < nt; i++) {
        uint32_t ndim, d32;
        int dims[NN_MAX_DIMS];
        size_t count = 1;
        const unsigned char *q;
        if (take_name(&c, key, sizeof key) || take_u32(&c, &ndim) || ndim < 1 || ndim > NN_MAX_DIMS)
            return aa_error_set(err, NN_ERR_FORMAT, "%s: malformed tensor entry %u of %u", path, i + 1, nt);
        for (uint32_t d = 0; d < ndim; d++) {
            if (take_u32(&c, &d32) || d32 < 1 || d32 > (1u << 30) || count > (size / 4) / d32)
                return aa_error_set(err, NN_ERR_FORMAT, "%s: tensor \"%s\" has a bad shape", path, key);
            dims[d] = (int)d32;
            count *= d32;
        }
        if (take(&c, 4 * count, &q))
            return aa_error_set(err, NN_ERR_FORMAT, "%s: tensor \"%s\" runs past the end of the file", path, key);
        float *data = malloc(sizeof *data * count);
        if (!data)
            return aa_error_set(err, NN_ERR_NOMEM, "%s: out of memory (tensor \"%s\")", path, key);
        for (size_t j = 0; j < count; j++)
            data[j] = aa_get_f32(q + 4 * j);
        int rc = nn_meta_put_tensor(meta, key, data, (int)ndim, dims, err);
        free(data);
        if (rc)
            return rc == NN_ERR_NOMEM ? rc : aa_error_set(err, NN_ERR_FORMAT, "%s: bad tensor entry \"%s\"", path, key);
    }
    if (c.p != c.end)
        return aa_error_set(err, NN_ERR_FORMAT, "%s: %zu unexplained bytes after the last entry", path,
                            (size_t)(c.end - c.p));
    return 0;
}

int nn_file_read(const char *path, const char magic[NN_MAGIC_LEN], const char *what, nn_meta **out,
                 aa_error *err)
{
    *out = NULL;
    size_t size = 0;
    unsigned char *buf = NULL;
    const int is_model = memcmp(magic, nn_magic_model, NN_MAGIC_LEN) == 0;
    int rc = slurp(path, magic, what, is_model ? NN_MAX_MODEL_FILE : NN_MAX_CHECKPOINT_FILE, &buf, &size, err);
    if (rc)
        return rc;
    const char *other = is_model ? nn_magic_checkpoint : nn_magic_model;
    const char *other_what = is_model ? "training checkpoint" : "model file";
    size_t cmp = size < NN_MAGIC_LEN ? size : NN_MAGIC_LEN;
    if (size == 0)
        rc = aa_error_set(err, NN_ERR_TRUNCATED, "%s: empty file", path);
    else if (memcmp(buf, magic, cmp) != 0)
        rc = memcmp(buf, other, cmp) == 0 && size >= NN_MAGIC_LEN
                 ? aa_error_set(err, NN_ERR_FORMAT, "%s: not an Audio Audit %s (it is a %s)", path, what, other_what)
                 : aa_error_set(err, NN_ERR_FORMAT, "%s: not an Audio Audit %s (wrong magic)", path, what);
    else if (size < HEADER + 4)
        rc = aa_error_set(err, NN_ERR_TRUNCATED, "%s: truncated (expected at least %d bytes, got %zu)", path,
                          HEADER + 4, size);
    if (rc) {
        free(buf);
        return rc;
    }
    const uint32_t version = aa_get_u32(buf + 8);
    const uint64_t declared = aa_get_u64(buf + 24);
    if (version > NN_FILE_VERSION)
        rc = aa_error_set(err, NN_ERR_VERSION, "%s: format version %u is newer than this program reads (%d); "
                          "use a newer Audio Audit", path, version, NN_FILE_VERSION);
    else if (version == 0)
        rc = aa_error_set(err, NN_ERR_FORMAT, "%s: format version 0 is invalid", path);
    else if (declared > size)
        rc = aa_error_set(err, NN_ERR_TRUNCATED, "%s: truncated (expected %llu bytes, got %zu)", path,
                          (unsigned long long)declared, size);
    else if (declared < size)
        rc = aa_error_set(err, NN_ERR_FORMAT, "%s: %zu unexpected bytes after the end (expected %llu bytes)", path,
                          size - (size_t)declared, (unsigned long long)declared);
    else if (aa_crc32(0, buf, size - 4) != aa_get_u32(buf + size - 4))
        rc = aa_error_set(err, NN_ERR_CHECKSUM, "%s: checksum mismatch (the file is corrupted)", path);
    /* Entries are looked up by name as they are added: a file of a million tiny entries would take hours. */
    else if (aa_get_u32(buf + 12) > MAX_ENTRIES || aa_get_u32(buf + 16) > MAX_ENTRIES)
        rc = aa_error_set(err, NN_ERR_FORMAT, "%s: %u strings and %u tensors, over the limit of %d each", path,
                          aa_get_u32(buf + 12), aa_get_u32(buf + 16), MAX_ENTRIES);
    if (rc) {
        free(buf);
        return rc;
    }
    nn_meta *meta = nn_meta_new();
    if (!meta)
        rc = aa_error_set(err, NN_ERR_NOMEM, "%s: out of memory", path);
    else
        rc = parse(buf, size, meta, path, err);
    free(buf);
    if (rc) {
        nn_meta_free(meta);
        return rc;
    }
    *out = meta;
    return 0;
}
