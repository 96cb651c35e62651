/* train/options.c's rows of the waveform augmentation: each lands in the batcher's options, ranges are
 * checked, and the fingerprint (the checkpoint's and the model's training record) carries them. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "train/options.h"

static int parse(tr_options *o, const char *const *args, int n, aa_error *err)
{
    char *argv[64];
    argv[0] = "aa-train";
    for (int i = 0; i < n; i++)
        argv[i + 1] = (char *)args[i];
    tr_options_default(o);
    return tr_options_parse(o, n + 1, argv, err);
}

START_TEST(wave_options_land_in_the_batchers)
{
    tr_options o;
    tr_options_default(&o);
    ds_augment_opts d;
    ds_augment_opts_default(&d);
    ck_assert(o.aug.mix_p == d.mix_p && o.aug.colour_p == d.colour_p && o.aug.reverb_p == d.reverb_p &&
              o.aug.clip_p == d.clip_p && o.aug.mix.level_min_db == d.mix.level_min_db);
    const char *args[] = {"data", "-o", "m", "--mix-p", "0.25", "--mix-events", "2,4", "--mix-snr", "5,25",
                          "--mix-level", "-50,-20", "--colour-p", "0.4", "--reverb-p", "0.6", "--reverb-rt60",
                          "0.2,0.5", "--clip-p", "0.05", "--mix-classes", "cough"};
    aa_error err;
    ck_assert_msg(parse(&o, args, (int)(sizeof args / sizeof *args), &err) == TR_PARSE_OK, "%s", err.msg);
    const ds_augment_opts *a = &o.aug;
    ck_assert(a->mix_p == 0.25 && a->mix.events_min == 2 && a->mix.events_max == 4);
    ck_assert(a->mix.snr_min_db == 5 && a->mix.snr_max_db == 25);
    ck_assert(a->mix.level_min_db == -50 && a->mix.level_max_db == -20);
    ck_assert(a->colour_p == 0.4 && a->reverb_p == 0.6 && a->rt60_min_s == 0.2 && a->rt60_max_s == 0.5);
    ck_assert(a->clip_p == 0.05);
    ck_assert_str_eq(a->mix_classes, "cough");
    char *fp = tr_options_fingerprint(&o);
    ck_assert_ptr_nonnull(strstr(fp, "mix=0.25:2..4,snr=5..25,peak=-50..-20\n"));
    ck_assert_ptr_nonnull(strstr(fp, "reverb=0.59999999999999998:0.20000000000000001..0.5\n"));
    ck_assert_ptr_nonnull(strstr(fp, "clip=0.050000000000000003\n"));
    ck_assert_ptr_nonnull(strstr(fp, "mix_classes=cough\n"));
    tr_options def;
    const char *plain[] = {"data", "-o", "m"};
    ck_assert_int_eq(parse(&def, plain, 3, &err), TR_PARSE_OK);
    char *fd = tr_options_fingerprint(&def);
    ck_assert_str_ne(fp, fd);
    free(fp);
    free(fd);
}
END_TEST

START_TEST(wave_option_errors)
{
    struct {
        const char *args[5];
        const char *says;
    } bad[] = {
        {{"data", "-o", "m", "--mix-p", "1.5"}, "--mix-p"},
        {{"data", "-o", "m", "--mix-snr", "20"}, "LO,HI"},
        {{"data", "-o", "m", "--mix-snr", "20,10"}, "--mix-snr"},
        {{"data", "-o", "m", "--mix-level", "-20,5"}, "HI <= 0"},
        {{"data", "-o", "m", "--mix-events", "1.5,2"}, "--mix-events"},
        {{"data", "-o", "m", "--mix-events", "0,99"}, "--mix-events"},
        {{"data", "-o", "m", "--reverb-rt60", "0.01,0.5"}, "--reverb-rt60"},
        {{"data", "-o", "m", "--reverb-rt60", ",0.5"}, "--reverb-rt60"},
        {{"data", "-o", "m", "--clip-p", "x"}, "--clip-p"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        tr_options o;
        aa_error err;
        ck_assert_msg(parse(&o, bad[i].args, 5, &err) == TR_PARSE_USAGE, "case %zu accepted", i);
        ck_assert_msg(strstr(err.msg, bad[i].says) != NULL, "case %zu: '%s' does not say '%s'", i, err.msg,
                      bad[i].says);
    }
}
END_TEST

Suite *options_wave_suite(void)
{
    Suite *s = suite_create("options_wave");
    TCase *t = tcase_create("core");
    tcase_add_test(t, wave_options_land_in_the_batchers);
    tcase_add_test(t, wave_option_errors);
    suite_add_tcase(s, t);
    return s;
}
