/* The public library (include/audioaudit.h): the same answers as model/ and aa-infer's timeline for files,
 * bytes and samples; the public error codes; a model shared by threads; the version; and the built
 * libraries exporting the header's names and nothing else. The model is the tone model of
 * tests/util/demomodel.h, whose answers are known from the clips. */
#include <check.h>
#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "include/audioaudit.h"
#include "infer/infer.h"
#include "model/model.h"
#include "tests/util/demomodel.h"
#include "tests/util/testutil.h"

#define RATE 16000

static char g_dir[256], g_model[320];

static void model_setup(void)
{
    tu_mkdtemp(g_dir, sizeof g_dir);
    tu_path(g_model, sizeof g_model, g_dir, "tone.aam");
    char msg[512];
    if (tu_make_tone_model(g_model, msg, sizeof msg)) {
        fprintf(stderr, "tone model: %s\n", msg);
        abort();
    }
}

static void model_teardown(void)
{
    tu_rmtree(g_dir);
}

static audioaudit_model *load(int workers)
{
    audioaudit_error err;
    audioaudit_model *m = audioaudit_model_load(g_model, workers, &err);
    ck_assert_msg(m != NULL, "%s", err.message);
    ck_assert_int_eq(err.code, AUDIOAUDIT_OK);
    return m;
}

/* A clip of `seconds` whose class under the tone model is cls (0..2 a tone filling it, a cough a burst in
 * the middle; 3 the noise floor alone). Caller frees. */
static float *clip(int cls, double seconds, size_t *n, uint64_t seed)
{
    *n = (size_t)lround(seconds * RATE);
    tu_tone_event ev = {cls == 0 ? seconds / 2 - TU_TONE_BURST_S / 2 : 0, cls == 0 ? TU_TONE_BURST_S : seconds, cls};
    float *x = tu_tone_recording(*n, &ev, cls < 3 ? 1 : 0, seed);
    ck_assert_ptr_nonnull(x);
    return x;
}

/* x as `channels` interleaved copies, channel c scaled by 1 - 0.1 c (a stereo recording of one source). */
static float *spread(const float *x, size_t n, int channels)
{
    float *y = malloc(n * (size_t)channels * sizeof *y);
    ck_assert_ptr_nonnull(y);
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < channels; c++)
            y[i * (size_t)channels + (size_t)c] = x[i] * (1.0f - 0.1f * (float)c);
    return y;
}

/* The two results are the same decision, bit for bit. */
static void same_result(const audioaudit_result *a, const audioaudit_result *b)
{
    ck_assert_int_eq(audioaudit_result_class(a), audioaudit_result_class(b));
    ck_assert_int_eq(audioaudit_result_gated(a), audioaudit_result_gated(b));
    ck_assert_str_eq(audioaudit_result_label(a), audioaudit_result_label(b));
    ck_assert(audioaudit_result_confidence(a) == audioaudit_result_confidence(b));
    ck_assert_int_eq(audioaudit_result_n_classes(a), audioaudit_result_n_classes(b));
    for (int c = 0; c < audioaudit_result_n_classes(a); c++)
        ck_assert_msg(audioaudit_result_probability(a, c) == audioaudit_result_probability(b, c), "class %d", c);
    ck_assert_int_eq(audioaudit_result_quality(a), audioaudit_result_quality(b));
    ck_assert(audioaudit_result_rms_dbfs(a) == audioaudit_result_rms_dbfs(b));
    ck_assert(audioaudit_result_peak_dbfs(a) == audioaudit_result_peak_dbfs(b));
    ck_assert(audioaudit_result_clipped_fraction(a) == audioaudit_result_clipped_fraction(b));
    ck_assert(audioaudit_result_duration(a) == audioaudit_result_duration(b));
    ck_assert_uint_eq(audioaudit_result_windows(a), audioaudit_result_windows(b));
    ck_assert(audioaudit_result_clip_start(a) == audioaudit_result_clip_start(b));
}

START_TEST(version_is_the_release)
{
    ck_assert_str_eq(audioaudit_version(), AA_VERSION);
    ck_assert_str_eq(AUDIOAUDIT_VERSION, AA_VERSION);
    int major, minor, patch;
    ck_assert_int_eq(sscanf(AA_VERSION, "%d.%d.%d", &major, &minor, &patch), 3);
    ck_assert_int_eq(AUDIOAUDIT_VERSION_MAJOR, major);
    ck_assert_int_eq(AUDIOAUDIT_VERSION_MINOR, minor);
    ck_assert_int_eq(AUDIOAUDIT_VERSION_PATCH, patch);
    ck_assert_int_eq(audioaudit_version_number(), major * 10000 + minor * 100 + patch);
    ck_assert_str_eq(AUDIOAUDIT_UNCLEAR_LABEL, AM_UNCLEAR_LABEL);
}
END_TEST

START_TEST(strerror_names_every_code)
{
    for (int c = AUDIOAUDIT_OK; c <= AUDIOAUDIT_ERR_INTERNAL; c++) {
        ck_assert_ptr_nonnull(audioaudit_strerror(c));
        ck_assert_str_ne(audioaudit_strerror(c), "unknown error");
        for (int d = AUDIOAUDIT_OK; d < c; d++)
            ck_assert_str_ne(audioaudit_strerror(c), audioaudit_strerror(d));
    }
    ck_assert_str_eq(audioaudit_strerror(-1), "unknown error");
    ck_assert_str_eq(audioaudit_strerror(400), "unknown error");
}
END_TEST

START_TEST(load_errors_have_codes_and_messages)
{
    audioaudit_error err;
    char path[400];
    ck_assert_ptr_null(audioaudit_model_load(NULL, 1, &err));
    ck_assert_int_eq(err.code, AUDIOAUDIT_ERR_ARG);
    tu_path(path, sizeof path, g_dir, "missing.aam");
    ck_assert_ptr_null(audioaudit_model_load(path, 1, &err));
    ck_assert_int_eq(err.code, AUDIOAUDIT_ERR_NOT_FOUND);
    ck_assert_msg(strstr(err.message, path) != NULL, "%s", err.message);
    ck_assert_ptr_null(audioaudit_model_load(g_model, 65, &err));
    ck_assert_int_eq(err.code, AUDIOAUDIT_ERR_ARG);
    ck_assert_ptr_null(audioaudit_model_load(g_model, -1, NULL)); /* no error wanted: no crash */

    /* not a model, and a model cut in half */
    tu_path(path, sizeof path, g_dir, "junk.aam");
    tu_write_file(path, "RIFF not a model at all", 23);
    ck_assert_ptr_null(audioaudit_model_load(path, 1, &err));
    ck_assert_int_eq(err.code, AUDIOAUDIT_ERR_MODEL);
    ck_assert_msg(strstr(err.message, path) && !strchr(err.message, '\n'), "%s", err.message);
    size_t size = 0;
    unsigned char *bytes = tu_read_file(g_model, &size);
    ck_assert_ptr_nonnull(bytes);
    tu_path(path, sizeof path, g_dir, "half.aam");
    tu_write_file(path, bytes, size / 2);
    ck_assert_ptr_null(audioaudit_model_load(path, 1, &err));
    ck_assert_int_eq(err.code, AUDIOAUDIT_ERR_MODEL);
    /* the same from memory: named as such, not by the memory file's path */
    ck_assert_ptr_null(audioaudit_model_load_memory(bytes, size / 2, 1, &err));
    ck_assert_int_eq(err.code, AUDIOAUDIT_ERR_MODEL);
    ck_assert_msg(strstr(err.message, "model in memory") && !strstr(err.message, "/proc/"), "%s", err.message);
    ck_assert_ptr_null(audioaudit_model_load_memory(NULL, 10, 1, &err));
    ck_assert_int_eq(err.code, AUDIOAUDIT_ERR_ARG);
    /* a directory exists but is no file */
    ck_assert_ptr_null(audioaudit_model_load(g_dir, 1, &err));
    ck_assert_msg(err.code == AUDIOAUDIT_ERR_IO, "%d %s", err.code, err.message);
    free(bytes);
}
END_TEST

START_TEST(model_knows_its_classes_and_settings)
{
    audioaudit_model *m = load(0);
    ck_assert_int_eq(audioaudit_model_workers(m), 1);
    ck_assert_int_eq(audioaudit_model_n_classes(m), 4);
    for (int c = 0; c < 4; c++)
        ck_assert_str_eq(audioaudit_model_class_name(m, c), TU_DEMO_CLASSES[c]);
    ck_assert_str_eq(audioaudit_model_class_label(m, 2), "Normal Breathing");
    ck_assert_ptr_null(audioaudit_model_class_name(m, 4));
    ck_assert_ptr_null(audioaudit_model_class_label(m, -1));
    ck_assert(audioaudit_model_class_threshold(m, 9) == -1);
    ck_assert(audioaudit_model_min_confidence(m) == 0.5);
    ck_assert(audioaudit_model_temperature(m) > 0);
    ck_assert_int_eq(audioaudit_model_sample_rate(m), 16000);
    ck_assert(audioaudit_model_clip_seconds(m) == 4.0);
    ck_assert_str_eq(audioaudit_model_arch(m), "fc");
    ck_assert_msg(!strncmp(audioaudit_model_settings(m), "sample_rate=16000\n", 18), "%s",
                  audioaudit_model_settings(m));
    ck_assert_ptr_nonnull(strstr(audioaudit_model_settings(m), "\nn_mels=64\n"));
    ck_assert_int_gt((int)strlen(audioaudit_model_aggregate(m)), 0);
    ck_assert_int_eq(audioaudit_model_selftest(m, NULL), AUDIOAUDIT_OK);
    /* the demo classes: a respiratory model, whose results go with the disclaimer */
    ck_assert_int_eq(audioaudit_model_is_respiratory(m), 1);
    ck_assert_str_eq(audioaudit_model_task(m), "respiratory");
    ck_assert_str_eq(audioaudit_model_disclaimer(m), "Not a medical device: this is not a diagnosis or health advice.");
    audioaudit_model_free(m);
    audioaudit_model_free(NULL);
    ck_assert_int_eq(audioaudit_model_n_classes(NULL), -1);
    ck_assert_int_eq(audioaudit_model_is_respiratory(NULL), 0);
    ck_assert_ptr_null(audioaudit_model_disclaimer(NULL));
    /* other classes: a general sound classifier, no disclaimer */
    char path[512], msg[512];
    snprintf(path, sizeof path, "%s/general.aam", g_dir);
    ck_assert_msg(tu_make_tone_model_named(path, TU_GENERAL_CLASSES, msg, sizeof msg) == 0, "%s", msg);
    audioaudit_error err;
    ck_assert_ptr_nonnull(m = audioaudit_model_load(path, 1, &err));
    ck_assert_int_eq(audioaudit_model_is_respiratory(m), 0);
    ck_assert_str_eq(audioaudit_model_task(m), "general");
    ck_assert_ptr_null(audioaudit_model_disclaimer(m));
    audioaudit_model_free(m);
}
END_TEST

/* Files, bytes and samples: the answers model/ gives for the same file, bit for bit. */
START_TEST(file_memory_and_samples_agree_with_model)
{
    char path[400], stereo[400];
    size_t n;
    float *x = clip(2, 6.0, &n, 31);
    tu_path(path, sizeof path, g_dir, "long.wav");
    tu_write_wav(path, x, n, 1, RATE, SF_FORMAT_FLOAT);
    audioaudit_model *m = load(1);
    audioaudit_error err;
    audioaudit_result *rf = audioaudit_classify_file(m, path, &err);
    ck_assert_msg(rf != NULL, "%s", err.message);
    ck_assert_str_eq(audioaudit_result_label(rf), "Normal Breathing");
    ck_assert_int_eq(audioaudit_result_class(rf), 2);
    ck_assert_int_eq(audioaudit_result_gated(rf), 0);
    ck_assert_str_eq(audioaudit_result_quality_name(rf), "ok");
    ck_assert_str_eq(audioaudit_result_quality_message(rf), "");
    double sum = 0;
    for (int c = 0; c < 4; c++)
        sum += audioaudit_result_probability(rf, c);
    ck_assert(fabs(sum - 1) < 1e-5);
    ck_assert(audioaudit_result_probability(rf, 4) == -1);

    /* model/ itself */
    aa_error e;
    am_model *am = am_load(g_model, 1, &e);
    ck_assert_ptr_nonnull(am);
    am_file_result fr;
    ck_assert_int_eq(am_classify_file(am, 0, path, 0, &fr, NULL, &e), 0);
    ck_assert_int_eq(audioaudit_result_class(rf), fr.result.cls);
    ck_assert(audioaudit_result_confidence(rf) == fr.result.confidence);
    for (int c = 0; c < 4; c++)
        ck_assert(audioaudit_result_probability(rf, c) == fr.result.probs[c]);
    ck_assert_uint_eq(audioaudit_result_windows(rf), fr.result.windows);
    ck_assert(audioaudit_result_clip_start(rf) == (double)fr.result.offset / RATE);
    am_free(am);

    /* the file's bytes, and the model from memory */
    size_t size = 0, msize = 0;
    void *bytes = tu_read_file(path, &size), *mbytes = tu_read_file(g_model, &msize);
    audioaudit_model *mm = audioaudit_model_load_memory(mbytes, msize, 2, &err);
    ck_assert_msg(mm != NULL, "%s", err.message);
    free(mbytes); /* the model does not keep the caller's bytes */
    audioaudit_result *rm = audioaudit_classify_memory(mm, bytes, size, "upload.wav", &err);
    ck_assert_msg(rm != NULL, "%s", err.message);
    same_result(rf, rm);

    /* samples: mono at the model rate, then two channels at 44.1 kHz against the same as a float WAV */
    audioaudit_result *rp = audioaudit_classify_pcm(m, x, n, RATE, 1, &err);
    ck_assert_msg(rp != NULL, "%s", err.message);
    same_result(rf, rp);
    size_t n44 = (size_t)lround(6.0 * 44100);
    float *x44 = malloc(n44 * sizeof *x44);
    for (size_t i = 0; i < n44; i++)
        x44[i] = x[(size_t)((double)i * RATE / 44100)];
    float *st = spread(x44, n44, 2);
    tu_path(stereo, sizeof stereo, g_dir, "stereo.wav");
    tu_write_wav(stereo, st, n44, 2, 44100, SF_FORMAT_FLOAT);
    audioaudit_result *rs_file = audioaudit_classify_file(m, stereo, &err);
    ck_assert_msg(rs_file != NULL, "%s", err.message);
    audioaudit_result *rs_pcm = audioaudit_classify_pcm(m, st, n44, 44100, 2, &err);
    ck_assert_msg(rs_pcm != NULL, "%s", err.message);
    same_result(rs_file, rs_pcm);
    ck_assert_str_eq(audioaudit_result_label(rs_pcm), "Normal Breathing");

    audioaudit_result_free(rf);
    audioaudit_result_free(rm);
    audioaudit_result_free(rp);
    audioaudit_result_free(rs_file);
    audioaudit_result_free(rs_pcm);
    audioaudit_result_free(NULL);
    audioaudit_model_free(m);
    audioaudit_model_free(mm);
    free(bytes);
    free(x);
    free(x44);
    free(st);
}
END_TEST

START_TEST(bad_samples_and_files_are_errors)
{
    audioaudit_model *m = load(1);
    audioaudit_error err;
    float x[RATE] = {0};
    ck_assert_ptr_null(audioaudit_classify_pcm(m, x, RATE, 7999, 1, &err));
    ck_assert_int_eq(err.code, AUDIOAUDIT_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.message, "7999"));
    ck_assert_ptr_null(audioaudit_classify_pcm(m, x, RATE, 192001, 1, &err));
    ck_assert_int_eq(err.code, AUDIOAUDIT_ERR_ARG);
    ck_assert_ptr_null(audioaudit_classify_pcm(m, x, RATE / 9, RATE, 9, &err));
    ck_assert_int_eq(err.code, AUDIOAUDIT_ERR_ARG);
    ck_assert_ptr_null(audioaudit_classify_pcm(m, x, RATE, RATE, 0, &err));
    ck_assert_int_eq(err.code, AUDIOAUDIT_ERR_ARG);
    ck_assert_ptr_null(audioaudit_classify_pcm(m, NULL, 10, RATE, 1, &err));
    ck_assert_int_eq(err.code, AUDIOAUDIT_ERR_ARG);
    ck_assert_ptr_null(audioaudit_classify_pcm(NULL, x, RATE, RATE, 1, &err));
    ck_assert_int_eq(err.code, AUDIOAUDIT_ERR_ARG);
    /* refused by its length before anything is read or copied */
    ck_assert_ptr_null(audioaudit_classify_pcm(m, x, (size_t)3601 * RATE, RATE, 1, &err));
    ck_assert_int_eq(err.code, AUDIOAUDIT_ERR_AUDIO);
    ck_assert_ptr_null(audioaudit_classify_pcm(m, x, 0, RATE, 1, &err));
    ck_assert_int_eq(err.code, AUDIOAUDIT_ERR_AUDIO);
    x[100] = NAN;
    ck_assert_ptr_null(audioaudit_classify_pcm(m, x, RATE, RATE, 1, &err));
    ck_assert_int_eq(err.code, AUDIOAUDIT_ERR_AUDIO);
    ck_assert_msg(strstr(err.message, "samples") != NULL, "%s", err.message);

    char path[400];
    tu_path(path, sizeof path, g_dir, "nope.wav");
    ck_assert_ptr_null(audioaudit_classify_file(m, path, &err));
    ck_assert_int_eq(err.code, AUDIOAUDIT_ERR_NOT_FOUND);
    tu_path(path, sizeof path, g_dir, "text.wav");
    tu_write_file(path, "hello, not audio", 16);
    ck_assert_ptr_null(audioaudit_classify_file(m, path, &err));
    ck_assert_int_eq(err.code, AUDIOAUDIT_ERR_AUDIO);
    ck_assert_ptr_nonnull(strstr(err.message, "text.wav"));
    ck_assert_ptr_null(audioaudit_classify_memory(m, "junk", 4, NULL, &err));
    ck_assert_int_eq(err.code, AUDIOAUDIT_ERR_AUDIO);
    ck_assert_ptr_null(audioaudit_classify_memory(m, NULL, 4, NULL, &err));
    ck_assert_int_eq(err.code, AUDIOAUDIT_ERR_ARG);
    ck_assert_ptr_null(audioaudit_classify_file(m, NULL, NULL));
    audioaudit_model_free(m);
}
END_TEST

START_TEST(quality_and_gate)
{
    audioaudit_model *m = load(1);
    audioaudit_error err;
    float silent[RATE] = {0};
    audioaudit_result *r = audioaudit_classify_pcm(m, silent, RATE, RATE, 1, &err);
    ck_assert_msg(r != NULL, "%s", err.message);
    ck_assert_int_eq(audioaudit_result_quality(r), AUDIOAUDIT_QUALITY_SILENT);
    ck_assert_str_eq(audioaudit_result_quality_name(r), "silent");
    ck_assert_int_gt((int)strlen(audioaudit_result_quality_message(r)), 0);
    ck_assert(audioaudit_result_rms_dbfs(r) == -120.0);
    audioaudit_result_free(r);
    r = audioaudit_classify_pcm(m, silent, RATE / 4, RATE, 1, &err);
    ck_assert_msg(r != NULL, "%s", err.message);
    ck_assert_int_eq(audioaudit_result_quality(r), AUDIOAUDIT_QUALITY_TOO_SHORT);
    audioaudit_result_free(r);

    /* a clear tone passes the stored gate (0.5) and is withheld under a gate of 1 */
    size_t n;
    float *x = clip(1, 4.0, &n, 12);
    r = audioaudit_classify_pcm(m, x, n, RATE, 1, &err);
    ck_assert_int_eq(audioaudit_result_gated(r), 0);
    ck_assert_str_eq(audioaudit_result_label(r), "Heavy Breathing");
    double conf = audioaudit_result_confidence(r);
    ck_assert(conf < 1.0);
    audioaudit_result_free(r);
    ck_assert_int_eq(audioaudit_model_set_gate(m, 1.0, &err), AUDIOAUDIT_OK);
    ck_assert(audioaudit_model_min_confidence(m) == 1.0);
    r = audioaudit_classify_pcm(m, x, n, RATE, 1, &err);
    ck_assert_int_eq(audioaudit_result_gated(r), 1);
    ck_assert_str_eq(audioaudit_result_label(r), AUDIOAUDIT_UNCLEAR_LABEL);
    ck_assert_int_eq(audioaudit_result_class(r), 1); /* the top class is still told */
    ck_assert(audioaudit_result_confidence(r) == conf);
    audioaudit_result_free(r);
    ck_assert_int_eq(audioaudit_model_set_gate(m, 1.5, &err), AUDIOAUDIT_ERR_ARG);
    ck_assert_int_eq(audioaudit_model_set_gate(m, NAN, &err), AUDIOAUDIT_ERR_ARG);
    ck_assert(audioaudit_model_min_confidence(m) == 1.0);
    free(x);
    audioaudit_model_free(m);
}
END_TEST

/* The timeline is aa-infer --timeline's: the same windows, probabilities and events as inf_timeline_run on
 * a file of the same samples. */
START_TEST(timeline_agrees_with_aa_infer)
{
    size_t n = 40 * RATE;
    tu_tone_event ev[2] = {{8.0, TU_TONE_BURST_S, 0}, {20.0, 9.0, 1}};
    float *x = tu_tone_recording(n, ev, 2, 17);
    char path[400];
    tu_path(path, sizeof path, g_dir, "night.wav");
    tu_write_wav(path, x, n, 1, RATE, SF_FORMAT_FLOAT);
    audioaudit_model *m = load(2);
    audioaudit_error err;
    audioaudit_timeline *tp = audioaudit_timeline_pcm(m, x, n, RATE, 1, 0, 0, NULL, &err);
    ck_assert_msg(tp != NULL, "%s", err.message);
    audioaudit_timeline *tf = audioaudit_timeline_file(m, path, 0.5, 3, "background_noise", &err);
    ck_assert_msg(tf != NULL, "%s", err.message);

    aa_error e;
    am_model *am = am_load(g_model, 1, &e);
    ck_assert_ptr_nonnull(am);
    inf_timeline t;
    ck_assert_int_eq(inf_timeline_run(am, path, NULL, 0, 0.5, 3, 3, 1, &t, &e), 0);
    const audioaudit_timeline *both[2] = {tp, tf};
    for (int i = 0; i < 2; i++) {
        const audioaudit_timeline *a = both[i];
        ck_assert_uint_eq(audioaudit_timeline_windows(a), t.n_windows);
        ck_assert_int_eq(audioaudit_timeline_n_classes(a), 4);
        ck_assert(audioaudit_timeline_hop(a) == 0.5);
        ck_assert(audioaudit_timeline_window_seconds(a) == 4.0);
        ck_assert(audioaudit_timeline_duration(a) == t.duration_s);
        ck_assert(!memcmp(audioaudit_timeline_probabilities(a), t.probs, t.n_windows * 4 * sizeof(float)));
        ck_assert_uint_eq(audioaudit_timeline_n_events(a), t.n_events);
        for (size_t j = 0; j < t.n_events; j++) {
            double s, en, conf;
            int cls;
            ck_assert_int_eq(audioaudit_timeline_event(a, j, &s, &en, &cls, &conf), AUDIOAUDIT_OK);
            ck_assert(s == t.events[j].start && en == t.events[j].end && conf == t.events[j].peak);
            ck_assert_int_eq(cls, t.events[j].cls);
        }
        ck_assert_int_eq(audioaudit_timeline_event(a, t.n_events, NULL, NULL, NULL, NULL), AUDIOAUDIT_ERR_ARG);
    }
    /* the cough and the long tone, and nothing of the background */
    ck_assert_uint_eq(t.n_events, 2);
    ck_assert_int_eq(t.events[0].cls, 0);
    ck_assert_int_eq(t.events[1].cls, 1);
    inf_timeline_free(&t);
    am_free(am);

    /* no background class: the noise floor's windows become events too */
    audioaudit_timeline *tn = audioaudit_timeline_pcm(m, x, n, RATE, 1, 0.5, 3, "", &err);
    ck_assert_msg(tn != NULL, "%s", err.message);
    ck_assert_uint_gt(audioaudit_timeline_n_events(tn), 2);
    audioaudit_timeline_free(tn);
    ck_assert_ptr_null(audioaudit_timeline_pcm(m, x, n, RATE, 1, 0.5, 3, "snoring", &err));
    ck_assert_int_eq(err.code, AUDIOAUDIT_ERR_ARG);
    ck_assert_ptr_null(audioaudit_timeline_pcm(m, x, n, RATE, 1, 0.5, 4, NULL, &err));
    ck_assert_int_eq(err.code, AUDIOAUDIT_ERR_ARG);
    ck_assert_ptr_null(audioaudit_timeline_pcm(m, x, n, RATE, 1, 0.001, 3, NULL, &err));
    ck_assert_int_eq(err.code, AUDIOAUDIT_ERR_ARG);
    ck_assert_ptr_null(audioaudit_timeline_file(m, "/nonexistent/x.wav", 0, 0, NULL, &err));
    ck_assert_int_eq(err.code, AUDIOAUDIT_ERR_NOT_FOUND);
    audioaudit_timeline_free(tp);
    audioaudit_timeline_free(tf);
    audioaudit_timeline_free(NULL);
    audioaudit_model_free(m);
    free(x);
}
END_TEST

/* ---- one model shared by threads ------------------------------------------------------------------------- */

#define THREADS 4
#define ROUNDS 3

typedef struct {
    audioaudit_model *m;
    const float *x[4];
    size_t n[4];
    const float *expect[4]; /* [4] probabilities, serially */
    const float *long_x;
    size_t long_n;
    size_t expect_windows;
    int id, bad;
} worker_arg;

static void *worker(void *p)
{
    worker_arg *a = p;
    for (int r = 0; r < ROUNDS; r++) {
        if (a->id == 0) { /* one thread asks for timelines, which need the whole model */
            audioaudit_timeline *t = audioaudit_timeline_pcm(a->m, a->long_x, a->long_n, RATE, 1, 0, 0, NULL, NULL);
            a->bad |= !t || audioaudit_timeline_windows(t) != a->expect_windows;
            audioaudit_timeline_free(t);
            continue;
        }
        for (int c = 0; c < 4; c++) {
            int k = (c + a->id) % 4;
            audioaudit_result *res = audioaudit_classify_pcm(a->m, a->x[k], a->n[k], RATE, 1, NULL);
            a->bad |= !res;
            for (int j = 0; res && j < 4; j++)
                a->bad |= audioaudit_result_probability(res, j) != a->expect[k][j];
            audioaudit_result_free(res);
        }
    }
    return NULL;
}

START_TEST(threads_share_one_model)
{
    audioaudit_model *m = load(2);
    float *x[4], expect[4][4];
    size_t n[4];
    for (int c = 0; c < 4; c++) {
        x[c] = clip(c, 3.0 + c, &n[c], 50 + (uint64_t)c);
        audioaudit_result *r = audioaudit_classify_pcm(m, x[c], n[c], RATE, 1, NULL);
        ck_assert_ptr_nonnull(r);
        for (int j = 0; j < 4; j++)
            expect[c][j] = (float)audioaudit_result_probability(r, j);
        audioaudit_result_free(r);
    }
    size_t long_n = 20 * RATE;
    float *long_x = tu_tone_recording(long_n, NULL, 0, 9);
    audioaudit_timeline *t = audioaudit_timeline_pcm(m, long_x, long_n, RATE, 1, 0, 0, NULL, NULL);
    ck_assert_ptr_nonnull(t);
    size_t windows = audioaudit_timeline_windows(t);
    audioaudit_timeline_free(t);

    pthread_t th[THREADS];
    worker_arg args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i] = (worker_arg){.m = m, .long_x = long_x, .long_n = long_n, .expect_windows = windows, .id = i};
        for (int c = 0; c < 4; c++) {
            args[i].x[c] = x[c];
            args[i].n[c] = n[c];
            args[i].expect[c] = expect[c];
        }
        ck_assert_int_eq(pthread_create(&th[i], NULL, worker, &args[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_msg(!args[i].bad, "thread %d saw another answer", i);
    }
    for (int c = 0; c < 4; c++)
        free(x[c]);
    free(long_x);
    audioaudit_model_free(m);
}
END_TEST

/* ---- the built libraries ------------------------------------------------------------------------------- */

/* The names the public header declares with AUDIOAUDIT_API, sorted, one per line. */
static void header_names(char *out, size_t cap)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/../../include/audioaudit.h", tu_fixtures_dir());
    char *h = tu_read_file(path, NULL);
    ck_assert_msg(h != NULL, "%s: cannot read", path);
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.names", g_model);
    FILE *f = fopen(tmp, "w");
    ck_assert_ptr_nonnull(f);
    int count = 0;
    for (char *p = h; (p = strstr(p, "AUDIOAUDIT_API ")); p++) {
        char *paren = strchr(p, '(');
        if (!paren || p[-1] == ' ' || p[-1] == '(') /* the macro's own definition */
            continue;
        char *e = paren;
        while (e > p && (isalnum((unsigned char)e[-1]) || e[-1] == '_'))
            e--;
        fprintf(f, "%.*s\n", (int)(paren - e), e);
        count++;
    }
    fclose(f);
    free(h);
    ck_assert_int_gt(count, 40);
    char cmd[1300];
    snprintf(cmd, sizeof cmd, "sort -u '%s'", tmp);
    ck_assert_int_eq(tu_run(cmd, out, cap, NULL, 0), 0);
}

START_TEST(libraries_export_the_header_and_nothing_else)
{
    static char want[1 << 14], got[1 << 14], err[4096];
    header_names(want, sizeof want);
    char cmd[2048];
    const char *b = tu_build_dir();
    /* shared: the dynamic symbols it defines, less the version node (an absolute symbol) */
    snprintf(cmd, sizeof cmd, "nm -D --defined-only '%s/lib/libaudioaudit.so.%d' | awk '$2 != \"A\" {print $3}' "
             "| sed 's/@.*//' | sort -u", b, AUDIOAUDIT_VERSION_MAJOR);
    ck_assert_int_eq(tu_run(cmd, got, sizeof got, err, sizeof err), 0);
    ck_assert_msg(!strcmp(got, want), "libaudioaudit.so exports:\n%s\nthe header declares:\n%s", got, want);
    snprintf(cmd, sizeof cmd, "nm -g --defined-only '%s/lib/libaudioaudit.a' | awk 'NF == 3 {print $3}' | sort -u",
             b);
    ck_assert_int_eq(tu_run(cmd, got, sizeof got, err, sizeof err), 0);
    ck_assert_msg(!strcmp(got, want), "libaudioaudit.a defines:\n%s\nthe header declares:\n%s", got, want);
    /* the SONAME carries the major version */
    snprintf(cmd, sizeof cmd, "readelf -d '%s/lib/libaudioaudit.so.%s' | sed -n 's/.*(SONAME).*\\[\\(.*\\)\\]/\\1/p'",
             b, AA_VERSION);
    ck_assert_int_eq(tu_run(cmd, got, sizeof got, err, sizeof err), 0);
    char soname[64];
    snprintf(soname, sizeof soname, "libaudioaudit.so.%d\n", AUDIOAUDIT_VERSION_MAJOR);
    ck_assert_str_eq(got, soname);
}
END_TEST

Suite *api_suite(void)
{
    Suite *s = suite_create("api");
    TCase *tc = tcase_create("library");
    tcase_set_timeout(tc, 120);
    tcase_add_unchecked_fixture(tc, model_setup, model_teardown);
    tcase_add_test(tc, version_is_the_release);
    tcase_add_test(tc, strerror_names_every_code);
    tcase_add_test(tc, load_errors_have_codes_and_messages);
    tcase_add_test(tc, model_knows_its_classes_and_settings);
    tcase_add_test(tc, file_memory_and_samples_agree_with_model);
    tcase_add_test(tc, bad_samples_and_files_are_errors);
    tcase_add_test(tc, quality_and_gate);
    tcase_add_test(tc, timeline_agrees_with_aa_infer);
    tcase_add_test(tc, threads_share_one_model);
    tcase_add_test(tc, libraries_export_the_header_and_nothing_else);
    suite_add_tcase(s, tc);
    return s;
}
