/* aa-train --audit: a demo corpus with planted copies (identical samples in two classes, the same audio at
 * half the level, a stretch cut from a recording) finds exactly those, with their kinds and sides; the
 * unplanted corpus holds none; a class too small to split is named and the audit still reports; training
 * prints the findings that spoil it as warnings. */
#include <check.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "demo/demo.h"
#include "tests/util/jsonscan.h"
#include "tests/util/testutil.h"

#define OUT_CAP (1 << 18)

static char g_out[OUT_CAP], g_err[OUT_CAP];

static int run_train(const char *args)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s/aa-train %s", tu_build_dir(), args);
    return tu_run(cmd, g_out, sizeof g_out, g_err, sizeof g_err);
}

static float *read_wav(const char *path, size_t *n)
{
    SF_INFO info = {0};
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    ck_assert_msg(f != NULL, "%s: %s", path, sf_strerror(NULL));
    ck_assert_int_eq(info.channels, 1);
    float *x = malloc((size_t)info.frames * sizeof *x);
    ck_assert_ptr_nonnull(x);
    ck_assert_int_eq(sf_readf_float(f, x, info.frames), info.frames);
    sf_close(f);
    *n = (size_t)info.frames;
    return x;
}

static void make_corpus(const char *data)
{
    demo_corpus_opts o;
    demo_corpus_opts_default(&o);
    o.per_class = 10;
    o.seed = 1;
    aa_error err;
    ck_assert_msg(demo_corpus_write(data, &o, &err) == 0, "%s", err.msg);
}

/* The number of objects in the JSON array under key. */
static int array_len(const char *json, const char *key)
{
    const char *p = tu_json_find(json, key);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(*p, '[');
    int depth = 0, n = 0;
    for (; *p; p++) {
        if (*p == '[' || *p == '{')
            n += ++depth == 2 && *p == '{';
        else if ((*p == ']' || *p == '}') && --depth == 0)
            break;
    }
    return n;
}

START_TEST(planted_copies_are_found)
{
    char dir[256], data[320], path[512], src[512];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(data, sizeof data, dir, "data");
    make_corpus(data);
    char args[2048];
    snprintf(args, sizeof args, "--audit --json --cache '%s/c.aacache' '%s'", dir, data);

    /* the corpus as made: no two recordings share audio */
    ck_assert_msg(run_train(args) == 0, "%s", g_err);
    ck_assert_int_eq(tu_count_lines(g_out), 1);
    ck_assert_int_eq(array_len(g_out, "same_audio"), 0);
    ck_assert_int_eq(array_len(g_out, "small_classes"), 0);

    /* 1: a cough copied into another class, byte for byte */
    snprintf(src, sizeof src, "%s/cough/0000.wav", data);
    size_t n;
    float *x = read_wav(src, &n);
    snprintf(path, sizeof path, "%s/heavy_breathing/zz_copy.wav", data);
    tu_write_wav(path, x, n, 1, 16000, SF_FORMAT_PCM_16);
    free(x);
    /* 2: a background recording at half the level (the same audio, other samples) */
    snprintf(src, sizeof src, "%s/background_noise/0003.wav", data);
    x = read_wav(src, &n);
    for (size_t i = 0; i < n; i++)
        x[i] *= 0.5f;
    snprintf(path, sizeof path, "%s/background_noise/zz_quiet.wav", data);
    tu_write_wav(path, x, n, 1, 16000, SF_FORMAT_PCM_16);
    free(x);
    /* 3: the middle of the longest breathing recording, its first and last 0.7 s cut off */
    size_t longest = 0;
    int which = 0;
    for (int i = 0; i < 10; i++) {
        snprintf(src, sizeof src, "%s/normal_breathing/%04d.wav", data, i);
        x = read_wav(src, &n);
        free(x);
        if (n > longest)
            longest = n, which = i;
    }
    ck_assert_msg(longest >= 3 * 16000, "longest breathing clip %zu samples", longest);
    snprintf(src, sizeof src, "%s/normal_breathing/%04d.wav", data, which);
    x = read_wav(src, &n);
    size_t cut = (size_t)(0.7 * 16000);
    snprintf(path, sizeof path, "%s/normal_breathing/zz_cut.wav", data);
    tu_write_wav(path, x + cut, n - 2 * cut, 1, 16000, SF_FORMAT_PCM_16);
    free(x);

    ck_assert_msg(run_train(args) == 0, "%s", g_err);
    ck_assert_msg(array_len(g_out, "same_audio") == 3, "%s", tu_json_find(g_out, "same_audio"));
    const char *p = tu_json_find(g_out, "same_audio");
    char kind[32], a[256], b[256];
    int seen = 0;
    for (int i = 0; i < 3; i++) {
        p = strstr(p, "{\"a\"");
        ck_assert_ptr_nonnull(p);
        tu_json_str(p, "a", a, sizeof a);
        tu_json_str(p, "b", b, sizeof b);
        tu_json_str(p, "kind", kind, sizeof kind);
        if (strstr(b, "zz_copy")) {
            ck_assert_str_eq(a, "cough/0000.wav");
            ck_assert_str_eq(kind, "exact");
            seen |= 1;
        } else if (strstr(b, "zz_quiet")) {
            ck_assert_str_eq(a, "background_noise/0003.wav");
            ck_assert_str_eq(kind, "same");
            ck_assert(tu_json_num(p, "bit_errors") < 0.1);
            seen |= 2;
        } else if (strstr(b, "zz_cut")) {
            char want[64];
            snprintf(want, sizeof want, "normal_breathing/%04d.wav", which);
            ck_assert_str_eq(a, want);
            ck_assert_str_eq(kind, "cut");
            /* the cut starts 0.7 s into a: b's time minus a's is -0.7 s, within a hop of 16 ms */
            ck_assert_msg(fabs(tu_json_num(p, "offset_s") + 0.7) <= 0.017, "offset %g", tu_json_num(p, "offset_s"));
            seen |= 4;
        } else {
            ck_abort_msg("unexpected pair %s, %s", a, b);
        }
        p++;
    }
    ck_assert_int_eq(seen, 7);

    /* the text report names the pair across classes */
    snprintf(args, sizeof args, "--audit --cache '%s/c.aacache' '%s'", dir, data);
    ck_assert_msg(run_train(args) == 0, "%s", g_err);
    ck_assert_ptr_nonnull(strstr(g_out, "same audio: 3 pairs"));
    ck_assert_ptr_nonnull(strstr(g_out, "[two classes]"));

    /* training warns of the copy under two classes */
    snprintf(args, sizeof args,
             "'%s' -o '%s/m.aam' --cache '%s/c.aacache' --arch \"c4 bn relu gap fc\" --epochs 1 --batch 16 -q", data,
             dir, dir);
    ck_assert_msg(run_train(args) == 0, "%s", g_err);
    ck_assert_msg(strstr(g_err, "aa-train: warning: cough/0000.wav and heavy_breathing/zz_copy.wav hold identical "
                                "samples"),
                  "%s", g_err);
    tu_rmtree(dir);
}
END_TEST

START_TEST(small_class_and_usage)
{
    char dir[256], data[320], path[512];
    tu_mkdtemp(dir, sizeof dir);
    tu_path(data, sizeof data, dir, "data");
    /* class a: four recordings (four groups); class b: two, so no split gives it three sides */
    float *x = malloc(32000 * sizeof *x);
    ck_assert_ptr_nonnull(x);
    for (int c = 0; c < 2; c++) {
        if (!c)
            ck_assert_int_eq(mkdir(data, 0755), 0);
        snprintf(path, sizeof path, "%s/%s", data, c ? "b" : "a");
        ck_assert_int_eq(mkdir(path, 0755), 0);
        for (int i = 0; i < (c ? 2 : 4); i++) {
            for (size_t t = 0; t < 32000; t++)
                x[t] = 0.3f * (float)sin(2 * M_PI * (200.0 + 150 * i + 1000 * c) * (double)t / 16000);
            snprintf(path, sizeof path, "%s/%s/%d.wav", data, c ? "b" : "a", i);
            tu_write_wav(path, x, 32000, 1, 16000, SF_FORMAT_PCM_16);
        }
    }
    free(x);
    char args[1024];
    snprintf(args, sizeof args, "--audit --json --no-cache '%s'", data);
    ck_assert_msg(run_train(args) == 0, "%s", g_err);
    ck_assert_ptr_nonnull(strstr(g_out, "\"small_classes\": [\"b\"]"));
    ck_assert_ptr_nonnull(strstr(g_out, "\"split\": false"));
    ck_assert_ptr_nonnull(strstr(g_err, "no split: "));
    /* --json belongs to --audit; --audit needs no -o */
    snprintf(args, sizeof args, "--json -o '%s/m.aam' '%s'", dir, data);
    ck_assert_int_eq(run_train(args), 2);
    ck_assert_ptr_nonnull(strstr(g_err, "--json only applies with --audit"));
    tu_rmtree(dir);
}
END_TEST

Suite *audit_suite(void)
{
    Suite *s = suite_create("audit");
    TCase *tc = tcase_create("audit");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, planted_copies_are_found);
    tcase_add_test(tc, small_class_and_usage);
    suite_add_tcase(s, tc);
    return s;
}
