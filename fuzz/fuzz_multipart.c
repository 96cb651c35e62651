/* The server's pure request parsers, called directly: the multipart boundary of a Content-Type, the file
 * part of a multipart/form-data body, the client's file name made safe, and the JSON string writer that
 * echoes names and messages back.
 *
 * Input: the Content-Type value up to the first '\n', then the body. The body sits in a buffer of exactly
 * its size, so ASan sees a read one byte past it. Properties: a found file lies inside the body; a
 * sanitized name is 1..255 printable ASCII bytes without a path separator and is not "." or ".."; a JSON
 * string literal is valid UTF-8 with no raw control character and decodes its quotes and escapes; base64
 * has the length the encoding promises. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer/http_internal.h"
#include "infer/serve.h"

#define REQUIRE(cond)                                                                                         \
    do {                                                                                                      \
        if (!(cond)) {                                                                                        \
            fprintf(stderr, "fuzz_multipart: property failed: %s (line %d)\n", #cond, __LINE__);              \
            abort();                                                                                          \
        }                                                                                                     \
    } while (0)

static void check_filename(const char *f)
{
    size_t n = strlen(f);
    REQUIRE(n >= 1 && n < AA_HTTP_FILENAME_MAX);
    for (size_t i = 0; i < n; i++)
        REQUIRE(f[i] >= 0x20 && f[i] < 0x7f && f[i] != '/' && f[i] != '\\');
    REQUIRE(strcmp(f, ".") && strcmp(f, ".."));
}

/* A JSON string literal as aa_json_str writes it: quoted, escapes well formed, UTF-8
 * valid, no raw control byte. */
static void check_json_string(const char *s, size_t n)
{
    REQUIRE(n >= 2 && s[0] == '"' && s[n - 1] == '"');
    for (size_t i = 1; i + 1 < n;) {
        unsigned char c = (unsigned char)s[i];
        REQUIRE(c >= 0x20 && c != 0x7f && c != '"');
        if (c == '\\') {
            char e = s[i + 1];
            REQUIRE(e == '"' || e == '\\' || e == 'n' || e == 'r' || e == 't' || e == 'u');
            i += e == 'u' ? 6 : 2;
            REQUIRE(i <= n - 1);
            continue;
        }
        size_t len = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
        REQUIRE(len > 0 && i + len <= n - 1);
        for (size_t k = 1; k < len; k++)
            REQUIRE(((unsigned char)s[i + k] & 0xc0) == 0x80);
        i += len;
    }
}

static void json_checks(const char *text)
{
    aa_buf b = {0};
    aa_json_str(&b, text);
    REQUIRE(!b.oom && b.len < b.cap && b.s[b.len] == 0 && strlen(b.s) == b.len);
    check_json_string(b.s, b.len);
    aa_buf_free(&b);
    char *e = aa_http_json_error(text);
    REQUIRE(e != NULL && strncmp(e, "{\"error\": \"", 11) == 0);
    size_t el = strlen(e);
    REQUIRE(el >= 14 && strcmp(e + el - 2, "}\n") == 0);
    check_json_string(e + 10, el - 12);
    free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t ct_n = nl ? (size_t)(nl - data) : size;
    char *ct = malloc(ct_n + 1);
    REQUIRE(ct != NULL);
    memcpy(ct, data, ct_n);
    ct[ct_n] = 0;
    size_t body_n = nl ? size - ct_n - 1 : 0;
    uint8_t *body = malloc(body_n ? body_n : 1);
    REQUIRE(body != NULL);
    if (body_n)
        memcpy(body, nl + 1, body_n);

    char boundary[72];
    aa_error err;
    memset(&err, 0, sizeof err);
    int mp = aa_http_multipart_boundary(ct, boundary, sizeof boundary, &err);
    REQUIRE(mp >= -1 && mp <= 1);
    if (mp < 0)
        REQUIRE(err.code == AA_SERVE_ERR_REQUEST && err.msg[0]);
    if (mp == 1)
        REQUIRE(strlen(boundary) >= 1 && strlen(boundary) <= 70);
    /* Not multipart: the body is still parsed with a short boundary of its own, for coverage. */
    const char *use = mp == 1 ? boundary : "xyz";
    const void *file = NULL;
    size_t file_n = 0;
    char name[AA_HTTP_FILENAME_MAX];
    int rc = aa_http_multipart_file(body, body_n, use, &file, &file_n, name, &err);
    if (rc == 0) {
        const uint8_t *f = file;
        REQUIRE(f >= body && f <= body + body_n && file_n <= (size_t)(body + body_n - f));
        check_filename(name);
    } else {
        REQUIRE(rc == AA_SERVE_ERR_REQUEST && err.code == rc && err.msg[0]);
    }

    aa_http_sanitize_filename(ct, ct_n, name);
    check_filename(name);
    aa_http_sanitize_filename((const char *)body, body_n, name);
    check_filename(name);
    json_checks(ct);

    char *b64 = aa_http_base64(body, body_n);
    REQUIRE(b64 != NULL && strlen(b64) == (body_n + 2) / 3 * 4);
    free(b64);
    free(body);
    free(ct);
    return 0;
}
