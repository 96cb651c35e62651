/* aa-infer --mel: the shape line, the file, equality with the library, stdin/stdout, usage errors. */
#include <check.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/dsp.h"
#include "model/model.h"
#include "nn/nn.h"
#include "tests/util/audiogen.h"
#include "tests/util/testutil.h"

/* What the binary should write: load, clip, log-mel with settings s. */
static float *library_mel_with(const char *path, dsp_settings s, size_t *n)
{
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

static float *library_mel(const char *path, size_t *n)
{
    return library_mel_with(path, dsp_settings_default(), n);
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
    /* the log-mel is no result: nothing of medicine or respiration in its help */
    ck_assert(strstr(so, "Usage: aa-infer --mel CLIP -o OUT.f32") && strstr(so, "Exit status") &&
              !strstr(so, "medical") && !strstr(so, "respirat"));
    /* aa-infer's own help lists the command. */
    snprintf(cmd, sizeof cmd, "%s/aa-infer --help", tu_build_dir());
    ck_assert_int_eq(tu_run(cmd, so, sizeof so, se, sizeof se), 0);
    ck_assert(strstr(so, "--mel CLIP -o OUT.f32") != NULL);
}
END_TEST

/* -m MODEL: the log-mel MODEL hears, with its own front end (8 kHz, 1 s, 40 mels from 50 Hz, the start of
 * the recording), not the defaults; the same file without -m is still the default 64 x 401. */
START_TEST(model_settings_with_m)
{
    char dir[256], clip[512], out[512], model[512], cmd[2048], so[4096], se[4096];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(clip, sizeof clip, dir, "rec.wav");
    double amp[1] = {0.3};
    ck_assert_int_eq(ag_write_sines(clip, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 22050, 1, 3 * 22050, 700, amp), 0);
    tu_path(model, sizeof model, dir, "m8.aam");
    am_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.dsp = dsp_settings_default();
    sp.dsp.sample_rate = 8000, sp.dsp.clip_seconds = 1, sp.dsp.n_mels = 40, sp.dsp.fmin = 50, sp.dsp.fmax = 4000;
    sp.dsp.crop = DSP_CROP_START;
    aa_error err;
    nn_model *net = nn_model_new("c4 bn relu gap fc", 1, 40, (int)dsp_clip_frames(&sp.dsp), 2, 1, &err);
    ck_assert_msg(net != NULL, "%s", err.msg);
    nn_init_he(net, 1);
    static const char *const classes[2] = {"a", "b"};
    float mean[40], std[40];
    for (int i = 0; i < 40; i++)
        mean[i] = -40, std[i] = 10;
    sp.n_classes = 2, sp.classes[0] = classes[0], sp.classes[1] = classes[1];
    sp.norm_mean = mean, sp.norm_std = std, sp.temperature = 1, sp.aggregate = am_aggregate_loudest();
    ck_assert_msg(am_save(model, net, &sp, &err) == 0, "%s", err.msg);
    nn_model_free(net);

    tu_path(out, sizeof out, dir, "mel.f32");
    snprintf(cmd, sizeof cmd, "%s/aa-infer --mel '%s' -m '%s' -o '%s'", tu_build_dir(), clip, model, out);
    ck_assert_msg(tu_run(cmd, so, sizeof so, se, sizeof se) == 0, "stderr: %s", se);
    ck_assert_msg(strstr(so, "40 x 51") != NULL, "shape line: '%s'", so);
    size_t n;
    float *want = library_mel_with(clip, sp.dsp, &n);
    ck_assert_uint_eq(n, 40 * 51);
    assert_file_is(out, want, n);
    free(want);

    snprintf(cmd, sizeof cmd, "%s/aa-infer --mel '%s' -o '%s'", tu_build_dir(), clip, out);
    ck_assert_msg(tu_run(cmd, so, sizeof so, se, sizeof se) == 0, "stderr: %s", se);
    ck_assert_msg(strstr(so, "64 x 401") != NULL, "shape line: '%s'", so);

    /* A model that cannot be read is a runtime error naming it; -m without a value a usage error. */
    snprintf(cmd, sizeof cmd, "%s/aa-infer --mel '%s' -m '%s/none.aam' -o '%s'", tu_build_dir(), clip, dir, out);
    ck_assert_int_eq(tu_run(cmd, so, sizeof so, se, sizeof se), 1);
    ck_assert_msg(strstr(se, "none.aam") && tu_count_lines(se) == 1, "stderr '%s'", se);
    snprintf(cmd, sizeof cmd, "%s/aa-infer --mel '%s' -o '%s' -m", tu_build_dir(), clip, out);
    ck_assert_int_eq(tu_run(cmd, so, sizeof so, se, sizeof se), 2);
    tu_rmtree(dir);
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
    tcase_add_test(tc, model_settings_with_m);
    tcase_add_test(tc, unwritable_output_is_an_error);
    suite_add_tcase(s, tc);
    return s;
}
