/* The feature cache file: writing, reading (trusting nothing) and checking it against a listing.
 *
 * Layout, little-endian:
 *   0   magic "AACACHE\0"
 *   8   u32 format version (2)            12  u32 reserved (0)
 *   16  u64 header_len: bytes before the header checksum
 *   24  u64 file_size: the whole file, so truncation is named as such rather than as a checksum mismatch
 *   32  str DSP settings text (dsp_settings_format)        str = u32 length + bytes
 *       f64 window hop seconds, u32 windows per file cap, u32 n_mels, u32 n_frames
 *       u32 n_classes, str each;  u64 n_groups, str each
 *       u64 n_files, each: str rel, i64 size, i64 mtime_ns, u32 class, u32 status, u64 group, u64 n_samples,
 *           u64 n_windows, str reason (empty when not skipped)
 *       u64 n_windows, each: u32 class, u32 reserved, u64 group, u64 file, u64 offset
 *   header_len  u32 CRC32 of bytes [0, header_len)
 *   then, for each file not skipped, in file order, its n_samples f32 (the decoded signal at the model
 *   rate), then u32 CRC32 of every byte before it.
 * The header has its own checksum so that it is known sound before any count in it is believed, and so that
 * a stale cache is refused without reading its signals. Version 1 held each window's log-mel where the
 * signals are now; the features are computed from the signals at load instead (datasets.h says why). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "datasets/cache_internal.h"

static const unsigned char MAGIC[8] = {'A', 'A', 'C', 'A', 'C', 'H', 'E', '\0'};
#define VERSION 2u
#define FIXED_HEAD 32
#define FILE_REC_MIN (4 + 8 + 8 + 4 + 4 + 8 + 8 + 8 + 4)
#define WINDOW_REC 32
/* Signals are converted and checksummed through a buffer of this many floats. */
#define CHUNK 16384

/* ---- writing ------------------------------------------------------------------------------------------ */

static void bb_u32(aa_buf *b, uint32_t v)
{
    unsigned char *p = aa_buf_room(b, 4);
    if (p)
        aa_put_u32(p, v);
}

static void bb_u64(aa_buf *b, uint64_t v)
{
    unsigned char *p = aa_buf_room(b, 8);
    if (p)
        aa_put_u64(p, v);
}

static void bb_bytes(aa_buf *b, const void *d, size_t n)
{
    bb_u32(b, (uint32_t)n);
    unsigned char *p = aa_buf_room(b, n);
    if (p && n)
        memcpy(p, d, n);
}

static void bb_str(aa_buf *b, const char *s)
{
    bb_bytes(b, s ? s : "", s ? strlen(s) : 0);
}

static uint64_t f64_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static double bits_f64(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

int ds_cache_write(const ds_cache *c, const char *path, aa_error *err)
{
    aa_buf b = {0};
    char settings[DSP_SETTINGS_TEXT_MAX];
    size_t slen = dsp_settings_format(&c->dsp, settings, sizeof settings);
    unsigned char *head = aa_buf_room(&b, FIXED_HEAD);
    bb_bytes(&b, settings, slen < sizeof settings ? slen : sizeof settings - 1);
    bb_u64(&b, f64_bits(c->win.hop_seconds));
    bb_u32(&b, (uint32_t)c->win.max_per_file);
    bb_u32(&b, (uint32_t)c->n_mels);
    bb_u32(&b, (uint32_t)c->n_frames);
    bb_u32(&b, (uint32_t)c->n_classes);
    for (int k = 0; k < c->n_classes; k++)
        bb_str(&b, c->classes[k]);
    bb_u64(&b, c->n_groups);
    for (size_t g = 0; g < c->n_groups; g++)
        bb_str(&b, c->groups[g]);
    bb_u64(&b, c->n_files);
    for (size_t f = 0; f < c->n_files; f++) {
        const ds_cache_file *cf = &c->files[f];
        bb_str(&b, cf->rel);
        bb_u64(&b, (uint64_t)cf->size);
        bb_u64(&b, (uint64_t)cf->mtime_ns);
        bb_u32(&b, (uint32_t)cf->cls);
        bb_u32(&b, (uint32_t)cf->status);
        bb_u64(&b, cf->group);
        bb_u64(&b, cf->n_samples);
        bb_u64(&b, cf->n_windows);
        bb_str(&b, cf->reason);
    }
    bb_u64(&b, c->n_windows);
    for (size_t w = 0; w < c->n_windows; w++) {
        const ds_window *win = &c->windows[w];
        bb_u32(&b, (uint32_t)win->cls);
        bb_u32(&b, 0);
        bb_u64(&b, win->group);
        bb_u64(&b, win->file);
        bb_u64(&b, win->offset);
    }
    if (b.oom) {
        free(b.s);
        return aa_error_set(err, DS_ERR_NOMEM, "%s: out of memory writing the cache header", path);
    }
    head = (unsigned char *)b.s; /* the buffer may have moved */
    uint64_t samples = 0;
    for (size_t f = 0; f < c->n_files; f++)
        samples += c->files[f].status ? 0 : c->files[f].n_samples;
    uint64_t header_len = b.len, file_size = header_len + 4 + samples * 4 + 4;
    memcpy(head, MAGIC, 8);
    aa_put_u32(head + 8, VERSION);
    aa_put_u32(head + 12, 0);
    aa_put_u64(head + 16, header_len);
    aa_put_u64(head + 24, file_size);
    uint32_t hcrc = aa_crc32(0, b.s, b.len);
    bb_u32(&b, hcrc);
    if (b.oom) {
        free(b.s);
        return aa_error_set(err, DS_ERR_NOMEM, "%s: out of memory writing the cache header", path);
    }

    aa_error e;
    aa_afile *af = aa_afile_open(path, &e);
    if (!af) {
        free(b.s);
        return aa_error_set(err, e.code, "%s", e.msg);
    }
    FILE *fp = aa_afile_stream(af);
    uint32_t crc = aa_crc32(0, b.s, b.len);
    int ok = fwrite(b.s, 1, b.len, fp) == b.len;
    free(b.s);
    unsigned char *chunk = malloc(CHUNK * 4);
    if (!chunk) {
        aa_afile_abort(af);
        return aa_error_set(err, DS_ERR_NOMEM, "%s: out of memory", path);
    }
    for (size_t f = 0; ok && f < c->n_files; f++) {
        if (c->files[f].status)
            continue;
        const float *x = c->signal ? c->signal[f] : NULL;
        size_t count = (size_t)c->files[f].n_samples;
        if (!x) {
            free(chunk);
            aa_afile_abort(af);
            return aa_error_set(err, DS_ERR_ARG, "%s: the signal of %s was released before the cache was written",
                                path, c->files[f].rel);
        }
        for (size_t at = 0; ok && at < count; at += CHUNK) {
            size_t m = count - at < CHUNK ? count - at : CHUNK;
            for (size_t i = 0; i < m; i++)
                aa_put_f32(chunk + 4 * i, x[at + i]);
            crc = aa_crc32(crc, chunk, 4 * m);
            ok = fwrite(chunk, 1, 4 * m, fp) == 4 * m;
        }
    }
    free(chunk);
    unsigned char tail[4];
    aa_put_u32(tail, crc);
    ok = ok && fwrite(tail, 1, 4, fp) == 4;
    if (!ok) {
        int en = errno;
        aa_afile_abort(af);
        return aa_error_set(err, DS_ERR_IO, "%s: write failed (%s)", path, strerror(en));
    }
    if (aa_afile_commit(af, &e))
        return aa_error_set(err, DS_ERR_IO, "%s", e.msg);
    return 0;
}

/* ---- reading ------------------------------------------------------------------------------------------ */

typedef struct {
    const unsigned char *p;
    size_t n, at;
    int bad;
} cursor;

static const unsigned char *cur_take(cursor *c, size_t n)
{
    if (c->bad || n > c->n - c->at) {
        c->bad = 1;
        return NULL;
    }
    const unsigned char *p = c->p + c->at;
    c->at += n;
    return p;
}

static uint32_t cur_u32(cursor *c)
{
    const unsigned char *p = cur_take(c, 4);
    return p ? aa_get_u32(p) : 0;
}

static uint64_t cur_u64(cursor *c)
{
    const unsigned char *p = cur_take(c, 8);
    return p ? aa_get_u64(p) : 0;
}

/* A malloc'd NUL-terminated copy of the next string; NULL (and c->bad or *oom) on failure. An embedded NUL
 * makes the header inconsistent: every string written came from a C string. */
static char *cur_str(cursor *c, int *oom)
{
    uint32_t n = cur_u32(c);
    const unsigned char *p = cur_take(c, n);
    if (!p)
        return NULL;
    if (memchr(p, 0, n)) {
        c->bad = 1;
        return NULL;
    }
    char *s = malloc((size_t)n + 1);
    if (!s) {
        *oom = 1;
        return NULL;
    }
    memcpy(s, p, n);
    s[n] = 0;
    return s;
}

/* Whether each decoded file's windows are the ones ds_window_plan gives for its length: the features are
 * computed at these offsets, so a cache whose offsets were not planned for its files is not one we wrote. */
static int windows_follow_plan(const ds_cache *c)
{
    size_t most = 0;
    for (size_t f = 0; f < c->n_files; f++)
        most = c->files[f].n_windows > most ? c->files[f].n_windows : most;
    size_t *plan = malloc((most ? most : 1) * sizeof *plan);
    if (!plan)
        return -1;
    int ok = 1;
    for (size_t f = 0; ok && f < c->n_files; f++) {
        const ds_cache_file *cf = &c->files[f];
        if (cf->status)
            continue;
        ok = ds_window_plan(&c->dsp, &c->win, (size_t)cf->n_samples, plan, most) == cf->n_windows;
        for (size_t k = 0; ok && k < cf->n_windows; k++)
            ok = c->windows[cf->first_window + k].offset == plan[k];
    }
    free(plan);
    return ok;
}

/* Parses the header (already checksummed) into c; DS_ERR_CACHE_CORRUPT naming what is inconsistent.
 * max_samples: how many float32 samples the rest of the file has room for. */
static int parse_header(ds_cache *c, cursor *cu, uint64_t max_samples, const char *path, aa_error *err)
{
    int oom = 0;
    cu->at = FIXED_HEAD;
    uint32_t slen = cur_u32(cu);
    const unsigned char *stext = cur_take(cu, slen);
    if (!stext)
        return aa_error_set(err, DS_ERR_CACHE_CORRUPT, "%s: corrupt feature cache (settings overrun the header)",
                            path);
    aa_error e;
    if (dsp_settings_parse((const char *)stext, slen, path, &c->dsp, &e))
        return aa_error_set(err, DS_ERR_CACHE_CORRUPT, "%s: corrupt feature cache (%s)", path, e.msg);
    c->win.hop_seconds = bits_f64(cur_u64(cu));
    c->win.max_per_file = (int)cur_u32(cu);
    c->n_mels = cur_u32(cu);
    c->n_frames = cur_u32(cu);
    if (cu->bad || ds_window_opts_validate(&c->win, &c->dsp, NULL) || c->n_mels != (size_t)c->dsp.n_mels ||
        c->n_frames != dsp_clip_frames(&c->dsp))
        return aa_error_set(err, DS_ERR_CACHE_CORRUPT,
                            "%s: corrupt feature cache (window options or feature shape inconsistent)", path);
    uint32_t nc = cur_u32(cu);
    if (cu->bad || nc > (cu->n - cu->at) / 4)
        return aa_error_set(err, DS_ERR_CACHE_CORRUPT, "%s: corrupt feature cache (class count %u)", path, nc);
    if (!(c->classes = calloc(nc ? nc : 1, sizeof *c->classes)))
        return aa_error_set(err, DS_ERR_NOMEM, "%s: out of memory", path);
    for (; (uint32_t)c->n_classes < nc; c->n_classes++)
        if (!(c->classes[c->n_classes] = cur_str(cu, &oom)))
            goto bad;
    uint64_t ng = cur_u64(cu);
    if (cu->bad || ng > (cu->n - cu->at) / 4)
        return aa_error_set(err, DS_ERR_CACHE_CORRUPT, "%s: corrupt feature cache (group count %llu)", path,
                            (unsigned long long)ng);
    if (!(c->groups = calloc(ng ? ng : 1, sizeof *c->groups)))
        return aa_error_set(err, DS_ERR_NOMEM, "%s: out of memory", path);
    for (; c->n_groups < ng; c->n_groups++)
        if (!(c->groups[c->n_groups] = cur_str(cu, &oom)))
            goto bad;
    uint64_t nf = cur_u64(cu);
    if (cu->bad || nf > (cu->n - cu->at) / FILE_REC_MIN)
        return aa_error_set(err, DS_ERR_CACHE_CORRUPT, "%s: corrupt feature cache (file count %llu)", path,
                            (unsigned long long)nf);
    if (!(c->files = calloc(nf ? nf : 1, sizeof *c->files)) ||
        !(c->signal = calloc(nf ? nf : 1, sizeof *c->signal)))
        return aa_error_set(err, DS_ERR_NOMEM, "%s: out of memory", path);
    uint64_t samples = 0;
    while (c->n_files < nf) {
        /* counted before it is read, so that ds_cache_free frees a record the checks below stop half-way */
        ds_cache_file *f = &c->files[c->n_files++];
        if (!(f->rel = cur_str(cu, &oom)))
            goto bad;
        f->size = (int64_t)cur_u64(cu);
        f->mtime_ns = (int64_t)cur_u64(cu);
        uint32_t cls = cur_u32(cu), status = cur_u32(cu);
        f->group = cur_u64(cu);
        f->n_samples = cur_u64(cu);
        uint64_t nw = cur_u64(cu);
        char *reason = cur_str(cu, &oom);
        if (!reason)
            goto bad;
        f->cls = (int)cls;
        f->status = (int)status;
        f->n_windows = nw;
        if (*reason)
            f->reason = reason;
        else
            free(reason);
        /* A file is either decoded (status 0, no reason, samples, 1..cap windows) or skipped (a status, a
         * reason, no sample, no window): anything else was not written by ds_cache_write. The samples must
         * fit in what follows the header, which also bounds the window plan checked below. */
        int skipped = status != 0;
        if (cls >= nc || f->group >= ng || skipped != (f->reason != NULL) ||
            (skipped ? nw != 0 || f->n_samples != 0
                     : (nw < 1 || nw > (uint64_t)c->win.max_per_file || f->n_samples == 0 ||
                        f->n_samples > max_samples - samples)))
            return aa_error_set(err, DS_ERR_CACHE_CORRUPT, "%s: corrupt feature cache (record of file %zu)", path,
                                c->n_files - 1);
        samples += f->n_samples;
    }
    ds_cache_index(c);
    uint64_t nw = cur_u64(cu);
    if (cu->bad || nw > (cu->n - cu->at) / WINDOW_REC)
        return aa_error_set(err, DS_ERR_CACHE_CORRUPT, "%s: corrupt feature cache (window count %llu)", path,
                            (unsigned long long)nw);
    if (!(c->windows = calloc(nw ? nw : 1, sizeof *c->windows)))
        return aa_error_set(err, DS_ERR_NOMEM, "%s: out of memory", path);
    c->n_windows = nw;
    for (size_t w = 0; w < nw; w++) {
        ds_window *win = &c->windows[w];
        win->cls = (int)cur_u32(cu);
        cur_u32(cu);
        win->group = cur_u64(cu);
        win->file = cur_u64(cu);
        win->offset = cur_u64(cu);
        /* Windows come file by file, in the files' order and counts, with their file's class and group. */
        const ds_cache_file *f = win->file < nf ? &c->files[win->file] : NULL;
        if (cu->bad || !f || w < f->first_window || w >= f->first_window + f->n_windows || win->cls != f->cls ||
            win->group != f->group || (f->n_samples > 0 && win->offset >= f->n_samples))
            return aa_error_set(err, DS_ERR_CACHE_CORRUPT, "%s: corrupt feature cache (record of window %zu)",
                                path, w);
    }
    size_t total = nf ? c->files[nf - 1].first_window + c->files[nf - 1].n_windows : 0;
    if (total != nw || cu->at != cu->n)
        return aa_error_set(err, DS_ERR_CACHE_CORRUPT, "%s: corrupt feature cache (%zu windows listed by files, "
                            "%llu recorded; %zu bytes of header left over)",
                            path, total, (unsigned long long)nw, cu->n - cu->at);
    int planned = windows_follow_plan(c);
    if (planned < 0)
        return aa_error_set(err, DS_ERR_NOMEM, "%s: out of memory", path);
    if (!planned)
        return aa_error_set(err, DS_ERR_CACHE_CORRUPT, "%s: corrupt feature cache (windows not planned for their "
                            "files' lengths)", path);
    if (samples != max_samples)
        return aa_error_set(err, DS_ERR_CACHE_CORRUPT,
                            "%s: corrupt feature cache (%llu samples recorded, room for %llu)", path,
                            (unsigned long long)samples, (unsigned long long)max_samples);
    return 0;
bad:
    if (oom)
        return aa_error_set(err, DS_ERR_NOMEM, "%s: out of memory", path);
    return aa_error_set(err, DS_ERR_CACHE_CORRUPT, "%s: corrupt feature cache (names or paths overrun the header)",
                        path);
}

static int read_exact(FILE *fp, void *buf, size_t n, const char *path, aa_error *err)
{
    if (fread(buf, 1, n, fp) == n)
        return 0;
    if (ferror(fp))
        return aa_error_set(err, DS_ERR_IO, "%s: read error (%s)", path, strerror(errno));
    /* The size was checked up front: the file shrank while being read. */
    return aa_error_set(err, DS_ERR_CACHE_CORRUPT, "%s: truncated feature cache (file shrank while read)", path);
}

static int read_signals(ds_cache *c, FILE *fp, uint32_t crc, const char *path, aa_error *err)
{
    size_t nonfinite = 0; /* 1 + the first file with a NaN or infinite sample */
    for (size_t f = 0; f < c->n_files; f++) {
        size_t count = c->files[f].status ? 0 : (size_t)c->files[f].n_samples;
        if (!count)
            continue;
        float *x = malloc(count * sizeof *x);
        if (!x)
            return aa_error_set(err, DS_ERR_NOMEM, "%s: out of memory for %zu samples of %s", path, count,
                                c->files[f].rel);
        c->signal[f] = x;
        int rc = read_exact(fp, x, count * 4, path, err);
        if (rc)
            return rc;
        crc = aa_crc32(crc, x, count * 4);
        /* The bytes are little-endian floats; on a little-endian host this is a copy onto itself. */
        unsigned char *b = (unsigned char *)x;
        int finite = 1;
        for (size_t i = 0; i < count; i++) {
            x[i] = aa_get_f32(b + 4 * i);
            finite &= isfinite(x[i]) != 0;
        }
        /* dsp_load never gives a NaN or an infinity; one would poison the normalisation and the training. */
        if (!finite)
            nonfinite = nonfinite ? nonfinite : f + 1;
    }
    unsigned char tail[4];
    int rc = read_exact(fp, tail, 4, path, err);
    if (rc)
        return rc;
    if (aa_get_u32(tail) != crc)
        return aa_error_set(err, DS_ERR_CACHE_CORRUPT, "%s: feature cache checksum mismatch (corrupt file)", path);
    if (nonfinite)
        return aa_error_set(err, DS_ERR_CACHE_CORRUPT, "%s: corrupt feature cache (a sample of %s is not finite)", path,
                            c->files[nonfinite - 1].rel);
    return 0;
}

int ds_cache_read_checked(ds_cache **out, const char *path, const ds_list *l, const dsp_settings *s,
                          const ds_window_opts *w, aa_error *err)
{
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return aa_error_set(err, DS_ERR_IO, "%s: cannot open (%s)", path, strerror(errno));
    ds_cache *c = NULL;
    unsigned char *head = NULL;
    int rc = 0;
    struct stat st;
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = aa_error_set(err, DS_ERR_IO, "%s: not a regular file", path);
        goto done;
    }
    unsigned char fixed[FIXED_HEAD];
    size_t got = fread(fixed, 1, FIXED_HEAD, fp);
    if (ferror(fp)) {
        rc = aa_error_set(err, DS_ERR_IO, "%s: read error (%s)", path, strerror(errno));
        goto done;
    }
    if (memcmp(fixed, MAGIC, got < 8 ? got : 8) != 0) {
        rc = aa_error_set(err, DS_ERR_CACHE_FORMAT, "%s: not a feature cache (wrong magic)", path);
        goto done;
    }
    if (got < FIXED_HEAD) {
        rc = aa_error_set(err, DS_ERR_CACHE_CORRUPT, "%s: truncated feature cache (%zu bytes)", path, got);
        goto done;
    }
    uint32_t version = aa_get_u32(fixed + 8);
    if (version > VERSION) {
        rc = aa_error_set(err, DS_ERR_CACHE_VERSION,
                          "%s: feature cache format version %u is newer than this program reads (%u)", path,
                          version, VERSION);
        goto done;
    }
    if (version == 0) {
        rc = aa_error_set(err, DS_ERR_CACHE_CORRUPT, "%s: corrupt feature cache (format version 0)", path);
        goto done;
    }
    if (version < VERSION) {
        rc = aa_error_set(err, DS_ERR_CACHE_VERSION,
                          "%s: feature cache format version %u (log-mels) is older than this program reads (%u: "
                          "decoded signals)", path, version, VERSION);
        goto done;
    }
    uint64_t header_len = aa_get_u64(fixed + 16), file_size = aa_get_u64(fixed + 24), actual = (uint64_t)st.st_size;
    if (actual < file_size) {
        rc = aa_error_set(err, DS_ERR_CACHE_CORRUPT, "%s: truncated feature cache (%llu of %llu bytes)", path,
                          (unsigned long long)actual, (unsigned long long)file_size);
        goto done;
    }
    if (actual > file_size) {
        rc = aa_error_set(err, DS_ERR_CACHE_CORRUPT, "%s: corrupt feature cache (%llu bytes after its end)", path,
                          (unsigned long long)(actual - file_size));
        goto done;
    }
    if (header_len < FIXED_HEAD || header_len > file_size - 8) {
        rc = aa_error_set(err, DS_ERR_CACHE_CORRUPT, "%s: corrupt feature cache (header length %llu)", path,
                          (unsigned long long)header_len);
        goto done;
    }
    /* header_len is at most the file's real size, so this allocation is bounded by what is on disk. */
    if (!(head = malloc((size_t)header_len + 4))) {
        rc = aa_error_set(err, DS_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    memcpy(head, fixed, FIXED_HEAD);
    if ((rc = read_exact(fp, head + FIXED_HEAD, (size_t)header_len + 4 - FIXED_HEAD, path, err)))
        goto done;
    uint32_t crc = aa_crc32(0, head, (size_t)header_len);
    if (aa_get_u32(head + header_len) != crc) {
        rc = aa_error_set(err, DS_ERR_CACHE_CORRUPT, "%s: feature cache header checksum mismatch (corrupt file)",
                          path);
        goto done;
    }
    crc = aa_crc32(crc, head + header_len, 4);
    if (!(c = calloc(1, sizeof *c))) {
        rc = aa_error_set(err, DS_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    uint64_t room = file_size - header_len - 8;
    if (room % 4) {
        rc = aa_error_set(err, DS_ERR_CACHE_CORRUPT,
                          "%s: corrupt feature cache (%llu bytes after the header are not whole samples)", path,
                          (unsigned long long)room);
        goto done;
    }
    cursor cu = {.p = head, .n = (size_t)header_len};
    if ((rc = parse_header(c, &cu, room / 4, path, err)))
        goto done;
    if (l && (rc = ds_cache_check(c, l, s, w, err)))
        goto done;
    rc = read_signals(c, fp, crc, path, err);
done:
    free(head);
    fclose(fp);
    if (rc) {
        ds_cache_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

int ds_cache_read(ds_cache **out, const char *path, aa_error *err)
{
    return ds_cache_read_checked(out, path, NULL, NULL, NULL, err);
}

/* ---- checking against a listing ----------------------------------------------------------------------- */

/* The first line where two settings texts differ, as "line in a" and "line in b" (each up to 'cap'). */
static void first_diff_line(const char *a, const char *b, char *la, char *lb, size_t cap)
{
    while (*a || *b) {
        size_t na = strcspn(a, "\n"), nb = strcspn(b, "\n");
        if (na != nb || memcmp(a, b, na)) {
            snprintf(la, cap, "%.*s", (int)na, a);
            snprintf(lb, cap, "%.*s", (int)nb, b);
            return;
        }
        a += na + (a[na] == '\n');
        b += nb + (b[nb] == '\n');
    }
    snprintf(la, cap, "?");
    snprintf(lb, cap, "?");
}

static int stale_file(aa_error *err, const char *rel, const char *what)
{
    char *p = ds_printable(rel);
    int rc = aa_error_set(err, DS_ERR_CACHE_STALE, "file list differs: %s %s", p ? p : "(a file)", what);
    free(p);
    return rc;
}

int ds_cache_check(const ds_cache *c, const ds_list *l, const dsp_settings *s, const ds_window_opts *w,
                   aa_error *err)
{
    if (!dsp_settings_equal(&c->dsp, s)) {
        char ta[DSP_SETTINGS_TEXT_MAX], tb[DSP_SETTINGS_TEXT_MAX], la[128], lb[128];
        dsp_settings_format(&c->dsp, ta, sizeof ta);
        dsp_settings_format(s, tb, sizeof tb);
        first_diff_line(ta, tb, la, lb, sizeof la);
        return aa_error_set(err, DS_ERR_CACHE_STALE, "DSP settings differ: %s in the cache, %s now", la, lb);
    }
    if (f64_bits(c->win.hop_seconds) != f64_bits(w->hop_seconds) || c->win.max_per_file != w->max_per_file)
        return aa_error_set(err, DS_ERR_CACHE_STALE,
                            "window options differ: hop %g s, at most %d per file in the cache; hop %g s, at most "
                            "%d now",
                            c->win.hop_seconds, c->win.max_per_file, w->hop_seconds, w->max_per_file);
    /* Both lists are sorted bytewise by relative path: a merge names the first file added, removed or
     * changed. */
    size_t i = 0, j = 0;
    while (i < c->n_files || j < l->n_items) {
        int cmp = i == c->n_files ? 1 : j == l->n_items ? -1 : strcmp(c->files[i].rel, l->items[j].rel);
        if (cmp < 0)
            return stale_file(err, c->files[i].rel, "removed");
        if (cmp > 0)
            return stale_file(err, l->items[j].rel, "added");
        if (c->files[i].size != l->items[j].size)
            return stale_file(err, l->items[j].rel, "changed (size)");
        if (c->files[i].mtime_ns != l->items[j].mtime_ns)
            return stale_file(err, l->items[j].rel, "changed (modification time)");
        i++, j++;
    }
    return 0;
}
