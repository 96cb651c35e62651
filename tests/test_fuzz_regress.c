/* Regressions for what the fuzz targets (fuzz/) found, and for what review of the paths they drive found,
 * each rebuilt here by hand so that it runs in every `make check` without the fuzzer. One test per
 * finding; the comment says what broke and how it was found. */
#include <check.h>
#include <malloc.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "datasets/datasets.h"
#include "dsp/dsp.h"
#include "model/model.h"
#include "nn/nn_file.h"
#include "nn/nn_model.h"
#include "tests/util/audiogen.h"
#include "tests/util/testutil.h"

/* ---- helpers ------------------------------------------------------------------------------------------- */

static int one_line(const char *s)
{
    return strchr(s, '\n') == NULL && strchr(s, '\r') == NULL;
}

/* A small saved model file in dir; returns its bytes (caller frees) and size. */
static unsigned char *small_model_file(const char *dir, const char *name, const char *user_key, size_t *size,
                                       char *path, size_t cap)
{
    aa_error err;
    nn_model *m = nn_model_new("c4 bn relu p2 c6b bn relu gap fc", 1, 8, 12, 3, 1, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    nn_meta *meta = nn_meta_new();
    ck_assert_int_eq(nn_meta_set_str(meta, user_key, "value", &err), 0);
    tu_path(path, cap, dir, name);
    ck_assert_int_eq(nn_model_save(m, meta, path, &err), 0);
    nn_meta_free(meta);
    nn_model_free(m);
    unsigned char *buf = tu_read_file(path, size);
    ck_assert_ptr_nonnull(buf);
    return buf;
}

/* Replaces the first occurrence of `from` by the same number of bytes of `to` (which may hold a NUL) and
 * restamps the CRC, so that the change reaches the parser behind the checksum. */
static void patch(unsigned char *buf, size_t size, const char *from, const char *to)
{
    size_t n = strlen(from);
    for (size_t i = 0; i + n <= size - 4; i++)
        if (memcmp(buf + i, from, n) == 0) {
            memcpy(buf + i, to, n);
            aa_put_u32(buf + size - 4, aa_crc32(0, buf, size - 4));
            return;
        }
    ck_abort_msg("'%s' not in the file", from);
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

/* ---- dsp: settings text quoted in messages --------------------------------------------------------------- */

/* Found reviewing the settings parser for the settings target, which now requires its messages to be
 * printable: a settings line read from a damaged model file was quoted as it was, terminal escapes and
 * all. Bytes outside printable ASCII now show as '?'. */
START_TEST(settings_messages_printable)
{
    char text[DSP_SETTINGS_TEXT_MAX], t[DSP_SETTINGS_TEXT_MAX + 64];
    dsp_settings s = dsp_settings_default(), out;
    dsp_settings_format(&s, text, sizeof text);
    char *mels = strstr(text, "n_mels=64\n");
    ck_assert_ptr_nonnull(mels);
    aa_error err;
    /* a value with a terminal escape in place of n_mels's; then lines after all the good ones */
    snprintf(t, sizeof t, "%.*sn_mels=\x1b[31m64\n%s", (int)(mels - text), text, mels + strlen("n_mels=64\n"));
    static const char *const after[] = {"\x1b]0;x\x07=1\n", "crop\xff\xfe\n"};
    static const char *const shown[] = {"bad value '?[31m64' for n_mels", "unknown key '?]0;x?'",
                                        "is not key=value: 'crop?" "?'"};
    for (int k = 0; k < 3; k++) {
        if (k > 0)
            snprintf(t, sizeof t, "%s%s", text, after[k - 1]);
        ck_assert_int_eq(dsp_settings_parse(t, strlen(t), "m.aam", &out, &err), DSP_ERR_SETTINGS);
        ck_assert_msg(strstr(err.msg, shown[k]) != NULL, "%s", err.msg);
        for (const char *c = err.msg; *c; c++)
            ck_assert_msg(*c >= 0x20 && *c <= 0x7e, "byte 0x%02x in '%s'", (unsigned char)*c, err.msg);
    }
}
END_TEST

/* ---- nn: names and the architecture string read from a file end up in messages ------------------------ */

/* A damaged model file whose metadata key held "\r\n" gave a two-line message quoting the raw key. Names
 * are printable ASCII by nn_meta's rule; the loader now refuses others before quoting anything. */
START_TEST(file_names_with_control_bytes)
{
    char dir[256], path[512];
    tu_mkdtemp(dir, sizeof dir);
    size_t size;
    unsigned char *buf = small_model_file(dir, "m.aam", "aa.trXYZ", &size, path, sizeof path);
    patch(buf, size, "aa.trXYZ", "aa.tr\r\n\x1a");
    tu_write_file(path, buf, size);
    aa_error err;
    nn_model *m = nn_model_load(path, 1, 0, NULL, &err);
    ck_assert_ptr_null(m);
    ck_assert_int_eq(err.code, NN_ERR_FORMAT);
    ck_assert_msg(one_line(err.msg) && strstr(err.msg, "malformed string entry"), "%s", err.msg);
    /* a NUL inside a name used to cut it short silently ("aa.tr" would have been read) */
    patch(buf, size, "aa.tr\r\n\x1a", "aa.tr\0XY");
    tu_write_file(path, buf, size);
    ck_assert_ptr_null(nn_model_load(path, 1, 0, NULL, &err));
    ck_assert_msg(err.code == NN_ERR_FORMAT && strstr(err.msg, "malformed string entry"), "%s", err.msg);
    free(buf);
    tu_rmtree(dir);
}
END_TEST

/* The architecture string is a value, not a name: a newline in it came back inside "unknown layer ..." */
START_TEST(file_arch_with_control_bytes)
{
    char dir[256], path[512];
    tu_mkdtemp(dir, sizeof dir);
    size_t size;
    unsigned char *buf = small_model_file(dir, "m.aam", "note", &size, path, sizeof path);
    patch(buf, size, "c4 bn relu", "c4\nbn\x01relu");
    tu_write_file(path, buf, size);
    aa_error err;
    ck_assert_ptr_null(nn_model_load(path, 1, 0, NULL, &err));
    ck_assert_int_eq(err.code, NN_ERR_MISMATCH);
    ck_assert_msg(one_line(err.msg) && strstr(err.msg, "byte 0x0a at offset 2 is not printable"), "%s", err.msg);
    /* and straight through nn_model_new */
    ck_assert_ptr_null(nn_model_new("c4 bn\rrelu gap fc", 1, 8, 8, 2, 1, &err));
    ck_assert_msg(err.code == NN_ERR_ARCH && one_line(err.msg), "%s", err.msg);
    free(buf);
    tu_rmtree(dir);
}
END_TEST

/* ---- nn: a model file's few bytes decide every buffer ---------------------------------------------------- */

/* A 3 KB model file whose "nn.input" said 1 x 8 x 16777216 made nn_model_load allocate and clear 16 GB for
 * 73 s (the network has no width-dependent weights, so it even loaded); "1 4096 65536" was killed by the
 * kernel at 23 GB. Shapes and the buffers they imply are now bounded before anything is allocated. */
START_TEST(file_input_shape_bounded)
{
    char dir[256], path[512];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(path, sizeof path, dir, "wide.aam");
    aa_error err;
    nn_model *m = nn_model_new("c4 bn relu p2 c6b bn relu gap fc", 1, 8, 12, 3, 1, &err);
    ck_assert_ptr_nonnull(m);
    static const char *const inputs[] = {"1 8 16777216", "1 4096 65536", "16777216 16777216 16777216"};
    for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++) {
        nn_meta *all = nn_meta_new();
        ck_assert_int_eq(nn_model_to_meta(m, all, &err), 0);
        ck_assert_int_eq(nn_meta_put_str(all, "nn.input", inputs[i], &err), 0);
        ck_assert_int_eq(nn_file_write(path, nn_magic_model, all, &err), 0);
        nn_meta_free(all);
        ck_assert_ptr_null(nn_model_load(path, 1, 0, NULL, &err));
        ck_assert_msg(err.code == NN_ERR_MISMATCH && strstr(err.msg, "limit") && one_line(err.msg), "%s", err.msg);
        ck_assert_ptr_null(am_load(path, 1, &err));
        ck_assert_msg(strstr(err.msg, "limit") != NULL, "%s", err.msg);
    }
    nn_model_free(m);

    /* the same limits straight through nn_model_new: an output map, a parameter count, a sum of buffers */
    ck_assert_ptr_null(nn_model_new("c65536 relu gap fc", 1, 64, 401, 4, 1, &err));
    ck_assert_msg(err.code == NN_ERR_ARCH && strstr(err.msg, "layer 1 (conv) outputs"), "%s", err.msg);
    ck_assert_ptr_null(nn_model_new("c16 gap fc1048576 fc1048576 fc", 1, 64, 401, 4, 1, &err));
    ck_assert_msg(err.code == NN_ERR_ARCH && strstr(err.msg, "parameters, over the limit"), "%s", err.msg);
    ck_assert_ptr_null(nn_model_new("aa-cnn-s", 1, 64, 150 * 401, 4, 1, &err)); /* a 600 s clip */
    ck_assert_msg(err.code == NN_ERR_ARCH && strstr(err.msg, "MiB of buffers for one sample"), "%s", err.msg);
    /* what the project uses is far inside them: aa-cnn-s on 4 s and 32 s clips, training batches of 64 */
    m = nn_model_new("aa-cnn-s", 1, 64, 401, 4, 64, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    nn_model_free(m);
    m = nn_model_new("aa-cnn-s", 1, 64, 8 * 401, 4, 1, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    nn_model_free(m);
    tu_rmtree(dir);
}
END_TEST

/* Entries are looked up by name as they are added (quadratic): a header announcing millions of entries is
 * refused before any is read, and the writer refuses to make a file the reader would refuse. */
START_TEST(file_entry_count_bounded)
{
    char dir[256], path[512];
    tu_mkdtemp(dir, sizeof dir);
    size_t size;
    unsigned char *buf = small_model_file(dir, "m.aam", "note", &size, path, sizeof path);
    aa_put_u32(buf + 12, 4097);
    aa_put_u32(buf + size - 4, aa_crc32(0, buf, size - 4));
    tu_write_file(path, buf, size);
    aa_error err;
    ck_assert_ptr_null(nn_model_load(path, 1, 0, NULL, &err));
    ck_assert_msg(err.code == NN_ERR_FORMAT && strstr(err.msg, "4097 strings"), "%s", err.msg);
    nn_meta *meta = nn_meta_new();
    char key[32];
    for (int i = 0; i < 4097; i++) {
        snprintf(key, sizeof key, "k%d", i);
        ck_assert_int_eq(nn_meta_set_str(meta, key, "v", &err), 0);
    }
    ck_assert_int_eq(nn_file_write(path, nn_magic_model, meta, &err), NN_ERR_ARG);
    ck_assert_msg(strstr(err.msg, "over the limit of 4096") != NULL, "%s", err.msg);
    nn_meta_free(meta);
    free(buf);
    tu_rmtree(dir);
}
END_TEST

/* A 167-byte checkpoint found by the model target took 28 s: its architecture ("... c8 drop0.2 fc" on an
 * 8 x 33 x 7721 input, 77 classes: 38 M parameters) was built, buffers and all (about 800 MB with the
 * optimizer's), before the file was found to hold none of those parameters. The file's tensors are now
 * checked against the plan before anything large is allocated. The test uses half that width, so that the
 * network stays inside NN_MAX_SAMPLE_BYTES whatever the kernels' buffers and only the tensor check can
 * refuse it (about 250 MB if built). */
START_TEST(file_tensors_checked_before_allocation)
{
    char dir[256], path[512];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(path, sizeof path, dir, "tiny.ckpt");
    aa_error err;
    for (int kind = 0; kind < 2; kind++) {
        nn_meta *all = nn_meta_new();
        ck_assert_int_eq(nn_meta_put_str(all, "nn.arch", "c8 bn relu p2 c8 drop0.2 fc", &err), 0);
        ck_assert_int_eq(nn_meta_put_str(all, "nn.input", "8 33 3860", &err), 0);
        ck_assert_int_eq(nn_meta_put_str(all, "nn.classes", "77", &err), 0);
        ck_assert_int_eq(nn_file_write(path, kind ? nn_magic_checkpoint : nn_magic_model, all, &err), 0);
        nn_meta_free(all);
        struct rusage before, after;
        getrusage(RUSAGE_SELF, &before);
        double t0 = aa_now();
        if (kind) {
            nn_model *m;
            nn_optimizer *o;
            ck_assert_int_eq(nn_checkpoint_load(path, 1, &m, &o, NULL, NULL, &err), NN_ERR_MISMATCH);
        } else {
            ck_assert_ptr_null(nn_model_load(path, 1, 0, NULL, &err));
            ck_assert_int_eq(err.code, NN_ERR_MISMATCH);
        }
        double dt = aa_now() - t0;
        getrusage(RUSAGE_SELF, &after);
        ck_assert_msg(strstr(err.msg, "missing tensor \"conv1.weight\"") != NULL, "%s", err.msg);
        /* the plan alone: well under 1 MB and a millisecond; building it all takes a few hundred MB.
         * 50 MB and 2 s leave room for a loaded machine and the sanitizers. */
        ck_assert_msg(after.ru_maxrss - before.ru_maxrss < 50 * 1024, "peak RSS grew by %ld KB",
                      after.ru_maxrss - before.ru_maxrss);
        ck_assert_msg(dt < 2.0, "%.2f s", dt);
    }
    tu_rmtree(dir);
}
END_TEST

/* Saves at path a small model of three classes a, b, c (8 kHz, 0.25 s clips, 8 mels, a tiny network) with the
 * temperature, gate, task and aggregation *sp holds; fills in its front end and classes (its normalisation is
 * the file's alone). Returns the network (the caller frees it). */
static nn_model *save_small_am(const char *path, am_spec *sp)
{
    float mean[8], sd[8];
    dsp_settings s = dsp_settings_default();
    s.sample_rate = 8000, s.clip_seconds = 0.25, s.n_fft = 256, s.win_length = 256, s.hop_length = 128;
    s.n_mels = 8, s.fmax = 4000;
    aa_error err;
    nn_model *net = nn_model_new("c4 bn relu p2 gap fc", 1, 8, (int)dsp_clip_frames(&s), 3, 1, &err);
    ck_assert_ptr_nonnull(net);
    for (int i = 0; i < 8; i++)
        mean[i] = -30, sd[i] = 10;
    sp->dsp = s;
    sp->n_classes = 3;
    sp->classes[0] = "a", sp->classes[1] = "b", sp->classes[2] = "c";
    sp->norm_mean = mean, sp->norm_std = sd;
    ck_assert_msg(am_save(path, net, sp, &err) == 0, "%s", err.msg);
    sp->norm_mean = sp->norm_std = NULL; /* the file holds them now */
    return net;
}

/* ---- model: the softmax with a small temperature ------------------------------------------------------- */

/* Found reading the path the model target checks (a loaded model must give a probability distribution):
 * logits / T overflowed to inf for a small stored temperature, and inf - inf made every probability NaN;
 * a NaN confidence is never below the gate, so the result was reported, not withheld. (Found with T =
 * 1e-300; model files now hold temperatures of AM_TEMPERATURE_MIN = 1e-3 and over, where logits of 3e38
 * still overflow: 3e41.) */
START_TEST(softmax_small_temperature)
{
    char dir[256], path[512];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(path, sizeof path, dir, "t.aam");
    aa_error err;
    am_spec sp = {.temperature = AM_TEMPERATURE_MIN, .min_confidence = 0.9};
    nn_model *net = save_small_am(path, &sp);
    am_model *m = am_load(path, 1, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    const float logits[3] = {1.0f, 3e38f, -3e38f};
    am_result r;
    am_decide(m, logits, &r);
    ck_assert_int_eq(r.cls, 1);
    ck_assert(r.confidence == 1.0 && r.probs[0] == 0 && r.probs[2] == 0); /* the limit of softmax as T -> 0 */
    ck_assert_int_eq(r.gated, 0);
    /* two classes tied at the top share the probability, as the limit does */
    const float tie[3] = {2.5f, 2.5f, 1.0f};
    am_decide(m, tie, &r);
    ck_assert(r.probs[0] == 0.5f && r.probs[1] == 0.5f && r.probs[2] == 0);
    ck_assert_int_eq(r.gated, 1); /* 0.5 < 0.9 */
    am_free(m);
    nn_model_free(net);
    tu_rmtree(dir);
}
END_TEST

/* Found by the model target in CI's smoke run: a model file whose stored task (or aggregation policy) held a
 * CR LF was refused with a message that quoted the value raw, so the one-line message broke in two. Stored
 * strings quoted in messages are now escaped. */
START_TEST(file_strings_quoted_escaped)
{
    char dir[256], path[512];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(path, sizeof path, dir, "q.aam");
    aa_error err;
    am_spec sp = {.temperature = 1, .min_confidence = 0.5, .task = AM_TASK_GENERAL,
                  .aggregate = am_aggregate_default()};
    nn_model *net = save_small_am(path, &sp);
    size_t size;
    unsigned char *good = tu_read_file(path, &size);
    ck_assert_ptr_nonnull(good);
    char agg[64];
    am_aggregate_format(&sp.aggregate, agg, sizeof agg);
    char bad_agg[64];
    snprintf(bad_agg, sizeof bad_agg, "%s", agg);
    bad_agg[1] = '\n';
    const char *const from[2] = {"general", agg}, *const to[2] = {"gen\r\nal", bad_agg};
    for (int k = 0; k < 2; k++) {
        unsigned char *buf = malloc(size);
        memcpy(buf, good, size);
        patch(buf, size, from[k], to[k]);
        tu_write_file(path, buf, size);
        ck_assert_ptr_null(am_load(path, 1, &err));
        ck_assert_msg(one_line(err.msg) && strncmp(err.msg, path, strlen(path)) == 0, "%s", err.msg);
        ck_assert_msg(strstr(err.msg, k ? "\\x0A" : "\\x0D\\x0A"), "%s", err.msg);
        free(buf);
    }
    free(good);
    nn_model_free(net);
    tu_rmtree(dir);
}
END_TEST

/* ---- datasets: the feature cache reader ------------------------------------------------------------------ */

/* Found by the cache target in its first minute: a file record that fails the reader's checks after its
 * path was read (here a class index past the class count) leaked the path (and the skip reason), since
 * the record was counted only once complete. Under make asan LeakSanitizer sees it at exit; here glibc's
 * own count of bytes in use must not grow over 200 reads. */
START_TEST(cache_half_read_record_freed)
{
    char dir[256], data[512], f[600], path[512];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(data, sizeof data, dir, "data");
    ck_assert_int_eq(mkdir(data, 0700), 0);
    static const char *const rel[] = {"cough", "cough/a.wav", "breath", "breath/b.wav"};
    double amp[1] = {0.3};
    for (int i = 0; i < 4; i += 2) {
        snprintf(f, sizeof f, "%s/%s", data, rel[i]);
        ck_assert_int_eq(mkdir(f, 0700), 0);
        snprintf(f, sizeof f, "%s/%s", data, rel[i + 1]);
        ck_assert_int_eq(ag_write_sines(f, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, 20000, 440, amp), 0);
    }
    ds_list *l = NULL;
    ds_cache *c = NULL;
    aa_error err;
    ds_list_opts lo = {.manifest = ""};
    ds_cache_opts co;
    ds_cache_opts_default(&co);
    co.threads = 1;
    dsp_settings s = dsp_settings_default();
    ck_assert_int_eq(ds_list_load(&l, data, &lo, &err), 0);
    ck_assert_msg(ds_cache_build(&c, l, &s, &co, &err) == 0, "%s", err.msg);
    tu_path(path, sizeof path, dir, "c.aacache");
    ck_assert_int_eq(ds_cache_write(c, path, &err), 0);
    ds_cache_free(c);
    ds_list_free(l);

    /* walk the header (datasets/cache_io.c) to the first file record's class, make it 99, restamp both CRCs */
    size_t size;
    unsigned char *b = tu_read_file(path, &size);
    size_t p = 32, header_len = (size_t)aa_get_u64(b + 16);
    p += 4 + aa_get_u32(b + p) + 8 + 4 + 4 + 4; /* settings, window options, shape */
    uint32_t nc = aa_get_u32(b + p);
    p += 4;
    for (uint32_t i = 0; i < nc; i++)
        p += 4 + aa_get_u32(b + p);
    uint64_t ng = aa_get_u64(b + p);
    p += 8;
    for (uint64_t i = 0; i < ng; i++)
        p += 4 + aa_get_u32(b + p);
    p += 8;                            /* file count */
    p += 4 + aa_get_u32(b + p) + 8 + 8; /* path, size, mtime */
    aa_put_u32(b + p, 99);
    aa_put_u32(b + header_len, aa_crc32(0, b, header_len));
    aa_put_u32(b + size - 4, aa_crc32(0, b, size - 4));
    tu_write_file(path, b, size);
    free(b);

    ck_assert_int_eq(ds_cache_read(&c, path, &err), DS_ERR_CACHE_CORRUPT);
    ck_assert_msg(strstr(err.msg, "record of file 0") != NULL, "%s", err.msg);
    /* A first round lets glibc's per-thread caches of freed chunks (counted as in use) settle: after the
     * build above kept its decoded signals on the heap, they grow by ~3 KB once and then not at all, which
     * a leak of the records' strings (tens of bytes a read) would. */
    for (int i = 0; i < 200; i++)
        ck_assert_int_eq(ds_cache_read(&c, path, &err), DS_ERR_CACHE_CORRUPT);
    struct mallinfo2 before = mallinfo2();
    for (int i = 0; i < 200; i++)
        ck_assert_int_eq(ds_cache_read(&c, path, &err), DS_ERR_CACHE_CORRUPT);
    struct mallinfo2 after = mallinfo2();
    if (!tu_sanitized()) /* ASan keeps its own books; LeakSanitizer checks there */
        ck_assert_msg(after.uordblks <= before.uordblks + 512, "%zu bytes more in use after 200 reads",
                      after.uordblks - before.uordblks);
    tu_rmtree(dir);
}
END_TEST

Suite *fuzzfix_suite(void)
{
    Suite *s = suite_create("fuzzfix");
    TCase *tc = tcase_create("fuzzfix");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, huge_float_samples_refused);
    tcase_add_test(tc, settings_messages_printable);
    tcase_add_test(tc, file_names_with_control_bytes);
    tcase_add_test(tc, file_arch_with_control_bytes);
    tcase_add_test(tc, file_input_shape_bounded);
    tcase_add_test(tc, file_entry_count_bounded);
    tcase_add_test(tc, file_tensors_checked_before_allocation);
    tcase_add_test(tc, softmax_small_temperature);
    tcase_add_test(tc, file_strings_quoted_escaped);
    tcase_add_test(tc, cache_half_read_record_freed);
    suite_add_tcase(s, tc);
    return s;
}
