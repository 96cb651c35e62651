/* multipart/form-data (RFC 7578 over RFC 2046): finding the uploaded file in a body held in memory.
 * The body is complete before this runs (its size is bounded by the upload limit), so a single pass over
 * it with memmem is simpler and safer than a streaming state machine. */
#include <string.h>
#include <strings.h>

#include "infer/http_internal.h"
#include "infer/serve.h"

#define BOUNDARY_MAX 70 /* RFC 2046 section 5.1.1 */

static int is_space(char c) { return c == ' ' || c == '\t'; }

/* First occurrence of needle[0..nn) in hay[0..hn), or NULL (memmem without _GNU_SOURCE). */
static const char *find(const char *hay, size_t hn, const char *needle, size_t nn)
{
    while (hn >= nn) {
        const char *p = memchr(hay, needle[0], hn - nn + 1);
        if (!p)
            return NULL;
        if (memcmp(p, needle, nn) == 0)
            return p;
        hn -= (size_t)(p - hay) + 1;
        hay = p + 1;
    }
    return NULL;
}

/* Value of parameter `name` in a header value of the form `type; a=1; b="x y"` into out; 1 if found. */
static int header_param(const char *v, size_t vn, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name), i = 0;
    /* skip the leading token (the media type or disposition type) */
    while (i < vn && v[i] != ';')
        i++;
    while (i < vn) {
        i++; /* ';' */
        while (i < vn && is_space(v[i]))
            i++;
        size_t k = i;
        while (i < vn && v[i] != '=' && v[i] != ';')
            i++;
        size_t klen = i;
        while (klen > k && is_space(v[klen - 1]))
            klen--;
        klen -= k;
        if (i >= vn || v[i] == ';')
            continue; /* a parameter without a value */
        i++; /* '=' */
        while (i < vn && is_space(v[i]))
            i++;
        size_t o = 0;
        int match = klen == nl && strncasecmp(v + k, name, nl) == 0;
        if (i < vn && v[i] == '"') {
            for (i++; i < vn && v[i] != '"'; i++) {
                if (v[i] == '\\' && i + 1 < vn)
                    i++;
                if (match && o + 1 < cap)
                    out[o++] = v[i];
            }
            if (i < vn)
                i++; /* closing quote */
            while (i < vn && v[i] != ';')
                i++;
        } else {
            size_t e = i;
            while (e < vn && v[e] != ';')
                e++;
            size_t te = e;
            while (te > i && is_space(v[te - 1]))
                te--;
            for (size_t j = i; match && j < te && o + 1 < cap; j++)
                out[o++] = v[j];
            i = e;
        }
        if (match) {
            out[o] = 0;
            return 1;
        }
    }
    return 0;
}

int aa_http_multipart_boundary(const char *content_type, char *out, size_t cap, aa_error *err)
{
    static const char mp[] = "multipart/form-data";
    if (!content_type)
        return 0;
    while (is_space(*content_type))
        content_type++;
    size_t mpl = sizeof mp - 1;
    if (strncasecmp(content_type, mp, mpl) != 0 ||
        (content_type[mpl] != 0 && content_type[mpl] != ';' && !is_space(content_type[mpl])))
        return 0;
    char b[BOUNDARY_MAX + 2];
    if (!header_param(content_type, strlen(content_type), "boundary", b, sizeof b)) {
        aa_error_set(err, AA_SERVE_ERR_REQUEST, "multipart/form-data without a boundary parameter");
        return -1;
    }
    size_t bl = strlen(b);
    if (bl == 0 || bl > BOUNDARY_MAX || bl + 1 > cap) {
        aa_error_set(err, AA_SERVE_ERR_REQUEST, "multipart boundary must be 1 to %d characters", BOUNDARY_MAX);
        return -1;
    }
    memcpy(out, b, bl + 1);
    return 1;
}

void aa_http_sanitize_filename(const char *in, size_t in_n, char out[AA_HTTP_FILENAME_MAX])
{
    size_t start = 0;
    for (size_t i = 0; i < in_n && in[i]; i++)
        if (in[i] == '/' || in[i] == '\\')
            start = i + 1;
    size_t o = 0;
    for (size_t i = start; i < in_n && in[i] && o + 1 < AA_HTTP_FILENAME_MAX; i++) {
        unsigned char c = (unsigned char)in[i];
        out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '_';
    }
    out[o] = 0;
    if (o == 0 || !strcmp(out, ".") || !strcmp(out, ".."))
        strcpy(out, "upload");
}

/* One part's headers: is it the file, and under what name. */
typedef struct {
    int has_filename;
    int named_file;
    char filename[AA_HTTP_FILENAME_MAX];
} part_info;

static void parse_part_headers(const char *h, size_t hn, part_info *pi)
{
    static const char cd[] = "content-disposition:";
    memset(pi, 0, sizeof *pi);
    size_t i = 0;
    while (i < hn) {
        const char *eol = find(h + i, hn - i, "\r\n", 2);
        size_t e = eol ? (size_t)(eol - h) : hn;
        size_t cdl = sizeof cd - 1;
        if (e - i > cdl && strncasecmp(h + i, cd, cdl) == 0) {
            const char *v = h + i + cdl;
            size_t vn = e - i - cdl;
            char tmp[AA_HTTP_FILENAME_MAX * 2];
            if (header_param(v, vn, "filename", tmp, sizeof tmp)) {
                pi->has_filename = 1;
                aa_http_sanitize_filename(tmp, strlen(tmp), pi->filename);
            }
            if (header_param(v, vn, "name", tmp, sizeof tmp))
                pi->named_file = !strcmp(tmp, "file") || !strcmp(tmp, "audio");
        }
        i = e + 2;
    }
}

int aa_http_multipart_file(const void *body, size_t body_n, const char *boundary, const void **data, size_t *n,
                           char filename[AA_HTTP_FILENAME_MAX], aa_error *err)
{
    const char *b = body;
    char delim[BOUNDARY_MAX + 5]; /* "\r\n--" + boundary */
    size_t bl = strlen(boundary);
    if (bl == 0 || bl > BOUNDARY_MAX)
        return aa_error_set(err, AA_SERVE_ERR_REQUEST, "multipart boundary must be 1 to %d characters",
                            BOUNDARY_MAX);
    memcpy(delim, "\r\n--", 4);
    memcpy(delim + 4, boundary, bl);
    size_t dl = bl + 4;

    /* The first delimiter may open the body without the CRLF that belongs to every later one. */
    size_t pos;
    if (body_n >= dl - 2 && memcmp(b, delim + 2, dl - 2) == 0) {
        pos = dl - 2;
    } else {
        const char *f = body_n ? find(b, body_n, delim, dl) : NULL;
        if (!f)
            return aa_error_set(err, AA_SERVE_ERR_REQUEST, "malformed multipart body: no opening boundary");
        pos = (size_t)(f - b) + dl;
    }

    const char *found = NULL;
    size_t found_n = 0;
    int found_rank = 0; /* 2: has a filename, 1: named file/audio */
    char found_name[AA_HTTP_FILENAME_MAX] = "upload";
    for (;;) {
        /* after a delimiter: "--" closes the body; otherwise optional padding, then CRLF */
        if (body_n - pos >= 2 && b[pos] == '-' && b[pos + 1] == '-')
            break;
        while (pos < body_n && is_space(b[pos]))
            pos++;
        if (body_n - pos < 2 || b[pos] != '\r' || b[pos + 1] != '\n')
            return aa_error_set(err, AA_SERVE_ERR_REQUEST, "malformed multipart body: bad boundary line");
        pos += 2;
        const char *hend = find(b + pos, body_n - pos, "\r\n\r\n", 4);
        size_t hn;
        size_t content;
        if (body_n - pos >= 2 && b[pos] == '\r' && b[pos + 1] == '\n') {
            hn = 0; /* a part with no headers */
            content = pos + 2;
        } else if (hend) {
            hn = (size_t)(hend - (b + pos));
            content = pos + hn + 4;
        } else {
            return aa_error_set(err, AA_SERVE_ERR_REQUEST, "malformed multipart body: unterminated part headers");
        }
        part_info pi;
        parse_part_headers(b + pos, hn, &pi);
        const char *next = find(b + content, body_n - content, delim, dl);
        if (!next)
            return aa_error_set(err, AA_SERVE_ERR_REQUEST, "malformed multipart body: no closing boundary");
        size_t part_n = (size_t)(next - (b + content));
        int rank = pi.has_filename ? 2 : pi.named_file ? 1 : 0;
        if (rank > found_rank) {
            found = b + content;
            found_n = part_n;
            found_rank = rank;
            strcpy(found_name, pi.has_filename ? pi.filename : "upload");
        }
        pos = (size_t)(next - b) + dl;
    }
    if (!found)
        return aa_error_set(err, AA_SERVE_ERR_REQUEST, "multipart form has no file field");
    *data = found;
    *n = found_n;
    memcpy(filename, found_name, AA_HTTP_FILENAME_MAX);
    return 0;
}
