/* nn/ model files: the metadata bag, save -> load -> identical logits, and the loader's refusals: truncated at
 * several points, a flipped byte, wrong magic, a checkpoint given as a model, a newer version, trailing bytes,
 * tensors missing or of the wrong shape. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/nn_file.h"
#include "nn/nn_model.h"
#include "tests/util/testutil.h"

#define ARCH "c4 bn relu p2 c6b bn relu gap drop0.2 fc"

static float *rnd(size_t n, uint64_t seed)
{
    aa_rng r;
    aa_rng_seed(&r, seed);
    float *p = malloc(sizeof *p * n);
    ck_assert(p != NULL);
    for (size_t i = 0; i < n; i++)
        p[i] = (float)aa_rng_normal(&r);
    return p;
}

START_TEST(meta_bag)
{
    aa_error err;
    nn_meta *m = nn_meta_new();
    ck_assert(m != NULL);
    ck_assert_int_eq(nn_meta_set_str(m, "dsp.settings", "rate=16000 mels=64", &err), 0);
    ck_assert_int_eq(nn_meta_set_str(m, "classes", "Cough\tHeavy Breathing\tNormal Breathing\tBackground Noise", &err), 0);
    ck_assert_int_eq(nn_meta_set_str(m, "dsp.settings", "rate=16000 mels=40", &err), 0); /* replaces, keeps place */
    ck_assert_int_eq(nn_meta_set_num(m, "temperature", 0.1, &err), 0);
    ck_assert_int_eq(nn_meta_str_count(m), 3);
    const char *k, *v;
    nn_meta_str_at(m, 0, &k, &v);
    ck_assert_str_eq(k, "dsp.settings");
    ck_assert_str_eq(v, "rate=16000 mels=40");
    double t;
    ck_assert_int_eq(nn_meta_get_num(m, "temperature", &t, &err), 0);
    ck_assert(t == 0.1); /* exact: 17 significant digits round-trip a double */
    ck_assert_int_eq(nn_meta_get_num(m, "classes", &t, &err), NN_ERR_ARG);
    ck_assert_int_eq(nn_meta_get_num(m, "missing", &t, &err), NN_ERR_ARG);
    ck_assert(nn_meta_get_str(m, "missing") == NULL);

    const float mean[6] = {1, 2, 3, 4, 5, 6};
    const int dims[2] = {2, 3};
    ck_assert_int_eq(nn_meta_set_tensor(m, "norm.mean", mean, 2, dims, &err), 0);
    int nd, got[NN_MAX_DIMS];
    const float *d = nn_meta_get_tensor(m, "norm.mean", &nd, got);
    ck_assert(d && nd == 2 && got[0] == 2 && got[1] == 3 && memcmp(d, mean, sizeof mean) == 0);
    ck_assert(d != mean); /* a copy */
    ck_assert(nn_meta_get_tensor(m, "nope", NULL, NULL) == NULL);

    /* reserved and malformed names */
    ck_assert_int_eq(nn_meta_set_str(m, "nn.arch", "c1 fc", &err), NN_ERR_ARG);
    ck_assert(strstr(err.msg, "reserved") != NULL);
    ck_assert_int_eq(nn_meta_set_tensor(m, "nn.param.x", mean, 1, dims, &err), NN_ERR_ARG);
    ck_assert_int_eq(nn_meta_set_str(m, "", "x", &err), NN_ERR_ARG);
    ck_assert_int_eq(nn_meta_set_str(m, "bad\nkey", "x", &err), NN_ERR_ARG);
    char longkey[80];
    memset(longkey, 'k', 79);
    longkey[79] = 0;
    ck_assert_int_eq(nn_meta_set_str(m, longkey, "x", &err), NN_ERR_ARG);
    const int bad_dims[2] = {2, 0};
    ck_assert_int_eq(nn_meta_set_tensor(m, "t", mean, 2, bad_dims, &err), NN_ERR_ARG);
    ck_assert_int_eq(nn_meta_set_tensor(m, "t", mean, 5, dims, &err), NN_ERR_ARG);
    ck_assert_int_eq(nn_meta_tensor_count(m), 1);
    nn_meta_free(m);
    nn_meta_free(NULL);
}
END_TEST

/* A trained-looking model (random weights, non-trivial running statistics) saved with metadata. */
static nn_model *make_model(void)
{
    aa_error err;
    nn_model *m = nn_model_new(ARCH, 1, 12, 16, 4, 4, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    nn_init_he(m, 7);
    float *x = rnd(4 * 12 * 16, 8);
    ck_assert_int_eq(nn_forward_train(m, x, 4, 1, 0, &err), 0); /* moves the running statistics */
    for (size_t j = 0; j < m->n_params; j++)
        m->params[j] += 0.01f * (float)(j % 7);
    free(x);
    return m;
}

static nn_meta *make_meta(void)
{
    nn_meta *meta = nn_meta_new();
    const float mean[64] = {0.5f}, logits[4] = {1, -2, 3.5f, 0.25f};
    const int d64 = 64, d4 = 4;
    ck_assert_int_eq(nn_meta_set_str(meta, "classes", "Cough\tHeavy Breathing\tNormal Breathing\tBackground Noise", NULL), 0);
    ck_assert_int_eq(nn_meta_set_str(meta, "note", "UTF-8 is fine: \xc3\xa9t\xc3\xa9", NULL), 0);
    ck_assert_int_eq(nn_meta_set_num(meta, "gate", 0.55, NULL), 0);
    ck_assert_int_eq(nn_meta_set_tensor(meta, "norm.mean", mean, 1, &d64, NULL), 0);
    ck_assert_int_eq(nn_meta_set_tensor(meta, "selftest.logits", logits, 1, &d4, NULL), 0);
    return meta;
}

START_TEST(save_load_identical_logits)
{
    char dir[256], path[512];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(path, sizeof path, dir, "m.aam");
    aa_error err;
    nn_model *m = make_model();
    nn_meta *meta = make_meta();
    ck_assert_msg(nn_model_save(m, meta, path, &err) == 0, "%s", err.msg);
    nn_meta *back = NULL;
    nn_model *l = nn_model_load(path, 2, 0, &back, &err);
    ck_assert_msg(l != NULL, "%s", err.msg);
    ck_assert_str_eq(nn_model_arch(l), nn_model_arch(m));
    nn_model_info a = nn_model_get_info(m), b = nn_model_get_info(l);
    ck_assert(a.in_c == b.in_c && a.in_h == b.in_h && a.in_w == b.in_w && a.n_classes == b.n_classes);
    ck_assert_int_eq(b.max_batch, 2);
    ck_assert(memcmp(m->params, l->params, sizeof(float) * m->n_params) == 0);
    ck_assert(memcmp(m->stats, l->stats, sizeof(float) * m->n_stats) == 0);
    /* identical logits, bit for bit, for more samples than the loaded model's batch */
    float *x = rnd(5 * 12 * 16, 9), la[20], lb[20];
    ck_assert_int_eq(nn_forward_eval(m, x, 5, la, &err), 0);
    ck_assert_int_eq(nn_forward_eval(l, x, 5, lb, &err), 0);
    ck_assert(memcmp(la, lb, sizeof la) == 0);
    /* the caller's metadata comes back, and only it */
    ck_assert_int_eq(nn_meta_str_count(back), 3);
    ck_assert_str_eq(nn_meta_get_str(back, "note"), "UTF-8 is fine: \xc3\xa9t\xc3\xa9");
    double gate;
    ck_assert_int_eq(nn_meta_get_num(back, "gate", &gate, &err), 0);
    ck_assert(gate == 0.55);
    int nd, dims[NN_MAX_DIMS];
    const float *lg = nn_meta_get_tensor(back, "selftest.logits", &nd, dims);
    ck_assert(lg && nd == 1 && dims[0] == 4 && lg[2] == 3.5f);
    ck_assert_int_eq(nn_meta_tensor_count(back), 2);
    /* another input width: same parameters, a model that runs on 32 frames */
    nn_model *wide = nn_model_load(path, 1, 32, NULL, &err);
    ck_assert_msg(wide != NULL, "%s", err.msg);
    ck_assert_int_eq(nn_model_get_info(wide).in_w, 32);
    float *x2 = rnd(12 * 32, 10), l2[4];
    ck_assert_int_eq(nn_forward_eval(wide, x2, 1, l2, &err), 0);
    ck_assert(isfinite(l2[0]));
    /* saving again over the same path replaces it atomically (no temporary file left) */
    ck_assert_int_eq(nn_model_save(l, NULL, path, &err), 0);
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    ck_assert(!tu_exists(tmp));
    free(x), free(x2);
    nn_meta_free(meta), nn_meta_free(back);
    nn_model_free(m), nn_model_free(l), nn_model_free(wide);
    tu_rmtree(dir);
}
END_TEST

/* Loads path as a model; expects failure with code and every piece of text in want[]. */
static void expect_error(const char *path, int code, const char *want1, const char *want2)
{
    aa_error err = {0};
    nn_meta *meta = (nn_meta *)1;
    nn_model *m = nn_model_load(path, 1, 0, &meta, &err);
    ck_assert_msg(m == NULL, "%s loaded", path);
    ck_assert(meta == NULL);
    ck_assert_msg(err.code == code, "code %d, want %d: %s", err.code, code, err.msg);
    ck_assert_msg(strstr(err.msg, path) != NULL, "message does not name the file: %s", err.msg);
    ck_assert_msg(strstr(err.msg, want1) != NULL, "want \"%s\" in: %s", want1, err.msg);
    if (want2)
        ck_assert_msg(strstr(err.msg, want2) != NULL, "want \"%s\" in: %s", want2, err.msg);
}

START_TEST(corrupt_files_are_refused)
{
    char dir[256], good[512], bad[512], msg[128];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(good, sizeof good, dir, "good.aam");
    tu_path(bad, sizeof bad, dir, "bad.aam");
    aa_error err;
    nn_model *m = make_model();
    nn_meta *meta = make_meta();
    ck_assert_int_eq(nn_model_save(m, meta, good, &err), 0);
    size_t size;
    unsigned char *buf = tu_read_file(good, &size);
    ck_assert(buf && size > 1000);

    /* truncated at several points: the empty file, inside the magic, inside the header, inside the entries,
     * one byte short */
    const size_t cuts[] = {0, 5, 20, 200, size / 2, size - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        tu_write_file(bad, buf, cuts[i]);
        if (cuts[i] == 0) {
            expect_error(bad, NN_ERR_TRUNCATED, "empty", NULL);
        } else if (cuts[i] < 36) {
            snprintf(msg, sizeof msg, "got %zu)", cuts[i]);
            expect_error(bad, NN_ERR_TRUNCATED, "truncated (expected at least 36 bytes", msg);
        } else {
            snprintf(msg, sizeof msg, "truncated (expected %zu bytes, got %zu)", size, cuts[i]);
            expect_error(bad, NN_ERR_TRUNCATED, msg, NULL);
        }
    }
    /* a flipped byte in the parameters, in a name, in the checksum itself */
    const size_t flips[] = {size / 2, 40, size - 2};
    for (size_t i = 0; i < 3; i++) {
        buf[flips[i]] ^= 0x10;
        tu_write_file(bad, buf, size);
        expect_error(bad, NN_ERR_CHECKSUM, "checksum mismatch", NULL);
        buf[flips[i]] ^= 0x10;
    }
    /* wrong magic: text, and a checkpoint */
    const char *text = "this is a text file, not a model; it is long enough to fill a header and more.\n";
    tu_write_file(bad, text, strlen(text));
    expect_error(bad, NN_ERR_FORMAT, "not an Audio Audit model file", NULL);
    memcpy(buf, nn_magic_checkpoint, NN_MAGIC_LEN);
    tu_write_file(bad, buf, size);
    expect_error(bad, NN_ERR_FORMAT, "not an Audio Audit model file", "training checkpoint");
    memcpy(buf, nn_magic_model, NN_MAGIC_LEN);
    /* a newer format version (with a valid checksum: the version check must come first anyway) */
    aa_put_u32(buf + 8, NN_FILE_VERSION + 1);
    aa_put_u32(buf + size - 4, aa_crc32(0, buf, size - 4));
    tu_write_file(bad, buf, size);
    expect_error(bad, NN_ERR_VERSION, "newer", NULL);
    aa_put_u32(buf + 8, NN_FILE_VERSION);
    aa_put_u32(buf + size - 4, aa_crc32(0, buf, size - 4));
    /* trailing bytes */
    unsigned char *longer = malloc(size + 3);
    memcpy(longer, buf, size);
    memset(longer + size, 0, 3);
    tu_write_file(bad, longer, size + 3);
    expect_error(bad, NN_ERR_FORMAT, "3 unexpected bytes", NULL);
    free(longer);
    /* no such file */
    tu_path(bad, sizeof bad, dir, "missing.aam");
    expect_error(bad, NN_ERR_IO, "cannot open", NULL);
    tu_path(bad, sizeof bad, dir, "bad.aam");

    /* well-formed files whose tensors do not fit the architecture */
    nn_meta *all = nn_meta_new();
    ck_assert_int_eq(nn_model_to_meta(m, all, &err), 0);
    const int wrong[4] = {4, 1, 5, 5};
    float zeros[100] = {0};
    ck_assert_int_eq(nn_meta_put_tensor(all, "nn.param.conv1.weight", zeros, 4, wrong, &err), 0);
    ck_assert_int_eq(nn_file_write(bad, nn_magic_model, all, &err), 0);
    expect_error(bad, NN_ERR_MISMATCH, "conv1.weight", "shape [4,1,5,5], the architecture needs [4,1,3,3]");
    nn_meta_free(all);
    all = nn_meta_new();
    ck_assert_int_eq(nn_meta_put_str(all, "nn.arch", ARCH, &err), 0);
    ck_assert_int_eq(nn_meta_put_str(all, "nn.input", "1 12 16", &err), 0);
    ck_assert_int_eq(nn_meta_put_str(all, "nn.classes", "4", &err), 0);
    ck_assert_int_eq(nn_file_write(bad, nn_magic_model, all, &err), 0);
    expect_error(bad, NN_ERR_MISMATCH, "missing tensor \"conv1.weight\"", NULL);
    ck_assert_int_eq(nn_meta_put_str(all, "nn.arch", "c4 bogus fc", &err), 0);
    ck_assert_int_eq(nn_file_write(bad, nn_magic_model, all, &err), 0);
    expect_error(bad, NN_ERR_MISMATCH, "bogus", NULL);
    nn_meta_free(all);
    all = nn_meta_new();
    ck_assert_int_eq(nn_file_write(bad, nn_magic_model, all, &err), 0);
    expect_error(bad, NN_ERR_FORMAT, "nn.arch", NULL);
    nn_meta_free(all);

    free(buf);
    nn_meta_free(meta);
    nn_model_free(m);
    tu_rmtree(dir);
}
END_TEST

Suite *nn_file_suite(void)
{
    Suite *s = suite_create("nn_file");
    TCase *tc = tcase_create("file");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, meta_bag);
    tcase_add_test(tc, save_load_identical_logits);
    tcase_add_test(tc, corrupt_files_are_refused);
    suite_add_tcase(s, tc);
    return s;
}
