/* Limits the binaries keep on what they read: a model file larger than any model can be, a device or pipe
 * as the model (/dev/zero read for ever before), standard input held only up to what --max-seconds allows;
 * and a run that runs out of memory under an address-space cap ends instead of hanging at exit. */
#include <check.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "tests/util/demomodel.h"
#include "tests/util/testutil.h"

#define OUT_CAP (1 << 16)

static char g_out[OUT_CAP], g_err[OUT_CAP];

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    ck_assert(n > 0 && (size_t)n < sizeof cmd);
    return tu_run(cmd, g_out, sizeof g_out, g_err, sizeof g_err);
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v, p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16), p[3] = (unsigned char)(v >> 24);
}

static void model(const char *dir, char *path, size_t cap)
{
    char msg[512];
    tu_path(path, cap, dir, "m.aam");
    ck_assert_msg(tu_make_random_model(path, NULL, 1, 1.0, 0.0, msg, sizeof msg) == 0, "%s", msg);
}

/* Model files that could never load are refused at once, one line, exit 1; a model through a pipe loads. */
START_TEST(model_files_bounded)
{
    char dir[256], m[320], big[320], clip[320];
    tu_mkdtemp(dir, sizeof dir);
    model(dir, m, sizeof m);
    snprintf(clip, sizeof clip, "%s/mix_1s.wav", tu_fixtures_dir());
    const char *bin = tu_build_dir();
    /* /dev/zero: refused after its first bytes (before: read until memory ran out) */
    int rc = sh("timeout 20 %s/aa-infer -m /dev/zero '%s'", bin, clip);
    ck_assert_msg(rc == 1, "exit %d: %s", rc, g_err);
    ck_assert_msg(tu_count_lines(g_err) == 1 && strstr(g_err, "/dev/zero: not an Audio Audit model file (wrong magic)"),
                  "%s", g_err);
    /* a 4 GiB file (sparse: no disk used): refused from its size, nothing read */
    tu_path(big, sizeof big, dir, "big.aam");
    ck_assert_int_eq(sh("truncate -s 4G '%s'", big), 0);
    rc = sh("timeout 20 %s/aa-infer -m '%s' '%s'", bin, big, clip);
    ck_assert_msg(rc == 1, "exit %d: %s", rc, g_err);
    ck_assert_msg(tu_count_lines(g_err) == 1 && strstr(g_err, "4294967296 bytes, over the 512 MiB a model file can be"),
                  "%s", g_err);
    ck_assert_int_eq(unlink(big), 0);
    /* a folder */
    rc = sh("%s/aa-infer -m '%s' '%s'", bin, dir, clip);
    ck_assert_msg(rc == 1 && strstr(g_err, "a directory"), "exit %d: %s", rc, g_err);
    /* a model on a pipe still loads */
    rc = sh("cat '%s' | %s/aa-infer -m /dev/stdin --json '%s'", m, bin, clip);
    ck_assert_msg(rc == 0 && tu_count_lines(g_out) == 1, "exit %d: %s", rc, g_err);
    /* a pipe of zeros behind a good model's first bytes: refused past the bound, never read for ever */
    rc = sh("(head -c 32 '%s'; cat /dev/zero) | timeout 60 %s/aa-infer -m /dev/stdin '%s'", m, bin, clip);
    ck_assert_msg(rc == 1 && strstr(g_err, "more than the 512 MiB a model file can be"), "exit %d: %s", rc, g_err);
    tu_rmtree(dir);
}
END_TEST

/* Standard input is held only up to the bytes --max-seconds of audio can take (12.3 MB a second + 1 MiB). */
START_TEST(stdin_bounded_by_max_seconds)
{
    char dir[256], m[320];
    tu_mkdtemp(dir, sizeof dir);
    model(dir, m, sizeof m);
    const char *bin = tu_build_dir();
    /* 100 MB, more than 4 s can be (47 MiB): refused with the reason, for clips and timelines */
    int rc = sh("head -c 100000000 /dev/zero | %s/aa-infer -m '%s' --max-seconds 4 -", bin, m);
    ck_assert_msg(rc == 1 && tu_count_lines(g_err) == 1 &&
                      strstr(g_err, "stdin: more bytes than 4 s of audio can be (--max-seconds)"),
                  "exit %d: %s", rc, g_err);
    rc = sh("head -c 100000000 /dev/zero | %s/aa-infer -m '%s' --timeline --max-seconds 4 -", bin, m);
    ck_assert_msg(rc == 1 && strstr(g_err, "stdin: more than 47 MB"), "exit %d: %s", rc, g_err);
    /* a real clip within the limit still goes through */
    rc = sh("%s/aa-infer -m '%s' --json --max-seconds 4 - < '%s/mix_1s.wav'", bin, m, tu_fixtures_dir());
    ck_assert_msg(rc == 0 && tu_count_lines(g_out) == 1, "exit %d: %s", rc, g_err);
    tu_rmtree(dir);
}
END_TEST

/* A 16-bit mono WAV at 8 kHz of `frames` samples of silence, sparse (no disk used). */
static void sparse_wav(const char *path, uint32_t frames)
{
    unsigned char h[44];
    uint32_t data = frames * 2;
    memcpy(h, "RIFF", 4), put32(h + 4, 36 + data), memcpy(h + 8, "WAVEfmt ", 8), put32(h + 16, 16);
    h[20] = 1, h[21] = 0, h[22] = 1, h[23] = 0; /* PCM, mono */
    put32(h + 24, 8000), put32(h + 28, 16000);
    h[32] = 2, h[33] = 0, h[34] = 16, h[35] = 0;
    memcpy(h + 36, "data", 4), put32(h + 40, data);
    FILE *f = fopen(path, "wb");
    ck_assert(f && fwrite(h, 1, sizeof h, f) == sizeof h);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(truncate(path, 44 + (off_t)data), 0);
}

/* Out of memory under an address-space cap, with OpenBLAS left to pick its own thread count: the run
 * prints its error and ends (it hung at exit, joining an OpenBLAS worker that retried its buffer for ever);
 * a clip under a cap too small for OpenBLAS's buffer is classified with the plain kernels (it spun in the
 * first matrix product). Not under the sanitizers, whose shadow memory rules out an address-space cap. */
START_TEST(out_of_memory_ends)
{
    if (tu_sanitized())
        return;
    char dir[256], m[320], wav[320];
    tu_mkdtemp(dir, sizeof dir);
    model(dir, m, sizeof m);
    tu_path(wav, sizeof wav, dir, "long.wav");
    sparse_wav(wav, 8000u * 59u * 60u); /* 227 MB once decoded */
    const char *bin = tu_build_dir();
    const char *env = "env -u OPENBLAS_NUM_THREADS -u GOTO_NUM_THREADS -u OMP_NUM_THREADS";
    int rc = sh("ulimit -v 250000 && %s timeout 30 %s/aa-infer -m '%s' '%s'", env, bin, m, wav);
    ck_assert_msg(rc == 1 && tu_count_lines(g_err) == 1 && strstr(g_err, "out of memory"), "exit %d: %s", rc, g_err);
    rc = sh("ulimit -v 150000 && %s timeout 30 %s/aa-infer --mel '%s' -o '%s/mel.f32'", env, bin, wav, dir);
    ck_assert_msg(rc == 1 && strstr(g_err, "out of memory"), "exit %d: %s", rc, g_err);
    rc = sh("ulimit -v 150000 && %s timeout 30 %s/aa-infer -m '%s' --json '%s/mix_1s.wav'", env, bin, m,
            tu_fixtures_dir());
    ck_assert_msg(rc == 0 && tu_count_lines(g_out) == 1, "exit %d: %s", rc, g_err);
    tu_rmtree(dir);
}
END_TEST

Suite *limits_bins_suite(void)
{
    Suite *s = suite_create("limits_bins");
    TCase *tc = tcase_create("limits_bins");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, model_files_bounded);
    tcase_add_test(tc, stdin_bounded_by_max_seconds);
    tcase_add_test(tc, out_of_memory_ends);
    suite_add_tcase(s, tc);
    return s;
}
