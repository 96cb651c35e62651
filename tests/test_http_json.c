/* JSON strings, error objects and base64 as the server and the handlers write them. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "infer/serve.h"

static char *quote(const char *s)
{
    aa_buf b = {0};
    aa_json_str(&b, s);
    ck_assert(!b.oom);
    ck_assert_uint_eq(strlen(b.s), b.len);
    return aa_buf_take(&b);
}

START_TEST(strings_are_escaped)
{
    struct {
        const char *in, *out;
    } cases[] = {
        {"", "\"\""},
        {"plain", "\"plain\""},
        {"q\"b\\s", "\"q\\\"b\\\\s\""},
        {"a\nb\rc\td", "\"a\\nb\\rc\\td\""},
        {"\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\""},
        /* valid UTF-8 passes through: é, €, 𝄞 */
        {"\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e", "\"\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e\""},
        /* invalid UTF-8 becomes U+FFFD: a stray continuation byte, an overlong '/', a surrogate, a cut-off
         * sequence at the end */
        {"\x80", "\"\xef\xbf\xbd\""},
        {"\xc0\xaf", "\"\xef\xbf\xbd\xef\xbf\xbd\""},
        {"\xed\xa0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""},
        {"x\xe2\x82", "\"x\xef\xbf\xbd\xef\xbf\xbd\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *q = quote(cases[i].in);
        ck_assert_msg(!strcmp(q, cases[i].out), "case %zu: got %s", i, q);
        free(q);
    }
}
END_TEST

START_TEST(appends_grow_the_buffer)
{
    aa_buf b = {0};
    char word[200];
    memset(word, 'w', sizeof word - 1);
    word[sizeof word - 1] = 0;
    for (int i = 0; i < 50; i++)
        aa_json_str(&b, word);
    ck_assert(!b.oom);
    ck_assert_uint_eq(b.len, 50 * (sizeof word - 1 + 2));
    ck_assert_uint_eq(strlen(b.s), b.len);
    ck_assert_uint_ge(b.cap, b.len + 1);
    aa_buf_free(&b);
}
END_TEST

START_TEST(error_object_is_one_line)
{
    char *e = aa_http_json_error("clip.wav: bad\nthing \"x\"");
    ck_assert_str_eq(e, "{\"error\": \"clip.wav: bad\\nthing \\\"x\\\"\"}\n");
    free(e);
    e = aa_http_json_error(NULL);
    ck_assert_str_eq(e, "{\"error\": \"\"}\n");
    free(e);
}
END_TEST

START_TEST(base64_matches_rfc4648)
{
    /* the test vectors of RFC 4648 section 10 */
    const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        char *b = aa_http_base64(in[i], strlen(in[i]));
        ck_assert_str_eq(b, out[i]);
        free(b);
    }
    unsigned char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    char *b = aa_http_base64(all, 256);
    ck_assert_uint_eq(strlen(b), 344); /* 4 * ceil(256 / 3) */
    ck_assert(!strncmp(b, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g", 44));
    ck_assert_str_eq(b + 340, "/w==");
    free(b);
}
END_TEST

Suite *http_json_suite(void)
{
    Suite *s = suite_create("http_json");
    TCase *t = tcase_create("http_json");
    tcase_add_test(t, strings_are_escaped);
    tcase_add_test(t, appends_grow_the_buffer);
    tcase_add_test(t, error_object_is_one_line);
    tcase_add_test(t, base64_matches_rfc4648);
    suite_add_tcase(s, t);
    return s;
}
