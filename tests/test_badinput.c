/* Bad input, through the library and through `aa-infer --mel`: each case gets its own status code and one
 * line naming the file and the reason; the binary exits 1, does not crash, and leaves no output file. */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dsp/dsp.h"
#include "tests/util/audiogen.h"
#include "tests/util/testutil.h"

typedef struct {
    const char *file;  /* made in the temp dir by make_case ("" = the directory itself) */
    int code;
    const char *reason; /* a phrase the message must contain */
} bad_case;

static const bad_case CASES[] = {
    {"missing.wav", DSP_ERR_MISSING, "no such file"},
    {"empty.wav", DSP_ERR_EMPTY, "empty file"},
    {"text.wav", DSP_ERR_FORMAT, "not a readable audio file"},
    {"noise.bin", DSP_ERR_FORMAT, "not a readable audio file"},
    {"zero.wav", DSP_ERR_TOO_SHORT, "too short (0 samples"},
    {"one.wav", DSP_ERR_TOO_SHORT, "too short (1 sample;"},
    {"nan.wav", DSP_ERR_NONFINITE, "NaN sample at frame 700"},
    {"inf.wav", DSP_ERR_NONFINITE, "infinite sample at frame 20000 (channel 2)"},
    {"rate4k.wav", DSP_ERR_RATE, "sample rate 4000 Hz out of range"},
    {"rate384k.wav", DSP_ERR_RATE, "sample rate 384000 Hz out of range"},
    {"ch9.wav", DSP_ERR_CHANNELS, "9 channels out of range"},
    {"truncated.flac", DSP_ERR_DECODE, "decode error"},
    {"hours.wav", DSP_ERR_TOO_LONG, "over the 3600 s limit"},
    {"adir", DSP_ERR_IO, "a directory"},
};
#define N_CASES (int)(sizeof CASES / sizeof *CASES)

/* A WAV header (8-bit mono 8 kHz) announcing `frames` samples, the data a hole: a sparse file, so a long
 * recording costs no disk and no time to write. */
static void write_sparse_wav(const char *path, uint32_t frames)
{
    unsigned char h[44];
    memcpy(h, "RIFF", 4);
    aa_put_u32(h + 4, 36 + frames);
    memcpy(h + 8, "WAVEfmt ", 8);
    aa_put_u32(h + 16, 16);
    h[20] = 1, h[21] = 0; /* PCM */
    h[22] = 1, h[23] = 0; /* mono */
    aa_put_u32(h + 24, 8000);
    aa_put_u32(h + 28, 8000);
    h[32] = 1, h[33] = 0; /* block align */
    h[34] = 8, h[35] = 0; /* bits */
    memcpy(h + 36, "data", 4);
    aa_put_u32(h + 40, frames);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(h, 1, sizeof h, f), sizeof h);
    ck_assert_int_eq(fseek(f, (long)frames - 1, SEEK_CUR), 0);
    ck_assert_int_eq(fputc(0x80, f), 0x80);
    ck_assert_int_eq(fclose(f), 0);
}

static void make_case(const char *dir, const bad_case *c, char *path, size_t cap)
{
    tu_path(path, cap, dir, c->file);
    const char *f = c->file;
    double amp[9] = {0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5};
    if (!strcmp(f, "empty.wav")) {
        tu_write_file(path, "", 0);
    } else if (!strcmp(f, "text.wav")) {
        const char *t = "RIFF? no: this is a text file that only has an audio file's name.\n";
        tu_write_file(path, t, strlen(t));
    } else if (!strcmp(f, "noise.bin")) {
        unsigned char b[65536];
        aa_rng r;
        aa_rng_seed(&r, 5);
        for (size_t i = 0; i < sizeof b; i++)
            b[i] = (unsigned char)aa_rng_u64(&r);
        tu_write_file(path, b, sizeof b);
    } else if (!strcmp(f, "zero.wav") || !strcmp(f, "one.wav")) {
        float x[1] = {0.25f};
        ag_write_samples(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, x, f[0] == 'o');
    } else if (!strcmp(f, "nan.wav") || !strcmp(f, "inf.wav")) {
        /* The bad sample lies beyond the first decoding chunk for inf.wav (frame 20000). */
        float *x = calloc(2 * 30000, sizeof(float));
        if (f[0] == 'n')
            x[700] = NAN;
        else
            x[2 * 20000 + 1] = -INFINITY;
        ag_write_samples(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, f[0] == 'n' ? 1 : 2, x,
                         f[0] == 'n' ? 60000 : 30000);
        free(x);
    } else if (!strcmp(f, "rate4k.wav")) {
        ck_assert_int_eq(ag_write_sines(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 4000, 1, 4000, 440, amp), 0);
    } else if (!strcmp(f, "rate384k.wav")) {
        ck_assert_int_eq(ag_write_sines(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 384000, 1, 4000, 440, amp), 0);
    } else if (!strcmp(f, "ch9.wav")) {
        ck_assert_int_eq(ag_write_sines(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 9, 4000, 440, amp), 0);
    } else if (!strcmp(f, "truncated.flac")) {
        /* A valid 5 s FLAC cut in half: the header promises frames the stream no longer has. */
        ck_assert_int_eq(ag_write_sines(path, SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 16000, 1, 80000, 440, amp), 0);
        size_t size;
        void *b = tu_read_file(path, &size);
        tu_write_file(path, b, size / 2);
        free(b);
    } else if (!strcmp(f, "hours.wav")) {
        write_sparse_wav(path, 8000u * 3600u + 8000u);
    } else if (!strcmp(f, "adir")) {
        ck_assert_int_eq(mkdir(path, 0700), 0);
    }
}

START_TEST(library_reports_each_case)
{
    const bad_case *c = &CASES[_i];
    char dir[256], path[512];
    tu_mkdtemp(dir, sizeof dir);
    make_case(dir, c, path, sizeof path);
    dsp_settings s = dsp_settings_default();
    dsp_audio a;
    aa_error err;
    memset(&a, 0x5a, sizeof a);
    int e = dsp_load(path, &s, 0, &a, &err);
    ck_assert_msg(e == c->code, "%s: status %d (%s), expected %d", c->file, e, err.msg, c->code);
    ck_assert_int_eq(err.code, c->code);
    ck_assert_msg(strncmp(err.msg, path, strlen(path)) == 0, "message does not start with the file: '%s'", err.msg);
    ck_assert_msg(strstr(err.msg, c->reason) != NULL, "'%s' lacks '%s'", err.msg, c->reason);
    ck_assert_msg(strchr(err.msg, '\n') == NULL, "message is not one line: '%s'", err.msg);
    ck_assert_ptr_null(a.samples);
    ck_assert_uint_eq(a.n, 0);
    /* No message wanted: the status is the same. */
    ck_assert_int_eq(dsp_load(path, &s, 0, &a, NULL), c->code);
    tu_rmtree(dir);
}
END_TEST

/* The same files from memory (a web upload): same codes, the given name in the message. */
START_TEST(memory_reports_each_case)
{
    const bad_case *c = &CASES[_i];
    if (c->code == DSP_ERR_MISSING || c->code == DSP_ERR_IO)
        return; /* no file system involved */
    char dir[256], path[512];
    tu_mkdtemp(dir, sizeof dir);
    make_case(dir, c, path, sizeof path);
    size_t size;
    void *b = tu_read_file(path, &size);
    ck_assert_ptr_nonnull(b);
    dsp_settings s = dsp_settings_default();
    dsp_audio a;
    aa_error err;
    ck_assert_int_eq(dsp_load_memory(b, size, "upload.bin", &s, 0, &a, &err), c->code);
    ck_assert_msg(strncmp(err.msg, "upload.bin: ", 12) == 0 && strstr(err.msg, c->reason), "got '%s'", err.msg);
    free(b);
    tu_rmtree(dir);
}
END_TEST

/* The streaming reader reports a mid-file error from the read that meets it, and keeps reporting it. */
START_TEST(reader_errors_stick)
{
    char dir[256], path[512];
    tu_mkdtemp(dir, sizeof dir);
    make_case(dir, &CASES[7], path, sizeof path); /* inf.wav: frame 20000 */
    dsp_settings s = dsp_settings_default();
    aa_error err;
    dsp_reader *r = dsp_reader_open(path, &s, &err);
    ck_assert_ptr_nonnull(r);
    float buf[1000];
    size_t got, total = 0;
    int e;
    while ((e = dsp_reader_read(r, buf, 1000, &got, &err)) == 0 && got > 0)
        total += got;
    ck_assert_int_eq(e, DSP_ERR_NONFINITE);
    /* Everything before the bad sample's 4096-frame chunk came out first. */
    ck_assert_uint_eq(total, 16384);
    ck_assert_int_eq(dsp_reader_read(r, buf, 1000, &got, &err), DSP_ERR_NONFINITE);
    ck_assert_uint_eq(got, 0);
    ck_assert(strstr(err.msg, "infinite") != NULL);
    dsp_reader_close(r);
    tu_rmtree(dir);
}
END_TEST

/* ---- through the binary ---------------------------------------------------------------------------- */

START_TEST(cli_reports_each_case)
{
    const bad_case *c = &CASES[_i];
    char dir[256], outdir[256], path[512], out[512], cmd[2048], so[4096], se[4096];
    tu_mkdtemp(dir, sizeof dir);
    tu_mkdtemp(outdir, sizeof outdir);
    make_case(dir, c, path, sizeof path);
    tu_path(out, sizeof out, outdir, "mel.f32");
    snprintf(cmd, sizeof cmd, "%s/aa-infer --mel '%s' -o '%s'", tu_build_dir(), path, out);
    int st = tu_run(cmd, so, sizeof so, se, sizeof se);
    ck_assert_msg(st == 1, "%s: exit %d, stderr '%s'", c->file, st, se);
    ck_assert_msg(tu_count_lines(se) == 1, "%s: stderr is not one line: '%s'", c->file, se);
    ck_assert_msg(strstr(se, path) && strstr(se, c->reason), "%s: stderr '%s'", c->file, se);
    ck_assert_str_eq(so, "");
    ck_assert_msg(tu_count_entries(outdir, NULL) == 0, "%s: something was left in the output folder", c->file);
    tu_rmtree(dir);
    tu_rmtree(outdir);
}
END_TEST

/* Out of memory, for real: a 59-minute recording needs 227 MB of decoded audio. The binary runs with its
 * address space capped at 150 MB (OpenBLAS and OpenMP kept to one thread, so the cap does not depend on
 * the machine's core count); under the sanitizers, whose shadow memory rules out an address-space cap,
 * ASan is told to refuse allocations over 100 MB instead. A small clip must still work under the same cap,
 * or the test would prove nothing. */
START_TEST(cli_out_of_memory)
{
    char dir[256], outdir[256], path[512], small[512], out[512], cmd[2048], se[4096];
    tu_mkdtemp(dir, sizeof dir);
    tu_mkdtemp(outdir, sizeof outdir);
    tu_path(path, sizeof path, dir, "long.wav");
    write_sparse_wav(path, 8000u * 59u * 60u);
    tu_path(small, sizeof small, tu_fixtures_dir(), "mix_1s.wav");
    tu_path(out, sizeof out, outdir, "mel.f32");
    const char *cap = tu_sanitized()
                          ? "ASAN_OPTIONS=allocator_may_return_null=1:max_allocation_size_mb=100:detect_leaks=1"
                          : "ulimit -v 150000 &&";
    snprintf(cmd, sizeof cmd, "%s OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 %s/aa-infer --mel '%s' -o '%s'", cap,
             tu_build_dir(), small, out);
    ck_assert_msg(tu_run(cmd, NULL, 0, se, sizeof se) == 0, "the small clip failed under the cap: %s", se);
    ck_assert_int_eq(unlink(out), 0);
    snprintf(cmd, sizeof cmd, "%s OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 %s/aa-infer --mel '%s' -o '%s'", cap,
             tu_build_dir(), path, out);
    int st = tu_run(cmd, NULL, 0, se, sizeof se);
    ck_assert_msg(st == 1, "exit %d, stderr '%s'", st, se);
    /* ASan announces each refused allocation on its own line ("==PID==WARNING: ... failed to allocate");
     * that line is the sanitizer's, not the program's. */
    const char *msg = se;
    if (tu_sanitized() && strncmp(msg, "==", 2) == 0 && strchr(msg, '\n'))
        msg = strchr(msg, '\n') + 1;
    ck_assert_msg(tu_count_lines(msg) == 1 && strstr(msg, path) && strstr(msg, "out of memory"), "stderr '%s'", se);
    ck_assert_int_eq(tu_count_entries(outdir, NULL), 0);
    tu_rmtree(dir);
    tu_rmtree(outdir);
}
END_TEST

Suite *badinput_suite(void)
{
    Suite *s = suite_create("badinput");
    TCase *tc = tcase_create("badinput");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, library_reports_each_case, 0, N_CASES);
    tcase_add_loop_test(tc, memory_reports_each_case, 0, N_CASES);
    tcase_add_test(tc, reader_errors_stick);
    tcase_add_loop_test(tc, cli_reports_each_case, 0, N_CASES);
    tcase_add_test(tc, cli_out_of_memory);
    suite_add_tcase(s, tc);
    return s;
}
