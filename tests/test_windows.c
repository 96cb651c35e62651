/* datasets/windows.c: which clip windows a file gives, short and long, and the cap spread evenly. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/datasets.h"
#include "tests/util/testutil.h"

#define SR 16000
#define LEN (4 * SR)

static size_t plan(const ds_window_opts *o, size_t n, size_t *offs, size_t cap)
{
    dsp_settings s = dsp_settings_default();
    return ds_window_plan(&s, o, n, offs, cap);
}

START_TEST(short_files_one_window)
{
    ds_window_opts o;
    ds_window_opts_default(&o);
    size_t lens[] = {2, SR, LEN - 1, LEN};
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
        size_t off[4] = {99, 99, 99, 99};
        ck_assert_uint_eq(plan(&o, lens[i], off, 4), 1);
        ck_assert_uint_eq(off[0], 0);
        ck_assert_uint_eq(off[1], 99); /* nothing written past the count */
    }
}
END_TEST

START_TEST(long_files_hop_and_end)
{
    ds_window_opts o;
    ds_window_opts_default(&o);
    size_t off[16];
    /* 10 s: windows at 0, 2, 4, 6 s; the last ends exactly at the end, so no extra one. */
    ck_assert_uint_eq(plan(&o, 10 * SR, off, 16), 4);
    for (int k = 0; k < 4; k++)
        ck_assert_uint_eq(off[k], (size_t)k * 2 * SR);
    /* 11 s: the grid stops at 10 s, so one more window ends at 11 s. */
    ck_assert_uint_eq(plan(&o, 11 * SR, off, 16), 5);
    ck_assert_uint_eq(off[3], 6 * SR);
    ck_assert_uint_eq(off[4], 7 * SR);
    /* 4.5 s: two windows, 0 and 0.5 s: every sample is in a window. */
    ck_assert_uint_eq(plan(&o, LEN + SR / 2, off, 16), 2);
    ck_assert_uint_eq(off[1], SR / 2);
    /* A 1 s hop, and agreement with dsp_window_offsets under the cap. */
    o.hop_seconds = 1.0;
    size_t n = 13 * SR + 123, ref[16];
    size_t cnt = dsp_window_offsets(n, LEN, SR, 1, ref, 16);
    ck_assert_uint_eq(plan(&o, n, off, 16), cnt);
    for (size_t k = 0; k < cnt; k++)
        ck_assert_uint_eq(off[k], ref[k]);
    /* cap smaller than the count: only cap written, the count still returned */
    size_t few[3] = {0};
    ck_assert_uint_eq(plan(&o, n, few, 2), cnt);
    ck_assert_uint_eq(few[1], ref[1]);
    ck_assert_uint_eq(few[2], 0);
}
END_TEST

START_TEST(cap_spreads_evenly)
{
    ds_window_opts o;
    ds_window_opts_default(&o);
    /* 60 s at a 2 s hop: 29 windows (0..56 s), capped to 12. */
    size_t n = 60 * SR, all[64], off[64];
    size_t full = dsp_window_offsets(n, LEN, 2 * SR, 1, all, 64);
    ck_assert_uint_eq(full, 29);
    ck_assert_uint_eq(plan(&o, n, off, 64), 12);
    ck_assert_uint_eq(off[0], 0);
    ck_assert_uint_eq(off[11], 56 * SR); /* first and last windows kept */
    /* Each kept window is on the grid; gaps are (29-1)/(12-1) = 2.55 grid steps, so 2 or 3 steps. */
    for (int k = 0; k < 12; k++) {
        ck_assert_uint_eq(off[k] % (2 * SR), 0);
        if (k) {
            size_t steps = (off[k] - off[k - 1]) / (2 * SR);
            ck_assert_msg(steps == 2 || steps == 3, "gap of %zu steps at %d", steps, k);
        }
    }
    /* With a covering last window (61 s), it is the one kept at the end. */
    ck_assert_uint_eq(plan(&o, 61 * SR, off, 64), 12);
    ck_assert_uint_eq(off[11], 61 * SR - LEN);
    /* Cap 1: the middle window; cap 2: first and last. */
    o.max_per_file = 1;
    ck_assert_uint_eq(plan(&o, n, off, 64), 1);
    ck_assert_uint_eq(off[0], all[14]);
    o.max_per_file = 2;
    ck_assert_uint_eq(plan(&o, n, off, 64), 2);
    ck_assert_uint_eq(off[0], 0);
    ck_assert_uint_eq(off[1], all[28]);
    /* The same call gives the same offsets (no state). */
    size_t again[64];
    o.max_per_file = 7;
    size_t c1 = plan(&o, 3600 * SR, off, 64), c2 = plan(&o, 3600 * SR, again, 64);
    ck_assert_uint_eq(c1, 7);
    ck_assert_uint_eq(c2, 7);
    for (int k = 0; k < 7; k++) {
        ck_assert_uint_eq(off[k], again[k]);
        if (k)
            ck_assert_uint_gt(off[k], off[k - 1]);
    }
}
END_TEST

START_TEST(options_checked)
{
    dsp_settings s = dsp_settings_default();
    ds_window_opts o;
    ds_window_opts_default(&o);
    aa_error err;
    ck_assert_int_eq(ds_window_opts_validate(&o, &s, &err), 0);
    ck_assert_uint_eq(ds_window_hop(&o, &s), 2 * SR);
    o.hop_seconds = 0;
    ck_assert_int_eq(ds_window_opts_validate(&o, &s, &err), DS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "hop"));
    o.hop_seconds = 1e-6; /* below one sample */
    ck_assert_int_eq(ds_window_opts_validate(&o, &s, &err), DS_ERR_ARG);
    o.hop_seconds = 2;
    o.max_per_file = 0;
    ck_assert_int_eq(ds_window_opts_validate(&o, &s, &err), DS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "per file"));
}
END_TEST

Suite *windows_suite(void)
{
    Suite *s = suite_create("windows");
    TCase *tc = tcase_create("windows");
    tcase_add_test(tc, short_files_one_window);
    tcase_add_test(tc, long_files_hop_and_end);
    tcase_add_test(tc, cap_spreads_evenly);
    tcase_add_test(tc, options_checked);
    suite_add_tcase(s, tc);
    return s;
}
