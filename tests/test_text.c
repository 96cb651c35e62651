/* util/'s text helpers: the UTF-8 decoder, the growable buffer, the JSON writer (strings and numbers). */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

START_TEST(utf8_sequences)
{
    struct {
        const char *s;
        size_t len;
        uint32_t cp;
    } ok[] = {
        {"A", 1, 'A'},
        {"", 1, 0}, /* the NUL itself */
        {"\xc3\xa9", 2, 0xE9},
        {"\xe2\x82\xac", 3, 0x20AC},
        {"\xf0\x9d\x84\x9e", 4, 0x1D11E},
        {"\xf4\x8f\xbf\xbf", 4, 0x10FFFF},
        {"\xef\xbf\xbd", 3, 0xFFFD},
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        uint32_t cp = 0xdead;
        ck_assert_uint_eq(aa_utf8_seq(ok[i].s, &cp), ok[i].len);
        ck_assert_uint_eq(cp, ok[i].cp);
    }
    const char *bad[] = {
        "\x80",             /* a stray continuation byte */
        "\xc0\xaf",         /* overlong '/' */
        "\xe0\x80\xaf",     /* overlong '/' in three bytes */
        "\xf0\x80\x80\xaf", /* and in four */
        "\xed\xa0\x80",     /* a surrogate */
        "\xf4\x90\x80\x80", /* past U+10FFFF */
        "\xf8\x88\x80\x80", /* five-byte lead */
        "\xe2\x82",         /* cut off by the end of the string */
        "\xc3(",            /* a lead byte followed by ASCII */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        uint32_t cp = 0xdead;
        ck_assert_msg(aa_utf8_seq(bad[i], &cp) == 0, "case %zu", i);
        ck_assert_uint_eq(cp, 0xdead); /* untouched */
    }
    ck_assert(aa_utf8_valid(""));
    ck_assert(aa_utf8_valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
    ck_assert(!aa_utf8_valid("caf\xc3\xa9 \xff"));
    ck_assert(!aa_utf8_valid("ok\xe2\x82"));
}
END_TEST

START_TEST(buf_grows_and_takes)
{
    aa_buf b = {0};
    char *empty = aa_buf_take(&b);
    ck_assert_str_eq(empty, ""); /* nothing appended is an empty string, not NULL */
    free(empty);

    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(aa_buf_printf(&b, "%d,", i), 0);
    ck_assert_uint_eq(b.len, strlen(b.s));
    ck_assert(!strncmp(b.s, "0,1,2,", 6) && !strcmp(b.s + b.len - 4, "999,"));
    ck_assert_uint_gt(b.cap, b.len);
    /* Binary data: NULs inside are kept, and the text stays terminated after them. */
    size_t before = b.len;
    ck_assert_int_eq(aa_buf_add(&b, "a\0b", 3), 0);
    unsigned char *room = aa_buf_room(&b, 2);
    ck_assert_ptr_nonnull(room);
    room[0] = 0xfe, room[1] = 0xff;
    ck_assert_uint_eq(b.len, before + 5);
    ck_assert(!memcmp(b.s + before, "a\0b\xfe\xff", 5) && b.s[b.len] == 0);
    char *s = aa_buf_take(&b);
    ck_assert_ptr_nonnull(s);
    ck_assert(b.s == NULL && b.len == 0 && b.cap == 0);
    free(s);

    /* After a failed append everything later is ignored and take gives NULL: the text would be cut. */
    ck_assert_int_eq(aa_buf_printf(&b, "kept"), 0);
    ck_assert_int_eq(aa_buf_reserve(&b, SIZE_MAX - 2), AA_ERR_NOMEM);
    ck_assert(b.oom);
    ck_assert_int_ne(aa_buf_printf(&b, "lost"), 0);
    ck_assert_ptr_null(aa_buf_room(&b, 1));
    ck_assert_str_eq(b.s, "kept");
    ck_assert_ptr_null(aa_buf_take(&b));
    ck_assert(b.s == NULL && !b.oom);
}
END_TEST

/* What the stream writer wrote (caller frees). */
static char *written(void (*w)(FILE *), size_t *n)
{
    char *s = NULL;
    FILE *f = open_memstream(&s, n);
    ck_assert_ptr_nonnull(f);
    w(f);
    fclose(f);
    return s;
}

static void some_json(FILE *f)
{
    aa_json_fstr(f, "a\"b\\c\n\t\r\x01\x7f \xc3\xa9 \xff!");
    fputc(' ', f);
    aa_json_fnum(f, NAN);
    fputc(' ', f);
    aa_json_fnum(f, 0.5);
    fputc(' ', f);
    aa_json_fstr(f, NULL);
}

START_TEST(json_strings)
{
    const char *want = "\"a\\\"b\\\\c\\n\\t\\r\\u0001\\u007f \xc3\xa9 \xef\xbf\xbd!\" null 0.5 null";
    size_t n;
    char *s = written(some_json, &n);
    ck_assert_str_eq(s, want);
    free(s);
    /* The buffer writer gives the same bytes as the stream writer. */
    aa_buf b = {0};
    aa_json_str(&b, "a\"b\\c\n\t\r\x01\x7f \xc3\xa9 \xff!");
    aa_buf_printf(&b, " ");
    aa_json_num(&b, NAN);
    aa_buf_printf(&b, " ");
    aa_json_num(&b, 0.5);
    aa_buf_printf(&b, " ");
    aa_json_str(&b, NULL);
    s = aa_buf_take(&b);
    ck_assert_str_eq(s, want);
    free(s);
    /* One U+FFFD per byte that is not UTF-8 (as the server has always answered), none for valid text. */
    aa_json_str(&b, "\xc0\xaf|\xe2\x82");
    s = aa_buf_take(&b);
    ck_assert_str_eq(s, "\"\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd\"");
    free(s);
}
END_TEST

static char *num_text(double v)
{
    aa_buf b = {0};
    aa_json_num(&b, v);
    char *s = aa_buf_take(&b);
    ck_assert_ptr_nonnull(s);
    return s;
}

START_TEST(json_numbers_round_trip)
{
    struct {
        double v;
        const char *text;
    } fixed[] = {
        {0.1, "0.1"}, {0.5, "0.5"}, {-0.0, "0"}, {0.0, "0"}, {1, "1"}, {-2.25, "-2.25"}, {1e-10, "1e-10"},
        {INFINITY, "null"}, {-INFINITY, "null"}, {NAN, "null"},
        /* 16 digits read 1/3 back; 0.1 + 0.2 needs all 17 (%.16g gives 0.3, another double) */
        {1.0 / 3, "0.3333333333333333"}, {0.1 + 0.2, "0.30000000000000004"},
    };
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) {
        char *s = num_text(fixed[i].v);
        ck_assert_msg(!strcmp(s, fixed[i].text), "case %zu: %s", i, s);
        free(s);
    }
    /* Every double reads back to the same bits, in the fewest of 15, 16, 17 digits that do: across
     * magnitudes, the extremes, and floats widened to double (what most figures are). */
    aa_rng r;
    aa_rng_seed(&r, 12);
    for (int i = 0; i < 3000; i++) {
        double v;
        if (i == 0)
            v = DBL_MAX;
        else if (i == 1)
            v = DBL_MIN;
        else if (i == 2)
            v = 4.9406564584124654e-324; /* the smallest subnormal */
        else if (i % 3 == 0)
            v = (double)(float)(aa_rng_uniform_d(&r) * 2 - 1);
        else
            v = (aa_rng_uniform_d(&r) * 2 - 1) * pow(10, (double)(aa_rng_below(&r, 80)) - 40);
        char *s = num_text(v);
        ck_assert_msg(strtod(s, NULL) == v, "%s does not read back as %.17g", s, v);
        char want[32];
        for (int digits = 15; digits <= 17; digits++) {
            snprintf(want, sizeof want, "%.*g", digits, v);
            if (strtod(want, NULL) == v)
                break;
        }
        ck_assert_str_eq(s, want);
        free(s);
    }
}
END_TEST

Suite *text_suite(void)
{
    Suite *s = suite_create("text");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, utf8_sequences);
    tcase_add_test(tc, buf_grows_and_takes);
    tcase_add_test(tc, json_strings);
    tcase_add_test(tc, json_numbers_round_trip);
    suite_add_tcase(s, tc);
    return s;
}
