/* The one error-code space (util/util.h): every code lies in its module's range, no two codes share a
 * value or a description, each module's names for the shared conditions are the shared codes, and only the
 * usage code makes a binary exit 2 (out of memory exits 1). */
#include <check.h>
#include <string.h>

#include "infer/infer.h"
#include "train/options.h"
#include "util/util.h"

typedef struct {
    int code;
    const char *name;
    int lo, hi; /* the range of its list */
} code_info;

#define SHARED_(name, value, text) {name, #name, 10, 99},
#define DSP_(name, value, text) {name, #name, 100, 199},
#define NN_(name, value, text) {name, #name, 200, 299},
#define DS_(name, value, text) {name, #name, 300, 399},
#define AM_(name, value, text) {name, #name, 400, 499},
#define SERVE_(name, value, text) {name, #name, 700, 799},
static const code_info CODES[] = {
    AA_ERRORS_SHARED(SHARED_) AA_ERRORS_DSP(DSP_) AA_ERRORS_NN(NN_) AA_ERRORS_DS(DS_) AA_ERRORS_AM(AM_)
    AA_ERRORS_SERVE(SERVE_)
};
#define N_CODES (sizeof CODES / sizeof CODES[0])

START_TEST(codes_are_distinct_in_range_and_described)
{
    const char *unknown = aa_strerror(-1);
    ck_assert_str_eq(aa_strerror(AA_OK), "ok");
    ck_assert_int_eq(AA_OK, 0);
    ck_assert_uint_ge(N_CODES, 40);
    for (size_t i = 0; i < N_CODES; i++) {
        const code_info *c = &CODES[i];
        ck_assert_msg(c->code >= c->lo && c->code <= c->hi, "%s = %d is outside its range %d..%d", c->name, c->code,
                      c->lo, c->hi);
        const char *t = aa_strerror(c->code);
        ck_assert_msg(t != NULL && t[0] && strcmp(t, unknown) && strcmp(t, "ok"), "%s has no description", c->name);
        for (size_t j = 0; j < i; j++) {
            ck_assert_msg(CODES[j].code != c->code, "%s and %s are both %d", CODES[j].name, c->name, c->code);
            ck_assert_msg(strcmp(aa_strerror(CODES[j].code), t), "%s and %s are both described as '%s'",
                          CODES[j].name, c->name, t);
        }
    }
    /* Values that are no code at all. */
    ck_assert_str_eq(aa_strerror(1), unknown);
    ck_assert_str_eq(aa_strerror(2), unknown);
    ck_assert_str_eq(aa_strerror(99999), unknown);
}
END_TEST

START_TEST(module_names_for_shared_conditions_are_the_shared_codes)
{
    const int io[] = {NN_ERR_IO, DS_ERR_IO, AM_ERR_IO, EV_ERR_IO};
    const int nomem[] = {DSP_ERR_NOMEM, NN_ERR_NOMEM, DS_ERR_NOMEM, AM_ERR_NOMEM, EV_ERR_NOMEM, AA_SERVE_ERR_NOMEM};
    const int arg[] = {DSP_ERR_ARG, NN_ERR_ARG, DS_ERR_ARG, AM_ERR_ARG, EV_ERR_ARG};
    const int ok[] = {DSP_OK, NN_OK, DS_OK, AM_OK, EV_OK, AA_SERVE_OK, TR_PARSE_OK};
    for (size_t i = 0; i < sizeof io / sizeof *io; i++)
        ck_assert_int_eq(io[i], AA_ERR_IO);
    for (size_t i = 0; i < sizeof nomem / sizeof *nomem; i++)
        ck_assert_int_eq(nomem[i], AA_ERR_NOMEM);
    for (size_t i = 0; i < sizeof arg / sizeof *arg; i++)
        ck_assert_int_eq(arg[i], AA_ERR_ARG);
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        ck_assert_int_eq(ok[i], 0);
    ck_assert_int_eq(INF_ERR_USAGE, AA_ERR_USAGE);
    ck_assert_int_eq(TR_PARSE_USAGE, AA_ERR_USAGE);
    /* A feature cache stores the dsp code that made a file unusable: those values stay what they were. */
    ck_assert(DSP_ERR_MISSING == 100 && DSP_ERR_IO == 101 && DSP_ERR_EMPTY == 102 && DSP_ERR_FORMAT == 103);
    ck_assert(DSP_ERR_TOO_SHORT == 104 && DSP_ERR_NONFINITE == 105 && DSP_ERR_RATE == 106);
    ck_assert(DSP_ERR_CHANNELS == 107 && DSP_ERR_DECODE == 108 && DSP_ERR_TOO_LONG == 109);
    ck_assert(DSP_ERR_SETTINGS == 111 && DSP_ERR_RESAMPLE == 112);
}
END_TEST

START_TEST(only_usage_exits_2)
{
    aa_error e;
    for (size_t i = 0; i < N_CODES; i++) {
        aa_error_set(&e, CODES[i].code, "x");
        ck_assert_msg(inf_exit_status(&e) == (CODES[i].code == AA_ERR_USAGE ? 2 : 1), "%s exits %d", CODES[i].name,
                      inf_exit_status(&e));
        /* no code is itself an exit status a caller could mistake it for */
        ck_assert_int_gt(CODES[i].code, 2);
    }
    aa_error_set(&e, AA_ERR_NOMEM, "out of memory");
    ck_assert_int_eq(inf_exit_status(&e), 1);
}
END_TEST

Suite *errors_suite(void)
{
    Suite *s = suite_create("errors");
    TCase *tc = tcase_create("codes");
    tcase_add_test(tc, codes_are_distinct_in_range_and_described);
    tcase_add_test(tc, module_names_for_shared_conditions_are_the_shared_codes);
    tcase_add_test(tc, only_usage_exits_2);
    suite_add_tcase(s, tc);
    return s;
}
