/* Regressions for what the fuzz targets (fuzz/) found, each rebuilt here by hand so that it runs in every
 * `make check` without the fuzzer. One test per finding; the comment says what broke. */
#include <check.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/dsp.h"
#include "tests/util/audiogen.h"
#include "tests/util/testutil.h"

/* ---- helpers ------------------------------------------------------------------------------------------- */

static int one_line(const char *s)
{
    return strchr(s, '\n') == NULL && strchr(s, '\r') == NULL;
}

/* ---- dsp: float samples far past full scale ---------------------------------------------------------- */

/* A float WAV holding 2e23 (finite) loaded "successfully": its level came out as +inf dBFS and its
 * log-mel overflowed float32. Such samples are damage and are refused like NaN and Inf; 16-bit-scale
 * floats (32768) and the limit itself still load. */
START_TEST(huge_float_samples_refused)
{
    char dir[256], path[512];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(path, sizeof path, dir, "huge.wav");
    const size_t n = 6000;
    float *x = calloc(n * 2, sizeof *x);
    ck_assert_ptr_nonnull(x);
    for (size_t i = 0; i < n; i++)
        x[2 * i] = x[2 * i + 1] = 0.25f * (float)sin(0.05 * (double)i);
    dsp_settings s = dsp_settings_default();
    dsp_audio a;
    aa_error err;

    /* the largest magnitude allowed, in both channels: loads, finite statistics */
    x[2 * 100] = DSP_MAX_SAMPLE;
    x[2 * 200 + 1] = -DSP_MAX_SAMPLE;
    ag_write_samples(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, 2, x, n);
    ck_assert_int_eq(dsp_load(path, &s, 0, &a, &err), 0);
    ck_assert(isfinite(a.stats.rms_dbfs) && isfinite(a.stats.peak));
    dsp_audio_free(&a);

    /* the next float up, and the fuzzer's value, beyond the first decoding chunk (frame 5000, channel 2) */
    const float bad[] = {nextafterf(DSP_MAX_SAMPLE, INFINITY), 2.3497e23f, -1e30f};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        x[2 * 5000 + 1] = bad[k];
        ag_write_samples(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, 2, x, n);
        ck_assert_int_eq(dsp_load(path, &s, 0, &a, &err), DSP_ERR_NONFINITE);
        ck_assert_msg(strstr(err.msg, "out of range") && strstr(err.msg, "frame 5000 (channel 2)"), "%s", err.msg);
        ck_assert(one_line(err.msg));
        ck_assert_ptr_null(a.samples);
    }
    x[2 * 5000 + 1] = NAN; /* still named for what it is */
    ag_write_samples(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, 2, x, n);
    ck_assert_int_eq(dsp_load(path, &s, 0, &a, &err), DSP_ERR_NONFINITE);
    ck_assert_msg(strstr(err.msg, "NaN sample at frame 5000"), "%s", err.msg);

    /* a float file written at 16-bit scale is not damage: it loads and its log-mel is finite */
    for (size_t i = 0; i < 2 * n; i++)
        x[i] = 30000.0f * (float)sin(0.05 * (double)(i / 2));
    ag_write_samples(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, 2, x, n);
    ck_assert_int_eq(dsp_load(path, &s, 0, &a, &err), 0);
    size_t cn = dsp_clip_samples(&s);
    float *clip = malloc(cn * sizeof *clip);
    dsp_clip(&s, a.samples, a.n, clip, NULL);
    dsp_logmel *lm = dsp_logmel_new(&s, 1, &err);
    ck_assert_ptr_nonnull(lm);
    size_t mn = dsp_logmel_size(lm, cn);
    float *mel = malloc(mn * sizeof *mel);
    ck_assert_int_eq(dsp_logmel_compute(lm, 0, clip, cn, mel, &err), 0);
    for (size_t i = 0; i < mn; i++)
        ck_assert(isfinite(mel[i]));
    free(mel);
    free(clip);
    dsp_logmel_free(lm);
    dsp_audio_free(&a);
    free(x);
    tu_rmtree(dir);
}
END_TEST

Suite *fuzzfix_suite(void)
{
    Suite *s = suite_create("fuzzfix");
    TCase *tc = tcase_create("fuzzfix");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, huge_float_samples_refused);
    suite_add_tcase(s, tc);
    return s;
}
