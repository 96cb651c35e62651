/* aa-infer --mel: the shape line, the file, equality with the library, stdin/stdout, usage errors. */
#include <check.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/dsp.h"
#include "tests/util/audiogen.h"
#include "tests/util/testutil.h"

/* What the binary should write: load, clip, log-mel with the default settings. */
static float *library_mel(const char *path, size_t *n)
{
    dsp_settings s = dsp_settings_default();
    dsp_audio a;
    aa_error err;
    ck_assert_msg(dsp_load(path, &s, 0, &a, &err) == 0, "%s", err.msg);
    size_t len = dsp_clip_samples(&s);
    float *clip = malloc(sizeof(float) * len);
    dsp_clip(&s, a.samples, a.n, clip, NULL);
    dsp_logmel *m = dsp_logmel_new(&s, 1, NULL);
    *n = dsp_logmel_size(m, len);
    float *mel = malloc(sizeof(float) * *n);
    ck_assert_int_eq(dsp_logmel_compute(m, 0, clip, len, mel, NULL), 0);
    dsp_logmel_free(m);
    free(clip);
    dsp_audio_free(&a);
    return mel;
}

static void assert_file_is(const char *path, const float *want, size_t n)
{
    size_t size;
    unsigned char *b = tu_read_file(path, &size);
    ck_assert_msg(b != NULL, "%s not written", path);
    ck_assert_uint_eq(size, 4 * n);
    for (size_t i = 0; i < n; i++) {
        float v = aa_get_f32(b + 4 * i);
        ck_assert_msg(memcmp(&v, &want[i], sizeof v) == 0, "value %zu: %g vs library %g", i, v, want[i]);
    }
    free(b);
}

/* A 6 s stereo 44.1 kHz recording: resampled, mixed and cropped before the log-mel, like the model's input. */
START_TEST(writes_the_library_log_mel)
{
    char dir[256], clip[512], out[512], cmd[2048], so[4096], se[4096];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(clip, sizeof clip, dir, "rec.flac");
    double amp[2] = {0.3, 0.1};
    ck_assert_int_eq(ag_write_sines(clip, SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 44100, 2, 6 * 44100, 700, amp), 0);
    tu_path(out, sizeof out, dir, "mel.f32");
    snprintf(cmd, sizeof cmd, "%s/aa-infer --mel '%s' -o '%s'", tu_build_dir(), clip, out);
    ck_assert_msg(tu_run(cmd, so, sizeof so, se, sizeof se) == 0, "stderr: %s", se);
    ck_assert_msg(strstr(so, "64 x 401") != NULL && strstr(so, out) != NULL, "shape line: '%s'", so);
    ck_assert_int_eq(tu_count_lines(so), 1);
    ck_assert_str_eq(se, "");
    size_t n;
    float *want = library_mel(clip, &n);
    ck_assert_uint_eq(n, 64 * 401);
    assert_file_is(out, want, n);

    /* '-' for both: the recording from stdin, the floats to stdout, the shape line to stderr. */
    char out2[512];
    tu_path(out2, sizeof out2, dir, "piped.f32");
    snprintf(cmd, sizeof cmd, "%s/aa-infer --mel - -o - < '%s' > '%s'", tu_build_dir(), clip, out2);
    ck_assert_msg(tu_run(cmd, so, sizeof so, se, sizeof se) == 0, "stderr: %s", se);
    ck_assert_msg(strstr(se, "64 x 401") != NULL, "shape line: '%s'", se);
    assert_file_is(out2, want, n);
    free(want);
    tu_rmtree(dir);
}
END_TEST

START_TEST(usage_errors_exit_2)
{
    const char *args[] = {"--mel", "--mel x.wav", "--mel x.wav -o", "--mel x.wav -o a.f32 extra",
                          "--mel x.wav -o a.f32 -o b.f32"};
    char cmd[1024], so[4096], se[4096];
    for (size_t i = 0; i < sizeof args / sizeof *args; i++) {
        snprintf(cmd, sizeof cmd, "%s/aa-infer %s", tu_build_dir(), args[i]);
        ck_assert_msg(tu_run(cmd, so, sizeof so, se, sizeof se) == 2, "'%s' did not exit 2", args[i]);
        ck_assert_msg(tu_count_lines(se) == 1, "'%s': stderr '%s'", args[i], se);
    }
    snprintf(cmd, sizeof cmd, "%s/aa-infer --mel --help", tu_build_dir());
    ck_assert_int_eq(tu_run(cmd, so, sizeof so, se, sizeof se), 0);
    ck_assert(strstr(so, "Usage: aa-infer --mel CLIP -o OUT.f32") && strstr(so, "Exit status") &&
              strstr(so, "not a medical device"));
    /* aa-infer's own help lists the command. */
    snprintf(cmd, sizeof cmd, "%s/aa-infer --help", tu_build_dir());
    ck_assert_int_eq(tu_run(cmd, so, sizeof so, se, sizeof se), 0);
    ck_assert(strstr(so, "--mel CLIP -o OUT.f32") != NULL);
}
END_TEST

/* An unwritable output is a runtime error naming the output. */
START_TEST(unwritable_output_is_an_error)
{
    char clip[512], cmd[2048], se[4096];
    tu_path(clip, sizeof clip, tu_fixtures_dir(), "mix_1s.wav");
    snprintf(cmd, sizeof cmd, "%s/aa-infer --mel '%s' -o /nonexistent-dir/mel.f32", tu_build_dir(), clip);
    ck_assert_int_eq(tu_run(cmd, NULL, 0, se, sizeof se), 1);
    ck_assert_msg(strstr(se, "/nonexistent-dir/mel.f32") && tu_count_lines(se) == 1, "stderr '%s'", se);
}
END_TEST

Suite *mel_cmd_suite(void)
{
    Suite *s = suite_create("mel_cmd");
    TCase *tc = tcase_create("mel_cmd");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, writes_the_library_log_mel);
    tcase_add_test(tc, usage_errors_exit_2);
    tcase_add_test(tc, unwritable_output_is_an_error);
    suite_add_tcase(s, tc);
    return s;
}
