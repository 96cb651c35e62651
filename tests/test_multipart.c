/* Finding the uploaded file in multipart/form-data bodies, and refusing malformed ones with a reason. */
#include <check.h>
#include <string.h>

#include "infer/http_internal.h"
#include "infer/serve.h"

START_TEST(boundary_from_content_type)
{
    char b[80];
    aa_error err = {0};
    ck_assert_int_eq(aa_http_multipart_boundary("multipart/form-data; boundary=abc", b, sizeof b, &err), 1);
    ck_assert_str_eq(b, "abc");
    ck_assert_int_eq(aa_http_multipart_boundary("Multipart/Form-Data ;charset=x; BOUNDARY=\"a b;c\"", b, sizeof b,
                                                &err), 1);
    ck_assert_str_eq(b, "a b;c");
    ck_assert_int_eq(aa_http_multipart_boundary("multipart/form-data; boundary=----WebKitFormBoundaryx7 ", b,
                                                sizeof b, &err), 1);
    ck_assert_str_eq(b, "----WebKitFormBoundaryx7");
    /* other types are raw bodies */
    ck_assert_int_eq(aa_http_multipart_boundary("audio/wav", b, sizeof b, &err), 0);
    ck_assert_int_eq(aa_http_multipart_boundary("multipart/form-dataX; boundary=a", b, sizeof b, &err), 0);
    ck_assert_int_eq(aa_http_multipart_boundary(NULL, b, sizeof b, &err), 0);
    /* multipart without a usable boundary is an error */
    ck_assert_int_eq(aa_http_multipart_boundary("multipart/form-data", b, sizeof b, &err), -1);
    ck_assert_int_eq(err.code, AA_SERVE_ERR_REQUEST);
    ck_assert_int_eq(aa_http_multipart_boundary("multipart/form-data; boundary=\"\"", b, sizeof b, &err), -1);
    char longb[128] = "multipart/form-data; boundary=";
    memset(longb + strlen(longb), 'x', 71); /* one past RFC 2046's 70 */
    ck_assert_int_eq(aa_http_multipart_boundary(longb, b, sizeof b, &err), -1);
}
END_TEST

static int find(const char *body, const char *boundary, const char **data, size_t *n, char *name, aa_error *err)
{
    const void *d = NULL;
    int rc = aa_http_multipart_file(body, strlen(body), boundary, &d, n, name, err);
    *data = d;
    return rc;
}

START_TEST(file_part_is_found)
{
    const char *d;
    size_t n;
    char name[AA_HTTP_FILENAME_MAX];
    aa_error err = {0};
    /* the file part comes after an ordinary field, with a preamble, transport padding and an epilogue */
    const char *body = "ignored\r\n--B\r\nContent-Disposition: form-data; name=\"file_note\"\r\n\r\nnot me\r\n"
                       "--B  \r\ncontent-disposition: form-data; name=\"upload\"; filename=\"my \\\"clip\\\".wav\"\r\n"
                       "Content-Type: audio/wav\r\n\r\nRIFF\r\n-B--data\r\n--B--\r\ntrailing";
    ck_assert_int_eq(find(body, "B", &d, &n, name, &err), 0);
    ck_assert_uint_eq(n, 14);
    ck_assert(!memcmp(d, "RIFF\r\n-B--data", 14));
    ck_assert_str_eq(name, "my \"clip\".wav");

    /* with no filename anywhere, the part named "file" (or "audio") is the upload */
    body = "--B\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n--B\r\nContent-Disposition: form-data; "
           "name=audio\r\n\r\nabc\r\n--B--";
    ck_assert_int_eq(find(body, "B", &d, &n, name, &err), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert(!memcmp(d, "abc", 3));
    ck_assert_str_eq(name, "upload");

    /* a part with a filename wins over an earlier one named "file"; the first such part wins */
    body = "--B\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nA\r\n--B\r\nContent-Disposition: form-data; "
           "name=\"f\"; filename=\"b.wav\"\r\n\r\nBB\r\n--B\r\nContent-Disposition: form-data; name=\"g\"; "
           "filename=\"c.wav\"\r\n\r\nCCC\r\n--B--\r\n";
    ck_assert_int_eq(find(body, "B", &d, &n, name, &err), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(name, "b.wav");

    /* a part with no headers at all is skipped, not misread */
    body = "--B\r\n\r\nzzz\r\n--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"/tmp/x/y.flac\"\r\n"
           "\r\n\r\n--B--";
    ck_assert_int_eq(find(body, "B", &d, &n, name, &err), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_str_eq(name, "y.flac");
}
END_TEST

START_TEST(malformed_bodies_are_refused)
{
    const char *d;
    size_t n;
    char name[AA_HTTP_FILENAME_MAX];
    aa_error err = {0};
    struct {
        const char *body, *reason;
    } cases[] = {
        {"", "no opening boundary"},
        {"--C\r\n\r\nx\r\n--C--", "no opening boundary"},
        {"--Bx\r\n", "bad boundary line"},
        {"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"", "unterminated part headers"},
        {"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nabc", "no closing boundary"},
        {"--B\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nabc\r\n--B--", "no file field"},
        {"--B--", "no file field"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        err.code = 0;
        ck_assert_int_eq(find(cases[i].body, "B", &d, &n, name, &err), AA_SERVE_ERR_REQUEST);
        ck_assert_int_eq(err.code, AA_SERVE_ERR_REQUEST);
        ck_assert_msg(strstr(err.msg, cases[i].reason) != NULL, "case %zu: '%s'", i, err.msg);
    }
}
END_TEST

START_TEST(filenames_are_sanitized)
{
    char out[AA_HTTP_FILENAME_MAX];
    struct {
        const char *in, *out;
    } cases[] = {
        {"clip.wav", "clip.wav"},       {"../../etc/passwd", "passwd"}, {"C:\\Users\\me\\a b.wav", "a b.wav"},
        {"", "upload"},                 {"dir/", "upload"},             {"..", "upload"},
        {"x\x01y\xc3\xa9.wav", "x_y__.wav"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        aa_http_sanitize_filename(cases[i].in, strlen(cases[i].in), out);
        ck_assert_str_eq(out, cases[i].out);
    }
    char longname[600];
    memset(longname, 'n', sizeof longname);
    aa_http_sanitize_filename(longname, sizeof longname, out);
    ck_assert_uint_eq(strlen(out), AA_HTTP_FILENAME_MAX - 1);
}
END_TEST

Suite *multipart_suite(void)
{
    Suite *s = suite_create("multipart");
    TCase *t = tcase_create("multipart");
    tcase_add_test(t, boundary_from_content_type);
    tcase_add_test(t, file_part_is_found);
    tcase_add_test(t, malformed_bodies_are_refused);
    tcase_add_test(t, filenames_are_sanitized);
    suite_add_tcase(s, t);
    return s;
}
